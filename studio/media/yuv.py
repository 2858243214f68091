"""Frames made in the encoder's own colour format: planar YUV 4:2:0, BT.709, limited range.

Every MP4 the studio writes is H.264 yuv420p tagged BT.709 limited range (studio.media.encode).
An engine that hands over RGB frames has ffmpeg convert each one (a full-frame colour conversion
and chroma subsampling in the encoder's process). The camera-motion engine instead converts its
source picture once and resamples the three planes of every frame itself: the luma at the output
size and the two chroma planes at half of it, about half the pixels of an RGB frame, with no
conversion left for ffmpeg to do and half the bytes through the pipe.

Resampling commutes with the colour conversion (both are linear; only rounding differs), so the
video is the one the RGB path makes, to within a level of rounding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from studio.media.opencv import cv2_single_threaded

# BT.709 luma weights, and the limited ("tv") range: luma 16..235, chroma 16..240 around 128.
KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
_Y_SCALE, _C_SCALE = 219.0 / 255.0, 224.0 / 255.0


@dataclass(frozen=True)
class YuvFrame:
    """One frame as its three planes: `y` (H, W), `u` and `v` (H/2, W/2), uint8. H and W are even."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __post_init__(self) -> None:
        height, width = self.y.shape
        if height % 2 or width % 2 or self.u.shape != (height // 2, width // 2) or self.v.shape != self.u.shape:
            raise ValueError(f"A 4:2:0 frame needs even sides and half-size chroma; got {self.y.shape}, "
                             f"{self.u.shape}, {self.v.shape}.")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape of the RGB frame it stands for, (H, W, 3), as an RGB array's."""
        height, width = self.y.shape
        return height, width, 3

    def planes(self) -> Iterable[memoryview]:
        """The bytes of the frame as ffmpeg's rawvideo yuv420p reads them: Y, then U, then V."""
        for plane in (self.y, self.u, self.v):
            yield memoryview(np.ascontiguousarray(plane)).cast("B")

    def grey(self) -> np.ndarray:
        """(H, W) uint8 full-range luminance: the luma plane stretched from 16..235 to 0..255 (a
        table lookup: measured 0.15 ms on a 720p frame, against 3.5 ms for the arithmetic)."""
        return cv2_single_threaded().LUT(self.y, _FULL_RANGE)

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB, each chroma sample spread over its 2x2 pixels (a poster, a preview)."""
        y = (self.y.astype(np.float32) - 16.0) / _Y_SCALE
        u = _upsample(self.u.astype(np.float32) - 128.0) / _C_SCALE
        v = _upsample(self.v.astype(np.float32) - 128.0) / _C_SCALE
        r = y + 2.0 * (1.0 - KR) * v
        b = y + 2.0 * (1.0 - KB) * u
        g = (y - KR * r - KB * b) / KG
        return np.clip(np.stack((r, g, b), axis=-1) + 0.5, 0, 255).astype(np.uint8)


_FULL_RANGE = np.clip((np.arange(256, dtype=np.float32) - 16.0) / _Y_SCALE + 0.5, 0, 255).astype(np.uint8)


# RGB (0..255) to limited-range BT.709 Y'CbCr: rows Y, U (Cb), V (Cr); the last column is added.
_RGB_TO_YUV = np.array([
    [_Y_SCALE * KR, _Y_SCALE * KG, _Y_SCALE * KB, 16.0],
    [-_C_SCALE * KR / (2.0 * (1.0 - KB)), -_C_SCALE * KG / (2.0 * (1.0 - KB)), _C_SCALE / 2.0, 128.0],
    [_C_SCALE / 2.0, -_C_SCALE * KG / (2.0 * (1.0 - KR)), -_C_SCALE * KB / (2.0 * (1.0 - KR)), 128.0],
], dtype=np.float32)


def source_planes(picture: Image.Image) -> tuple[Image.Image, Image.Image, Image.Image]:
    """An RGB picture as three 8-bit planes to resample: luma at its size, chroma at half its size
    (each chroma sample the mean of its 2x2 pixels, as a 4:2:0 frame of this picture would have).
    Computed in floating point and rounded once (OpenCV: 10 ms for a 1280x720 picture, where the
    same arithmetic in numpy took 36 ms before the first frame of every clip)."""
    if picture.width % 2 or picture.height % 2:
        raise ValueError(f"A 4:2:0 picture needs even sides; got {picture.width}x{picture.height}.")
    cv2 = cv2_single_threaded()
    yuv = cv2.transform(np.asarray(picture.convert("RGB"), dtype=np.float32), _RGB_TO_YUV)
    # A 2x2 area average is exactly the mean of each 2x2 block.
    half = cv2.resize(yuv, (picture.width // 2, picture.height // 2), interpolation=cv2.INTER_AREA)
    return (_plane(yuv[..., 0]), _plane(half[..., 1]), _plane(half[..., 2]))


def as_rgb(frame: Any) -> np.ndarray:
    """An RGB array of a frame, whichever form it came in."""
    return frame.rgb() if isinstance(frame, YuvFrame) else np.asarray(frame)


def _plane(values: np.ndarray) -> Image.Image:
    """Rounded to the nearest level, at most 255 (OpenCV's saturating conversion; it takes the
    absolute value too, a no-op here: limited-range levels are never negative)."""
    return Image.fromarray(cv2_single_threaded().convertScaleAbs(np.ascontiguousarray(values)))


def _upsample(plane: np.ndarray) -> np.ndarray:
    return plane.repeat(2, axis=0).repeat(2, axis=1)
