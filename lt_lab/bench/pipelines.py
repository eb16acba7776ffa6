"""The trainer and the ceiling as benchmark pipelines (the DataLoader recipe is in
:mod:`lt_lab.bench.baselines`).

A pipeline builds its model, loss and optimiser exactly as :func:`lt_lab.train.fit` does and
offers ``warm_up(steps)`` (untimed), ``run(epochs) -> (images, steps)`` (timed) and
``close()``. Every pipeline trains through :func:`lt_lab.train.train_step`, so they time the
same step and differ only in how the batches reach it.
"""

from __future__ import annotations

import torch

from lt_lab.data import build_sampler
from lt_lab.loop import learning_rate
from lt_lab.runtime import seed_everything
from lt_lab.train import build_training, train_epoch, train_step, training_backbone


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches :func:`train_epoch` runs over ``n`` indices (it skips a last batch of 1)."""
    return n // batch_size + (1 if n % batch_size >= 2 else 0)


def images_per_epoch(n: int, batch_size: int) -> int:
    """Images :func:`train_epoch` trains on over ``n`` indices (it skips a last one alone)."""
    return n - (1 if n % batch_size == 1 else 0)


def build(config, data, device: torch.device):
    """Model, loss and optimiser exactly as :func:`lt_lab.train.fit` builds them."""
    seed_everything(config.seed)
    return build_training(config, data, device)


class _FirstIndices:
    """A sampler that yields only the first ``count`` indices of each epoch (warm-up)."""

    def __init__(self, sampler, count: int):
        self.sampler, self.count = sampler, count

    def epoch_indices(self, epoch, generator):
        return self.sampler.epoch_indices(epoch, generator)[: self.count]


class TrainerPipeline:
    """lt_lab's trainer: :func:`lt_lab.train.train_epoch` on what ``fit`` builds."""

    name = "trainer"

    def __init__(self, config, data, device):
        self.config, self.data, self.device = config, data, device
        self.model, self.loss_fn, self.optimizer = build(config, data, device)
        self.backbone = training_backbone(self.model, config)
        self.sampler = build_sampler(config.sampler, data.train_labels, data.num_classes,
                                     config.epochs)
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.epoch = 0

    def _epoch(self, sampler) -> None:
        lr = learning_rate(self.config, self.epoch)  # as fit, every epoch
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        train_epoch(self.model, self.loss_fn, self.optimizer, sampler, self.data, self.config,
                    self.epoch, self.generator, self.backbone)
        self.epoch += 1

    def warm_up(self, steps: int) -> None:
        if steps:
            self._epoch(_FirstIndices(self.sampler, steps * self.config.batch_size))

    def run(self, epochs: int) -> tuple[int, int]:
        """Train whole epochs; the images and steps processed."""
        for _ in range(epochs):
            self._epoch(self.sampler)
        n, batch = len(self.sampler), self.config.batch_size
        return epochs * images_per_epoch(n, batch), epochs * steps_per_epoch(n, batch)

    def close(self) -> None:
        pass


class CeilingPipeline:
    """Forward/backward/step on one normalised batch already on the device: no pipeline.

    ``name`` tells it apart when the ceiling is measured at a second precision
    (``"ceiling_fp32"`` beside a bf16 trainer)."""

    name = "ceiling"

    def __init__(self, config, data, device, name: str = "ceiling"):
        self.device, self.config, self.name = device, config, name
        self.model, self.loss_fn, self.optimizer = build(config, data, device)
        self.backbone = training_backbone(self.model, config)
        self.model.train()
        batch = min(config.batch_size, len(data.train_labels))
        self.x = data.normalise(data.train_images[:batch]).contiguous(
            memory_format=torch.channels_last)
        self.y = data.train_labels[:batch]
        # as many steps an epoch as the trainer
        self.steps = steps_per_epoch(len(data.train_labels), config.batch_size)

    def _train(self, steps: int) -> None:
        for _ in range(steps):
            train_step(self.model, self.backbone, self.loss_fn, self.optimizer, self.x,
                       self.y, self.config)

    def warm_up(self, steps: int) -> None:
        self._train(steps)

    def run(self, epochs: int) -> tuple[int, int]:
        self._train(epochs * self.steps)
        return epochs * self.steps * len(self.y), epochs * self.steps

    def close(self) -> None:
        pass
