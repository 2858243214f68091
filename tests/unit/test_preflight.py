"""Preflight checks against the real machine: real sockets, SQLite files, ffmpeg and folders."""

import socket

import pytest
from sqlalchemy import text

from studio import preflight
from studio.config import Paths
from studio.db import migrate
from studio.db.engine import make_engine
from studio.engines.base import EngineInfo, WeightsStatus
from studio.preflight import CheckResult


@pytest.fixture()
def paths(data_dir):
    return Paths.from_env()


def test_lines_show_status_detail_and_hint():
    assert CheckResult("python", "OK", "Python 3.11.7").line() == "[OK]   python: Python 3.11.7"
    assert CheckResult("gpu", "WARN", "no GPU", "use the motion engine").line() == "[WARN] gpu: no GPU → use the motion engine"
    assert CheckResult("port", "FAIL", "in use", "--port 8502").line() == "[FAIL] port: in use → --port 8502"


def test_python_version():
    assert preflight.check_python().status == "OK"
    old = preflight.check_python((3, 10, 12))
    assert old.status == "FAIL" and "3.10.12" in old.detail and "3.11" in old.hint


def test_missing_package_is_named():
    result = preflight.check_packages(("json", "no_such_package_for_studio"))
    assert result.status == "FAIL"
    assert "no_such_package_for_studio" in result.detail
    assert preflight.check_packages(("json", "sqlite3")).status == "OK"


def test_ffmpeg_binary_runs():
    result = preflight.check_ffmpeg()
    assert result.status == "OK" and "ffmpeg" in result.detail


def test_port_taken_fails_and_names_a_free_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = preflight.check_port("127.0.0.1", port)
        assert result.status == "FAIL" and str(port) in result.detail
        assert "--port" in result.hint
        suggested = int(result.hint.split("--port ")[1].split(",")[0])
        assert suggested != port and preflight.port_is_free("127.0.0.1", suggested)
    assert preflight.check_port("127.0.0.1", port).status == "OK"


def test_disk_thresholds(tmp_path):
    assert preflight.check_disk(tmp_path / "not" / "yet", minimum=1, warn_below=1).status == "OK"
    assert preflight.check_disk(tmp_path, minimum=1, warn_below=10**18).status == "WARN"
    failed = preflight.check_disk(tmp_path, minimum=10**18)
    assert failed.status == "FAIL" and "free" in failed.hint


def test_unwritable_folder_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    paths = Paths(data_dir=blocker / "data", logs_dir=tmp_path / "logs", database_url="sqlite:///:memory:")
    result = preflight.check_folders(paths, tmp_path / "outputs")
    assert result.status == "FAIL" and "data folder" in result.detail and "--data-dir" in result.hint


def test_database_created_then_current(paths):
    first = preflight.check_database(paths)
    assert first.status == "OK" and "created" in first.detail
    again = preflight.check_database(paths)
    assert again.status == "OK" and "(current)" in again.detail


def test_old_database_is_migrated_with_a_backup(paths):
    engine = make_engine(paths.database_url)
    migrate.run(engine, "upgrade", "0001")
    engine.dispose()
    result = preflight.check_database(paths)
    assert result.status == "OK" and "migrated" in result.detail and "backup" in result.detail
    assert list(paths.data_dir.glob("studio.db.bak-*-0001"))


def test_database_newer_than_code_fails(paths):
    engine = make_engine(paths.database_url)
    migrate.upgrade(engine, paths.sqlite_path)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    engine.dispose()
    result = preflight.check_database(paths)
    assert result.status == "FAIL" and "f00dfeed9999" in result.detail and "newer" in result.detail


def test_engine_lines_give_the_install_command():
    info = EngineInfo(id="svd", label="Stable Video Diffusion", description="", family="svd", params=(),
                      model_id="owner/model", weights_gb=4.5)
    missing = preflight.engine_result(info, WeightsStatus("missing", "not found in the cache"))
    assert missing.status == "WARN" and missing.hint == "python launch.py download owner/model"
    assert missing.detail == "Stable Video Diffusion: weights not installed (about 4.5 GB)"
    ready = preflight.engine_result(info, WeightsStatus("ready", "ok", location="/models/x"))
    assert ready.status == "OK" and "/models/x" in ready.detail
    broken = preflight.engine_result(info, WeightsStatus("unusable", "only pickled weights", "get safetensors"))
    assert broken.status == "WARN" and "pickled" in broken.detail and broken.hint == "get safetensors"


def test_all_checks_in_order_with_the_builtin_engine_ready(paths, free_port):
    seen = []
    results = preflight.run_checks(paths, port=free_port, on_result=seen.append)
    assert results == seen
    names = [r.name for r in results]
    assert names[:7] == ["python", "packages", "folders", "port", "database", "ffmpeg", "disk"]
    assert names[-1] == "gpu"
    motion = next(r for r in results if r.name == "engine motion")
    assert motion.status == "OK"
    assert not preflight.has_failures(results)


def test_a_crashing_check_becomes_a_fail():
    def broken():
        raise RuntimeError("boom")

    result = preflight.guarded("thing", broken)
    assert result.status == "FAIL" and "boom" in result.detail


def test_engine_check_leaves_a_new_database_to_the_server(paths):
    """While the server creates the database, the engine lines come from the default settings and
    the check never opens (so never creates) the file itself."""
    results = preflight.check_engines(paths)
    assert next(r for r in results if r.name == "engine motion").status == "OK"
    assert not paths.sqlite_path.exists()


# ----- a damaged history -----------------------------------------------------------------------

def make_history_with_runs(paths: Paths, count: int = 60) -> None:
    """A real studio history: migrated, with queued runs (and their input picture) written through
    the queue, then closed so that SQLite folds the write-ahead log into the file."""
    from PIL import Image

    from studio.jobs.queue import SubmitRequest
    from studio.services import build_services

    services = build_services(paths)
    try:
        image = Image.new("RGB", (80, 60), (200, 120, 40))
        services.queue.submit_many([
            SubmitRequest(engine="motion", params={"width": 64, "height": 64, "frames": 6, "fps": 12, "seed": n},
                          image=image, image_name=f"picture-{n}.png")
            for n in range(count)])
    finally:
        services.close()


def corrupt_pages(db_path, first: int = 4, last: int = 13) -> None:
    """Overwrite pages first..last (1-based, as SQLite numbers them) with bytes that are no b-tree."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert page_count > last, f"only {page_count} pages: add more runs"
    garbage = bytes((n * 37 + 11) % 256 for n in range(page_size))
    with open(db_path, "r+b") as handle:
        for page in range(first, last + 1):
            handle.seek((page - 1) * page_size)
            handle.write(garbage)


def make_damaged_history(paths: Paths) -> None:
    make_history_with_runs(paths)
    corrupt_pages(paths.sqlite_path)


def test_corrupt_pages_fail_the_database_check_with_no_backup_to_name(paths):
    make_damaged_history(paths)
    for migrate_db in (True, False):  # `--check`, and the check beside a starting server
        result = preflight.check_database(paths, migrate_db=migrate_db)
        assert result.status == "FAIL", result
        assert f"{paths.sqlite_path} is damaged" in result.detail
        assert "no backup copy (studio.db.bak-…) exists" in result.hint


def test_corrupt_pages_fail_with_a_hint_naming_the_newest_backup(paths):
    make_history_with_runs(paths)
    older = paths.data_dir / "studio.db.bak-20260101-090000-0003"
    newer = paths.data_dir / "studio.db.bak-20260301-090000-0004"
    for copy in (newer, older):  # written newest first: the name's time decides, not the file's
        copy.write_bytes(paths.sqlite_path.read_bytes())
    corrupt_pages(paths.sqlite_path)
    result = preflight.check_database(paths)
    assert result.status == "FAIL"
    assert f"restore the newest backup copy: copy {newer} to {paths.sqlite_path}" in result.hint
    assert "[FAIL] database:" in result.line() and str(newer) in result.line()


def test_a_file_that_is_not_a_database_is_named_so(paths):
    paths.data_dir.mkdir(parents=True)
    paths.sqlite_path.write_bytes(bytes((n * 91 + 7) % 256 for n in range(50_000)))
    for migrate_db in (True, False):
        result = preflight.check_database(paths, migrate_db=migrate_db)
        assert result.status == "FAIL"
        assert result.detail.startswith(f"{paths.sqlite_path} is not a SQLite database")
        assert "move studio.db out of" in result.hint


def test_an_intact_history_passes_the_integrity_check(paths):
    make_history_with_runs(paths, count=3)
    result = preflight.check_database(paths)
    assert result.status == "OK" and "(current)" in result.detail


@pytest.mark.parametrize("url, label", [
    ("postgresql+psycopg://studio:s3cret@db.local:5432/studio", "postgresql+psycopg://studio:***@db.local:5432/studio"),
    ("postgresql+psycopg://studio:p@ss:w@rd@db.local/studio", "postgresql+psycopg://studio:***@db.local/studio"),
    ("postgresql+psycopg://studio@db.local/studio", "postgresql+psycopg://studio@db.local/studio"),
    ("postgresql+psycopg:///studio?host=/run/pg", "postgresql+psycopg:///studio?host=/run/pg"),
])
def test_a_database_url_is_shown_without_its_password(tmp_path, url, label):
    assert Paths(data_dir=tmp_path, logs_dir=tmp_path, database_url=url).database_label == label


def test_a_sqlite_database_is_shown_as_its_file(tmp_path):
    paths = Paths(data_dir=tmp_path, logs_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'studio.db'}")
    assert paths.database_label == str(tmp_path / "studio.db")
