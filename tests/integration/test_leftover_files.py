"""No file of a failed run is left behind, temporaries of killed encodes are swept at start, and an
output folder that refuses writes is reported as such. Real worker, real camera-motion engine, real
files; each failure is a real one the filesystem produces (for root too, who ignores chmod)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from studio.jobs.queue import SubmitRequest
from studio.jobs.worker import Worker
from tests.integration.conftest import SMALL, make_services, picture


def submit(services) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params=dict(SMALL), image=picture(), image_name="t.png"))


def run_files_on_disk(folder: Path, run_id: int) -> list[str]:
    """Every file (temporaries included) whose name carries this run's id."""
    tag = f"run-{run_id:06d}-"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if tag in p.name and p.is_file())


class _FolderInTheWay(Worker):
    """A worker that, once it has claimed a run (and so fixed its file names), puts a folder where
    one of the run's files must go: the later write fails for real after the MP4 is written."""

    def __init__(self, *args, blocked: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.blocked = blocked

    def _execute(self, run):
        files = self._executor.storage.run_files(run.id, run.started_at or run.queued_at)
        getattr(files, self.blocked).mkdir(parents=True)
        super()._execute(run)


@pytest.mark.parametrize("blocked", ["gif", "sidecar"])
def test_a_write_failing_after_the_video_leaves_no_file_of_the_run(services, blocked):
    services.apply_settings(services.settings().model_copy(update={"always_gif": True}))  # the GIF is written too
    worker = _FolderInTheWay(session_factory=services.sessions, registry=services.registry, storage=services.storage,
                             paths=services.paths, poll_interval=0.05, blocked=blocked)
    run_id = submit(services)
    worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "failed"
    assert run_files_on_disk(services.storage.outputs_dir, run_id) == []  # MP4, poster, thumb: all gone
    assert run.video_path is None and run.poster_path is None and run.thumb_path is None
    assert "a folder of that name is in the way" in run.error and f"run-{run_id:06d}-" in run.error


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_disk_filling_up_at_the_gif_leaves_no_file_of_the_run(tmp_path):
    """The MP4, poster and thumbnail (about 16 KB) fit on the disk; the GIF (about 150 KB) does not."""
    from dataclasses import replace

    outputs = tmp_path / "small-disk"
    outputs.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(outputs)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    services = make_services(tmp_path / "studio")
    try:
        services.apply_settings(services.settings().model_copy(update={"output_dir": str(outputs), "always_gif": True}))
        worker = Worker(session_factory=services.sessions, registry=services.registry, paths=services.paths,
                        storage=replace(services.storage, min_free_bytes=0), poll_interval=0.05)
        run_id = services.queue.submit(SubmitRequest(engine="motion", image=picture(), image_name="t.png",
                                                     params={**SMALL, "width": 320, "height": 320, "frames": 48}))
        worker.run_until_idle()
        run = services.history.get_run(run_id)
        assert run.status == "failed" and run.error_kind == "disk", run.error
        assert run_files_on_disk(outputs, run_id) == []
        assert "disk is full" in run.error and "GIF" in run.error
    finally:
        services.close()
        subprocess.run(["umount", str(outputs)], check=True)


def test_partials_of_a_killed_encode_are_swept_when_the_studio_starts(tmp_path):
    services = make_services(tmp_path)
    outputs, inputs = services.storage.outputs_dir, services.storage.inputs_dir
    services.close()
    old = time.time() - 3600
    stale = outputs / "2026-01" / ".run-000001-20260101-000000.0badf00d.partial.mp4"
    fresh = outputs / "2026-01" / ".run-000002-20260101-000000.1badf00d.partial.mp4"  # another worker, now
    elsewhere = inputs / "ab" / ".abcdef.2badf00d.partial.png"  # not an output folder: not ours to sweep
    finished = outputs / "2026-01" / "run-000003-20260101-000000.mp4"
    for path in (stale, fresh, elsewhere, finished):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
    for path in (stale, elsewhere, finished):
        os.utime(path, (old, old))
    restarted = make_services(tmp_path)
    try:
        assert not stale.exists()
        assert fresh.exists() and elsewhere.exists() and finished.exists()
    finally:
        restarted.close()


def _make_unwritable(folder: Path) -> str:
    """Make `folder` refuse new files even for root: the immutable attribute where root, chmod
    otherwise. Returns how, for the cleanup."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return "chmod"
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    return "chattr"


def test_an_output_folder_that_refuses_writes_is_a_permissions_error_naming_it(services, tmp_path):
    outputs = tmp_path / "videos"
    services.apply_settings(services.settings().model_copy(update={"output_dir": str(outputs)}))
    how = _make_unwritable(outputs)
    try:
        run_id = submit(services)
        services.worker.run_until_idle()
        run = services.history.get_run(run_id)
    finally:
        if how == "chattr":
            subprocess.run(["chattr", "-i", str(outputs)], check=True)
        else:
            outputs.chmod(0o755)
    assert run.status == "failed" and run.error_kind == "permissions", run.error
    assert run.error == (f"Cannot write to the output folder {outputs}: permission denied. "
                         "Choose another folder on the Settings page or fix its permissions.")
    assert run_files_on_disk(outputs, run_id) == []
