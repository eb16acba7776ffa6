"""The epoch loop both trainers share, and the learning-rate schedule.

    for epoch in range(config.epochs):
        set the learning rate (linear warm-up, then step, cosine or constant)
        train one epoch                                  (the trainer's own step)
        every `eval_every` epochs and at the last: evaluate, extend the curves
        hooks' on_epoch_end(state)                       (analyses, callbacks)

The classification trainer (:mod:`lt_lab.train`) and the regression trainer
(:mod:`lt_lab.regression.train`) differ in what an epoch and an evaluation are, not in
this loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from tqdm import tqdm


def learning_rate(config, epoch: int) -> float:
    """Linear warm-up over ``warmup_epochs``, then the step, cosine or constant schedule.

    Step: ``lr · lr_decay^k`` after ``k`` of the ``lr_milestones`` (fractions of training,
    each at epoch ``round(m · epochs)``) have passed.
    """
    if epoch < config.warmup_epochs:
        return config.lr * (epoch + 1) / config.warmup_epochs
    if config.lr_schedule == "step":
        passed = sum(epoch >= round(m * config.epochs) for m in config.lr_milestones)
        return config.lr * config.lr_decay**passed
    if config.lr_schedule == "cosine":
        span = max(config.epochs - config.warmup_epochs, 1)
        return 0.5 * config.lr * (1 + math.cos(math.pi * (epoch - config.warmup_epochs) / span))
    return config.lr


def is_eval_epoch(config, epoch: int) -> bool:
    return (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs


def run_epochs(
    config,
    *,
    set_lr: Callable[[float], None],
    train_epoch: Callable[[int], float],
    evaluate: Callable[[int], tuple[dict, dict]],
    hooks: Sequence = (),
    state=None,
    progress: bool | None = None,
    desc: str = "",
) -> tuple[dict, dict]:
    """Run the loop; return the curves and the last evaluation's report.

    ``train_epoch(epoch)`` returns the mean training loss; ``evaluate(epoch)`` returns the
    full report and the points to add to the curves (``{"test_acc": 0.71, ...}``); each of
    ``hooks`` gets ``on_epoch_end(state)`` with ``state.epoch`` set. ``progress``: a tqdm bar
    over epochs; ``None`` shows it only on an interactive terminal.
    """
    curves: dict[str, list] = {"epoch": [], "lr": [], "train_loss": [], "eval_epoch": []}
    report: dict = {}
    quiet = None if progress is None else not progress
    bar = tqdm(range(config.epochs), desc=desc, disable=quiet, leave=False)
    for epoch in bar:
        lr = learning_rate(config, epoch)
        set_lr(lr)
        train_loss = train_epoch(epoch)
        curves["epoch"].append(epoch + 1)
        curves["lr"].append(lr)
        curves["train_loss"].append(train_loss)
        if is_eval_epoch(config, epoch):
            report, points = evaluate(epoch)
            curves["eval_epoch"].append(epoch + 1)
            for name, value in points.items():
                curves.setdefault(name, []).append(value)
            bar.set_postfix(loss=f"{train_loss:.3f}")
        if state is not None:
            state.epoch = epoch
        for hook in hooks:
            hook.on_epoch_end(state)
    return curves, report
