"""Variants on the Generate page: queue one run per value of one or two parameters (a sweep), with
everything else — the seed included — as the form says, so the videos differ only in what was varied.
The sweep opens in the Compare page as a grid that fills in as its runs finish."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from studio.engines.base import InputError, ParamSpec
from studio.engines.diffusion.run_options import LORA_STRENGTH, takes_run_options
from studio.post.steps import SWEEP_SPECS
from studio.services import Services
from studio.sweeps import SEED_SPEC, Axis, param_label, parse_values
from studio.ui import format as fmt
from studio.ui.inputs import PickedImage
from studio.ui.text import plain

NONE = "—"


def variants_section(svc: Services, engine_id: str, request: Mapping[str, Any], picked: PickedImage | None,
                     end_image: Any = None, end_problem: str | None = None) -> None:
    """The "Variants (sweep)" expander. `request` is the Generate form's request: the sweep's base;
    `end_problem` says why the end image chosen cannot be used (nothing is queued then)."""
    with st.expander("Variants (sweep)", icon=":material/grid_view:"):
        st.caption("Queue one run per value (or per combination of two parameters' values), then watch them "
                   "side by side. Type a list like `0.5, 1, 2` or a range like `6-12 (+3)`.")
        options = sweep_options(svc, engine_id)
        axes, error = _axis_inputs(options, engine_id)
        if error is not None:
            st.error(plain(error.message), icon=":material/rule:")
            _last_sweep_link()
            return
        if not axes:
            _last_sweep_link()
            return
        try:
            planned = svc.queue.plan_sweep(engine_id, request, axes)
        except InputError as exc:
            # The first combination that cannot run, named: e.g. "Motion amount must be between 0.1 and 3".
            st.error(plain(exc.message), icon=":material/rule:")
            _last_sweep_link()
            return
        count = len(planned)
        summary = " × ".join(f"{options[a.param].label}: {len(a.values)}" for a in axes)
        typical = svc.history.typical_seconds(engine_id)
        eta = f" · usually about {fmt.duration(typical * count)} in all" if typical else ""
        st.markdown(f"**{count} run{'s' if count != 1 else ''}** ({summary}){eta}")

        blocked = picked is None
        if picked is None:
            st.info("Choose an input image above first.", icon=":material/image:")
        if end_problem is not None:
            st.info("The end image chosen cannot be used: choose another, or set End image to None.",
                    icon=":material/broken_image:")
            blocked = True
        missing = sorted({r.engine for r in planned if not svc.weights_status(r.engine).ready})
        if missing:
            st.warning(f"Not installed: {plain(', '.join(missing))}. Install their weights (see Settings) or leave them out.")
            blocked = True
        threshold = svc.settings().sweep_confirm_above
        if count > threshold:
            confirmed = st.checkbox(f"Yes, queue all {count} runs", key=f"variants-confirm-{count}",
                                    help=f"Sweeps of more than {threshold} runs ask first (Settings → "
                                         "Sweep confirmation threshold).")
            blocked = blocked or not confirmed
        if st.button(f"Queue {count} run{'s' if count != 1 else ''}", key="variants-queue", icon=":material/grid_view:",
                     disabled=blocked,
                     help="Queue every combination as one sweep; they run one after another."):
            _queue(svc, engine_id, request, axes, picked, end_image)
        _last_sweep_link()


def sweep_options(svc: Services, engine_id: str) -> dict[str, ParamSpec]:
    """What a sweep of this engine can vary: its sweepable parameters, the seed and the engine, each
    labelled as studio.sweeps.param_label names it."""
    info = svc.registry.get(engine_id).info
    options = {spec.name: spec for spec in info.params if spec.sweepable}
    options["seed"] = SEED_SPEC
    if takes_run_options(svc.registry.get(engine_id)):
        options[LORA_STRENGTH.name] = LORA_STRENGTH  # the first LoRA's; the plan says when there is none
    options.update({spec.name: spec for spec in SWEEP_SPECS})  # post-processing after each run
    engines = tuple(i.id for i in svc.registry.infos(include_developer=svc.settings().developer_mode))
    options["engine"] = ParamSpec("engine", param_label(info, "engine"), "choice", engine_id, "", choices=engines)
    return options


def _axis_inputs(options: dict[str, ParamSpec], engine_id: str) -> tuple[list[Axis], InputError | None]:
    names = list(options)
    first_default = "guidance" if "guidance" in options else names[0]
    axes: list[Axis] = []
    error: InputError | None = None
    for slot in (1, 2):
        left, right = st.columns([2, 3])
        if slot == 1:
            choices, index, key = names, names.index(first_default), f"variants-param-1-{engine_id}"
        else:  # shown once the first has values; its key follows the first so its options always match
            choices, index = [NONE, *(n for n in names if n != axes[0].param)], 0
            key = f"variants-param-2-{engine_id}-{axes[0].param}"
        param = left.selectbox("Vary" if slot == 1 else "and (optional)", choices, index=index,
                               key=key, format_func=lambda n: _label(options, n),
                               help="The parameter whose values differ between the runs." if slot == 1 else
                                    "A second parameter: every combination of both lists is queued.")
        if param == NONE:
            break
        spec = options[param]
        text = right.text_input(f"Values of {spec.label}", key=f"variants-values-{slot}-{engine_id}-{param}",
                                placeholder=_example(spec),
                                help="A list (`6, 9, 12`), a range with a step (`6-12 (+3)`), or both."
                                     + (f" Allowed: {spec.rule}." if spec.rule else ""))
        if not text.strip():
            break
        try:
            axes.append(Axis(param, parse_values(spec, text)))
        except InputError as exc:
            error = error or exc
            break
    return axes, error


def _queue(svc: Services, engine_id: str, request: Mapping[str, Any], axes: list[Axis], picked: PickedImage,
           end_image: Any = None) -> None:
    try:
        run_ids = svc.queue.submit_sweep(engine_id, request, axes, image=picked.image, image_id=picked.image_id,
                                         image_name=picked.name, end_image=end_image)
    except InputError as exc:
        st.error(plain(exc.message), icon=":material/rule:")
        return
    except OSError as exc:
        st.error(f"Could not queue the sweep: {plain(exc)}")
        return
    first = svc.history.get_run(run_ids[0])
    st.session_state["variants_last_sweep"] = (first.sweep_id, len(run_ids))
    st.toast(f"Sweep #{first.sweep_id} queued: {len(run_ids)} runs", icon=":material/grid_view:")


def _last_sweep_link() -> None:
    last = st.session_state.get("variants_last_sweep")
    if last:
        sweep_id, count = last
        st.page_link("pages/compare.py", label=f"Open sweep #{sweep_id} ({count} runs) side by side",
                     icon=":material/compare:", query_params={"sweep": str(sweep_id)})


def _label(options: dict[str, ParamSpec], name: str) -> str:
    if name == NONE:
        return "— nothing else"
    # The label alone: the stored name ("guidance") means nothing to a user, and made it too long.
    return options[name].label


def _example(spec: ParamSpec) -> str:
    if spec.name == "seed":
        return "e.g. 1, 2, 3, 4"
    if spec.choices:
        return "e.g. " + ", ".join(str(c) for c in spec.choices[:3])
    if spec.kind == "float":
        return "e.g. 0.5, 1, 2  or  0.5-2 (+0.5)"
    return "e.g. 16, 24, 32  or  16-32 (+8)"
