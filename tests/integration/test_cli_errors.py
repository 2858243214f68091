"""The command line answers every mistake and every broken environment in one line, never with a
traceback: real subprocesses, a real full filesystem, a real file that is not a database."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.config import PROJECT_ROOT
from tests.integration.cli import LAUNCH, launch, rows


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture()
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (96, 72), (30, 90, 160)).save(path)
    return path


@pytest.mark.parametrize("args, named", [
    ((b"run", b"--image", b"photo.png", b"--prompt", b"caf\xe9"), "--prompt"),
    ((b"run", b"--image", b"photo.png", b"--prompt=\xff"), "--prompt"),
    ((b"submit", b"--image", b"\xfe.png"), "--image"),
    ((b"--data-dir", b"/tmp/\xff"), "--data-dir"),
])
def test_a_non_utf8_argument_is_refused_naming_it(studio_env, args, named):
    result = launch(*args, env=studio_env)
    assert result.returncode == 2
    assert f"argument {named}: is not valid UTF-8 text" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize("port, message", [
    ("70000", "port must be between 1 and 65535"),
    ("0", "port must be between 1 and 65535"),
    ("http", "port must be a whole number between 1 and 65535"),
])
def test_a_port_out_of_range_is_refused_by_the_parser(studio_env, port, message):
    result = launch("--check", "--port", port, env=studio_env)
    assert result.returncode == 2
    assert f"argument --port: {message}" in result.stderr
    no_traceback(result)


def test_run_on_a_file_that_is_not_a_database(studio_env, photo, tmp_path):
    database = tmp_path / "studio.db"
    database.write_bytes(os.urandom(64 * 1024))
    env = {**studio_env, "STUDIO_DATABASE_URL": f"sqlite:///{database}"}
    result = launch("run", "--image", str(photo), env=env)
    assert result.returncode == 1
    assert f"{database} is not a SQLite database" in result.stderr and "no backup copy" in result.stderr
    no_traceback(result)


@pytest.fixture()
def full_disk(tmp_path):
    """A 1 MB tmpfs: far below the free space a run needs. Mounting needs root."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("command", ["run", "submit"])
def test_run_and_submit_on_a_full_disk(studio_env, photo, tmp_path, full_disk, command):
    # The data folder (inputs, outputs) is on the full disk; the database beside it is not.
    env = {**studio_env, "STUDIO_DATA_DIR": str(full_disk),
           "STUDIO_DATABASE_URL": f"sqlite:///{tmp_path / 'studio.db'}", "STUDIO_LOGS_DIR": str(tmp_path / "logs")}
    result = launch(command, "--image", str(photo), env=env)
    assert result.returncode == 1
    assert "Error: Only 1 MB free in" in result.stderr and "Free some space" in result.stderr
    no_traceback(result)


def closed_port() -> int:
    """A loopback port nothing listens on: a database server that is not running."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", [("run", "--image", "PHOTO"), ("submit", "--image", "PHOTO"), ("worker",),
                                     ("models",), ("export", "1"), ("import", "PHOTO")])
def test_a_database_server_that_is_not_running_is_one_line_without_its_password(studio_env, photo, command):
    url = f"postgresql+psycopg://studio:s3cret-word@127.0.0.1:{closed_port()}/studio"
    args = [str(photo) if arg == "PHOTO" else arg for arg in command]
    result = launch(*args, env={**studio_env, "STUDIO_DATABASE_URL": url}, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Error: cannot connect to postgresql+psycopg://studio:***@127.0.0.1:" in result.stderr, output
    assert "Start the database server, or correct STUDIO_DATABASE_URL" in result.stderr, output
    assert "s3cret-word" not in output
    no_traceback(result)


def test_the_checks_name_a_database_server_that_is_not_running_without_its_password(studio_env):
    url = f"postgresql+psycopg://studio:s3cret-word@127.0.0.1:{closed_port()}/studio"
    result = launch("--check", env={**studio_env, "STUDIO_DATABASE_URL": url}, timeout=60)
    output = result.stdout + result.stderr
    assert "[FAIL] database: cannot connect to postgresql+psycopg://studio:***@" in output, output
    assert "the check itself failed" not in output and "s3cret-word" not in output
    no_traceback(result)


@pytest.mark.parametrize("command", ["run", "submit"])
def test_a_history_another_program_keeps_locked_queues_nothing_and_says_so(studio_env, photo, data_dir, command):
    assert launch("models", env=studio_env).returncode == 0  # the history exists, at the current schema
    holder = sqlite3.connect(data_dir / "studio.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # a database browser in the middle of a write
        result = launch(command, "--image", str(photo), env=studio_env, timeout=120)
    finally:
        holder.close()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Error: The history database is busy (another program is writing to it). Your run was not queued" \
        in result.stderr, result.stderr
    no_traceback(result)
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(0,)]


def test_an_import_into_a_locked_history_changes_nothing_and_says_so(studio_env, photo, data_dir, tmp_path):
    """Any command blocked by another program's lock ends in one line; an import waits for the lock
    as long as queueing a run does (studio.db.engine.WRITE_RETRY_SECONDS), not ordinary
    connections' 30 s."""
    assert launch("run", "--image", str(photo), "--param", "frames=2", env=studio_env).returncode == 0
    archive = tmp_path / "one.zip"
    assert launch("export", "1", "--out", str(archive), env=studio_env).returncode == 0
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*") if p.is_file() and "logs" not in p.parts)
    holder = sqlite3.connect(data_dir / "studio.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        result = launch("import", str(archive), env=studio_env, timeout=120)
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert result.returncode == 1, result.stdout + result.stderr
    assert waited < 25, f"the import waited {waited:.0f} s for the lock"
    assert "Error: the history database is locked by another program" in result.stderr, result.stderr
    no_traceback(result)
    after = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*") if p.is_file() and "logs" not in p.parts)
    assert after == before and rows(studio_env, "SELECT count(*) FROM runs") == [(1,)]


def test_sigterm_on_run_marks_its_run_interrupted_and_leaves_no_partial_file(studio_env, photo, data_dir):
    """`kill` or `timeout` (SIGTERM) ends `run` as Ctrl-C does: the run is recorded interrupted
    (it resumes at the studio's next start) instead of staying "running" with a partial file."""
    process = subprocess.Popen([sys.executable, str(LAUNCH), "run", "--image", str(photo), "--param", "frames=240",
                                "--param", "width=1920", "--param", "height=1080"],
                               env=studio_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, seen = time.monotonic() + 60, []
        while time.monotonic() < deadline and process.poll() is None:
            try:  # the file exists a moment before its tables do
                with sqlite3.connect(data_dir / "studio.db") as db:
                    seen = db.execute("SELECT status, step FROM runs").fetchall()
            except sqlite3.Error:
                seen = []
            if seen and seen[0][0] == "running" and seen[0][1] > 0:
                break
            time.sleep(0.1)
        assert process.poll() is None and seen and seen[0][1] > 0, f"the run never got going: {seen}"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 130 and "Interrupted." in err and "Traceback" not in out + err, (out, err)
    assert rows(studio_env, "SELECT status FROM runs") == [("interrupted",)]
    assert not [p for p in (data_dir / "outputs").rglob("*") if p.is_file()], "a partial file was left behind"


@pytest.mark.parametrize("setup, said", [
    ("data folder is a file", "is a file where the studio needs a folder"),
    ("garbage", "is not a database the studio can use"),
    ("mysql://user:secret@localhost/studio", "is not a database the studio can use"),
])
def test_a_data_folder_or_database_url_the_studio_cannot_use_is_one_line_with_advice(setup, said, studio_env, photo,
                                                                                    tmp_path):
    env = dict(studio_env)
    if setup == "data folder is a file":
        (tmp_path / "afile").write_text("not a folder")
        env["STUDIO_DATA_DIR"] = str(tmp_path / "afile")
    else:
        env["STUDIO_DATABASE_URL"] = setup
    result = launch("run", "--image", str(photo), env=env)
    assert result.returncode == 1 and said in result.stderr and "→" in result.stderr, result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr and "secret" not in result.stderr
