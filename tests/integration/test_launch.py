"""launch.py as a person runs it: real subprocesses, real sockets, a real SQLite history and the
built-in camera-motion engine. Each test has its own data folder and a free port."""

from __future__ import annotations

import ast
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from studio.cli.supervise import server_command
from studio.config import PROJECT_ROOT, Paths
from studio.db import migrate
from studio.db.engine import make_engine, make_session_factory
from studio.media.encode import probe_video
from studio.web import auth
from tests.integration.cli import LAUNCH, launch

CHECK_NAMES = ("python", "packages", "ffmpeg", "disk", "folders", "port", "database", "engine motion", "gpu")


def load_launch_module():
    spec = importlib.util.spec_from_file_location("studio_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def children_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ----- bootstrap ----------------------------------------------------------------------------------

@pytest.fixture()
def project(tmp_path):
    """A project folder with requirement files and a .venv that has a Python in it."""
    root = tmp_path / "project"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("")
    (root / "requirements.txt").write_text("pillow==13.0.0\n")
    (root / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.0\n")
    return root


def test_bootstrap_installs_once_then_never_calls_pip(project):
    launch_module = load_launch_module()
    venv = project / ".venv"
    runtime = launch_module.requirement_files(None, project)
    plan = launch_module.plan_bootstrap(venv, runtime, inside_venv=False)
    assert plan.install and plan.reexec and not plan.create_venv

    launch_module.write_stamp(venv, runtime)  # what a successful install leaves behind
    assert launch_module.plan_bootstrap(venv, runtime, inside_venv=True).nothing_to_do
    outside = launch_module.plan_bootstrap(venv, runtime, inside_venv=False)
    assert not outside.install and outside.reexec  # only re-runs itself in .venv

    # `test` needs the development requirements too; installing them keeps the runtime stamp.
    dev = launch_module.requirement_files("test", project)
    assert launch_module.plan_bootstrap(venv, dev, inside_venv=True).install
    launch_module.write_stamp(venv, dev)
    assert launch_module.plan_bootstrap(venv, dev, inside_venv=True).nothing_to_do
    assert launch_module.plan_bootstrap(venv, runtime, inside_venv=True).nothing_to_do


def test_bootstrap_reinstalls_after_a_change_or_an_interrupted_install(project):
    launch_module = load_launch_module()
    venv = project / ".venv"
    runtime = launch_module.requirement_files(None, project)
    launch_module.write_stamp(venv, runtime)
    (project / "requirements.txt").write_text("pillow==13.0.0\nnumpy==2.4.6\n")
    assert launch_module.plan_bootstrap(venv, runtime, inside_venv=True).install

    launch_module.write_stamp(venv, runtime)
    (venv / launch_module.STAMP_NAME).unlink()  # an install cut short never wrote its stamp
    assert launch_module.plan_bootstrap(venv, runtime, inside_venv=True).install

    (venv / launch_module.STAMP_NAME).write_text("{not json")
    assert launch_module.plan_bootstrap(venv, runtime, inside_venv=True).install


def test_setting_up_talks_on_stderr_so_stdout_carries_only_results(project, capfd):
    """`launch.py submit` prints run ids on stdout for scripts; a first-launch install must not mix
    its progress (nor pip's) into them."""
    launch_module = load_launch_module()
    fake_python = project / ".venv" / "bin" / "python"
    fake_python.write_text("#!/bin/sh\necho 'Collecting pillow'\n")
    fake_python.chmod(0o755)
    launch_module._install(fake_python, project / ".venv", launch_module.requirement_files(None, project))
    out, err = capfd.readouterr()
    assert out == ""
    assert "Installing requirements.txt" in err and "Collecting pillow" in err and "Requirements installed." in err


def test_bootstrap_creates_a_missing_venv(tmp_path):
    launch_module = load_launch_module()
    (tmp_path / "requirements.txt").write_text("pillow==13.0.0\n")
    plan = launch_module.plan_bootstrap(tmp_path / ".venv", launch_module.requirement_files(None, tmp_path),
                                        inside_venv=False)
    assert plan.create_venv and plan.install and plan.reexec


def module_level_imports(path: Path) -> set[str]:
    """The top-level package of every import statement outside a function or class."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            names.add(node.module)
    return names


def test_launcher_is_short_and_needs_only_the_standard_library():
    assert len(LAUNCH.read_text().splitlines()) < 250
    imports = module_level_imports(LAUNCH)
    assert imports and all(name.split(".")[0] in sys.stdlib_module_names for name in imports), imports


def test_command_line_parses_with_only_the_standard_library():
    """launch.py parses with studio.cli before .venv exists: its root, parser and console import
    nothing else at the top."""
    cli = PROJECT_ROOT / "studio" / "cli"
    own = {"studio.cli.console", "studio.cli.parser", "studio.interrupts"}
    for path in (cli / "__init__.py", cli / "parser.py", cli / "console.py", PROJECT_ROOT / "studio" / "interrupts.py"):
        imports = module_level_imports(path) - own
        assert all(n.split(".")[0] in sys.stdlib_module_names for n in imports), (path.name, imports)


# ----- --check ------------------------------------------------------------------------------------

def test_check_prints_every_check_and_fails_on_a_taken_port(studio_env):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = launch("--check", "--port", str(port), env=studio_env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in CHECK_NAMES:
        assert any(line.split("]", 1)[-1].strip().startswith(f"{name}:") for line in lines), (name, result.stdout)
    port_line = next(line for line in lines if line.startswith("[FAIL] port:"))
    assert str(port) in port_line and "--port" in port_line
    assert "1 FAIL" in result.stdout
    logs = list((Path(studio_env["STUDIO_DATA_DIR"]) / "logs").glob("check-*.log"))
    assert len(logs) == 1 and "[FAIL] port:" in logs[0].read_text()


def make_database_from_newer_code(env) -> None:
    """A database at a schema revision this code has never heard of."""
    paths = Paths.from_env(env)
    engine = make_engine(paths.database_url)
    migrate.upgrade(engine, paths.sqlite_path)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    engine.dispose()


def test_check_refuses_a_database_newer_than_the_code(studio_env, free_port):
    make_database_from_newer_code(studio_env)
    result = launch("--check", "--port", str(free_port), env=studio_env)
    assert result.returncode == 1
    database_line = next(line for line in result.stdout.splitlines() if "database:" in line)
    assert database_line.startswith("[FAIL]") and "newer" in database_line


# ----- run ----------------------------------------------------------------------------------------

@pytest.fixture()
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    image = Image.new("RGB", (96, 72), (30, 90, 160))
    image.paste((240, 200, 40), (20, 16, 60, 50))
    image.save(path)
    return path


def test_run_writes_an_h264_mp4_and_a_history_row(studio_env, photo):
    result = launch("run", "--image", str(photo), "--prompt", "slow push in", "--seed", "7",
                    "--param", "width=80", "--param", "height=64", "--param", "frames=6", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    video = Path(result.stdout.strip().splitlines()[-1])
    info = probe_video(video)
    assert (info.codec, info.width, info.height, info.frames) == ("h264", 80, 64, 6)

    paths = Paths.from_env(studio_env)
    engine = make_engine(paths.database_url)
    with make_session_factory(engine)() as session:
        row = session.execute(text("SELECT status, engine, prompt, seed, video_path FROM runs")).one()
    engine.dispose()
    assert tuple(row) == ("succeeded", "motion", "slow push in", 7, str(video))


def test_run_names_the_bad_parameter_and_the_nearest_valid_value(studio_env, photo):
    result = launch("run", "--image", str(photo), "--param", "width=131", env=studio_env)
    assert result.returncode == 2
    assert "--param width" in result.stderr and "--param width=132" in result.stderr


def test_run_explains_a_file_that_is_not_an_image(studio_env, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list")
    result = launch("run", "--image", str(notes), env=studio_env)
    assert result.returncode == 2 and "notes.png" in result.stderr and "--image" in result.stderr


# ----- serve --------------------------------------------------------------------------------------

def wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 90) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never printed; output:\n" + "\n".join(seen))


def test_sigterm_stops_server_and_worker_without_orphans(studio_env, free_port):
    launcher = subprocess.Popen([sys.executable, str(LAUNCH), "--no-browser", "--port", str(free_port)],
                                env=studio_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    try:
        output = wait_for_line(launcher, "Studio ready at")
        assert output[-1].strip() == f"Studio ready at http://127.0.0.1:{free_port}"
        (server,) = children_of(launcher.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_stcore/health", timeout=5) as response:
            assert response.status == 200

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(60) == 0
        assert not process_exists(server)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_stcore/health", timeout=2)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_non_loopback_host_without_password_is_refused(studio_env, free_port):
    result = launch("--no-browser", "--host", "0.0.0.0", "--port", str(free_port), env=studio_env)
    assert result.returncode == 2
    assert "WARNING" in result.stdout and "set-password" in result.stderr
    assert "Studio ready" not in result.stdout


def test_set_password_stores_a_scrypt_hash(studio_env):
    result = launch("set-password", env=studio_env, stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    paths = Paths.from_env(studio_env)
    engine = make_engine(paths.database_url)
    stored = auth.stored_password_hash(make_session_factory(engine))
    engine.dispose()
    assert stored.startswith("scrypt$") and auth.verify_password("correct horse battery", stored)

    too_short = launch("set-password", env=studio_env, stdin="abc\n")
    assert too_short.returncode == 2 and "at least 8" in too_short.stderr


def test_set_password_clear_removes_it_in_the_data_dir_given_after_the_command(studio_env, tmp_path):
    other = tmp_path / "other-studio"
    assert launch("set-password", "--data-dir", str(other), env=studio_env, stdin="correct horse battery\n").returncode == 0
    cleared = launch("set-password", "--clear", "--data-dir", str(other), env=studio_env)
    assert cleared.returncode == 0 and "Password removed" in cleared.stdout
    paths = Paths.from_env({"STUDIO_DATA_DIR": str(other)})
    engine = make_engine(paths.database_url)
    stored = auth.stored_password_hash(make_session_factory(engine))
    engine.dispose()
    assert not stored
    assert not Paths.from_env(studio_env).sqlite_path.exists()  # the environment's folder was not used


def test_served_app_is_gated_when_a_password_hash_is_configured(studio_env, free_port):
    """app.py wires the gate: the real studio server behind it, reached on loopback only."""
    env = {**studio_env, auth.PASSWORD_HASH_ENV: auth.hash_password("correct horse battery")}
    server = subprocess.Popen(server_command(sys.executable, "127.0.0.1", free_port), env=env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{free_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/", timeout=5)
        assert refused.value.code == 401

        opener = urllib.request.build_opener(_NoRedirect)
        body = b"password=correct+horse+battery&next=%2F"
        with pytest.raises(urllib.error.HTTPError) as login:
            opener.open(urllib.request.Request(f"{base}{auth.LOGIN_PATH}", data=body), timeout=5)
        assert login.value.code == 303
        cookie = login.value.headers["set-cookie"].split(";")[0]
        with urllib.request.urlopen(urllib.request.Request(f"{base}/", headers={"cookie": cookie}), timeout=5) as page:
            assert page.status == 200
    finally:
        server.terminate()
        server.wait(30)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_serve_on_a_taken_port_fails_before_starting_anything(studio_env):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = launch("--no-browser", "--port", str(port), env=studio_env, timeout=30)
    assert result.returncode == 1
    assert "[FAIL] port:" in result.stdout and "--port" in result.stdout
    assert "Starting the studio" not in result.stdout


def test_serve_stops_the_server_again_when_a_check_fails(studio_env, free_port):
    make_database_from_newer_code(studio_env)
    result = launch("--no-browser", "--port", str(free_port), env=studio_env)
    assert result.returncode == 1
    assert "[FAIL] database:" in result.stdout and "Studio ready" not in result.stdout
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", free_port)) != 0  # nothing is left listening


# ----- models, download, worker -------------------------------------------------------------------

def test_models_lists_every_engine_with_its_state(studio_env):
    result = launch("models", env=studio_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    motion = next(line for line in lines if line.startswith("motion "))
    assert "ready" in motion
    for line in lines:
        if "not installed" in line:
            assert "python launch.py download " in line


def test_download_offline_fails_at_once_with_a_clear_message(studio_env):
    started = time.monotonic()
    result = launch("download", "ali-vilab/i2vgen-xl", env=studio_env)
    assert result.returncode != 0
    assert "HF_HUB_OFFLINE" in result.stderr
    assert time.monotonic() - started < 30


def test_worker_processes_the_queue_until_sigterm(studio_env, photo):
    from studio.jobs.queue import SubmitRequest
    from studio.services import build_services

    worker = subprocess.Popen([sys.executable, str(LAUNCH), "worker"], env=studio_env, cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_line(worker, "Press Ctrl-C to stop")
        services = build_services(Paths.from_env(studio_env))
        try:
            run_id = services.queue.submit(SubmitRequest(
                engine="motion", params={"width": 80, "height": 64, "frames": 4}, image=Image.open(photo).convert("RGB")))
            deadline = time.monotonic() + 60
            while services.history.get_run(run_id).status in ("queued", "running"):
                assert time.monotonic() < deadline, "the worker never finished the run"
                time.sleep(0.2)
            assert services.history.get_run(run_id).status == "succeeded"
        finally:
            services.close()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
