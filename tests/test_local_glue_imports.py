"""moto's Glue internals stay in one module of the local Glue (tests/test_layout.py checks for import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_glue_runs.local_glue

PACKAGE = "airflow_glue_runs.local_glue"
ROOT = Path(airflow_glue_runs.local_glue.__file__).parent


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


def test_only_moto_module_imports_moto_glue() -> None:
    """moto's Glue package is imported by _moto alone, so a moto upgrade is checked in one file."""
    importers = {
        path.name
        for path in ROOT.glob("*.py")
        if any(name == "moto.glue" or name.startswith("moto.glue.") for name in _imports(path))
    }
    assert importers == {"_moto.py"}
