"""The confirmatory declaration (issue 28, C2/C3): what it fixes cannot drift, and only runs
made at its commit, at fresh seeds, after it, can decide it."""

import functools
import json
import re
import subprocess

import pytest

from lt_lab.book.confirmatory import (
    DECLARATIONS,
    SEEDS,
    THREADS,
    chapter_declared,
    declaration_of,
    declared,
    judge,
    live,
    lock,
    status,
)
from lt_lab.book.confirmatory.edition1 import NEW_ARMS, NOT_COUNTED
from lt_lab.book.confirmatory.measures import (
    best_epoch_optimism,
    chosen_tau_near,
    classifier_etf_gap,
    difference,
    optimism_difference,
    share_of_gain,
    subset_table,
)
from lt_lab.book.confirmatory.plan import _arms, arm_list
from lt_lab.book.confirmatory.verdicts import confirmatory_verdicts, declared_runs
from lt_lab.book.paths import CHAPTERS, ROOT
from lt_lab.errors import ConfigError
from lt_lab.results import ResultsStore

CLAIMS = declared("edition-1")
NEW = {(arm.name, arm.profile) for arm in NEW_ARMS}
STORE = ResultsStore(ROOT / "data" / "results")


@functools.cache
def stored_records() -> tuple[dict, ...]:
    """Every record of the repository's store, read once for this module's tests."""
    return tuple(STORE.records())


def _record(key="r", metrics=None, curves=None, extras=None):
    return {"key": key, "metrics": metrics or {}, "curves": curves or {}, "extras": extras or {}}


# --- the plan: seeds, threads, subsets ---------------------------------------------------------

def test_every_declared_run_is_at_a_fresh_seed_with_one_thread_and_its_own_subset():
    for claim in CLAIMS:
        for (arm, seed), config in claim.configs().items():
            assert seed in SEEDS[claim.regime] and seed >= 100
            assert config.profile == claim.regime
            if config.kind == "ufm":
                continue  # the simulator: a random start, one thread always, no subset
            assert config.threads == THREADS == 1
            if not arm.startswith("CE, subset"):
                assert config.subset_seed == seed, (claim.id, arm)


def test_a_claim_uses_the_first_n_seeds_of_its_range_for_every_arm():
    for claim in CLAIMS:
        assert claim.seeds == SEEDS[claim.regime][:claim.n]
        by_arm = {}
        for arm, seed in claim.configs():
            by_arm.setdefault(arm, []).append(seed)
        assert all(seeds == list(claim.seeds) for seeds in by_arm.values()), claim.id


def test_the_spread_claim_crosses_ten_fresh_subsets_with_two_training_seeds():
    spread = next(c for c in CLAIMS if c.design == "spread")
    configs = spread.configs().values()
    assert {c.subset_seed for c in configs} == set(range(100, 110))
    assert {c.seed for c in configs} == {100, 101} and len(configs) == 20


def test_every_arm_but_the_new_ones_is_an_exploratory_arm_of_its_chapter():
    """The declared overrides are exactly those the chapters ran: the arm's exploratory
    config at seed 0 is in the store (its key would differ on any changed field)."""
    for arm in arm_list(CLAIMS):
        if (arm.name, arm.profile) in NEW:
            continue
        assert STORE.load(arm.config(0, exploratory=True)) is not None, arm


def test_claim_ids_and_roles_are_consistent():
    ids = [(c.id, c.regime) for c in CLAIMS]
    assert len(ids) == len(set(ids))
    groups = {}
    for claim in CLAIMS:
        groups.setdefault(claim.group, []).append(claim)
    for group, members in groups.items():  # a group counts once: exactly one primary
        if all(m.role in ("ours", "descriptive") for m in members):
            continue  # the book's own questions and descriptive values: never counted
        assert sum(m.role == "counted" for m in members) == 1, group
    assert not {c.id for c in CLAIMS} & set(NOT_COUNTED)


def test_a_bad_declaration_is_refused_by_name():
    claim = CLAIMS[2]
    from dataclasses import replace

    with pytest.raises(ConfigError, match="design"):
        replace(claim, design="vibes")
    with pytest.raises(ConfigError, match="n=11"):
        replace(claim, n=11)


# --- the measures, by hand ---------------------------------------------------------------------

def test_difference_is_a_minus_b_in_points_seed_by_seed():
    a = [_record(metrics={"balanced_acc": 0.75}), _record(metrics={"balanced_acc": 0.70})]
    b = [_record(metrics={"balanced_acc": 0.72}), _record(metrics={"balanced_acc": 0.71})]
    assert difference({"a": a, "b": b}) == pytest.approx([3.0, -1.0])  # 75−72, 70−71


def test_a_missing_metric_names_its_record():
    with pytest.raises(ConfigError, match="record r7 has no metric 'balanced_acc'"):
        difference({"a": [_record("r7")], "b": [_record()]})


def test_unpaired_arms_are_refused():
    with pytest.raises(ConfigError, match="one per seed"):
        difference({"a": [_record()], "b": []})


def test_classifier_etf_gap_is_in_orders_of_magnitude():
    far = _record(metrics={"equiangularity_classifier": 0.3, "equinorm_classifier": 1.0})
    near = _record(metrics={"equiangularity_classifier": 1e-3, "equinorm_classifier": 1e-4})
    assert classifier_etf_gap({"a": [far], "b": [near]}) == pytest.approx([3.0])  # 0 − (−3)


def test_best_epoch_optimism_is_the_best_evaluation_minus_the_last():
    curves = {"test_balanced_acc": [0.60, 0.74, 0.73, 0.72]}
    assert best_epoch_optimism({"a": [_record(curves=curves)]}) == pytest.approx([2.0])  # 74−72


def test_optimism_difference_subtracts_the_baselines_optimism():
    a = _record(curves={"test_balanced_acc": [0.70, 0.75, 0.72]})  # 3 points
    b = _record(curves={"test_balanced_acc": [0.70, 0.71, 0.70]})  # 1 point
    assert optimism_difference({"a": [a], "b": [b]}) == pytest.approx([2.0])


def test_share_of_gain_gives_part_and_whole_over_the_base():
    base = _record(metrics={"balanced_acc": 0.70},
                   extras={"posthoc": {"1": {"balanced_acc": 0.76, "per_class_acc": [0.76]}}})
    whole = _record(metrics={"balanced_acc": 0.78})
    part, total = share_of_gain({"part": [base], "whole": [whole], "base": [base]},
                             view_part={"posthoc": 1.0})
    assert part == pytest.approx([6.0]) and total == pytest.approx([8.0])  # 76−70, 78−70


def test_chosen_tau_near_reads_the_validation_split_only():
    val = {"0": {"balanced_acc": 0.6}, "1": {"balanced_acc": 0.7}, "2": {"balanced_acc": 0.65}}
    record = _record(extras={"posthoc_val": val, "posthoc": {"0": {"balanced_acc": 0.9}}})
    assert chosen_tau_near({"a": [record]}, taus=[0.0, 1.0, 2.0]) == [True]  # τ* = 1
    val["2"]["balanced_acc"] = 0.8
    assert chosen_tau_near({"a": [record]}, taus=[0.0, 1.0, 2.0]) == [False]  # τ* = 2


def test_subset_table_has_a_row_per_subset():
    rows = subset_table({"subsets": [[_record(metrics={"balanced_acc": 0.5})] * 2,
                                     [_record(metrics={"balanced_acc": 0.6})] * 2]})
    assert rows == [[50.0, 50.0], [60.0, 60.0]]


# --- every counted claim's measure on the exploratory records ----------------------------------

def _frozen_means() -> dict:
    """(claim id, regime) → the mean and n the chapter's frozen verdict cell printed."""
    pattern = re.compile(r"^(\S+)\s+(?:claim|sanity)\s+.*?\s(-?\d+\.\d+) \[.*?\] n=(\d+)")
    means = {}
    for path in CHAPTERS.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if "# NBVAL_CHECK_OUTPUT" not in "".join(cell.get("source", [])):
                continue
            regime = "quick"
            for output in cell.get("outputs", []):
                for line in "".join(output.get("text", "")).splitlines():
                    if line.startswith("-- papers' schedule"):
                        regime = "long"
                    elif line.startswith("-- "):
                        regime = None
                    elif regime and (match := pattern.match(line)):
                        means[(match[1], regime)] = (float(match[2]), int(match[3]))
    return means


def test_every_claims_paper_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text()
    assert [c.paper for c in CLAIMS if "{" + c.paper + "," not in bib] == []


def _exploratory_runs(claim, n):
    return {role: [[STORE.load(a.config(s, exploratory=True)) for s in range(n)] for a in value]
            if isinstance(value, (list, tuple)) else
            [STORE.load(value.config(s, exploratory=True)) for s in range(n)]
            for role, value in claim.arms.items()}


EXPLORATORY = [c for c in CLAIMS if not any((a.name, a.profile) in NEW for a in _arms(c.arms))]


@pytest.mark.parametrize("claim", EXPLORATORY, ids=lambda c: f"{c.id}@{c.regime}")
def test_each_claims_measure_and_design_run_on_its_exploratory_records(claim):
    """Judged on the stored exploratory seeds (0–2), each counted claim gives a finite
    estimate; where its chapter printed the same measure at the same n, the same mean."""
    runs = _exploratory_runs(claim, 3)
    if any(r is None for rs in runs.values() for r in rs):
        pytest.skip("exploratory records absent from this store")
    outcome = judge(claim, runs)
    assert (outcome.verdict in ("reproduced", "partly", "inconclusive", "not reproduced")
            or outcome.verdict.startswith("not applicable: "))
    frozen = _frozen_means().get((claim.id, claim.regime))
    if frozen and frozen[1] == 3 and claim.design in ("directional", "superiority", "ratio"):
        if claim.design == "ratio":
            shown = outcome.numbers["share"]
        else:  # back from the signed scale the designs judge on
            null = claim.levels.get("null", 0.0)
            below = claim.levels.get("direction", ">") == "<"
            shown = null - outcome.estimate.mean if below else outcome.estimate.mean + null
        digits = len(str(frozen[0]).split(".")[1])
        assert round(shown, digits) == pytest.approx(frozen[0]), claim.id


def test_ten_exploratory_seeds_give_the_chapters_escalated_verdict():
    """cb-coarse-prefers-large-beta at seeds 0–9 (stored): 1.6 [0.2, 2.9], the frozen line."""
    claim = next(c for c in CLAIMS if c.id == "cb-coarse-prefers-large-beta")
    runs = _exploratory_runs(claim, 10)
    if any(r is None for rs in runs.values() for r in rs):
        pytest.skip("exploratory records absent from this store")
    est = judge(claim, runs).estimate
    assert (round(est.mean, 1), round(est.low, 1), round(est.high, 1)) == (1.6, 0.2, 2.9)


def _candidate(val, test):
    return _record(metrics={"balanced_acc": test},
                   extras={"posthoc_val": {"0": {"balanced_acc": val}}})


def test_a_tuned_method_is_chosen_on_the_validation_split_seed_by_seed():
    """Seed 0: candidate 1 validates best (0.8) and tests 0.70; seed 1: candidate 0 (0.9,
    tie-free) tests 0.60. Against a baseline at 0.65 and 0.62: +5.0 and −2.0 points."""
    from lt_lab.book.confirmatory.measures import chosen_candidates, tuned_difference

    runs = {"candidates": [[_candidate(0.7, 0.90), _candidate(0.9, 0.60)],
                           [_candidate(0.8, 0.70), _candidate(0.5, 0.99)]],
            "b": [_record(metrics={"balanced_acc": 0.65}), _record(metrics={"balanced_acc": 0.62})]}
    assert chosen_candidates(runs) == [1, 0]
    assert tuned_difference(runs) == pytest.approx([5.0, -2.0])
    runs["candidates"][1][0] = _candidate(0.7, 0.70)  # a tie goes to the first candidate
    assert chosen_candidates(runs)[0] == 0


def test_a_candidate_without_a_validation_score_is_an_error_naming_it():
    from lt_lab.book.confirmatory.measures import chosen_candidates

    with pytest.raises(ConfigError, match="record r has no validation score"):
        chosen_candidates({"candidates": [[_record()]]})


# --- one look ----------------------------------------------------------------------------------

def test_a_partial_store_shows_only_how_many_runs_are_stored(tmp_path):
    result = confirmatory_verdicts(CLAIMS, ResultsStore(tmp_path))
    total = len(declared_runs(CLAIMS))
    assert result.text() == f"confirmatory runs: 0 of {total} stored"
    assert not result.complete and len(result.missing) == total


def test_a_chapter_shows_its_verdicts_only_once_all_its_own_runs_are_stored(tmp_path):
    chapter = [c for c in CLAIMS if c.chapter == "04_neural_collapse"]
    result = confirmatory_verdicts(CLAIMS, ResultsStore(tmp_path), "04_neural_collapse")
    assert result.text() == f"confirmatory runs: 0 of {len(declared_runs(chapter))} stored"
    with pytest.raises(ConfigError, match="chapter='09_nothing' declares no"):
        confirmatory_verdicts(CLAIMS, ResultsStore(tmp_path), "09_nothing")


@pytest.mark.slow  # keys all 510 declared configs twice and through the CLI (about 2 s)
def test_the_declared_grid_is_one_list_of_every_run(tmp_path):
    from lt_lab.book.confirmatory.__main__ import main

    out = tmp_path / "grid.json"
    assert main(["grid", "edition-1", str(out)]) == 0  # its live part: chapters 4 and 5
    configs = json.loads(out.read_text())
    claims = live("edition-1")
    assert len(configs) == len(declared_runs(claims)) == status(claims, STORE).total == 150
    from lt_lab.cli import grid_config  # what `lt-lab grid FILE` trains: the declared keys

    assert {grid_config(entry).key() for entry in configs} == set(declared_runs(claims))


# --- the lock and the declaration commit -------------------------------------------------------

def test_the_lock_matches_the_code():
    """A hashed item — a claim's fields, arms, seeds or run keys, an analysis function —
    changed after the declaration fails here. Withdrawing a claim is allowed only before its
    first confirmatory record exists (then the lock is rewritten in the same commit)."""
    assert lock.differences("edition-1", CLAIMS) == []


def test_a_changed_function_or_claim_is_caught(monkeypatch):
    from dataclasses import replace

    changed = [replace(CLAIMS[0], levels={"threshold": 1.0, "partly": 0.5}), *CLAIMS[1:]]
    assert lock.differences("edition-1", changed) == [
        f"claim {CLAIMS[0].id}@{CLAIMS[0].regime}: changed since the declaration"]
    real = lock.function_hash
    monkeypatch.setattr(lock, "function_hash",
                        lambda f: "planted" if f.__name__ == "ratio" else real(f))
    assert lock.differences("edition-1", CLAIMS) == [
        "function lt_lab.book.designs.ratio: changed since the declaration"]


def _compiled(source: str, tmp_path, name: str):
    """A function ``f`` defined in a module file of its own (inspect reads its source)."""
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def test_the_lock_hashes_every_function_the_verdicts_reach_even_through_lazy_imports():
    """Spearman's ρ is reached only through a reader's import inside its body; the collapse
    metrics through a reader of a reader; the rule's confidence through a module constant."""
    closure, constants = lock.call_closure(lock.analysis_functions())
    names = {f"{f.__module__}.{f.__qualname__}" for f in closure}
    assert {"lt_lab.stats.spearman", "lt_lab.collapse.metrics.mean_pairwise_cosine",
            "lt_lab.decoupling.readers.fix_metric", "lt_lab.book.designs._no_interval_mark",
            "lt_lab.regression.readers.per_bin"} <= names
    assert constants["lt_lab.stats.CONFIDENCE"] == "0.95"
    assert "0x" not in json.dumps(constants)  # no memory address: the lock is reproducible


def test_a_changed_constant_is_caught(monkeypatch):
    from lt_lab import stats

    monkeypatch.setattr(stats, "CONFIDENCE", 0.9)
    assert "constants: changed since the declaration" in lock.differences("edition-1", CLAIMS)


def test_the_locked_planning_is_what_the_exploratory_records_give():
    """Each claim's planning sd (n was planned from it) recomputed from the store."""
    from lt_lab.book.confirmatory.edition1 import NEW_ARMS
    from lt_lab.book.confirmatory.planning import exploratory_plan

    locked = lock.read_lock()["edition-1"]["planning"]
    for claim in CLAIMS:
        entry = locked[f"{claim.id}@{claim.regime}"]
        if entry.get("sd") is None:
            continue
        plan = exploratory_plan(claim, STORE, NEW_ARMS, seeds=entry["exploratory_seeds"])
        if plan.get("sd") is not None:  # the records are in this store
            assert plan == entry, claim.id


def test_a_cache_version_bump_changes_every_claims_hash(monkeypatch):
    """A change to what a config computes bumps CACHE_VERSION, which is in every run's key,
    so the lock sees it."""
    from lt_lab import config

    monkeypatch.setattr(config, "CACHE_VERSION", config.CACHE_VERSION + 1)
    changed = lock.differences("edition-1", CLAIMS)
    assert len([line for line in changed if line.startswith("claim ")]) == len(CLAIMS)


def test_function_hashes_ignore_docstrings_and_comments_but_not_code(tmp_path):
    one = _compiled('def f(x):\n    """One."""\n    return x + 1\n', tmp_path, "one")
    two = _compiled('def f(x):\n    """Two, longer."""\n    return x + 1  # a comment\n',
                    tmp_path, "two")
    three = _compiled("def f(x):\n    return x + 2\n", tmp_path, "three")
    assert lock.function_hash(one) == lock.function_hash(two) != lock.function_hash(three)


def _git(*args) -> int:
    """git's exit status in the repository (its output discarded)."""
    return subprocess.call(["git", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


DECLARED = lock.declarations()


@pytest.mark.skipif(not DECLARED, reason="no declaration committed yet")
def test_each_declaration_commit_is_an_ancestor_of_head():
    for entry in DECLARED:
        in_history = _git("merge-base", "--is-ancestor", entry["commit"], "HEAD") == 0
        assert in_history, f"{entry['name']}: {entry['commit']} is not in HEAD's history"
        assert entry["name"] in lock.read_lock()


def _fresh(name: str) -> set[int]:
    return {seed for seeds in lock.declared_seeds(name).values() for seed in seeds}


def test_the_declarations_fresh_seed_ranges_do_not_overlap():
    names = list(DECLARATIONS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not _fresh(a) & _fresh(b), (a, b)


def test_every_record_at_a_confirmatory_seed_was_made_after_its_declaration_at_its_commit():
    """No record at a seed of a declaration's fresh ranges predates the declaration, or was
    made from any other commit (or a dirty tree)."""
    entries = {entry["name"]: entry for entry in DECLARED}
    for name in DECLARATIONS:
        fresh, entry = _fresh(name), entries.get(name)
        for record in stored_records():
            config = record["config"]
            if config["seed"] in fresh or config.get("subset_seed") in fresh:
                assert entry is not None, f"record {record['key']} at a fresh seed of " \
                                          f"{name} before its declaration"
                assert record["created"] >= entry["time"], record["key"]
                assert record["git_commit"] == entry["commit"][:len(record["git_commit"])], \
                    record["key"]


def test_every_record_at_a_confirmatory_seed_is_a_declared_run():
    """The stored confirmatory set is a part of the declared set: no run at a fresh seed
    that no claim reads (another seed, another arm) slips into the store."""
    for name in DECLARATIONS:
        fresh, keys = _fresh(name), set(declared_runs(declared(name)))
        strays = [record["key"] for record in stored_records()
                  if fresh & {record["config"]["seed"], record["config"].get("subset_seed")}
                  and record["key"] not in keys]
        assert strays == [], name


def _frozen_status(chapter: str) -> str:
    """The frozen output of the chapter's confirmatory cell (``print_chapter``)."""
    import nbformat

    notebook = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"
             and "NBVAL_CHECK_OUTPUT" in cell.source and "print_chapter(" in cell.source]
    assert len(cells) == 1, f"{chapter}: one frozen confirmatory cell, not {len(cells)}"
    return "".join(output.get("text", "") for output in cells[0].outputs)


@pytest.mark.parametrize("chapter", sorted({c.chapter for c in CLAIMS}))
def test_each_chapter_s_set_is_whole_or_its_frozen_cell_lists_how_many_are_stored(chapter):
    """The declared set of a chapter is complete, or the chapter says how much of it is
    stored (the count its frozen cell prints, checked against the store here without
    executing it); the set is the declaration's that judges the chapter (edition-5 for the
    chapters it re-declared)."""
    progress = status(chapter_declared(chapter, declaration_of(chapter)), STORE)
    frozen = _frozen_status(chapter)
    if progress.complete:
        assert "confirmatory runs:" not in frozen
    else:
        assert frozen.strip() == progress.text()


# --- gates, by hand ------------------------------------------------------------------------------

def _two_stage(seed, base_mse, mse):
    return {"key": f"k{seed}", "seed": seed, "metrics": {"mse": mse},
            "base_metrics": {"mse": base_mse}}


def test_a_gated_claim_is_not_applicable_until_its_gate_is_shown():
    """bni-matches-bmc: BNI − BMC within ±2 %, but only where two-stage BMC's own reduction
    of its base is shown above 0. Stage reductions 100·(10 − 9)/10 = 10 %, 100·(10 − 8)/10
    = 20 %, 100·(10 − 8.5)/10 = 15 %: interval above 0, so the no-effect design decides."""
    from lt_lab.regression.readers import SPLITS

    claim = next(c for c in CLAIMS if c.id == "bni-matches-bmc")
    base = SPLITS["base"]
    bmc = [_two_stage(s, 10.0, m) for s, m in enumerate((9.0, 8.0, 8.5))]
    bni = [_two_stage(s, 10.0, m) for s, m in enumerate((9.0, 8.02, 8.5))]
    for records in (bmc, bni):
        for r in records:
            r[base] = r.pop("base_metrics")
            r[SPLITS["test"]] = r.pop("metrics")
    outcome = judge(claim, {"a": bni, "b": bmc})
    assert outcome.verdict == "reproduced"  # reductions 0, −0.25 %, 0: within ±2 %
    for r in bmc + bni:  # stage 2 makes every run worse: the gate closes
        r[SPLITS["test"]]["mse"] += 3.0
    assert judge(claim, {"a": bni, "b": bmc}).verdict == (
        "not applicable: two-stage BMC's own reduction of its base's balanced MSE was not "
        "shown above 0")


# --- the chance line, "not run" and withdrawals -----------------------------------------------

class _FakeStore:
    """A store holding a record (made at ``created``) for the given config keys only."""

    def __init__(self, records: dict):
        self.records_by_key = records

    def load(self, config):
        return self.records_by_key.get(config.key())


def test_each_outcome_carries_the_p_of_the_step_that_shows_it():
    """Directional: t-test of mean > 0 on 3, 4, 5 (t = 4/(1/√3) = 6.93, df 2: p = 0.0101);
    no effect within ±1 on 0.1, −0.1, 0: the larger of the two one-sided p-values."""
    from scipy import stats as sps

    claim = next(c for c in CLAIMS if c.id == "cb-reweighting-beats-resampling")
    runs = {"a": [_record(metrics={"balanced_acc": v / 100}) for v in (53, 54, 55)],
            "b": [_record(metrics={"balanced_acc": 0.50})] * 3}
    p = judge(claim, runs).numbers["p"]
    assert p == pytest.approx(sps.t.sf(4 / (1 / 3 ** 0.5), 2), rel=1e-6)
    focal = next(c for c in CLAIMS if c.id == "focal-helps-little")
    runs = {"a": [_record(metrics={"balanced_acc": (50 + v) / 100}) for v in (0.1, -0.1, 0.0)],
            "b": [_record(metrics={"balanced_acc": 0.50})] * 3}
    sd = 0.1  # of 0.1, −0.1, 0
    expected = sps.t.sf(1 / (sd / 3 ** 0.5), 2)  # both sides: |0 ± 1| / (sd/√n)
    assert judge(focal, runs).numbers["p"] == pytest.approx(expected, rel=1e-5)


def test_the_chance_line_counts_each_counted_primary_once_not_applicable_included():
    from lt_lab.book.confirmatory.verdicts import chance
    from lt_lab.book.designs import Outcome

    counted = [c for c in CLAIMS if c.role == "counted"]
    outcomes = {f"{c.id}@{c.regime}": Outcome(c.design, "x", numbers={"p": 0.001})
                for c in CLAIMS}
    first = counted[0]
    outcomes[f"{first.id}@{first.regime}"] = Outcome(first.design, "not applicable: …",
                                                     numbers={"p": 1.0})
    line = chance(CLAIMS, outcomes)
    assert line.k == len(counted) and line.raw == len(counted) - 1
    assert line.expected == pytest.approx(0.025 * len(counted))


def test_when_the_grid_is_closed_a_failed_run_reads_not_run_with_its_key(tmp_path):
    from lt_lab.book.confirmatory.verdicts import NOT_RUN

    chapter = [c for c in CLAIMS if c.chapter == "04_neural_collapse"]
    keys = sorted(declared_runs(chapter))
    store = ResultsStore(tmp_path)
    # a gap that the closing entry does not list: still only the count, whatever is passed
    partial = {"failed": keys[1:]}
    assert confirmatory_verdicts(CLAIMS, store, "04_neural_collapse",
                                 closed=partial).text().startswith("confirmatory runs: 0 of")
    outcomes = confirmatory_verdicts(CLAIMS, store, "04_neural_collapse",
                                     closed={"failed": keys})
    (key,) = outcomes
    assert outcomes[key].verdict == NOT_RUN and outcomes[key].numbers["missing"] == keys


def test_a_failed_tuning_candidate_is_skipped_not_the_claim():
    from lt_lab.book.confirmatory.measures import chosen_candidates

    runs = {"candidates": [[None, _candidate(0.9, 0.6)], [_candidate(0.5, 0.7),
                                                          _candidate(0.4, 0.9)]]}
    assert chosen_candidates(runs) == [1, 0]  # seed 0: candidate 0 failed


def test_a_withdrawal_after_a_record_exists_is_marked_and_keeps_its_verdict():
    from lt_lab.book.confirmatory.verdicts import WITHDRAWN_AFTER, WITHDRAWN_BEFORE, withdrawal

    claim = next(c for c in CLAIMS if c.id == "drw-beats-reweighting")
    config = next(iter(claim.configs().values()))
    entry = {"claim": "drw-beats-reweighting@long", "time": "2027-01-02T00:00:00+00:00",
             "reason": "test"}
    assert withdrawal(claim, entry, _FakeStore({})) == WITHDRAWN_BEFORE
    early = _FakeStore({config.key(): {"created": "2027-01-01T00:00:00+00:00"}})
    late = _FakeStore({config.key(): {"created": "2027-01-03T00:00:00+00:00"}})
    assert withdrawal(claim, entry, early) == WITHDRAWN_AFTER
    assert withdrawal(claim, entry, late) == WITHDRAWN_BEFORE


def test_confirmatory_runs_are_trained_only_from_a_clean_checkout(monkeypatch, capsys):
    from lt_lab import grid, provenance
    from lt_lab.book.confirmatory.__main__ import main

    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123def456-dirty")
    monkeypatch.setattr(grid, "run_grid", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "edition-1", "04_neural_collapse"]) == 2
    assert "clean checkout" in capsys.readouterr().err


def test_a_confirmatory_record_is_hidden_until_its_chapter_is_whole(tmp_path):
    from lt_lab.book.confirmatory.mask import hidden

    store = ResultsStore(tmp_path)
    chapter = [c for c in CLAIMS if c.chapter == "04_neural_collapse"]
    keys = sorted(declared_runs(chapter))
    assert hidden({"key": keys[0]}, store)
    assert not hidden({"key": "0123456789abcdef"}, store)  # an exploratory record
    for key in keys:
        store.path(key).parent.mkdir(parents=True, exist_ok=True)
        store.path(key).write_text("{}")
    assert not hidden({"key": keys[0]}, store)


def test_the_pre_registration_page_gets_the_declaration_and_its_plan(tmp_path):
    from lt_lab.book.confirmatory.display import DECLARATION_MARKER, MARKER, fill_page

    page = tmp_path / "preregistration.md"
    page.write_text(f"# P\n\n{DECLARATION_MARKER}\n\n{MARKER}\n")
    fill_page(page)
    text = page.read_text()
    assert MARKER not in text and DECLARATION_MARKER not in text
    assert all(f"`{c.id}`" in text for c in CLAIMS)
    assert (ROOT / "book" / "preregistration.md").read_text().count(MARKER) == 1


def test_lt_lab_results_shows_no_number_of_a_confirmatory_run_before_its_chapter_is_whole(
        tmp_path, capsys):
    from lt_lab.cli import _shown

    store = ResultsStore(tmp_path)
    chapter = [c for c in CLAIMS if c.chapter == "04_neural_collapse"]
    key = sorted(declared_runs(chapter))[0]
    record = {"key": key, "kind": "classification", "config": {"profile": "quick", "seed": 100},
              "metrics": {"acc": 0.8125}}
    shown = _shown(store)(record)
    assert "81.2" not in shown and "hidden until" in shown
    assert "81.2" in _shown(store)({**record, "key": "0123456789abcdef"})


def test_smallest_gain_is_a_minus_the_best_other_seed_by_seed():
    a = [_record(metrics={"balanced_acc": v}) for v in (0.70, 0.60)]
    others = [[_record(metrics={"balanced_acc": v}) for v in (0.68, 0.62)],
              [_record(metrics={"balanced_acc": v}) for v in (0.65, 0.55)]]
    from lt_lab.book.confirmatory.measures import smallest_gain

    assert smallest_gain({"a": a, "others": others}) == pytest.approx([2.0, -2.0])  # 70−68, 60−62


def test_the_etf_gap_of_an_instance_is_the_mean_over_its_starts():
    from lt_lab.book.confirmatory.measures import etf_gap_by_instance

    def made(d):
        return _record(metrics={"equiangularity_classifier": d, "equinorm_classifier": d / 10})

    runs = {"a": [[made(1.0), made(1.0)], [made(0.1), made(0.1)]],
            "b": [[made(0.01), made(0.1)], [made(0.1), made(0.1)]]}
    assert etf_gap_by_instance(runs) == pytest.approx([1.5, 0.0])  # mean(2, 1); 0


# --- the confirmatory verdicts on the page (issue 29, D2) --------------------------------------

def test_the_headline_waits_for_whole_chapters_and_says_how_many_runs_are_stored(tmp_path):
    from lt_lab.book.confirmatory.display import headline

    text = headline(ResultsStore(tmp_path))
    counted = sum(c.role == "counted" for name in DECLARATIONS for c in live(name))
    assert f"none of the {counted} counted claims" in text  # every declaration's, once
    assert text.count("04b_collapse_networks.ipynb") == 1  # edition-5's row, not edition-1's
    assert "confirmatory runs: 0 of 130 stored" in text  # chapter 5's row
    assert "confirmatory runs: 0 of 40 stored" in text  # chapter 6's row (edition-2)
    assert "confirmatory runs: 0 of 20 stored" in text  # chapter 6's part F2 (edition-3)
    assert "06_beyond_softmax.ipynb) (edition-3)" in text  # a part named by its declaration
    assert "confirmatory runs: 0 of 10 stored" in text  # chapter 6's part F3 (edition-4)


def test_a_whole_chapter_s_verdicts_become_claims_for_the_forest_plot():
    from lt_lab.book.confirmatory.display import chapter_claims

    (claim,) = chapter_claims("04_neural_collapse", STORE)
    assert claim.category == "descriptive" and claim.n == 5 and len(claim.values) == 5
    assert claim.low < claim.measured < claim.high and claim.verdict == "partly"


def test_a_partial_chapter_draws_no_forest_plot_and_prints_its_count(tmp_path, capsys):
    from lt_lab.book.confirmatory.display import forest

    assert forest("05_imbalanced_regression", store=ResultsStore(tmp_path)) is None
    assert capsys.readouterr().out.strip() == "confirmatory runs: 0 of 130 stored"


def test_the_headline_markers_are_replaced_on_the_staged_pages(tmp_path):
    from lt_lab.book.confirmatory.display import (
        HEADLINE_MARKER,
        HEADLINE_SENTENCE_MARKER,
        fill_headline,
    )

    page = tmp_path / "page.md"
    page.write_text(f"A {HEADLINE_SENTENCE_MARKER} B\n\n{HEADLINE_MARKER}\n")
    fill_headline(page, ResultsStore(tmp_path / "empty"))
    text = page.read_text()
    assert HEADLINE_MARKER not in text and HEADLINE_SENTENCE_MARKER not in text
    assert text.count("| chapter | counted |") == 1  # the table once: the sentence has none
    for name, marker in (("ledger.md", HEADLINE_MARKER), ("intro.md", HEADLINE_SENTENCE_MARKER)):
        assert (ROOT / "book" / name).read_text().count(marker) == 1


def test_the_confirmatory_cell_s_lines_are_read_as_verdicts_by_the_prose_check():
    from lt_lab.book.verdict_prose import LINE

    line = ("lds-fds-cuts-few-shot            counted      not reproduced   -1.00 [-2.00, 0.50] "
            "n=10 p=0.9")
    assert LINE.match(line).group(1, 3) == ("lds-fds-cuts-few-shot", "not reproduced")
    assert LINE.match("bni-matches-bmc   member   inconclusive").group(3) == "inconclusive"


def test_the_readme_gives_what_the_stored_confirmatory_runs_cost():
    """The cost table (core-hours, speed, machines) is computed from the store, and the README
    quotes it as it is now: a record added without the README's table updated fails here."""
    from lt_lab.book.confirmatory.cost import cost_markdown

    readme = (ROOT / "README.md").read_text()
    assert cost_markdown(STORE) in readme
    assert cost_markdown(STORE, name="edition-2") in readme  # chapter 6's declaration
    assert cost_markdown(STORE, name="edition-3") in readme  # chapter 6's part F2
    assert cost_markdown(STORE, name="edition-4") in readme  # chapter 6's part F3
    assert cost_markdown(STORE, name="edition-5") in readme  # chapters 0-3 and 4b, fp32


def test_the_cost_of_a_run_is_its_wall_time_times_its_threads(tmp_path):
    from lt_lab.book.confirmatory.cost import cost_rows

    stored = json.loads((ROOT / "data" / "results" / "f8e39572a59e55fa.json").read_text())
    record = {**stored, "wall_time_s": 90.0, "data": {"train_size": 2000, "test_size": 1},
              "hardware": {"type": "cpu", "model": "CPU X", "cpu": "fam 1", "isa": ["avx2"]}}
    store = ResultsStore(tmp_path)  # one chapter-5 run (seed 100), its numbers replaced
    store.path(record["key"]).parent.mkdir(parents=True, exist_ok=True)
    store.path(record["key"]).write_text(json.dumps(record))
    (row,) = [r for r in cost_rows(store) if r["chapter"] == "05_imbalanced_regression"]
    assert row["stored"] == 1 and row["core_hours"] == pytest.approx(90 * 1 / 3600)
    assert row["images_per_s"] == pytest.approx(2000 * stored["config"]["epochs"] / 90)
    assert row["machines"] == ["CPU X (fam 1; avx2), bf16"]


@pytest.mark.parametrize("jobs, stored, calls_made", [("1", 0, 20), ("2", 0, 1), ("2", 19, 1)])
def test_the_train_command_never_asks_a_run_for_its_own_bar(monkeypatch, jobs, stored,
                                                           calls_made):
    """A run's own progress bar shows its training loss: in the confirmatory grid only the
    grid's count of runs is shown, whether the runs train here (--jobs 1, or a last missing
    run) or in workers."""
    from lt_lab import grid, provenance
    from lt_lab.book.confirmatory.__main__ import main

    keys = list(declared_runs([c for c in CLAIMS if c.chapter == "04_neural_collapse"]))
    done = set(keys[:stored])
    monkeypatch.setattr(ResultsStore, "load",
                        lambda self, config: {"key": config.key()} if config.key() in done
                        else None)
    calls = []
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123def456")
    monkeypatch.setattr(grid, "run_grid", lambda configs, **k: calls.append((configs, k)))
    assert main(["train", "edition-1", "04_neural_collapse", "--jobs", jobs]) == 0
    assert len(calls) == calls_made
    assert all(len(configs) > 1 and k["jobs"] > 1 or k["progress"] is False
               for configs, k in calls)
