"""The runs picked for comparison, kept in the browser session across pages."""

from __future__ import annotations

import streamlit as st

from studio.archive import why_not_exported
from studio.ui.runtime import services
from studio.ui.text import plain

MAX_COMPARE = 4


def selected() -> list[int]:
    return list(st.session_state.setdefault("compare_ids", []))


def add(run_id: int) -> None:
    ids = selected()
    if run_id not in ids:
        ids.append(run_id)
    st.session_state["compare_ids"] = ids[-MAX_COMPARE:]


def remove(run_id: int) -> None:
    st.session_state["compare_ids"] = [i for i in selected() if i != run_id]


def checkbox(container, run_id: int) -> None:
    # The key carries the state so a checkbox follows changes made elsewhere (detail page, Compare).
    key = f"pick-{run_id}-{run_id in selected()}"
    container.checkbox("Compare", value=run_id in selected(), key=key, on_change=_toggle, args=(run_id, key),
                       help=f"Select up to {MAX_COMPARE} runs, then open Compare.")


def _toggle(run_id: int, key: str) -> None:
    (add if st.session_state[key] else remove)(run_id)


# The bar stays under the app's header while the cards scroll beneath it. Sticky is set on the
# element Streamlit wraps the keyed container in: an element sticks only within its parent, and the
# wrapper is exactly as tall as the bar, so the bar itself would scroll away with it. The bar is
# painted in the theme's own background, passed down to it (every box around it is transparent),
# so the cards do not show through it in a dark or a light theme.
BAR_CSS = """<style>
div:has(> .st-key-selection-bar) { position: sticky; top: 3.75rem; z-index: 990; }
.stApp *:has(.st-key-selection-bar), .st-key-selection-bar { background-color: inherit; }
.st-key-selection-bar { border-bottom: 1px solid rgba(128,128,128,0.3); padding: 0.35rem 0; }
</style>"""


def compare_bar() -> None:
    """The runs selected in the gallery, with what to do with them: Compare, Export zip, Trash."""
    ids = selected()
    if not ids:
        return
    st.html(BAR_CSS)
    with st.container(key="selection-bar"):
        left, compare, export, trash, clear = st.columns([3, 1.2, 1.2, 1, 0.9], vertical_alignment="center")
        left.caption("Selected: " + ", ".join(f"#{i}" for i in ids))
        if len(ids) >= 2:
            compare.page_link("pages/compare.py", label=f"Compare {len(ids)}", icon=":material/compare:",
                              query_params={"runs": ",".join(map(str, ids))})
        # Said before the click: the zip is made when the download is asked for, where no message shows.
        found = {run.id: run for run in services().history.get_runs(ids)}
        left_out = {run_id: why for run_id in ids if (why := why_not_exported(found.get(run_id)))}
        notes = " ".join(f"#{run_id} is left out: {why}." for run_id, why in left_out.items())
        export.download_button("Export zip", data=lambda: services().export_runs(ids).read_bytes(),
                               file_name="studio-runs.zip", mime="application/zip", icon=":material/archive:",
                               key="export-selected", disabled=len(left_out) == len(ids),
                               help=plain("The selected runs with their videos, inputs and parameters, for another "
                                          "studio's Settings → Import. " + notes))
        if trash.button("Trash", icon=":material/delete:", key="trash-selected",
                        help="Move the selected runs and their files to the trash (restore them from there)."):
            outcome = services().history.trash(ids)
            st.session_state["compare_ids"] = [i for i in ids if i not in outcome.moved]
            for run_id, why in outcome.refused.items():
                st.toast(f"#{run_id} stayed: {why}", icon=":material/info:")
            st.rerun()
        if clear.button("Clear", key="clear-selected", help="Unselect every run."):
            st.session_state["compare_ids"] = []
            st.rerun()
