"""The package's shape: what users import stays importable, the import graph has no cycle, modules stay readable.

The import graph is built from the source with ``ast``, counting every import statement (module level, inside
functions and under ``TYPE_CHECKING``): a lazy import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import airflow_glue_runs

PACKAGE_DIR = Path(airflow_glue_runs.__file__).parent
REPO = PACKAGE_DIR.parent
PACKAGE = "airflow_glue_runs"

MAX_MODULE_LINES = 400
"""DEVELOPERS.md's guide: a module a reader can take in one sitting."""

PUBLIC_MODULES = (
    "airflow_glue_runs",
    "airflow_glue_runs.hooks",
    "airflow_glue_runs.operators",
    "airflow_glue_runs.amazon",
    "airflow_glue_runs.sensors",
    "airflow_glue_runs.triggers",
    "airflow_glue_runs.event_triggers",
    "airflow_glue_runs.links",
    "airflow_glue_runs.exceptions",
    "airflow_glue_runs.job_run",
    "airflow_glue_runs.local_glue",
    "airflow_glue_runs.pytest_plugin",
    "airflow_glue_runs.glue_job_result",
)
"""The modules the docs call public (docs/development.md, "Layout"; the API reference documents exactly these):
everything else is under ``_internal`` or underscored."""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the package modules that the module ``name`` imports, wherever the import statement is."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from pkg import mod` imports the submodule; `from mod import name` imports the module.
            submodules = {f"{source}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {source})
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan), each sorted."""
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
    return found


def test_the_package_import_graph_has_no_cycle() -> None:
    """No module of the package imports, directly or through others, a module that imports it back."""
    graph = import_graph()
    assert len(graph) > 30, "the graph builder found too few modules to be trusted"
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """The cycle check can fail: a two-module loop is found, and a lazy or relative import counts as an edge."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    module = tmp_path / "example.py"
    module.write_text("def later():\n    from airflow_glue_runs import hooks\n    from ..job_run import JobRun\n")
    known = set(package_modules())
    edges = imported_modules("airflow_glue_runs._internal.example", module, known)
    assert edges == {"airflow_glue_runs.hooks", "airflow_glue_runs.job_run"}


def test_machinery_lives_in_internal_or_underscored_modules() -> None:
    """Every module is either a documented public one or marked internal by an underscore in its path."""
    internal = [name for name in package_modules() if any(part.startswith("_") for part in name.split(".")[1:])]
    public = sorted(set(package_modules()) - set(internal))
    assert public == sorted(PUBLIC_MODULES)


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_modules_stay_small_enough_to_read_in_one_sitting(name: str) -> None:
    """Each module is at most MAX_MODULE_LINES lines (split by responsibility when it grows)."""
    lines = package_modules()[name].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


DOCS = REPO / "docs"


def documentation() -> list[Path]:
    """README.md, the docs site's pages and the code samples they include."""
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md")), *sorted((DOCS / "snippets").rglob("*.py"))]


def documented_imports() -> set[tuple[str, str]]:
    """Return every ``from airflow_glue_runs... import name`` in the documentation and the example DAGs."""
    texts = [*documentation(), *sorted((REPO / "example_dags").glob("*.py"))]
    pattern = re.compile(r"^\s*from (airflow_glue_runs[\w.]*) import (?:\(([\w,\s]+)\)|([\w, ]+)$)", re.MULTILINE)
    found: set[tuple[str, str]] = set()
    for text in texts:
        for module, grouped, inline in pattern.findall(text.read_text()):
            names = (grouped or inline).split(",")
            found.update((module, name.strip()) for name in names if name.strip())
    return found


def documented_references() -> set[str]:
    """Return every dotted ``airflow_glue_runs.x.y`` name the documentation (README.md, docs/) mentions."""
    return {name for path in documentation() for name in re.findall(r"\bairflow_glue_runs(?:\.\w+)+", path.read_text())}


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and read the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_every_name_the_docs_and_example_dags_import_is_importable() -> None:
    """Each ``from airflow_glue_runs... import X`` in README.md, docs/ and example_dags/ still works."""
    imports = documented_imports()
    assert ("airflow_glue_runs.operators", "GlueJobRunOperator") in imports
    assert ("airflow_glue_runs.sensors", "GlueJobRunSensor") in imports  # docs/snippets/sensor_dag.py
    missing = [f"{module}.{name}" for module, name in sorted(imports) if not hasattr(resolve(module), name)]
    assert missing == []


def test_every_dotted_name_the_docs_mention_exists() -> None:
    """Each ``airflow_glue_runs.x.y`` README.md or a docs page names is a module or an attribute that exists today."""
    references = documented_references()
    assert "airflow_glue_runs._internal.start.arguments.SENSITIVE_NAME_PARTS" in references  # docs/secrets.md
    missing = []
    for dotted in sorted(references):
        try:
            resolve(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
    assert missing == []


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_modules_export_what_they_list(module: str) -> None:
    """Every name in a public module's ``__all__`` is defined there (the promise users import from)."""
    imported = importlib.import_module(module)
    exported = getattr(imported, "__all__", None)
    if exported is None:
        assert module in {"airflow_glue_runs", "airflow_glue_runs.pytest_plugin"}
        return
    assert [name for name in exported if not hasattr(imported, name)] == []


def test_the_api_reference_documents_exactly_the_public_modules() -> None:
    """docs/reference/ has a mkdocstrings page per public module (the package __init__ aside), no internal one."""
    documented = {
        line.removeprefix("::: ").strip()
        for page in (DOCS / "reference").glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith("::: ")
    }
    assert documented == set(PUBLIC_MODULES) - {"airflow_glue_runs"}
