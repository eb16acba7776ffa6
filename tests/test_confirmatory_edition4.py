"""The fourth declaration (chapter 6, part F3, issue 31): input mixup in stage 1 and a
re-balanced classifier (cRT) at the papers' schedule. Its runs, seeds, measure by hand, and that
adding it left the other locks untouched."""

import pytest

from lt_lab.book.confirmatory import chapter_declared, declared, judge, lock
from lt_lab.book.confirmatory.edition4 import CHAPTER, SEEDS
from lt_lab.book.confirmatory.verdicts import declared_runs

CLAIMS = declared("edition-4")


def test_every_run_is_at_a_fresh_seed_from_400_at_the_papers_schedule_in_fp32():
    runs = declared_runs(CLAIMS)
    assert len(runs) == 10  # two arms x five seeds
    for config in runs.values():
        assert 400 <= config.seed <= 404 and config.subset_seed == config.seed
        assert config.threads == 1 and config.precision == "fp32" and config.profile == "long"
        assert config.epochs == 200 and config.val_per_class == 20
        assert config.analyses == {"classifier_fixes": {"fixes": ["crt", "lws", "ncm"]}}
    assert {config.loss for config in runs.values()} == {"ce", "mixup"}


def test_one_claim_is_counted_and_one_is_descriptive_on_the_five_fresh_seeds():
    assert {c.id: c.role for c in CLAIMS} == {"mixup-improves-crt": "counted",
                                              "mixup-joint-gain": "descriptive"}
    for claim in CLAIMS:
        assert claim.chapter == CHAPTER and claim.n == 5 and claim.regime == "long"
        assert claim.seeds == SEEDS["long"] == tuple(range(400, 405))
    assert [c.id for c in chapter_declared(CHAPTER)][-2:] == [c.id for c in CLAIMS]


def _record(key, joint, crt):
    return {"key": key, "metrics": {"balanced_acc": joint},
            "extras": {"classifier_fixes": {"crt": {"balanced_acc": crt,
                                                    "per_class_acc": [crt, crt]}}}}


def test_the_counted_claim_reads_the_two_cRT_classifiers_and_the_descriptive_the_joint_ones():
    counted, descriptive = CLAIMS
    gains = [0.020, 0.025, 0.015, 0.022, 0.018]  # mean 2 points, by hand
    runs = {"a": [_record(f"m{i}", 0.70, 0.75 + g) for i, g in enumerate(gains)],
            "b": [_record(f"c{i}", 0.70 + g / 10, 0.75) for i, g in enumerate(gains)]}
    outcome = judge(counted, runs)
    assert outcome.estimate.mean == pytest.approx(2.0) and outcome.verdict == "reproduced"
    joint = judge(descriptive, runs)  # mixup's joint classifier 0.2 points lower on average
    assert joint.estimate.mean == pytest.approx(-0.2) and joint.verdict == "not reproduced"


def test_the_other_declarations_locks_are_untouched():
    for name in ("edition-1", "edition-2", "edition-3"):
        assert lock.differences(name, declared(name)) == []


def test_the_lock_matches_the_code():
    assert lock.differences("edition-4", CLAIMS) == []
    locked = lock.read_lock()["edition-4"]
    assert locked["policy"]["seeds"] == {"long": list(range(400, 405))}
    assert locked["runs"] == 10
    assert set(locked["constants"]["measures"]) == {"difference"}
