"""Keyframes: the optional picture a run's video should end on.

A request names its end image by the sha256 the studio stores images under (studio.storage), in the
flat params as `end_image`; the run row points at the image itself (`end_image_id`). The key is
left out of requests that have none, so runs without one are stored exactly as before. Whether an
engine can end on an image is its EngineInfo's `supports_last_image`; one that cannot is refused
here, before anything is queued.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from studio.engines.base import EngineInfo, InputError

END_IMAGE = "end_image"
KEYFRAME_KEYS = (END_IMAGE,)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_keyframes(info: EngineInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyframe keys of a request, checked: {} without an end image, else {"end_image": sha}."""
    value = params.get(END_IMAGE)
    if value is None or value == "":
        if info.requires_last_image:
            raise InputError(END_IMAGE, f"The {info.label} engine makes a video from the input to an end image: "
                                        "choose an end image too.")
        return {}
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InputError(END_IMAGE, f"The end image must be named by the sha256 of a stored image; got {value!r}.")
    if not info.supports_last_image:
        raise InputError(END_IMAGE, f"The {info.label} engine cannot end on a chosen image: {info.last_image_note} "
                                    "Remove the end image, or choose an engine that takes one "
                                    "(the camera-motion engine does).")
    return {END_IMAGE: value}
