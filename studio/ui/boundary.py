"""The page error boundary: an unexpected exception in a page shows one short message naming the
log that holds the details; the traceback itself never reaches the browser (it may name files,
SQL and settings). Expected failures are handled where they happen, with their own message; this
is the net under everything else."""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.runtime.scriptrunner import get_script_run_ctx
# st.rerun, st.stop and st.switch_page work by raising these. They derive from BaseException in
# this Streamlit (so `except Exception` would let them through anyway); naming them keeps that true
# if a later version moves them under Exception.
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from studio.config import Paths

LOG_NAME = "page-errors.log"
log = logging.getLogger("studio.ui")


@contextmanager
def page_boundary() -> Iterator[None]:
    """Run a page inside: its control flow passes, any other exception becomes the short message.
    Fragments (the live status parts) catch their own exceptions before they reach here; Streamlit
    hands those to the script-error handler this installs, which shows the same message."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.on_script_error is None:
        ctx.on_script_error = show_error
    try:
        yield
    except ScriptControlException:
        raise
    except FragmentHandledException:
        return  # a fragment's error, already shown by show_error; the page stops there
    except Exception as exc:
        show_error(exc)


def show_error(exc: Exception) -> bool:
    """The short message in place of the failed part; True tells Streamlit not to show its own."""
    reference = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    where = record(exc, reference)
    st.error(f"Something went wrong on this page (error {reference}). Details are in the log: {where}",
             icon=":material/error:")
    return True


def record(exc: BaseException, reference: str) -> Path | str:
    """Write the traceback to the page-error log in the studio's log folder (and to the server's own
    log through logging); returns where the details are."""
    log.error("page error %s", reference, exc_info=exc)
    path = Paths.from_env().logs_dir / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now().isoformat(timespec='seconds')} error {reference}\n")
            out.writelines(traceback.format_exception(exc))
    except OSError:
        return "the server's output (launch.py's log)"  # the log folder is not writable; logging has it
    return path
