"""The verdict rule, one function per design (lt_lab.book.designs; issue 28, step C1).

Every expected number is worked out by hand in a comment. Running examples:

* [1, 2, 3]: mean 2, deviations -1, 0, 1, sample sd 1; t(0.975, 2) = 4.302653, half-width
  4.302653 / sqrt(3) = 2.484138, interval [-0.484138, 4.484138];
* [4, 5, 6]: the same shifted by 3: mean 5, interval [2.515862, 7.484138];
* [-1, 0, 1]: mean 0, interval [-2.484138, 2.484138].

The last section reads stored exploratory records from data/results (JSON only: no dataset).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from lt_lab import stats
from lt_lab.book import claims, designs
from lt_lab.book.designs import (
    NI_NOT_APPLICABLE,
    NO_SPREAD,
    ONE_VALUE,
    RATIO_NOT_APPLICABLE,
    SIZE_SHOWN,
    chance_line,
    count,
    directional,
    directional_verdict,
    fieller,
    no_effect,
    non_inferiority,
    one_sided_p,
    ratio,
    seeds_needed,
    signed,
    spread,
    superiority,
)
from lt_lab.errors import ConfigError

HALF = 2.484138  # 4.302653 / sqrt(3): the half-width of any three values with sd 1


# --- directional --------------------------------------------------------------------------------


def test_the_interval_of_one_two_three_by_hand():
    est = directional([1, 2, 3], 1.0).estimate
    assert (est.mean, est.sd, est.n) == (2.0, 1.0, 3)
    assert (est.low, est.high) == pytest.approx((2 - HALF, 2 + HALF), abs=1e-6)


@pytest.mark.parametrize("values, threshold, partly, verdict, marks", [
    ([1, 2, 3], 1.0, None, "inconclusive", ()),  # L = -0.48 <= 0
    ([1, 2, 3], 5.0, None, "not reproduced", ()),  # U = 4.48 < P = 5
    ([4, 5, 6], 5.0, None, "reproduced", ()),  # L = 2.52 > 0, m = 5 >= 5, L < T
    ([4, 5, 6], 2.0, None, "reproduced", (SIZE_SHOWN,)),  # L = 2.52 >= T = 2
    ([4, 5, 6], 6.0, 1.0, "partly", ()),  # U = 7.48 >= 1, L > 0, m = 5 < 6
    ([4, 5, 6], 8.0, None, "not reproduced", ()),  # U = 7.48 < 8
])
def test_directional_by_hand(values, threshold, partly, verdict, marks):
    outcome = directional(values, threshold, partly)
    assert (outcome.verdict, outcome.marks) == (verdict, marks)


def test_one_value_decides_nothing():
    outcome = directional([3.0], 1.0)
    assert (outcome.verdict, outcome.marks) == ("inconclusive", (ONE_VALUE,))


def test_all_equal_values_decide_nothing():
    # the old rule reads [2, 2, 2] as 2 [2, 2]: reproduced against T = 1
    assert claims.check(claims.Claim("c", "p", "s", "r", "m", 1.0), [2, 2, 2]).verdict == \
        "reproduced"
    outcome = directional([2, 2, 2], 1.0)
    assert (outcome.verdict, outcome.marks) == ("inconclusive", (NO_SPREAD,))
    assert outcome.estimate.low is None


def test_directional_agrees_with_the_books_rule_wherever_the_values_vary():
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = rng.normal(rng.uniform(-2, 4), rng.uniform(0.1, 3), rng.integers(2, 8))
        threshold = float(rng.uniform(0, 3))
        partly = float(rng.uniform(-1, threshold))
        claim = claims.Claim("c", "p", "s", "r", "m", threshold, partly_threshold=partly)
        assert directional(values, threshold, partly).verdict == \
            claims.check(claim, values).verdict


def test_signed_turns_a_claim_below_into_a_positive_effect():
    # claim "<" with null 1: 1 - 0.5 = 0.5, 1 - 2 = -1
    assert signed([0.5, 2.0], "<", null=1.0) == [0.5, -1.0]
    assert signed([0.5, 2.0], ">", null=1.0) == [-0.5, 1.0]


def test_no_effect_gives_two_and_a_half_percent_false_reproductions_one_sided():
    # n = 3 values from N(0, 1), T = P = 0+: "reproduced" needs L > 0, which under no effect
    # happens with probability 0.025; 20,000 draws: binomial se sqrt(0.025 * 0.975 / 20000)
    # = 0.0011, so the rate lies within 0.025 +- 0.0033 (3 se)
    rng = np.random.default_rng(2028)
    draws = rng.normal(0.0, 1.0, (20_000, 3))
    mean, sd = draws.mean(axis=1), draws.std(axis=1, ddof=1)
    half = 4.302653 * sd / math.sqrt(3)
    tiny = 1e-9
    verdicts = [directional_verdict(m, m - h, m + h, tiny, tiny)
                for m, h in zip(mean, half, strict=True)]
    rate = verdicts.count("reproduced") / len(verdicts)
    assert rate == pytest.approx(0.025, abs=0.0033)
    for row, verdict in zip(draws[:50], verdicts[:50], strict=True):  # vectorised = the function
        assert directional(row, tiny).verdict == verdict


def test_superiority_is_the_directional_rule_labelled():
    outcome = superiority([4, 5, 6], 2.0, 0.0)
    assert (outcome.design, outcome.verdict, outcome.marks) == \
        ("superiority", "reproduced", (SIZE_SHOWN,))


# --- non-inferiority and no effect ---------------------------------------------------------------


SHOWN_GAIN = [4, 5, 6]  # the reference's gain over CE: L = 2.52 > 0, assay sensitivity shown


@pytest.mark.parametrize("values, delta, verdict", [
    ([-1, 0, 1], 3.0, "reproduced"),  # L = -2.48 > -3
    ([-1, 0, 1], 2.0, "inconclusive"),  # L = -2.48 <= -2 <= U = 2.48
    ([-6, -5, -4], 2.0, "not reproduced"),  # U = -5 + 2.48 = -2.52 < -2
])
def test_non_inferiority_by_hand(values, delta, verdict):
    outcome = non_inferiority(values, delta, "a constructed case", SHOWN_GAIN)
    assert outcome.verdict == verdict
    assert outcome.numbers["delta_source"] == "a constructed case"


def test_non_inferiority_needs_the_references_own_gain_shown():
    # gain [1, 2, 3]: L = -0.48 <= 0, so even an interval well inside the margin counts nothing
    assert non_inferiority([-1, 0, 1], 3.0, "source", [1, 2, 3]).verdict == NI_NOT_APPLICABLE
    assert non_inferiority([-1, 0, 1], 3.0, "source", [2.0]).verdict == NI_NOT_APPLICABLE


def test_non_inferiority_on_all_equal_differences_decides_nothing():
    outcome = non_inferiority([1, 1, 1], 3.0, "source", SHOWN_GAIN)
    assert (outcome.verdict, outcome.marks) == ("inconclusive", (NO_SPREAD,))


@pytest.mark.parametrize("values, margin, null, verdict", [
    ([-1, 0, 1], 3.0, 0.0, "reproduced"),  # [-2.48, 2.48] within +-3
    ([-1, 0, 1], 2.0, 0.0, "inconclusive"),  # reaches past +-2 on both sides
    ([4, 5, 6], 2.0, 0.0, "not reproduced"),  # L = 2.52 > 2: wholly outside
    ([4, 5, 6], 3.0, 5.0, "reproduced"),  # [2.52, 7.48] - 5 = [-2.48, 2.48] within +-3
    ([0.25, 0.25], 0.5, 1.0, "inconclusive"),  # all equal: the old rule said not reproduced
])
def test_no_effect_by_hand(values, margin, null, verdict):
    assert no_effect(values, margin, null).verdict == verdict


def test_no_effect_agrees_with_the_books_rule_wherever_the_values_vary():
    rng = np.random.default_rng(1)
    for _ in range(200):
        values = rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 2), rng.integers(2, 8))
        margin, null = float(rng.uniform(0.5, 3)), float(rng.uniform(-1, 1))
        claim = claims.Claim("c", "p", "s", "r", "m", 0.0, margin=margin, null=null)
        assert no_effect(values, margin, null).verdict == claims.check(claim, values).verdict


# --- ratio ---------------------------------------------------------------------------------------

WHOLE = [4, 6, 8]  # mean 6, sd 2, half 4.302653 * 2 / sqrt(3) = 4.968275: L = 1.03 > 0, shown


def test_ratio_partly_by_hand():
    # part [3, 5, 4]: c_0 = part, mean 4, sd 1, [1.52, 6.48]: L > 0
    # c_P (P 0.5) = [1, 2, 0]: mean 1, sd 1, [-1.48, 3.48]: U > 0
    # c_T (T 0.75) = [0, 0.5, -2]: mean -0.5 < 0 (the share 4/6 = 0.667 < 0.75): partly
    outcome = ratio([3, 5, 4], WHOLE, 0.75, 0.5)
    assert (outcome.verdict, outcome.marks) == ("partly", ())
    assert outcome.estimate.mean == pytest.approx(4 / 6)
    numbers = outcome.numbers
    assert (numbers["numerator"].low, numbers["numerator"].high) == \
        pytest.approx((4 - HALF, 4 + HALF), abs=1e-6)
    assert (numbers["denominator"].low, numbers["denominator"].high) == \
        pytest.approx((6 - 4.968275, 6 + 4.968275), abs=1e-6)
    assert numbers["contrast at P"].high == pytest.approx(1 + HALF, abs=1e-6)
    assert numbers["contrast at T"].mean == pytest.approx(-0.5)


def test_ratio_reproduced_by_hand():
    # T 0.6: c_T = [3 - 2.4, 5 - 3.6, 4 - 4.8] = [0.6, 1.4, -0.8], mean 0.4 >= 0
    assert ratio([3, 5, 4], WHOLE, 0.6, 0.5).verdict == "reproduced"
    # part = whole, T 0.75: c_T = 0.25 * whole = [1, 1.5, 2], mean 1.5, sd 0.5,
    # half 4.302653 * 0.5 / sqrt(3) = 1.242069, L = 0.26 >= 0: the size is shown
    outcome = ratio(WHOLE, WHOLE, 0.75, 0.5)
    assert (outcome.verdict, outcome.marks) == ("reproduced", (SIZE_SHOWN,))
    assert outcome.numbers["contrast at T"].low == pytest.approx(1.5 - 1.242069, abs=1e-6)


def test_ratio_not_reproduced_and_inconclusive_by_hand():
    # part [0.5, 1, 1.5]: c_P = [-1.5, -2, -2.5], mean -2, sd 0.5, U = -2 + 1.24 = -0.76 < 0
    assert ratio([0.5, 1, 1.5], WHOLE, 0.75, 0.5).verdict == "not reproduced"
    # part [-1, 1, 3]: c_P = [-3, -2, -1], U = -2 + 2.48 = 0.48 >= 0; c_0 = part, mean 1,
    # sd 2, L = 1 - 4.97 <= 0: inconclusive
    assert ratio([-1, 1, 3], WHOLE, 0.75, 0.5).verdict == "inconclusive"


def test_ratio_whose_denominator_is_not_shown():
    # whole [-1, 1, 3]: mean 1, sd 2, L = 1 - 4.97 <= 0: the gain is not shown
    assert ratio([3, 5, 4], [-1, 1, 3], 0.75, 0.5).verdict == RATIO_NOT_APPLICABLE
    # ... unless the numerator's U < 0: part [-5, -4, -3], U = -4 + 2.48 < 0
    assert ratio([-5, -4, -3], [-1, 1, 3], 0.75, 0.5).verdict == "not reproduced"
    assert ratio([3], [2], 0.75).verdict == RATIO_NOT_APPLICABLE  # one seed shows nothing


def test_ratio_keeps_every_seed():
    # the old share per seed drops the seeds whose whole is <= 0 (NaN), leaving n = 1
    part, whole = [3, 5, 4], [2, -1, 0]
    assert sum(math.isnan(share) for share in claims.share_per_seed(part, whole)) == 2
    assert ratio(part, whole, 0.75).numbers["numerator"].n == 3


def test_fieller_interval_by_hand_and_its_agreement_with_the_contrasts():
    # part = whole: c_x = (1 - x) whole, mean 6 (1 - x), var 4 (1 - x)^2; 36 > q 4 with
    # q = 4.302653^2 / 3 = 6.171 makes every x but 1 excluded: the interval is [1, 1]
    assert fieller(WHOLE, WHOLE) == pytest.approx((1.0, 1.0))
    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(3, 8))
        whole = rng.normal(5, 1, n)
        part = 0.7 * whole + rng.normal(0, 1, n)
        low, high = fieller(part, whole)
        outcome = ratio(part, whole, 0.75, 0.5)
        # the directional rule on the share with Fieller's [L, U] is the rule on the contrasts
        assert outcome.verdict == directional_verdict(outcome.estimate.mean, low, high, 0.75,
                                                      0.5)


def test_ratio_false_reproductions_under_no_effect():
    # part ~ N(0, 1): no share of the gain; whole ~ N(5, 1): shown. "reproduced" needs the
    # numerator's L > 0, probability 0.025; 4,000 draws, se 0.0025, within 3 se
    rng = np.random.default_rng(4)
    verdicts = [ratio(rng.normal(0, 1, 3), rng.normal(5, 1, 3), 0.1).verdict
                for _ in range(4000)]
    assert verdicts.count("reproduced") / len(verdicts) <= 0.025 + 0.0075


# --- spread --------------------------------------------------------------------------------------


def test_spread_components_by_hand():
    # rows [1, 3], [5, 7]: row means 2, 6, grand mean 4; SS_within 1+1+1+1 = 4, MS_within
    # 4 / (2 * 1) = 2; SS_between 2 * (4 + 4) = 16, MS_between 16 / 1 = 16;
    # sigma^2_subset = (16 - 2) / 2 = 7; fewer than 10 subsets: descriptive
    outcome = spread([[1, 3], [5, 7]], 1.5)
    assert outcome.verdict == "descriptive"
    assert outcome.estimate.mean == pytest.approx(math.sqrt(7))
    assert outcome.numbers["sd_seed"] == pytest.approx(math.sqrt(2))


def test_spread_truncates_at_zero_and_pools_the_rest():
    # rows [1, 3], [3, 1]: means 2, 2, SS_between 0 < MS_within 2: sigma_subset 0 and
    # sigma^2_seed = SS_total / (ab - 1) = 4 / 3
    outcome = spread([[1, 3], [3, 1]], 1.5)
    assert outcome.estimate.mean == 0.0
    assert outcome.numbers["sd_seed"] == pytest.approx(math.sqrt(4 / 3))


TEN = [[10 * i, 10 * i + 1] for i in range(10)]
# means 10i + 0.5; SS_within 10 * 0.5 = 5, MS_within 5 / 10 = 0.5; SS_between
# 2 * 100 * sum (i - 4.5)^2 = 200 * 82.5 = 16500, MS_between 16500 / 9 = 1833.333;
# sigma^2_subset = (1833.333 - 0.5) / 2 = 916.41667, sigma_subset = 30.27238


@pytest.mark.parametrize("interval", ["bootstrap", "profile"])
def test_spread_shown_and_sized(interval):
    outcome = spread(TEN, 5.0, 1.0, interval=interval)
    assert outcome.estimate.mean == pytest.approx(30.27238, abs=1e-5)
    assert outcome.numbers["sd_seed"] == pytest.approx(math.sqrt(0.5))
    assert (outcome.verdict, outcome.marks) == ("reproduced", (SIZE_SHOWN,))
    assert outcome.estimate.low < 30.27 < outcome.estimate.high


@pytest.mark.parametrize("interval", ["bootstrap", "profile"])
def test_spread_not_shown_reaches_zero_so_inconclusive_can_fire(interval):
    # rows [0, 2], [2, 0] five times: every mean 1, sigma_subset 0, the interval's L = 0
    rows = [[0, 2], [2, 0]] * 5
    outcome = spread(rows, 1.5, 0.01, interval=interval)
    assert outcome.estimate.mean == 0.0 and outcome.estimate.low == 0.0
    assert outcome.verdict == "inconclusive"
    # the old rule's chi-square interval of an sd is never down to 0: inconclusive never fired
    assert claims.sd_interval([1, 2, 3])[0] > 0


def test_spread_is_seeded():
    assert spread(TEN, 5.0, seed=1) == spread(TEN, 5.0, seed=1)


def test_spread_without_variation_within_subsets_decides_nothing():
    outcome = spread([[i, i] for i in range(10)], 1.5)
    assert (outcome.verdict, outcome.marks) == ("inconclusive", (NO_SPREAD,))


# --- discrete measures ----------------------------------------------------------------------------


@pytest.mark.parametrize("k, n, verdict, p_above", [
    (3, 3, "inconclusive", (5 / 8) ** 3),  # 0.244: three seeds can never reproduce
    (10, 10, "reproduced", (5 / 8) ** 10),  # 0.0091 < 0.025
    (9, 10, "inconclusive", 10 * (5 / 8) ** 9 * (3 / 8) + (5 / 8) ** 10),  # 0.0637
])
def test_count_by_hand(k, n, verdict, p_above):
    outcome = count([True] * k + [False] * (n - k), 5 / 8)
    assert outcome.verdict == verdict
    assert outcome.numbers["p_above"] == pytest.approx(p_above)


def test_count_below_chance_is_not_reproduced():
    # 0 of 10 at p0 5/8: P(X <= 0) = (3/8)^10 = 5.5e-5 < 0.025
    outcome = count([False] * 10, 5 / 8)
    assert outcome.verdict == "not reproduced"
    assert outcome.numbers["p_below"] == pytest.approx((3 / 8) ** 10)


def test_the_smoke_runs_best_tau_is_inconclusive_by_every_design():
    # the held-out smoke run: tau* = 0.25 at both seeds, once read as 0.25 [0.25, 0.25]:
    # not reproduced; 0 of 2 inside 1 +- 0.5 has P(X <= 0) = (3/8)^2 = 0.14: inconclusive
    taus = [0.25, 0.25]
    claim = claims.Claim("best-tau-near-1", "p", "s", "r", "m", 1.0, null=1.0, margin=0.5)
    assert claims.check(claim, taus).verdict == "not reproduced"
    assert no_effect(taus, 0.5, 1.0).verdict == "inconclusive"
    assert count([abs(t - 1) <= 0.5 for t in taus], 5 / 8).verdict == "inconclusive"


# --- fixed n, one-sided p, the chance line --------------------------------------------------------


def test_seeds_needed_by_hand():
    # sd 1, T 2: half-width t(0.975, n-1) / sqrt(n) <= 1: n = 6: 2.570582 / 2.449490 = 1.049;
    # n = 7: 2.446912 / 2.645751 = 0.924846
    plan = seeds_needed(1.0, 2.0, 10)
    assert (plan.n, plan.reaches) == (7, True)
    assert plan.half_width == pytest.approx(0.924846, abs=1e-6)
    # capped at 5 (long): 2.776445 / 2.236068 = 1.241664, wider than T/2
    plan = seeds_needed(1.0, 2.0, designs.MAX_SEEDS["long"])
    assert (plan.n, plan.reaches) == (5, False)
    assert plan.half_width == pytest.approx(1.241664, abs=1e-6)
    assert seeds_needed(0.0, 2.0, 10).n == 2


def test_one_sided_p_by_hand():
    # [1, 2, 3]: t = 2 / (1 / sqrt 3) = 3.464102, df 2, where P(T > t) = 1/2 - t / (2 sqrt(2 +
    # t^2)) = 0.5 - 3.464102 / 7.483315 = 0.037090
    assert one_sided_p([1, 2, 3]) == pytest.approx(0.037090, abs=1e-6)
    assert one_sided_p([2, 2, 2]) == 1.0 and one_sided_p([5.0]) == 1.0


def test_one_sided_p_below_the_level_is_the_lower_end_above_zero():
    rng = np.random.default_rng(5)
    for _ in range(200):
        values = rng.normal(1, 1, rng.integers(2, 8))
        assert (one_sided_p(values) < 0.025) == (designs.estimate(values).low > 0)


def test_chance_line_by_hand():
    # K 4: expected 0.025 * 4 = 0.1; raw: 0.001, 0.01, 0.02 < 0.025 = 3; Holm: 0.001 <=
    # 0.025/4 = 0.00625 kept, 0.01 > 0.025/3 = 0.00833 stops: 1
    line = chance_line([0.5, 0.01, 0.001, 0.02])
    assert (line.k, line.raw, line.holm) == (4, 3, 1)
    assert line.expected == pytest.approx(0.1)
    # 0.001 <= 0.00833, 0.005 <= 0.0125, 0.01 <= 0.025: all three kept
    assert chance_line([0.01, 0.005, 0.001]).holm == 3
    assert "0.1" in line.text() and "1 after Holm" in line.text()


# --- inputs refused by name -----------------------------------------------------------------------


@pytest.mark.parametrize("call, name", [
    (lambda: directional([1, None], 1.0), "values"),
    (lambda: directional([1, math.nan], 1.0), "values"),
    (lambda: directional([1, 2], "1"), "threshold"),
    (lambda: directional([1, 2], 1.0, partly=2.0), "partly"),
    (lambda: signed([1], "="), "direction"),
    (lambda: non_inferiority([1, 2], 0, "s", [1, 2]), "delta"),
    (lambda: non_inferiority([1, 2], 1, " ", [1, 2]), "delta_source"),
    (lambda: no_effect([1, 2], -1), "margin"),
    (lambda: ratio([1, 2], [1, 2, 3], 0.5), "part and whole"),
    (lambda: spread([[1, 2], [3]], 1.0), "balanced"),
    (lambda: spread(TEN, 1.0, interval="exact"), "interval"),
    (lambda: count([1, 0], 0.5), "meets"),
    (lambda: count([True], 1.0), "p0"),
    (lambda: seeds_needed(-1, 1, 5), "sd"),
    (lambda: seeds_needed(1, 1, 1), "max_n"),
    (lambda: chance_line([1.5]), "p_values"),
])
def test_bad_inputs_are_refused_by_name(call, name):
    with pytest.raises(ConfigError, match=name):
        call()


def test_the_rule_text_names_every_step():
    for step in ("U < P", "L ≤ 0", "m ≥ T", "L ≥ T", "partly", "all-equal"):
        assert step in designs.RULE_TEXT


# --- on the stored exploratory records (data/results, JSON) ------------------------------------

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
LDAM = {"max_margin": 0.5, "scale": 30.0}


@cache
def _store():
    from lt_lab.results import ResultsStore

    return ResultsStore(RESULTS)


def _load(config) -> dict:
    record = _store().load(config)
    if record is None:
        pytest.skip(f"record {config} not stored")
    return record


@cache
def margins_runs() -> dict:
    """Chapter 2's quick runs at seeds 0-2, read as the chapter does (margins readers)."""
    from lt_lab.config import make_config
    from lt_lab.margins import POSTHOC_TAUS, posthoc_view

    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=0)
    methods = _margins_methods(base.lr_milestones[0])
    runs = {name: [_load(base.replace(seed=s, **o)) for s in range(3)]
            for name, o in methods.items()}
    runs["post-hoc"] = posthoc_view(runs["CE"], tau=1.0)
    val = base.replace(val_per_class=50, n_max=base.n_max or base.recipe.n_max - 50)
    runs["validation"] = [_load(val.replace(seed=s, **methods["CE"])) for s in range(3)]
    runs["taus"] = list(POSTHOC_TAUS)
    return runs


def _margins_methods(drw_start) -> dict:
    from lt_lab.margins import POSTHOC_TAUS

    return {"CE": dict(analyses={"posthoc": {"taus": list(POSTHOC_TAUS)}}),
            "LDAM-DRW": dict(loss="ldam", head="cosine",
                             loss_params={**LDAM, "drw_start": drw_start}),
            "LA": dict(loss="logit_adjusted", loss_params={"tau": 1.0}),
            "VS": dict(loss="vs", loss_params={"gamma": 0.3, "tau": 1.0})}


def _long(methods: dict, **common) -> dict:
    from lt_lab.book import schedule

    long = schedule.long_runs(methods, [0, 1, 2], store=_store(), partial=True,
                              dataset="fashion_mnist", imbalance_ratio=100, **common)
    if set(long) != set(methods):
        pytest.skip("long records not stored")
    return long


def test_posthoc_recovers_most_as_a_ratio_on_the_stored_records():
    runs = margins_runs()
    diff = stats.paired_comparison(runs, "balanced_acc")
    part, whole = diff("post-hoc", "CE"), diff("LA", "CE")
    # post-hoc minus CE [9.46, 10.16, 6.66] (mean 8.76), LA minus CE [9.58, 10.52, 6.30]
    # (mean 8.80): share 8.76 / 8.80 = 0.9955; c_T = part - 0.75 whole = [2.275, 2.27, 1.935],
    # mean 2.16 >= 0 and L > 0: reproduced, size shown (the old rule: 1.00 [0.88, 1.12])
    assert part == pytest.approx([9.46, 10.16, 6.66]) and whole == pytest.approx([9.58, 10.52,
                                                                                   6.30])
    outcome = ratio(part, whole, 0.75, 0.5)
    assert (outcome.verdict, outcome.marks) == ("reproduced", (SIZE_SHOWN,))
    assert outcome.estimate.mean == pytest.approx(8.76 / 8.80)
    assert outcome.numbers["contrast at T"].mean == pytest.approx(2.16)


def test_wd_most_of_wb_at_the_papers_schedule_keeps_every_seed():
    from lt_lab.decoupling.readers import fixed_runs

    fixes = {"classifier_fixes": {"fixes": ["crt", "tau_norm", "lws", "ncm", "wb_maxnorm"]}}
    long = _long({"wd": dict(weight_decay=0.005), "naive": dict(weight_decay=0.0)},
                 val_per_class=20, analyses=fixes)

    def gain(better, worse):
        return stats.paired_differences(fixed_runs(long[better[0]], better[1]),
                                        fixed_runs(long[worse[0]], worse[1]), "balanced_acc")

    part = gain(("wd", "joint"), ("naive", "joint"))
    whole = gain(("wd", "wb_maxnorm"), ("naive", "joint"))
    assert part == pytest.approx([-4.20, -4.30, -4.62])
    assert whole == pytest.approx([0.32, -0.98, -0.10])
    old = claims.check(claims.Claim("wd-most-of-wb", "p", "s", "r", "m", 0.5,
                                    partly_threshold=0.25), claims.share_per_seed(part, whole))
    assert (old.verdict, old.n) == ("inconclusive", 1)  # two of three seeds dropped
    # whole: mean -0.253, L <= 0, not shown; part: mean -4.373, sd 0.219393, half
    # 4.302653 * 0.219393 / sqrt 3 = 0.545003, U = -3.828 < 0: not reproduced, n = 3
    outcome = ratio(part, whole, 0.5, 0.25)
    assert outcome.verdict == "not reproduced"
    assert outcome.numbers["numerator"].n == 3
    assert outcome.numbers["numerator"].high == pytest.approx(-4.373333 + 0.545003, abs=1e-5)


def test_best_tau_near_one_as_a_count_on_the_stored_records():
    from lt_lab.margins import readers

    runs = margins_runs()
    taus = readers.validation_taus(runs["validation"], runs["taus"])
    assert taus == [0.75, 1.0, 1.0]
    # the grid 0, .25, .5, .75, 1, 1.25, 1.5, 2 has 5 of 8 values in 1 +- 0.5: p0 = 5/8;
    # 3 of 3 inside: P(X >= 3) = (5/8)^3 = 0.244: inconclusive (the old rule: reproduced)
    assert sum(abs(t - 1) <= 0.5 for t in runs["taus"]) / len(runs["taus"]) == 5 / 8
    outcome = count([abs(t - 1) <= 0.5 for t in taus], 5 / 8)
    assert outcome.verdict == "inconclusive"
    assert outcome.numbers["p_above"] == pytest.approx(0.244140625)


def test_la_loss_beats_ce_directional_on_the_stored_records():
    # LA minus CE [9.58, 10.52, 6.30]: the new function gives the chapter's verdict
    diff = stats.paired_comparison(margins_runs(), "balanced_acc")
    values = diff("LA", "CE")
    claim = claims.Claim("la-loss-beats-ce", "p", "s", "r", "m", 3.0, partly_threshold=0.0)
    assert directional(values, 3.0, 0.0).verdict == claims.check(claim, values).verdict
    assert one_sided_p(values) < 0.025


def test_vs_beats_la_as_superiority_on_the_stored_records():
    # VS minus LA [-7.60, -10.94, -8.48] at 16 epochs: U < 0 = P: not reproduced
    values = stats.paired_comparison(margins_runs(), "balanced_acc")("VS", "LA")
    assert values == pytest.approx([-7.60, -10.94, -8.48])
    assert superiority(values, 1.0, 0.0).verdict == "not reproduced"


def test_la_matches_ldam_drw_as_non_inferiority_on_the_stored_records():
    from lt_lab.config import make_config

    diff = stats.paired_comparison(margins_runs(), "balanced_acc")
    # at 16 epochs, seeds 0-2, LDAM-DRW minus CE [7.10, 7.00, 2.42]: mean 5.51, sd 2.67,
    # half 6.64, L < 0: the reference's own gain is not shown, the claim counts nothing
    reference = diff("LDAM-DRW", "CE")
    assert reference == pytest.approx([7.10, 7.00, 2.42])
    source = "chapter 2's declaration: a 1-point deficit"
    assert non_inferiority(diff("LA", "LDAM-DRW"), 1.0, source, reference).verdict == \
        NI_NOT_APPLICABLE
    # at 200 epochs: LDAM-DRW minus CE [3.10, 3.76, 4.84], shown; LA minus LDAM-DRW
    # [1.26, -0.26, -0.06]: mean 0.313, sd 0.826, half 2.05, L = -1.74 <= -1 < U: inconclusive
    long = _long(_margins_methods(make_config("long").lr_milestones[0]))
    long_diff = stats.paired_comparison(long, "balanced_acc")
    assert long_diff("LDAM-DRW", "CE") == pytest.approx([3.10, 3.76, 4.84])
    outcome = non_inferiority(long_diff("LA", "LDAM-DRW"), 1.0, source,
                              long_diff("LDAM-DRW", "CE"))
    assert outcome.verdict == "inconclusive"


def test_the_stored_subset_runs_cannot_form_the_crossed_design():
    from lt_lab.config import make_config

    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=0)
    table = [[100 * _load(base.replace(subset_seed=0, seed=s)).get("metrics")["balanced_acc"]
              for s in range(3)]]
    table += [[100 * _load(base.replace(subset_seed=k))["metrics"]["balanced_acc"]]
              for k in (1, 2)]
    # subset 0 at three training seeds, subsets 1 and 2 at one: no balanced table, and three
    # subsets would be descriptive anyway
    assert [len(row) for row in table] == [3, 1, 1]
    with pytest.raises(ConfigError, match="balanced"):
        spread(table, 1.5, 0.5)


def test_wd_most_of_wb_at_sixteen_epochs_on_the_stored_records():
    from lt_lab.config import make_config
    from lt_lab.decoupling.readers import fixed_runs

    fixes = {"classifier_fixes": {"fixes": ["crt", "tau_norm", "lws", "ncm", "wb_maxnorm"]}}
    base = make_config("quick", dataset="fashion_mnist", imbalance_ratio=100, seed=0,
                       val_per_class=20, analyses=fixes)
    base = base.replace(n_max=base.n_max or base.recipe.n_max - 20)
    runs = {name: [_load(base.replace(seed=s, weight_decay=wd)) for s in range(3)]
            for name, wd in (("wd", 0.005), ("naive", 0.0))}
    part = stats.paired_differences(fixed_runs(runs["wd"], "joint"),
                                    fixed_runs(runs["naive"], "joint"), "balanced_acc")
    whole = stats.paired_differences(fixed_runs(runs["wd"], "wb_maxnorm"),
                                     fixed_runs(runs["naive"], "joint"), "balanced_acc")
    # part [-6.00, -4.84, -6.50], whole [7.58, 7.62, 4.62] (mean 6.61, shown: L = 2.33 > 0);
    # c_P = part - 0.25 whole = [-7.895, -6.745, -7.655], U < 0: not reproduced, as the old
    # per-seed shares were (-0.94 [-1.96, 0.07]); share -5.78 / 6.607 = -0.875
    assert part == pytest.approx([-6.00, -4.84, -6.50])
    assert whole == pytest.approx([7.58, 7.62, 4.62])
    outcome = ratio(part, whole, 0.5, 0.25)
    assert outcome.verdict == "not reproduced"
    assert outcome.estimate.mean == pytest.approx(-5.78 / (19.82 / 3))
    assert outcome.numbers["contrast at P"].mean == pytest.approx(-7.431667, abs=1e-6)


def test_the_ledger_page_states_every_design():
    page = " ".join((Path(__file__).resolve().parents[1] / "book" / "ledger.md").read_text()
                    .split())
    assert "lt_lab.book.designs" in page
    for design in ("Directional", "non-inferiority", "No effect", "Ratio", "Spread",
                   "Discrete or bounded", "chance line", "size shown", "Holm"):
        assert design in page, design
