"""Benchmark: the post-processing tools on a 512x512, 48-frame, 24 fps clip, through the code the
worker runs (the tool's frames piped into write_mp4, H.264 CRF 18 like every run).

  smooth x2:   minterpolate (motion-compensated) to 48 fps -> 95 frames
  upscale x2:  Lanczos to 1024x1024 -> 48 frames
  ping-pong:   forward then backward -> 94 frames

CPU seconds (this process and its ffmpeg processes) are printed beside the wall clock. The source
is a camera-motion run (a pan over a sample picture), made once. Each tool runs once to
warm up, then --reps times; medians are printed. The last line is JSON:
{"bench": "post", "smooth_x2_s": ..., "upscale_x2_s": ..., "pingpong_s": ..., "ratio": smooth / upscale}.

    python bench/post.py [--reps 3] [--frames 48] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.post", *sys.argv[1:]])

from studio.engines.motion import MotionEngine  # noqa: E402
from studio.media.encode import probe_video, write_mp4  # noqa: E402
from studio.media.images import fit_image, load_upload  # noqa: E402
from studio.post.base import source_clip  # noqa: E402
from studio.post.steps import child_params, post_engines  # noqa: E402
from studio.requests import validate_for  # noqa: E402
from studio.samples import sample_images  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions of each tool (after one warm-up)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    tools = {engine.info.id: engine for engine in post_engines()}
    cases = {"smooth_x2": ("smooth", {"factor": 2}), "upscale_x2": ("upscale", {"factor": 2}),
             "pingpong": ("pingpong", {})}

    with tempfile.TemporaryDirectory(prefix="bench-post-") as folder:
        work = Path(folder)
        source, source_params = make_source(work / "source.mp4", args)
        info = probe_video(source)
        print(f"source: {info.width}x{info.height}, {info.frames} frames at {info.fps:g} fps; {os.cpu_count()} CPUs")
        times: dict[str, list[float]] = {name: [] for name in cases}
        for rep in range(args.reps + 1):  # rep 0 warms caches and is not counted
            line = []
            for name, (tool_id, options) in cases.items():
                tool = tools[tool_id]
                request = validate_for(tool, child_params(tool, 1, source_params, options, {}))
                out = work / f"{name}.mp4"
                started, cpu_before = time.perf_counter(), cpu_seconds()
                frames = tool.iter_post_frames(source, request, on_step=lambda *_: None, cancelled=lambda: False)
                write_mp4(frames, request.params["fps"], out)
                elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
                if rep:
                    times[name].append(elapsed)
                made = probe_video(out)
                line.append(f"{name} {elapsed:6.2f} s (cpu {cpu:5.2f}; {made.width}x{made.height}, {made.frames} frames)")
            print(f"{'warm-up' if rep == 0 else f'rep {rep}':>8}: " + "   ".join(line))
        medians = {name: statistics.median(values) for name, values in times.items()}
        print("medians: " + ", ".join(f"{name} {value:.2f} s" for name, value in medians.items()))
        print(json.dumps({"bench": "post", **{f"{name}_s": round(v, 3) for name, v in medians.items()},
                          "frames": args.frames, "size": args.size, "reps": args.reps,
                          "ratio": round(medians["smooth_x2"] / medians["upscale_x2"], 3)}))
    return 0


def cpu_seconds() -> float:
    """CPU time of this process and the ffmpeg processes it waited for: on a shared machine it moves
    less with other people's load than the wall clock."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_source(path: Path, args: argparse.Namespace) -> tuple[Path, dict]:
    """A camera-motion pan, as a run would have made it, and the run's parameters."""
    sample = sample_images()[0]
    image = fit_image(load_upload(sample.path.read_bytes(), sample.path.name), args.size, args.size)
    engine = MotionEngine()
    request = validate_for(engine, {"width": args.size, "height": args.size, "frames": args.frames, "fps": 24,
                                    "motion": "pan_right", "seed": 1})
    write_mp4(engine.iter_frames(image, request, on_step=lambda *_: None, cancelled=lambda: False), 24, path)
    return path, {**request.stored_params()}


if __name__ == "__main__":
    sys.exit(main())
