"""A regression network: an ``lt_lab.models`` backbone, optional FDS, a linear regressor.

    z = backbone(x)                      penultimate features (``feature_dim`` wide)
    z̃ = FDS(z, bin(y), epoch)            training only, when FDS is on
    ŷ = μ + s · regressor(z̃)             one number, in label units
    class logits = classifier(z)         Pintea et al.'s auxiliary head, when it is on

μ and s (fixed buffers: the mean and standard deviation of the training labels) only
reparameterise the last layer, so that it starts at the mean label and works in standard
units. Without them Adam at lr 1e-3 needs thousands of steps just to move the output from 0
to the labels' scale (DIR gets there in its 90 epochs; our quick runs have 10).
"""

from __future__ import annotations

import torch
from torch import nn

from lt_lab.models import build_model
from lt_lab.regression.fds import FDS


class RegressionNet(nn.Module):
    def __init__(self, backbone: nn.Module, *, fds: FDS | None = None, num_classes: int = 0,
                 label_mean: float = 0.0, label_std: float = 1.0):
        super().__init__()
        self.register_buffer("label_mean", torch.tensor(float(label_mean)))
        self.register_buffer("label_std", torch.tensor(float(label_std)))
        self.features = backbone
        self.fds = fds
        self.regressor = nn.Linear(backbone.feature_dim, 1)
        self.classifier = nn.Linear(backbone.feature_dim, num_classes) if num_classes else None

    def forward(self, x, bin_index=None, epoch: int = 0):
        """``(prediction (N,), features (N, d))``; FDS calibrates only in training."""
        features = self.features(x)
        smoothed = features
        if self.fds is not None and bin_index is not None:
            smoothed = self.fds(features, bin_index, epoch)
        return self.head(smoothed), features

    def head(self, features):
        """The prediction ``μ + s · regressor(z)`` (N,) from (calibrated) features."""
        return self.label_mean + self.label_std * self.regressor(features).squeeze(1)


def build_regression_model(name: str, input_shape, *, feature_fds: dict | None = None,
                           num_bins: int = 0, num_classes: int = 0,
                           train_targets: torch.Tensor | None = None) -> RegressionNet:
    """Backbone ``name`` of :data:`lt_lab.models.BACKBONES` with the regression heads."""
    backbone = build_model(name, tuple(input_shape), 2).features
    fds = FDS(backbone.feature_dim, num_bins, **feature_fds) if feature_fds is not None else None
    mean, std = 0.0, 1.0
    if train_targets is not None and len(train_targets) > 1:
        mean, std = float(train_targets.mean()), max(float(train_targets.std()), 1e-6)
    return RegressionNet(backbone, fds=fds, num_classes=num_classes, label_mean=mean,
                         label_std=std)
