r"""Input mixup: train on convex combinations of pairs of images and of their labels.

Zhang, Cisse, Dauphin & Lopez-Paz, "mixup: Beyond Empirical Risk Minimization" (ICLR
2018). For a batch ``(x, y)``, a draw ``λ ~ Beta(α, α)`` and a random permutation ``σ`` of
the batch::

    x̃ = λ x + (1 − λ) x_σ,     L = λ CE(f(x̃), y) + (1 − λ) CE(f(x̃), y_σ)

which is the cross-entropy against the mixed soft label ``λ e_y + (1 − λ) e_{y_σ}`` (CE is
linear in its target). ``α → 0`` gives back plain training (``λ = 1``); ``α = 1`` draws
``λ`` uniformly. MiSLAS (Zhong et al., CVPR 2021) uses it in stage 1 of a decoupled
schedule and then re-balances the classifier.

Checked against the official code (facebookresearch/mixup-cifar10, ``train.py``; read, not
copied): one ``λ = np.random.beta(α, α)`` per batch (``λ = 1`` when ``α <= 0``), one
``torch.randperm`` of the batch, ``mixed_x = λ x + (1 − λ) x[index]``, the loss
``λ · criterion(pred, y_a) + (1 − λ) · criterion(pred, y_b)``, ``α = 1`` by default.
Here ``λ`` is drawn by numpy's Beta from a seed taken off a torch generator (the trainer's),
so a run's draws are fixed by its seed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError
from lt_lab.losses import register

ALPHA = Interval(float, 0, None)
LAMBDA = Interval(float, 0, 1)


class MixedBatch(NamedTuple):
    """A mixed batch: the inputs, both label vectors and the mixing weight ``lam``."""

    inputs: torch.Tensor
    targets_a: torch.Tensor
    targets_b: torch.Tensor
    lam: float


def sample_lambda(alpha: float = 1.0, generator: torch.Generator | None = None) -> float:
    """``λ ~ Beta(α, α)``; ``1.0`` for ``α = 0`` (no mixing). The Beta draw uses numpy,
    seeded by one draw from ``generator`` (torch's default generator when None)."""
    ALPHA.check("alpha", alpha)
    if alpha == 0:
        return 1.0
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator,
                             device="cpu" if generator is None else generator.device))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def mix(inputs: torch.Tensor, targets: torch.Tensor, lam: float,
        permutation: torch.Tensor) -> MixedBatch:
    """``λ x + (1 − λ) x[σ]`` with labels ``y`` and ``y[σ]``, for a given ``λ`` and ``σ``."""
    LAMBDA.check("lam", lam)
    permutation = torch.as_tensor(permutation, device=inputs.device)
    if permutation.shape != (inputs.shape[0],) or targets.shape[0] != inputs.shape[0]:
        raise ConfigError(f"permutation and targets must have one entry per input "
                          f"({inputs.shape[0]}); got {tuple(permutation.shape)} and "
                          f"{tuple(targets.shape)}")
    mixed = lam * inputs + (1 - lam) * inputs[permutation]
    return MixedBatch(mixed, targets, targets[permutation.to(targets.device)], lam)


def mixup(inputs: torch.Tensor, targets: torch.Tensor, alpha: float = 1.0,
          generator: torch.Generator | None = None) -> MixedBatch:
    """One mixup batch: ``λ`` from :func:`sample_lambda`, ``σ`` a random permutation drawn
    from ``generator``, then :func:`mix`."""
    lam = sample_lambda(alpha, generator)
    device = "cpu" if generator is None else generator.device
    permutation = torch.randperm(inputs.shape[0], generator=generator, device=device)
    return mix(inputs, targets, lam, permutation.to(inputs.device))


def mixup_cross_entropy(logits: torch.Tensor, targets_a: torch.Tensor, targets_b: torch.Tensor,
                        lam: float) -> torch.Tensor:
    """``λ CE(logits, y_a) + (1 − λ) CE(logits, y_b)`` (batch means)."""
    LAMBDA.check("lam", lam)
    return lam * F.cross_entropy(logits, targets_a) + (1 - lam) * F.cross_entropy(logits,
                                                                                  targets_b)


def mixed_targets(targets_a: torch.Tensor, targets_b: torch.Tensor, lam: float,
                  num_classes: int) -> torch.Tensor:
    """The soft labels ``λ e_{y_a} + (1 − λ) e_{y_b}``, shape ``(N, C)``: cross-entropy
    against them equals :func:`mixup_cross_entropy`."""
    LAMBDA.check("lam", lam)
    Interval(int, 1, None).check("num_classes", num_classes)
    return (lam * F.one_hot(targets_a, num_classes).double()
            + (1 - lam) * F.one_hot(targets_b, num_classes).double())


@register("mixup")
class MixupCrossEntropy(nn.Module):
    """Cross-entropy for input mixup with ``alpha`` (``mixes_inputs``: a trainer mixes each
    batch with :func:`mixup` before the forward pass and calls :meth:`mixed`). Called as
    ``loss(logits, targets)`` it is plain cross-entropy, with class indices or soft
    ``(N, C)`` targets (:func:`mixed_targets`). ``class_counts`` is unused."""

    mixes_inputs = True  # a trainer mixes the inputs and calls mixed(...)
    parameter_constraints = {"alpha": ALPHA}

    def __init__(self, class_counts: torch.Tensor | None = None, alpha: float = 1.0):
        super().__init__()
        ALPHA.check("alpha", alpha)
        self.alpha = alpha

    def mix(self, inputs, targets, generator=None) -> MixedBatch:
        """:func:`mixup` with this loss's ``alpha``."""
        return mixup(inputs, targets, self.alpha, generator)

    def mixed(self, logits, targets_a, targets_b, lam):
        """:func:`mixup_cross_entropy`."""
        return mixup_cross_entropy(logits, targets_a, targets_b, lam)

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets.to(logits.dtype) if targets.is_floating_point()
                               else targets)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
