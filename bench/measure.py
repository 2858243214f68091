"""Benchmark: what measuring a run costs (motion, flicker, sharpness, fidelity; studio.media.measure).

The worker's path for a camera-motion run, from the fitted input to the finished MP4, streamed as
the worker does it (MotionEngine.iter_frames into write_mp4), once plain and once with the frames
passing through FrameMeter on their way to the encoder; the two alternate so that other load on
the machine falls on both alike. Also printed: the meter's own time (what it adds on the render
thread) and, for runs made before measuring, the cost of measuring the finished MP4 (a decode).

The last line printed is JSON: {"bench": "measure", "run_s": ..., "measured_run_s": ...,
"meter_s": ..., "ratio": meter_s / run_s, "added_ratio": (measured_run_s - run_s) / run_s, ...}.
The target, measurements costing at most 10% of the run's time, is added_ratio <= 0.10: how much
longer a measured run takes. The meter's own time (ratio) is larger and mostly hidden: it measures
each frame while the encoder, the slow stage, still works on earlier ones.

    python bench/measure.py [--reps 5] [--frames 48] [--width 512 --height 512]
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
    os.execv(sys.executable, [sys.executable, "-m", "bench.measure", *sys.argv[1:]])

from studio.engines.motion import MotionEngine  # noqa: E402
from studio.media.encode import write_mp4  # noqa: E402
from studio.media.images import fit_image, load_upload  # noqa: E402
from studio.media.measure import FrameMeter, measure_video  # noqa: E402
from studio.requests import validate_for  # noqa: E402
from studio.samples import sample_images  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each side (after one warm-up)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
    args = parser.parse_args()

    engine = MotionEngine()
    request = validate_for(engine, {"width": args.width, "height": args.height, "frames": args.frames, "fps": args.fps,
                                    "motion": "zoom_in", "guidance": 1.0, "easing": "ease_in_out"})
    sample = sample_images()[0]
    image = fit_image(load_upload(sample.path.read_bytes(), sample.path.name), args.width, args.height,
                      request.params["fit"])
    print(f"input: {sample.title} at {args.width}x{args.height}; {args.frames} frames at {args.fps} fps; "
          f"{os.cpu_count()} CPUs")

    plain, measured, meter_s, decode_s = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-measure-") as folder:
        output = Path(folder) / "run.mp4"
        for rep in range(args.reps + 1):  # rep 0 warms caches (and imports OpenCV) and is not counted
            started = time.perf_counter()
            write_mp4(engine.iter_frames(image, request, on_step=lambda s, t: None, cancelled=lambda: False),
                      args.fps, output)
            run_s = time.perf_counter() - started

            started = time.perf_counter()
            meter = FrameMeter(reference=image)
            write_mp4(meter.watch(engine.iter_frames(image, request, on_step=lambda s, t: None,
                                                     cancelled=lambda: False)), args.fps, output)
            result = meter.result()
            measured_s = time.perf_counter() - started
            assert result is not None, meter.failure

            decoded = measure_video(output, image)
            print(f"{'warm-up' if rep == 0 else f'rep {rep}':>8}: run {run_s:6.3f} s   measured run {measured_s:6.3f} s"
                  f"   meter {result.seconds:6.3f} s   measuring the MP4 {decoded.seconds:6.3f} s"
                  f"   (motion {result.motion_mean:.2f} px/frame, flicker {result.flicker_mean:.2f})")
            if rep:
                plain.append(run_s)
                measured.append(measured_s)
                meter_s.append(result.seconds)
                decode_s.append(decoded.seconds)

    run_s, measured_s = statistics.median(plain), statistics.median(measured)
    meter, decode = statistics.median(meter_s), statistics.median(decode_s)
    print(f"median: run {run_s:.3f} s, measured run {measured_s:.3f} s (added {(measured_s - run_s) / run_s:+.1%}), "
          f"meter {meter:.3f} s ({meter / run_s:.1%} of the run, beside the encoder), "
          f"measuring the MP4 afterwards {decode:.3f} s ({decode / run_s:.1%})")
    print(json.dumps({
        "bench": "measure", "run_s": round(run_s, 4), "measured_run_s": round(measured_s, 4),
        "meter_s": round(meter, 4), "ratio": round(meter / run_s, 4),
        "added_ratio": round((measured_s - run_s) / run_s, 4), "mp4_measure_s": round(decode, 4),
        "reps": args.reps, "frames": args.frames, "size": f"{args.width}x{args.height}",
        "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
