"""Benchmark: what a command-line user waits for. The whole `launch.py run --engine motion` process
(start-up, history, render, encode, files) against the whole ffmpeg zoompan + libx264 command on
the same image, alternating, each in a fresh process.

    python bench/cli_run.py [--reps 3] [--frames 120] [--width 1280 --height 720] [--fps 24]

Both make an H.264 MP4 of the same size and length with a centred eased zoom, at x264 preset medium
and CRF 18 (the studio's encoder settings; bench/motion.py compares the pipelines themselves). The
last line printed is JSON: {"bench": "cli_run", "studio_s": median, "ffmpeg_s": median, "ratio": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.cli_run", *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=24)
    args = parser.parse_args()
    from PIL import Image, ImageDraw

    from studio.media.encode import ffmpeg_exe, probe_video

    with tempfile.TemporaryDirectory(prefix="studio-bench-cli-") as folder:
        work = Path(folder)
        source = work / "source.png"
        image = Image.new("RGB", (args.width, args.height), (30, 60, 110))
        draw = ImageDraw.Draw(image)
        for x in range(0, args.width, 40):
            draw.line([(x, 0), (args.width - x, args.height)], fill=(240, 200, 80), width=3)
        image.save(source)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        env.update(STUDIO_DATA_DIR=str(work / "data"), HF_HUB_OFFLINE="1")
        studio_cmd = [sys.executable, str(PROJECT_ROOT / "launch.py"), "--quiet", "run", "--image", str(source),
                      "--engine", "motion", "--param", f"width={args.width}", "--param", f"height={args.height}",
                      "--param", f"frames={args.frames}", "--param", f"fps={args.fps}", "--param", "motion=zoom_in"]
        last = args.frames - 1
        zoompan = (f"zoompan=z='pow(1.35,0.5-0.5*cos(PI*on/{last}))':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
                   f":d={args.frames}:s={args.width}x{args.height}:fps={args.fps}")
        ffmpeg_cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-vf", zoompan,
                      "-frames:v", str(args.frames), "-c:v", "libx264", "-preset", "medium", "-crf", "18",
                      "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(work / "ffmpeg.mp4")]
        subprocess.run(studio_cmd, env=env, check=True, capture_output=True)  # warm-up: creates the history
        times: dict[str, list[float]] = {"studio": [], "ffmpeg": []}
        video = None
        for rep in range(args.reps):
            for name, command in (("studio", studio_cmd), ("ffmpeg", ffmpeg_cmd)):
                started = time.perf_counter()
                done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
                times[name].append(time.perf_counter() - started)
                if name == "studio":
                    video = Path(done.stdout.strip().splitlines()[-1])
            print(f"rep {rep + 1}: studio {times['studio'][-1]:.2f} s, ffmpeg {times['ffmpeg'][-1]:.2f} s", flush=True)
        info = probe_video(video)
        assert (info.width, info.height, info.frames) == (args.width, args.height, args.frames), info
    studio_s, ffmpeg_s = statistics.median(times["studio"]), statistics.median(times["ffmpeg"])
    print(json.dumps({"bench": "cli_run", "studio_s": round(studio_s, 3), "ffmpeg_s": round(ffmpeg_s, 3),
                      "ratio": round(studio_s / ffmpeg_s, 3), "runs_s": times, "frames": args.frames,
                      "size": f"{args.width}x{args.height}", "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
