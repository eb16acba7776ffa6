"""The epoch loop both trainers share, and the learning-rate schedule.

    for epoch in range(config.epochs):
        set the learning rate (linear warm-up, then step, cosine or constant)
        train one epoch                                  (the trainer's own step)
        every `eval_every` epochs and at the last: evaluate, extend the curves
        hooks' on_epoch_end(state)                       (analyses, callbacks)
        checkpoint(epoch, curves)                        (Checkpointer: resumable state)

The classification trainer (:mod:`lt_lab.train`) and the regression trainer
(:mod:`lt_lab.regression.train`) differ in what an epoch and an evaluation are, not in
this loop. Both resume an interrupted run through :class:`Checkpointer` (``start_epoch``,
the curves so far, and a checkpoint callback), to the record an uninterrupted run writes.
The packed trainer (:mod:`lt_lab.pack`) trains K runs an epoch at a time on the same
schedule and bar (:func:`epoch_bar`), and ends each member's epoch as this loop ends a
run's (:func:`end_epoch`).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
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
    start_epoch: int = 0,
    curves: dict | None = None,
    checkpoint: Callable[[int, dict], None] | None = None,
) -> tuple[dict, dict]:
    """Run the loop; return the curves and the last evaluation's report.

    ``train_epoch(epoch)`` returns the mean training loss; ``evaluate(epoch)`` returns the
    full report and the points to add to the curves (``{"test_acc": 0.71, ...}``); each of
    ``hooks`` gets ``on_epoch_end(state)`` with ``state.epoch`` set. ``progress``: a tqdm bar
    over epochs; ``None`` shows it only on an interactive terminal.

    Resuming (:class:`Checkpointer`): ``start_epoch`` and ``curves`` continue an interrupted
    run; ``checkpoint(epoch, curves)`` is called after each epoch's hooks.
    """
    curves = new_curves() if curves is None else curves
    report: dict = {}
    bar = epoch_bar(config, progress=progress, desc=desc, start_epoch=start_epoch)
    for epoch in bar:
        lr = learning_rate(config, epoch)
        set_lr(lr)
        train_loss = train_epoch(epoch)
        evaluated = end_epoch(config, epoch, lr, train_loss, curves, evaluate=evaluate,
                              hooks=hooks, state=state)
        if evaluated is not None:
            report = evaluated
            bar.set_postfix(loss=f"{train_loss:.3f}")
        if checkpoint is not None:
            checkpoint(epoch, curves)
    return curves, report


def new_curves() -> dict:
    """A run's curves before its first epoch."""
    return {"epoch": [], "lr": [], "train_loss": [], "eval_epoch": []}


def epoch_bar(config, *, progress: bool | None, desc: str = "", start_epoch: int = 0):
    """A tqdm bar over the epochs left to train; ``progress=None`` shows it only on an
    interactive terminal."""
    quiet = None if progress is None else not progress
    return tqdm(range(start_epoch, config.epochs), desc=desc, disable=quiet, leave=False,
                initial=start_epoch, total=config.epochs)


def end_epoch(config, epoch: int, lr: float, train_loss: float, curves: dict, *,
              evaluate: Callable[[int], tuple[dict, dict]], hooks: Sequence = (),
              state=None) -> dict | None:
    """What follows an epoch's training, for one run: extend its curves, evaluate on an
    evaluation epoch, then the hooks' ``on_epoch_end(state)`` (``state.epoch`` set). The
    evaluation's report, or None when the epoch had none. :func:`run_epochs` calls it, and
    the packed trainer for each member of a pack (:mod:`lt_lab.pack`)."""
    curves["epoch"].append(epoch + 1)
    curves["lr"].append(lr)
    curves["train_loss"].append(train_loss)
    report = None
    if is_eval_epoch(config, epoch):
        report, points = evaluate(epoch)
        curves["eval_epoch"].append(epoch + 1)
        for name, value in points.items():
            curves.setdefault(name, []).append(value)
    if state is not None:
        state.epoch = epoch
    for hook in hooks:
        hook.on_epoch_end(state)
    return report


# ------------------------------------------------------------------------------------------
# Checkpoints: an interrupted run resumes where it stopped

CHECKPOINT_INTERVAL_S = 60.0  # the default rule: a checkpoint once a minute of training
CHECKPOINT_FORMAT = 1


class Checkpointer:
    """Saves a run's whole training state every few epochs, and resumes a run from it.

    ``parts`` names what the trainer holds: objects with ``state_dict``/``load_state_dict``
    (model, optimiser, loss, gradient scaler, sampler, analyses) and ``torch.Generator`` s;
    ``None`` entries are skipped. With them go the global random states, the epoch, the
    curves, ``extras`` (what analyses recorded so far) and the elapsed time. So a resumed
    run computes exactly what the uninterrupted one would have: the same record, apart from
    its wall time and creation date.

    ``every``: a checkpoint every ``every`` epochs; 0 never; ``None`` (the default) after any
    epoch that ends :data:`CHECKPOINT_INTERVAL_S` or more after the last checkpoint (or the
    start), so runs longer than a minute or two checkpoint and short ones never pay for it.
    Nothing is saved after the last epoch: the record follows. The file is written
    atomically (:func:`lt_lab.io.write_atomic`); the trainer removes it once the record is
    stored. A checkpoint that cannot be written (a full disk) warns and the run goes on.
    """

    def __init__(self, path, config, parts: dict, *, every: int | None = None,
                 extras: dict | None = None):
        from lt_lab.errors import ConfigError

        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 0):
            raise ConfigError(f"checkpoint_every={every!r} must be None (once a minute), 0 "
                              "(never) or a number of epochs >= 1")
        self.path, self.config, self.every = path, config, every
        self.parts = {name: part for name, part in parts.items() if part is not None}
        self.extras = extras if extras is not None else {}
        self.started = time.perf_counter()
        self.elapsed_before = 0.0  # seconds trained before the interruption
        self.last_saved = self.started

    def elapsed(self) -> float:
        """Seconds this run has trained, before an interruption and since."""
        return self.elapsed_before + time.perf_counter() - self.started

    def due(self, epoch: int) -> bool:
        if epoch + 1 >= self.config.epochs or self.every == 0:
            return False
        if self.every is None:
            return time.perf_counter() - self.last_saved >= CHECKPOINT_INTERVAL_S
        return (epoch + 1) % self.every == 0

    def __call__(self, epoch: int, curves: dict) -> None:
        if self.due(epoch):
            self.save(epoch, curves)

    def save(self, epoch: int, curves: dict) -> None:
        import torch

        from lt_lab.io import write_atomic
        from lt_lab.runtime import rng_states

        state = {
            "format": CHECKPOINT_FORMAT, "kind": self.config.kind, "key": self.config.key(),
            "epoch": epoch, "curves": curves, "extras": self.extras,
            "elapsed_s": self.elapsed(), "rng": rng_states(),
            "parts": {name: _state_of(part) for name, part in self.parts.items()},
        }
        try:
            write_atomic(self.path, lambda file: torch.save(state, file))
        except (OSError, RuntimeError) as error:  # torch reports a full disk as RuntimeError
            warnings.warn(f"could not write the checkpoint {self.path} after epoch "
                          f"{epoch + 1} ({type(error).__name__}: {error}); the run goes on "
                          "without it (an interruption now resumes from an older checkpoint, "
                          "or from the start)", stacklevel=2)
        self.last_saved = time.perf_counter()

    def resume(self) -> tuple[int, dict | None]:
        """Restore the saved state into the parts, if a checkpoint of this config exists:
        ``(first epoch to train, curves so far)``; ``(0, None)`` to start afresh."""
        import torch

        from lt_lab.runtime import set_rng_states

        if not self.path.exists():
            return 0, None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            if (state.get("format") != CHECKPOINT_FORMAT or state.get("key") != self.config.key()
                    or set(state["parts"]) != set(self.parts)):
                raise ValueError("it belongs to another config or version of lt_lab")
        except Exception as error:  # any unreadable or foreign checkpoint: start afresh
            warnings.warn(f"ignoring the checkpoint {self.path} ({type(error).__name__}: "
                          f"{error}); training from the start", stacklevel=2)
            return 0, None
        what = "state"
        try:  # half-loaded parts: no clean start in this process, so a failure stops the run
            for name, part in self.parts.items():
                what = f"part {name!r}"
                _load_state(part, state["parts"][name])
            what = "epoch, curves, analyses or random states"
            epoch = int(state["epoch"])
            curves, extras = state["curves"], dict(state["extras"])
            elapsed = float(state["elapsed_s"])
            set_rng_states(state["rng"])
        except Exception as error:  # whatever torch raises for a state that does not fit
            from lt_lab.errors import CheckpointError

            reason = " ".join(f"{type(error).__name__}: {error}".split())  # one line
            raise CheckpointError(
                f"cannot resume from the checkpoint {self.path}: it is of this config "
                f"({self.config.key()}) but its {what} cannot be loaded into this run ({reason}); "
                "another version of lt_lab wrote it, or it is damaged. Delete that file to "
                "train this run from the start, or give another results folder "
                "(--results-dir)") from error
        self.extras.clear()
        self.extras.update(extras)
        self.elapsed_before = elapsed
        print(f"lt_lab: resuming {self.config.kind} run {self.config.key()} after epoch "
              f"{epoch + 1} of {self.config.epochs} from {self.path}", file=sys.stderr)
        return epoch + 1, curves


def _state_of(part):
    import torch

    if isinstance(part, torch.Generator):
        return part.get_state()
    return part.state_dict()


def _load_state(part, state) -> None:
    import torch

    if isinstance(part, torch.Generator):
        part.set_state(state)
    else:
        part.load_state_dict(state)
