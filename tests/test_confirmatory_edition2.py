"""The second declaration (chapter 6, issue 31): its runs, seeds and measure, and that adding
it left edition-1's lock untouched."""

import pytest

from lt_lab.book.confirmatory import declared, judge, lock
from lt_lab.book.confirmatory.edition2 import CHAPTER, ETF_TO_OF, SEEDS
from lt_lab.book.confirmatory.measures import snapshot_difference
from lt_lab.book.confirmatory.plan import Arm, Declared
from lt_lab.book.confirmatory.verdicts import declared_runs
from lt_lab.errors import ConfigError

CLAIMS = declared("edition-2")


def test_every_run_is_at_a_fresh_seed_from_200_with_one_thread_fp32_and_its_own_subset():
    runs = declared_runs(CLAIMS)
    assert len(runs) == 40  # four arms x ten seeds
    for config in runs.values():
        assert 200 <= config.seed <= 209 and config.subset_seed == config.seed
        assert config.threads == 1 and config.precision == "fp32"
        assert config.profile == "quick" and config.val_per_class == 20


def test_each_claim_is_counted_in_chapter_6_on_the_first_ten_fresh_seeds():
    for claim in CLAIMS:
        assert claim.chapter == CHAPTER and claim.role == "counted" and claim.n == 10
        assert claim.seeds == SEEDS["quick"] == tuple(range(200, 210))


def test_the_etf_to_of_distance_is_the_ten_class_value():
    import torch

    from lt_lab.beyond.geometry import distance_to_orthogonal_frame, distance_to_simplex_etf

    etf = torch.eye(10) - torch.full((10, 10), 0.1)
    assert distance_to_orthogonal_frame(etf) == pytest.approx(ETF_TO_OF, abs=0.001)
    assert distance_to_simplex_etf(torch.eye(10)) == pytest.approx(ETF_TO_OF, abs=0.001)


def _geometry(key, *distances):
    return {"key": key, "extras": {"scl_geometry": [{"epoch": e + 1, "of_distance": d}
                                                    for e, d in enumerate(distances)]}}


def test_snapshot_difference_is_a_minus_b_at_the_last_snapshot_seed_by_seed():
    runs = {"a": [_geometry("a0", 0.9, 0.5), _geometry("a1", 0.9, 0.4)],
            "b": [_geometry("b0", 0.9, 0.2), _geometry("b1", 0.1, 0.3)]}
    assert snapshot_difference(runs) == pytest.approx([0.3, 0.1])


def test_a_record_without_the_snapshot_is_named():
    runs = {"a": [{"key": "lonely", "extras": {}}], "b": [_geometry("b0", 0.2)]}
    with pytest.raises(ConfigError, match="lonely"):
        snapshot_difference(runs)


def test_the_orthogonal_frame_claim_is_judged_by_the_directional_rule():
    claim = next(c for c in CLAIMS if c.id == "relu-gives-orthogonal-frame")
    gaps = [0.30, 0.25, 0.35, 0.28, 0.32, 0.27, 0.31, 0.29, 0.33, 0.30]
    runs = {"a": [_geometry(f"a{i}", 0.4 + g) for i, g in enumerate(gaps)],
            "b": [_geometry(f"b{i}", 0.4) for i in range(10)],
            "converged": [_geometry(f"c{i}", 0.1 + g / 10) for i, g in enumerate(gaps)]}
    assert judge(claim, runs).verdict == "reproduced"  # mean 0.30 >= T = 0.16
    runs["a"] = [_geometry(f"a{i}", 0.4 + g / 10) for i, g in enumerate(gaps)]
    assert judge(claim, runs).verdict == "not reproduced"  # U about 0.03 < P = 0.08


@pytest.mark.parametrize("claim_id", ["relu-gives-orthogonal-frame",
                                      "binding-restores-symmetry"])
def test_a_geometry_claim_is_not_applicable_unless_the_bound_relu_arm_passed_an_etf(claim_id):
    claim = next(c for c in CLAIMS if c.id == claim_id)
    runs = {"a": [_geometry(f"a{i}", 0.9 + i / 100) for i in range(10)],
            "b": [_geometry(f"b{i}", 0.4) for i in range(10)],
            # 0.32 minus these: around 0, its interval not above 0
            "converged": [_geometry(f"c{i}", 0.3 + (i % 3) / 50) for i in range(10)]}
    outcome = judge(claim, runs)
    assert outcome.verdict.startswith("not applicable") and outcome.numbers["p"] == 1.0
    runs["converged"] = [_geometry(f"c{i}", 0.2 + (i % 3) / 50) for i in range(10)]
    assert judge(claim, runs).verdict == "reproduced"


def test_a_declared_claim_needs_n_distinct_seeds():
    fields = dict(id="x", chapter=CHAPTER, regime="quick", paper="p", statement="s",
                  source="s", measure="difference", arms={"a": Arm("a", "quick")},
                  design="directional", levels={"threshold": 1.0}, n=3)
    with pytest.raises(ConfigError, match="seed_range"):
        Declared(**fields, seed_range=(200, 201))
    with pytest.raises(ConfigError, match="seed_range"):
        Declared(**fields, seed_range=(200, 200, 201))
    assert Declared(**fields, seed_range=(205, 201, 209, 203)).seeds == (205, 201, 209)


def test_edition_1_s_lock_hashes_only_its_own_measures():
    entries = lock.lock_entries("edition-1", declared("edition-1"))
    assert "snapshot_difference" not in entries["constants"]["measures"]
    assert not any(name.endswith("snapshot_difference") for name in entries["functions"])
    assert lock.differences("edition-1", declared("edition-1")) == []


def test_the_lock_matches_the_code():
    assert lock.differences("edition-2", CLAIMS) == []
    locked = lock.read_lock()["edition-2"]
    assert locked["policy"]["seeds"] == {"quick": list(range(200, 210))}
    assert locked["runs"] == 40
    assert set(locked["constants"]["measures"]) == {"difference", "reference_gain",
                                                   "snapshot_difference", "snapshot_margin"}


def test_the_chapter_s_configs_at_its_defaults_are_the_declared_arms_exploratory_runs():
    """Chapter 6 builds its pilot configs from the profile and its parameters; at its defaults
    they are the arms' exploratory configs (the pilot's stored records)."""
    from lt_lab.book.confirmatory.edition2 import NEW_ARMS
    from lt_lab.config import make_config

    for arm in NEW_ARMS:
        for seed in (0, 1, 2):
            chapter = make_config("quick", **arm.overrides, dataset="fashion_mnist",
                                  device="auto", imbalance_ratio=100, seed=seed)
            assert chapter.key() == arm.config(seed, exploratory=True).key()


def test_a_non_inferiority_claim_without_its_assay_prints_the_assay_not_its_own_values():
    from lt_lab.book.confirmatory.display import verdict_rows

    claim = next(c for c in CLAIMS if c.id == "relu-costs-no-accuracy")
    crt = {"classifier_fixes": {"crt": {"balanced_acc": 0.0, "per_class_acc": [0.0]}}}

    def record(key, acc):
        fixes = {"crt": {**crt["classifier_fixes"]["crt"], "balanced_acc": acc}}
        return {"key": key, "metrics": {}, "extras": {"classifier_fixes": fixes}}

    runs = {"a": [record(f"a{i}", 0.70 + i / 1000) for i in range(3)],
            "b": [record(f"b{i}", 0.69) for i in range(3)],
            "reference": [record(f"b{i}", 0.69) for i in range(3)],
            "ce": [record(f"c{i}", 0.71 + i / 1000) for i in range(3)]}  # SCL below CE
    outcome = judge(claim, runs)
    assert outcome.verdict.startswith("not applicable")
    (row,) = verdict_rows([claim], {f"{claim.id}@quick": outcome})
    # the assay: SCL minus CE, -2.1 [-2.35, -1.85] points (-2.0, -2.1, -2.2 by hand)
    assert row["estimate [95 % interval]"].startswith("assay: -2.10 [")
