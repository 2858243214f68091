"""Generate-page inputs: the image picker (upload, bundled sample, or a past run's input), the size
preset helper, and prefilling the form from a past run ("Edit & re-run")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image

from studio import sizing
from studio.engines.base import EngineInfo
from studio.media.images import ImageRejected, load_upload, picture_extensions, picture_formats_text
from studio.recipes import NotARecipe, form_values, read_recipe
from studio.samples import sample_images
from studio.services import Services
from studio.ui import forms, loras
from studio.ui import post as post_ui
from studio.ui.format import excerpt
from studio.ui.pictures import picture
from studio.ui.text import plain
from studio.web.media import parse_id

# What every image uploader takes: any file. The studio's own check then says in a sentence what a
# file is and why it cannot be used (an SVG drawing, a PDF page, a video, a truncated photo); the
# uploader itself would refuse a type it was not given with only a hover tooltip and a red file
# name, and it lists every type it is given under the drop zone (25 endings, cut off at 1280 px).
PICTURE_TYPES = picture_extensions()
UPLOAD_TYPES = None
# The uploaders' help names the formats from the same list, so it cannot drift from what is taken.
UPLOAD_FORMATS = picture_formats_text()
SIZE_PRESETS = (256, 384, 512, 576, 720, 768, 1024, 1280)


@dataclass(frozen=True)
class PickedImage:
    image: Image.Image | None  # a new image to store, or
    image_id: int | None  # one already in the history
    name: str
    size: tuple[int, int]


EDITING = "editing_from"  # the run Edit & re-run filled the form from: the parent of what is queued


def apply_edit_prefill(svc: Services) -> None:
    """`?edit=<run id>` fills the form with that run's engine, prompt, parameters, seed and image,
    once: the id then leaves the address, so a reload or a return to the page never fills the form
    over what the user has changed since. The run stays the parent of what is queued from here."""
    asked = st.query_params.get("edit")
    edit = parse_id(asked or "")
    if "edit" in st.query_params:
        del st.query_params["edit"]
    if edit is None:
        if asked:  # a hand-edited address: said, and the form is left as it is ("?edit=" alone: nothing to say)
            st.session_state["prefill_error"] = (f"“{excerpt(asked, 40)}” in the address is not a run number, so "
                                                 "the form was not filled from a run.")
        return
    run = svc.history.get_run(edit)
    if run is None or run.engine not in svc.registry:
        st.session_state["prefill_error"] = f"Run #{edit} cannot be edited: it does not exist or its engine is gone."
        return
    st.session_state[EDITING] = edit
    info = svc.registry.get(run.engine).info
    values = {"engine": run.engine, "prompt": run.prompt, "negative_prompt": run.negative_prompt,
              "random_seed": False, "seed": int(run.seed or 0), **forms.engine_values(info, run.params)}
    if run.params.get("memory_mode"):
        values["memory_mode"] = run.params["memory_mode"]
    values.update(loras.form_fill(run.params))
    values.update(post_ui.form_values(run.params))
    if run.input_image is not None:
        st.session_state["history_image"] = (run.input_image.id, run.input_image.path, run.id)
        values["image_source"] = "From history"
    forms.fill(values, replace=True)


def editing_banner() -> int | None:
    """'Editing from run #8', with a way to start fresh; returns the run being edited, if any."""
    editing = st.session_state.get(EDITING)
    if editing is None:
        return None
    text, button = st.columns([3, 1], vertical_alignment="center")
    text.info(f"Editing from run #{editing}: what you queue is recorded as its child.", icon=":material/edit:")
    if button.button("Start fresh", icon=":material/restart_alt:", width="stretch",
                     help="Clear the form to the defaults; runs queued from it have no parent."):
        st.session_state.pop(EDITING, None)
        st.session_state.pop("history_image", None)
        forms.fill({}, replace=True)
        st.rerun()
    return editing


def restore_from_file(svc: Services) -> None:
    """Drop a studio-made MP4 or its JSON sidecar to fill the form with the parameters it was made with."""
    message = st.session_state.pop("recipe_message", None)
    with st.expander("Restore settings from a studio video or .json", icon=":material/settings_backup_restore:",
                     expanded=message is not None):
        if message:
            (st.error if message[0] == "error" else st.success)(plain(message[1]))
        upload = st.file_uploader("Studio file", type=UPLOAD_TYPES, key="recipe_upload",
                                  label_visibility="collapsed",
                                  help="Every video the studio makes carries its parameters (and a .json file sits beside "
                                       "it). Drop one here to set the form to exactly those parameters. A photo dropped "
                                       "here becomes the input image.")
        if upload is None or st.session_state.get("recipe_applied") == upload.file_id:
            return
        st.session_state["recipe_applied"] = upload.file_id
        ending = upload.name.lower().rsplit(".", 1)[-1]
        if ending not in ("mp4", "json"):  # not a studio file: perhaps the picture to animate
            _take_photo(upload.name, upload.getvalue(), picture=ending in PICTURE_TYPES)
            st.rerun()
        refusal = _restore(svc, upload.name, upload.getvalue())
        if refusal:  # said here and now: a rerun of the whole page would only delay it
            st.error(plain(refusal))
            return
        st.rerun()


def _restore(svc: Services, name: str, data: bytes) -> str | None:
    """Fill the form from a studio file's recipe; None when it did, else why not, in words."""
    try:
        recipe = read_recipe(data, name)
    except NotARecipe as exc:
        return str(exc)
    if recipe.engine not in svc.registry:
        return f"{name} was made with engine {recipe.engine!r}, which this studio does not have."
    if svc.registry.is_tool(recipe.engine):
        return (f"{name} was made from another run's video ({recipe.engine}); drop that run's file to restore "
                "its settings.")
    info = svc.registry.get(recipe.engine).info
    # Only values that fit the form: a hand-edited file must not leave the form unusable.
    fitting, dropped = form_values(info, recipe.params)
    values = {"engine": recipe.engine, "prompt": fitting.get("prompt", ""),
              "negative_prompt": fitting.get("negative_prompt", ""), **forms.engine_values(info, fitting)}
    if "seed" in fitting:
        values.update(random_seed=False, seed=fitting["seed"])
    if "memory_mode" in fitting:
        values["memory_mode"] = fitting["memory_mode"]
    values.update(loras.form_fill(fitting))
    values.update(post_ui.form_values(recipe.params))
    forms.fill(values)
    st.session_state["restored_params"] = recipe.params  # its end image: studio.ui.keyframes
    origin = f" (run #{recipe.run_id})" if recipe.run_id else ""
    skipped = f" Left as they were (wrong type or value in the file): {', '.join(dropped)}." if dropped else ""
    st.session_state["recipe_message"] = ("success", f"Restored the parameters of {name}{origin}.{skipped}")
    return None


DROPPED = "dropped_photo"  # (name, bytes) of a photo dropped where settings are restored
DROPPED_SOURCE = "Dropped photo"


def _take_photo(name: str, data: bytes, *, picture: bool = True) -> None:
    """A photo dropped on Restore is what the user wants to animate: make it the input image, if it
    is one the studio can use (else say why, and leave the input as it was). `picture` is False for
    a file that is no picture by its name (an SVG, a PDF): it is not called a photo then."""
    try:
        load_upload(data, name)
    except ImageRejected as exc:
        what = f"{name} is a photo, not a studio video or .json," if picture else f"{name} is not a studio video or .json,"
        st.session_state["recipe_message"] = ("error", f"{what} and it cannot be the input image either: {exc.message}")
        return
    st.session_state[DROPPED] = (name, data)
    forms.fill({"image_source": DROPPED_SOURCE})
    st.session_state["recipe_message"] = (
        "success", f"{name} is a photo, not a studio video or .json, so it is now the input image. Settings are "
                   "restored from videos the studio made (or their .json).")


def image_picker(svc: Services) -> PickedImage | None:
    if message := st.session_state.pop("prefill_error", None):
        st.warning(plain(message))
    sources = (["Upload", "Sample"] + ([DROPPED_SOURCE] if DROPPED in st.session_state else [])
               + (["From history"] if "history_image" in st.session_state else []))
    # A sample is preselected so a first-time user can press Generate straight away.
    default = forms.initial("image_source", "Sample" if sample_images() else "Upload")
    source = st.radio("Input image", sources, index=sources.index(default) if default in sources else 0,
                      horizontal=True, key=forms.key("image_source"),
                      help="Upload your own picture, start from a bundled sample, or reuse a past run's input.")
    picked: PickedImage | None = None
    if source == "Upload":
        upload = st.file_uploader("Image", type=UPLOAD_TYPES, key="upload", label_visibility="collapsed",
                                  help=f"{UPLOAD_FORMATS}. Very large images are refused.")
        if upload is not None:
            picked = _decoded_upload(upload.file_id, upload.name, upload.getvalue())
    elif source == "Sample":
        samples = sample_images()
        chosen = st.selectbox("Sample", samples, format_func=lambda s: s.title, key="sample",
                              help="Sample pictures made for the studio, free to use.")
        # A drop zone beside the samples too: dropping a photo switches to it.
        dropped = st.file_uploader("Or drop your own photo", type=UPLOAD_TYPES, key="sample_drop",
                                   help=f"{UPLOAD_FORMATS}: it becomes the input image.")
        if dropped is not None and st.session_state.get("sample_drop_taken") != dropped.file_id:
            st.session_state["sample_drop_taken"] = dropped.file_id
            st.session_state[DROPPED] = (dropped.name, dropped.getvalue())
            forms.fill({"image_source": DROPPED_SOURCE})
            st.rerun()
        if chosen is not None:
            picked = _decoded_upload(f"sample:{chosen.path}", chosen.path.name, chosen.path.read_bytes())
    elif source == DROPPED_SOURCE:
        name, data = st.session_state[DROPPED]
        picked = _decoded_upload(f"dropped:{name}:{len(data)}:{hash(data)}", name, data)
    else:
        image_id, path, run_id = st.session_state["history_image"]
        if Path(path).exists():
            with Image.open(path) as stored:
                size = stored.size
            picked = PickedImage(image=None, image_id=image_id, name=f"input of run #{run_id}", size=size)
            picture(path, f"Input of run #{run_id} · {size[0]}×{size[1]}", size)
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
    picture(image, f"{plain(name)} · {image.width}×{image.height}", image.size)
    return PickedImage(image=image, image_id=None, name=name, size=image.size)


def size_preset(info: EngineInfo, image_size: tuple[int, int] | None) -> None:
    """Width and height for the run. By default they follow the image: its aspect at the engine's
    pixel budget (studio.sizing), recomputed when the image changes. A long-side preset does the
    same at that size. Typing a size makes it Custom, and a custom size is kept whatever image
    comes next. "Keep image aspect" holds for every choice: with Custom, the other side follows
    the one typed. This runs before the width/height widgets, so they start from what it decides."""
    names = _SizeNames(info.id)
    preset, keep = forms.current(names.preset, AUTO), bool(forms.current(names.keep_aspect, True))
    live = (int(forms.current(names.width, info.param("width").default)),
            int(forms.current(names.height, info.param("height").default)))
    # (size, keep, form generation) as this left the form last. A new generation means the form
    # was filled from code since (Edit & re-run, a restored file): that size is taken as it is.
    last = st.session_state.setdefault(_SHOWN, {}).get(info.id)
    generation = forms.generation(names.width, names.height, names.preset)
    typed = last is not None and last[2] == generation and live != last[0]
    if typed and preset != CUSTOM:
        preset = CUSTOM  # the user's own size is never overwritten
    if preset == CUSTOM:
        locked = keep and image_size and last is not None and last[2] == generation
        target = _locked(info, image_size, live, last[:2]) if locked else live
    else:
        target = _preset_size(info, preset, keep, image_size)
    changed = target != live or preset != forms.current(names.preset, AUTO)
    if changed:
        forms.fill({names.width: target[0], names.height: target[1], names.preset: preset})
    # The size widgets are drawn below, so they start from this; nothing above is re-keyed.
    st.session_state[_SHOWN][info.id] = (target, keep, forms.generation(names.width, names.height, names.preset))

    width_spec = info.param("width")
    presets = [p for p in SIZE_PRESETS if width_spec.maximum is None or p <= width_spec.maximum]
    options = [AUTO, *presets, CUSTOM]  # not None: Streamlit shows None as an empty placeholder
    left, right = st.columns([3, 2])  # room for the checkbox's whole label at a 1280 px window
    left.selectbox("Size", options, index=options.index(preset) if preset in options else 0, key=forms.key(names.preset),
                   format_func=lambda option: _preset_label(info, option, keep, image_size),
                   help="The output size. By default it keeps the picture's shape at the size this model was made "
                        f"for; both sides are rounded as the model needs ({width_spec.rule}). "
                        "Type a width or height below to choose your own.")
    right.checkbox("Keep image aspect", value=keep, key=forms.key(names.keep_aspect),
                   help="Match the input image's shape (with Custom, the other side follows the one you type); "
                        "otherwise the model's default shape, or square for a long-side size.")


AUTO, CUSTOM = "auto", "custom"
_SHOWN = "size_shown"  # per engine: the size and aspect lock this function last put in the form


@dataclass(frozen=True)
class _SizeNames:
    engine_id: str

    @property
    def width(self) -> str:
        return forms.param_name(self.engine_id, "width")

    @property
    def height(self) -> str:
        return forms.param_name(self.engine_id, "height")

    @property
    def preset(self) -> str:
        return f"{self.engine_id}.preset"

    @property
    def keep_aspect(self) -> str:
        return f"{self.engine_id}.keep_aspect"


def _preset_size(info: EngineInfo, preset: object, keep: bool, image_size: tuple[int, int] | None) -> tuple[int, int]:
    shape = image_size if keep else None
    if preset == AUTO or not isinstance(preset, int):
        return sizing.default_size(info, shape)
    return sizing.long_side_size(info, shape, preset)


def _locked(info: EngineInfo, image_size: tuple[int, int], live: tuple[int, int],
            last: tuple[tuple[int, int], bool]) -> tuple[int, int]:
    """A custom size with the aspect locked: the side just typed leads. Ticking the box reshapes
    the size to the image at its width; an untouched size stays as it is."""
    (width, height), was_kept = last
    if live[0] != width or not was_kept:
        return sizing.follow(info, image_size, width=live[0])
    if live[1] != height:
        return sizing.follow(info, image_size, height=live[1])
    return live


def _preset_label(info: EngineInfo, option: object, keep: bool, image_size: tuple[int, int] | None) -> str:
    # Each label names the size it gives now, so the label and the fields below always agree.
    if option == CUSTOM:
        return "Custom (width × height below)"
    width, height = _preset_size(info, option, keep, image_size)
    if option == AUTO:
        name = "Image shape, model's size" if keep and image_size else "Model default"
        return f"{name} · {width}×{height}"
    return f"{option} px long side · {width}×{height}"
