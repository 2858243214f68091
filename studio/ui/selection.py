"""The runs picked for comparison, kept in the browser session across pages."""

from __future__ import annotations

import streamlit as st

from studio.ui.runtime import services

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


def compare_bar() -> None:
    ids = selected()
    if not ids:
        return
    left, middle, right = st.columns([3, 1, 1])
    left.caption("Selected: " + ", ".join(f"#{i}" for i in ids))
    if len(ids) >= 2:
        middle.page_link("pages/compare.py", label=f"Compare {len(ids)}", icon=":material/compare:",
                         query_params={"runs": ",".join(map(str, ids))})
    right.download_button("Export zip", data=lambda: services().export_runs(ids).read_bytes(), file_name="studio-runs.zip",
                          mime="application/zip", icon=":material/archive:", key="export-selected",
                          help="The selected runs with their videos, inputs and parameters, for another studio's "
                               "Settings → Import.")
