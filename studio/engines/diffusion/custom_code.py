"""Does a model folder ask to run code it ships? diffusers and transformers load such folders only
with trust_remote_code, which executes the folder's Python files. The studio never passes it, so a
folder like that would be listed as ready and then fail at load; it is reported as unusable instead.

Signs of custom code, each read from configs only (nothing is imported):
- an `auto_map` in model_index.json or a component's config.json (transformers' and diffusers'
  pointer to classes defined in the folder's .py files);
- a `_class_name` given as a [module, class] pair (a custom pipeline class);
- a component whose library is not one diffusers loads from (a module shipped in the folder);
- any .py file in the folder or its component folders.
"""

from __future__ import annotations

import json
from pathlib import Path

# The libraries diffusers' pipeline loader imports components from (its LOADABLE_CLASSES).
KNOWN_LIBRARIES = frozenset({"diffusers", "transformers", "onnxruntime.training"})


def custom_code_reason(folder: Path, index: dict) -> str | None:
    """What in `folder` names custom code, in words; None when it names none."""
    if "auto_map" in index:
        return "model_index.json has an auto_map"
    class_name = index.get("_class_name")
    if isinstance(class_name, list):
        return f"model_index.json names the pipeline class {'.'.join(str(p) for p in class_name)}"
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or None in spec:
            continue
        library = spec[0]
        if library not in KNOWN_LIBRARIES and not _is_diffusers_pipeline_module(library):
            return f"its {component} comes from the module {library!r}, not from diffusers or transformers"
        if _config_has_auto_map(folder / component / "config.json"):
            return f"{component}/config.json has an auto_map"
    shipped = sorted(str(p.relative_to(folder)) for p in _python_files(folder))
    if shipped:
        more = f" and {len(shipped) - 1} more" if len(shipped) > 1 else ""
        return f"it contains {shipped[0]}{more}"
    return None


def _is_diffusers_pipeline_module(name: str) -> bool:
    """diffusers saves a component defined in a pipeline's own package under that package's name
    (LTX-2's connectors and vocoder: ["ltx2", "LTX2TextConnectors"]) and loads it from
    diffusers.pipelines.<name>: code installed with diffusers, not shipped in the folder. Looked up
    on disk, so nothing is imported."""
    import importlib.util

    if not name.isidentifier():
        return False
    spec = importlib.util.find_spec("diffusers")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return any((Path(location) / "pipelines" / name / "__init__.py").is_file() for location in locations)


def _config_has_auto_map(path: Path) -> bool:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # a missing or broken config is reported by the component check
    return isinstance(config, dict) and "auto_map" in config


def _python_files(folder: Path) -> list[Path]:
    """.py files at the top of the folder and one level down (where components live)."""
    found = [p for p in folder.glob("*.py") if p.is_file()]
    found += [p for p in folder.glob("*/*.py") if p.is_file()]
    return found
