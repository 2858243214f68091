"""What the person at the terminal reads ([OK]/[WARN]/[FAIL] lines, errors, the address) and the
same lines in this launch's log, which the studio's log records join too.

Standard library only, like the parser: the package's root imports it before .venv exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from datetime import datetime
from pathlib import Path


class Console:
    """Prints for the person at the terminal and writes the same lines to this launch's log."""

    def __init__(self, *, quiet: bool = False, debug: bool = False):
        self.quiet, self.debug_on = quiet, debug
        self.log_path: Path | None = None
        self._log = None
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def open_log(self, logs_dir: Path, command: str) -> Path:
        """Open this launch's log (once: a second call keeps the first log) and route the
        studio's log records to it."""
        if self.log_path is not None:
            return self.log_path
        path = logs_dir / f"{command}-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        try:
            logs_dir.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._log = open(path, "a", encoding="utf-8", buffering=1)
                self.log_path = path
                self._log.write(f"launch.py {' '.join(sys.argv[1:])} (python {sys.version.split()[0]}, pid {os.getpid()})\n")
                self._log.writelines(self._pending)  # what was said before the log folder was known
                self._pending.clear()
            _configure_logging(path, debug=self.debug_on)
        except OSError as error:  # a full disk, a read-only folder: the command goes on without its log
            self._give_up_log(path, error)
        return path

    def _give_up_log(self, path: Path, error: OSError) -> None:
        """Stop writing the log (once), and say so: a log that cannot be written must never be
        what ends a command, nor fill the terminal with the logging module's tracebacks."""
        with self._lock:
            log, self._log, self.log_path = self._log, None, None
            self._pending.clear()
        if log is not None:
            with contextlib.suppress(OSError):
                log.close()
        print(f"Warning: the log {path} cannot be written ({error.strerror or error}); going on without it.",
              file=sys.stderr, flush=True)

    def write_log(self, text: str) -> None:
        line = f"{datetime.now():%H:%M:%S} {text}\n"
        try:
            with self._lock:
                if self._log is not None:
                    self._log.write(line)
                elif self.log_path is None and len(self._pending) < 1000:
                    self._pending.append(line)
        except OSError as error:  # only an open log is written to, so its path is known
            self._give_up_log(self.log_path, error)

    def check(self, result) -> None:
        """One preflight line: OK lines are quiet-able, WARN and FAIL are not."""
        (self.info if result.status == "OK" else self.important)(result.line())

    def info(self, text: str) -> None:
        self.write_log(text)
        if not self.quiet:
            print(text, flush=True)

    def note(self, text: str) -> None:
        """Like info, but on stderr: for commands whose stdout is data another program reads
        (`submit` prints only run ids and paths there)."""
        self.write_log(text)
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

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
            with contextlib.suppress(OSError):  # the last lines could not be flushed to a full disk
                self._log.close()
            self._log = None


def _configure_logging(log_path: Path, *, debug: bool) -> None:
    """The studio's log records (worker, engines) go to this launch's log file, and to the console
    with --debug."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    file_handler = _LogFileHandler(log_path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    for noisy in ("alembic.runtime.plugins", "torch"):  # setup chatter, not findings
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if debug:
        root.addHandler(logging.StreamHandler(sys.stderr))


class _LogFileHandler(logging.FileHandler):
    """The launch's log file for the studio's records; a record it cannot write (a full disk) is
    dropped without the logging module's traceback on the terminal."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass
