"""The server process's one Services object, shared by the ASGI lifespan (at boot) and every
script run (each browser session) through st.cache_resource."""

from __future__ import annotations

import streamlit as st

from studio.config import Paths
from studio.services import Services, build_services


@st.cache_resource(show_spinner=False)
def services() -> Services:
    built = build_services(Paths.from_env())
    built.worker.start()
    return built
