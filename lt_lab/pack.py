"""Packed runs: K classification runs trained together as one batched model.

Runs that share the data, architecture, schedule and batch size but differ in ``seed``,
``loss``, ``loss_params``, ``sampler``, head or analyses train as one model on one device:

* the backbones become one network of **grouped convolutions**: member k owns group k of
  every convolution (``groups=K``), K·C BatchNorm channels (so each member keeps its own
  batch statistics and running averages), and its image batch enters as channels
  ``k·C .. (k+1)·C`` of one input (K batches side by side along the channels);
* each member keeps its own head, loss (a DRW schedule included), sampler and augmentation
  stream (its own ``torch.Generator``, seeded and drawn in the order of a single run), and
  its own analyses, run on its own unpacked model;
* one SGD optimiser steps the packed parameters: SGD with momentum and weight decay is
  element-wise, and the summed loss gives each member's parameters its own gradient, so a
  member follows the trajectory of its single run up to floating-point rounding.

What this module does not hold: a training loop of its own. Members are built by the
trainer's ``build_training``; their batches are the trainer's (``batch_slices``,
``training_images``: the same augmentation, drawn from each member's stream); their losses
are checked by its ``divergence`` check; the epochs run on :mod:`lt_lab.loop`'s schedule and
each member's epoch ends as a single run's does (``end_epoch``: curves, evaluation,
analyses). Only the packed network and the step that trains every member at once are here.

Why grouped convolutions and not torch.func's ``stack_module_state`` + ``vmap`` (with
functional BatchNorm buffers, which vmap does update): vmap lowers a batched convolution to
the same grouped one, but adds per-operator overhead and falls back to a slow path for
``as_strided_`` in the pooling; on this project's CPU (small CNN, batch 128, interleaved
timings) it was the slower of the two at every K tried (1, 4, 8), in fp32 and bf16.

Packed kernels round differently from a single run's, so ``pack`` is a config field and part
of the key: ``pack=K`` means trained in a pack of at most K runs (the pack's width). A record
says which member it was of how many (``record["pack"]``); its ``wall_time_s`` is the pack's
wall time divided by its members (amortised), the pack's own is ``record["pack"]
["wall_time_s"]``.

What does not pack: fp16 (one gradient scaler for all members would skip every member's step
when one overflows); runs differing in a shared field (:data:`PER_MEMBER` lists what may
differ). Packs are not checkpointed: an interrupted pack trains again from the start.
"""

from __future__ import annotations

import copy
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab import hooks
from lt_lab.config import RunConfig
from lt_lab.data import build_sampler
from lt_lab.errors import ConfigError, TrainingDivergedError
from lt_lab.grid import Packer, register_packer
from lt_lab.loop import end_epoch, epoch_bar, is_eval_epoch, learning_rate, new_curves
from lt_lab.models import BasicBlock
from lt_lab.results import ResultsStore
from lt_lab.runtime import (
    autocast,
    resolve_device,
    resolve_precision,
    seed_everything,
    threads,
)
from lt_lab.train import (
    TrainState,
    batch_slices,
    build_training,
    divergence,
    evaluation_points,
    feature_norm_penalty,
    make_record,
    prepare_data,
    start_loss_epoch,
    training_backbone,
    training_images,
)

# What may differ between the members of a pack; every other field (but ``profile``, which
# computes nothing) is shared. ``head`` may differ: heads run member by member.
PER_MEMBER = ("seed", "loss", "loss_params", "sampler", "head", "feature_norm_penalty",
              "analyses", "many_threshold", "few_threshold")
NOT_COMPUTED = ("profile",)


# ------------------------------------------------------------------------------------------
# Which runs pack together


def group_key(config: RunConfig) -> str:
    """Configs with equal group keys can share a pack: their shared fields are equal."""
    shared = {name: value for name, value in config.to_dict().items()
              if name not in PER_MEMBER + NOT_COMPUTED}
    return json.dumps(shared, sort_keys=True)


def unpackable_reason(config, device=None) -> str | None:
    """Why ``config`` cannot be trained in a pack (a sentence naming the field), or None."""
    if not isinstance(config, RunConfig):
        return f"kind={config.kind!r}: only classification runs pack"
    device = resolve_device(config.device) if device is None else device
    if resolve_precision(config.precision, device) == "fp16":
        return (f"precision={config.precision!r} (fp16 on {device.type}): the members would "
                "share one gradient scaler, and one member's overflow would skip every "
                "member's step; use bf16 or fp32")
    from lt_lab.losses.registry import build, loss_class

    if getattr(loss_class(config.loss), "takes_features", False):
        return (f"loss={config.loss!r} reads the features, not the logits: its member would "
                "need its own head's weight inside the pack's loss")
    from lt_lab.models import HEADS

    if config.head not in HEADS:
        return f"head={config.head!r}: a pack trains the built-in heads only ({', '.join(HEADS)})"
    if config.batch_binding:
        return "batch_binding=True: the pack's batches have no room for a member's bound set"
    loss = build(config.loss, None, **config.loss_params)
    if getattr(loss, "takes_views", 1) > 1 or getattr(loss, "mixes_inputs", False):
        return (f"loss={config.loss!r} takes several views or mixes its inputs: the packed "
                "step feeds one view of each image, unmixed")
    return None


def check_pack(configs) -> None:
    """Raise ConfigError unless ``configs`` can train as one pack (the message names the
    field at fault)."""
    configs = list(configs)
    if not configs:
        raise ConfigError("a pack needs at least one config")
    for config in configs:
        reason = unpackable_reason(config)
        if reason:
            raise ConfigError(f"cannot pack: {reason}")
    first = configs[0]
    if first.pack < len(configs):
        raise ConfigError(f"pack={first.pack} but {len(configs)} configs: a pack trains at "
                          "most `pack` runs")
    shared = json.loads(group_key(first))
    for config in configs[1:]:
        other = json.loads(group_key(config))
        differ = [name for name in shared if shared[name] != other[name]]
        if differ:
            name = differ[0]
            raise ConfigError(f"cannot pack runs that differ in {name} ({shared[name]!r} vs "
                              f"{other[name]!r}); only {', '.join(PER_MEMBER)} may differ "
                              "between the members of a pack")
    keys = [config.key() for config in configs]
    if len(set(keys)) < len(keys):
        raise ConfigError("a pack holds the same config twice (equal keys); train it once")


# ------------------------------------------------------------------------------------------
# The packed network


class PackedLinear(nn.Module):
    """K ``nn.Linear(in, out)`` as one layer on ``(B, K·in)`` inputs (member-major)."""

    def __init__(self, in_features: int, out_features: int, pack: int, bias: bool = True):
        super().__init__()
        self.pack, self.in_features, self.out_features = pack, in_features, out_features
        self.weight = nn.Parameter(torch.empty(pack * out_features, in_features))
        self.bias = nn.Parameter(torch.empty(pack * out_features)) if bias else None

    def forward(self, x):
        k, n = self.pack, len(x)
        weight = self.weight.view(k, self.out_features, self.in_features)
        out = torch.bmm(x.reshape(n, k, self.in_features).transpose(0, 1), weight.transpose(1, 2))
        if self.bias is not None:
            out = out + self.bias.view(k, 1, self.out_features)
        return out.transpose(0, 1).reshape(n, k * self.out_features)


class PackedBasicBlock(BasicBlock):
    """A ResNet block of K members: the option-A shortcut zero-pads each member's channels."""

    pack: int = 1

    def shortcut(self, x):
        if self.stride == 1 and self.extra_channels == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        n, channels, height, width = x.shape
        x = x.reshape(n, self.pack, channels // self.pack, height, width)
        half = self.extra_channels // 2
        x = F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))
        return x.reshape(n, -1, height, width)


def pack_module(module: nn.Module, pack: int) -> nn.Module:
    """The structure of ``pack`` copies of ``module`` as one module on member-major channels
    (weights uninitialised: :func:`load_members` fills them)."""
    if isinstance(module, nn.Conv2d):
        return nn.Conv2d(pack * module.in_channels, pack * module.out_channels,
                         module.kernel_size, module.stride, module.padding, module.dilation,
                         groups=pack * module.groups, bias=module.bias is not None,
                         padding_mode=module.padding_mode)
    if isinstance(module, nn.BatchNorm2d):
        return nn.BatchNorm2d(pack * module.num_features, module.eps, module.momentum,
                              module.affine, module.track_running_stats)
    if isinstance(module, nn.Linear):
        return PackedLinear(module.in_features, module.out_features, pack,
                            module.bias is not None)
    if module._parameters or module._buffers:  # a layer this module does not know
        raise ConfigError(f"model: cannot pack a {type(module).__name__} layer")
    packed = copy.deepcopy(module)  # a container or a layer without weights (ReLU, pool)
    if isinstance(module, BasicBlock):
        packed.__class__ = PackedBasicBlock  # same fields, a shortcut per member
        packed.pack = pack
    for name, child in module.named_children():
        setattr(packed, name, pack_module(child, pack))
    return packed


class PackedModel(nn.Module):
    """The members' backbones packed (``features``) and their own heads (``heads``: the
    members' modules themselves, trained in place; a head is cheap, so each member's runs
    exactly as in a single run, and heads of different kinds share a pack)."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        self.pack = len(models)
        self.feature_dim = models[0].features.feature_dim
        self.features = pack_module(models[0].features, self.pack)
        self.heads = nn.ModuleList(model.classifier for model in models)

    def member_features(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, K·D)`` packed features as ``(K, B, D)``."""
        return features.reshape(len(features), self.pack, self.feature_dim).transpose(0, 1)


def load_members(packed: PackedModel, models: list[nn.Module]) -> None:
    """Copy the members' backbone weights and buffers into the packed model."""
    states = [model.features.state_dict() for model in models]
    with torch.no_grad():
        for name, target in packed.features.state_dict().items():
            values = [state[name] for state in states]
            if target.numel() == values[0].numel():  # a counter every member shares
                target.copy_(values[0])
            else:
                target.copy_(torch.stack(values).reshape(target.shape))


def unpack_member(packed: PackedModel, member: int, model: nn.Module) -> nn.Module:
    """Copy member ``member``'s backbone weights and buffers out of the packed model into
    ``model`` (whose head is the packed model's own)."""
    state = packed.features.state_dict()
    with torch.no_grad():
        for name, target in model.features.state_dict().items():
            source = state[name]
            if source.numel() == target.numel():
                target.copy_(source)
            else:
                target.copy_(source.reshape(packed.pack, *target.shape)[member])
    return model


# ------------------------------------------------------------------------------------------
# Batches: each member's images, augmented with its own stream, side by side


def side_by_side(x: torch.Tensor, pack: int) -> torch.Tensor:
    """``(K·B, C, H, W)`` member-major images as one ``(B, K·C, H, W)`` channels-last batch."""
    n, channels, height, width = x.shape
    batch = n // pack
    x = x.reshape(pack, batch, channels, height, width).permute(1, 3, 4, 0, 2)
    return x.reshape(batch, height, width, pack * channels).permute(0, 3, 1, 2)


def pack_batch(data, indices: torch.Tensor, generators, config: RunConfig) -> torch.Tensor:
    """The packed, augmented, normalised input of one step; ``indices``: ``(K, B)``. Each
    member's images are the trainer's (:func:`lt_lab.train.training_images`), augmented with
    the member's own stream, as its single run draws them."""
    images = torch.cat([training_images(data, member, config, generator)
                        for member, generator in zip(indices, generators, strict=True)])
    return side_by_side(data.normalise(images), len(indices))


# ------------------------------------------------------------------------------------------
# Training


class Pack:
    """K members built exactly as :func:`lt_lab.train.fit` builds each (same seeds, so the
    same initial weights), packed into one model with one SGD optimiser."""

    def __init__(self, configs, data, device: torch.device):
        self.configs, self.data, self.device = list(configs), data, device
        first = self.configs[0]
        self.precision = resolve_precision(first.precision, device)
        self.models, self.losses, self.samplers, self.generators = [], [], [], []
        for config in self.configs:
            seed_everything(config.seed)
            model, loss_fn, _ = build_training(config, data, device)
            self.models.append(model)
            self.losses.append(loss_fn)
            self.samplers.append(build_sampler(config.sampler, data.train_labels,
                                               data.num_classes, config.epochs))
            self.generators.append(torch.Generator(device=device).manual_seed(config.seed))
        lengths = {len(sampler) for sampler in self.samplers}
        if len(lengths) > 1:
            raise ConfigError(f"sampler: the members draw {sorted(lengths)} images an epoch; "
                              "a pack's members must take the same number of steps")
        self.model = PackedModel(self.models).to(device).to(memory_format=torch.channels_last)
        load_members(self.model, self.models)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=first.lr,
                                         momentum=first.momentum,
                                         weight_decay=first.weight_decay)
        self.backbone = training_backbone(self.model, first)

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One SGD step of every member; ``y``: ``(K, B)``; the members' detached losses."""
        if self.configs[0].compile == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        with autocast(x.device, self.precision):
            features = self.model.member_features(self.backbone(x))
            losses = []
            members = zip(self.configs, self.model.heads, self.losses, strict=True)
            for k, (config, head, loss_fn) in enumerate(members):
                loss = loss_fn(head(features[k]).float(), y[k])
                if config.feature_norm_penalty:  # as train_step
                    loss = loss + feature_norm_penalty(features[k], config)
                losses.append(loss)
            losses = torch.stack(losses)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.optimizer.step()
        return losses.detach()

    def epoch(self, epoch: int, steps: int | None = None) -> torch.Tensor:
        """One epoch of every member (its first ``steps`` steps, if given: a benchmark's
        warm-up): ``(steps, K)`` losses, as :func:`lt_lab.train.train_epoch` steps."""
        self.model.train()
        for config, loss_fn in zip(self.configs, self.losses, strict=True):
            start_loss_epoch(loss_fn, config, epoch)
        indices = torch.stack([sampler.epoch_indices(epoch, generator)
                               for sampler, generator in zip(self.samplers, self.generators,
                                                             strict=True)])
        step_losses = []
        for rows in batch_slices(indices.shape[1], self.configs[0].batch_size):
            batch = indices[:, rows]
            x = pack_batch(self.data, batch, self.generators, self.configs[0])
            step_losses.append(self.step(x, self.data.train_labels[batch]))
            if len(step_losses) == steps:
                break
        return torch.stack(step_losses)

    def unpack(self) -> None:
        """Each member's model gets its current weights (for evaluation and analyses)."""
        for k, model in enumerate(self.models):
            unpack_member(self.model, k, model)


def describe(config: RunConfig) -> str:
    return (f"{config.dataset} {config.loss} {config.sampler} seed={config.seed} "
            f"({config.key()})")


def _diverged(losses: torch.Tensor, config: RunConfig, epoch: int) -> str | None:
    """The trainer's divergence check (:func:`lt_lab.train.divergence`) for one member."""
    message = divergence(losses, config, epoch)
    return message and f"{describe(config)}: {message}"


def _member_evaluation(pack: Pack, member: int):
    """``evaluate(epoch)`` for :func:`lt_lab.loop.end_epoch`: the member's own model on the
    test set, as :func:`lt_lab.train.fit` evaluates."""
    return lambda epoch: evaluation_points(pack.models[member], pack.data, pack.configs[member])


def fit_pack(configs, *, cache: bool = True, save: bool = True,
             store: ResultsStore | None = None, progress: bool | None = None,
             data=None, callbacks=()) -> list[dict]:
    """Train ``configs`` as one pack (or read their stored records); their records, in order.

    Every config has the same ``pack`` (the pack's width, >= the number of configs) and the
    same shared fields (:func:`check_pack`). With ``cache``, stored members are read and only
    the others trained. ``data``: train on these tensors (tests); nothing is then read or
    stored. ``callbacks``: as :func:`lt_lab.train.fit`'s, called for each member (its own
    ``TrainState``) after its analyses. A member whose loss stops being finite is dropped:
    the others' records are stored, then TrainingDivergedError names it (its ``records``:
    the list this would have returned, None for the diverged).

    The pack computes with its members' ``threads`` CPU threads (a shared field).
    """
    configs = [config.validate() for config in configs]
    check_pack(configs)
    with threads(configs[0].threads):
        return _fit_pack(configs, cache=cache, save=save, store=store, progress=progress,
                         data=data, callbacks=callbacks)


def _fit_pack(configs, *, cache: bool, save: bool, store: ResultsStore | None,
              progress: bool | None, data, callbacks) -> list[dict]:
    """:func:`fit_pack` within its thread count."""
    store = store or ResultsStore()
    if data is not None:
        cache = save = False
    records: list[dict | None] = [store.load(c) if cache else None for c in configs]
    todo = [i for i, record in enumerate(records) if record is None]
    if not todo:
        return records
    if save:
        store.check_writable()
    started = time.perf_counter()
    members = [configs[i] for i in todo]
    first = members[0]
    device = resolve_device(first.device)
    data = prepare_data(first, device) if data is None else data
    if first.batch_size > len(data.train_labels):
        raise ConfigError(f"batch_size={first.batch_size} is larger than the training set "
                          f"({len(data.train_labels)} images)")
    pack = Pack(members, data, device)
    states = [TrainState(config, 0, model, data)
              for config, model in zip(members, pack.models, strict=True)]
    observers = [[*hooks.build_analyses(config), *callbacks] for config in members]
    curves = [new_curves() for _ in members]
    reports: list[dict] = [{} for _ in members]
    failed: dict[int, str] = {}
    for epoch in epoch_bar(first, progress=progress, desc=f"pack of {len(members)}"):
        lr = learning_rate(first, epoch)
        pack.set_lr(lr)
        losses = pack.epoch(epoch)
        for k, config in enumerate(members):
            if k not in failed and (message := _diverged(losses[:, k], config, epoch)):
                failed[k] = message
        alive = [k for k in range(len(members)) if k not in failed]
        if is_eval_epoch(first, epoch) or any(observers[k] for k in alive):
            pack.unpack()  # the members' own models evaluate and analyse
        for k in alive:  # each member's epoch ends as fit's does (lt_lab.loop.end_epoch)
            report = end_epoch(members[k], epoch, lr, float(losses[:, k].mean()), curves[k],
                               evaluate=_member_evaluation(pack, k), hooks=observers[k],
                               state=states[k])
            reports[k] = reports[k] if report is None else report
    pack.unpack()
    wall_time_s = time.perf_counter() - started
    keys = [config.key() for config in members]
    for k in range(len(members)):
        if k in failed:
            continue
        for observer in observers[k]:
            if hasattr(observer, "after_fit"):
                observer.after_fit(states[k])
        record = make_record(members[k], data, reports[k], curves[k], states[k].extras,
                             wall_time_s=wall_time_s / len(members), device=device,
                             precision=pack.precision)
        record["pack"] = {"member": k, "members": len(members), "width": first.pack,
                          "keys": keys, "wall_time_s": round(wall_time_s, 2)}
        if save:
            store.save(record)
        records[todo[k]] = record
    if failed:
        error = TrainingDivergedError("; ".join(failed.values()) + " (the pack's other members "
                                      "were stored); try a lower lr or check the loss "
                                      "parameters")
        error.records = records  # the others' records, None for the diverged
        raise error
    return records


register_packer("classification", Packer(fit=fit_pack, group_key=group_key,
                                         unpackable=unpackable_reason))
