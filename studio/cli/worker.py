"""`launch.py worker`: process the queue without serving the UI, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services


def work(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    services = open_services(paths, console)
    if services is None:
        return 1
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        services.worker.start()
        console.important(f"Worker {services.worker.worker_id} is processing the queue of {paths.database_label}. "
                          "Press Ctrl-C to stop.")
        console.info(f"Log: {console.log_path}")
        while not stop.is_set():
            stop.wait(1.0)
        console.info("Stopping the worker (finishing the current step) …")
        return 0
    finally:
        services.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
