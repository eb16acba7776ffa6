"""Tests for lt_lab.metrics: every expected value is worked out by hand in the test."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lt_lab.errors import ConfigError
from lt_lab.metrics import (
    accuracy,
    balanced_accuracy,
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_class_accuracy,
    shot_accuracy,
    shot_groups,
    top_k_accuracy,
)

# Six samples over three classes, two per class:
#   true 0 -> predicted 0, 1   (1 of 2 right)
#   true 1 -> predicted 1, 1   (2 of 2 right)
#   true 2 -> predicted 0, 1   (0 of 2 right)
LABELS_6 = torch.tensor([0, 0, 1, 1, 2, 2])
PREDICTIONS_6 = torch.tensor([0, 1, 1, 1, 0, 1])

# Ten samples, imbalanced: eight of class 0, two of class 1; the model always says 0.
LABELS_10 = torch.tensor([0] * 8 + [1] * 2)
PREDICTIONS_10 = torch.zeros(10, dtype=torch.long)


def _tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# --- confusion matrix, per-class accuracy, accuracy -------------------------------------------


def test_confusion_matrix_rows_are_true_classes_columns_predicted():
    expected = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 1, 0]])
    result = confusion_matrix(PREDICTIONS_6, LABELS_6, num_classes=3)
    assert result.dtype == torch.int64
    assert result.device.type == "cpu"
    assert torch.equal(result, expected)


def test_confusion_matrix_is_not_symmetric_in_its_arguments():
    # One sample, true class 2 predicted as 0: the count sits in row 2, column 0.
    result = confusion_matrix(torch.tensor([0]), torch.tensor([2]), num_classes=3)
    assert result.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_per_class_accuracy_is_recall_per_true_class():
    result = per_class_accuracy(PREDICTIONS_6, LABELS_6, num_classes=3)
    assert result.dtype == torch.float64
    assert result.tolist() == pytest.approx([1 / 2, 1.0, 0.0])


def test_per_class_accuracy_is_nan_for_a_class_absent_from_labels():
    # true 0 -> 0, 2 ; true 1 -> 1 ; class 2 never true.
    result = per_class_accuracy(torch.tensor([0, 2, 1]), torch.tensor([0, 0, 1]), 3)
    assert result[:2].tolist() == pytest.approx([1 / 2, 1.0])
    assert math.isnan(result[2])


def test_accuracy_counts_matching_positions():
    assert accuracy(PREDICTIONS_6, LABELS_6) == pytest.approx(3 / 6)
    assert accuracy(PREDICTIONS_10, LABELS_10) == pytest.approx(8 / 10)
    assert isinstance(accuracy(PREDICTIONS_6, LABELS_6), float)


# --- balanced accuracy and macro-F1 -------------------------------------------------------------


def test_balanced_accuracy_differs_from_accuracy_when_imbalanced():
    # recall: class 0 = 8/8 = 1, class 1 = 0/2 = 0 -> mean 1/2, while accuracy is 8/10.
    assert balanced_accuracy(PREDICTIONS_10, LABELS_10, num_classes=2) == pytest.approx(0.5)
    assert accuracy(PREDICTIONS_10, LABELS_10) == pytest.approx(0.8)


def test_balanced_accuracy_averages_only_classes_present():
    # recall: class 0 = 1/2, class 1 = 1/1, class 2 absent -> (1/2 + 1) / 2 = 3/4.
    result = balanced_accuracy(torch.tensor([0, 2, 1]), torch.tensor([0, 0, 1]), num_classes=3)
    assert result == pytest.approx(3 / 4)


def test_macro_f1_on_three_classes():
    # From the confusion matrix [[1,1,0],[0,2,0],[1,1,0]]:
    #   class 0: TP=1, predicted 2, true 2 -> P=1/2, R=1/2, F1=1/2
    #   class 1: TP=2, predicted 4, true 2 -> P=1/2, R=1,   F1=2*(1/2)/(3/2)=2/3
    #   class 2: TP=0, never predicted    -> F1=0
    # macro-F1 = (1/2 + 2/3 + 0) / 3 = 7/18
    assert macro_f1(PREDICTIONS_6, LABELS_6, num_classes=3) == pytest.approx(7 / 18)


def test_macro_f1_on_imbalanced_example():
    # class 0: TP=8, predicted 10, true 8 -> P=4/5, R=1, F1=2*(4/5)/(9/5)=8/9; class 1: F1=0
    assert macro_f1(PREDICTIONS_10, LABELS_10, num_classes=2) == pytest.approx(4 / 9)


def test_macro_f1_skips_a_class_absent_from_labels():
    # true 0 -> 0, 2 ; true 1 -> 1. class 0: P=1, R=1/2, F1=2/3; class 1: F1=1;
    # class 2 (predicted once, never true) is not averaged: (2/3 + 1) / 2 = 5/6.
    result = macro_f1(torch.tensor([0, 2, 1]), torch.tensor([0, 0, 1]), num_classes=3)
    assert result == pytest.approx(5 / 6)


def test_perfect_predictions_score_one_everywhere():
    labels = torch.tensor([0, 1, 1, 2])
    assert accuracy(labels, labels) == 1.0
    assert balanced_accuracy(labels, labels, 3) == 1.0
    assert macro_f1(labels, labels, 3) == 1.0


# --- top-k --------------------------------------------------------------------------------------

# Ranks of the true class: sample 0 -> 2nd, sample 1 -> 1st, sample 2 -> 4th (last).
TOPK_LOGITS = torch.tensor(
    [
        [0.1, 0.5, 0.3, 0.2],  # label 2: order 1, 2, 3, 0 -> rank 2
        [2.0, 1.0, 0.0, -1.0],  # label 0: rank 1
        [0.0, 0.1, 0.2, 0.3],  # label 0: order 3, 2, 1, 0 -> rank 4
    ]
)
TOPK_LABELS = torch.tensor([2, 0, 0])


@pytest.mark.parametrize(("k", "expected"), [(1, 1 / 3), (2, 2 / 3), (3, 2 / 3), (4, 1.0)])
def test_top_k_accuracy(k, expected):
    assert top_k_accuracy(TOPK_LOGITS, TOPK_LABELS, k=k) == pytest.approx(expected)


def test_top_k_rejects_k_larger_than_number_of_classes():
    with pytest.raises(ConfigError, match="exceeds the number of classes"):
        top_k_accuracy(TOPK_LOGITS, TOPK_LABELS)  # default k=5 > 4 classes


# --- shot groups --------------------------------------------------------------------------------


def test_shot_groups_boundaries():
    # 101 > 100 -> many; 100 and 20 -> medium (inclusive); 19 < 20 -> few; 0 -> few.
    counts = [101, 100, 20, 19, 500, 0]
    assert shot_groups(counts) == {"many": [0, 4], "medium": [1, 2], "few": [3, 5]}


@pytest.mark.parametrize(
    "counts",
    [(101, 100, 20, 19), torch.tensor([101, 100, 20, 19]), torch.tensor([101.0, 100, 20, 19])],
)
def test_shot_groups_accepts_tuple_and_tensor(counts):
    assert shot_groups(counts) == {"many": [0], "medium": [1, 2], "few": [3]}


def test_shot_groups_custom_thresholds_may_be_equal():
    assert shot_groups([51, 50, 49], many_threshold=50, few_threshold=50) == {
        "many": [0],
        "medium": [1],
        "few": [2],
    }


def test_shot_groups_rejects_few_threshold_above_many_threshold():
    with pytest.raises(ConfigError, match="few_threshold"):
        shot_groups([10, 200], many_threshold=20, few_threshold=100)


def test_shot_groups_rejects_negative_counts():
    with pytest.raises(ConfigError, match=">= 0"):
        shot_groups([10, -1, 200])


def test_shot_accuracy_means_per_group():
    counts = [101, 100, 20, 19, 500, 0]
    per_class = [0.9, 0.5, 0.3, 0.1, 0.7, 0.0]
    # many = classes 0, 4: (0.9 + 0.7) / 2 = 0.8; medium = 1, 2: (0.5 + 0.3) / 2 = 0.4;
    # few = 3, 5: (0.1 + 0.0) / 2 = 0.05
    result = shot_accuracy(per_class, counts)
    assert result == pytest.approx(
        {"many_shot_acc": 0.8, "medium_shot_acc": 0.4, "few_shot_acc": 0.05}
    )


def test_shot_accuracy_empty_group_is_nan():
    result = shot_accuracy(_tensor([0.6, 0.2]), [200, 150])  # both many: (0.6 + 0.2) / 2
    assert result["many_shot_acc"] == pytest.approx(0.4)
    assert math.isnan(result["medium_shot_acc"])
    assert math.isnan(result["few_shot_acc"])


def test_shot_accuracy_skips_classes_missing_from_test_labels():
    # few = classes 1, 2 but class 2's accuracy is nan: few mean is class 1's 0.25 alone.
    result = shot_accuracy(_tensor([0.5, 0.25, math.nan]), [300, 5, 3])
    assert result["few_shot_acc"] == pytest.approx(0.25)


def test_shot_accuracy_rejects_mismatched_lengths_and_percentages():
    with pytest.raises(ConfigError, match="one accuracy per class"):
        shot_accuracy([0.5, 0.5], [200, 10, 5])
    with pytest.raises(ConfigError, match="not percentages"):
        shot_accuracy([85.0, 40.0], [200, 10])


# --- expected calibration error -----------------------------------------------------------------


def test_ece_four_samples_by_hand():
    # n_bins=5, bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]. All labels are 0.
    #   sample  probs        conf  pred  correct  bin
    #   0       [.90, .10]   .90   0     yes      (.8, 1]
    #   1       [.30, .70]   .70   1     no       (.6, .8]
    #   2       [.65, .35]   .65   0     yes      (.6, .8]
    #   3       [.05, .95]   .95   1     no       (.8, 1]
    # bin (.6, .8]: 2 samples, acc 1/2, conf (.70 + .65)/2 = .675, gap .175, weight 2/4
    # bin (.8, 1]:  2 samples, acc 1/2, conf (.90 + .95)/2 = .925, gap .425, weight 2/4
    # ECE = .5 * .175 + .5 * .425 = .0875 + .2125 = .3
    probabilities = _tensor([[0.90, 0.10], [0.30, 0.70], [0.65, 0.35], [0.05, 0.95]])
    labels = torch.tensor([0, 0, 0, 0])
    assert expected_calibration_error(probabilities, labels, n_bins=5) == pytest.approx(0.3)


def test_ece_bins_include_their_upper_edge():
    # n_bins=2: bins (0, .5] and (.5, 1].
    #   sample 0: conf .5, pred 0, label 0 -> correct, bin (0, .5]: gap |1 - .5| = .5
    #   sample 1: conf 1., pred 0, label 1 -> wrong,   bin (.5, 1]: gap |0 - 1| = 1
    # ECE = 1/2 * .5 + 1/2 * 1 = .75. (Bins [lower, upper) would pool both: .25.)
    probabilities = _tensor([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1])
    assert expected_calibration_error(probabilities, labels, n_bins=2) == pytest.approx(0.75)


def test_ece_is_zero_when_confidence_matches_accuracy():
    # Both samples: conf .5, pred 0; one right, one wrong -> acc .5 = conf .5 -> ECE 0.
    probabilities = _tensor([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    assert expected_calibration_error(probabilities, torch.tensor([0, 1])) == pytest.approx(0.0)


def test_ece_rejects_logits_passed_as_probabilities():
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        expected_calibration_error(_tensor([[2.0, -1.0]]), torch.tensor([0]))


# --- classification report ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_classification_report_by_hand(dtype):
    # Logits = log(probabilities), so softmax(logits) gives the probabilities back.
    #   sample  probs        label  pred  correct  conf  bin of 15 (edges k/15)
    #   0       [.90, .10]   0      0     yes      .90   (13/15, 14/15]
    #   1       [.30, .70]   0      1     no       .70   (10/15, 11/15]
    #   2       [.65, .35]   0      0     yes      .65   ( 9/15, 10/15]
    #   3       [.05, .95]   1      1     yes      .95   (14/15, 1]
    # confusion [[2, 1], [0, 1]]; acc 3/4; recall [2/3, 1]; balanced (2/3 + 1)/2 = 5/6
    # F1: class 0 P=2/2, R=2/3 -> 4/5; class 1 P=1/2, R=1 -> 2/3; macro (4/5 + 2/3)/2 = 11/15
    # ECE, one sample per bin: (|1-.9| + |0-.7| + |1-.65| + |1-.95|) / 4 = 1.2 / 4 = .3
    # class_counts [150, 10]: class 0 many (2/3), class 1 few (1), medium empty (nan)
    probabilities = torch.tensor([[0.90, 0.10], [0.30, 0.70], [0.65, 0.35], [0.05, 0.95]])
    logits = probabilities.log().to(dtype)
    report = classification_report(logits, torch.tensor([0, 0, 0, 1]), class_counts=[150, 10])
    assert report["confusion_matrix"] == [[2, 1], [0, 1]]
    assert report["per_class_acc"] == pytest.approx([2 / 3, 1.0])
    assert report["acc"] == pytest.approx(3 / 4)
    assert report["balanced_acc"] == pytest.approx(5 / 6)
    assert report["macro_f1"] == pytest.approx(11 / 15)
    assert report["ece"] == pytest.approx(0.3, abs=1e-6)
    assert report["many_shot_acc"] == pytest.approx(2 / 3)
    assert math.isnan(report["medium_shot_acc"])
    assert report["few_shot_acc"] == pytest.approx(1.0)
    assert all(isinstance(report[key], float) for key in ("acc", "ece", "macro_f1"))


def test_classification_report_rejects_wrong_number_of_class_counts():
    with pytest.raises(ConfigError, match="class_counts has 3 classes"):
        classification_report(torch.zeros(2, 2), torch.tensor([0, 1]), [5, 5, 5])


# --- bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1])), "2 samples"),
        (lambda: accuracy(torch.tensor([], dtype=torch.long), torch.tensor([])), "empty"),
        (lambda: confusion_matrix(torch.tensor([0]), torch.tensor([3]), 3), r"\[0, 3\)"),
        (lambda: confusion_matrix(torch.tensor([0]), torch.tensor([-1]), 3), r"\[0, 3\)"),
        (lambda: confusion_matrix(torch.tensor([5]), torch.tensor([0]), 3), "predictions"),
        (lambda: confusion_matrix(torch.tensor([0]), torch.tensor([0]), 0), "num_classes"),
        (lambda: accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1])), "integer"),
        (lambda: accuracy(torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1])), "1-D"),
        (lambda: balanced_accuracy(torch.tensor([0]), torch.tensor([2]), 2), "labels"),
        (lambda: macro_f1(torch.tensor([0, 1]), torch.tensor([1]), 2), "samples"),
        (lambda: top_k_accuracy(torch.zeros(2, 3), torch.tensor([0, 3]), k=1), "labels"),
        (lambda: top_k_accuracy(torch.zeros(2, 3), torch.tensor([0, 1]), k=0), "k=0"),
        (lambda: top_k_accuracy(torch.zeros(3), torch.tensor([0, 1, 2]), k=1), r"\(N, C\)"),
        (lambda: expected_calibration_error(torch.zeros(0, 3), torch.tensor([])), "empty"),
        (lambda: expected_calibration_error(torch.ones(1, 2), torch.tensor([0]), 0), "n_bins"),
        (lambda: shot_groups([]), "non-empty"),
    ],
)
def test_bad_inputs_raise_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        accuracy(torch.tensor([0]), torch.tensor([0, 1]))


# --- devices ------------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_inputs_give_cpu_results():
    device = torch.device("cuda")
    matrix = confusion_matrix(PREDICTIONS_6.to(device), LABELS_6.to(device), 3)
    assert matrix.device.type == "cpu"
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 1, 0]]
    assert per_class_accuracy(PREDICTIONS_6.cuda(), LABELS_6.cuda(), 3).device.type == "cpu"
    assert top_k_accuracy(TOPK_LOGITS.cuda(), TOPK_LABELS.cuda(), k=2) == pytest.approx(2 / 3)
    probabilities = torch.tensor([[0.90, 0.10], [0.30, 0.70], [0.65, 0.35], [0.05, 0.95]])
    report = classification_report(
        probabilities.log().to(device), torch.tensor([0, 0, 0, 1], device=device), [150, 10]
    )
    assert report["acc"] == pytest.approx(3 / 4)
    assert report["ece"] == pytest.approx(0.3, abs=1e-6)


# --- properties ---------------------------------------------------------------------------------


@st.composite
def class_balanced_samples(draw):
    """Labels with the same number of samples per class, and arbitrary predictions."""
    num_classes = draw(st.integers(min_value=1, max_value=6))
    per_class = draw(st.integers(min_value=1, max_value=5))
    labels = [c for c in range(num_classes) for _ in range(per_class)]
    predictions = draw(
        st.lists(
            st.integers(min_value=0, max_value=num_classes - 1),
            min_size=len(labels),
            max_size=len(labels),
        )
    )
    return torch.tensor(predictions), torch.tensor(labels), num_classes


@settings(max_examples=60, deadline=None)
@given(class_balanced_samples())
def test_balanced_accuracy_equals_accuracy_on_a_class_balanced_set(sample):
    predictions, labels, num_classes = sample
    top1 = accuracy(predictions, labels)
    assert 0.0 <= top1 <= 1.0
    assert balanced_accuracy(predictions, labels, num_classes) == pytest.approx(top1)
    assert 0.0 <= macro_f1(predictions, labels, num_classes) <= 1.0
