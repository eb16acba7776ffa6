"""The fifth declaration (issue 29): edition-1's chapters 0-3 and 4b re-declared in fp32 at
fresh seeds, every claim otherwise edition-1's; edition-1's part for them withdrawn before its
first run, so each claim is judged and counted once."""

from dataclasses import fields

from lt_lab.book.confirmatory import (
    chapter_declared,
    declaration_of,
    declared,
    live,
    lock,
    superseded_by,
)
from lt_lab.book.confirmatory.edition5 import CHAPTERS, SEEDS
from lt_lab.book.confirmatory.plan import Registered
from lt_lab.book.confirmatory.verdicts import declared_runs

CLAIMS = declared("edition-5")
OLD = [c for c in declared("edition-1") if c.chapter in CHAPTERS]


def test_every_claim_is_edition_1_s_field_for_field_but_its_arms_and_seeds():
    assert [c.id for c in CLAIMS] == [c.id for c in OLD] and len(CLAIMS) == 35
    for new, old in zip(CLAIMS, OLD, strict=True):
        for field in fields(Registered):
            if field.name != "arms":
                assert getattr(new, field.name) == getattr(old, field.name), (new.id, field)
        assert new.arms.keys() == old.arms.keys()
        assert new.seeds == SEEDS[new.regime][:new.n]


def test_each_arm_is_edition_1_s_config_in_fp32_at_a_fresh_seed():
    """Seed for seed (edition-1's 100+i is edition-5's 500+i), a run's config differs from
    edition-1's in its precision, its seeds and nothing else."""
    for new, old in zip(CLAIMS, OLD, strict=True):
        pairs = zip(new.configs().values(), old.configs().values(), strict=True)
        for fresh, declared_first in pairs:
            a, b = fresh.to_dict(), declared_first.to_dict()
            assert a["precision"] == "fp32" and b["precision"] == "bf16"
            assert a["seed"] - b["seed"] == 400 and a["threads"] == b["threads"] == 1
            assert a["subset_seed"] - b["subset_seed"] == 410 if new.id == "subset-spread" \
                else a["subset_seed"] == a["seed"]
            differ = {k for k in a if a[k] != b[k]}
            assert differ <= {"precision", "seed", "subset_seed"}, (new.id, differ)


def test_its_seeds_are_fresh_and_its_runs_as_many_as_edition_1_s_chapter_by_chapter():
    runs = declared_runs(CLAIMS)
    assert len(runs) == 360
    assert {c.seed for c in runs.values()} == set(range(500, 510))
    assert {c.subset_seed for c in runs.values()} == set(range(500, 520))
    for chapter in CHAPTERS:
        assert len(declared_runs([c for c in CLAIMS if c.chapter == chapter])) == \
            len(declared_runs([c for c in OLD if c.chapter == chapter])), chapter


def test_edition_5_supersedes_edition_1_in_its_chapters_only():
    for chapter in CHAPTERS:
        assert superseded_by("edition-1", chapter) == "edition-5"
        assert declaration_of(chapter) == "edition-5"
        ids = [c.id for c in chapter_declared(chapter)]
        assert len(ids) == len(set(ids)) and ids == [c.id for c in CLAIMS
                                                      if c.chapter == chapter]
    for chapter in ("04_neural_collapse", "05_imbalanced_regression"):
        assert superseded_by("edition-1", chapter) is None
        assert declaration_of(chapter) == "edition-1"
    assert declaration_of("06_beyond_softmax") == "edition-2"
    assert {c.chapter for c in live("edition-1")} == {"04_neural_collapse",
                                                      "05_imbalanced_regression"}
    assert live("edition-5") == CLAIMS


def test_the_lock_matches_the_code_and_the_other_locks_are_untouched():
    assert lock.differences("edition-5", CLAIMS) == []
    locked = lock.read_lock()["edition-5"]
    assert locked["runs"] == 360
    assert locked["policy"]["seeds"] == {"quick": list(range(500, 510)),
                                         "long": list(range(500, 505)),
                                         "subsets": list(range(510, 520))}
    for name in ("edition-1", "edition-2", "edition-3", "edition-4"):
        assert lock.differences(name, declared(name)) == []


def test_no_run_of_edition_1_s_withdrawn_part_is_ever_stored():
    """Withdrawn before its first record: were one of its runs stored, the withdrawal would
    come after it, and the rule would count it."""
    from lt_lab.book.paths import ROOT
    from lt_lab.results import ResultsStore

    store = ResultsStore(ROOT / "data" / "results")  # the book's store
    withdrawn = declared_runs([c for c in declared("edition-1") if c.chapter in CHAPTERS])
    assert len(withdrawn) == 360
    assert [key for key, config in withdrawn.items() if store.load(config) is not None] == []


def test_the_command_line_plans_and_trains_the_live_claims_only(capsys):
    from lt_lab.book.confirmatory.__main__ import main

    assert main(["plan", "edition-1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "150 runs"  # chapters 4 and 5
    assert main(["plan", "edition-5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "360 runs"


def test_a_spread_or_ratio_claim_is_drawn_against_its_own_levels():
    """The forest plot draws a claim's threshold and partly level: a spread's are points of
    sd (subset-spread: T = 1.5, P = 0.5), a ratio's a share, as declared."""
    from lt_lab.book.claims import from_registered

    for claim in CLAIMS:
        if claim.design in ("spread", "ratio"):
            drawn = from_registered(claim)
            assert drawn.threshold == claim.levels["threshold"]
            assert drawn.partly_threshold == claim.levels["partly"]
    spread = from_registered(next(c for c in CLAIMS if c.id == "subset-spread"))
    assert (spread.threshold, spread.partly_threshold) == (1.5, 0.5)
