"""The comparison table: one row per parameter, one column per run, differing rows highlighted."""

from __future__ import annotations

import html
from collections.abc import Sequence

from studio.db.models import Run

TABLE_CSS = """
<style>
table.compare-table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
table.compare-table th, table.compare-table td { border-bottom: 1px solid rgba(250,250,250,0.12); padding: 4px 10px; text-align: left; vertical-align: top; }
table.compare-table tr.differs td, table.compare-table tr.differs th { background: rgba(255,107,74,0.22); font-weight: 600; }
table.compare-table th[scope=row] { color: rgba(250,250,250,0.7); font-weight: 500; white-space: nowrap; }
</style>
"""
# Rows shown for context but never highlighted: they always differ and say nothing about the recipe.
CONTEXT_ROWS = ("status", "re-run of", "generate time")


def comparison_rows(runs: Sequence[Run]) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """(row names, values per run column, names of rows whose values differ)."""
    fields: dict[str, list[str]] = {"engine": [r.engine for r in runs], "model": [r.model_id or "–" for r in runs],
                                    "prompt": [r.prompt for r in runs], "negative prompt": [r.negative_prompt for r in runs]}
    for name in sorted({k for r in runs for k in r.params} - {"prompt", "negative_prompt"}):
        fields[name] = [_text(r.params.get(name, "–")) for r in runs]
    fields["memory mode used"] = [r.memory_mode or "–" for r in runs]
    fields["status"] = [r.status for r in runs]
    fields["re-run of"] = [f"#{r.parent_id}" if r.parent_id else "–" for r in runs]
    fields["generate time"] = [f"{r.infer_seconds:.2f} s" if r.infer_seconds else "–" for r in runs]
    differing = {name for name, values in fields.items() if len(set(values)) > 1 and name not in CONTEXT_ROWS}
    return list(fields), fields, differing


def comparison_html(runs: Sequence[Run]) -> str:
    rows, values, differing = comparison_rows(runs)
    head = "".join(f"<th scope='col'>#{r.id}</th>" for r in runs)
    body = []
    for row in rows:
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in values[row])
        css = " class='differs'" if row in differing else ""
        body.append(f"<tr{css} data-param='{html.escape(row)}'><th scope='row'>{html.escape(row)}</th>{cells}</tr>")
    return f"{TABLE_CSS}<table class='compare-table'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
