"""Workers on other hosts with no shared disk, for real: PostgreSQL, the server and two workers
each in a network namespace of its own (tests/netns.py), each with its own data folder. The
workers reach the database over the network and the server's worker API with a token; jobs are
queued with `launch.py submit` on the server's host. Checks: 30 camera-motion runs each succeed
once, by a worker, and the server's UI routes serve every file; a worker killed mid-run loses the
run to the other within the lease; a worker paused past its lease finds every write refused (its
uploads included) and the run has one set of files; a worker limited to a diffusion family takes
none of them.

Skips (loudly) where network namespaces cannot be made: not root, or no `ip`."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from studio.config import PROJECT_ROOT
from studio.db.engine import make_engine
from studio.jobs.wire import ATTEMPT_HEADER, SHA256_HEADER, WORKER_HEADER, file_url
from tests import netns, pg

LAUNCH = str(PROJECT_ROOT / "launch.py")
PORT = 8501
LEASE_S = 6  # the workers' lease (STUDIO_LEASE_SECONDS): a dead or paused worker's run is retaken soon
PASSWORD = "multi-host-password"
SMALL = ["--param", "width=64", "--param", "height=64", "--param", "frames=6", "--param", "fps=12"]
# Long enough (a few seconds) to be caught mid-run and still be running after a signal.
LONG = ["--param", "width=320", "--param", "height=240", "--param", "frames=240", "--param", "fps=24"]
JOBS = 30


def _skip_loudly(reason: str) -> None:
    print(f"\n*** THE MULTI-HOST TEST IS SKIPPED: {reason}", file=sys.__stderr__, flush=True)
    pytest.skip(f"multi-host test needs network namespaces: {reason}")


class Hosts:
    """The namespaces, the processes started in them and the PostgreSQL cluster, all removed by close()."""

    def __init__(self, root: Path):
        self.root = root
        self.net = netns.Network(["db", "server", "w1", "w2"])
        self.processes: dict[str, subprocess.Popen] = {}
        self.pg_folder: Path | None = None
        self.binaries = pg.find_binaries()

    def address(self, host: str) -> str:
        return self.net.addresses[host]

    # ----- PostgreSQL on its own host -------------------------------------------------------------

    def start_postgres(self) -> str:
        import shutil
        import tempfile

        self.pg_folder = Path(tempfile.mkdtemp(prefix="studio-pg-hosts-"))
        shutil.chown(self.pg_folder, "postgres", "postgres")
        data = self.pg_folder / "data"
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, str(self.binaries / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"], check=True, capture_output=True, timeout=60)
        with open(data / "pg_hba.conf", "a") as hba:  # the other hosts, over the test network only
            hba.write(f"host all all {netns.SUBNET}.0/24 trust\n")
        options = (f"-p 5432 -c listen_addresses={self.address('db')} -c unix_socket_directories={self.pg_folder} "
                   + " ".join(f"-c {s}" for s in pg.FAST_SETTINGS))
        subprocess.run([*self.net.exec_prefix("db"), *as_postgres, str(self.binaries / "pg_ctl"), "-D", str(data),
                        "-l", str(self.pg_folder / "server.log"), "-w", "-t", "60", "-o", options, "start"],
                       check=True, capture_output=True, timeout=90)
        subprocess.run([*as_postgres, str(self.binaries / "psql"), "-h", str(self.pg_folder), "-U", "postgres",
                        "-c", "CREATE DATABASE studio"], check=True, capture_output=True, timeout=30)
        return f"postgresql+psycopg://postgres@{self.address('db')}:5432/studio"

    # ----- the studio's processes -----------------------------------------------------------------

    def environment(self, url: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        env.update(STUDIO_DATABASE_URL=url, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **extra)
        return env

    def spawn(self, name: str, host: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.out", "w")
        # A session of its own: close() ends it and whatever it started (the server's Streamlit child).
        process = subprocess.Popen([*self.net.exec_prefix(host), sys.executable, LAUNCH, *args], env=env,
                                   cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def launch(self, host: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([*self.net.exec_prefix(host), sys.executable, LAUNCH, *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=120)

    def output_of(self, name: str) -> str:
        path = self.root / f"{name}.out"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGCONT)  # a paused one must be able to die
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(10)
        if self.pg_folder is not None:
            if (self.pg_folder / "data").exists():
                subprocess.run(["runuser", "-u", "postgres", "--", str(self.binaries / "pg_ctl"), "-D",
                                str(self.pg_folder / "data"), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
            import shutil

            shutil.rmtree(self.pg_folder, ignore_errors=True)
        self.net.destroy()


class Observer:
    """What the test sees of the studio: the runs table (over the test network) and the server's
    HTTP routes (logged in with the password)."""

    def __init__(self, hosts: Hosts, url: str):
        self.hosts = hosts
        self.db = make_engine(url)
        self.cookie = ""

    def runs(self) -> list[dict]:
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(
                "SELECT id, status, worker_id, attempts, step, error, video_path, poster_path, thumb_path "
                "FROM runs ORDER BY id"))]

    def workers(self) -> list[dict]:
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT id, engines FROM workers"))]

    def wait_for(self, what: str, condition, timeout: float):
        """Poll `condition` (returns a truthy value when met); on timeout, fail saying what was seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.2)
        seen = "\n".join(str(r) for r in self.runs()[-12:])
        logs = "\n".join(f"--- {name}:\n{self.hosts.output_of(name)}" for name in self.hosts.processes)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}.\nRuns (last 12):\n{seen}\n{logs}")

    def http(self, method: str, target: str, *, headers=None, body=None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.hosts.address("server"), PORT, timeout=30)
        try:
            conn.request(method, target, body=body, headers={"Cookie": self.cookie, **(headers or {})})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def log_in(self) -> None:
        form = urllib.parse.urlencode({"password": PASSWORD, "next": "/"})
        status, headers, _ = self.http("POST", "/_studio/login", body=form,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303, f"login answered {status}"
        self.cookie = headers["set-cookie"].split(";", 1)[0]


def _pid_of(worker_id: str | None) -> int | None:
    parts = (worker_id or "").split(":")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def _files_of(folder: Path, run_id: int) -> list[str]:
    return sorted(p.name for p in folder.rglob(f"run-{run_id:06d}-*") if p.is_file())


def test_workers_on_other_hosts_share_no_disk_and_each_run_is_done_once(tmp_path):
    reason = netns.unavailable_reason() or pg.unavailable_reason()
    if reason:
        _skip_loudly(reason)
    hosts = Hosts(tmp_path)
    try:
        hosts.net.create()
        url = hosts.start_postgres()
        observer = Observer(hosts, url)
        server_data = tmp_path / "server-data"
        env = hosts.environment(url)
        # 1. The server: it migrates the database, serves the UI and the worker API, and runs no jobs.
        hosts.spawn("server", "server", ["--host", "0.0.0.0", "--port", str(PORT), "--no-browser", "--no-worker",
                                         "--data-dir", str(server_data)], hosts.environment(url, STUDIO_PASSWORD=PASSWORD))

        def healthy():
            try:
                return observer.http("GET", "/_stcore/health")[0] == 200
            except OSError:
                return False

        observer.wait_for("the server to answer", healthy, 120)
        # 2. A token per worker host, made on the server's host.
        tokens = {}
        for name in ("w1", "w2"):
            made = hosts.launch("server", ["worker-token", "create", name, "--data-dir", str(server_data)], env)
            assert made.returncode == 0, made.stderr
            [tokens[name]] = [line for line in made.stdout.splitlines() if line.startswith("stw_")]
        # 3. The workers, each with its own data folder; a third limited to a diffusion family.
        server = f"http://{hosts.address('server')}:{PORT}"
        worker_env = hosts.environment(url, STUDIO_LEASE_SECONDS=str(LEASE_S))
        pids = {}
        for name in ("w1", "w2"):
            process = hosts.spawn(name, name, ["worker", "--server", server, "--data-dir", str(tmp_path / f"{name}-data")],
                                  {**worker_env, "STUDIO_WORKER_TOKEN": tokens[name]})
            pids[process.pid] = name
        hosts.spawn("w3", "w2", ["worker", "--server", server, "--engines", "wan2.2-ti2v-5b",
                                 "--data-dir", str(tmp_path / "w3-data")], {**worker_env, "STUDIO_WORKER_TOKEN": tokens["w2"]})
        observer.wait_for("three workers to report themselves", lambda: len(observer.workers()) == 3, 60)
        # 4. Thirty camera-motion jobs, queued on the server's host with its data folder.
        images = tmp_path / "images"
        images.mkdir()
        for index in range(JOBS):
            Image.new("RGB", (80, 60), (index * 8, 120, 255 - index * 8)).save(images / f"p{index:02d}.png")
        queued = hosts.launch("server", ["submit", "--folder", str(images), "--engine", "motion", *SMALL,
                                         "--data-dir", str(server_data)], env)
        assert queued.returncode == 0, queued.stderr
        run_ids = [int(line) for line in queued.stdout.split() if line.isdigit()]
        assert len(run_ids) == JOBS
        observer.wait_for(f"{JOBS} runs to succeed",
                          lambda: sum(r["status"] == "succeeded" for r in observer.runs()) == JOBS, 120)

        def start_long_run(name: str) -> dict:
            """Queue a long run and return its row as soon as a worker is rendering it (watched while
            `submit` is still exiting: an idle worker takes it at once)."""
            before = max(r["id"] for r in observer.runs())
            hosts.spawn(name, "server", ["submit", "--image", str(images / "p00.png"), "--engine", "motion", *LONG,
                                         "--data-dir", str(server_data)], env)

            def rendering():
                row = next((r for r in observer.runs() if r["id"] > before), None)
                assert row is None or row["status"] in ("queued", "running"), f"the long run ended first: {row}"
                return row if row and row["status"] == "running" and (row["step"] or 0) >= 1 else None

            return observer.wait_for(f"the {name} run to start", rendering, 60)

        def row_of(run_id):
            return next(r for r in observer.runs() if r["id"] == run_id)

        # 5. A worker paused past its lease: the other takes the run; the late one's writes are refused.
        holder = start_long_run("paused")
        paused_run = holder["id"]
        paused_pid = _pid_of(holder["worker_id"])
        assert paused_pid in pids, holder
        os.kill(paused_pid, signal.SIGSTOP)
        try:
            done = observer.wait_for("the paused worker's run to be finished by the other",
                                     lambda: (r := row_of(paused_run))["status"] == "succeeded" and r, 60)
        finally:
            os.kill(paused_pid, signal.SIGCONT)
        assert done["worker_id"] != holder["worker_id"] and done["attempts"] == 2
        late_name = pids[paused_pid]
        body = b"late poster"
        status, _, answer = observer.http("PUT", file_url(paused_run, "poster"), body=body, headers={
            "Authorization": f"Bearer {tokens[late_name]}", WORKER_HEADER: holder["worker_id"], ATTEMPT_HEADER: "1",
            SHA256_HEADER: __import__("hashlib").sha256(body).hexdigest(), "Content-Length": str(len(body))})
        assert status == 409 and json.loads(answer)["attempt"] == 2 and done["worker_id"] not in answer.decode()
        late_log = tmp_path / f"{late_name}-data" / "logs" / "runs" / f"run-{paused_run:06d}.log"
        observer.wait_for("the late worker to give the run up",
                          lambda: late_log.exists() and "lease lost" in late_log.read_text(), 30)
        assert row_of(paused_run) == done
        # 6. A worker killed mid-run: the run is taken again within the lease and done once.
        holder = start_long_run("killed")
        killed_run = holder["id"]
        killed_pid = _pid_of(holder["worker_id"])
        assert killed_pid in pids, holder
        os.killpg(killed_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        observer.wait_for("the killed worker's run to be taken again",
                          lambda: row_of(killed_run)["attempts"] == 2, 30)
        reclaimed_s = time.monotonic() - killed_at
        done = observer.wait_for("the killed worker's run to succeed",
                                 lambda: (r := row_of(killed_run))["status"] == "succeeded" and r, 60)
        assert done["worker_id"] != holder["worker_id"]
        print(f"\nkilled worker's run taken again after {reclaimed_s:.1f} s (lease {LEASE_S} s)", file=sys.__stderr__)
        # 7. Every run: succeeded once, by one of the two workers, its files on the server only,
        #    served by the server's UI routes.
        observer.log_in()
        runs = observer.runs()
        assert len(runs) == JOBS + 2 and all(r["status"] == "succeeded" for r in runs)
        restricted = [w["id"] for w in observer.workers() if w["engines"] == ["wan2.2-ti2v-5b"]]
        assert len(restricted) == 1
        server_outputs = server_data / "outputs"
        for run in runs:
            assert _pid_of(run["worker_id"]) in pids, run
            assert run["attempts"] == (2 if run["id"] in (paused_run, killed_run) else 1), run
            assert Path(run["video_path"]).is_relative_to(server_outputs), run
            videos = [n for n in _files_of(server_outputs, run["id"]) if n.endswith(".mp4")]
            assert videos == [Path(run["video_path"]).name], (run, videos)
            for kind in ("video", "poster", "thumb"):
                status, _, _ = observer.http("GET", f"/studio/media/run/{run['id']}/{kind}")
                assert status == 200, (run["id"], kind, status)
        status, _, video = observer.http("GET", f"/studio/media/run/{run_ids[0]}/video")
        assert status == 200 and b"avc1" in video  # an H.264 sample entry
        for name in ("w1", "w2", "w3"):  # no worker kept a result (the killed one's temporary goes at its next start)
            kept = [p for p in (tmp_path / f"{name}-data" / "outputs").rglob("*.mp4") if ".partial." not in p.name]
            assert not kept, name
    finally:
        hosts.close()
