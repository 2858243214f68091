"""Ctrl-C and SIGTERM in a command that makes a run on its own main thread (`launch.py run`,
`submit --wait`).

Outside a run the signal handler raises KeyboardInterrupt at once. While the main thread makes a
run (`deferred`), the first signal is only recorded, and the run's next progress check raises
KeyboardInterrupt from ordinary code (studio.jobs.execute): raised by the handler itself it could
land anywhere, in the middle of starting ffmpeg (which then writes its file after it was removed),
or inside a finaliser, where Python prints it with a traceback and drops it. A second signal
interrupts at once, for a step that takes long (a model loading).

Standard library only: the command-line package imports it before .venv exists.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

requested = threading.Event()
_deferring = 0  # changed on the main thread only, where signal handlers run too


def raise_interrupt(signum=None, frame=None) -> None:
    """The signal handler: record the request; interrupt at once unless a run can stop cleanly at
    its next step (and this is the first request)."""
    if _deferring and not requested.is_set():
        requested.set()
        print("Stopping at the run's next step (Ctrl-C again to stop at once) …", file=sys.stderr, flush=True)
        return
    requested.set()
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was asked for and this is the main thread (the only
    thread a signal interrupts; a server's worker threads are stopped their own way)."""
    if requested.is_set() and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """While the main thread makes a run, a first signal waits for the run's next progress check."""
    global _deferring
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
