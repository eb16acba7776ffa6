"""Each claim's n, planned from its exploratory sd (issue 28, C1: fixed n, one look).

:func:`exploratory_plan` judges a claim on the stored exploratory records of its arms (seeds
0 to n_max − 1, subset 0), and gives the sd of the values its design reads, the n that
:func:`lt_lab.book.designs.seeds_needed` asks for an expected 95 % half-width ≤ T/2, and
whether the declared n (the regime's cap) reaches it. The declaration stores the result in
each claim's ``planning``; a test recomputes it from the records.
"""

from __future__ import annotations

import math

from lt_lab.book import designs
from lt_lab.book.confirmatory.measures import MEASURES
from lt_lab.book.confirmatory.plan import Registered, _arms
from lt_lab.stats import t_quantile

EXPLORATORY_SEEDS = {"quick": (10, 3), "long": (3,)}  # the largest stored set first


def _runs(claim: Registered, store, n: int) -> dict | None:
    def records(arm):
        return [store.load(arm.config(seed, exploratory=True)) for seed in range(n)]

    runs = {role: [records(a) for a in value] if isinstance(value, (list, tuple))
            else records(value) for role, value in claim.arms.items()}
    flat = [r for value in runs.values() for r in
            (value if not value or not isinstance(value[0], list) else sum(value, []))]
    return None if any(r is None for r in flat) else runs


def planning_values(claim: Registered, runs: dict) -> list[float] | None:
    """The signed per-seed values whose sd plans n (a ratio: its contrast at T)."""
    params = {k: v for k, v in claim.params.items() if k != "assay"}
    levels = claim.levels
    if claim.design in ("count", "spread"):
        return None
    if claim.design == "ratio":
        part, whole = MEASURES[claim.measure](runs, **params)
        return [p - levels["threshold"] * w for p, w in zip(part, whole, strict=True)]
    values = MEASURES[claim.measure](runs, **params)
    return designs.signed(values, levels.get("direction", ">"), levels.get("null", 0.0))


def exploratory_plan(claim: Registered, store, new_arms=(), seeds: int | None = None) -> dict:
    """The claim's planning entry (see the module docstring); ``new_arms``: the arms with no
    exploratory twin; ``seeds``: read exactly that many exploratory seeds (as the lock did),
    else the largest stored set."""
    new = {(arm.name, arm.profile) for arm in new_arms}
    if any((arm.name, arm.profile) in new for arm in _arms(claim.arms)):
        return {"sd": None, "why": "a new arm: no exploratory sd; n is the cap"}
    for n in (seeds,) if seeds else EXPLORATORY_SEEDS[claim.regime]:
        if (runs := _runs(claim, store, n)) is not None:
            break
    else:
        return {"sd": None, "why": "exploratory records absent; n is the cap"}
    values = planning_values(claim, runs)
    if values is None:
        return {"sd": None, "why": f"a {claim.design} design: n is the cap"}
    sd = designs.estimate(values).sd
    levels = claim.levels
    threshold = (levels["threshold"] if claim.design == "ratio" else
                 designs.signed([levels.get("threshold", levels.get("margin", 0.0))],
                                levels.get("direction", ">"), levels.get("null", 0.0))[0])
    entry = {"sd": round(sd, 4), "exploratory_seeds": n}
    if claim.design in ("no_effect", "non_inferiority") or threshold <= 0 or sd == 0:
        return {**entry, "why": "n is the cap (no T/2 target for this design or level)"}
    plan = designs.seeds_needed(sd, threshold, len_cap(claim))
    half_width = t_quantile(claim.n - 1) * sd / math.sqrt(claim.n)
    return {**entry, "n_needed": plan.n, "half_width_at_n": round(half_width, 4),
            "target": round(threshold / 2, 4), "reaches": half_width <= threshold / 2}


def len_cap(claim: Registered) -> int:
    from lt_lab.book.confirmatory.plan import SEEDS

    return len(getattr(claim, "seed_range", ()) or SEEDS[claim.regime])
