"""Loading a diffusion pipeline says nothing about torchvision: the tiny SVD pipeline (it has a CLIP
image processor, which is what transformers warned about) is loaded and run in a fresh interpreter,
since transformers says that warning only once per process."""

from __future__ import annotations

import subprocess
import sys

from studio.config import PROJECT_ROOT, Paths, Settings
from studio.devtools.tiny.svd import build_tiny_svd
from studio.engines.diffusion import DiffusionEngine
from studio.engines.diffusion.families import TINY_SVD

LOAD_AND_RUN = """
import sys
from pathlib import Path
from PIL import Image
from studio.config import Paths, Settings
from studio.engines.base import RuntimeOptions
from studio.engines.diffusion import DiffusionEngine
from studio.engines.diffusion.families import TINY_SVD
from studio.requests import validate_for

data = Path(sys.argv[1])
engine = DiffusionEngine(TINY_SVD, Settings(), Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://"))
request = validate_for(engine, {"seed": 1, "steps": 1, "width": 32, "height": 32, "frames": 2})
result = engine.generate(Image.new("RGB", (32, 32), (90, 30, 200)), request,
                         RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu"),
                         on_step=lambda s, t: None, cancelled=lambda: False)
print("frames", result.frames.shape[0])
"""


def test_loading_a_pipeline_with_a_clip_image_processor_does_not_warn_about_torchvision(tmp_path):
    data = tmp_path / "data"
    engine = DiffusionEngine(TINY_SVD, Settings(), Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://"))
    build_tiny_svd(engine.tiny_folder())  # built here: building makes the processor too, and warns
    env = {"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(data)], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "frames 2" in result.stdout
    output = result.stdout + result.stderr
    assert "torchvision" not in output, output[-3000:]
    # torchao (weight quantization) is imported by diffusers on every load once installed; its
    # import-time notes about kernels and pickled tensors the studio never uses are not shown.
    assert "torchao" not in output and "Failed to load" not in output, output[-3000:]


def test_quieting_the_loading_bars_leaves_download_bars_as_they_were():
    """transformers' switch for its bars also turns off huggingface_hub's (downloads): they come back."""
    probe = ("from huggingface_hub.utils import are_progress_bars_disabled as off\n"
             "from studio.engines.diffusion.engine import _quiet_loading_bars\n"
             "from transformers.utils import logging as t\n"
             "_quiet_loading_bars(); print(off(), t.is_progress_bar_enabled())\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "False"], result.stdout + result.stderr
