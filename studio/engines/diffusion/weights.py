"""Where a model's weights are, whether they can be used, and how to fetch them.

A diffusers model is a folder with model_index.json and one sub-folder per component. The studio
looks for it in the user's model folders first (Settings.model_dirs), then in the huggingface
cache, and always loads from the local folder it found (offline-first: nothing touches the network
once weights are present). Only safetensors are accepted: pickled `.bin` weights can run code when
loaded, so a folder that has nothing else is reported as unusable, never loaded.

Everything here is cheap enough for a page render (it reads JSON and safetensors headers, never
weights) and imports no torch; huggingface_hub is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from urllib.parse import urlparse

from studio.engines.base import WeightsMissing, WeightsStatus
from studio.engines.diffusion.custom_code import custom_code_reason

MODEL_INDEX = "model_index.json"
WEIGHT_SUFFIX = ".safetensors"
PICKLED_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Files a component needs besides its weights, by kind; the download keeps exactly these and the
# safetensors, so a repository's single-file checkpoints and pickles are never fetched.
CONFIG_SUFFIXES = (".json", ".txt", ".model", ".tiktoken")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model", "tokenizer.model", "vocab.txt")
# A safetensors header larger than this is not a header but garbage (real ones are < 10 MB).
MAX_HEADER_BYTES = 100 * 1024 * 1024
NETWORK_CHECK_SECONDS = 3.0


class DownloadError(WeightsMissing):
    """Weights could not be fetched; `hint` says what to do instead."""


def install_command(model_id: str) -> str:
    return f"python launch.py download {model_id}"


def folder_name(model_id: str) -> str:
    """The sub-folder name a model folder uses for a hub id: 'owner/name' -> 'owner--name'."""
    return model_id.replace("/", "--")


# ---------------------------------------------------------------------------------------------
# locate


def locate(model_id: str, model_dirs: Iterable[str | Path], *, index_classes: Collection[str] = ()) -> WeightsStatus:
    """Find `model_id` (a hub id such as 'ali-vilab/i2vgen-xl') and say whether it can be loaded.

    Search order: each folder in `model_dirs` — the folder itself when it holds a model named like
    the hub id ('i2vgen-xl' or 'ali-vilab--i2vgen-xl'), or a model whose model_index.json names one
    of `index_classes` (pass these only when the class identifies the model unambiguously); then
    its sub-folder 'owner--name' or 'name' — and finally the huggingface cache. The first folder
    found decides: a broken folder is reported as broken rather than silently skipped, so the user
    learns why the copy they placed there is not used.
    """
    for candidate in _candidates(model_id, model_dirs, index_classes):
        return check_folder(candidate, model_id)
    cached = cached_snapshot(model_id)
    if cached is not None:
        return check_folder(cached, model_id)
    return WeightsStatus(
        "missing",
        f"The weights for {model_id} are not installed.",
        hint=f"Download them with: {install_command(model_id)}  (or place the model folder in one of the model folders set on the Settings page)",
    )


def _candidates(model_id: str, model_dirs: Iterable[str | Path], index_classes: Collection[str]) -> Iterable[Path]:
    repo_name = model_id.split("/")[-1].lower()
    names = {repo_name, folder_name(model_id).lower()}
    for raw in model_dirs:
        base = Path(raw).expanduser()
        if not base.is_dir():
            continue
        if (base / MODEL_INDEX).is_file():
            if base.name.lower() in names or _index_class(base) in index_classes:
                yield base
            continue
        for name in (folder_name(model_id), repo_name):
            sub = base / name
            if sub.is_dir():
                yield sub
                break
        else:
            # Case-insensitive match, for folders renamed by hand on case-insensitive systems.
            for sub in sorted(p for p in base.iterdir() if p.is_dir() and p.name.lower() in names):
                yield sub
                break


def _index_class(folder: Path) -> str | None:
    try:
        return json.loads((folder / MODEL_INDEX).read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None


def cached_snapshot(model_id: str) -> Path | None:
    """The huggingface-cache snapshot folder of `model_id` (the revision 'main' points at), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency of diffusers
        return None
    try:
        found = try_to_load_from_cache(model_id, MODEL_INDEX)
    except Exception:  # an invalid repo id or an unreadable cache: treat as not cached
        return None
    if isinstance(found, str):
        return Path(found).parent
    return None


def check_folder(folder: Path, model_id: str | None = None) -> WeightsStatus:
    """Is `folder` a complete diffusers model with safetensors weights? Reads configs and
    safetensors headers only. Every problem becomes a WeightsStatus, never an exception."""
    folder = Path(folder)
    label = model_id or folder.name
    fix = f"Re-download it with: {install_command(model_id)}" if model_id else "Replace the folder with a complete copy."
    try:
        index = json.loads((folder / MODEL_INDEX).read_text(encoding="utf-8"))
        if not isinstance(index, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return WeightsStatus("unusable", f"{folder} has no {MODEL_INDEX}, so it is not a diffusers model folder.", fix, str(folder))
    except (OSError, ValueError) as exc:
        return WeightsStatus("unusable", f"{folder / MODEL_INDEX} cannot be read ({exc}).", fix, str(folder))

    custom = custom_code_reason(folder, index)
    if custom:
        return WeightsStatus("unusable", f"{label} in {folder} cannot be used: this model folder ships its own code ({custom}); "
                             "the studio never runs code from a model folder.",
                             "Use a copy of the model that loads with plain diffusers classes.", str(folder))
    problems: list[str] = []
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or None in spec:
            continue  # metadata, config values and optional components left out (None)
        problem = _check_component(folder / component)
        if problem:
            problems.append(f"{component}: {problem}")
    if problems:
        pickled = [p for p in problems if "pickled" in p]
        hint = (
            "Pickled weights are refused because loading them can run code. Use a copy with .safetensors files. " + fix
            if pickled
            else fix
        )
        return WeightsStatus("unusable", f"{label} in {folder} cannot be used: " + "; ".join(problems) + ".", hint, str(folder))
    return WeightsStatus("ready", f"{label} is installed in {folder}.", "", str(folder))


# Tokenizers that read raw bytes and so ship no vocabulary file (HunyuanVideo 1.5's ByT5).
VOCABULARY_FREE_TOKENIZERS = frozenset({"ByT5Tokenizer"})


def _tokenizer_without_vocabulary(path: Path) -> bool:
    try:
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("tokenizer_class") in VOCABULARY_FREE_TOKENIZERS


def _check_component(path: Path) -> str | None:
    if not path.is_dir():
        return "the folder is missing"
    files = [p for p in path.iterdir() if p.is_file()]
    names = {p.name for p in files}
    if names & {"scheduler_config.json", "preprocessor_config.json", "guider_config.json"}:
        return None
    if "tokenizer_config.json" in names or names & set(TOKENIZER_FILES):
        if not names & set(TOKENIZER_FILES) and not _tokenizer_without_vocabulary(path):
            return "tokenizer files (vocab/tokenizer.json/spiece.model) are missing"
        return None
    if "config.json" not in names:
        return "config.json is missing"
    weights = sorted(p for p in files if p.name.endswith(WEIGHT_SUFFIX))
    if not weights:
        if any(p.name.endswith(PICKLED_SUFFIXES) for p in files):
            return "only pickled (.bin) weights, which the studio refuses to load"
        return "no .safetensors weights"
    for index_file in (p for p in files if p.name.endswith(WEIGHT_SUFFIX + ".index.json")):
        try:
            shards = set(json.loads(index_file.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return f"{index_file.name} is not a valid shard index"
        missing = sorted(s for s in shards if s not in names)
        if missing:
            return f"shard {missing[0]} listed in {index_file.name} is missing"
    for weight in weights:
        problem = safetensors_problem(weight)
        if problem:
            return f"{weight.name} {problem}"
    return None


def safetensors_problem(path: Path) -> str | None:
    """None when `path` has a valid safetensors header whose tensors fit the file exactly;
    otherwise what is wrong (truncated download, not a safetensors file, ...)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return "is empty or truncated"
            (header_len,) = struct.unpack("<Q", head)
            if header_len == 0 or header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                return "is corrupt (bad safetensors header)"
            header = json.loads(handle.read(header_len))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError):
        return "is corrupt (its safetensors header is not valid JSON)"
    if not isinstance(header, dict):
        return "is corrupt (bad safetensors header)"
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            return "is corrupt (a tensor entry has no data offsets)"
        end = max(end, int(stop))
    if 8 + header_len + end != size:
        return f"is truncated or padded ({size} bytes on disk, {8 + header_len + end} expected); the download did not finish"
    return None


def snapshot_revision(path: str | Path) -> str | None:
    """The commit hash of a huggingface-cache snapshot folder (…/snapshots/<hash>[/sub]), or None
    for any other folder."""
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if part == "snapshots" and i > 0 and parts[i - 1].startswith("models--"):
            return parts[i + 1]
    return None


def variant_in(folder: Path, variant: str) -> bool:
    """True when some component of `folder` has weights saved as that variant
    (e.g. 'unet/diffusion_pytorch_model.fp16.safetensors')."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    return any(
        p.name.endswith(WEIGHT_SUFFIX) and _variant_of(p.name) == variant
        for sub in folder.iterdir() if sub.is_dir()
        for p in sub.iterdir()
    )


def plain_weights_in(folder: Path) -> bool:
    """True when every component with weights has plain (non-variant) safetensors."""
    folder = Path(folder)
    for sub in (p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else ():
        files = [p.name for p in sub.iterdir() if p.name.endswith(WEIGHT_SUFFIX)]
        if files and not any(_variant_of(name) is None for name in files):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# download


def download(
    model_id: str,
    *,
    progress: Callable[[str], None] | None = None,
    prefer_variant: str | None = "fp16",
    cache_dir: str | Path | None = None,
) -> Path:
    """Fetch `model_id` into the huggingface cache and return its snapshot folder.

    Only what loading needs is fetched: model_index.json, the configs and tokenizer files of the
    components it names, and their safetensors — for each component the `prefer_variant` files
    (half the size) when the repository has them, else the plain ones. A download that was
    interrupted resumes where it stopped when run again. Offline (HF_HUB_OFFLINE=1, or the hub
    cannot be reached within a few seconds) fails at once with DownloadError.
    """
    say = progress or (lambda message: None)
    _check_online()
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        index_path = hf_hub_download(model_id, MODEL_INDEX, cache_dir=cache_dir)
        files = HfApi().list_repo_files(model_id)
    except RepositoryNotFoundError:
        raise DownloadError(f"There is no model {model_id!r} on the hub (or it needs a login).",
                            "Check the id; gated models need `huggingface-cli login` first.") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:  # ValueError: not a valid repo id
        raise DownloadError(f"Could not fetch {model_id}: {exc}", "Check the model id and the network, then try again.") from None
    index = json.loads(Path(index_path).read_text(encoding="utf-8"))
    wanted = select_files(index, files, prefer_variant=prefer_variant)
    if not any(name.endswith(WEIGHT_SUFFIX) for name in wanted):
        raise DownloadError(f"{model_id} has no .safetensors weights; the studio does not load pickled weights.",
                            "Use a repository that provides safetensors.")
    say(f"Downloading {len(wanted)} files of {model_id} (resumes if interrupted)…")
    try:
        folder = snapshot_download(model_id, allow_patterns=wanted, cache_dir=cache_dir,
                                   tqdm_class=_progress_tqdm(say) if progress else None)
    except (HfHubHTTPError, OSError) as exc:
        raise DownloadError(f"Downloading {model_id} stopped: {exc}",
                            f"Run `{install_command(model_id)}` again; it resumes where it stopped.") from None
    status = check_folder(Path(folder), model_id)
    if not status.ready:
        raise DownloadError(status.detail, status.hint)
    say(f"{model_id} is ready in {folder}.")
    return Path(folder)


def select_files(index: dict, repo_files: Iterable[str], *, prefer_variant: str | None = "fp16") -> list[str]:
    """The repository files loading needs (see `download`), as exact paths."""
    repo_files = list(repo_files)
    wanted = [MODEL_INDEX]
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or None in spec:
            continue
        inside = [f for f in repo_files if f.startswith(component + "/") and f.count("/") == 1]
        weights = [f for f in inside if f.endswith((WEIGHT_SUFFIX, WEIGHT_SUFFIX + ".index.json"))]
        configs = [f for f in inside if f.endswith(CONFIG_SUFFIXES) and f not in weights]
        variant = [f for f in weights if prefer_variant and _variant_of(f) == prefer_variant]
        plain = [f for f in weights if _variant_of(f) is None]
        has_variant = any(f.endswith(WEIGHT_SUFFIX) for f in variant)
        wanted += configs + (variant if has_variant else plain)
    return sorted(set(wanted))


def _variant_of(name: str) -> str | None:
    """'fp16' for 'unet/diffusion_pytorch_model.fp16.safetensors' or 'model.fp16-00001-of-00002.safetensors';
    None for plain weights such as 'model.safetensors' or 'model-00001-of-00002.safetensors'."""
    base = name.rsplit("/", 1)[-1].removesuffix(".index.json").removesuffix(WEIGHT_SUFFIX)
    if "." not in base:
        return None
    return base.rsplit(".", 1)[1].split("-")[0]


def _check_online() -> None:
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
        raise DownloadError("Downloads are switched off (HF_HUB_OFFLINE=1).",
                            "Unset HF_HUB_OFFLINE, or copy the model folder into a model folder set on the Settings page.")
    from huggingface_hub import constants

    url = urlparse(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=NETWORK_CHECK_SECONDS).close()
    except OSError:
        raise DownloadError(f"No network: the model hub ({host}) cannot be reached.",
                            "Connect to the internet and retry, or copy the model folder into a model folder set on the Settings page.") from None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _progress_tqdm(say: Callable[[str], None], every_seconds: float = 5.0):
    """A tqdm class that reports through `say` — a line every few seconds and one at the end —
    instead of drawing a bar. The hub uses it for both its byte counters and its file counter."""
    import time

    from tqdm.auto import tqdm

    class Reporter(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self._count = kwargs.get("initial") or 0
            self._unit = kwargs.get("unit", "it")
            self._label = kwargs.get("desc") or "Downloading"
            self._last = 0.0

        def update(self, n=1):
            self._count += n or 0
            now = time.monotonic()
            finished = bool(self.total) and self._count >= self.total
            if finished or now - self._last >= every_seconds:
                self._last = now
                if self._unit == "B":
                    of = f" of {self.total / 1e9:.2f} GB" if self.total else ""
                    say(f"  {self._label}: {self._count / 1e9:.2f} GB{of}")
                else:
                    say(f"  {self._label}: {self._count}/{self.total or '?'} files")
            return super().update(n)

    return Reporter
