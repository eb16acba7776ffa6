"""Plain cross-entropy: the baseline every long-tail method is measured against."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Interval
from lt_lab.losses.registry import register


def cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """``-log softmax(z)_y`` averaged over the batch (weighted mean when ``weight`` is set).

    With per-class ``weight`` w the mean is ``sum_i w_{y_i} l_i / sum_i w_{y_i}``, as in
    ``torch.nn.functional.cross_entropy``.
    """
    if weight is not None:
        weight = weight.to(device=logits.device, dtype=logits.dtype)
    return F.cross_entropy(logits, targets, weight=weight, label_smoothing=label_smoothing)


@register("ce")
class CrossEntropy(nn.Module):
    """Softmax cross-entropy (empirical risk minimisation, "ERM" in the papers' tables)."""

    parameter_constraints = {"label_smoothing": Interval(float, 0, 1, closed="left")}

    def __init__(self, class_counts: torch.Tensor | None = None, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits, targets):
        return cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
