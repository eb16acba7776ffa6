"""``lt-lab bench``: the trainer's throughput beside the DataLoader recipe and the ceiling.

Three measurements in one process, for the same model, data, batch size, optimiser (SGD,
momentum 0.9, weight decay 2e-4, lr 0.05) and number of steps:

1. **trainer** — :func:`lt_lab.train.train_epoch` itself, on a model, loss, optimiser and
   sampler built as :func:`lt_lab.train.fit` builds them; whole epochs are timed and the
   images actually processed are counted (:mod:`lt_lab.bench.pipelines`);
2. **conventional** — a ``Dataset`` with per-sample crop/flip/normalise and a ``DataLoader``
   with worker processes, then the same step on the device (:mod:`lt_lab.bench.baselines`);
3. **ceiling** — the same step on one normalised batch already on the device: no data
   pipeline at all; measured at the run's precision and at the other one of fp32 / bf16
   (``ceiling_fp32`` beside a bf16 run, ``ceiling_bf16`` beside an fp32 one), so one record
   shows what mixed precision buys on this hardware;
4. **packed** — K runs (seeds seed..seed+K-1) trained as one batched model
   (:mod:`lt_lab.bench.packed`, :mod:`lt_lab.pack`) for each K of ``pack_widths`` (1, 4, 16 on
   the CPU; 1, 4, 16, 64 on CUDA): the aggregate images/s of K runs, over the same whole
   epochs of each member.

Each model's record also holds its training FLOPs an image and every pipeline's FLOP rate,
against the device's datasheet peak where it is known (:mod:`lt_lab.bench.flops`).

The pipelines take turns, for ``--rounds`` rounds (5) of the same whole epochs each (the
ceiling: as many steps as the trainer), after untimed warm-up steps; each reports its best
round (a busy machine only slows rounds down) and the median. Reported: images/s, seconds
per epoch of the training set, the speed-up trainer / conventional and the efficiency
trainer / ceiling. The cases are in :mod:`lt_lab.bench.cases`, the printed table in
:mod:`lt_lab.bench.report`.
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from lt_lab.bench.baselines import ConventionalPipeline, default_workers
from lt_lab.bench.cases import (
    BATCH_SIZE,
    BENCH_DATASETS,
    DEFAULT_MODELS,
    OPTIMISER,
    bench_config,
    load_bench_data,
    say,
)
from lt_lab.bench.flops import flop_rates, peak_tflops, train_flops_per_image
from lt_lab.bench.packed import DEFAULT_WIDTHS, QUICK_WIDTHS, PackedPipeline
from lt_lab.bench.pipelines import CeilingPipeline, TrainerPipeline, build, steps_per_epoch
from lt_lab.errors import ConfigError
from lt_lab.io import write_json_atomic
from lt_lab.provenance import describe_device, git_commit, software_versions
from lt_lab.runtime import resolve_device, resolve_precision

# Steps per pipeline, all rounds together (rounded up to whole epochs): ~10-20 s each on
# an idle 2-core CPU (small CNN, 28×28), a few seconds on an H100 (ResNet-32, 32×32).
DEFAULT_STEPS = {"cpu": 100, "cuda": 400}
DEFAULT_WARMUP = {"cpu": 5, "cuda": 30}
DEFAULT_ROUNDS = 5  # the pipelines take turns, round after round; each reports its best
QUICK_STEPS, QUICK_WARMUP, QUICK_N_MAX = 2, 1, 100  # --quick: 242 images, 2 steps an epoch
PIPELINES = ("trainer", "conventional", "ceiling")


def other_precision(precision: str) -> str:
    """The precision the second ceiling is measured at."""
    return "fp32" if precision != "fp32" else "bf16"


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def summarise(rounds: list[dict], train_size: int, **extra) -> dict:
    """The best round's throughput (a busy machine only ever slows a round down), and all."""
    rates = [r["images"] / r["seconds"] for r in rounds]
    best = max(rates)
    return {"images_per_s": round(best, 2), "s_per_epoch": round(train_size / best, 4),
            "median_images_per_s": round(statistics.median(rates), 2),
            "images": sum(r["images"] for r in rounds), "steps": sum(r["steps"] for r in rounds),
            "seconds": round(sum(r["seconds"] for r in rounds), 4),
            "rounds": [{**r, "seconds": round(r["seconds"], 4)} for r in rounds], **extra}


def warm_up(pipeline, steps: int, device: torch.device, compile: str, log=say) -> float:
    """Untimed steps (and, compiled, one epoch to compile the last batch's graph); seconds."""
    started = time.perf_counter()
    pipeline.warm_up(steps)
    if compile != "off":  # the last, smaller batch compiles (and records) its own graph
        pipeline.run(1)
    sync(device)
    seconds = round(time.perf_counter() - started, 2)
    log(f"    warm-up {pipeline.name:<12} {seconds:8.1f} s"
        + (" (compilation included)" if compile != "off" else ""))
    return seconds


def time_round(pipeline, epochs: int, device: torch.device) -> dict:
    """One timed round of ``epochs`` whole epochs: images, steps and seconds."""
    sync(device)
    started = time.perf_counter()
    images, steps = pipeline.run(epochs)
    sync(device)
    return {"images": images, "steps": steps, "seconds": time.perf_counter() - started}


def time_rounds(pipelines, epochs: int, rounds: int, device: torch.device,
                log=say) -> dict[str, list[dict]]:
    """The pipelines take turns, ``rounds`` times; every round of each, by name."""
    timed: dict[str, list[dict]] = {pipeline.name: [] for pipeline in pipelines}
    for round_ in range(rounds):
        for pipeline in pipelines:
            timed[pipeline.name].append(time_round(pipeline, epochs, device))
            last = timed[pipeline.name][-1]
            log(f"    round {round_ + 1}/{rounds} {pipeline.name:<12} "
                f"{last['images'] / last['seconds']:10,.1f} images/s")
    return timed


def bench_model(dataset: str, model: str, data, device: torch.device, *,
                steps: int, warmup: int, workers: int, rounds: int = 1, profile: str = "quick",
                seed: int = 0, n_max: int | None = None, compile: str = "off",
                precision: str | None = None, pack_widths=(), log=say) -> dict:
    """The measurements of ``model`` (and of ``pack_widths`` packs), interleaved in
    ``rounds`` rounds.

    Every round times each pipeline over the same whole epochs (the ceiling: as many steps
    as the trainer); in all at least ``steps`` steps each. Each pipeline reports its best
    round (and the median): on a shared machine, other work only ever slows a round down.
    """
    config = bench_config(dataset, model, device, profile, seed, n_max, compile, precision)
    n = len(data.train_labels)
    epochs = max(1, math.ceil(steps / steps_per_epoch(n, config.batch_size) / rounds))
    log(f"  {model}: {rounds} round(s) of {epochs} epoch(s) per pipeline "
        f"(conventional: {workers} DataLoader worker(s))")
    pipelines = []
    try:
        precision = resolve_precision(config.precision, device)
        other = other_precision(precision)
        pipelines = [TrainerPipeline(config, data, device),
                     ConventionalPipeline(config, data, device, workers),
                     CeilingPipeline(config, data, device),
                     CeilingPipeline(config.replace(precision=other), data, device,
                                     name=f"ceiling_{other}")]
        pipelines += [PackedPipeline(config, data, device, width) for width in pack_widths]
        warmup_s = {p.name: warm_up(p, warmup, device, compile, log) for p in pipelines}
        timed = time_rounds(pipelines, epochs, rounds, device, log)
    finally:
        for pipeline in pipelines:
            pipeline.close()
    result = model_result(model, rounds, epochs, n, timed, warmup_s, workers, precision)
    result["flops"] = flop_rates({name: result[name]["images_per_s"] for name in timed},
                                 step_flops(config, data, device),
                                 peak_tflops(device, precision))
    return result


def step_flops(config, data, device: torch.device) -> float:
    """Training FLOPs an image of ``config``'s model, counted on one batch (eager)."""
    model, loss_fn, _ = build(config, data, device)
    batch = min(config.batch_size, len(data.train_labels))
    x = data.prepare(data.train_images[:batch])
    return train_flops_per_image(model, loss_fn, x, data.train_labels[:batch])


def model_result(model: str, rounds: int, epochs: int, train_size: int, timed: dict,
                 warmup_s: dict, workers: int, precision: str = "fp32") -> dict:
    """One model's entry of the record: each pipeline's summary and the ratios (a packed
    pipeline's aggregate images/s against the trainer's: ``packed_vs_trainer``)."""
    result = {"model": model, "rounds": rounds, "epochs_per_round": epochs,
              "precision": precision}
    for name in timed:
        extra = {"workers": workers} if name == "conventional" else {}
        result[name] = summarise(timed[name], train_size, **extra, warmup_s=warmup_s[name])
    rate = {name: result[name]["images_per_s"] for name in timed}
    result["speedup_vs_conventional"] = round(rate["trainer"] / rate["conventional"], 3)
    result["efficiency_vs_ceiling"] = round(rate["trainer"] / rate["ceiling"], 4)
    by_precision = {precision: rate["ceiling"],
                    **{name.removeprefix("ceiling_"): value for name, value in rate.items()
                       if name.startswith("ceiling_")}}
    if {"fp32", "bf16"} <= set(by_precision):
        result["ceiling_bf16_vs_fp32"] = round(by_precision["bf16"] / by_precision["fp32"], 3)
    packed = {name.removeprefix("packed_"): round(value / rate["trainer"], 3)
              for name, value in rate.items() if name.startswith("packed_")}
    if packed:
        result["packed_vs_trainer"] = packed
    return result


def device_kind(device: torch.device) -> str:
    """``cpu``, or ``cuda-<gpu name>`` as a file-name-safe slug."""
    if device.type != "cuda":
        return device.type
    name = torch.cuda.get_device_name(device).lower()
    return "cuda-" + "-".join("".join(c if c.isalnum() else " " for c in name).split())


def default_output(device: torch.device) -> Path:
    """``data/bench/<device kind>-<time>.json`` of the checkout (else of the current folder)."""
    checkout = Path(__file__).resolve().parents[2]  # lt_lab/bench/harness.py -> checkout
    root = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / "data" / "bench" / f"{device_kind(device)}-{stamp}.json"


def resolve_options(device: torch.device, *, dataset, models, steps, warmup, workers, rounds,
                    quick: bool, profile, n_max, pack_widths=None) -> dict:
    """The benchmark's settings: what was asked, the device's defaults for the rest."""
    kind = "cuda" if device.type == "cuda" else "cpu"
    dataset = dataset or ("synthetic_cifar" if kind == "cuda" else "fashion_mnist")
    if dataset not in BENCH_DATASETS:
        raise ConfigError(f"dataset={dataset!r}: the benchmark knows {', '.join(BENCH_DATASETS)}")
    options = dict(
        dataset=dataset, models=tuple(models or DEFAULT_MODELS[kind]),
        profile=profile or ("smoke" if quick else "paper" if dataset == "synthetic_cifar"
                            else "quick"),
        steps=steps if steps is not None else QUICK_STEPS if quick else DEFAULT_STEPS[kind],
        warmup=warmup if warmup is not None else QUICK_WARMUP if quick else DEFAULT_WARMUP[kind],
        workers=workers if workers is not None else default_workers(device),
        rounds=rounds if rounds is not None else 1 if quick else DEFAULT_ROUNDS,
        n_max=n_max if n_max is not None else QUICK_N_MAX if quick else None,
        pack_widths=tuple(pack_widths if pack_widths is not None else
                          QUICK_WIDTHS if quick else DEFAULT_WIDTHS[kind]),
    )
    steps, rounds, warmup, workers = (options[name] for name in
                                      ("steps", "rounds", "warmup", "workers"))
    if steps < 1 or rounds < 1 or warmup < 0 or workers < 0:
        raise ConfigError(f"steps={steps} and rounds={rounds} must be >= 1, warmup={warmup} "
                          f"and workers={workers} >= 0")
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 1
           for k in options["pack_widths"]):
        raise ConfigError(f"pack_widths={list(options['pack_widths'])} must be integers >= 1")
    return options


def run_benchmark(
    *, device: str = "auto", dataset: str | None = None, models=None, steps: int | None = None,
    warmup: int | None = None, workers: int | None = None, rounds: int | None = None,
    quick: bool = False, compile: str = "off",
    profile: str | None = None, n_max: int | None = None, seed: int = 0,
    precision: str | None = None, pack_widths=None, output: str | Path | None = None,
    log=say,
) -> dict:
    """Run every model's measurements, write the JSON record, return it.

    Defaults depend on the device: Fashion-MNIST-LT, small CNN and ResNet-8 on the CPU;
    synthetic CIFAR-10-LT and ResNet-32 on CUDA. ``quick``: the smoke profile's data size
    (n_max=100 unless ``n_max`` is given) and a handful of steps, for tests.
    ``pack_widths``: the K of the packed pipelines (default 1, 4, 16 on the CPU, 1, 4, 16,
    64 on CUDA, 1, 2 with ``quick``; empty: none).
    """
    torch_device = resolve_device(device)
    options = resolve_options(torch_device, dataset=dataset, models=models, steps=steps,
                              warmup=warmup, workers=workers, rounds=rounds, quick=quick,
                              profile=profile, n_max=n_max, pack_widths=pack_widths)
    dataset, models = options["dataset"], options["models"]
    config = bench_config(dataset, models[0], torch_device, options["profile"], seed,
                          options["n_max"], precision=precision)
    data = load_bench_data(dataset, config, torch_device)
    log(f"lt_lab bench on {describe_device(torch_device)}: {dataset_title(dataset)} ρ=100, "
        f"{len(data.train_labels):,} training images, batch {BATCH_SIZE}, "
        f"{options['steps']} steps")
    measure = {name: options[name] for name in ("steps", "warmup", "workers", "rounds",
                                                "profile", "n_max", "pack_widths")}
    results = [bench_model(dataset, model, data, torch_device, seed=seed, compile=compile,
                           precision=precision, log=log, **measure) for model in models]
    record = bench_record(options, config, data, torch_device, results, quick=quick, seed=seed,
                          compile=compile)
    path = Path(output) if output else default_output(torch_device)
    write_json_atomic(path, record)
    record["path"] = str(path)
    return record


def dataset_title(dataset: str) -> str:
    return "Fashion-MNIST-LT" if dataset == "fashion_mnist" else "synthetic CIFAR-10-LT"


def bench_record(options: dict, config, data, device: torch.device, results: list[dict], *,
                 quick: bool, seed: int, compile: str) -> dict:
    """The JSON record of a benchmark: its settings, each model's results, provenance."""
    benchmark = {
        "dataset": options["dataset"], "dataset_title": dataset_title(options["dataset"]),
        "profile": options["profile"], "n_max": config.n_max or config.recipe.n_max,
        "imbalance_ratio": 100.0, "class_counts": data.class_counts,
        "train_images": len(data.train_labels),
        "image_shape": list(data.train_images.shape[1:]), "batch_size": BATCH_SIZE,
        "optimizer": OPTIMISER, "loss": "ce", "steps_requested": options["steps"],
        "warmup_steps": options["warmup"], "workers": options["workers"],
        "rounds": options["rounds"], "models": list(options["models"]),
        "augment": {"crop_padding": config.recipe.crop_padding, "flip": config.recipe.flip},
        "precision": resolve_precision(config.precision, device), "channels_last": True,
        "torch_threads": torch.get_num_threads(), "quick": quick, "seed": seed,
        "compile": compile, "pack_widths": list(options["pack_widths"]),
        "note": "each round times trainer, conventional, the two ceilings and the packed "
                "pipelines in turn over the same whole epochs (a ceiling: the trainer's number "
                "of steps on one batch already on the device, at the run's precision and at "
                "the other of fp32/bf16; packed_K: K runs as one batched model, seeds seed.."
                "seed+K-1, images of all K counted); images_per_s is a pipeline's best round",
    }
    return {
        "kind": "lt_lab.bench", "benchmark": benchmark, "results": results,
        "device": describe_device(device), "device_kind": device_kind(device),
        "versions": software_versions(), "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
