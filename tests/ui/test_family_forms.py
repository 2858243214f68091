"""The Generate form of each new diffusion family (Wan 2.2 I2V A14B, SkyReels-V2 I2V, SkyReels-V2
diffusion forcing, LTX-2, FramePack, HunyuanVideo 1.5 I2V) shows that family's own parameters, each
with its help, and nothing of another engine, and says when a model makes sound (Streamlit's AppTest
on the real page, a temporary history; no weights are needed to see the form)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from studio.engines.diffusion import families
from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
NEW = (families.WAN22_I2V_A14B, families.SKYREELS_V2_I2V_14B_540P, families.SKYREELS_V2_DF_14B_540P,
       families.LTX2, families.FRAMEPACK, families.HUNYUANVIDEO15_I2V)
SOUND = "This model makes sound too"


def _params_shown(at: AppTest, engine_id: str) -> dict[str, str]:
    """Parameter name -> help text, for the engine's parameter widgets on the page."""
    others = [f.engine_id for f in families.FAMILIES if f.engine_id != engine_id] + ["motion"]
    shown = {}
    for widget in [*at.number_input, *at.selectbox]:
        name = (widget.key or "").split("@")[0]
        assert not any(name.startswith(other + ".") for other in others), f"{engine_id}'s form shows {name}"
        if name.startswith(engine_id + "."):
            shown[name.removeprefix(engine_id + ".")] = widget.help or ""
    return shown


def test_each_new_family_shows_its_own_parameters_with_help(data_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached_services.clear()
    try:
        at = AppTest.from_file(FRAME, default_timeout=120).run()
        assert not at.exception, at.exception
        engine_box = next(box for box in at.selectbox if (box.key or "").startswith("engine@"))
        for family in NEW:
            at = engine_box.set_value(family.engine_id).run()
            assert not at.exception, at.exception
            info = family.info()
            shown = _params_shown(at, family.engine_id)
            # The size preset and aspect lock also live under the engine's name; every parameter is there.
            assert {spec.name for spec in info.params} <= set(shown), (family.engine_id, sorted(shown))
            assert set(shown) - {spec.name for spec in info.params} <= {"preset"}, sorted(shown)
            for spec in info.params:
                assert spec.help in shown[spec.name], (family.engine_id, spec.name)
            assert any(family.description in caption.value for caption in at.caption)
            says_sound = any(SOUND in caption.value for caption in at.caption)
            assert says_sound == info.makes_sound, family.engine_id
            if family is families.SKYREELS_V2_DF_14B_540P:
                labels = {w.label for w in at.number_input}
                assert {"Window frames", "Overlap frames", "Causal lag (ar_step)", "Condition noise"} <= labels
            engine_box = next(box for box in at.selectbox if (box.key or "").startswith("engine@"))
    finally:
        cached_services().close()
        cached_services.clear()
