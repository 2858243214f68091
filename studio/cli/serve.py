"""`python launch.py` and `--check`: the checks, then the server.

On loopback the server starts as soon as its port is known to be free and the other checks run
while it starts (it migrates the database itself); a FAIL stops it again. `--check` and a
non-loopback host run every check first, migrating the database, and a non-loopback host also
needs a password.
"""

from __future__ import annotations

import argparse
import os

from studio import preflight as checks
from studio.cli.console import Console
from studio.cli.parser import DEFAULT_HOST
from studio.cli.logfile import start_log
from studio.cli.supervise import supervise
from studio.config import SERVE_ONLY_ENV, Paths
from studio.web import hostnames, passwords


def serve(args: argparse.Namespace, console: Console) -> int:
    if passwords.is_loopback(args.host) and os.environ.get(hostnames.ALLOWED_HOSTS_ENV):
        console.important(f"Note: {hostnames.ALLOWED_HOSTS_ENV} applies only with --host beyond this machine; "
                          "on loopback the studio answers to localhost and loopback addresses only.")
    if passwords.is_loopback(args.host) and not args.check:
        return _serve_on_loopback(args, console)
    paths = start_log(console, "check" if args.check else "serve")
    console.info(f"Log: {console.log_path}")
    exposed = not passwords.is_loopback(args.host)
    short = _short_password_message()
    if exposed and short:
        console.error(f"[FAIL] password: {short}")
        return 2
    if exposed:
        console.important(f"WARNING: listening on {args.host} makes the studio reachable from other machines "
                          f"on port {args.port}. Everyone who can reach it needs the password.")
        names = hostnames.launcher_allowed_hosts(args.host, os.environ.get(hostnames.ALLOWED_HOSTS_ENV, ""))
        console.info(f"Answering to localhost, loopback addresses and {names} "
                     f"(list more names, comma-separated, in {hostnames.ALLOWED_HOSTS_ENV}).")
    passed = run_preflight(args, paths, console, port=args.port)
    password_hash = _password_hash(paths) if passed and exposed else None
    if passed and exposed and not password_hash:
        console.error(f"[FAIL] password: refusing to listen on {args.host} without a password → set one with "
                      "`python launch.py set-password` (or the STUDIO_PASSWORD environment variable), "
                      f"or serve on this machine only with --host {DEFAULT_HOST}")
        return 2
    if args.check:
        return 0 if passed else 1
    if not passed:
        console.error("Not starting: fix the FAIL lines above (each ends with what to do), then run the same command again.")
        return 1
    env = _server_environment(args)
    env[passwords.PASSWORD_HASH_ENV] = password_hash
    return supervise(console, host=args.host, port=args.port, open_browser=not args.no_browser, env=env)


def run_preflight(args: argparse.Namespace, paths: Paths, console: Console, *, port: int | None, **options) -> bool:
    """Run the checks, printing each line; True when none failed."""
    results = checks.run_checks(paths, host=args.host, port=port, on_result=console.check, **options)
    summarise(console, results)
    return not checks.has_failures(results)


def summarise(console: Console, results) -> None:
    """The summary line, counted over exactly the check lines this launch printed."""
    counts = {s: sum(r.status == s for r in results) for s in ("OK", "WARN", "FAIL")}
    console.info(f"Checks: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL.")


def _serve_on_loopback(args: argparse.Namespace, console: Console) -> int:
    """Start the server as soon as its port is known to be free, and check everything else while
    it starts (the server migrates the database itself); a FAIL stops it again. Every check line,
    the GPU's included, and the summary come before "Studio ready"."""
    port = checks.check_port(args.host, args.port)
    if port.failed:
        console.check(port)
        return 1

    def while_starting() -> bool:
        paths = start_log(console, "serve")  # the lines said so far are written to it first
        console.info(f"Log: {console.log_path}")
        console.check(port)
        results = [port, *checks.run_checks(paths, host=args.host, port=None, on_result=console.check,
                                            migrate_db=False, gpu=False)]
        passed = not checks.has_failures(results)
        if passed:
            # After the checks that decide whether to serve (importing torch takes seconds and the
            # interpreter lock), but still while the server starts, so that its line and the
            # summary come before "Studio ready" rather than under it.
            gpu = checks.guarded("gpu", checks.check_gpu)
            console.check(gpu)
            results.append(gpu)
        summarise(console, results)
        if passed:
            return True
        console.error("Stopping: fix the FAIL lines above (each ends with what to do), then run the same command again.")
        return False

    return supervise(console, host=args.host, port=args.port, open_browser=not args.no_browser,
                     env=_server_environment(args), while_starting=while_starting)


def _server_environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)  # STUDIO_DATA_DIR is in it when --data-dir was given
    env.pop(passwords.PASSWORD_HASH_ENV, None)  # only a password this launch checked may gate the server
    env.pop(passwords.PASSWORD_ENV, None)  # the server needs the hash, never the password
    # Loopback serves loopback names only; beyond it, the bound address and the names configured.
    configured = env.pop(hostnames.ALLOWED_HOSTS_ENV, "")
    if not passwords.is_loopback(args.host):
        env[hostnames.ALLOWED_HOSTS_ENV] = hostnames.launcher_allowed_hosts(args.host, configured)
    env["PYTHONUNBUFFERED"] = "1"
    if args.no_worker:
        env[SERVE_ONLY_ENV] = "1"
    if args.debug:
        env["STREAMLIT_LOGGER_LEVEL"] = "debug"
    return env


def _short_password_message() -> str | None:
    """Why STUDIO_PASSWORD cannot be used, if it is set and too short; said before any check runs."""
    password = os.environ.get(passwords.PASSWORD_ENV)
    if password and len(password) < passwords.MIN_PASSWORD_LENGTH:
        return (f"STUDIO_PASSWORD has {len(password)} characters; it needs at least {passwords.MIN_PASSWORD_LENGTH} "
                "→ set a longer one, or unset it and use `python launch.py set-password`")
    return None


def _password_hash(paths: Paths) -> str | None:
    password = os.environ.get(passwords.PASSWORD_ENV)
    if password:
        return passwords.hash_password(password)  # its length was checked before the checks ran
    # Imported here, not above: serving on loopback never needs it, and importing it takes a
    # second or two that would delay the server's start. The checks passed, so the database is
    # at the code's schema already.
    from studio.services import build_core

    core = build_core(paths, migrate_db=False)
    try:
        return passwords.stored_password_hash(core.sessions)
    finally:
        core.close()
