"""`launch.py worker-token create NAME | list | revoke NAME`: the tokens workers on other hosts show
the server (`launch.py worker --server URL --token TOKEN`). A new token is printed once; the
database keeps only its hash."""

from __future__ import annotations

import argparse

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_core
from studio.db.engine import session_scope
from studio.jobs import tokens


def worker_token(args: argparse.Namespace, console: Console) -> int:
    core = open_core(start_log(console, args.command), console)
    if core is None:
        return 1
    try:
        with session_scope(core.sessions) as session:
            if args.token_action == "create":
                token = tokens.create(session, args.name)
            elif args.token_action == "revoke":
                tokens.revoke(session, args.name)
            else:
                listed = tokens.listing(session)
    except tokens.TokenError as exc:
        console.error(f"Error: {exc}.")
        return 2
    finally:
        core.close()
    if args.token_action == "create":
        console.important(f"Worker token {args.name!r} (shown only now; keep it secret):")
        print(token, flush=True)
        console.info("On the worker's host: STUDIO_WORKER_TOKEN=<token> python launch.py worker --server http://THIS-HOST:PORT")
    elif args.token_action == "revoke":
        console.important(f"Worker token {args.name!r} revoked: workers using it are refused from now on.")
    else:
        if not listed:
            console.important("No worker tokens yet: make one with `python launch.py worker-token create NAME`.")
        for view in listed:
            state = f"revoked {view.revoked_at:%Y-%m-%d %H:%M}" if view.revoked_at else "live"
            used = f"last used {view.last_used_at:%Y-%m-%d %H:%M}" if view.last_used_at else "never used"
            print(f"{view.name}\t{state}\tmade {view.created_at:%Y-%m-%d %H:%M}\t{used}", flush=True)
    return 0
