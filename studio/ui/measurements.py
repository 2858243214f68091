"""Runs' measurements (studio.media.measure) where runs are compared: one line chart per measurement
over the frames with one line per run, the means as rows of the parameter table, a sweep's means
against the value it sweeps, and the "Measure" action for runs made before runs were measured."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from studio.jobs.status import RunStatus
from studio.services import Services
from studio.ui.text import plain
from studio.views import RunView

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Measure:
    key: str  # the per-frame series' and the mean's name in the stored measurements
    title: str
    unit: str
    help: str


MEASURES = (
    Measure("motion", "Motion", "pixels / frame",
            "How far the picture moves between frames: mean optical-flow length (Farneback), in the video's "
            "pixels. Higher means more movement."),
    Measure("flicker", "Flicker", "|Δ brightness|",
            "Brightness change left once the previous frame is moved along the motion onto this one (0–255). "
            "Lower is steadier; a camera move alone is not flicker."),
    Measure("sharpness", "Sharpness", "Laplacian variance",
            "Detail in each frame: variance of the Laplacian of its brightness. Higher is sharper."),
)
# Table rows: (row name, how to read it from the stored measurements).
TABLE_ROWS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("motion (mean, px/frame)", lambda m: m["means"]["motion"]),
    ("flicker (mean)", lambda m: m["means"]["flicker"]),
    ("sharpness (mean)", lambda m: m["means"]["sharpness"]),
    ("first frame vs input (SSIM)", lambda m: m["ssim_first"]),
    ("last frame vs input (SSIM)", lambda m: m["ssim_last"]),
)
ROW_NAMES = tuple(name for name, _ in TABLE_ROWS)


def table_rows(runs: Sequence[RunView]) -> dict[str, list[str]]:
    """The measurement rows of the parameter table: one value per run, 'not measured' where none."""
    return {name: [_number(read(r.measurements)) if r.measurements else NOT_MEASURED for r in runs]
            for name, read in TABLE_ROWS}


def unmeasured(runs: Sequence[RunView]) -> list[RunView]:
    """Finished runs with a video and no measurements (made before runs were measured)."""
    return [r for r in runs if r.measurements is None and r.status == RunStatus.SUCCEEDED
            and r.video_path and Path(r.video_path).is_file()]


# What a chart's legend shows in one row before Vega-Lite cuts it off, in a chart as wide as the page
# at a 1280 px window: about 700 px, roughly 6 px a character and 28 px for each entry's symbol and
# gap. (Side by side, a third of the page each, even four bare run numbers did not always fit.)
LEGEND_ROOM_PX, LEGEND_CHAR_PX, LEGEND_ENTRY_PX = 700, 6, 28


def frame_series(runs: Sequence[RunView], labels: dict[int, str], key: str) -> pd.DataFrame:
    """One column per measured run (its legend name), one row per frame; shorter runs end early."""
    measured = [r for r in runs if r.measurements]
    names = legend_names([r.id for r in measured], labels)
    return pd.DataFrame({names[r.id]: pd.Series(r.measurements[key], dtype="float64") for r in measured})


def legend_names(run_ids: Sequence[int], labels: dict[int, str]) -> dict[int, str]:
    """Each run's label without the parameter names ('#4 · Motion amount=0.5' → '#4 · 0.5'), when
    all of them fit the legend's one row; else only the run numbers ('#4'), which the players and the
    table above explain. A legend cut off hides which line is which run."""
    short = {i: " · ".join(part.split("=", 1)[-1] for part in labels.get(i, f"#{i}").split(" · ")) for i in run_ids}
    width = sum(LEGEND_CHAR_PX * len(name) + LEGEND_ENTRY_PX for name in short.values())
    return short if width <= LEGEND_ROOM_PX else {i: f"#{i}" for i in run_ids}


def measurement_charts(svc: Services, runs: Sequence[RunView], labels: dict[int, str], *, key: str) -> None:
    """Line charts over the frames, one per measurement, one line per run; runs without
    measurements are named, with a button that measures them."""
    st.subheader("Measurements")
    measure_button(svc, runs, key=key)
    measured = [r for r in runs if r.measurements]
    if not measured:
        return
    # One under another, each as wide as the page: a legend has room for every run's name in one row.
    for measure in MEASURES:
        st.markdown(f"**{measure.title}**", help=measure.help)
        st.line_chart(frame_series(measured, labels, measure.key), x_label="frame", y_label=measure.unit,
                      height=280)


def measure_button(svc: Services, runs: Sequence[RunView], *, key: str) -> None:
    missing = unmeasured(runs)
    if not missing:
        return
    ids = ", ".join(f"#{r.id}" for r in missing)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(f"{ids} {'is' if len(missing) == 1 else 'are'} {NOT_MEASURED}: made before runs were measured "
                 "as they finish. Measuring reads each video once (a second or two).")
    if right.button("Measure", key=f"measure-{key}", icon=":material/monitoring:", width="stretch",
                    help="Measure motion, flicker, sharpness and fidelity of these runs now."):
        with st.spinner("Measuring…"):
            try:
                svc.history.measure([r.id for r in missing])
            except (OSError, ValueError, RuntimeError) as exc:  # an unreadable video (ffmpeg's error)
                st.error(f"Could not measure: {plain(exc)}")
                return
        st.rerun()


def run_summary(svc: Services, run: RunView) -> None:
    """One run's measurements as figures (its page), or 'not measured' with the Measure button."""
    if run.status != RunStatus.SUCCEEDED:
        return
    st.subheader("Measurements")
    if not run.measurements:
        st.caption(NOT_MEASURED.capitalize() + ".")
        measure_button(svc, [run], key=f"run-{run.id}")
        return
    for column, (name, value) in zip(st.columns(len(TABLE_ROWS)), table_rows([run]).items()):
        column.metric(name[:1].upper() + name[1:], value[0])


def sweep_charts(runs: Sequence[RunView], param: str, label: str, *, across: str | None = None) -> None:
    """Each measurement's mean against the swept value `param` (one line per value of a second axis
    `across`, if any): how the parameter moves the result."""
    measured = [r for r in runs if r.measurements]
    if len(measured) < 2:
        return
    st.markdown(f"**Measurements against {label}**")
    for column, measure in zip(st.columns(len(MEASURES)), MEASURES):
        frame = pd.DataFrame({
            label: [_axis_value(r, param) for r in measured],
            "series": [str(_axis_value(r, across)) if across else measure.title for r in measured],
            measure.title: [r.measurements["means"][measure.key] for r in measured],
        })
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in frame[label])
        with column:
            chart = st.line_chart if numeric else st.bar_chart
            chart(frame.sort_values(label) if numeric else frame, x=label, y=measure.title,
                  color="series" if across else None, x_label=label, y_label=measure.unit, height=240)


def _axis_value(run: RunView, param: str | None) -> Any:
    return run.engine if param == "engine" else run.params.get(param or "")


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
