"""Windows of a still picture at sub-pixel positions, enlarged to a frame: the camera-motion
engine's resampler.

A camera move shows the same picture in every frame, only through a different window, so the
costly part of a good resampler can be paid once per clip instead of once per frame: the picture
is enlarged three times with a bicubic filter when the move starts, and each frame is then a
bilinear sample of that fine copy (OpenCV's warpAffine, vectorised). Bilinear between samples
three times closer than the picture's own is nearly exact, so the frames are the bicubic frames
this engine made before (Pillow's resize of each window), at well under half the cost.

Measured (bench/resample.py) on the four bundled sample photos' luma, 1280x720 windows at zooms
1.05 to 10, against the same windows resampled bicubic in floating point: 61.4-62.8 dB PSNR (an
RMS difference of about 0.2 levels; Pillow's 8-bit bicubic of each window: 62.4-63.5 dB). Detail
as fine as the pixels themselves (rendered text, one-pixel patterns, noise) comes out a little
softer than bicubic: on text, an RMS difference of 2-3 levels (up to 25 at an edge) and about 3%
less contrast, steady from frame to frame; a factor of 5 would halve that for 25 times the
memory. Per 1280x720 4:2:0 frame (luma and both chroma planes) on one thread: 2.7-2.8 ms against
7.2-7.4 ms. The factor is odd so that a window on whole pixels at zoom 1 (a zoom's first frame,
a framing move's full picture) samples the picture's own pixels exactly.

The enlargement is paid before the first frame: 46 ms of CPU for a 1280x720 picture's three planes
(on the rendering threads, so about 30 ms of waiting); it holds nine times the memory (28 MB for a
1920x1080 picture's planes).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.media.opencv import cv2_single_threaded

FACTOR = 3

# What a run's manifest records as its resampler.
DESCRIPTION = f"bicubic x{FACTOR}, then bilinear"

# warpAffine keeps whole source coordinates in 16-bit integers: a fine copy must stay below this.
_MAX_FINE_SIDE = 32767


class Magnifier:
    """One picture (an 8-bit plane, or RGB), ready to show any window of it at any size."""

    def __init__(self, picture: Image.Image):
        width, height = picture.size
        self.factor = FACTOR if FACTOR * max(width, height) <= _MAX_FINE_SIDE else 1
        # Pillow's bicubic (a = -0.5), the engine's filter before; OpenCV's cubic resize would take
        # a tenth of the time, but its sharper kernel (a = -0.75) overshoots more at hard edges.
        fine = picture.resize((width * self.factor, height * self.factor), Image.Resampling.BICUBIC)
        self._fine = np.asarray(fine)

    def view(self, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
        """The window `box` (left, top, right, bottom in the picture's pixels, real numbers, inside
        the picture) at `size` (width, height): an (H, W) or (H, W, 3) uint8 array."""
        cv2 = cv2_single_threaded()
        left, top, right, bottom = box
        k = self.factor
        step_x, step_y = (right - left) * k / size[0], (bottom - top) * k / size[1]
        # Output pixel x's centre is at left + (x + 0.5) * (right - left) / width in the picture,
        # which is pixel k * that - 0.5 of the fine copy (pixel centres at half-integers).
        matrix = np.array([[step_x, 0.0, k * left + 0.5 * step_x - 0.5],
                           [0.0, step_y, k * top + 0.5 * step_y - 0.5]])
        return cv2.warpAffine(self._fine, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)


def cross_fade(first: np.ndarray, second: np.ndarray, amount: float) -> np.ndarray:
    """`first` faded into `second` by `amount` (0: the first, 1: exactly the second)."""
    if amount >= 1.0:
        return second
    return cv2_single_threaded().addWeighted(first, 1.0 - amount, second, amount, 0.0)
