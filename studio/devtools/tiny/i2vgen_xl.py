"""A tiny, randomly initialised I2VGen-XL pipeline for tests and the developer-only engine.

Same classes as ali-vilab/i2vgen-xl (I2VGenXLUNet, AutoencoderKL, CLIPTextModel,
CLIPVisionModelWithProjection, CLIPImageProcessor, CLIPTokenizer, DDIMScheduler with the released
scheduler configuration) and the same folder layout, shrunk to about 200k parameters. The VAE keeps
the real 8x spatial factor; the UNet halves once (the real one three times), so sizes move on a
16 px grid. Deterministic: the same weights on every build.

The folder is written the way the released checkpoint is, not the way transformers 5 would save it,
so loading it exercises the same code paths as the real model:
  * text_encoder keys carry the `text_model.` prefix (transformers 4 layout);
  * the tokenizer is vocab.json + merges.txt (no tokenizer.json), written here — never fetched;
  * model_index.json names CLIPImageProcessor (transformers 5 without torchvision saves the name
    of its Pillow fallback class instead).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

TINY_SIZE = 32
MODEL_MAX_LENGTH = 77  # as the real tokenizer; I2VGen-XL pads every prompt to it
_HIDDEN = 8
_SPECIAL = ("<|startoftext|>", "<|endoftext|>")


def build_tiny_i2vgen_xl(folder: Path) -> Path:
    """Build the tiny pipeline and save it (safetensors only) to `folder`; returns `folder`.

    Written to a temporary folder beside `folder` and renamed into place, so a reader sees either
    a complete pipeline or none (an existing `folder` is replaced whole).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tokenizer_files = staging / ".tokenizer-source"
        tokenizer_files.mkdir()
        pipe = build_tiny_i2vgen_xl_pipeline(tokenizer_files)
        pipe.save_pretrained(staging, safe_serialization=True)
        shutil.rmtree(tokenizer_files)
        _write_released_layout(staging)
        _move_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def build_tiny_i2vgen_xl_pipeline(tokenizer_dir: Path) -> Any:
    """The tiny I2VGenXLPipeline in memory; its tokenizer's vocabulary is written to `tokenizer_dir`."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, I2VGenXLPipeline
    from diffusers.models.unets.unet_i2vgen_xl import I2VGenXLUNet
    from transformers import (
        CLIPImageProcessor,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTokenizer,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    vocab, merges = write_clip_vocabulary(Path(tokenizer_dir))
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=MODEL_MAX_LENGTH)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = I2VGenXLUNet(
            sample_size=TINY_SIZE // 8,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
            up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
            block_out_channels=(8, 16),
            layers_per_block=1,
            norm_num_groups=2,
            cross_attention_dim=_HIDDEN,
            attention_head_dim=4,
        )
        torch.manual_seed(0)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,  # the real 8x factor
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(8, 8, 8, 8),
            layers_per_block=1,
            norm_num_groups=2,
            latent_channels=4,
            sample_size=TINY_SIZE,
            scaling_factor=0.18125,
        )
        torch.manual_seed(0)
        # Two layers at least: the pipeline reads the penultimate one (clip_skip=1).
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(json.loads(vocab.read_text(encoding="utf-8"))),
            hidden_size=_HIDDEN,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=MODEL_MAX_LENGTH,
            projection_dim=_HIDDEN,
            hidden_act="gelu",
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
        )).eval()
        torch.manual_seed(0)
        image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=_HIDDEN,
            intermediate_size=16,
            projection_dim=_HIDDEN,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=TINY_SIZE,
            patch_size=8,
            hidden_act="gelu",
        )).eval()
    feature_extractor = CLIPImageProcessor(size={"shortest_edge": TINY_SIZE}, crop_size={"height": TINY_SIZE, "width": TINY_SIZE})
    # The released scheduler configuration, unchanged.
    scheduler = DDIMScheduler(
        beta_start=0.0001,
        beta_end=0.02,
        beta_schedule="squaredcos_cap_v2",
        clip_sample=False,
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        set_alpha_to_one=True,
        steps_offset=1,
        timestep_spacing="leading",
    )
    return I2VGenXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        image_encoder=image_encoder,
        feature_extractor=feature_extractor,
        unet=unet,
        scheduler=scheduler,
    )


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte-level BPE alphabet: every byte as a printable character."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def write_clip_vocabulary(folder: Path) -> tuple[Path, Path]:
    """vocab.json with every byte (alone and word-final) plus a few merges, so any prompt tokenizes."""
    folder.mkdir(parents=True, exist_ok=True)
    alphabet = list(_bytes_to_unicode().values())
    merges = ["t h", "th e</w>", "a n", "an d</w>", "o f</w>", "i n</w>"]
    tokens = alphabet + [c + "</w>" for c in alphabet] + [m.replace(" ", "") for m in merges] + list(_SPECIAL)
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges_path.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_path, merges_path


def _write_released_layout(folder: Path) -> None:
    """Rewrite what transformers 5 saved into the layout of the released checkpoint (see module doc)."""
    from safetensors.torch import load_file, save_file

    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    weights = folder / "text_encoder" / "model.safetensors"
    tensors = load_file(weights)
    save_file({f"text_model.{k}" if not k.startswith("text_model.") else k: v for k, v in tensors.items()},
              weights, metadata={"format": "pt"})

    tokenizer = folder / "tokenizer"
    for stale in tokenizer.iterdir():
        stale.unlink()
    write_clip_vocabulary(tokenizer)
    specials = {"bos_token": _SPECIAL[0], "eos_token": _SPECIAL[1], "unk_token": _SPECIAL[1], "pad_token": _SPECIAL[1]}
    (tokenizer / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": MODEL_MAX_LENGTH, "do_lower_case": True,
              "errors": "replace", "add_prefix_space": False, **specials}
    (tokenizer / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, folder: Path) -> None:
    if folder.exists():
        # A directory cannot be replaced by one rename: move the old one aside first.
        retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
        folder.rename(retired / folder.name)
        staging.rename(folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(folder)
