"""Chapter 3's seeds per first stage (lt_lab.book.seeds): seeds 0-9 only for the
stages an escalated claim reads, and only at the quick profile."""

import pytest

from lt_lab.book.claims import Claim
from lt_lab.book.seeds import claim_records, stage_seeds
from lt_lab.errors import ConfigError

ESCALATED = Claim(id="up", paper="p", statement="s", reported="r", measure="m", threshold=1.0,
                  escalated=True)
PLAIN = Claim(id="plain", paper="p", statement="s", reported="r", measure="m", threshold=1.0)
DECLARED = {"up": ESCALATED, "plain": PLAIN}
STAGES = ["a", "b", "c"]


def test_an_escalated_claim_widens_only_the_stages_it_reads_to_seeds_0_to_9():
    trained = stage_seeds(STAGES, {"up": ["a", "b"], "plain": ["c"]}, DECLARED, [0, 1, 2],
                          "quick")
    assert trained == {"a": list(range(10)), "b": list(range(10)), "c": [0, 1, 2]}


def test_nothing_escalates_at_smoke():
    trained = stage_seeds(STAGES, {"up": ["a"]}, DECLARED, [0, 1, 2], "smoke")
    assert trained == {"a": [0, 1, 2], "b": [0, 1, 2], "c": [0, 1, 2]}


def test_a_stage_no_claim_names_is_refused_by_name():
    with pytest.raises(ConfigError, match="stage='z'"):
        stage_seeds(STAGES, {"up": ["z"]}, DECLARED, [0], "quick")


def test_a_plain_claim_reads_the_chapter_seeds_even_where_ten_were_trained():
    records = {(stage, seed): {"stage": stage, "seed": seed}
               for stage in STAGES for seed in range(10)}
    assert [r["seed"] for r in claim_records(records, "a", PLAIN, [0, 1, 2], "quick")] == [0, 1, 2]
    assert [r["seed"] for r in claim_records(records, "a", ESCALATED, [0, 1, 2],
                                             "quick")] == list(range(10))
