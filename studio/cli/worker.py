"""`launch.py worker`: process the queue without serving the UI, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services, wait_for_schema
from studio.jobs.remote import TOKEN_ENV, DeliveryFailed, RemoteMedia, server_url, token_from_environment
from studio.services import Services


def work(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    remote = _remote_media(args, paths, console)
    if remote is False:
        return 2
    # A worker on its own SQLite file migrates it, as any studio process does. On a shared database
    # the schema is the server's (or `launch.py migrate`'s) to change: the worker waits for it, and
    # can run with a role that may only read and write rows.
    shared = paths.sqlite_path is None
    if shared and not wait_for_schema(paths, console, timeout=args.schema_wait):
        return 1
    services = open_services(paths, console, migrate_db=not shared)
    if services is None:
        return 1
    if args.engines is not None:
        try:
            services.worker.engines = engines_to_take(services, args.engines)
        except ValueError as exc:
            console.error(f"Error: --engines: {exc}")
            services.close()
            return 2
    if remote is not None:
        try:
            name = remote.check(services.worker.worker_id)  # before the id is shown anywhere
        except DeliveryFailed as exc:
            console.error(f"Error: {exc}.")
            services.close()
            return 1
        services.worker.use_server(remote)
        # Post-processing tools read the source run's video from the data folder, which this worker
        # does not share: it leaves their runs to a worker on the server's folder.
        taken = services.worker.engines or [info.id for info in services.registry.infos()]
        services.worker.engines = [engine for engine in taken if not services.registry.is_tool(engine)]
        console.info(f"Inputs come from and files go to {remote.server} (token {name!r}); nothing is shared on disk.")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        services.worker.start()
        console.important(f"Worker {services.worker.worker_id} is processing the queue of {paths.database_label}. "
                          "Press Ctrl-C to stop.")
        if services.worker.engines is not None:
            console.info(f"Taking runs of: {', '.join(services.worker.engines)}; other runs wait for another worker.")
        console.info(f"Log: {console.log_path}")
        while not stop.is_set():
            stop.wait(1.0)
        console.info("Stopping the worker (finishing the current step) …")
        return 0
    finally:
        services.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def engines_to_take(services: Services, text: str) -> list[str]:
    """--engines: `ready` (the engines whose weights are on this host) or a list of known ids."""
    if text.strip() == "ready":
        engines = [info.id for info in services.registry.infos() if services.weights_status(info.id).ready]
        return engines + [tool.info.id for tool in services.registry.tools()]  # built in: always ready
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [engine for engine in wanted if engine not in services.registry]
    if unknown or not wanted:
        known = ", ".join(info.id for info in services.registry.infos())
        raise ValueError(f"no engine {unknown[0]!r}; the engines are: {known}." if unknown
                         else f"name at least one engine, or `ready`; the engines are: {known}.")
    return wanted



def _remote_media(args: argparse.Namespace, paths, console: Console):
    """--server and --token as a RemoteMedia; None without --server; False after saying what is wrong."""
    token = (args.token or token_from_environment()).strip()
    if args.server is None:
        if args.token:
            console.error("Error: --token is for a worker with --server URL (a host that shares no folder with the server).")
            return False
        return None
    try:
        server = server_url(args.server)
    except ValueError as exc:
        console.error(f"Error: --server: {exc}.")
        return False
    if not token:
        console.error(f"Error: --server needs a worker token: --token TOKEN or {TOKEN_ENV} (make one on the server "
                      "with `python launch.py worker-token create NAME`).")
        return False
    return RemoteMedia(server=server, token=token, cache_dir=paths.data_dir / "fetched-inputs")
