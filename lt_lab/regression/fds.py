"""Feature distribution smoothing (FDS; Yang et al., ICML 2021, §3.2).

FDS keeps, for every label bin b, a running mean μ_b and a diagonal variance σ²_b of the
penultimate features, smooths both across bins with the LDS kernel,

    μ̃_b = Σ_b' k(b, b') μ_b',      σ̃²_b = Σ_b' k(b, b') σ²_b',

and during training *calibrates* each feature z of a sample in bin b before the regressor:

    z̃ = (z − μ_b) · √clip(σ̃²_b / σ²_b, 0.1, 10) + μ̃_b .

At test time the features pass unchanged. As in the DIR code (``fds.py``, ``train.py``):

* statistics are updated at the end of every epoch from ``start_update`` on, with momentum
  0.9 (the first update copies the epoch's statistics); a bin's variance is the unbiased one
  (0 for a single sample); bins without samples in an epoch keep their statistics;
* the smoothed statistics are those of the *previous* update: calibration during epoch e uses
  what was gathered up to epoch e−2, and starts at ``start_smooth`` (DIR: update from epoch 0,
  smooth from epoch 1);
* the smoothing pads the bin axis by reflection (``F.pad(..., mode='reflect')``).

One difference: DIR re-extracts the features of the whole training set in an extra pass at
each epoch's end; we reuse the features of the training pass itself (no extra cost).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.regression.lds import kernel_window

CALIBRATION_CLIP = (0.1, 10.0)


def calibrate(features, mean, var, smoothed_mean, smoothed_var, clip=CALIBRATION_CLIP):
    """``(z − μ) · √clip(σ̃² / σ², lo, hi) + μ̃`` per feature; features with σ² = 0 pass.

    ``mean``, ``var``, ... are per-sample rows (the statistics of each sample's bin).
    """
    valid = var > 0
    ratio = torch.where(valid, smoothed_var / torch.where(valid, var, torch.ones_like(var)),
                        torch.ones_like(var))
    scale = ratio.clamp(*clip).sqrt()
    calibrated = (features - mean) * scale + smoothed_mean
    return torch.where(valid, calibrated, features)


def bin_statistics(features: torch.Tensor, bin_index: torch.Tensor, num_bins: int):
    """Per-bin count, mean and unbiased variance (0 for one sample) of ``features``."""
    dim = features.shape[1]
    counts = torch.zeros(num_bins, device=features.device, dtype=features.dtype)
    counts.index_add_(0, bin_index, torch.ones_like(bin_index, dtype=features.dtype))
    sums = torch.zeros(num_bins, dim, device=features.device, dtype=features.dtype)
    sums.index_add_(0, bin_index, features)
    mean = sums / counts.clamp_min(1)[:, None]
    squares = torch.zeros_like(sums).index_add_(0, bin_index, (features - mean[bin_index]) ** 2)
    var = squares / (counts - 1).clamp_min(1)[:, None]
    return counts, mean, var


class FDS(nn.Module):
    """Running per-bin feature statistics and their kernel-smoothed calibration."""

    def __init__(self, feature_dim: int, num_bins: int, *, kernel: str = "gaussian",
                 ks: int = 5, sigma: float = 2.0, momentum: float = 0.9,
                 start_update: int = 0, start_smooth: int = 1):
        super().__init__()
        self.num_bins, self.momentum = num_bins, momentum
        self.start_update, self.start_smooth = start_update, start_smooth
        window = torch.tensor(kernel_window(kernel, ks, sigma), dtype=torch.float32)
        self.register_buffer("window", window.view(1, 1, -1))
        for name, fill in (("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((num_bins, feature_dim), fill))
            self.register_buffer(f"{name}_last_epoch", torch.full((num_bins, feature_dim), fill))
        self.register_buffer("smoothed_mean_last_epoch", torch.zeros(num_bins, feature_dim))
        self.register_buffer("smoothed_var_last_epoch", torch.ones(num_bins, feature_dim))
        self.updates = 0

    def get_extra_state(self) -> dict:
        """In ``state_dict`` with the buffers: a checkpointed run resumes its statistics."""
        return {"updates": self.updates}

    def set_extra_state(self, state: dict) -> None:
        self.updates = int(state["updates"])

    def smooth_over_bins(self, stats: torch.Tensor) -> torch.Tensor:
        """Convolve each feature's per-bin statistic with the kernel along the bin axis."""
        half = self.window.shape[-1] // 2
        columns = stats.T.unsqueeze(1)  # (features, 1, bins)
        if half:
            mode = "reflect" if half < stats.shape[0] else "replicate"
            columns = F.pad(columns, (half, half), mode=mode)
        return F.conv1d(columns, self.window).squeeze(1).T

    @torch.no_grad()
    def end_epoch(self, features: torch.Tensor, bin_index: torch.Tensor, epoch: int) -> None:
        """After epoch ``epoch``: smooth the statistics so far, then add this epoch's."""
        if epoch < self.start_update:
            return
        if self.updates:  # DIR's update_last_epoch_stats, then update_running_stats
            self.running_mean_last_epoch.copy_(self.running_mean)
            self.running_var_last_epoch.copy_(self.running_var)
            self.smoothed_mean_last_epoch.copy_(self.smooth_over_bins(self.running_mean))
            self.smoothed_var_last_epoch.copy_(self.smooth_over_bins(self.running_var))
        counts, mean, var = bin_statistics(features.float(), bin_index, self.num_bins)
        factor = self.momentum if self.updates else 0.0
        seen = (counts > 0)[:, None]
        self.running_mean.copy_(torch.where(seen, (1 - factor) * mean + factor
                                            * self.running_mean, self.running_mean))
        self.running_var.copy_(torch.where(seen, (1 - factor) * var + factor
                                           * self.running_var, self.running_var))
        self.updates += 1

    def forward(self, features: torch.Tensor, bin_index: torch.Tensor, epoch: int):
        """Calibrated features in training from ``start_smooth`` on; else unchanged."""
        if not self.training or epoch < self.start_smooth:
            return features
        return calibrate(features, self.running_mean_last_epoch[bin_index],
                         self.running_var_last_epoch[bin_index],
                         self.smoothed_mean_last_epoch[bin_index],
                         self.smoothed_var_last_epoch[bin_index])
