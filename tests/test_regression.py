"""Tests for lt_lab.regression: LDS, FDS, losses, metrics; expected values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lt_lab.errors import ConfigError
from lt_lab.regression import losses as rl
from lt_lab.regression.bins import LabelBins, shot_regions
from lt_lab.regression.fds import FDS, bin_statistics, calibrate
from lt_lab.regression.lds import kernel_window, lds_weights, smooth_density
from lt_lab.regression.metrics import (
    geometric_mean_error,
    mae,
    mse,
    pearson,
    regression_report,
)

# --- bins -------------------------------------------------------------------------------


def test_bins_index_and_counts():
    bins = LabelBins(0.0, 90.0, 45)  # 2° bins
    labels = torch.tensor([0.0, 1.99, 2.0, 89.9, 95.0, -3.0])
    assert bins.index(labels).tolist() == [0, 0, 1, 44, 44, 0]
    assert bins.counts(labels)[:2].tolist() == [3, 1]
    assert bins.centres[:2].tolist() == [1.0, 3.0]


def test_shot_regions_use_dir_thresholds():
    assert shot_regions([101, 100, 20, 19, 0]) == ["many", "medium", "medium", "few", "few"]


# --- LDS --------------------------------------------------------------------------------


def test_kernel_windows_by_hand():
    # triangular ks=5: scipy triang(5) = [1/3, 2/3, 1, 2/3, 1/3] -> / 3 = [1, 2, 3, 2, 1] / 9
    assert kernel_window("triangular", 5).tolist() == pytest.approx(
        [1 / 9, 2 / 9, 3 / 9, 2 / 9, 1 / 9])
    # laplace ks=3, sigma=1: [e^-1, 1, e^-1] / (1 + 2/e)
    e = math.exp(-1)
    assert kernel_window("laplace", 3, 1.0).tolist() == pytest.approx(
        [e / (1 + 2 * e), 1 / (1 + 2 * e), e / (1 + 2 * e)])
    assert kernel_window("gaussian", 1, 2.0).tolist() == [1.0]


def test_gaussian_window_matches_scipy_as_dir_builds_it():
    ndimage = pytest.importorskip("scipy.ndimage")
    for ks, sigma in ((5, 2.0), (9, 1.0), (3, 0.5)):
        delta = np.zeros(ks)
        delta[(ks - 1) // 2] = 1
        reference = ndimage.gaussian_filter1d(delta, sigma=sigma)
        assert kernel_window("gaussian", ks, sigma) == pytest.approx(reference / reference.sum())


def test_kernel_window_rejects_even_length():
    with pytest.raises(ConfigError, match="ks=4"):
        kernel_window("gaussian", 4, 1.0)
    with pytest.raises(ConfigError, match="kernel='box'"):
        kernel_window("box", 5, 1.0)


def test_smoothed_density_integrates_to_the_original_count():
    counts = np.array([0, 0, 0, 7, 1, 30, 2, 0, 0, 0], dtype=float)  # kernel stays inside
    for kernel in ("gaussian", "triangular", "laplace"):
        smoothed = smooth_density(counts, kernel, 5, 2.0)
        assert smoothed.sum() == pytest.approx(counts.sum())
        assert (smoothed > 0).sum() > (counts > 0).sum()  # mass spread to neighbours


def test_smoothed_density_by_hand():
    # triangular ks=3 = [1, 2, 1] / 4 on [0, 4, 0] -> [1, 2, 1]
    assert smooth_density([0, 4, 0], "triangular", 3).tolist() == pytest.approx([1, 2, 1])


def test_lds_with_a_delta_kernel_equals_plain_inverse_weighting():
    bins = LabelBins(0.0, 10.0, 10)
    generator = torch.Generator().manual_seed(0)
    labels = 10 * torch.rand(200, generator=generator) ** 2  # skewed towards 0
    for reweight in ("inverse", "sqrt_inv"):
        delta = lds_weights(labels, bins, kernel="gaussian", ks=1, reweight=reweight, lds=True)
        plain = lds_weights(labels, bins, reweight=reweight, lds=False)
        assert torch.allclose(delta, plain)


def test_inverse_weights_by_hand():
    # bins of width 1; counts [8, 2] -> clipped to [8, 5]; weights 1/8, 1/5 per sample,
    # sum = 8/8 + 2/5 = 1.4 over 10 samples -> scale 10/1.4
    labels = torch.tensor([0.5] * 8 + [1.5] * 2)
    weights = lds_weights(labels, LabelBins(0, 2, 2), reweight="inverse", lds=False)
    scale = 10 / 1.4
    assert weights[0].item() == pytest.approx(scale / 8)
    assert weights[-1].item() == pytest.approx(scale / 5)
    assert weights.mean().item() == pytest.approx(1.0)
    # sqrt_inv: counts [8, 2] -> sqrt, no clipping; weights ∝ 1/√8, 1/√2
    root = lds_weights(labels, LabelBins(0, 2, 2), reweight="sqrt_inv", lds=False)
    assert (root[-1] / root[0]).item() == pytest.approx(2.0)
    assert root.mean().item() == pytest.approx(1.0)


def test_lds_smoothing_lifts_a_dip():
    # a dip between two full bins: smoothing raises its density, so lowers its weight
    labels = torch.tensor([0.5] * 50 + [1.5] * 5 + [2.5] * 50)
    bins = LabelBins(0, 3, 3)
    plain = lds_weights(labels, bins, reweight="inverse", lds=False)
    smoothed = lds_weights(labels, bins, kernel="triangular", ks=3, reweight="inverse")
    assert smoothed[50] / smoothed[0] < plain[50] / plain[0]


def test_sqrt_inv_lds_smooths_the_roots_as_dir_does_not_the_counts():
    # counts [100, 4, 100], triangular window [1, 2, 1] / 4, zeros beyond the ends.
    # DIR's prepare_weights: k * sqrt(n) = [(0 + 20 + 2) / 4, (10 + 4 + 10) / 4, ...]
    # = [5.5, 6, 5.5]; weights 1 / that, so the dip weighs 5.5 / 6 of an end bin.
    # The paper's 1 / sqrt(k * n) would give sqrt(51 / 52) = 0.990 instead.
    labels = torch.tensor([0.5] * 100 + [1.5] * 4 + [2.5] * 100)
    weights = lds_weights(labels, LabelBins(0, 3, 3), kernel="triangular", ks=3,
                          reweight="sqrt_inv")
    assert (weights[100] / weights[0]).item() == pytest.approx(5.5 / 6)
    assert (weights[100] / weights[0]).item() != pytest.approx((51 / 52) ** 0.5, abs=1e-3)


def test_no_reweighting_gives_ones():
    assert lds_weights(torch.rand(5), LabelBins(0, 1, 2), reweight="none").tolist() == [1.0] * 5


# --- FDS --------------------------------------------------------------------------------


def test_bin_statistics_by_hand():
    features = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    counts, mean, var = bin_statistics(features, torch.tensor([0, 0, 2]), 3)
    assert counts.tolist() == [2, 0, 1]
    assert mean[0].tolist() == [2.0, 1.0]
    assert var[0].tolist() == [2.0, 2.0]  # unbiased: ((1-2)^2 + (3-2)^2) / 1
    assert var[2].tolist() == [0.0, 0.0]  # one sample: 0 (DIR)


def test_calibrate_by_hand():
    # (z - mu) * sqrt(clip(v~/v, .1, 10)) + mu~: (3 - 1) * sqrt(4/1) + 10 = 14
    out = calibrate(torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([[1.0]]),
                    torch.tensor([[10.0]]), torch.tensor([[4.0]]))
    assert out.item() == pytest.approx(14.0)
    # ratio clipped at 10: (3 - 1) * sqrt(10) + 0
    clipped = calibrate(torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([[1.0]]),
                        torch.tensor([[0.0]]), torch.tensor([[100.0]]))
    assert clipped.item() == pytest.approx(2 * math.sqrt(10))
    # zero variance: the feature passes unchanged
    same = calibrate(torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([[0.0]]),
                     torch.tensor([[10.0]]), torch.tensor([[4.0]]))
    assert same.item() == 3.0


def test_fds_follows_dirs_update_order():
    fds = FDS(1, 3, kernel="triangular", ks=3, momentum=0.9)
    bins = torch.tensor([0, 1, 2])
    fds.end_epoch(torch.tensor([[0.0], [3.0], [6.0]]), bins, epoch=0)
    assert fds.running_mean[:, 0].tolist() == [0.0, 3.0, 6.0]  # first update: copied
    assert fds.smoothed_mean_last_epoch.abs().sum() == 0  # nothing smoothed yet
    fds.end_epoch(torch.tensor([[10.0], [3.0], [6.0]]), bins, epoch=1)
    # last-epoch stats = epoch 0's; smoothed with [1,2,1]/4 and reflect padding:
    # bin 0: (3 + 2·0 + 3)/4 = 1.5; bin 1: (0 + 6 + 6)/4 = 3; bin 2: (3 + 12 + 3)/4 = 4.5
    assert fds.smoothed_mean_last_epoch[:, 0].tolist() == pytest.approx([1.5, 3.0, 4.5])
    # running mean with momentum 0.9: 0.1·10 + 0.9·0 = 1
    assert fds.running_mean[0, 0].item() == pytest.approx(1.0)


def test_fds_is_identity_in_eval_mode_and_before_start_smooth():
    fds = FDS(2, 4)
    z = torch.randn(5, 2)
    index = torch.tensor([0, 1, 2, 3, 0])
    assert torch.equal(fds(z, index, epoch=0), z)
    fds.eval()
    assert torch.equal(fds(z, index, epoch=5), z)


# --- losses -----------------------------------------------------------------------------


def test_weighted_mse_and_l1_by_hand():
    pred, target = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])
    assert rl.weighted_mse(pred, target).item() == pytest.approx(5.0)  # (1 + 9) / 2
    assert rl.weighted_mse(pred, target, torch.tensor([2.0, 0.0])).item() == pytest.approx(1.0)
    assert rl.weighted_l1(pred, target, torch.tensor([0.5, 1.5])).item() == pytest.approx(2.5)


def test_bmc_with_a_uniform_prior_equals_mse_up_to_a_constant():
    # The batch labels are the prior's samples: a dense uniform grid far wider than the
    # predictions makes log Σ_j exp(-(ŷ_i - y_j)² / 2σ²) the same for every i, so
    # BMC_i / (2σ²) = (ŷ_i - y_i)² / (2σ²) + const, i.e. BMC_i = (ŷ_i - y_i)² + C.
    target = torch.arange(-500, 501, dtype=torch.float64) * 0.1  # -50 … 50
    generator = torch.Generator().manual_seed(0)
    pred = target + torch.randn(len(target), generator=generator, dtype=torch.float64)
    per_sample = rl.bmc_loss(pred, target, torch.tensor(1.0, dtype=torch.float64),
                             reduction="none")
    inside = target.abs() < 30
    offset = per_sample[inside] - (pred - target)[inside] ** 2
    assert offset.std().item() < 1e-6
    # the constant: 2σ² log(Σ_j exp(...)) = 2 log(√(2π) / 0.1) for σ = 1, grid step 0.1
    assert offset.mean().item() == pytest.approx(2 * math.log(math.sqrt(2 * math.pi) / 0.1),
                                                 abs=1e-6)


def test_bni_with_a_uniform_histogram_equals_mse_up_to_a_constant():
    centres = torch.arange(-500, 501, dtype=torch.float64) * 0.1
    weights = torch.full_like(centres, 1 / len(centres))
    pred = torch.tensor([-3.0, 0.5, 7.0], dtype=torch.float64)
    target = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    per_sample = [rl.bni_loss(pred[i : i + 1], target[i : i + 1], torch.tensor(1.0),
                              centres, weights).item() for i in range(3)]
    offsets = [p - (a - b).item() ** 2 for p, a, b in zip(per_sample, pred, target, strict=True)]
    assert max(offsets) - min(offsets) < 1e-6


def test_bmc_by_hand_two_samples():
    # σ² = 1/2: logits_ij = -(ŷ_i - y_j)²; ŷ = [0, 1], y = [0, 1]
    # row 0: [0, -1] -> CE = log(1 + e^-1); row 1: [-1, 0] -> the same. Times 2σ² = 1.
    loss = rl.bmc_loss(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0]), torch.tensor(0.5))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_gai_with_one_wide_component_by_hand():
    # one component N(0, v): balancing = -½ log(v + σ²) - ŷ²/(2(v + σ²)) (log π = 0)
    pred, target = torch.tensor([1.0]), torch.tensor([0.0])
    noise_var, v = torch.tensor(1.0), 3.0
    expected = (0.5 + 0.5 * math.log(1.0) - 0.5 * math.log(4.0) - 1 / 8) * 2
    loss = rl.gai_loss(pred, target, noise_var, torch.tensor([0.0]), torch.tensor([v]),
                       torch.tensor([1.0]))
    assert loss.item() == pytest.approx(expected)


def test_fit_gmm_finds_two_clusters():
    generator = torch.Generator().manual_seed(0)
    first = torch.randn(300, generator=generator) + 10
    second = torch.randn(100, generator=generator) * 2 + 50
    means, variances, weights = rl.fit_gmm(torch.cat([first, second]), components=2)
    order = torch.argsort(means)
    # well-separated clusters: EM lands on each cluster's own (biased) sample statistics
    assert means[order].tolist() == pytest.approx([first.mean().item(),
                                                   second.mean().item()], abs=1e-3)
    assert weights[order].tolist() == pytest.approx([0.75, 0.25], abs=1e-3)
    assert variances[order].tolist() == pytest.approx(
        [first.var(unbiased=False).item(), second.var(unbiased=False).item()], rel=1e-3)


def test_balanced_mse_registry_and_learnable_sigma():
    prior = rl.LabelPrior(torch.rand(50) * 10, torch.arange(10) + 0.5,
                          torch.full((10,), 5.0))
    for variant in ("bmc", "gai", "bni"):
        loss_fn = rl.build("balanced_mse", prior, variant=variant, init_noise_sigma=2.0)
        pred = torch.rand(8, requires_grad=True)
        loss = loss_fn(pred, torch.rand(8) * 10)
        loss.backward()
        assert loss_fn.noise_sigma.grad is not None and math.isfinite(loss.item())
    with pytest.raises(ConfigError, match="variant='xyz'"):
        rl.build("balanced_mse", prior, variant="xyz")
    with pytest.raises(ConfigError, match="no parameter"):
        rl.build("mse", prior, sigma=1.0)
    assert {"balanced_mse", "l1", "mse"} <= set(rl.available())


def test_functional_balanced_mse_matches_bmc():
    pred, target = torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0])
    assert rl.balanced_mse(pred, target, 0.5).item() == pytest.approx(
        math.log(1 + math.exp(-1)), rel=1e-6)


def test_equalised_bins_hold_equal_counts():
    labels = torch.cat([torch.zeros(60), torch.linspace(1, 100, 40)])  # skewed
    edges = rl.equalised_bin_edges(torch.arange(100.0), 4)
    assert edges.tolist() == pytest.approx([24.75, 49.5, 74.25])
    classes = torch.bucketize(torch.arange(100.0).double(), edges, right=True)
    assert torch.bincount(classes).tolist() == [25, 25, 25, 25]
    loss = rl.BinClassificationLoss(labels, 5)
    logits = torch.zeros(3, 5)
    assert loss(logits, torch.tensor([0.0, 50.0, 99.0])).item() == pytest.approx(math.log(5))


def test_rank_normalised_by_hand():
    # largest first: [0.1, 0.9, 0.5] -> ranks [2, 0, 1] -> (rank + 1) / 3
    ranks = rl.rank_normalised(torch.tensor([[0.1, 0.9, 0.5]]))
    assert ranks[0].tolist() == pytest.approx([1.0, 1 / 3, 2 / 3])


def test_ranksim_is_zero_when_feature_and_label_rankings_agree():
    # features on a line with labels: cosine similarity ranks match |Δy| ranks? Use 2-D
    # unit vectors at angles proportional to the label: cos falls monotonically with |Δy|.
    y = torch.tensor([0.0, 1.0, 2.0, 3.0])
    angles = y * 0.3
    features = torch.stack([torch.cos(angles), torch.sin(angles)], 1).requires_grad_()
    assert rl.ranksim_loss(features, y).item() == pytest.approx(0.0)
    shuffled = features.detach()[[2, 0, 3, 1]].requires_grad_()
    loss = rl.ranksim_loss(shuffled, y)
    loss.backward()
    assert loss.item() > 0 and shuffled.grad is not None and shuffled.grad.abs().sum() > 0


def test_ranksim_keeps_one_sample_per_label():
    y = torch.tensor([1.0, 1.0, 2.0])
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    # first of the tied pair is kept: features 0 and 2 are close, ranks agree -> 0
    assert rl.ranksim_loss(features, y).item() == pytest.approx(0.0)


# --- metrics ----------------------------------------------------------------------------


def test_metrics_by_hand():
    pred, target = torch.tensor([1.0, 2.0, 7.0]), torch.tensor([2.0, 4.0, 3.0])
    # errors 1, 2, 4: MAE 7/3, MSE 21/3 = 7, GM (1·2·4)^(1/3) = 2
    assert mae(pred, target) == pytest.approx(7 / 3)
    assert mse(pred, target) == pytest.approx(7.0)
    assert geometric_mean_error(pred, target) == pytest.approx(2.0)
    assert pearson(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])) == \
        pytest.approx(1.0)
    assert pearson(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, 1.0])) == \
        pytest.approx(-1.0)
    assert math.isnan(mae(torch.tensor([]), torch.tensor([])))


def test_regression_report_per_region_and_bin():
    bins = LabelBins(0, 3, 3)
    train_counts = [150, 50, 5]  # many, medium, few
    target = torch.tensor([0.5, 0.5, 1.5, 2.5])
    pred = torch.tensor([0.5, 1.5, 3.5, 1.5])
    report = regression_report(pred, target, bins, train_counts)
    assert report["mae"] == pytest.approx((0 + 1 + 2 + 1) / 4)
    assert report["many_shot_mae"] == pytest.approx(0.5)
    assert report["medium_shot_mae"] == pytest.approx(2.0)
    assert report["few_shot_mse"] == pytest.approx(1.0)
    assert report["per_bin_mae"] == pytest.approx([0.5, 2.0, 1.0])
    assert report["regions"] == ["many", "medium", "few"]
    assert math.isnan(report["few_shot_pearson"])  # one sample: no correlation


def test_l1_loss_module_matches_function():
    pred, target = torch.randn(6), torch.randn(6)
    assert rl.build("l1")(pred, target).item() == pytest.approx(F.l1_loss(pred, target).item())
