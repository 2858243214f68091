"""The studio's server entry: `streamlit run app.py` (launch.py does this for you).

An st.App so that the worker starts when the server starts (not when the first browser connects)
and stops cleanly with it: a job running at shutdown is marked interrupted and resumes at the next
start. The pages themselves are served by frame.py.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from studio.services import Services


@asynccontextmanager
async def lifespan(_app):
    # Build the services (migrate, build, start the worker) beside the server rather than before it:
    # the server answers at once. A page that needs the services meanwhile waits for this same build
    # (st.cache_resource computes a value once, other callers block on it); the HTTP routes wait on
    # the future this puts in the app's state.
    built: Future[Services] = Future()

    def boot():
        from studio.ui.runtime import services

        try:
            built.set_result(services())
        except Exception as exc:  # the pages show the same error when they ask for the services
            logging.getLogger("studio").exception("the studio's services could not be built")
            built.set_exception(exc)

    booting = threading.Thread(target=boot, name="studio-boot", daemon=True)
    booting.start()
    try:
        yield {"services": built}
    finally:
        booting.join()
        if built.exception() is None:
            built.result().worker.stop()


def served_services() -> Services:
    """The services the lifespan put in the app's state, for the HTTP routes (waits while they are
    still being built; raises what the build raised)."""
    return app.state["services"].result()


def _navigation_only() -> None:
    """frame.py drives the pages with st.navigation. Streamlit treats a `pages/` folder beside the
    main script as an old-style multipage app until st.navigation has run once in the process, so a
    first visit straight to /settings would run that page bare, without the frame. Say up front that
    this app does not use the folder convention."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def _middleware():
    from studio.web.auth import password_middleware
    from studio.web.hosts import host_middleware

    # The Host check first: a request for a foreign name is refused before even the login form.
    return [*host_middleware(), *password_middleware()]


def _routes():
    from studio.web.api import api_routes
    from studio.web.media import media_routes
    from studio.web.worker_api import worker_routes

    return [*media_routes(served_services), *api_routes(served_services),
            *worker_routes(lambda: served_services().media_hub())]


_navigation_only()
app = st.App(Path(__file__).with_name("frame.py"), lifespan=lifespan, middleware=_middleware(), routes=_routes())
