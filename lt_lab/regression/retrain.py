"""Regressor re-training (RRT): the second stage of Balanced MSE's published recipe.

Ren et al. (CVPR 2022, "Balanced MSE for imbalanced visual regression") do not train with
Balanced MSE from scratch. Their IMDB-WIKI-DIR README trains in two stages [readme]:

1. a vanilla base model (the plain loss, the whole network);
2. the regressor alone retrained on the frozen backbone (DIR's RRT, ``--retrain_fc
   --pretrained``) with Balanced MSE: ``--bmse --imp bmc|gai|bni --init_noise_sigma 10.``,
   ``--sigma_lr 0.01``, ``--lr 0.0001 --epoch 10`` (Adam).

A config's ``retrain`` mapping turns stage 2 on; stage 1 is the config itself (its loss,
weights, FDS, ...), so a two-stage run computes its vanilla base bit for bit as the vanilla
run of the same seed does, and its record holds both: ``base_metrics`` (stage 1) and
``metrics`` (after stage 2). Keys of ``retrain`` (:data:`DEFAULTS` for the omitted ones):

* ``loss``, ``loss_params`` — stage 2's loss (:mod:`lt_lab.regression.losses`);
* ``epochs``, ``lr`` — Adam on the regressor, constant lr (the authors' milestones, 60 and
  80, are never reached in 10 epochs); σ keeps its own ``sigma_lr``;
* ``init`` — where the regressor starts: ``"base"`` (stage 1's regressor) or ``"fresh"``
  (re-initialised, as the authors' script, which loads every weight but the regressor's).

Why ``"base"`` by default: ten epochs of IMDB-WIKI-DIR (191.5k training faces [U], batch
256) are about 7,500 Adam steps; ten epochs of RotFMNIST-DIR at ``quick`` are about 200. At
lr 1e-4 a fresh regressor cannot reach the base's fit in 200 steps, so a fresh start would
measure the step budget, not the loss. The backbone is frozen either way (the MLP has no
BatchNorm, so its features are exactly those of stage 1, computed once).
"""

from __future__ import annotations

import numbers

import torch

from lt_lab.errors import ConfigError, check_choice, check_positive
from lt_lab.inference import infer
from lt_lab.runtime import autocast, resolve_precision

INITS = ("base", "fresh")
DEFAULTS = {"loss": "balanced_mse", "loss_params": {}, "epochs": 10, "lr": 1e-4,
            "init": "base"}
# Ren et al.'s stage 2 on IMDB-WIKI-DIR (their README) [readme]
RECIPE_SIGMA, RECIPE_SIGMA_LR, RECIPE_LR, RECIPE_EPOCHS = 10.0, 0.01, 1e-4, 10


def two_stage_recipe(variant: str, init: str = "base") -> dict:
    """The ``retrain`` mapping of Ren et al.'s recipe for Balanced MSE ``variant`` (``"bmc"``,
    ``"gai"``, ``"bni"``): σ₀ = 10, σ's lr 0.01, lr 1e-4, 10 epochs."""
    return {"loss": "balanced_mse",
            "loss_params": {"variant": variant, "init_noise_sigma": RECIPE_SIGMA,
                            "sigma_lr": RECIPE_SIGMA_LR},
            "epochs": RECIPE_EPOCHS, "lr": RECIPE_LR, "init": init}


def settings(retrain: dict) -> dict:
    """``retrain`` with :data:`DEFAULTS` for the keys it omits."""
    return {**DEFAULTS, **retrain}


def check_retrain(retrain: dict) -> None:
    """Raise ConfigError naming the bad key of ``retrain`` (an empty mapping: no stage 2)."""
    from lt_lab.regression.losses import available, build

    unknown = sorted(set(retrain) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"retrain has unknown key(s) {unknown}; allowed: "
                          f"{', '.join(DEFAULTS)}")
    values = settings(retrain)
    check_choice("retrain['loss']", values["loss"], available())
    if not isinstance(values["loss_params"], dict):
        raise ConfigError(f"retrain['loss_params']={values['loss_params']!r} must be a mapping")
    build(values["loss"], None, **values["loss_params"])
    epochs = values["epochs"]
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise ConfigError(f"retrain['epochs']={epochs!r} must be an integer >= 1")
    check_positive("retrain['lr']", values["lr"])
    check_choice("retrain['init']", values["init"], INITS)


def frozen_features(model, data, precision: str) -> torch.Tensor:
    """The backbone's features of the training inputs (evaluation mode, no FDS), computed
    once: the backbone does not change in stage 2."""
    return infer(model, data.train_inputs, forward=model.features, precision=precision,
                 prepare=lambda chunk: data.normalise(chunk)
                 .contiguous(memory_format=torch.channels_last))


def _reinitialise(layer: torch.nn.Linear, seed: int) -> None:
    """PyTorch's default initialisation of ``layer``, from ``seed``, leaving the global
    generator as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer.reset_parameters()


def retrain_regressor(model, data, config, prior, weights=None, batch_size: int | None = None
                      ) -> dict:
    """Stage 2 on ``model`` in place: only ``model.regressor`` (and σ) trained, with the loss
    of ``config.retrain`` and Adam; returns its curves (per epoch: mean loss, σ).

    ``prior``: the :class:`~lt_lab.regression.losses.LabelPrior` of the training labels
    (GAI, BNI); ``weights``: the run's per-sample weights (a weighted MSE/L1 stage 2).
    """
    from lt_lab.regression.losses import build

    values = settings(config.retrain)
    device = data.train_targets.device
    precision = resolve_precision(config.precision, device)
    features = frozen_features(model, data, precision)
    if values["init"] == "fresh":
        _reinitialise(model.regressor, config.seed)
    loss_fn = build(values["loss"], prior, **values["loss_params"]).to(device)
    groups = [{"params": list(model.regressor.parameters()), "lr": values["lr"]}]
    sigma = getattr(loss_fn, "noise_sigma", None)
    if sigma is not None and sigma.requires_grad:
        groups.append({"params": [sigma], "lr": loss_fn.sigma_lr})
    optimizer = torch.optim.Adam(groups, lr=values["lr"])
    generator = torch.Generator(device=device).manual_seed(config.seed)
    batch_size = batch_size or config.batch_size
    curves = {"epoch": [], "loss": [], "noise_sigma": []}
    for epoch in range(values["epochs"]):
        order = torch.randperm(len(features), generator=generator, device=device)
        step_losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            if len(batch) < 2:
                continue
            with autocast(device, precision):
                pred = model.head(features[batch])
            batch_weights = None if weights is None else weights[batch]
            loss = loss_fn(pred.float(), data.train_targets[batch], batch_weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step_losses.append(float(loss.detach()))
        curves["epoch"].append(epoch + 1)
        curves["loss"].append(sum(step_losses) / len(step_losses))
        curves["noise_sigma"].append(None if sigma is None else float(sigma.detach()))
    return curves
