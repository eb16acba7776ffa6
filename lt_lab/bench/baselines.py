"""The conventional recipe the trainer is measured against: what a user would otherwise write.

A ``torch.utils.data.Dataset`` of the same uint8 images on the CPU whose ``__getitem__``
crops (with zero padding), flips, converts and normalises one image at a time (as
torchvision transforms do), a ``DataLoader`` with worker processes, then the trainer's own
step on the device (:func:`lt_lab.train.train_step`: channels-last, bf16 autocast on CUDA).
"""

from __future__ import annotations

import gc
import os

import torch
from torch.utils.data import DataLoader, Dataset

from lt_lab.bench.pipelines import build
from lt_lab.config import RunConfig
from lt_lab.train import TrainingData, train_step, training_backbone


def default_workers(device: torch.device) -> int:
    """DataLoader workers of the conventional recipe: 2 on the CPU, up to 8 on CUDA."""
    if device.type == "cuda":
        return min(8, os.cpu_count() or 1)
    return 2


def crop_window(image: torch.Tensor, padding: int, top: int, left: int) -> torch.Tensor:
    """Zero-pad one (C, H, W) image by ``padding`` and cut the H×W window at (top, left)."""
    if padding == 0:
        return image
    _, height, width = image.shape
    padded = torch.nn.functional.pad(image, (padding, padding, padding, padding))
    return padded[:, top : top + height, left : left + width]


class ConventionalDataset(Dataset):
    """The per-sample pipeline of a typical PyTorch script, in plain torch ops.

    ``__getitem__`` does what ``RandomCrop(size, padding) → RandomHorizontalFlip() →
    ConvertImageDtype(float) → Normalize(mean, std)`` does in torchvision: one image at a
    time, with the global torch RNG (seeded per worker by the DataLoader).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean, std,
                 padding: int, flip: bool):
        self.images = images.cpu()
        self.labels = labels.cpu()
        channels = self.images.shape[1]
        self.mean = torch.as_tensor(mean, dtype=torch.float32).reshape(channels, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).reshape(channels, 1, 1)
        self.padding, self.flip = padding, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index]
        if self.padding:
            top, left = torch.randint(0, 2 * self.padding + 1, (2,)).tolist()
            image = crop_window(image, self.padding, top, left)
        if self.flip and torch.rand(1).item() < 0.5:
            image = image.flip(-1)
        x = image.float().div(255)
        x = (x - self.mean) / self.std
        return x, int(self.labels[index])


def conventional_loader(data: TrainingData, config: RunConfig, device: torch.device,
                        workers: int, seed: int = 0) -> DataLoader:
    """A shuffling ``DataLoader`` over :class:`ConventionalDataset` with ``workers``."""
    recipe = config.recipe
    dataset = ConventionalDataset(data.train_images, data.train_labels, recipe.mean,
                                  recipe.std, recipe.crop_padding, recipe.flip)
    return DataLoader(
        dataset, batch_size=config.batch_size, shuffle=True, num_workers=workers,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


class ConventionalPipeline:
    """``ConventionalDataset`` through a ``DataLoader``, then the same step on the device."""

    name = "conventional"

    def __init__(self, config, data, device, workers: int):
        self.device, self.workers = device, workers
        self.model, self.loss_fn, self.optimizer = build(config, data, device)
        self.config, self.backbone = config, training_backbone(self.model, config)
        self.model.train()
        self.loader = conventional_loader(data, config, device, workers, config.seed)

    def _train(self, batches) -> tuple[int, int]:
        images = steps = 0
        for x, y in batches:
            if len(y) < 2:  # as the trainer: BatchNorm cannot train on one image
                continue
            x = x.to(self.device, non_blocking=True).contiguous(
                memory_format=torch.channels_last)
            y = y.to(self.device, non_blocking=True)
            train_step(self.model, self.backbone, self.loss_fn, self.optimizer, x, y,
                       self.config)
            images, steps = images + len(y), steps + 1
        return images, steps

    def warm_up(self, steps: int) -> None:
        """Starts the workers, which the timed epochs reuse (``persistent_workers``)."""
        if steps:
            iterator = iter(self.loader)
            self._train(next(iterator) for _ in range(min(steps, len(self.loader))))
            del iterator

    def run(self, epochs: int) -> tuple[int, int]:
        images = steps = 0
        for _ in range(epochs):
            done = self._train(self.loader)
            images, steps = images + done[0], steps + done[1]
        return images, steps

    def close(self) -> None:
        del self.loader
        gc.collect()  # shuts the persistent workers down
