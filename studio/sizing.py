"""The output size a run gets for an input image: the one rule the Generate page, `launch.py run`
and `launch.py submit` share, so a photo keeps its shape whichever way it is queued.

The size keeps the image's aspect at a pixel budget (by default the engine's own default
width x height, the size its model was made for), on the engine's size grid (its width/height
ParamSpec rules: multiple-of, minimum, maximum). Every size returned passes the engine's
validation. Only an image more extreme than the engine's limits allow (a panorama wider than
maximum / minimum) loses its aspect, and then only as far as the limits force.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from studio.engines.base import EngineInfo, ParamSpec

Size = tuple[int, int]


def has_size(info: EngineInfo) -> bool:
    return info.has_param("width") and info.has_param("height")


def engine_default(info: EngineInfo) -> Size:
    return int(info.param("width").default), int(info.param("height").default)


def default_size(info: EngineInfo, image_size: Size | None, *, budget: int | None = None) -> Size:
    """The size a run of this engine gets for an image of `image_size` when none is given: the
    image's aspect at `budget` pixels (default: the engine's default width x height). Without an
    image it is the engine's default."""
    if image_size is None:
        return engine_default(info)
    width, height = engine_default(info)
    area = budget if budget is not None else width * height
    aspect = _aspect(image_size)
    return _fit(info, math.sqrt(area * aspect), math.sqrt(area / aspect))


def long_side_size(info: EngineInfo, image_size: Size | None, long_side: int) -> Size:
    """The image's aspect with its longer side at `long_side`; square without an image."""
    if image_size is None:
        return _fit(info, long_side, long_side)
    aspect = _aspect(image_size)
    if aspect >= 1:
        return _fit(info, long_side, long_side / aspect)
    return _fit(info, long_side * aspect, long_side)


def with_default_size(info: EngineInfo, params: Mapping[str, Any], image_size: Size) -> dict[str, Any]:
    """`params` with the size a run gets when width/height are not given (`launch.py run` and
    `submit`): both missing is the default size; one given, the other follows the image's aspect.
    A given value that is not a number is left for validation to name."""
    sized = dict(params)
    if not has_size(info):
        return sized
    width, height = (sized.get(n) if sized.get(n) not in (None, "") else None for n in ("width", "height"))
    try:
        if width is None and height is None:
            sized["width"], sized["height"] = default_size(info, image_size)
        elif height is None or width is None:
            typed = {"width": int(width)} if height is None else {"height": int(height)}
            followed = dict(zip(("width", "height"), follow(info, image_size, **typed), strict=True))
            # The side given stays as written unless the model cannot make it (a bucket's other side).
            sized.update({name: value for name, value in followed.items() if typed.get(name) != value})
    except (TypeError, ValueError):
        pass
    return sized


def follow(info: EngineInfo, image_size: Size, *, width: int | None = None, height: int | None = None) -> Size:
    """The size that keeps the image's aspect with the side given (width, else height) as typed,
    the other following (for a locked aspect while typing, and a CLI size with one side given). A
    model that makes only its own sizes gets the whole bucket nearest the image's aspect: a typed
    side that is not that bucket's cannot be kept."""
    aspect = _aspect(image_size)
    if info.size_buckets:
        return _fit(info, aspect, 1.0)
    if width is not None:
        return width, int(info.param("height").nearest(width / aspect))
    if height is None:
        raise ValueError("Give the width or the height to follow.")
    return int(info.param("width").nearest(height * aspect)), height


def _aspect(image_size: Size) -> float:
    image_w, image_h = image_size
    if image_w < 1 or image_h < 1:
        raise ValueError(f"Image size must be positive; got {image_w}x{image_h}.")
    return image_w / image_h


def _fit(info: EngineInfo, width: float, height: float) -> Size:
    """Scale (width, height) as one so both sides sit within the engine's limits (aspect kept),
    then put each on the grid. Scaling first, rather than clamping each side on its own, is what
    keeps a wide image wide when its ideal width is over the maximum. A model that makes only its
    own sizes gets the one nearest in aspect, as its pipeline would pick (the larger on a tie)."""
    if info.size_buckets:
        return info.nearest_bucket(width, height)
    width_spec, height_spec = info.param("width"), info.param("height")
    shrink = min(1.0, _limit(width_spec.maximum, width), _limit(height_spec.maximum, height))
    width, height = width * shrink, height * shrink
    grow = max(1.0, _floor(width_spec.minimum, width), _floor(height_spec.minimum, height))
    width, height = width * grow, height * grow
    return _on_grid(width_spec, width), _on_grid(height_spec, height)


def _limit(maximum: float | None, value: float) -> float:
    return math.inf if maximum is None else maximum / value


def _floor(minimum: float | None, value: float) -> float:
    return 0.0 if minimum is None else minimum / value


def _on_grid(spec: ParamSpec, value: float) -> int:
    # nearest() clamps to the limits and snaps to the multiple-of / congruence rule, exactly as
    # validation checks it, so the result always passes.
    return int(spec.nearest(value))


# A user is told when the video will not show the picture as it is: more than this share of it
# cropped away to fill the frame, or the picture enlarged more than this many times.
NOTED_CROP_SHARE = 0.10
NOTED_ENLARGEMENT = 4.0


def run_framing_notes(out_size: Size, fit: str, image_size: Size | None, end_size: Size | None = None) -> list[str]:
    """framing_notes for a run's input picture and its end image (either may be unknown: None), as
    Generate shows them under the size and `launch.py run` prints them."""
    notes = framing_notes(image_size, out_size, fit) if image_size else []
    return notes + (framing_notes(end_size, out_size, fit, what="The end image") if end_size else [])


def framing_notes(image_size: Size, out_size: Size, fit: str = "crop", *, what: str = "The picture") -> list[str]:
    """Sentences for the person queueing a run, when the output size and fit do not show the
    picture as it is: a share of it cropped away (a panorama beyond the engine's limits, an end
    image of another shape, a size typed by hand), or a small picture blown up. Empty otherwise."""
    (src_w, src_h), (out_w, out_h) = image_size, out_size
    if min(src_w, src_h, out_w, out_h) < 1:
        return []
    cover, contain = max(out_w / src_w, out_h / src_h), min(out_w / src_w, out_h / src_h)
    notes = []
    scale = cover if fit == "crop" else contain
    if fit == "crop":
        kept = (out_w / cover) * (out_h / cover) / (src_w * src_h)
        if 1 - kept > NOTED_CROP_SHARE:
            side = "its sides" if src_w / src_h > out_w / out_h else "its top and bottom"
            notes.append(f"{what} is {src_w}×{src_h} and the video {out_w}×{out_h}: {round(100 * (1 - kept))}% of "
                         f"it ({side}) is cropped away to fill the frame. Fit image “pad” keeps all of it, with bars.")
    if scale > NOTED_ENLARGEMENT:
        notes.append(f"{what} is {src_w}×{src_h}: the video shows it {scale:.0f} times larger, so it will look "
                     "soft. A larger picture, or a smaller size, keeps it sharp.")
    return notes
