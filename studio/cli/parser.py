"""The command line: every flag and command launch.py accepts (README.md's Flags and Commands).

Standard library only: launch.py parses with it before .venv exists, so `--help` and a mistyped
flag answer at once, without installing anything first.
"""

from __future__ import annotations

import argparse
import math

DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launch.py", parents=[_common_flags(None, False)],
        description="Image-to-video studio: sets itself up, checks the machine and serves the studio.",
    )
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}, this machine only); any other "
                        "address needs a password (see set-password)")
    parser.add_argument("--check", action="store_true", help="run the checks only; exit status 1 on any FAIL")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser when the studio is ready")
    parser.add_argument("--no-worker", action="store_true",
                        help="run no jobs in the server process: workers (`launch.py worker`, on this or other hosts) run them")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def sub(name: str, text: str) -> argparse.ArgumentParser:
        # Subcommands accept the common flags after their name too; SUPPRESS keeps an omitted one
        # from overwriting a value given before the name.
        return commands.add_parser(name, help=text, description=text,
                                   parents=[_common_flags(argparse.SUPPRESS, argparse.SUPPRESS)])

    run = sub("run", "generate one video without the UI and print its path")
    start = run.add_mutually_exclusive_group(required=True)
    start.add_argument("--image", help="input image file")
    start.add_argument("--extend", type=run_number, default=None, metavar="RUN_ID",
                       help="continue a finished run: start from its last frame, with its engine and parameters "
                       "unless other flags change them (the new run is the next link of its chain)")
    _add_generation_flags(run)
    run.add_argument("--timeout", type=seconds, default=3600.0, metavar="SECONDS",
                     help="give up after this long if another worker on the same data folder took the run "
                     "and has not finished it (default 3600; the run stays queued)")
    _add_submit(sub("submit", "queue one run per image with the same settings and print the run ids, without "
                    "running them (all or nothing: every image and setting is checked first)"))
    export = sub("export", "write finished runs (their videos, inputs and settings) to a zip another studio can import")
    export.add_argument("run_ids", nargs="+", type=run_number, metavar="RUN_ID", help="the runs to export")
    export.add_argument("--out", default=None, metavar="ZIP",
                        help="where to write the zip (default: exports/runs-DATE.zip in the data folder)")
    import_ = sub("import", "add the runs of a studio export zip to this studio's history, as new runs")
    import_.add_argument("zip", metavar="ZIP", help="a zip written by `export` or the gallery's Export zip")
    worker = sub("worker", "process queued runs without serving the UI, until Ctrl-C")
    worker.add_argument("--engines", default=None, metavar="IDS",
                        help="take only runs of these engines (comma-separated ids, see `models`), or `ready`: "
                        "those whose weights are on this host. Default: runs of any engine")
    worker.add_argument("--schema-wait", type=float, default=300.0, metavar="SECONDS",
                        help="on a shared (non-SQLite) database, how long to wait for the server or `migrate` "
                        "to bring it to this version's schema before giving up (default 300)")
    worker.add_argument("--server", default=None, metavar="URL",
                        help="the studio server's address (http://HOST:PORT) when this host shares no folder with "
                        "it: inputs are fetched from it and finished files sent to it. Needs --token")
    worker.add_argument("--token", default=None, metavar="TOKEN",
                        help="with --server, a worker token from `worker-token create NAME` on the server "
                        "(or the STUDIO_WORKER_TOKEN environment variable, which keeps it out of the process list)")
    tokens = sub("worker-token", "make, list or revoke the tokens workers on other hosts use with --server")
    token_actions = tokens.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    def action(name: str, text: str) -> argparse.ArgumentParser:  # the common flags after the action too
        return token_actions.add_parser(name, help=text, description=text,
                                        parents=[_common_flags(argparse.SUPPRESS, argparse.SUPPRESS)])

    create = action("create", "make a token and print it (once: only its hash is kept)")
    create.add_argument("name", help="a name for the worker or host, e.g. gpu-host-2")
    action("list", "the tokens, when each was made, last used and revoked")
    revoke = action("revoke", "refuse a token from now on")
    revoke.add_argument("name", help="the token's name, as `worker-token list` shows it")
    sub("migrate", "bring the database to this version's schema (a copy of a SQLite file is kept) and exit; "
        "the server does this itself at start")
    sub("models", "list engines, whether their weights are installed and how to install them")
    download = sub("download", "download a model's weights")
    download.add_argument("model_id", help="the model's hub id, as `models` lists it")
    password = sub("set-password", "set the password a non-loopback --host requires")
    password.add_argument("--clear", action="store_true", default=False, help="remove the stored password")
    # Arguments after `test` that launch.py does not know go to pytest (see parse_args).
    sub("test", "install the test requirements and run the test suite (extra arguments go to pytest, "
        "e.g. `test -k launch -x`)")
    return parser


def _add_generation_flags(command: argparse.ArgumentParser) -> None:
    """What to make and how: the same flags on `run` and `submit`."""
    command.add_argument("--prompt", default="", help="what should happen in the video")
    command.add_argument("--negative-prompt", default="", help="what to avoid")
    command.add_argument("--engine", default=None, help="engine id (see `models`); default: the studio's default")
    command.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, recorded)")
    command.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                         help="an engine parameter, e.g. --param frames=24 (repeatable)")
    command.add_argument("--memory-mode", default=None, help="auto, full_gpu, model_offload, group_offload or lowest")
    # Post-processing: each makes a child run of the one before, once it has succeeded (studio.post).
    command.add_argument("--interpolate", type=int, choices=(2, 4), default=None, metavar="2|4",
                         help="then smooth the video: 2 or 4 times the frames and frame rate (frame interpolation)")
    command.add_argument("--upscale", type=int, choices=(2,), default=None, metavar="2",
                         help="then upscale the video to twice its width and height")
    command.add_argument("--pingpong", action="store_true", default=False,
                         help="then make the video loop: forward, then backward")
    command.add_argument("--last-image", default=None, metavar="PATH",
                         help="an image the video should end on (engines that take one: see `models`)")
    command.add_argument("--lora", action="append", default=[], metavar="PATH_OR_NAME:STRENGTH",
                         help="apply a LoRA: a .safetensors file's path, or its name in the LoRA folders (Settings), "
                         "with an optional strength (default 1), e.g. --lora styles/ink.safetensors:0.8 (repeatable)")
    command.add_argument("--speed", default=None, choices=("quality", "fast", "turbo"),
                         help="quality (default), fast (reuses work between steps) or turbo (a step-distillation "
                         "LoRA: few steps; needs its file in a LoRA folder)")


def _add_submit(submit: argparse.ArgumentParser) -> None:
    submit.add_argument("--image", action="append", default=[], metavar="IMG",
                        help="an input image (repeatable: one run per image)")
    submit.add_argument("--folder", default=None, metavar="DIR",
                        help="also every image file directly in DIR (by name; hidden files and other files skipped)")
    _add_generation_flags(submit)
    submit.add_argument("--wait", action="store_true",
                        help="then wait until the runs finish and print each MP4's path. A running server or "
                        "`launch.py worker` on the same data folder runs them; if none has started any of them "
                        "within 5 seconds, this process runs the queue itself")
    submit.add_argument("--timeout", type=seconds, default=3600.0, metavar="SECONDS",
                        help="with --wait, give up waiting after this long (default 3600; the runs stay queued)")


def port_number(text: str) -> int:
    """--port's type: a TCP port, refused here rather than by the socket call deep in a check."""
    return _number(text, int, lambda port: 1 <= port <= 65535,
                   "port must be a whole number between 1 and 65535, not {text!r}",
                   "port must be between 1 and 65535, not {text}")


def run_number(text: str) -> int:
    """A RUN_ID's type: a run's number (the database's ids stop below 2**63)."""
    return _number(text, int, lambda number: 1 <= number < 2**63,
                   "a run id is a whole number (see the gallery or `export`), not {text!r}",
                   "no run has the id {text} (ids are whole numbers from 1)")


def seconds(text: str) -> float:
    """--timeout's type: a wait of more than 0 seconds (not nan, not inf)."""
    return _number(text, float, lambda value: math.isfinite(value) and value > 0,
                   "give the seconds as a number, not {text!r}", "the wait must be more than 0 seconds, not {text}")


def _number(text: str, convert, accepted, not_a_number: str, out_of_range: str):
    """An argument type's work: `text` converted, or argparse's error (exit 2) in the type's words."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(not_a_number.format(text=text)) from None
    if not accepted(value):
        raise argparse.ArgumentTypeError(out_of_range.format(text=text[:30]))
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    _refuse_undecodable(parser, argv)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra
    return args


def _common_flags(path_default, flag_default) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=path_default,
                        help="folder for the database, inputs, outputs and logs (sets STUDIO_DATA_DIR; "
                        "default: data/ in the project)")
    common.add_argument("--no-backup", action="store_true", default=flag_default,
                        help="migrate a PostgreSQL database without a pg_dump backup first (needed where pg_dump "
                        "is not installed; back the database up another way)")
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument("--debug", action="store_true", default=flag_default,
                           help="show every detail, the server's own output included")
    verbosity.add_argument("--quiet", action="store_true", default=flag_default,
                           help="print only warnings, errors and the address")
    return common


def _refuse_undecodable(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Refuse an argument that is not UTF-8. Python hands such bytes over as lone surrogates, which
    every later write (the log, the database, a file name) would fail on with a traceback."""
    for index, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = arg.encode("utf-8", "surrogateescape")[exc.start:exc.start + 1] if _escaped(arg) else b""
            name = _argument_name(argv, index)
            detail = f" (byte 0x{byte.hex()})" if byte else ""
            parser.error(f"argument {name}: is not valid UTF-8 text{detail}; give it as UTF-8")


def _escaped(arg: str) -> bool:
    try:
        arg.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def _argument_name(argv: list[str], index: int) -> str:
    """The flag an argument belongs to: itself (--prompt=…), the flag before it, or its position."""
    arg = argv[index]
    if arg.startswith("-"):  # --prompt=… names itself; a flag that is itself undecodable is shown with "?"
        return arg.split("=", 1)[0].encode("utf-8", "replace").decode()
    previous = argv[index - 1] if index > 0 else ""
    if previous.startswith("--") and "=" not in previous:
        return previous
    return f"number {index + 1} of the command line"
