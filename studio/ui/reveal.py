"""A run queued from this browser session is scrolled into view when its video arrives, so it plays
where the eye is whatever the layout: beside a tall (portrait) input picture the result's video
ended below the window (at 1280x800, its lower half), and the page never moved to it.

Only the browser's own session's runs, once each: the run's number is kept in the tab's
sessionStorage, so later redraws and a reload (which shows the newest runs from the history) leave
the page where the person put it. The script runs in the page itself (st.iframe's HTML iframe is
same-origin, as studio.ui.keyboard's), and waits for the video's size to be known; a video not
wholly in view is then centred ("nearest" aligned its bottom edge with the window's and left it a
fraction of a pixel outside)."""

from __future__ import annotations

import streamlit as st

PANEL_KEY = "latest-result"  # st.container(key=...) of the newest result; its class is st-key-<key>

_SCRIPT = """<script>
(() => {{
  const host = window.parent;
  const run = "{run}";
  if (host.sessionStorage.getItem("studio-revealed-run") === run) return;
  host.sessionStorage.setItem("studio-revealed-run", run);
  const reveal = (tries) => {{
    const video = host.document.querySelector(".st-key-{key} video");
    if (!video) {{ if (tries > 0) setTimeout(() => reveal(tries - 1), 100); return; }}
    const show = () => {{
      const box = video.getBoundingClientRect();
      if (box.top < 0 || box.bottom > host.innerHeight) video.scrollIntoView({{block: "center", behavior: "smooth"}});
    }};
    if (video.readyState >= 1) show(); else video.addEventListener("loadedmetadata", show, {{once: true}});
  }};
  reveal(50);
}})();
</script>"""


def reveal_result(run_id: int) -> None:
    """Scroll the newest result (in st.container(key=PANEL_KEY)) into view, once for this run."""
    st.iframe(_SCRIPT.format(run=int(run_id), key=PANEL_KEY), height=1)
