"""Gallery: every run with filters, search and sorting (all carried in the URL); `?run=<id>` opens
one run's detail; the Trash toggle (`?trash=true`) lists trashed runs to restore or delete for good."""

import streamlit as st

from studio.ui import gallery, selection
from studio.ui.detail import run_detail
from studio.ui.runtime import services
from studio.ui.text import plain
from studio.web.media import parse_id

svc = services()
run_param = st.query_params.get("run")

if run_param:
    if st.button("Back to the gallery", icon=":material/arrow_back:"):
        del st.query_params["run"]
        st.rerun()
    run_id = parse_id(run_param)  # a hand-edited ?run= that names no possible run is simply not found
    run = svc.history.get_run(run_id) if run_id is not None else None
    if run is None:
        st.error(f"There is no run {plain(repr(run_param))} in the history (it may have been deleted for good).")
    else:
        run_detail(svc, run)
    st.stop()

trash_count = svc.history.trash_count()
trash = gallery.header(trash_count)
view = gallery.filter_bar(svc.history.facets(), trash=trash)
result = svc.history.list_cards(view.to_query())
if view.text.strip() and not svc.history.searchable_words(view.text):
    st.caption(f"“{plain(view.text.strip()[:60])}” has no letters or digits to search for, so it filters nothing: "
               "every run is shown.")

if view.trash:
    gallery.trash_bar(svc, trash_count)
else:
    selection.selection_bar()

if result.total == 0:
    st.info("No runs match these filters." if view.filtered else
            "The trash is empty." if view.trash else "No runs yet. Make one on the Generate page.")
    st.stop()

st.caption(f"{gallery.runs(result.total, result.more)}{' in the trash' if view.trash else ''} · page {result.page} of {result.pages}{'+' if result.more else ''}")
gallery.run_grid(svc, result, trash=view.trash)
gallery.pager(result)
