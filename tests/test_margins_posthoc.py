"""Post-hoc logit adjustment chosen off the test set (lt_lab.margins.posthoc, .readers).

The analysis stores, for a run with a validation split, the validation balanced accuracy of
``argmax z − τ log π`` at every τ; ``validation_taus`` picks each run's τ there. The network
here is the identity on two "pixels", so the logits are the images and every value is worked
out by hand in the comments.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.margins import readers
from lt_lab.margins.posthoc import PosthocAdjustment, adjust
from lt_lab.train import TrainingData

COUNTS = [3, 1]  # π = (3/4, 1/4): τ·log(π_0/π_1) = τ·ln 3 moves the boundary towards class 0
# Validation logits and labels. Class 1 wins when τ·ln 3 exceeds z_0 − z_1:
#   [2, 1] label 1: from τ > 1/ln 3 = 0.91;  [2, 0] label 1: from τ > 2/ln 3 = 1.82;
#   [2, 1] label 0: until τ < 0.91;          [3, 0] label 0: until τ < 2.73 (always here).
VAL_LOGITS = [[2, 1], [2, 0], [2, 1], [3, 0]]
VAL_LABELS = [1, 1, 0, 0]
# Balanced accuracy (recall of class 0 and of class 1, averaged):
#   τ=0: (2/2 + 0/2)/2 = 0.5;  τ=1: (1/2 + 1/2)/2 = 0.5;  τ=2: (1/2 + 2/2)/2 = 0.75
EXPECTED_VAL = {"0": 0.5, "1": 0.5, "2": 0.75}


def _images(logits) -> torch.Tensor:
    """Logits as uint8 images of shape (N, 1, 1, 2): the identity network returns them."""
    return torch.tensor(logits, dtype=torch.uint8).view(-1, 1, 1, 2)


def _state(with_validation: bool) -> SimpleNamespace:
    # mean 0 and std 1/255 make the normalisation (x/255 − 0)/(1/255) = x exactly
    data = TrainingData(
        train_images=_images(VAL_LOGITS), train_labels=torch.tensor(VAL_LABELS),
        test_images=_images(VAL_LOGITS), test_labels=torch.tensor(VAL_LABELS),
        class_counts=COUNTS, class_names=["head", "tail"],
        mean=torch.zeros(1, 1, 1, 1), std=torch.full((1, 1, 1, 1), 1 / 255),
        val_images=_images(VAL_LOGITS) if with_validation else None,
        val_labels=torch.tensor(VAL_LABELS) if with_validation else None,
    )
    return SimpleNamespace(model=nn.Flatten(), data=data, config=make_config("smoke"),
                           extras={})


def test_adjust_subtracts_tau_times_the_log_prior():
    # log π = (ln 0.75, ln 0.25) = (−0.2877, −1.3863); τ = 1 subtracts it from zero logits
    adjusted = adjust(torch.zeros(1, 2, dtype=torch.float64), COUNTS, 1.0)
    assert adjusted.tolist() == [[pytest.approx(-math.log(0.75)), pytest.approx(math.log(4))]]
    assert adjust(torch.ones(1, 2), COUNTS, 0.0).tolist() == [[1.0, 1.0]]


def test_a_run_with_a_validation_split_stores_validation_accuracy_per_tau():
    state = _state(with_validation=True)
    PosthocAdjustment(taus=[0.0, 1.0, 2.0]).after_fit(state)
    stored = state.extras["posthoc_val"]
    assert {tau: value["balanced_acc"] for tau, value in stored.items()} == pytest.approx(
        EXPECTED_VAL)
    # the test metrics are stored as before (the test set here is the same four images)
    assert state.extras["posthoc"]["2"]["balanced_acc"] == pytest.approx(0.75)


def test_a_run_without_a_validation_split_stores_test_metrics_only():
    state = _state(with_validation=False)
    PosthocAdjustment(taus=[0.0, 1.0]).after_fit(state)
    assert set(state.extras) == {"posthoc"}


def test_validation_taus_picks_each_runs_best_tau_on_the_validation_split():
    state = _state(with_validation=True)
    PosthocAdjustment(taus=[0.0, 1.0, 2.0]).after_fit(state)
    record = {"key": "run0", "extras": state.extras}
    assert readers.validation_taus([record], [0.0, 1.0, 2.0]) == [2.0]
    # τ = 0 and τ = 1 tie at 0.5: the first of the grid is chosen
    assert readers.validation_taus([record], [1.0, 0.0]) == [1.0]


def test_validation_taus_seed_by_seed():
    def record(seed, scores):
        return {"key": f"run{seed}", "extras": {"posthoc_val": {
            f"{tau:g}": {"balanced_acc": score} for tau, score in scores.items()}}}

    records = [record(0, {0.5: 0.6, 1.0: 0.7}), record(1, {0.5: 0.8, 1.0: 0.7})]
    assert readers.validation_taus(records, [0.5, 1.0]) == [1.0, 0.5]


def test_validation_taus_needs_a_validation_split():
    record = {"key": "run0", "extras": {"posthoc": {"1": {"balanced_acc": 0.5}}}}
    with pytest.raises(ConfigError, match="val_per_class > 0"):
        readers.validation_taus([record], [1.0])
