"""The Workers list on the Settings page says each worker's GPU, memory, loaded model and run."""

from datetime import datetime

from studio.jobs.members import WorkerView
from studio.ui.workers import worker_line

SEEN = datetime(2026, 12, 5, 12, 0, 0)


def test_a_worker_line_names_the_gpu_its_memory_the_model_loaded_and_the_run():
    busy = WorkerView(id="gpu-2:41:ab12cd34", host="gpu-2", engines=("*",), current_run_id=17, started_at=SEEN,
                      last_seen=SEEN, gpu="NVIDIA H100 80GB HBM3", vram_bytes=80 * 1024**3, model_loaded="wan2.2-ti2v-5b")
    line = worker_line(busy)
    for said in ("gpu-2", "NVIDIA H100 80GB HBM3 (80.0 GB)", "wan2.2-ti2v-5b loaded", "on run #17", "any engine"):
        assert said in line, line


def test_a_worker_without_a_gpu_or_model_says_so_and_shows_its_text_as_text():
    idle = WorkerView(id="w:1:x", host="**bold**", engines=("motion",), current_run_id=None, started_at=SEEN,
                      last_seen=SEEN)
    line = worker_line(idle)
    assert "no GPU" in line and "no model loaded" in line and "idle" in line and "takes motion" in line
    assert "**bold**" not in line  # the host name is escaped, never Markdown
