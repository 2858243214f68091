"""Compare: 2–4 runs, or a whole sweep (`?sweep=<id>`), playing in sync under one control, with a
table of their parameters where differences stand out, and a one-file MP4 export."""

import streamlit as st

from studio.comparison import selection_placement
from studio.jobs.status import RunStatus
from studio.sweeps import param_names
from studio.ui import selection
from studio.ui.compare import follow_unfinished, parameter_table, selection_export, sweep_view, synced_comparison
from studio.ui.measurements import measurement_charts
from studio.ui.runtime import services
from studio.ui.text import plain
from studio.views import RunQuery
from studio.web.media import parse_id

svc = services()

sweep_param = st.query_params.get("sweep", "")
if sweep_param:
    sweep_id = parse_id(sweep_param)  # digits within a database id's range, else not a sweep number
    if sweep_id is not None:
        sweep_view(svc, sweep_id)
    else:
        st.error(f"'{plain(sweep_param)}' is not a sweep number; sweeps are linked from the Generate page's Variants.")
    st.stop()

st.title("Compare")

# Each run once (a run beside itself compares nothing), at most MAX_COMPARE, and said when cut.
from_url = list(dict.fromkeys(i for i in (parse_id(x.strip()) for x in st.query_params.get("runs", "").split(","))
                              if i is not None))
if from_url:
    st.session_state["compare_ids"] = from_url[: selection.MAX_COMPARE]
    if len(from_url) > selection.MAX_COMPARE:
        st.caption(f"Compare shows {selection.MAX_COMPARE} runs at a time: "
                   f"{', '.join(f'#{i}' for i in from_url[selection.MAX_COMPARE:])} left out.")

recent = svc.history.list_runs(RunQuery(statuses=(RunStatus.SUCCEEDED,), page_size=48)).runs
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

placement = selection_placement(runs, names=param_names(svc.registry.infos()))
synced_comparison(placement)
follow_unfinished(runs)
links = st.columns(len(runs))
for column, run in zip(links, runs):
    column.page_link("pages/gallery.py", label=f"Details of #{run.id}", icon=":material/open_in_new:",
                     query_params={"run": str(run.id)})
measurement_charts(svc, runs, placement.labels, key="selection")
parameter_table(runs)
selection_export(svc, runs)
