"""The package's shape: no import circles, layers that only look down, an honest store.

Imports are read from the source with ``ast`` (module-level and inside functions alike), so
a lazy import inside a function counts as much as one at the top: a circle through a
function-level import is a circle still, merely deferred.

Layers (bottom to top): the engine, the method families (one package per chapter), then
the book, the benchmark, the shared figures and the command line. The root ``lt_lab``
imports every family on purpose (that is how they register their losses, analyses and run
kinds), so it is a node like the others, and nothing in the package imports it except for
its ``__version__``.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import pytest

import lt_lab
from lt_lab.config import config_from_dict
from lt_lab.results import ResultsStore

PACKAGE = Path(lt_lab.__file__).resolve().parent
ROOT = PACKAGE.parent
RESULTS = ROOT / "data" / "results"

ENGINE = ("errors", "constraints", "config", "hooks", "io", "provenance", "runtime",
          "inference", "loop", "train", "pack", "grid", "results", "metrics", "stats", "models",
          "data", "losses", "reproduce")
FAMILIES = ("reweighting", "margins", "decoupling", "collapse", "regression")
TOP = ("book", "bench", "cli", "figures", "launch")


def module_name(path: Path) -> str:
    parts = ("lt_lab", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _imported(node: ast.ImportFrom, importer: str) -> str:
    """The module a ``from ... import`` statement reads (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    base = parts if _is_package(importer) else parts[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str) -> set[str]:
    """The lt_lab modules ``name`` imports anywhere in its source (``from pkg import mod``
    counts as importing ``pkg.mod`` when that is a module, else ``pkg``)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = _imported(node, name)
            found |= {f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES
                      else module for alias in node.names}
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A shortest import path from ``start`` back to itself, or None (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for successor in sorted(graph.get(node, ())):
            if successor == start:
                return [*paths[node], start]
            if successor not in paths:
                paths[successor] = [*paths[node], successor]
                queue.append(successor)
    return None


def _layer(name: str) -> str | None:
    """``engine``, ``family`` or ``top`` for a module of lt_lab (None: the root itself)."""
    parts = name.split(".")
    if len(parts) == 1:
        return None
    for layer, members in (("engine", ENGINE), ("family", FAMILIES), ("top", TOP)):
        if parts[1] in members:
            return layer
    return "unclassified"


def test_the_graph_sees_the_package():
    assert {"lt_lab", "lt_lab.train", "lt_lab.book", "lt_lab.bench.harness"} <= set(MODULES)
    assert "lt_lab.config" in GRAPH["lt_lab.train"]
    assert "lt_lab.book.claims" in GRAPH["lt_lab.book.ledger"]


def test_the_circle_finder_finds_a_circle_through_a_package():
    graph = {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p"}, "q": {"p"}}
    assert cycle_from("p", graph) == ["p", "p.a", "p.b", "p"]
    assert cycle_from("q", graph) is None


def test_there_are_no_import_circles():
    circles = {tuple(sorted(c[:-1])): c for name in MODULES if (c := cycle_from(name, GRAPH))}
    assert not circles, "import circles:\n" + "\n".join(
        " -> ".join(circle) for circle in circles.values())


def test_every_module_belongs_to_a_layer():
    unclassified = [name for name in MODULES if _layer(name) == "unclassified"
                    and name != "lt_lab.__main__"]
    assert not unclassified, f"add these to ENGINE, FAMILIES or TOP: {unclassified}"


def _violations(importer_layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{name} imports {imported}" for name in MODULES if _layer(name) == importer_layer
            for imported in sorted(GRAPH[name])
            if _layer(imported) is not None and imported.split(".")[1] in forbidden]


def test_the_engine_imports_no_family_and_nothing_above():
    assert not _violations("engine", FAMILIES + TOP)


def test_the_engine_does_not_import_the_root_package():
    # the root imports every family: an engine module importing it would reach them all
    assert not [name for name in MODULES if _layer(name) == "engine" and "lt_lab" in GRAPH[name]]


def test_families_import_neither_the_book_nor_the_benchmark_nor_the_cli():
    assert not _violations("family", ("book", "bench", "cli"))


def test_fit_imports_no_method_family():
    """The trainer knows no chapter: families plug in through the loss and analysis
    registries, not through branches in ``fit``."""
    reached, frontier = set(), ["lt_lab.train"]
    while frontier:  # everything train imports, directly or not
        for imported in GRAPH[frontier.pop()] - reached:
            reached.add(imported)
            frontier.append(imported)
    assert not [name for name in reached if _layer(name) in ("family", "top")]


# --- the results store ---------------------------------------------------------------------

RECORDS = sorted(RESULTS.glob("*.json"))


def test_the_store_holds_records():
    assert RECORDS, f"no records in {RESULTS}"


def test_every_stored_record_loads_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = ResultsStore(RESULTS).records()
    assert len(records) == len(RECORDS)


@pytest.mark.parametrize("path", RECORDS, ids=lambda path: path.stem)
def test_a_stored_record_is_valid_and_filed_under_its_key(path):
    record = json.loads(path.read_text())
    config = config_from_dict(record["config"], record["kind"])
    assert config.key() == record["key"] == path.stem
