"""The LoRA picker and speed choice on the real Generate page (AppTest, temporary history): only the
LoRAs made for the engine's family are offered, the run is queued with the stack and speed, Edit &
re-run fills them back in, the first LoRA's strength is a sweep axis, and Settings lists the library."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


def _lora(path: Path, block_prefix: str) -> None:
    save_file({f"transformer.{block_prefix}.attn1.to_q.lora_A.weight": torch.zeros(2, 24),
               f"transformer.{block_prefix}.attn1.to_q.lora_B.weight": torch.zeros(24, 2),
               f"transformer.{block_prefix}.attn2.to_q.lora_A.weight": torch.zeros(2, 24),
               f"transformer.{block_prefix}.attn2.to_q.lora_B.weight": torch.zeros(24, 2)}, str(path))


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=120)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_pick_loras_and_speed_queue_them_edit_them_and_sweep_a_strength(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "loras"
    folder.mkdir()
    _lora(folder / "ink.safetensors", "blocks.0")  # Wan's layer names
    _lora(folder / "ltx-motion.safetensors", "transformer_blocks.0")  # LTX-Video's
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # the run is only queued here
    try:
        svc.apply_settings(svc.settings().model_copy(update={
            "developer_mode": True, "lora_dirs": [str(folder)], "default_engine": "tiny-wan22-ti2v"}))
        at = _app()
        picker = next(m for m in at.multiselect if m.label == "LoRAs")
        assert [option.split(" · ")[0] for option in picker.options] == ["ink.safetensors"]
        assert any("1 LoRA in your folders is for other model families" in c.value for c in at.caption)
        picker.select("ink.safetensors").run()
        next(n for n in at.number_input if n.label == "Strength · ink.safetensors").set_value(0.6).run()
        next(s for s in at.selectbox if s.label == "Speed").select("fast").run()
        assert not at.error, [e.value for e in at.error]

        # The first LoRA's strength is a sweep axis.
        next(s for s in at.selectbox if s.key.startswith("variants-param-1-")).select("lora_strength").run()
        next(t for t in at.text_input if t.key.startswith("variants-values-1-")).input("0, 0.5, 1").run()
        assert any("3 runs" in m.value and "LoRA strength" in m.value for m in at.markdown)

        next(b for b in at.button if b.label == "Generate").click().run()
        assert not at.exception, at.exception
        (run_id,) = svc.history.recent_run_ids(1)
        run = svc.history.get_run(run_id)
        assert run.params["speed"] == "fast"
        assert [(e["name"], e["strength"]) for e in run.params["loras"]] == [("ink.safetensors", 0.6)]

        edit = _app(edit=str(run_id))
        assert next(m for m in edit.multiselect if m.label == "LoRAs").value == ["ink.safetensors"]
        assert next(n for n in edit.number_input if n.label == "Strength · ink.safetensors").value == 0.6
        assert next(s for s in edit.selectbox if s.label == "Speed").value == "fast"

        page = _app(run=str(run_id))
        page.switch_page("pages/gallery.py").run()
        assert not page.exception, page.exception
        (stack,) = [d.value for d in page.dataframe if "LoRA" in d.value.columns]
        assert list(stack["LoRA"]) == ["ink.safetensors"] and list(stack["strength"]) == [0.6]

        settings = _app()
        settings.switch_page("pages/settings.py").run()
        assert not settings.exception, settings.exception
        listed = next(d for d in settings.dataframe if "LoRA" in d.value.columns).value
        assert dict(zip(listed["LoRA"], listed["for"], strict=True)) == {"ink.safetensors": "Wan",
                                                                         "ltx-motion.safetensors": "LTX-Video or LTX-2"}
    finally:
        cached_services().close()
        cached_services.clear()
