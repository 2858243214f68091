"""The queue and the worker against a real SQLite history and the real camera-motion engine."""

import threading
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.engines.base import InputError
from studio.jobs import store as queue_store
from studio.jobs.queue import SubmitRequest
from studio.jobs.worker import Worker
from studio.media.encode import probe_video
from tests.integration.conftest import SMALL, picture

# The queue is the part of the studio that most depends on the database: run it on both.
pytestmark = pytest.mark.both_dialects


def submit(services, **params) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, **params}, image=picture(),
                                               image_name="test.png"))


def decoded(path) -> list[bytes]:
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)  # metadata
    return list(reader)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_a_motion_run_is_recorded_with_video_poster_log_and_timings(services):
    run_id = submit(services, prompt="slow push in", seed=7)
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert (run.step, run.total_steps) == (6, 6)
    info = probe_video(Path(run.video_path))
    assert (info.width, info.height, info.frames, info.codec, info.pix_fmt) == (64, 64, 6, "h264", "yuv420p")
    assert Path(run.poster_path).exists() and Path(run.thumb_path).exists()
    assert not Path(run.video_path).with_suffix(".gif").exists()  # made when first asked for (gif_of)
    assert "run %d" % run_id in Path(run.log_path).read_text() or f"run {run_id}" in Path(run.log_path).read_text()
    assert run.infer_seconds > 0 and run.encode_seconds > 0 and run.started_at <= run.finished_at
    assert run.seed == 7 and run.params["seed"] == 7 and run.prompt == "slow push in"


def test_the_seed_is_random_by_default_but_always_recorded(services):
    first, second = submit(services), submit(services)
    runs = services.history.get_runs([first, second])
    assert all(isinstance(r.seed, int) for r in runs)
    assert runs[0].seed != runs[1].seed


def test_an_invalid_request_is_refused_before_queueing_and_names_the_parameter(services):
    with pytest.raises(InputError) as error:
        submit(services, frames=100000)
    assert error.value.param == "frames" and error.value.suggestion is not None
    assert services.history.list_runs_count() == 0


def test_the_worker_validates_again_before_running(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:  # as if written by an old client or by hand
        run = run_rows.get_run(session, run_id)
        run.params = {**run.params, "width": 63}
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "failed" and run.error_kind == "input" and "multiple of 2" in run.error


def test_runs_are_taken_in_submission_order(services):
    ids = [submit(services) for _ in range(3)]
    services.worker.run_until_idle()
    runs = services.history.get_runs(ids)
    assert [r.status for r in runs] == ["succeeded"] * 3
    assert [r.started_at for r in runs] == sorted(r.started_at for r in runs)


def test_a_rerun_repeats_the_parameters_and_seed_and_links_to_its_parent(services):
    parent = submit(services, prompt="orbit", motion="drift")
    services.worker.run_until_idle()
    child = services.queue.rerun(parent)
    fresh = services.queue.rerun(parent, new_seed=True)
    services.worker.run_until_idle()
    p, c, f = services.history.get_runs([parent, child, fresh])
    assert c.parent_id == parent and c.params == p.params and c.input_image_id == p.input_image_id
    assert f.parent_id == parent and f.seed != p.seed
    # Same request and seed -> the same video, frame for frame.
    assert decoded(c.video_path) == decoded(p.video_path)
    assert decoded(f.video_path) != decoded(p.video_path)  # drift direction follows the seed


def test_cancel_a_queued_run_at_once_and_a_running_one_within_a_frame(services):
    queued = submit(services)
    assert services.queue.cancel(queued) == "canceled"
    # The largest motion run: its frames take seconds to draw even on a fast machine, so the
    # cancel lands while they are drawn (a 512x512 run drew all 240 in half a second).
    long_run = submit(services, frames=240, width=1920, height=1080)
    services.worker.start()
    wait_for(lambda: services.history.get_run(long_run).step > 0)
    assert services.queue.cancel(long_run) == "canceling"
    wait_for(lambda: services.history.get_run(long_run).status == "canceled")
    run = services.history.get_run(long_run)
    assert run.step < 240 and run.video_path is None
    assert services.history.get_run(queued).status == "canceled"


def test_a_cancel_during_the_encode_is_honoured_and_leaves_no_files(services, monkeypatch):
    """Frames drawn, the video being encoded: Cancel still means cancel. The encoder finishes soon
    after the last frame (a fraction of a second), so the test holds it open until the cancel has
    been asked for, rather than racing it."""
    from studio.media import encode as encoder

    encode = encoder.write_mp4
    cancel_asked = threading.Event()

    def encode_until_cancel_asked(*args, **kwargs):
        written = encode(*args, **kwargs)
        assert cancel_asked.wait(30), "the test never asked for the cancel"
        return written

    monkeypatch.setattr(encoder, "write_mp4", encode_until_cancel_asked)  # the worker imports it when it runs
    run_id = submit(services, frames=48, width=256, height=256)
    services.worker.start()
    wait_for(lambda: services.history.get_run(run_id).step == 48)  # written once the last frame is drawn
    assert services.queue.cancel(run_id) == "canceling"
    cancel_asked.set()
    wait_for(lambda: services.history.get_run(run_id).status in ("canceled", "succeeded"))
    run = services.history.get_run(run_id)
    assert run.status == "canceled" and run.video_path is None and run.poster_path is None
    outputs = services.paths.data_dir / "outputs"
    assert sorted(p.name for p in outputs.rglob("*") if p.is_file()) == []


def test_the_poster_and_thumbnail_are_written_while_the_encoder_works(services, monkeypatch):
    """Both come from the first frame, so they need not wait for the video: they are on disk before
    the encoder is done (the test holds the encoder open until it has seen them, or 10 s)."""
    from studio.media import encode as encoder

    encode = encoder.write_mp4
    outputs = services.paths.data_dir / "outputs"
    seen_during_encode: list[str] = []

    def encode_and_look(*args, **kwargs):
        written = encode(*args, **kwargs)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(seen_during_encode) < 2:
            seen_during_encode[:] = sorted(p.name.split(".", 1)[1] for p in outputs.rglob("*.jpg"))
            time.sleep(0.02)
        return written

    monkeypatch.setattr(encoder, "write_mp4", encode_and_look)  # the worker imports it when it runs
    run_id = submit(services, frames=12, width=256, height=256)
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert seen_during_encode == ["poster.jpg", "thumb.jpg"]
    assert Path(run.poster_path).is_file() and Path(run.thumb_path).is_file()


def test_runs_left_running_by_a_dead_worker_come_back_and_complete(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        queue_store.claim_next(session, f"{__import__('socket').gethostname()}:999999:dead")
    assert services.history.get_run(run_id).status == "running"
    assert services.worker.recover() == [run_id]
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded" and run.attempts == 2


def test_a_run_interrupted_too_often_fails_instead_of_crash_looping(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        run_rows.update_run(session, run_id, status="interrupted", attempts=queue_store.MAX_ATTEMPTS)
    services.worker.recover()
    run = services.history.get_run(run_id)
    assert run.status == "failed" and "interrupted 3 times" in run.error


def test_stopping_the_worker_mid_run_marks_it_interrupted_and_it_resumes(services):
    run_id = submit(services, frames=240, width=512, height=512)
    services.worker.start()
    wait_for(lambda: services.history.get_run(run_id).step > 0)
    services.worker.stop()
    assert services.history.get_run(run_id).status == "interrupted"
    assert services.worker.recover() == [run_id]
    services.worker.run_until_idle()
    assert services.history.get_run(run_id).status == "succeeded"


def test_two_workers_never_take_the_same_run(services):
    ids = [submit(services) for _ in range(6)]
    done: dict[str, list[int]] = {}

    class Recording(Worker):
        def _execute(self, run):
            done.setdefault(self.worker_id, []).append(run.id)
            super()._execute(run)

    workers = [Recording(session_factory=services.sessions, registry=services.registry, storage=services.storage,
                         paths=services.paths, poll_interval=0.05) for _ in range(2)]
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    taken = [i for ids_ in done.values() for i in ids_]
    assert sorted(taken) == ids  # each run exactly once
    assert all(r.status == "succeeded" for r in services.history.get_runs(ids))


def test_a_missing_input_file_fails_the_run_with_a_clear_message(services):
    run_id = submit(services)
    Path(services.history.get_run(run_id).input_image.path).unlink()
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "failed" and "input image file is missing" in run.error


def test_a_running_worker_picks_up_runs_abandoned_after_it_started(services, monkeypatch):
    monkeypatch.setattr("studio.jobs.worker.RECOVER_INTERVAL_S", 0.2)
    services.worker.start()
    run_id = submit(services)
    wait_for(lambda: services.history.get_run(run_id).status == "succeeded")
    # Another process claimed a run and died without finishing it (written in one step, so our
    # worker cannot claim it first).
    done = services.history.get_run(run_id)
    with session_scope(services.sessions) as session:
        orphan = run_rows.add_run(session, engine="motion", model_id=None, params=done.params, input_image_id=done.input_image_id)
        orphan.status, orphan.worker_id = "running", f"{__import__('socket').gethostname()}:999999:gone"
        orphan_id = orphan.id
    wait_for(lambda: services.history.get_run(orphan_id).status == "succeeded")
    assert services.history.get_run(orphan_id).attempts == 1  # claimed once, after recovery


def test_a_gif_is_made_from_the_video_when_first_asked_for_and_kept(services):
    run_id = submit(services, width=96, height=64, frames=6)
    services.worker.run_until_idle()
    video = Path(services.history.get_run(run_id).video_path)
    assert not video.with_suffix(".gif").exists()
    gif = services.gif_of(run_id)
    assert gif == video.with_suffix(".gif")
    from PIL import Image
    with Image.open(gif) as image:
        assert (image.format, image.size, image.n_frames) == ("GIF", (96, 64), 6)
        assert image.info.get("loop") == 0
    made = gif.stat().st_mtime_ns
    assert services.gif_of(run_id) == gif and gif.stat().st_mtime_ns == made  # kept, not made again
    assert sorted(p.name for p in gif.parent.iterdir() if p.name.endswith(".partial") or "partial" in p.name) == []


def test_with_the_always_gif_setting_every_run_writes_its_gif(services):
    services.apply_settings(services.settings().model_copy(update={"always_gif": True}))
    run_id = submit(services)
    services.worker.run_until_idle()
    assert Path(services.history.get_run(run_id).video_path).with_suffix(".gif").is_file()


def test_a_run_without_a_video_has_no_gif_to_make(services):
    queued = submit(services)
    with pytest.raises(FileNotFoundError, match=f"Run #{queued} has no video"):
        services.gif_of(queued)


def test_a_motion_run_encodes_while_it_renders(services):
    """The camera-motion engine streams into the encoder: the MP4's temporary is being written while
    frames are still being drawn, not after the last one."""
    run_id = submit(services, frames=240, width=1920, height=1080)
    services.worker.start()
    outputs = services.paths.data_dir / "outputs"
    seen: list[tuple[int, int]] = []

    def encoding_mid_run() -> bool:
        row = services.history.get_run(run_id)
        if row.status in ("succeeded", "failed", "canceled"):
            raise AssertionError(f"run ended before its encode was seen mid-run: {row.status}, steps seen {seen}")
        if any(outputs.rglob(f".run-{run_id:06d}-*.partial.mp4")):
            seen.append((row.step, row.total_steps))
            return 0 < row.step < row.total_steps
        return False

    wait_for(encoding_mid_run, timeout=60)
    wait_for(lambda: services.history.get_run(run_id).status == "succeeded", timeout=120)
    assert probe_video(Path(services.history.get_run(run_id).video_path)).frames == 240
