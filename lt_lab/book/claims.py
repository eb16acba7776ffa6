"""Claims: what a paper says, what we measured, and whether it reproduced.

A chapter declares its claims — paper, statement, what the paper reported (with the source
tag: [code], [readme], [issue], [listing] for where in the paper's sources it is, [U] for
unverified), how
we measure it and the threshold — *before* it runs anything. ``check`` then fills in the
measured mean and spread over seeds and a verdict:

* ``reproduced`` — the mean passes ``threshold``;
* ``partly`` — it misses ``threshold`` but passes ``partly_threshold`` (when one is set);
* ``not reproduced`` — it passes neither;
* ``not run at this profile`` — no measurement.

The printed verdict table is the cell nbval checks: a change to lt_lab that moves a
verdict, or a number in it, fails the test suite until the chapter is re-frozen.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lt_lab.errors import check_choice

VERDICTS = ("reproduced", "partly", "not reproduced", "not run at this profile")
DIRECTIONS = (">", "<")
CLAIMS_ENV = "LT_LAB_CLAIMS_DIR"  # set by `lt-lab book execute`: where chapters publish


@dataclass(frozen=True)
class Claim:
    """One checkable statement from a paper, with its pre-registered threshold."""

    id: str
    paper: str  # bibtex key in book/references.bib
    statement: str
    reported: str  # what the paper reported, with its source tag
    measure: str  # how we measure it here, and in which unit
    threshold: float
    direction: str = ">"  # the measured value must be > (or <) the threshold
    partly_threshold: float | None = None
    unit: str = "points"
    digits: int = 1  # decimals shown for measured value and spread
    measured: float | None = None
    spread: float | None = None  # standard deviation over seeds
    n: int = 0  # number of seeds (or runs) measured
    values: tuple[float, ...] = field(default=())
    verdict: str = "not run at this profile"

    def __post_init__(self):
        check_choice("direction", self.direction, DIRECTIONS)

    @property
    def target(self) -> str:
        """What the measurement must be, e.g. ``"> 2 points"``."""
        return f"{self.direction} {self.threshold:g} {self.unit}".rstrip()

    def value_text(self) -> str:
        """``"3.0 ± 2.2"`` (no ± for one value or an sd claim); ``"—"`` when not measured."""
        if self.measured is None:
            return "—"
        if self.spread is None or self.n == 1:
            return f"{self.measured:.{self.digits}f}"
        return f"{self.measured:.{self.digits}f} ± {self.spread:.{self.digits}f}"

    def passes(self, value: float, threshold: float | None) -> bool:
        if threshold is None:
            return False
        return value > threshold if self.direction == ">" else value < threshold


def declare(*claims: Claim) -> dict[str, Claim]:
    """The chapter's claims by id (ids must be unique): a notebook checks
    ``declared["drw-beats-cb"]``, never ``declared[7]``, so reordering cannot mislabel."""
    by_id: dict[str, Claim] = {}
    for claim in claims:
        if claim.id in by_id:
            raise ValueError(f"claim id {claim.id!r} is declared twice")
        by_id[claim.id] = claim
    return by_id


STATISTICS = ("mean", "sd")


def check(claim: Claim, values, statistic: str = "mean") -> Claim:
    """The claim with its measurement over ``values`` (one per seed) and its verdict.

    ``statistic="mean"`` judges the mean of the values (their sd is the spread shown);
    ``"sd"`` judges their standard deviation itself (a claim about seed-to-seed spread).
    """
    check_choice("statistic", statistic, STATISTICS)
    values = tuple(float(v) for v in values if v is not None and not math.isnan(v))
    if not values or (statistic == "sd" and len(values) < 2):
        return replace(claim, measured=None, spread=None, n=0, values=(),
                       verdict="not run at this profile")
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    measured, spread = (statistics.fmean(values), sd) if statistic == "mean" else (sd, None)
    if claim.passes(measured, claim.threshold):
        verdict = "reproduced"
    elif claim.passes(measured, claim.partly_threshold):
        verdict = "partly"
    else:
        verdict = "not reproduced"
    return replace(claim, measured=measured, spread=spread, n=len(values), values=values,
                   verdict=verdict)


def _format(claim: Claim) -> str:
    value = claim.value_text()
    return value if claim.measured is None else f"{value} (n={claim.n})"


def verdict_lines(claims: list[Claim]) -> list[str]:
    """Fixed-width text lines: id, verdict, measured ± spread, threshold."""
    lines = []
    for claim in claims:
        lines.append(f"{claim.id:<28} {claim.verdict:<24} {_format(claim):<24} "
                     f"(needs {claim.target})")
    return lines


def print_verdicts(claims: list[Claim]) -> None:
    """Print the verdict table (the cell a chapter marks ``# NBVAL_CHECK_OUTPUT``)."""
    print("\n".join(verdict_lines(claims)))


def claims_table(claims: list[Claim]):
    """A pandas DataFrame for display: paper, statement, reported, measured, verdict."""
    import pandas as pd

    return pd.DataFrame([
        {
            "claim": c.id,
            "paper": c.paper,
            "statement": c.statement,
            "paper reported": c.reported,
            "how we measure": c.measure,
            "threshold": c.target,
            "measured (mean ± sd)": _format(c),
            "verdict": c.verdict,
        }
        for c in claims
    ]).set_index("claim")


def publish(chapter: str, title: str, claims: list[Claim], directory: str | Path | None = None):
    """Write the chapter's checked claims as JSON for the book's claims ledger.

    Does nothing unless ``directory`` is given or ``$LT_LAB_CLAIMS_DIR`` is set (the book
    build sets it), so running a chapter by hand leaves no files behind.
    """
    directory = directory or os.environ.get(CLAIMS_ENV)
    if not directory:
        return None
    from lt_lab.io import write_json_atomic

    payload = {"chapter": chapter, "title": title, "claims": [asdict(c) for c in claims]}
    return write_json_atomic(Path(directory) / f"{chapter}.json", payload)


def load_published(directory: str | Path) -> list[dict]:
    """Every chapter's published claims, in chapter order."""
    return [json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))]
