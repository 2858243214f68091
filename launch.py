#!/usr/bin/env python3
"""The studio's one command.

    python launch.py                 set up .venv on first use, check the machine, serve the studio
    python launch.py --check         run the checks only (non-zero exit status on any FAIL)
    python launch.py run --image photo.jpg --prompt "slow zoom"   generate without the UI
    python launch.py worker          process the queue without serving the UI
    python launch.py models          list engines and how to install their weights
    python launch.py download ID     fetch a model's weights
    python launch.py set-password    protect a studio served beyond this machine (--host)
    python launch.py test            install test requirements and run the test suite

Only the standard library is imported at the top: this file must run with a bare Python before
any requirement is installed. Step 1 (bootstrap) creates .venv, installs the requirements into it
and re-runs this file with .venv's Python; everything after that may import the studio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MIN_PYTHON = (3, 11)
ROOT = Path(__file__).resolve().parent
VENV_DIR = ROOT / ".venv"
STAMP_NAME = ".studio-requirements.json"
RUNTIME_REQUIREMENTS = "requirements.txt"
DEV_REQUIREMENTS = "requirements-dev.txt"
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
READY_TIMEOUT_S = 180.0  # first start after an install compiles bytecode for thousands of files
STOP_TIMEOUT_S = 60.0  # the worker finishes its current step before the server exits


# ----- 1. bootstrap: .venv with the requirements installed --------------------------------------

@dataclass(frozen=True)
class BootstrapPlan:
    create_venv: bool
    install: bool
    reexec: bool

    @property
    def nothing_to_do(self) -> bool:
        return not (self.create_venv or self.install or self.reexec)


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirement_files(command: str | None, root: Path = ROOT) -> list[Path]:
    """What a command needs installed: the runtime set, plus the development set for `test`."""
    files = [root / RUNTIME_REQUIREMENTS]
    if command == "test":
        files.append(root / DEV_REQUIREMENTS)
    return files


def requirements_digest(files: list[Path]) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def read_stamp(venv_dir: Path) -> dict[str, str]:
    try:
        stamp = json.loads((venv_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def write_stamp(venv_dir: Path, files: list[Path]) -> None:
    """Record that these files' requirements are installed (written only after pip succeeded, so an
    interrupted install leaves no stamp and the next launch installs again)."""
    stamp = {**read_stamp(venv_dir), **requirements_digest(files)}
    target = venv_dir / STAMP_NAME
    tmp = target.with_name(target.name + ".partial")
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)


def requirements_met(venv_dir: Path, files: list[Path]) -> bool:
    if not venv_python(venv_dir).exists():
        return False
    stamp = read_stamp(venv_dir)
    return all(stamp.get(name) == digest for name, digest in requirements_digest(files).items())


def running_in(venv_dir: Path) -> bool:
    return Path(sys.prefix).resolve() == venv_dir.resolve()


def plan_bootstrap(venv_dir: Path, files: list[Path], *, inside_venv: bool) -> BootstrapPlan:
    """Decide what the bootstrap must do. With .venv in place and its stamp matching the
    requirement files, a launch from inside .venv does nothing and one from outside only re-runs
    itself with .venv's Python: no pip call either way."""
    met = requirements_met(venv_dir, files)
    return BootstrapPlan(
        create_venv=not inside_venv and not venv_python(venv_dir).exists(),
        install=not met,
        reexec=not inside_venv,
    )


def bootstrap(command: str | None, argv: list[str], *, venv_dir: Path = VENV_DIR) -> None:
    """Make sure this process runs in .venv with the command's requirements installed; may replace
    the process (os.execv) with the same command under .venv's Python."""
    files = requirement_files(command, venv_dir.parent)
    plan = plan_bootstrap(venv_dir, files, inside_venv=running_in(venv_dir))
    if plan.nothing_to_do:
        return
    python = Path(sys.executable) if running_in(venv_dir) else venv_python(venv_dir)
    if plan.create_venv or (plan.install and not python.exists()):
        _create_venv(venv_dir)
    if plan.install:
        _install(python, venv_dir, files)
    if plan.reexec:
        # The same command, now with .venv's packages: argv is passed through unchanged.
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


def _create_venv(venv_dir: Path) -> None:
    import venv

    print(f"Creating the studio's Python environment in {venv_dir} …", flush=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=venv_dir.exists(), symlinks=os.name != "nt").create(venv_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"Could not create {venv_dir}: {exc}\n→ On Debian/Ubuntu install the venv module first: "
                 "sudo apt-get install python3-venv")


def _install(python: Path, venv_dir: Path, files: list[Path]) -> None:
    (venv_dir / STAMP_NAME).unlink(missing_ok=True)  # no stamp until this install has succeeded
    names = " and ".join(f.name for f in files)
    print(f"Installing {names} into {venv_dir} (first launch, or the requirements changed; "
          "this can take several minutes) …", flush=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    for f in files[-1:]:  # requirements-dev.txt includes requirements.txt itself
        command += ["-r", str(f)]
    # pip's own output is the progress display: it streams straight to this terminal.
    completed = subprocess.run(command, cwd=venv_dir.parent)
    if completed.returncode != 0:
        sys.exit(f"Installing the requirements failed (pip exited {completed.returncode}); see pip's messages above.\n"
                 "→ Fix the cause (network, disk space) and run the same command again: it retries the install.")
    write_stamp(venv_dir, files)
    print("Requirements installed.", flush=True)


# ----- 2. command line --------------------------------------------------------------------------

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


class Console:
    """Prints for the person at the terminal and writes the same lines to this launch's log."""

    def __init__(self, *, quiet: bool = False, debug: bool = False):
        self.quiet, self.debug_on = quiet, debug
        self.log_path: Path | None = None
        self._log = None
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def open_log(self, logs_dir: Path, command: str) -> Path:
        logs_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = logs_dir / f"{command}-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        with self._lock:
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)
            self._log.write(f"launch.py {' '.join(sys.argv[1:])} (python {sys.version.split()[0]}, pid {os.getpid()})\n")
            self._log.writelines(self._pending)  # what was said before the log folder was known
            self._pending.clear()
        return self.log_path

    def write_log(self, text: str) -> None:
        line = f"{datetime.now():%H:%M:%S} {text}\n"
        with self._lock:
            if self._log is not None:
                self._log.write(line)
            else:
                self._pending.append(line)

    def check(self, result) -> None:
        """One preflight line: OK lines are quiet-able, WARN and FAIL are not."""
        (self.info if result.status == "OK" else self.important)(result.line())

    def info(self, text: str) -> None:
        self.write_log(text)
        if not self.quiet:
            print(text, flush=True)

    def important(self, text: str) -> None:
        """Shown even with --quiet: warnings, errors, the address."""
        self.write_log(text)
        print(text, flush=True)

    def error(self, text: str) -> None:
        self.write_log(text)
        print(text, file=sys.stderr, flush=True)

    def debug(self, text: str) -> None:
        self.write_log(text)
        if self.debug_on:
            print(text, flush=True)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"The studio needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is {sys.version.split()[0]}.",
              file=sys.stderr)
        return 1
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.data_dir:
        os.environ["STUDIO_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    bootstrap(args.command, argv)

    console = Console(quiet=args.quiet, debug=args.debug)
    try:
        if args.command is None:
            return cmd_serve(args, console)  # opens its log once the server is on its way
        handlers = {
            "run": cmd_run, "worker": cmd_worker, "models": cmd_models, "download": cmd_download,
            "set-password": cmd_set_password, "test": cmd_test,
        }
        paths = start_log(console, args.command)
        return handlers[args.command](args, paths, console)
    except KeyboardInterrupt:  # a run cut short is returned to the queue at the next start
        console.error("Interrupted.")
        return 130
    finally:
        console.close()


def _configure_logging(console: Console) -> None:
    """The studio's log records (worker, engines) go to this launch's log file, and to the console
    with --debug."""
    import logging

    root = logging.getLogger()
    root.setLevel(logging.DEBUG if console.debug_on else logging.INFO)
    file_handler = logging.FileHandler(console.log_path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    for noisy in ("alembic.runtime.plugins", "torch"):  # setup chatter, not findings
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if console.debug_on:
        root.addHandler(logging.StreamHandler(sys.stderr))


# ----- 3. serve ---------------------------------------------------------------------------------

def start_log(console: Console, name: str):
    """Open this launch's log under the studio's logs folder; returns the studio's Paths."""
    from studio.config import Paths

    paths = Paths.from_env()
    console.open_log(paths.logs_dir, name)
    _configure_logging(console)
    return paths


def preflight(args, paths, console: Console, *, port: int | None, **options) -> bool:
    """Run the checks, printing each line; True when none failed."""
    from studio import preflight as checks

    results = checks.run_checks(paths, host=args.host, port=port, on_result=console.check, **options)
    counts = {s: sum(r.status == s for r in results) for s in ("OK", "WARN", "FAIL")}
    console.info(f"Checks: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL.")
    return not checks.has_failures(results)


def cmd_serve(args, console: Console) -> int:
    from studio.web import auth

    if auth.is_loopback(args.host) and not args.check:
        return _serve_on_loopback(args, console)
    paths = start_log(console, "check" if args.check else "serve")
    console.info(f"Log: {console.log_path}")
    exposed = not auth.is_loopback(args.host)
    if exposed:
        console.important(f"WARNING: listening on {args.host} makes the studio reachable from other machines "
                          f"on port {args.port}. Everyone who can reach it needs the password.")
    passed = preflight(args, paths, console, port=args.port)
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
    env[auth.PASSWORD_HASH_ENV] = password_hash
    return _serve(args, console, env)


def _serve_on_loopback(args, console: Console) -> int:
    """Start the server as soon as its port is known to be free, and check everything else while
    it starts (the server migrates the database itself); a FAIL stops it again. The GPU check,
    which only informs, may print after the address."""
    from studio import preflight as checks

    port = checks.check_port(args.host, args.port)
    if port.failed:
        console.check(port)
        return 1

    def while_starting() -> bool:
        paths = start_log(console, "serve")  # the lines said so far are written to it first
        console.info(f"Log: {console.log_path}")
        console.check(port)
        passed = preflight(args, paths, console, port=None, migrate_db=False, gpu=False)
        if passed:
            # Last, and beside the wait for the server: importing torch takes seconds and the
            # interpreter lock, which would slow the checks that decide whether to serve.
            threading.Thread(target=lambda: console.check(checks.guarded("gpu", checks.check_gpu)),
                             name="preflight-gpu", daemon=True).start()
            return True
        console.error("Stopping: fix the FAIL lines above (each ends with what to do), then run the same command again.")
        return False

    return _serve(args, console, _server_environment(args), while_starting=while_starting)


def _server_environment(args) -> dict[str, str]:
    from studio.web import auth

    env = dict(os.environ)  # STUDIO_DATA_DIR is in it when --data-dir was given
    env.pop(auth.PASSWORD_HASH_ENV, None)  # only a password this launch checked may gate the server
    env.pop(auth.PASSWORD_ENV, None)  # the server needs the hash, never the password
    env["PYTHONUNBUFFERED"] = "1"
    if args.debug:
        env["STREAMLIT_LOGGER_LEVEL"] = "debug"
    return env


def _password_hash(paths) -> str | None:
    from studio.web import auth

    password = os.environ.get(auth.PASSWORD_ENV)
    if password:
        return auth.hash_password(password)
    from studio.db.engine import make_engine, make_session_factory

    db = make_engine(paths.database_url)
    try:
        return auth.stored_password_hash(make_session_factory(db))
    finally:
        db.dispose()


def server_command(python: str, host: str, port: int) -> list[str]:
    return [python, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
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


def _serve(args, console: Console, env: dict[str, str], *, while_starting=None) -> int:
    """Start the server, run `while_starting` (checks; False stops the server again), wait until it
    is healthy, announce it, keep it until Ctrl-C/SIGTERM and stop it cleanly. The server's output
    goes to this launch's log (and to the console with --debug)."""
    url = local_url(args.host, args.port)
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
        console.info(f"Starting the studio on {args.host}:{args.port} …")
        # Own session (process group): a Ctrl-C in the terminal reaches only this launcher, which
        # then stops the server once, with SIGTERM, and waits for it.
        child = subprocess.Popen(server_command(sys.executable, args.host, args.port), cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_stop_with_parent)
        pump = threading.Thread(target=_pump_output, args=(child, console), name="server-output", daemon=True)
        pump.start()
        checks_passed = while_starting() if while_starting else True
        ready = checks_passed and _wait_until_ready(child, f"{url}/_stcore/health", stop)
        if ready:
            console.important(f"Studio ready at {url}")
            console.debug(f"server pid {child.pid}")
            if args.host not in (DEFAULT_HOST, "localhost") and local_url(args.host, args.port) != url:
                console.important(f"Also reachable at http://{args.host}:{args.port}")
            if not args.no_browser:
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
        import ctypes

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
    import webbrowser

    try:
        webbrowser.open(url, new=2)
    except Exception:  # no browser on this machine is no reason to stop serving
        pass


def _tail(path: Path | None, count: int) -> list[str]:
    if path is None or not path.exists():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]


# ----- 4. the other commands --------------------------------------------------------------------

def _services(paths, console: Console):
    """Build the studio's services, or None after printing why not (a database from newer code)."""
    from studio.db.migrate import DatabaseTooNew
    from studio.services import build_services

    try:
        return build_services(paths)
    except DatabaseTooNew as exc:
        console.error(f"Error: {exc}")
        return None


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r} is not NAME=VALUE, e.g. --param frames=24.")
        params[name.strip().replace("-", "_")] = value.strip()
    return params


def cmd_run(args, paths, console: Console) -> int:
    from studio.engines.base import InputError

    image_path = Path(args.image).expanduser()
    try:
        data = image_path.read_bytes()
    except OSError as exc:
        console.error(f"Error: --image {image_path}: cannot read the file ({exc.strerror or exc}).")
        return 2
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        console.error(f"Error: {exc}")
        return 2
    from studio.media.images import ImageRejected, load_upload

    try:
        image = load_upload(data, image_path.name)
    except ImageRejected as exc:
        console.error(f"Error: --image: {exc.message}")
        return 2
    services = _services(paths, console)
    if services is None:
        return 1
    try:
        from studio.jobs.queue import SubmitRequest

        engine = args.engine or services.registry.default_engine_id(services.settings())
        params.update(prompt=args.prompt, negative_prompt=args.negative_prompt)
        if args.seed is not None:
            params["seed"] = args.seed
        if args.memory_mode:
            params["memory_mode"] = args.memory_mode
        try:
            run_id = services.queue.submit(SubmitRequest(engine=engine, params=params, image=image,
                                                         image_name=image_path.name))
        except InputError as exc:
            console.error(f"Error: {_input_error_text(exc)}")
            return 2
        console.info(f"Run {run_id} queued on engine {engine}; generating …")
        services.worker.run_until_idle()
        run = _wait_finished(services, run_id)
        if run.status != "succeeded":
            console.error(f"Run {run_id} {run.status}: {run.error or 'no error recorded'}")
            if run.log_path:
                console.error(f"Run log: {run.log_path}")
            return 1
        console.info(f"Run {run_id} succeeded in {_seconds(run)}; seed {run.seed}.")
        print(run.video_path, flush=True)
        return 0
    finally:
        services.close()


def _input_error_text(exc) -> str:
    flag = {"image": "--image", "engine": "--engine", "seed": "--seed", "prompt": "--prompt",
            "memory_mode": "--memory-mode", "negative_prompt": "--negative-prompt"}.get(exc.param)
    where = flag or f"--param {exc.param}"
    text = f"{where}: {exc.message}"
    if exc.suggestion is not None and flag is None:
        text += f" Try --param {exc.param}={exc.suggestion}."
    return text


def _wait_finished(services, run_id: int):
    """The run's final row. Another worker on the same database may have claimed it; then wait."""
    while True:
        run = services.history.get_run(run_id)
        if run.status not in ("queued", "running"):
            return run
        services.worker.run_until_idle()
        time.sleep(0.5)


def _seconds(run) -> str:
    if run.started_at and run.finished_at:
        return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"
    return "an unknown time"


def cmd_worker(args, paths, console: Console) -> int:
    services = _services(paths, console)
    if services is None:
        return 1
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        services.worker.start()
        console.important(f"Worker {services.worker.worker_id} is processing the queue of {paths.database_url}. "
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


def cmd_models(args, paths, console: Console) -> int:
    from studio.engines.diffusion.weights import install_command

    services = _services(paths, console)
    if services is None:
        return 1
    try:
        engines = services.registry.engines()
        width = max(len(e.info.id) for e in engines)
        for engine in engines:
            info, status = engine.info, engine.weights_status()
            tag = " (developer)" if info.developer_only else ""
            if status.ready:
                state = "ready" + (f" — {status.location}" if status.location else "")
            elif status.state == "missing":
                command = install_command(info.model_id) if info.model_id else status.hint
                state = f"not installed — install with: {command}"
            else:
                state = f"unusable — {status.detail}" + (f" ({status.hint})" if status.hint else "")
            print(f"{info.id:<{width}}  {info.label}{tag}: {state}", flush=True)
        import importlib.util

        if importlib.util.find_spec("studio.engines.diffusion.families") is None:
            print("Diffusion model engines are not part of this build (studio.engines.diffusion.families is missing).")
        return 0
    finally:
        services.close()


def cmd_download(args, paths, console: Console) -> int:
    try:
        from studio.engines.diffusion import weights
    except ImportError:
        console.error("Downloading models is not available in this build (studio.engines.diffusion.weights is missing).")
        return 1
    services = _services(paths, console)
    if services is None:
        return 1
    try:
        known = sorted({e.info.model_id for e in services.registry.engines() if e.info.model_id})
    finally:
        services.close()
    if known and args.model_id not in known:
        console.error(f"Unknown model {args.model_id!r}. The studio's engines use: {', '.join(known)}.")
        return 2
    try:
        folder = weights.download(args.model_id, progress=console.info)
    except weights.DownloadError as exc:
        console.error(f"Error: {exc}" + (f"\n→ {exc.hint}" if exc.hint else ""))
        return 1
    console.important(f"{args.model_id} installed in {folder}")
    return 0


def cmd_set_password(args, paths, console: Console) -> int:
    from studio.db.engine import make_engine, make_session_factory
    from studio.db.migrate import DatabaseTooNew, upgrade
    from studio.web import auth

    db = make_engine(paths.database_url)
    try:
        try:
            upgrade(db, paths.sqlite_path)
        except DatabaseTooNew as exc:
            console.error(f"Error: {exc}")
            return 1
        sessions = make_session_factory(db)
        if args.clear:
            auth.save_password_hash(sessions, "")
            console.important("Password removed: the studio can be served on this machine only.")
            return 0
        password = _read_new_password()
        if password is None:
            console.error("The two passwords differ; nothing was changed.")
            return 2
        try:
            password_hash = auth.hash_password(password)
        except ValueError as exc:
            console.error(f"Error: {exc}")
            return 2
        auth.save_password_hash(sessions, password_hash)
    finally:
        db.dispose()
    console.important("Password set. Serve beyond this machine with e.g. `python launch.py --host 0.0.0.0`.")
    return 0


def _read_new_password() -> str | None:
    if not sys.stdin.isatty():  # scripted: the first line of standard input
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("New password: ")
    return first if getpass.getpass("Repeat it: ") == first else None


def cmd_test(args, paths, console: Console) -> int:
    _ensure_chromium(console)
    # Paths among the extra arguments replace the default `tests` (e.g. `test tests/unit -x`).
    names_paths = any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args.pytest_args)
    command = [sys.executable, "-m", "pytest", *([] if names_paths else ["tests"]), "-q", *args.pytest_args]
    console.info(f"Running: {' '.join(command[1:])}")
    return subprocess.call(command, cwd=ROOT)


def _ensure_chromium(console: Console) -> None:
    """Browser tests drive the system's Chromium; install the distribution's package when missing."""
    if Path("/usr/bin/chromium").exists():
        return
    can_install = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_install:
        console.info("Chromium is not installed (/usr/bin/chromium); browser tests will be skipped.")
        return
    console.info("Installing Chromium for the browser tests (apt-get) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    ok = (subprocess.call(["apt-get", "update"], env=env) == 0
          and subprocess.call(["apt-get", "install", "-y", "chromium"], env=env) == 0)
    if not ok:
        console.important("Installing Chromium failed; browser tests will be skipped.")


if __name__ == "__main__":
    sys.exit(main())
