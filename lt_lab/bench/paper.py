"""``lt-lab bench --paper-run``: the papers' protocol on a GPU, timed epoch by epoch.

Trains the ``paper`` profile (ResNet-32, 200 epochs) with cross-entropy and LDAM-DRW
through :func:`lt_lab.train.fit` itself, on Fashion-MNIST-LT and on the synthetic
CIFAR-shaped set of :func:`lt_lab.bench.cases.synthetic_cifar`.

Fashion-MNIST-LT runs are ordinary runs: their records go to a results store
(``--results-dir``) under their config's key. A synthetic run is not: its config names
CIFAR-10, its data are random images, so its record never enters a results store. It is a
benchmark file, ``<results-dir>/synthetic/synthetic_cifar10-<loss>-<model>-<epochs>ep-
seed<seed>.json``, saying ``"synthetic": true``; its accuracy is chance by construction and
only its timing means anything.

Core dependencies only (torch, numpy, tqdm): this runs on the bare GPU image.
"""

from __future__ import annotations

import time
from pathlib import Path

from lt_lab import train as trainer
from lt_lab.bench.cases import say, synthetic_cifar
from lt_lab.config import PROFILES, RunConfig, make_config
from lt_lab.errors import ConfigError
from lt_lab.io import write_json_atomic
from lt_lab.results import ResultsStore
from lt_lab.runtime import resolve_device

PAPER_DATASETS = ("synthetic_cifar", "fashion_mnist")
PAPER_LOSSES = ("ce", "ldam_drw")
SYNTHETIC_NAME = "synthetic_cifar10"
SYNTHETIC_NOTE = ("random uint8 images, CIFAR-10-LT counts; accuracy is chance by "
                  "construction: only the timing means anything")


def paper_config(dataset: str, loss: str, epochs: int | None = None,
                 overrides: dict | None = None) -> RunConfig:
    """The ``paper`` profile (ResNet-32, 200 epochs) with CE or LDAM-DRW.

    LDAM-DRW: cosine head, DRW from 80 % of training (epoch 160 of 200, as the papers).
    Synthetic data borrows CIFAR-10's config (its normalisation and augmentation).
    """
    if loss not in PAPER_LOSSES:
        raise ConfigError(f"loss={loss!r}: the paper runs know {', '.join(PAPER_LOSSES)}")
    values = dict(overrides or {})
    if epochs is not None:
        values["epochs"] = epochs
        # a dry run of a few epochs: the paper's 5 warm-up epochs must end before training
        values.setdefault("warmup_epochs", min(PROFILES["paper"]["warmup_epochs"], epochs - 1))
    if loss == "ldam_drw":
        values.update(loss="ldam", head="cosine", loss_params={"drw_start": 0.8})
    else:
        values.update(loss="ce")
    return make_config("paper", dataset="cifar10" if dataset == "synthetic_cifar" else dataset,
                       imbalance_ratio=100.0, **values)


def fit_on(data, config: RunConfig, *, callbacks=(), progress: bool | None = None) -> dict:
    """Train ``config`` on ``data`` with :func:`lt_lab.train.fit` itself (the same loop,
    evaluation and record) and mark the record as synthetic.

    ``fit`` neither reads nor writes a results store when given ``data`` (the config does
    not describe them); the record's key and config stay what the engine made, and
    ``"synthetic": true`` with ``synthetic_data`` and ``data_note`` say what was trained on.
    """
    record = trainer.fit(config, callbacks=callbacks, progress=progress, data=data).record
    return {**record, "synthetic": True, "synthetic_data": SYNTHETIC_NAME,
            "data_note": SYNTHETIC_NOTE}


def synthetic_path(directory: str | Path, loss: str, config: RunConfig) -> Path:
    """Where a synthetic run's record goes: a named benchmark file, never ``<key>.json``."""
    name = f"{SYNTHETIC_NAME}-{loss}-{config.model}-{config.epochs}ep-seed{config.seed}.json"
    return Path(directory) / name


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


def paper_run(dataset: str, loss: str, output_dir: Path, *, epochs: int | None = None,
              overrides: dict | None = None, concurrent: int = 1, log=say) -> dict:
    """One paper run: Fashion-MNIST-LT into the store ``output_dir``, synthetic data into
    the benchmark folder ``output_dir/synthetic``; its record, with its ``path``."""
    if dataset not in PAPER_DATASETS:
        raise ConfigError(f"dataset={dataset!r}: the paper runs know {', '.join(PAPER_DATASETS)}")
    config = paper_config(dataset, loss, epochs, overrides)
    label = f"{dataset} {loss} {config.model} {config.epochs} epochs"
    log(f"paper run: {label}")
    timer = EpochTimer(label, every=max(1, config.epochs // 10), concurrent=concurrent, log=log)
    started = time.perf_counter()
    if dataset == "synthetic_cifar":
        data = synthetic_cifar(config.n_max or 5000, config.imbalance_ratio,
                               test_per_class=config.test_per_class or 1000,
                               device=resolve_device(config.device))
        record = fit_on(data, config, callbacks=[timer], progress=False)
        path = write_json_atomic(synthetic_path(output_dir / "synthetic", loss, config), record)
    else:
        store = ResultsStore(output_dir)
        record = trainer.fit(config, store=store, cache=False, callbacks=[timer],
                             progress=False).record
        path = store.path(record["key"])
    metrics = record["metrics"]
    log(f"  {label}: {time.perf_counter() - started:.1f} s, acc {100 * metrics['acc']:.2f} %, "
        f"balanced {100 * metrics['balanced_acc']:.2f} %, {record['device']}, record {path}")
    return {**record, "path": str(path)}


def paper_runs(output_dir: str | Path, *, datasets=PAPER_DATASETS, losses_=PAPER_LOSSES,
               epochs: int | None = None, overrides: dict | None = None,
               concurrent: int = 1, log=say) -> list[dict]:
    """Train the paper protocol for each dataset × loss (:func:`paper_run`).

    ``overrides`` change the ``paper`` profile (tests use a tiny model and data;
    ``n_max``/``test_per_class`` size the synthetic set too).
    """
    return [paper_run(dataset, loss, Path(output_dir), epochs=epochs, overrides=overrides,
                      concurrent=concurrent, log=log)
            for dataset in datasets for loss in losses_]
