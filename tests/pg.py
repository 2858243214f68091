"""A throwaway PostgreSQL cluster for the tests that run on both databases.

One cluster per test session: initdb into a temporary folder, started on a free loopback port with
its unix socket in that folder (never the system's /var/run/postgresql), stopped and removed at the
end. Each test gets its own database, cloned from a template (CREATE DATABASE … TEMPLATE is a file
copy, milliseconds), so tests never see each other's rows.

PostgreSQL refuses to run as root. As root, the cluster runs as the `postgres` system user that
Debian's package creates (runuser), and the package is installed when missing. Without root and
without the binaries there is no cluster: `unavailable_reason()` says why, and the tests that need
one skip with that reason (the summary repeats it, see tests/conftest.py)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
TEMPLATE = "studio_template"
# Durability is pointless for a cluster deleted at the end of the run; turning it off makes each
# CREATE DATABASE and commit cheap.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
START_TIMEOUT_S = 60


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's versioned folder (newest first), else PATH."""
    for folder in sorted(glob.glob(DEBIAN_BINARIES), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def install_postgresql() -> bool:
    """As root on Debian: install the distribution's `postgresql` package. Returns success."""
    if not (_is_root() and shutil.which("apt-get")):
        return False
    # Past pytest's output capture: a minute of apt-get must not look like a hang.
    print("\n*** PostgreSQL is not installed: installing Debian's `postgresql` package (apt-get) "
          "for the tests that run on both databases …", file=sys.__stderr__, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    ok = subprocess.call(["apt-get", "install", "-y", "postgresql"], env=env) == 0
    if not ok:
        ok = (subprocess.call(["apt-get", "update"], env=env) == 0
              and subprocess.call(["apt-get", "install", "-y", "postgresql"], env=env) == 0)
    return ok and find_binaries() is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A running cluster. `database()` hands out a fresh, empty database URL for SQLAlchemy."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        # As root, the server runs as `postgres`; the folder must be its own (initdb checks).
        self._as = ["runuser", "-u", "postgres", "--"] if _is_root() else []
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")
            self.folder.chmod(0o700)

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=START_TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        options = " ".join([f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                            f"-c unix_socket_directories={self.folder}", *(f"-c {s}" for s in FAST_SETTINGS)])
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-w", "-t", str(START_TIMEOUT_S), "-o", options, "start")
        # An empty template of our own: cloning it is cheap, and nothing a test does reaches
        # template1. Extensions are left to the migrations (0006 creates unaccent), as in production.
        self._execute("postgres", f"CREATE DATABASE {TEMPLATE}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _execute(self, database: str, sql: str) -> None:
        import psycopg

        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                                     autocommit=True) as conn:
                    conn.execute(sql)
                return
            except psycopg.errors.ObjectInUse:
                # CREATE DATABASE … TEMPLATE needs the template idle; a closing connection can linger.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def database(self) -> str:
        """A new empty database (cloned from the template); returns its SQLAlchemy URL."""
        name = f"studio_test_{next(self._names)}"
        self._execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        self._execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def unavailable_reason() -> str | None:
    """Why no cluster can be started here, or None when one can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver (psycopg) is not installed; run `python launch.py` to install requirements"
    if find_binaries() is None and not install_postgresql():
        return ("PostgreSQL is not installed and this process cannot install it (needs root and apt-get); "
                "install Debian's `postgresql` package to run these tests")
    if _is_root() and not _has_user("postgres"):
        return "running as root, but there is no `postgres` system user to run the server as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
