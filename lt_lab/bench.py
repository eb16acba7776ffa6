"""``lt-lab bench``: the trainer's throughput beside the DataLoader recipe and the ceiling.

Three measurements in one process, for the same model, data, batch size, optimiser (SGD,
momentum 0.9, weight decay 2e-4, lr 0.05) and number of steps:

1. **trainer** — :func:`lt_lab.train.train_epoch` itself, on a model, loss, optimiser and
   sampler built as :func:`lt_lab.train.fit` builds them; whole epochs are timed and the
   images actually processed are counted;
2. **conventional** — what a user would otherwise write: a ``torch.utils.data.Dataset`` of
   the same uint8 images on the CPU whose ``__getitem__`` crops (with zero padding), flips,
   converts and normalises one image at a time (as torchvision transforms do), a
   ``DataLoader`` with worker processes, then the same forward/backward/step on the device
   (channels_last, and bf16 autocast on CUDA, as the trainer);
3. **ceiling** — forward/backward/step on one normalised batch already on the device: no
   data pipeline at all.

The three take turns, for ``--rounds`` rounds (5) of the same whole epochs each (the
ceiling: as many steps as the trainer), after untimed warm-up steps; each reports its best
round (a busy machine only slows rounds down) and the median. Reported: images/s, seconds
per epoch of the training set, the speed-up trainer / conventional and the efficiency
trainer / ceiling.

Cases: on the CPU, the small CNN and ResNet-8 on Fashion-MNIST-LT (the quick profile's
data, ρ=100); on CUDA, ResNet-32 on CIFAR-shaped random images with the CIFAR-10-LT ρ=100
counts (``synthetic_cifar``: no download; throughput does not depend on the pixels).

    python -m lt_lab.bench                     # the CPU or GPU cases, a table and a JSON record
    python -m lt_lab.bench --quick --dataset synthetic_cifar --output /tmp/bench.json
    python -m lt_lab.bench --paper-run --results-dir out/results   # the paper protocol (GPU)

``--paper-run`` trains the ``paper`` profile (ResNet-32, 200 epochs) with cross-entropy and
LDAM-DRW via :func:`lt_lab.train.fit`, on Fashion-MNIST-LT and on the synthetic CIFAR-shaped
set. Synthetic records are marked as such (``"synthetic": true``, dataset
``synthetic_cifar10``, key prefixed ``synthetic-``, stored in a ``synthetic/`` subfolder):
their accuracy is chance by construction and only their timing means anything.

Core dependencies only (torch, numpy, tqdm): this runs on the bare GPU image.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from lt_lab import train as trainer
from lt_lab.config import COMPILE_MODES, RunConfig, make_config
from lt_lab.data import build_sampler, longtail_counts
from lt_lab.errors import ConfigError, DataUnavailableError, TrainingDivergedError
from lt_lab.results import ResultsStore, write_json_atomic
from lt_lab.train import (
    TrainingData,
    build_training,
    describe_device,
    git_commit,
    learning_rate,
    prepare_data,
    resolve_device,
    seed_everything,
    software_versions,
    train_epoch,
    train_step,
    training_backbone,
)

BENCH_DATASETS = ("fashion_mnist", "synthetic_cifar")
BATCH_SIZE = 128
OPTIMISER = {"name": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 2e-4}
# Steps per pipeline, all rounds together (rounded up to whole epochs): ~10-20 s each on
# an idle 2-core CPU (small CNN, 28×28), a few seconds on an H100 (ResNet-32, 32×32).
DEFAULT_STEPS = {"cpu": 100, "cuda": 400}
DEFAULT_WARMUP = {"cpu": 5, "cuda": 30}
DEFAULT_ROUNDS = 5  # the pipelines take turns, round after round; each reports its best
QUICK_STEPS, QUICK_WARMUP, QUICK_N_MAX = 2, 1, 100  # --quick: 242 images, 2 steps an epoch
DEFAULT_MODELS = {"cpu": ("small_cnn", "resnet8"), "cuda": ("resnet32",)}
CIFAR10_LT_COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # ρ=100, n_max=5000
SYNTHETIC_NAME = "synthetic_cifar10"
PAPER_DATASETS = ("synthetic_cifar", "fashion_mnist")
PAPER_LOSSES = ("ce", "ldam_drw")


def say(message: str) -> None:
    """Print one line in one write: lines of runs that share a terminal stay whole."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def default_workers(device: torch.device) -> int:
    """DataLoader workers of the conventional recipe: 2 on the CPU, up to 8 on CUDA."""
    if device.type == "cuda":
        return min(8, os.cpu_count() or 1)
    return 2


# --- data ----------------------------------------------------------------------------------


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
                 seed: int = 0, n_max: int | None = None, compile: str = "off") -> RunConfig:
    """The run config every measurement shares (synthetic data borrows CIFAR-10's recipe)."""
    sizes = {} if n_max is None else {"n_max": n_max}
    return make_config(
        profile, dataset="cifar10" if dataset == "synthetic_cifar" else dataset,
        model=model, imbalance_ratio=100.0, batch_size=BATCH_SIZE, lr=OPTIMISER["lr"],
        momentum=OPTIMISER["momentum"], weight_decay=OPTIMISER["weight_decay"],
        warmup_epochs=0, lr_schedule="constant", sampler="instance", loss="ce", seed=seed,
        device=device.type, compile=compile, **sizes,
    )


def load_bench_data(dataset: str, config: RunConfig, device: torch.device) -> TrainingData:
    if dataset == "synthetic_cifar":
        n_max = config.n_max or config.recipe.n_max
        return synthetic_cifar(n_max, config.imbalance_ratio,
                               test_per_class=config.test_per_class or 1000, device=device)
    return prepare_data(config, device)


# --- the conventional recipe ---------------------------------------------------------------


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
    recipe = config.recipe
    dataset = ConventionalDataset(data.train_images, data.train_labels, recipe.mean,
                                  recipe.std, recipe.crop_padding, recipe.flip)
    return DataLoader(
        dataset, batch_size=config.batch_size, shuffle=True, num_workers=workers,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


# --- measurements --------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _build(config: RunConfig, data: TrainingData, device: torch.device):
    """Model, loss and optimiser exactly as :func:`lt_lab.train.fit` builds them."""
    seed_everything(config.seed)
    return build_training(config, data, device)



def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches :func:`train_epoch` runs over ``n`` indices (it skips a last batch of 1)."""
    return n // batch_size + (1 if n % batch_size >= 2 else 0)


def images_per_epoch(n: int, batch_size: int) -> int:
    return n - (1 if n % batch_size == 1 else 0)


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
        self.model, self.loss_fn, self.optimizer = _build(config, data, device)
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


class ConventionalPipeline:
    """``ConventionalDataset`` through a ``DataLoader``, then the same step on the device."""

    name = "conventional"

    def __init__(self, config, data, device, workers: int):
        self.device, self.workers = device, workers
        self.model, self.loss_fn, self.optimizer = _build(config, data, device)
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


class CeilingPipeline:
    """Forward/backward/step on one normalised batch already on the device: no pipeline."""

    name = "ceiling"

    def __init__(self, config, data, device):
        self.device = device
        self.model, self.loss_fn, self.optimizer = _build(config, data, device)
        self.config, self.backbone = config, training_backbone(self.model, config)
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


def _summary(rounds: list[dict], train_size: int, **extra) -> dict:
    """The best round's throughput (a busy machine only ever slows a round down), and all."""
    rates = [r["images"] / r["seconds"] for r in rounds]
    best = max(rates)
    return {"images_per_s": round(best, 2), "s_per_epoch": round(train_size / best, 4),
            "median_images_per_s": round(statistics.median(rates), 2),
            "images": sum(r["images"] for r in rounds), "steps": sum(r["steps"] for r in rounds),
            "seconds": round(sum(r["seconds"] for r in rounds), 4),
            "rounds": [{**r, "seconds": round(r["seconds"], 4)} for r in rounds], **extra}


def bench_model(dataset: str, model: str, data: TrainingData, device: torch.device, *,
                steps: int, warmup: int, workers: int, rounds: int = 1, profile: str = "quick",
                seed: int = 0, n_max: int | None = None, compile: str = "off",
                log=say) -> dict:
    """The three measurements of ``model``, interleaved in ``rounds`` rounds.

    Every round times each pipeline over the same whole epochs (the ceiling: as many steps
    as the trainer); in all at least ``steps`` steps each. Each pipeline reports its best
    round (and the median): on a shared machine, other work only ever slows a round down.
    """
    config = bench_config(dataset, model, device, profile, seed, n_max, compile)
    n = len(data.train_labels)
    epochs = max(1, math.ceil(steps / steps_per_epoch(n, config.batch_size) / rounds))
    log(f"  {model}: {rounds} round(s) of {epochs} epoch(s) per pipeline "
        f"(conventional: {workers} DataLoader worker(s))")
    pipelines = []
    try:
        pipelines = [TrainerPipeline(config, data, device),
                     ConventionalPipeline(config, data, device, workers),
                     CeilingPipeline(config, data, device)]
        warmup_s = {}
        for pipeline in pipelines:
            started = time.perf_counter()
            pipeline.warm_up(warmup)
            if compile != "off":  # the last, smaller batch compiles (and records) its own graph
                pipeline.run(1)
            _sync(device)
            warmup_s[pipeline.name] = round(time.perf_counter() - started, 2)
            log(f"    warm-up {pipeline.name:<12} {warmup_s[pipeline.name]:8.1f} s"
                + (" (compilation included)" if compile != "off" else ""))
        timed: dict[str, list[dict]] = {pipeline.name: [] for pipeline in pipelines}
        for round_ in range(rounds):
            for pipeline in pipelines:
                _sync(device)
                started = time.perf_counter()
                images, done = pipeline.run(epochs)
                _sync(device)
                seconds = time.perf_counter() - started
                timed[pipeline.name].append({"images": images, "steps": done,
                                             "seconds": seconds})
                log(f"    round {round_ + 1}/{rounds} {pipeline.name:<12} "
                    f"{images / seconds:10,.1f} images/s")
    finally:
        for pipeline in pipelines:
            pipeline.close()
    result = {"model": model, "rounds": rounds, "epochs_per_round": epochs,
              "trainer": _summary(timed["trainer"], n, warmup_s=warmup_s["trainer"]),
              "conventional": _summary(timed["conventional"], n, workers=workers,
                                       warmup_s=warmup_s["conventional"]),
              "ceiling": _summary(timed["ceiling"], n, warmup_s=warmup_s["ceiling"])}
    rate = {name: result[name]["images_per_s"] for name in ("trainer", "conventional",
                                                             "ceiling")}
    result["speedup_vs_conventional"] = round(rate["trainer"] / rate["conventional"], 3)
    result["efficiency_vs_ceiling"] = round(rate["trainer"] / rate["ceiling"], 4)
    return result


def device_kind(device: torch.device) -> str:
    """``cpu``, or ``cuda-<gpu name>`` as a file-name-safe slug."""
    if device.type != "cuda":
        return device.type
    name = torch.cuda.get_device_name(device).lower()
    return "cuda-" + "-".join("".join(c if c.isalnum() else " " for c in name).split())


def default_output(device: torch.device) -> Path:
    checkout = Path(__file__).resolve().parents[1]
    root = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / "data" / "bench" / f"{device_kind(device)}-{stamp}.json"


def run_benchmark(
    *, device: str = "auto", dataset: str | None = None, models=None, steps: int | None = None,
    warmup: int | None = None, workers: int | None = None, rounds: int | None = None,
    quick: bool = False, compile: str = "off",
    profile: str | None = None, n_max: int | None = None, seed: int = 0,
    output: str | Path | None = None, log=say,
) -> dict:
    """Run every model's three measurements, write the JSON record, return it.

    Defaults depend on the device: Fashion-MNIST-LT, small CNN and ResNet-8 on the CPU;
    synthetic CIFAR-10-LT and ResNet-32 on CUDA. ``quick``: the smoke profile's data size
    (n_max=100 unless ``n_max`` is given) and a handful of steps, for tests.
    """
    torch_device = resolve_device(device)
    kind = "cuda" if torch_device.type == "cuda" else "cpu"
    dataset = dataset or ("synthetic_cifar" if kind == "cuda" else "fashion_mnist")
    if dataset not in BENCH_DATASETS:
        raise ConfigError(f"dataset={dataset!r}: the benchmark knows {', '.join(BENCH_DATASETS)}")
    models = tuple(models or DEFAULT_MODELS[kind])
    profile = profile or ("smoke" if quick else "paper" if dataset == "synthetic_cifar"
                          else "quick")
    steps = steps if steps is not None else QUICK_STEPS if quick else DEFAULT_STEPS[kind]
    warmup = warmup if warmup is not None else QUICK_WARMUP if quick else DEFAULT_WARMUP[kind]
    workers = workers if workers is not None else default_workers(torch_device)
    rounds = rounds if rounds is not None else 1 if quick else DEFAULT_ROUNDS
    n_max = n_max if n_max is not None else QUICK_N_MAX if quick else None
    if steps < 1 or rounds < 1 or warmup < 0 or workers < 0:
        raise ConfigError(f"steps={steps} and rounds={rounds} must be >= 1, warmup={warmup} "
                          f"and workers={workers} >= 0")
    config = bench_config(dataset, models[0], torch_device, profile, seed, n_max)
    data = load_bench_data(dataset, config, torch_device)
    title = "Fashion-MNIST-LT" if dataset == "fashion_mnist" else "synthetic CIFAR-10-LT"
    log(f"lt_lab bench on {describe_device(torch_device)}: {title} ρ=100, "
        f"{len(data.train_labels):,} training images, batch {BATCH_SIZE}, {steps} steps")
    results = [bench_model(dataset, model, data, torch_device, steps=steps, warmup=warmup,
                           workers=workers, rounds=rounds, profile=profile, seed=seed,
                           n_max=n_max, compile=compile, log=log)
               for model in models]
    record = {
        "kind": "lt_lab.bench",
        "benchmark": {
            "dataset": dataset, "dataset_title": title, "profile": profile,
            "n_max": config.n_max or config.recipe.n_max,
            "imbalance_ratio": 100.0, "class_counts": data.class_counts,
            "train_images": len(data.train_labels),
            "image_shape": list(data.train_images.shape[1:]), "batch_size": BATCH_SIZE,
            "optimizer": OPTIMISER, "loss": "ce", "steps_requested": steps,
            "warmup_steps": warmup, "workers": workers, "rounds": rounds,
            "models": list(models),
            "augment": {"crop_padding": config.recipe.crop_padding,
                        "flip": config.recipe.flip},
            "bf16_autocast": torch_device.type == "cuda", "channels_last": True,
            "torch_threads": torch.get_num_threads(), "quick": quick, "seed": seed,
            "compile": compile,
            "note": "each round times trainer, conventional and ceiling in turn over the same "
                    "whole epochs (the ceiling: the trainer's number of steps on one batch "
                    "already on the device); images_per_s is a pipeline's best round",
        },
        "results": results,
        "device": describe_device(torch_device),
        "device_kind": device_kind(torch_device),
        "versions": software_versions(),
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = Path(output) if output else default_output(torch_device)
    write_json_atomic(path, record)
    record["path"] = str(path)
    return record


def format_table(record: dict) -> str:
    """The side-by-side table of a benchmark record, fixed width, with units."""
    bench = record["benchmark"]
    lines = [
        f"{bench['dataset_title']} ρ={bench['imbalance_ratio']:g}: "
        f"{bench['train_images']:,} training images, batch {bench['batch_size']}, "
        f"SGD lr {bench['optimizer']['lr']:g}, best of {bench['rounds']} round(s) — "
        f"{record['device']}",
        f"{'model':<10} {'pipeline':<34} {'steps':>6} {'images/s':>12} {'s/epoch':>9}"
        f" {'trainer is':>12}",
    ]
    rule = "-" * len(lines[1])
    lines.insert(1, rule)
    lines.append(rule)
    for result in record["results"]:
        workers = result["conventional"]["workers"]
        rows = (("trainer", "lt_lab trainer (train_epoch)", None),
                ("conventional", f"conventional DataLoader (W={workers})",
                 f"{result['speedup_vs_conventional']:.2f} ×"),
                ("ceiling", "ceiling (no data pipeline)",
                 f"{100 * result['efficiency_vs_ceiling']:.1f} %"))
        for name, label, ratio in rows:
            m = result[name]
            lines.append(f"{result['model']:<10} {label:<34} {m['steps']:>6} "
                         f"{m['images_per_s']:>12,.1f} {m['s_per_epoch']:>9.3f}"
                         f" {ratio or '':>12}")
        lines.append(f"{'':<10} speed-up trainer/conventional "
                     f"{result['speedup_vs_conventional']:.2f} ×, "
                     f"efficiency trainer/ceiling {100 * result['efficiency_vs_ceiling']:.1f} %")
        lines.append(rule)
    return "\n".join(lines)


# --- the paper protocol --------------------------------------------------------------------


def paper_config(dataset: str, loss: str, epochs: int | None = None,
                 overrides: dict | None = None) -> RunConfig:
    """The ``paper`` profile (ResNet-32, 200 epochs) with CE or LDAM-DRW.

    LDAM-DRW: cosine head, DRW from 80% of the epochs (epoch 160 of 200, as the papers).
    """
    if loss not in PAPER_LOSSES:
        raise ConfigError(f"loss={loss!r}: the paper runs know {', '.join(PAPER_LOSSES)}")
    values = dict(overrides or {})
    if epochs is not None:
        values["epochs"] = epochs
    total = values.get("epochs", 200)
    if loss == "ldam_drw":
        values.update(loss="ldam", head="cosine",
                      loss_params={"drw_epoch": int(0.8 * total)})
    else:
        values.update(loss="ce")
    return make_config("paper", dataset="cifar10" if dataset == "synthetic_cifar" else dataset,
                       imbalance_ratio=100.0, **values)


def fit_on(data: TrainingData, config: RunConfig, store: ResultsStore | None = None, *,
           name: str = SYNTHETIC_NAME, callbacks=(), progress: bool | None = None) -> dict:
    """Train ``config`` on ``data`` with :func:`lt_lab.train.fit` itself (the same loop,
    evaluation and record); store the record marked as synthetic, under its own key.

    The record's ``config.dataset`` is ``name``, its key ``synthetic-<config key>`` and it
    says ``"synthetic": true``: it can never be mistaken for (or served as) a real run.
    """
    result = trainer.fit(config, cache=False, save=False, callbacks=callbacks,
                         progress=progress, data=data)
    record = result.record
    record["key"] = f"synthetic-{record['key']}"
    record["config"]["dataset"] = name
    record["synthetic"] = True
    record["data_note"] = ("random uint8 images, CIFAR-10-LT counts; accuracy is chance by "
                           "construction: only the timing means anything")
    if store is not None:
        store.save(record)
    return record


class EpochTimer:
    """A ``fit`` callback: prints progress every ``every`` epochs, records the epoch times."""

    def __init__(self, label: str, every: int = 20, concurrent: int = 1, log=say):
        self.label, self.every, self.concurrent, self.log = label, every, concurrent, log
        self.started = time.perf_counter()
        self.seconds: list[float] = []

    def on_epoch_end(self, state) -> None:
        elapsed = time.perf_counter() - self.started
        self.seconds.append(round(elapsed, 3))
        epoch, total = state.epoch + 1, state.config.epochs
        if epoch % self.every == 0 or epoch == total:
            self.log(f"  {self.label}: epoch {epoch}/{total}, {elapsed:.1f} s "
                     f"({elapsed / epoch:.3f} s/epoch)")
        state.extras["bench_timing"] = {
            "seconds_at_epoch_end": self.seconds, "concurrent_runs": self.concurrent,
            "note": "runs sharing the device at the same time" if self.concurrent > 1 else
                    "the only run on the device",
        }


def paper_runs(output_dir: str | Path, *, datasets=PAPER_DATASETS, losses_=PAPER_LOSSES,
               epochs: int | None = None, overrides: dict | None = None,
               concurrent: int = 1, log=say) -> list[dict]:
    """Train the paper protocol for each dataset × loss, records into ``output_dir``.

    Fashion-MNIST-LT records go to ``output_dir`` (a :class:`ResultsStore`), synthetic ones
    to ``output_dir/synthetic``. ``overrides`` change the ``paper`` profile (tests use a
    tiny model and data; ``n_max``/``test_per_class`` size the synthetic set too).
    """
    output_dir = Path(output_dir)
    records = []
    for dataset in datasets:
        if dataset not in PAPER_DATASETS:
            raise ConfigError(f"dataset={dataset!r}: the paper runs know "
                              f"{', '.join(PAPER_DATASETS)}")
        for loss in losses_:
            config = paper_config(dataset, loss, epochs, overrides)
            label = f"{dataset} {loss} {config.model} {config.epochs} epochs"
            log(f"paper run: {label}")
            timer = EpochTimer(label, every=max(1, config.epochs // 10), concurrent=concurrent,
                               log=log)
            started = time.perf_counter()
            if dataset == "synthetic_cifar":
                device = resolve_device(config.device)
                data = synthetic_cifar(config.n_max or 5000, config.imbalance_ratio,
                                       test_per_class=config.test_per_class or 1000,
                                       device=device)
                record = fit_on(data, config, ResultsStore(output_dir / "synthetic"),
                                callbacks=[timer], progress=False)
            else:
                record = trainer.fit(config, store=ResultsStore(output_dir), cache=False,
                                     callbacks=[timer], progress=False).record
            metrics = record["metrics"]
            log(f"  {label}: {time.perf_counter() - started:.1f} s, acc "
                f"{100 * metrics['acc']:.2f} %, balanced {100 * metrics['balanced_acc']:.2f} %,"
                f" {record['device']}, record {record['key']}.json")
            records.append(record)
    return records


# --- command line --------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``lt-lab bench`` / ``python -m lt_lab.bench``."""
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where to measure (default: CUDA when torch sees a GPU)")
    parser.add_argument("--dataset", choices=BENCH_DATASETS, default=None,
                        help="default: fashion_mnist on the CPU, synthetic_cifar on CUDA")
    parser.add_argument("--models", type=_names, default=None,
                        help="comma-separated backbones (default: small_cnn,resnet8 on the "
                             "CPU, resnet32 on CUDA)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"steps per measurement, rounded up to whole epochs (default: "
                             f"{DEFAULT_STEPS['cpu']} on the CPU, {DEFAULT_STEPS['cuda']} on "
                             "CUDA)")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"the pipelines take turns this many times; each reports its "
                             f"best round (default: {DEFAULT_ROUNDS}; 1 with --quick)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps before each measurement")
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers of the conventional recipe (default: 2 on "
                             "the CPU, min(8, CPUs) on CUDA)")
    parser.add_argument("--profile", choices=("smoke", "quick", "paper"), default=None,
                        help="whose data size (n_max) to use (default: quick for "
                             "Fashion-MNIST, paper for synthetic_cifar; smoke with --quick)")
    parser.add_argument("--n-max", type=int, default=None,
                        help="images of the largest class (default: the profile's)")
    parser.add_argument("--quick", action="store_true",
                        help="a handful of steps on tiny data (n_max=100; for tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", choices=COMPILE_MODES, default="off",
                        help="torch.compile the backbone of every pipeline with this mode "
                             "(reduce-overhead: CUDA graphs; compilation is warm-up, untimed)")
    parser.add_argument("--output", default=None,
                        help="the JSON record (default: data/bench/<device>-<time>.json)")
    paper = parser.add_argument_group("paper protocol (for a GPU)")
    paper.add_argument("--paper-run", action="store_true",
                       help="train the paper profile (ResNet-32, 200 epochs) with CE and "
                            "LDAM-DRW instead of benchmarking")
    paper.add_argument("--results-dir", default=None,
                       help="where --paper-run writes its run records (required with it)")
    paper.add_argument("--paper-datasets", type=_names, default=list(PAPER_DATASETS),
                       help="comma-separated: synthetic_cifar,fashion_mnist")
    paper.add_argument("--paper-losses", type=_names, default=list(PAPER_LOSSES),
                       help="comma-separated: ce,ldam_drw")
    paper.add_argument("--epochs", type=int, default=None,
                       help="override the 200 epochs (--n-max and the first of --models "
                            "override the paper profile's data size and ResNet-32 too)")
    paper.add_argument("--concurrent", type=int, default=1,
                       help="how many runs share the device (noted in the records)")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run what ``args`` (parsed with :func:`add_arguments`) ask for; the exit status."""
    if args.paper_run:
        if not args.results_dir:
            raise ConfigError("--paper-run needs --results-dir")
        overrides = {} if args.device == "auto" else {"device": args.device}
        if args.compile != "off":
            overrides["compile"] = args.compile
        if args.n_max is not None:  # smaller data, for a dry run on a CPU
            overrides.update(n_max=args.n_max, test_per_class=min(args.n_max, 1000))
        if args.models:
            overrides["model"] = args.models[0]
        paper_runs(args.results_dir, datasets=args.paper_datasets, losses_=args.paper_losses,
                   epochs=args.epochs, overrides=overrides, concurrent=args.concurrent)
        return 0
    record = run_benchmark(device=args.device, dataset=args.dataset, models=args.models,
                           steps=args.steps, warmup=args.warmup, workers=args.workers,
                           rounds=args.rounds, compile=args.compile,
                           quick=args.quick, profile=args.profile, n_max=args.n_max,
                           seed=args.seed,
                           output=args.output)
    print(format_table(record))
    print(f"record: {record['path']}")
    return 0


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m lt_lab.bench", description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except (ConfigError, DataUnavailableError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
