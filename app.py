"""The studio's server entry: `streamlit run app.py` (launch.py does this for you).

An st.App so that the worker starts when the server starts (not when the first browser connects)
and stops cleanly with it: a job running at shutdown is marked interrupted and resumes at the next
start. The pages themselves are served by frame.py.
"""

from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from studio.ui.runtime import services

    running = services()  # migrate, build, start the worker
    try:
        yield
    finally:
        running.worker.stop()


def _middleware():
    from studio.web.auth import password_middleware

    return password_middleware()


def _routes():
    from studio.web.media import media_routes

    return media_routes()


app = st.App(Path(__file__).with_name("frame.py"), lifespan=lifespan, middleware=_middleware(), routes=_routes())
