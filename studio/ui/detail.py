"""One run in full: video, input, every parameter, timings, manifest, log, and what to do next."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio.engines.base import InputError
from studio.jobs.queue import DatabaseBusy
from studio.jobs.status import RunStatus
from studio.services import Services
from studio.sweeps import param_label
from studio.ui import format as fmt
from studio.ui import gallery, measurements, selection, status
from studio.ui.chain import chain_section
from studio.ui.pictures import picture
from studio.ui.post import make_from
from studio.ui.text import plain, text_block
from studio.views import MAX_NOTES_CHARS, MAX_TAG_CHARS, RunView, normalize_tag

LOG_TAIL_LINES = 200
LINEAGE_LINKS = 12  # links shown per direction; a long chain shows its nearest runs


def run_detail(svc: Services, run: RunView) -> None:
    st.title(f"Run #{run.id}")
    st.markdown(f"{fmt.STATUS_ICONS[run.status]} :{fmt.STATUS_COLORS[run.status]}[**{run.status}**] · "
                f"{plain(run.engine)}" + (f" · {plain(run.model_id)}" if run.model_id else "") + f" · queued {fmt.when(run.queued_at)}")
    if run.deleted_at is not None:
        _trashed(svc, run)
    if run.status == RunStatus.QUEUED and not any(w.can_run(run.engine) for w in svc.workers()):
        st.warning(f"No running worker can take this run: none takes runs of the {plain(run.engine)} engine. "
                   "It waits in the queue until one does (a `launch.py worker` whose --engines include it, "
                   "or the studio's own).", icon=":material/person_off:")
    _actions(svc, run)
    make_from(svc, run)
    _lineage(svc, run)
    chain_section(svc, run)

    left, right = st.columns([3, 2], gap="large")
    with left:
        if run.status in RunStatus.ACTIVE:
            _live(run.id)
        else:
            status.outcome(run, key_prefix="detail")
        if run.error_kind == "oom" and run.retry_mode:
            if st.button(f"Retry in {run.retry_mode.replace('_', ' ')} mode", type="primary", icon=":material/memory:",
                         help="Queue the same run with a lower-memory mode."):
                _queue_again(svc, run, overrides={"memory_mode": run.retry_mode})
    with right:
        st.subheader("Prompt")
        st.html(text_block(run.prompt or "(none)"))  # not Markdown: its URLs would become links
        if run.negative_prompt:
            st.html(text_block(f"Negative: {run.negative_prompt}", muted=True))
        if run.input_image and Path(run.input_image.path).exists():
            picture(run.input_image.path, f"Input · {run.input_image.width}×{run.input_image.height}",
                    (run.input_image.width, run.input_image.height))
        if run.end_image and Path(run.end_image.path).exists():
            picture(run.end_image.path, f"End image · {run.end_image.width}×{run.end_image.height}",
                    (run.end_image.width, run.end_image.height))

    _annotations(svc, run)
    st.subheader("Parameters")
    info = svc.registry.get(run.engine).info if run.engine in svc.registry else None
    st.dataframe([{"parameter": param_label(info, k), "value": str(v)} for k, v in sorted(run.params.items())
                  if k not in ("prompt", "negative_prompt", "loras")],
                 hide_index=True, width="stretch")
    if run.params.get("loras"):
        st.markdown("**LoRAs**")
        st.dataframe([{"LoRA": e.get("name"), "strength": e.get("strength"), "second expert": bool(e.get("second_expert")),
                       "sha256": str(e.get("sha256", ""))[:16]} for e in run.params["loras"] if isinstance(e, dict)],
                     hide_index=True, width="stretch")
    st.subheader("Timings")
    cols = st.columns(5)
    cols[0].metric("Load", fmt.duration(run.load_seconds))
    cols[1].metric("Generate", fmt.duration(run.infer_seconds))
    cols[2].metric("Encode", fmt.duration(run.encode_seconds))
    cols[3].metric("Memory mode", run.memory_mode or "–")
    cols[4].metric("Peak VRAM", fmt.size(run.peak_vram_bytes) if run.peak_vram_bytes else "–")
    st.caption(f"Started {fmt.when(run.started_at)} · finished {fmt.when(run.finished_at)} · attempts {run.attempts}")
    measurements.run_summary(svc, run)
    if run.manifest:
        with st.expander("Reproducibility manifest"):
            st.json(run.manifest)
    if run.log_path:
        with st.expander("Log"):
            st.code(_tail(Path(run.log_path)), language="log")


def _actions(svc: Services, run: RunView) -> None:
    # Two rows of three, so every label fits whole at a 1280 px window: making, then keeping.
    cols = st.columns(3) + st.columns(3)
    refusal = st.container()  # under both rows: a column is too narrow for a sentence
    if cols[0].button("Re-run", icon=":material/replay:", width="stretch",
                      help="Same parameters and seed: a new run linked to this one."):
        _queue_again(svc, run, shown_in=refusal)
    if cols[1].button("Re-run, new seed", icon=":material/casino:", width="stretch",
                      help="Same parameters with a fresh random seed."):
        _queue_again(svc, run, shown_in=refusal, new_seed=True)
    tool = svc.registry.is_tool(run.engine)  # a post-processing run has no Generate form to fill
    if cols[2].button("Edit & re-run", icon=":material/edit:", width="stretch", disabled=tool,
                      help="Made from another run's video: re-run it, or use the buttons below on its source." if tool
                      else "Open Generate with this run's settings filled in."):
        st.switch_page("pages/generate.py", query_params={"edit": str(run.id)})
    picked = run.id in selection.selected()
    full = not picked and selection.is_full()
    why = (f"{selection.MAX_SELECTED} runs are selected, the most there can be; unselect one in the gallery first."
           if full else f"Selected runs gather in the gallery's bar: compare 2 to {selection.MAX_COMPARE} of them, "
           "or export or trash them together.")
    if cols[3].button("Remove from selection" if picked else "Add to selection", width="stretch", disabled=full,
                      icon=":material/check_box:" if picked else ":material/check_box_outline_blank:", help=why):
        (selection.remove if picked else selection.add)(run.id)
        st.rerun()
    if cols[4].button("Unfavourite" if run.favorite else "Favourite", icon=":material/star:", width="stretch",
                      help="Favourites can be shown alone in the gallery (Filters → Favourites only)."):
        svc.history.set_favorite(run.id, not run.favorite)
        st.rerun()
    if run.deleted_at is None:
        active = run.status in RunStatus.ACTIVE
        if cols[5].button("Move to trash", icon=":material/delete:", width="stretch", disabled=active,
                          help=f"This run is {run.status}: cancel it first, then it can go to the trash." if active else
                          "Moves the run and its files to the trash; restore it from there (Gallery → Trash)."):
            svc.history.trash([run.id])
            st.rerun()


def _trashed(svc: Services, run: RunView) -> None:
    """A trashed run: say so, and offer Restore or (after a confirmation) deletion for good."""
    key = f"detail-purge-{run.id}"
    with st.container(border=True):
        st.warning(f"This run is in the trash since {fmt.when(run.deleted_at)}. Its files are kept until the trash "
                   "is emptied.", icon=":material/delete:")
        restore, purge, _ = st.columns([1, 1.4, 2.6])
        if restore.button("Restore", icon=":material/restore_from_trash:", type="primary", key=f"{key}-restore",
                          help="Put the run and its files back in the gallery."):
            svc.history.restore([run.id])
            st.session_state.pop(key, None)
            st.rerun()
        if not st.session_state.get(key):
            if purge.button("Delete for good…", icon=":material/delete_forever:", key=f"{key}-ask",
                            help="Delete this run and its files permanently. Asks for confirmation."):
                st.session_state[key] = True
                st.rerun()
            return
        gallery.dependents_warning(svc.history.purge_dependents([run.id]))
        st.error("Delete this run, its video, poster, thumbnail and log for good? This cannot be undone.")
        yes, no, _ = st.columns([1.2, 1, 3])
        if yes.button("Delete for good", type="primary", key=f"{key}-yes", help="Delete it now."):
            svc.history.purge([run.id])
            st.session_state.pop(key, None)
            del st.query_params["run"]
            st.rerun()
        if no.button("Keep it", key=f"{key}-no", help="Leave the run in the trash."):
            st.session_state.pop(key, None)
            st.rerun()


def _lineage(svc: Services, run: RunView) -> None:
    """Where this run comes from (its parent chain up to the first run) and the re-runs made of it."""
    family = svc.history.lineage(run.id)
    if not family.ancestors and not family.children:
        return
    with st.container(border=True):
        if family.ancestors:
            root = family.ancestors[0].id
            made = "Made from" if svc.registry.is_tool(run.engine) else "Re-run of"
            # A post run of a whole extend chain worked on the chain joined from its first link.
            chain_from = run.params.get("chain_from") if svc.registry.is_tool(run.engine) else None
            source = f"the extend chain #{chain_from} → #{run.parent_id}" if chain_from else f"#{run.parent_id}"
            st.caption(f"{made} {source}" + (f" · lineage from the first run, #{root}, to the parent:"
                                             if root != run.parent_id else ":"))
            _run_links(family.ancestors, key="up")
        if family.children:
            st.caption(f"Re-runs of this run ({len(family.children)})")
            _run_links(family.children, key="down")


def _run_links(runs: list[RunView], *, key: str) -> None:
    shown = runs[-LINEAGE_LINKS:] if key == "up" else runs[:LINEAGE_LINKS]
    cols = st.columns(min(len(shown), 6) or 1)
    for index, other in enumerate(shown):
        trashed = " (in trash)" if other.deleted_at is not None else ""
        cols[index % len(cols)].page_link(
            "pages/gallery.py", label=f"#{other.id} · {other.status}{trashed}", icon=fmt.STATUS_ICONS[other.status],
            query_params=gallery.link_params(other.id), help=plain(fmt.excerpt(other.prompt, 120)) if other.prompt else "(no prompt)")
    if len(runs) > len(shown):
        st.caption(f"… and {len(runs) - len(shown)} more")


def _annotations(svc: Services, run: RunView) -> None:
    """Tags and notes, saved with the run (tags are offered as gallery filters)."""
    st.subheader("Tags and notes")
    known = svc.history.facets().tags
    st.multiselect("Tags", sorted(set(known) | set(run.tag_names)), default=run.tag_names, key=f"detail-tags-{run.id}",
                   accept_new_options=True, placeholder="add a tag",
                   on_change=_save_tags, args=(svc, run.id, f"detail-tags-{run.id}"),
                   help="Type a new tag and press Enter, or pick one used before. Tags are lower-case; "
                        "the gallery filters by them.")
    with st.form(f"detail-notes-{run.id}", border=False):
        notes = st.text_area("Notes", value=run.notes, height=100, placeholder="what worked, what to try next",
                             max_chars=MAX_NOTES_CHARS, help="Free text kept with the run.")
        if st.form_submit_button("Save notes", icon=":material/save:", help="Store the notes with the run."):
            svc.history.set_notes(run.id, notes)
            st.toast("Notes saved.", icon=":material/save:")


def _save_tags(svc: Services, run_id: int, key: str) -> None:
    if any(len(t.strip()) > MAX_TAG_CHARS for t in st.session_state[key]):
        st.toast(f"Tags are at most {MAX_TAG_CHARS} characters; the longer one was cut.", icon=":material/sell:")
    tags = sorted({normalize_tag(t) for t in st.session_state[key] if t.strip()})
    svc.history.set_tags(run_id, tags)
    st.session_state[key] = tags  # show them as stored (lower-case, no duplicates)


def _queue_again(svc: Services, run: RunView, *, shown_in=None, **options) -> None:
    """Queue a re-run of `run` and open it, or say why not where the page shows it: a run can
    outlive what re-running it needs (its engine removed, an imported run's parameters this
    version refuses, its source run deleted)."""
    try:
        new_id = svc.queue.rerun(run.id, **options)
    except InputError as exc:
        with shown_in or st.container():
            st.error(f"Run #{run.id} cannot be re-run: {plain(exc.message)}", icon=":material/block:")
    except DatabaseBusy as exc:
        with shown_in or st.container():
            st.warning(plain(exc), icon=":material/hourglass_top:")
    else:
        _go_to(new_id)


def _go_to(run_id: int) -> None:
    st.switch_page("pages/gallery.py", query_params={"run": str(run_id)})


@st.fragment(run_every=status.POLL_SECONDS)
def _live(run_id: int) -> None:
    run = status.services().history.get_run(run_id)
    if run.status not in RunStatus.ACTIVE:
        st.rerun(scope="app")
    status.run_progress(run, key_prefix="detail")


def _tail(path: Path) -> str:
    if not path.exists():
        return f"(no log at {path})"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(empty)"
