"""No import cycles anywhere under studio/. Every import counts, those inside functions and under
`if TYPE_CHECKING:` too: moving an import into a function hides a cycle from Python but not from
the design (both modules still depend on each other), and the code style forbids exactly that.

The graph comes from grimp when it is installed (it also reads every import statement), and always
from the source with `ast`, so the rule holds on a machine without grimp."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from studio.config import PROJECT_ROOT

PACKAGE = "studio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _ast_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (PROJECT_ROOT / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            graph[name].update(t for t in _imported(node, name, is_package, files) if t != name)
    return graph


def _imported(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_nearest_known(alias.name, known) for alias in node.names if alias.name.split(".")[0] == PACKAGE]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != PACKAGE:
        return []
    # `from package import submodule` depends on the submodule; `from module import name` on the module.
    found = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known]
    if len(found) < len(node.names):
        found.append(_nearest_known(source, known))
    return found


def _nearest_known(name: str, known: dict[str, Path]) -> str:
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _grimp_graph() -> dict[str, set[str]] | None:
    try:
        import grimp
    except ImportError:
        return None
    # cache_dir=None: no .grimp_cache folder left in the checkout.
    built = grimp.build_graph(PACKAGE, include_external_packages=False, cache_dir=None)
    return {m: set(built.find_modules_directly_imported_by(m)) for m in built.modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_ast_graph_sees_the_engine_package():
    graph = _ast_graph()
    assert "studio.engines.diffusion.engine" in graph["studio.engines.diffusion"]
    assert "studio.engines.diffusion.adapter" in graph["studio.engines.diffusion.adapters.wan"]


@pytest.mark.parametrize("builder", ["grimp", "ast"])
def test_there_are_no_import_cycles_under_studio(builder):
    graph = _grimp_graph() if builder == "grimp" else _ast_graph()
    if graph is None:
        pytest.skip("grimp is not installed; the ast graph covers the same rule")
    assert _cycles(graph) == []
