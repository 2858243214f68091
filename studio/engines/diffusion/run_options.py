"""A run's LoRA stack and speed: checked once, in studio.requests.validate, and applied to the
loaded pipeline before each run (lora.py, speed.py).

They are stored in the run's flat params, only where they differ from the defaults (no LoRAs,
quality), so runs stored before them stay as they were:
  loras          [{name, path, sha256, strength, second_expert}, ...] — in the order applied;
  lora_strength  the first LoRA's strength again: the number a sweep varies;
  speed          "fast" or "turbo". A turbo run also stores the steps and guidance it ran with.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from studio.engines.base import Engine, InputError, ParamSpec
from studio.engines.diffusion import lora_library
from studio.engines.diffusion.families import Family
from studio.engines.diffusion.speed import DEFAULT_SPEED, SPEEDS

RUN_OPTION_KEYS = ("loras", "lora_strength", "speed")
# Each LoRA costs memory and time at every step; past a handful their effects mostly blur together.
MAX_LORAS = 8
LORA_STRENGTH = ParamSpec(
    "lora_strength", "LoRA strength", "float", 1.0,
    "How strongly the first LoRA changes the model: 0 leaves the model as it is, 1 is the strength it was trained "
    "at, negative values push the other way.",
    minimum=-2.0, maximum=2.0, step=0.05,
)


def takes_run_options(engine: Engine) -> bool:
    """Whether the engine is a diffusion model (LoRAs and speeds mean something for it)."""
    return isinstance(getattr(engine, "family", None), Family)


def check(engine: Engine, raw: Mapping[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    """The run options in `raw`, checked for `engine`: the keys to store with the run. A turbo run
    also sets `clean`'s steps and guidance to the distillation's."""
    loras = raw.get("loras") or []
    strength = raw.get("lora_strength")
    speed = raw.get("speed") or DEFAULT_SPEED
    if speed not in SPEEDS:
        raise InputError("speed", f"Speed must be one of {', '.join(SPEEDS)}; got {speed!r}.", DEFAULT_SPEED)
    if not takes_run_options(engine):
        if loras or strength not in (None, ""):
            raise InputError("loras", f"{engine.info.label} takes no LoRAs: a LoRA changes a diffusion model's "
                                      "weights, and this engine has none. Choose a diffusion engine or remove the LoRAs.")
        if speed != DEFAULT_SPEED:
            raise InputError("speed", f"{engine.info.label} has one speed: fast and turbo are for diffusion engines.",
                             DEFAULT_SPEED)
        return {}
    family: Family = engine.family  # type: ignore[attr-defined]
    folders = engine.lora_folders()  # type: ignore[attr-defined]
    stored: dict[str, Any] = {}
    stack = _stack(engine, family, folders, loras, strength)
    if stack:
        stored["loras"] = stack
        stored["lora_strength"] = stack[0]["strength"]
    if speed != DEFAULT_SPEED:
        _check_speed(engine, family, folders, speed, clean)
        stored["speed"] = speed
    return stored


def _stack(engine: Engine, family: Family, folders: list[str], loras: Any, strength: Any) -> list[dict[str, Any]]:
    if not isinstance(loras, list | tuple):
        raise InputError("loras", "LoRAs must be a list of {name, strength} entries.")
    if len(loras) > MAX_LORAS:
        raise InputError("loras", f"At most {MAX_LORAS} LoRAs per run; {len(loras)} were given.")
    if strength not in (None, "") and not loras:
        raise InputError("lora_strength", "LoRA strength sets the first LoRA's strength: add a LoRA first.")
    stack = [_entry(engine, family, folders, raw) for raw in loras]
    if stack and strength not in (None, ""):
        stack[0]["strength"] = LORA_STRENGTH.check(strength)
    seen: set[str] = set()
    for entry in stack:
        if entry["sha256"] in seen:
            raise InputError("loras", f"LoRA {entry['name']} is listed twice; give it once, with one strength.")
        seen.add(entry["sha256"])
    return stack


def _entry(engine: Engine, family: Family, folders: list[str], raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InputError("loras", f"Each LoRA is a {{name, strength}} entry; got {raw!r}.")
    reference = str(raw.get("path") or raw.get("name") or "").strip()
    if not reference:
        raise InputError("loras", "A LoRA entry names no file: give its name in the library or its path.")
    found = _resolve(folders, raw, reference)
    name = found.name
    if found.problem:
        raise InputError("loras", f"LoRA {name} cannot be used: it is {found.problem}.")
    if not found.fits(family.family):
        model = lora_library.family_label([family.family])
        raise InputError("loras", f"LoRA {name} is for {found.family_label}, but {engine.info.label} is a {model} "
                                  f"model. Choose a LoRA made for {model}, or an engine of the family it was made for.")
    try:
        strength = LORA_STRENGTH.check(raw.get("strength", LORA_STRENGTH.default))
    except InputError as exc:
        raise InputError("loras", f"LoRA {name}: {exc.message}") from None
    second = raw.get("second_expert", False)
    if not isinstance(second, bool):
        raise InputError("loras", f"LoRA {name}: 'also the second expert' must be true or false; got {second!r}.")
    if second and family.experts < 2:
        raise InputError("loras", f"LoRA {name}: {engine.info.label} has one denoiser; 'also the second expert' is "
                                  "for two-expert models such as Wan 2.2 A14B.")
    digest = lora_library.sha256(found.path)
    wanted = raw.get("sha256")
    if wanted and wanted != digest:
        raise InputError("loras", f"LoRA {name} is not the file this recipe used: its contents differ (sha256 "
                                  f"{digest[:12]}…, the recipe's {str(wanted)[:12]}…). Put the original file back "
                                  "in a LoRA folder, or pick the LoRA again.")
    return {"name": name, "path": str(found.path), "sha256": digest, "strength": strength, "second_expert": second}


def _resolve(folders: list[str], raw: Mapping[str, Any], reference: str) -> lora_library.LoraFile:
    path = Path(reference).expanduser()
    if path.suffix and path.suffix.lower() != lora_library.SUFFIX:
        # Pickled formats (.pt, .ckpt, .bin) can run code when opened: never loaded.
        raise InputError("loras", f"LoRA {reference} is not a .safetensors file; the studio loads LoRAs only in "
                                  "that format (other formats can run code when opened).")
    # A stored entry names its file both ways: the path where it was, the name to find it elsewhere.
    for candidate in (reference, str(raw.get("name") or "")):
        if candidate:
            found = lora_library.find(folders, candidate)
            if found is not None:
                return found
    where = ", ".join(folders) if folders else "none are set (Settings → LoRA folders)"
    raise InputError("loras", f"LoRA {reference} was not found: give the path of a .safetensors file or the name "
                              f"of one in your LoRA folders ({where}).")


def _check_speed(engine: Engine, family: Family, folders: list[str], speed: str, clean: dict[str, Any]) -> None:
    if speed == "fast" and family.fast_cache_threshold is None:
        raise InputError("speed", f"{engine.info.label} has no fast mode: {family.no_fast_reason}. Use quality.",
                         DEFAULT_SPEED)
    if speed == "turbo":
        turbo = family.turbo
        if turbo is None:
            raise InputError("speed", f"{engine.info.label} has no turbo mode: the studio knows no step-distilled "
                                      "version of it. Use quality or fast.",
                             "fast" if family.fast_cache_threshold is not None else DEFAULT_SPEED)
        if any(lora_library.find(folders, name) is None for name in turbo.files):
            raise InputError("speed", f"Turbo for {engine.info.label} needs its step-distillation LoRA, which is "
                                      f"not installed. {turbo.hint()}", DEFAULT_SPEED)
        # The distillation was trained for these: other values make a worse video, not a better one.
        if "steps" in clean:
            clean["steps"] = turbo.steps
        for guidance in ("guidance", "guidance_2"):  # guidance_2: a two-expert model's low-noise expert
            if guidance in clean:
                clean[guidance] = turbo.guidance


def turbo_entries(family: Family, folders: list[str]) -> list[dict[str, Any]] | None:
    """The turbo LoRA(s) as stack entries (name, path, sha256, strength, which experts), or None when
    one is not installed. One file goes into every expert; a per-expert pair, one into each."""
    turbo = family.turbo
    if turbo is None:
        return None
    found = [lora_library.find(folders, name) for name in turbo.files]
    if any(f is None for f in found):
        return None
    entries = [{"name": f.name, "path": str(f.path), "sha256": lora_library.sha256(f.path), "strength": turbo.strength,
                "second_expert": family.experts > 1 and turbo.second_file is None, "second_only": index == 1}
               for index, f in enumerate(found)]
    return entries


def apply(pipe: Any, family: Family, params: Mapping[str, Any], folders: list[str]) -> dict[str, Any]:
    """Put the run's LoRAs (and turbo's) and speed on the loaded pipeline; what the manifest records."""
    from studio.engines.diffusion.lora import StackEntry, apply_stack
    from studio.engines.diffusion.speed import apply_speed

    speed = params.get("speed") or DEFAULT_SPEED
    entries = [StackEntry.from_stored(e) for e in params.get("loras") or []]
    record: dict[str, Any] = {}
    chosen = len(entries)
    if speed == "turbo":
        turbo = turbo_entries(family, folders)
        if turbo is None:  # removed since the run was queued
            hint = family.turbo.hint() if family.turbo else ""
            raise InputError("speed", f"Turbo for {family.label} needs its step-distillation LoRA, which is not "
                                      f"installed. {hint}".strip(), DEFAULT_SPEED)
        entries.extend(StackEntry.from_stored(entry) for entry in turbo)
        record["turbo"] = {"lora": turbo[0]["name"], "sha256": turbo[0]["sha256"], "steps": params.get("steps"),
                           "guidance": params.get("guidance")}
        if len(turbo) > 1:
            record["turbo"]["second_expert_lora"] = {"lora": turbo[1]["name"], "sha256": turbo[1]["sha256"]}
    applied = apply_stack(pipe, entries, family.label)
    record["loras"] = applied[:chosen]  # the distillation is recorded as turbo's, not as a chosen LoRA
    record.update(apply_speed(pipe, speed, family.fast_cache_threshold))
    return record
