"""One run in full: video, input, every parameter, timings, manifest, log, and what to do next."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio.db.models import Run
from studio.services import Services
from studio.ui import format as fmt
from studio.ui import selection, status

LOG_TAIL_LINES = 200


def run_detail(svc: Services, run: Run) -> None:
    st.title(f"Run #{run.id}")
    st.markdown(f"{fmt.STATUS_ICONS[run.status]} :{fmt.STATUS_COLORS[run.status]}[**{run.status}**] · "
                f"{run.engine}" + (f" · `{run.model_id}`" if run.model_id else "") + f" · queued {fmt.when(run.queued_at)}")
    _actions(svc, run)

    left, right = st.columns([3, 2], gap="large")
    with left:
        if run.status in ("queued", "running"):
            _live(run.id)
        else:
            status.outcome(run, key_prefix="detail")
        if run.error_kind == "oom" and run.retry_mode:
            if st.button(f"Retry in {run.retry_mode.replace('_', ' ')} mode", type="primary", icon=":material/memory:",
                         help="Queue the same run with a lower-memory mode."):
                new_id = svc.queue.rerun(run.id, overrides={"memory_mode": run.retry_mode})
                st.switch_page("pages/gallery.py", query_params={"run": str(new_id)})
    with right:
        st.subheader("Prompt")
        st.write(run.prompt or "(none)")
        if run.negative_prompt:
            st.caption(f"Negative: {run.negative_prompt}")
        if run.input_image and Path(run.input_image.path).exists():
            st.image(run.input_image.path, caption=f"Input · {run.input_image.width}×{run.input_image.height}")

    st.subheader("Parameters")
    st.dataframe([{"parameter": k, "value": str(v)} for k, v in sorted(run.params.items()) if k not in ("prompt", "negative_prompt")],
                 hide_index=True, width="stretch")
    st.subheader("Timings")
    cols = st.columns(5)
    cols[0].metric("Load", fmt.duration(run.load_seconds))
    cols[1].metric("Generate", fmt.duration(run.infer_seconds))
    cols[2].metric("Encode", fmt.duration(run.encode_seconds))
    cols[3].metric("Memory mode", run.memory_mode or "–")
    cols[4].metric("Peak VRAM", fmt.size(run.peak_vram_bytes) if run.peak_vram_bytes else "–")
    st.caption(f"Started {fmt.when(run.started_at)} · finished {fmt.when(run.finished_at)} · attempts {run.attempts}")
    if run.manifest:
        with st.expander("Reproducibility manifest"):
            st.json(run.manifest)
    if run.log_path:
        with st.expander("Log"):
            st.code(_tail(Path(run.log_path)), language="log")


def _actions(svc: Services, run: Run) -> None:
    cols = st.columns(5)
    if cols[0].button("Re-run", icon=":material/replay:", width="stretch",
                      help="Same parameters and seed: a new run linked to this one."):
        _go_to(svc.queue.rerun(run.id))
    if cols[1].button("Re-run, new seed", icon=":material/casino:", width="stretch",
                      help="Same parameters with a fresh random seed."):
        _go_to(svc.queue.rerun(run.id, new_seed=True))
    if cols[2].button("Edit & re-run", icon=":material/edit:", width="stretch",
                      help="Open Generate with this run's settings filled in."):
        st.switch_page("pages/generate.py", query_params={"edit": str(run.id)})
    in_compare = run.id in selection.selected()
    if cols[3].button("Remove from compare" if in_compare else "Add to compare", icon=":material/compare:", width="stretch"):
        (selection.remove if in_compare else selection.add)(run.id)
        st.rerun()
    if cols[4].button("Unfavourite" if run.favorite else "Favourite", icon=":material/star:", width="stretch"):
        svc.history.set_favorite(run.id, not run.favorite)
        st.rerun()
    if run.parent_id:
        st.page_link("pages/gallery.py", label=f"Re-run of #{run.parent_id}", icon=":material/call_split:",
                     query_params={"run": str(run.parent_id)})


def _go_to(run_id: int) -> None:
    st.switch_page("pages/gallery.py", query_params={"run": str(run_id)})


@st.fragment(run_every=status.POLL_SECONDS)
def _live(run_id: int) -> None:
    run = status.services().history.get_run(run_id)
    if run.status not in ("queued", "running"):
        st.rerun(scope="app")
    status.run_progress(run, key_prefix="detail")


def _tail(path: Path) -> str:
    if not path.exists():
        return f"(no log at {path})"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(empty)"
