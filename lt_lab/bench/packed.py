"""Packed throughput: K runs trained as one batched model (:mod:`lt_lab.pack`) as a pipeline.

``packed_K`` trains K members (the benchmark's config at seeds seed..seed+K-1) through
:class:`lt_lab.pack.Pack` itself, whole epochs of each member's sampler; it counts the
images of all members, so its images/s is the aggregate: K runs' worth of training a second.
"""

from __future__ import annotations

import torch

from lt_lab.bench.pipelines import images_per_epoch, steps_per_epoch
from lt_lab.loop import learning_rate
from lt_lab.pack import Pack

DEFAULT_WIDTHS = {"cpu": (1, 4, 16), "cuda": (1, 4, 16, 64)}
QUICK_WIDTHS = (1, 2)


class PackedPipeline:
    """``width`` runs as one packed model, trained epoch by epoch as ``fit_pack`` does."""

    def __init__(self, config, data, device: torch.device, width: int):
        self.name, self.width, self.config = f"packed_{width}", width, config
        members = [config.replace(pack=width, seed=config.seed + k) for k in range(width)]
        self.pack = Pack(members, data, device)
        self.epoch = 0

    def _epoch(self, steps: int | None = None) -> None:
        self.pack.set_lr(learning_rate(self.config, self.epoch))
        self.pack.epoch(self.epoch, steps)
        self.epoch += 1

    def warm_up(self, steps: int) -> None:
        if steps:
            self._epoch(steps)

    def run(self, epochs: int) -> tuple[int, int]:
        """Train whole epochs of every member; the images (all members') and steps."""
        for _ in range(epochs):
            self._epoch()
        n, batch = len(self.pack.samplers[0]), self.config.batch_size
        return (epochs * self.width * images_per_epoch(n, batch),
                epochs * steps_per_epoch(n, batch))

    def close(self) -> None:
        pass
