"""The Generate form of LTX-2, FramePack and HunyuanVideo 1.5 I2V shows each family's own
parameters with their help and nothing of another engine, and says when a model makes sound
(Streamlit's AppTest on the real page, a temporary history; no weights are needed to see the form)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from studio.engines.diffusion import families
from studio.ui.runtime import services as cached_services
from tests.ui.test_family_forms import _params_shown  # one reading of a family's form

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
SOUND = "This model makes sound too"


def test_each_family_shows_its_own_parameters_and_whether_it_makes_sound(data_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached_services.clear()
    try:
        at = AppTest.from_file(FRAME, default_timeout=120).run()
        assert not at.exception, at.exception
        for family in (families.LTX2, families.FRAMEPACK, families.HUNYUANVIDEO15_I2V):
            engine_box = next(box for box in at.selectbox if (box.key or "").startswith("engine@"))
            at = engine_box.set_value(family.engine_id).run()
            assert not at.exception, at.exception
            shown = _params_shown(at, family.engine_id)
            assert {spec.name for spec in family.params} <= set(shown), (family.engine_id, sorted(shown))
            for spec in family.params:
                assert spec.help in shown[spec.name], (family.engine_id, spec.name)
            says_sound = any(SOUND in caption.value for caption in at.caption)
            assert says_sound == family.makes_sound, family.engine_id
    finally:
        cached_services().close()
        cached_services.clear()
