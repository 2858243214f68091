"""How the Settings page's Workers list says each live worker: where it runs, its GPU and memory,
the model it has loaded, what it takes and what it is doing."""

from __future__ import annotations

from studio.jobs.members import WorkerView
from studio.ui import format as fmt
from studio.ui.text import plain


def worker_line(worker: WorkerView) -> str:
    """One worker as Markdown (every value from the worker shown as text)."""
    engines = "any engine" if worker.takes_any_engine else ", ".join(worker.engines)
    doing = f"on run #{worker.current_run_id}" if worker.current_run_id else "idle"
    gpu = plain(worker.gpu) if worker.gpu else "no GPU"
    if worker.gpu and worker.vram_bytes:
        gpu += f" ({fmt.size(worker.vram_bytes)})"
    loaded = f"{plain(worker.model_loaded)} loaded" if worker.model_loaded else "no model loaded"
    return (f"**{plain(worker.host)}** · {gpu} · {loaded} · {doing} · takes {plain(engines)} · "
            f"since {fmt.when(worker.started_at)}  \n:gray[{plain(worker.id)}]")
