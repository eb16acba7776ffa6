"""Chapter 1's helpers behind its claims: where class-balanced weights leave inverse frequency
(in units of n_max(1 − β)) and the head/tail trade table. Values worked out by hand."""

from __future__ import annotations

import pytest

from lt_lab.errors import ConfigError
from lt_lab.reweighting.departure import beta_for_departure, departure_table, inverse_share
from lt_lab.reweighting.trade import head_cost_unclear, interval_text, trade_table


def test_beta_for_departure_puts_n_max_times_one_minus_beta_at_the_departure():
    # 1 - 10/1000 = 0.99; 1 - 1/1000 = 0.999; 1 - 0.1/1000 = 0.9999
    assert beta_for_departure(1000, 10) == 0.99
    assert beta_for_departure(1000, 1) == 0.999
    assert beta_for_departure(1000, 0.1) == 0.9999


def test_a_departure_outside_zero_to_n_max_is_refused_by_name():
    with pytest.raises(ConfigError, match="departure"):
        beta_for_departure(1000, 1000)


def test_inverse_share_by_hand():
    # counts [4, 1], β = 1/2: E_4 = (1 - 1/16) / (1/2) = 1.875, E_1 = 1
    #   share = (1.875 / 4) / (1 / 1) = 0.46875
    assert inverse_share([4, 1], 0.5) == pytest.approx(0.46875)


def test_inverse_share_is_one_near_beta_one_and_the_count_ratio_at_beta_zero():
    assert inverse_share([1000, 10], 1 - 1e-9) == pytest.approx(1.0, abs=1e-5)
    assert inverse_share([1000, 10], 0.0) == pytest.approx(10 / 1000)


def test_departure_table_shrinks_the_contrast_as_n_max_one_minus_beta_grows():
    shares = departure_table([1000, 100, 10], [0.1, 1, 10]).iloc[:, 1].tolist()
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > 0.9  # n_max(1-β) = 0.1: nearly inverse frequency


def run(seed, many, few):
    return {"seed": seed, "metrics": {"many_shot_acc": many, "few_shot_acc": few}}


RUNS = {
    # CE: many 0.90, few 0.10 at every seed
    "CE": [run(0, 0.90, 0.10), run(1, 0.90, 0.10)],
    # costs the head 10 points at both seeds: interval [-10, -10], excludes 0
    "costly": [run(0, 0.80, 0.30), run(1, 0.80, 0.30)],
    # head -1 and +1 point: mean 0, interval contains 0
    "free": [run(0, 0.89, 0.20), run(1, 0.91, 0.20)],
}


def test_interval_text_gives_the_mean_and_its_interval():
    # [-1, 1]: mean 0, sd sqrt(2), t(0.975, 1) = 12.706; half = 12.706 * sqrt(2)/sqrt(2)
    assert interval_text([-1.0, 1.0]) == "+0.0 [-12.7, +12.7]"
    assert interval_text([2.0]) == "+2.0"
    assert interval_text([]) == "—"


def test_trade_table_gives_each_shot_group_minus_the_reference_in_points():
    table = trade_table(RUNS)
    assert list(table.index) == ["costly", "free"]
    assert table.loc["costly", "many-shot minus CE (points)"] == "-10.0 [-10.0, -10.0]"
    assert table.loc["costly", "few-shot minus CE (points)"] == "+20.0 [+20.0, +20.0]"


def test_only_a_recipe_whose_head_interval_contains_zero_has_an_unclear_head_cost():
    assert head_cost_unclear(RUNS) == ["free"]


def test_departure_table_shows_beta_with_every_digit():
    assert departure_table([1000, 10], [0.1, 10])["β"].tolist() == ["0.9999", "0.99"]
