"""Claims: what a paper says, what we measured, and whether it reproduced.

A chapter declares its claims — paper, statement, what the paper reported (with the source
tag: [code], [readme], [issue], [listing], [log] for where in the paper's sources it is, [U] for
unverified), how we measure it, the threshold and the category — *before* it runs anything;
``book/claims.lock.json`` holds a hash of each declaration and every amendment since
(:mod:`lt_lab.book.lock`). ``check`` then fills in the measurement over seeds, its 95 %
interval and the verdict, by one rule for the whole book (stated on the ledger page):

The values are per-seed paired differences (or per-seed ratios, correlations...), each signed
so that the claimed direction is positive: ``s = v − null`` for a claim ``>``, ``null − v``
for a claim ``<`` (``null``: the value of no effect, 0 for a difference). Their mean m and a
95 % Student-t interval [L, U] (t quantile with n − 1 degrees of freedom) are judged against
the threshold T and the partly level P ≤ T, signed the same way (P = T when none is declared),
in this order:

* ``not reproduced`` if U < P;
* ``inconclusive`` if L ≤ 0 (no effect in the claimed direction cannot be excluded);
* ``reproduced`` if m ≥ T;
* ``partly`` otherwise — so a wrong-sign mean is never partly (L > 0 implies m > 0).

A claim of no effect (``margin`` set) is ``reproduced`` when [L, U] lies within
``null ± margin``, ``not reproduced`` when it lies wholly outside, ``inconclusive`` otherwise.
A claim about the spread itself (``statistic="sd"``) is judged on the sample sd with its
chi-square interval. Fewer than two values give no interval: ``inconclusive``.

Categories: ``claim`` (a paper's claim, counted in the ledger); ``sanity`` (the setup behaves
as expected; judged by the same rule, reported as passes / partly passes / inconclusive /
fails and never counted as a reproduction); ``descriptive`` (a single value, shown without a
verdict). With no measurement the verdict is ``not run at this profile``.

The printed verdict table is the cell nbval checks: a change to lt_lab that moves a
verdict, or a number in it, fails the test suite until the chapter is re-frozen. Readers see
one display of the verdicts, :func:`show` (an HTML table, verdict first, full text, papers as
author–year labels); the nbval cell is left out of the page (tag ``remove-cell``; nbval still
checks it).

A claim may be measured in more than one regime: the chapter's own runs (the main column,
e.g. 16 epochs) and further *columns of evidence*, e.g. the papers' schedule
(:data:`LONG_COLUMN`) or the full protocol on a GPU (:data:`GPU_COLUMN`), each a list of
checked claims with the same ids, or None while not yet run. ``show``, ``print_verdicts``,
``forest_plot`` and ``publish`` take them as ``columns={label: claims}``; the ledger shows
each claim's verdict in every column and names the column.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lt_lab.book.claim_tables import DEFAULT_LABEL, NOT_YET_RUN, category_text
from lt_lab.errors import ConfigError, check_choice
from lt_lab.stats import CONFIDENCE, mean_interval, t_quantile  # noqa: F401  (the rule)

NOT_RUN = "not run at this profile"
VERDICTS = ("reproduced", "partly", "inconclusive", "not reproduced", NOT_RUN)  # of a claim
SANITY_VERDICTS = {"reproduced": "passes", "partly": "partly passes",
                   "inconclusive": "inconclusive", "not reproduced": "fails"}
DESCRIPTIVE = "descriptive"  # the verdict of a descriptive claim: none
CATEGORIES = ("claim", "sanity", "descriptive")
DIRECTIONS = (">", "<")
STATISTICS = ("mean", "sd")
# CONFIDENCE (0.95) is lt_lab.stats.CONFIDENCE: every interval in the book
CLAIMS_ENV = "LT_LAB_CLAIMS_DIR"  # set by `lt-lab book execute`: where chapters publish
# set by `lt-lab book execute`: the parameters that are not the chapter's defaults (JSON),
# published with the claims so the ledger marks them
PARAMETERS_ENV = "LT_LAB_BOOK_PARAMETERS"
# Columns of evidence beyond a chapter's own runs (their labels, as the ledger shows them).
LONG_COLUMN = "papers' schedule (200 epochs)"
GPU_COLUMN = "full protocol (GPU)"
# The rule's one escalation: a `quick` claim inconclusive at three seeds is declared
# ``escalated=True`` (an amendment in the lock, committed before its runs) and rerun once at
# seeds 0-9; that verdict is final. Other profiles never escalate.
ESCALATION_SEEDS = tuple(range(10))
ESCALATION_PROFILES = ("quick",)


@dataclass(frozen=True)
class Claim:
    """One checkable statement from a paper, with its pre-registered threshold.

    The declaration: ``id`` … ``digits``, ``category``, ``margin`` and ``null``; ``check``
    fills in the rest (``measured``: the mean, or the sd for ``statistic="sd"``; ``spread``:
    the sd over seeds; ``low``, ``high``: the 95 % interval of ``measured``).
    """

    id: str
    paper: str  # bibtex key in book/references.bib
    statement: str
    reported: str  # what the paper reported, with its source tag
    measure: str  # how we measure it here, and in which unit
    threshold: float
    direction: str = ">"  # the claimed direction: the measure is > (or <) the threshold
    partly_threshold: float | None = None
    unit: str = "points"
    digits: int = 1  # decimals shown for measured value and spread
    category: str = "claim"  # "claim", "sanity" or "descriptive"
    margin: float | None = None  # a claim of no effect: within null ± margin
    null: float = 0.0  # the measure's value of no effect (0 for a difference)
    escalated: bool = False  # inconclusive at three quick seeds: rerun once at ESCALATION_SEEDS
    measured: float | None = None
    spread: float | None = None  # standard deviation over seeds
    low: float | None = None  # the 95 % interval of ``measured``
    high: float | None = None
    n: int = 0  # number of seeds (or runs) measured
    values: tuple[float, ...] = field(default=())
    statistic: str = "mean"
    verdict: str = NOT_RUN

    def __post_init__(self):
        check_choice("direction", self.direction, DIRECTIONS)
        check_choice("category", self.category, CATEGORIES)
        if self.margin is not None and not self.margin > 0:
            raise ConfigError(f"claim {self.id!r}: margin={self.margin!r} must be > 0")
        if self.partly_threshold is not None and (
                self.signed(self.partly_threshold) > self.signed(self.threshold)):
            raise ConfigError(f"claim {self.id!r}: partly_threshold={self.partly_threshold!r} "
                              f"must be weaker than threshold={self.threshold!r} "
                              f"(direction {self.direction!r})")

    # --- the declaration, signed so that the claimed direction is positive ---------------

    @property
    def no_effect(self) -> bool:
        """A claim of no effect: judged on its interval against ``null ± margin``."""
        return self.margin is not None

    def signed(self, value: float) -> float:
        """``value`` as an effect in the claimed direction: ``v − null`` (``>``), ``null − v``
        (``<``)."""
        return value - self.null if self.direction == ">" else self.null - value

    @property
    def partly_level(self) -> float:
        """The partly level P (the threshold when none is declared)."""
        return self.threshold if self.partly_threshold is None else self.partly_threshold

    @property
    def target(self) -> str:
        """What the measurement must be, e.g. ``"> 2 points"`` or ``"within ±1 points"``."""
        if self.no_effect:
            centre = "" if self.null == 0 else f"{self.null:g} "
            return f"within {centre}±{self.margin:g} {self.unit}".rstrip()
        return f"{self.direction} {self.threshold:g} {self.unit}".rstrip()

    # --- the measurement, as text -------------------------------------------------------

    def value_text(self) -> str:
        """``"3.0 ± 2.2"`` (no ± for one value or an sd claim); ``"—"`` when not measured."""
        if self.measured is None:
            return "—"
        if self.spread is None or self.n == 1:
            return self._number(self.measured)
        return f"{self._number(self.measured)} ± {self._number(self.spread)}"

    def interval_text(self) -> str:
        """``"[1.2, 4.8]"``; ``"—"`` without an interval (fewer than two values)."""
        if self.low is None or self.high is None:
            return "—"
        return f"[{self._number(self.low)}, {self._number(self.high)}]"

    def estimate_text(self) -> str:
        """``"3.0 [1.2, 4.8] n=4"``: the mean, its 95 % interval and the number of values."""
        if self.measured is None:
            return "—"
        interval = "" if self.low is None else f" {self.interval_text()}"
        return f"{self._number(self.measured)}{interval} n={self.n}"

    def _number(self, value: float) -> str:
        return f"{value:.{self.digits}f}"

    def passes(self, value: float, threshold: float | None) -> bool:
        """Is ``value`` strictly beyond ``threshold`` in the claimed direction?"""
        if threshold is None:
            return False
        return value > threshold if self.direction == ">" else value < threshold


def verdict_seeds(claim: Claim, seeds, profile: str) -> list[int]:
    """The seeds ``claim``'s verdict rests on: the chapter's ``seeds``, or seeds 0–9 for an
    escalated claim at the ``quick`` profile (:data:`ESCALATION_SEEDS`; never more)."""
    if claim.escalated and profile in ESCALATION_PROFILES:
        return sorted(set(seeds) | set(ESCALATION_SEEDS))
    return list(seeds)


def from_registered(registered) -> Claim:
    """A confirmatory declaration's claim (:class:`lt_lab.book.confirmatory.plan.Registered`)
    as the book's unchecked :class:`Claim`: its statement, source, unit and levels (a
    non-inferiority claim's threshold is −δ, the margin its interval must stay above)."""
    from lt_lab.book.confirmatory.plan import DESIGN_TEXT

    levels = registered.levels
    directional = registered.design in ("directional", "superiority")
    leveled = directional or registered.design in ("spread", "ratio")  # T and P of its own
    threshold = (levels.get("threshold", 0.0) if leveled else
                 -levels["delta"] if registered.design == "non_inferiority" else 0.0)
    return Claim(
        id=registered.id, paper=registered.paper, statement=registered.statement,
        reported=registered.source,
        measure=f"{registered.measure} ({DESIGN_TEXT[registered.design]})",
        threshold=threshold, direction=levels.get("direction", ">") if directional else ">",
        partly_threshold=levels.get("partly") if leveled else None, unit=registered.unit,
        category="descriptive" if registered.role == "descriptive" else "claim",
        margin=levels.get("margin") if registered.design == "no_effect" else None,
        null=levels.get("null", 0.0))


def preregistered(chapter: str) -> list[Claim]:
    """The claims of a chapter pre-registered from its first line (chapter 6), exactly as its
    confirmatory declaration fixed them (:mod:`lt_lab.book.confirmatory`): pass them to
    :func:`declare` in the chapter's claims cell."""
    from lt_lab.book.confirmatory import chapter_declared

    return [from_registered(c) for c in chapter_declared(chapter)]


def declare(*claims: Claim) -> dict[str, Claim]:
    """The chapter's claims by id (ids must be unique): a notebook checks
    ``declared["drw-beats-cb"]``, never ``declared[7]``, so reordering cannot mislabel."""
    by_id: dict[str, Claim] = {}
    for claim in claims:
        if claim.id in by_id:
            raise ValueError(f"claim id {claim.id!r} is declared twice")
        by_id[claim.id] = claim
    return by_id


# --- the rule -------------------------------------------------------------------------------


def sd_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The chi-square interval of the standard deviation of ``values`` (at least two):
    ``s·sqrt((n−1)/χ²_{upper})`` to ``s·sqrt((n−1)/χ²_{lower})``."""
    from scipy import stats

    n, sd = len(values), statistics.stdev(values)
    tail = (1 - confidence) / 2
    upper, lower = stats.chi2.ppf(1 - tail, n - 1), stats.chi2.ppf(tail, n - 1)
    return sd * math.sqrt((n - 1) / upper), sd * math.sqrt((n - 1) / lower)


def rule(mean: float, low: float, high: float, threshold: float, partly: float) -> str:
    """The book's verdict on a signed effect (claimed direction positive), in this order:
    not reproduced if U < P; inconclusive if L ≤ 0; reproduced if m ≥ T; otherwise partly."""
    if high < partly:
        return "not reproduced"
    if low <= 0:
        return "inconclusive"
    if mean >= threshold:
        return "reproduced"
    return "partly"


def no_effect_rule(low: float, high: float, margin: float) -> str:
    """A claim of no effect, on the interval of the effect (null at 0): reproduced within
    ±margin, not reproduced wholly outside it, inconclusive otherwise."""
    if -margin <= low and high <= margin:
        return "reproduced"
    if high < -margin or low > margin:
        return "not reproduced"
    return "inconclusive"


def judge(claim: Claim) -> str:
    """The verdict of a measured ``claim`` (its ``measured``, ``low``, ``high`` set)."""
    if claim.measured is None:
        return NOT_RUN
    if claim.category == "descriptive":
        return DESCRIPTIVE
    if claim.low is None or claim.high is None:
        outcome = "inconclusive"
    elif claim.no_effect:
        outcome = no_effect_rule(claim.low - claim.null, claim.high - claim.null, claim.margin)
    else:
        low, high = sorted((claim.signed(claim.low), claim.signed(claim.high)))
        outcome = rule(claim.signed(claim.measured), low, high,
                       claim.signed(claim.threshold), claim.signed(claim.partly_level))
    return SANITY_VERDICTS[outcome] if claim.category == "sanity" else outcome


def check(claim: Claim, values, statistic: str = "mean") -> Claim:
    """The claim with its measurement over ``values`` (one per seed) and its verdict.

    ``statistic="mean"`` judges the mean of the values (their sd is the spread shown, the
    interval Student-t's); ``"sd"`` judges their standard deviation itself (a claim about
    seed-to-seed spread, with the chi-square interval).
    """
    check_choice("statistic", statistic, STATISTICS)
    values = tuple(float(v) for v in values if v is not None and not math.isnan(v))
    if not values or (statistic == "sd" and len(values) < 2):
        return replace(claim, measured=None, spread=None, low=None, high=None, n=0,
                       values=(), statistic=statistic, verdict=NOT_RUN)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    if statistic == "mean":
        measured, spread = statistics.fmean(values), sd
        interval = mean_interval(values) if len(values) > 1 else (None, None)
    else:
        measured, spread, interval = sd, None, sd_interval(values)
    measured_claim = replace(claim, measured=measured, spread=spread, low=interval[0],
                             high=interval[1], n=len(values), values=values,
                             statistic=statistic)
    return replace(measured_claim, verdict=judge(measured_claim))


def share_per_seed(part, whole) -> list[float]:
    """``part / whole`` seed by seed (the share of a gain one step recovers), so that a ratio
    claim gets an interval like any other; NaN (dropped by ``check``) where the whole gain
    is not positive, where the share means nothing."""
    return [p / w if w > 0 else math.nan for p, w in zip(part, whole, strict=True)]


PROVISIONAL = "no verdict yet"  # a column's claim measured on fewer seeds than it needs


def provisional(claims, min_seeds: int = 3) -> list[Claim]:
    """``claims`` where those measured on fewer than ``min_seeds`` values keep their values and
    interval but get no verdict (:data:`PROVISIONAL`), e.g. a GPU column while only some
    seeds have run; the ledger counts them under no verdict."""
    return [c if c.measured is None or c.n >= min_seeds else replace(c, verdict=PROVISIONAL)
            for c in claims]


def counted(claims) -> list[Claim]:
    """The claims a ledger counts as reproductions or not: neither sanity nor descriptive."""
    return [c for c in claims if c.category == "claim"]


# --- text, tables, pictures --------------------------------------------------------------


def _short_verdict(claim: Claim) -> str:
    return "not run" if claim.verdict == NOT_RUN else claim.verdict


def _needs(claim: Claim) -> str:
    return "(no verdict)" if claim.category == "descriptive" else f"(needs {claim.target})"


def verdict_lines(claims: list[Claim]) -> list[str]:
    """Fixed-width text lines: id, category, verdict, mean [95 % interval] n, threshold."""
    return [f"{c.id:<28} {c.category:<11} {_short_verdict(c):<14} {c.estimate_text():<28} "
            f"{_needs(c)}" for c in claims]


def column_lines(claims: list[Claim], columns: dict | None = None) -> list[str]:
    """:func:`verdict_lines`, then per further column of evidence a heading ``-- label --``
    and its lines (``not yet run`` for a column that is None)."""
    lines = verdict_lines(claims)
    for name, members in (columns or {}).items():
        lines.append(f"-- {name} --")
        lines += [NOT_YET_RUN] if members is None else verdict_lines(list(members))
    return lines


def print_verdicts(claims: list[Claim], columns: dict | None = None) -> None:
    """Print the verdict table (the cell a chapter marks ``# NBVAL_CHECK_OUTPUT`` and tags
    ``remove-cell``: nbval checks it, readers see :func:`show`); ``columns``: further
    columns of evidence, ``{label: checked claims or None}``."""
    print("\n".join(column_lines(claims, columns)))


def show(claims, columns: dict | None = None, *, label: str | None = None,
         view: str = "verdicts"):
    """The chapter's one display of its claims, as a notebook shows it (an HTML table, with
    the text lines of :func:`print_verdicts` as its plain-text form).

    ``view="verdicts"``: verdict first (then one verdict column per further column of
    evidence, ``columns={label: checked claims or None}``; ``label`` names the main one),
    then claim, paper (author–year, linked to the references page), statement, what the
    paper reported, what the claim needs and its category; full text, nothing cut.
    ``view="declared"``: the declaration before any run (claim, paper, statement, how we
    measure, needs, category), for a chapter's claims cell.
    """
    from lt_lab.book.claim_tables import ClaimsTable, needs_text

    check_choice("view", view, ("verdicts", "declared"))
    claims, columns = list(claims), dict(columns or {})
    text = ("\n".join(f"{c.id:<28} {needs_text(c)}" for c in claims) if view == "declared"
            else "\n".join(column_lines(claims, columns)))
    return ClaimsTable(claims, columns, label, view, text)


def _format(claim: Claim) -> str:
    value = claim.value_text()
    return value if claim.measured is None else f"{value} (n={claim.n})"


def claims_table(claims):
    """A pandas DataFrame for display: paper, statement, reported, measure, threshold,
    category, mean ± sd, mean, 95 % interval, n, verdict."""
    import pandas as pd

    return pd.DataFrame([
        {
            "claim": c.id,
            "paper": c.paper,
            "statement": c.statement,
            "paper reported": c.reported,
            "how we measure": c.measure,
            "threshold": c.target,
            "category": category_text(c),
            "measured (mean ± sd)": _format(c),
            "mean": "—" if c.measured is None else c._number(c.measured),
            "95 % interval": c.interval_text(),
            "n": c.n,
            "verdict": c.verdict,
        }
        for c in claims
    ]).set_index("claim")


def forest_plot(claims, columns: dict | None = None, **options):
    """Each measured claim's effect with its 95 % interval against its thresholds, sanity
    checks apart (:func:`lt_lab.book.forest.forest_plot`); ``columns``: further columns of
    evidence drawn under each claim's own (``{label: checked claims or None}``); returns the
    figure."""
    from lt_lab.book.forest import forest_plot as plot

    return plot(list(claims), extra=columns, **options)


# --- publishing for the ledger -------------------------------------------------------------


def publish(chapter: str, title: str, claims: list[Claim], directory: str | Path | None = None,
            *, columns: dict | None = None, label: str = DEFAULT_LABEL):
    """Write the chapter's checked claims as JSON for the book's claims ledger.

    ``columns``: further columns of evidence, ``{label: checked claims, or None while not yet
    run}`` (e.g. ``{LONG_COLUMN: checked_long, GPU_COLUMN: None}``); ``label`` names the main
    column (e.g. ``"16 epochs"``). The parameters that were not the chapter's defaults (set
    by ``lt-lab book execute`` in ``$LT_LAB_BOOK_PARAMETERS``) are published too, so the
    ledger marks them. Does nothing unless ``directory`` is given or ``$LT_LAB_CLAIMS_DIR`` is
    set (the book build sets it), so running a chapter by hand leaves no files behind.
    """
    directory = directory or os.environ.get(CLAIMS_ENV)
    if not directory:
        return None
    from lt_lab.io import write_json_atomic

    payload = {"chapter": chapter, "title": title, "claims": [asdict(c) for c in claims],
               "label": label,
               "columns": [{"label": name, "claims": None if members is None
                            else [asdict(c) for c in members]}  # a list: keys get sorted
                           for name, members in (columns or {}).items()]}
    changed = json.loads(os.environ.get(PARAMETERS_ENV) or "{}")
    if changed:
        payload["non_default_parameters"] = changed
    return write_json_atomic(Path(directory) / f"{chapter}.json", payload)


def load_published(directory: str | Path) -> list[dict]:
    """Every chapter's published claims, in chapter order."""
    return [json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))]


def from_published(fields: dict) -> Claim:
    """A published claim back as a :class:`Claim` (fields this version does not know are
    dropped, so an older or newer ledger still reads)."""
    known = Claim.__dataclass_fields__
    values = {name: value for name, value in fields.items() if name in known}
    values["values"] = tuple(values.get("values", ()))
    return Claim(**values)


def published_columns(chapter: dict) -> dict[str, dict[str, Claim] | None]:
    """The further columns of evidence of a published chapter: ``{label: {claim id: claim}}``,
    None for a column not yet run; ``{}`` for a chapter that published one column (or an
    older ledger)."""
    return {column["label"]: None if column["claims"] is None else
            {fields["id"]: from_published(fields) for fields in column["claims"]}
            for column in chapter.get("columns") or []}
