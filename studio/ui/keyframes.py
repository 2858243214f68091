"""Generate-page keyframes: the optional end image (an upload beside the input, or the one a run
being edited or extended had), the framing boxes with a preview of both drawn on the picture, and
the "Extending #N" banner of a run that continues another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from studio.engines.base import EngineInfo, InputError
from studio.engines.keyframes import END_IMAGE
from studio.engines.motion import BOX_NAMES  # re-exported: the page leaves these to framing_section
from studio.media.images import ImageRejected, fit_image, load_upload
from studio.services import Services
from studio.sizing import run_framing_notes
from studio.storage import image_digest
from studio.ui import forms
from studio.ui.inputs import EDITING, UPLOAD_FORMATS, UPLOAD_TYPES, PickedImage
from studio.ui.text import plain
from studio.web.media import parse_id

__all__ = ["BOX_NAMES", "PickedEnd", "apply_edit_keyframes", "apply_extend_prefill", "end_image_param",
           "end_image_picker", "extending", "framing_section", "keep_extending", "remember_end_image",
           "apply_restored_end_image", "shape_notes"]

_END_HISTORY = "end_history_image"  # (sha256, path, label): an end image already in the history
_EXTENDING = "extending"  # (source run id, image id): this form makes the next link of that run's chain
START_COLOUR, END_COLOUR = (0, 200, 90), (255, 140, 0)


@dataclass(frozen=True)
class PickedEnd:
    sha256: str
    image: Image.Image | None  # a new picture to store, or None for one already in the history
    # Why the end image chosen cannot be used (unreadable upload, file gone); the page then queues
    # nothing rather than a video without the end image the user asked for.
    problem: str | None = None


def _unusable(problem: str) -> PickedEnd:
    st.error(plain(problem), icon=":material/broken_image:")
    return PickedEnd(sha256="", image=None, problem=problem)


def end_image_picker() -> PickedEnd | None:
    """The picture the video should end on, if any."""
    sources = ["None", "Upload"] + (["From history"] if _END_HISTORY in st.session_state else [])
    default = forms.initial("end_source", "None")
    source = st.radio("End image", sources, index=sources.index(default) if default in sources else 0,
                      horizontal=True, key=forms.key("end_source"),
                      help="Optional: a picture the video should end on. Engines that take one (the camera-motion "
                           "engine, Wan 2.1 FLF2V) move from the input to it; others say so before queueing.")
    if source == "Upload":
        upload = st.file_uploader("End image file", type=UPLOAD_TYPES, key="end_upload", label_visibility="collapsed",
                                  help=f"{UPLOAD_FORMATS}.")
        if upload is None:
            return None
        cached = st.session_state.get("end_decoded")
        if not cached or cached[0] != upload.file_id:
            try:
                image = load_upload(upload.getvalue(), upload.name)
                cached = (upload.file_id, image, image_digest(image), None)
            except ImageRejected as exc:
                cached = (upload.file_id, None, None, str(exc))
            st.session_state["end_decoded"] = cached
        _, image, sha, error = cached
        if error:
            return _unusable(f"{error} Or set End image to None to make the video without one.")
        st.image(image, caption=f"End image · {plain(upload.name)} · {image.width}×{image.height}", width=240)
        return PickedEnd(sha256=sha, image=image)
    if source == "From history":
        sha, path, label = st.session_state[_END_HISTORY]
        if not Path(path).exists():
            return _unusable(f"The end image of {label} is missing ({path}). Upload it again, or set End image to None.")
        st.image(path, caption=f"End image of {plain(label)}", width=240)
        return PickedEnd(sha256=sha, image=None)
    return None


def remember_end_image(sha: str | None, path: str | None, label: str) -> None:
    """Offer a stored end image (a run's, a restored recipe's) as the form's end image, or none."""
    if sha and path:
        st.session_state[_END_HISTORY] = (sha, path, label)
        forms.fill({"end_source": "From history"})
    else:
        st.session_state.pop(_END_HISTORY, None)
        forms.fill({"end_source": "None"})


def apply_restored_end_image(svc: Services) -> None:
    """The end image of a recipe just restored (studio.ui.inputs.restore_from_file), when this
    history holds it; otherwise the form's end image is cleared and the page says why."""
    params = st.session_state.pop("restored_params", None)
    if params is None:
        return
    sha = params.get(END_IMAGE)
    found = svc.history.image_by_sha256(sha) if isinstance(sha, str) and sha else None
    remember_end_image(sha if found else None, found.path if found else None, "the restored file")
    if sha and found is None:
        st.session_state["prefill_error"] = ("The restored file names an end image this studio does not have; "
                                             "choose the end image again.")


def apply_edit_keyframes(svc: Services) -> None:
    """Edit & re-run (studio.ui.inputs.apply_edit_prefill, just before) also brings back the run's
    end image, and an edited link stays a link: once per time the form was filled from that run."""
    edit = st.session_state.get(EDITING)
    filled = (edit, forms.generation())
    if edit is None or st.session_state.get("keyframes_prefilled") == filled:
        return
    st.session_state["keyframes_prefilled"] = filled
    run = svc.history.get_run(edit)
    if run is None:
        return
    end = run.end_image
    remember_end_image(run.params.get(END_IMAGE) if end else None, end.path if end else None, f"run #{run.id}")
    keep_extending(run.continues_id, run.input_image_id)


def apply_extend_prefill(svc: Services) -> None:
    """`?extend=<run id>` fills the form to continue that run: its engine and parameters, its last
    frame as the input (studio.jobs.chains decides both)."""
    source_id = parse_id(st.query_params.get("extend") or "")
    if "extend" in st.query_params:  # once: a reload never fills the form over the user's changes
        del st.query_params["extend"]
    if source_id is None:
        return
    try:
        start = svc.extension_start(source_id)
    except InputError as exc:
        st.session_state["prefill_error"] = exc.message
        return
    if start.engine not in svc.registry:
        st.session_state["prefill_error"] = f"Run #{source_id} cannot be extended: its engine is gone."
        return
    info = svc.registry.get(start.engine).info
    params = start.params
    values = {"engine": start.engine, "prompt": params.get("prompt", ""),
              "negative_prompt": params.get("negative_prompt", ""), "random_seed": False,
              "seed": int(params.get("seed") or 0), "image_source": "From history", **forms.engine_values(info, params)}
    if params.get("memory_mode"):
        values["memory_mode"] = params["memory_mode"]
    st.session_state["history_image"] = (start.image_id, start.image_path, source_id)
    st.session_state[_EXTENDING] = (source_id, start.image_id)
    st.session_state.pop(EDITING, None)  # a continuation, not an edit of the run
    forms.fill(values, replace=True)
    remember_end_image(None, None, "")


def extending(picked: PickedImage | None) -> int | None:
    """The run this form continues, shown as a banner; None once the input is another picture."""
    state = st.session_state.get(_EXTENDING)
    if state is None:
        return None
    source_id, image_id = state
    if picked is None or picked.image_id != image_id:
        return None
    with st.container(border=True):
        st.info(f"Extending #{source_id}: this run starts from its last frame, and the two play as one chain.",
                icon=":material/last_page:")
        if st.button("Make it a separate run", key="stop-extending", icon=":material/link_off:",
                     help="Keep the picture but do not link the new run to the chain."):
            st.session_state.pop(_EXTENDING, None)
            st.rerun()
    return source_id


def keep_extending(source_id: int | None, image_id: int | None) -> None:
    """An edited link of a chain stays a link (Edit & re-run of a continuation)."""
    if source_id is not None and image_id is not None:
        st.session_state[_EXTENDING] = (source_id, image_id)
    else:
        st.session_state.pop(_EXTENDING, None)


def framing_section(info: EngineInfo, picked: PickedImage | None) -> dict:
    """The framing move's boxes: numeric inputs and the picture with both boxes drawn on it."""
    if not all(info.has_param(name) for name in BOX_NAMES):
        return {}
    motion = forms.current(forms.param_name(info.id, "motion"), info.param("motion").default)
    if motion != "framing":
        return {}
    st.caption("Framing boxes: left, top and width as fractions of the picture; each box keeps the video's shape.")
    values = forms.param_widgets(info, only=BOX_NAMES)
    preview = _framing_preview(info, picked, values)
    if preview is not None:
        st.image(preview, caption="Start box (green) and end box (orange) on the picture as the video frames it",
                 width=360)
    return values


def _framing_preview(info: EngineInfo, picked: PickedImage | None, boxes: dict) -> Image.Image | None:
    if picked is None:
        return None
    if picked.image is not None:
        picture = picked.image
    else:
        path = st.session_state.get("history_image", (None, None, None))[1]
        if not path or not Path(path).exists():
            return None
        with Image.open(path) as stored:
            picture = stored.convert("RGB")
    width = int(forms.current(forms.param_name(info.id, "width"), info.param("width").default))
    height = int(forms.current(forms.param_name(info.id, "height"), info.param("height").default))
    fit = forms.current(forms.param_name(info.id, "fit"), info.param("fit").default)
    try:
        framed = fit_image(picture, max(width, 2), max(height, 2), fit)
    except (ValueError, OSError):
        return None
    scale = 360 / max(framed.size)
    shown = framed.resize((max(1, round(framed.width * scale)), max(1, round(framed.height * scale))))
    draw = ImageDraw.Draw(shown)
    for end, colour in (("start", START_COLOUR), ("end", END_COLOUR)):
        try:
            x, y, w = (float(boxes[f"{end}_{n}"]) for n in ("x", "y", "width"))
        except (KeyError, TypeError, ValueError):
            continue
        draw.rectangle((x * shown.width, y * shown.height, (x + w) * shown.width - 1, (y + w) * shown.height - 1),
                       outline=colour, width=3)
    return shown


def shape_notes(picked: PickedImage | None, end: PickedEnd | None, request: dict) -> None:
    """Under the form's size: when the video will not show the input or the end picture as it is
    (a share cropped away, a small picture blown up), say so before anything is queued."""
    size = (request.get("width"), request.get("height"))
    if picked is None or not all(isinstance(side, int) and side > 0 for side in size):
        return
    # An end image from the history has no size at hand here: only a new upload's is said.
    end_size = end.image.size if end is not None and end.image is not None else None
    for note in run_framing_notes(size, str(request.get("fit", "crop")), picked.size, end_size):
        st.caption(f":material/crop: {plain(note)}")


def end_image_param(picked: PickedEnd | None) -> dict:
    return {END_IMAGE: picked.sha256} if picked is not None and picked.problem is None else {}
