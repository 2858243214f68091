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

# The runs come from the address (a link, the gallery's Compare) or else from the gallery's selection;
# each run once (a run beside itself compares nothing), at most MAX_COMPARE, and said when cut. The
# selection itself is left as it is: it may hold many runs gathered for an export or the trash.
from_url = list(dict.fromkeys(i for i in (parse_id(x.strip()) for x in st.query_params.get("runs", "").split(","))
                              if i is not None))
offered = from_url or selection.selected()
shown = offered[: selection.MAX_COMPARE]
if len(offered) > selection.MAX_COMPARE:
    cut = selection.numbers(offered[selection.MAX_COMPARE:])
    st.caption(f"Compare shows {selection.MAX_COMPARE} runs at a time: " + (
        f"{cut} left out." if from_url else
        f"of the {len(offered)} runs selected in the gallery, {cut} are left out. Choose others below."))

recent = svc.history.list_runs(RunQuery(statuses=(RunStatus.SUCCEEDED,), page_size=48)).runs
# The widget's own value stays among the choices: it keeps it when the address changes under it.
choices = list(dict.fromkeys(shown + st.session_state.get("compare_pick", []) + offered + [r.id for r in recent]))
picked = st.multiselect("Runs", choices, default=shown, max_selections=selection.MAX_COMPARE,
                        format_func=lambda i: f"#{i}", key="compare_pick",
                        help=f"Pick 2 to {selection.MAX_COMPARE} runs; opened without a choice, Compare shows the "
                             "runs selected in the gallery.")
if picked != shown:
    st.query_params["runs"] = ",".join(map(str, picked))

runs = svc.history.get_runs(picked)
if len(runs) < 2:
    st.info("Pick at least two runs to compare (select them on gallery cards, or choose above).")
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
