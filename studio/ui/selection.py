"""The runs selected in the gallery, kept in the browser session across pages and filters: the
selection bar compares, exports or trashes them together."""

from __future__ import annotations

import streamlit as st

from studio.archive import why_not_exported
from studio.ui.runtime import services
from studio.ui.text import plain

MAX_COMPARE = 4  # runs the Compare page plays side by side
# Enough to gather a whole evening's runs across pages and filters for one export or one trash;
# bounded so the bar's one query and its file checks stay quick and one zip stays a sensible size.
MAX_SELECTED = 200
KEY = "selected_runs"  # in the order ticked: opened from the sidebar, Compare takes the first ones
SHOWN_IDS = 12  # run numbers the bar spells out; past that it counts


def selected() -> list[int]:
    return list(st.session_state.setdefault(KEY, []))


def is_full() -> bool:
    return len(selected()) >= MAX_SELECTED


def add(run_id: int) -> bool:
    """Select a run; False when MAX_SELECTED are selected already (nothing is dropped to make room:
    the user chose each of them)."""
    ids = selected()
    if run_id in ids:
        return True
    if len(ids) >= MAX_SELECTED:
        return False
    st.session_state[KEY] = [*ids, run_id]
    return True


def remove(run_id: int) -> None:
    st.session_state[KEY] = [i for i in selected() if i != run_id]


def numbers(ids: list[int], shown: int = SHOWN_IDS) -> str:
    """'#3, #5, #9', or the first `shown` of them and how many more."""
    listed = ", ".join(f"#{i}" for i in ids[:shown])
    return f"{listed} and {len(ids) - shown} more" if len(ids) > shown else listed


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


def selection_bar() -> None:
    """The runs selected in the gallery, with what to do with them: Compare, Export zip, Trash."""
    ids = selected()
    if not ids:
        return
    st.html(BAR_CSS)
    with st.container(key="selection-bar"):
        left, compare, export, trash, clear = st.columns([3, 1.2, 1.2, 1, 0.9], vertical_alignment="center")
        note = f"{len(ids)} selected: {numbers(ids)}"
        # Said in the bar, not only in a tooltip: a greyed-out button alone does not say why.
        if len(ids) > MAX_COMPARE:
            note += f". Compare shows at most {MAX_COMPARE} runs; unselect down to {MAX_COMPARE} to compare them."
        if len(ids) >= MAX_SELECTED:
            note += f" {MAX_SELECTED} is the most that can be selected."
        left.caption(note)
        if 2 <= len(ids) <= MAX_COMPARE:
            compare.page_link("pages/compare.py", label=f"Compare {len(ids)}", icon=":material/compare:",
                              query_params={"runs": ",".join(map(str, ids))})
        else:
            compare.button("Compare", icon=":material/compare:", key="compare-selected", disabled=True,
                           help=f"Compare plays 2 to {MAX_COMPARE} runs side by side; {len(ids)} "
                                f"{'is' if len(ids) == 1 else 'are'} selected.")
        # Said before the click: the zip is made when the download is asked for, where no message shows.
        found = {run.id: run for run in services().history.get_runs(ids)}
        left_out = {run_id: why for run_id in ids if (why := why_not_exported(found.get(run_id)))}
        notes = " ".join(f"#{run_id} is left out: {why}." for run_id, why in left_out.items())
        export.download_button("Export zip", data=lambda: services().export_runs(ids).read_bytes(),
                               file_name="studio-runs.zip", mime="application/zip", icon=":material/archive:",
                               key="export-selected", disabled=len(left_out) == len(ids),
                               help=plain(f"The {len(ids)} selected runs with their videos, inputs and parameters, "
                                          "for another studio's Settings → Import. " + notes))
        if trash.button("Trash", icon=":material/delete:", key="trash-selected",
                        help=f"Move the {len(ids)} selected runs and their files to the trash (restore them "
                             "from there)."):
            outcome = services().history.trash(ids)
            st.session_state[KEY] = [i for i in ids if i not in outcome.moved]
            # One toast per reason, not per run: a long selection would stack dozens of them.
            stayed: dict[str, list[int]] = {}
            for run_id, why in outcome.refused.items():
                stayed.setdefault(why, []).append(run_id)
            for why, runs in stayed.items():
                st.toast(f"{numbers(runs)} stayed: {why}", icon=":material/info:")
            st.rerun()
        if clear.button("Clear", key="clear-selected", help="Unselect every run."):
            st.session_state[KEY] = []
            st.rerun()
