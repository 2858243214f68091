"""The command line: every flag and command launch.py accepts (README.md's Flags and Commands).

Standard library only: launch.py parses with it before .venv exists, so `--help` and a mistyped
flag answer at once, without installing anything first.
"""

from __future__ import annotations

import argparse

DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launch.py", parents=[_common_flags(None, False)],
        description="Image-to-video studio: sets itself up, checks the machine and serves the studio.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}, this machine only); any other "
                        "address needs a password (see set-password)")
    parser.add_argument("--check", action="store_true", help="run the checks only; exit status 1 on any FAIL")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser when the studio is ready")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def sub(name: str, text: str) -> argparse.ArgumentParser:
        # Subcommands accept the common flags after their name too; SUPPRESS keeps an omitted one
        # from overwriting a value given before the name.
        return commands.add_parser(name, help=text, description=text,
                                   parents=[_common_flags(argparse.SUPPRESS, argparse.SUPPRESS)])

    run = sub("run", "generate one video without the UI and print its path")
    run.add_argument("--image", required=True, help="input image file")
    run.add_argument("--prompt", default="", help="what should happen in the video")
    run.add_argument("--negative-prompt", default="", help="what to avoid")
    run.add_argument("--engine", default=None, help="engine id (see `models`); default: the studio's default")
    run.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, recorded)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="an engine parameter, e.g. --param frames=24 (repeatable)")
    run.add_argument("--memory-mode", default=None, help="auto, full_gpu, model_offload or lowest")
    sub("worker", "process queued runs without serving the UI, until Ctrl-C")
    sub("models", "list engines, whether their weights are installed and how to install them")
    download = sub("download", "download a model's weights")
    download.add_argument("model_id", help="the model's hub id, as `models` lists it")
    password = sub("set-password", "set the password a non-loopback --host requires")
    password.add_argument("--clear", action="store_true", default=False, help="remove the stored password")
    # Arguments after `test` that launch.py does not know go to pytest (see parse_args).
    sub("test", "install the test requirements and run the test suite (extra arguments go to pytest, "
        "e.g. `test -k launch -x`)")
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
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
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument("--debug", action="store_true", default=flag_default,
                           help="show every detail, the server's own output included")
    verbosity.add_argument("--quiet", action="store_true", default=flag_default,
                           help="print only warnings, errors and the address")
    return common
