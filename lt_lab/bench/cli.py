"""The command line of the benchmark: ``lt-lab bench`` and ``python -m lt_lab.bench``.

    python -m lt_lab.bench                     # the CPU or GPU cases, a table and a JSON record
    python -m lt_lab.bench --quick --dataset synthetic_cifar --output /tmp/bench.json
    python -m lt_lab.bench --paper-run --results-dir out/results   # the paper protocol (GPU)
    python -m lt_lab.bench --grid              # a grid's runs/minute: sequential vs jobs=2
"""

from __future__ import annotations

import argparse
import sys

from lt_lab.bench.cases import BENCH_DATASETS
from lt_lab.bench.harness import DEFAULT_ROUNDS, DEFAULT_STEPS, run_benchmark
from lt_lab.bench.paper import PAPER_DATASETS, PAPER_LOSSES, paper_runs
from lt_lab.bench.report import format_table
from lt_lab.config import COMPILE_MODES
from lt_lab.errors import ConfigError, DataUnavailableError, TrainingDivergedError


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _widths(text: str) -> list[int]:
    """``"1,4,16"`` as [1, 4, 16]; ``"0"`` or ``""`` as none."""
    try:
        widths = [int(name) for name in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated integers") from None
    return [] if widths == [0] else widths


def _add_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), default=None,
                        help="the trainer's precision (default: the profile's); the second "
                             "ceiling is measured at the other of fp32/bf16")
    parser.add_argument("--pack-widths", type=_widths, default=None, metavar="K,K,...",
                        help="packed throughput: K runs as one batched model, for each K "
                             "(default: 1,4,16 on the CPU, 1,4,16,64 on CUDA, 1,2 with "
                             "--quick; 0: none)")
    parser.add_argument("--output", default=None,
                        help="the JSON record (default: data/bench/<device>-<time>.json)")


def _add_paper_arguments(parser: argparse.ArgumentParser) -> None:
    paper = parser.add_argument_group("paper protocol (for a GPU)")
    paper.add_argument("--paper-run", action="store_true",
                       help="train the paper profile (ResNet-32, 200 epochs) with CE and "
                            "LDAM-DRW instead of benchmarking")
    paper.add_argument("--results-dir", default=None,
                       help="where --paper-run writes its run records (required with it); "
                            "synthetic-data records go to its synthetic/ folder")
    paper.add_argument("--paper-datasets", type=_names, default=list(PAPER_DATASETS),
                       help="comma-separated: synthetic_cifar,fashion_mnist")
    paper.add_argument("--paper-losses", type=_names, default=list(PAPER_LOSSES),
                       help="comma-separated: ce,ldam_drw")
    paper.add_argument("--epochs", type=int, default=None,
                       help="override the 200 epochs (--n-max and the first of --models "
                            "override the paper profile's data size and ResNet-32 too)")
    paper.add_argument("--concurrent", type=int, default=1,
                       help="how many runs share the device (noted in the records)")


def _add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    grid = parser.add_argument_group("grid (lt_lab.bench.grid)")
    grid.add_argument("--grid", action="store_true",
                      help="runs per minute of a grid: the same runs one after another with "
                           "JOBS threads each, then in JOBS worker processes with 1 thread "
                           "each, alternating; writes data/bench/grid-<time>.json")
    grid.add_argument("--grid-runs", type=int, default=6, metavar="N",
                      help="runs of the grid (seeds 0..N-1; default 6)")
    grid.add_argument("--grid-jobs", type=int, default=2, metavar="JOBS",
                      help="worker processes of the parallel mode, threads a run of the "
                           "sequential one (default 2)")
    grid.add_argument("--grid-rounds", type=int, default=2, metavar="R",
                      help="times each mode runs, alternating (default 2)")
    grid.add_argument("--grid-profile", choices=("smoke", "quick"), default="quick",
                      help="the runs' profile (default quick; smoke to try the path)")
    grid.add_argument("--grid-epochs", type=int, default=None, metavar="E",
                      help="the runs' epochs (default: the profile's); --precision sets "
                           "their precision (default: the profile's)")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``lt-lab bench`` / ``python -m lt_lab.bench``."""
    _add_benchmark_arguments(parser)
    _add_paper_arguments(parser)
    _add_grid_arguments(parser)
    return parser


def paper_overrides(args: argparse.Namespace) -> dict:
    """What the benchmark options change in the ``paper`` profile of ``--paper-run``."""
    overrides = {} if args.device == "auto" else {"device": args.device}
    if args.compile != "off":
        overrides["compile"] = args.compile
    if args.n_max is not None:  # smaller data, for a dry run on a CPU
        overrides.update(n_max=args.n_max, test_per_class=min(args.n_max, 1000))
    if args.models:
        overrides["model"] = args.models[0]
    return overrides


def run_from_args(args: argparse.Namespace) -> int:
    """Run what ``args`` (parsed with :func:`add_arguments`) ask for; the exit status."""
    if args.grid:
        from lt_lab.bench.grid import format_grid, run_grid_bench

        overrides = {name: value for name, value in (("epochs", args.grid_epochs),
                                                     ("precision", args.precision))
                     if value is not None}
        record = run_grid_bench(runs=args.grid_runs, jobs=args.grid_jobs,
                                rounds=args.grid_rounds, profile=args.grid_profile,
                                overrides=overrides, output=args.output)
        print(format_grid(record))
        print(f"record: {record['path']}")
        return 0
    if args.paper_run:
        if not args.results_dir:
            raise ConfigError("--paper-run needs --results-dir")
        paper_runs(args.results_dir, datasets=args.paper_datasets, losses_=args.paper_losses,
                   epochs=args.epochs, overrides=paper_overrides(args),
                   concurrent=args.concurrent)
        return 0
    record = run_benchmark(device=args.device, dataset=args.dataset, models=args.models,
                           steps=args.steps, warmup=args.warmup, workers=args.workers,
                           rounds=args.rounds, compile=args.compile, quick=args.quick,
                           profile=args.profile, n_max=args.n_max, seed=args.seed,
                           precision=args.precision, pack_widths=args.pack_widths,
                           output=args.output)
    print(format_table(record))
    print(f"record: {record['path']}")
    return 0


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m lt_lab.bench",
        description="Throughput: lt_lab's trainer beside a DataLoader recipe and the ceiling."))
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except (ConfigError, DataUnavailableError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
