"""Building long-tailed training sets from balanced ones.

The benchmarks of the field (CIFAR-10/100-LT of Cui et al. 2019 and Cao et al. 2019) keep
the first ``n_i`` images of class ``i`` with

    n_i = int(n_max * imbalance_ratio ** (-i / (C - 1)))          (exponential profile)

so that class 0 is the head and class C-1 the tail, and ``imbalance_ratio = n_max / n_min``.
The step profile (Buda et al. 2018) gives half the classes ``n_max`` and the other half
``int(n_max / imbalance_ratio)``. The test set stays balanced.

Throughout lt_lab the classes of a long-tailed set are *relabelled by rank*: label 0 has the
most training images, label C-1 the fewest. ``class_order`` says which original class takes
which rank, so the head/tail assignment is explicit and fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lt_lab.errors import ConfigError, check_choice, check_positive

PROFILES = ("exp", "step")

# Fashion-MNIST in its natural order puts Sneaker, Bag and Ankle boot in the tail: three
# classes a small CNN recognises from a handful of images, so the tail barely suffers.
# The "confusable_tail" order gives each tail class a look-alike in the head (Shirt and
# T-shirt, Coat and Pullover, Ankle boot and Sneaker, Sandal and Sneaker), as CIFAR-10-LT
# does with cat/dog and truck/automobile. Original class ids, head first.
CLASS_ORDERS = {
    "fashion_mnist": {
        "natural": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        "confusable_tail": (0, 2, 7, 1, 8, 3, 5, 9, 4, 6),
    },
}
DEFAULT_CLASS_ORDER = {"fashion_mnist": "confusable_tail"}


def longtail_counts(
    n_max: int, num_classes: int, imbalance_ratio: float, profile: str = "exp"
) -> list[int]:
    """Per-class training-set sizes of a long-tailed set, head first.

    Exponential profile: ``n_i = int(n_max * imbalance_ratio ** (-i / (C - 1)))``, the
    truncation of the LDAM/CB code. CIFAR-10, ``n_max=5000``, ratio 100 gives
    ``[5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]``.
    Step profile: the first ``C // 2`` classes get ``n_max``, the rest ``int(n_max / ratio)``.
    """
    check_choice("profile", profile, PROFILES)
    check_positive("n_max", n_max, minimum=1, inclusive=True)
    check_positive("num_classes", num_classes, minimum=2, inclusive=True)
    check_positive("imbalance_ratio", imbalance_ratio, minimum=1, inclusive=True)
    if profile == "exp":
        exponents = [i / (num_classes - 1) for i in range(num_classes)]
        counts = [int(n_max * imbalance_ratio ** (-e)) for e in exponents]
    else:
        n_head = num_classes // 2
        counts = [n_max] * n_head + [int(n_max / imbalance_ratio)] * (num_classes - n_head)
    if min(counts) < 1:
        raise ConfigError(
            f"n_max={n_max} with imbalance_ratio={imbalance_ratio} leaves a class with no "
            f"images (counts {counts}); raise n_max to at least {int(np.ceil(imbalance_ratio))}"
        )
    return counts


def class_order_names(dataset: str) -> list[str]:
    """The class orders ``dataset`` knows, for :func:`class_order`."""
    named = ["natural", *CLASS_ORDERS.get(dataset, {})]
    return ["default", *dict.fromkeys(named)]


def class_order(dataset: str, num_classes: int, order: str = "default") -> tuple[int, ...]:
    """Original class ids from head to tail for ``dataset`` under the named ``order``.

    ``"natural"`` keeps the dataset's own order (class 0 is the head, as in CIFAR-LT).
    ``"default"`` is the dataset's documented choice (``"confusable_tail"`` for
    Fashion-MNIST, natural elsewhere).
    """
    named = {"natural": tuple(range(num_classes)), **CLASS_ORDERS.get(dataset, {})}
    check_choice("class_order", order, class_order_names(dataset))
    if order == "default":
        order = DEFAULT_CLASS_ORDER.get(dataset, "natural")
    return named[order]


@dataclass(frozen=True)
class LongTailSplit:
    """A long-tailed training subset, relabelled by rank (0 = head)."""

    train_indices: torch.Tensor  # int64 indices into the source training set
    train_labels: torch.Tensor  # int64 rank labels
    test_indices: torch.Tensor
    test_labels: torch.Tensor
    class_counts: list[int]  # training images per rank label, head first
    class_order: tuple[int, ...]  # original class id of each rank label


def make_longtail(
    train_labels: torch.Tensor,
    test_labels: torch.Tensor,
    class_counts: list[int],
    *,
    order: tuple[int, ...] | None = None,
    seed: int = 0,
    test_per_class: int | None = None,
) -> LongTailSplit:
    """Pick a seeded long-tailed subset of the training set; keep the test set balanced.

    Rank ``r`` takes ``class_counts[r]`` images drawn without replacement from original
    class ``order[r]``. With ``test_per_class`` the test set is cut to that many images per
    class (the same images for every training seed: the subset depends on ``seed`` only).
    """
    num_classes = len(class_counts)
    order = tuple(range(num_classes)) if order is None else tuple(order)
    if sorted(order) != list(range(num_classes)):
        raise ConfigError(f"class order {order} is not a permutation of 0..{num_classes - 1}")
    if any(n < 1 for n in class_counts):
        raise ConfigError(f"class_counts={class_counts} has a class with no images")
    rng = np.random.default_rng(seed)
    train_indices, test_indices = [], []
    train_np, test_np = train_labels.cpu().numpy(), test_labels.cpu().numpy()
    for rank, (original, wanted) in enumerate(zip(order, class_counts, strict=True)):
        pool = np.flatnonzero(train_np == original)
        if wanted > len(pool):
            raise ConfigError(
                f"n_max asks for {wanted} training images of class {original} but the "
                f"dataset has {len(pool)}; lower n_max to at most {len(pool)}"
            )
        train_indices.append(np.sort(rng.choice(pool, size=wanted, replace=False)))
        test_pool = np.flatnonzero(test_np == original)
        if test_per_class is not None:
            if test_per_class > len(test_pool):
                raise ConfigError(
                    f"test_per_class={test_per_class} exceeds the {len(test_pool)} test "
                    f"images of class {original}"
                )
            test_rng = np.random.default_rng([rank, 2024])
            test_pool = np.sort(test_rng.choice(test_pool, size=test_per_class, replace=False))
        test_indices.append(test_pool)
    rank_of = np.empty(num_classes, dtype=np.int64)
    rank_of[list(order)] = np.arange(num_classes)
    train_idx = torch.from_numpy(np.concatenate(train_indices))
    test_idx = torch.from_numpy(np.concatenate(test_indices))
    return LongTailSplit(
        train_indices=train_idx,
        train_labels=torch.from_numpy(rank_of[train_np[train_idx.numpy()]]),
        test_indices=test_idx,
        test_labels=torch.from_numpy(rank_of[test_np[test_idx.numpy()]]),
        class_counts=list(class_counts),
        class_order=order,
    )


def validation_indices(
    train_labels: torch.Tensor, split: LongTailSplit, per_class: int, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A balanced validation set: ``per_class`` source training images per class, none of
    them in the long-tailed subset ``split`` (as ImageNet-LT's validation set is carved
    from ImageNet's training images). Returns source indices and rank labels.

    Classifier fixes select their hyperparameters (τ, ...) here, never on the test set.
    """
    labels_np = train_labels.cpu().numpy()
    used = np.zeros(len(labels_np), dtype=bool)
    used[split.train_indices.numpy()] = True
    indices, ranks = [], []
    for rank, original in enumerate(split.class_order):
        pool = np.flatnonzero((labels_np == original) & ~used)
        if per_class > len(pool):
            largest = split.class_counts[rank] + len(pool) - per_class
            raise ConfigError(
                f"val_per_class={per_class} needs {per_class} training images of class "
                f"{original} outside the long-tailed subset, but only {len(pool)} are left; "
                f"lower val_per_class or n_max (to at most {largest})"
            )
        rng = np.random.default_rng([seed, rank, 77])
        indices.append(np.sort(rng.choice(pool, size=per_class, replace=False)))
        ranks.append(np.full(per_class, rank, dtype=np.int64))
    return torch.from_numpy(np.concatenate(indices)), torch.from_numpy(np.concatenate(ranks))
