"""Benchmark: a camera-motion job through the real worker, and what comes after its last frame.

Each rep queues one motion run (512x512, 48 frames, 24 fps by default) on a fresh SQLite history
and lets the in-process worker run it exactly as the server's does: frames streamed into the
encoder and measured on the way (poster and thumbnail written from the first frame meanwhile),
then the sidecar and the row. Reported (medians):

  job_s:       from submit to the row saying succeeded
  render_s:    the run's infer_seconds (until the encoder took the last frame)
  fixed_s:     the run's encode_seconds: everything after the last frame (the encoder finishing
               the frames it still holds, then the rest); the target is 0.2 s
  files_s:     of that, what comes after the encoder has finished (the sidecar, measuring's
               last step), read from the run's log
  measure_s:   the run's own measurement time, and its share of the job (target: 10% at most)

    python bench/motion_job.py [--reps 7] [--size 512] [--frames 48]

The last line printed is JSON: {"bench": "motion_job", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.motion_job", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
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
    params = {"width": args.size, "height": args.size, "frames": args.frames, "fps": 24, "motion": "zoom_in",
              "easing": "ease_in_out", "guidance": 1.0, "seed": 1}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-motion-job-") as folder:
        root = Path(folder)
        paths = Paths(data_dir=root, logs_dir=root / "logs", database_url=f"sqlite:///{root / 'studio.db'}")
        services = build_services(paths, poll_interval=0.05)
        try:
            for rep in range(args.reps + 1):  # rep 0 warms caches and is not counted
                started = time.perf_counter()
                run_id = services.queue.submit(SubmitRequest(engine="motion", params=params, image=image,
                                                             image_name="sample.png"))
                services.worker.run_until_idle(timeout=120)
                job = time.perf_counter() - started
                run = services.history.get_run(run_id)
                assert run.status == "succeeded", run.error
                assert run.measurements is not None, "the run was not measured: its log says why"
                measure = run.measurements["seconds"]
                logged = re.search(r"then files ([\d.]+)s", Path(run.log_path).read_text())
                files = float(logged.group(1)) if logged else float("nan")
                print(f"{'warm-up' if rep == 0 else f'rep {rep}':>8}: job {job:.3f} s, render {run.infer_seconds:.3f} s, "
                      f"after the last frame {run.encode_seconds:.3f} s (files {files:.3f} s), measuring {measure:.3f} s")
                if rep:
                    rows.append((job, run.infer_seconds, run.encode_seconds, files, measure))
        finally:
            services.close()

    job_s, render_s, fixed_s, files_s, measure_s = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"median of {args.reps}: job {job_s:.3f} s, render {render_s:.3f} s, after the last frame {fixed_s:.3f} s "
          f"(after the encoder: {files_s:.3f} s), measuring {measure_s:.3f} s ({100 * measure_s / job_s:.1f}% of the job)")
    print(json.dumps({"bench": "motion_job", "size": args.size, "frames": args.frames, "reps": args.reps,
                      "job_s": round(job_s, 4), "render_s": round(render_s, 4), "fixed_s": round(fixed_s, 4),
                      "files_s": round(files_s, 4),
                      "measure_s": round(measure_s, 4), "measure_share": round(measure_s / job_s, 4),
                      "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
