"""The LoRA library on real files: which family a LoRA's layer names say it is for, what a folder
lists, and how LoRAs travel in a recipe and on the command line."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from studio.cli.submission import parse_lora
from studio.engines.diffusion.lora_library import check_folders, detect_families, find, list_loras
from studio.engines.diffusion.families import family_for
from studio.recipes import form_values


@pytest.mark.parametrize(("keys", "families"), [
    (["transformer.blocks.0.attn1.to_q.lora_A.weight"], ("wan",)),  # diffusers
    (["diffusion_model.blocks.3.self_attn.q.lora_down.weight"], ("wan",)),  # original / ComfyUI
    (["lora_unet_blocks_0_cross_attn_k.lora_down.weight"], ("wan",)),  # kohya
    (["transformer.transformer_blocks.0.attn2.to_k.lora_A.weight"], ("ltx", "ltx2")),  # LTX-2 has these layers too
    (["transformer.transformer_blocks.0.attn2.to_k.lora_A.weight",
      "transformer.transformer_blocks.0.audio_attn1.to_q.lora_A.weight"], ("ltx2",)),
    (["transformer.transformer_blocks.0.video_to_audio_attn.to_k.lora_A.weight"], ("ltx2",)),
    (["transformer.transformer_blocks.0.norm1.linear.lora_A.weight"], ("cogvideox",)),
    (["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"], ("ltx", "ltx2", "cogvideox")),  # nothing tells them apart
    (["transformer.transformer_blocks.0.attn.to_q.lora_A.weight",
      "transformer.transformer_blocks.0.norm1.linear.lora_A.weight"], ("framepack", "hunyuanvideo15")),  # double-stream
    (["transformer.single_transformer_blocks.3.proj_mlp.lora_A.weight",
      "transformer.transformer_blocks.0.attn.to_q.lora_A.weight"], ("framepack",)),  # only FramePack's has these
    (["unet.down_blocks.1.temp_attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight"], ("i2vgen-xl",)),
    (["unet.up_blocks.1.attentions.0.temporal_transformer_blocks.0.attn1.to_q.lora.down.weight"], ("svd",)),
    (["text_encoder.encoder.layers.0.q_proj.lora_A.weight"], ()),
])
def test_the_family_is_read_from_the_layer_names(keys, families):
    assert detect_families(keys) == families


def test_a_folder_lists_its_safetensors_loras_with_size_and_family(tmp_path):
    wan = {"transformer.blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 4)}
    save_file(wan, str(tmp_path / "Ink.safetensors"))
    (tmp_path / "styles").mkdir()
    save_file({"transformer.transformer_blocks.0.attn2.to_q.lora_A.weight": torch.zeros(2, 4)},
              str(tmp_path / "styles" / "glow.safetensors"))
    save_file(wan, str(tmp_path / ".ink.partial.safetensors"))  # a download in progress
    (tmp_path / "old.ckpt").write_bytes(b"pickled")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 5)

    listed = {lora.name: lora for lora in list_loras([tmp_path, tmp_path / "missing"])}
    assert list(listed) == ["broken.safetensors", "Ink.safetensors", "styles/glow.safetensors"]
    assert listed["Ink.safetensors"].families == ("wan",) and listed["Ink.safetensors"].family_label == "Wan"
    assert listed["Ink.safetensors"].size == (tmp_path / "Ink.safetensors").stat().st_size
    assert listed["styles/glow.safetensors"].fits("ltx") and not listed["styles/glow.safetensors"].fits("wan")
    assert listed["broken.safetensors"].problem.startswith("not a readable safetensors file")
    assert not listed["broken.safetensors"].fits("wan")
    assert find([tmp_path], "glow").name == "styles/glow.safetensors"  # by file name when it is unique
    assert find([tmp_path], "nothing") is None

    check_folders([str(tmp_path)])
    with pytest.raises(ValueError, match="LoRA folder .*missing does not exist"):
        check_folders([str(tmp_path / "missing")])


def test_each_family_has_its_speed_data():
    assert family_for("svd").fast_cache_threshold is None
    assert family_for("wan2.1-i2v-14b-480p").turbo.steps == 4
    assert family_for("tiny-wan22-ti2v").turbo is not None and family_for("tiny-wan21-i2v").turbo is None


def test_a_recipe_restores_its_speed_and_well_formed_loras(tmp_path):
    info = family_for("tiny-wan22-ti2v").info()
    entry = {"name": "ink.safetensors", "path": "/x/ink.safetensors", "sha256": "ab" * 32, "strength": 0.8,
             "second_expert": False}
    kept, dropped = form_values(info, {"speed": "turbo", "loras": [entry]})
    assert kept["speed"] == "turbo" and kept["loras"] == [entry] and dropped == []
    kept, dropped = form_values(info, {"loras": [entry, {"name": 3}, "ink"]})
    assert kept["loras"] == [entry] and dropped == ["loras"]
    kept, dropped = form_values(info, {"loras": "ink"})
    assert "loras" not in kept and dropped == ["loras"]


def test_the_command_line_lora_takes_a_path_or_name_and_a_strength(tmp_path):
    lora = tmp_path / "ink:v2.safetensors"
    lora.write_bytes(b"")
    assert parse_lora(f"{lora}:0.8") == {"name": str(lora), "strength": 0.8}
    assert parse_lora(str(lora)) == {"name": str(lora), "strength": 1.0}  # the ':' is the file's own
    assert parse_lora("styles/glow.safetensors:-0.5") == {"name": "styles/glow.safetensors", "strength": -0.5}
    assert parse_lora("glow") == {"name": "glow", "strength": 1.0}
