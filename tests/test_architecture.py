"""The package's shape: no import circles, layers that only look down, an honest store.

Imports are read from the source with ``ast`` (module-level and inside functions alike), so
a lazy import inside a function counts as much as one at the top: a circle through a
function-level import is a circle still, merely deferred. Importing ``lt_lab.a.b`` also runs
the packages ``lt_lab`` and ``lt_lab.a``: those are edges too.

Layers (bottom to top): the engine (with the figure-text measurement and the plugin
loader), the shared figures, the method families (one package per chapter), then the book,
the benchmark, the command line and the SLURM launcher. The layer rule is checked on the
transitive closure: nothing a module imports, directly or through others, lies in a layer
above its own. The root ``lt_lab`` holds the version only and imports nothing; the families
register when a registry first needs them (:mod:`lt_lab.plugins`, by module name), not
because something imports them.
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
          "data", "losses", "reproduce", "plugins", "figure_text")
SHARED = ("figures",)  # the book's style and the figures every chapter shares
FAMILIES = ("reweighting", "margins", "decoupling", "collapse", "regression", "beyond")
TOP = ("book", "bench", "cli", "__main__", "launch")
LAYERS = {"engine": ENGINE, "shared": SHARED, "family": FAMILIES, "top": TOP}  # bottom first
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}


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


def _with_parents(module: str) -> set[str]:
    """``module`` and the packages importing it runs: ``lt_lab.a.b`` -> it, ``lt_lab.a``,
    ``lt_lab``."""
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + 1)} & set(MODULES)


GRAPH = {name: imports_of(name) for name in MODULES}
# what importing a module runs: its imports and their packages (for the layers; a
# submodule's own package is no circle: it is being imported already)
RUNS = {name: {parent for module in imports for parent in _with_parents(module)} - {name}
        for name, imports in GRAPH.items()}


def reached(start: str, graph: dict[str, set[str]]) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, frontier = set(), [start]
    while frontier:
        for imported in graph.get(frontier.pop(), set()) - seen:
            seen.add(imported)
            frontier.append(imported)
    return seen


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


def _layer(name: str) -> str:
    """The layer of a module of lt_lab (the root, which holds the version only, is the
    engine's); ``unclassified`` for a package no layer names."""
    parts = name.split(".")
    if len(parts) == 1:
        return "engine"
    return next((layer for layer, members in LAYERS.items() if parts[1] in members),
                "unclassified")


def layer_violations(graph: dict[str, set[str]], layer_of=_layer) -> list[str]:
    """``importer -> imported`` for each module that reaches, directly or not, a module of
    a higher layer than its own."""
    return [f"{name} ({layer_of(name)}) -> {imported} ({layer_of(imported)})"
            for name in sorted(graph) for imported in sorted(reached(name, graph))
            if RANK.get(layer_of(imported), -1) > RANK.get(layer_of(name), -1)]


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
    unclassified = [name for name in MODULES if _layer(name) == "unclassified"]
    assert not unclassified, f"add these to ENGINE, SHARED, FAMILIES or TOP: {unclassified}"


def test_the_layer_check_follows_imports_through_other_modules():
    # a family's figures import the shared figures, which import the book lazily: caught
    layer_of = {"fam.figures": "family", "shared": "shared", "book.text": "top",
                "engine": "engine"}.get
    graph = {"fam.figures": {"shared"}, "shared": {"book.text"}, "book.text": {"engine"},
             "engine": set()}
    assert layer_violations(graph, layer_of) == [
        "fam.figures (family) -> book.text (top)", "shared (shared) -> book.text (top)"]
    graph["shared"] = {"engine"}
    assert layer_violations(graph, layer_of) == []


def test_importing_a_submodule_runs_its_packages():
    # lt_lab.margins.figures imports lt_lab.margins.toy: that runs lt_lab.margins and lt_lab
    assert {"lt_lab.margins.toy", "lt_lab.margins", "lt_lab"} <= RUNS["lt_lab.margins.figures"]


def test_no_module_reaches_a_layer_above_its_own():
    """Engine < shared figures < families < book, benchmark, CLI, launcher: the engine
    reaches no family, the families reach neither the book nor the CLI, the shared figures
    no family, through any chain of imports (lazy ones included)."""
    assert not layer_violations(RUNS), "imports against the layers:\n" + "\n".join(
        layer_violations(RUNS))


def test_the_root_package_imports_nothing():
    # it used to import every family, so any `import lt_lab.x` loaded them all
    assert GRAPH["lt_lab"] == set()


def test_fit_imports_no_method_family():
    """The trainer knows no chapter: families plug in through the loss and analysis
    registries, not through branches in ``fit``."""
    assert not [name for name in reached("lt_lab.train", RUNS)
                if _layer(name) in ("family", "top")]


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
