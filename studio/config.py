"""Configuration, in two layers.

`Paths` is where the studio keeps its data; it comes from the environment (or launch.py flags)
because the database itself lives there. `Settings` is what a user edits on the Settings page; it
is persisted in the database's settings table and every field carries its help text (a test fails
when one does not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Set by `launch.py --no-worker`: the server process runs no jobs (workers elsewhere do).
SERVE_ONLY_ENV = "STUDIO_SERVE_ONLY"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    logs_dir: Path
    database_url: str

    @property
    def inputs_dir(self) -> Path:
        return self.data_dir / "inputs"

    @property
    def default_outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def backups_dir(self) -> Path:
        """Where a PostgreSQL history is dumped before a migration (a SQLite file's copy sits beside it)."""
        return self.data_dir / "backups"

    @property
    def run_logs_dir(self) -> Path:
        return self.logs_dir / "runs"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the URL points at SQLite, else None."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix):])
        return None

    @property
    def database_label(self) -> str:
        """The database as shown to people (console, logs, pages): the SQLite file, or the URL with
        its password hidden, since a URL may carry one and these lines are read over a shoulder."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        scheme, sep, rest = self.database_url.partition("://")
        if "@" in rest:
            user_info, _, host = rest.rpartition("@")
            user = user_info.split(":", 1)[0]
            rest = f"{user}:***@{host}" if ":" in user_info else f"{user}@{host}"
        return f"{scheme}{sep}{rest}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("STUDIO_DATA_DIR") or PROJECT_ROOT / "data").resolve()
        # Logs sit in the project's logs/ by default; a custom data folder keeps its own logs/ so
        # that tests and second studios never write into the project.
        default_logs = data_dir / "logs" if env.get("STUDIO_DATA_DIR") else PROJECT_ROOT / "logs"
        logs_dir = Path(env.get("STUDIO_LOGS_DIR") or default_logs).resolve()
        url = env.get("STUDIO_DATABASE_URL") or f"sqlite:///{data_dir / 'studio.db'}"
        return cls(data_dir=data_dir, logs_dir=logs_dir, database_url=url)


class Settings(BaseModel):
    """User-editable settings. Add a field here with a description and it appears on the Settings
    page and is persisted; nothing else needs changing."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    output_dir: str = Field(
        "",
        title="Output folder",
        description="Where finished videos, posters and thumbnails are written. Empty means the "
        "'outputs' folder inside the studio's data folder. Existing runs keep their files where they are.",
    )
    model_dirs: list[str] = Field(
        default_factory=list,
        title="Model folders",
        description="Extra folders searched for model weights, one per line. A folder may hold a "
        "model directly (it has model_index.json) or hold one sub-folder per model, named like the hub "
        "id with '/' replaced by '--'. The huggingface cache is always searched too.",
    )
    lora_dirs: list[str] = Field(
        default_factory=list,
        title="LoRA folders",
        description="Folders holding LoRA files (.safetensors only), one per line; sub-folders are searched "
        "too. Generate lists them for the engines each was made for, and a turbo speed looks here for its "
        "step-distillation LoRA.",
    )
    default_engine: str = Field(
        "",
        title="Default engine",
        description="Engine preselected on the Generate page. Empty picks the first installed "
        "diffusion model, or the built-in camera-motion engine when no weights are installed.",
    )
    device: Literal["auto", "cuda", "cpu"] = Field(
        "auto",
        title="Device",
        description="Where diffusion models run. 'auto' uses the GPU when one is present, else the CPU "
        "(slow, minutes per step for large models).",
    )
    precision: Literal["auto", "fp16", "bf16", "fp32"] = Field(
        "auto",
        title="Precision",
        description="Number format for model weights. 'auto' uses each model's recommended half "
        "precision on a GPU and fp32 on the CPU.",
    )
    memory_mode: Literal["auto", "full_gpu", "model_offload", "group_offload", "lowest"] = Field(
        "auto",
        title="Memory mode",
        description="How much of the model stays on the GPU. 'auto' picks from free VRAM and the "
        "model's estimate; 'model_offload', 'group_offload' (layers stream in on a second CUDA stream "
        "while the previous ones compute) and 'lowest' trade speed for memory.",
    )
    keep_model_warm: bool = Field(
        True,
        title="Keep the model loaded between runs",
        description="On: the worker keeps the loaded model while the next run uses the same engine and "
        "load settings (precision, memory mode, quantization, attention, compile), so it starts at once. "
        "Off: memory is given back after every run, and every run loads the model again.",
    )
    attention_backend: Literal["native", "flash", "sage", "xformers"] = Field(
        "native",
        title="Attention backend",
        description="The attention kernel the model's denoiser uses. 'native' is PyTorch's and works "
        "everywhere; flash, sage and xformers need their package and a CUDA GPU, and are offered only "
        "where they are usable. Faster kernels change the video very slightly.",
    )
    compile: bool = Field(
        False,
        title="Compile the denoiser (torch.compile)",
        description="Compiles the denoiser's repeated blocks (the whole denoiser where it has none) for "
        "faster steps. The first run after loading is slower while it compiles (a warm-up of a minute "
        "or more); later runs with the model kept loaded are faster.",
    )
    quantization: Literal["none", "int8_weight_only", "fp8_weight_only", "gguf"] = Field(
        "none",
        title="Weight quantization",
        description="Stores the denoiser's weights in fewer bits when loading, to fit a smaller GPU: "
        "int8 or fp8 weight-only (torchao; fp8 needs an Ada or Hopper GPU), or a GGUF single-file "
        "checkpoint placed in the model's folder (Wan and LTX-Video). Slightly lower quality.",
    )
    fp8_layerwise: bool = Field(
        False,
        title="FP8 layerwise casting",
        description="Keeps the denoiser's weights in fp8 and casts each layer up to the run's precision "
        "as it computes: about half the weight memory, a little slower. Not together with quantization.",
    )
    vae_tiling: bool = Field(
        False,
        title="Tile the VAE decode",
        description="Decodes the video in tiles and one frame batch at a time, for every model whose VAE "
        "can (Stable Video Diffusion decodes 'Decode chunk' frames at a time instead). Lowers the memory "
        "peak at the end of a run; very large sizes may need it.",
    )
    developer_mode: bool = Field(
        False,
        title="Developer mode",
        description="Shows developer-only engines (tiny random test pipelines) and extra diagnostics.",
    )
    always_gif: bool = Field(
        False,
        title="Make a GIF with every run",
        description="Off: a run is done once its MP4, poster and thumbnail are written, and a GIF is made "
        "from the MP4 when you first download one (then kept). On: every run also writes its GIF as it "
        "finishes, which adds seconds to a long video.",
    )
    default_size: int = Field(
        0,
        title="Default size",
        description="The size new runs start from, as the side of a square pixel budget: 512 means about "
        "512×512 pixels, in each photo's own shape. 0 uses the size each model was made for. Rounded to "
        "what each model accepts.",
        ge=0,
        le=2048,
    )
    default_frames: int = Field(
        0,
        title="Default frames",
        description="How many frames new runs start with. 0 uses each engine's own default; a model with "
        "rules (e.g. 4k+1 frames) gets the nearest count it accepts.",
        ge=0,
        le=1000,
    )
    default_fps: int = Field(
        0,
        title="Default frame rate",
        description="Frames per second new runs start with. 0 uses the rate each model's videos are meant "
        "to play at.",
        ge=0,
        le=120,
    )
    default_camera_move: Literal["", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "drift",
                                 "ken_burns", "framing"] = Field(
        "",
        title="Default camera move",
        description="The camera-motion engine's move for new runs. Empty keeps its own default (zoom in).",
    )
    sweep_confirm_above: int = Field(
        12,
        title="Sweep confirmation threshold",
        description="A parameter sweep that would queue more runs than this asks for confirmation first.",
        ge=1,
        le=1000,
    )

    @field_validator("output_dir", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        # Spaces around a pasted path are no part of it; spaces alone mean "the default".
        return value.strip() if isinstance(value, str) else value

    @field_validator("model_dirs", "lora_dirs", mode="before")
    @classmethod
    def _split_lines(cls, value: object) -> object:
        if isinstance(value, str):
            return [line.strip() for line in value.splitlines() if line.strip()]
        return value

    def outputs_dir(self, paths: Paths) -> Path:
        return Path(self.output_dir).expanduser().resolve() if self.output_dir else paths.default_outputs_dir
