"""Compare: 2–4 runs side by side, with a table of their parameters where differences stand out."""

import streamlit as st

from studio.db.repo import RunQuery
from studio.ui import selection
from studio.ui.compare import comparison_html
from studio.ui.runtime import services

svc = services()
st.title("Compare")

from_url = [int(x) for x in st.query_params.get("runs", "").split(",") if x.strip().isdigit()]
if from_url:
    st.session_state["compare_ids"] = from_url[: selection.MAX_COMPARE]

recent = svc.history.list_runs(RunQuery(statuses=("succeeded",), page_size=48)).runs
choices = list(dict.fromkeys(selection.selected() + [r.id for r in recent]))
picked = st.multiselect("Runs", choices, default=selection.selected(), max_selections=selection.MAX_COMPARE,
                        format_func=lambda i: f"#{i}", key="compare_pick",
                        help="Pick 2 to 4 runs; the gallery's Compare checkboxes fill this too.")
if picked != selection.selected():
    st.session_state["compare_ids"] = picked
    st.query_params["runs"] = ",".join(map(str, picked))

runs = svc.history.get_runs(picked)
if len(runs) < 2:
    st.info("Pick at least two runs to compare (tick Compare on gallery cards, or choose above).")
    st.stop()

columns = st.columns(len(runs))
for column, run in zip(columns, runs):
    with column:
        st.markdown(f"**#{run.id}** · {run.engine} · seed {run.seed}")
        if run.video_path:
            st.video(run.video_path, loop=True, autoplay=True, muted=True)
        else:
            st.caption(f"No video ({run.status}).")
        st.page_link("pages/gallery.py", label="Details", icon=":material/open_in_new:", query_params={"run": str(run.id)})

st.subheader("Parameters")
st.caption("Rows where the runs differ are highlighted.")
st.html(comparison_html(runs))
