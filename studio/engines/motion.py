"""The built-in engine: camera moves over a still image (zoom, pan, drift, Ken Burns).

It needs no weights and no GPU, so a fresh install can make a video in seconds. Each frame is a
window onto the source picture — a centre and a zoom, computed in floating point — resampled to the
output size (bicubic; see Speed for how). Because the window's corners are real numbers, the
motion is sub-pixel smooth (no one-pixel stepping), and because the window never leaves the picture
(zoom is at least 1, the centre is clamped) no black edge ever shows.

Speed: the picture is enlarged once per clip and each frame is a bilinear sample of the enlarged
copy (studio.media.resample): the bicubic frames, to within about 0.2 levels, at well under half
the cost of resampling each window (per 1280x720 frame: ~2.8 ms, against ~7.3 ms with Pillow's
resize of the window, ~15 ms with OpenCV's bicubic warp). Frames render in parallel threads
(OpenCV and Pillow release the GIL); `iter_frames` streams them so an encoder can start before the
last is drawn, and streams them in the encoder's own 4:2:0 format (studio.media.yuv): three planes
resampled instead of an RGB frame, and nothing for ffmpeg to convert.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL
from PIL import Image

from studio.engines import params as shared
from studio.engines.base import (
    Cancelled,
    EngineInfo,
    GenerationResult,
    InputError,
    ParamSpec,
    RuntimeOptions,
    StepCallback,
    WeightsStatus,
    validate_params,
)
from studio.engines.request import GenerationRequest
from studio.media.images import fit_image
from studio.media.resample import DESCRIPTION as RESAMPLER
from studio.media.resample import Magnifier, cross_fade
from studio.media.yuv import YuvFrame, source_planes

MOTIONS = ("zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "drift", "ken_burns", "framing")
EASINGS = ("ease_in_out", "linear", "ease_out")

# How far each move goes at strength 1. Zoom amounts are the extra magnification at the end of the
# clip; pans and drift magnify a little so there is picture beyond the frame to move into.
ZOOM_PER_STRENGTH = 0.35
PAN_ZOOM_PER_STRENGTH = 0.2
DRIFT_ZOOM_PER_STRENGTH = 0.15
KEN_BURNS_ZOOM_PER_STRENGTH = 0.3

# Framing boxes (the "framing" move): the smallest box, as a fraction of the picture's width, so the
# picture is never enlarged more than 10x.
MIN_BOX = 0.1
BOX_NAMES = ("start_x", "start_y", "start_width", "end_x", "end_y", "end_width")

# Rendering threads: beyond 8 the per-frame work is too small for more to help.
_MAX_THREADS = 8
# How far below the calling thread's priority (in nice steps) the rendering threads run (see _behind_the_encoder).
RENDER_NICENESS = 10

PARAMS: tuple[ParamSpec, ...] = (
    *shared.size(512, 512, multiple_of=2, maximum=1920),
    shared.frames(48, minimum=2, maximum=240),
    shared.fps(24),
    ParamSpec(
        "motion", "Camera move", "choice", "zoom_in",
        "The camera move: zoom in or out on the centre, pan across, drift (a slow curved glide whose "
        "direction the seed picks), Ken Burns (zoom in while sliding towards a corner the seed picks), "
        "or framing (from the start box to the end box you set on the picture).",
        choices=MOTIONS,
    ),
    ParamSpec(
        # Named "guidance" like the diffusion engines' strength-of-request knob, so a guidance sweep
        # or comparison means "how strongly the request is applied" whatever the engine.
        "guidance", "Motion amount", "float", 1.0,
        "How far the camera moves. 1 is a gentle move (a 35% zoom, or a pan across about a sixth of "
        "the picture); 3 is dramatic. Large values enlarge the picture more, which softens it.",
        minimum=0.1, maximum=3.0, step=0.1,
    ),
    ParamSpec(
        "easing", "Easing", "choice", "ease_in_out",
        "How the move speeds up and slows down: ease_in_out starts and ends gently, linear moves at a "
        "constant speed (good for loops and cuts), ease_out starts fast and settles.",
        choices=EASINGS,
    ),
    shared.FIT,
    ParamSpec(
        "loop", "Seamless loop", "bool", False,
        "Go there and come back: the video ends where it started, so it repeats without a visible seam. "
        "With an end image, the picture dissolves to it and back.",
        sweepable=False,
    ),
    *(ParamSpec(
        f"{end}_{name}", f"{end.title()} box {label}", "float", default,
        f"The {'first' if end == 'start' else 'last'} frame's view with the framing move: the box's {help_text}, "
        "as a fraction of the picture (fitted to the output size). The box keeps the output's shape, so its "
        "height follows from its width.",
        minimum=MIN_BOX if name == "width" else 0.0, maximum=1.0, step=0.01,
    ) for end, defaults in (("start", (0.0, 0.0, 1.0)), ("end", (0.25, 0.25, 0.5)))
      for (name, label, help_text), default in zip(
          (("x", "left", "left edge"), ("y", "top", "top edge"), ("width", "width", "width")), defaults, strict=True)),
)

INFO = EngineInfo(
    id="motion",
    label="Camera motion (built-in)",
    description=(
        "Animates the image itself with a smooth virtual camera move: zoom, pan, drift or Ken Burns. "
        "Runs on the CPU in seconds and needs no model download. The prompt is not used to make the "
        "video; it is only recorded with the run, so you can note what you wanted."
    ),
    family="motion",
    params=PARAMS,
    needs_weights=False,
    model_id=None,
    supports_prompt=True,
    supports_negative_prompt=False,
    recommended_fps=24,
    supports_last_image=True,  # the move runs over both pictures while one dissolves into the other
)


@dataclass(frozen=True)
class Window:
    """The part of the source shown in one frame: centre (cx, cy) as fractions of the picture's
    width and height, and zoom (1 = the whole picture)."""

    cx: float
    cy: float
    zoom: float

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in source pixels, clamped inside the picture."""
        half_w, half_h = width / (2 * self.zoom), height / (2 * self.zoom)
        cx = min(max(self.cx * width, half_w), width - half_w)
        cy = min(max(self.cy * height, half_h), height - half_h)
        return (max(0.0, cx - half_w), max(0.0, cy - half_h), min(float(width), cx + half_w), min(float(height), cy + half_h))


def ease(easing: str, t: float) -> float:
    if easing == "linear":
        return t
    if easing == "ease_out":
        return 1.0 - (1.0 - t) ** 3
    if easing == "ease_in_out":
        return 0.5 - 0.5 * math.cos(math.pi * t)
    raise ValueError(f"unknown easing {easing!r}")


@dataclass(frozen=True)
class Heading:
    """The seed's say in a path: where a drift starts on its circle, which way round it goes, and
    which way a Ken Burns move slides. Other moves ignore it."""

    phase: float
    direction: float
    slide_angle: float

    @classmethod
    def from_seed(cls, seed: int | None) -> Heading:
        rng = random.Random(0 if seed is None else seed)
        return cls(
            phase=rng.uniform(0.0, 2.0 * math.pi),
            direction=rng.choice((-1.0, 1.0)),
            # towards one of the four diagonals, give or take a little
            slide_angle=rng.choice((0.25, 0.75, 1.25, 1.75)) * math.pi + rng.uniform(-0.2, 0.2),
        )


@dataclass(frozen=True)
class Box:
    """A framing box: left, top and width as fractions of the picture; its height is the same
    fraction of the picture's height (the picture is already at the output's shape)."""

    x: float
    y: float
    width: float

    def window(self) -> Window:
        return Window(self.x + self.width / 2, self.y + self.width / 2, 1.0 / self.width)


def boxes_of(params: Mapping[str, Any]) -> tuple[Box, Box]:
    """The start and end framing boxes a request holds."""
    return (Box(params["start_x"], params["start_y"], params["start_width"]),
            Box(params["end_x"], params["end_y"], params["end_width"]))


def progress(frames: int, easing: str, loop: bool = False) -> list[float]:
    """How far along the move each frame is, eased, 0 at the first frame. Without a loop the last
    frame is at 1. A loop goes out and back over one period of `frames` frames: the frame after the
    last would be the first again, so the step from the last frame to the first is an ordinary one."""
    if frames < 2:
        return [0.0] * frames
    if loop:
        return [ease(easing, 1.0 - abs(2.0 * index / frames - 1.0)) for index in range(frames)]
    return [ease(easing, index / (frames - 1)) for index in range(frames)]


def camera_path(motion: str, frames: int, strength: float, easing: str, seed: int | None, *,
                loop: bool = False, boxes: tuple[Box, Box] | None = None) -> list[Window]:
    """One Window per frame. Pure and deterministic: the same arguments give the same path."""
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}")
    if motion == "framing" and boxes is None:
        raise ValueError("the framing move needs its start and end boxes")
    heading = Heading.from_seed(seed)
    return [_window(motion, e, strength, heading, boxes) for e in progress(frames, easing, loop)]


def _window(motion: str, e: float, strength: float, heading: Heading, boxes: tuple[Box, Box] | None = None) -> Window:
    """The window at eased progress e in [0, 1]."""
    if motion == "framing":
        # The box's size changes geometrically (a constant apparent zoom speed, as for zoom_in) and
        # its centre in a straight line; a box between two boxes inside the picture stays inside.
        start, end = boxes
        width = start.width ** (1.0 - e) * end.width ** e
        cx = (1.0 - e) * (start.x + start.width / 2) + e * (end.x + end.width / 2)
        cy = (1.0 - e) * (start.y + start.width / 2) + e * (end.y + end.width / 2)
        return Window(cx, cy, 1.0 / width)
    if motion in ("zoom_in", "zoom_out"):
        end = 1.0 + ZOOM_PER_STRENGTH * strength
        # Interpolating the zoom geometrically makes the apparent speed constant: each frame grows
        # the picture by the same ratio rather than the same amount.
        return Window(0.5, 0.5, end ** (e if motion == "zoom_in" else 1.0 - e))
    if motion.startswith("pan_"):
        zoom = 1.0 + PAN_ZOOM_PER_STRENGTH * strength
        margin = 0.5 * (1.0 - 1.0 / zoom)  # how far the centre may move from the middle, as a fraction
        travel = margin * (1.0 - 2.0 * e)  # from +margin to -margin
        cx, cy = {
            "pan_left": (0.5 + travel, 0.5),
            "pan_right": (0.5 - travel, 0.5),
            "pan_up": (0.5, 0.5 + travel),
            "pan_down": (0.5, 0.5 - travel),
        }[motion]
        return Window(cx, cy, zoom)
    if motion == "drift":
        # Half an orbit around the middle: a slow curved glide.
        zoom = 1.0 + DRIFT_ZOOM_PER_STRENGTH * strength
        radius = 0.9 * 0.5 * (1.0 - 1.0 / zoom)
        angle = heading.phase + heading.direction * math.pi * e
        return Window(0.5 + radius * math.cos(angle), 0.5 + radius * math.sin(angle), zoom)
    # ken_burns: zoom in while sliding off-centre. The offset stays within the room the current zoom
    # leaves, because 1 - end**-e is concave in e and so always >= e times its final value.
    end = 1.0 + KEN_BURNS_ZOOM_PER_STRENGTH * strength
    reach = 0.8 * 0.5 * (1.0 - 1.0 / end) * e
    return Window(0.5 + reach * math.cos(heading.slide_angle), 0.5 + reach * math.sin(heading.slide_angle), end ** e)


class MotionEngine:
    info = INFO

    def weights_status(self) -> WeightsStatus:
        return WeightsStatus("ready", "Built in: nothing to download.")

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        clean = validate_params(self.info, params)
        if clean["motion"] == "framing":
            check_boxes(clean)
        return clean

    def generate(
        self,
        image: Image.Image,
        request: GenerationRequest,
        runtime: RuntimeOptions,
        *,
        on_step: StepCallback,
        cancelled: Callable[[], bool],
        end_image: Image.Image | None = None,
    ) -> GenerationResult:
        clean = request.params
        started = time.perf_counter()
        frames = np.empty((clean["frames"], clean["height"], clean["width"], 3), dtype=np.uint8)
        for index, frame in enumerate(self.iter_frames(image, request, on_step=on_step, cancelled=cancelled,
                                                       end_image=end_image, planes=False)):
            frames[index] = frame
        return GenerationResult(frames=frames, load_seconds=0.0, infer_seconds=time.perf_counter() - started,
                                manifest=self.manifest(clean))

    def iter_frames(
        self,
        image: Image.Image,
        request: GenerationRequest,
        *,
        on_step: StepCallback,
        cancelled: Callable[[], bool],
        end_image: Image.Image | None = None,
        planes: bool = True,
    ) -> Iterator[Any]:
        """Yield the frames in order as they are rendered, a few frames ahead on worker threads.

        `generate` collects them into one RGB array (the Engine contract, `planes=False`); a caller
        may instead pass this iterator straight to `write_mp4`, so that rendering overlaps encoding
        and only a handful of frames are ever in memory. Those frames are 4:2:0 YuvFrames at even
        sizes (what the encoder takes as it is; `as_rgb` gives their RGB), RGB arrays otherwise.
        """
        clean = request.params
        width, height, count = clean["width"], clean["height"], clean["frames"]

        # 1. The source (and end image) at the output size (the worker normally hands them over fitted).
        source = _at_size(image, width, height, clean["fit"])
        end = _at_size(end_image, width, height, clean["fit"]) if end_image is not None else None

        # 2. Where the camera looks in every frame, and how far the end image has dissolved in.
        loop = bool(clean.get("loop", False))
        framing = boxes_of(clean) if clean["motion"] == "framing" else None
        windows = camera_path(clean["motion"], count, clean["guidance"], clean["easing"], clean["seed"],
                              loop=loop, boxes=framing)
        boxes = [w.box(width, height) for w in windows]
        dissolve = progress(count, clean["easing"], loop)

        # 3. The pictures to resample: RGB, or (for the worker's encoder, at even sizes) the three
        #    planes of a 4:2:0 frame (chroma at half the size): half the pixels of an RGB frame,
        #    and no colour conversion left for ffmpeg. Each is enlarged once, on the rendering
        #    threads (studio.media.resample), so that a frame is a cheap sample of the enlarged copy.
        planar = planes and width % 2 == 0 and height % 2 == 0
        pictures = [source] if end is None else [source, end]
        if planar:
            pictures = [plane for picture in pictures for plane in source_planes(picture)]
        scales = (1, 2, 2) if planar else (1,)
        threads = _thread_count()

        def render(layers: list[tuple[Magnifier, int]], end_layers: list[Magnifier], index: int) -> Any:
            out: list[np.ndarray] = []
            for layer, (picture, scale) in enumerate(layers):
                size = (width // scale, height // scale)
                box = tuple(edge / scale for edge in boxes[index])
                view = picture.view(box, size)
                if end_layers and dissolve[index] > 0.0:
                    # The same view of both pictures, cross-faded along the move: the last frame is
                    # the end image's view exactly.
                    view = cross_fade(view, end_layers[layer].view(box, size), dissolve[index])
                out.append(view)
            return YuvFrame(*out) if planar else out[0]

        # 4. Render ahead on threads, hand out in order; check for cancel after every frame.
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="motion",
                                initializer=_behind_the_encoder) as pool:
            magnified = list(pool.map(Magnifier, pictures))
            layers = list(zip(magnified[:len(scales)], scales, strict=True))
            end_layers = magnified[len(scales):]
            ahead: deque[Future[np.ndarray]] = deque()
            submitted = 0
            try:
                for index in range(count):
                    while submitted < count and len(ahead) < 2 * threads:
                        ahead.append(pool.submit(render, layers, end_layers, submitted))
                        submitted += 1
                    frame = ahead.popleft().result()
                    if cancelled():
                        raise Cancelled(f"Canceled after frame {index + 1} of {count}.")
                    on_step(index + 1, count)
                    yield frame
            finally:  # also runs when the consumer stops early (an encode error, a cancel)
                for pending in ahead:
                    pending.cancel()

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """What made the frames, recorded with the run."""
        return {
            "engine": "motion",
            "motion": params["motion"],
            "guidance": params["guidance"],
            "easing": params["easing"],
            "loop": bool(params.get("loop", False)),
            "end_image": bool(params.get("end_image")),
            **({"boxes": [dataclasses.asdict(b) for b in boxes_of(params)]} if params["motion"] == "framing" else {}),
            "seed": 0 if params.get("seed") is None else params["seed"],
            "resample": RESAMPLER,
            "device": "cpu",
            "threads": _thread_count(),
            "pillow": PIL.__version__,
            "numpy": np.__version__,
        }

    def release(self) -> None:
        """Nothing is held between runs."""


def check_boxes(params: Mapping[str, Any]) -> None:
    """Each framing box lies inside the picture; the error names the edge to move and where to."""
    for end in ("start", "end"):
        size = params[f"{end}_width"]
        for axis in ("x", "y"):
            name, value = f"{end}_{axis}", params[f"{end}_{axis}"]
            if value + size > 1.0 + 1e-9:
                nearest = round(1.0 - size, 4)
                raise InputError(name, f"The {end} box must lie inside the picture: {'left' if axis == 'x' else 'top'} "
                                       f"{value:g} plus width {size:g} is past the {'right' if axis == 'x' else 'bottom'} "
                                       f"edge. Nearest valid value: {nearest:g}.", nearest)


def _at_size(image: Image.Image, width: int, height: int, fit: str) -> Image.Image:
    picture = image if image.mode == "RGB" else image.convert("RGB")
    if picture.size != (width, height):
        picture = fit_image(picture, width, height, fit)
    picture.load()
    return picture


def _behind_the_encoder() -> None:
    """Lower this rendering thread's priority (Linux: per thread; elsewhere nothing happens).

    The encoder is the slow stage: a frame rendered ahead of it only waits in the pipe, while the
    CPU it took is CPU the encoder lacked, and the frames it then holds back are the wait after the
    last frame. At a lower priority rendering still keeps the encoder fed (it works a few frames
    ahead) but gives way where both want a core. bench/motion_job.py --reps 7 on 2 cores, three
    alternating rounds: after the last frame 0.225-0.253 s at equal priority, 0.212-0.223 s at
    RENDER_NICENESS; the whole job 0.468-0.532 s and 0.457-0.472 s."""
    try:
        thread = threading.get_native_id()  # a new thread starts at its creator's priority
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + RENDER_NICENESS))
    except (AttributeError, OSError):  # no setpriority (Windows), or no per-thread priorities (macOS)
        pass


def _thread_count() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(_MAX_THREADS, available))
