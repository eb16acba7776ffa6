"""Claims: the verdict rule, the printed verdict table, publishing, the ledger and the forest
plot.

Every expected number below is worked out by hand in a comment; the running example is
values [1, 2, 3, 6]: mean 12/4 = 3, deviations -2, -1, 0, 3, squares 4 + 1 + 0 + 9 = 14,
sample variance 14/3, sample sd sqrt(14/3) = 2.16024689946...; standard error
2.16025 / sqrt(4) = 1.080123; t(0.975, 3) = 3.182446, so the 95 % interval is
3 ± 3.437435 = [-0.437435, 6.437435].
"""

from __future__ import annotations

import json
import math
import random

import pytest

from lt_lab.book.claims import (
    CLAIMS_ENV,
    Claim,
    check,
    claims_table,
    declare,
    from_published,
    load_published,
    mean_interval,
    no_effect_rule,
    print_verdicts,
    publish,
    rule,
    sd_interval,
    share_per_seed,
    t_quantile,
    verdict_lines,
)
from lt_lab.errors import ConfigError

VALUES = [1, 2, 3, 6]
SD = 2.1602468994692865  # sqrt(14/3)
HALF = 3.182446305284263 * SD / 2  # t(0.975, 3) · sd / sqrt(4) = 3.437435
LOW, HIGH = 3 - HALF, 3 + HALF


def make(threshold: float = 2.0, **changes) -> Claim:
    fields = dict(
        id="gap", paper="cui2019", statement="Imbalance lowers accuracy",
        reported="10 points [readme]", measure="balanced minus imbalanced accuracy",
        threshold=threshold,
    )
    fields.update(changes)
    return Claim(**fields)


# --- the t and chi-square intervals ---------------------------------------------------------


@pytest.mark.parametrize("df, quantile", [
    # two-sided 95 % Student-t quantiles from any printed t table
    (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (9, 2.262), (29, 2.045),
])
def test_t_quantile_matches_the_t_table(df, quantile):
    assert t_quantile(df) == pytest.approx(quantile, abs=5e-4)


def test_t_quantile_tends_to_the_normal_one():
    assert t_quantile(100_000) == pytest.approx(1.95996, abs=1e-4)


def test_mean_interval_is_mean_plus_minus_t_times_the_standard_error():
    low, high = mean_interval(VALUES)
    assert (low, high) == pytest.approx((LOW, HIGH))
    assert (low, high) == pytest.approx((-0.437435, 6.437435), abs=1e-6)


def test_sd_interval_is_the_chi_square_one():
    # n = 4, df 3: chi2(0.975, 3) = 9.348404, chi2(0.025, 3) = 0.215795
    # sd·sqrt(3/9.348404) = 1.223757, sd·sqrt(3/0.215795) = 8.054583
    assert sd_interval(VALUES) == pytest.approx((1.223757, 8.054583), abs=1e-5)


# --- the rule, on signed effects ------------------------------------------------------------


@pytest.mark.parametrize("mean, low, high, threshold, partly, verdict", [
    (3.0, 1.0, 5.0, 2.0, 0.0, "reproduced"),  # L > 0, m >= T
    (2.0, 1.0, 3.0, 2.0, 0.0, "reproduced"),  # m = T counts
    (1.5, 0.5, 2.5, 2.0, 0.0, "partly"),  # L > 0, m < T
    (1.5, -0.5, 3.5, 2.0, 0.0, "inconclusive"),  # L <= 0
    (1.5, 0.0, 3.0, 2.0, 0.0, "inconclusive"),  # L = 0 is not > 0
    (-1.0, -2.0, -0.1, 2.0, 0.0, "not reproduced"),  # U < P
    (-0.6, -0.8, -0.4, 0.0, -1.0, "inconclusive"),  # U >= P = -1, L <= 0
    (-0.6, -0.8, -0.4, 0.0, -0.3, "not reproduced"),  # U < P comes first
    (0.5, 0.2, 0.8, 5.0, 1.0, "not reproduced"),  # U < P even with L > 0
    (0.9, 0.2, 1.6, 5.0, 1.0, "partly"),  # the issue's order: partly, mean under P
])
def test_rule_in_its_order(mean, low, high, threshold, partly, verdict):
    assert rule(mean, low, high, threshold, partly) == verdict


@pytest.mark.parametrize("low, high, verdict", [
    (-0.8, 0.9, "reproduced"),  # within ±1
    (-1.0, 1.0, "reproduced"),  # the margin's ends count as within
    (-2.6, 3.9, "inconclusive"),  # straddles both ends
    (0.5, 1.5, "inconclusive"),  # straddles one end
    (-8.9, -8.1, "not reproduced"),  # wholly below -1
    (1.2, 2.0, "not reproduced"),  # wholly above +1
])
def test_no_effect_rule(low, high, verdict):
    assert no_effect_rule(low, high, 1.0) == verdict


# --- check: measurement and verdict ---------------------------------------------------------


def test_check_mean_sd_interval_and_n():
    checked = check(make(2.0), VALUES)
    assert checked.measured == pytest.approx(3.0)
    assert checked.spread == pytest.approx(SD, rel=1e-12)  # sample (n-1), not sqrt(9/4)
    assert (checked.low, checked.high) == pytest.approx((LOW, HIGH))
    assert checked.n == 4 and checked.values == (1.0, 2.0, 3.0, 6.0)
    assert checked.statistic == "mean"
    assert checked.verdict == "inconclusive"  # L = -0.44 <= 0: the spread swallows the mean


@pytest.mark.parametrize("direction, threshold, partly, null, values, verdict", [
    # values [10, 11, 12]: mean 11, sd 1, half-width 4.303/sqrt(3) = 2.484: [8.52, 13.48]
    (">", 5.0, 1.0, 0.0, [10, 11, 12], "reproduced"),  # 11 >= 5
    (">", 12.0, 1.0, 0.0, [10, 11, 12], "partly"),  # L 8.5 > 0, 11 < 12
    (">", 20.0, 15.0, 0.0, [10, 11, 12], "not reproduced"),  # U 13.5 < P 15
    # "<": signed s = null - v. null 0: s in [-13.5, -8.5]; T' = -12, P' = -15
    ("<", 12.0, 15.0, 0.0, [10, 11, 12], "inconclusive"),  # U' = -8.5 >= -15, L' <= 0
    ("<", 5.0, 8.0, 0.0, [10, 11, 12], "not reproduced"),  # U' = -8.5 < P' = -8
    # a ratio last/first, null 1: values [0.13, 0.15, 0.17] mean 0.15, sd 0.02,
    # interval 0.15 ± 0.0497 = [0.100, 0.200]; signed 1 - v: [0.80, 0.90], m' 0.85
    ("<", 0.1, 1.0, 1.0, [0.13, 0.15, 0.17], "partly"),  # T' 0.9 > 0.85, L' 0.8 > 0
    ("<", 0.2, 1.0, 1.0, [0.13, 0.15, 0.17], "reproduced"),  # T' 0.8 <= 0.85
])
def test_check_signs_by_direction_and_null(direction, threshold, partly, null, values, verdict):
    claim = make(threshold, direction=direction, partly_threshold=partly, null=null)
    assert check(claim, values).verdict == verdict


def test_check_the_issues_examples():
    # cls-helps-when-imbalanced: +1.7 / -8.3 / +9.4 was "partly" on its mean 0.9
    assert check(make(2.0, partly_threshold=0.0), [1.7, -8.3, 9.4]).verdict == "inconclusive"
    # tau-norm-tail-gain: 0.0 / 17.1 / 22.8 was "reproduced" on its mean 13.3
    assert check(make(5.0, partly_threshold=0.0), [0.0, 17.1, 22.8]).verdict == "inconclusive"
    # oversampling 0.6 below the best other sampler was "partly" (P = -1)
    wrong_sign = check(make(0.0, partly_threshold=-1.0), [-0.5, -0.6, -0.7])
    assert wrong_sign.verdict == "inconclusive"


def test_a_wrong_sign_mean_is_never_partly():
    rng = random.Random(15)
    for _ in range(3000):
        direction = rng.choice([">", "<"])
        null = rng.choice([0.0, 1.0])
        threshold = null + rng.uniform(-3, 3)
        weaker = rng.uniform(0, 4)
        partly = threshold - weaker if direction == ">" else threshold + weaker
        values = [rng.gauss(null + rng.uniform(-3, 3), rng.uniform(0.01, 3))
                  for _ in range(rng.randint(2, 10))]
        claim = check(make(threshold, direction=direction, partly_threshold=partly, null=null),
                      values)
        if claim.signed(claim.measured) <= 0:
            assert claim.verdict != "partly", claim


def test_check_without_partly_level_uses_the_threshold():
    # crt-head-cost: "<" 0, no partly level; values well below 0
    claim = make(0.0, direction="<")
    assert claim.partly_level == 0.0
    assert check(claim, [-9.0, -10.0, -8.5]).verdict == "reproduced"
    assert check(claim, [9.0, 10.0, 8.5]).verdict == "not reproduced"  # U' < 0


def test_check_no_effect_claim_judges_the_interval_against_the_margin():
    claim = make(1.0, direction="<", margin=1.0)
    assert check(claim, [0.2, -0.3, 0.1]).verdict == "reproduced"
    assert check(claim, [0.2, -0.4, 2.1]).verdict == "inconclusive"
    assert check(claim, [-8.5, -8.1, -8.9]).verdict == "not reproduced"
    assert claim.target == "within ±1 points"
    assert make(1.0, margin=0.5, null=1.0).target == "within 1 ±0.5 points"


def test_check_single_value_has_no_interval():
    checked = check(make(4.0), [5])
    assert (checked.measured, checked.spread, checked.n) == (5.0, 0.0, 1)
    assert (checked.low, checked.high) == (None, None)
    assert checked.verdict == "inconclusive"


def test_descriptive_claims_get_no_verdict():
    checked = check(make(0.5, direction="<", category="descriptive"), [0.0])
    assert checked.verdict == "descriptive" and checked.measured == 0.0


def test_sanity_checks_pass_or_fail_and_are_never_reproduced():
    sanity = make(5.0, partly_threshold=1.0, category="sanity")
    assert check(sanity, [20, 21, 22]).verdict == "passes"
    assert check(sanity, [2.0, 2.1, 2.2]).verdict == "partly passes"
    assert check(sanity, [-2, 0.1, 2]).verdict == "inconclusive"
    assert check(sanity, [-2.0, -2.1, -2.2]).verdict == "fails"


def test_check_drops_nan_and_none():
    # [1, nan, 3, None] -> [1, 3]: mean 2, sd sqrt(2), interval 2 ± 12.706·1 = [-10.7, 14.7]
    checked = check(make(1.5), [1, math.nan, 3, None, float("nan")])
    assert checked.n == 2 and checked.values == (1.0, 3.0)
    assert checked.measured == pytest.approx(2.0)
    assert checked.spread == pytest.approx(1.4142135623730951)
    assert (checked.low, checked.high) == pytest.approx((2 - 12.7062, 2 + 12.7062), abs=1e-3)
    assert checked.verdict == "inconclusive"


@pytest.mark.parametrize("values", [[], [math.nan], [None, math.nan, None]])
def test_check_without_measurement_is_not_run(values):
    checked = check(make(), values)
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.spread, checked.low, checked.high, checked.n,
            checked.values) == (None, None, None, None, 0, ())


def test_check_without_measurement_resets_an_earlier_measurement():
    checked = check(check(make(), VALUES), [])
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.low, checked.n, checked.values) == (None, None, 0, ())


def test_check_returns_a_new_claim():
    claim = make()
    check(claim, VALUES)
    assert claim.verdict == "not run at this profile"
    assert claim.measured is None and claim.n == 0


def test_check_statistic_sd_judges_the_sd_with_its_chi_square_interval():
    checked = check(make(1.0, partly_threshold=0.5), VALUES, statistic="sd")
    assert checked.measured == pytest.approx(SD)  # the sd, not the mean 3
    assert checked.spread is None and checked.n == 4 and checked.statistic == "sd"
    assert (checked.low, checked.high) == pytest.approx((1.223757, 8.054583), abs=1e-5)
    assert checked.verdict == "reproduced"  # L 1.22 > 0, 2.16 >= 1
    assert check(make(20.0, partly_threshold=10.0), VALUES, statistic="sd").verdict == (
        "not reproduced")  # U 8.05 < 10


@pytest.mark.parametrize("values", [[5], [5, math.nan], [None, 7.0]])
def test_check_statistic_sd_needs_two_values(values):
    checked = check(make(-1.0), values, statistic="sd")
    assert checked.verdict == "not run at this profile"
    assert (checked.measured, checked.spread, checked.n) == (None, None, 0)


@pytest.mark.parametrize("values", [VALUES, []])
def test_check_unknown_statistic(values):
    with pytest.raises(ConfigError, match="statistic='median'"):
        check(make(), values, statistic="median")


@pytest.mark.parametrize("direction", [">=", "=", "greater", ""])
def test_unknown_direction(direction):
    with pytest.raises(ConfigError, match="direction="):
        make(direction=direction)


def test_declaration_is_checked():
    with pytest.raises(ConfigError, match="category="):
        make(category="headline")
    with pytest.raises(ConfigError, match="margin=0"):
        make(margin=0)
    with pytest.raises(ConfigError, match="partly_threshold=3"):
        make(2.0, partly_threshold=3.0)  # ">": the partly level must be <= the threshold
    with pytest.raises(ConfigError, match="partly_threshold=1"):
        make(2.0, direction="<", partly_threshold=1.0)  # "<": it must be >= the threshold
    make(2.0, partly_threshold=2.0)  # P = T is allowed


def test_share_per_seed_divides_seed_by_seed():
    # seed gains of a part and of the whole: 2/4, 3/3, and a seed without a whole gain
    shares = share_per_seed([2.0, 3.0, 1.0], [4.0, 3.0, -1.0])
    assert shares[:2] == [0.5, 1.0] and math.isnan(shares[2])
    checked = check(make(0.75, partly_threshold=0.5), shares)
    assert checked.n == 2 and checked.measured == pytest.approx(0.75)


# --- verdict_lines / print_verdicts ----------------------------------------------------------


def example_claims() -> list[Claim]:
    return [
        # mean 3.00 [-0.44, 6.44] n=4 at digits=2; L <= 0: inconclusive
        check(make(2.0, digits=2), VALUES),
        # never measured
        make(0.5, id="tail", direction="<", unit="%"),
        # statistic="sd": 2.16 -> "2.2" at digits=1, chi-square interval [1.2, 8.1]
        check(make(3.0, id="seed-spread", direction="<"), VALUES, statistic="sd"),
        # a sanity check: [10, 11, 12] -> 11.0 [8.5, 13.5] n=3
        check(make(5.0, id="setup", category="sanity"), [10, 11, 12]),
        # a descriptive value
        check(make(0.5, id="best-tau", direction="<", category="descriptive", unit=""), [0]),
    ]


# Columns: id padded to 28, category to 11, verdict to 14, estimate to 28, single spaces.
EXPECTED_LINES = [
    f"{'gap':<28} {'claim':<11} {'inconclusive':<14} {'3.00 [-0.44, 6.44] n=4':<28} "
    "(needs > 2 points)",
    f"{'tail':<28} {'claim':<11} {'not run':<14} {'—':<28} (needs < 0.5 %)",
    f"{'seed-spread':<28} {'claim':<11} {'inconclusive':<14} {'2.2 [1.2, 8.1] n=4':<28} "
    "(needs < 3 points)",
    f"{'setup':<28} {'sanity':<11} {'passes':<14} {'11.0 [8.5, 13.5] n=3':<28} "
    "(needs > 5 points)",
    f"{'best-tau':<28} {'descriptive':<11} {'descriptive':<14} {'0.0 n=1':<28} (no verdict)",
]


def test_verdict_lines_exact_text():
    # seed-spread: "<" 3, null 0, no partly level: signed s = -sd, interval [-8.05, -1.22],
    # T' = P' = -3; U' = -1.22 >= -3 and L' = -8.05 <= 0: inconclusive
    assert verdict_lines(example_claims()) == EXPECTED_LINES


def test_verdict_lines_empty():
    assert verdict_lines([]) == []


def test_print_verdicts(capsys):
    print_verdicts(example_claims()[:2])
    assert capsys.readouterr().out == "\n".join(EXPECTED_LINES[:2]) + "\n"


# --- claims_table ----------------------------------------------------------------------------


def test_claims_table():
    table = claims_table(example_claims())
    assert table.index.name == "claim"
    assert list(table.index) == ["gap", "tail", "seed-spread", "setup", "best-tau"]
    assert list(table.columns) == [
        "paper", "statement", "paper reported", "how we measure", "threshold", "category",
        "measured (mean ± sd)", "mean", "95 % interval", "n", "verdict",
    ]
    assert table.loc["gap"].to_dict() == {
        "paper": "cui2019",
        "statement": "Imbalance lowers accuracy",
        "paper reported": "10 points [readme]",
        "how we measure": "balanced minus imbalanced accuracy",
        "threshold": "> 2 points",
        "category": "claim",
        "measured (mean ± sd)": "3.00 ± 2.16 (n=4)",
        "mean": "3.00",
        "95 % interval": "[-0.44, 6.44]",
        "n": 4,
        "verdict": "inconclusive",
    }
    assert table.loc["tail", "measured (mean ± sd)"] == "—"
    assert table.loc["tail", "95 % interval"] == "—"
    assert table.loc["tail", "verdict"] == "not run at this profile"
    assert table.loc["seed-spread", "measured (mean ± sd)"] == "2.2 (n=4)"
    assert table.loc["setup", "category"] == "sanity"
    assert claims_table([make(1.0, margin=1.0)]).loc["gap", "category"] == "claim (no effect)"


# --- publish / load_published ----------------------------------------------------------------


def test_publish_without_directory_does_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert publish("01_intro", "Intro", example_claims()) is None
    assert list(tmp_path.iterdir()) == []


def test_publish_into_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    target = tmp_path / "claims"  # does not exist yet
    path = publish("01_intro", "Intro", example_claims()[:2], directory=target)
    assert path == target / "01_intro.json"
    assert [p.name for p in target.iterdir()] == ["01_intro.json"]  # no temporary left
    payload = json.loads(path.read_text())
    assert payload["chapter"] == "01_intro" and payload["title"] == "Intro"
    gap, tail = payload["claims"]
    assert gap["id"] == "gap" and gap["verdict"] == "inconclusive"
    assert gap["measured"] == pytest.approx(3.0) and gap["spread"] == pytest.approx(SD)
    assert (gap["low"], gap["high"]) == pytest.approx((LOW, HIGH))
    assert gap["n"] == 4 and gap["values"] == [1.0, 2.0, 3.0, 6.0] and gap["digits"] == 2
    assert (gap["threshold"], gap["direction"], gap["unit"]) == (2.0, ">", "points")
    assert (gap["category"], gap["margin"], gap["null"]) == ("claim", None, 0.0)
    assert tail["measured"] is None and tail["verdict"] == "not run at this profile"
    assert from_published(gap) == example_claims()[0]


def test_from_published_reads_older_and_newer_ledgers():
    old = {"id": "x", "paper": "p", "statement": "s", "reported": "r", "measure": "m",
           "threshold": 1.0, "measured": 2.0, "spread": 0.5, "n": 3, "values": [1.5, 2, 2.5],
           "verdict": "reproduced", "a_future_field": 1}
    claim = from_published(old)
    assert claim.values == (1.5, 2, 2.5) and claim.low is None and claim.category == "claim"


def test_publish_into_env_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(CLAIMS_ENV, str(tmp_path / "env"))
    path = publish("02_losses", "Losses", example_claims())
    assert path == tmp_path / "env" / "02_losses.json"
    assert json.loads(path.read_text())["title"] == "Losses"


def test_publish_directory_argument_wins_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv(CLAIMS_ENV, str(tmp_path / "env"))
    path = publish("02_losses", "Losses", example_claims(), directory=tmp_path / "arg")
    assert path == tmp_path / "arg" / "02_losses.json"
    assert not (tmp_path / "env").exists()


def test_publish_replaces_and_is_atomic(tmp_path, monkeypatch):
    publish("01_intro", "First", [], directory=tmp_path)
    publish("01_intro", "Second", [], directory=tmp_path)
    assert json.loads((tmp_path / "01_intro.json").read_text())["title"] == "Second"

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lt_lab.io.json.dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        publish("01_intro", "Third", [], directory=tmp_path)
    # the old file is untouched and no half-written temporary is left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["01_intro.json"]
    assert json.loads((tmp_path / "01_intro.json").read_text())["title"] == "Second"


def test_load_published_in_chapter_order(tmp_path):
    for chapter in ("10_last", "02_middle", "01_first"):
        publish(chapter, chapter.upper(), [make()], directory=tmp_path)
    (tmp_path / "notes.txt").write_text("not a chapter")
    chapters = load_published(tmp_path)
    assert [c["chapter"] for c in chapters] == ["01_first", "02_middle", "10_last"]
    assert chapters[0]["claims"][0]["id"] == "gap"


def test_load_published_empty(tmp_path):
    assert load_published(tmp_path) == []


# --- the ledger ------------------------------------------------------------------------------

LOCK = {"claims": {
    "gap": {"declared_with_results": True, "fields": {}, "hash": "h", "amendments": [
        {"date": "2026-12-01", "reason": "issue 15: categories",
         "changes": {"category": ["claim", "sanity"]}, "hash": "h2"}]},
    "setup": {"declared_with_results": False, "fields": {}, "hash": "h", "amendments": []},
}}


def history(claim_id):
    return {"gap": {"commit": "cb8d77a", "date": "2026-11-27"},
            "setup": {"commit": "abc1234", "date": "2026-12-02"}}.get(claim_id)


def test_render_ledger_without_claims(tmp_path):
    from lt_lab.book import render_ledger

    assert render_ledger(tmp_path / "missing") == "*No chapter has published claims yet.*"
    assert render_ledger(tmp_path) == "*No chapter has published claims yet.*"


def test_render_ledger_one_chapter(tmp_path):
    from lt_lab.book.ledger import SANITY_HEADING, render_ledger

    publish("03_reweighting", "Reweighting", example_claims(), directory=tmp_path)
    text = render_ledger(tmp_path, LOCK, history)
    lines = text.split("\n")
    assert lines[:2] == ["## [Reweighting](../chapters/03_reweighting.ipynb)", ""]
    # a MyST list-table, verdict first (with its mean, 95 % interval and n below it)
    assert lines[2:5] == ["```{list-table}", ":header-rows: 1", ":class: claims-table"]
    assert lines[6:14] == ["* - verdict", "  - claim", "  - paper", "  - statement",
                           "  - paper reported", "  - category", "  - needs", "  - declared on"]
    assert lines[14:23] == [
        "* - **inconclusive**\\", "    3.00 \\[-0.44, 6.44\\] n=4", "  - gap",
        "  - {cite}`cui2019`", "  - Imbalance lowers accuracy", "  - 10 points \\[readme\\]",
        "  - claim", "  - \\> 2 points",
        "  - 2026-11-27 (`cb8d77a`), declared with results; 1 amendment"]
    assert lines[23:25] == ["* - **not run**", "  - tail"]
    assert "  - \\< 0.5 %\n  - not committed yet; not in the lock" in text
    best_tau = text[text.index("* - **descriptive**"):]
    assert best_tau.startswith("* - **descriptive**\\\n    0.0 n=1\n  - best-tau\n")
    assert "  - descriptive\n  - —\n" in best_tau
    counted, sanity = text.split(SANITY_HEADING)
    assert "setup" not in counted and "  - setup\n" in sanity
    assert "* - **passes**\\\n    11.0 \\[8.5, 13.5\\] n=3\n" in sanity
    assert sanity.rstrip().endswith("  - 2026-12-02 (`abc1234`)\n```")


def test_render_ledger_escapes_pipes_and_keeps_chapter_order(tmp_path):
    from lt_lab.book import render_ledger

    publish("05_later", "Later", [make(measure="|a − b|", statement="x | y *z*")],
            directory=tmp_path)
    publish("01_earlier", "Earlier", [make()], directory=tmp_path)
    text = render_ledger(tmp_path, LOCK, history)
    assert text.index("../chapters/01_earlier.ipynb") < text.index("../chapters/05_later.ipynb")
    assert "  - x \\| y \\*z\\*\n" in text


def test_render_summary_counts_claims_sanity_and_descriptive_apart(tmp_path):
    from lt_lab.book import render_summary

    assert render_summary(tmp_path / "missing") == ""
    publish("01_earlier", "Earlier", example_claims(), directory=tmp_path)
    publish("02_later", "Later", [check(make(2.0), [10, 11, 12]),
                                  check(make(5.0, category="sanity"), [-1, -1.1, -1.2])],
            directory=tmp_path)
    lines = render_summary(tmp_path).strip().split("\n")
    assert lines[0] == ("| chapter | claims | reproduced | partly | inconclusive | "
                        "not reproduced | not run at this profile | descriptive | "
                        "sanity checks passed |")
    # Earlier: gap inconclusive, tail not run, seed-spread inconclusive; best-tau
    # descriptive; setup passes
    assert lines[2] == ("| [Earlier](../chapters/01_earlier.ipynb) | 3 | 0 | 0 | 2 | 0 | 1 | "
                        "1 | 1 of 1 |")
    assert lines[3] == ("| [Later](../chapters/02_later.ipynb) | 1 | 1 | 0 | 0 | 0 | 0 | 0 | "
                        "0 of 1 |")
    assert lines[4] == ("| **all chapters** | **4** | **1** | **0** | **2** | **0** | **1** | "
                        "**1** | **1 of 2** |")


def test_render_amendments():
    from lt_lab.book.ledger import render_amendments

    assert render_amendments(LOCK) == ("- **gap**, 2026-12-01: category: 'claim' → 'sanity'. "
                                       "Why: issue 15: categories\n")
    assert render_amendments({"claims": {}}) == "*No claim has been amended.*\n"
    withdrawn = {"claims": {"old": {"amendments": [], "withdrawn": {
        "date": "2026-12-03", "reason": "merged into gap"}}}}
    assert render_amendments(withdrawn) == ("- **old** withdrawn, 2026-12-03. Why: merged "
                                            "into gap\n")


def test_fill_ledger_replaces_every_marker_and_writes_the_forest_plots(tmp_path):
    from lt_lab.book.ledger import (
        AMENDMENTS_MARKER,
        FOREST_MARKER,
        LEDGER_MARKER,
        SUMMARY_MARKER,
        fill_ledger,
    )

    page = tmp_path / "ledger.md"
    markers = (SUMMARY_MARKER, FOREST_MARKER, LEDGER_MARKER, AMENDMENTS_MARKER)
    page.write_text("# Claims ledger\n\n" + "\n\n".join(markers) + "\n")
    publish("01_first", "First", example_claims(), directory=tmp_path / "claims")
    fill_ledger(page, tmp_path / "claims", LOCK, history)
    text = page.read_text()
    image = "ledger_forest_01_first.png"  # one forest plot per chapter
    assert not any(marker in text for marker in markers)
    assert text.index("| **all chapters** |") < text.index(f"```{{figure}} {image}")
    assert text.index(":figclass: forest-plot") < text.index("## [First]")
    assert text.index("## [First]") < text.index("- **gap**, 2026-12-01")
    assert (tmp_path / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fill_ledger_without_claims_draws_no_forest(tmp_path):
    from lt_lab.book.ledger import FOREST_MARKER, fill_ledger

    page = tmp_path / "ledger.md"
    page.write_text(f"# Claims ledger\n\n{FOREST_MARKER}\n")
    fill_ledger(page, tmp_path / "none", {"claims": {}}, history)
    assert FOREST_MARKER not in page.read_text()
    assert not list(tmp_path.glob("*.png"))


# --- the forest plot -------------------------------------------------------------------------


def figure_texts(figure) -> list[str]:
    return [text.get_text() for text in figure.texts] + [
        text.get_text() for ax in figure.axes for text in ax.texts]


def test_forest_plot_draws_one_axis_a_claim_and_the_sanity_checks_apart():
    import matplotlib.pyplot as plt

    from lt_lab.book import claims
    from lt_lab.book.forest import SANITY_HEADING

    figure = claims.forest_plot(example_claims())
    texts = figure_texts(figure)
    assert len(figure.axes) == 5
    assert texts.index("claims") < texts.index(SANITY_HEADING)  # headings, claims first
    for expected in ("gap", "inconclusive", "tail", "not run", "setup", "passes", "best-tau",
                     "descriptive"):
        assert expected in texts
    gap = figure.axes[0]
    # the threshold (2), the null (0); the interval drawn from L to U
    assert {2.0, 0.0} <= {line.get_xdata()[0] for line in gap.lines if len(line.get_xdata())}
    assert any(list(line.get_xdata()) == pytest.approx([LOW, HIGH]) for line in gap.lines)
    plt.close(figure)


def test_forest_plot_in_columns_continues_a_group_under_its_heading():
    import matplotlib.pyplot as plt

    from lt_lab.book.forest import forest_plot

    claims = [check(make(2.0, id=f"c{i}"), [1, 2, 3]) for i in range(6)]
    figure = forest_plot(groups={"First": claims[:5], "Second": claims[5:]}, columns=2)
    texts = figure_texts(figure)
    assert len(figure.axes) == 6
    assert "First" in texts and "First (continued)" in texts and "Second" in texts
    plt.close(figure)


# --- declare -------------------------------------------------------------------------------


def test_declare_returns_the_claims_by_id_in_order():
    declared = declare(make(), make(id="tail"))
    assert list(declared) == ["gap", "tail"] and declared["tail"].id == "tail"


def test_declare_refuses_an_id_twice():
    with pytest.raises(ValueError, match="'gap' is declared twice"):
        declare(make(), make(threshold=3.0))
