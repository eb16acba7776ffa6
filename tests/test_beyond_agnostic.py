"""Tests for lt_lab.beyond.agnostic: SADE's test priors, resampling a balanced test set to
one, G-mean and minimum recall, and the re-weighted accuracy read from a record. Values
worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest
import torch

from lt_lab.beyond.agnostic import (
    SADE_TEST_PRIORS,
    agnostic_metrics,
    class_prior,
    gmean_of_recalls,
    gmean_recall,
    mean_over_priors,
    min_of_recalls,
    min_recall,
    parse_prior,
    prior_accuracies,
    prior_counts,
    prior_table,
    resample_indices,
    resample_test_set,
    resampled_metrics,
    reweighted_accuracy,
)
from lt_lab.errors import ConfigError


def test_sade_priors_in_sade_order():
    # test_training_cifar.py's test_distribution_set
    assert SADE_TEST_PRIORS == (
        "forward50", "forward25", "forward10", "forward5", "forward2", "uniform",
        "backward2", "backward5", "backward10", "backward25", "backward50")
    assert parse_prior("forward50") == ("forward", 50.0)
    assert parse_prior("backward2") == ("backward", 2.0)
    assert parse_prior("uniform") == ("uniform", 1.0)


def test_prior_counts_by_hand():
    # C = 3, n_max = 100, ρ = 10: exponents 0, 1/2, 1 → 100, int(100/√10 = 31.62) = 31, 10
    assert prior_counts("forward10", 3, 100).tolist() == [100, 31, 10]
    assert prior_counts("backward10", 3, 100).tolist() == [10, 31, 100]
    # ρ = 2: 100, int(100/√2 = 70.71) = 70, 50
    assert prior_counts("forward2", 3, 100).tolist() == [100, 70, 50]
    assert prior_counts("uniform", 3, 100).tolist() == [100, 100, 100]


def test_prior_counts_of_cifar100_forward50():
    # CIFAR-100's test set, 100 a class: the tail class keeps int(100 · 0.02) = 2; the sum
    # of int(100 · 0.02^(c/99)) over c = 0..99 is 2486 (computed with Python floats, as SADE)
    counts = prior_counts("forward50", 100, 100)
    assert counts[0] == 100 and counts[-1] == 2 and int(counts.sum()) == 2486
    assert torch.equal(prior_counts("backward50", 100, 100), counts.flip(0))


def test_class_prior_by_hand():
    # forward10, C = 3: weights [1, 10^-1/2, 10^-1] = [1, 0.316228, 0.1], sum 1.416228
    #   → [0.706101, 0.223289, 0.070610]
    assert class_prior("forward10", 3).tolist() == pytest.approx(
        [0.7061011116965423, 0.22328877713380335, 0.07061011116965424], abs=1e-12)
    # with n_max = 100, the counts [100, 31, 10] / 141
    assert class_prior("forward10", 3, n_max=100).tolist() == pytest.approx(
        [100 / 141, 31 / 141, 10 / 141])
    assert class_prior("uniform", 4).tolist() == [0.25] * 4


def test_resample_indices_counts_and_seed():
    labels = torch.tensor([0, 1, 2] * 4)  # balanced: 4 a class
    keep = resample_indices(labels, [4, 2, 1], seed=0)
    assert torch.bincount(labels[keep], minlength=3).tolist() == [4, 2, 1]
    assert keep.tolist() == sorted(set(keep.tolist()))  # sorted, no repeats
    assert torch.equal(keep, resample_indices(labels, [4, 2, 1], seed=0))
    draws = {tuple(resample_indices(labels, [4, 2, 1], seed=s).tolist()) for s in range(8)}
    assert len(draws) > 1  # the seed chooses which images


def test_resample_test_set_by_prior_name():
    labels = torch.arange(3).repeat(100)  # 100 a class
    keep = resample_test_set(labels, "backward10", seed=3)
    assert torch.bincount(labels[keep]).tolist() == [10, 31, 100]


def test_recall_metrics_by_hand():
    # class 0: 5 images, 4 right; class 1: 2 images, 1 right; class 2: 5 images, 1 right
    #   recalls [0.8, 0.5, 0.2]; accuracy 6/12 = 0.5; G-mean (0.8·0.5·0.2)^(1/3) = 0.08^(1/3)
    #   = 0.4308869380063768; minimum 0.2
    labels = torch.tensor([0] * 5 + [1] * 2 + [2] * 5)
    predictions = torch.tensor([0, 0, 0, 0, 1] + [1, 0] + [2, 0, 0, 1, 1])
    assert gmean_recall(predictions, labels, 3) == pytest.approx(0.4308869380063768)
    assert min_recall(predictions, labels, 3) == pytest.approx(0.2)
    assert agnostic_metrics(predictions, labels, 3) == pytest.approx(
        {"acc": 0.5, "gmean_recall": 0.4308869380063768, "min_recall": 0.2})


def test_gmean_is_zero_when_a_class_is_never_right_and_skips_absent_classes():
    assert gmean_of_recalls([0.9, 0.0, 0.5]) == 0.0
    # class 1 absent (nan): (0.9 · 0.4)^(1/2) = 0.6
    assert gmean_of_recalls([0.9, math.nan, 0.4]) == pytest.approx(0.6)
    assert min_of_recalls([0.9, math.nan, 0.4]) == pytest.approx(0.4)


def test_reweighted_accuracy_by_hand():
    # per-class [0.9, 0.5, 0.1]; uniform: 0.5
    #   counts [100, 31, 10]: (90 + 15.5 + 1) / 141 = 106.5 / 141 = 0.7553191489361702
    #   counts [10, 31, 100]: (9 + 15.5 + 10) / 141 = 34.5 / 141 = 0.24468085106382978
    acc = [0.9, 0.5, 0.1]
    assert reweighted_accuracy(acc, [1, 1, 1]) == pytest.approx(0.5)
    assert reweighted_accuracy(acc, [100, 31, 10]) == pytest.approx(0.7553191489361702)
    assert reweighted_accuracy(acc, [10, 31, 100]) == pytest.approx(0.24468085106382978)


def test_prior_accuracies_from_a_hand_made_record():
    record = {"key": "hand-made", "per_class_acc": [0.9, 0.5, 0.1]}
    table = prior_accuracies(record, n_max=100)
    assert list(table) == list(SADE_TEST_PRIORS)
    assert table["forward10"] == pytest.approx(0.7553191489361702)
    assert table["backward10"] == pytest.approx(0.24468085106382978)
    assert table["uniform"] == pytest.approx(0.5)
    # untruncated profile, forward10: 0.9·0.706101 + 0.5·0.223289 + 0.1·0.070610 = 0.754197
    assert prior_accuracies([0.9, 0.5, 0.1], ["forward10"])["forward10"] == pytest.approx(
        0.9 * 0.7061011116965423 + 0.5 * 0.22328877713380335 + 0.1 * 0.07061011116965424)
    # SADE's summary: the mean over the priors; forward and backward pair up around 0.5
    assert mean_over_priors(table) == pytest.approx(0.5, abs=1e-12)


def test_prior_table_from_hand_made_records():
    # seed 0: [0.9, 0.5, 0.1] → forward10 75.53 %, backward10 24.47 %, mean 50 %
    # seed 1: [1.0, 1.0, 0.0] → forward10 (100 + 31) / 141 = 92.91 %, backward10 41/141 = 29.08 %
    records = [{"seed": 0, "per_class_acc": [0.9, 0.5, 0.1]},
               {"seed": 1, "per_class_acc": [1.0, 1.0, 0.0]}]
    table = prior_table(records, ["forward10", "backward10"], n_max=100)
    assert list(table.columns) == ["forward10", "backward10", "mean over priors"]
    assert table.index.name == "seed" and list(table.index) == [0, 1]
    assert table.loc[0].tolist() == pytest.approx([75.53191489361702, 24.468085106382978, 50.0])
    assert table.loc[1].tolist() == pytest.approx([100 * 131 / 141, 100 * 41 / 141, 100 * 86 / 141])
    with pytest.raises(ConfigError, match="records"):
        prior_table([])


def test_resampled_matches_reweighted_when_every_class_is_all_right_or_all_wrong():
    # class 0 always right, class 1 always wrong, class 2 always right: any resampled set's
    # accuracy is exactly the re-weighted one by its counts
    labels = torch.arange(3).repeat(100)
    predictions = torch.where(labels == 1, torch.zeros_like(labels), labels)
    resampled = resampled_metrics(predictions, labels, 3, priors=["forward10", "backward10"])
    reweighted = prior_accuracies([1.0, 0.0, 1.0], ["forward10", "backward10"], n_max=100)
    assert resampled["forward10"]["acc"] == pytest.approx(reweighted["forward10"])  # 110/141
    assert resampled["backward10"]["acc"] == pytest.approx(110 / 141)
    assert resampled["forward10"]["min_recall"] == 0.0


def test_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="prior='sideways5'"):
        parse_prior("sideways5")
    with pytest.raises(ConfigError, match="num_classes"):
        prior_counts("forward10", 1, 100)
    with pytest.raises(ConfigError, match="n_max"):
        prior_counts("forward10", 3, 0)
    with pytest.raises(ConfigError, match=r"counts\[2\]=5 exceeds"):
        resample_indices(torch.tensor([0, 1, 2] * 4), [1, 1, 5])
    with pytest.raises(ConfigError, match="not balanced"):
        resample_test_set(torch.tensor([0, 0, 1]), "forward2")
    with pytest.raises(ConfigError, match="per_class_acc"):
        reweighted_accuracy([90.0, 50.0], [1, 1])  # percentages, not fractions
    with pytest.raises(ConfigError, match="prior"):
        reweighted_accuracy([0.9, 0.5], [1, 1, 1])
    with pytest.raises(ConfigError, match="nan"):
        reweighted_accuracy([0.9, math.nan], [1, 1])
    with pytest.raises(ConfigError, match="per_class_acc"):
        prior_accuracies({"key": "k"})
