"""The third declaration (chapter 6, part F2, issue 31): SADE against the LA loss over SADE's
eleven test priors, and whether the aggregation weights follow the prior. Its runs, seeds,
measures by hand, gate, and that adding it left the other locks untouched."""

import pytest

from lt_lab.beyond.agnostic import SADE_TEST_PRIORS
from lt_lab.book.confirmatory import (
    chapter_declared,
    declaration_of,
    declared,
    judge,
    lock,
    status,
)
from lt_lab.book.confirmatory.edition3 import AGGREGATED, CHAPTER, OWN, SEEDS
from lt_lab.book.confirmatory.measures import prior_mean_difference, weight_shift
from lt_lab.book.confirmatory.verdicts import declared_runs
from lt_lab.errors import ConfigError

CLAIMS = declared("edition-3")


def test_every_run_is_at_a_fresh_seed_from_300_with_one_thread_fp32_and_its_own_subset():
    runs = declared_runs(CLAIMS)
    assert len(runs) == 20  # two arms x ten seeds
    for config in runs.values():
        assert 300 <= config.seed <= 309 and config.subset_seed == config.seed
        assert config.threads == 1 and config.precision == "fp32" and config.profile == "quick"
    heads = {config.head for config in runs.values()}
    assert heads == {"linear", "experts"}


def test_two_claims_are_counted_and_one_is_descriptive_all_on_the_first_ten_fresh_seeds():
    roles = {c.id: c.role for c in CLAIMS}
    assert roles == {"sade-beats-la-unknown-prior": "counted",
                     "aggregation-follows-prior": "counted",
                     "aggregation-adds-to-the-mean": "descriptive"}
    for claim in CLAIMS:
        assert claim.chapter == CHAPTER and claim.n == 10
        assert claim.seeds == SEEDS["quick"] == tuple(range(300, 310))


def test_chapter_6_is_declared_in_parts_and_its_first_part_stays_the_default():
    assert declaration_of(CHAPTER) == "edition-2"
    parts = [c.id for c in chapter_declared(CHAPTER)]  # edition-2, edition-3, then later ones
    assert parts[:6] == [c.id for c in declared("edition-2")] + [c.id for c in CLAIMS]
    assert chapter_declared(CHAPTER, "edition-3") == CLAIMS


def _agnostic(key, accs):
    return {"key": key, "extras": {"agnostic": {p: {"acc": a} for p, a in accs.items()}}}


def _sade(key, aggregated, weights=None, experts=None):
    weights = weights or {}
    experts = experts or {}
    return {"key": key, "extras": {"sade_aggregation": {
        p: {"aggregated": {"acc": a}, "weights": weights.get(p, [1 / 3] * 3),
            "experts": [{"acc": e} for e in experts.get(p, [a, a, a])]}
        for p, a in aggregated.items()}}}


def test_the_prior_mean_difference_averages_each_arm_over_the_priors_in_points():
    priors = ["forward50", "uniform", "backward50"]
    sade = _sade("s", {"forward50": 0.90, "uniform": 0.80, "backward50": 0.70})  # mean 0.80
    la = _agnostic("l", {"forward50": 0.85, "uniform": 0.82, "backward50": 0.62})  # 0.76333
    (value,) = prior_mean_difference({"a": [sade], "b": [la]}, AGGREGATED, OWN, priors)
    assert value == pytest.approx(100 * (0.80 - 2.29 / 3))  # 3.667 points


def test_by_default_the_mean_is_over_sade_s_eleven_priors():
    sade = _sade("s", {p: 0.5 for p in SADE_TEST_PRIORS})
    la = _agnostic("l", {p: 0.5 - i / 100 for i, p in enumerate(SADE_TEST_PRIORS)})
    # LA's mean is 0.5 - (0 + ... + 10) / 1100 = 0.45: five points below
    assert prior_mean_difference({"a": [sade], "b": [la]}, AGGREGATED, OWN) == \
        pytest.approx([5.0])


def test_one_arm_read_two_ways_gives_the_experts_gap():
    backward = {"analysis": "sade_aggregation", "key": "experts", "expert": 2}
    forward = {"analysis": "sade_aggregation", "key": "experts", "expert": 0}
    record = _sade("s", {"backward50": 0.6}, experts={"backward50": [0.40, 0.55, 0.70]})
    assert prior_mean_difference({"a": [record], "b": [record]}, backward, forward,
                                 ["backward50"]) == pytest.approx([30.0])


def test_a_record_without_the_prior_is_named():
    la = _agnostic("lonely", {"uniform": 0.5})
    sade = _sade("s", {p: 0.5 for p in SADE_TEST_PRIORS})
    with pytest.raises(ConfigError, match="lonely.*forward50"):
        prior_mean_difference({"a": [sade], "b": [la]}, AGGREGATED, OWN)


def test_the_weight_shift_is_the_expert_s_weight_on_one_prior_minus_another():
    record = _sade("s", {"forward50": 0.9, "backward50": 0.6},
                   weights={"forward50": [0.6, 0.3, 0.1], "backward50": [0.2, 0.3, 0.5]})
    assert weight_shift({"a": [record]}) == pytest.approx([0.4])  # 0.5 - 0.1
    assert weight_shift({"a": [record]}, expert=0) == pytest.approx([-0.4])
    with pytest.raises(ConfigError, match="expert 5"):
        weight_shift({"a": [record]}, expert=5)


def _weights_runs(shifts, gaps):
    return {"a": [_sade(f"s{i}", {"forward50": 0.9, "backward50": 0.6},
                        weights={"forward50": [0.5, 0.3, 0.2],
                                 "backward50": [0.5 - s, 0.3, 0.2 + s]},
                        experts={"backward50": [0.5, 0.5, 0.5 + g]})
                  for i, (s, g) in enumerate(zip(shifts, gaps, strict=True))]}


def test_the_weight_claim_is_judged_by_the_directional_rule_once_the_experts_differ():
    claim = next(c for c in CLAIMS if c.id == "aggregation-follows-prior")
    shifts = [0.30, 0.35, 0.25, 0.32, 0.28, 0.31, 0.29, 0.34, 0.26, 0.30]
    diverse = [0.10 + i / 100 for i in range(10)]  # 10 to 19 points: above 0
    assert judge(claim, _weights_runs(shifts, diverse)).verdict == "reproduced"  # 0.30 >= 0.20
    small = [s / 10 for s in shifts]  # mean 0.03, U < P = 0.10
    assert judge(claim, _weights_runs(small, diverse)).verdict == "not reproduced"


def test_the_weight_claim_is_not_applicable_when_the_experts_are_not_shown_to_differ():
    claim = next(c for c in CLAIMS if c.id == "aggregation-follows-prior")
    shifts = [0.20, 0.25, 0.15, 0.22, 0.18, 0.21, 0.19, 0.24, 0.16, 0.20]
    alike = [(-1) ** i / 100 for i in range(10)]  # around 0
    outcome = judge(claim, _weights_runs(shifts, alike))
    assert outcome.verdict.startswith("not applicable") and outcome.numbers["p"] == 1.0
    assert "backward expert" in outcome.verdict


def test_the_descriptive_claim_reads_the_aggregated_experts_minus_their_mean():
    claim = next(c for c in CLAIMS if c.id == "aggregation-adds-to-the-mean")
    records = [{"key": f"s{i}", "extras": {"sade_aggregation": {
        p: {"aggregated": {"acc": 0.71 + i / 1000}, "mean": {"acc": 0.70}}
        for p in SADE_TEST_PRIORS}}} for i in range(10)]
    outcome = judge(claim, {"a": records, "b": records})
    assert outcome.estimate.mean == pytest.approx(1.45)  # 1 point + the mean of i / 10: 0.45
    assert outcome.verdict == "reproduced"


def test_the_superiority_claim_reads_sade_minus_la():
    claim = next(c for c in CLAIMS if c.id == "sade-beats-la-unknown-prior")
    gains = [0.020, 0.025, 0.015, 0.022, 0.018, 0.021, 0.019, 0.024, 0.016, 0.020]
    runs = {"a": [_sade(f"s{i}", {p: 0.7 + g for p in SADE_TEST_PRIORS})
                  for i, g in enumerate(gains)],
            "b": [_agnostic(f"l{i}", {p: 0.7 for p in SADE_TEST_PRIORS}) for i in range(10)]}
    outcome = judge(claim, runs)
    assert outcome.verdict == "reproduced" and outcome.estimate.mean == pytest.approx(2.0)
    runs["a"], runs["b"] = runs["b"], runs["a"]
    with pytest.raises(ConfigError):  # the arms' records are not interchangeable
        judge(claim, runs)


def test_the_other_declarations_hash_none_of_its_measures():
    for name in ("edition-1", "edition-2"):
        entries = lock.lock_entries(name, declared(name))
        assert not any(f.endswith(("prior_mean_difference", "weight_shift"))
                       for f in entries["functions"])
        assert lock.differences(name, declared(name)) == []


def test_the_lock_matches_the_code():
    assert lock.differences("edition-3", CLAIMS) == []
    locked = lock.read_lock()["edition-3"]
    assert locked["policy"]["seeds"] == {"quick": list(range(300, 310))}
    assert locked["runs"] == 20
    assert set(locked["constants"]["measures"]) == {"prior_mean_difference", "weight_shift"}


def test_the_gate_estimate_waits_for_the_whole_set_and_then_reads_the_counted_runs(tmp_path):
    from lt_lab.book.confirmatory.display import gate_estimate
    from lt_lab.book.paths import ROOT
    from lt_lab.results import ResultsStore

    chapter = "06_beyond_softmax"
    assert gate_estimate(chapter, "aggregation-follows-prior", ResultsStore(tmp_path),
                         "edition-3") is None
    store = ResultsStore(ROOT / "data" / "results")
    if status(CLAIMS, store).complete:  # the counted set is in the repository's store
        found = gate_estimate(chapter, "aggregation-follows-prior", store, "edition-3")
        assert found.n == 10 and found.low <= found.mean <= found.high
        with pytest.raises(ConfigError, match="no gate"):
            gate_estimate(chapter, "sade-beats-la-unknown-prior", store, "edition-3")
