"""``fit_regression(config)``: train one imbalanced-regression model, return its run record.

Built like :func:`lt_lab.train.fit` on the same parts: the epoch loop
(:func:`lt_lab.loop.run_epochs`), batched inference, the results store and the provenance
block. The data sit on the device as tensors, a batch is a slice of a seeded permutation,
augmentation (faces only) is batched on the device.

    weights = lds_weights(train labels)               DIR's SQINV / INV, with or without LDS
    for epoch in range(epochs):
        for batch:
            ŷ, z = model(x, bin(y), epoch)            FDS calibrates z before the regressor
            loss = L(ŷ, y, weights)                   mse / l1 / balanced_mse (registry)
                 + cls_weight · CE(classifier(z), equalised bin of y)      Pintea et al.
                 + ranksim_gamma · RankSim(z, y)                          Gong et al.
        FDS.end_epoch(features of the epoch)          running per-bin statistics
        every eval_every epochs: balanced test metrics, and the MSE on the (skewed) training set
    with config.retrain: the regressor alone retrained on the frozen backbone (Ren et al.'s
        stage 2, lt_lab.regression.retrain); the record keeps stage 1's metrics beside its own

The record (``"kind": "regression"``) holds the config, seed, metrics overall and per shot
region, the per-bin test error and training counts (the DIR figure), the curves (training
loss; training-set MSE against balanced test MSE per evaluation), wall time, device, versions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from lt_lab.data import augment
from lt_lab.errors import ConfigError, TrainingDivergedError
from lt_lab.grid import register_runner
from lt_lab.inference import infer
from lt_lab.loop import Checkpointer, learning_rate, run_epochs
from lt_lab.regression.config import (
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
from lt_lab.regression.retrain import retrain_regressor
from lt_lab.results import ResultsStore, run_record
from lt_lab.runtime import (
    autocast,
    resolve_device,
    resolve_precision,
    seed_everything,
    threads,
)

__all__ = ["PROFILES", "RegressionConfig", "RegressionResult", "fit_regression",
           "make_regression_config", "prepare_regression_data", "regression_config_from_dict"]
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


def predict(model: RegressionNet, inputs: torch.Tensor, data: RegressionData,
            precision: str = "fp32") -> torch.Tensor:
    """Predictions for ``inputs`` in evaluation mode (float32, on the device), computed in
    ``precision`` as the run trained."""
    return infer(model, inputs, forward=lambda x: model(x)[0], precision=precision,
                 prepare=lambda chunk: data.normalise(chunk)
                 .contiguous(memory_format=torch.channels_last))


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


INTEGER_LABELS = ("agedb", "imdb_wiki")  # ages in whole years


def prior_centres(data: RegressionData) -> torch.Tensor:
    """Where GAI's and BNI's training histogram puts each bin. Integer labels (AgeDB-DIR,
    IMDB-WIKI-DIR ages) sit at the bin's integer label, as the Balanced MSE authors'
    ``get_bucket_info`` puts bucket k at age k; labels drawn inside a bin (RotFMNIST-DIR,
    the 1-D task) at its midpoint."""
    bins = data.bins
    if data.name in INTEGER_LABELS:
        return bins.low + bins.width * torch.arange(bins.num_bins, dtype=torch.float64)
    return bins.centres


def label_prior(data: RegressionData) -> LabelPrior:
    """What GAI and BNI read of the training labels (:func:`prior_centres`)."""
    return LabelPrior(data.train_targets, prior_centres(data),
                      data.bins.counts(data.train_targets))


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
    loss_fn = build(config.loss, label_prior(data), **config.loss_params).to(device)
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
    ranksim = RankSimLoss(config.ranksim_lambda) if config.ranksim_gamma else None
    return Training(model, loss_fn, cls_loss, ranksim, optimizer, weights,
                    bins.index(data.train_targets).to(device))


def train_epoch(run: Training, data: RegressionData, config: RegressionConfig, epoch: int,
                generator: torch.Generator) -> float:
    """One pass over a seeded permutation; FDS statistics updated at its end."""
    model = run.model
    model.train()
    device = data.train_targets.device
    precision = resolve_precision(config.precision, device)
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
        with autocast(device, precision):
            pred, features = model(x, bin_index, epoch)
        pred, features = pred.float(), features.float()  # losses and FDS statistics in fp32
        weights = run.weights[batch] if run.weights is not None else None
        loss = run.loss_fn(pred, target, weights)
        if run.cls_loss is not None:
            loss = loss + config.cls_weight * run.cls_loss(model.classifier(features), target)
        if run.ranksim is not None:
            loss = loss + config.ranksim_gamma * run.ranksim(features, target)
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
    precision = resolve_precision(config.precision, data.test_targets.device)
    test_pred = predict(run.model, data.test_inputs, data, precision).cpu()
    report = regression_report(test_pred, data.test_targets.cpu(), data.bins,
                               data.train_bin_counts, many_threshold=config.many_threshold,
                               few_threshold=config.few_threshold)
    train_pred = predict(run.model, data.train_inputs, data, precision).cpu()
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


def run_threads(config: RegressionConfig) -> int | None:
    """The CPU threads ``config`` trains with: its own, or one for the MLP, or None (the
    process's count)."""
    if config.threads is not None:
        return config.threads
    return 1 if config.model == "mlp" else None


@register_runner(KIND)
def fit_regression(config: RegressionConfig, *, cache: bool = True, save: bool = True,
                   store: ResultsStore | None = None, progress: bool | None = None,
                   checkpoint_every: int | None = None) -> RegressionResult:
    """Train ``config`` (or, with ``cache``, return its stored record) and store the record.

    As :func:`lt_lab.train.fit`: the store is checked writable before training, and with
    ``save`` the run checkpoints (``checkpoint_every`` epochs; default once a minute) and a
    rerun resumes from the checkpoint, FDS statistics included.

    Runs use ``config.threads`` CPU threads; unpinned, MLP runs use one (their small layers
    lose more to thread synchronisation than they gain) and the others the process's count.
    """
    config = config.validate()
    store = store or ResultsStore()
    if cache and (record := store.load(config)) is not None:
        return RegressionResult(record=record, cached=True)
    if save:
        store.check_writable()  # a read-only store fails now, not after training
    checkpoint = (store.checkpoint_path(config.key()), checkpoint_every) if save else None
    with threads(run_threads(config)):
        record, run, data = _train(config, progress, checkpoint)
    if save:
        store.save(record)
        store.remove_checkpoint(config.key())
    return RegressionResult(record=record, model=run.model, data=data)


def _train(config: RegressionConfig, progress: bool | None, checkpoint=None):
    started = time.perf_counter()
    device = resolve_device(config.device)
    seed_everything(config.seed)
    data = prepare_regression_data(config, device)
    if config.batch_size > len(data.train_targets):
        raise ConfigError(f"batch_size={config.batch_size} is larger than the training set of "
                          f"this config ({len(data.train_targets)} samples); use batch_size <= "
                          f"{len(data.train_targets)}, or more data (n_max)")
    run = build_training(config, data, device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    checkpoints = None
    if checkpoint is not None:
        path, every = checkpoint
        parts = {"model": run.model, "optimizer": run.optimizer, "loss": run.loss_fn,
                 "cls_loss": run.cls_loss, "generator": generator}
        checkpoints = Checkpointer(path, config, parts, every=every)
    start_epoch, curves = checkpoints.resume() if checkpoints else (0, None)

    def set_lr(lr):
        for group in run.optimizer.param_groups:
            if not group.get("fixed_lr"):
                group["lr"] = lr

    def test(epoch):
        report = evaluate(run, data, config)
        sigma = getattr(run.loss_fn, "noise_sigma", None)
        return report, {"test_mae": report["mae"], "test_mse": report["mse"],
                        "test_few_shot_mae": report["few_shot_mae"],
                        "train_mse": report["train_mse"],
                        "noise_sigma": None if sigma is None else float(sigma.detach())}

    curves, report = run_epochs(
        config, set_lr=set_lr, evaluate=test, progress=progress, desc=describe(config),
        train_epoch=lambda epoch: train_epoch(run, data, config, epoch, generator),
        start_epoch=start_epoch, curves=curves, checkpoint=checkpoints)
    base = None
    if config.retrain:
        base = report or evaluate(run, data, config)  # a resumed run may skip stage 1's loop
        curves["retrain"] = retrain_regressor(run.model, data, config, label_prior(data),
                                              run.weights)
        report = evaluate(run, data, config)
    before = checkpoints.elapsed_before if checkpoints else 0.0
    record = make_record(config, data, report, curves, base=base,
                         wall_time_s=before + time.perf_counter() - started, device=device)
    return record, run, data


def describe(config: RegressionConfig) -> str:
    ratio = "natural" if config.imbalance_ratio is None else f"{config.imbalance_ratio:g}"
    return f"{config.dataset} ρ={ratio} {config.loss} seed={config.seed}"


def make_record(config, data, report, curves, *, wall_time_s, device, base=None) -> dict:
    """The JSON-ready record (:func:`lt_lab.results.run_record`); with ``base`` (stage 1's
    report of a two-stage run) also ``base_metrics`` and ``base_train_metrics``."""
    counts = data.train_bin_counts
    stage1 = {} if base is None else {
        "base_metrics": {name: base[name] for name in METRIC_NAMES},
        "base_train_metrics": {"mse": base["train_mse"], "mae": base["train_mae"]}}
    return run_record(config, {
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
        **stage1,
    }, wall_time_s=wall_time_s, device=device,
        precision=resolve_precision(config.precision, device))
