r"""The unconstrained-features model (UFM) of the supervised contrastive loss: one free
feature vector per training example, optimised directly, in seconds on a CPU.

Kini et al., "Symmetric Neural-Collapse Representations with Supervised Contrastive Loss:
The Impact of ReLU and Batching" (ICLR 2024), study SCL's minimisers with the network
peeled away. Here every training example ``i`` (``N = Σ_c n_c`` of them, ``n_c =
class_counts[c]``, labels ``0 … C−1`` in blocks) owns a free ``h_i ∈ R^d``; the loss sees::

    z_i = normalize(h_i),   with h_i ≥ 0 (relu=True)   or h_i free (relu=False)

(:func:`lt_lab.beyond.contrastive.project`) and the simulator minimises

    L(h) = supcon_loss(z, y, τ)      (Khosla et al.'s L_out, one view, τ = 0.1)

over all ``h_i`` by gradient steps, on the whole set each step (``batch_size=None``) or on
mini-batches. What it measures is Kini et al.'s: the Gram matrix of the (uncentred) class
means of ``z`` against an orthogonal frame (``of_distance``) and a simplex ETF
(``etf_distance``), :func:`lt_lab.beyond.geometry.scl_geometry`. Their claims: with the
ReLU the means converge to an orthogonal frame at any imbalance; without it, balanced
classes give a simplex ETF and imbalance breaks the symmetry; with small mini-batches under
imbalance the symmetry is lost and batch-binding (:mod:`lt_lab.beyond.batch_binding`)
restores it.

**Mini-batches** are drawn as a data loader draws them: a fresh permutation of the ``N``
examples each epoch, cut into batches of ``batch_size`` (the last one shorter when ``N`` is
not a multiple), one optimiser step a batch. With ``binding=True`` every batch gets the
first example of each class appended (:func:`~lt_lab.beyond.batch_binding.batch_binding`,
the official code's ``--repeated_examples``; an example both drawn and bound appears twice
and is its own positive, as there). Bound and unbound runs of one seed draw the same
permutations, so their difference is the binding alone.

**The optimiser is Adam** (default ``lr=0.05``, ``steps=500``), not plain SGD, because
the loss is scale-invariant in each ``h_i`` (``normalize`` after a positively homogeneous
ReLU): the gradient is orthogonal to ``h_i`` and shrinks as ``1/‖h_i‖``, so SGD's steps
lengthen every ``‖h_i‖`` and slow themselves down, and each example's gradient is of order
``1/N`` (``1/B`` on a batch), so an SGD rate would have to be retuned for every class
count and batch size. Adam's per-coordinate steps are of size about ``lr`` in the
coordinates of ``h`` (initialised ``N(0, 1)``), whatever ``N``, ``B`` or the class. One
consequence for mini-batches: an example left out of a batch has zero gradient, yet
Adam's first moment keeps moving it for a few steps (decaying by β₁ = 0.9 a step), as
momentum does to any parameter.

**The ReLU is its range.** With ``relu=True`` the features live in the non-negative orthant,
as the output of a ReLU does, and the simulator keeps them there by projection: it starts from
``|h|`` and clamps every coordinate at 0 after each step (Kini et al.'s model constrains the
features to be non-negative). Putting a literal ReLU on free features instead fails: a
coordinate pushed below zero gets no gradient and stays dead for good, every example of a
class keeps its own support, and the means never reach the frame (an earlier version of this
module measured it). ``dead_features`` counts the examples whose ``z_i`` is 0 (none, with the
projection, unless a whole ``h_i`` is clamped to 0).

**What it shows** (chapter 6): at τ = 1 and ``d = 2C``, balanced classes reach an orthogonal
frame with the ReLU and a simplex ETF without it, from every start; under imbalance the
non-negative features still reach the frame, and the free ones neither. At ``d = C`` the
non-negative runs can stall at a partial frame. At τ = 0.1 (the networks') the loss barely
tells the geometries apart — a simplex ETF and an orthogonal frame of collapsed classes differ
by about 3·10⁻⁴ in loss at C = 10 — and a thousand steps leave the means where the classes
collapsed.
"""

from __future__ import annotations

import torch

from lt_lab.beyond.batch_binding import batch_binding
from lt_lab.beyond.contrastive import TEMPERATURE, project, supcon_loss
from lt_lab.beyond.geometry import class_means, scl_geometry
from lt_lab.config import SEED
from lt_lab.constraints import Flag, Interval, Optional, Sequence
from lt_lab.errors import ConfigError
from lt_lab.runtime import threads

CLASS_COUNTS = Sequence(Interval(int, 1, None), "examples per class (integers >= 1)",
                        "[50, 17, 5]", min_length=2)
BATCH_SIZE = Interval(int, 2, None, why="a batch of one example has no pair to contrast")


def example_labels(class_counts) -> torch.Tensor:
    """The labels of the UFM's ``N`` examples: ``n_0`` zeros, then ``n_1`` ones, …"""
    CLASS_COUNTS.check("class_counts", class_counts)
    return torch.arange(len(class_counts)).repeat_interleave(torch.tensor(list(class_counts)))


def ufm_batches(labels: torch.Tensor, batch_size: int, binding: bool,
                generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch of mini-batches (index tensors): a permutation from ``generator`` cut into
    batches of ``batch_size``, the last possibly shorter, each followed by the first example
    of every class when ``binding`` (:func:`~lt_lab.beyond.batch_binding.batch_binding`).
    Both branches draw the same permutation from the same generator state."""
    if binding:
        return batch_binding(labels, batch_size, generator=generator)
    order = torch.randperm(len(labels), generator=generator)
    return list(order.split(batch_size))


def batch_schedule(class_counts, batch_size: int, steps: int, *, binding: bool = False,
                   dim: int | None = None, seed: int = 0) -> list[torch.Tensor]:
    """The ``steps`` mini-batches (index tensors into the examples of :func:`example_labels`)
    that :func:`simulate_scl_ufm` with the same arguments trains on, epoch after epoch."""
    labels, batch_size, steps, binding, seed = _check(class_counts, batch_size, steps, binding,
                                                      seed)
    if batch_size is None:
        raise ConfigError("batch_size=None is the full batch: there is no schedule to draw")
    dim = _dim(dim, len(class_counts))
    return _draws(labels, dim, batch_size, steps, binding, seed)[1]


def _dim(dim, num_classes: int) -> int:
    dim = num_classes if dim is None else dim
    Interval(int, 1, None).check("dim", dim)
    return dim


def _draws(labels, dim, batch_size, steps, binding, seed):
    """The initial features, then the batches (None: full batch), from one generator."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(len(labels), dim, generator=generator, dtype=torch.float64)
    batches = (None if batch_size is None
               else _schedule(labels, batch_size, steps, binding, generator))
    return features, batches


def _check(class_counts, batch_size, steps, binding, seed):
    labels = example_labels(class_counts)
    Optional(BATCH_SIZE).check("batch_size", batch_size)
    Interval(int, 1, None).check("steps", steps)
    Flag().check("binding", binding)
    SEED.check("seed", seed)
    if binding and batch_size is None:
        raise ConfigError("binding=True needs mini-batches (an int batch_size); a full batch "
                          "(batch_size=None) already holds every class")
    return labels, batch_size, steps, binding, seed


def _schedule(labels, batch_size, steps, binding, generator) -> list[torch.Tensor]:
    batches: list[torch.Tensor] = []
    while len(batches) < steps:
        batches.extend(ufm_batches(labels, batch_size, binding, generator))
    return batches[:steps]


def simulate_scl_ufm(class_counts, *, dim: int | None = None, relu: bool = True,
                     temperature: float = 0.1, batch_size: int | None = None,
                     binding: bool = False, lr: float = 0.05, steps: int = 500,
                     trajectory_every: int = 50, seed: int = 0) -> dict:
    """Minimise SCL over free features (the module docstring's model); a JSON-ready record.

    ``class_counts``: examples per class (``[n_0, …, n_{C−1}]``, e.g.
    :func:`lt_lab.data.longtail.longtail_counts`). ``dim``: ``d`` (None: ``C``, the least
    dimension in which ``C`` orthogonal means fit). ``relu``: the ReLU before the
    normalisation. ``temperature``: SCL's τ. ``batch_size``: None for the full batch, an int
    ``B`` for shuffled mini-batches of ``B`` (plus ``C`` bound examples with ``binding``).
    ``lr``, ``steps``: Adam's rate and number of steps (one step a batch).
    ``trajectory_every``: the full-set loss and geometry are recorded every that many steps
    (and at the start and end). ``seed``: ``h`` is drawn i.i.d. ``N(0, 1)`` (float64) from
    ``torch.Generator().manual_seed(seed)``, then the batches from the same generator.

    Returns ``loss`` (SCL of the whole set at the end, whatever the batches),
    ``of_distance`` and ``etf_distance`` of the final ``z``, ``mean_norms`` (``‖μ_c‖`` of
    each class mean of ``z``, at most 1), ``dead_features`` (``z_i = 0``), ``trajectory``
    (``step``, ``loss``, ``of_distance``, ``etf_distance`` lists) and the arguments. The same
    arguments give the same record, bit for bit (one CPU thread, float64).
    """
    labels, batch_size, steps, binding, seed = _check(class_counts, batch_size, steps, binding,
                                                      seed)
    num_classes = len(class_counts)
    dim = _dim(dim, num_classes)
    Flag().check("relu", relu)
    TEMPERATURE.check("temperature", temperature)
    Interval(float, 0, None, closed="neither").check("lr", lr)
    Interval(int, 1, None).check("trajectory_every", trajectory_every)
    with threads(1):
        record = _simulate(labels, num_classes, dim, relu, temperature, batch_size, binding,
                           lr, steps, trajectory_every, seed)
    return {"class_counts": [int(n) for n in class_counts], "dim": dim, "relu": relu,
            "temperature": temperature, "batch_size": batch_size, "binding": binding,
            "optimizer": "adam", "lr": lr, "steps": steps, "seed": seed, **record}


def _simulate(labels, num_classes, dim, relu, temperature, batch_size, binding, lr, steps,
              trajectory_every, seed) -> dict:
    features, batches = _draws(labels, dim, batch_size, steps, binding, seed)
    if relu:  # the ReLU's range: non-negative features, kept there by projection
        features = features.abs()
    features.requires_grad_()
    optimizer = torch.optim.Adam([features], lr=lr)
    trajectory: dict[str, list] = {"step": [], "loss": [], "of_distance": [],
                                   "etf_distance": []}

    def record(step: int) -> None:
        with torch.no_grad():
            z = project(features, relu=False)
            shape = scl_geometry(z, labels, num_classes)
            trajectory["step"].append(step)
            trajectory["loss"].append(float(supcon_loss(z, labels, temperature)))
            trajectory["of_distance"].append(shape["of_distance"])
            trajectory["etf_distance"].append(shape["etf_distance"])

    record(0)
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        if batches is None:
            loss = supcon_loss(project(features, relu=False), labels, temperature)
        else:
            index = batches[step - 1]
            loss = supcon_loss(project(features[index], relu=False), labels[index], temperature)
        loss.backward()
        optimizer.step()
        if relu:
            with torch.no_grad():
                features.clamp_(min=0.0)
        if step % trajectory_every == 0 or step == steps:
            record(step)
    with torch.no_grad():
        z = project(features, relu=False)
        norms = class_means(z, labels, num_classes).norm(dim=1)
        dead = int((z.abs().sum(1) == 0).sum())
    return {"loss": trajectory["loss"][-1], "of_distance": trajectory["of_distance"][-1],
            "etf_distance": trajectory["etf_distance"][-1], "mean_norms": norms.tolist(),
            "dead_features": dead, "trajectory": trajectory}


def shape_losses(num_classes: int, per_class: int, temperature: float = 0.1) -> dict:
    """SCL of perfectly collapsed balanced classes (every example of class ``c`` at its class's
    vertex) when the vertices form a simplex ETF or an orthogonal frame (in ``R^C``): how much
    the loss prefers one shape to the other at ``temperature``."""
    Interval(int, 2, None).check("num_classes", num_classes)
    Interval(int, 1, None).check("per_class", per_class)
    TEMPERATURE.check("temperature", temperature)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    eye = torch.eye(num_classes, dtype=torch.float64)
    shapes = {"orthogonal frame": eye, "simplex ETF": eye - 1.0 / num_classes}
    return {name: float(supcon_loss(vertices[labels], labels, temperature))
            for name, vertices in shapes.items()}
