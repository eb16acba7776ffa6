"""Classification metrics for long-tailed recognition, on torch tensors.

Every accuracy-like number here is a fraction in [0, 1] (not a percentage). Inputs may
live on the CPU or a CUDA device; scalars come back as Python floats and tensors come back
on the CPU, so results can be printed, logged or compared without a ``.cpu()``.

Conventions shared by the functions below:

* ``predictions`` and ``labels`` are 1-D integer tensors of class indices, shape ``(N,)``.
* ``logits`` and ``probabilities`` are 2-D floating tensors, shape ``(N, C)``.
* A class absent from ``labels`` has no recall: it shows as ``nan`` in per-class results
  and is left out of class averages (balanced accuracy, macro-F1, shot accuracies).
* Bad input (mismatched lengths, empty tensors, labels outside ``[0, C)``) raises
  :class:`lt_lab.errors.ConfigError` with a message that names the argument.

References:
    Liu, Z., Miao, Z., Zhan, X., Wang, J., Gong, B., Yu, S. X. (2019). Large-scale
    long-tailed recognition in an open world. CVPR.
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On calibration of modern
    neural networks. ICML.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import torch
from torch import Tensor

from lt_lab.errors import ConfigError, check_positive

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "macro_f1",
    "per_class_accuracy",
    "shot_accuracy",
    "shot_groups",
    "top_k_accuracy",
]

# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _as_tensor(name: str, value) -> Tensor:
    """Return ``value`` as a tensor (tensors pass through untouched, on their device)."""
    if isinstance(value, Tensor):
        return value
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ConfigError(f"{name} could not be read as a tensor: {err}") from err


def _positive_int(name: str, value) -> int:
    """Return ``value`` as an int, raising ConfigError unless it is an integer >= 1."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be an integer, not a bool")
    try:
        as_int = operator.index(value)
    except TypeError as err:
        raise ConfigError(f"{name}={value!r} must be an integer") from err
    check_positive(name, as_int)
    return as_int


def _class_indices(name: str, value) -> Tensor:
    """Check that ``value`` is a non-empty 1-D integer tensor and return it as int64."""
    indices = _as_tensor(name, value)
    if indices.numel() == 0:
        raise ConfigError(f"{name} is empty; a metric needs at least one sample")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        raise ConfigError(
            f"{name} must hold integer class indices, got dtype {indices.dtype} "
            "(for scores, pass logits.argmax(dim=1))"
        )
    if indices.dim() != 1:
        raise ConfigError(
            f"{name} must be 1-D with shape (N,), got shape {tuple(indices.shape)} "
            "(for scores, pass logits.argmax(dim=1))"
        )
    return indices.long()


def _scores(name: str, value) -> Tensor:
    """Check that ``value`` is a non-empty, finite, floating tensor of shape (N, C)."""
    scores = _as_tensor(name, value)
    if not scores.is_floating_point():
        raise ConfigError(f"{name} must be a floating tensor, got dtype {scores.dtype}")
    if scores.dim() != 2:
        raise ConfigError(f"{name} must have shape (N, C), got shape {tuple(scores.shape)}")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ConfigError(f"{name} is empty (shape {tuple(scores.shape)})")
    if not bool(torch.isfinite(scores).all()):
        raise ConfigError(f"{name} contains nan or inf")
    return scores


def _same_length(first_name: str, first: Tensor, second_name: str, second: Tensor) -> None:
    """Raise ConfigError unless the two tensors have the same number of samples."""
    if first.shape[0] != second.shape[0]:
        raise ConfigError(
            f"{first_name} has {first.shape[0]} samples but {second_name} has {second.shape[0]}"
        )


def _check_in_range(name: str, indices: Tensor, num_classes: int) -> None:
    """Raise ConfigError unless every class index lies in [0, num_classes)."""
    lowest, highest = (int(v) for v in torch.aminmax(indices))
    if lowest < 0 or highest >= num_classes:
        raise ConfigError(
            f"{name} must lie in [0, {num_classes}) for num_classes={num_classes}; "
            f"found values from {lowest} to {highest}"
        )


def _prediction_label_pair(predictions, labels) -> tuple[Tensor, Tensor]:
    """Validate predictions and labels as equal-length index vectors on one device."""
    labels = _class_indices("labels", labels)
    predictions = _class_indices("predictions", predictions)
    _same_length("predictions", predictions, "labels", labels)
    return predictions.to(labels.device), labels


def _score_label_pair(name: str, scores, labels) -> tuple[Tensor, Tensor]:
    """Validate an (N, C) score tensor and N labels in [0, C), on the scores' device."""
    scores = _scores(name, scores)
    labels = _class_indices("labels", labels)
    _same_length(name, scores, "labels", labels)
    _check_in_range("labels", labels, scores.shape[1])
    return scores, labels.to(scores.device)


def _class_counts(class_counts) -> list[int]:
    """Return training-set class counts as a list of non-negative ints."""
    counts = _as_tensor("class_counts", class_counts)
    if counts.dim() != 1 or counts.numel() == 0:
        raise ConfigError(
            f"class_counts must be a non-empty 1-D sequence, got shape {tuple(counts.shape)}"
        )
    if counts.is_floating_point() and not bool((counts == counts.round()).all()):
        raise ConfigError("class_counts must be whole numbers of training images")
    if bool((counts < 0).any()):
        raise ConfigError(f"class_counts must be >= 0, got {counts.tolist()}")
    return [int(n) for n in counts.tolist()]


def _check_thresholds(many_threshold, few_threshold) -> None:
    """Raise ConfigError unless 0 <= few_threshold <= many_threshold."""
    check_positive("few_threshold", few_threshold, inclusive=True)
    if few_threshold > many_threshold:
        raise ConfigError(
            f"few_threshold={few_threshold!r} must be <= many_threshold={many_threshold!r}"
        )


# ---------------------------------------------------------------------------------------------
# Metrics read off a confusion matrix
# ---------------------------------------------------------------------------------------------


def _recall_per_class(confusion: Tensor) -> Tensor:
    """Per-class recall (float64) from a confusion matrix; nan where a class has no samples."""
    confusion = confusion.double()
    support = confusion.sum(dim=1)
    correct = confusion.diagonal()
    nan = torch.full_like(support, math.nan)
    return torch.where(support > 0, correct / support.clamp(min=1), nan)


def _accuracy_from(confusion: Tensor) -> float:
    """Top-1 accuracy: the diagonal's share of all samples."""
    return float(confusion.diagonal().sum()) / float(confusion.sum())


def _macro_f1_from(confusion: Tensor) -> float:
    """Mean F1 over the classes present in the labels (the rows with samples)."""
    confusion = confusion.double()
    true_positive = confusion.diagonal()
    support = confusion.sum(dim=1)  # TP + FN
    predicted = confusion.sum(dim=0)  # TP + FP
    present = support > 0
    # F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN); it is 0 when TP = 0, which is also the
    # value the P + R = 0 convention gives. `support > 0` keeps the denominator positive.
    f1 = 2 * true_positive[present] / (support[present] + predicted[present])
    return float(f1.mean())


# ---------------------------------------------------------------------------------------------
# Public metrics
# ---------------------------------------------------------------------------------------------


def confusion_matrix(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Count how often each true class was predicted as each class.

    Returns an int64 CPU tensor of shape ``(C, C)`` whose entry ``[i, j]`` is the number of
    samples with true class ``i`` predicted as class ``j``: rows are true classes, columns
    are predicted classes. Computed as ``bincount(labels * C + predictions)``.
    """
    predictions, labels = _prediction_label_pair(predictions, labels)
    num_classes = _positive_int("num_classes", num_classes)
    _check_in_range("labels", labels, num_classes)
    _check_in_range("predictions", predictions, num_classes)
    flat_index = labels * num_classes + predictions
    counts = torch.bincount(flat_index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu()


def per_class_accuracy(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Accuracy within each true class (per-class recall), as fractions in [0, 1].

    Returns a float64 CPU tensor of shape ``(C,)``. A class with no samples in ``labels``
    has no recall and gives ``nan``.
    """
    return _recall_per_class(confusion_matrix(predictions, labels, num_classes))


def accuracy(predictions: Tensor, labels: Tensor) -> float:
    """Top-1 accuracy: the fraction of samples whose prediction equals the label, in [0, 1]."""
    predictions, labels = _prediction_label_pair(predictions, labels)
    return float((predictions == labels).double().mean())


def top_k_accuracy(logits: Tensor, labels: Tensor, k: int = 5) -> float:
    """Fraction of samples whose label is among the ``k`` highest-scoring classes, in [0, 1].

    ``logits`` has shape ``(N, C)`` (probabilities work too: only the ranking matters).
    ``k`` must lie in ``[1, C]``; ``k = 1`` is ordinary top-1 accuracy.
    """
    logits, labels = _score_label_pair("logits", logits, labels)
    k = _positive_int("k", k)
    num_classes = logits.shape[1]
    if k > num_classes:
        raise ConfigError(f"k={k} exceeds the number of classes, {num_classes}")
    top_classes = logits.topk(k, dim=1).indices
    hits = (top_classes == labels.unsqueeze(1)).any(dim=1)
    return float(hits.double().mean())


def balanced_accuracy(predictions: Tensor, labels: Tensor, num_classes: int) -> float:
    """Mean per-class recall over the classes present in ``labels``, in [0, 1].

    Every class weighs the same whatever its number of test samples, so on an imbalanced
    test set a model that ignores the rare classes scores lower here than on
    :func:`accuracy`. On a test set with equally many samples per class the two agree.
    """
    recall = per_class_accuracy(predictions, labels, num_classes)
    return float(recall.nanmean())


def macro_f1(predictions: Tensor, labels: Tensor, num_classes: int) -> float:
    """Macro-averaged F1 score, in [0, 1].

    For each class, F1 = 2 * precision * recall / (precision + recall), taken as 0 where
    precision + recall = 0 (and where a class is never predicted, since then TP = 0). The
    macro average is the plain mean over the classes present in ``labels``; a class that is
    only ever predicted, never true, counts through the precision of the others only.
    """
    return _macro_f1_from(confusion_matrix(predictions, labels, num_classes))


def shot_groups(
    class_counts: Sequence[int] | Tensor, many_threshold: int = 100, few_threshold: int = 20
) -> dict[str, list[int]]:
    """Split classes by their number of training images into many / medium / few shot.

    Follows the ImageNet-LT convention of Liu et al. (2019), "Large-scale long-tailed
    recognition in an open world": many-shot classes have more than 100 training images,
    medium-shot 20 to 100 (inclusive) and few-shot fewer than 20. In general:

    * ``many``: ``count > many_threshold``
    * ``medium``: ``few_threshold <= count <= many_threshold``
    * ``few``: ``count < few_threshold``

    ``class_counts`` (list, tuple or tensor) gives the training count of class ``i`` at
    index ``i``. Returns ``{"many": [...], "medium": [...], "few": [...]}`` with class
    indices in increasing order. Raises ConfigError for negative counts or
    ``few_threshold > many_threshold``.
    """
    _check_thresholds(many_threshold, few_threshold)
    groups: dict[str, list[int]] = {"many": [], "medium": [], "few": []}
    for class_index, count in enumerate(_class_counts(class_counts)):
        if count > many_threshold:
            groups["many"].append(class_index)
        elif count < few_threshold:
            groups["few"].append(class_index)
        else:
            groups["medium"].append(class_index)
    return groups


def _group_mean(values: Tensor, class_indices: list[int]) -> float:
    """Mean of ``values`` at ``class_indices`` ignoring nan; nan when nothing is left."""
    chosen = values[class_indices]
    chosen = chosen[~chosen.isnan()]
    return float(chosen.mean()) if chosen.numel() else math.nan


def shot_accuracy(
    per_class_acc: Sequence[float] | Tensor,
    class_counts: Sequence[int] | Tensor,
    many_threshold: int = 100,
    few_threshold: int = 20,
) -> dict[str, float]:
    """Mean per-class accuracy within the many-, medium- and few-shot groups, in [0, 1].

    Groups are formed by :func:`shot_groups` from the *training* ``class_counts`` (Liu et
    al. 2019 convention: many > 100, medium 20-100, few < 20 images). Classes whose
    accuracy is nan (absent from the test labels) are left out of their group's mean; a
    group with no classes left gives nan. Returns ``{"many_shot_acc", "medium_shot_acc",
    "few_shot_acc"}``.
    """
    counts = _class_counts(class_counts)
    accuracies = _as_tensor("per_class_acc", per_class_acc).detach().cpu().double()
    if accuracies.dim() != 1 or accuracies.shape[0] != len(counts):
        raise ConfigError(
            f"per_class_acc has shape {tuple(accuracies.shape)} but class_counts has "
            f"{len(counts)} classes; give one accuracy per class"
        )
    known = accuracies[~accuracies.isnan()]
    if bool(((known < 0) | (known > 1)).any()):
        raise ConfigError("per_class_acc must be fractions in [0, 1] (not percentages)")
    groups = shot_groups(counts, many_threshold, few_threshold)
    return {f"{name}_shot_acc": _group_mean(accuracies, groups[name]) for name in groups}


def expected_calibration_error(probabilities: Tensor, labels: Tensor, n_bins: int = 15) -> float:
    """Expected calibration error (ECE) of Guo et al. (2017), a fraction in [0, 1].

    Each sample's confidence is its largest probability and its prediction the argmax.
    Confidences fall into ``n_bins`` equal-width bins over (0, 1]; bin ``b`` is
    ``(b / n_bins, (b + 1) / n_bins]``, and the first bin also takes confidence 0. Then

        ECE = sum_b |B_b| / N * |acc(B_b) - conf(B_b)|,

    where acc is the fraction of correct predictions in the bin and conf the mean
    confidence. ``probabilities`` has shape ``(N, C)`` with entries in [0, 1], e.g. a
    softmax output. Bin edges are compared in the probabilities' own dtype.
    """
    probabilities, labels = _score_label_pair("probabilities", probabilities, labels)
    n_bins = _positive_int("n_bins", n_bins)
    tolerance = 1e-6  # rounding in a softmax may overshoot 1 by an ulp or two
    if bool(((probabilities < 0) | (probabilities > 1 + tolerance)).any()):
        raise ConfigError("probabilities must lie in [0, 1]; pass softmax(logits), not logits")
    confidence, predicted = probabilities.max(dim=1)
    correct = (predicted == labels).cpu().double()
    confidence = confidence.cpu()
    upper_edges = torch.linspace(0, 1, n_bins + 1, dtype=confidence.dtype)[1:]
    bin_index = torch.bucketize(confidence, upper_edges).clamp(max=n_bins - 1)
    # |B|/N * |acc(B) - conf(B)| = |sum_B correct - sum_B confidence| / N; summed on the CPU.
    correct_per_bin = torch.bincount(bin_index, weights=correct, minlength=n_bins)
    confidence_per_bin = torch.bincount(bin_index, weights=confidence.double(), minlength=n_bins)
    gap = (correct_per_bin - confidence_per_bin).abs().sum()
    return float(gap) / confidence.shape[0]


def classification_report(
    logits: Tensor,
    labels: Tensor,
    class_counts: Sequence[int] | Tensor,
    many_threshold: int = 100,
    few_threshold: int = 20,
) -> dict:
    """Every metric of this module for one evaluation pass, from logits.

    ``logits`` has shape ``(N, C)``; predictions are its argmax, and probabilities (for
    the ECE, 15 bins) its softmax computed in float32. ``class_counts`` are the training
    counts per class, used for the shot groups. Returns a dict with plain Python values::

        {"acc", "balanced_acc", "macro_f1", "ece",
         "many_shot_acc", "medium_shot_acc", "few_shot_acc",   # floats in [0, 1] or nan
         "per_class_acc": list[float],                         # nan for absent classes
         "confusion_matrix": list[list[int]]}                  # rows true, cols predicted
    """
    logits, labels = _score_label_pair("logits", logits, labels)
    num_classes = logits.shape[1]
    counts = _class_counts(class_counts)
    if len(counts) != num_classes:
        raise ConfigError(
            f"class_counts has {len(counts)} classes but logits have {num_classes} columns"
        )
    _check_thresholds(many_threshold, few_threshold)
    confusion = confusion_matrix(logits.argmax(dim=1), labels, num_classes)
    recall = _recall_per_class(confusion)
    probabilities = torch.softmax(logits.float(), dim=1)
    report = {
        "acc": _accuracy_from(confusion),
        "balanced_acc": float(recall.nanmean()),
        "macro_f1": _macro_f1_from(confusion),
        "ece": expected_calibration_error(probabilities, labels),
    }
    report.update(shot_accuracy(recall, counts, many_threshold, few_threshold))
    report["per_class_acc"] = recall.tolist()
    report["confusion_matrix"] = confusion.tolist()
    return report
