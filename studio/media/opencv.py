"""OpenCV, imported on first use and kept to the calling thread.

OpenCV spreads one call over a pool of its own threads. In the studio its calls are small (a
frame's window, a downscaled frame's optical flow) and run beside the encoder, which wants every
core: the pool's threads only wait on each other there, and they run at normal priority where the
caller's thread was lowered to let the encoder go first (studio.engines.motion). Measured on a busy
two-core machine: measuring a clip a third slower with the pool than without.
"""

from __future__ import annotations

import functools
from types import ModuleType


@functools.cache
def cv2_single_threaded() -> ModuleType:
    """The cv2 module, with its thread pool switched off (for the whole process, once)."""
    import cv2

    cv2.setNumThreads(1)
    return cv2
