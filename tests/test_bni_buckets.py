"""Balanced MSE's BNI histogram: where each bin of the training labels sits.

The authors' code (``get_bucket_info`` in ``imdb-wiki-dir/datasets.py`` of the Balanced MSE
repository) counts ages per whole year and puts bucket k at age k: ``bucket_centers =
[k for k in range(max_target)]``. Integer-label data (AgeDB-DIR, IMDB-WIKI-DIR) must do the
same; a midpoint k + 0.5 shifts the prior half a year. Data whose labels are drawn inside a
bin (RotFMNIST-DIR, the 1-D task) keep the midpoint.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lt_lab.regression.data import BINS
from lt_lab.regression.losses import LabelPrior, build
from lt_lab.regression.train import prior_centres


def ages(name: str, labels) -> SimpleNamespace:
    """The parts of a :class:`RegressionData` the prior reads: name, bins, training labels."""
    return SimpleNamespace(name=name, bins=BINS[name],
                           train_targets=torch.tensor(labels, dtype=torch.float32))


def authors_bucket_centres(max_target: int = 121) -> list[float]:
    """The authors' description: one bucket per whole year, bucket k at age k."""
    return [float(k) for k in range(max_target)]


@pytest.mark.parametrize("name", ["agedb", "imdb_wiki"])
def test_integer_ages_put_bucket_k_at_age_k(name):
    centres = prior_centres(ages(name, [30.0]))
    assert centres.tolist() == authors_bucket_centres()
    # and each age is counted in its own bucket: age 30 in bucket 30
    assert BINS[name].index(torch.tensor([0.0, 30.0, 120.0])).tolist() == [0, 30, 120]


@pytest.mark.parametrize("name", ["rotated_fashion_mnist", "synthetic_1d"])
def test_labels_drawn_inside_bins_keep_the_midpoints(name):
    bins = BINS[name]
    centres = prior_centres(ages(name, [1.0]))
    assert torch.equal(centres, bins.centres)
    assert centres[0].item() == pytest.approx(bins.low + bins.width / 2)


def bni_pull(data, centres, age: float) -> float:
    """d(BNI loss)/d(prediction) at a prediction equal to its target ``age``: with the MSE
    term 0 there, the pull of the balancing term alone."""
    prior = LabelPrior(data.train_targets, centres, data.bins.counts(data.train_targets))
    loss_fn = build("balanced_mse", prior, variant="bni", init_noise_sigma=1.0,
                    learn_sigma=False)
    pred = torch.tensor([age], requires_grad=True)
    loss_fn(pred, torch.tensor([age])).backward()
    return pred.grad.item()


def test_bni_exerts_no_pull_on_a_prediction_at_the_only_training_age():
    # every training age is 30: with the prior at age 30 the loss (ŷ−30)² − (ŷ−30)² + const
    # (times 2σ²) is constant in ŷ, so it pulls a prediction of 30 nowhere
    data = ages("agedb", [30.0] * 50)
    assert bni_pull(data, prior_centres(data), 30.0) == pytest.approx(0.0, abs=1e-5)
    # the midpoint prior at 30.5 would: d/dŷ [(ŷ−30)² − (ŷ−30.5)²] = 2 · 0.5 = 1 at ŷ = 30
    assert bni_pull(data, data.bins.centres, 30.0) == pytest.approx(1.0, abs=1e-4)
