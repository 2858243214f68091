"""`launch.py export` and `launch.py import`: a real export from one studio imported into another,
and crafted zips refused in one line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from studio.config import Paths
from tests.integration.cli import launch, rows


@pytest.fixture()
def finished_run(studio_env, tmp_path) -> int:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (96, 72), (30, 90, 160)).save(photo)
    result = launch("run", "--image", str(photo), "--prompt", "exported", "--param", "width=64",
                    "--param", "height=64", "--param", "frames=4", env=studio_env)
    assert result.returncode == 0, result.stderr
    return 1


def test_export_then_import_into_another_studio(studio_env, finished_run, tmp_path):
    out = tmp_path / "moved" / "runs.zip"
    result = launch("export", str(finished_run), "--out", str(out), env=studio_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out) and zipfile.is_zipfile(out)

    other = {**studio_env, "STUDIO_DATA_DIR": str(tmp_path / "other")}
    result = launch("import", str(out), env=other)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    (status, prompt, video), = rows(other, "SELECT status, prompt, video_path FROM runs")
    assert (status, prompt) == ("succeeded", "exported")
    assert Path(video).is_file() and Path(video).is_relative_to(tmp_path / "other")


def test_export_to_the_default_place_and_skipping_unknown_runs(studio_env, finished_run):
    result = launch("export", str(finished_run), "404", env=studio_env)
    assert result.returncode == 0, result.stderr
    zip_path = Path(result.stdout.strip())
    assert zip_path.parent == Paths.from_env(studio_env).data_dir / "exports" and zip_path.is_file()
    assert "Run 404 is left out: it does not exist." in result.stderr


def test_an_export_never_replaces_a_file_and_exports_a_run_named_twice_once(studio_env, finished_run, tmp_path):
    database = Paths.from_env(studio_env).data_dir / "studio.db"
    (video,), = rows(studio_env, "SELECT video_path FROM runs")
    for existing in (database, Path(video)):
        before = existing.read_bytes()
        result = launch("export", str(finished_run), "--out", str(existing), env=studio_env)
        assert result.returncode == 1 and "already exists" in result.stderr, result.stdout + result.stderr
        assert existing.read_bytes() == before and "Traceback" not in result.stderr
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(1,)]  # the history is still a database

    twice = tmp_path / "twice.zip"
    result = launch("export", str(finished_run), str(finished_run), "--out", str(twice), env=studio_env)
    assert result.returncode == 0 and "Duplicate name" not in result.stderr, result.stderr
    other = {**studio_env, "STUDIO_DATA_DIR": str(tmp_path / "other")}
    result = launch("import", str(twice), env=other)
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stdout + result.stderr


def test_an_export_to_an_empty_name_or_under_a_file_says_what_is_wrong(studio_env, finished_run, tmp_path):
    result = launch("export", str(finished_run), "--out", "", env=studio_env)
    assert result.returncode == 2 and "--out is empty" in result.stderr, result.stdout + result.stderr
    assert not (Paths.from_env(studio_env).data_dir / "exports").exists()  # not quietly written elsewhere
    existing = tmp_path / "existing.zip"
    existing.write_bytes(b"an earlier export")
    result = launch("export", str(finished_run), "--out", str(existing / "inner.zip"), env=studio_env)
    assert result.returncode == 2 and f"{existing} is a file, not a folder" in result.stderr, result.stderr
    assert existing.read_bytes() == b"an earlier export" and "Traceback" not in result.stderr


def test_export_of_nothing_finished_is_one_line(studio_env):
    result = launch("export", "7", env=studio_env)
    assert result.returncode == 1
    assert "Nothing to export" in result.stderr and "Traceback" not in result.stderr + result.stdout


def crafted_zip(path: Path, manifest) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("runs.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
    return path


@pytest.mark.parametrize("manifest", [
    [1, 2, 3],
    {"format": "studio-runs", "version": "9", "runs": []},
    {"format": "studio-runs", "version": 1, "runs": [{"status": "queued", "input": {"sha256": "../../../tmp/x"}}]},
    "[" * 5000,
], ids=["a list", "a string version", "a queued row with a traversal", "deep nesting"])
def test_import_refuses_a_crafted_zip_in_one_line(studio_env, tmp_path, manifest):
    zip_path = crafted_zip(tmp_path / "crafted.zip", manifest)
    result = launch("import", str(zip_path), env=studio_env)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Not a studio export") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(0,)]


def test_import_of_random_bytes_and_of_a_missing_file(studio_env, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(bytes(range(256)) * 40)
    result = launch("import", str(junk), env=studio_env)
    assert result.returncode == 1 and "junk.zip is not a zip file." in result.stderr and "BadZipFile" not in result.stderr
    result = launch("import", str(tmp_path / "absent.zip"), env=studio_env)
    assert result.returncode == 2 and "absent.zip: no such file" in result.stderr
    assert "Traceback" not in result.stderr
