"""A run's extend chain on its page: links to every run of the chain, "Extend" (the next link,
made on Generate from this run's last frame), "Export the whole chain" (one video, played here) and
"Smooth / Upscale the whole chain" (a new run made from that one video)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio.engines.base import InputError
from studio.jobs.status import RunStatus
from studio.services import Services
from studio.ui import format as fmt
from studio.ui import gallery
from studio.ui.text import plain
from studio.views import RunView

CHAIN_LINKS = 12  # links shown; a longer chain shows its first ones and says how many more


def chain_section(svc: Services, run: RunView) -> None:
    links = svc.history.chain(run.id)
    # A post run (smooth, upscale, loop) is extended through the run it was made from, not itself.
    can_extend = (run.status == RunStatus.SUCCEEDED and bool(run.video_path) and run.deleted_at is None
                  and not svc.registry.is_tool(run.engine))
    if len(links) < 2 and not can_extend:
        return
    with st.container(border=True):
        if len(links) > 1:
            position = next(i for i, link in enumerate(links) if link.id == run.id) + 1
            st.caption(f"Chain of {len(links)} runs (this is link {position}): each continues the one before "
                       "from its last frame, and they play as one video.")
            _links(links, run.id)
        left, right, _ = st.columns([1, 1.6, 1.4])
        if can_extend and left.button("Extend", icon=":material/last_page:", key=f"extend-{run.id}", width="stretch",
                                      help="Make the next part of this video: Generate opens with this run's last "
                                           "frame as the input and its settings filled in."):
            st.switch_page("pages/generate.py", query_params={"extend": str(run.id)})
        if len(links) < 2:
            return
        key = f"chain-video-{run.id}"
        if right.button("Export the whole chain", icon=":material/movie:", key=f"export-chain-{run.id}", width="stretch",
                        help="Join every run of the chain into one MP4 (each seam's shared frame once) and play it here."):
            try:
                with st.spinner("Joining the chain …"):
                    st.session_state[key] = str(svc.export_chain(run.id))
            except InputError as exc:
                st.error(plain(exc.message), icon=":material/link_off:")
        _post_chain(svc, run)
        exported = st.session_state.get(key)
        if exported and Path(exported).is_file():
            video = Path(exported)
            st.video(str(video), loop=True, autoplay=True, muted=True)
            st.download_button("Chain MP4", data=video.read_bytes, file_name=video.name, mime="video/mp4",
                               key=f"chain-mp4-{run.id}", icon=":material/download:",
                               help=f"The whole chain as one video: {plain(str(video))}")


def _links(links: list[RunView], current: int) -> None:
    shown = links[:CHAIN_LINKS]
    cols = st.columns(min(len(shown), 6))
    for index, link in enumerate(shown):
        # A link in the trash still shows (its page offers Restore), marked as the lineage marks it.
        trashed = " (in trash)" if link.deleted_at is not None else ""
        label = f"#{link.id} · {link.status}{trashed}" + (" (this run)" if link.id == current else "")
        cols[index % len(cols)].page_link(
            "pages/gallery.py", label=label, icon=fmt.STATUS_ICONS[link.status], query_params=gallery.link_params(link.id),
            help=plain(fmt.excerpt(link.prompt, 120)) if link.prompt else "(no prompt)")
    if len(links) > len(shown):
        st.caption(f"… and {len(links) - len(shown)} more")


def _post_chain(svc: Services, run: RunView) -> None:
    """Smooth / Upscale the whole chain: one new run made from the joined video, linked to the
    chain's last link; its page opens (and plays it) once queued."""
    left, right, _ = st.columns([1.3, 1.3, 1.4])
    actions = ((left, "smooth", "Smooth the whole chain x2", ":material/slow_motion_video:",
                "Join the chain into one video, then make twice the frames and frame rate (motion-compensated "
                "interpolation): a new run in the gallery."),
               (right, "upscale", "Upscale the whole chain x2", ":material/zoom_out_map:",
                "Join the chain into one video, then double its width and height (Lanczos): a new run in the gallery."))
    for column, tool, label, icon, help_text in actions:
        if column.button(label, icon=icon, key=f"chain-{tool}-{run.id}", width="stretch", help=help_text):
            try:
                child = svc.queue.post_process(run.id, tool, {"factor": 2}, whole_chain=True)
            except InputError as exc:
                st.error(plain(exc.message), icon=":material/link_off:")
            else:
                st.switch_page("pages/gallery.py", query_params=gallery.link_params(child))
