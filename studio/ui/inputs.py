"""Generate-page inputs: the image picker (upload, bundled sample, or a past run's input), the size
preset helper, and prefilling the form from a past run ("Edit & re-run")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image

from studio.engines.base import EngineInfo
from studio.media.images import ImageRejected, load_upload, suggested_size
from studio.recipes import NotARecipe, form_values, read_recipe
from studio.samples import sample_images
from studio.services import Services
from studio.ui import forms
from studio.ui.text import plain

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"]
SIZE_PRESETS = (256, 384, 512, 576, 720, 768, 1024, 1280)


@dataclass(frozen=True)
class PickedImage:
    image: Image.Image | None  # a new image to store, or
    image_id: int | None  # one already in the history
    name: str
    size: tuple[int, int]


def apply_edit_prefill(svc: Services) -> None:
    """`?edit=<run id>` fills the form with that run's engine, prompt, parameters, seed and image."""
    edit = st.query_params.get("edit")
    if not edit or not edit.isdigit() or st.session_state.get("prefilled_from") == int(edit):
        return
    st.session_state["prefilled_from"] = int(edit)
    run = svc.history.get_run(int(edit))
    if run is None or run.engine not in svc.registry:
        st.session_state["prefill_error"] = f"Run #{edit} cannot be edited: it does not exist or its engine is gone."
        return
    info = svc.registry.get(run.engine).info
    values = {"engine": run.engine, "prompt": run.prompt, "negative_prompt": run.negative_prompt,
              "random_seed": False, "seed": int(run.seed or 0), **forms.engine_values(info, run.params)}
    if run.params.get("memory_mode"):
        values["memory_mode"] = run.params["memory_mode"]
    if run.input_image is not None:
        st.session_state["history_image"] = (run.input_image.id, run.input_image.path, run.id)
        values["image_source"] = "From history"
    forms.fill(values, replace=True)


def restore_from_file(svc: Services) -> None:
    """Drop a studio-made MP4 or its JSON sidecar to fill the form with the parameters it was made with."""
    message = st.session_state.pop("recipe_message", None)
    with st.expander("Restore settings from a studio video or .json", icon=":material/settings_backup_restore:",
                     expanded=message is not None):
        if message:
            (st.error if message[0] == "error" else st.success)(message[1])
        upload = st.file_uploader("Studio file", type=["mp4", "json"], key="recipe_upload", label_visibility="collapsed",
                                  help="Every video the studio makes carries its parameters (and a .json file sits beside "
                                       "it). Drop one here to set the form to exactly those parameters.")
        if upload is None or st.session_state.get("recipe_applied") == upload.file_id:
            return
        st.session_state["recipe_applied"] = upload.file_id
        try:
            recipe = read_recipe(upload.getvalue(), upload.name)
        except NotARecipe as exc:
            st.session_state["recipe_message"] = ("error", str(exc))
        else:
            if recipe.engine not in svc.registry:
                st.session_state["recipe_message"] = ("error", f"{upload.name} was made with engine {recipe.engine!r}, "
                                                               "which this studio does not have.")
            else:
                info = svc.registry.get(recipe.engine).info
                # Only values that fit the form: a hand-edited file must not leave the form unusable.
                fitting, dropped = form_values(info, recipe.params)
                values = {"engine": recipe.engine, "prompt": fitting.get("prompt", ""),
                          "negative_prompt": fitting.get("negative_prompt", ""), **forms.engine_values(info, fitting)}
                if "seed" in fitting:
                    values.update(random_seed=False, seed=fitting["seed"])
                if "memory_mode" in fitting:
                    values["memory_mode"] = fitting["memory_mode"]
                forms.fill(values)
                origin = f" (run #{recipe.run_id})" if recipe.run_id else ""
                skipped = f" Left as they were (wrong type or value in the file): {', '.join(dropped)}." if dropped else ""
                st.session_state["recipe_message"] = ("success", f"Restored the parameters of {upload.name}{origin}.{skipped}")
            st.rerun()


def image_picker(svc: Services) -> PickedImage | None:
    if message := st.session_state.pop("prefill_error", None):
        st.warning(plain(message))
    sources = ["Upload", "Sample"] + (["From history"] if "history_image" in st.session_state else [])
    # A sample is preselected so a first-time user can press Generate straight away.
    default = forms.initial("image_source", "Sample" if sample_images() else "Upload")
    source = st.radio("Input image", sources, index=sources.index(default) if default in sources else 0,
                      horizontal=True, key=forms.key("image_source"),
                      help="Upload your own picture, start from a bundled sample, or reuse a past run's input.")
    picked: PickedImage | None = None
    if source == "Upload":
        upload = st.file_uploader("Image", type=UPLOAD_TYPES, key="upload", label_visibility="collapsed",
                                  help="PNG, JPEG, WebP, BMP, TIFF or GIF (first frame). Very large images are refused.")
        if upload is not None:
            picked = _decoded_upload(upload.file_id, upload.name, upload.getvalue())
    elif source == "Sample":
        samples = sample_images()
        chosen = st.selectbox("Sample", samples, format_func=lambda s: s.title, key="sample",
                              help="Sample pictures made for the studio, free to use.")
        if chosen is not None:
            picked = _decoded_upload(f"sample:{chosen.path}", chosen.path.name, chosen.path.read_bytes())
    else:
        image_id, path, run_id = st.session_state["history_image"]
        if Path(path).exists():
            with Image.open(path) as stored:
                size = stored.size
            picked = PickedImage(image=None, image_id=image_id, name=f"input of run #{run_id}", size=size)
            st.image(path, caption=f"Input of run #{run_id} · {size[0]}×{size[1]}")
        else:
            st.error(f"The input image of run #{run_id} is missing ({plain(path)}). Upload it again.")
    if picked is not None:
        st.session_state["input_size"] = picked.size
    return picked


def _decoded_upload(cache_key: str, name: str, data: bytes) -> PickedImage | None:
    """Decode once per file, not on every rerun; a rejected file shows why and changes nothing."""
    cached = st.session_state.get("decoded")
    if not cached or cached[0] != cache_key:
        try:
            image = load_upload(data, name)
            cached = (cache_key, image, None)
        except ImageRejected as exc:
            cached = (cache_key, None, str(exc))
        st.session_state["decoded"] = cached
    _, image, error = cached
    if error:
        st.error(plain(error), icon=":material/broken_image:")
        return None
    st.image(image, caption=f"{plain(name)} · {image.width}×{image.height}")
    return PickedImage(image=image, image_id=None, name=name, size=image.size)


def size_preset(info: EngineInfo, image_size: tuple[int, int] | None) -> None:
    """Fill width/height from a long-side preset, keeping the image's aspect when asked."""
    width_spec = info.param("width")
    multiple = width_spec.multiple_of or 1
    presets = [p for p in SIZE_PRESETS if width_spec.maximum is None or p <= width_spec.maximum]
    left, right = st.columns([2, 1])
    options = ["custom", *presets]  # not None: Streamlit shows None as an empty placeholder
    chosen = forms.initial(f"{info.id}.preset", "custom")
    left.selectbox("Size preset", options, index=options.index(chosen) if chosen in options else 0,
                   key=forms.key(f"{info.id}.preset"),
                   format_func=lambda p: "Custom (width × height below)" if p == "custom" else f"{p} px long side",
                   on_change=_apply_preset, args=(info, image_size, multiple),
                   help=f"Sets width and height for you; both are rounded to multiples of {multiple} as this model needs.")
    right.checkbox("Keep image aspect", value=forms.initial(f"{info.id}.keep_aspect", True),
                   key=forms.key(f"{info.id}.keep_aspect"), on_change=_apply_preset, args=(info, image_size, multiple),
                   help="Match the input image's shape; otherwise square.")


def _apply_preset(info: EngineInfo, image_size: tuple[int, int] | None, multiple: int) -> None:
    preset = forms.current(f"{info.id}.preset")
    if preset in (None, "custom"):
        return
    if forms.current(f"{info.id}.keep_aspect", True) and image_size:
        width, height = suggested_size(image_size[0], image_size[1], preset, multiple)
    else:
        width = height = max(multiple, preset // multiple * multiple)
    forms.fill({forms.param_name(info.id, "width"): width, forms.param_name(info.id, "height"): height})
