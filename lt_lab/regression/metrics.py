"""Regression metrics of DIR (Yang et al. 2021), overall and per shot region.

* MAE ``mean |ŷ − y|`` and MSE ``mean (ŷ − y)²``;
* GM, the geometric mean of the absolute errors ``exp(mean log |ŷ − y|)`` — DIR's measure of
  how *fair* the errors are (one huge error moves it less than the mean, many small ones
  more); an error of exactly 0 is counted as 1e-12;
* Pearson's r between predictions and labels.

On a *balanced* test set (equally many samples per bin) the overall MAE/MSE are the
balanced metrics of Balanced MSE (Ren et al. 2022). Regions: a test sample is many-, medium-
or few-shot by the training count of its label's bin (DIR: > 100, 20–100, < 20).
"""

from __future__ import annotations

import math

import torch

from lt_lab.regression.bins import SHOT_REGIONS, LabelBins, shot_regions

GM_FLOOR = 1e-12
METRICS = ("mae", "mse", "gm", "pearson")


def mae(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float((pred.double() - target.double()).abs().mean()) if len(pred) else math.nan


def mse(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(((pred.double() - target.double()) ** 2).mean()) if len(pred) else math.nan


def geometric_mean_error(pred: torch.Tensor, target: torch.Tensor) -> float:
    """``exp(mean log |ŷ − y|)``, errors floored at 1e-12."""
    if not len(pred):
        return math.nan
    errors = (pred.double() - target.double()).abs().clamp_min(GM_FLOOR)
    return float(torch.exp(torch.log(errors).mean()))


def pearson(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Pearson's correlation coefficient; NaN with fewer than 2 samples or no spread."""
    if len(pred) < 2:
        return math.nan
    p, t = pred.double() - pred.double().mean(), target.double() - target.double().mean()
    denominator = float(p.norm() * t.norm())
    return float((p * t).sum()) / denominator if denominator > 0 else math.nan


_FUNCTIONS = {"mae": mae, "mse": mse, "gm": geometric_mean_error, "pearson": pearson}


def regression_report(pred, target, bins: LabelBins, train_bin_counts, *,
                      many_threshold: int = 100, few_threshold: int = 20) -> dict:
    """Every metric overall (``mae``, ...) and per region (``few_shot_mae``, ...), plus the
    per-bin test MAE and MSE (``per_bin_mae``; NaN for a bin without test samples)."""
    pred, target = pred.detach().double().cpu(), target.detach().double().cpu()
    report = {name: function(pred, target) for name, function in _FUNCTIONS.items()}
    regions = shot_regions(train_bin_counts, many_threshold, few_threshold)
    test_bin = bins.index(target)
    region_code = torch.tensor([SHOT_REGIONS.index(r) for r in regions])[test_bin]
    for code, region in enumerate(SHOT_REGIONS):
        chosen = region_code == code
        for name, function in _FUNCTIONS.items():
            report[f"{region}_shot_{name}"] = function(pred[chosen], target[chosen])
    errors = (pred - target).abs()
    counts = torch.bincount(test_bin, minlength=bins.num_bins).double()
    sums = torch.zeros(bins.num_bins, dtype=torch.float64).index_add_(0, test_bin, errors)
    squares = torch.zeros(bins.num_bins, dtype=torch.float64).index_add_(0, test_bin, errors**2)
    empty = counts == 0
    report["per_bin_mae"] = torch.where(empty, math.nan, sums / counts.clamp_min(1)).tolist()
    report["per_bin_mse"] = torch.where(empty, math.nan, squares / counts.clamp_min(1)).tolist()
    report["regions"] = regions
    return report


METRIC_NAMES = METRICS + tuple(f"{region}_shot_{name}" for region in SHOT_REGIONS
                               for name in METRICS)
