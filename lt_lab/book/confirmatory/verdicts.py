"""Confirmatory verdicts: one look, once every declared run is stored (issue 28, C3).

:func:`confirmatory_verdicts` is what part 2 calls. It reads the declared runs of each claim
from a store and returns its outcome by the claim's design — or, while any declared run of
the declaration is missing, only the count "confirmatory runs: k of n stored", and no number
(nobody reads a confirmatory number before the whole set is stored). :func:`judge` applies a
claim's measure and design to runs, whatever their seeds: the tests exercise it on the
exploratory records.
"""

from __future__ import annotations

from dataclasses import dataclass

from lt_lab.book import designs
from lt_lab.book.confirmatory.measures import MEASURES, reference_gain
from lt_lab.book.confirmatory.plan import Registered, _arms
from lt_lab.errors import ConfigError


NOT_APPLICABLE = "not applicable: {} was not shown above 0"


def gate_outcome(claim: Registered, runs: dict) -> designs.Outcome | None:
    """The "not applicable" outcome when ``claim``'s declared gate fails, else None."""
    if not claim.gate:
        return None
    gate = claim.gate
    values = MEASURES[gate["measure"]]({role: runs[source] for role, source
                                       in gate["roles"].items()}, **gate.get("params", {}))
    est = designs.estimate(values, "gate")
    if est.has_interval and est.low > 0:
        return None
    return designs.Outcome(claim.design, NOT_APPLICABLE.format(gate["reads"]), est)


def judge(claim: Registered, runs: dict) -> designs.Outcome:
    """``claim``'s outcome on ``runs`` (role → records in seed order, as its measure reads)."""
    if (closed := gate_outcome(claim, runs)) is not None:
        return closed
    measure = MEASURES[claim.measure]
    levels = dict(claim.levels)
    direction, null = levels.pop("direction", ">"), levels.pop("null", 0.0)
    if claim.design == "ratio":
        part, whole = measure(runs, **claim.params)
        return designs.ratio(part, whole, levels["threshold"], levels.get("partly"))
    if claim.design == "spread":
        return designs.spread(measure(runs, **claim.params), levels["threshold"],
                              levels.get("partly"))
    if claim.design == "count":
        return designs.count(measure(runs, **claim.params), levels["p0"])
    values = measure(runs, **{k: v for k, v in claim.params.items() if k != "assay"})
    if claim.design == "no_effect":
        return designs.no_effect(values, levels["margin"], null)
    if claim.design == "non_inferiority":
        return designs.non_inferiority(values, levels["delta"], levels["delta_source"],
                                       reference_gain(runs, **claim.params.get("assay", {})))
    function = designs.superiority if claim.design == "superiority" else designs.directional
    signed = designs.signed(values, direction, null)
    return function(signed, designs.signed([levels["threshold"]], direction, null)[0],
                    designs.signed([levels["partly"]], direction, null)[0]
                    if levels.get("partly") is not None else None)


def declared_runs(claims) -> dict:
    """``{config key: config}`` of every run ``claims`` read (arms shared between claims once)."""
    return {config.key(): config for claim in claims for config in claim.configs().values()}


@dataclass(frozen=True)
class Status:
    """How many of the declaration's runs are stored: ``stored`` of ``total``."""

    stored: int
    total: int
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.stored == self.total

    def text(self) -> str:
        return f"confirmatory runs: {self.stored} of {self.total} stored"


def status(claims, store) -> Status:
    runs = declared_runs(claims)
    missing = tuple(key for key, config in runs.items() if store.load(config) is None)
    return Status(len(runs) - len(missing), len(runs), missing)


def _runs(claim: Registered, store) -> dict:
    """role → records in seed order (a list of such lists for a role of several arms)."""
    def records(arm):
        return [store.load(arm.config(seed)) for seed in claim.seeds]

    return {role: [records(arm) for arm in value] if isinstance(value, (list, tuple))
            else records(value) for role, value in claim.arms.items()}


def confirmatory_verdicts(claims, store, chapter: str | None = None
                          ) -> dict[str, designs.Outcome] | Status:
    """Every claim's confirmatory outcome, by id — of ``chapter``'s claims only, if given —
    once every run those claims read is stored; until then only the :class:`Status` (print
    its ``text()``: that is all a chapter shows). One chapter's verdicts never wait for
    another's runs, and never show before all of its own are in (issue 29, D2)."""
    claims = [c for c in claims if chapter is None or c.chapter == chapter]
    if not claims:
        raise ConfigError(f"chapter={chapter!r} declares no confirmatory claim")
    progress = status(claims, store)
    if not progress.complete:
        return progress
    outcomes = {}
    for claim in claims:
        key = f"{claim.id}@{claim.regime}"
        if key in outcomes:
            raise ConfigError(f"claim {key!r} is declared twice")
        outcomes[key] = judge(claim, _runs(claim, store))
    return outcomes


def arm_names(claim: Registered) -> list[str]:
    return [arm.name for arm in _arms(claim.arms)]
