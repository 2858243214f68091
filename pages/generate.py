"""Generate: pick an image, describe the motion, choose an engine and its parameters, queue it,
watch it run, play the result."""

import streamlit as st

from studio.engines.base import MAX_SEED, InputError
from studio.jobs.queue import DatabaseBusy, SubmitRequest
from studio.requests import MEMORY_MODES
from studio.ui import forms, keyboard, repeat_guard, status
from studio.ui.batch import batch_section
from studio.ui.inputs import apply_edit_prefill, editing_banner, image_picker, restore_from_file, size_preset
from studio.ui.keyframes import (
    BOX_NAMES,
    apply_edit_keyframes,
    apply_extend_prefill,
    apply_restored_end_image,
    end_image_param,
    end_image_picker,
    extending,
    framing_section,
    shape_notes,
)
from studio.ui.loras import speed_and_lora_inputs
from studio.ui.post import after_generating
from studio.ui.runtime import services
from studio.ui.text import plain
from studio.ui.variants import variants_section

svc = services()
settings = svc.settings()
engines = svc.registry.infos(include_developer=settings.developer_mode)
labels = {info.id: info.label for info in engines}

apply_edit_prefill(svc)
apply_edit_keyframes(svc)
apply_extend_prefill(svc)
apply_restored_end_image(svc)

st.title("Generate")
parent_id = editing_banner()
left, right = st.columns([2, 3], gap="large")

with left:
    picked = image_picker(svc)
    continues = extending(picked)
    end = end_image_picker()
    restore_from_file(svc)
    # Progress and the latest results sit under the input, beside the form: in view when Generate
    # is pressed. Filled at the end, once a run this render queued is known.
    results = st.container()

with right:
    engine_id = forms.select(
        "Engine", "engine", list(labels), svc.default_engine_id(),
        format_func=lambda eid: labels[eid] + ("" if svc.weights_status(eid).ready else " — not installed"),
        help="The model that animates the image. The built-in camera-motion engine needs no weights and runs "
             "in seconds on any machine; diffusion models need their weights installed (see Settings).",
    )
    info = svc.form_info(engine_id)  # the engine's parameters, starting from the creator's defaults
    st.caption(plain(info.description))
    if info.makes_sound:
        st.caption(":material/volume_up: This model makes sound too: the video keeps its sound track (AAC).")
    weights = svc.weights_status(engine_id)
    if not weights.ready:
        st.warning(f"{plain(weights.detail)}  \nInstall: {plain(weights.hint)}" if weights.hint else plain(weights.detail),
                   icon=":material/download:")

    request = {}
    if info.supports_prompt:
        request["prompt"] = st.text_area(
            "Prompt", value=forms.initial("prompt", ""), key=forms.key("prompt"), height=90,
            placeholder="a slow push-in on a quiet lake at dawn",
            help="What should happen in the video. Recorded with the run and searchable in the gallery.")
    if info.supports_negative_prompt:
        request["negative_prompt"] = st.text_input(
            "Negative prompt", value=forms.initial("negative_prompt", ""), key=forms.key("negative_prompt"),
            help="What the model should avoid, e.g. 'blurry, distorted, static'.")

    if info.has_param("width") and info.has_param("height"):
        size_preset(info, picked.size if picked else None)
    request.update(forms.param_widgets(info, skip=BOX_NAMES))
    request.update(framing_section(info, picked))
    request.update(end_image_param(end))
    shape_notes(picked, end, request)
    request.update(speed_and_lora_inputs(svc, engine_id))

    seed_left, seed_right = st.columns([1, 2])
    random_seed = seed_left.checkbox("Random seed", value=forms.initial("random_seed", True), key=forms.key("random_seed"),
                                     help="Draw a new seed for each run. The seed used is always recorded, "
                                          "so any run can be reproduced exactly.")
    seed = seed_right.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, value=forms.initial("seed", 0),
                                   key=forms.key("seed"), disabled=random_seed,
                                   help="Same seed + same parameters = same video.")
    request["seed"] = None if random_seed else int(seed)

    if info.needs_weights:
        request["memory_mode"] = forms.select(
            "Memory mode", "memory_mode", MEMORY_MODES, "auto", format_func=forms.pretty,
            help="How much of the model stays on the GPU. 'auto' picks from free VRAM and the model's estimate; "
                 "offload modes trade speed for memory: model_offload moves whole models in and out, group_offload "
                 "streams layers in while the previous ones compute (near 'lowest' memory, much faster), lowest "
                 "moves one layer at a time.")
        st.caption(svc.plan(info.id, request["memory_mode"]))

    request.update(after_generating())

    error, preview = None, None
    try:
        preview = svc.queue.validate(engine_id, request)  # the request Generate queues, checked once
    except InputError as exc:
        error = exc
        forms.show_input_error(exc, engine_id, button_key="fix-param")

    end_problem = end.problem if end is not None else None  # an end image chosen but unusable
    blocked = error is not None or picked is None or not weights.ready or end_problem is not None
    if st.button("Generate", type="primary", icon=":material/play_arrow:", disabled=blocked, width="stretch",
                 help="Queue this run (Ctrl+Enter, or Cmd+Enter on a Mac, from anywhere on the page). You can "
                      "queue more while it runs; they run one after another."):
        pressed = repeat_guard.fingerprint(engine_id, request, picked.image_id, picked.name, picked.size, parent_id,
                                           continues, end.sha256 if end else None)
        if (earlier := repeat_guard.just_queued(pressed)) is not None:
            st.toast(f"Run #{earlier} was queued a moment ago with these settings; press again in a second to "
                     "queue another.", icon=":material/schedule:")
            st.stop()
        try:
            run_id = svc.queue.submit(SubmitRequest(engine=engine_id, params=request, image=picked.image,
                                                    image_id=picked.image_id, image_name=picked.name,
                                                    parent_id=parent_id, validated=preview,
                                                    end_image=end.image if end else None, continues_id=continues))
        except InputError as exc:
            forms.show_input_error(exc, engine_id, button_key="fix-param-submit")
        except OSError as exc:
            st.error(f"Could not queue the run: {plain(exc)}")
        except DatabaseBusy as exc:  # the form keeps its values: the user presses Generate again
            st.warning(plain(exc), icon=":material/hourglass_top:")
        else:
            repeat_guard.note_queued(pressed, run_id)
            st.session_state.setdefault("my_runs", []).append(run_id)
            st.toast(f"Run #{run_id} queued", icon=":material/schedule:")
    if end_problem is not None:
        st.caption(":material/block: Nothing is queued until the end image can be used (see the message "
                   "under End image), or End image is set to None.")
    keyboard.submit_shortcut("Generate")
    variants_section(svc, engine_id, request, picked, end_image=end.image if end else None, end_problem=end_problem)
    batch_section(svc, engine_id, request, ready=error is None and weights.ready and end_problem is None,
                  end_image=end.image if end else None)

with results:  # this session's runs, or after a reload the history's newest ones
    status.session_runs(svc, st.session_state.get("my_runs") or svc.history.recent_run_ids(3))
