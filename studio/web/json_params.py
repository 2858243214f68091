"""The API's `params` are JSON, which has types of its own: a number sent as text ("48"), a switch
sent as a string ("yes") or as 1, a prompt sent as a number are refused here, naming the field,
instead of being converted the way the command line's `--param name=text` values are (there, every
value is text and conversion is the point)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.engines.base import EngineInfo, InputError

_TEXT_FIELDS = ("prompt", "negative_prompt")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"a string ({value[:20]!r})" if len(value) <= 20 else "a string"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "null"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return _is_number(value) and (isinstance(value, int) or value.is_integer())


def check_types(info: EngineInfo, params: Mapping[str, Any]) -> None:
    """Raise InputError for the first parameter whose JSON type cannot be the parameter's. Null
    (and, as on the form, an empty string) means "the default"; values are checked later."""
    expected: dict[str, tuple[str, Any]] = {
        spec.name: {
            "int": ("a whole number", _is_whole),
            "float": ("a number", _is_number),
            "bool": ("true or false", lambda v: isinstance(v, bool)),
            "choice": ("one of " + ", ".join(map(str, spec.choices)),
                       lambda v: isinstance(v, str) or _is_number(v)),
        }[spec.kind] for spec in info.params
    }
    expected.update({name: ("text", lambda v: isinstance(v, str)) for name in _TEXT_FIELDS})
    expected["seed"] = ("a whole number", _is_whole)
    for name, value in params.items():
        if name not in expected or value is None or value == "":
            continue  # unknown names and the run options (LoRAs, speed) have their own checks
        words, fits = expected[name]
        if not fits(value):
            raise InputError(name, f"`{name}` must be {words} in JSON; got {_json_type(value)}.")
