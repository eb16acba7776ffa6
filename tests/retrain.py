"""The first epochs of a stored run, retrained without training it to the end.

A run's learning-rate schedule depends only on its total number of epochs, so the first
epochs of a stored run retrain as they were: stopping after two of 16 (``quick``) or of 200
(``long``) epochs checks a record's training at a fraction of its cost. The result is a
dict with the record's provenance fields, ready for :func:`lt_lab.reproduce.compare`.

    from retrain import first_epochs_record, truncated
    fresh = first_epochs_record(config, 2, ResultsStore(tmp_path))
    compare(truncated(stored, 2), fresh, {"curves.train_loss": 2e-3})
"""

from __future__ import annotations

import pytest
import torch

from lt_lab.provenance import provenance
from lt_lab.results import ResultsStore, round_floats
from lt_lab.runtime import resolve_device, resolve_precision
from lt_lab.train import fit

CURVES = ("epoch", "lr", "train_loss")  # the curves every epoch has (evaluations are sparser)


class _Stopped(Exception):
    pass


class StopAfter:
    """Interrupt a run after ``epochs`` epochs have been checkpointed (the checkpoint of an
    epoch is written after its hooks, so stop one epoch later)."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, state):
        if state.epoch + 1 > self.epochs:
            raise _Stopped


def first_epochs(config, epochs: int, store: ResultsStore) -> dict:
    """The curves of the first ``epochs`` epochs of ``config``, from its checkpoint."""
    with pytest.raises(_Stopped):
        fit(config, cache=False, store=store, callbacks=[StopAfter(epochs)], checkpoint_every=1)
    state = torch.load(store.checkpoint_path(config.key()), map_location="cpu",
                       weights_only=True)
    return state["curves"]


def first_epochs_record(config, epochs: int, store: ResultsStore) -> dict:
    """The first ``epochs`` epochs' curves (rounded as records round them), with this
    machine's provenance and the run's resolved precision."""
    curves = first_epochs(config, epochs, store)
    device = resolve_device(config.device)
    return {"kind": config.kind, "curves": {name: round_floats(curves[name]) for name in CURVES},
            "precision": resolve_precision(config.precision, device), **provenance(device)}


def truncated(stored: dict, epochs: int) -> dict:
    """``stored`` with its per-epoch curves cut to the first ``epochs`` epochs."""
    return {**stored, "curves": {name: stored["curves"][name][:epochs] for name in CURVES}}
