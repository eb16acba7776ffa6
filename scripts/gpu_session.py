#!/usr/bin/env python3
"""One lent GPU session (issue 16): packed throughput, then the paper protocol, packed.

(a) **Throughput.** ResNet-32 on synthetic CIFAR-10-LT (12,406 images, batch 128, bf16), K
    runs packed into one model (:mod:`lt_lab.pack`), for each of ``--compile-modes``
    (``reduce-overhead``: CUDA graphs, then eager) and each K of ``--widths`` (1, 16, 64):
    the aggregate images/s of the K runs, and the FLOP rate against the GPU's datasheet
    peak. Compiled, each K costs its compilation (about a minute) first; eager, seconds.
    With many runs packed each kernel is K times larger, so eager may need no compiling.
(b) **The paper protocol** on Fashion-MNIST-LT (n_max 6000, ρ=100, ResNet-32, 200 epochs,
    the ``paper`` profile) for CE, LDAM-DRW, the logit-adjusted loss, Balanced Softmax and
    CB-focal: seed 0 of all five as one pack first, then seeds 1 and 2 as another, each in
    the compile mode (a) predicts faster for its size (``--paper-compile`` fixes one). A
    pack starts only if that prediction ends it within the budget (``--force``: regardless).

Every record is appended, the moment it exists, to ONE archive, ``$OUT/records.jsonl`` (one
JSON object a line: ``{"type": "bench" | "run", "record": {...}}``), so a session cut short
still returns what it finished (a pack's records exist when the whole pack has trained; one
cut short leaves its pace in the log); everything printed also goes to
``$OUT/gpu_session.log``.
Needs torch, numpy and tqdm only; lt_lab comes from this tree (no pip install).

How a session with a lent GPU runs it (the device tool's ``run``):

    here, first:  mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz \\
                  data/fashion-mnist/     (the .gz names are git-ignored: carry them)
    run:          command "python3 scripts/gpu_session.py --budget-s 540",
                  carry ["data/fashion-mnist"], timeout_s 600
    then here:    python scripts/gpu_session.py --import <files_at>/records.jsonl
                  (run records into data/results, the throughput record into data/bench)

(a) alone may take most of 540 s; then (b) is skipped, said so in the log with its
estimate, and a second call trains the first pack without measuring again:
``python3 scripts/gpu_session.py --skip-throughput --paper-compile off --budget-s 540``
(eager: no compilation to pay; or the mode (a) found faster).

A dry run of the whole flow on a CPU, in seconds (tests/test_gpu_script.py runs it):

    python scripts/gpu_session.py --dry-run --out /tmp/session
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LOSSES = {  # the five methods, as the chapters configure them
    "ce": {"loss": "ce"},
    "ldam_drw": {"loss": "ldam", "head": "cosine", "loss_params": {"drw_start": 0.8}},
    "logit_adjusted": {"loss": "logit_adjusted", "loss_params": {"tau": 1.0}},
    "balanced_softmax": {"loss": "balanced_softmax"},
    "cb_focal": {"loss": "cb_focal", "loss_params": {"beta": 0.9999, "gamma": 1.0}},
}
COMPILE_ALLOWANCE_S = 90  # one compilation of a packed ResNet-32, generously
DRY_RUN = dict(device="cpu", compile_modes=["off"], widths=[1, 2], model="mlp", rounds=1,
               bench_n_max=100, paper_overrides={  # 3 epochs: LDAM-DRW's switch at epoch 2
                   "model": "mlp", "n_max": 30, "imbalance_ratio": 10.0, "test_per_class": 10,
                   "epochs": 3, "warmup_epochs": 0, "eval_every": 1, "batch_size": 16})


class Session:
    """The output folder: the log, the one archive of records, and the time budget."""

    def __init__(self, out: Path, budget_s: float):
        self.out, self.budget_s, self.started = out, budget_s, time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        self.archive, self.log_path = out / "records.jsonl", out / "gpu_session.log"

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)

    def log(self, message: str) -> None:
        line = f"[{time.perf_counter() - self.started:7.1f} s] {message}"
        print(line, flush=True)
        with self.log_path.open("a") as stream:
            stream.write(line + "\n")

    def keep(self, kind: str, record: dict) -> None:
        """Append ``record`` to the archive now, on disk before this returns."""
        line = json.dumps({"type": kind, "written": _now(), "record": record})
        with self.archive.open("a") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- (a) throughput --------------------------------------------------------------------------


def measure_width(session: Session, args, data, width: int, compile: str) -> dict:
    """One K: warm up (compile), then ``args.rounds`` timed epochs; the bench record."""
    import torch

    from lt_lab.bench.cases import bench_config
    from lt_lab.bench.flops import flop_rates, peak_tflops
    from lt_lab.bench.harness import device_kind, step_flops, summarise, time_round, warm_up
    from lt_lab.bench.packed import PackedPipeline
    from lt_lab.provenance import describe_device, git_commit, software_versions
    from lt_lab.runtime import resolve_precision

    device = torch.device(args.device)
    config = bench_config("synthetic_cifar", args.model, device, "paper",
                          n_max=args.bench_n_max, compile=compile)
    pipeline = PackedPipeline(config, data, device, width)
    warmup_s = warm_up(pipeline, 5, device, compile, log=session.log)
    rounds = [time_round(pipeline, 1, device) for _ in range(args.rounds)]
    summary = summarise(rounds, len(data.train_labels), warmup_s=warmup_s)
    precision = resolve_precision(config.precision, device)
    flops = flop_rates({f"packed_{width}": summary["images_per_s"]},
                       step_flops(config, data, device), peak_tflops(device, precision))
    return {"kind": "lt_lab.bench.packed", "model": args.model, "width": width,
            "dataset": "synthetic_cifar", "train_images": len(data.train_labels),
            "batch_size": config.batch_size, "precision": precision, "compile": compile,
            "packed": summary, "flops": flops,
            "note": "K runs as one batched model (lt_lab.pack), seeds 0..K-1; images_per_s "
                    "counts the images of all K runs (the best round)",
            "device": describe_device(device), "device_kind": device_kind(device),
            "versions": software_versions(),
            "git_commit": git_commit(), "created": _now()}


def throughput(session: Session, args) -> dict[str, dict[int, float]]:
    """(a): every mode and K that fits the budget; images/s by compile mode and K."""
    import torch

    from lt_lab.bench.cases import synthetic_cifar

    data = synthetic_cifar(args.bench_n_max, 100.0, test_per_class=10, device=args.device)
    rates: dict[str, dict[int, float]] = {}
    for compile in args.compile_modes:
        for width in args.widths:
            guess = COMPILE_ALLOWANCE_S * (compile != "off") + 30
            if session.left() < guess + args.reserve_s:
                session.log(f"(a) K={width} {compile}: skipped, {session.left():.0f} s left")
                continue
            session.log(f"(a) K={width}: packed {args.model}, compile={compile}")
            try:
                record = measure_width(session, args, data, width, compile)
            except Exception as error:  # an out-of-memory K must not end the session
                session.log(f"(a) K={width} failed: {type(error).__name__}: {error}")
                continue
            finally:
                torch._dynamo.reset()  # a fresh compile cache for the next shape
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            session.keep("bench", record)
            rate = rates.setdefault(compile, {})[width] = record["packed"]["images_per_s"]
            flops = record["flops"]
            session.log(f"(a) K={width} {compile}: {rate:,.0f} images/s (all K), "
                        f"{flops['achieved_tflops'][f'packed_{width}']:.3g} TFLOP/s, "
                        f"peak {flops['peak_tflops']}")
    return rates


# -- (b) the paper protocol, packed ----------------------------------------------------------


def paper_configs(args, seeds: list[int], compile: str) -> list:
    """The five methods at ``seeds`` as one pack (``pack`` = its size)."""
    from lt_lab.config import make_config

    members = [(name, seed) for seed in seeds for name in args.losses]
    base = dict(dataset="fashion_mnist", imbalance_ratio=100.0, device=args.device,
                compile=compile, pack=len(members))
    return [make_config("paper", **{**base, **LOSSES[name], **args.paper_overrides,
                                    "seed": seed})
            for name, seed in members]


def rate_at(rates: dict[int, float], width: int) -> float:
    """Aggregate images/s at ``width``: measured, or linear between the measured K around
    it, or the nearest measured K's outside them (a guess, as the log says)."""
    below = [k for k in rates if k <= width]
    above = [k for k in rates if k >= width]
    if below and above:
        low, high = max(below), min(above)
        if low == high:
            return rates[low]
        return rates[low] + (rates[high] - rates[low]) * (width - low) / (high - low)
    return rates[max(below) if below else min(above)]


def estimate_s(configs, rates: dict[int, float], compiled: bool) -> float:
    """Seconds a pack of ``configs`` needs at (a)'s rate for its size (a rate on 32×32×3
    images: Fashion-MNIST's 28×28×1 are cheaper, so this errs long), compilation included."""
    from lt_lab.data import longtail_counts

    config = configs[0]
    n = sum(longtail_counts(config.n_max or config.recipe.n_max, 10, config.imbalance_ratio))
    return (n * config.epochs * len(configs) / rate_at(rates, len(configs))
            + COMPILE_ALLOWANCE_S * compiled)


def choose_compile(args, rates: dict[str, dict[int, float]], seeds: list[int]):
    """The compile mode of a pack and its estimated seconds (None: unknown): the one (a)
    predicts faster, compilation included, unless ``--paper-compile`` names one."""
    modes = [args.paper_compile] if args.paper_compile != "auto" else list(rates)
    estimates = {mode: estimate_s(paper_configs(args, seeds, mode), rates[mode], mode != "off")
                 for mode in modes if rates.get(mode)}
    if not estimates:
        fallback = args.paper_compile if args.paper_compile != "auto" else "off"
        return fallback, None
    mode = min(estimates, key=estimates.get)
    return mode, estimates[mode]


class Progress:
    """A ``fit_pack`` callback: one log line every ``every`` epochs, for the pack's first
    member only."""

    def __init__(self, session: Session, label: str, first_key: str, every: int):
        self.session, self.label, self.first, self.every = session, label, first_key, every
        self.started = time.perf_counter()

    def on_epoch_end(self, state) -> None:
        epoch, total = state.epoch + 1, state.config.epochs
        if state.config.key() == self.first and (epoch % self.every == 0 or epoch == total):
            elapsed = time.perf_counter() - self.started
            self.session.log(f"(b) {self.label}: epoch {epoch}/{total}, {elapsed:.1f} s "
                             f"({elapsed / epoch:.2f} s/epoch)")


def paper(session: Session, args, rates: dict[str, dict[int, float]]) -> None:
    """(b): seed 0 of every method as one pack, then the other seeds as one more."""
    import torch

    from lt_lab.pack import fit_pack

    for seeds in (args.first_seeds, args.then_seeds):
        if not seeds:
            continue
        compile, need = choose_compile(args, rates, seeds)
        configs = paper_configs(args, seeds, compile)
        label = (f"pack of {len(configs)} (seeds {','.join(map(str, seeds))}, "
                 f"compile={compile})")
        if session.left() < args.reserve_s and not args.force:
            session.log(f"(b) {label}: skipped, {session.left():.0f} s left")
            continue
        if need is not None and need > session.left() - args.reserve_s and not args.force:
            session.log(f"(b) {label}: skipped, needs about {need:.0f} s, "
                        f"{session.left():.0f} s left (--force to try)")
            continue
        session.log(f"(b) {label}: {', '.join(args.losses)}; estimate "
                    f"{'unknown' if need is None else f'{need:.0f} s'}")
        progress = Progress(session, label, configs[0].key(), max(1, configs[0].epochs // 10))
        try:
            records = fit_pack(configs, cache=False, save=False, progress=False,
                               callbacks=[progress])
        except Exception as error:  # a diverged member: the others' records are kept
            session.log(f"(b) {label} failed: {type(error).__name__}: {error}")
            records = getattr(error, "records", [None] * len(configs))
        finally:
            torch._dynamo.reset()
        for name, record in zip(args.losses * len(seeds), records, strict=True):
            if record is None:
                continue
            session.keep("run", record)
            session.log(f"(b) {name} seed {record['seed']}: acc "
                        f"{100 * record['metrics']['acc']:.2f} %, balanced "
                        f"{100 * record['metrics']['balanced_acc']:.2f} %, "
                        f"{record['pack']['wall_time_s']:.0f} s for the pack")


def fashion_mnist_present() -> bool:
    """Whether Fashion-MNIST's files are somewhere lt_lab looks (no download is tried)."""
    from lt_lab.data.sources import search_paths

    return any((path / "train-images-idx3-ubyte.gz").exists()
               for path in search_paths("fashion_mnist"))


# -- the lead's side: the archive into the store ---------------------------------------------


def import_archive(path: Path, results_dir: Path | None, bench_dir: Path) -> tuple[int, int]:
    """Run records into the results store, throughput records into one bench file; counts."""
    from lt_lab.errors import ConfigError
    from lt_lab.io import write_json_atomic
    from lt_lab.results import ResultsStore

    store = ResultsStore(results_dir)
    runs, bench = 0, []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if entry["type"] == "run":
            store.save(entry["record"])
            runs += 1
        else:
            bench.append(entry["record"])
    if bench:  # e.g. data/bench/cuda-nvidia-h200-packed-20261201T101500Z.json
        stamp = bench[0]["created"].replace("-", "").replace(":", "")[:15]
        name = f"{bench[0]['device_kind']}-packed-{stamp}Z.json"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name) or ".." in name:
            raise ConfigError(f"{path}: a bench record whose device_kind and created make "
                              f"the file name {name!r}, not a plain file name")
        write_json_atomic(bench_dir / name, {"kind": "lt_lab.bench.packed", "widths": bench})
    return runs, len(bench)


# -- the command line ------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-session")))
    parser.add_argument("--budget-s", type=float, default=540.0,
                        help="seconds this session may take (default 540)")
    parser.add_argument("--reserve-s", type=float, default=15.0,
                        help="seconds kept free at the end (default 15)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--compile-modes", type=lambda t: t.split(","),
                        default=["reduce-overhead", "off"], help="(a)'s, in order")
    parser.add_argument("--paper-compile", default="auto",
                        help="(b)'s compile mode (default auto: the faster by (a))")
    parser.add_argument("--widths", type=_ints, default=[1, 16, 64])
    parser.add_argument("--model", default="resnet32", help="(a)'s backbone")
    parser.add_argument("--rounds", type=int, default=2, help="(a)'s timed epochs per K")
    parser.add_argument("--bench-n-max", type=int, default=5000, help="(a)'s n_max")
    parser.add_argument("--losses", type=lambda t: t.split(","), default=list(LOSSES))
    parser.add_argument("--first-seeds", type=_ints, default=[0])
    parser.add_argument("--then-seeds", type=_ints, default=[1, 2])
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--force", action="store_true", help="start (b)'s packs regardless")
    parser.add_argument("--dry-run", action="store_true",
                        help="the whole flow on a CPU with tiny sizes (a test)")
    parser.add_argument("--import", dest="archive", type=Path, default=None,
                        help="put an archive's records into --results-dir and --bench-dir")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--bench-dir", type=Path, default=REPO / "data" / "bench")
    args = parser.parse_args(argv)
    args.paper_overrides = {}
    if args.dry_run:
        for name, value in DRY_RUN.items():
            setattr(args, name, value)
    from lt_lab.config import COMPILE_MODES

    unknown = sorted(set(args.losses) - set(LOSSES))
    if unknown:
        parser.error(f"--losses: unknown {unknown}; known: {', '.join(LOSSES)}")
    for mode in [*args.compile_modes, args.paper_compile]:
        if mode not in (*COMPILE_MODES, "auto"):
            parser.error(f"compile mode {mode!r}: one of {', '.join(COMPILE_MODES)}")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.archive is not None:
        runs, widths = import_archive(args.archive, args.results_dir, args.bench_dir)
        print(f"{runs} run record(s) stored, {widths} throughput record(s) written")
        return 0
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    import torch

    session = Session(args.out, args.budget_s)
    session.log(f"gpu_session {_now()}: torch {torch.__version__}, cuda {torch.version.cuda}, "
                f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}; "
                f"budget {args.budget_s:.0f} s, out {args.out}")
    if args.device == "cuda" and not torch.cuda.is_available():
        session.log("torch sees no CUDA GPU: nothing to do here (--dry-run for a CPU)")
        return 1
    rates = {} if args.skip_throughput else throughput(session, args)
    if fashion_mnist_present():
        paper(session, args, rates)
    else:
        session.log("(b) skipped: Fashion-MNIST is not in data/fashion-mnist (carry it)")
    session.log(f"done: {session.left():.0f} s of the budget left; archive {session.archive}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
