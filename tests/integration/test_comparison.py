"""Sweeps laid out by their axes and exported as one MP4, against a real SQLite history, the real
worker with the camera-motion engine, and the real ffmpeg."""

from pathlib import Path

import pytest

from studio.comparison import (
    differing_params,
    export_runs,
    export_sweep,
    selection_placement,
    sweep_placement,
)
from studio.jobs.queue import SubmitRequest
from studio.media.encode import probe_video, read_mp4_metadata
from studio.media.grid import plan_layout
from studio.sweeps import Axis
from tests.integration.conftest import SMALL, picture


def test_a_two_axis_sweep_has_axis_one_across_axis_two_down_and_exports_with_the_sweep(services):
    axes = [Axis("guidance", (0.5, 1.0)), Axis("motion", ("zoom_in", "pan_left", "drift"))]
    run_ids = services.queue.submit_sweep("motion", SMALL, axes, image=picture(), image_name="p.png")
    services.queue.cancel(run_ids[-1])  # one combination never runs: its cell says so
    services.worker.run_until_idle()
    sweep_id = services.history.get_run(run_ids[0]).sweep_id
    sweep = services.history.get_sweep(sweep_id)
    runs = services.history.sweep_runs(sweep_id)
    assert [r.id for r in runs] == run_ids

    placement = sweep_placement(sweep, runs)
    assert placement.columns == 2 and len(placement.cells) == 6
    for index, run in enumerate(placement.cells):
        row, column = divmod(index, 2)
        assert (run.params["guidance"], run.params["motion"]) == (axes[0].values[column], axes[1].values[row])
        assert placement.labels[run.id] == f"#{run.id} · guidance={run.params['guidance']} · motion={run.params['motion']}"
    assert len({r.seed for r in runs}) == 1  # the sweep shares one seed

    path = export_sweep(services.history, services.storage.outputs_dir, sweep_id)
    assert services.history.get_sweep(sweep_id).compare_video_path == str(path)
    assert path.parent == services.storage.outputs_dir / "sweeps"
    info = probe_video(path)
    layout = plan_layout([(64, 64)], 6, columns=2, title=True)
    assert (info.width, info.height, info.frames, info.codec, info.pix_fmt) == (layout.width, layout.height, 6, "h264", "yuv420p")
    assert read_mp4_metadata(path)["studio_sweep"] == str(sweep_id)

    again = export_sweep(services.history, services.storage.outputs_dir, sweep_id)
    assert again != path and again.is_file() and not path.exists()  # the old export is replaced, not kept


def test_a_selection_is_labelled_with_what_differs_and_exported_into_the_outputs_folder(services):
    first = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 1}, image=picture()))
    second = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 2, "fps": 24, "frames": 8},
                                                 image=picture()))
    services.worker.run_until_idle()
    runs = services.history.get_runs([first, second])
    assert differing_params(runs) == ["fps", "frames", "seed"]
    placement = selection_placement(runs)
    assert placement.labels[first] == f"#{first} · fps=12 · frames=6 · seed=1"
    path = export_runs(services.history, services.storage.outputs_dir, [first, second])
    assert path.parent == services.storage.outputs_dir / "comparisons"
    info = probe_video(path)
    # 12 fps for 0.5 s beside 24 fps for 0.33 s: 24 fps, as long as the longer one.
    assert (info.fps, info.frames, info.width) == (24.0, 12, 2 * 64 + 4)


def test_exporting_needs_runs_that_exist(services, tmp_path):
    with pytest.raises(LookupError, match="Sweep #99"):
        export_sweep(services.history, Path(tmp_path), 99)
    with pytest.raises(LookupError, match="at least two"):
        export_runs(services.history, Path(tmp_path), [1, 2])
