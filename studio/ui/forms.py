"""The Generate form's state, and the model-aware parameter widgets built from an engine's
ParamSpecs (each engine shows only what it supports, with its defaults, ranges and help).

Widgets get their starting value from `value=` and keys carrying a generation number. Filling
fields from code (Edit & re-run, a one-click fix, a size preset, a dropped file) stores the values
and bumps the generation of those fields only, so fresh widgets start from them while every other
widget keeps its key (a click on it, made while the page was redrawing, is not lost). Assigning
widget keys in session state instead races with reruns: a run interrupted between the assignment
and the widget loses the value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import streamlit as st

from studio.engines.base import EngineInfo, InputError, ParamSpec
from studio.ui.text import plain

COLUMNS = 3
_STATE = "generate_form"


def _state() -> dict[str, Any]:
    # epoch: bumped when the whole form is replaced; gens: per field, bumped when code fills it.
    return st.session_state.setdefault(_STATE, {"epoch": 0, "gens": {}, "values": {}})


def _key(state: dict[str, Any], name: str) -> str:
    return f"{name}@{state['epoch']}.{state['gens'].get(name, 0)}"


def key(name: str) -> str:
    return _key(_state(), name)


def generation(*names: str) -> tuple[int, ...]:
    """Changes whenever code fills one of these fields (or replaces the form): a field whose value
    changed while its generation stayed the same was typed by the user."""
    state = _state()
    return (state["epoch"], *(state["gens"].get(name, 0) for name in names))


def initial(name: str, default: Any) -> Any:
    return _state()["values"].get(name, default)


def current(name: str, default: Any = None) -> Any:
    """The value a field has now: the live widget's, else the stored one, else the default."""
    return st.session_state.get(_key(_state(), name), initial(name, default))


def fill(values: Mapping[str, Any], *, replace: bool = False) -> None:
    """Set fields from code. The other fields keep their widgets, and so what the user typed,
    unless `replace`, which starts every field afresh."""
    state = _state()
    chosen = _sizes_are_chosen(values)
    if replace:
        state["values"], state["epoch"] = {}, state["epoch"] + 1
    state["values"].update(chosen)
    for name in chosen:
        state["gens"][name] = state["gens"].get(name, 0) + 1


def _sizes_are_chosen(values: Mapping[str, Any]) -> dict[str, Any]:
    """A width or height set from code (Edit & re-run, a restored file, a one-click fix) is a size
    someone chose: its size preset becomes Custom, so the next image does not replace it. The size
    preset itself says which preset it fills, and wins."""
    chosen = dict(values)
    for name in values:
        engine_id, _, field = name.rpartition(".")
        if engine_id and field in ("width", "height"):
            chosen.setdefault(f"{engine_id}.preset", "custom")
    return chosen


def param_name(engine_id: str, name: str) -> str:
    return f"{engine_id}.{name}"


def pretty(value: Any) -> str:
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def engine_values(info: EngineInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """Form field names for a past run's parameters of this engine."""
    return {param_name(info.id, s.name): params[s.name] for s in info.params if params.get(s.name) is not None}


def select(label: str, name: str, options: Sequence[Any], default: Any, **kwargs: Any) -> Any:
    value = initial(name, default)
    index = list(options).index(value) if value in options else (list(options).index(default) if default in options else 0)
    return st.selectbox(label, options, index=index, key=key(name), **kwargs)


def param_widgets(info: EngineInfo, *, skip: Collection[str] = (), only: Collection[str] | None = None) -> dict[str, Any]:
    """One widget per parameter (those in `only`, less those in `skip`, which a section of their own
    draws); returns the values as entered (validation is separate)."""
    values: dict[str, Any] = {}
    columns = st.columns(COLUMNS)
    shown = [spec for spec in info.params if spec.name not in skip and (only is None or spec.name in only)]
    for index, spec in enumerate(shown):
        with columns[index % COLUMNS]:
            values[spec.name] = _widget(info.id, spec)
    return values


def _widget(engine_id: str, spec: ParamSpec) -> Any:
    name = param_name(engine_id, spec.name)
    value = initial(name, spec.default)
    help_text = spec.help + (f"\n\nAllowed: {spec.rule}." if spec.rule else "")
    if spec.kind == "int":
        # No min/max on the widget: an out-of-range value gets the named rule and a one-click fix
        # instead of being clamped silently.
        return st.number_input(spec.label, value=int(value), step=int(spec.step or 1), key=key(name), help=help_text)
    if spec.kind == "float":
        return st.number_input(spec.label, value=float(value), step=float(spec.step or 0.1), format="%.2f",
                               key=key(name), help=help_text)
    if spec.kind == "bool":
        return st.checkbox(spec.label, value=bool(value), key=key(name), help=help_text)
    return select(spec.label, name, list(spec.choices), spec.default, format_func=pretty, help=help_text)


def show_input_error(error: InputError, engine_id: str, *, button_key: str) -> None:
    """The rule that was broken, and the nearest valid value as a one-click fix."""
    st.error(plain(error.message), icon=":material/rule:")
    if error.suggestion is not None and error.param not in ("engine", "prompt", "image"):
        target = error.param if error.param in ("seed", "memory_mode") else param_name(engine_id, error.param)
        st.button(f"Use {pretty(error.suggestion)} for {error.param}", key=button_key, icon=":material/auto_fix_high:",
                  on_click=fill, args=({target: error.suggestion},))
