"""What every post-processing tool shares: an engine whose input is a finished run's video rather
than an image. Each is registered like any engine (its own id, so the gallery, filters, run page
and Compare treat its runs like any run); the worker hands it the source run's video file.

A post run's parameters hold the source run (`source_run`; with `chain_from`, the extend chain
that ends with it, joined into one video first) and the size, frame count and frame
rate of the video it will make, worked out from the source when it is queued (studio.post.steps),
so the runs table's promoted columns describe the result as for any run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from studio.engines.base import Cancelled, EngineInfo, InputError, ParamSpec, StepCallback, WeightsStatus, validate_params
from studio.engines.request import GenerationRequest
from studio.media.audio import AudioTrack

log = logging.getLogger(__name__)

FAMILY = "post"
MAX_FRAMES = 4000  # a 240-frame source smoothed x4 is 957; ping-pong doubles


@dataclass(frozen=True)
class Clip:
    """What a post step needs to know of its source video to plan its own."""

    width: int
    height: int
    frames: int
    fps: int


def clip_params() -> tuple[ParamSpec, ...]:
    """The source run and the output's shape, the same names every engine uses (the promoted columns)."""
    return (
        ParamSpec("source_run", "Source run", "int", 1, "The run whose video this one is made from.",
                  minimum=1, sweepable=False),
        ParamSpec("chain_from", "Chain from run", "int", 0,
                  "The first run of an extend chain: the chain from it to the source run is joined into one video "
                  "(each seam's shared frame once) and the tool works on that. 0: the source run's video alone.",
                  minimum=0, sweepable=False),
        ParamSpec("width", "Width (px)", "int", 512, "Width of the video made.", minimum=2, maximum=8192, sweepable=False),
        ParamSpec("height", "Height (px)", "int", 512, "Height of the video made.", minimum=2, maximum=8192, sweepable=False),
        ParamSpec("frames", "Frames", "int", 16, "Frames in the video made.", minimum=1, maximum=MAX_FRAMES, sweepable=False),
        ParamSpec("fps", "Frames per second", "int", 8, "Frame rate of the video made.", minimum=1, maximum=240,
                  sweepable=False),
    )


@runtime_checkable
class PostEngine(Protocol):
    """An engine made of a tool: its frames come from a source video, not from an image."""

    info: EngineInfo

    def weights_status(self) -> WeightsStatus: ...

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def plan(self, source: Clip, options: Mapping[str, Any]) -> Clip:
        """The video this tool makes of `source` with these options (its own parameters)."""
        ...

    def iter_post_frames(self, source: Path, request: GenerationRequest, *, on_step: StepCallback,
                         cancelled: Callable[[], bool]) -> Iterator[np.ndarray]: ...

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def sound(self, source: Path, params: Mapping[str, Any]) -> AudioTrack | None:
        """The source's sound track for the video this tool makes, or None."""
        ...

    def release(self) -> None: ...


class Tool:
    """The parts of a PostEngine that are the same for every tool."""

    info: EngineInfo
    # A tool that keeps the video's length (smooth, upscale) keeps its sound; one that changes the
    # order of the frames (ping-pong) makes a silent video.
    keeps_sound = True

    def sound(self, source: Path, params: Mapping[str, Any]) -> AudioTrack | None:
        """The source's sound (LTX-2 makes some), fitted to the video made; None when the source is
        silent or this tool drops sound. Sound that cannot be read is left out, with a warning: the
        video is what was asked for."""
        if not self.keeps_sound:
            return None
        from studio.media.encode import EncodeError, read_audio

        try:
            track = read_audio(source)
        except EncodeError as error:
            log.warning("the sound of %s is left out: %s", source.name, error)
            return None
        return track.fitted(params["frames"] / params["fps"]) if track is not None else None

    def weights_status(self) -> WeightsStatus:
        return WeightsStatus("ready", "Built in: uses the bundled ffmpeg, no weights.")

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # No default source: a post run names the run it is made from, or is refused.
        if params.get("source_run") in (None, ""):
            raise InputError("source_run", f"{self.info.label} makes a new video of a finished run; this one names no "
                                           "source run (one imported without its source cannot be made again).")
        return validate_params(self.info, params)

    def release(self) -> None:
        pass


def source_clip(params: Mapping[str, Any]) -> Clip:
    """A run's video as its stored parameters describe it. The encoder pads odd sides by one pixel."""
    width, height = int(params["width"]), int(params["height"])
    return Clip(width + width % 2, height + height % 2, int(params["frames"]), int(params["fps"]))


def joined_clip(links: list[Mapping[str, Any]]) -> Clip:
    """An extend chain's links (their stored parameters, first first) as the one video they join
    into (studio.post.stitch): the first link's size and frame rate, each seam's frame once."""
    first = source_clip(links[0])
    frames = sum(int(link["frames"]) for link in links) - (len(links) - 1)
    return Clip(first.width, first.height, frames, first.fps)


def counted(frames: Iterator[np.ndarray], total: int, on_step: StepCallback,
            cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
    """Pass frames on, reporting each as a step and stopping at a cancel."""
    done = 0
    for frame in frames:
        if cancelled():
            raise Cancelled
        yield frame
        done += 1
        on_step(min(done, total), total)


def missing_source(path: Path) -> InputError:
    return InputError("source_run", f"The source run's video is missing: {path}. Restore the run from the trash "
                                    "or re-run it, then try again.")
