"""Parameter specs shared by several engines, so every form speaks the same names:
width, height, frames, fps, steps, guidance, fit (the names the runs table promotes to columns)."""

from __future__ import annotations

from studio.engines.base import ParamSpec


def size(default_width: int, default_height: int, *, multiple_of: int, minimum: int = 64, maximum: int = 2048) -> tuple[ParamSpec, ParamSpec]:
    rule = f"Must be a multiple of {multiple_of}." if multiple_of > 1 else ""
    return (
        ParamSpec("width", "Width (px)", "int", default_width, f"Output width in pixels. {rule}".strip(),
                  minimum=minimum, maximum=maximum, step=multiple_of, multiple_of=multiple_of),
        ParamSpec("height", "Height (px)", "int", default_height, f"Output height in pixels. {rule}".strip(),
                  minimum=minimum, maximum=maximum, step=multiple_of, multiple_of=multiple_of),
    )


def frames(default: int, *, minimum: int = 2, maximum: int = 240, congruent: tuple[int, int] | None = None) -> ParamSpec:
    extra = f" This model needs {congruent[0]}k+{congruent[1]} frames." if congruent else ""
    return ParamSpec("frames", "Frames", "int", default, "Number of frames in the video." + extra,
                     minimum=minimum, maximum=maximum, step=congruent[0] if congruent else 1, congruent=congruent)


def fps(default: int, *, maximum: int = 60) -> ParamSpec:
    return ParamSpec("fps", "Frames per second", "int", default,
                     "Playback speed of the saved video. Frames / fps = length in seconds.",
                     minimum=1, maximum=maximum, step=1)


def steps(default: int, *, maximum: int = 150) -> ParamSpec:
    return ParamSpec("steps", "Steps", "int", default,
                     "Denoising steps. More is slower and usually cleaner; time grows linearly.",
                     minimum=1, maximum=maximum, step=1)


def guidance(default: float, *, maximum: float = 20.0) -> ParamSpec:
    return ParamSpec("guidance", "Guidance scale", "float", default,
                     "How strongly the prompt steers the video. Higher follows the prompt more closely, at the cost of artefacts.",
                     minimum=0.0, maximum=maximum, step=0.5)


FIT = ParamSpec("fit", "Fit image", "choice", "crop",
                "How the input image is fitted to the output size: crop fills the frame and trims the edges; pad keeps the whole image and adds bars.",
                choices=("crop", "pad"), sweepable=False)
