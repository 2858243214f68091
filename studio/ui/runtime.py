"""The server process's one Services object, shared by the ASGI lifespan (at boot) and every
script run (each browser session) through st.cache_resource."""

from __future__ import annotations

import os

import streamlit as st

from studio.config import SERVE_ONLY_ENV, Paths
from studio.services import Services, build_services


@st.cache_resource(show_spinner=False)
def services() -> Services:
    built = build_services(Paths.from_env())
    if os.environ.get(SERVE_ONLY_ENV) != "1":
        built.worker.start()
    return built
