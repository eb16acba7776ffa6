"""Tests for lt_lab.data.samplers: every expected value is worked out by hand in the test.

Statistical checks allow 5 binomial standard deviations, sd = sqrt(n p (1 - p)), computed
in each test, so a correct sampler fails about once in 3.5 million runs; all generators are
seeded anyway, so the outcome is repeatable.
"""

from __future__ import annotations

import math

import pytest
import torch

from lt_lab.data.samplers import SAMPLERS, build_sampler, class_probabilities
from lt_lab.errors import ConfigError

# 552 images: 400 / 100 / 36 / 16 per class, square roots 20 / 10 / 6 / 4 (sum 40).
COUNTS = [400, 100, 36, 16]
N = 552


def _labels(counts, seed=0):
    """Class c repeated counts[c] times, in a seeded random order."""
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    return labels[order]


LABELS = _labels(COUNTS)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _class_draws(name, epochs, *, at_epoch=None, num_epochs=1):
    """Class counts of the indices drawn over ``epochs`` epochs."""
    sampler = build_sampler(name, LABELS, 4, num_epochs)
    generator = _gen(1)
    drawn = torch.cat([
        sampler.epoch_indices(e if at_epoch is None else at_epoch, generator)
        for e in range(epochs)
    ])
    return torch.bincount(LABELS[drawn], minlength=4), drawn


def _assert_frequencies(observed, expected_p, total):
    for c, p in enumerate(expected_p):
        sd = math.sqrt(total * p * (1 - p))
        assert abs(observed[c].item() - total * p) <= 5 * sd, (c, observed.tolist(), expected_p)


# ---------------------------------------------------------------------------------------------
# class_probabilities
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "power", "expected"),
    [
        ([4, 1], 0.5, [2 / 3, 1 / 3]),  # sqrt: 2, 1 -> 2/3, 1/3
        ([4, 1], 1.0, [0.8, 0.2]),  # 4/5, 1/5
        ([4, 1], 0.0, [0.5, 0.5]),  # 1, 1
        ([9, 4, 1], 0.5, [0.5, 1 / 3, 1 / 6]),  # 3, 2, 1 over 6
        ([400, 100, 36, 16], 0.5, [0.5, 0.25, 0.15, 0.1]),  # 20, 10, 6, 4 over 40
    ],
)
def test_class_probabilities_literals(counts, power, expected):
    got = class_probabilities(torch.tensor(counts), power)
    assert got.tolist() == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# instance
# ---------------------------------------------------------------------------------------------


def test_instance_is_a_permutation():
    sampler = build_sampler("instance", LABELS, 4)
    generator = _gen()
    first = sampler.epoch_indices(0, generator)
    second = sampler.epoch_indices(1, generator)
    assert len(sampler) == N
    assert sorted(first.tolist()) == list(range(N))
    assert sorted(second.tolist()) == list(range(N))
    assert not torch.equal(first, second)  # reshuffled every epoch


# ---------------------------------------------------------------------------------------------
# class-weighted sampling with replacement
# ---------------------------------------------------------------------------------------------


def test_class_balanced_is_uniform_over_classes():
    epochs = 20
    observed, drawn = _class_draws("class_balanced", epochs)
    assert len(drawn) == epochs * N  # len(labels) draws an epoch
    assert drawn.min() >= 0 and drawn.max() < N
    # p = 1/4 for every class; total 11040, sd = sqrt(11040 * 0.25 * 0.75) = 45.5
    _assert_frequencies(observed, [0.25] * 4, epochs * N)


def test_class_balanced_is_uniform_within_a_class():
    # Class 3 has 16 images, drawn 11040 * 0.25 = 2760 times: 2760 / 16 = 172.5 per image,
    # sd = sqrt(2760 * (1/16) * (15/16)) = 12.7.
    _, drawn = _class_draws("class_balanced", 20)
    tail = drawn[LABELS[drawn] == 3]
    per_image = torch.bincount(tail, minlength=N)[LABELS == 3]
    assert len(per_image) == 16
    sd = math.sqrt(len(tail) * (1 / 16) * (15 / 16))
    assert (per_image.double() - len(tail) / 16).abs().max() <= 5 * sd


def test_square_root_frequencies():
    epochs = 20
    observed, _ = _class_draws("square_root", epochs)
    # sqrt(400, 100, 36, 16) = 20, 10, 6, 4; over 40: 0.5, 0.25, 0.15, 0.1
    _assert_frequencies(observed, [0.5, 0.25, 0.15, 0.1], epochs * N)


# Instance-balanced class probabilities: n_c / 552
#   400/552 = 0.724638, 100/552 = 0.181159, 36/552 = 0.065217, 16/552 = 0.028986
INSTANCE_P = [400 / 552, 100 / 552, 36 / 552, 16 / 552]


def test_progressive_epoch_zero_is_instance_balanced():
    epochs = 20
    observed, _ = _class_draws("progressive", epochs, at_epoch=0, num_epochs=10)
    _assert_frequencies(observed, INSTANCE_P, epochs * N)


def test_progressive_last_epoch_is_nearly_class_balanced():
    # q(t) = (1 - t/T) q_IB + (t/T) q_CB. With T = 100 the last epoch is t = 99:
    #   q = 0.01 * q_IB + 0.99 * 0.25
    #     = [0.007246 + 0.2475, 0.001812 + 0.2475, 0.000652 + 0.2475, 0.000290 + 0.2475]
    #     = [0.254746, 0.249312, 0.248152, 0.247790]
    expected = [0.254746, 0.249312, 0.248152, 0.247790]
    sampler = build_sampler("progressive", LABELS, 4, 100)
    assert sampler.class_probabilities(99).tolist() == pytest.approx(expected, abs=1e-6)
    epochs = 20
    observed, _ = _class_draws("progressive", epochs, at_epoch=99, num_epochs=100)
    _assert_frequencies(observed, expected, epochs * N)
    _assert_frequencies(observed, [0.25] * 4, epochs * N)


def test_progressive_halfway_probabilities():
    # T = 10, t = 5: 0.5 * q_IB + 0.5 * 0.25
    #   = [0.362319 + 0.125, 0.090580 + 0.125, 0.032609 + 0.125, 0.014493 + 0.125]
    sampler = build_sampler("progressive", LABELS, 4, 10)
    assert sampler.class_probabilities(5).tolist() == pytest.approx(
        [0.487319, 0.215580, 0.157609, 0.139493], abs=1e-6
    )
    assert sampler.class_probabilities(0).tolist() == pytest.approx(INSTANCE_P, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# over- and under-sampling
# ---------------------------------------------------------------------------------------------

SMALL = [8, 4, 2, 1]
SMALL_LABELS = _labels(SMALL, seed=3)


def test_oversample_repeats_every_class_to_n_max():
    sampler = build_sampler("oversample", SMALL_LABELS, 4)
    sampler.epoch_indices(0, _gen())
    resampled = sampler.resampled
    assert len(resampled) == 4 * 8  # C * n_max
    assert set(resampled.tolist()) == set(range(15))  # every original image at least once
    assert torch.bincount(SMALL_LABELS[resampled], minlength=4).tolist() == [8, 8, 8, 8]
    # The head class (8 images, n_max) is neither repeated nor cut: each image exactly once.
    head = resampled[SMALL_LABELS[resampled] == 0]
    assert sorted(head.tolist()) == sorted(torch.nonzero(SMALL_LABELS == 0).flatten().tolist())
    # The single tail image fills all 8 of its slots.
    tail_image = torch.nonzero(SMALL_LABELS == 3).flatten().item()
    assert (resampled[SMALL_LABELS[resampled] == 3] == tail_image).all()


def test_oversample_keeps_every_original_of_a_large_class():
    # 40 images of class 1 fill 60 slots. Drawing all 60 at random would miss about
    # 40 * (39/40)^60 = 8.8 of them; over-sampling keeps every original, then adds 20 repeats.
    counts = [60, 40, 20, 5]
    labels = _labels(counts, seed=5)
    sampler = build_sampler("oversample", labels, 4)
    sampler.epoch_indices(0, _gen())
    assert len(sampler.resampled) == 240
    assert set(sampler.resampled.tolist()) == set(range(125))
    per_image = torch.bincount(sampler.resampled, minlength=125)
    # Class 1: 40 originals + 20 repeats -> per-image counts sum to 60, each at least 1.
    assert per_image[labels == 1].sum().item() == 60
    assert per_image[labels == 1].min().item() >= 1
    # Class 0 (the largest) appears exactly once per image.
    assert (per_image[labels == 0] == 1).all()


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_takes_as_many_draws_an_epoch_as_there_are_images(name):
    # Equal epochs mean equal SGD steps: methods are compared at the same budget.
    sampler = build_sampler(name, SMALL_LABELS, 4, 3)
    generator = _gen()
    for epoch in range(3):
        assert len(sampler.epoch_indices(epoch, generator)) == len(sampler) == 15


def test_an_oversampling_epoch_is_part_of_one_pass_over_the_resampled_set():
    # 15 draws from the 32 resampled slots, without reusing a slot: no image is drawn more
    # often than the resampled set holds it.
    sampler = build_sampler("oversample", SMALL_LABELS, 4)
    generator = _gen()
    for epoch in range(4):
        drawn = torch.bincount(sampler.epoch_indices(epoch, generator), minlength=15)
        assert (drawn <= torch.bincount(sampler.resampled, minlength=15)).all()


def test_undersample_keeps_n_min_of_each_class_and_passes_over_it_again():
    counts = [40, 20, 10, 5]
    labels = _labels(counts, seed=4)
    sampler = build_sampler("undersample", labels, 4)
    generator = _gen()
    epochs = [sampler.epoch_indices(e, generator) for e in range(3)]
    kept = sampler.resampled
    assert len(kept) == 4 * 5 and len(set(kept.tolist())) == 20  # C * n_min, no repeats
    assert torch.bincount(labels[kept], minlength=4).tolist() == [5, 5, 5, 5]
    # The smallest class is kept whole.
    smallest = torch.nonzero(labels == 3).flatten()
    assert set(kept[labels[kept] == 3].tolist()) == set(smallest.tolist())
    for epoch in epochs:  # 75 draws: three whole passes over the 20, then 15 of a fourth
        assert set(epoch.tolist()) == set(kept.tolist())
        per_image = torch.bincount(epoch, minlength=75)[kept]
        assert sorted(per_image.tolist()) == [3] * 5 + [4] * 15
    assert not torch.equal(epochs[0], epochs[1])


def test_undersample_subset_depends_on_seed():
    counts = [40, 20, 10, 5]
    labels = _labels(counts, seed=4)
    a, b = build_sampler("undersample", labels, 4), build_sampler("undersample", labels, 4)
    a.epoch_indices(0, _gen(0))
    b.epoch_indices(0, _gen(1))
    assert set(a.resampled.tolist()) != set(b.resampled.tolist())


# ---------------------------------------------------------------------------------------------
# determinism and errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLERS)
def test_same_seed_same_indices(name):
    a = build_sampler(name, LABELS, 4, 10)
    b = build_sampler(name, LABELS, 4, 10)
    ga, gb = _gen(7), _gen(7)
    for epoch in range(3):
        assert torch.equal(a.epoch_indices(epoch, ga), b.epoch_indices(epoch, gb))


@pytest.mark.parametrize("name", SAMPLERS)
def test_different_seed_different_indices(name):
    a = build_sampler(name, LABELS, 4, 10).epoch_indices(0, _gen(7))
    b = build_sampler(name, LABELS, 4, 10).epoch_indices(0, _gen(8))
    assert not torch.equal(a, b)


def test_samplers_constant():
    assert set(SAMPLERS) == {
        "instance", "class_balanced", "square_root", "progressive", "oversample", "undersample"
    }


def test_unknown_sampler_lists_allowed():
    with pytest.raises(ConfigError, match="sampler") as info:
        build_sampler("balanced", LABELS, 4)
    assert "'class_balanced'" in str(info.value)


@pytest.mark.parametrize("name", SAMPLERS)
def test_class_without_images_is_rejected(name):
    labels = torch.tensor([0, 0, 1, 3, 3])  # class 2 is empty
    with pytest.raises(ConfigError, match="no images") as info:
        build_sampler(name, labels, 4)
    assert "[2]" in str(info.value)
