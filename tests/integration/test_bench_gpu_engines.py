"""bench/gpu_engines.py's dry run (tiny pipeline, CPU, one mode and one option) runs to its JSON
line, so the GPU benchmark's loop, its measurements and its report cannot rot unseen."""

from __future__ import annotations

import json

from bench import gpu_engines


def test_the_dry_run_measures_a_mode_and_an_option_and_ends_with_one_json_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert gpu_engines.main(["--dry-run", "--steps", "2", "--folder", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["bench"] == "gpu_engines" and report["dry_run"] is True
    measured = report["results"]["i2vgen-xl"]
    cpu = measured["modes"]["cpu"]
    assert cpu["s_per_step"] > 0 and cpu["end_to_end_s"] >= cpu["load_s"] > 0, cpu
    option = measured["options"]["fp8_layerwise"]
    assert option["mode"] == "cpu" and option["s_per_step"] > 0, option
    assert measured["size"] == "32x32x4"


# Billions of parameters of each family's denoiser in the released checkpoints, and the family's
# denoiser_gb (half precision, used by auto's VRAM estimates) must agree with them.
DENOISERS = {"svd-xt": ("unet", 1.52), "wan2.2-ti2v-5b": ("transformer", 5.0),
             "wan2.1-i2v-14b-480p": ("transformer", 16.4), "ltx-video": ("transformer", 1.92),
             "cogvideox-5b-i2v": ("transformer", 5.57)}


def test_the_full_size_architectures_have_the_released_models_sizes():
    """Built on the meta device: every configuration is valid, and the sizes are the real ones."""
    import torch

    from studio.engines.diffusion import families

    for engine_id, (name, billions) in DENOISERS.items():
        with torch.device("meta"):
            components = {key: make() for key, make in gpu_engines.full_size_components(engine_id).items()}
        counts = {key: sum(p.numel() for p in module.parameters()) / 1e9 for key, module in components.items()}
        assert abs(counts[name] - billions) < 0.02 * billions, (engine_id, counts)
        assert abs(families.family_for(engine_id).denoiser_gb - 2 * counts[name]) < 0.15, (engine_id, counts)
        assert all(count > 0.05 for count in counts.values()), (engine_id, counts)  # no stand-in left tiny
