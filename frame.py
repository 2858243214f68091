"""The frame around every page: navigation, the queue badge in the sidebar. Nothing else."""

import streamlit as st

from studio.ui.boundary import page_boundary
from studio.ui.runtime import services
from studio.ui.status import queue_badge

# The favicon is an emoji, drawn by the browser as an inline SVG: a ":material/..." page icon would be
# fetched from a font CDN on every page (the icons inside the page come from the bundled font).
st.set_page_config(page_title="Video Studio", page_icon="🎬", layout="wide")

# Everything below runs inside the error boundary: an unexpected exception shows a short message
# and the log's path, never a traceback.
with page_boundary():
    # Builds and starts everything once per server process; then, once per render, notice settings
    # saved by another process (this process's own saves count at once).
    services().revalidate_settings()

    navigation = st.navigation(
        [
            st.Page("pages/generate.py", title="Generate", icon=":material/movie_edit:", url_path="generate", default=True),
            st.Page("pages/gallery.py", title="Gallery", icon=":material/video_library:", url_path="gallery"),
            st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
            st.Page("pages/settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
        ]
    )

    with st.sidebar:
        queue_badge()

    navigation.run()
