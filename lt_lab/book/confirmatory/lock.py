"""The declaration's lock: every hashed item, and the commit that declared it (issue 28, C3).

``book/confirmatory.lock.json`` holds, for one declaration, a sha256 of each counted claim
(its fields, arms, seeds and the store keys of every run it reads), of each analysis function
it calls (the designs of the rule, the measures, the record selection), by qualified name,
and of the thread policy and seed ranges. A function is hashed on its syntax tree without
its docstring, so prose may change and code may not. ``book/confirmatory.json``, written by
the commit *after* the declaration (a commit cannot name its own hash), names the
declaration's commit and time; tests check that the lock still matches the code, that the
commit is an ancestor of HEAD, and that every record at a confirmatory seed was made after
it, at it.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap
from dataclasses import asdict, is_dataclass
from pathlib import Path

from lt_lab.book.confirmatory import measures, plan, verdicts
from lt_lab.book.paths import ROOT

LOCK_PATH = ROOT / "book" / "confirmatory.lock.json"
DECLARATIONS_PATH = ROOT / "book" / "confirmatory.json"


def _sha(material) -> str:
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _tree(function) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(function)))


def function_hash(function) -> str:
    """sha256 of ``function``'s code: its syntax tree, without docstrings or comments."""
    return hashlib.sha256(ast.dump(_without_docstrings(_tree(function))).encode()).hexdigest()


CONSTANT_TYPES = (bool, int, float, str, tuple, list, dict, frozenset)


def _ours(obj) -> bool:
    return getattr(obj, "__module__", "") and obj.__module__.split(".")[0] == "lt_lab"


def _local_imports(tree: ast.AST) -> dict:
    """``{alias: object}`` of the ``from lt_lab... import x`` and ``import lt_lab.x`` lines
    inside a function's body (the lazy imports of the chapter readers)."""
    import importlib

    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lt_lab"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                found[alias.asname or alias.name] = getattr(module, alias.name, None)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lt_lab"):
                    found[alias.asname or alias.name.split(".")[0]] = importlib.import_module(
                        alias.name if alias.asname else alias.name.split(".")[0])
    return found


def _source_module(tree: ast.AST, alias: str) -> str:
    """The module a lazy ``from lt_lab.x import name`` inside ``tree`` takes ``alias`` from."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == alias
                                                    for a in node.names):
            return node.module
    return "?"


def _resolve(node: ast.AST, names: dict):
    """The object an expression ``a`` or ``a.b.c`` names, or None."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _stable(value):
    """``value`` with every function or class replaced by its qualified name (a repr with no
    memory address in it)."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset)):
        return [_stable(v) for v in value]
    return value


def _unwrap(obj):
    while hasattr(obj, "__wrapped__"):  # functools.cache and friends
        obj = obj.__wrapped__
    return obj


def call_closure(roots) -> tuple[list, dict]:
    """Every lt_lab function and class ``roots`` reach through the names their code uses
    (module globals, lazy imports, attributes of lt_lab modules and classes), and every
    module-level constant of lt_lab they read: ``(objects, {qualified name: repr})``."""
    seen, order, constants, todo = set(), [], {}, [_unwrap(r) for r in roots]
    while todo:
        obj = todo.pop()
        key = f"{obj.__module__}.{obj.__qualname__}"
        if key in seen:
            continue
        seen.add(key)
        order.append(obj)
        tree = _tree(obj)
        module = inspect.getmodule(obj)
        names = {**vars(module), **_local_imports(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Name, ast.Attribute)):
                continue
            target = _resolve(node, names)
            if target is None:
                continue
            target = _unwrap(target)
            if inspect.isfunction(target) or inspect.isclass(target):
                if _ours(target):
                    todo.append(target)
            elif isinstance(target, CONSTANT_TYPES) and not isinstance(node.ctx, ast.Store):
                where = (node.id if isinstance(node, ast.Name) else ast.unparse(node))
                owner = module.__name__ if isinstance(node, ast.Name) else where
                if isinstance(node, ast.Name) and node.id in vars(module):
                    constants[f"{owner}.{where}"] = json.dumps(_stable(target), sort_keys=True)
                elif isinstance(node, ast.Name) and node.id in _local_imports(tree):
                    source = _source_module(tree, node.id)
                    constants[f"{source}.{node.id}"] = json.dumps(_stable(target),
                                                                  sort_keys=True)
                elif isinstance(node, ast.Attribute):
                    base = _resolve(node.value, names)
                    if inspect.ismodule(base) and base.__name__.startswith("lt_lab"):
                        constants[f"{base.__name__}.{node.attr}"] = json.dumps(
                            _stable(target), sort_keys=True)
    return order, dict(sorted(constants.items()))


def analysis_functions(measure_names=None) -> list:
    """The roots of the walk (:func:`call_closure`): every function a confirmatory verdict
    starts from. The walk follows names, module attributes and lazy imports, not method calls
    on instances, so the methods it must hash (the store's ``load``) are roots here; a
    config's key needs none: every run's key, cache version and component versions included,
    is in its claim's hash."""
    from lt_lab import stats
    from lt_lab.book import designs
    from lt_lab.margins import posthoc, readers

    rule = [designs._values, designs._number, designs._levels, designs.signed,
            designs.estimate, designs.directional_verdict, designs.directional,
            designs.superiority, designs.non_inferiority, designs.no_effect, designs.fieller,
            designs.ratio, designs._sums, designs._components, designs._profile_interval,
            designs._bootstrap_interval, designs.spread, designs.count, stats.t_quantile]
    from lt_lab.results import ResultsStore

    selection = [ResultsStore.load, ResultsStore.path, verdicts.gate_outcome, verdicts.judge,
                 verdicts.chance, verdicts.withdrawal, verdicts._outcome, verdicts._runs,
                 verdicts.status, verdicts.declared_runs, verdicts.confirmatory_verdicts,
                 plan.Arm.config, plan.Registered.configs, plan._arms]
    from lt_lab.collapse import readers as collapse
    from lt_lab.decoupling import readers as decoupling
    from lt_lab.regression import readers as regression

    chapter_readers = [
        posthoc.posthoc_view, readers.validation_taus, decoupling.fix_results,
        decoupling.fix_result, decoupling.as_fixed, decoupling.norm_size_correlation,
        collapse.snapshots, collapse.last_snapshot, collapse.final_value,
        collapse.last_over_first, collapse.final_minority_cosine,
        collapse.final_minority_to_majority, collapse.minority_accuracy,
        collapse.with_final_state, collapse.paired_measures, collapse.cosines,
        regression.metric, regression.by_seed, regression.reduction,
        regression.stage_reduction, regression.margin_over_best, regression.per_bin,
        regression.per_bin_errors, regression.density_correlations,
        regression.correlation_gap, stats.paired_differences]
    chosen = [f for name, f in measures.MEASURES.items()
              if measure_names is None or name in measure_names]
    return [*rule, *chosen, measures._metric, measures._view,
            measures._paired, measures._all_seeds, measures._best_minus_last,
            measures._validation_score, measures.chosen_candidates,
            *chapter_readers, *selection]


def _plain(value):
    if is_dataclass(value):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def claim_material(claim: plan.Registered) -> dict:
    """What a claim's hash covers: its fields, and the store key of every run it reads."""
    configs = claim.configs()
    return {**_plain(claim), "seeds": list(claim.seeds),
            "runs": sorted(f"{name}@{seed}={config.key()}"
                           for (name, seed), config in configs.items())}


def _declaration(name: str):
    import importlib

    from lt_lab.book.confirmatory import DECLARATIONS

    return importlib.import_module(DECLARATIONS[name])


def declared_measures(name: str) -> list[str]:
    """The measures declaration ``name`` hashes: its module's ``MEASURE_NAMES`` (frozen with
    it, so that a measure added later for another declaration leaves its lock alone)."""
    return list(_declaration(name).MEASURE_NAMES)


def declared_seeds(name: str) -> dict:
    """The fresh seeds of declaration ``name`` by regime: its module's ``SEEDS``, else
    :data:`~lt_lab.book.confirmatory.plan.SEEDS` (edition-1's)."""
    seeds = getattr(_declaration(name), "SEEDS", plan.SEEDS)
    return {k: list(v) for k, v in seeds.items()}


def lock_entries(name: str, claims) -> dict:
    """The lock of declaration ``name``: a hash per claim and per analysis function (the
    closure of :func:`analysis_functions` from the declaration's measures), and the
    constants they read."""
    names = declared_measures(name)
    closure, constants = call_closure(analysis_functions(names))
    for item in [k for k in constants if k.endswith(".MEASURES")]:  # the registry judge reads
        constants[item] = json.dumps({k: v for k, v in json.loads(constants[item]).items()
                                      if k in names}, sort_keys=True)
    return {
        "declaration": name,
        "policy": {"seeds": declared_seeds(name),
                   "threads": plan.THREADS, "subset_seed": "= seed (fresh subset per seed)"},
        "claims": {f"{c.id}@{c.regime}": _sha(claim_material(c)) for c in claims},
        "functions": {f"{f.__module__}.{f.__qualname__}": function_hash(f) for f in closure},
        "constants": {**constants, "measures": {
            measure: f"{f.__module__}.{f.__qualname__}"
            for measure, f in measures.MEASURES.items() if measure in names}},
        "runs": len(verdicts.declared_runs(claims)),
    }


def planning(name: str, claims) -> dict:
    """Each claim's n as planned from the exploratory records (:mod:`.planning`); a
    declaration that re-declares another's claims (its module's ``PLANNED_AS``) plans them
    as that one did, on the same exploratory twins."""
    from lt_lab.book.confirmatory import declared
    from lt_lab.book.confirmatory.planning import exploratory_plan
    from lt_lab.results import ResultsStore

    module = _declaration(name)
    if (first := getattr(module, "PLANNED_AS", None)) is not None:
        name, twins = first, {f"{c.id}@{c.regime}": c for c in declared(first)}
        claims = [twins[f"{c.id}@{c.regime}"] for c in claims]
    new_arms = _declaration(name).NEW_ARMS
    store = ResultsStore(ROOT / "data" / "results")
    return {f"{c.id}@{c.regime}": exploratory_plan(c, store, new_arms) for c in claims}


def software() -> dict:
    """The versions the analysis ran with when locked (recorded, not compared: scipy's t and
    binomial tails do not change between releases)."""
    from lt_lab.provenance import software_versions

    return software_versions()


def write_lock(name: str, claims, path: Path = LOCK_PATH) -> dict:
    locks = json.loads(path.read_text()) if path.exists() else {}
    locks.setdefault("about", "The confirmatory declarations' hashes (issue 28, C3): written "
                     "by `python -m lt_lab.book.confirmatory lock`; tests/test_confirmatory.py "
                     "fails when a hashed item differs from the code.")
    locks.setdefault("declarations", {})[name] = {**lock_entries(name, claims),
                                                  "planning": planning(name, claims),
                                                  "software": software()}
    path.write_text(json.dumps(locks, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return locks


def read_lock(path: Path = LOCK_PATH) -> dict:
    return json.loads(path.read_text())["declarations"]


def differences(name: str, claims, path: Path = LOCK_PATH) -> list[str]:
    """What changed since ``name`` was locked: one line per hashed item that differs."""
    locked, now = read_lock(path)[name], lock_entries(name, claims)
    lines = []
    for part in ("claims", "functions"):
        for item in sorted(set(locked[part]) | set(now[part])):
            if locked[part].get(item) != now[part].get(item):
                state = ("added" if item not in locked[part] else
                         "removed" if item not in now[part] else "changed")
                lines.append(f"{part[:-1]} {item}: {state} since the declaration")
    for part in ("policy", "runs", "constants"):
        if locked.get(part) != now[part]:
            lines.append(f"{part}: changed since the declaration")
    return lines


def declarations(path: Path = DECLARATIONS_PATH) -> list[dict]:
    """The declarations ``book/confirmatory.json`` names: name, commit, time."""
    if not path.exists():
        return []
    return json.loads(path.read_text())["declarations"]
