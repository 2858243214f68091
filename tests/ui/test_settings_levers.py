"""The Settings page offers the speed levers this machine can use, each with its help text."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA machine more backends may be usable")
def test_the_settings_page_offers_only_usable_levers_and_explains_the_compile_warm_up(data_dir):
    cached_services.clear()
    try:
        at = AppTest.from_file(FRAME, default_timeout=60)
        at.run()
        at.switch_page("pages/settings.py").run()
        assert not at.exception, at.exception
        attention = at.selectbox(key="setting:attention_backend")
        assert attention.options == ["native"]
        quantization = at.selectbox(key="setting:quantization")
        assert "fp8_weight_only" not in quantization.options and "none" in quantization.options
        assert "group_offload" in at.selectbox(key="setting:memory_mode").options
        compile_toggle = at.toggle(key="setting:compile")
        assert "first run after loading is slower" in compile_toggle.help
        assert at.toggle(key="setting:keep_model_warm").value is True
    finally:
        cached_services().close()
        cached_services.clear()
