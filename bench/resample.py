"""Benchmark: the camera-motion engine's resampler (studio.media.resample) against Pillow's bicubic
resize of each window, which it replaced: fidelity and time per frame.

For each bundled sample photo's luma at the output size, windows at several zooms (centred, off
the pixel grid by a fraction) are made three ways: Pillow's 8-bit bicubic resize of the window (the
engine before), the Magnifier (enlarged three times bicubic once, then a bilinear sample per
frame), and two references computed in floating point (Pillow's bicubic and Lanczos resize of the
window on a float image). Printed: PSNR of each against each reference, by zoom (higher is closer;
60 dB is an RMS difference of a quarter of a level); the same for rendered text, detail as fine as
the pixels, as an RMS difference in levels; and the time per 4:2:0 frame (luma and both chroma
planes) of each, on one thread.

    python bench/resample.py [--width 1280 --height 720] [--reps 60]

The last line printed is JSON: {"bench": "resample", ...}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.resample", *sys.argv[1:]])

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from studio.media.images import fit_image, load_upload  # noqa: E402
from studio.media.resample import Magnifier  # noqa: E402
from studio.media.yuv import source_planes  # noqa: E402
from studio.samples import sample_images  # noqa: E402

ZOOMS = (1.0, 1.05, 1.35, 2.0, 5.0, 10.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--reps", type=int, default=60, help="timed frames per method")
    args = parser.parse_args()
    width, height = args.width, args.height

    psnr: dict[tuple[str, str, float], list[float]] = {}
    photos = sample_images()
    for sample in photos:
        picture = fit_image(load_upload(sample.path.read_bytes(), sample.path.name), width, height)
        luma = source_planes(picture)[0]
        whole = Magnifier(luma)
        methods = {
            "pillow_bicubic": lambda box: np.asarray(luma.resize((width, height), Image.Resampling.BICUBIC, box=box)),
            "magnifier": lambda box: whole.view(box, (width, height)),
        }
        floating = luma.convert("F")
        for zoom in ZOOMS:
            box = _window(width, height, zoom)
            references = {name: np.asarray(floating.resize((width, height), resample, box=box))
                          for name, resample in (("bicubic_float", Image.Resampling.BICUBIC),
                                                 ("lanczos_float", Image.Resampling.LANCZOS))}
            for method, make in methods.items():
                view = make(box).astype(np.float64)
                for reference_name, reference in references.items():
                    error = float(((view - reference)[8:-8, 8:-8] ** 2).mean())
                    psnr.setdefault((method, reference_name, zoom), []).append(
                        99.0 if error < 1e-9 else 10 * math.log10(255 ** 2 / error))

    print(f"{len(photos)} photos' luma at {width}x{height}; PSNR (dB, mean over the photos) by zoom {ZOOMS}")
    summary: dict[str, object] = {"bench": "resample", "size": f"{width}x{height}", "zooms": list(ZOOMS)}
    for reference_name in ("bicubic_float", "lanczos_float"):
        print(f"  against {reference_name}:")
        for method in ("pillow_bicubic", "magnifier"):
            row = [round(statistics.mean(psnr[(method, reference_name, zoom)]), 2) for zoom in ZOOMS]
            summary[f"psnr_{method}_vs_{reference_name}"] = row
            print(f"    {method:15s} " + " ".join(f"{value:6.2f}" for value in row))

    # Detail as fine as the pixels: white text on black, against the floating-point bicubic (clipped
    # to 0..255, as an 8-bit frame is): the RMS difference in levels, by zoom.
    text = _text_picture(width, height)
    whole_text = Magnifier(text)
    floating_text = text.convert("F")
    rms: dict[str, list[float]] = {"pillow_bicubic": [], "magnifier": []}
    for zoom in ZOOMS:
        box = _window(width, height, zoom)
        reference = np.clip(np.asarray(floating_text.resize((width, height), Image.Resampling.BICUBIC, box=box)), 0, 255)
        for method, view in (("pillow_bicubic", text.resize((width, height), Image.Resampling.BICUBIC, box=box)),
                             ("magnifier", whole_text.view(box, (width, height)))):
            difference = np.asarray(view, dtype=np.float64) - reference
            rms[method].append(round(float(np.sqrt((difference ** 2).mean())), 2))
    print("rendered text, RMS difference (levels) from the floating-point bicubic, by zoom: "
          + "; ".join(f"{method} {values}" for method, values in rms.items()))
    summary.update({f"text_rms_{method}": values for method, values in rms.items()})

    planes = source_planes(fit_image(load_upload(photos[0].path.read_bytes(), photos[0].path.name), width, height))
    started = time.perf_counter()
    magnified = [Magnifier(plane) for plane in planes]
    enlarge_s = time.perf_counter() - started
    boxes = [_window(width, height, 1.0 + 0.35 * i / max(1, args.reps - 1)) for i in range(args.reps)]

    def pillow(box):
        return [plane.resize((width // s, height // s), Image.Resampling.BICUBIC, box=tuple(e / s for e in box))
                for plane, s in zip(planes, (1, 2, 2), strict=True)]

    def magnifier(box):
        return [m.view(tuple(e / s for e in box), (width // s, height // s))
                for m, s in zip(magnified, (1, 2, 2), strict=True)]

    times = {}
    for name, render in (("pillow_bicubic", pillow), ("magnifier", magnifier)):
        render(boxes[0])
        started = time.perf_counter()
        for box in boxes:
            render(box)
        times[name] = (time.perf_counter() - started) / len(boxes) * 1000
    print(f"per 4:2:0 frame: Pillow bicubic {times['pillow_bicubic']:.2f} ms, magnifier {times['magnifier']:.2f} ms "
          f"({times['pillow_bicubic'] / times['magnifier']:.1f}x); the magnifier's enlargement once per clip "
          f"{enlarge_s * 1000:.0f} ms")
    summary.update({"pillow_ms": round(times["pillow_bicubic"], 3), "magnifier_ms": round(times["magnifier"], 3),
                    "enlarge_ms": round(enlarge_s * 1000, 1)})
    print(json.dumps(summary))
    return 0


def _text_picture(width: int, height: int) -> Image.Image:
    """Lines of small white text on black: edges one pixel sharp."""
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    for row in range(0, height - 12, 22):
        draw.text((5, 5 + row), "The quick brown fox JUMPS over 0123456789 ||| /// " * 4, fill=255)
    return picture


def _window(width: int, height: int, zoom: float) -> tuple[float, float, float, float]:
    """A centred window at `zoom`, off the pixel grid by a fraction (none at zoom 1: the picture)."""
    if zoom == 1.0:
        return (0.0, 0.0, float(width), float(height))
    w, h = width / zoom, height / zoom
    left, top = (width - w) / 2 + 0.37, (height - h) / 2 + 0.22
    return (left, top, left + w, top + h)


if __name__ == "__main__":
    sys.exit(main())
