"""The verdict rule, one function per design (issue 28, step C1).

Each function takes the per-seed values a claim is judged on, its declared levels, and returns
an :class:`Outcome`: the verdict, the estimate it read (mean, 95 % interval, n), any marks and
the other numbers it used. Every interval is the two-sided 95 % Student-t one of
:func:`lt_lab.stats.mean_interval` unless said otherwise; values are *signed* so that the
claimed direction is positive (:func:`signed`). No value is ever dropped: a None or NaN is
refused by name, as is any other invalid input (:class:`lt_lab.errors.ConfigError`).

The designs:

* :func:`directional` (a difference, a level, a correlation) and :func:`superiority`;
* :func:`non_inferiority`, with a sourced margin δ and assay sensitivity;
* :func:`no_effect` (equivalence within ±δ);
* :func:`ratio` ("recovers most of the gain"), judged on paired contrasts, no seed dropped;
* :func:`spread` (σ of one component of a crossed subset × seed design, REML);
* :func:`count` (discrete or bounded measures: an exact binomial test against chance);

and two tools around them: :func:`seeds_needed` (a fixed n from the exploratory sd) and
:func:`chance_line` (the expected false reproductions among K, and a Holm-adjusted count,
from :func:`one_sided_p`).

These functions are additive: the chapters' frozen verdicts still come from
:mod:`lt_lab.book.claims`.
"""

from __future__ import annotations

import math
import numbers
import statistics
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from lt_lab.errors import ConfigError, check_positive
from lt_lab.stats import CONFIDENCE, t_quantile

ALPHA = (1 - CONFIDENCE) / 2  # 0.025: the one-sided level of "L > 0"
RATIO_NOT_APPLICABLE = "not applicable: the gain it divides was not shown"
NI_NOT_APPLICABLE = "not applicable: the reference's own gain over CE was not shown"
DESCRIPTIVE = "descriptive"
SIZE_SHOWN = "size shown"  # the mark of L ≥ T: the interval certifies the size, not only sign
NO_SPREAD = "all values equal: no interval decides"
ONE_VALUE = "one value: no interval"
MIN_SUBSETS = 10  # a spread claim needs at least this many subsets, else it is descriptive
MAX_SEEDS = {"quick": 10, "long": 5}  # the most seeds :func:`seeds_needed` may ask for
_t = cache(t_quantile)  # t_{0.975, df}, computed once per df

RULE_TEXT = ("rule: not reproduced if U < P; inconclusive if L ≤ 0; reproduced if m ≥ T "
             "(size shown if L ≥ T); partly otherwise — m the mean, [L, U] its 95 % t "
             "interval; all-equal values decide nothing")


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % t interval (``low``, ``high`` None: no interval) over ``n``."""

    mean: float
    low: float | None
    high: float | None
    n: int
    sd: float

    @property
    def has_interval(self) -> bool:
        return self.low is not None


@dataclass(frozen=True)
class Outcome:
    """One design's verdict, the estimate it read, its marks and the other numbers it used."""

    design: str
    verdict: str
    estimate: Estimate | None = None
    marks: tuple[str, ...] = ()
    numbers: dict = field(default_factory=dict)


# --- inputs ----------------------------------------------------------------------------------


def _values(values, name: str = "values", minimum: int = 1) -> tuple[float, ...]:
    """``values`` as floats, every one finite (none dropped), at least ``minimum``."""
    try:
        floats = tuple(float(v) for v in values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}={values!r} must be a sequence of numbers") from error
    if len(floats) < minimum or not all(math.isfinite(v) for v in floats):
        raise ConfigError(f"{name}={values!r} must hold at least {minimum} finite numbers "
                          "(no None or NaN: no seed is dropped)")
    return floats


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} must be a finite number")
    return float(value)


def _levels(threshold, partly) -> tuple[float, float]:
    """T and P (P = T when None), with P ≤ T."""
    threshold = _number("threshold", threshold)
    partly = threshold if partly is None else _number("partly", partly)
    if partly > threshold:
        raise ConfigError(f"partly={partly!r} must be ≤ threshold={threshold!r}")
    return threshold, partly


def signed(values, direction: str = ">", null: float = 0.0) -> list[float]:
    """``v − null`` for a claim ``>``, ``null − v`` for a claim ``<``: the claimed direction
    positive, as every design below expects its values (and its levels)."""
    if direction not in (">", "<"):
        raise ConfigError(f"direction={direction!r} is not known; allowed values: '>', '<'")
    sign = 1.0 if direction == ">" else -1.0
    return [sign * (v - null) for v in _values(values)]


def estimate(values, name: str = "values") -> Estimate:
    """Mean, sd and 95 % t interval of ``values``; no interval for one value or all equal
    (an sd of 0 makes a zero-width interval that would decide anything)."""
    values = _values(values, name)
    n, mean = len(values), statistics.fmean(values)
    sd = statistics.stdev(values) if n > 1 else 0.0
    if n < 2 or sd == 0:
        return Estimate(mean, None, None, n, sd)
    half = _t(n - 1) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, sd)


def _no_interval_mark(est: Estimate) -> tuple[str, ...]:
    return (ONE_VALUE,) if est.n < 2 else (NO_SPREAD,)


# --- directional -------------------------------------------------------------------------------


def directional_verdict(mean: float, low: float, high: float, threshold: float,
                        partly: float) -> str:
    """The directional rule on numbers already computed (see :func:`directional`)."""
    if high < partly:
        return "not reproduced"
    if low <= 0:
        return "inconclusive"
    return "reproduced" if mean >= threshold else "partly"


def directional(values, threshold, partly=None, design: str = "directional") -> Outcome:
    """A difference, level or correlation, signed so the claim is positive (issue 28, C1;
    the book's rule since its first edition, :func:`lt_lab.book.claims.rule`).

    With m the mean of the n values and [L, U] its two-sided 95 % t interval, in order:
    not reproduced if U < P; inconclusive if L ≤ 0; reproduced if m ≥ T; partly otherwise.
    Marked "size shown" when L ≥ T: "reproduced" certifies the direction (L > 0) and a mean at
    the threshold, not the size. One value, or n ≥ 2 all equal (sd 0, a zero-width interval),
    is inconclusive whatever the values: equal values decide nothing (a discrete measure is
    judged by :func:`count` instead). Under no effect, "reproduced" needs L > 0, which happens
    with probability 2.5 % (one-sided), whatever T ≥ 0.
    """
    threshold, partly = _levels(threshold, partly)
    est = estimate(values)
    if not est.has_interval:
        return Outcome(design, "inconclusive", est, _no_interval_mark(est))
    verdict = directional_verdict(est.mean, est.low, est.high, threshold, partly)
    marks = (SIZE_SHOWN,) if est.low >= threshold else ()
    return Outcome(design, verdict, est, marks, {"threshold": threshold, "partly": partly})


def superiority(values, threshold, partly=None) -> Outcome:
    """A method *beats* its reference (e.g. Kini et al.: VS beats LA): the directional rule on
    the per-seed differences, method minus reference (:func:`directional`)."""
    return directional(values, threshold, partly, design="superiority")


# --- non-inferiority and no effect ------------------------------------------------------------


def non_inferiority(values, delta, delta_source: str, reference_gain) -> Outcome:
    """A method does *at least as well as* a reference, within a margin δ (issue 28, C1; the
    non-inferiority design of clinical trials, e.g. the CONSORT extension, Piaggio et al.
    2012, JAMA 308:2594). A narrowing of a paper's superiority claim is labelled as ours.

    ``values``: per seed, method minus reference. [L, U] the two-sided 95 % t interval:
    reproduced if L > −δ; not reproduced if U < −δ; inconclusive otherwise (one value or all
    equal: inconclusive). ``delta_source`` says where δ comes from (e.g. "half of LDAM-DRW's
    published gain over CE"). ``reference_gain``: per seed, the reference's own gain over CE
    in the same regime (assay sensitivity): unless its L > 0, the claim reads
    "not applicable: the reference's own gain over CE was not shown".
    """
    check_positive("delta", delta)
    if not isinstance(delta_source, str) or not delta_source.strip():
        raise ConfigError(f"delta_source={delta_source!r} must say where δ comes from")
    gain = estimate(reference_gain, "reference_gain")
    est = estimate(values)
    numbers = {"delta": float(delta), "delta_source": delta_source, "reference_gain": gain}
    if not gain.has_interval or gain.low <= 0:
        return Outcome("non-inferiority", NI_NOT_APPLICABLE, est, (), numbers)
    if not est.has_interval:
        return Outcome("non-inferiority", "inconclusive", est, _no_interval_mark(est), numbers)
    verdict = ("reproduced" if est.low > -delta else
               "not reproduced" if est.high < -delta else "inconclusive")
    return Outcome("non-inferiority", verdict, est, (), numbers)


def no_effect(values, margin, null: float = 0.0) -> Outcome:
    """A claim of no effect (equivalence within ±δ; two one-sided tests at 2.5 % each, the
    book's rule since its first edition, :func:`lt_lab.book.claims.no_effect_rule`):
    reproduced when [L, U] lies within null ± margin, not reproduced when it lies wholly
    outside, inconclusive otherwise (and for one value or all equal)."""
    check_positive("margin", margin)
    null = _number("null", null)
    est = estimate(values)
    if not est.has_interval:
        return Outcome("no effect", "inconclusive", est, _no_interval_mark(est))
    low, high = est.low - null, est.high - null
    verdict = ("reproduced" if -margin <= low and high <= margin else
               "not reproduced" if high < -margin or low > margin else "inconclusive")
    return Outcome("no effect", verdict, est, (), {"margin": float(margin), "null": null})


# --- ratio --------------------------------------------------------------------------------------


def fieller(part, whole) -> tuple[float | None, float | None]:
    """Fieller's 95 % interval of mean(part) / mean(whole) for paired values: the x with
    mean(c_x)² ≤ t²·var(c_x)/n, c_x = part − x·whole; (None, None) unless whole's mean is
    shown to differ from 0 (otherwise the set is unbounded)."""
    n = len(part)
    if n < 2:
        return None, None
    cov = np.cov(part, whole)  # sample (co)variances, n − 1
    q = _t(n - 1) ** 2 / n
    mp, mw = statistics.fmean(part), statistics.fmean(whole)
    a, b = mw**2 - q * cov[1, 1], mp * mw - q * cov[0, 1]
    c = mp**2 - q * cov[0, 0]
    if a <= 0:
        return None, None
    root = math.sqrt(max(b * b - a * c, 0.0))
    return float((b - root) / a), float((b + root) / a)


def ratio(part, whole, threshold, partly=None) -> Outcome:
    """"``part`` recovers most of the gain ``whole``" (issue 28, C1), judged on per-seed
    paired contrasts c_x = part − x·whole, each with its 95 % t interval; no seed is dropped.

    The share r = mean(part) / mean(whole) exceeds x exactly when mean(c_x) > 0, and the x
    whose c_x interval holds 0 form Fieller's interval for r (Fieller 1954, JRSS B 16:175).
    So the directional rule on r reads, in the same order (T, P the declared share levels):

    * first, the denominator: if whole's L ≤ 0 the gain is not shown and r means nothing:
      "not reproduced" if part's U < 0 (the step loses accuracy on every reading),
      else "not applicable: the gain it divides was not shown";
    * not reproduced if U(c_P) < 0      (U < P: the share is below P);
    * inconclusive if L(c_0) ≤ 0, c_0 = part (L ≤ 0: no share above 0 is shown);
    * reproduced if mean(c_T) ≥ 0       (m ≥ T: the ratio of means reaches T);
    * partly otherwise; marked "size shown" when L(c_T) ≥ 0 (L ≥ T).

    An all-equal contrast, or a single seed, decides nothing (inconclusive). The outcome's
    numbers hold the numerator, the denominator and the contrasts at 0, P and T, each an
    :class:`Estimate`, and the share m; the outcome's estimate is m with Fieller's interval
    (:func:`fieller`), for display.
    """
    threshold, partly = _levels(threshold, partly)
    part, whole = _values(part, "part"), _values(whole, "whole")
    if len(part) != len(whole):
        raise ConfigError(f"part and whole must pair seed by seed: {len(part)} against "
                          f"{len(whole)} values")
    c = {x: estimate([p - x * w for p, w in zip(part, whole, strict=True)],
                     f"contrast at {x:g}")
         for x in (0.0, partly, threshold)}
    num, den = c[0.0], estimate(whole, "whole")
    share = num.mean / den.mean if den.mean > 0 else math.nan
    numbers = {"numerator": num, "denominator": den, "contrast at P": c[partly],
               "contrast at T": c[threshold], "share": share}
    share_est = Estimate(share, *fieller(part, whole), len(part), math.nan)
    if not den.has_interval or den.low <= 0:
        shown_loss = num.has_interval and num.high < 0
        verdict = "not reproduced" if shown_loss else RATIO_NOT_APPLICABLE
        return Outcome("ratio", verdict, share_est, (), numbers)
    at_p, at_t = c[partly], c[threshold]
    if not (at_p.has_interval and num.has_interval):
        return Outcome("ratio", "inconclusive", share_est, (NO_SPREAD,), numbers)
    verdict = ("not reproduced" if at_p.high < 0 else "inconclusive" if num.low <= 0 else
               "reproduced" if at_t.mean >= 0 else "partly")
    marks = (SIZE_SHOWN,) if at_t.has_interval and at_t.low >= 0 else ()
    return Outcome("ratio", verdict, share_est, marks, numbers)


# --- spread -------------------------------------------------------------------------------------


def _sums(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SS_between and SS_within of a balanced subsets × seeds table (the last two axes)."""
    b = table.shape[-1]
    means = table.mean(axis=-1)
    ss_within = ((table - means[..., None]) ** 2).sum(axis=(-2, -1))
    ss_between = b * ((means - means.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    return ss_between, ss_within


def _components(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """REML σ²_subset and σ²_seed of a balanced subsets × seeds table (the last two axes).

    The one-way random-effects model y_ij = μ + u_i + e_ij, balanced: REML equals the ANOVA
    estimates σ²_seed = MS_within, σ²_subset = (MS_between − MS_within)/b when that is ≥ 0;
    otherwise σ²_subset = 0 and σ²_seed is the pooled SS_total / (ab − 1) (Searle, Casella
    and McCulloch 1992, Variance Components, §4.7).
    """
    a, b = table.shape[-2:]
    ss_between, ss_within = _sums(table)
    ms_within, ms_between = ss_within / (a * (b - 1)), ss_between / (a - 1)
    positive = ms_between >= ms_within
    subset = np.where(positive, (ms_between - ms_within) / b, 0.0)
    seed = np.where(positive, ms_within, (ss_within + ss_between) / (a * b - 1))
    return subset, seed


def _profile_interval(table: np.ndarray, sd_subset: float) -> tuple[float, float]:
    """The 95 % profile-likelihood interval of σ_subset under REML: the σ whose profile
    deviance (−2 log REML likelihood, σ_seed maximised out, minus its minimum) is
    ≤ χ²_{1, 0.95} = 3.84. At the boundary it reaches 0 (L = 0) and keeps an upper end."""
    from scipy import optimize, stats

    a, b = table.shape
    ss_between, ss_within = (float(v) for v in _sums(table))
    scale = (ss_between + ss_within) / (a * b - 1)
    bounds = (math.log(ss_within / (a * b) * 1e-3), math.log(scale * 1e3))

    def deviance(sd):  # −2 log L_REML up to a constant, σ²_seed = exp(z) profiled out
        def f(z):
            e, total = math.exp(z), math.exp(z) + b * sd * sd
            return ((a - 1) * math.log(total) + a * (b - 1) * z + ss_between / total
                    + ss_within / e)
        return optimize.minimize_scalar(f, bounds=bounds, method="bounded").fun

    crit = deviance(sd_subset) + stats.chi2.ppf(CONFIDENCE, 1)
    low = 0.0 if deviance(0.0) <= crit else optimize.brentq(
        lambda sd: deviance(sd) - crit, 0.0, sd_subset)
    far = max(sd_subset, math.sqrt(scale))
    while deviance(far) <= crit:
        far *= 2
    return low, optimize.brentq(lambda sd: deviance(sd) - crit, sd_subset, far)


def _bootstrap_interval(table: np.ndarray, draws: int, seed: int) -> tuple[float, float]:
    """The 2.5 and 97.5 percentiles of σ_subset over ``draws`` tables simulated from the REML
    estimates (``numpy.random.default_rng(seed)``), each re-estimated; the truncation at 0
    of each re-estimate gives L = 0 where σ_subset is not shown."""
    a, b = table.shape
    var_subset, var_seed = (float(v) for v in _components(table))
    rng = np.random.default_rng(seed)
    simulated = (rng.normal(0, math.sqrt(var_subset), (draws, a, 1))
                 + rng.normal(0, math.sqrt(var_seed), (draws, a, b)))
    boot = np.sqrt(_components(simulated)[0])
    return tuple(float(q) for q in np.quantile(boot, [ALPHA, 1 - ALPHA]))


def spread(table, threshold, partly=None, interval: str = "bootstrap", draws: int = 2000,
           seed: int = 0) -> Outcome:
    """σ_subset, the spread a claim names, from a crossed design: ``table[i][j]`` the value at
    subset i and training seed j, at least 10 subsets × 2–3 seeds, balanced (issue 28, C1).

    σ_subset and σ_seed are the REML variance components of the balanced two-level design
    (:func:`_components`). The 95 % interval of σ_subset is a parametric bootstrap
    (``interval="bootstrap"``, ``draws`` seeded draws, :func:`_bootstrap_interval`) or the
    profile-likelihood one (``"profile"``, :func:`_profile_interval`). Simulated at 12 × 2
    with σ_seed 2.5 (150 tables each), they covered σ_subset = 1 in 99 % and 97 %, σ_subset = 2
    in 96 % and 92 % of tables.
    The verdict is the directional rule on σ_subset against T and P
    (:func:`directional_verdict`): "inconclusive" fires when the interval reaches 0. Fewer
    than 10 subsets: "descriptive", the estimates without a verdict; no variation within any
    subset: inconclusive (no interval decides).
    """
    threshold, partly = _levels(threshold, partly)
    if interval not in ("profile", "bootstrap"):
        raise ConfigError(f"interval={interval!r} is not known; allowed values: 'profile', "
                          "'bootstrap'")
    check_positive("draws", draws, minimum=100, inclusive=True)
    rows = [_values(row, "table row") for row in table]
    if len(rows) < 2 or len({len(row) for row in rows}) != 1 or len(rows[0]) < 2:
        raise ConfigError("table must be balanced: at least 2 subsets (rows), each with the "
                          "same number (≥ 2) of training seeds")
    values = np.array(rows)
    var_subset, var_seed = (float(v) for v in _components(values))
    a, b = values.shape
    numbers = {"sd_seed": math.sqrt(var_seed), "subsets": a, "seeds": b}
    sd_subset = math.sqrt(var_subset)
    if a < MIN_SUBSETS or _sums(values)[1] == 0:
        verdict, marks = (DESCRIPTIVE, ()) if a < MIN_SUBSETS else ("inconclusive", (NO_SPREAD,))
        return Outcome("spread", verdict, Estimate(sd_subset, None, None, a, math.nan), marks,
                       numbers)
    low, high = (_profile_interval(values, sd_subset) if interval == "profile"
                 else _bootstrap_interval(values, int(draws), seed))
    marks = (SIZE_SHOWN,) if low >= threshold else ()
    verdict = directional_verdict(sd_subset, low, high, threshold, partly)
    return Outcome("spread", verdict, Estimate(sd_subset, low, high, a, math.nan), marks,
                   {**numbers, "threshold": threshold, "partly": partly, "interval": interval})


# --- discrete or bounded measures --------------------------------------------------------------


def count(meets, p0) -> Outcome:
    """A discrete or bounded measure (τ* on a grid, best-minus-last, a rank correlation with
    few values), judged by how many of the n seeds meet the claim (issue 28, C1).

    ``meets``: per seed, whether it meets the claim; ``p0``: the declared chance of meeting it
    at random (e.g. 5/8 for τ* within 1 ± 0.5 on an 8-value grid). Exact one-sided binomial
    tests (``scipy.stats.binomtest``; Clopper and Pearson 1934): reproduced if
    P(X ≥ k | p0) < 0.025; not reproduced if P(X ≤ k | p0) < 0.025 (fewer than chance);
    inconclusive otherwise. No partly: a count has no size to fall short of. With p0 = 5/8
    three seeds can never reproduce ((5/8)³ = 0.244) and ten need all ten (0.0091).
    """
    from scipy import stats

    p0 = _number("p0", p0)
    if not 0 < p0 < 1:
        raise ConfigError(f"p0={p0!r} must lie strictly between 0 and 1")
    meets = list(meets)
    if not meets or not all(isinstance(m, (bool, np.bool_)) for m in meets):
        raise ConfigError(f"meets={meets!r} must be a non-empty sequence of True/False")
    k, n = int(sum(meets)), len(meets)
    above = stats.binomtest(k, n, p0, alternative="greater").pvalue
    below = stats.binomtest(k, n, p0, alternative="less").pvalue
    verdict = ("reproduced" if above < ALPHA else "not reproduced" if below < ALPHA
               else "inconclusive")
    return Outcome("count", verdict, Estimate(k / n, None, None, n, math.nan), (),
                   {"k": k, "n": n, "p0": p0, "p_above": float(above), "p_below": float(below)})


# --- fixed n, and the chance line -------------------------------------------------------------


@dataclass(frozen=True)
class SeedPlan:
    """The seeds a claim declares: ``n``, the expected half-width there, and whether it
    reaches T/2 within the cap (``reaches`` False: n is the cap and the half-width wider)."""

    n: int
    half_width: float
    reaches: bool


def seeds_needed(sd, threshold, max_n: int) -> SeedPlan:
    """The smallest n ≥ 2 whose expected 95 % half-width t_{0.975,n−1}·sd/√n is ≤ T/2, with
    ``sd`` the exploratory sd plugged in (issue 28, C1: fixed n, one look, no escalation);
    capped at ``max_n`` (:data:`MAX_SEEDS`: 10 at quick, 5 at long)."""
    check_positive("sd", sd, inclusive=True)
    check_positive("threshold", threshold)
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 2:
        raise ConfigError(f"max_n={max_n!r} must be an integer ≥ 2")
    for n in range(2, max_n + 1):
        half = _t(n - 1) * sd / math.sqrt(n)
        if half <= threshold / 2:
            return SeedPlan(n, half, True)
    return SeedPlan(max_n, half, False)


def one_sided_p(values) -> float:
    """The one-sided p-value of the directional design's "L > 0" step: Student's t-test of
    mean > 0 (p < 0.025 exactly when the 95 % t interval's L > 0). One value, or all equal:
    1.0, since no interval decides (:func:`directional`)."""
    from scipy import stats

    est = estimate(values)
    if not est.has_interval:
        return 1.0
    return float(stats.t.sf(est.mean / (est.sd / math.sqrt(est.n)), est.n - 1))


@dataclass(frozen=True)
class ChanceLine:
    """Of ``k`` counted claim-regimes: ``expected`` false reproductions under no effect
    (≤ 0.025·K), ``raw`` the number whose p < 0.025, ``holm`` those Holm's step-down keeps."""

    k: int
    expected: float
    raw: int
    holm: int

    def text(self) -> str:
        return (f"{self.k} counted claim-regimes: under no effect at most {self.expected:.1f} "
                f"would be reproduced by chance; {self.raw} show their direction (p < 0.025), "
                f"{self.holm} after Holm's adjustment")


def chance_line(p_values) -> ChanceLine:
    """The chance line (issue 28, C1): with K counted claim-regimes, each falsely
    "reproduced" with probability ≤ 2.5 % under no effect, at most 0.025·K are expected.
    Beside the raw count of p < 0.025 (:func:`one_sided_p`, the L > 0 step), Holm's count
    (Holm 1979, Scand. J. Statist. 6:65): sorted ascending, p_(i) is kept while
    p_(i) ≤ 0.025 / (K − i), i from 0; the family-wise error rate stays ≤ 2.5 %. Holm
    applies to the L > 0 step only: m ≥ T then decides reproduced against partly."""
    p_values = _values(p_values, "p_values", minimum=0)
    if not all(0 <= p <= 1 for p in p_values):
        raise ConfigError(f"p_values={p_values!r} must lie in [0, 1]")
    k, holm = len(p_values), 0
    for i, p in enumerate(sorted(p_values)):
        if p > ALPHA / (k - i):
            break
        holm += 1
    return ChanceLine(k, ALPHA * k, sum(p < ALPHA for p in p_values), holm)
