"""The local_glue package's import graph: no cycles, and moto's Glue internals stay in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_glue_runs.local_glue

PACKAGE = "airflow_glue_runs.local_glue"
ROOT = Path(airflow_glue_runs.local_glue.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path) -> set[str]:
    """Every module named by any import statement of ``path`` (in functions and under TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # every module here sits directly in the package, so level 1 is the package
                parent = PACKAGE.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            # `from package import submodule` imports the package and the submodule.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.glob("*.py")}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_local_glue_import_graph_has_no_cycle() -> None:
    """No chain of imports inside local_glue leads from a module back to itself (the package's __init__ included)."""
    graph = _graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in visiting:
            cycle = [*visiting[visiting.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_only_moto_module_imports_moto_glue() -> None:
    """moto's Glue package is imported by _moto alone, so a moto upgrade is checked in one file."""
    importers = {
        path.name
        for path in ROOT.glob("*.py")
        if any(name == "moto.glue" or name.startswith("moto.glue.") for name in _imports(path))
    }
    assert importers == {"_moto.py"}
