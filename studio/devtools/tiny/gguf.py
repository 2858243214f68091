"""A GGUF single-file checkpoint of a tiny Wan denoiser, made in code.

The GGUF files creators download for Wan (city96's, QuantStack's) hold the transformer under the
original checkpoint's names (`blocks.0.self_attn.q.weight`, `head.head.weight`, …), its weight
matrices quantized in blocks of 32 values (Q8_0, Q4_K, …) and the rest (norms, biases, convolutions)
in float. diffusers reads such a file with `from_single_file` and renames it to its own layout
(`convert_wan_transformer_to_diffusers`). This writes the same kind of file from a saved tiny
pipeline, so the studio's GGUF loading (studio.engines.diffusion.levers) runs in tests as it would
on a downloaded file.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.media.atomic import atomic_path

# diffusers' names -> the original Wan checkpoint's, tried in this order on each name; the inverse of
# diffusers' TRANSFORMER_KEYS_RENAME_DICT for the keys a Wan I2V/TI2V transformer has. `save_tiny_wan_gguf`
# checks the result by running diffusers' own conversion on it.
_ORIGINAL_NAMES = (
    ("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
    ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
    ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
    ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("condition_embedder.image_embedder.norm1", "img_emb.proj.0"),
    ("condition_embedder.image_embedder.ff.net.0.proj", "img_emb.proj.1"),
    ("condition_embedder.image_embedder.ff.net.2", "img_emb.proj.3"),
    ("condition_embedder.image_embedder.norm2", "img_emb.proj.4"),
    ("attn1", "self_attn"),
    ("attn2", "cross_attn"),
    (".to_out.0.", ".o."),
    (".to_q.", ".q."),
    (".to_k.", ".k."),
    (".to_v.", ".v."),
    (".add_k_proj.", ".k_img."),
    (".add_v_proj.", ".v_img."),
    (".norm_added_k.", ".norm_k_img."),
    ("ffn.net.0.proj", "ffn.0"),
    ("ffn.net.2", "ffn.2"),
    (".scale_shift_table", ".modulation"),
    # A block's cross-attention norm is diffusers' norm2 and the original's norm3 (and back).
    (".norm2.", ".norm__swap."),
    (".norm3.", ".norm2."),
    (".norm__swap.", ".norm3."),
)


def original_wan_name(name: str) -> str:
    """A Wan transformer parameter's name in the original checkpoint, from diffusers' name."""
    if name == "scale_shift_table":
        return "head.modulation"
    if name.startswith("proj_out."):
        return "head.head." + name.removeprefix("proj_out.")
    for ours, theirs in _ORIGINAL_NAMES:
        name = name.replace(ours, theirs)
    return name


def save_tiny_wan_gguf(model_folder: Path, destination: Path, *, component: str = "transformer",
                       quant: str = "Q8_0") -> Path:
    """The denoiser saved in `model_folder/component` as a GGUF file at `destination`: each weight
    matrix whose rows divide into 32-value blocks quantized as `quant`, everything else float32,
    under the original checkpoint's names. Returns `destination`."""
    import diffusers
    import gguf
    import numpy as np
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    folder = Path(model_folder) / component
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model = getattr(diffusers, config["_class_name"]).from_pretrained(folder, local_files_only=True)
    ours = {name: tensor.detach().float().numpy() for name, tensor in model.state_dict().items()}
    theirs = {original_wan_name(name): tensor for name, tensor in ours.items()}
    back = convert_wan_transformer_to_diffusers(dict.fromkeys(theirs, None))
    if sorted(back) != sorted(ours):
        raise ValueError(f"The original names do not convert back to diffusers': "
                         f"{sorted(set(back) ^ set(ours))[:6]}")

    qtype = gguf.GGMLQuantizationType[quant]
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(destination) as partial:
        writer = gguf.GGUFWriter(str(partial), arch="wan")
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for name, values in theirs.items():
            if values.ndim == 2 and values.shape[-1] % block == 0:
                writer.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)
            else:
                writer.add_tensor(name, np.ascontiguousarray(values, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return destination
