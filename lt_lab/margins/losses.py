r"""Margin and logit-adjustment losses: LDAM(-DRW), logit adjustment, Balanced Softmax, VS.

All four change the logits ``z`` of a sample, per class, before a softmax cross-entropy, so
that rare classes get a larger margin (or, equivalently, frequent classes a head start that
the model need not learn). With ``n_c`` training images of class ``c``, prior
``π_c = n_c / Σ n`` and target ``y``:

* **LDAM** (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin
  Loss", NeurIPS 2019): ``CE(s · (z − Δ_y e_y))`` on cosine logits ``z ∈ [−1, 1]`` (the
  ``cosine`` head), margins ``Δ_c ∝ n_c^(−1/4)`` rescaled so ``max Δ = max_margin`` (0.5),
  scale ``s = 30``. Only the target logit is lowered: the sample must beat the others by
  ``Δ_y``. **DRW** (deferred re-weighting, same paper): from a fraction ``drw_start`` of
  training on, weight each sample by the class-balanced weight of its class,
  ``w_c ∝ (1 − β)/(1 − β^{n_c})`` (Cui et al. CVPR 2019), normalised to ``Σ_c w_c = C``,
  ``β = 0.9999``; the papers switch at epoch 160 of 200 (``drw_start = 0.8``).
* **Logit adjustment** (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021):
  post hoc, predict ``argmax_c (z_c − τ log π_c)`` from a model trained with plain CE; or
  train with the logit-adjusted loss ``CE(z + τ log π)`` and predict ``argmax z``. ``τ = 1``.
* **Balanced Softmax** (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
  Recognition", NeurIPS 2020): train with ``CE(z + log n)``, predict with the plain ``z``.
* **VS loss** (Kini et al., "Label-Imbalanced and Group-Sensitive Classification under
  Overparameterization", NeurIPS 2021): ``CE(z')`` with ``z'_c = Δ_c z_c + ι_c``,
  multiplicative ``Δ_c = (n_c / n_max)^γ`` and additive ``ι_c = τ log π_c``; ``γ = 0.3``,
  ``τ = 1``.

At test time all the training-time losses here predict with the plain logits ``z``: the
added ``log π`` (or ``log n``, or the margin) only models the long-tailed *training*
distribution, so that ``z`` itself is fitted to the balanced one. Adding the prior again at
test time would undo the correction. Only :func:`logit_adjust` (post hoc) changes the
logits of a model trained with plain CE.

Identities (tested as identities in ``tests/test_margins_losses.py``):

* Balanced Softmax = logit-adjusted loss with ``τ = 1``: ``log n_c = log π_c + log Σ n``
  and softmax ignores a constant shift of all logits.
* VS with ``γ = 0`` = logit-adjusted loss with the same ``τ`` (``Δ_c = 1``): the two share
  the additive term ``ι``.
* LDAM with ``max_margin = 0`` = cross-entropy of ``s · z``.
* Logit-adjusted loss with ``τ = 0`` = cross-entropy.

Every loss module can be built with ``class_counts=None`` (``RunConfig.validate`` does so to
check names and parameters); the ones that need the counts raise ConfigError when called.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError
from lt_lab.losses.registry import register
from lt_lab.reweighting.losses import BETA, DRW_START, DeferredReweighting

NON_NEGATIVE = Interval(float, 0, None)


def _counts(class_counts) -> torch.Tensor:
    """``class_counts`` as a 1-D floating tensor (float64 unless already floating), all > 0."""
    counts = torch.as_tensor(class_counts)
    if not counts.is_floating_point():
        counts = counts.to(torch.float64)
    if counts.dim() != 1 or counts.numel() == 0:
        raise ConfigError(f"class_counts must be a non-empty list of counts, got {counts}")
    if (counts <= 0).any():
        raise ConfigError(f"class_counts={counts.tolist()} must all be positive")
    return counts


def _check_finite(parameter: str, value, *, minimum: float = 0.0, inclusive: bool = True):
    """Raise ConfigError unless ``value`` is a finite number >= minimum (> when not inclusive)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{parameter}={value!r} must be a number") from None
    ok = number >= minimum if inclusive else number > minimum
    if not (math.isfinite(number) and ok):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise ConfigError(f"{parameter}={value!r} must be a finite number {bound}")
    return number


def _check_classes(logits: torch.Tensor, per_class: torch.Tensor | None, loss: str):
    if per_class is None:
        raise ConfigError(
            f"loss {loss!r} needs class_counts (training images per class); "
            f"build it with lt_lab.losses.build({loss!r}, class_counts=[...])"
        )
    if logits.shape[-1] != per_class.shape[0]:
        raise ConfigError(
            f"loss {loss!r} was built for {per_class.shape[0]} classes but the logits have "
            f"{logits.shape[-1]}"
        )


def _as(values, logits: torch.Tensor) -> torch.Tensor:
    """A tensor (or list) of per-class values in the logits' dtype, on their device."""
    return torch.as_tensor(values, dtype=logits.dtype, device=logits.device)


def _buffer(values: torch.Tensor | None) -> torch.Tensor | None:
    # Buffers in the default dtype (float32), not float64: a float64 buffer cannot move to
    # an MPS device. They are cast to the logits' dtype at each call.
    return None if values is None else values.to(torch.get_default_dtype())


# --- the per-class quantities ---------------------------------------------------------------


def log_prior(class_counts) -> torch.Tensor:
    """``log π_c`` with ``π_c = n_c / Σ n`` (float64 for integer counts)."""
    counts = _counts(class_counts)
    return torch.log(counts / counts.sum())


def ldam_margins(class_counts, max_margin: float = 0.5) -> torch.Tensor:
    """LDAM margins ``Δ_c ∝ n_c^(−1/4)``, rescaled so that ``max Δ = max_margin``.

    The rarest class gets ``max_margin``; a class 16 times larger gets half of it.
    """
    max_margin = _check_finite("max_margin", max_margin)
    raw = _counts(class_counts).pow(-0.25)
    return raw * (max_margin / raw.max())


# --- functional forms -----------------------------------------------------------------------


def ldam_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    margins: torch.Tensor,
    scale: float = 30.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """``CE(s · (z − Δ_y e_y))`` on cosine logits ``z``: only the target logit loses ``Δ_y``.

    With per-class ``weight`` w (LDAM-DRW) the batch mean is ``Σ_i w_{y_i} l_i / Σ_i w_{y_i}``.
    """
    margins = _as(margins, logits)
    column = targets.reshape(-1, 1)
    shift = torch.zeros_like(logits).scatter_(1, column, margins[targets].reshape(-1, 1))
    if weight is not None:
        weight = _as(weight, logits)
    return F.cross_entropy(scale * (logits - shift), targets, weight=weight)


def logit_adjust(logits: torch.Tensor, class_counts, tau: float = 1.0) -> torch.Tensor:
    """Post-hoc logit adjustment ``z − τ log π``; predict with its argmax (Menon et al. 2021).

    Subtracting ``τ log π`` raises rare classes (``log π`` very negative) more than frequent
    ones, moving the decision boundary towards the head.
    """
    tau = _check_finite("tau", tau)
    return logits - tau * _as(log_prior(class_counts), logits)


def logit_adjusted_loss(
    logits: torch.Tensor, targets: torch.Tensor, class_counts, tau: float = 1.0
) -> torch.Tensor:
    """Logit-adjusted loss ``CE(z + τ log π)``; predict with the plain ``z``."""
    tau = _check_finite("tau", tau)
    return F.cross_entropy(logits + tau * _as(log_prior(class_counts), logits), targets)


def balanced_softmax_loss(
    logits: torch.Tensor, targets: torch.Tensor, class_counts
) -> torch.Tensor:
    """Balanced Softmax ``CE(z + log n)`` (Ren et al. 2020).

    At test time predict with the plain logits ``z``: ``log n`` was added only so that
    ``softmax(z + log n)`` models the long-tailed training labels, leaving ``z`` to model a
    balanced label distribution, which is what the balanced test set has.
    """
    log_counts = torch.log(_counts(class_counts))
    return F.cross_entropy(logits + _as(log_counts, logits), targets)


def _vs_factors(class_counts, gamma: float) -> torch.Tensor:
    counts = _counts(class_counts)
    return (counts / counts.max()).pow(gamma)


def vs_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_counts,
    gamma: float = 0.3,
    tau: float = 1.0,
) -> torch.Tensor:
    """Vector-scaling loss ``CE(Δ ⊙ z + ι)``: ``Δ_c = (n_c/n_max)^γ``, ``ι_c = τ log π_c``.

    The multiplicative ``Δ`` shrinks the logits of rare classes (a margin that grows with
    the logits' scale); the additive ``ι`` is the logit adjustment (Kini et al. 2021).
    """
    gamma = _check_finite("gamma", gamma)
    tau = _check_finite("tau", tau)
    factors = _as(_vs_factors(class_counts, gamma), logits)
    offsets = _as(tau * log_prior(class_counts), logits)
    return F.cross_entropy(factors * logits + offsets, targets)


# --- modules for the registry ---------------------------------------------------------------


@register("ldam")
class LDAMLoss(DeferredReweighting):
    """LDAM on cosine logits, with optional deferred re-weighting (LDAM-DRW).

    ``drw_start=None``: plain LDAM, unweighted. ``drw_start=s``: unweighted before epoch
    ``round(s · epochs)``, then class-balanced weights with ``beta`` (the trainer calls
    :meth:`set_epoch`; Cao et al.: ``s = 0.8``, epoch 160 of 200).
    """

    parameter_constraints = {"max_margin": NON_NEGATIVE,
                             "scale": Interval(float, 0, None, closed="neither"),
                             "drw_start": DRW_START, "beta": BETA}

    def __init__(
        self,
        class_counts: torch.Tensor | None = None,
        max_margin: float = 0.5,
        scale: float = 30.0,
        drw_start: float | None = None,
        beta: float = 0.9999,
    ):
        self.max_margin = _check_finite("max_margin", max_margin)
        self.scale = _check_finite("scale", scale, inclusive=False)
        if not _check_finite("beta", beta) < 1:
            raise ConfigError(f"beta={beta!r} must be in [0, 1)")
        deferred = drw_start is not None
        super().__init__(class_counts, "effective_number" if deferred else "uniform",
                         beta if deferred else None, drw_start)
        self.beta = beta
        margins = None if class_counts is None else ldam_margins(class_counts, self.max_margin)
        self.register_buffer("margins", _buffer(margins))

    def forward(self, logits, targets):
        _check_classes(logits, self.margins, "ldam")
        return ldam_loss(logits, targets, self.margins, self.scale, self.current_weight())

    def extra_repr(self) -> str:
        return (f"max_margin={self.max_margin}, scale={self.scale}, "
                f"drw_start={self.drw_start}, beta={self.beta}")


@register("logit_adjusted")
class LogitAdjustedLoss(nn.Module):
    """``CE(z + τ log π)`` (Menon et al. 2021); predict with the plain logits."""

    parameter_constraints = {"tau": NON_NEGATIVE}

    def __init__(self, class_counts: torch.Tensor | None = None, tau: float = 1.0):
        super().__init__()
        self.tau = _check_finite("tau", tau)
        offsets = None if class_counts is None else self.tau * log_prior(class_counts)
        self.register_buffer("offsets", _buffer(offsets))

    def forward(self, logits, targets):
        _check_classes(logits, self.offsets, "logit_adjusted")
        return F.cross_entropy(logits + _as(self.offsets, logits), targets)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"


@register("balanced_softmax")
class BalancedSoftmaxLoss(nn.Module):
    """``CE(z + log n)`` (Ren et al. 2020); predict with the plain logits."""

    def __init__(self, class_counts: torch.Tensor | None = None):
        super().__init__()
        offsets = None if class_counts is None else torch.log(_counts(class_counts))
        self.register_buffer("offsets", _buffer(offsets))

    def forward(self, logits, targets):
        _check_classes(logits, self.offsets, "balanced_softmax")
        return F.cross_entropy(logits + _as(self.offsets, logits), targets)


@register("vs")
class VSLoss(nn.Module):
    """``CE(Δ ⊙ z + ι)`` with ``Δ_c = (n_c/n_max)^γ``, ``ι_c = τ log π_c`` (Kini et al. 2021)."""

    parameter_constraints = {"gamma": NON_NEGATIVE, "tau": NON_NEGATIVE}

    def __init__(
        self, class_counts: torch.Tensor | None = None, gamma: float = 0.3, tau: float = 1.0
    ):
        super().__init__()
        self.gamma = _check_finite("gamma", gamma)
        self.tau = _check_finite("tau", tau)
        factors = offsets = None
        if class_counts is not None:
            factors = _vs_factors(class_counts, self.gamma)
            offsets = self.tau * log_prior(class_counts)
        self.register_buffer("factors", _buffer(factors))
        self.register_buffer("offsets", _buffer(offsets))

    def forward(self, logits, targets):
        _check_classes(logits, self.factors, "vs")
        return F.cross_entropy(_as(self.factors, logits) * logits + _as(self.offsets, logits),
                               targets)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, tau={self.tau}"
