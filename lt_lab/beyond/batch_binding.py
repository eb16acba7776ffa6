r"""Batch-binding: every mini-batch holds the same ``C`` examples, one of each class.

Kini et al., "Symmetric Neural-Collapse Representations with Supervised Contrastive Loss:
The Impact of ReLU and Batching" (ICLR 2024). Under imbalance, whether SCL (with a
last-layer ReLU) reaches its symmetric geometry, an orthogonal frame, depends on how the
mini-batches are drawn: a batch missing a class leaves that class's features free to move
within it. Binding every batch to a fixed set of examples, one per class, makes every
class interact in every batch; the paper shows this restores the invariant geometry.

What the official code does (valavakilian/SCL_Geometry_And_Batching, ``code/main.py`` and
``code/utils.py``, ``--repeated_examples``; read, not copied):

* the binding examples are the **first example of each class** in the training set's
  order, chosen once and the same for every batch of every epoch;
* each shuffled mini-batch of ``batch_size`` images gets those ``C`` examples appended
  (``batch_size + C`` images, so binding examples can appear twice in a batch: once drawn,
  once bound);
* the whole batch is then doubled with an augmented copy (two views, the contrastive
  loss's concern, not the batching's);
* the last, incomplete batch is skipped (the loop ``continue`` s on any batch whose size
  differs). Here ``drop_last=False`` keeps it, bound like the others, so that the epoch
  covers every training image as the engine's samplers do; ``drop_last=True`` reproduces
  the official loop.

The trainer binds by config: ``batch_binding=True`` appends :func:`binding_indices` (this
module registers it as ``"batch_binding"`` in :data:`lt_lab.data.samplers.BOUND_SETS`) to
every batch of whatever sampler the config names, so an ``"instance"`` run is
:func:`batch_binding` with ``drop_last=False`` (its batch of a single drawn image, which the
trainer leaves out, aside).
"""

from __future__ import annotations

import torch

from lt_lab.constraints import Flag, Interval
from lt_lab.data.samplers import BOUND_SETS, Sampler
from lt_lab.errors import ConfigError

BATCH_SIZE = Interval(int, 1, None)


def _labels(labels, num_classes: int | None) -> tuple[torch.Tensor, int]:
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or labels.numel() == 0 or labels.is_floating_point():
        raise ConfigError(f"labels must be a non-empty 1-D tensor of class indices; got "
                          f"shape {tuple(labels.shape)}, dtype {labels.dtype}")
    if (labels < 0).any():
        raise ConfigError(f"labels must be class indices >= 0; got {int(labels.min())}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    Interval(int, 1, None).check("num_classes", num_classes)
    if int(labels.max()) >= num_classes:
        raise ConfigError(f"labels hold class {int(labels.max())}, outside "
                          f"num_classes={num_classes}")
    return labels.long(), num_classes


def binding_indices(labels, num_classes: int | None = None) -> torch.Tensor:
    """The binding examples: the index of the first example of each class, class order
    (as the official code). Raises ConfigError if a class has no example."""
    labels, num_classes = _labels(labels, num_classes)
    positions = torch.arange(len(labels))
    first = torch.full((num_classes,), len(labels), dtype=torch.long)
    first = first.scatter_reduce(0, labels, positions, reduce="amin")
    missing = (first == len(labels)).nonzero().flatten().tolist()
    if missing:
        raise ConfigError(f"batch-binding needs an example of every class; classes {missing} "
                          "have none")
    return first


BOUND_SETS["batch_binding"] = binding_indices  # what a config's batch_binding=True appends


def batch_binding(labels, batch_size: int, seed: int = 0, *, num_classes: int | None = None,
                  drop_last: bool = False,
                  generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """One epoch of bound mini-batches: a list of index tensors, each ``batch_size``
    indices of a random permutation of the training set followed by the ``C``
    :func:`binding_indices` (so every batch holds every class).

    The permutation comes from ``torch.Generator().manual_seed(seed)`` (or from
    ``generator`` when given, e.g. the trainer's, advanced by the draw). Over the batches
    the permuted parts cover every index exactly once; the last batch has fewer drawn
    indices unless ``len(labels)`` is a multiple of ``batch_size``, or is dropped with
    ``drop_last=True`` (the official loop skips it).
    """
    BATCH_SIZE.check("batch_size", batch_size)
    Flag().check("drop_last", drop_last)
    bound = binding_indices(labels, num_classes)
    n = len(torch.as_tensor(labels))
    if generator is None:
        Interval(int, 0, None).check("seed", seed)
        generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator, device=generator.device).cpu()
    stop = n - n % batch_size if drop_last else n
    return [torch.cat([order[start:min(start + batch_size, stop)], bound])
            for start in range(0, stop, batch_size)]


class BatchBindingSampler(Sampler):
    """Batch-binding as an epoch of indices for a trainer that cuts them into consecutive
    batches: :func:`batch_binding`'s batches, concatenated. A trainer must cut them into
    batches of :attr:`step` ``= batch_size + C`` indices (``batch_size`` drawn, ``C``
    bound), the last batch possibly shorter; the draws use the trainer's generator."""

    def __init__(self, labels, num_classes, num_epochs=1, *, batch_size: int,
                 drop_last: bool = False):
        super().__init__(torch.as_tensor(labels), num_classes, num_epochs)
        BATCH_SIZE.check("batch_size", batch_size)
        Flag().check("drop_last", drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.binding = binding_indices(self.labels.cpu(), num_classes)

    @property
    def step(self) -> int:
        """Indices per full batch: ``batch_size`` drawn plus one bound example a class."""
        return self.batch_size + self.num_classes

    def epoch_indices(self, epoch, generator):
        batches = batch_binding(self.labels.cpu(), self.batch_size, num_classes=self.num_classes,
                                drop_last=self.drop_last, generator=generator)
        return torch.cat(batches).to(self.labels.device)

    def __len__(self) -> int:
        n = len(self.labels)
        full, rest = divmod(n, self.batch_size)
        batches = full + (1 if rest and not self.drop_last else 0)
        drawn = full * self.batch_size + (0 if self.drop_last else rest)
        return drawn + batches * self.num_classes
