"""The settings form, generated from the Settings model so a new field needs no UI code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import streamlit as st
from pydantic import ValidationError

from studio.config import Settings
from studio.ui.text import plain


def settings_form(current: Settings, *, engine_ids: list[str],
                  usable: Mapping[str, list[str]] | None = None) -> Settings | None:
    """Draw the form; returns the new Settings when saved and valid, else None. `usable` narrows a
    choice field to the values this machine can use (the speed levers); the saved value stays
    listed so the form never changes it behind the user's back."""
    values: dict[str, Any] = {}
    with st.form("settings"):
        for name, field in Settings.model_fields.items():
            label, help_text, value = field.title or name, field.description, getattr(current, name)
            key = f"setting:{name}"
            choices = get_args(field.annotation)
            if usable and name in usable:
                choices = tuple(c for c in choices if c in usable[name] or c == value)
            if name == "default_engine":
                options = ["", *engine_ids]
                values[name] = st.selectbox(label, options, index=options.index(value) if value in options else 0,
                                            format_func=lambda v: v or "(automatic)", help=help_text, key=key)
            elif choices and all(isinstance(c, str) for c in choices):
                values[name] = st.selectbox(label, choices, index=choices.index(value), help=help_text, key=key)
            elif field.annotation is bool:
                values[name] = st.toggle(label, value=value, help=help_text, key=key)
            elif field.annotation is int:
                values[name] = st.number_input(label, value=value, step=1, help=help_text, key=key)
            elif name in ("model_dirs", "lora_dirs"):
                values[name] = st.text_area(label, value="\n".join(value), help=help_text, key=key)
            else:
                values[name] = st.text_input(label, value=value, help=help_text, key=key)
        submitted = st.form_submit_button("Save settings", type="primary", icon=":material/save:")
    if not submitted:
        return None
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            st.error(plain(_in_words(error)))
        return None


def _in_words(error: Mapping[str, Any]) -> str:
    """A refused setting as the form names it: its label and the rule, not the model's field name
    and pydantic's wording."""
    name = str(error["loc"][0]) if error["loc"] else ""
    field = Settings.model_fields.get(name)
    label = field.title if field is not None and field.title else name.replace("_", " ").capitalize()
    bounds = error.get("ctx") or {}
    if error["type"] in ("greater_than_equal", "greater_than"):
        return f"{label} must be at least {bounds.get('ge', bounds.get('gt'))}."
    if error["type"] in ("less_than_equal", "less_than"):
        return f"{label} must be at most {bounds.get('le', bounds.get('lt'))}."
    return f"{label}: {str(error['msg']).removeprefix('Value error, ')}."
