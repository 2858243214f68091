"""The Generate form's speed choice and LoRA picker (diffusion engines only), and the form values a
past run's LoRAs and speed fill in (Edit & re-run, Restore settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from studio.engines.diffusion.run_options import LORA_STRENGTH, takes_run_options
from studio.engines.diffusion.speed import DEFAULT_SPEED, SPEEDS
from studio.services import Services
from studio.ui import forms
from studio.ui import format as fmt

SPEED_HELP = ("quality: the model as released. fast: reuses the model's work between steps where little changed "
              "(a cache hook; a little less detail). turbo: a step-distillation LoRA that needs only a few steps "
              "(its steps and guidance replace yours); its file must be in a LoRA folder.")


def _strength_field(name: str) -> str:
    return f"lora_strength:{name}"


def _second_field(name: str) -> str:
    return f"lora_second:{name}"


def speed_and_lora_inputs(svc: Services, engine_id: str) -> dict[str, Any]:
    """The speed select and the LoRA picker; returns the request keys they set ({} for engines
    that take neither, such as camera motion)."""
    engine = svc.registry.get(engine_id)
    if not takes_run_options(engine):
        return {}
    family = engine.family  # type: ignore[attr-defined]
    values: dict[str, Any] = {"speed": forms.select("Speed", "speed", list(SPEEDS), DEFAULT_SPEED,
                                                    format_func=forms.pretty, help=SPEED_HELP)}
    if values["speed"] == "turbo" and family.turbo is not None:
        st.caption(f"Turbo runs {family.turbo.steps} steps at guidance {family.turbo.guidance:g}, the values its "
                   "distillation was trained for, whatever Steps and Guidance say.")
    library = svc.loras()
    fitting = {lora.name: lora for lora in library if lora.fits(family.family)}
    if not library:
        st.caption("No LoRAs yet: add a folder of .safetensors LoRAs on the Settings page (LoRA folders).")
        return values
    chosen = st.multiselect(
        "LoRAs", list(fitting), default=[n for n in forms.initial("loras", []) if n in fitting], key=forms.key("loras"),
        format_func=lambda n: f"{n} · {fmt.size(fitting[n].size)}",
        help="LoRAs from your LoRA folders made for this model family, applied in the order picked. Changing them "
             "between runs does not reload the model.")
    entries = []
    for name in chosen:
        left, right = st.columns([2, 3])
        strength = left.number_input(f"Strength · {name}", value=float(forms.initial(_strength_field(name), 1.0)),
                                     step=float(LORA_STRENGTH.step or 0.05), format="%.2f",
                                     key=forms.key(_strength_field(name)), help=f"{LORA_STRENGTH.help} Allowed: {LORA_STRENGTH.rule}.")
        second = False
        if family.experts > 1:
            second = right.checkbox("Also the second expert", value=bool(forms.initial(_second_field(name), True)),
                                    key=forms.key(_second_field(name)),
                                    help="This model has two denoisers (one for the early, noisy steps, one for the late "
                                         "ones). Ticked, the LoRA goes into both.")
        entries.append({"name": name, "strength": strength, "second_expert": second})
    if entries:
        values["loras"] = entries
    others = len(library) - len(fitting)
    if others:
        st.caption(f"{others} LoRA{'s' if others != 1 else ''} in your folders {'are' if others != 1 else 'is'} for "
                   "other model families (see Settings).")
    return values


def form_fill(params: Mapping[str, Any]) -> dict[str, Any]:
    """The form values for a past run's speed and LoRAs (a run without them resets the fields)."""
    speed = params.get("speed")
    values: dict[str, Any] = {"speed": speed if speed in SPEEDS else DEFAULT_SPEED, "loras": []}
    for entry in params.get("loras") or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        values["loras"].append(name)
        strength = entry.get("strength")
        if isinstance(strength, int | float) and not isinstance(strength, bool):
            values[_strength_field(name)] = float(strength)
        values[_second_field(name)] = bool(entry.get("second_expert", False))
    return values
