"""Ctrl-C and SIGTERM in a command that makes a run on its own main thread (`launch.py run`,
`submit --wait`).

The signal handler raises KeyboardInterrupt, but Python can lose that exception: a handler that
fires while a finaliser runs (a generator closed by the garbage collector, a `__del__`) has it
printed as "Exception ignored" and dropped, and the run would go on to the end. So the handler also
sets `requested`, and the run's next progress check raises KeyboardInterrupt again from ordinary
code (studio.jobs.execute), where nothing swallows it.

Standard library only: the command-line package imports it before .venv exists.
"""

from __future__ import annotations

import threading

requested = threading.Event()


def raise_interrupt(signum=None, frame=None) -> None:
    """A signal handler: remember the request, then interrupt what the main thread is doing."""
    requested.set()
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was asked for and this is the main thread (the only
    thread a signal interrupts; a server's worker threads are stopped their own way)."""
    if requested.is_set() and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt
