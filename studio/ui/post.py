"""Post-processing in the pages: the Generate form's "after generating" choices, the buttons that
make a new video of a finished run (its page), and the form values a past run's choices restore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from studio.engines.base import InputError
from studio.jobs.status import RunStatus
from studio.post.smooth import FACTORS as SMOOTH_FACTORS
from studio.post.steps import DEFAULTS, POST_KEYS
from studio.post.upscale import FACTORS as UPSCALE_FACTORS
from studio.services import Services
from studio.ui import forms, gallery
from studio.ui.text import plain
from studio.views import RunView

SMOOTH_CHOICES = (1, *SMOOTH_FACTORS)  # 1: off
UPSCALE_CHOICES = (1, *UPSCALE_FACTORS)


def after_generating() -> dict[str, Any]:
    """The post-processing to apply once the run has succeeded: each makes a child run."""
    chosen = {key: forms.initial(key, DEFAULTS[key]) for key in POST_KEYS}
    summary = ", ".join(label for key, label in (("interpolate", "smooth"), ("upscale", "upscale"), ("pingpong", "loop"))
                        if chosen[key] != DEFAULTS[key])
    with st.expander("After generating" + (f": {summary}" if summary else ""), icon=":material/auto_awesome_motion:"):
        st.caption("Each choice makes a new run from the finished video (linked to it), in this order.")
        left, middle, right = st.columns(3)
        with left:
            interpolate = forms.select("Smooth", "interpolate", SMOOTH_CHOICES, 1, format_func=_times,
                                       help="Frame interpolation: 2 or 4 times the frames and frame rate, same length. "
                                            "Motion-compensated, with the bundled ffmpeg.")
        with middle:
            upscale = forms.select("Upscale", "upscale", UPSCALE_CHOICES, 1, format_func=_times,
                                   help="Twice the width and height, resampled with a Lanczos filter.")
        with right:
            pingpong = st.checkbox("Ping-pong loop", value=bool(forms.initial("pingpong", False)),
                                   key=forms.key("pingpong"),
                                   help="Forward, then backward (the turn-around frames once), so it loops seamlessly.")
    return {key: value for key, value in (("interpolate", interpolate), ("upscale", upscale), ("pingpong", pingpong))
            if value != DEFAULTS[key]}


def form_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The after-generating fields a past run's (or a recipe's) parameters fill, defaults included,
    so restoring a run without them clears what the form had; a value the form cannot show is left out."""
    values = {key: params.get(key, DEFAULTS[key]) for key in POST_KEYS}
    return {key: value for key, value in values.items()
            if value in {"interpolate": SMOOTH_CHOICES, "upscale": UPSCALE_CHOICES, "pingpong": (True, False)}[key]}


def make_from(svc: Services, run: RunView) -> None:
    """Smooth / Upscale / Loop this run: each queues a child run and opens it. A post-processing
    run links to Compare with its source."""
    source = run.params.get("source_run") if svc.registry.is_tool(run.engine) else None
    # Only while the source is in the gallery: Compare shows no run that is deleted or in the trash.
    shown = svc.history.get_run(source) if isinstance(source, int) else None
    if shown is not None and shown.deleted_at is None and run.status == RunStatus.SUCCEEDED:
        st.page_link("pages/compare.py", label=f"Compare with its source, #{source}", icon=":material/compare:",
                     query_params={"runs": f"{source},{run.id}"})
    if run.status != RunStatus.SUCCEEDED or run.deleted_at is not None:
        return
    st.caption("Make a new video from this one (a new run, linked to this one)")
    cols = st.columns(3)
    actions = (("smooth", {"factor": 2}, "Smooth x2", ":material/slow_motion_video:",
                "Twice the frames and frame rate by motion-compensated interpolation."),
               ("upscale", {"factor": 2}, "Upscale x2", ":material/zoom_out_map:",
                "Twice the width and height (Lanczos resampling)."),
               ("pingpong", {}, "Loop (ping-pong)", ":material/all_inclusive:",
                "Forward, then backward, so it loops seamlessly."))
    for column, (tool, options, label, icon, help_text) in zip(cols, actions, strict=True):
        if column.button(label, icon=icon, width="stretch", key=f"post-{tool}-{run.id}", help=help_text):
            try:
                child = svc.queue.post_process(run.id, tool, options)
            except InputError as exc:
                st.error(plain(exc.message), icon=":material/rule:")
            else:
                st.switch_page("pages/gallery.py", query_params=gallery.link_params(child))


def _times(value: int) -> str:
    return "off" if value == 1 else f"x{value}"
