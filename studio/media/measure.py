"""What a finished video looks like in numbers, so runs can be compared by more than eye: how much
it moves, how much it flickers, how sharp it is and how close it stays to the input image.

Measured once per run, on luminance: a new run on its frames on their way to the encoder
(FrameMeter: no second decode; the camera-motion engine's frames on their own BT.709 luma), an
older run from its MP4 (measure_video: ffmpeg decodes straight to 8-bit grey), which includes the
compression. The stored JSON says which (`source`: "frames" or "mp4").

- motion: mean optical-flow magnitude between consecutive frames (OpenCV's Farneback, on a copy
  downscaled to FLOW_SIDE pixels), in pixels of the video per frame;
- flicker: mean absolute luminance change (0-255) left after motion compensation: the previous
  frame is warped along the flow onto the current one first, so a camera move is not flicker;
- sharpness: variance of the Laplacian of each frame, at the video's size;
- fidelity: SSIM of the first and of the last frame against the input image at the video's size.

Per-frame series have one value per frame (the first frame's motion and flicker are 0: nothing came
before it). cv2 (through studio.media.opencv) and imageio_ffmpeg are imported inside the
functions: pages import this module's names without paying for OpenCV.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from studio.media.opencv import cv2_single_threaded
from studio.media.yuv import YuvFrame

# Version of the recipe below; stored with each measurement so a changed recipe can be told apart.
# 2: SSIM with its reference implementation's automatic downsampling; a 4:2:0 frame (the motion
# engine's) measured on its own luma.
MEASUREMENTS_VERSION = 2
# Longest side of the copy the flow is computed on: motion and flicker are about large areas, and
# Farneback's cost grows with the pixel count. With two pyramid levels and one iteration, 64 px
# reads a photo's 0.5-3 px/frame pans (at 512 px) as closely as 96 or 160 px do, for a third of
# the time of 96 px (about a millisecond a frame).
FLOW_SIDE = 64


@dataclass(frozen=True)
class Measurements:
    """One video's measurements; `to_json()` is what the history stores."""

    motion: list[float]  # per frame, pixels (at the video's size) per frame
    flicker: list[float]  # per frame, mean |ΔY| after motion compensation, 0-255
    sharpness: list[float]  # per frame, variance of the Laplacian
    ssim_first: float | None  # first frame against the input image; None without an input
    ssim_last: float | None
    seconds: float = 0.0  # what measuring cost
    version: int = MEASUREMENTS_VERSION
    source: str = "frames"  # "frames": on the way to the encoder; "mp4": decoded from the file later

    @property
    def motion_mean(self) -> float:
        return _mean(self.motion[1:])

    @property
    def flicker_mean(self) -> float:
        return _mean(self.flicker[1:])

    @property
    def sharpness_mean(self) -> float:
        return _mean(self.sharpness)

    def columns(self) -> dict[str, Any]:
        """The history's columns for it: the whole record and the means the gallery sorts by."""
        return {"measurements": self.to_json(), "motion_mean": self.motion_mean, "flicker_mean": self.flicker_mean}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["means"] = {"motion": self.motion_mean, "flicker": self.flicker_mean, "sharpness": self.sharpness_mean}
        return data


def measure_video(video: Path | str, reference: Any | None = None) -> Measurements:
    """Measure an MP4. `reference` is the input image (a PIL image or an RGB array), already at the
    video's size as the run used it; without one, the fidelity figures are None."""
    return replace(measure_frames(decode_grey(video), reference), source="mp4")


def decode_grey(video: Path | str) -> Iterator[np.ndarray]:
    """The video's frames as (H, W) uint8 luminance, one at a time."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video), pix_fmt="gray", bits_per_pixel=8)
    try:
        meta = next(reader)
        width, height = meta["size"]
        for raw in reader:
            yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width)
    finally:
        reader.close()


def measure_frames(frames: Iterable[np.ndarray], reference: Any | None = None) -> Measurements:
    """The same measurements from frames in memory ((H, W) grey or (H, W, 3) RGB uint8)."""
    started = time.perf_counter()
    meter = _Meter(_grey(reference) if reference is not None else None)
    for frame in frames:
        meter.add(_grey(frame))
    return meter.result(time.perf_counter() - started)


class FrameMeter:
    """Measures frames on their way to the encoder (the worker's path: no second decode). A frame
    it cannot measure stops the measuring, never the run: `result()` is then None and `failure`
    says why."""

    def __init__(self, reference: Any | None):
        self._reference = reference
        self._meter: _Meter | None = None
        self._seconds = 0.0
        self.failure: Exception | None = None

    def watch(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            if self.failure is None:
                started = time.perf_counter()
                try:
                    if self._meter is None:
                        self._meter = _Meter(_grey(self._reference) if self._reference is not None else None)
                    self._meter.add(_grey(frame))
                except Exception as exc:  # a measurement is a bonus; the video is what was asked for
                    self.failure = exc
                self._seconds += time.perf_counter() - started
            yield frame

    def result(self) -> Measurements | None:
        if self.failure is not None or self._meter is None:
            return None
        started = time.perf_counter()
        try:
            measured = self._meter.result(0.0)
        except Exception as exc:
            self.failure = exc
            return None
        return replace(measured, seconds=round(self._seconds + time.perf_counter() - started, 4))


class _Meter:
    """Takes frames one at a time, keeping only the previous one (and the first, for SSIM)."""

    def __init__(self, reference: np.ndarray | None):
        cv2_single_threaded()  # the encoder needs the other cores (studio.media.opencv says why)
        self._reference = reference
        self._first: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._previous_small: np.ndarray | None = None
        self._scale = 1.0
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self.motion: list[float] = []
        self.flicker: list[float] = []
        self.sharpness: list[float] = []

    def add(self, frame: np.ndarray) -> None:
        cv2 = cv2_single_threaded()

        if self._first is None:
            self._first = frame
        self._last = frame
        _, deviation = cv2.meanStdDev(cv2.Laplacian(frame, cv2.CV_16S))
        self.sharpness.append(float(deviation[0, 0]) ** 2)
        small = self._downscale(frame)
        if self._previous_small is None:
            self.motion.append(0.0)
            self.flicker.append(0.0)
        else:
            motion, flicker = _motion_and_flicker(self._previous_small, small, self._map_grid(small))
            self.motion.append(motion * self._scale)
            self.flicker.append(flicker)
        self._previous_small = small

    def result(self, seconds: float) -> Measurements:
        if self._first is None or self._last is None:
            raise ValueError("The video has no frames to measure.")
        ssim_first = ssim_last = None
        if self._reference is not None:
            reference = _fit(self._reference, self._first.shape)
            ssim_first, ssim_last = ssim(self._first, reference), ssim(self._last, reference)
        return Measurements(motion=_rounded(self.motion), flicker=_rounded(self.flicker),
                            sharpness=_rounded(self.sharpness, 2), ssim_first=_round(ssim_first),
                            ssim_last=_round(ssim_last), seconds=round(seconds, 4))

    def _downscale(self, frame: np.ndarray) -> np.ndarray:
        cv2 = cv2_single_threaded()

        height, width = frame.shape
        factor = FLOW_SIDE / max(height, width)
        if factor >= 1:
            return frame
        self._scale = 1 / factor  # flow measured on the copy, reported in the video's pixels
        size = (max(8, round(width * factor)), max(8, round(height * factor)))
        while min(frame.shape) >= 4 * min(size):  # halvings first: an area resize by a large odd factor is slow
            frame = cv2.pyrDown(frame)
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def _map_grid(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._grid is None or self._grid[0].shape != small.shape:
            ys, xs = np.indices(small.shape, dtype=np.float32)
            self._grid = (xs, ys)
        return self._grid


def _motion_and_flicker(previous: np.ndarray, current: np.ndarray,
                        grid: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """Flow from the current frame back to the previous one (where each pixel came from), its mean
    length, and the luminance change that remains once the previous frame is warped along it."""
    cv2 = cv2_single_threaded()

    flow = cv2.calcOpticalFlowFarneback(current, previous, None, pyr_scale=0.5, levels=2, winsize=11,
                                        iterations=1, poly_n=5, poly_sigma=1.1, flags=0)
    magnitude = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2)
    xs, ys = grid
    warped = cv2.remap(previous, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    change = cv2.absdiff(current, warped)
    return float(magnitude.mean()), float(change.mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two (H, W) uint8 images (Wang et al. 2004: 11x11 Gaussian
    window, sigma 1.5, K1 0.01, K2 0.03); 1.0 for identical images. As the authors' reference code
    does, images over 256 px on their shorter side are first averaged down by the whole factor
    round(shorter / 256), the scale at which the index was calibrated against viewers (and, measured,
    0.7 ms instead of 4.8 ms at 512 px)."""
    cv2 = cv2_single_threaded()

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    factor = max(1, round(min(a.shape[:2]) / 256))
    if factor > 1:
        size = (a.shape[1] // factor, a.shape[0] // factor)
        a, b = (cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in (a, b))
    x, y = a.astype(np.float32), b.astype(np.float32)

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (11, 11), 1.5)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return float(index.mean())


def _grey(image: Any) -> np.ndarray:
    """(H, W) uint8 luminance (BT.601, as ffmpeg's grey output) of a PIL image or an array; of a
    4:2:0 frame, its own luma (BT.709) in full range."""
    if isinstance(image, YuvFrame):
        return image.grey()
    if hasattr(image, "convert"):
        return np.asarray(image.convert("L"))
    array = np.asarray(image)
    if array.ndim == 2:
        return array.astype(np.uint8, copy=False)
    cv2 = cv2_single_threaded()

    return cv2.cvtColor(np.ascontiguousarray(array[..., :3]).astype(np.uint8, copy=False), cv2.COLOR_RGB2GRAY)


def _fit(reference: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The reference at the video's size (the encoder pads odd sizes to even by one pixel)."""
    if reference.shape == shape:
        return reference
    cv2 = cv2_single_threaded()

    return cv2.resize(reference, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _rounded(values: list[float], digits: int = 4) -> list[float]:
    return [round(v, digits) for v in values]
