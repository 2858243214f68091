"""Live status widgets: the sidebar queue badge and the progress panel of a run. They poll the
database on a timer (st.fragment run_every); they never touch the engine."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from studio.jobs.status import RunStage, RunStatus
from studio.ui import format as fmt
from studio.ui import reveal
from studio.ui.runtime import services
from studio.ui.progress_text import step_text
from studio.ui.text import plain
from studio.views import RunView, StageTimes

POLL_SECONDS = 1.0


# The badge rereads the queue as often as a run's progress panel does: on a slower timer it showed a
# step the panel beside it had long passed (its ETA drawn for that step), until its next turn.
@st.fragment(run_every=POLL_SECONDS)
def queue_badge() -> None:
    entries = services().history.queue()
    running = [e.run for e in entries if e.run.status == RunStatus.RUNNING]
    queued = [e.run for e in entries if e.run.status == RunStatus.QUEUED]
    if not entries:
        st.caption(":material/check: Queue empty")
        return
    st.markdown(f"**Queue** · {len(running)} running · {len(queued)} waiting")
    for run in running[:3]:
        total = max(run.total_steps, 1)
        st.progress(min(run.step / total, 1.0),
                    text=f"#{run.id} {plain(run.engine)} · {stage_text(run, StageTimes(load=None, encode=None))}")


STAGE_WORDS = {RunStage.LOADING: "loading model", RunStage.RENDERING: "rendering", RunStage.ENCODING: "encoding",
               RunStage.SAVING: "saving"}


def stage_text(run: RunView, usual: StageTimes, now: datetime | None = None) -> str:
    """What a running run is doing, and that stage's ETA: 'loading model · about 20 s left',
    'rendering step 12/48 · about 9 s left', 'encoding · about 1 s left', 'saving'. Loading and
    encoding go by how long they usually take for this engine; rendering by its own pace."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    stage = run.stage or RunStage.RENDERING  # a row written before stages were recorded
    since = run.stage_started_at or run.started_at
    elapsed = (now - since).total_seconds() if since else 0.0
    steps = f" {step_text(run.step, run.total_steps, run.params)}" if run.total_steps else ""
    if stage == RunStage.RENDERING:
        if run.step > 0 and run.total_steps and since:
            remaining = elapsed / run.step * (run.total_steps - run.step)
            return f"rendering{steps} · about {fmt.duration(remaining)} left"
        return f"rendering{steps}"
    typical = {RunStage.LOADING: usual.load, RunStage.ENCODING: usual.encode}.get(stage)
    words = STAGE_WORDS.get(stage, str(stage))
    if typical is None:
        return words
    if elapsed > typical:
        return f"{words} · taking longer than the usual {fmt.duration(typical)}"
    return f"{words} · about {fmt.duration(typical - elapsed)} left"


def eta_text(typical: float | None) -> str:
    """A queued run's expected duration, from similar past runs."""
    return f"usually takes {fmt.duration(typical)}" if typical is not None else ""


def run_progress(run: RunView, *, key_prefix: str) -> None:
    """Progress, ETA and a cancel button for a queued or running run."""
    svc = services()
    if run.status == RunStatus.QUEUED:
        typical = svc.history.typical_seconds(run.engine)
        position = next((e.position for e in svc.history.queue() if e.run.id == run.id), 0)
        ahead = "next in line" if position == 0 else f"{position} ahead in the queue"
        st.progress(0.0, text=f"Run #{run.id} queued · {ahead} · {eta_text(typical)}")
    else:
        total = max(run.total_steps, 1)
        label = "canceling…" if run.cancel_requested else stage_text(run, svc.history.typical_stage_seconds(run.engine))
        st.progress(min(run.step / total, 1.0), text=f"Run #{run.id} · {label}")
    if not run.cancel_requested and st.button("Cancel", key=f"{key_prefix}-cancel-{run.id}", icon=":material/stop:"):
        svc.queue.cancel(run.id)
        st.rerun(scope="fragment")


def video_with_downloads(run: RunView, *, key_prefix: str) -> None:
    """The finished video, playing inline, with MP4 and GIF downloads (read only when clicked)."""
    if not run.video_path or not Path(run.video_path).exists():
        st.warning(f"Run #{run.id}'s video file is missing ({plain(run.video_path)}).")
        return
    video = Path(run.video_path)
    st.video(str(video), loop=True, autoplay=True, muted=True, width=fmt.shown_width(run.width, run.height, "stretch"))
    left, right = st.columns(2)
    # Short labels: the buttons sit side by side in the narrow column beside the form.
    left.download_button("MP4", data=video.read_bytes, file_name=video.name, mime="video/mp4",
                         key=f"{key_prefix}-mp4-{run.id}", icon=":material/download:", width="stretch",
                         help="Download the video (H.264 MP4, with its settings inside).")
    # The GIF is made from the MP4 when first clicked (seconds for a long video), then kept.
    right.download_button("GIF", data=lambda: services().gif_of(run.id).read_bytes(),
                          file_name=video.with_suffix(".gif").name, mime="image/gif",
                          key=f"{key_prefix}-gif-{run.id}", icon=":material/download:", width="stretch",
                          help="Download a looping GIF, at most 480 px: made from the MP4 the first time, then kept.")


def outcome(run: RunView, *, key_prefix: str) -> None:
    """What a finished run produced, or why it did not."""
    if run.status == RunStatus.SUCCEEDED:
        video_with_downloads(run, key_prefix=key_prefix)
        st.caption(f"Run #{run.id} · seed {run.seed} · {run.width}×{run.height} · {run.frames} frames @ {run.fps} fps · "
                   f"{fmt.duration((run.infer_seconds or 0) + (run.load_seconds or 0) + (run.encode_seconds or 0))}")
    elif run.status == RunStatus.FAILED:
        st.error(f"Run #{run.id} failed: {plain(run.error)}", icon=":material/error:")
    elif run.status == RunStatus.CANCELED:
        st.info(f"Run #{run.id} was canceled.", icon=":material/cancel:")
    elif run.status == RunStatus.INTERRUPTED:
        st.warning(f"Run #{run.id} was interrupted; it resumes when the studio restarts.", icon=":material/pause_circle:")


def session_runs(svc, run_ids: list[int]) -> None:
    """This browser session's runs: live progress while active, the videos once finished."""
    if not run_ids:
        st.caption("Runs you queue appear here with live progress; every run is also kept in the Gallery.")
        return
    runs = svc.history.get_runs(list(reversed(run_ids)))
    finished = [r for r in runs if r.status not in RunStatus.ACTIVE]
    _active_panel(tuple(run_ids), frozenset(r.id for r in finished))
    if not finished:
        return
    newest, earlier = finished[0], finished[1:4]
    with st.container(border=True, key=reveal.PANEL_KEY):
        outcome(newest, key_prefix="mine")
        st.page_link("pages/gallery.py", label=f"Open run #{newest.id} in the gallery", icon=":material/open_in_new:",
                     query_params={"run": str(newest.id)})
    if newest.id in st.session_state.get("my_runs", ()):  # queued here, not the history's after a reload
        reveal.reveal_result(newest.id)
    if earlier:  # a compact strip of the ones before it, each a link to its run page
        for column, run in zip(st.columns(3), earlier, strict=False):
            if run.thumb_path and Path(run.thumb_path).is_file():
                column.image(run.thumb_path, width="stretch")
            column.page_link("pages/gallery.py", label=f"#{run.id} · {run.status}", query_params={"run": str(run.id)})


@st.fragment(run_every=POLL_SECONDS)
def _active_panel(run_ids: tuple[int, ...], shown_finished: frozenset[int]) -> None:
    runs = services().history.get_runs(list(run_ids))
    if {r.id for r in runs if r.status not in RunStatus.ACTIVE} != shown_finished:
        # A run finished since the page was drawn: redraw the whole page once to show its video.
        st.rerun(scope="app")
    for run in runs:
        if run.status in RunStatus.ACTIVE:
            run_progress(run, key_prefix="active")
