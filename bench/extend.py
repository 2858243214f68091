"""Benchmark: extending a run into a chain, and the chain as one video.

On a fresh SQLite history with the in-process worker: a camera-motion run (512x512, 48 frames by
default), extended twice from its last frame as the run page's Extend does; then the chain exported
as one MP4, and smoothed x2 as one run (the run page's "Smooth the whole chain x2"). Reported:

  last_frame_s:   taking the source's last frame out (Services.extension_start)
  extension_s:    one continuation, from submit to succeeded (median of the two)
  export_s:       the 3-link chain joined into one MP4
  chain_smooth_s: smooth x2 of the whole chain, from submit to succeeded

    python bench/extend.py [--size 512] [--frames 48]

The last line printed is JSON: {"bench": "extend", ...}.
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
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.extend", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="width and height")
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()

    from PIL import Image

    from studio.config import Paths
    from studio.jobs.queue import SubmitRequest
    from studio.samples import sample_images
    from studio.services import build_services

    with Image.open(sample_images()[0].path) as opened:
        image = opened.convert("RGB")
    params = {"width": args.size, "height": args.size, "frames": args.frames, "fps": 24, "motion": "zoom_in", "seed": 1}
    with tempfile.TemporaryDirectory(prefix="bench-extend-") as folder:
        root = Path(folder)
        paths = Paths(data_dir=root, logs_dir=root / "logs", database_url=f"sqlite:///{root / 'studio.db'}")
        services = build_services(paths, poll_interval=0.05)
        try:
            def finished(run_id: int) -> None:
                services.worker.run_until_idle(timeout=600)
                run = services.history.get_run(run_id)
                assert run.status == "succeeded", run.error

            links = [services.queue.submit(SubmitRequest(engine="motion", params=params, image=image))]
            finished(links[0])
            outs, extensions = [], []
            for _ in range(2):
                started = time.perf_counter()
                start = services.extension_start(links[-1])
                outs.append(time.perf_counter() - started)
                started = time.perf_counter()
                link = services.queue.submit(SubmitRequest(engine=start.engine, params=start.params,
                                                           image_id=start.image_id, continues_id=links[-1]))
                finished(link)
                extensions.append(time.perf_counter() - started)
                links.append(link)
            started = time.perf_counter()
            services.export_chain(links[0])
            export_s = time.perf_counter() - started
            started = time.perf_counter()
            smoothed = services.queue.post_process(links[-1], "smooth", {"factor": 2}, whole_chain=True)
            finished(smoothed)
            chain_smooth_s = time.perf_counter() - started
            made = services.history.get_run(smoothed)
        finally:
            services.close()

    joined = 3 * args.frames - 2
    figures = {"last_frame_s": statistics.median(outs), "extension_s": statistics.median(extensions),
               "export_s": export_s, "chain_smooth_s": chain_smooth_s}
    print(f"{args.size}x{args.size}, {args.frames}-frame links: last frame out {figures['last_frame_s']:.3f} s, "
          f"one extension {figures['extension_s']:.3f} s, the 3-link chain ({joined} frames) exported in "
          f"{export_s:.3f} s, smoothed x2 as one run in {chain_smooth_s:.2f} s ({made.frames} frames at {made.fps} fps)")
    print(json.dumps({"bench": "extend", "size": args.size, "frames": args.frames,
                      **{key: round(value, 4) for key, value in figures.items()},
                      "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
