"""The model-aware parameter form: widgets built from an engine's ParamSpecs, so each engine shows
only what it supports, with its own defaults, ranges and help."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from studio.engines.base import EngineInfo, InputError, ParamSpec

COLUMNS = 3


def param_key(engine_id: str, name: str) -> str:
    return f"param:{engine_id}:{name}"


def pretty(value: Any) -> str:
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def prefill(info: EngineInfo, params: Mapping[str, Any]) -> None:
    """Put a past run's values into this engine's widgets (before they are drawn)."""
    for spec in info.params:
        if spec.name in params and params[spec.name] is not None:
            st.session_state[param_key(info.id, spec.name)] = params[spec.name]


def param_widgets(info: EngineInfo, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Draw one widget per parameter; returns the values as entered (validation is separate)."""
    specs = [s for s in info.params if s.name not in skip]
    values: dict[str, Any] = {}
    columns = st.columns(COLUMNS)
    for index, spec in enumerate(specs):
        with columns[index % COLUMNS]:
            values[spec.name] = _widget(info.id, spec)
    return values


def _widget(engine_id: str, spec: ParamSpec) -> Any:
    key = param_key(engine_id, spec.name)
    if key not in st.session_state:
        st.session_state[key] = spec.default
    help_text = spec.help + (f"\n\nAllowed: {spec.rule}." if spec.rule else "")
    if spec.kind == "int":
        # No min/max on the widget: an out-of-range value gets the named rule and a one-click fix
        # instead of being clamped silently.
        return st.number_input(spec.label, step=int(spec.step or 1), key=key, help=help_text)
    if spec.kind == "float":
        return st.number_input(spec.label, step=float(spec.step or 0.1), format="%.2f", key=key, help=help_text)
    if spec.kind == "bool":
        return st.checkbox(spec.label, key=key, help=help_text)
    if st.session_state[key] not in spec.choices:
        st.session_state[key] = spec.default
    return st.selectbox(spec.label, options=list(spec.choices), format_func=pretty, key=key, help=help_text)


def show_input_error(error: InputError, engine_id: str, *, key: str) -> None:
    """The rule that was broken, and the nearest valid value as a one-click fix."""
    st.error(error.message, icon=":material/rule:")
    target = param_key(engine_id, error.param)
    if error.suggestion is not None and target in st.session_state:
        st.button(f"Use {pretty(error.suggestion)} for {error.param}", key=key, icon=":material/auto_fix_high:",
                  on_click=_set_state, args=(target, error.suggestion))


def _set_state(key: str, value: Any) -> None:
    st.session_state[key] = value
