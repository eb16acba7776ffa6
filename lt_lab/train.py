"""``fit(config)``: train one model on a long-tailed set and return its run record.

The whole training set sits on the device as one uint8 tensor. Each epoch the sampler
returns one index tensor; a batch is a slice of it, gathered, augmented and normalised on
the device. No DataLoader, no per-image Python.

    for epoch in range(epochs):                                  (lt_lab.loop.run_epochs)
        set the learning rate (linear warm-up, then step or cosine)
        for indices in batches of sampler.epoch_indices(epoch):
            indices = indices + bound set                        (batch_binding only)
            x = normalise(augment(train_images[indices]))        (once a view, if several)
            x = mix(x) for a loss that mixes its inputs          (input mixup only)
            loss(model(x), train_labels[indices]).backward(); optimizer.step()
        every `eval_every` epochs: evaluate on the balanced test set
        analyses' on_epoch_end(state)
    analyses' after_fit(state)

The trainer knows no method family: losses come from the registry, analyses (post-hoc
adjustment, collapse snapshots, classifier fixes...) from :mod:`lt_lab.hooks`. What a
loss needs besides logits it declares by attribute, and the trainer serves it:

* ``takes_features``: the penultimate features instead of the logits;
* ``takes_views = V`` (V > 1): V independently augmented views of each image, stacked as
  ``(N, V, d)`` (Khosla et al. 2020's two views for the supervised contrastive loss);
* ``mixes_inputs``: the loss mixes each normalised batch (``loss.mix(x, y, generator)``, a
  :class:`MixedBatch`-like ``(inputs, targets_a, targets_b, lam)``) and scores the logits
  with ``loss.mixed(logits, targets_a, targets_b, lam)`` (Zhang et al. 2018's input mixup).

A config's ``batch_binding`` appends a fixed set of examples, one a class, to every batch
(Kini et al. 2024; the set comes from :data:`lt_lab.data.samplers.BOUND_SETS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from lt_lab import hooks, losses
from lt_lab.config import RunConfig
from lt_lab.data import (
    BOUND_SETS,
    augment,
    build_sampler,
    class_order,
    load_dataset,
    longtail_counts,
    make_longtail,
    validation_indices,
)
from lt_lab.errors import ConfigError, TrainingDivergedError
from lt_lab.grid import register_runner
from lt_lab.inference import infer
from lt_lab.loop import Checkpointer, learning_rate, run_epochs
from lt_lab.metrics import classification_report
from lt_lab.models import build_model
from lt_lab.results import ResultsStore, run_record
from lt_lab.runtime import (
    autocast,
    grad_scaler,
    resolve_device,
    resolve_precision,
    seed_everything,
    threads,
)

__all__ = ["RunResult", "TrainState", "TrainingData", "batch_slices", "divergence", "evaluate",
           "evaluation_points", "extract_features", "feature_norm_penalty", "fit",
           "learning_rate", "predict_logits", "prepare_data", "resolve_device",
           "seed_everything", "stack_views", "start_loss_epoch", "train_epoch", "train_step",
           "training_batch", "training_images", "views_of"]


@dataclass
class TrainingData:
    """A long-tailed training set and a balanced test set, on the device."""

    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 rank labels, 0 = head
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_counts: list[int]
    class_names: list[str]
    mean: torch.Tensor  # (1, C, 1, 1)
    std: torch.Tensor
    # A balanced validation split (only when the config's val_per_class > 0).
    val_images: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """``(x/255 − mean)/std`` in the statistics' dtype (float32; float64 in tests)."""
        return (images.to(self.mean.dtype) / 255 - self.mean) / self.std

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised, channels-last: what the network takes."""
        return self.normalise(images).contiguous(memory_format=torch.channels_last)


def prepare_data(config: RunConfig, device: torch.device | str = "cpu") -> TrainingData:
    """Load the source, cut the long-tailed subset of ``config`` and move it to ``device``."""
    source = load_dataset(config.dataset)
    recipe = config.recipe
    counts = longtail_counts(
        config.n_max or recipe.n_max, source.num_classes, config.imbalance_ratio,
        config.imbalance_profile,
    )
    order = class_order(config.dataset, source.num_classes, config.class_order)
    split = make_longtail(
        source.train_labels, source.test_labels, counts, order=order,
        seed=config.subset_seed, test_per_class=config.test_per_class,
    )
    channels = source.image_shape[0]
    val_images = val_labels = None
    if config.val_per_class:
        val_idx, val_labels = validation_indices(source.train_labels, split, config.val_per_class,
                                                 seed=config.subset_seed)
        val_images, val_labels = source.train_images[val_idx].to(device), val_labels.to(device)
    return TrainingData(
        train_images=source.train_images[split.train_indices].to(device),
        train_labels=split.train_labels.to(device),
        test_images=source.test_images[split.test_indices].to(device),
        test_labels=split.test_labels.to(device),
        class_counts=split.class_counts,
        class_names=[source.class_names[c] for c in order],
        mean=torch.tensor(recipe.mean, device=device).view(1, channels, 1, 1),
        std=torch.tensor(recipe.std, device=device).view(1, channels, 1, 1),
        val_images=val_images,
        val_labels=val_labels,
    )


def predict_logits(model: nn.Module, images: torch.Tensor, data: TrainingData,
                   precision: str = "fp32") -> torch.Tensor:
    """Logits of ``images`` (uint8, on the device) as float32, in evaluation mode, computed
    in ``precision`` (the run's, so a test score is the trained network's own)."""
    return infer(model, images, prepare=data.prepare, precision=precision)


def extract_features(model: nn.Module, images: torch.Tensor, data: TrainingData) -> torch.Tensor:
    """Penultimate features ``model.features(x)`` of ``images`` in full float32, eval mode.

    Chapters 3 and 4 extract them once and work on them: classifier fixes and
    neural-collapse metrics then cost seconds, not a pass through the network each. They
    are measured in full precision whatever the run trained in.
    """
    return infer(model, images, prepare=data.prepare, forward=model.features)


def evaluate(model: nn.Module, data: TrainingData, config: RunConfig,
             tau: float = 0.0) -> dict:
    """Every test metric of :func:`lt_lab.metrics.classification_report`, the logits computed
    in the run's precision.

    With ``tau`` the predictions are post-hoc adjusted: ``argmax_y z_y - tau log pi_y``, with
    pi the training class prior (Menon et al. 2021; tau=1 is Buda et al.'s thresholding).
    """
    precision = resolve_precision(config.precision, data.test_images.device)
    logits = predict_logits(model, data.test_images, data, precision).cpu()
    if tau:
        counts = torch.tensor(data.class_counts, dtype=torch.float64)
        logits = logits - tau * torch.log(counts / counts.sum()).float()
    return classification_report(
        logits, data.test_labels.cpu(), data.class_counts,
        many_threshold=config.many_threshold, few_threshold=config.few_threshold,
    )


def training_backbone(model: nn.Module, config: RunConfig):
    """What ``train_epoch`` runs as the backbone: ``model.features``, or it compiled.

    ``torch.compile(mode=config.compile)`` wraps the same module (same parameters and
    buffers), so evaluation and feature extraction keep using the eager ``model.features``
    and never trigger a recompilation for eval mode or another batch size.
    """
    if config.compile == "off":
        return model.features
    return torch.compile(model.features, mode=config.compile)


def train_step(model, backbone, loss_fn, optimizer, x, y, config, *,
               precision: str | None = None, scaler=None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """One SGD step on a normalised batch ``x`` already on the device; the detached loss.

    ``backbone``: the features' forward (:func:`training_backbone`). ``precision``: the
    resolved precision (default: the config's, resolved for ``x``'s device); ``scaler``: the
    fp16 gradient scaler (:func:`lt_lab.runtime.grad_scaler`); ``generator``: the run's, for
    a loss that mixes its inputs. The benchmark's pipelines call this too, so they time
    exactly the trainer's step. With a loss's ``takes_views = V``, ``x`` holds V views of
    the ``len(y)`` images, view-major (:func:`training_batch`).
    """
    if precision is None:
        precision = resolve_precision(config.precision, x.device)
    if config.compile == "reduce-overhead":  # a new step: the graphs' outputs may be reused
        torch.compiler.cudagraph_mark_step_begin()
    mixed = loss_fn.mix(x, y, generator) if getattr(loss_fn, "mixes_inputs", False) else None
    with autocast(x.device, precision):
        features = backbone(x if mixed is None else mixed.inputs)
        if getattr(loss_fn, "takes_features", False):  # e.g. dot regression on a fixed head
            outputs = features.float()
        else:
            outputs = model.classifier(features).float()
        if mixed is not None:  # input mixup: λ L(z, y_a) + (1 − λ) L(z, y_b)
            loss = loss_fn.mixed(outputs, mixed.targets_a, mixed.targets_b, mixed.lam)
        else:
            loss = loss_fn(stack_views(outputs, views_of(loss_fn)), y)
        if config.feature_norm_penalty:
            loss = loss + feature_norm_penalty(features, config)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.detach()


def views_of(loss_fn) -> int:
    """How many augmented views of each image ``loss_fn`` takes (``takes_views``; 1)."""
    return getattr(loss_fn, "takes_views", 1)


def stack_views(outputs: torch.Tensor, views: int) -> torch.Tensor:
    """The network's outputs on V view-major blocks ``(V·N, d)`` as ``(N, V, d)``: row i
    holds image i's views, as the supervised contrastive loss takes them (Khosla et al.
    2020). One view: unchanged, ``(N, d)``."""
    if views == 1:
        return outputs
    return outputs.unflatten(0, (views, -1)).transpose(0, 1)


def feature_norm_penalty(features: torch.Tensor, config) -> torch.Tensor:
    """Hasegawa & Sato 2024's penalty on the features: ``(lambda/2) mean ||h||^2``."""
    norms = features.float().pow(2).flatten(1).sum(1)
    return 0.5 * config.feature_norm_penalty * norms.mean()


def batch_slices(count: int, batch_size: int):
    """An epoch's batches over ``count`` drawn indices, as slices; a last batch of a single
    image is left out (BatchNorm cannot train on one image)."""
    for start in range(0, count, batch_size):
        if min(batch_size, count - start) >= 2:
            yield slice(start, start + batch_size)


def training_images(data: TrainingData, batch: torch.Tensor, config,
                    generator: torch.Generator) -> torch.Tensor:
    """The uint8 training images at ``batch``, augmented as ``config`` says (random crop and
    flip, drawn from ``generator``)."""
    images = data.train_images[batch]
    if config.augment:
        recipe = config.recipe
        images = augment(images, padding=recipe.crop_padding, flip=recipe.flip,
                         generator=generator)
    return images


def training_batch(data: TrainingData, batch: torch.Tensor, config, generator: torch.Generator,
                   views: int = 1) -> torch.Tensor:
    """The normalised network input of ``batch``: :func:`training_images`, then
    ``data.prepare``. With ``views`` > 1, that many independent augmentations of the batch,
    drawn one after another from ``generator`` and stacked view-major, ``(V·N, C, H, W)``."""
    if views == 1:
        return data.prepare(training_images(data, batch, config, generator))
    return data.prepare(torch.cat([training_images(data, batch, config, generator)
                                   for _ in range(views)]))


def bound_set(config, data: TrainingData) -> torch.Tensor | None:
    """The indices appended to every training batch: with ``config.batch_binding``, one
    fixed example of each class (Kini et al. 2024's batch-binding, from
    :data:`~lt_lab.data.samplers.BOUND_SETS`), on the data's device; otherwise None."""
    if not config.batch_binding:
        return None
    bound = BOUND_SETS["batch_binding"](data.train_labels.cpu(), data.num_classes)
    return bound.to(data.train_labels.device)


def divergence(losses: torch.Tensor, config, epoch: int) -> str | None:
    """Where an epoch's step ``losses`` stopped being finite, as a sentence; None while they
    are finite. Checked once an epoch: a check per step would sync the GPU."""
    finite = torch.isfinite(losses)
    if finite.all():
        return None
    step = int((~finite).nonzero()[0])
    return (f"training loss became {losses[step].item()} at epoch {epoch}, step {step} "
            f"(loss={config.loss!r}, lr={learning_rate(config, epoch):g})")


def start_loss_epoch(loss_fn, config, epoch: int) -> None:
    """Tell a loss with a schedule (deferred re-weighting) that ``epoch`` begins."""
    if hasattr(loss_fn, "set_epoch"):
        loss_fn.set_epoch(epoch, config.epochs)


def evaluation_points(model: nn.Module, data: TrainingData, config) -> tuple[dict, dict]:
    """An evaluation on the test set: the full report and the points it adds to the
    curves."""
    report = evaluate(model, data, config)
    return report, {"test_acc": report["acc"], "test_balanced_acc": report["balanced_acc"],
                    "test_few_shot_acc": report["few_shot_acc"]}


def train_epoch(model, loss_fn, optimizer, sampler, data, config, epoch, generator,
                backbone=None, *, precision: str | None = None, scaler=None,
                bound: torch.Tensor | None = None) -> float:
    """One pass over the sampler's indices; returns the mean training loss.

    ``backbone``: the features' forward to train through (:func:`training_backbone`);
    ``model.features`` when not given. ``precision``, ``scaler``: as :func:`train_step`.
    ``bound``: indices appended to every batch (:func:`bound_set`).
    """
    model.train()
    if precision is None:
        precision = resolve_precision(config.precision, data.train_images.device)
    backbone = model.features if backbone is None else backbone
    indices = sampler.epoch_indices(epoch, generator)
    step_losses = []
    for rows in batch_slices(len(indices), config.batch_size):
        batch = indices[rows] if bound is None else torch.cat([indices[rows], bound])
        x = training_batch(data, batch, config, generator, views_of(loss_fn))
        step_losses.append(train_step(model, backbone, loss_fn, optimizer, x,
                                      data.train_labels[batch], config, precision=precision,
                                      scaler=scaler, generator=generator))
    losses_this_epoch = torch.stack(step_losses)
    if message := divergence(losses_this_epoch, config, epoch):
        raise TrainingDivergedError(f"{message}; try a lower lr or check the loss parameters")
    return float(losses_this_epoch.mean())


def build_training(config: RunConfig, data: TrainingData, device: torch.device):
    """The model (channels-last on ``device``), loss and SGD optimiser of ``config``."""
    model = build_model(config.model, tuple(data.train_images.shape[1:]), data.num_classes,
                        config.head)
    model = model.to(device).to(memory_format=torch.channels_last)
    loss_fn = losses.build(config.loss, data.class_counts, **config.loss_params).to(device)
    if getattr(loss_fn, "takes_features", False):
        loss_fn.bind_head(model.classifier)  # its fixed classifier (refused for a learnable one)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    return model, loss_fn, optimizer


@dataclass
class RunResult:
    """A run record, and the trained model and data when the run happened in this process."""

    record: dict
    model: nn.Module | None = None
    data: TrainingData | None = None
    cached: bool = False

    @property
    def metrics(self) -> dict:
        return self.record["metrics"]


@dataclass
class TrainState:
    """What analyses and callbacks see; they add their results to ``extras``."""

    config: RunConfig
    epoch: int
    model: nn.Module
    data: TrainingData
    extras: dict = field(default_factory=dict)


METRIC_NAMES = ("acc", "balanced_acc", "macro_f1", "ece", "many_shot_acc", "medium_shot_acc",
                "few_shot_acc")


@register_runner("classification")
def fit(
    config: RunConfig,
    *,
    cache: bool = True,
    save: bool = True,
    store: ResultsStore | None = None,
    callbacks=(),
    progress: bool | None = None,
    data: TrainingData | None = None,
    checkpoint_every: int | None = None,
) -> RunResult:
    """Train ``config`` (or, with ``cache``, return its stored record) and store the record.

    ``callbacks``: objects with ``on_epoch_end(state: TrainState)`` (and optionally
    ``after_fit``), run after the config's analyses. ``progress``: a tqdm bar over epochs;
    ``None`` shows it only on an interactive terminal. ``data``: train on these tensors
    instead of the config's dataset (benchmarks on synthetic data); the cache is then
    neither read nor written, since the config no longer describes the data.

    An interrupted run resumes: with ``save``, the training state is checkpointed beside the
    store (:class:`lt_lab.loop.Checkpointer`; ``checkpoint_every`` epochs, 0 never, default
    once a minute) and a rerun of the same config continues from it, to the same record. The
    store is checked writable before anything trains.

    The run computes with ``config.threads`` CPU threads (None: the process's count); the
    record's ``hardware.threads`` states the count it used.
    """
    config = config.validate()
    with threads(config.threads):
        return _fit(config, cache=cache, save=save, store=store, callbacks=callbacks,
                    progress=progress, data=data, checkpoint_every=checkpoint_every)


def _fit(config: RunConfig, *, cache: bool, save: bool, store: ResultsStore | None, callbacks,
         progress: bool | None, data: TrainingData | None,
         checkpoint_every: int | None) -> RunResult:
    """:func:`fit` within its thread count."""
    store = store or ResultsStore()
    if config.pack > 1 and data is None:  # its key names packed kernels: train it in a pack
        from lt_lab.grid import run

        return RunResult(record=run(config, cache=cache, save=save, store=store,
                                    progress=progress))
    if data is not None:
        cache = save = False
    if cache and (record := store.load(config)) is not None:
        return RunResult(record=record, cached=True)
    if save:
        store.check_writable()  # a read-only store fails now, not after training
    started = time.perf_counter()
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    seed_everything(config.seed)
    data = prepare_data(config, device) if data is None else data
    model, loss_fn, optimizer = build_training(config, data, device)
    scaler = grad_scaler(device, precision)
    backbone = training_backbone(model, config)
    sampler = build_sampler(config.sampler, data.train_labels, data.num_classes, config.epochs)
    # A sampler may draw fewer images an epoch than the set holds (undersampling: C x n_min,
    # one batch an epoch by design); a batch larger than the whole training set is a mistake.
    if config.batch_size > len(data.train_labels):
        raise ConfigError(f"batch_size={config.batch_size} is larger than the training set of "
                          f"this config ({len(data.train_labels)} images); use batch_size <= "
                          f"{len(data.train_labels)}, or more data (n_max, imbalance_ratio)")
    generator = torch.Generator(device=device).manual_seed(config.seed)
    bound = bound_set(config, data)
    state = TrainState(config, 0, model, data)
    observers = [*hooks.build_analyses(config), *callbacks]
    checkpoints = None
    if save:
        parts = {"model": model, "optimizer": optimizer, "loss": loss_fn, "scaler": scaler,
                 "sampler": sampler, "generator": generator,
                 **{f"observer_{i}": observer for i, observer in enumerate(observers)
                    if hasattr(observer, "state_dict")}}
        checkpoints = Checkpointer(store.checkpoint_path(config.key()), config, parts,
                                   every=checkpoint_every, extras=state.extras)
    start_epoch, curves = checkpoints.resume() if checkpoints else (0, None)

    def set_lr(lr):
        for group in optimizer.param_groups:
            group["lr"] = lr

    def one_epoch(epoch):
        start_loss_epoch(loss_fn, config, epoch)
        return train_epoch(model, loss_fn, optimizer, sampler, data, config, epoch, generator,
                           backbone, precision=precision, scaler=scaler, bound=bound)

    def test(epoch):
        return evaluation_points(model, data, config)

    curves, report = run_epochs(config, set_lr=set_lr, train_epoch=one_epoch, evaluate=test,
                                hooks=observers, state=state, progress=progress,
                                desc=describe(config), start_epoch=start_epoch, curves=curves,
                                checkpoint=checkpoints)
    for observer in observers:
        if hasattr(observer, "after_fit"):
            observer.after_fit(state)
    wall_time_s = time.perf_counter() - started + (checkpoints.elapsed_before if checkpoints
                                                   else 0.0)
    record = make_record(config, data, report, curves, state.extras,
                         wall_time_s=wall_time_s, device=device, precision=precision)
    if save:
        store.save(record)
        store.remove_checkpoint(config.key())
    return RunResult(record=record, model=model, data=data)


def describe(config: RunConfig) -> str:
    return f"{config.dataset} ρ={config.imbalance_ratio:g} {config.loss} seed={config.seed}"


def make_record(config, data, report, curves, extras, *, wall_time_s, device,
                precision) -> dict:
    """The JSON-ready run record (:func:`lt_lab.results.run_record`)."""
    best = max(range(len(curves["test_acc"])), key=lambda i: (curves["test_acc"][i], -i))
    return run_record(config, {
        "class_counts": data.class_counts,
        "class_names": data.class_names,
        "metrics": {name: report[name] for name in METRIC_NAMES},
        "per_class_acc": report["per_class_acc"],
        "confusion_matrix": report["confusion_matrix"],
        "curves": curves,
        "best_on_test": {"epoch": curves["eval_epoch"][best], "acc": curves["test_acc"][best],
                         "note": "model selection on the test set; reported for comparison only"},
        "extras": extras,
    }, wall_time_s=wall_time_s, device=device, precision=precision)
