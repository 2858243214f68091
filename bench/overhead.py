"""Benchmark: what the studio adds around a diffusion pipeline.

The same tiny random I2VGen-XL pipeline (the developer-only engine's folder), the same image, size,
frames, steps, guidance and seed, run two ways:

  studio: queue.submit -> worker claims the run -> engine.generate (progress written to the DB,
          cancel checked every step) -> MP4 + GIF + poster + thumbnail + sidecar -> row succeeded
  direct: pipe(**the same call arguments) on a pipeline loaded once, nothing else

Both sides have the pipeline loaded before timing (the studio keeps it between jobs). The headline
ratio is end to end (studio job wall time / direct call); the inference-only ratio (the run's
recorded infer_seconds / direct) is printed too. With a tiny model every step costs milliseconds,
so the studio's fixed costs (encoding, DB) weigh far more than they would on a real model; more
steps or a larger size show the ratio a real model would see.

    python bench/overhead.py [--steps 50] [--size 128] [--frames 16] [--reps 5]

The last line printed is JSON: {"bench": "overhead", ..., "ratio": studio_s / direct_s}.
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
    # Started as a script: run again as a module from the project root so `studio` imports as it
    # does for the app (no sys.path changes).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.overhead", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--size", type=int, default=128, help="width and height (multiple of 16)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from PIL import Image

    from studio.config import Paths
    from studio.db import settings as settings_rows
    from studio.db.engine import session_scope
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import load_adapter
    from studio.jobs.queue import SubmitRequest
    from studio.media.images import fit_image
    from studio.services import build_services

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        paths = Paths(data_dir=root, logs_dir=root / "logs", database_url=f"sqlite:///{root / 'studio.db'}")
        services = build_services(paths, poll_interval=0.05)
        with session_scope(services.sessions) as session:
            settings = settings_rows.load_settings(session)
            settings.developer_mode = True
            settings_rows.save_settings(session, settings)
        engine = services.registry.get("tiny-i2vgen-xl")
        image = Image.new("RGB", (320, 240), (120, 90, 60))
        params = {"width": args.size, "height": args.size, "frames": args.frames, "steps": args.steps,
                  "guidance": 9.0, "prompt": "a boat drifting", "negative_prompt": "blurry", "seed": 1234}

        def studio_job() -> tuple[float, float]:
            started = time.perf_counter()
            run_id = services.queue.submit(SubmitRequest(engine=engine.info.id, params=params, image=image, image_name="b.png"))
            services.worker.run_until_idle()
            wall = time.perf_counter() - started
            run = services.history.get_run(run_id)
            assert run.status == "succeeded", run.error
            return wall, run.infer_seconds

        studio_job()  # builds the tiny folder if needed, loads and warms the pipeline

        adapter = load_adapter(engine.family.adapter)
        pipe = adapter.pipeline_class().from_pretrained(str(engine.tiny_folder()), use_safetensors=True, local_files_only=True)
        pipe.set_progress_bar_config(disable=True)  # as the engine does: no tqdm on either side
        clean = engine.validate(params)
        fitted = fit_image(image, args.size, args.size, "crop")

        def direct_call() -> float:
            generator = torch.Generator("cpu").manual_seed(1234)
            kwargs = {**adapter.call_kwargs(fitted, clean, generator), "output_type": "np"}
            torch.manual_seed(1234)  # I2VGen-XL also draws from the global generator
            started = time.perf_counter()
            pipe(image=fitted, **kwargs)
            return time.perf_counter() - started

        direct_call()  # warm-up
        studio_walls, studio_infers, directs = [], [], []
        for _ in range(args.reps):  # interleaved, so machine load hits both sides alike
            wall, infer = studio_job()
            studio_walls.append(wall)
            studio_infers.append(infer)
            directs.append(direct_call())
        services.close()

    studio_s, infer_s, direct_s = (statistics.median(v) for v in (studio_walls, studio_infers, directs))
    print(f"tiny I2VGen-XL, {args.size}x{args.size}, {args.frames} frames, {args.steps} steps, {args.reps} reps (medians)")
    print(f"  studio job, end to end : {studio_s:.3f} s   (inference inside it: {infer_s:.3f} s)")
    print(f"  direct pipeline call   : {direct_s:.3f} s")
    print(f"  ratio end to end {studio_s / direct_s:.3f}, inference only {infer_s / direct_s:.3f}")
    print(json.dumps({"bench": "overhead", "steps": args.steps, "size": args.size, "frames": args.frames,
                      "studio_s": round(studio_s, 4), "studio_infer_s": round(infer_s, 4), "direct_s": round(direct_s, 4),
                      "infer_ratio": round(infer_s / direct_s, 4), "ratio": round(studio_s / direct_s, 4),
                      "runtime": RuntimeOptions().device}))


if __name__ == "__main__":
    main()
