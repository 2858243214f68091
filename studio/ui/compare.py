"""The comparison table: one row per parameter, one column per run, differing rows highlighted."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from studio.db.models import Run

HIGHLIGHT = "background-color: rgba(255, 107, 74, 0.28); font-weight: 600"


def comparison_rows(runs: Sequence[Run]) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """(row names, values per run column, names of rows whose values differ)."""
    fields: dict[str, list[str]] = {"engine": [r.engine for r in runs], "model": [r.model_id or "–" for r in runs],
                                    "prompt": [r.prompt for r in runs], "negative prompt": [r.negative_prompt for r in runs]}
    names = sorted({k for r in runs for k in r.params} - {"prompt", "negative_prompt"})
    for name in names:
        fields[name] = [str(r.params.get(name, "–")) for r in runs]
    fields["status"] = [r.status for r in runs]
    fields["generate time (s)"] = [f"{r.infer_seconds:.2f}" if r.infer_seconds else "–" for r in runs]
    differing = {name for name, values in fields.items() if len(set(values)) > 1 and name != "generate time (s)"}
    return list(fields), fields, differing


def parameter_table(runs: Sequence[Run]):
    rows, values, differing = comparison_rows(runs)
    frame = pd.DataFrame({f"#{run.id}": [values[row][i] for row in rows] for i, run in enumerate(runs)}, index=rows)
    return frame.style.apply(lambda row: [HIGHLIGHT if row.name in differing else "" for _ in row], axis=1)
