"""The dot-regression loss that Yang et al. (2022) pair with a fixed simplex-ETF classifier.

"Inducing Neural Collapse in Imbalanced Learning: Do We Really Need a Learnable Classifier
at the End of Deep Neural Network?" (NeurIPS 2022) fixes the classifier to a simplex ETF
``W = sqrt(C/(C-1)) U (I - 11^T/C)`` and trains the features with

    L(h, y) = 1/2 (w_y^T h - ||w_y|| ||h||)^2 / ||h||,

averaged over the batch, with ``||h||`` and ``||w_y||`` held constant in the gradient (the
authors' ``reg_dot_loss`` [code]). Only the label's own row enters: unlike cross-entropy
there is no push away from the other classes' rows, so the gradient does not depend on how
many images the other classes have (the paper's argument for it under imbalance). Its
gradient is ``(w_y^T h / ||h|| - ||w_y||) w_y``: it pulls ``h`` towards ``w_y``'s direction
and vanishes when ``h`` points along ``w_y``, whatever its length. ``reg_lam`` adds the
authors' optional ``reg_lam * mean ||h||`` [code].

The authors batch-normalise and L2-normalise the features before the ETF (``||h|| = 1``,
[code]), where the loss is ``1/2 (||w_y|| cos(w_y, h) - ||w_y||)^2``. ``l2_normalize=True``
does the same inside the loss: ``h / ||h||`` replaces ``h``, through the gradient, so the loss
also turns the part of ``h`` orthogonal to ``w_y`` (with the lengths held fixed and no
normalisation, the gradient is along ``w_y`` alone and only weight decay shrinks that part).
This book's :class:`lt_lab.models.ETFClassifier` takes the features as they are; a positive
scale per image changes none of its predictions, so only the loss needs the normalisation.
The trainer calls a classification loss on logits; this loss needs the features, so a
trainer that runs it binds it to the model's fixed head (:meth:`DotRegression.bind_head`)
and, seeing ``takes_features``, passes the penultimate features instead of the logits.
"""

from __future__ import annotations

import torch
from torch import nn

from lt_lab.constraints import Flag, Interval
from lt_lab.errors import ConfigError, check_positive
from lt_lab.losses import register

LENGTH_FLOOR = 1e-8  # the authors' clamp of ||h||: a zero feature has no direction to pull


def dot_regression(features: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor,
                   reg_lam: float = 0.0, l2_normalize: bool = False) -> torch.Tensor:
    """``mean_i 1/2 (w_{y_i}^T h_i - ||w_{y_i}|| ||h_i||)^2 / ||h_i||`` (Yang et al. 2022),
    ``||h_i||`` (clamped at 1e-8) and ``||w_{y_i}||`` constant in the gradient; plus
    ``reg_lam * mean_i ||h_i||`` when ``reg_lam > 0``. With ``l2_normalize``, ``h_i`` is
    first replaced by ``h_i / ||h_i||`` (in the gradient, as the authors' normalised
    features): ``mean_i 1/2 ||w_{y_i}||^2 (cos(w_{y_i}, h_i) - 1)^2``.

    ``features`` (N, d), ``targets`` (N,) class indices, ``weight`` (C, d) the fixed
    classifier (rows ``w_c``).
    """
    if features.ndim != 2 or weight.ndim != 2 or features.shape[1] != weight.shape[1]:
        raise ConfigError(f"features (N, d) and weight (C, d) must share d; got "
                          f"{tuple(features.shape)} and {tuple(weight.shape)}")
    check_positive("reg_lam", reg_lam, minimum=0, inclusive=True)
    if l2_normalize:
        features = features / features.norm(dim=1, keepdim=True).clamp_min(LENGTH_FLOOR)
    rows = weight.to(features.dtype)[targets]
    dot = (features * rows).sum(1)
    with torch.no_grad():
        feature_length = features.norm(dim=1).clamp_min(LENGTH_FLOOR)
        row_length = rows.norm(dim=1)
    loss = 0.5 * ((dot - row_length * feature_length) ** 2 / feature_length).mean()
    if reg_lam > 0:
        loss = loss + reg_lam * features.norm(dim=1).mean()
    return loss


@register("dot_regression")
class DotRegression(nn.Module):
    """:func:`dot_regression` against a fixed classifier ``weight`` (C, d), called as
    ``loss(features, targets)`` once bound to a model's fixed ETF head with
    :meth:`bind_head` (the trainer does, for ``loss="dot_regression"`` with
    ``head="etf"``). ``class_counts`` is unused: the loss has no class-size term;
    ``l2_normalize``: the authors' unit-length features (see :func:`dot_regression`)."""

    takes_features = True  # a trainer passes the penultimate features, not the logits
    parameter_constraints = {"reg_lam": Interval(float, 0, None), "l2_normalize": Flag()}

    def __init__(self, class_counts: torch.Tensor | None = None, reg_lam: float = 0.0,
                 l2_normalize: bool = False):
        super().__init__()
        check_positive("reg_lam", reg_lam, minimum=0, inclusive=True)
        if not isinstance(l2_normalize, bool):
            raise ConfigError(f"l2_normalize={l2_normalize!r} must be true or false")
        self.reg_lam, self.l2_normalize = reg_lam, l2_normalize
        self.register_buffer("weight", None)

    def bind_head(self, head: nn.Module) -> DotRegression:
        """Use ``head``'s fixed weight (an :class:`lt_lab.models.ETFClassifier`: a buffer, not
        a parameter, so the loss never trains the classifier)."""
        weight = getattr(head, "weight", None)
        if weight is None or isinstance(weight, nn.Parameter):
            raise ConfigError("the dot-regression loss needs a fixed classifier: head='etf' "
                              f"(got a {type(head).__name__} with a trainable weight)")
        self.weight = weight.detach().clone()
        return self

    def forward(self, features, targets):
        if self.weight is None:
            raise ConfigError("DotRegression has no classifier weight: call "
                              "bind_head(model.classifier) with head='etf'")
        return dot_regression(features, targets, self.weight, self.reg_lam, self.l2_normalize)
