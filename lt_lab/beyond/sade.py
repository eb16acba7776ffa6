r"""SADE: three experts skilled for different test priors, aggregated at test time.

Zhang et al., "Self-Supervised Aggregation of Diverse Experts for Test-Agnostic
Long-Tailed Recognition" (NeurIPS 2022). Three experts (heads) share a backbone and are
trained with one loss each, summed. With the training prior ``π_c = n_c / Σ n`` and the
**inverse prior** ``π̄`` (:func:`inverse_prior`), expert ``k`` has logits ``z_k``:

* **forward** expert (skilled at the long-tailed training prior): ``CE(z_1, y)``;
* **uniform** expert (balanced softmax, skilled at the uniform prior): ``CE(z_2 + log π, y)``;
* **backward** expert (inverse softmax, skilled at a reversed prior):
  ``CE(z_3 + log π − λ log π̄, y)``, ``λ = 2`` (SADE's CIFAR-100-LT setting).

Without test-time aggregation the prediction is ``argmax`` of the experts' mean logits.

**Test-time self-supervised aggregation.** On unlabelled test images, two augmented views
``x', x''`` of each; raw weights ``ω`` (one per expert, all ``1/3`` at first), aggregation
weights ``w = softmax(ω)``, aggregated logits ``ẑ = Σ_k w_k z_k``. SADE maximises the
**prediction stability** ``mean_i cos(softmax(ẑ(x'_i)), softmax(ẑ(x''_i)))`` over ``ω`` by
SGD, the experts frozen (:func:`learn_aggregation_weights`). An expert whose predictions
agree across the views gains weight; the paper shows the weights then follow the test
prior (more weight to the backward expert on a backward-long-tailed test set).

Checked against the official code (Vanint/SADE-AgnosticLT; read, not copied):

* ``model/loss.py``, ``DiverseExpertLoss``: the three terms summed, unweighted;
  ``log(prior + 1e-9)`` (the ``1e-9`` is left out here: class counts are positive);
  the inverse prior sorts the prior and gives each class the value of the mirror rank;
  λ is its ``tau``: 2 in the CIFAR-100-LT and ImageNet-LT configs, 1 for iNaturalist and
  Places-LT;
* ``model/ldam_drw_resnets/expert_resnet_cifar.py``: the output is the experts' logits
  stacked on dim 1, ``(N, 3, C)``, and their mean; with ``use_norm`` (the CIFAR configs)
  each expert's head is cosine, ``30 · cos(h, w_c)`` (:class:`ExpertHeads` with
  ``scale=30``). There the experts share the stem and first stage and each has its own
  last two stages; here they share every layer but the head (the issue's "one backbone");
* ``test_training_cifar.py``, ``test_training``: the aggregation weight is
  ``Parameter(3).fill_(1/3)``, SGD with lr 0.1 (0.025 for ImageNet-LT), momentum 0.9,
  Nesterov, weight decay 5e-4 (``configs/test_time_cifar100_*_sade.json``), batches of 128
  test images, at most 5 epochs, stopping after an epoch once a weight is below 0.05; the
  loss is ``−mean cos`` with ``CosineSimilarity(dim=1, eps=1e-6)``, on the softmax of the
  weighted *logits*. The weights are learned on the very test images they are then
  evaluated on (the resampled test set at each prior, without its labels). The
  official loop draws fresh augmentations at every epoch; :func:`learn_aggregation_weights`
  takes the experts' logits of two views computed once (the experts are frozen, so the
  step is the same; only the views are not redrawn between epochs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.constraints import Flag, Interval, Optional
from lt_lab.errors import ConfigError
from lt_lab.losses import register
from lt_lab.models import EXTRA_HEADS

NUM_EXPERTS = 3  # forward, uniform, backward
LAMBDA = Interval(float, 0, None)
COSINE_EPS = 1e-6  # SADE's CosineSimilarity(dim=1, eps=1e-6)


def _counts(class_counts) -> torch.Tensor:
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.ndim != 1 or counts.numel() == 0 or not (counts > 0).all():
        raise ConfigError(f"class_counts must be a non-empty list of positive counts; got "
                          f"{counts.tolist()}")
    return counts


def inverse_prior(prior) -> torch.Tensor:
    """SADE's inverse prior: each class gets the prior value of the mirror rank (the class
    with the ``r``-th smallest prior gets the ``r``-th largest value). For a prior sorted
    head first it is the prior reversed: ``[0.6, 0.3, 0.1] → [0.1, 0.3, 0.6]``."""
    prior = torch.as_tensor(prior)
    if prior.ndim != 1 or prior.numel() == 0:
        raise ConfigError(f"prior must be a non-empty 1-D tensor; got shape {tuple(prior.shape)}")
    values, order = torch.sort(prior, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=order.device)
    return values[len(values) - 1 - rank]


def expert_offsets(class_counts, lambda_: float = 2.0) -> torch.Tensor:
    """The logit offsets of the three experts, shape ``(3, C)``, float64: ``0`` (forward),
    ``log π`` (uniform), ``log π − λ log π̄`` (backward)."""
    LAMBDA.check("lambda_", lambda_)
    counts = _counts(class_counts)
    log_prior = torch.log(counts / counts.sum())
    log_inverse = torch.log(inverse_prior(counts / counts.sum()))
    return torch.stack([torch.zeros_like(log_prior), log_prior,
                        log_prior - lambda_ * log_inverse])


def _experts(expert_logits: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    if expert_logits.ndim != 3 or expert_logits.shape[1] != NUM_EXPERTS:
        raise ConfigError(f"expert_logits must have shape (N, {NUM_EXPERTS}, C), the experts "
                          f"stacked on dim 1; got {tuple(expert_logits.shape)}")
    if num_classes is not None and expert_logits.shape[2] != num_classes:
        raise ConfigError(f"expert_logits have {expert_logits.shape[2]} classes but "
                          f"class_counts has {num_classes}")
    return expert_logits


def sade_loss(expert_logits: torch.Tensor, targets: torch.Tensor, class_counts,
              lambda_: float = 2.0) -> torch.Tensor:
    """``CE(z_1, y) + CE(z_2 + log π, y) + CE(z_3 + log π − λ log π̄, y)`` (SADE's
    training loss), each term a batch mean. ``expert_logits``: ``(N, 3, C)``."""
    offsets = expert_offsets(class_counts, lambda_)
    expert_logits = _experts(expert_logits, offsets.shape[1])
    adjusted = expert_logits + offsets.to(expert_logits)
    return sum(F.cross_entropy(adjusted[:, k], targets) for k in range(NUM_EXPERTS))


@register("sade")
class SADELoss(nn.Module):
    """:func:`sade_loss` as a registered loss, called as ``loss(expert_logits, targets)``
    with the three experts' logits stacked, ``(N, 3, C)`` (``takes_experts``: a model with
    :class:`ExpertHeads` gives them). Predict with the experts' mean logits, or with
    :func:`aggregate` and weights from :func:`learn_aggregation_weights`."""

    takes_experts = True  # the logits of the three experts, (N, 3, C), not one head's
    parameter_constraints = {"lambda_": LAMBDA}

    def __init__(self, class_counts: torch.Tensor | None = None, lambda_: float = 2.0):
        super().__init__()
        LAMBDA.check("lambda_", lambda_)
        self.lambda_ = lambda_
        offsets = None if class_counts is None else expert_offsets(class_counts, lambda_)
        self.register_buffer("offsets", None if offsets is None
                             else offsets.to(torch.get_default_dtype()))

    def forward(self, expert_logits, targets):
        if self.offsets is None:
            raise ConfigError("loss 'sade' needs class_counts (training images per class); "
                              "build it with lt_lab.losses.build('sade', class_counts=[...])")
        expert_logits = _experts(expert_logits, self.offsets.shape[1])
        adjusted = expert_logits + self.offsets.to(expert_logits)
        return sum(F.cross_entropy(adjusted[:, k], targets) for k in range(NUM_EXPERTS))

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}"


class ExpertHeads(nn.Module):
    """Three classifier heads on shared features, output ``(N, 3, C)``: linear heads
    (``scale=None``), or cosine heads ``scale · cos(h, w_c)`` (SADE's ``use_norm`` heads,
    ``scale=30``). Registered as the head ``"experts"`` (cosine, scale 30): a config with
    ``head="experts", loss="sade"`` trains SADE's experts, and the model predicts with
    their mean logits (:meth:`lt_lab.models.Classifier.forward`)."""

    outputs_experts = True  # logits (N, 3, C): a loss with takes_experts reads them

    def __init__(self, feature_dim: int, num_classes: int, scale: float | None = 30.0):
        super().__init__()
        Interval(int, 1, None).check("feature_dim", feature_dim)
        Interval(int, 2, None).check("num_classes", num_classes)
        Optional(Interval(float, 0, None, closed="neither")).check("scale", scale)
        self.scale = scale
        self.heads = nn.ModuleList(nn.Linear(feature_dim, num_classes, bias=scale is None)
                                   for _ in range(NUM_EXPERTS))

    def forward(self, features):
        if self.scale is None:
            return torch.stack([head(features) for head in self.heads], dim=1)
        unit = F.normalize(features, dim=1)
        return torch.stack([self.scale * unit @ F.normalize(head.weight, dim=1).T
                            for head in self.heads], dim=1)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


EXTRA_HEADS["experts"] = ExpertHeads


# --- test-time aggregation ------------------------------------------------------------------


def aggregate(expert_logits: torch.Tensor, weights=None) -> torch.Tensor:
    """``Σ_k w_k z_k``, shape ``(N, C)``: the experts' logits weighted by ``weights``
    (summing to 1; ``None``: ``1/3`` each, SADE's output without aggregation)."""
    expert_logits = _experts(expert_logits)
    if weights is None:
        return expert_logits.mean(dim=1)
    weights = torch.as_tensor(weights).to(expert_logits)
    if weights.shape != (NUM_EXPERTS,):
        raise ConfigError(f"weights must be {NUM_EXPERTS} numbers; got {weights.tolist()}")
    return torch.einsum("nkc,k->nc", expert_logits, weights)


def prediction_stability(view1: torch.Tensor, view2: torch.Tensor, weights=None
                         ) -> torch.Tensor:
    """``mean_i cos(softmax(ẑ(x'_i)), softmax(ẑ(x''_i)))``, ``ẑ`` the aggregated logits
    (:func:`aggregate`) of the two views ``view1``, ``view2`` (each ``(N, 3, C)``)."""
    if view1.shape != view2.shape:
        raise ConfigError(f"view1 and view2 must have the same shape; got "
                          f"{tuple(view1.shape)} and {tuple(view2.shape)}")
    p1 = F.softmax(aggregate(view1, weights), dim=1)
    p2 = F.softmax(aggregate(view2, weights), dim=1)
    return F.cosine_similarity(p1, p2, dim=1, eps=COSINE_EPS).mean()


def learn_aggregation_weights(view1: torch.Tensor, view2: torch.Tensor, *, epochs: int = 5,
                              batch_size: int | None = 128, lr: float = 0.1,
                              momentum: float = 0.9, weight_decay: float = 5e-4,
                              nesterov: bool = True, min_weight: float = 0.05,
                              seed: int = 0) -> torch.Tensor:
    """SADE's test-time aggregation weights ``w = softmax(ω)``, shape ``(3,)``, learned on
    the frozen experts' logits of two views of unlabelled test images (each ``(N, 3, C)``).

    ``ω`` starts at ``1/3`` each; every epoch visits the images in a random order (from
    ``seed``) in batches of ``batch_size`` (``None``: the whole set, one step an epoch), one
    SGD step (``lr``, ``momentum``, ``weight_decay``, ``nesterov``) a batch on
    ``−``:func:`prediction_stability`; after an epoch, training stops once a weight is below
    ``min_weight``. SADE's CIFAR-100-LT settings throughout (module docstring).
    """
    Interval(int, 1, None).check("epochs", epochs)
    Optional(Interval(int, 1, None)).check("batch_size", batch_size)
    Interval(float, 0, None, closed="neither").check("lr", lr)
    Interval(float, 0, 1, closed="left").check("momentum", momentum)
    Interval(float, 0, None).check("weight_decay", weight_decay)
    Flag().check("nesterov", nesterov)
    Interval(float, 0, 1 / NUM_EXPERTS).check("min_weight", min_weight)
    Interval(int, 0, None).check("seed", seed)
    if nesterov and momentum == 0:
        raise ConfigError("nesterov=True needs momentum > 0")
    _experts(view1)
    if view1.shape != view2.shape:
        raise ConfigError(f"view1 and view2 must have the same shape; got "
                          f"{tuple(view1.shape)} and {tuple(view2.shape)}")
    view1, view2 = view1.detach(), view2.detach()
    raw = torch.full((NUM_EXPERTS,), 1.0 / NUM_EXPERTS, dtype=view1.dtype,
                     device=view1.device, requires_grad=True)
    optimizer = torch.optim.SGD([raw], lr=lr, momentum=momentum, weight_decay=weight_decay,
                                nesterov=nesterov)
    generator = torch.Generator().manual_seed(seed)
    n = view1.shape[0]
    step = n if batch_size is None else batch_size
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(view1.device)
        for start in range(0, n, step):
            batch = order[start:start + step]
            loss = -prediction_stability(view1[batch], view2[batch], F.softmax(raw, dim=0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if (F.softmax(raw.detach(), dim=0) < min_weight).any():
            break
    return F.softmax(raw.detach(), dim=0)
