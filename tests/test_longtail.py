"""Tests for lt_lab.data.longtail: counts, class orders and the seeded long-tailed subset.

Every expected value is a literal worked out by hand (the working sits in a comment).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lt_lab.data.longtail import class_order, class_order_names, longtail_counts, make_longtail
from lt_lab.errors import ConfigError

# ---------------------------------------------------------------------------------------------
# longtail_counts, exponential profile: n_i = int(n_max * rho ** (-i / (C - 1)))
# ---------------------------------------------------------------------------------------------


def test_cifar10_rho100_matches_ldam_counts():
    # rho^(1/9) = 100^(1/9) = e^(ln 100 / 9) = e^0.51170 = 1.66810, so each class keeps
    # 1/1.66810 = 0.59948 of the one before it:
    #   5000, 5000*0.59948=2997.4, 5000*0.35937=1796.8, 1077.3, 645.8, 387.3, 232.2,
    #   139.2, 83.4, 5000/100=50      -> truncated below; sum = 12406
    counts = longtail_counts(5000, 10, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(counts) == 12406


def test_fashion_mnist_rho100_counts():
    # Same ratios as above with n_max = 6000: 6000*0.59948 = 3596.9, 6000*0.35937 = 2156.2,
    # 1292.7, 774.9, 464.7, 278.6, 166.9, 100.1, 6000/100 = 60     -> sum = 14886
    counts = longtail_counts(6000, 10, 100)
    assert counts == [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]
    assert sum(counts) == 14886


def test_cifar10_rho50_and_rho10_counts():
    # rho = 50: 50^(1/9) = e^(3.91202/9) = 1.54445, ratio 0.64748 per class:
    #   5000, 3237.4, 2096.1, 1357.2, 878.7, 568.9, 368.4, 238.5, 154.4, 100  -> sum 13996
    assert longtail_counts(5000, 10, 50) == [5000, 3237, 2096, 1357, 878, 568, 368, 238, 154, 100]
    assert sum(longtail_counts(5000, 10, 50)) == 13996
    # rho = 10: 10^(1/9) = e^(2.30259/9) = 1.29155, ratio 0.77426 per class:
    #   5000, 3871.3, 2997.4, 2320.8, 1796.8, 1391.2, 1077.2, 834.0, 645.7, 500 -> sum 20431
    assert longtail_counts(5000, 10, 10) == [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645,
                                             500]
    assert sum(longtail_counts(5000, 10, 10)) == 20431


@pytest.mark.parametrize(
    ("rho", "total", "tail"),
    [
        # CIFAR-100-LT sizes as published with the LDAM / CB code (n_max = 500, C = 100):
        # tail = int(500 / rho): 5, 10, 50.
        (100, 10847, 5),
        (50, 12608, 10),
        (10, 19573, 50),
    ],
)
def test_cifar100_totals(rho, total, tail):
    counts = longtail_counts(500, 100, rho)
    assert len(counts) == 100
    assert counts[0] == 500
    assert counts[-1] == tail
    assert sum(counts) == total


def test_cifar100_rho100_first_classes():
    # 100^(-1/99) = e^(-4.60517/99) = e^-0.046517 = 0.954548: 500*0.954548 = 477.3,
    # 500*0.911162 = 455.6, 500*0.869748 = 434.9, 500*0.830216 = 415.1
    assert longtail_counts(500, 100, 100)[:5] == [500, 477, 455, 434, 415]


def test_rho_one_is_balanced():
    assert longtail_counts(7, 10, 1) == [7] * 10
    assert longtail_counts(500, 100, 1) == [500] * 100


# ---------------------------------------------------------------------------------------------
# step profile: first C // 2 classes get n_max, the rest int(n_max / rho)
# ---------------------------------------------------------------------------------------------


def test_step_profile_even():
    # 10 classes, n_max 1000, rho 10: five of 1000, five of 1000/10 = 100
    assert longtail_counts(1000, 10, 10, profile="step") == [1000] * 5 + [100] * 5


def test_step_profile_odd_number_of_classes():
    # 5 classes: 5 // 2 = 2 head classes of 100, three of int(100 / 3) = int(33.3) = 33
    assert longtail_counts(100, 5, 3, profile="step") == [100, 100, 33, 33, 33]


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_ratio_below_one_is_rejected():
    with pytest.raises(ConfigError, match="imbalance_ratio"):
        longtail_counts(5000, 10, 0.5)


@pytest.mark.parametrize("n_max", [0, -3])
def test_n_max_below_one_is_rejected(n_max):
    with pytest.raises(ConfigError, match="n_max"):
        longtail_counts(n_max, 10, 10)


def test_too_few_classes_is_rejected():
    with pytest.raises(ConfigError, match="num_classes"):
        longtail_counts(100, 1, 10)


def test_unknown_profile_lists_allowed():
    with pytest.raises(ConfigError, match="profile") as info:
        longtail_counts(100, 10, 10, profile="linear")
    assert "'exp'" in str(info.value)
    assert "'step'" in str(info.value)


def test_count_truncating_to_zero_is_rejected():
    # n_max = 10, rho = 100: the tail gets int(10 / 100) = int(0.1) = 0 images.
    with pytest.raises(ConfigError, match="n_max") as info:
        longtail_counts(10, 10, 100)
    assert "imbalance_ratio" in str(info.value)


def test_step_profile_truncating_to_zero_is_rejected():
    # int(10 / 20) = 0
    with pytest.raises(ConfigError, match="n_max"):
        longtail_counts(10, 4, 20, profile="step")


@settings(max_examples=60, deadline=None)
@given(
    n_max=st.integers(min_value=100, max_value=10_000),
    num_classes=st.integers(min_value=2, max_value=100),
    rho=st.floats(min_value=1.0, max_value=100.0),
)
@example(n_max=4257, num_classes=2, rho=1.1)  # hypothesis found it: n_max / rho is 3869.99...
def test_exp_profile_is_non_increasing_from_n_max(n_max, num_classes, rho):
    counts = longtail_counts(n_max, num_classes, rho)
    assert len(counts) == num_classes
    assert counts[0] == n_max
    assert all(a >= b for a, b in zip(counts[:-1], counts[1:], strict=True))
    # The tail is the docstring's n_max * rho^(-1) truncated, exactly (n_max / rho may round to
    # the other side of an integer: n_max=4257, rho=1.1 gives 3869.99... against 3870.0).
    assert counts[-1] == int(n_max * rho ** (-1.0))


# ---------------------------------------------------------------------------------------------
# class_order
# ---------------------------------------------------------------------------------------------


def test_natural_order():
    assert class_order("cifar10", 10, "natural") == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert class_order("fashion_mnist", 10, "natural") == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)


def test_default_order_is_natural_for_cifar():
    assert class_order("cifar10", 10) == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert class_order("cifar100", 100) == tuple(range(100))


def test_fashion_mnist_default_is_confusable_tail():
    # Documented permutation, head first: T-shirt, Pullover, Sneaker, Trouser, Bag, Dress,
    # Sandal, Ankle boot, Coat, Shirt.
    expected = (0, 2, 7, 1, 8, 3, 5, 9, 4, 6)
    assert class_order("fashion_mnist", 10) == expected
    assert class_order("fashion_mnist", 10, "default") == expected
    assert class_order("fashion_mnist", 10, "confusable_tail") == expected
    assert sorted(expected) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_class_order_names_cifar():
    assert class_order_names("cifar10") == ["default", "natural"]


def test_class_order_names_fashion_mnist_has_no_duplicates():
    assert class_order_names("fashion_mnist") == ["default", "natural", "confusable_tail"]


def test_unknown_order_lists_allowed():
    with pytest.raises(ConfigError, match="class_order") as info:
        class_order("fashion_mnist", 10, "alphabetical")
    message = str(info.value)
    assert "'alphabetical'" in message
    assert "'natural'" in message
    assert "'confusable_tail'" in message


def test_confusable_tail_unknown_for_cifar():
    with pytest.raises(ConfigError, match="natural"):
        class_order("cifar10", 10, "confusable_tail")


# ---------------------------------------------------------------------------------------------
# make_longtail on a synthetic label tensor
# ---------------------------------------------------------------------------------------------

# 5 original classes, interleaved: train index i has class i % 5 (20 images each),
# test index j has class j % 5 (10 images each).
TRAIN = torch.arange(100) % 5
TEST = torch.arange(50) % 5
COUNTS = [12, 8, 5, 3, 2]
ORDER = (3, 0, 4, 1, 2)
# rank_of[original]: class 3 -> rank 0, 0 -> 1, 4 -> 2, 1 -> 3, 2 -> 4
RANK_OF = torch.tensor([1, 3, 4, 0, 2])


def _split(seed=0, **kwargs):
    return make_longtail(TRAIN, TEST, COUNTS, order=ORDER, seed=seed, **kwargs)


def test_exact_counts_per_rank_label():
    split = _split()
    assert torch.bincount(split.train_labels, minlength=5).tolist() == [12, 8, 5, 3, 2]
    assert split.class_counts == [12, 8, 5, 3, 2]
    assert split.class_order == (3, 0, 4, 1, 2)
    assert len(split.train_indices) == 12 + 8 + 5 + 3 + 2
    assert split.train_indices.dtype == torch.int64
    assert split.train_labels.dtype == torch.int64


def test_rank_r_comes_from_original_class_order_r():
    split = _split()
    originals = TRAIN[split.train_indices]
    for rank, original in enumerate(ORDER):
        assert (originals[split.train_labels == rank] == original).all()
    # The same, written as a literal map: labels equal rank_of[original class].
    assert torch.equal(split.train_labels, RANK_OF[originals])


def test_train_indices_unique_and_in_range():
    split = _split()
    indices = split.train_indices.tolist()
    assert len(set(indices)) == len(indices) == 30
    assert all(0 <= i < 100 for i in indices)


def test_natural_order_when_none():
    split = make_longtail(TRAIN, TEST, [4, 3, 2, 2, 1], seed=0)
    assert split.class_order == (0, 1, 2, 3, 4)
    assert torch.equal(split.train_labels, TRAIN[split.train_indices])


def test_same_seed_same_subset():
    a, b = _split(seed=5), _split(seed=5)
    assert torch.equal(a.train_indices, b.train_indices)
    assert torch.equal(a.train_labels, b.train_labels)


def test_different_seed_different_subset():
    # 8 of 20 images for rank 1 alone: C(20, 8) = 125970 subsets, a collision is negligible.
    a, b = _split(seed=0), _split(seed=1)
    assert set(a.train_indices.tolist()) != set(b.train_indices.tolist())


def test_test_set_untouched_and_relabelled():
    split = _split()
    assert sorted(split.test_indices.tolist()) == list(range(50))
    assert torch.equal(split.test_labels, RANK_OF[TEST[split.test_indices]])
    # Balanced: 10 test images for every rank.
    assert torch.bincount(split.test_labels, minlength=5).tolist() == [10] * 5


def test_test_per_class_cuts_and_is_seed_independent():
    a, b = _split(seed=0, test_per_class=4), _split(seed=9, test_per_class=4)
    assert torch.bincount(a.test_labels, minlength=5).tolist() == [4] * 5
    assert len(set(a.test_indices.tolist())) == 20
    assert torch.equal(a.test_labels, RANK_OF[TEST[a.test_indices]])
    assert torch.equal(a.test_indices, b.test_indices)
    assert torch.equal(a.test_labels, b.test_labels)
    # The training subsets still differ between the two seeds.
    assert set(a.train_indices.tolist()) != set(b.train_indices.tolist())


def test_too_many_images_mentions_n_max():
    # Class 3 (rank 0) has 20 training images; asking 21 must fail and name n_max.
    with pytest.raises(ConfigError, match="n_max") as info:
        make_longtail(TRAIN, TEST, [21, 8, 5, 3, 2], order=ORDER)
    assert "20" in str(info.value)


def test_all_images_of_a_class_is_allowed():
    split = make_longtail(TRAIN, TEST, [20, 8, 5, 3, 2], order=ORDER)
    # Rank 0 = original class 3: every index i with i % 5 == 3.
    rank0 = sorted(split.train_indices[split.train_labels == 0].tolist())
    assert rank0 == [3, 8, 13, 18, 23, 28, 33, 38, 43, 48, 53, 58, 63, 68, 73, 78, 83, 88, 93, 98]


def test_test_per_class_too_large_is_rejected():
    with pytest.raises(ConfigError, match="test_per_class"):
        _split(test_per_class=11)


def test_order_not_a_permutation_is_rejected():
    with pytest.raises(ConfigError, match="permutation"):
        make_longtail(TRAIN, TEST, COUNTS, order=(0, 0, 1, 2, 3))


def test_zero_count_is_rejected():
    with pytest.raises(ConfigError, match="no images"):
        make_longtail(TRAIN, TEST, [5, 4, 3, 2, 0])
