"""Startup time: `python launch.py --no-browser` until /_stcore/health answers, against a bare
one-page `streamlit run` on the same machine in the same run.

    .venv/bin/python bench/launch.py [--repeat 5]

The studio's launch includes what the bare page does not: the launcher's own start, preflight
(ffmpeg, disk, port, database migration, engines, GPU) and building the studio's services in the
server's lifespan. Goal: studio / bare <= 2.0 on the health endpoint. The time until the launcher
prints the address (after its checks) is reported too. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_until_healthy(command: list[str], port: int, env: dict[str, str], cwd: Path, *,
                       ready_line: str | None = None, timeout: float = 120) -> tuple[float, float | None]:
    """Seconds from starting `command` to the first 200 from its health endpoint, and to the line
    containing `ready_line` on its output (the address the launcher prints); then stops it."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE if ready_line else subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, text=True)
    printed: list[float] = []

    def watch() -> None:
        for line in process.stdout:
            if ready_line in line and not printed:
                printed.append(time.perf_counter() - started)

    watcher = threading.Thread(target=watch, daemon=True) if ready_line else None
    if watcher:
        watcher.start()
    try:
        healthy = None
        while healthy is None or (watcher and not printed):
            if process.poll() is not None:
                raise RuntimeError(f"{command[:3]} exited with {process.returncode} before it was ready")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{command[:3]} not ready after {timeout} s")
            if healthy is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as response:
                        if response.status == 200:
                            healthy = time.perf_counter() - started
                except OSError:
                    pass
            time.sleep(0.02)
        return healthy, (printed[0] if printed else None)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="starts of each (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="studio-bench-") as scratch:
        scratch_dir = Path(scratch)
        bare_script = scratch_dir / "bare.py"
        bare_script.write_text('import streamlit as st\n\nst.write("hi")\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        env.update(STUDIO_DATA_DIR=str(scratch_dir / "data"), HF_HUB_OFFLINE="1")

        studio, announced, bare = [], [], []
        # Alternate the two so that machine noise (other processes, disk cache) hits both alike.
        # The first studio start also creates and migrates the database; later ones find it current.
        for i in range(args.repeat):
            port = free_port()
            healthy, ready = time_until_healthy(
                [sys.executable, str(ROOT / "launch.py"), "--no-browser", "--quiet", "--port", str(port)],
                port, env, ROOT, ready_line="Studio ready at")
            studio.append(healthy)
            announced.append(ready)
            port = free_port()
            bare.append(time_until_healthy(
                [sys.executable, "-m", "streamlit", "run", str(bare_script), "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true",
                 "--browser.gatherUsageStats", "false"],
                port, env, scratch_dir)[0])
            print(f"run {i + 1}: studio healthy {healthy:.2f} s (address printed {ready:.2f} s), "
                  f"bare streamlit {bare[-1]:.2f} s", flush=True)

    studio_median, bare_median = statistics.median(studio), statistics.median(bare)
    announced_median = statistics.median(announced)
    ratio = studio_median / bare_median
    print(f"median: studio {studio_median:.2f} s (address printed {announced_median:.2f} s), bare "
          f"{bare_median:.2f} s, ratio {ratio:.2f} (goal <= {GOAL_RATIO})")
    print(json.dumps({
        "bench": "launch", "repeat": args.repeat,
        "studio_s": [round(s, 3) for s in studio], "bare_s": [round(s, 3) for s in bare],
        "studio_ready_line_s": [round(s, 3) for s in announced],
        "studio_median_s": round(studio_median, 3), "bare_median_s": round(bare_median, 3),
        "studio_ready_line_median_s": round(announced_median, 3),
        "ratio": round(ratio, 3), "ready_line_ratio": round(announced_median / bare_median, 3),
        "goal": GOAL_RATIO, "met": ratio <= GOAL_RATIO,
    }))


if __name__ == "__main__":
    main()
