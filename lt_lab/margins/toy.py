"""A 2-D toy for chapter 2: three imbalanced Gaussian classes and their decision boundaries.

Margins and logit adjustment are easiest to *see* in the plane. The chapter trains the same
small MLP on the same long-tailed points (default :data:`CLASS_COUNTS`, ρ = 100) with

* plain cross-entropy (``loss="ce"``),
* LDAM (``loss="ldam"``, ``head="cosine"``: LDAM expects cosine logits),
* the logit-adjusted loss (``loss="logit_adjusted"``, ``tau=1``),
* plain cross-entropy with post-hoc logit adjustment (``predict(..., posthoc_tau=1)``),

and draws the predicted class over the plane with :func:`plot_decision_regions`: CE hands
the rare classes a sliver around their few training points, the logit-adjusted loss and
post-hoc adjustment push the boundary towards the head class. In this toy LDAM alone moves
the boundary little; LDAM-DRW (``loss_params={"drw_start": 0.8}``: step 400 of 500) does.
Each model trains full-batch in well under a second on a CPU, and everything is
deterministic for a seed.

matplotlib (and the book's palette, :mod:`lt_lab.figures`) is imported only inside
:func:`plot_decision_regions`, so training and the tests of the numbers need no plotting
library. The chapter's figures of the toy are in :mod:`lt_lab.margins.figures`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from lt_lab import metrics
from lt_lab.errors import ConfigError, TrainingDivergedError, check_choice
from lt_lab.losses import build
from lt_lab.margins.losses import logit_adjust
from lt_lab.models import CosineClassifier

CLASS_COUNTS = (500, 50, 5)
"""The chapter's training counts per class: head, medium, tail (imbalance ratio ρ = 100)."""

TOY_HEADS = ("linear", "cosine")

# Seed streams: the training points and the balanced test points come from unrelated
# generators even when they share the user's ``seed`` (the model's initial weights come from
# ``torch.manual_seed(seed)``, a third stream).
_TRAIN_STREAM, _TEST_STREAM = 0, 1


def _generator(seed: int, stream: int) -> torch.Generator:
    """A torch generator for ``(seed, stream)``: distinct streams never share their draws."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & (2**63 - 1))


def class_means(num_classes: int, separation: float = 2.0) -> Tensor:
    """The class centres: ``separation · (cos 2πc/C, sin 2πc/C)``, shape ``(C, 2)``, float32.

    For ``C = 3`` an equilateral triangle with side ``separation · √3``.
    """
    angles = 2 * math.pi * torch.arange(num_classes, dtype=torch.float64) / num_classes
    return (separation * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def _check_counts(class_counts) -> list[int]:
    try:
        counts = [int(n) for n in class_counts]
    except (TypeError, ValueError):
        raise ConfigError(f"class_counts={class_counts!r} must be a list of integers") from None
    if len(counts) < 2 or any(n <= 0 for n in counts):
        raise ConfigError(
            f"class_counts={list(class_counts)!r} must hold at least 2 positive counts"
        )
    return counts


def _sample(counts: list[int], separation: float, std: float, generator: torch.Generator):
    if not (math.isfinite(separation) and separation >= 0):
        raise ConfigError(f"separation={separation!r} must be a finite number >= 0")
    if not (math.isfinite(std) and std > 0):
        raise ConfigError(f"std={std!r} must be a finite number > 0")
    means = class_means(len(counts), separation)
    points, labels = [], []
    for c, n in enumerate(counts):
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float32)
        points.append(means[c] + std * noise)
        labels.append(torch.full((n,), c, dtype=torch.int64))
    return torch.cat(points), torch.cat(labels)


def gaussian_classes(
    class_counts: Sequence[int], *, separation: float = 2.0, std: float = 1.0, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """A long-tailed 2-D training set: ``class_counts[c]`` points of class ``c``.

    Class ``c`` is an isotropic Gaussian with standard deviation ``std`` around
    :func:`class_means` (radius ``separation``, angle ``2πc/C``). Returns float32 points
    ``(N, 2)`` and int64 labels ``(N,)``, grouped by class (class 0 first). The same
    ``seed`` gives identical points.
    """
    counts = _check_counts(class_counts)
    return _sample(counts, float(separation), float(std), _generator(seed, _TRAIN_STREAM))


def balanced_test_set(
    num_classes: int,
    per_class: int = 1000,
    *,
    separation: float = 2.0,
    std: float = 1.0,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """A balanced test set from the same class distributions as :func:`gaussian_classes`.

    ``per_class`` points of each class, drawn from a different seed stream than the
    training points, so training and test points never coincide for the same ``seed``.
    On it balanced accuracy equals plain accuracy: every class weighs the same.
    """
    if int(num_classes) < 2:
        raise ConfigError(f"num_classes={num_classes!r} must be >= 2")
    counts = _check_counts([per_class] * int(num_classes))
    return _sample(counts, float(separation), float(std), _generator(seed, _TEST_STREAM))


class ToyModel(nn.Module):
    """A small MLP ``2 → hidden → hidden`` (ReLU) with a linear or cosine head.

    Like :class:`lt_lab.models.Classifier` it exposes ``.features`` (the MLP, output width
    ``feature_dim``) and ``.classifier`` (the head), so the chapter's tools for features and
    heads apply unchanged. ``head="cosine"`` gives logits in ``[−1, 1]``, what LDAM needs.
    """

    def __init__(self, num_classes: int, *, hidden: int = 32, head: str = "linear"):
        super().__init__()
        check_choice("head", head, TOY_HEADS)
        self.num_classes, self.head, self.feature_dim = int(num_classes), head, int(hidden)
        self.features = nn.Sequential(
            nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        if head == "cosine":
            self.classifier = CosineClassifier(hidden, self.num_classes)
        else:
            self.classifier = nn.Linear(hidden, self.num_classes)
        self.train_losses: list[float] = []  # filled by train_toy: the loss before each step

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


@torch.no_grad()
def _sgd_step(parameters, gradients, velocities, lr: float, weight_decay: float) -> None:
    """One step of SGD with momentum 0.9, the update of ``torch.optim.SGD`` (no dampening).

    ``v ← 0.9 v + (g + λ w)``, ``w ← w − lr · v``. Written out because constructing any
    ``torch.optim`` optimiser first imports ``torch._dynamo`` (about 2 s with torch 2.13),
    longer than training a toy model.
    """
    for weight, gradient, velocity in zip(parameters, gradients, velocities, strict=True):
        velocity.mul_(0.9).add_(gradient).add_(weight, alpha=weight_decay)
        weight.sub_(velocity, alpha=lr)


def train_toy(
    points: Tensor,
    labels: Tensor,
    *,
    loss: str = "ce",
    loss_params: dict | None = None,
    head: str = "linear",
    steps: int = 500,
    lr: float = 0.05,
    weight_decay: float = 5e-4,
    seed: int = 0,
) -> ToyModel:
    """Train a :class:`ToyModel` full-batch on ``(points, labels)`` and return it (eval mode).

    The loss is ``lt_lab.losses.build(loss, class_counts, **loss_params)`` with the class
    counts taken from ``labels``; a loss with a schedule (LDAM-DRW) gets
    ``set_epoch(step, steps)`` before every step, so ``drw_start`` is a fraction of the steps here.

    The optimiser is SGD with momentum 0.9 and ``weight_decay`` (:func:`_sgd_step`): on
    these few hundred points it reaches a stable boundary within 500 full-batch steps for
    CE, LDAM and the logit-adjusted loss alike. (Adam with lr 0.01 fitted the training
    points as closely but gave the logit-adjusted loss a lower, more seed-dependent
    balanced accuracy.) ``seed`` fixes the initial weights; the global torch RNG is left
    as it was. The loss before each step is kept in ``model.train_losses``. Raises
    :class:`~lt_lab.errors.TrainingDivergedError` if the loss stops being finite.
    """
    points, labels = torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(labels)
    if points.dim() != 2 or points.shape[1] != 2 or labels.shape != points.shape[:1]:
        raise ConfigError(
            f"points must be (N, 2) and labels (N,), got {tuple(points.shape)} and "
            f"{tuple(labels.shape)}"
        )
    if int(steps) < 1:
        raise ConfigError(f"steps={steps!r} must be >= 1")
    labels = labels.long()
    class_counts = torch.bincount(labels)
    if (class_counts == 0).any():
        missing = torch.nonzero(class_counts == 0).flatten().tolist()
        raise ConfigError(f"classes {missing} have no training points")
    criterion = build(loss, class_counts.tolist(), **(loss_params or {}))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ToyModel(len(class_counts), head=head)
    parameters = list(model.parameters())
    velocities = [torch.zeros_like(p) for p in parameters]
    model.train()
    for step in range(int(steps)):
        if hasattr(criterion, "set_epoch"):
            criterion.set_epoch(step, int(steps))
        value = criterion(model(points), labels)
        if not torch.isfinite(value):
            raise TrainingDivergedError(f"toy loss {loss!r} became {value.item()} at step {step}")
        model.train_losses.append(value.item())
        gradients = torch.autograd.grad(value, parameters)
        _sgd_step(parameters, gradients, velocities, lr, weight_decay)
    return model.eval()


@torch.no_grad()
def predict(
    model: nn.Module, points: Tensor, *, class_counts=None, posthoc_tau: float = 0.0
) -> Tensor:
    """Predicted classes (int64): ``argmax z``, or ``argmax (z − τ log π)`` when τ > 0.

    ``posthoc_tau > 0`` applies post-hoc logit adjustment (Menon et al. 2021) with the
    *training* ``class_counts``, which it then requires.
    """
    tau = float(posthoc_tau)
    if not (math.isfinite(tau) and tau >= 0):
        raise ConfigError(f"posthoc_tau={posthoc_tau!r} must be a finite number >= 0")
    if tau > 0 and class_counts is None:
        raise ConfigError(
            "post-hoc logit adjustment (posthoc_tau > 0) needs the training class_counts"
        )
    was_training = model.training
    model.eval()
    logits = model(torch.as_tensor(points, dtype=torch.float32))
    model.train(was_training)
    if tau > 0:
        logits = logit_adjust(logits, class_counts, tau)
    return logits.argmax(dim=1)


def score(model: nn.Module, points: Tensor, labels: Tensor, **predict_kwargs) -> float:
    """Balanced accuracy (:func:`lt_lab.metrics.balanced_accuracy`) of ``model`` on
    ``(points, labels)``, in [0, 1].

    ``predict_kwargs`` go to :func:`predict` (``class_counts``, ``posthoc_tau``).
    """
    labels = torch.as_tensor(labels).long()
    predictions = predict(model, points, **predict_kwargs)
    num_classes = getattr(model, "num_classes", int(labels.max()) + 1)
    return metrics.balanced_accuracy(predictions, labels, num_classes)


def recall(model: nn.Module, points: Tensor, labels: Tensor, **predict_kwargs) -> list[float]:
    """Per-class recall of ``model`` on ``(points, labels)``, head first, in [0, 1]: the share
    of each class's points on its own side of the boundary (:func:`score` is their mean).

    ``predict_kwargs`` go to :func:`predict` (``class_counts``, ``posthoc_tau``).
    """
    labels = torch.as_tensor(labels).long()
    predictions = predict(model, points, **predict_kwargs)
    num_classes = getattr(model, "num_classes", int(labels.max()) + 1)
    return metrics.per_class_accuracy(predictions, labels, num_classes).tolist()


def plot_decision_regions(
    model: nn.Module,
    points: Tensor,
    labels: Tensor,
    *,
    class_counts=None,
    posthoc_tau: float = 0.0,
    ax=None,
    title: str | None = None,
    grid_size: int = 200,
):
    """The predicted class over the plane, with the (training) points on top; returns ax.

    Regions are coloured (the book's palette) by :func:`predict` on a ``grid_size ×
    grid_size`` grid over the points' bounding box plus a margin; ``class_counts``/
    ``posthoc_tau`` as in :func:`predict`. Points are drawn head class first, so the rare
    classes lie on top.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from lt_lab.figures import colours as book_colours

    points = torch.as_tensor(points, dtype=torch.float32)
    labels = torch.as_tensor(labels).long()
    num_classes = getattr(model, "num_classes", int(labels.max()) + 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")

    low, high = points.min(dim=0).values, points.max(dim=0).values
    pad = 0.1 * (high - low).max() + 0.5
    xs = torch.linspace(float(low[0] - pad), float(high[0] + pad), grid_size)
    ys = torch.linspace(float(low[1] - pad), float(high[1] + pad), grid_size)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
    grid = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)
    regions = predict(model, grid, class_counts=class_counts, posthoc_tau=posthoc_tau)

    colours = book_colours(num_classes)
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(num_classes + 1) - 0.5, num_classes)
    ax.contourf(grid_x.numpy(), grid_y.numpy(), regions.reshape(grid_size, grid_size).numpy(),
                levels=np.arange(num_classes + 1) - 0.5, cmap=cmap, norm=norm, alpha=0.3)

    counts = torch.bincount(labels, minlength=num_classes)
    for c in torch.argsort(counts, descending=True).tolist():
        if counts[c] == 0:
            continue
        mine = points[labels == c]
        rare = counts[c] < 0.1 * counts.max()
        ax.scatter(mine[:, 0].numpy(), mine[:, 1].numpy(), s=28 if rare else 8,
                   color=colours[c], edgecolors="black", linewidths=0.8 if rare else 0.2,
                   zorder=3, label=f"class {c} (n={int(counts[c])})")
    ax.set_xlim(float(xs[0]), float(xs[-1]))
    ax.set_ylim(float(ys[0]), float(ys[-1]))
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax
