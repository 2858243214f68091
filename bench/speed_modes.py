"""Benchmark: the per-run speeds (quality, fast, turbo) on one warm tiny Wan 2.2 pipeline on the CPU,
plus a LoRA switch, through DiffusionEngine.generate (the worker's code path).

For each speed it prints the median wall and CPU seconds of a run and how many times the denoiser's
blocks did their work (counted at each block's feed-forward, which the cache skips). A LoRA switch
between runs is timed against the pipeline's first load, which it must not repeat. The tiny model's
weights are random, so the figures show what each speed does to the work done, not the speed-up a
real model gets (its threshold and distillation are tuned for real weights). The last line is JSON:
{"bench": "speed_modes", "ratio": fast_s / quality_s, ...}.

    python bench/speed_modes.py [--reps 3] [--steps 12] [--size 64] [--frames 9]
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
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.speed_modes", *sys.argv[1:]])

ENGINE = "tiny-wan22-ti2v"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=9)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from PIL import Image

    from studio.config import Paths, Settings
    from studio.devtools.tiny.lora import save_tiny_lora, save_tiny_turbo_lora
    from studio.devtools.tiny.wan import build_tiny_wan22_ti2v
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import DiffusionEngine, families
    from studio.requests import validate_for

    family = families.family_for(ENGINE)
    with tempfile.TemporaryDirectory() as folder:
        data, loras = Path(folder) / "data", Path(folder) / "loras"
        model = data / "tiny-models" / ENGINE
        build_tiny_wan22_ti2v(model)
        save_tiny_lora(model, loras / "a.safetensors", seed=1)
        save_tiny_lora(model, loras / "b.safetensors", seed=2)
        save_tiny_turbo_lora(model, loras, family.turbo.file)
        engine = DiffusionEngine(family, Settings(lora_dirs=[str(loras)]), Paths(data, data / "logs", "sqlite://"))
        cpu = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
        image = Image.new("RGB", (args.size, args.size), (200, 120, 40))
        base = {"prompt": "a cat walks", "seed": 1, "width": args.size, "height": args.size,
                "frames": args.frames, "steps": args.steps}
        calls = [0]

        def run(**options):
            request = validate_for(engine, {**base, **options})
            calls[0] = 0
            wall, cpu_s = time.perf_counter(), time.process_time()
            result = engine.generate(image, request, cpu, on_step=lambda *_: None, cancelled=lambda: False)
            return time.perf_counter() - wall, time.process_time() - cpu_s, calls[0], result

        first_wall, _, _, first = run()  # loads the pipeline
        for block in engine.pipeline.transformer.blocks:
            block.ffn.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
        figures = {}
        for speed in ("quality", "fast", "turbo"):
            samples = [run(speed=speed) for _ in range(args.reps)]
            figures[speed] = {"wall_s": statistics.median(s[0] for s in samples),
                              "cpu_s": statistics.median(s[1] for s in samples),
                              "block_calls": samples[-1][2], "steps": samples[-1][3].manifest["steps_run"]}
            print(f"{speed:8s} {figures[speed]['wall_s']:.2f} s wall, {figures[speed]['cpu_s']:.2f} s CPU, "
                  f"{figures[speed]['steps']} steps, {figures[speed]['block_calls']} block calls")
        switches = []
        for name in ("a.safetensors", "b.safetensors") * args.reps:
            wall, _, _, result = run(loras=[{"name": name, "strength": 0.8}])
            switches.append((wall, result.load_seconds))
        switch_wall = statistics.median(s[0] for s in switches)
        reloads = sum(1 for s in switches if s[1] > 0)
        print(f"LoRA switch: {switch_wall:.2f} s per run, base reloads {reloads} "
              f"(first load {first.load_seconds:.2f} s of a {first_wall:.2f} s run)")
    q, f, t = figures["quality"], figures["fast"], figures["turbo"]
    # CPU seconds too: on a shared machine they move less with other people's load than wall time.
    print(json.dumps({"bench": "speed_modes", "ratio": round(f["wall_s"] / q["wall_s"], 3),
                      "turbo_ratio": round(t["wall_s"] / q["wall_s"], 3), "cpu_ratio": round(f["cpu_s"] / q["cpu_s"], 3),
                      "turbo_cpu_ratio": round(t["cpu_s"] / q["cpu_s"], 3), "quality": q, "fast": f, "turbo": t,
                      "lora_switch_s": round(switch_wall, 3), "base_reloads": reloads,
                      "first_load_s": round(first.load_seconds, 3),
                      "steps": args.steps, "size": args.size, "frames": args.frames}))


if __name__ == "__main__":
    sys.exit(main())
