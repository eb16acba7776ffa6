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


def function_hash(function) -> str:
    """sha256 of ``function``'s code: its syntax tree, without docstrings or comments."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(ast.dump(_without_docstrings(tree)).encode()).hexdigest()


def analysis_functions() -> list:
    """Every function a confirmatory verdict runs through, besides torch's."""
    from lt_lab import stats
    from lt_lab.book import designs
    from lt_lab.margins import posthoc, readers

    rule = [designs._values, designs._number, designs._levels, designs.signed,
            designs.estimate, designs.directional_verdict, designs.directional,
            designs.superiority, designs.non_inferiority, designs.no_effect, designs.fieller,
            designs.ratio, designs._sums, designs._components, designs._profile_interval,
            designs._bootstrap_interval, designs.spread, designs.count, stats.t_quantile]
    selection = [verdicts.gate_outcome, verdicts.judge, verdicts._runs, verdicts.status, verdicts.declared_runs,
                 verdicts.confirmatory_verdicts, plan.Arm.config, plan.Registered.configs,
                 plan._arms]
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
    return [*rule, *measures.MEASURES.values(), measures._metric, measures._view,
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


def lock_entries(name: str, claims) -> dict:
    """The lock of declaration ``name``: a hash per claim and per analysis function."""
    return {
        "declaration": name,
        "policy": {"seeds": {k: list(v) for k, v in plan.SEEDS.items()},
                   "threads": plan.THREADS, "subset_seed": "= seed (fresh subset per seed)"},
        "claims": {f"{c.id}@{c.regime}": _sha(claim_material(c)) for c in claims},
        "functions": {f"{f.__module__}.{f.__qualname__}": function_hash(f)
                      for f in analysis_functions()},
        "runs": len(verdicts.declared_runs(claims)),
    }


def write_lock(name: str, claims, path: Path = LOCK_PATH) -> dict:
    locks = json.loads(path.read_text()) if path.exists() else {}
    locks.setdefault("about", "The confirmatory declarations' hashes (issue 28, C3): written "
                     "by `python -m lt_lab.book.confirmatory lock`; tests/test_confirmatory.py "
                     "fails when a hashed item differs from the code.")
    locks.setdefault("declarations", {})[name] = lock_entries(name, claims)
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
    for part in ("policy", "runs"):
        if locked[part] != now[part]:
            lines.append(f"{part}: changed since the declaration")
    return lines


def declarations(path: Path = DECLARATIONS_PATH) -> list[dict]:
    """The declarations ``book/confirmatory.json`` names: name, commit, time."""
    if not path.exists():
        return []
    return json.loads(path.read_text())["declarations"]
