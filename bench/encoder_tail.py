"""Benchmark: how long the encoder takes after it was handed the last frame, by how fast the frames
came. The part of a camera-motion run's fixed cost that is x264 finishing what it holds.

The motion engine's frames (512x512, 48 by default, as 4:2:0 planes) are rendered first, then
handed to write_mp4 (the studio's encoder settings: libx264 medium, CRF 18, look-ahead 10) either
as fast as the pipe takes them, as a fast engine renders, or one every --pace seconds, slower than
x264 encodes them. Printed: the median time from the last frame handed over to the finished MP4,
and the whole encode, for each.

    python bench/encoder_tail.py [--reps 7] [--size 512] [--frames 48] [--pace 0.02]

The last line printed is JSON: {"bench": "encoder_tail", "fast_tail_s": ..., "paced_tail_s": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.encoder_tail", *sys.argv[1:]])

from studio.engines.motion import MotionEngine  # noqa: E402
from studio.media.encode import write_mp4  # noqa: E402
from studio.media.images import fit_image, load_upload  # noqa: E402
from studio.requests import validate_for  # noqa: E402
from studio.samples import sample_images  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between frames for the paced side")
    args = parser.parse_args()

    engine = MotionEngine()
    request = validate_for(engine, {"width": args.size, "height": args.size, "frames": args.frames,
                                    "motion": "zoom_in", "guidance": 1.0, "easing": "ease_in_out"})
    sample = sample_images()[0]
    image = fit_image(load_upload(sample.path.read_bytes(), sample.path.name), args.size, args.size,
                      request.params["fit"])
    frames = list(engine.iter_frames(image, request, on_step=lambda step, total: None, cancelled=lambda: False))

    results: dict[str, list[tuple[float, float]]] = {"fast": [], "paced": []}
    with tempfile.TemporaryDirectory(prefix="bench-tail-") as folder:
        for rep in range(args.reps + 1):  # rep 0 warms caches and is not counted
            for side, pace in (("fast", 0.0), ("paced", args.pace)):
                handed: list[float] = []

                def stream(pace: float = pace, handed: list[float] = handed):
                    for frame in frames:
                        if pace:
                            time.sleep(pace)
                        yield frame
                    handed.append(time.perf_counter())

                started = time.perf_counter()
                write_mp4(stream(), 24, Path(folder) / f"{side}.mp4")
                finished = time.perf_counter()
                if rep:
                    results[side].append((finished - handed[0], finished - started))

    def median(side: str, index: int) -> float:
        return statistics.median(row[index] for row in results[side])

    print(f"{args.frames} frames at {args.size}x{args.size}, {os.cpu_count()} CPUs, {args.reps} reps: "
          f"handed over as fast as taken: {median('fast', 0):.3f} s after the last frame (encode {median('fast', 1):.3f} s); "
          f"one every {args.pace} s: {median('paced', 0):.3f} s after the last frame (encode {median('paced', 1):.3f} s)")
    print(json.dumps({"bench": "encoder_tail", "fast_tail_s": round(median("fast", 0), 4),
                      "fast_encode_s": round(median("fast", 1), 4), "paced_tail_s": round(median("paced", 0), 4),
                      "paced_encode_s": round(median("paced", 1), 4), "pace_s": args.pace, "frames": args.frames,
                      "size": args.size, "reps": args.reps, "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
