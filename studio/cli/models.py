"""`launch.py models` (the engines and the state of their weights; the developer engines only in
developer mode) and `launch.py download ID`."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_core

try:
    from studio.engines.diffusion import weights
except ImportError:  # a build without the diffusion engines: `download` says so
    weights = None


def list_models(args: argparse.Namespace, console: Console) -> int:
    core = open_core(start_log(console, args.command), console)
    if core is None:
        return 1
    try:
        # Developer engines (tiny random pipelines for tests) are listed only in developer mode,
        # as on the Generate page.
        developer = core.history.settings().developer_mode
        engines = core.registry.engines(include_developer=developer)
        hidden = len(core.registry.engines()) - len(engines)
        width = max(len(e.info.id) for e in engines)
        for engine in engines:
            info, status = engine.info, engine.weights_status()
            tag = " (developer)" if info.developer_only else ""
            if status.ready and status.location and not Path(status.location).exists():
                # A pipeline built in code the first time it runs: there is nothing at the path yet.
                state = f"ready — built on first use at {status.location}"
            elif status.ready:
                state = "ready" + (f" — {status.location}" if status.location else "")
            elif status.state == "missing":
                command = weights.install_command(info.model_id) if info.model_id else status.hint
                state = f"not installed — install with: {command}"
            else:
                state = f"unusable — {status.detail}" + (f" ({status.hint})" if status.hint else "")
            print(f"{info.id:<{width}}  {info.label}{tag}: {state}", flush=True)
        if hidden:
            print(f"{hidden} developer engine{'s are' if hidden != 1 else ' is'} not listed; turn on developer mode "
                  "on the Settings page to see them.", flush=True)
        if importlib.util.find_spec("studio.engines.diffusion.families") is None:
            print("Diffusion model engines are not part of this build (studio.engines.diffusion.families is missing).")
        return 0
    finally:
        core.close()


def download(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    if weights is None:
        console.error("Downloading models is not available in this build (studio.engines.diffusion.weights is missing).")
        return 1
    core = open_core(paths, console)
    if core is None:
        return 1
    try:
        known = sorted({e.info.model_id for e in core.registry.engines() if e.info.model_id})
    finally:
        core.close()
    if known and args.model_id not in known:
        console.error(f"Unknown model {args.model_id!r}. The studio's engines use: {', '.join(known)}.")
        return 2
    try:
        folder = weights.download(args.model_id, progress=console.info)
    except weights.DownloadError as exc:
        console.error(f"Error: {exc}" + (f"\n→ {exc.hint}" if exc.hint else ""))
        return 1
    console.important(f"{args.model_id} installed in {folder}")
    return 0
