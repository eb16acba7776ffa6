"""Samplers: which training images each epoch sees, as one index tensor on the device.

Two families, both seeded by a ``torch.Generator`` so a run is repeatable:

* class-weighted sampling with replacement (Kang et al. 2020, "Decoupling representation
  and classifier"): class ``c`` is drawn with probability ``q_c ∝ n_c ** power`` and an
  image uniformly within it. ``power = 1`` is instance-balanced in expectation, ``0``
  class-balanced, ``1/2`` square-root; "progressive" moves linearly from instance- towards
  class-balanced, ``q_c(t) = (1 - t/T) q_c^IB + (t/T) q_c^CB`` with ``t`` the epoch from 0
  and ``T`` the number of epochs, as in the paper (so the last epoch, t = T-1, is not quite
  balanced yet).
* resampling the data set once (Buda et al. 2018): random over-sampling repeats images of
  every class up to ``n_max``; under-sampling keeps ``n_min`` images of every class. The
  resampled set is drawn once, at the first epoch (unlike class-balanced sampling, which
  draws anew, with replacement, every epoch), and read as a stream of reshuffled passes.

Every sampler's epoch is ``len(labels)`` draws, so methods compared over the same number of
epochs take the same number of SGD steps: an over-sampled set larger than the data is not
seen whole each epoch, an under-sampled one smaller is passed over several times. (Before
version 2 an epoch was one pass over the resampled set: 4x the steps for over-sampling at
rho = 100 on the quick data, 1/25 for under-sampling; :data:`SAMPLER_VERSIONS`.)

"instance" is the plain shuffle of every image once an epoch, without replacement.
"""

from __future__ import annotations

import torch

from lt_lab.errors import ConfigError, check_choice
from lt_lab.plugins import Registered

SAMPLERS = (
    "instance",
    "class_balanced",
    "square_root",
    "progressive",
    "oversample",
    "undersample",
)
_POWER = {"class_balanced": 0.0, "square_root": 0.5}
# Bumped when what a sampler draws changes; part of the key of runs that use it
# (lt_lab.config), so only those runs are retrained.
SAMPLER_VERSIONS = {"oversample": 2, "undersample": 2}
# Fixed sets of training examples appended to every batch, by name: ``bound(labels,
# num_classes)`` -> their indices. A config's ``batch_binding`` looks up "batch_binding"
# (Kini et al. 2024, registered by lt_lab.beyond.batch_binding); the engine imports no family.
BOUND_SETS = Registered("families")


def class_probabilities(class_counts: torch.Tensor, power: float) -> torch.Tensor:
    """``q_c = n_c**power / sum_k n_k**power``: the probability of drawing class ``c``."""
    weights = class_counts.double() ** power
    return weights / weights.sum()


class Sampler:
    """Draws the indices of one epoch. Subclasses implement :meth:`epoch_indices`."""

    def __init__(self, labels: torch.Tensor, num_classes: int, num_epochs: int = 1):
        self.labels = labels
        self.num_classes = num_classes
        self.num_epochs = num_epochs
        self.class_counts = torch.bincount(labels, minlength=num_classes)
        if (self.class_counts == 0).any():
            empty = torch.nonzero(self.class_counts == 0).flatten().tolist()
            raise ConfigError(f"class_counts has classes with no images: {empty}")

    def epoch_indices(self, epoch: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def __len__(self) -> int:
        """Samples per epoch."""
        return len(self.labels)

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the sampler (its draws come from the run's generator,
        which the checkpoint keeps anyway): nothing, unless a subclass draws once and keeps."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""


class InstanceSampler(Sampler):
    """Every image once an epoch, in a fresh random order."""

    def epoch_indices(self, epoch, generator):
        n = len(self.labels)
        return torch.randperm(n, generator=generator, device=generator.device).to(
            self.labels.device
        )


class ClassWeightedSampler(Sampler):
    """Draw ``len(labels)`` images with replacement, class ``c`` with probability ``q_c``."""

    def __init__(self, labels, num_classes, num_epochs=1, *, power: float | None = None):
        super().__init__(labels, num_classes, num_epochs)
        self.power = power  # None: progressive

    def class_probabilities(self, epoch: int) -> torch.Tensor:
        if self.power is not None:
            return class_probabilities(self.class_counts, self.power)
        progress = epoch / max(self.num_epochs, 1)
        instance = class_probabilities(self.class_counts, 1.0)
        balanced = class_probabilities(self.class_counts, 0.0)
        return (1 - progress) * instance + progress * balanced

    def epoch_indices(self, epoch, generator):
        per_class = self.class_probabilities(epoch) / self.class_counts.double()
        per_sample = per_class[self.labels].to(generator.device)
        drawn = torch.multinomial(per_sample, len(self.labels), True, generator=generator)
        return drawn.to(self.labels.device)


class ResampledSetSampler(Sampler):
    """Resample every class to ``target`` images once, then shuffle that set each epoch."""

    def __init__(self, labels, num_classes, num_epochs=1, *, target: str):
        super().__init__(labels, num_classes, num_epochs)
        self.target = target
        self._indices: torch.Tensor | None = None

    def _resample(self, generator: torch.Generator) -> torch.Tensor:
        counts = self.class_counts
        size = int(counts.max() if self.target == "max" else counts.min())
        chosen = []
        for c in range(self.num_classes):
            members = torch.nonzero(self.labels == c).flatten().to(generator.device)
            order = torch.randperm(len(members), generator=generator, device=generator.device)
            if size <= len(members):  # under-sampling: a random subset
                chosen.append(members[order[:size]])
                continue
            extra = torch.randint(
                len(members), (size - len(members),), generator=generator, device=generator.device
            )
            chosen.append(torch.cat([members, members[extra]]))  # all originals, then repeats
        return torch.cat(chosen).to(self.labels.device)

    @property
    def resampled(self) -> torch.Tensor | None:
        """The resampled set (image indices, repeats included); None before the first epoch."""
        return self._indices

    def state_dict(self) -> dict:
        """The resampled set, drawn once (a resumed run must shuffle the same set)."""
        return {"indices": self._indices}

    def load_state_dict(self, state: dict) -> None:
        indices = state["indices"]
        self._indices = None if indices is None else indices.to(self.labels.device)

    def epoch_indices(self, epoch, generator):
        """``len(labels)`` draws: reshuffled passes over the resampled set, concatenated."""
        if self._indices is None:
            self._indices = self._resample(generator)
        size = len(self._indices)
        passes = -(-len(self.labels) // size)
        orders = [torch.randperm(size, generator=generator, device=generator.device)
                  for _ in range(passes)]
        order = torch.cat(orders)[: len(self.labels)]
        return self._indices[order.to(self._indices.device)]

    def __len__(self) -> int:
        return len(self.labels)


def build_sampler(
    name: str, labels: torch.Tensor, num_classes: int, num_epochs: int = 1
) -> Sampler:
    """The sampler called ``name`` (one of :data:`SAMPLERS`) over ``labels``."""
    check_choice("sampler", name, SAMPLERS)
    if name == "instance":
        return InstanceSampler(labels, num_classes, num_epochs)
    if name in _POWER:
        return ClassWeightedSampler(labels, num_classes, num_epochs, power=_POWER[name])
    if name == "progressive":
        return ClassWeightedSampler(labels, num_classes, num_epochs, power=None)
    target = "max" if name == "oversample" else "min"
    return ResampledSetSampler(labels, num_classes, num_epochs, target=target)
