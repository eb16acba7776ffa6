"""Tests written to kill the mutants that survived ``make mutants`` (issue 33).

Each test names the mutation it kills (mutmut's operator on the line quoted); expected values
are worked out by hand in the comments. The mutants left alive are listed, with the reason
each is equivalent, in the README's "Mutation testing" paragraph and the issue's report.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import lt_lab.config as config_module
from lt_lab import metrics, stats
from lt_lab.config import KINDS, RunConfig, config_from_dict, make_config
from lt_lab.data import samplers
from lt_lab.errors import ConfigError
from lt_lab.losses import build
from lt_lab.losses.basic import CrossEntropy
from lt_lab.margins import losses as margins_losses
from lt_lab.margins.losses import ldam_margins
from lt_lab.regression import losses as rl
from lt_lab.regression.bins import LabelBins
from lt_lab.regression.fds import FDS, bin_statistics, calibrate
from lt_lab.regression.lds import kernel_window, lds_weights, smooth_density
from lt_lab.regression.metrics import pearson, regression_report
from lt_lab.reweighting import losses as rw

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


def test_bin_statistics_unbiased_variance_of_three():
    # [1, 2, 6]: mean 3, squares 4 + 1 + 9 = 14, unbiased variance 14 / (3 - 1) = 7
    counts, mean, var = bin_statistics(torch.tensor([[1.0], [2.0], [6.0]]),
                                       torch.tensor([0, 0, 0]), 1)
    assert (counts.item(), mean.item(), var.item()) == (3.0, 3.0, 7.0)


def test_fds_defaults_are_dirs():
    # DIR: gaussian kernel, ks = 5, σ = 2, momentum 0.9, update from epoch 0, smooth from 1
    fds = FDS(1, 3)
    expected = torch.tensor(kernel_window("gaussian", 5, 2.0), dtype=torch.float32)
    assert torch.equal(fds.window.flatten(), expected)
    assert (fds.momentum, fds.start_update, fds.start_smooth) == (0.9, 0, 1)
    other = FDS(1, 3, sigma=1.0)
    assert torch.equal(other.window.flatten(),
                       torch.tensor(kernel_window("gaussian", 5, 1.0), dtype=torch.float32))


def test_a_fresh_fds_calibrates_to_the_identity():
    # before any update: μ = 0, σ² = 1, μ̃ = 0, σ̃² = 1, so (z - 0) · √1 + 0 = z
    z = torch.tensor([[3.0], [-2.0]])
    assert FDS(1, 2)(z, torch.tensor([0, 1]), epoch=1).tolist() == [[3.0], [-2.0]]


def test_fds_running_mean_uses_momentum_0_9_by_default():
    # epoch 0 copies the mean 4; epoch 1 sees mean 14: 0.1 · 14 + 0.9 · 4 = 1.4 + 3.6 = 5
    fds = FDS(1, 1)
    fds.end_epoch(torch.tensor([[4.0]]), torch.tensor([0]), epoch=0)
    fds.end_epoch(torch.tensor([[14.0]]), torch.tensor([0]), epoch=1)
    assert fds.running_mean.item() == pytest.approx(5.0)


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


# --- LDS ---------------------------------------------------------------------------------


def test_smooth_density_defaults_are_dirs_gaussian_5_2():
    counts = [0, 0, 9, 3, 0, 0, 0]
    assert smooth_density(counts).tolist() == smooth_density(counts, "gaussian", 5, 2.0).tolist()
    # sigma reaches the window: a spike smoothed with σ = 1 is 10 · the σ = 1 window
    spike = smooth_density([0, 0, 10, 0, 0], "gaussian", 5, 1.0)
    assert spike.tolist() == pytest.approx((10 * kernel_window("gaussian", 5, 1.0)).tolist())
    assert spike.tolist() != pytest.approx((10 * kernel_window("gaussian", 5, 2.0)).tolist())


def _labels(*groups) -> torch.Tensor:
    """``groups`` of (label, how many) as one label tensor."""
    return torch.tensor([label for label, n in groups for _ in range(n)])


def test_lds_weights_defaults_are_sqrt_inv_with_dirs_kernel():
    bins = LabelBins(0, 7, 7)
    labels = _labels((0.5, 40), (1.5, 9), (2.5, 1), (4.5, 16))
    default = lds_weights(labels, bins)
    assert default.dtype == torch.float32
    explicit = lds_weights(labels, bins, kernel="gaussian", ks=5, sigma=2.0,
                           reweight="sqrt_inv", lds=True)
    assert default.tolist() == explicit.tolist()
    # sigma reaches the smoothing of the per-bin counts
    assert lds_weights(labels, bins, sigma=1.0).tolist() != default.tolist()


def test_lds_weights_none_is_all_ones_and_a_bad_reweight_is_named():
    bins = LabelBins(0, 3, 3)
    ones = lds_weights(_labels((0.5, 3), (1.5, 1)), bins, reweight="none")
    assert ones.tolist() == [1.0] * 4 and ones.dtype == torch.float32
    with pytest.raises(ConfigError, match="reweight='bad'"):
        lds_weights(_labels((0.5, 3)), bins, reweight="bad")


def test_lds_weights_smooth_clipped_counts_of_empty_bins_too():
    # 3 bins, 10 labels in bin 0, 20 in bin 1, bin 2 empty. inverse clips counts to
    # [5, 1000]: [10, 20, 5]; triangular ks=3 window [1, 2, 1]/4, zero-padded:
    #   bin 0: (2·10 + 20)/4 = 10;  bin 1: (10 + 2·20 + 5)/4 = 13.75
    # weights 1/10 (×10) and 1/13.75 (×20), scaled to mean 1: sum 1 + 20/13.75 = 27/11,
    #   factor 30 · 11/27 = 110/9: w0 = 11/9 = 1.2222..., w1 = (110/9)/13.75 = 8/9 = 0.8888...
    weights = lds_weights(_labels((0.5, 10), (1.5, 20)), LabelBins(0, 3, 3),
                          kernel="triangular", ks=3, reweight="inverse")
    assert weights[0].item() == pytest.approx(11 / 9, rel=1e-6)
    assert weights[-1].item() == pytest.approx(8 / 9, rel=1e-6)


def test_lds_weights_clip_large_counts_at_1000():
    # inverse without LDS: counts [1001, 10] clip to [1000, 10]; weights 1/1000 and 1/10,
    # scaled to mean 1 over 1011 samples: sum 1001/1000 + 10/10 = 2.001, factor 1011/2.001:
    #   w0 = 1011/2001 = 0.505247376311844, w1 = 100 · w0 = 50.5247376311844
    weights = lds_weights(_labels((0.5, 1001), (1.5, 10)), LabelBins(0, 2, 2),
                          reweight="inverse", lds=False)
    assert weights[0].item() == pytest.approx(0.505247376311844, rel=1e-6)
    assert weights[-1].item() == pytest.approx(50.5247376311844, rel=1e-6)


# --- re-weighting losses -------------------------------------------------------------------


@pytest.mark.parametrize("bad", [False, True, "0.5", -0.1, 1.0])
def test_check_beta_refuses_what_is_not_a_number_in_0_1(bad):
    with pytest.raises(ConfigError, match="beta="):
        rw._check_beta(bad)


@pytest.mark.parametrize("bad", [True, "x", math.nan, -1.0])
def test_check_gamma_refuses_bools_strings_nan_and_negatives(bad):
    with pytest.raises(ConfigError, match="gamma="):
        rw._check_gamma(bad)


@pytest.mark.parametrize("bad", [True, "0.5", 1.0, 1.5, -0.1])
def test_check_drw_start_refuses_what_is_not_a_fraction_in_0_1(bad):
    with pytest.raises(ConfigError, match="drw_start="):
        rw._check_drw_start(bad)


def test_check_scheme_names_the_scheme():
    with pytest.raises(ConfigError, match="scheme='bad'"):
        rw._check_scheme("bad", None)


def test_class_weights_counts_in_float64_by_hand():
    # inverse, counts [1, 3, 7, 11]: raw [1, 1/3, 1/7, 1/11] = [231, 77, 33, 21] / 231,
    # sum 362/231; times C / sum = 4 · 231/362 -> [924, 308, 132, 84] / 362 (then float32;
    # computed in float32 throughout, the last bits differ)
    expected = (torch.tensor([924.0, 308.0, 132.0, 84.0], dtype=torch.float64) / 362).float()
    assert torch.equal(rw.class_weights([1, 3, 7, 11], "inverse"), expected)


def test_class_weights_shape_of_counts():
    assert rw.class_weights([5], "inverse").tolist() == [1.0]  # one class: weight C = 1
    with pytest.raises(ConfigError, match="1-D"):
        rw.class_weights([[1, 2], [3, 4]], "inverse")


def test_effective_number_in_float64_and_its_beta_range():
    # E_3 at β = 0.9: (1 - 0.9³)/(1 - 0.9) = (1 - 0.729)/0.1 = 2.71
    value = rw.effective_number(3, 0.9)
    assert value.dtype == torch.float64 and value.item() == pytest.approx(2.71, abs=1e-12)
    # β = 0: E_n = 1 for n >= 1 and 0 for n = 0
    assert rw.effective_number(torch.tensor([0, 3]), 0.0).tolist() == [0.0, 1.0]
    for bad in (True, 1.5, -0.5):
        with pytest.raises(ConfigError, match="beta="):
            rw.effective_number(3, bad)


def test_focal_loss_takes_the_softmax_over_classes_explicitly():
    # an implicit softmax dimension is deprecated (and warns): the loss names dim=1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rw.focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), 2.0)


def test_losses_built_directly_check_their_parameters():
    with pytest.raises(ConfigError, match="drw_start="):
        rw.ClassBalancedCrossEntropy([2, 1], drw_start=1.5)
    with pytest.raises(ConfigError, match="scheme='uniform'"):
        rw.WeightedCrossEntropy([2, 1], scheme="uniform")


def test_set_epoch_warns_only_when_drw_never_switches_on():
    loss = rw.WeightedCrossEntropy([2, 1])  # no DRW
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss.set_epoch(0, 10)
    deferred = rw.WeightedCrossEntropy([2, 1], drw_start=0.95)  # round(0.95 · 10) = 10 >= 10
    with pytest.warns(UserWarning, match="never"):
        deferred.set_epoch(0, 10)


def test_cross_entropy_module_applies_label_smoothing():
    # logits [0, ln 3], target 1, ε = 0.1, C = 2: (1 - ε) · (-ln 3/4) + ε · mean_c(-ln p_c)
    #   = 0.9 · 0.2876821 + 0.1 · (0.2876821 + 1.3862944)/2 = 0.2589139 + 0.0836988
    #   = 0.3426126868851863
    loss = CrossEntropy(label_smoothing=0.1)
    logits = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    assert loss(logits, torch.tensor([1])).item() == pytest.approx(0.3426126868851863,
                                                                   abs=1e-12)


# --- samplers ------------------------------------------------------------------------------


def test_progressive_sampler_defaults_to_one_epoch():
    # counts [3, 1]: instance-balanced q = [3/4, 1/4], class-balanced [1/2, 1/2]; built
    # without num_epochs (1), epoch 1 is progress 1/1 = 1: fully class-balanced
    labels = torch.tensor([0, 0, 0, 1])
    sampler = samplers.ClassWeightedSampler(labels, 2, power=None)
    assert sampler.class_probabilities(1).tolist() == pytest.approx([0.5, 0.5])
    assert sampler.class_probabilities(0).tolist() == pytest.approx([0.75, 0.25])


def test_undersampling_shuffles_a_class_of_exactly_the_kept_size():
    # classes of 10 and 12 images, under-sampled to 10: class 0 keeps all ten, drawn as a
    # random subset (in random order), not the ten in index order
    labels = torch.tensor([0] * 10 + [1] * 12)
    sampler = samplers.build_sampler("undersample", labels, 2)
    sampler.epoch_indices(0, torch.Generator().manual_seed(0))
    kept = sampler.resampled[:10].tolist()
    assert sorted(kept) == list(range(10))
    assert kept != list(range(10))


# --- classification metrics: what a bad input's message names ------------------------------

LOGITS = torch.zeros(2, 3)


@pytest.mark.parametrize("logits, labels, named", [
    ("not a tensor", [0, 1], "logits could not be read as a tensor"),
    (torch.zeros(2, 3, dtype=torch.int64), [0, 1], "logits must be a floating tensor"),
    (torch.zeros(2, 0), [0, 1], "logits is empty"),
    (torch.zeros(0, 3), [0, 1], "logits is empty"),
    (LOGITS, [0.0, 1.0], "labels must hold integer class indices"),
    (LOGITS, [0, 1, 2], "logits has 2 samples but labels has 3"),
    (LOGITS, [0, 3], "labels must lie in [0, 3)"),
])
def test_top_k_accuracy_names_the_bad_argument(logits, labels, named):
    with pytest.raises(ConfigError) as caught:
        metrics.top_k_accuracy(logits, labels, k=1)
    assert named in str(caught.value)


def test_metrics_accept_a_single_class():
    # one column: every label is class 0, and top-1 is always right
    assert metrics.top_k_accuracy(torch.zeros(2, 1), [0, 0], k=1) == 1.0


def test_top_k_accuracy_defaults_to_top_5():
    # six classes scored 6 … 1: the label in 5th place is in the top 5, the 6th is not
    logits = torch.tensor([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]] * 2)
    assert metrics.top_k_accuracy(logits, [4, 5]) == 0.5


@pytest.mark.parametrize("call, named", [
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], 0), "num_classes=0"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 5], 2), "labels must lie in [0, 2)"),
    (lambda: metrics.shot_accuracy([0.5, 0.5], "counts"), "class_counts could not be read"),
    (lambda: metrics.shot_accuracy("acc", [5, 5]), "per_class_acc could not be read"),
    (lambda: metrics.shot_accuracy([1.5, 0.5], [5, 5]), "per_class_acc"),
    (lambda: metrics.shot_groups([5, 5], few_threshold=-1), "few_threshold=-1"),
    (lambda: metrics.expected_calibration_error("p", [0]), "probabilities could not be read"),
    (lambda: metrics.expected_calibration_error(torch.tensor([[1.5, 0.0]]), [0]),
     "probabilities"),
    (lambda: metrics.expected_calibration_error(torch.tensor([[0.5, 0.5]]), [0], 0),
     "n_bins=0"),
    (lambda: metrics.classification_report("x", [0], [1]), "logits could not be read"),
])
def test_metrics_name_the_bad_argument(call, named):
    with pytest.raises(ConfigError) as caught:
        call()
    assert named in str(caught.value)


def test_few_threshold_zero_is_allowed():
    # few < 0 is impossible, so few_threshold = 0 means no few-shot group at all
    assert metrics.shot_groups([5, 150], 100, 0) == {"many": [1], "medium": [0], "few": []}


def test_shot_accuracy_and_report_pass_both_thresholds_on():
    # thresholds 50 / 10: counts [51, 10, 9] are many, medium, few
    given = metrics.shot_accuracy([0.9, 0.5, 0.1], [51, 10, 9], 50, 10)
    assert (given["many_shot_acc"], given["medium_shot_acc"], given["few_shot_acc"]) == \
        pytest.approx((0.9, 0.5, 0.1))
    # the report with the default thresholds (100 / 20): [101, 20, 19] many, medium, few;
    # logits that get class 0 right and classes 1, 2 wrong
    logits = torch.tensor([[9.0, 0.0, 0.0], [9.0, 0.0, 0.0], [9.0, 0.0, 0.0]])
    report = metrics.classification_report(logits, [0, 1, 2], [101, 20, 19])
    assert (report["many_shot_acc"], report["medium_shot_acc"], report["few_shot_acc"]) == \
        (1.0, 0.0, 0.0)
    report = metrics.classification_report(logits, [0, 1, 2], [51, 10, 9], 50, 10)
    assert (report["many_shot_acc"], report["medium_shot_acc"], report["few_shot_acc"]) == \
        (1.0, 0.0, 0.0)


def test_ece_defaults_to_15_bins_by_hand():
    # confidences 0.66 (right) and 0.68 (wrong). 15 bins of 1/15 = 0.0667: 0.66 falls in
    # (0.6, 0.6667], 0.68 in (0.6667, 0.7333]: ECE = ½·|1 - 0.66| + ½·|0 - 0.68| = 0.51.
    # (16 bins would put both in (0.625, 0.6875]: |0.5 - 0.67| = 0.17.)
    probabilities = torch.tensor([[0.66, 0.34], [0.68, 0.32]], dtype=torch.float64)
    assert metrics.expected_calibration_error(probabilities, [0, 1]) == pytest.approx(0.51)


def test_ece_tolerates_an_ulp_above_one_in_the_last_bin():
    # a confidence of 1 + 1e-6 (the tolerance) is accepted, in the last bin: |1 - (1 + 1e-6)|
    probabilities = torch.tensor([[1 + 1e-6, 0.0]], dtype=torch.float64)
    assert metrics.expected_calibration_error(probabilities, [0], 5) == pytest.approx(1e-6)


def test_ece_compares_bin_edges_in_the_probabilities_dtype():
    # 5 bins; float64 edge 0.2 exactly. A: confidence 0.2 + 1e-12 (right) is above it, in
    # (0.2, 0.4] with B: confidence 0.4 (wrong): one bin, accuracy ½, confidence 0.3:
    # ECE = |0.5 - 0.3| = 0.2. (A float32 edge, 0.2000000030, would keep A in the first bin:
    # ½·|1 - 0.2| + ½·|0 - 0.4| = 0.6.)
    a = [0.2 + 1e-12, 0.2, 0.2, 0.2, 0.2 - 1e-12]
    b = [0.4, 0.15, 0.15, 0.15, 0.15]
    probabilities = torch.tensor([a, b], dtype=torch.float64)
    assert metrics.expected_calibration_error(probabilities, [0, 1], 5) == pytest.approx(0.2)


# --- stats: arguments passed on ------------------------------------------------------------


def test_paired_comparison_passes_its_scale_on():
    # seed 0: 0.75 - 0.5 = 0.25; scale 1 keeps the fraction (the default 100 gives points)
    runs = {"a": [{"seed": 0, "metrics": {"acc": 0.75}}],
            "b": [{"seed": 0, "metrics": {"acc": 0.5}}]}
    assert stats.paired_comparison(runs, "acc", scale=1)("a", "b") == [0.25]
    assert stats.paired_comparison(runs, "acc")("a", "b") == [25.0]


def test_mean_interval_passes_its_confidence_on():
    # [1, 2, 3]: mean 2, sd 1, n = 3. At 50 %, t(0.75; df = 2) = ½ · √(2 / (4 · ¾ · ¼))
    #   = ½ · √(8/3) = √(2/3); half-width √(2/3) / √3 = √2 / 3 = 0.4714045207910317
    low, high = stats.mean_interval([1.0, 2.0, 3.0], confidence=0.5)
    assert (low, high) == pytest.approx((2 - math.sqrt(2) / 3, 2 + math.sqrt(2) / 3))


# --- config and the plain cross-entropy ----------------------------------------------------


def test_config_from_dict_defaults_to_classification_and_names_a_bad_kind():
    config = make_config("smoke", seed=3)
    assert config_from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="kind='bogus'"):
        config_from_dict({}, "bogus")


def test_cross_entropy_module_defaults_to_no_smoothing():
    # logits [0, ln 3], target 1: -ln(3/4) = 0.2876820724517809
    logits = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    value = CrossEntropy()(logits, torch.tensor([1])).item()
    assert value == pytest.approx(0.2876820724517809, abs=1e-12)


# --- config: building and checking what enters the key -------------------------------------


def test_make_config_defaults_to_the_quick_profile():
    assert make_config().profile == "quick"
    assert make_config() == make_config("quick")


def test_validate_names_a_bad_profile():
    bad = dataclasses.replace(make_config("smoke"), profile="bogus")
    with pytest.raises(ConfigError, match="profile='bogus'"):
        bad.validate()


def test_coerce_turns_json_values_into_field_types():
    # a tuple of floats from a JSON list (ints become floats); a dict's nested tuples become
    # lists (as stored); None for a dict is the empty dict
    coerced = RunConfig.coerce({"lr_milestones": [1, 0.9], "loss_params": {"a": (1, 2)}})
    assert coerced == {"lr_milestones": (1.0, 0.9), "loss_params": {"a": [1, 2]}}
    assert isinstance(coerced["lr_milestones"][0], float)
    assert RunConfig.coerce({"analyses": None}) == {"analyses": {}}


def test_check_drw_leaves_a_non_number_to_the_loss_and_says_the_latest_start():
    # drw_start = True is not a fraction: the loss refuses it, check_drw does not judge it
    config_module.check_drw(SimpleNamespace(loss_params={"drw_start": True}, epochs=10))
    # epochs 10: round(0.99 · 10) = 10, never; the latest start is (10 - 1)/10 = 0.9
    with pytest.raises(ConfigError, match=r"drw_start <= 0\.9, or more epochs"):
        make_config("smoke", loss="cb_focal", loss_params={"drw_start": 0.99}, epochs=10)


def test_as_config_error_prefixes_only_a_message_that_does_not_name_the_field():
    def named():
        raise ConfigError("x=1 is bad")

    def unnamed():
        raise ConfigError("1 is bad")

    with pytest.raises(ConfigError) as caught:
        config_module.as_config_error("x", named)
    assert str(caught.value) == "x=1 is bad"
    with pytest.raises(ConfigError) as caught:
        config_module.as_config_error("x", unnamed)
    assert str(caught.value) == "x: 1 is bad"


@pytest.mark.parametrize("overrides, starts", [
    ({"loss": "focal", "loss_params": {"gamma": "x"}}, "loss_params: gamma='x'"),
    ({"analyses": {"bogus": 1}}, "analyses='bogus'"),
    ({"class_order": "bogus"}, "class_order='bogus'"),
])
def test_run_config_relations_name_the_field(overrides, starts):
    with pytest.raises(ConfigError) as caught:
        make_config("smoke", **overrides)
    assert str(caught.value).startswith(starts)


def test_run_config_takes_the_datasets_own_orders_and_its_full_size():
    # fashion_mnist knows "confusable_tail"; n_max may be the recipe's 6,000 images a class
    assert make_config("smoke", class_order="confusable_tail").class_order == "confusable_tail"
    assert make_config("smoke", n_max=6000).n_max == 6000


def test_kernel_window_defaults_and_names_a_bad_sigma():
    assert kernel_window().tolist() == kernel_window("gaussian", 5, 2.0).tolist()
    with pytest.raises(ConfigError, match="sigma=0"):
        kernel_window("gaussian", 5, 0)


def test_reflect_index_is_scipys_reflect_mode():
    # length 3, [a b c] extended as (c b a | a b c | c b a | a b c ...): indices -7 … 9
    #   -7 -6 -5 -4 -3 -2 -1 | 0 1 2 | 3 4 5 6 7 8 9
    #    0  0  1  2  2  1  0 | 0 1 2 | 2 1 0 0 1 2 2
    from lt_lab.regression.lds import _reflect

    expected = [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2]
    assert _reflect(np.arange(-7, 10), 3).tolist() == expected


@pytest.mark.parametrize("call, named", [
    (lambda: metrics.accuracy("x", [0]), "predictions could not be read"),
    (lambda: metrics.accuracy([0, 1], [0.0, 1.0]), "labels must hold integer class indices"),
    (lambda: metrics.accuracy([0.0, 1.0], [0, 1]),
     "predictions must hold integer class indices"),
    (lambda: metrics.accuracy([0, 1], [0]), "predictions has 2 samples but labels has 1"),
    (lambda: metrics.confusion_matrix([0, 5], [0, 1], 2), "predictions must lie in [0, 2)"),
])
def test_prediction_metrics_name_the_bad_argument(call, named):
    with pytest.raises(ConfigError) as caught:
        call()
    assert named in str(caught.value)


def test_build_sampler_defaults_names_and_empty_classes():
    labels = torch.tensor([0, 0, 0, 1])
    # progressive, one epoch by default: epoch 1 is fully class-balanced
    progressive = samplers.build_sampler("progressive", labels, 2)
    assert progressive.class_probabilities(1).tolist() == pytest.approx([0.5, 0.5])
    with pytest.raises(ConfigError, match="sampler='bogus'"):
        samplers.build_sampler("bogus", labels, 2)
    # classes 1 and 2 (of 3) have no image: counted over all num_classes, and refused
    with pytest.raises(ConfigError, match=r"no images: \[1, 2\]"):
        samplers.build_sampler("instance", torch.tensor([0, 0]), 3)


# --- checkpoint state (what a resumed run restores) ---------------------------------------


def test_fds_state_dict_keeps_its_update_count():
    fds = FDS(1, 2)
    fds.end_epoch(torch.tensor([[1.0], [2.0]]), torch.tensor([0, 1]), epoch=0)
    restored = FDS(1, 2)
    restored.load_state_dict(fds.state_dict())
    assert restored.updates == 1
    assert torch.equal(restored.running_mean, fds.running_mean)


def test_resampled_sampler_state_dict_keeps_the_drawn_set():
    labels = torch.tensor([0] * 3 + [1] * 5)
    sampler = samplers.build_sampler("oversample", labels, 2)
    assert sampler.state_dict() == {"indices": None}  # nothing drawn yet
    sampler.epoch_indices(0, torch.Generator().manual_seed(0))
    restored = samplers.build_sampler("oversample", labels, 2)
    restored.load_state_dict(sampler.state_dict())
    assert torch.equal(restored.resampled, sampler.resampled)
    restored.load_state_dict({"indices": None})
    assert restored.resampled is None


def test_config_make_defaults_to_the_quick_profile():
    assert RunConfig.make().profile == "quick"


def test_ece_keeps_a_confidence_above_one_in_the_last_bin():
    # 5 bins. A: confidence 1 + 1e-6 (right), B: 0.9 (right); both in the last bin (0.8, 1]:
    # |(1 + 1) - (1.000001 + 0.9)| / 2 = 0.0999990 / 2 = 0.0499995. (A bin of its own for A
    # would give (|1 - 1.000001| + |1 - 0.9|) / 2 = 0.1000010 / 2 = 0.0500005.)
    probabilities = torch.tensor([[1 + 1e-6, 0.0], [0.9, 0.1]], dtype=torch.float64)
    ece = metrics.expected_calibration_error(probabilities, [0, 0], 5)
    assert ece == pytest.approx(0.0499995, abs=1e-9)


# --- margin losses ---------------------------------------------------------------------------


def test_vs_factors_by_hand():
    # counts [4, 1], γ = 0.5: (n / n_max)^γ = [(4/4)^½, (1/4)^½] = [1, 0.5]
    assert margins_losses._vs_factors([4, 1], 0.5).tolist() == pytest.approx([1.0, 0.5])


def test_vs_loss_defaults_are_kinis():
    # γ = 0.3, τ = 1 (Kini et al.'s defaults here)
    logits, targets = torch.tensor([[0.5, -1.0], [2.0, 0.3]]), torch.tensor([0, 1])
    default = margins_losses.vs_loss(logits, targets, [4, 1])
    explicit = margins_losses.vs_loss(logits, targets, [4, 1], gamma=0.3, tau=1.0)
    assert default.item() == explicit.item()
    assert default.item() != margins_losses.vs_loss(logits, targets, [4, 1], 1.3).item()
    assert default.item() != margins_losses.vs_loss(logits, targets, [4, 1], 0.3, 2.0).item()


@pytest.mark.parametrize("call, named", [
    (lambda z, t: margins_losses.logit_adjust(z, [4, 1], tau=math.nan), "tau=nan"),
    (lambda z, t: margins_losses.logit_adjusted_loss(z, t, [4, 1], tau=math.nan), "tau=nan"),
    (lambda z, t: margins_losses.vs_loss(z, t, [4, 1], gamma=math.nan), "gamma=nan"),
    (lambda z, t: margins_losses.vs_loss(z, t, [4, 1], tau=math.nan), "tau=nan"),
])
def test_margin_functions_name_a_bad_parameter(call, named):
    with pytest.raises(ConfigError) as caught:
        call(torch.zeros(2, 2), torch.tensor([0, 1]))
    assert str(caught.value).startswith(named)


@pytest.mark.parametrize("name", ["ldam", "logit_adjusted", "balanced_softmax", "vs"])
def test_margin_losses_name_themselves_when_the_classes_do_not_match(name):
    loss = build(name, class_counts=[4, 1])
    with pytest.raises(ConfigError) as caught:
        loss(torch.zeros(2, 3), torch.tensor([0, 1]))
    assert f"loss {name!r} was built for 2 classes but the logits have 3" in str(caught.value)


# --- regression losses -----------------------------------------------------------------------


def test_weighted_mse_of_a_nonzero_target():
    # (3 - 1)² = 4 (not (3 + 1)² = 16)
    assert rl.weighted_mse(torch.tensor([3.0]), torch.tensor([1.0])).item() == 4.0


def test_gai_loss_by_hand():
    # ŷ = 1, y = 0.5, σ² = 2, one component μ = 2, v = 1, π = 1:
    #   (ŷ - y)²/(2σ²) + ½ ln σ² = 0.25/4 + ½ ln 2 = 0.0625 + 0.3465736 = 0.4090736
    #   ln π - ½ ln(v + σ²) - (ŷ - μ)²/(2(v + σ²)) = 0 - ½ ln 3 - 1/6 = -0.5493061 - 0.1666667
    #     = -0.7159728 (one component: the logsumexp is this term)
    #   (0.4090736 - 0.7159728) · 2σ² = -0.3068992 · 4 = -1.2275968828829955
    value = rl.gai_loss(torch.tensor([1.0], dtype=torch.float64),
                        torch.tensor([0.5], dtype=torch.float64),
                        torch.tensor(2.0, dtype=torch.float64),
                        torch.tensor([2.0], dtype=torch.float64),
                        torch.tensor([1.0], dtype=torch.float64),
                        torch.tensor([1.0], dtype=torch.float64))
    assert value.item() == pytest.approx(-1.2275968828829955, abs=1e-12)


def test_bni_loss_by_hand():
    # ŷ = 1, y = 0.5, σ² = 2, bins at 0 and 2 with weights ¼ and ¾:
    #   (ŷ - y)²/(2σ²) = 0.25/4 = 0.0625
    #   logsumexp_b [ln p_b - (ŷ - c_b)²/(2σ²)] = ln(¼ e^(-1/4) + ¾ e^(-1/4)) = -0.25
    #   (0.0625 - 0.25) · 2σ² = -0.1875 · 4 = -0.75
    double = {"dtype": torch.float64}
    value = rl.bni_loss(torch.tensor([1.0], **double), torch.tensor([0.5], **double),
                        torch.tensor(2.0, **double), torch.tensor([0.0, 2.0], **double),
                        torch.tensor([0.25, 0.75], **double))
    assert value.item() == pytest.approx(-0.75, abs=1e-12)


def test_fit_gmm_starts_evenly_spaced_over_the_label_range():
    # labels 1 … 5, K = 2, no EM step: low 1, span 4: means 1 + 4 · [0.5, 1.5]/2 = [2, 4],
    # variances (4/2)² = 4, weights ½
    means, variances, weights = rl.fit_gmm(torch.tensor([1.0, 5.0]), 2, 0)
    assert means.dtype == torch.float64
    assert (means.tolist(), variances.tolist(), weights.tolist()) == \
        ([2.0, 4.0], [4.0, 4.0], [0.5, 0.5])
    # a range below 1: span 0.5 (the 1e-6 floor only for a single value): means 1.125, 1.375
    means, _, _ = rl.fit_gmm(torch.tensor([1.0, 1.5]), 2, 0)
    assert means.tolist() == [1.125, 1.375]
    assert len(rl.fit_gmm(torch.arange(20.0))[0]) == 8  # the Balanced MSE code's K


def test_l1_module_passes_its_weights_on():
    # |[1, 3] - 0| weighted [0.5, 1.5]: (0.5 + 4.5)/2 = 2.5
    pred, target, weights = torch.tensor([1.0, 3.0]), torch.zeros(2), torch.tensor([0.5, 1.5])
    assert rl.build("l1")(pred, target, weights).item() == pytest.approx(2.5)


def test_balanced_mse_defaults_and_what_its_checks_name():
    loss = rl.BalancedMSELoss()
    assert (loss.variant, loss.noise_sigma.item(), loss.sigma_lr) == ("bmc", 1.0, 1e-2)
    assert rl.BalancedMSELoss(sigma_lr=0.0).sigma_lr == 0.0  # a fixed σ: allowed
    for kwargs, named in (({"variant": "x"}, "variant='x'"),
                          ({"init_noise_sigma": 0.0}, "init_noise_sigma=0"),
                          ({"sigma_lr": -1.0}, "sigma_lr=-1"),
                          ({"gmm_components": 0}, "gmm_components=0")):
        with pytest.raises(ConfigError) as caught:
            rl.BalancedMSELoss(**kwargs)
        assert str(caught.value).startswith(named), kwargs


def _prior() -> rl.LabelPrior:
    # labels 0, 0, 2, 2, 2, 2 over bins centred at 0 and 2 (counts 2 and 4)
    labels = torch.tensor([0.0, 0.0, 2.0, 2.0, 2.0, 2.0])
    return rl.LabelPrior(labels, torch.tensor([0.0, 2.0]), torch.tensor([2.0, 4.0]))


def test_balanced_mse_builds_its_prior_terms_only_when_given_a_prior():
    assert rl.BalancedMSELoss(variant="gai").variant == "gai"  # no prior yet: nothing fitted
    assert rl.BalancedMSELoss(variant="bni").variant == "bni"
    assert rl.BalancedMSELoss(gmm_components=1).variant == "bmc"  # one component: allowed
    assert rl.BalancedMSELoss(learn_sigma=False).noise_sigma.requires_grad is False
    gai = rl.BalancedMSELoss(_prior(), variant="gai", gmm_components=2)
    assert len(gai.gmm_means) == 2
    # BNI: the histogram 2/6, 4/6 of the prior's bins
    bni = rl.BalancedMSELoss(_prior(), variant="bni")
    assert bni.bin_weights.tolist() == pytest.approx([1 / 3, 2 / 3])


def test_functional_balanced_mse_uses_the_prior_and_a_fixed_sigma():
    # BNI with σ² = 2 at ŷ = 1, y = 0.5 over bins 0 and 2 weighted ⅓, ⅔: the two bins are
    # both 1 away, so the logsumexp is ln(⅓ e^(-¼) + ⅔ e^(-¼)) = -¼ and the loss
    # (0.0625 - 0.25) · 4 = -0.75, as in test_bni_loss_by_hand
    pred, target = torch.tensor([1.0]), torch.tensor([0.5])
    value = rl.balanced_mse(pred, target, 2.0, "bni", _prior())
    assert value.item() == pytest.approx(-0.75, abs=1e-6)
    assert not value.requires_grad  # σ is fixed


def test_bin_classification_puts_a_label_on_an_edge_in_the_upper_bin():
    # inner edge 1.0, label 1.0: class 1 (right=True). Logits [0, ln 3]: CE of class 1 is
    # -ln(3/4) = 0.2876820724517809 (class 0 would give ln 4 = 1.386)
    value = rl.bin_classification_loss(torch.tensor([[0.0, math.log(3.0)]]),
                                       torch.tensor([1.0]), torch.tensor([1.0]))
    assert value.item() == pytest.approx(0.2876820724517809, abs=1e-6)


def test_bin_classification_needs_two_classes():
    assert rl.BinClassificationLoss(torch.arange(10.0), 2).inner_edges.numel() == 1
    with pytest.raises(ConfigError) as caught:
        rl.BinClassificationLoss(torch.arange(10.0), 1)
    assert str(caught.value).startswith("num_classes=1")


def test_rank_normalised_by_hand():
    # per row, largest first, ties in order of position: (rank + 1) / 3
    #   [3, 1, 2] -> ranks [0, 2, 1] -> [1/3, 1, 2/3];  [1, 1, 0] -> [0, 1, 2] -> [1/3, 2/3, 1]
    out = rl.rank_normalised(torch.tensor([[3.0, 1.0, 2.0], [1.0, 1.0, 0.0]]))
    assert out.flatten().tolist() == pytest.approx([1 / 3, 1.0, 2 / 3, 1 / 3, 2 / 3, 1.0])


def test_check_finite_bounds_and_what_it_says():
    check = margins_losses._check_finite
    assert check("x", 0) == 0.0  # inclusive by default: 0 >= 0
    for value, kwargs, message in ((0, {"inclusive": False}, "x=0 must be a finite number > 0"),
                                   (-1, {}, "x=-1 must be a finite number >= 0"),
                                   (math.inf, {}, "x=inf must be a finite number >= 0")):
        with pytest.raises(ConfigError) as caught:
            check("x", value, **kwargs)
        assert str(caught.value) == message


def test_margin_counts_shape():
    assert margins_losses._counts([5]).tolist() == [5.0]
    with pytest.raises(ConfigError, match="non-empty list"):
        margins_losses._counts([[1, 2], [3, 4]])


def test_ldam_margins_rescaled_to_the_maximum_by_hand():
    # counts [16, 81]: n^(-1/4) = [1/2, 1/3], max 1/2; max_margin 0.5: × 0.5/0.5 = [0.5, 1/3]
    assert ldam_margins([16, 81], 0.5).tolist() == pytest.approx([0.5, 1 / 3])


@pytest.mark.parametrize("make, named", [
    (lambda: ldam_margins([4, 1], max_margin=math.nan), "max_margin=nan"),
    (lambda: margins_losses.LDAMLoss([4, 1], max_margin=math.nan), "max_margin=nan"),
    (lambda: margins_losses.LDAMLoss([4, 1], scale=0.0), "scale=0.0 must be a finite number > 0"),
    (lambda: margins_losses.LDAMLoss([4, 1], beta=math.nan), "beta=nan"),
    (lambda: margins_losses.LDAMLoss([4, 1], beta=1.0), "beta=1.0 must be in [0, 1)"),
    (lambda: margins_losses.LogitAdjustedLoss([4, 1], tau=math.nan), "tau=nan"),
    (lambda: margins_losses.VSLoss([4, 1], gamma=math.nan), "gamma=nan"),
    (lambda: margins_losses.VSLoss([4, 1], tau=math.nan), "tau=nan"),
])
def test_margin_loss_modules_built_directly_name_a_bad_parameter(make, named):
    with pytest.raises(ConfigError) as caught:
        make()
    assert str(caught.value).startswith(named)


def test_margin_loss_modules_defaults():
    assert margins_losses.LDAMLoss([4, 1], beta=0.9).beta == 0.9
    assert margins_losses.LogitAdjustedLoss([4, 1]).tau == 1.0
    vs = margins_losses.VSLoss([4, 1])
    assert (vs.gamma, vs.tau) == (0.3, 1.0)


def test_fit_gmm_initial_variances_and_weights_in_float64():
    # labels 1 and 7, K = 2: span 6, variances (6/2)² = 9 (not 6/2 · 2 = 6), weights ½
    _, variances, weights = rl.fit_gmm(torch.tensor([1.0, 7.0]), 2, 0)
    assert variances.dtype == weights.dtype == torch.float64
    assert (variances.tolist(), weights.tolist()) == ([9.0, 9.0], [0.5, 0.5])


def test_fit_gmm_one_em_step_by_hand():
    # labels 0 and 2, K = 2: start means 0.5 and 1.5, variances 1, weights ½. For y = 0 the
    # log densities differ by (1.5² - 0.5²)/2 = 1: responsibilities σ(1) = e/(1 + e) =
    # 0.7310585786300049 and 1 - σ(1); y = 2 mirrors it. Masses 1 and 1, weights ½;
    #   mean 0 = 2 (1 - σ(1)) = 0.5378828427399902, mean 1 = 2 σ(1) = 1.4621171572600098;
    #   variance 0 = σ(1) · 0.53788² + (1 - σ(1)) · (2 - 0.53788)² = 0.7864477329659274
    means, variances, weights = rl.fit_gmm(torch.tensor([0.0, 2.0]), 2, 1)
    assert means.tolist() == pytest.approx([0.5378828427399902, 1.4621171572600098], abs=1e-12)
    assert variances.tolist() == pytest.approx([0.7864477329659274] * 2, abs=1e-12)
    assert weights.tolist() == pytest.approx([0.5, 0.5], abs=1e-12)


def test_fit_gmm_floors_the_variance_of_a_collapsed_component():
    # two clusters of four at 0 and 10: EM collapses each component onto one value, whose
    # variance is floored at 1e-6 · var(y) + 1e-12; var(y) = 8 · 25 / 7 = 200/7
    y = torch.tensor([0.0] * 4 + [10.0] * 4)
    _, variances, _ = rl.fit_gmm(y, 2)
    floor = 1e-6 * 200 / 7 + 1e-12
    assert variances.tolist() == pytest.approx([floor, floor], rel=1e-9)


def test_mse_module_passes_its_weights_on():
    # (ŷ - y)² = [1, 9] weighted [2, 0]: (2 + 0) / 2 = 1
    pred, target, weights = torch.tensor([1.0, 3.0]), torch.zeros(2), torch.tensor([2.0, 0.0])
    assert rl.build("mse")(pred, target, weights).item() == pytest.approx(1.0)


def test_balanced_mse_gai_fits_eight_components_by_default():
    assert len(rl.BalancedMSELoss(_prior(), variant="gai").gmm_means) == 8


def test_true_ranker_gradient_by_hand():
    # sequence [1, 2]: ranks largest first [1, 0] -> (rank + 1)/2 = [1, 0.5]. Upstream
    # gradient g = [4, 0.5], λ = 2: perturbed sequence [1 + 8, 2 + 1] = [9, 3] ranks
    # [0.5, 1]; gradient -(rank - perturbed)/(λ + 1e-8) = -[0.5, -0.5]/(2 + 1e-8)
    #   = [-0.25, 0.25] (the ranks are float32, where 2 + 1e-8 is 2)
    sequence = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    rl.TrueRanker.apply(sequence, 2.0).backward(torch.tensor([[4.0, 0.5]], dtype=torch.float64))
    assert sequence.grad.flatten().tolist() == pytest.approx([-0.25, 0.25], abs=1e-7)


def test_ranksim_module_default_and_what_it_names():
    assert rl.RankSimLoss().interpolation_lambda == 2.0
    assert rl.RankSimLoss(0.5).interpolation_lambda == 0.5
    with pytest.raises(ConfigError) as caught:
        rl.RankSimLoss(0.0)
    assert str(caught.value).startswith("interpolation_lambda=0")
    features, target = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), \
        torch.tensor([0.0, 1.0, 2.0, 0.0, 5.0, 3.0])
    assert rl.RankSimLoss()(features, target).item() == \
        rl.ranksim_loss(features, target, 2.0).item()


def test_ranksim_loss_by_hand():
    # labels 0, 1, 2; features [1, 0], [0, 1], [1, 0.1] (the third close to the first).
    # Ranks, largest first, (rank + 1)/3; ties in order of position:
    #   labels  -|y_i - y_j|: row 0 [1/3, 2/3, 1], row 1 [2/3, 1/3, 1], row 2 [1, 2/3, 1/3]
    #   cosines:              row 0 [1/3, 1, 2/3], row 1 [1, 1/3, 2/3], row 2 [2/3, 1, 1/3]
    # each row differs by 1/3 in two places: mean (2/9)/3 = 2/27 a row, summed over 3 rows:
    #   2/9 = 0.2222...
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    value = rl.ranksim_loss(features, torch.tensor([0.0, 1.0, 2.0]))
    assert value.item() == pytest.approx(2 / 9, abs=1e-6)
