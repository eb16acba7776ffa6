"""Tests written to kill the mutants that survived ``make mutants`` (issue 33).

Each test names the mutation it kills (mutmut's operator on the line quoted); expected values
are worked out by hand in the comments. The mutants left alive are listed, with the reason
each is equivalent, in the README's "Mutation testing" paragraph and the issue's report.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from lt_lab import stats
from lt_lab.config import KINDS, RunConfig
from lt_lab.regression.bins import LabelBins
from lt_lab.regression.fds import FDS, bin_statistics, calibrate
from lt_lab.regression.metrics import pearson, regression_report

# --- FDS ---------------------------------------------------------------------------------


def test_calibrate_divides_the_smoothed_variance_by_the_bin_variance():
    # σ² = 2, σ̃² = 8: ratio 8/2 = 4 (× would give 16, clipped to 10); μ = 1, μ̃ = 10:
    #   (3 - 1) · √4 + 10 = 14
    out = calibrate(torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([[2.0]]),
                    torch.tensor([[10.0]]), torch.tensor([[8.0]]))
    assert out.item() == pytest.approx(14.0)
    # ratio below the lower clip: 0.02/2 = 0.01 -> 0.1: (3 - 1) · √0.1 + 10 = 10.632455...
    low = calibrate(torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([[2.0]]),
                    torch.tensor([[10.0]]), torch.tensor([[0.02]]))
    assert low.item() == pytest.approx(2 * math.sqrt(0.1) + 10, abs=1e-6)


def test_bin_statistics_keep_the_features_dtype():
    # float64 features: counts, means and variances in float64 (a float32 counts buffer
    # would refuse index_add_ of float64 ones). Bin 0 holds 1 and 4: mean 2.5, unbiased
    # variance ((1 - 2.5)² + (4 - 2.5)²) / 1 = 4.5.
    features = torch.tensor([[1.0], [4.0]], dtype=torch.float64)
    counts, mean, var = bin_statistics(features, torch.tensor([0, 0]), 2)
    assert counts.dtype == mean.dtype == var.dtype == torch.float64
    assert counts.tolist() == [2.0, 0.0]
    assert mean[0].item() == 2.5 and var[0].item() == 4.5


def test_smooth_over_bins_ks5_reflects_by_hand():
    # ks = 5 triangular window [1, 2, 3, 2, 1] / 9, half = 2. Stats [0, 0, 9, 0, 0] padded by
    # reflection (edge not repeated): [9, 0 | 0, 0, 9, 0, 0 | 0, 9]
    #   bin 0: (1·9 + 1·9)/9 = 2;  bin 1: 2·9/9 = 2;  bin 2: 3·9/9 = 3;  bins 3, 4: 2, 2
    fds = FDS(1, 5, kernel="triangular", ks=5)
    out = fds.smooth_over_bins(torch.tensor([[0.0], [0.0], [9.0], [0.0], [0.0]]))
    assert out[:, 0].tolist() == pytest.approx([2.0, 2.0, 3.0, 2.0, 2.0])


def test_smooth_over_bins_replicates_when_the_window_is_wider_than_the_bins():
    # 2 bins, half = 2 (reflect needs half < bins): replicate-padded [0, 9] is
    # [0, 0 | 0, 9 | 9, 9]; window [1, 2, 3, 2, 1] / 9:
    #   bin 0: (0 + 0 + 0 + 2·9 + 1·9)/9 = 3;  bin 1: (0 + 0 + 3·9 + 2·9 + 9)/9 = 6
    fds = FDS(1, 2, kernel="triangular", ks=5)
    out = fds.smooth_over_bins(torch.tensor([[0.0], [9.0]]))
    assert out[:, 0].tolist() == pytest.approx([3.0, 6.0])


def _fds_with_statistics(start_smooth: int = 1) -> FDS:
    """One bin, one feature, with last-epoch statistics μ = 1, σ² = 4, μ̃ = 10, σ̃² = 16."""
    fds = FDS(1, 1, start_smooth=start_smooth)
    fds.running_mean_last_epoch.fill_(1.0)
    fds.running_var_last_epoch.fill_(4.0)
    fds.smoothed_mean_last_epoch.fill_(10.0)
    fds.smoothed_var_last_epoch.fill_(16.0)
    return fds


def test_fds_forward_calibrates_with_the_last_epochs_statistics():
    # (z - μ) · √(σ̃²/σ²) + μ̃ = (3 - 1) · √(16/4) + 10 = 2 · 2 + 10 = 14
    fds = _fds_with_statistics(start_smooth=1)
    z, index = torch.tensor([[3.0]]), torch.tensor([0])
    assert fds(z, index, epoch=1).item() == pytest.approx(14.0)  # epoch = start_smooth
    assert fds(z, index, epoch=0).item() == 3.0  # before start_smooth: unchanged
    fds.eval()
    assert fds(z, index, epoch=5).item() == 3.0  # evaluation: unchanged


# --- stats -------------------------------------------------------------------------------


def test_spearman_of_a_constant_is_nan_without_a_warning():
    # A constant variable has rank standard deviation 0: the correlation is undefined and
    # spearman says so itself (np.corrcoef would divide by zero and warn).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.spearman([5, 5, 5], [1, 2, 3]))
        assert math.isnan(stats.spearman([1, 2, 3], [5, 5, 5]))


def test_spearman_of_tied_ranks_with_standard_deviation_one():
    # [0, 0, 1, 1] ranks [1.5, 1.5, 3.5, 3.5]: mean 2.5, population sd √((4 · 1²)/4) = 1,
    # not 0, so the correlation is computed: identical ranks give 1.
    assert stats.rank([0, 0, 1, 1]).std() == 1.0
    assert stats.spearman([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)


def test_class_drop_skips_a_seed_missing_from_b_and_goes_on():
    # seed 0 only in a (skipped); seed 1 in both: classes [0, 1],
    #   100 · ((0.9 - 0.5) + (0.8 - 0.6)) / 2 = 100 · 0.6 / 2 = 30 points
    a = [{"seed": 0, "per_class_acc": [1.0, 1.0]}, {"seed": 1, "per_class_acc": [0.9, 0.8]}]
    b = [{"seed": 1, "per_class_acc": [0.5, 0.6]}]
    assert stats.class_drop(a, b, [0, 1]) == pytest.approx([30.0])


def test_shot_labels_thresholds_default_and_given():
    # defaults 100 / 20: many > 100, medium 20..100, few < 20
    assert stats.shot_labels([101, 100, 20, 19]) == ["many", "medium", "medium", "few"]
    # given 50 / 10: 51 many, 50 and 10 medium, 9 few
    assert stats.shot_labels([51, 50, 10, 9], 50, 10) == ["many", "medium", "medium", "few"]


# --- regression metrics --------------------------------------------------------------------


def test_pearson_of_two_samples_and_of_a_small_spread():
    # two samples [1, 2] vs [2, 4]: centred [-0.5, 0.5] and [-1, 1], r = 1 / (√0.5 · √2) = 1
    assert pearson(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0])) == pytest.approx(1.0)
    # spread 0.1: centred [-0.1, 0, 0.1] and [-0.2, 0, 0.2]; norms √0.02 · √0.08 = 0.04 (< 1,
    # yet > 0: a correlation), Σ p·t = 0.02 + 0.02 = 0.04 -> r = 1
    small = pearson(torch.tensor([0.0, 0.1, 0.2]), torch.tensor([0.0, 0.2, 0.4]))
    assert small == pytest.approx(1.0)


def _report(counts, **thresholds):
    # 3 bins of width 1 over [0, 3); test labels in bins 0, 0, 1 (none in bin 2);
    # predictions off by 1, 3, 3.
    bins = LabelBins(0, 3, 3)
    target = torch.tensor([0.5, 0.5, 1.5])
    pred = torch.tensor([1.5, 3.5, 4.5])
    return regression_report(pred, target, bins, counts, **thresholds)


def test_regression_report_per_bin_by_hand():
    report = _report([101, 20, 19])
    # bin 0: errors 1, 3 -> MAE (1 + 3)/2 = 2, MSE (1 + 9)/2 = 5; bin 1: error 3 -> 3, 9;
    # bin 2: no test sample -> NaN
    assert report["per_bin_mae"][:2] == pytest.approx([2.0, 3.0])
    assert report["per_bin_mse"][:2] == pytest.approx([5.0, 9.0])
    assert math.isnan(report["per_bin_mae"][2]) and math.isnan(report["per_bin_mse"][2])


def test_regression_report_region_thresholds_default_and_given():
    # defaults: many > 100, medium 20..100, few < 20
    assert _report([101, 20, 19])["regions"] == ["many", "medium", "few"]
    # given 50 / 10: 51 many, 10 medium, 9 few
    given = _report([51, 10, 9], many_threshold=50, few_threshold=10)
    assert given["regions"] == ["many", "medium", "few"]


# --- the store key ---------------------------------------------------------------------


def test_a_config_class_registers_itself_as_its_kind():
    assert KINDS["classification"] is RunConfig
