"""The papers'-schedule (``long``) records, checked without hours of training: the learning
rate schedule depends only on the total number of epochs, so the first epochs of a stored
200-epoch run retrain exactly; each chapter's verdicts on the long records are re-checked by
nbval when the chapter runs."""

import json

import pytest
import torch

from lt_lab.book.paths import ROOT
from lt_lab.config import config_from_dict
from lt_lab.results import ResultsStore, round_floats
from lt_lab.train import fit

LONG_RETRAIN_RECORDS = {  # chapter -> the key of one of its long runs
    "01_reweighting": "bf9c917459c8af11",  # CB-CE (beta 0.9999), rho=100, seed 0
    "02_margins": "1060914245737e7b",  # CE, rho=100, seed 0
    "03_decoupling": "087126110d1bb01e",  # CE without weight decay (the ladder's base), seed 0
    "04b_collapse_networks": "fddcc1a476a02e17",  # the balanced network, seed 0
}
FIRST_EPOCHS = 2


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


@pytest.mark.data
@pytest.mark.parametrize("chapter", sorted(LONG_RETRAIN_RECORDS))
def test_a_stored_long_record_retrains_its_first_epochs_bit_for_bit(chapter, tmp_path):
    key = LONG_RETRAIN_RECORDS[chapter]
    if key is None:
        pytest.skip(f"no long record of {chapter} stored yet")
    stored = json.loads(ResultsStore(ROOT / "data" / "results").path(key).read_text())
    config = config_from_dict(stored["config"])
    assert config.profile == "long" and config.epochs == 200
    curves = first_epochs(config, FIRST_EPOCHS, ResultsStore(tmp_path))
    for name in ("epoch", "lr", "train_loss"):  # as the record stores them (6 decimals)
        assert round_floats(curves[name]) == stored["curves"][name][:FIRST_EPOCHS], name
