"""Benchmark: x264's look-ahead against the time a clip takes after its last frame, its size and
its quality.

The camera-motion engine's own frames (4:2:0 planes, 512x512, 48 frames by default, a zoom on the
first sample) are rendered once, then piped into the bundled ffmpeg (libx264 medium, CRF 18, as the
studio encodes) at a render-like pace, once per look-ahead. Reported per look-ahead (medians):

  tail_s:  from the last frame written to ffmpeg's exit (the encoder finishing what it holds)
  total_s: from the first frame to ffmpeg's exit
  bytes:   the MP4's size
  psnr_db: PSNR of the decoded MP4 against the frames given (ffmpeg's psnr filter, average)

studio.media.encode.LOOKAHEAD_FRAMES is the value the studio uses. The last line printed is JSON:
{"bench": "lookahead", "rows": [{"lookahead": ..., "tail_s": ..., ...}, ...]}.

    python bench/lookahead.py [--reps 5] [--size 512] [--frames 48] [--lookaheads 40,20,10,6]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.lookahead", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--size", type=int, default=512, help="width and height")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--pace-ms", type=float, default=4.0, help="time between frames written (a render's pace)")
    parser.add_argument("--lookaheads", default="40,20,10,6")
    args = parser.parse_args()

    from PIL import Image

    from studio.engines.motion import MotionEngine
    from studio.media.encode import LOOKAHEAD_FRAMES, ffmpeg_exe
    from studio.requests import validate_for
    from studio.samples import sample_images

    with Image.open(sample_images()[0].path) as opened:
        image = opened.convert("RGB")
    engine = MotionEngine()
    request = validate_for(engine, {"width": args.size, "height": args.size, "frames": args.frames, "fps": 24,
                                    "motion": "zoom_in", "easing": "ease_in_out", "guidance": 1.0, "seed": 1})
    frames = [b"".join(bytes(plane) for plane in frame.planes())
              for frame in engine.iter_frames(image, request, on_step=lambda *_: None, cancelled=lambda: False)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lookahead-") as folder:
        raw, video = Path(folder) / "frames.yuv", Path(folder) / "clip.mp4"
        raw.write_bytes(b"".join(frames))
        size = f"{args.size}x{args.size}"
        for lookahead in (int(value) for value in args.lookaheads.split(",")):
            command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                       "-s", size, "-r", "24", "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", "18",
                       "-rc-lookahead", str(lookahead), "-movflags", "+faststart", str(video)]
            timings = []
            for _ in range(args.reps):
                process = subprocess.Popen(command, stdin=subprocess.PIPE)
                started = time.perf_counter()
                for frame in frames:
                    process.stdin.write(frame)
                    time.sleep(args.pace_ms / 1000)
                process.stdin.close()
                last = time.perf_counter()
                process.wait()
                ended = time.perf_counter()
                timings.append((ended - last, ended - started))
            compared = subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size,
                 "-r", "24", "-i", str(raw), "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"],
                capture_output=True, text=True, check=True).stderr
            psnr = float(re.search(r"average:([0-9.]+)", compared).group(1))
            row = {"lookahead": lookahead, "tail_s": round(statistics.median(t[0] for t in timings), 3),
                   "total_s": round(statistics.median(t[1] for t in timings), 3), "bytes": video.stat().st_size,
                   "psnr_db": round(psnr, 2)}
            rows.append(row)
            print(f"look-ahead {lookahead:>2}{' (the studio)' if lookahead == LOOKAHEAD_FRAMES else '':13}: "
                  f"after the last frame {row['tail_s']:.3f} s, in all {row['total_s']:.3f} s, "
                  f"{row['bytes']:,} bytes, PSNR {row['psnr_db']:.2f} dB")
    print(json.dumps({"bench": "lookahead", "size": args.size, "frames": args.frames, "reps": args.reps,
                      "studio_lookahead": LOOKAHEAD_FRAMES, "rows": rows, "cpus": os.cpu_count(),
                      "load_avg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
