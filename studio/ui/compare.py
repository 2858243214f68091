"""Comparing runs: the parameter table (one row per parameter, one column per run, differing rows
highlighted), the synced player around it, a sweep's live grid, and the MP4 export."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from studio.comparison import Placement, export_runs, export_sweep, sweep_placement
from studio.jobs.status import RunStatus
from studio.media.encode import EncodeError
from studio.services import Services
from studio.sweeps import ParamNames, param_names, stored_name
from studio.ui import measurements
from studio.ui.player import PlayerCell, synced_player_html
from studio.ui.runtime import services
from studio.ui.status import POLL_SECONDS
from studio.ui.text import plain
from studio.views import RunView, SweepView
from studio.web.media import run_file_url

TABLE_CSS = """
<style>
table.compare-table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
table.compare-table th, table.compare-table td { border-bottom: 1px solid rgba(250,250,250,0.12); padding: 4px 10px; text-align: left; vertical-align: top; }
/* A prompt's 400-letter "word" breaks inside the cell rather than widening the page past the window. */
table.compare-table { table-layout: fixed; }
table.compare-table td { overflow-wrap: anywhere; }
table.compare-table tr.differs td, table.compare-table tr.differs th { background: rgba(255,107,74,0.22); font-weight: 600; }
table.compare-table th[scope=row] { color: rgba(250,250,250,0.7); font-weight: 500; white-space: nowrap; }
</style>
"""
TRASHED_LINKS = 12  # links to a sweep's trashed runs; the caption names every one
# Rows shown for context but never highlighted: they always differ and say nothing about the recipe.
CONTEXT_ROWS = ("status", "re-run of", "generate time", *measurements.ROW_NAMES)


def comparison_rows(runs: Sequence[RunView]) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """(row names, values per run column, names of rows whose values differ)."""
    fields: dict[str, list[str]] = {"engine": [r.engine for r in runs], "model": [r.model_id or "–" for r in runs],
                                    "prompt": [r.prompt for r in runs], "negative prompt": [r.negative_prompt for r in runs]}
    for name in sorted({k for r in runs for k in r.params} - {"prompt", "negative_prompt"}):
        fields[name] = [_text(r.params.get(name, "–")) for r in runs]
    fields["memory mode used"] = [r.memory_mode or "–" for r in runs]
    fields["status"] = [r.status for r in runs]
    fields["re-run of"] = [f"#{r.parent_id}" if r.parent_id else "–" for r in runs]
    fields["generate time"] = [f"{r.infer_seconds:.2f} s" if r.infer_seconds else "–" for r in runs]
    fields.update(measurements.table_rows(runs))
    differing = {name for name, values in fields.items() if len(set(values)) > 1 and name not in CONTEXT_ROWS}
    return list(fields), fields, differing


def row_label(runs: Sequence[RunView], row: str, names: ParamNames = stored_name) -> str:
    """A row's header: the parameter's label (every label its engines give it, when the runs' engines
    call it differently); the rows that are not parameters, capitalised."""
    if not any(row in r.params for r in runs):
        return row[:1].upper() + row[1:]
    return " / ".join(dict.fromkeys(names(r.engine, row) for r in runs if row in r.params))


def comparison_html(runs: Sequence[RunView], names: ParamNames = stored_name) -> str:
    """The table; rows carry the stored name (data-param) and show the label."""
    rows, values, differing = comparison_rows(runs)
    head = "".join(f"<th scope='col'>#{r.id}</th>" for r in runs)
    body = []
    for row in rows:
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in values[row])
        css = " class='differs'" if row in differing else ""
        body.append(f"<tr{css} data-param='{html.escape(row)}'><th scope='row'>{html.escape(row_label(runs, row, names))}</th>{cells}</tr>")
    return f"{TABLE_CSS}<table class='compare-table'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ----- the synced comparison, the sweep view and the export ------------------------------------


def player_cells(placement: Placement) -> list[PlayerCell]:
    cells = []
    for run in placement.cells:
        if run is None:
            cells.append(PlayerCell(label="", note="not run"))
            continue
        aspect = (run.width / run.height) if run.width and run.height else 1.0
        has_video = run.status == RunStatus.SUCCEEDED and bool(run.video_path) and Path(run.video_path).is_file()
        cells.append(PlayerCell(label=placement.labels.get(run.id, f"#{run.id}"), run_id=run.id, aspect=aspect,
                                width=run.width, video_url=run_file_url(run.id) if has_video else None,
                                note="" if has_video else f"No video ({run.status})"))
    return cells


def synced_comparison(placement: Placement) -> None:
    """All the placement's videos under one play/pause/scrub control."""
    fps = max((r.fps or r.params.get("fps") or 0 for r in placement.runs), default=0) or 24
    st.html(synced_player_html(player_cells(placement), columns=placement.columns, fps=fps),
            unsafe_allow_javascript=True)
    st.caption("One control plays, pauses and scrubs every video together; ‹ Frame and Frame › step one "
               "frame (or ← → with the player focused). Shorter videos hold their last frame.")


def parameter_table(runs: Sequence[RunView]) -> None:
    st.subheader("Parameters")
    st.caption("Rows where the runs differ are highlighted.")
    st.html(comparison_html(runs, param_names(services().registry.infos())))


def sweep_view(svc: Services, sweep_id: int) -> None:
    """A sweep's grid, filling in while its runs are queued and running; when all have finished,
    the synced comparison and the export."""
    sweep = svc.history.get_sweep(sweep_id)
    if sweep is None:
        st.error(f"There is no sweep #{sweep_id} in the history.")
        return
    st.title(f"Sweep #{sweep.id}")
    names = param_names(svc.registry.infos())
    base = sweep.base_params
    axes = " × ".join(f"{plain(names(str(base.get('engine', '')), str(a['param'])))} ({len(a['values'])} values)"
                      for a in sweep.axes) or "the input image (a batch)"
    st.caption(f"Varies {axes} · everything else as in the base request "
               f"(engine {plain(base.get('engine', '–'))}, seed {plain(base.get('seed', '–'))}).")
    runs = svc.history.sweep_runs(sweep_id)
    _trashed_members(svc, sweep_id)
    if not runs:
        st.info("This sweep has no runs left outside the trash.")
        return
    finished = frozenset(r.id for r in runs if r.status not in RunStatus.ACTIVE)
    if len(finished) < len(runs):
        _sweep_progress(sweep_id)
        return
    placement = sweep_placement(sweep, runs, names)
    synced_comparison(placement)
    measurements.measurement_charts(svc, placement.runs, placement.labels, key=f"sweep-{sweep.id}")
    _sweep_measurements(placement.runs, sweep, names)
    parameter_table(placement.runs)
    _sweep_export(svc, sweep)


def _trashed_members(svc: Services, sweep_id: int) -> None:
    """The sweep's runs in the trash, each a link to its page (where Restore brings it back): the
    grid leaves them out, and a cell that is simply missing would read as a run never made."""
    trashed = svc.history.trashed_sweep_runs(sweep_id)
    if not trashed:
        return
    numbers = ", ".join(f"#{run.id}" for run in trashed)
    st.caption(f"{len(trashed)} of this sweep's runs {'is' if len(trashed) == 1 else 'are'} in the trash and not "
               f"shown here: {numbers}. Open a run to restore it from its page.")
    shown = trashed[:TRASHED_LINKS]
    cols = st.columns(min(len(shown), 6))
    for index, run in enumerate(shown):
        cols[index % len(cols)].page_link("pages/gallery.py", label=f"#{run.id} · {run.status} (in trash)",
                                          icon=":material/delete:", query_params={"run": str(run.id)})
    if len(trashed) > len(shown):
        st.caption(f"… and {len(trashed) - len(shown)} more in the trash.")


def _sweep_measurements(runs: Sequence[RunView], sweep: SweepView, names: ParamNames) -> None:
    axes = [str(a["param"]) for a in sweep.axes]
    if axes:
        engine = str(sweep.base_params.get("engine", ""))
        measurements.sweep_charts(runs, axes[0], names(engine, axes[0]), across=axes[1] if len(axes) > 1 else None)


def follow_unfinished(runs: Sequence[RunView]) -> None:
    """While a compared run is still queued or running, look again every few seconds; redraw the
    page once all have finished, so their videos and measurements show without a reload."""
    if any(run.status in RunStatus.ACTIVE for run in runs):
        _until_finished(tuple(run.id for run in runs))


@st.fragment(run_every=POLL_SECONDS)
def _until_finished(run_ids: tuple[int, ...]) -> None:
    runs = services().history.get_runs(list(run_ids))
    if all(run.status not in RunStatus.ACTIVE for run in runs):
        st.rerun(scope="app")
    st.caption("Some of these runs are still being made; their videos appear here when they finish.")


@st.fragment(run_every=POLL_SECONDS)
def _sweep_progress(sweep_id: int) -> None:
    svc = services()
    sweep = svc.history.get_sweep(sweep_id)
    runs = svc.history.sweep_runs(sweep_id)
    finished = frozenset(r.id for r in runs if r.status not in RunStatus.ACTIVE)
    if sweep is None or not runs or len(finished) == len(runs):
        st.rerun(scope="app")  # all done (or gone): redraw the page once with the synced comparison
    active = [r for r in runs if r.status in RunStatus.ACTIVE]
    st.progress(len(finished) / len(runs), text=f"{len(finished)} of {len(runs)} runs finished")
    placement = sweep_placement(sweep, runs, param_names(svc.registry.infos()))
    for start in range(0, len(placement.cells), placement.columns):
        columns = st.columns(placement.columns)
        for column, run in zip(columns, placement.cells[start:start + placement.columns]):
            with column, st.container(border=True):
                _progress_cell(run, placement)
    unfinished = f"Cancel {len(active)} unfinished run{'s' if len(active) > 1 else ''}"
    if active and st.button(unfinished, key=f"cancel-sweep-{sweep_id}", icon=":material/stop:"):
        for run in active:
            svc.queue.cancel(run.id)
        st.rerun(scope="fragment")


def _progress_cell(run: RunView | None, placement: Placement) -> None:
    if run is None:
        st.caption("not run")
        return
    st.markdown(f"**{plain(placement.labels.get(run.id, f'#{run.id}'))}**")
    if run.status == RunStatus.QUEUED:
        st.progress(0.0, text="queued")
    elif run.status == RunStatus.RUNNING:
        st.progress(min(run.step / max(run.total_steps, 1), 1.0), text=f"step {run.step}/{run.total_steps or '?'}")
    elif run.status == RunStatus.SUCCEEDED and run.thumb_path and Path(run.thumb_path).is_file():
        st.image(run.thumb_path, width="stretch")
    elif run.status == RunStatus.FAILED:
        st.error(plain(run.error) if run.error else "failed", icon=":material/error:")
    else:
        st.caption(run.status)


def _sweep_export(svc: Services, sweep: SweepView) -> None:
    st.subheader("Export")
    path = Path(sweep.compare_video_path) if sweep.compare_video_path else None
    if path is not None and path.is_file():
        _exported(path, key=f"sweep-{sweep.id}")
        label = "Export again"
    else:
        st.caption("One MP4 with every video of the sweep in its grid, labelled with its values; kept with the sweep.")
        label = "Export comparison MP4"
    if st.button(label, key=f"export-sweep-{sweep.id}", icon=":material/movie:"):
        with st.spinner("Composing the comparison video…"):
            try:
                export_sweep(svc.history, svc.storage.outputs_dir, sweep.id,
                             param_names(svc.registry.infos()))
            except (EncodeError, OSError, ValueError, LookupError) as exc:
                st.error(f"Could not export the comparison: {plain(exc)}")
                return
        st.rerun()


def selection_export(svc: Services, runs: Sequence[RunView]) -> None:
    """Export an ad-hoc comparison into the outputs folder; this browser session remembers it."""
    st.subheader("Export")
    ids = tuple(r.id for r in runs)
    exports = st.session_state.setdefault("compare_exports", {})
    path = exports.get(ids)
    if path is not None and Path(path).is_file():
        _exported(Path(path), key="selection")
    else:
        st.caption("One MP4 with these videos side by side, each labelled with its run and what differs; "
                   "saved in the outputs folder.")
    if st.button("Export comparison MP4" if path is None else "Export again", key="export-selection",
                 icon=":material/movie:"):
        with st.spinner("Composing the comparison video…"):
            try:
                exports[ids] = str(export_runs(svc.history, svc.storage.outputs_dir, ids,
                                                param_names(svc.registry.infos())))
            except (EncodeError, OSError, ValueError, LookupError) as exc:
                st.error(f"Could not export the comparison: {plain(exc)}")
                return
        st.rerun()


def _exported(path: Path, *, key: str) -> None:
    st.video(str(path), loop=True, muted=True)
    st.download_button("Download comparison MP4", data=path.read_bytes, file_name=path.name, mime="video/mp4",
                       key=f"download-{key}", icon=":material/download:")
    st.caption(f"Saved as {plain(path)}")
