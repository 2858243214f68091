"""Benchmark: the studio's camera-motion pipeline against ffmpeg's own zoompan filter.

Both sides start from the same 1280x720 PNG on disk and produce the same clip: a 35% eased zoom
into the centre, 120 frames at 24 fps, encoded with libx264 at the same preset and CRF.

  studio:   load_upload -> fit_image -> write_mp4(MotionEngine.iter_frames(...))   (the worker's path:
            4:2:0 planes rendered on threads while ffmpeg encodes them)
  array:    the same frames collected first (MotionEngine.generate, RGB), then encoded
  encode:   ffmpeg alone on the studio's frames, rendered beforehand: the floor the studio's path
            can reach on this content (libx264's share of the work)
  ffmpeg:   ffmpeg -i image.png -vf zoompan=... -c:v libx264 ...             (one process)
  ffmpeg10: the same command with the studio's shorter x264 look-ahead (-rc-lookahead 10, see
            studio.media.encode.LOOKAHEAD_FRAMES): the baseline at the studio's own encoder settings

Wall-clock time is the headline; CPU seconds (all threads and ffmpeg) are printed too, because on a
shared machine they move less with other people's load.

zoompan crops at whole-pixel positions (the well-known zoompan jitter); the studio resamples
sub-pixel windows, so it does more work per frame for a smoother result. The last line printed is
JSON: {"bench": "motion", "studio_s": ..., "ffmpeg_s": ..., "ratio": studio_s / ffmpeg_s,
"ratio_same_encoder": studio_s / ffmpeg10_s, ...}.

    python bench/motion.py [--reps 3] [--frames 120] [--width 1280 --height 720] [--preset medium] [--crf 18]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.motion", *sys.argv[1:]])

from studio.engines.base import RuntimeOptions  # noqa: E402
from studio.engines.motion import ZOOM_PER_STRENGTH, MotionEngine  # noqa: E402
from studio.media.encode import LOOKAHEAD_FRAMES, ffmpeg_exe, probe_video, write_mp4  # noqa: E402
from studio.media.images import fit_image, load_upload  # noqa: E402
from studio.samples import sample_images  # noqa: E402
from studio.requests import validate_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions of each side (after one warm-up)")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--crf", type=int, default=18)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-motion-") as folder:
        work = Path(folder)
        source = work / "input.png"
        sample = sample_images()[0]
        fit_image(load_upload(sample.path.read_bytes(), sample.path.name), args.width, args.height).save(source)
        print(f"input: {sample.title} fitted to {args.width}x{args.height}; {args.frames} frames at {args.fps} fps; "
              f"libx264 preset={args.preset} crf={args.crf}; {os.cpu_count()} CPUs")

        runs: dict[str, list[Timing]] = {"studio": [], "array": [], "encode": [], "ffmpeg": [], "ffmpeg10": []}
        for rep in range(args.reps + 1):  # rep 0 warms caches and is not counted
            timings = {
                "studio": run_studio(source, work / "studio.mp4", args),
                "array": run_array(source, work / "array.mp4", args),
                "encode": run_encode_only(source, work / "encode.mp4", args),
                "ffmpeg": run_ffmpeg(source, work / "ffmpeg.mp4", args),
                "ffmpeg10": run_ffmpeg(source, work / "ffmpeg10.mp4", args, lookahead=LOOKAHEAD_FRAMES),
            }
            print(f"{'warm-up' if rep == 0 else f'rep {rep}':>8}: " + "   ".join(
                f"{name} {t.wall:5.2f} s (cpu {t.cpu:5.2f})" for name, t in timings.items()))
            if rep:
                for name, timing in timings.items():
                    runs[name].append(timing)

        for name in ("studio.mp4", "array.mp4", "encode.mp4", "ffmpeg.mp4", "ffmpeg10.mp4"):
            info = probe_video(work / name)
            assert (info.width, info.height, info.frames) == (args.width, args.height, args.frames), info
            print(f"{name}: {info.codec} {info.pix_fmt} {info.width}x{info.height} {info.frames} frames, "
                  f"{(work / name).stat().st_size / 1e6:.2f} MB")

    def median(name: str, field: str = "wall") -> float:
        return statistics.median(getattr(t, field) for t in runs[name])

    ffmpeg_s = median("ffmpeg")
    ratios = {name: median(name) / ffmpeg_s for name in ("studio", "array", "encode")}
    print("median: " + ", ".join(f"{name} {median(name):.2f} s" for name in runs)
          + f"; wall ratio {ratios['studio']:.2f} (array {ratios['array']:.2f}, encode alone {ratios['encode']:.2f}; "
          f"against ffmpeg with the same look-ahead {median('studio') / median('ffmpeg10'):.2f}), "
          f"cpu ratio {median('studio', 'cpu') / median('ffmpeg', 'cpu'):.2f}")
    print(json.dumps({
        "bench": "motion", "studio_s": round(median("studio"), 3), "ffmpeg_s": round(ffmpeg_s, 3),
        "ratio": round(ratios["studio"], 3),
        "ffmpeg10_s": round(median("ffmpeg10"), 3), "ratio_same_encoder": round(median("studio") / median("ffmpeg10"), 3),
        "array_s": round(median("array"), 3), "array_ratio": round(ratios["array"], 3),
        "encode_only_s": round(median("encode"), 3), "encode_only_ratio": round(ratios["encode"], 3),
        "studio_cpu_s": round(median("studio", "cpu"), 3), "ffmpeg_cpu_s": round(median("ffmpeg", "cpu"), 3),
        "cpu_ratio": round(median("studio", "cpu") / median("ffmpeg", "cpu"), 3),
        "reps": args.reps, "frames": args.frames, "size": f"{args.width}x{args.height}",
        "preset": args.preset, "crf": args.crf, "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0],
    }))
    return 0


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # seconds of CPU, this process's threads plus ffmpeg's


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def studio_request(args: argparse.Namespace) -> tuple[MotionEngine, dict]:
    engine = MotionEngine()
    request = validate_for(engine, {"width": args.width, "height": args.height, "frames": args.frames, "fps": args.fps,
                                    "motion": "zoom_in", "guidance": 1.0, "easing": "ease_in_out"})
    return engine, request


def _fitted(source: Path, args: argparse.Namespace, fit: str):
    return fit_image(load_upload(source.read_bytes(), source.name), args.width, args.height, fit)


def run_studio(source: Path, output: Path, args: argparse.Namespace) -> Timing:
    """The worker's path: frames streamed into the encoder as they are rendered."""
    started, cpu = time.perf_counter(), cpu_seconds()
    engine, request = studio_request(args)
    frames = engine.iter_frames(_fitted(source, args, request.params["fit"]), request,
                                on_step=lambda step, total: None, cancelled=lambda: False)
    write_mp4(frames, args.fps, output, crf=args.crf, preset=args.preset)
    return Timing(time.perf_counter() - started, cpu_seconds() - cpu)


def run_array(source: Path, output: Path, args: argparse.Namespace) -> Timing:
    """All frames first (MotionEngine.generate, the Engine contract), then the encode."""
    started, cpu = time.perf_counter(), cpu_seconds()
    engine, request = studio_request(args)
    result = engine.generate(_fitted(source, args, request.params["fit"]), request, RuntimeOptions(),
                             on_step=lambda step, total: None, cancelled=lambda: False)
    write_mp4(result.frames, args.fps, output, crf=args.crf, preset=args.preset)
    return Timing(time.perf_counter() - started, cpu_seconds() - cpu)


def run_encode_only(source: Path, output: Path, args: argparse.Namespace) -> Timing:
    """The encoder alone on the studio's frames, rendered before the clock starts."""
    engine, request = studio_request(args)
    frames = list(engine.iter_frames(_fitted(source, args, request.params["fit"]), request,
                                     on_step=lambda step, total: None, cancelled=lambda: False))
    started, cpu = time.perf_counter(), cpu_seconds()
    write_mp4(iter(frames), args.fps, output, crf=args.crf, preset=args.preset)
    return Timing(time.perf_counter() - started, cpu_seconds() - cpu)


def run_ffmpeg(source: Path, output: Path, args: argparse.Namespace, lookahead: int | None = None) -> Timing:
    """The same move with zoompan: zoom = end ** eased progress, centred, as the engine does it;
    x264's own look-ahead unless `lookahead` is given."""
    last = args.frames - 1
    end = 1.0 + ZOOM_PER_STRENGTH * 1.0
    zoompan = (f"zoompan=z='pow({end},0.5-0.5*cos(PI*on/{last}))'"
               ":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
               f":d={args.frames}:s={args.width}x{args.height}:fps={args.fps}")
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-vf", zoompan,
               "-frames:v", str(args.frames), "-c:v", "libx264", "-preset", args.preset, "-crf", str(args.crf),
               *(["-rc-lookahead", str(lookahead)] if lookahead is not None else []),
               "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(output)]
    started, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return Timing(time.perf_counter() - started, cpu_seconds() - cpu)


if __name__ == "__main__":
    sys.exit(main())
