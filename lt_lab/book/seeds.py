"""Which seeds each run of a chapter trains: the chapter's seeds, and seeds 0–9 for
the stages an escalated claim reads (the verdict rule's one escalation,
:func:`lt_lab.book.claims.verdict_seeds`), so a claim that was inconclusive at three seeds is
judged once more on ten, and the other claims keep the seeds they were declared with."""

from __future__ import annotations

from lt_lab.book import claims
from lt_lab.errors import ConfigError


def stage_seeds(stages, reads: dict[str, list[str]], declared: dict, seeds,
                profile: str) -> dict[str, list[int]]:
    """``{stage: seeds to train}``: ``seeds`` for every stage, widened to the verdict seeds
    of each claim in ``reads`` (claim id → the stages it compares) that reads the stage."""
    trained = {stage: sorted(set(seeds)) for stage in stages}
    for claim_id, read in reads.items():
        for stage in read:
            if stage not in trained:
                raise ConfigError(f"reads[{claim_id!r}] names stage={stage!r}; the stages "
                                  f"are {', '.join(trained)}")
            wanted = claims.verdict_seeds(declared[claim_id], seeds, profile)
            trained[stage] = sorted(set(trained[stage]) | set(wanted))
    return trained


def claim_records(records: dict, stage: str, claim, seeds, profile: str) -> list[dict]:
    """The records of ``stage`` at ``claim``'s verdict seeds (``records`` keyed by
    ``(stage, seed)``): seeds 0–9 for an escalated claim at ``quick``, else ``seeds``."""
    return [records[(stage, seed)] for seed in claims.verdict_seeds(claim, seeds, profile)]
