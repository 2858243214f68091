"""The Streamlit server as a child process: start it, wait until it is healthy, keep it until
Ctrl-C or SIGTERM, and stop it cleanly, never leaving it behind."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from collections.abc import Callable
from pathlib import Path

from studio.cli.console import Console
from studio.cli.parser import DEFAULT_HOST
from studio.config import PROJECT_ROOT

READY_TIMEOUT_S = 180.0  # first start after an install compiles bytecode for thousands of files
STOP_TIMEOUT_S = 60.0  # the worker finishes its current step before the server exits


def server_command(python: str, host: str, port: int) -> list[str]:
    return [python, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.port", str(port),
            "--server.address", host, "--server.headless", "true"]


def local_url(host: str, port: int) -> str:
    """The address this machine reaches the server at (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def supervise(console: Console, *, host: str, port: int, open_browser: bool, env: dict[str, str],
              while_starting: Callable[[], bool] | None = None) -> int:
    """Start the server, run `while_starting` (checks; False stops the server again), wait until it
    is healthy, announce it, keep it until Ctrl-C/SIGTERM and stop it cleanly. The server's output
    goes to this launch's log (and to the console with --debug)."""
    url = local_url(host, port)
    stop = threading.Event()
    signals_seen: list[int] = []
    child: subprocess.Popen | None = None

    def on_signal(signum, _frame) -> None:
        signals_seen.append(signum)
        # A second Ctrl-C means "now"; repeated SIGTERMs (a supervisor's, say) still stop cleanly.
        if signum == signal.SIGINT and signals_seen.count(signal.SIGINT) > 1 and child and child.poll() is None:
            console.important("Stopping now (second signal).")
            child.kill()
        stop.set()

    # Handlers first: from the moment the server exists, a signal must reach the code that stops it.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        console.info(f"Starting the studio on {host}:{port} …")
        # Own session (process group): a Ctrl-C in the terminal reaches only this launcher, which
        # then stops the server once, with SIGTERM, and waits for it.
        child = subprocess.Popen(server_command(sys.executable, host, port), cwd=PROJECT_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_stop_with_parent)
        pump = threading.Thread(target=_pump_output, args=(child, console), name="server-output", daemon=True)
        pump.start()
        checks_passed = while_starting() if while_starting else True
        ready = checks_passed and _wait_until_ready(child, f"{url}/_stcore/health", stop)
        if ready:
            console.important(f"Studio ready at {url}")
            console.debug(f"server pid {child.pid}")
            if host not in (DEFAULT_HOST, "localhost") and local_url(host, port) != url:
                console.important(f"Also reachable at http://{host}:{port}")
            if open_browser:
                _open_browser(url)
            console.info("Press Ctrl-C to stop.")
            while not stop.is_set() and child.poll() is None:
                stop.wait(0.5)
        if child.poll() is None:
            console.info("Stopping the studio (finishing the current step) …")
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                console.error(f"The server did not stop within {STOP_TIMEOUT_S:.0f} s; killing it.")
                child.kill()
                child.wait()
        pump.join(5)
        if signals_seen:
            console.info("Studio stopped.")
            return 0
        if not checks_passed:
            return 1
        if not ready:
            console.error(f"The server exited before it was ready (exit status {child.returncode}). "
                          f"Its output is in {console.log_path}:")
            for line in _tail(console.log_path, 25):
                console.error(f"  {line}")
            return 1
        console.error(f"The server stopped unexpectedly (exit status {child.returncode}); see {console.log_path}.")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child is not None and child.poll() is None:  # never leave a server behind, whatever happened
            child.kill()
            child.wait()


def _stop_with_parent() -> None:
    """In the server child, before exec: on Linux, ask the kernel to send SIGTERM when the launcher
    dies, even by SIGKILL, so the server never outlives it (its lifespan then marks the running job
    interrupted). Elsewhere the launcher's own shutdown path is the only guard."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _pump_output(child: subprocess.Popen, console: Console) -> None:
    for raw in child.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        console.write_log(f"[server] {line}")
        if console.debug_on:
            print(f"[server] {line}", flush=True)


def _wait_until_ready(child: subprocess.Popen, health_url: str, stop: threading.Event) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if child.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(health_url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.1)
    return False


def _open_browser(url: str) -> None:
    try:
        webbrowser.open(url, new=2)
    except Exception:  # no browser on this machine is no reason to stop serving
        pass


def _tail(path: Path | None, count: int) -> list[str]:
    if path is None or not path.exists():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
