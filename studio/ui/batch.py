"""Batch on Generate: several images, one run each with the form's settings, queued as one group
that Compare shows as a grid filling in as the runs finish (the sweep view: a group without axes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
from PIL import Image

from studio import submitting
from studio.engines.base import InputError
from studio.jobs.queue import DatabaseBusy
from studio.media.images import ImageRejected, load_upload
from studio.services import Services
from studio.ui.inputs import UPLOAD_FORMATS, UPLOAD_TYPES
from studio.ui.text import plain

MAX_BATCH = 100  # one click queues at most this many runs


def batch_section(svc: Services, engine_id: str, request: Mapping[str, Any], ready: bool, *,
                  end_image: Image.Image | None = None) -> None:
    """One run per uploaded image with the form's settings; `end_image` is a newly uploaded end
    image (one already in the history is named by the request's digest)."""
    with st.expander("Batch: these settings for several images", icon=":material/photo_library:"):
        uploads = st.file_uploader("Images", type=UPLOAD_TYPES, accept_multiple_files=True, key="batch-upload",
                                   help="One run per image, all with the settings above (size, seed and all), "
                                        f"queued as one group shown as a grid. {UPLOAD_FORMATS}.")
        images, refused = [], []
        for upload in uploads or []:
            try:
                images.append((load_upload(upload.getvalue(), upload.name), upload.name))
            except ImageRejected as exc:
                # The message names the file already when the file's own check refused it.
                refused.append(exc.message if upload.name in exc.message else f"{upload.name}: {exc.message}")
        for reason in refused:
            st.error(plain(reason), icon=":material/broken_image:")
        if len(images) > MAX_BATCH:
            st.error(f"{len(images)} images: a batch takes at most {MAX_BATCH}.")
        count = len(images)
        label = f"Queue {count} run{'s' if count != 1 else ''}"
        blocked = not ready or count == 0 or bool(refused) or count > MAX_BATCH
        if st.button(label, key="batch-queue", icon=":material/photo_library:", disabled=blocked,
                     help="Queue one run per image; nothing is queued if any image or setting is refused."):
            _queue(svc, engine_id, request, images, end_image)
        last = st.session_state.get("batch_last")
        if last:
            group_id, queued = last
            st.page_link("pages/compare.py", label=f"Open batch #{group_id} ({queued} runs) as a grid",
                         icon=":material/grid_view:", query_params={"sweep": str(group_id)})


def _queue(svc: Services, engine_id: str, request: Mapping[str, Any], images: list,
           end_image: Image.Image | None) -> None:
    try:
        run_ids = submitting.queue_runs(svc, engine_id, dict(request), images, end_image=end_image)
    except InputError as exc:
        st.error(plain(exc.message), icon=":material/rule:")
        return
    except DatabaseBusy as exc:
        st.warning(plain(exc), icon=":material/hourglass_top:")
        return
    except OSError as exc:
        st.error(f"Could not queue the batch: {plain(exc)}")
        return
    first = svc.history.get_run(run_ids[0])
    st.session_state.setdefault("my_runs", []).extend(run_ids)
    if first.sweep_id is not None:
        st.session_state["batch_last"] = (first.sweep_id, len(run_ids))
    st.toast(f"Batch queued: {len(run_ids)} runs", icon=":material/photo_library:")
