"""Regression losses by name, and the two auxiliary losses of the chapter.

Registry (``build(name, prior, **params)``): ``mse``, ``l1`` (both optionally weighted per
sample, the way LDS/SQINV weights enter, DIR ``weighted_mse_loss``/``weighted_l1_loss``) and
``balanced_mse`` (Ren et al., CVPR 2022) with its three estimators of the training prior:

    L = −log N(y; ŷ, σ²I) + log ∫ N(y'; ŷ, σ²I) p_train(y') dy'

* ``bmc`` (batch-based Monte-Carlo): the batch's labels are the samples of p_train, so the
  loss is a cross-entropy over logits −(ŷ_i − y_j)² / (2σ²), the target being j = i;
* ``gai`` (GMM-based analytical integration): p_train is a Gaussian mixture fitted to the
  training labels, and the integral is a sum of Gaussians;
* ``bni`` (bin-based numerical integration): p_train is the histogram of the labels.

σ (``noise_sigma``) is learnable, with its own learning rate ``sigma_lr`` (init 1.0 and
lr 1e-2, the defaults we read in the Balanced MSE code [U]); each loss is multiplied by the
detached 2σ², so its gradient in ŷ keeps the scale of MSE.

Auxiliary losses (added to the registry loss by the trainer):

* :func:`bin_classification_loss` — Pintea et al. (ICCV 2023): cross-entropy of a
  classification head over *histogram-equalised* bins (equal training counts per class);
* :func:`ranksim_loss` — RankSim (Gong et al., ICML 2022): the ranking of a sample's
  feature similarities to the batch should match the ranking of its label similarities.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Flag, Interval, Options
from lt_lab.errors import check_choice, check_positive
from lt_lab.losses.registry import Registry

BALANCED_MSE_VARIANTS = ("bmc", "gai", "bni")


# --------------------------------------------------------------------------- plain losses


def weighted_mse(pred, target, weights=None):
    """``mean(w · (ŷ − y)²)``; plain MSE without ``weights``."""
    loss = (pred - target) ** 2
    return (loss * weights).mean() if weights is not None else loss.mean()


def weighted_l1(pred, target, weights=None):
    """``mean(w · |ŷ − y|)``; plain L1 without ``weights``."""
    loss = (pred - target).abs()
    return (loss * weights).mean() if weights is not None else loss.mean()


# --------------------------------------------------------------------------- Balanced MSE


def bmc_loss(pred, target, noise_var, reduction: str = "mean"):
    """Balanced MSE, batch-based Monte-Carlo (Ren et al. 2022, Alg. 1).

    ``CE(logits_i, i) · 2σ²`` with ``logits_ij = −(ŷ_i − y_j)² / (2σ²)``: the batch labels
    y_j stand in for samples of the training label distribution.
    """
    logits = -((pred[:, None] - target[None, :]) ** 2) / (2 * noise_var)
    loss = F.cross_entropy(logits, torch.arange(len(pred), device=pred.device),
                           reduction="none") * (2 * noise_var).detach()
    return loss.mean() if reduction == "mean" else loss


def gai_loss(pred, target, noise_var, gmm_means, gmm_vars, gmm_weights):
    """Balanced MSE, GMM-based analytical integration (Ren et al. 2022, Eq. 7).

    ``(ŷ−y)²/(2σ²) + ½ log σ² + logsumexp_k [log π_k − ½ log(v_k+σ²) − (ŷ−μ_k)²/(2(v_k+σ²))]``
    times 2σ² (detached), for a mixture ``Σ_k π_k N(μ_k, v_k)`` fitted to the labels.
    """
    mse_term = (pred - target) ** 2 / (2 * noise_var) + 0.5 * torch.log(noise_var)
    total_var = gmm_vars[None, :] + noise_var
    balancing = (torch.log(gmm_weights)[None, :] - 0.5 * torch.log(total_var)
                 - (pred[:, None] - gmm_means[None, :]) ** 2 / (2 * total_var))
    loss = mse_term + torch.logsumexp(balancing, dim=1)
    return (loss * (2 * noise_var).detach()).mean()


def bni_loss(pred, target, noise_var, bin_centres, bin_weights):
    """Balanced MSE, bin-based numerical integration (Ren et al. 2022, Eq. 8).

    ``(ŷ−y)²/(2σ²) + logsumexp_b [log p_b − (ŷ − c_b)²/(2σ²)]`` times 2σ² (detached), with
    p_b the training histogram over bin centres c_b.
    """
    mse_term = (pred - target) ** 2 / (2 * noise_var)
    balancing = (torch.log(bin_weights)[None, :]
                 - (pred[:, None] - bin_centres[None, :]) ** 2 / (2 * noise_var))
    loss = mse_term + torch.logsumexp(balancing, dim=1)
    return (loss * (2 * noise_var).detach()).mean()


def fit_gmm(labels: torch.Tensor, components: int = 8, iterations: int = 100):
    """A 1-D Gaussian mixture fitted by EM (the Balanced MSE code uses scikit-learn's, K=8).

    Deterministic: means start evenly spaced over the label range, variances at
    (range / K)².
    Returns ``(means, variances, weights)`` as float64 tensors.
    """
    y = labels.double().flatten()
    low, span = float(y.min()), max(float(y.max() - y.min()), 1e-6)
    means = low + span * (torch.arange(components, dtype=torch.float64) + 0.5) / components
    variances = torch.full((components,), (span / components) ** 2, dtype=torch.float64)
    weights = torch.full((components,), 1.0 / components, dtype=torch.float64)
    floor = 1e-6 * float(y.var()) + 1e-12
    for _ in range(iterations):
        log_density = (torch.log(weights) - 0.5 * torch.log(2 * math.pi * variances)
                       - (y[:, None] - means) ** 2 / (2 * variances))
        responsibility = torch.softmax(log_density, dim=1)
        mass = responsibility.sum(0).clamp_min(1e-12)
        weights = mass / len(y)
        means = (responsibility * y[:, None]).sum(0) / mass
        variances = ((responsibility * (y[:, None] - means) ** 2).sum(0) / mass).clamp_min(floor)
    return means, variances, weights


# --------------------------------------------------------------------------- registry


_REGISTRY = Registry(context="prior")
register = _REGISTRY.register
available = _REGISTRY.available
loss_parameters = _REGISTRY.parameters


def build(name: str, prior=None, **params) -> nn.Module:
    """Construct regression loss ``name``; ``prior``: a :class:`LabelPrior` (GAI, BNI)."""
    return _REGISTRY.build(name, prior, **params)


class LabelPrior:
    """What GAI and BNI need of the training labels: the labels, bin centres and counts."""

    def __init__(self, labels: torch.Tensor, bin_centres: torch.Tensor, bin_counts: torch.Tensor):
        self.labels = labels.detach().double().cpu()
        self.bin_centres = bin_centres.double().cpu()
        self.bin_counts = bin_counts.double().cpu()


@register("mse")
class MSELoss(nn.Module):
    """Mean squared error, optionally weighted per sample (LDS / SQINV / INV weights)."""

    def __init__(self, prior=None):
        super().__init__()

    def forward(self, pred, target, weights=None):
        return weighted_mse(pred, target, weights)


@register("l1")
class L1Loss(nn.Module):
    """Mean absolute error, optionally weighted per sample (DIR's default on AgeDB-DIR)."""

    def __init__(self, prior=None):
        super().__init__()

    def forward(self, pred, target, weights=None):
        return weighted_l1(pred, target, weights)


@register("balanced_mse")
class BalancedMSELoss(nn.Module):
    """Balanced MSE (Ren et al. 2022) with a learnable noise scale σ (``noise_sigma``).

    Args:
        variant: ``"bmc"``, ``"gai"`` or ``"bni"`` (see the module docstring).
        init_noise_sigma: σ at the start (Balanced MSE code: 1.0).
        sigma_lr: the learning rate of σ (the trainer gives it its own parameter group).
        learn_sigma: train σ (True) or keep it fixed.
        gmm_components: mixture components of GAI (the code's default: 8).
    """

    parameter_constraints = {
        "variant": Options(BALANCED_MSE_VARIANTS),
        "init_noise_sigma": Interval(float, 0, None, closed="neither"),
        "sigma_lr": Interval(float, 0, None), "learn_sigma": Flag(),
        "gmm_components": Interval(int, 1, None),
    }

    def __init__(self, prior=None, variant: str = "bmc", init_noise_sigma: float = 1.0,
                 sigma_lr: float = 1e-2, learn_sigma: bool = True, gmm_components: int = 8):
        super().__init__()
        check_choice("variant", variant, BALANCED_MSE_VARIANTS)
        check_positive("init_noise_sigma", init_noise_sigma)
        check_positive("sigma_lr", sigma_lr, inclusive=True)
        check_positive("gmm_components", gmm_components, minimum=1, inclusive=True)
        self.variant, self.sigma_lr = variant, sigma_lr
        self.noise_sigma = nn.Parameter(torch.tensor(float(init_noise_sigma)),
                                        requires_grad=bool(learn_sigma))
        if prior is not None and variant == "gai":
            means, variances, weights = fit_gmm(prior.labels, gmm_components)
            for name, value in (("gmm_means", means), ("gmm_vars", variances),
                                ("gmm_weights", weights)):
                self.register_buffer(name, value.float())
        if prior is not None and variant == "bni":
            self.register_buffer("bin_centres", prior.bin_centres.float())
            histogram = prior.bin_counts / prior.bin_counts.sum()
            self.register_buffer("bin_weights", histogram.clamp_min(1e-12).float())

    def forward(self, pred, target, weights=None):
        noise_var = self.noise_sigma**2
        if self.variant == "bmc":
            return bmc_loss(pred, target, noise_var)
        if self.variant == "gai":
            return gai_loss(pred, target, noise_var, self.gmm_means, self.gmm_vars,
                            self.gmm_weights)
        return bni_loss(pred, target, noise_var, self.bin_centres, self.bin_weights)


def balanced_mse(pred, target, noise_var, variant: str = "bmc", prior: LabelPrior | None = None):
    """Functional Balanced MSE: :class:`BalancedMSELoss` with a fixed σ² = ``noise_var``."""
    module = BalancedMSELoss(prior, variant=variant, init_noise_sigma=math.sqrt(noise_var),
                             learn_sigma=False).to(pred.device)
    return module(pred, target)


# --------------------------------------------------------------------------- auxiliary losses


def equalised_bin_edges(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Inner edges of ``num_classes`` histogram-equalised bins: the label quantiles
    k/num_classes, k = 1 … num_classes−1, so each class holds as many training samples."""
    quantiles = torch.arange(1, num_classes, dtype=torch.float64) / num_classes
    return torch.quantile(labels.double().cpu(), quantiles)


def bin_classification_loss(class_logits, target, inner_edges):
    """Pintea et al. 2023: cross-entropy of the class (equalised bin) of each label."""
    classes = torch.bucketize(target.double(), inner_edges.to(target.device), right=True)
    return F.cross_entropy(class_logits, classes)


class BinClassificationLoss(nn.Module):
    """The classification loss of Pintea et al. (ICCV 2023) over equalised bins."""

    def __init__(self, train_labels: torch.Tensor, num_classes: int):
        super().__init__()
        check_positive("num_classes", num_classes, minimum=2, inclusive=True)
        self.register_buffer("inner_edges", equalised_bin_edges(train_labels, num_classes))

    def forward(self, class_logits, target):
        return bin_classification_loss(class_logits, target, self.inner_edges)


def rank_normalised(rows: torch.Tensor) -> torch.Tensor:
    """Per row: the rank of each entry, largest first, as (rank + 1) / length."""
    ranks = torch.argsort(torch.argsort(rows, dim=1, descending=True, stable=True), dim=1,
                          stable=True)
    return (ranks + 1).float() / rows.shape[1]


class TrueRanker(torch.autograd.Function):
    """Ranks with the blackbox-differentiation gradient of Vlastelica et al. (as RankSim)."""

    @staticmethod
    def forward(ctx, sequence, lambda_val):
        rank = rank_normalised(sequence)
        ctx.lambda_val = lambda_val
        ctx.save_for_backward(sequence, rank)
        return rank

    @staticmethod
    def backward(ctx, grad_output):
        sequence, rank = ctx.saved_tensors
        perturbed = rank_normalised(sequence + ctx.lambda_val * grad_output)
        return -(rank - perturbed) / (ctx.lambda_val + 1e-8), None


def ranksim_loss(features, target, interpolation_lambda: float = 2.0):
    """RankSim (Gong et al. 2022): Σ_i MSE(rank(cos(z_i, z_·)), rank(−|y_i − y_·|)).

    One sample per distinct label enters (RankSim picks one at random; we keep the first,
    so that the loss is deterministic). The RankSim paper's weight γ multiplies this.
    """
    _, inverse = torch.unique(target, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(target), device=target.device)
    first = first.scatter_reduce(0, inverse, torch.arange(len(target), device=target.device),
                                 reduce="amin")
    x, y = features[first], target[first]
    normalised = F.normalize(x.flatten(1), dim=1)
    similarity = normalised @ normalised.T
    label_ranks = rank_normalised(-(y[:, None] - y[None, :]).abs())
    feature_ranks = TrueRanker.apply(similarity, interpolation_lambda)
    return ((feature_ranks - label_ranks) ** 2).mean(1).sum()


class RankSimLoss(nn.Module):
    """:func:`ranksim_loss` as a module (γ, the weight, is applied by the trainer)."""

    def __init__(self, interpolation_lambda: float = 2.0):
        super().__init__()
        check_positive("interpolation_lambda", interpolation_lambda)
        self.interpolation_lambda = interpolation_lambda

    def forward(self, features, target):
        return ranksim_loss(features, target, self.interpolation_lambda)
