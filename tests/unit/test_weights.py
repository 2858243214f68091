"""Finding weights and judging whether they can be used, on small fake model folders (real
safetensors files holding a few numbers), plus the download's file choice and its offline refusal."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants as hub_constants
from safetensors.numpy import save_file

from studio.engines.diffusion import weights

MODEL = "acme/video-model"
INDEX = {
    "_class_name": "AcmeVideoPipeline",
    "_diffusers_version": "0.42.1",
    "unet": ["diffusers", "UNetModel"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "scheduler": ["diffusers", "DDIMScheduler"],
    "safety_checker": [None, None],  # an optional component left out
}


@pytest.fixture(autouse=True)
def empty_hub_cache(tmp_path, monkeypatch):
    """An empty huggingface cache, so the developer's own cache never leaks into a result."""
    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    return cache


def make_model(folder: Path, *, variant: str | None = None, plain: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps(INDEX))
    for component, weight_name in (("unet", "diffusion_pytorch_model"), ("text_encoder", "model")):
        (folder / component).mkdir(exist_ok=True)
        (folder / component / "config.json").write_text("{}")
        tensors = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3)}
        if plain:
            save_file(tensors, str(folder / component / f"{weight_name}.safetensors"))
        if variant:
            save_file({"weight": tensors["weight"].astype(np.float16)}, str(folder / component / f"{weight_name}.{variant}.safetensors"))
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.json").write_text("{}")
    (folder / "tokenizer" / "merges.txt").write_text("#version: 0.2\n")
    (folder / "tokenizer" / "tokenizer_config.json").write_text("{}")
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")
    return folder


# --- locate ------------------------------------------------------------------------------------


def test_missing_weights_name_the_install_command(tmp_path):
    status = weights.locate(MODEL, [tmp_path])
    assert status.state == "missing"
    assert "python launch.py download acme/video-model" in status.hint
    assert status.location is None


@pytest.mark.parametrize("name", ["acme--video-model", "video-model"])
def test_a_model_folder_holds_models_in_subfolders_named_like_the_hub_id(tmp_path, name):
    model = make_model(tmp_path / "models" / name)
    status = weights.locate(MODEL, ["/does/not/exist", tmp_path / "models"])
    assert status.ready, status.detail
    assert status.location == str(model)


def test_a_model_folder_can_be_the_model_itself(tmp_path):
    named = make_model(tmp_path / "video-model")
    assert weights.locate(MODEL, [named]).location == str(named)
    # A model folder with another name counts only when its class identifies the model.
    other = make_model(tmp_path / "my-copy")
    assert weights.locate(MODEL, [other]).state == "missing"
    assert weights.locate(MODEL, [other], index_classes=("AcmeVideoPipeline",)).location == str(other)


def test_the_huggingface_cache_is_searched_after_the_model_folders(tmp_path, empty_hub_cache):
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = empty_hub_cache / "models--acme--video-model"
    snapshot = make_model(repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    status = weights.locate(MODEL, [])
    assert status.ready and status.location == str(snapshot)
    assert weights.snapshot_revision(status.location) == revision
    assert weights.snapshot_revision(Path(status.location) / "unet") == revision
    # A copy in a model folder wins over the cache.
    local = make_model(tmp_path / "models" / "acme--video-model")
    assert weights.locate(MODEL, [tmp_path / "models"]).location == str(local)
    assert weights.snapshot_revision(local) is None


def test_fp16_only_folders_are_ready_and_say_which_variant_they_hold(tmp_path):
    both = make_model(tmp_path / "both", variant="fp16")
    half = make_model(tmp_path / "half", variant="fp16", plain=False)
    plain = make_model(tmp_path / "plain")
    assert weights.check_folder(half).ready
    assert (weights.variant_in(both, "fp16"), weights.plain_weights_in(both)) == (True, True)
    assert (weights.variant_in(half, "fp16"), weights.plain_weights_in(half)) == (True, False)
    assert (weights.variant_in(plain, "fp16"), weights.plain_weights_in(plain)) == (False, True)


def test_a_truncated_download_is_reported_not_raised(tmp_path):
    model = make_model(tmp_path / "models" / "video-model")
    target = model / "unet" / "diffusion_pytorch_model.safetensors"
    target.write_bytes(target.read_bytes()[:-5])
    status = weights.locate(MODEL, [tmp_path / "models"])
    assert status.state == "unusable"
    assert "unet" in status.detail and "truncated" in status.detail
    assert "python launch.py download acme/video-model" in status.hint


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda m: (m / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\xff" * 64), "corrupt"),
        (lambda m: (m / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b""), "empty or truncated"),
        (lambda m: (m / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(
            (20).to_bytes(8, "little") + b"{not json at all!!!}"), "not valid JSON"),
        (lambda m: (m / "unet" / "config.json").unlink(), "config.json is missing"),
        (lambda m: [p.unlink() for p in (m / "tokenizer").iterdir() if p.name != "tokenizer_config.json"], "tokenizer files"),
        (lambda m: __import__("shutil").rmtree(m / "text_encoder"), "text_encoder: the folder is missing"),
        (lambda m: (m / "model_index.json").write_text("{oops"), "model_index.json cannot be read"),
    ],
)
def test_broken_folders_say_what_is_wrong(tmp_path, damage, expected):
    model = make_model(tmp_path / "video-model")
    damage(model)
    status = weights.check_folder(model, MODEL)
    assert status.state == "unusable"
    assert expected in status.detail
    assert status.location == str(model)


def test_pickled_weights_are_refused(tmp_path):
    model = make_model(tmp_path / "video-model")
    weights_file = model / "unet" / "diffusion_pytorch_model.safetensors"
    weights_file.rename(weights_file.with_suffix(".bin"))
    status = weights.check_folder(model, MODEL)
    assert status.state == "unusable"
    assert "pickled" in status.detail and "refuses" in status.detail
    assert "safetensors" in status.hint


def test_a_missing_shard_is_reported(tmp_path):
    model = make_model(tmp_path / "video-model")
    index = {"metadata": {}, "weight_map": {"a": "diffusion_pytorch_model-00001-of-00002.safetensors",
                                            "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}}
    (model / "unet" / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    save_file({"a": np.zeros(2, np.float32)}, str(model / "unet" / "diffusion_pytorch_model-00001-of-00002.safetensors"))
    status = weights.check_folder(model, MODEL)
    assert status.state == "unusable"
    assert "00002-of-00002" in status.detail


def test_a_folder_without_model_index_is_not_a_model(tmp_path):
    (tmp_path / "video-model").mkdir()
    status = weights.check_folder(tmp_path / "video-model", MODEL)
    assert status.state == "unusable" and "model_index.json" in status.detail


# --- download ----------------------------------------------------------------------------------


def test_download_refuses_at_once_when_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(weights.DownloadError) as caught:
        weights.download(MODEL)
    assert time.monotonic() - started < 1.0
    assert "HF_HUB_OFFLINE" in str(caught.value)
    assert "model folder" in caught.value.hint


def test_download_fails_fast_without_network(monkeypatch, free_port):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port}")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(weights.DownloadError, match="cannot be reached"):
        weights.download(MODEL)
    assert time.monotonic() - started < weights.NETWORK_CHECK_SECONDS + 1


def test_download_fetches_only_what_loading_needs_preferring_the_fp16_variant():
    repo_files = [
        "model_index.json", "README.md", "ltx-video-2b-v0.9.safetensors",  # a root single-file checkpoint
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.bin",
        "text_encoder/config.json", "text_encoder/model-00001-of-00002.safetensors",
        "text_encoder/model-00002-of-00002.safetensors", "text_encoder/model.safetensors.index.json",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
        "scheduler/scheduler_config.json",
        "extras/other.safetensors",  # not a component of the pipeline
    ]
    assert weights.select_files(INDEX, repo_files) == sorted([
        "model_index.json",
        "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
        "text_encoder/config.json", "text_encoder/model-00001-of-00002.safetensors",
        "text_encoder/model-00002-of-00002.safetensors", "text_encoder/model.safetensors.index.json",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
        "scheduler/scheduler_config.json",
    ])
    plain = weights.select_files(INDEX, repo_files, prefer_variant=None)
    assert "unet/diffusion_pytorch_model.safetensors" in plain
    assert not any(".fp16." in name or name.endswith(".bin") for name in plain)


def test_download_progress_is_reported_as_lines_not_bars():
    from tqdm.contrib.concurrent import thread_map

    lines: list[str] = []
    reporter = weights._progress_tqdm(lines.append, every_seconds=0)
    bar = reporter(total=3e9, desc="Downloading bytes", unit="B", initial=0)
    bar.update(1e9)
    bar.update(2e9)
    bar.close()
    thread_map(lambda name: name, ["a", "b"], tqdm_class=reporter, desc="Fetching 2 files")
    assert lines == ["  Downloading bytes: 1.00 GB of 3.00 GB", "  Downloading bytes: 3.00 GB of 3.00 GB",
                     "  Fetching 2 files: 1/2 files", "  Fetching 2 files: 2/2 files"]


# --- custom code -------------------------------------------------------------------------------


def _add_auto_map_to_index(folder: Path) -> None:
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "auto_map": {"AcmeVideoPipeline": "pipeline.AcmeVideoPipeline"}}))


def _class_name_pair(folder: Path) -> None:
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "_class_name": ["pipeline_acme", "AcmeVideoPipeline"]}))


def _custom_component_module(folder: Path) -> None:
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "unet": ["acme_unet", "AcmeUNet"]}))


def _auto_map_in_component(folder: Path) -> None:
    (folder / "text_encoder" / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "modeling_acme.AcmeModel"}}))


def _python_file(folder: Path) -> None:
    (folder / "unet" / "modeling_acme.py").write_text("import os\n")


@pytest.mark.parametrize(("edit", "reason"), [
    (_add_auto_map_to_index, "model_index.json has an auto_map"),
    (_class_name_pair, "pipeline_acme.AcmeVideoPipeline"),
    (_custom_component_module, "'acme_unet'"),
    (_auto_map_in_component, "text_encoder/config.json has an auto_map"),
    (_python_file, "unet/modeling_acme.py"),
])
def test_a_folder_that_ships_its_own_code_is_unusable_and_says_why(tmp_path, edit, reason):
    folder = make_model(tmp_path / "video-model")
    assert weights.check_folder(folder, MODEL).ready  # the untouched folder is fine
    edit(folder)
    status = weights.check_folder(folder, MODEL)
    assert status.state == "unusable"
    assert "this model folder ships its own code (" in status.detail and reason in status.detail
    assert "the studio never runs code from a model folder" in status.detail


def test_a_saved_tiny_pipeline_naming_a_custom_pipeline_class_is_unusable(tmp_path):
    """A real saved pipeline (the tiny SVD) whose model_index.json names a custom pipeline, as a
    repository with its own pipeline code does: diffusers would ask for trust_remote_code."""
    from studio.devtools.tiny.svd import build_tiny_svd

    folder = build_tiny_svd(tmp_path / "tiny-svd")
    assert weights.check_folder(folder).ready
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = ["pipeline_custom_svd", "CustomSVDPipeline"]
    (folder / "model_index.json").write_text(json.dumps(index))
    (folder / "pipeline_custom_svd.py").write_text("from diffusers import DiffusionPipeline\n"
                                                     "class CustomSVDPipeline(DiffusionPipeline):\n    pass\n")
    status = weights.check_folder(folder)
    assert status.state == "unusable"
    assert "ships its own code (model_index.json names the pipeline class pipeline_custom_svd.CustomSVDPipeline)" in status.detail
