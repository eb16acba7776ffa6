"""Throughput benchmarks (top layer): lt_lab's trainer against a DataLoader pipeline and the
no-pipeline ceiling, on this machine's CPU or GPU, and the papers' protocol on a GPU.

:mod:`.cases` (settings, configs, synthetic CIFAR-shaped data), :mod:`.pipelines` (the
trainer and the ceiling), :mod:`.baselines` (the conventional DataLoader recipe),
:mod:`.packed` (K runs as one batched model), :mod:`.flops` (FLOP rates and peaks),
:mod:`.harness` (timing rounds, summaries, the JSON record), :mod:`.report` (the table),
:mod:`.paper` (``--paper-run``), :mod:`.cli` (the options). Core dependencies only.
"""

from lt_lab.bench.baselines import (
    ConventionalDataset,
    ConventionalPipeline,
    conventional_loader,
    crop_window,
    default_workers,
)
from lt_lab.bench.cases import (
    BATCH_SIZE,
    BENCH_DATASETS,
    CIFAR10_LT_COUNTS,
    OPTIMISER,
    bench_config,
    load_bench_data,
    synthetic_cifar,
)
from lt_lab.bench.cli import add_arguments, main, run_from_args
from lt_lab.bench.flops import flop_rates, peak_tflops, train_flops_per_image
from lt_lab.bench.harness import bench_model, device_kind, run_benchmark, summarise
from lt_lab.bench.packed import PackedPipeline
from lt_lab.bench.paper import (
    PAPER_DATASETS,
    PAPER_LOSSES,
    SYNTHETIC_NAME,
    EpochTimer,
    fit_on,
    paper_config,
    paper_run,
    paper_runs,
    synthetic_path,
)
from lt_lab.bench.pipelines import (
    CeilingPipeline,
    TrainerPipeline,
    images_per_epoch,
    steps_per_epoch,
)
from lt_lab.bench.report import format_table

__all__ = [
    "BATCH_SIZE", "BENCH_DATASETS", "CIFAR10_LT_COUNTS", "OPTIMISER", "PAPER_DATASETS",
    "PAPER_LOSSES", "SYNTHETIC_NAME", "CeilingPipeline", "ConventionalDataset",
    "ConventionalPipeline", "EpochTimer", "PackedPipeline", "TrainerPipeline",
    "add_arguments", "bench_config", "flop_rates", "peak_tflops", "train_flops_per_image",
    "bench_model", "conventional_loader", "crop_window", "default_workers", "device_kind",
    "fit_on", "format_table", "images_per_epoch", "load_bench_data", "main", "paper_config",
    "paper_run", "paper_runs", "run_benchmark", "run_from_args", "steps_per_epoch",
    "summarise", "synthetic_cifar", "synthetic_path",
]
