"""Confirmatory verdicts: one look, once every declared run is stored (issue 28, C3).

:func:`confirmatory_verdicts` is what part 2 calls. It reads the declared runs of each claim
from a store and returns its outcome by the claim's design — or, while any declared run of
the declaration is missing, only the count "confirmatory runs: k of n stored", and no number
(nobody reads a confirmatory number before the whole set is stored). :func:`judge` applies a
claim's measure and design to runs, whatever their seeds: the tests exercise it on the
exploratory records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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


def _with_p(outcome: designs.Outcome, p: float) -> designs.Outcome:
    return replace(outcome, numbers={**outcome.numbers, "p": float(p)})


def _tost_p(values, margin: float, null: float) -> float:
    """Two one-sided t-tests of |mean − null| < margin: the larger of the two p-values."""
    shifted = [v - null for v in values]
    return max(designs.one_sided_p([margin - v for v in shifted]),
               designs.one_sided_p([v + margin for v in shifted]))


def judge(claim: Registered, runs: dict) -> designs.Outcome:
    """``claim``'s outcome on ``runs`` (role → records in seed order, as its measure reads),
    with ``numbers["p"]``: the one-sided p-value of the step that shows the claim (the
    chance line's input; 1 where the claim is not applicable)."""
    if (closed := gate_outcome(claim, runs)) is not None:
        return _with_p(closed, 1.0)
    measure = MEASURES[claim.measure]
    levels = dict(claim.levels)
    direction, null = levels.pop("direction", ">"), levels.pop("null", 0.0)
    levels.pop("margin_source", None)
    params = {k: v for k, v in claim.params.items() if k != "assay"}
    if claim.design == "ratio":
        part, whole = measure(runs, **params)
        outcome = designs.ratio(part, whole, levels["threshold"], levels.get("partly"))
        shown = outcome.verdict not in (designs.RATIO_NOT_APPLICABLE,)
        return _with_p(outcome, designs.one_sided_p(part) if shown else 1.0)
    if claim.design == "spread":
        return _with_p(designs.spread(measure(runs, **params), levels["threshold"],
                                      levels.get("partly")), 1.0)
    if claim.design == "count":
        outcome = designs.count(measure(runs, **params), levels["p0"])
        return _with_p(outcome, outcome.numbers["p_above"])
    values = measure(runs, **params)
    if claim.design == "no_effect":
        return _with_p(designs.no_effect(values, levels["margin"], null),
                       _tost_p(values, levels["margin"], null))
    if claim.design == "non_inferiority":
        outcome = designs.non_inferiority(
            values, levels["delta"], levels["delta_source"],
            reference_gain(runs, **claim.params.get("assay", {})))
        shown = outcome.verdict != designs.NI_NOT_APPLICABLE
        return _with_p(outcome, designs.one_sided_p([v + levels["delta"] for v in values])
                       if shown else 1.0)
    function = designs.superiority if claim.design == "superiority" else designs.directional
    signed = designs.signed(values, direction, null)
    outcome = function(signed, designs.signed([levels["threshold"]], direction, null)[0],
                       designs.signed([levels["partly"]], direction, null)[0]
                       if levels.get("partly") is not None else None)
    return _with_p(outcome, designs.one_sided_p(signed))


def chance(claims, outcomes: dict) -> designs.ChanceLine:
    """The chance line over the counted claims (one per group: its primary), their "not
    applicable", "not run" and withdrawn-after-declaration outcomes included with their p (1
    where nothing was shown: they stay in K); a claim withdrawn before its first record
    leaves K."""
    counted = [f"{c.id}@{c.regime}" for c in claims if c.role == "counted"
               and outcomes.get(f"{c.id}@{c.regime}") is not None
               and outcomes[f"{c.id}@{c.regime}"].verdict != WITHDRAWN_BEFORE]
    return designs.chance_line([outcomes[key].numbers["p"] for key in counted
                                if key in outcomes and "p" in outcomes[key].numbers])


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


NOT_RUN = "not run"
NOT_JUDGED = "not judged: {}"
WITHDRAWN_BEFORE = "withdrawn before its first confirmatory record"
WITHDRAWN_AFTER = "withdrawn after declaration"


def withdrawal(claim: Registered, entry: dict, store) -> str:
    """How a withdrawal (``{"claim": "id@regime", "time": ISO, "reason": ...}`` in
    ``book/confirmatory.json``) reads: allowed without mark only before any record of the
    claim's declared runs existed; after that the claim shows "withdrawn after declaration",
    and its verdict is still computed, shown and counted."""
    for config in claim.configs().values():
        record = store.load(config)
        if record is not None and record["created"] < entry["time"]:
            return WITHDRAWN_AFTER
    return WITHDRAWN_BEFORE


def _outcome(claim: Registered, store, failed: set) -> designs.Outcome:
    """One claim's outcome; its runs declared failed make it "not run" (a tuning candidate's
    only skip that candidate); an error in its measure is its own outcome, not every claim's."""
    runs = _runs(claim, store)
    missing = sorted(k for k in declared_runs([claim]) if k in failed)
    candidates = {config.key() for arm in claim.arms.get("candidates", [])
                  for config in (arm.config(s) for s in claim.seeds)}
    if any(key not in candidates for key in missing):
        return designs.Outcome(claim.design, NOT_RUN, None, (), {"missing": missing, "p": 1.0})
    try:
        return judge(claim, runs)
    except ConfigError as error:
        return designs.Outcome(claim.design, NOT_JUDGED.format(error), None, (), {"p": 1.0})


def confirmatory_verdicts(claims, store, chapter: str | None = None, *,
                          closed: dict | None = None) -> dict[str, designs.Outcome] | Status:
    """Every claim's confirmatory outcome, by ``id@regime`` — of ``chapter``'s claims only,
    if given — once every run those claims read is stored; until then only the
    :class:`Status` (print its ``text()``: that is all a chapter shows). One chapter's
    verdicts never wait for another's runs, and never show before all of its own are in
    (issue 29, D2).

    ``closed``: the grid's closing entry of ``book/confirmatory.json``
    (``{"time", "commit", "failed": [run keys], "withdrawn": [...]}``), committed when the
    grid is over. Its ``failed`` runs could not finish after their retries at the same seed:
    they stay missing (no other seed replaces them) and their claims read "not run". The
    verdicts show only when the store's missing runs are exactly those, so no flag can open
    a second look at a partial store. ``withdrawn`` claims are marked (:func:`withdrawal`)."""
    claims = [c for c in claims if chapter is None or c.chapter == chapter]
    if not claims:
        raise ConfigError(f"chapter={chapter!r} declares no confirmatory claim")
    progress = status(claims, store)
    failed = set((closed or {}).get("failed", []))
    if not set(progress.missing) <= failed:
        return progress
    outcomes = {}
    for claim in claims:
        key = f"{claim.id}@{claim.regime}"
        if key in outcomes:
            raise ConfigError(f"claim {key!r} is declared twice")
        outcomes[key] = _outcome(claim, store, failed & set(progress.missing))
    for entry in (closed or {}).get("withdrawn", []):
        claim = next((c for c in claims if f"{c.id}@{c.regime}" == entry["claim"]), None)
        if claim is None:
            continue
        mark = withdrawal(claim, entry, store)
        outcome = outcomes[entry["claim"]]
        outcomes[entry["claim"]] = (replace(outcome, marks=(*outcome.marks, mark))
                                    if mark == WITHDRAWN_AFTER else
                                    designs.Outcome(claim.design, mark, None, (), {}))
    return outcomes


def arm_names(claim: Registered) -> list[str]:
    return [arm.name for arm in _arms(claim.arms)]
