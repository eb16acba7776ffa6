"""``fit_regression(config)``: train one imbalanced-regression model, return its run record.

Mirrors :func:`lt_lab.train.fit`: the data sit on the device as tensors, a batch is a slice
of a seeded permutation, augmentation (faces only) is batched on the device.

    weights = lds_weights(train labels)               DIR's SQINV / INV, with or without LDS
    for epoch in range(epochs):
        for batch:
            ŷ, z = model(x, bin(y), epoch)            FDS calibrates z before the regressor
            loss = L(ŷ, y, weights)                   mse / l1 / balanced_mse (registry)
                 + cls_weight · CE(classifier(z), equalised bin of y)      Pintea et al.
                 + ranksim_weight · RankSim(z, y)                          Gong et al.
        FDS.end_epoch(features of the epoch)          running per-bin statistics
        every eval_every epochs: balanced test metrics, and the MSE on the (skewed) training set

The record (``"kind": "regression"``) holds the config, seed, metrics overall and per shot
region, the per-bin test error and training counts (the DIR figure), the curves (training
loss; training-set MSE against balanced test MSE per evaluation), wall time, device, versions.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from torch import nn
from tqdm import tqdm

from lt_lab.data import augment
from lt_lab.errors import TrainingDivergedError
from lt_lab.regression.config import (
    CACHE_VERSION,
    KIND,
    PROFILES,
    RegressionConfig,
    make_regression_config,
    regression_config_from_dict,
)
from lt_lab.regression.data import RegressionData, faces, rotated_fashion_mnist, synthetic_1d
from lt_lab.regression.lds import lds_weights, smooth_density
from lt_lab.regression.losses import (
    BinClassificationLoss,
    LabelPrior,
    RankSimLoss,
    build,
)
from lt_lab.regression.metrics import METRIC_NAMES, mse, regression_report
from lt_lab.regression.model import RegressionNet, build_regression_model
from lt_lab.results import ResultsStore
from lt_lab.train import (
    _round,
    describe_device,
    git_commit,
    resolve_device,
    seed_everything,
    software_versions,
)

__all__ = ["PROFILES", "RegressionConfig", "RegressionResult", "fit_regression",
           "make_regression_config", "prepare_regression_data", "regression_config_from_dict"]
EVAL_BATCH = 256
_DATA_CACHE: dict[tuple, RegressionData] = {}


def prepare_regression_data(config: RegressionConfig, device="cpu") -> RegressionData:
    """The data of ``config`` on ``device`` (built once per process and data settings)."""
    if config.dataset in ("agedb", "imdb_wiki"):
        key = (config.dataset, config.image_size)
    else:
        key = (config.dataset, config.imbalance_ratio, config.label_profile, config.n_max,
               config.test_per_bin, config.subset_seed)
    if key not in _DATA_CACHE:
        if len(_DATA_CACHE) > 4:
            _DATA_CACHE.clear()
        if config.dataset in ("agedb", "imdb_wiki"):
            data = faces(config.dataset, image_size=config.image_size)
        else:
            build_data = (rotated_fashion_mnist if config.dataset == "rotated_fashion_mnist"
                          else synthetic_1d)
            data = build_data(imbalance_ratio=config.imbalance_ratio, n_max=config.n_max,
                              test_per_bin=config.test_per_bin,
                              label_profile=config.label_profile,
                              subset_seed=config.subset_seed)
        _DATA_CACHE[key] = data
    source = _DATA_CACHE[key]
    return RegressionData(**{**source.__dict__}).to(device)


def learning_rate(config: RegressionConfig, epoch: int) -> float:
    """Step decay: ``lr · lr_decay^(milestones passed)`` (DIR: ×0.1 at epochs 60 and 80)."""
    passed = sum(epoch >= round(m * config.epochs) for m in config.lr_milestones)
    return config.lr * config.lr_decay**passed


@torch.no_grad()
def predict(model: RegressionNet, inputs: torch.Tensor, data: RegressionData) -> torch.Tensor:
    """Predictions for ``inputs`` in evaluation mode (float32, on the device)."""
    was_training = model.training
    model.eval()
    outputs = [model(data.normalise(inputs[start : start + EVAL_BATCH])
                     .contiguous(memory_format=torch.channels_last))[0]
               for start in range(0, len(inputs), EVAL_BATCH)]
    model.train(was_training)
    return torch.cat(outputs).float()


@dataclass
class Training:
    """What one run trains: model, losses, optimiser, per-sample weights and bins."""

    model: RegressionNet
    loss_fn: nn.Module
    cls_loss: BinClassificationLoss | None
    ranksim: RankSimLoss | None
    optimizer: torch.optim.Optimizer
    weights: torch.Tensor | None
    train_bins: torch.Tensor


def build_training(config: RegressionConfig, data: RegressionData, device) -> Training:
    bins = data.bins
    fds = None
    if config.fds:
        fds = dict(kernel=config.fds_kernel, ks=config.fds_ks, sigma=config.fds_sigma,
                   momentum=config.fds_momentum, start_update=config.fds_start_update,
                   start_smooth=config.fds_start_smooth)
    model = build_regression_model(config.model, data.input_shape, feature_fds=fds,
                                   num_bins=bins.num_bins,
                                   num_classes=config.cls_classes if config.cls_weight else 0,
                                   train_targets=data.train_targets)
    model = model.to(device).to(memory_format=torch.channels_last)
    prior = LabelPrior(data.train_targets, bins.centres, bins.counts(data.train_targets))
    loss_fn = build(config.loss, prior, **config.loss_params).to(device)
    groups = [{"params": list(model.parameters()), "lr": config.lr}]
    sigma_lr = getattr(loss_fn, "sigma_lr", None)
    if sigma_lr is not None and loss_fn.noise_sigma.requires_grad:
        groups.append({"params": [loss_fn.noise_sigma], "lr": sigma_lr, "weight_decay": 0.0,
                       "fixed_lr": True})
    optimizer = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    weights = None
    if config.reweight != "none":
        weights = lds_weights(data.train_targets, bins, kernel=config.lds_kernel,
                              ks=config.lds_ks, sigma=config.lds_sigma,
                              reweight=config.reweight, lds=config.lds).to(device)
    cls_loss = (BinClassificationLoss(data.train_targets, config.cls_classes).to(device)
                if config.cls_weight else None)
    ranksim = RankSimLoss(config.ranksim_lambda) if config.ranksim_weight else None
    return Training(model, loss_fn, cls_loss, ranksim, optimizer, weights,
                    bins.index(data.train_targets).to(device))


def train_epoch(run: Training, data: RegressionData, config: RegressionConfig, epoch: int,
                generator: torch.Generator) -> float:
    """One pass over a seeded permutation; FDS statistics updated at its end."""
    model = run.model
    model.train()
    device = data.train_targets.device
    order = torch.randperm(len(data.train_targets), generator=generator, device=device)
    step_losses, seen_features, seen_bins = [], [], []
    for start in range(0, len(order), config.batch_size):
        batch = order[start : start + config.batch_size]
        if len(batch) < 2:
            continue
        inputs = data.train_inputs[batch]
        if config.augment and inputs.dtype == torch.uint8:
            inputs = augment(inputs, padding=data.crop_padding, flip=data.flip,
                             generator=generator)
        x = data.normalise(inputs).contiguous(memory_format=torch.channels_last)
        target, bin_index = data.train_targets[batch], run.train_bins[batch]
        pred, features = model(x, bin_index, epoch)
        weights = run.weights[batch] if run.weights is not None else None
        loss = run.loss_fn(pred, target, weights)
        if run.cls_loss is not None:
            loss = loss + config.cls_weight * run.cls_loss(model.classifier(features), target)
        if run.ranksim is not None:
            loss = loss + config.ranksim_weight * run.ranksim(features, target)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        step_losses.append(loss.detach())
        if model.fds is not None:
            seen_features.append(features.detach())
            seen_bins.append(bin_index)
    if model.fds is not None:
        model.fds.end_epoch(torch.cat(seen_features), torch.cat(seen_bins), epoch)
    losses = torch.stack(step_losses)
    if not torch.isfinite(losses).all():
        raise TrainingDivergedError(f"training loss became non-finite at epoch {epoch} "
                                    f"(loss={config.loss!r}, lr={learning_rate(config, epoch):g})")
    return float(losses.mean())


def evaluate(run: Training, data: RegressionData, config: RegressionConfig) -> dict:
    """Balanced test metrics (overall, per region, per bin) and the training-set MSE/MAE."""
    test_pred = predict(run.model, data.test_inputs, data).cpu()
    report = regression_report(test_pred, data.test_targets.cpu(), data.bins,
                               data.train_bin_counts, many_threshold=config.many_threshold,
                               few_threshold=config.few_threshold)
    train_pred = predict(run.model, data.train_inputs, data).cpu()
    report["train_mse"] = mse(train_pred, data.train_targets.cpu())
    report["train_mae"] = float((train_pred - data.train_targets.cpu()).abs().mean())
    return report


@dataclass
class RegressionResult:
    """A run record, and the trained model and data when the run happened here."""

    record: dict
    model: RegressionNet | None = None
    data: RegressionData | None = None
    cached: bool = False

    @property
    def metrics(self) -> dict:
        return self.record["metrics"]


def load_record(config: RegressionConfig, store: ResultsStore) -> dict | None:
    path = store.path(config.key())
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("kind") != KIND or record.get("cache_version") != CACHE_VERSION:
        return None
    return record


def fit_regression(config: RegressionConfig, *, cache: bool = True, save: bool = True,
                   store: ResultsStore | None = None, progress: bool | None = None
                   ) -> RegressionResult:
    """Train ``config`` (or, with ``cache``, return its stored record) and store the record."""
    config = config.validate()
    store = store or ResultsStore()
    if cache and (record := load_record(config, store)) is not None:
        return RegressionResult(record=record, cached=True)
    with _threads(1 if config.model == "mlp" else None):
        record, run, data = _train(config, progress)
    if save:
        store.save(record)
    return RegressionResult(record=record, model=run.model, data=data)


@contextmanager
def _threads(count: int | None):
    """Run with ``count`` CPU threads, then restore. MLP runs use one: their small layers
    lose more to thread synchronisation than they gain (a 1-D run was 30× slower with 2
    threads on a busy 2-core CPU), and one thread makes their numbers independent of the
    machine's core count."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(config: RegressionConfig, progress: bool | None):
    started = time.perf_counter()
    device = resolve_device(config.device)
    seed_everything(config.seed)
    data = prepare_regression_data(config, device)
    run = build_training(config, data, device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    curves = {"epoch": [], "lr": [], "train_loss": [], "eval_epoch": [], "test_mae": [],
              "test_mse": [], "test_few_shot_mae": [], "train_mse": [], "noise_sigma": []}
    quiet = None if progress is None else not progress
    for epoch in tqdm(range(config.epochs), desc=describe(config), disable=quiet, leave=False):
        lr = learning_rate(config, epoch)
        for group in run.optimizer.param_groups:
            if not group.get("fixed_lr"):
                group["lr"] = lr
        train_loss = train_epoch(run, data, config, epoch, generator)
        curves["epoch"].append(epoch + 1)
        curves["lr"].append(lr)
        curves["train_loss"].append(train_loss)
        if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
            report = evaluate(run, data, config)
            curves["eval_epoch"].append(epoch + 1)
            for name in ("test_mae", "test_mse", "test_few_shot_mae", "train_mse"):
                source = name.removeprefix("test_") if name.startswith("test_") else name
                curves[name].append(report[source])
            sigma = getattr(run.loss_fn, "noise_sigma", None)
            curves["noise_sigma"].append(None if sigma is None else float(sigma.detach()))
    record = make_record(config, data, report, curves,
                         wall_time_s=time.perf_counter() - started, device=device)
    return record, run, data


def describe(config: RegressionConfig) -> str:
    ratio = "natural" if config.imbalance_ratio is None else f"{config.imbalance_ratio:g}"
    return f"{config.dataset} ρ={ratio} {config.loss} seed={config.seed}"


def make_record(config, data, report, curves, *, wall_time_s, device) -> dict:
    """The JSON-ready record; NaN (an empty region or bin) becomes null."""
    counts = data.train_bin_counts
    return _round({
        "kind": KIND,
        "key": config.key(),
        "cache_version": CACHE_VERSION,
        "config": config.to_dict(),
        "seed": config.seed,
        "metrics": {name: report[name] for name in METRIC_NAMES},
        "train_metrics": {"mse": report["train_mse"], "mae": report["train_mae"]},
        "bins": {"low": data.bins.low, "high": data.bins.high, "num_bins": data.bins.num_bins},
        "per_bin": {
            "train_count": counts,
            "region": report["regions"],
            "lds_density": smooth_density(counts, config.lds_kernel, config.lds_ks,
                                          config.lds_sigma).tolist(),
            "test_mae": report["per_bin_mae"],
            "test_mse": report["per_bin_mse"],
        },
        "data": {"train_size": len(data.train_targets), "test_size": len(data.test_targets)},
        "curves": curves,
        "wall_time_s": round(wall_time_s, 2),
        "device": describe_device(device),
        "versions": software_versions(),
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def run_regression_grid(configs, *, cache: bool = True, save: bool = True,
                        store: ResultsStore | None = None, progress: bool | None = None):
    """Records of every config, in order: stored ones read, the rest trained and stored."""
    store = store or ResultsStore()
    return [fit_regression(c, cache=cache, save=save, store=store, progress=progress).record
            for c in configs]

