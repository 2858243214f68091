"""Comparisons of runs: where each run of a sweep or a selection goes in a grid, how its cell is
labelled, and exporting the grid as one MP4 (studio.media.grid does the pixels).

A sweep is laid out by its axes: the first axis's values are the columns, the second's the rows, so
reading across changes one parameter and reading down the other. A selection of runs is labelled
with what differs between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.jobs.status import RunStatus
from studio.media.grid import GridCell, compose_grid, default_columns
from studio.sweeps import Axis, ParamNames, label, stored_name
from studio.views import RunView, SweepView

# Parameters that say how a run was made rather than what it shows: never used as labels.
NOT_LABELS = ("prompt", "negative_prompt", "memory_mode")


@dataclass(frozen=True)
class Placement:
    """Cells in reading order (None: no run for that combination), `columns` to a row, with labels."""

    cells: list[RunView | None]
    columns: int
    labels: dict[int, str]
    title: str

    @property
    def runs(self) -> list[RunView]:
        return [run for run in self.cells if run is not None]


def sweep_axes(sweep: SweepView) -> list[Axis]:
    return [Axis(str(a["param"]), tuple(a["values"])) for a in sweep.axes]


def axis_value(run: RunView, param: str) -> Any:
    return run.engine if param == "engine" else run.params.get(param)


def sweep_placement(sweep: SweepView, runs: Sequence[RunView], names: ParamNames = stored_name) -> Placement:
    """Axis 1 across, axis 2 down. A one-axis sweep of more than four values wraps into a grid.
    Labels name the parameters with `names` (studio.sweeps.param_names for what users read)."""
    axes = sweep_axes(sweep)
    if not axes:
        return selection_placement(runs, title=f"Sweep #{sweep.id}", names=names)
    across = axes[0].values
    down = axes[1].values if len(axes) > 1 else (None,)
    columns = len(across) if len(axes) > 1 or len(across) <= 4 else default_columns(len(across))
    cells: list[RunView | None] = [None] * (len(across) * len(down))
    unplaced = []
    for run in runs:
        index = _index(across, axis_value(run, axes[0].param))
        row = _index(down, axis_value(run, axes[1].param)) if len(axes) > 1 else 0
        slot = None if index is None or row is None else row * len(across) + index
        if slot is not None and cells[slot] is None:
            cells[slot] = run
        else:
            unplaced.append(run)  # not one of the sweep's combinations (e.g. edited by hand): shown after
    cells += unplaced
    labels = {run.id: f"#{run.id} · {label({**run.params, 'engine': run.engine}, axes, names)}" for run in runs}
    return Placement(cells=cells, columns=columns, labels=labels, title=f"Sweep #{sweep.id} · {sweep_title(sweep, names)}")


def sweep_title(sweep: SweepView, names: ParamNames = stored_name) -> str:
    """What the sweep varies, e.g. 'Motion amount 0.5, 1 × Seed 1, 2'. The stored name was written
    with the stored parameter names, so it is rebuilt from the axes."""
    engine = str(sweep.base_params.get("engine", ""))
    return " × ".join(f"{names(engine, a.param)} {', '.join(map(str, a.values))}" for a in sweep_axes(sweep))


def selection_placement(runs: Sequence[RunView], *, title: str = "", names: ParamNames = stored_name) -> Placement:
    """Runs side by side (a near-square grid from four on), each labelled with what differs."""
    differing, labels = differing_params(runs), {}
    for run in runs:
        values = {**run.params, "engine": run.engine}
        labels[run.id] = " · ".join([f"#{run.id}", *(f"{names(run.engine, name)}={_short(values.get(name))}"
                                                     for name in differing)])
    return Placement(cells=list(runs), columns=default_columns(len(runs)), labels=labels,
                     title=title or "Runs " + ", ".join(f"#{r.id}" for r in runs))


def differing_params(runs: Sequence[RunView]) -> list[str]:
    """Names of the parameters (and the engine) whose values are not the same across `runs`."""
    values: dict[str, set[str]] = {}
    for run in runs:
        for name, value in {"engine": run.engine, **run.params}.items():
            values.setdefault(name, set()).add(repr(value))
    names = [n for n, seen in values.items() if n not in NOT_LABELS and (len(seen) > 1 or _missing_somewhere(runs, n))]
    return ["engine", *sorted(set(names) - {"engine"})] if "engine" in names else sorted(names)


def export_placement(placement: Placement, path: Path, *, metadata: Mapping[str, str] | None = None) -> Path:
    """The placement as one labelled MP4 at `path` (written atomically)."""
    cells = []
    for run in placement.cells:
        if run is None:
            cells.append(GridCell(None, "", missing="not run"))
            continue
        video = Path(run.video_path) if run.video_path and Path(run.video_path).is_file() else None
        cells.append(GridCell(video, placement.labels.get(run.id, f"#{run.id}"),
                              missing="no video" if run.status == RunStatus.SUCCEEDED else run.status))
    ids = ",".join(str(run.id) for run in placement.runs)
    return compose_grid(cells, path, columns=placement.columns, title=placement.title,
                        metadata={"studio_comparison_runs": ids, **(metadata or {})})


def export_sweep(history, outputs_dir: Path, sweep_id: int, names: ParamNames = stored_name) -> Path:
    """Export a sweep's comparison next to the sweep's record (Sweep.compare_video_path). A new
    export gets a new name (browsers may cache the old one) and the previous file is removed."""
    sweep = history.get_sweep(sweep_id)
    if sweep is None:
        raise LookupError(f"Sweep #{sweep_id} does not exist.")
    placement = sweep_placement(sweep, history.sweep_runs(sweep_id), names)
    path = outputs_dir / "sweeps" / f"sweep-{sweep_id:06d}-compare-{datetime.now():%Y%m%d-%H%M%S-%f}.mp4"
    export_placement(placement, path, metadata={"studio_sweep": str(sweep_id)})
    history.set_sweep_compare_video(sweep_id, str(path))
    previous = sweep.compare_video_path
    if previous and Path(previous) != path:
        Path(previous).unlink(missing_ok=True)
    return path


def export_runs(history, outputs_dir: Path, run_ids: Sequence[int], names: ParamNames = stored_name) -> Path:
    """Export an ad-hoc selection's comparison into the outputs folder's comparisons/."""
    runs = history.get_runs(list(run_ids))
    if len(runs) < 2:
        raise LookupError("Pick at least two existing runs to export a comparison.")
    ids = "-".join(str(r.id) for r in runs)
    path = outputs_dir / "comparisons" / f"compare-{ids}-{datetime.now():%Y%m%d-%H%M%S}.mp4"
    return export_placement(selection_placement(runs, names=names), path)


def _index(values: Sequence[Any], value: Any) -> int | None:
    for index, candidate in enumerate(values):
        if candidate == value or str(candidate) == str(value):
            return index
    return None


def _missing_somewhere(runs: Sequence[RunView], name: str) -> bool:
    return name != "engine" and any(name not in run.params for run in runs)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
