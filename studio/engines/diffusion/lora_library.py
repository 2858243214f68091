"""The LoRA library: the `.safetensors` files in the LoRA folders (Settings → LoRA folders), each
with its size and the model family it was trained for, read from its layer names.

Only safetensors files are listed or loaded: a pickled `.pt`/`.ckpt`/`.bin` LoRA can run code when
opened. Reading a file's family opens its header only (a few kB), never its tensors, so listing is
cheap; the sha256 that names a LoRA in a run's record is computed once per file version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.media.digest import file_sha256

SUFFIX = ".safetensors"
# A separator in a layer name: "." in diffusers/PEFT files, "_" in kohya-style ones (lora_unet_blocks_0_…).
_S = r"[._]"
_START = r"(?:^|\.|lora_unet_|lora_transformer_)"
# HunyuanVideo's two kinds of block: double-stream ones (an `attn` with no number) and single-stream ones.
_DOUBLE = rf"transformer_blocks{_S}\d+{_S}attn{_S}"
_SINGLE = rf"single_transformer_blocks{_S}\d+{_S}"

# How each family's denoiser names its layers, as LoRA files for it spell them: the original
# checkpoints' names (Wan's `blocks.N.self_attn`, ComfyUI's `diffusion_model.` prefix) and the
# diffusers names (`blocks.N.attn1`). Families whose layer names no pattern tells apart are listed
# together; a family not listed here takes any LoRA, and diffusers refuses one that does not fit.
FAMILY_PATTERNS: dict[str, re.Pattern[str]] = {
    "wan": re.compile(rf"{_START}blocks{_S}\d+{_S}(?:self_attn|cross_attn|attn1|attn2|ffn){_S}"),
    # LTX-Video's blocks cross-attend to the prompt (attn2); CogVideoX's attend jointly (attn1 only).
    "ltx": re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}(?:attn1|attn2|ff){_S}"),
    # LTX-2's blocks have LTX-Video's video layers and audio ones of their own.
    "ltx2": re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}"
                       rf"(?:attn1|attn2|ff|audio_attn1|audio_attn2|audio_to_video_attn|video_to_audio_attn|audio_ff){_S}"),
    "cogvideox": re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}(?:attn1|ff|norm1){_S}"),
    # HunyuanVideo's (FramePack's) blocks, both kinds.
    "framepack": re.compile(rf"{_START}(?:{_SINGLE}|{_DOUBLE})"),
    # HunyuanVideo 1.5's blocks are HunyuanVideo's double-stream ones; it has no single-stream blocks.
    "hunyuanvideo15": re.compile(rf"{_START}{_DOUBLE}"),
    "i2vgen-xl": re.compile(rf"{_START}(?:down_blocks|up_blocks|mid_block){_S}.*temp_attentions"),
    "svd": re.compile(rf"{_START}(?:down_blocks|up_blocks|mid_block){_S}.*(?:temporal_transformer_blocks|time_stack)"),
}
_LTX_ONLY = re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}attn2{_S}")
_LTX2_ONLY = re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}(?:audio_|video_to_audio_attn{_S})")
_COGVIDEOX_ONLY = re.compile(rf"{_START}transformer_blocks{_S}\d+{_S}norm1{_S}")
_UNET = re.compile(rf"{_START}(?:down_blocks|up_blocks|mid_block){_S}")
_SINGLE_STREAM = re.compile(rf"{_START}{_SINGLE}")

FAMILY_NAMES = {"wan": "Wan", "ltx": "LTX-Video", "ltx2": "LTX-2", "cogvideox": "CogVideoX", "framepack": "FramePack",
                "hunyuanvideo15": "HunyuanVideo 1.5",
                "i2vgen-xl": "I2VGen-XL", "svd": "Stable Video Diffusion"}


@dataclass(frozen=True)
class LoraFile:
    name: str  # its path inside its LoRA folder, with "/": how runs and the CLI name it
    path: Path
    size: int
    families: tuple[str, ...]  # the families its layer names fit; () when none the studio knows
    problem: str = ""  # why it cannot be used (unreadable header), else ""

    @property
    def family_label(self) -> str:
        return family_label(self.families)

    def fits(self, family: str) -> bool:
        """Whether this LoRA may be applied to a model of `family`."""
        return not self.problem and (family in self.families or family not in FAMILY_PATTERNS)


def family_label(families: Iterable[str]) -> str:
    names = [FAMILY_NAMES.get(f, f) for f in families]
    return " or ".join(names) if names else "no model family the studio knows"


def list_loras(folders: Iterable[str | Path]) -> list[LoraFile]:
    """Every safetensors file in the folders (and their sub-folders), by name; the first folder
    wins when two hold the same name."""
    found: dict[str, LoraFile] = {}
    for raw in folders:
        folder = Path(raw).expanduser()
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob(f"*{SUFFIX}")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue  # hidden files include half-written downloads
            name = path.relative_to(folder).as_posix()
            if name not in found:
                found[name] = describe(path, name)
    return sorted(found.values(), key=lambda lora: lora.name.lower())


def describe(path: Path, name: str | None = None) -> LoraFile:
    stat = path.stat()
    families, problem = _families(str(path), stat.st_size, stat.st_mtime_ns)
    return LoraFile(name=name or path.name, path=path, size=stat.st_size, families=families, problem=problem)


def find(folders: Iterable[str | Path], reference: str) -> LoraFile | None:
    """The LoRA a run names: a path to a safetensors file, or a name in the library (its path in a
    LoRA folder, or just its file name when only one file has it)."""
    candidate = Path(reference).expanduser()
    if candidate.suffix == SUFFIX and candidate.is_absolute() and candidate.is_file():
        return describe(candidate.resolve(), candidate.name)
    library = list_loras(folders)
    exact = [lora for lora in library if lora.name == reference]
    if exact:
        return exact[0]
    by_file = [lora for lora in library if lora.path.name == reference or lora.path.stem == reference]
    return by_file[0] if len(by_file) == 1 else None


def sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and modification time, so a replaced file is hashed again.
    return file_sha256(path)


@functools.lru_cache(maxsize=1024)
def _families(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, ...], str]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy") as handle:
            keys = list(handle.keys())
    except (SafetensorError, OSError, ValueError) as exc:
        return (), f"not a readable safetensors file ({exc})"
    return detect_families(keys), ""


def detect_families(keys: Iterable[str]) -> tuple[str, ...]:
    """The families whose denoiser layer names these LoRA keys use."""
    keys = list(keys)
    # A UNet's attention blocks hold `transformer_blocks` too: its down/up blocks decide.
    unet = any(_UNET.search(k) for k in keys)
    candidates = ("i2vgen-xl", "svd") if unet else ("wan", "ltx", "ltx2", "cogvideox", "framepack")
    matched = [f for f in candidates if any(FAMILY_PATTERNS[f].search(k) for k in keys)]
    # Layers only one family has decide: HunyuanVideo's blocks also hold norm1/ff, LTX-2's attn1/2.
    if "framepack" in matched:
        # Only FramePack's HunyuanVideo has single-stream blocks; double-stream ones fit both.
        return ("framepack",) if any(_SINGLE_STREAM.search(k) for k in keys) else ("framepack", "hunyuanvideo15")
    if "ltx2" in matched and any(_LTX2_ONLY.search(k) for k in keys):
        return ("ltx2",)
    if "ltx" in matched and "cogvideox" in matched:
        if any(_LTX_ONLY.search(k) for k in keys):
            matched.remove("cogvideox")
        elif any(_COGVIDEOX_ONLY.search(k) for k in keys):
            matched.remove("ltx")
    return tuple(matched)


def check_folders(folders: Iterable[str]) -> None:
    """Refuse LoRA folders that are not folders (ValueError naming the first), as the Settings page
    saves them."""
    for raw in folders:
        folder = Path(raw).expanduser()
        if not folder.is_dir():
            raise ValueError(f"The LoRA folder {raw} does not exist or is not a folder. Create it or remove the "
                             "line; the settings were not saved.")
