"""lt_lab.stats (summaries over seeds and the record accessors chapters read through) and
lt_lab.margins.readers (the post-hoc curve). Expected numbers are worked out by hand in the
comments; the records are tiny fakes with only the fields each function reads.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lt_lab import stats
from lt_lab.errors import ConfigError
from lt_lab.margins import readers


def record(seed=0, ratio=100, subset=0, per_class=(0.9, 0.1), counts=(100, 10), **metrics):
    return {"seed": seed, "config": {"seed": seed, "imbalance_ratio": ratio, "subset_seed": subset},
            "per_class_acc": list(per_class), "class_counts": list(counts),
            "metrics": {"balanced_acc": 0.5, **metrics}}


# --- rank ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        ([10, 20, 20, 5], [2, 3.5, 3.5, 1]),  # 5 -> 1, 10 -> 2, the two 20s share (3+4)/2
        ([3, 1, 2], [3, 1, 2]),
        ([7, 7, 7], [2, 2, 2]),  # (1+2+3)/3
        ([0.5, -1.0, 0.5, 0.5, 2.0], [3, 1, 3, 3, 5]),  # three 0.5s share (2+3+4)/3
    ],
)
def test_rank(values, expected):
    assert stats.rank(values).tolist() == expected


# --- spearman --------------------------------------------------------------------------


def test_spearman_monotone():
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)  # monotone
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert stats.spearman([1, 2, 3, 4], [0.0, -1.0, -5.0, -50.0]) == pytest.approx(-1.0)


def test_spearman_hand_example():
    # ranks of x: 1 2 3 4 5, ranks of y: 2 1 4 3 5, d = -1 1 -1 1 0, sum d^2 = 4
    # rho = 1 - 6 * 4 / (5 * (5^2 - 1)) = 1 - 24/120 = 0.8
    assert stats.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)


def test_spearman_with_ties():
    # ranks x: 1 2 3 4 (centred -1.5 -.5 .5 1.5), ranks y: 1 2.5 2.5 4 (centred -1.5 0 0 1.5)
    # cov sum 2.25 + 0 + 0 + 2.25 = 4.5; sum x^2 = 5, sum y^2 = 4.5
    # r = 4.5 / sqrt(5 * 4.5) = sqrt(0.9) = 0.9486832980505138
    assert stats.spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(0.9486832980505138)


@pytest.mark.parametrize("x, y", [([1, 2, 3], [5, 5, 5]), ([4, 4, 4], [1, 2, 3])])
def test_spearman_constant_input_is_nan(x, y):
    assert math.isnan(stats.spearman(x, y))


# --- mean_sd / format_mean_sd ----------------------------------------------------------


def test_mean_sd():
    assert stats.mean_sd([1, 2, 3]) == (2.0, 1.0)  # deviations -1 0 1, (1+0+1)/(3-1) = 1
    assert stats.mean_sd([4.5]) == (4.5, 0.0)
    assert stats.mean_sd(np.array([1.0, 2.0, 3.0])) == (2.0, 1.0)


def test_mean_sd_drops_nan_and_none():
    mean, sd = stats.mean_sd([1, math.nan, None, 3])  # [1, 3]: mean 2, sd sqrt(2/1)
    assert mean == pytest.approx(2.0)
    assert sd == pytest.approx(1.4142135623730951)


@pytest.mark.parametrize("values", [[], [None], [math.nan, None]])
def test_mean_sd_empty(values):
    mean, sd = stats.mean_sd(values)
    assert math.isnan(mean) and math.isnan(sd)


def test_format_mean_sd():
    # mean 0.6, sd sqrt(0.1^2 + 0.1^2) = 0.14142 -> in percent 60.0 ± 14.1
    assert stats.format_mean_sd([0.5, 0.7]) == "60.0 ± 14.1"
    assert stats.format_mean_sd([1, 2, 3], scale=1, digits=2) == "2.00 ± 1.00"
    assert stats.format_mean_sd([0.25]) == "25.0 ± 0.0"


@pytest.mark.parametrize("values", [[], [math.nan], [None]])
def test_format_mean_sd_empty(values):
    assert stats.format_mean_sd(values) == "—"


# --- paired differences ----------------------------------------------------------------


def test_paired_differences_match_seeds_not_positions():
    a = [record(0, balanced_acc=0.7), record(1, balanced_acc=0.6), record(2, balanced_acc=0.9)]
    b = [record(1, balanced_acc=0.5), record(0, balanced_acc=0.4)]  # no seed 2
    # seed 0: 70 - 40 = 30; seed 1: 60 - 50 = 10; seed 2 has no partner
    assert stats.paired_differences(a, b, "balanced_acc") == pytest.approx([30, 10])
    assert stats.paired_differences(a, b, "balanced_acc", scale=1) == pytest.approx([0.3, 0.1])


def test_paired_comparison_reads_groups_by_name():
    runs = {"new": [record(0, balanced_acc=0.7), record(1, balanced_acc=0.6)],
            "old": [record(0, balanced_acc=0.4), record(1, balanced_acc=0.5)]}
    differences = stats.paired_comparison(runs, "balanced_acc")
    assert differences("new", "old") == pytest.approx([30, 10])
    assert differences("old", "new") == pytest.approx([-30, -10])
    assert differences("new", "new") == [0.0, 0.0]
    assert "balanced_acc" in differences.__doc__


# --- selecting and reading records -----------------------------------------------------


def test_select_keeps_order_and_matches_every_field():
    records = [record(0, 100, 0), record(1, 10, 0), record(0, 100, 1), record(2, 100, 0)]
    assert stats.select(records, imbalance_ratio=100) == [records[0], records[2], records[3]]
    assert stats.select(records, imbalance_ratio=100, subset_seed=0) == [records[0], records[3]]
    assert stats.select(records, seed=5) == []
    assert stats.select(records) == records


def test_group_by_in_order_of_first_appearance():
    records = [record(0, 100), record(0, 1), record(1, 100), record(1, 1)]
    groups = stats.group_by(records, "imbalance_ratio")
    assert list(groups) == [100, 1]
    assert groups[100] == [records[0], records[2]] and groups[1] == [records[1], records[3]]


def test_metric_values_and_mean_metric():
    records = [record(balanced_acc=0.5, few_shot_acc=None), record(balanced_acc=0.7)]
    assert stats.metric_values(records, "balanced_acc") == pytest.approx([50, 70])
    assert stats.metric_values(records, "balanced_acc", scale=1) == [0.5, 0.7]
    assert stats.metric_values(records[:1], "few_shot_acc") == [None]  # an empty shot group
    assert stats.mean_metric(records, "balanced_acc") == pytest.approx(60.0)


def test_best_by_mean_first_on_ties():
    runs = {"a": [record(balanced_acc=0.5), record(balanced_acc=0.7)],  # mean 0.6
            "b": [record(balanced_acc=0.6)],  # mean 0.6: a tie with a
            "c": [record(balanced_acc=0.55)]}
    assert stats.best_by_mean(runs, ["c", "b", "a"], "balanced_acc") == "b"
    assert stats.best_by_mean(runs, ["a", "c"], "balanced_acc") == "a"


def test_class_drop_averages_the_given_classes_per_seed():
    balanced = [record(0, per_class=(1.0, 0.8, 0.6)), record(1, per_class=(1.0, 1.0, 1.0))]
    skewed = [record(1, per_class=(1.0, 0.5, 0.0)), record(0, per_class=(0.9, 0.4, 0.2))]
    # seed 0: classes 1, 2 lose 0.4 and 0.4 -> 40 points; seed 1: 0.5 and 1.0 -> 75 points
    assert stats.class_drop(balanced, skewed, [1, 2]) == pytest.approx([40, 75])
    # seed 0, class 0: 1.0 - 0.9 = 0.1 -> 10 points; seed 1: 0
    assert stats.class_drop(balanced, skewed, [0]) == pytest.approx([10, 0])
    assert stats.class_drop([], skewed, [0]) == []


def test_frequency_correlation():
    # ranks of counts 100 50 10: 3 2 1; of accuracies .9 .5 .7: 3 1 2; d = 0 1 -1
    # rho = 1 - 6 * 2 / (3 * (9 - 1)) = 0.5
    records = [record(counts=(100, 50, 10), per_class=(0.9, 0.5, 0.7)),
               record(counts=(100, 50, 10), per_class=(0.9, 0.5, 0.1))]  # monotone: 1
    assert stats.frequency_correlation(records) == pytest.approx([0.5, 1.0])


def test_selection_optimism():
    records = [record(balanced_acc=0.7), record(balanced_acc=0.8)]
    records[0]["curves"] = {"test_balanced_acc": [0.5, 0.8, 0.7]}  # best 0.8, last 0.7: 10
    records[1]["curves"] = {"test_balanced_acc": [0.6, 0.8]}  # the last is the best: 0
    assert stats.selection_optimism(records) == pytest.approx([10, 0])


def test_shot_labels():
    # many: > 100; medium: 20..100 inclusive; few: < 20
    assert stats.shot_labels([1000, 100, 50, 20, 19]) == ["many", "medium", "medium",
                                                          "medium", "few"]
    assert stats.shot_labels([30, 10], many_threshold=25, few_threshold=15) == ["many", "few"]


def test_the_unused_gain_share_copies_are_gone():
    # issue 33: two copies, used by nothing (lt_lab.stats, lt_lab.decoupling.readers)
    from lt_lab.decoupling import readers

    assert not hasattr(stats, "gain_share") and not hasattr(readers, "gain_share")


# --- lt_lab.margins.readers: the post-hoc curve ----------------------------------------


def posthoc_record(seed, by_tau):
    stored = {f"{tau:g}": {"balanced_acc": value, "per_class_acc": [value, value]}
              for tau, value in by_tau.items()}
    return {**record(seed), "key": f"run{seed}", "extras": {"posthoc": stored}}


def test_posthoc_curve_rows_are_records_and_columns_taus():
    records = [posthoc_record(0, {0.0: 0.5, 1.0: 0.7, 2.0: 0.6}),
               posthoc_record(1, {0.0: 0.4, 1.0: 0.6, 2.0: 0.7})]
    curve = readers.posthoc_curve(records, [0.0, 1.0, 2.0])
    assert curve.shape == (2, 3)
    assert curve == pytest.approx(np.array([[50, 70, 60], [40, 60, 70]]))
    assert readers.posthoc_curve(records, [2.0], scale=1).tolist() == [[0.6], [0.7]]


def test_best_posthoc_tau():
    records = [posthoc_record(0, {0.0: 0.5, 1.0: 0.75, 2.0: 0.5}),
               posthoc_record(1, {0.0: 0.25, 1.0: 0.5, 2.0: 0.75})]
    # means over the records (exact in binary): τ=0 37.5, τ=1 62.5, τ=2 62.5 -> the first
    # of the tie, τ=1
    assert readers.best_posthoc_tau(records, (0.0, 1.0, 2.0)) == 1.0
    assert readers.best_posthoc_tau(records, [2.0, 0.0]) == 2.0


def test_posthoc_readers_need_the_stored_tau():
    records = [posthoc_record(0, {0.0: 0.5})]
    with pytest.raises(ConfigError, match="tau=0.5"):
        readers.posthoc_curve(records, [0.0, 0.5])
