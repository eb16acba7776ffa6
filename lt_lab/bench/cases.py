"""What the benchmark measures: its fixed settings, configs and data.

On the CPU: the small CNN and ResNet-8 on Fashion-MNIST-LT (the quick profile's data,
ρ=100); on CUDA: ResNet-32 on CIFAR-shaped random images with the CIFAR-10-LT ρ=100 counts
(:func:`synthetic_cifar`: no download; throughput does not depend on the pixels).
"""

from __future__ import annotations

import sys

import torch

from lt_lab.config import RunConfig, make_config
from lt_lab.data import longtail_counts
from lt_lab.train import TrainingData, prepare_data

BENCH_DATASETS = ("fashion_mnist", "synthetic_cifar")
BATCH_SIZE = 128
OPTIMISER = {"name": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 2e-4}
DEFAULT_MODELS = {"cpu": ("small_cnn", "resnet8"), "cuda": ("resnet32",)}
CIFAR10_LT_COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # ρ=100, n_max=5000


def say(message: str) -> None:
    """Print one line in one write: lines of runs that share a terminal stay whole."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def synthetic_cifar(
    n_max: int = 5000, imbalance_ratio: float = 100.0, test_per_class: int = 1000,
    device: torch.device | str = "cpu", seed: int = 0,
) -> TrainingData:
    """Random uint8 3×32×32 images with CIFAR-10-LT counts and CIFAR-10's normalisation.

    With ``n_max=5000`` and ρ=100 the counts are :data:`CIFAR10_LT_COUNTS` (12,406 images).
    Labels are ranks (0 = head) as in :func:`lt_lab.train.prepare_data`; the balanced test
    set is random too, so any accuracy is chance: this data is for timing only.
    """
    counts = longtail_counts(n_max, 10, imbalance_ratio, "exp")
    generator = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, 3, 32, 32), generator=generator, dtype=torch.uint8)

    train_labels = torch.repeat_interleave(torch.arange(10), torch.tensor(counts))
    test_labels = torch.arange(10).repeat_interleave(test_per_class)
    recipe = RunConfig(dataset="cifar10").recipe
    return TrainingData(
        train_images=images(len(train_labels)).to(device),
        train_labels=train_labels.to(device),
        test_images=images(len(test_labels)).to(device),
        test_labels=test_labels.to(device),
        class_counts=counts,
        class_names=[f"class_{c}" for c in range(10)],
        mean=torch.tensor(recipe.mean, device=device).view(1, 3, 1, 1),
        std=torch.tensor(recipe.std, device=device).view(1, 3, 1, 1),
    )


def bench_config(dataset: str, model: str, device: torch.device, profile: str = "quick",
                 seed: int = 0, n_max: int | None = None, compile: str = "off",
                 precision: str | None = None) -> RunConfig:
    """The run config every measurement shares (synthetic data borrows CIFAR-10's recipe);
    ``precision``: the profile's unless given."""
    sizes = {} if n_max is None else {"n_max": n_max}
    if precision is not None:
        sizes["precision"] = precision
    return make_config(
        profile, dataset="cifar10" if dataset == "synthetic_cifar" else dataset,
        model=model, imbalance_ratio=100.0, batch_size=BATCH_SIZE, lr=OPTIMISER["lr"],
        momentum=OPTIMISER["momentum"], weight_decay=OPTIMISER["weight_decay"],
        warmup_epochs=0, lr_schedule="constant", sampler="instance", loss="ce", seed=seed,
        device=device.type, compile=compile, **sizes,
    )


def load_bench_data(dataset: str, config: RunConfig, device: torch.device) -> TrainingData:
    """The training and test tensors of a benchmark case, on ``device``."""
    if dataset == "synthetic_cifar":
        n_max = config.n_max or config.recipe.n_max
        return synthetic_cifar(n_max, config.imbalance_ratio,
                               test_per_class=config.test_per_class or 1000, device=device)
    return prepare_data(config, device)
