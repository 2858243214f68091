#!/usr/bin/env python3
"""The studio's one command.

    python launch.py                 set up .venv on first use, check the machine, serve the studio
    python launch.py --check         run the checks only (non-zero exit status on any FAIL)
    python launch.py run --image photo.jpg --prompt "slow zoom"   generate without the UI
    python launch.py worker          process the queue without serving the UI
    python launch.py models          list engines and how to install their weights
    python launch.py download ID     fetch a model's weights
    python launch.py set-password    protect a studio served beyond this machine (--host)
    python launch.py test            install test requirements and run the test suite

This file does only what must happen before the requirements are installed: check the Python
version, create .venv and install the requirements into it, and re-run itself with .venv's Python.
So only the standard library is imported at the top. The commands themselves are studio.cli's.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 11)
ROOT = Path(__file__).resolve().parent
VENV_DIR = ROOT / ".venv"
STAMP_NAME = ".studio-requirements.json"
RUNTIME_REQUIREMENTS = "requirements.txt"
DEV_REQUIREMENTS = "requirements-dev.txt"


# ----- 1. bootstrap: .venv with the requirements installed --------------------------------------

@dataclass(frozen=True)
class BootstrapPlan:
    create_venv: bool
    install: bool
    reexec: bool

    @property
    def nothing_to_do(self) -> bool:
        return not (self.create_venv or self.install or self.reexec)


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirement_files(command: str | None, root: Path = ROOT) -> list[Path]:
    """What a command needs installed: the runtime set, plus the development set for `test`."""
    files = [root / RUNTIME_REQUIREMENTS]
    if command == "test":
        files.append(root / DEV_REQUIREMENTS)
    return files


def requirements_digest(files: list[Path]) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def read_stamp(venv_dir: Path) -> dict[str, str]:
    try:
        stamp = json.loads((venv_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def write_stamp(venv_dir: Path, files: list[Path]) -> None:
    """Record that these files' requirements are installed (written only after pip succeeded, so an
    interrupted install leaves no stamp and the next launch installs again)."""
    stamp = {**read_stamp(venv_dir), **requirements_digest(files)}
    target = venv_dir / STAMP_NAME
    tmp = target.with_name(target.name + ".partial")
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)


def requirements_met(venv_dir: Path, files: list[Path]) -> bool:
    if not venv_python(venv_dir).exists():
        return False
    stamp = read_stamp(venv_dir)
    return all(stamp.get(name) == digest for name, digest in requirements_digest(files).items())


def running_in(venv_dir: Path) -> bool:
    return Path(sys.prefix).resolve() == venv_dir.resolve()


def plan_bootstrap(venv_dir: Path, files: list[Path], *, inside_venv: bool) -> BootstrapPlan:
    """Decide what the bootstrap must do. With .venv in place and its stamp matching the
    requirement files, a launch from inside .venv does nothing and one from outside only re-runs
    itself with .venv's Python: no pip call either way."""
    met = requirements_met(venv_dir, files)
    return BootstrapPlan(
        create_venv=not inside_venv and not venv_python(venv_dir).exists(),
        install=not met,
        reexec=not inside_venv,
    )


def bootstrap(command: str | None, argv: list[str], *, venv_dir: Path = VENV_DIR) -> None:
    """Make sure this process runs in .venv with the command's requirements installed; may replace
    the process (os.execv) with the same command under .venv's Python."""
    files = requirement_files(command, venv_dir.parent)
    plan = plan_bootstrap(venv_dir, files, inside_venv=running_in(venv_dir))
    if plan.nothing_to_do:
        return
    python = Path(sys.executable) if running_in(venv_dir) else venv_python(venv_dir)
    if plan.create_venv or (plan.install and not python.exists()):
        _create_venv(venv_dir)
    if plan.install:
        _install(python, venv_dir, files)
    if plan.reexec:
        # The same command, now with .venv's packages: argv is passed through unchanged.
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


def _create_venv(venv_dir: Path) -> None:
    print(f"Creating the studio's Python environment in {venv_dir} …", file=sys.stderr, flush=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=venv_dir.exists(), symlinks=os.name != "nt").create(venv_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"Could not create {venv_dir}: {exc}\n→ On Debian/Ubuntu install the venv module first: "
                 "sudo apt-get install python3-venv")


def _install(python: Path, venv_dir: Path, files: list[Path]) -> None:
    (venv_dir / STAMP_NAME).unlink(missing_ok=True)  # no stamp until this install has succeeded
    names = " and ".join(f.name for f in files)
    print(f"Installing {names} into {venv_dir} (first launch, or the requirements changed; "
          "this can take several minutes) …", file=sys.stderr, flush=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    for f in files[-1:]:  # requirements-dev.txt includes requirements.txt itself
        command += ["-r", str(f)]
    # pip's own output is the progress display: it streams to this terminal, on stderr, because the
    # setting-up is not a command's result (`submit` prints only run ids on stdout, for scripts).
    completed = subprocess.run(command, cwd=venv_dir.parent, stdout=sys.stderr)
    if completed.returncode != 0:
        sys.exit(f"Installing the requirements failed (pip exited {completed.returncode}); see pip's messages above.\n"
                 "→ Fix the cause (network, disk space) and run the same command again: it retries the install.")
    write_stamp(venv_dir, files)
    print("Requirements installed.", file=sys.stderr, flush=True)


# ----- 2. hand over to the studio's command line -----------------------------------------------

def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"The studio needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is {sys.version.split()[0]}.",
              file=sys.stderr)
        return 1
    argv = sys.argv[1:] if argv is None else argv
    # Imported only now, after the version check, because the studio's code needs that Python.
    # studio.cli's root and parser need only the standard library: `--help` and a mistyped flag
    # answer before anything is installed, and the command says which requirements to install.
    from studio import cli

    args = cli.parse_args(argv)
    bootstrap(args.command, argv)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
