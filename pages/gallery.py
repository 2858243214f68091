"""Gallery: every run, newest first, with filters and search; `?run=<id>` opens one run's detail."""

import streamlit as st

from studio.db.models import RUN_STATUSES
from studio.db.repo import RunQuery
from studio.ui import format as fmt
from studio.ui import selection
from studio.ui.detail import run_detail
from studio.ui.runtime import services

svc = services()
run_param = st.query_params.get("run")

if run_param:
    if st.button("Back to the gallery", icon=":material/arrow_back:"):
        del st.query_params["run"]
        st.rerun()
    run = svc.history.get_run(int(run_param)) if run_param.isdigit() else None
    if run is None:
        st.error(f"There is no run {run_param!r} in the history.")
    else:
        run_detail(svc, run)
    st.stop()

st.title("Gallery")
filters = st.columns([3, 2, 2, 1])
text = filters[0].text_input("Search prompts", key="g_text", placeholder="a word from the prompt",
                             help="Finds runs whose prompt or negative prompt contains every word you type.")
statuses = filters[1].multiselect("Status", RUN_STATUSES, key="g_status", help="Show only runs in these states.")
engines = filters[2].multiselect("Engine", svc.history.engines_used(), key="g_engine",
                                 help="Show only runs made with these engines.")
favorites = filters[3].toggle("Favourites", key="g_fav", help="Show only runs marked as favourite.")

page_number = st.session_state.get("g_page", 1)
result = svc.history.list_runs(RunQuery(statuses=statuses, engines=engines, text=text, favorites_only=favorites,
                                        page=page_number, page_size=24))
selection.compare_bar()

if result.total == 0:
    st.info("No runs match. Make one on the Generate page." if not (text or statuses or engines or favorites)
            else "No runs match these filters.")
    st.stop()

st.caption(f"{result.total} runs · page {result.page} of {result.pages}")
columns = st.columns(4)
for index, run in enumerate(result.runs):
    with columns[index % 4], st.container(border=True):
        if run.thumb_path:
            st.image(run.thumb_path, width="stretch")
        else:
            st.markdown(f"{fmt.STATUS_ICONS[run.status]} *{run.status}*")
        st.markdown(f"**#{run.id}** · {run.engine} · :{fmt.STATUS_COLORS[run.status]}[{run.status}]"
                    + (" · :material/star:" if run.favorite else ""))
        st.caption(fmt.excerpt(run.prompt or "(no prompt)", 70))
        link, pick = st.columns([3, 2])
        link.page_link("pages/gallery.py", label="Open", icon=":material/open_in_new:", query_params={"run": str(run.id)})
        selection.checkbox(pick, run.id)

if result.pages > 1:
    st.number_input("Page", min_value=1, max_value=result.pages, step=1, key="g_page",
                    help="Runs are shown 24 per page, newest first.")
