r"""Re-weighting losses: class weights, focal loss, class-balanced loss, deferred re-weighting.

Every loss here is softmax cross-entropy or softmax focal loss, with each sample's term
multiplied by a weight ``w_y`` of its class, and the batch reduced by the *weighted mean*

    L = sum_i w_{y_i} l_i / sum_i w_{y_i}

as ``torch.nn.functional.cross_entropy(weight=...)`` (and hence the LDAM/DRW code) does.

Class weights (:func:`class_weights`, all normalised so that ``sum_c w_c = C``):

* ``"uniform"``: ``w_c = 1`` (plain cross-entropy);
* ``"inverse"``: ``w_c ∝ 1/n_c`` (inverse class frequency);
* ``"inverse_sqrt"``: ``w_c ∝ 1/sqrt(n_c)``;
* ``"effective_number"`` (Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on
  Effective Number of Samples", CVPR 2019): the effective number of ``n`` samples is
  ``E_n = (1 - β^n) / (1 - β)`` and ``w_c ∝ 1/E_{n_c} = (1 - β) / (1 - β^{n_c})``,
  β ∈ [0, 1). β = 0 gives ``E_n = 1``, i.e. no weighting; β → 1 gives ``E_n → n``,
  i.e. inverse frequency. The paper's CIFAR-LT default is β = 0.9999.

Focal loss (Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object Detection",
ICCV 2017), in the softmax form used here: ``FL = -(1 - p_t)^γ log p_t`` with
``p_t = softmax(z)_y``; γ = 0 is cross-entropy; γ = 2 is Lin et al.'s default.

Registered losses (``lt_lab.losses.build(name, class_counts, **params)``):

* ``"weighted_ce"`` — CE with ``scheme="inverse"`` or ``"inverse_sqrt"`` weights;
* ``"class_balanced"`` — **CB-CE**: CE with effective-number weights (``beta``);
* ``"focal"`` — unweighted softmax focal loss (``gamma``);
* ``"cb_focal"`` — **CB-focal**: ``w_y · FL`` with effective-number weights
  (``beta``, ``gamma``).

**DRW**, deferred re-weighting (Cao, Wei, Gaidon, Arechiga, Ma, "Learning Imbalanced
Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019): train with uniform
weights first, switch the class weights on late (epoch 160 of 200 in the paper, where the
learning rate drops). Every weighted loss above takes ``drw_start``, a fraction of training
like the lr milestones: ``None`` weights from the start; ``s`` in [0, 1) means uniform
weights before epoch ``round(s · epochs)`` and the scheme's weights from then on. The
trainer calls ``set_epoch(epoch, epochs)`` each epoch. ``"class_balanced"`` with
``beta=0.9999, drw_start=0.8`` is Cao et al.'s **CE-DRW** (their code's
``betas = [0, 0.9999]``: β = 0 is uniform); ``"cb_focal"`` with ``drw_start`` is DRW on
top of CB-focal.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lt_lab.constraints import Interval, Optional, Options
from lt_lab.errors import ConfigError, check_choice, check_positive
from lt_lab.losses.basic import cross_entropy
from lt_lab.losses.registry import register

SCHEMES = ("uniform", "inverse", "inverse_sqrt", "effective_number")
WEIGHTED_CE_SCHEMES = ("inverse", "inverse_sqrt")
# The declared constraints of the losses' parameters (lt_lab.losses.registry checks them).
BETA = Interval(float, 0, 1, closed="left", why="Cui et al. use 0.9999")
GAMMA = Interval(float, 0, None)
DRW_START = Optional(Interval(float, 0, 1, closed="left", why="a fraction of training"))


def _check_beta(beta) -> None:
    if beta is None or isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise ConfigError(f"beta={beta!r} must be a number in [0, 1)")
    if not 0 <= beta < 1:
        raise ConfigError(
            f"beta={beta!r} must be in [0, 1) (beta=0: no re-weighting; beta -> 1: inverse "
            "frequency; Cui et al. use 0.9999)"
        )


def _check_scheme(scheme: str, beta: float | None, allowed=SCHEMES) -> None:
    check_choice("scheme", scheme, allowed)
    if scheme == "effective_number":
        _check_beta(beta)
    elif beta is not None:
        raise ConfigError(
            f"beta={beta!r} is only used by scheme='effective_number', not scheme={scheme!r}"
        )


def _check_gamma(gamma) -> None:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or math.isnan(gamma):
        raise ConfigError(f"gamma={gamma!r} must be a number >= 0")
    check_positive("gamma", gamma, inclusive=True)


def _check_drw_start(drw_start) -> None:
    if drw_start is None:
        return
    if (isinstance(drw_start, bool) or not isinstance(drw_start, (int, float))
            or not 0 <= drw_start < 1):
        raise ConfigError(f"drw_start={drw_start!r} must be None or a fraction of training in "
                          "[0, 1), e.g. 0.8 (epoch 160 of 200)")


def _as_counts(class_counts) -> Tensor:
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.ndim != 1 or counts.numel() == 0:
        raise ConfigError(f"class_counts must be a non-empty 1-D list, got shape "
                          f"{tuple(counts.shape)}")
    if not (counts > 0).all():
        raise ConfigError(f"class_counts={counts.tolist()} must all be positive")
    return counts


def effective_number(n, beta: float) -> Tensor:
    """Cui et al.'s effective number of ``n`` samples, ``E_n = (1 - β^n) / (1 - β)`` (float64).

    ``n`` is a number or a tensor of counts. β = 0 gives ``E_n = 1`` (for ``n >= 1``);
    as β → 1, ``E_n → n`` (l'Hôpital), and β = 1 returns that limit, ``n`` itself.
    Computed as ``-expm1(n log β) / (1 - β)``, accurate for β close to 1.
    """
    n = torch.as_tensor(n, dtype=torch.float64)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta <= 1:
        raise ConfigError(f"beta={beta!r} must be in [0, 1]")
    if beta == 1:
        return n.clone()
    if beta == 0:
        return torch.where(n > 0, torch.ones_like(n), torch.zeros_like(n))
    return -torch.expm1(n * math.log(beta)) / (1 - beta)


def class_weights(class_counts, scheme: str, beta: float | None = None) -> Tensor:
    """Per-class weights (float32, normalised so ``sum_c w_c = C``) for ``class_counts``.

    ``scheme``: ``"uniform"`` (1), ``"inverse"`` (∝ 1/n_c), ``"inverse_sqrt"``
    (∝ 1/sqrt(n_c)) or ``"effective_number"`` (∝ (1 - β)/(1 - β^{n_c}), Cui et al. 2019;
    needs ``beta`` in [0, 1), the only scheme that takes it).
    """
    _check_scheme(scheme, beta)
    counts = _as_counts(class_counts)
    if scheme == "uniform":
        raw = torch.ones_like(counts)
    elif scheme == "inverse":
        raw = 1 / counts
    elif scheme == "inverse_sqrt":
        raw = counts.rsqrt()
    else:
        raw = 1 / effective_number(counts, beta)
    return (raw * (len(counts) / raw.sum())).float()


def weighted_cross_entropy(logits: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
    """Cross-entropy reduced by the weighted mean ``sum_i w_{y_i} l_i / sum_i w_{y_i}``.

    The normalisation of ``torch.nn.functional.cross_entropy(weight=...)`` and the LDAM/DRW
    code. (A plain mean of ``w_{y_i} l_i`` differs by the batch's mean weight.)
    ``weight=None`` is plain cross-entropy.
    """
    return cross_entropy(logits, targets, weight=weight)


def focal_loss(
    logits: Tensor, targets: Tensor, gamma: float, weight: Tensor | None = None
) -> Tensor:
    """Softmax focal loss ``-(1 - p_t)^γ log p_t`` (Lin et al. ICCV 2017), batch-reduced.

    ``log p_t`` comes from ``log_softmax`` and ``1 - p_t`` from ``-expm1(log p_t)``, so
    the loss and its gradient stay finite for extreme logits. With per-class ``weight`` the
    batch reduction is ``sum_i w_{y_i} FL_i / sum_i w_{y_i}``, the same as
    :func:`weighted_cross_entropy`, so γ = 0 gives weighted cross-entropy exactly. The
    modulating factor is differentiated (not detached), as in Lin et al.

    Two other forms exist in the long-tail codes; this is neither:

    (a) Cui et al.'s class-balanced code uses *sigmoid* focal loss: C one-vs-all binary
        problems, ``p`` = sigmoid of each logit, summed over all classes, with the final
        layer's bias initialised to ``-log(C - 1)`` so every sigmoid starts at 1/C.
    (b) Cao et al.'s LDAM code (γ = 1 in its focal runs) computes the factor from the
        *weighted* per-sample CE, ``p = exp(-w_y l)``, so its factor is ``1 - p_t^{w_y}``
        rather than ``1 - p_t``: the weight leaks into the modulation.

    Here: the plain softmax form, with the class weight outside the modulating factor.
    """
    log_probs = F.log_softmax(logits, dim=1)
    log_pt = log_probs.gather(1, targets.unsqueeze(1))  # (N, 1)
    # 1 - p_t, clamped off 0 so that d/dx x^γ stays finite for γ < 1 when p_t rounds to 1.
    one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(log_pt.dtype).tiny)
    factor = one_minus_pt.pow(gamma)
    if weight is not None:
        weight = weight.to(device=logits.device, dtype=logits.dtype)
    # nll_loss on factor * log p picks -factor_i log p_{t,i} and applies the weighted mean
    # of cross_entropy; with γ = 0 the factor is exactly 1.
    return F.nll_loss(factor * log_probs, targets, weight=weight)


class DeferredReweighting(nn.Module):
    """Shared machinery of every class-weighted loss: a ``weight`` buffer, ``drw_start`` and
    ``set_epoch`` (deferred re-weighting, Cao et al. 2019). The ``"uniform"`` scheme means no
    weights at all (``current_weight()`` is None)."""

    def __init__(self, class_counts, scheme: str, beta: float | None,
                 drw_start: float | None):
        super().__init__()
        _check_drw_start(drw_start)
        self.scheme = scheme
        self.beta = beta
        self.drw_start = drw_start
        self.epoch, self.epochs = 0, None  # before any set_epoch call: behave as epoch 0
        weight = None if class_counts is None else class_weights(class_counts, scheme, beta)
        # A buffer (None until class_counts are known) so `.to(device)` moves it.
        self.register_buffer("weight", weight)

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the trainer at the start of each epoch (0-based) of ``epochs``."""
        self.epoch, self.epochs = epoch, epochs
        if epoch == 0 and self.drw_epoch is not None and self.drw_epoch >= epochs:
            warnings.warn(
                f"drw_start={self.drw_start} switches the class weights on at epoch "
                f"{self.drw_epoch} of {epochs}: never; this run is plain (unweighted) training",
                stacklevel=2,
            )

    @property
    def drw_epoch(self) -> int | None:
        """The epoch the class weights switch on: ``round(drw_start · epochs)``; None when
        they apply from the start. Before ``set_epoch`` told the number of epochs, the
        deferred weights are off."""
        if self.drw_start is None:
            return None
        if self.drw_start == 0:
            return 0
        return math.inf if self.epochs is None else round(self.drw_start * self.epochs)

    @property
    def weights_active(self) -> bool:
        """Whether the class weights apply at the current epoch (False: uniform weights)."""
        if self.scheme == "uniform":
            return False
        return self.drw_start is None or self.epoch >= self.drw_epoch

    def current_weight(self) -> Tensor | None:
        """The weights in force now: the buffer, or ``None`` (uniform) before the switch."""
        if self.weight is None:
            raise ConfigError(
                f"loss {type(self).__name__} needs class_counts (training images per class) "
                "to compute its class weights; class_counts is required: build it with "
                "lt_lab.losses.build(name, class_counts, ...)"
            )
        return self.weight if self.weights_active else None

    def extra_repr(self) -> str:
        return f"scheme={self.scheme!r}, beta={self.beta!r}, drw_start={self.drw_start!r}"


@register("weighted_ce")
class WeightedCrossEntropy(DeferredReweighting):
    """CE with inverse-frequency (``"inverse"``) or ``"inverse_sqrt"`` class weights."""

    parameter_constraints = {"scheme": Options(WEIGHTED_CE_SCHEMES), "drw_start": DRW_START}

    def __init__(
        self,
        class_counts: Tensor | None = None,
        scheme: str = "inverse",
        drw_start: float | None = None,
    ):
        _check_scheme(scheme, None, WEIGHTED_CE_SCHEMES)
        super().__init__(class_counts, scheme, None, drw_start)

    def forward(self, logits, targets):
        return weighted_cross_entropy(logits, targets, self.current_weight())


@register("class_balanced")
class ClassBalancedCrossEntropy(DeferredReweighting):
    """CB-CE (Cui et al. 2019): CE with weights ∝ (1 - β)/(1 - β^{n_y}); with
    ``drw_start`` it is Cao et al.'s CE-DRW."""

    parameter_constraints = {"beta": BETA, "drw_start": DRW_START}

    def __init__(
        self,
        class_counts: Tensor | None = None,
        beta: float = 0.9999,
        drw_start: float | None = None,
    ):
        _check_beta(beta)
        super().__init__(class_counts, "effective_number", beta, drw_start)

    def forward(self, logits, targets):
        return weighted_cross_entropy(logits, targets, self.current_weight())


@register("focal")
class FocalLoss(nn.Module):
    """Softmax focal loss (Lin et al. 2017), unweighted. γ = 2 is Lin et al.'s default;
    the LDAM paper's "Focal" rows use γ = 1."""

    parameter_constraints = {"gamma": GAMMA}

    def __init__(self, class_counts: Tensor | None = None, gamma: float = 2.0):
        super().__init__()
        _check_gamma(gamma)
        self.gamma = gamma

    def forward(self, logits, targets):
        return focal_loss(logits, targets, self.gamma)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma!r}"


@register("cb_focal")
class ClassBalancedFocalLoss(DeferredReweighting):
    """CB-focal (Cui et al. 2019): ``w_y · FL`` with effective-number weights, softmax
    focal form, weighted-mean reduction; ``drw_start`` defers the weights (DRW)."""

    parameter_constraints = {"beta": BETA, "gamma": GAMMA, "drw_start": DRW_START}

    def __init__(
        self,
        class_counts: Tensor | None = None,
        beta: float = 0.9999,
        gamma: float = 2.0,
        drw_start: float | None = None,
    ):
        _check_beta(beta)
        _check_gamma(gamma)
        super().__init__(class_counts, "effective_number", beta, drw_start)
        self.gamma = gamma

    def forward(self, logits, targets):
        return focal_loss(logits, targets, self.gamma, self.current_weight())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gamma={self.gamma!r}"
