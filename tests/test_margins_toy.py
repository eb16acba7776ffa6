"""The 2-D toy of chapter 2: data, training, predictions and the decision-region plot."""

import math

import matplotlib
import pytest
import torch

from lt_lab.errors import ConfigError
from lt_lab.margins.toy import (
    CLASS_COUNTS,
    ToyModel,
    balanced_test_set,
    class_means,
    gaussian_classes,
    plot_decision_regions,
    predict,
    recall,
    score,
    train_toy,
)
from lt_lab.runtime import threads

matplotlib.use("Agg")

SEEDS = (0, 1)  # the gap is ~0.12 on each of seeds 0, 1, 2; two keep the test fast


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # The toy models are tiny; one thread is as fast and leaves the shared cores alone.
    with threads(1):
        yield


@pytest.fixture(scope="module")
def long_tailed():
    """Per seed: training set, balanced test set, and the CE and logit-adjusted models."""
    runs = []
    for seed in SEEDS:
        points, labels = gaussian_classes(CLASS_COUNTS, seed=seed)
        test = balanced_test_set(len(CLASS_COUNTS), seed=seed)
        ce = train_toy(points, labels, seed=seed)
        la = train_toy(points, labels, loss="logit_adjusted", loss_params={"tau": 1.0},
                       seed=seed)
        runs.append({"train": (points, labels), "test": test, "ce": ce, "la": la})
    return runs


# --- data -----------------------------------------------------------------------------------


def test_gaussian_classes_shapes_counts_and_means():
    counts, separation, std = [400, 100, 25], 2.0, 1.0
    points, labels = gaussian_classes(counts, separation=separation, std=std, seed=3)
    assert points.shape == (sum(counts), 2) and points.dtype == torch.float32
    assert labels.shape == (sum(counts),) and labels.dtype == torch.int64
    assert torch.bincount(labels).tolist() == counts
    for c, n in enumerate(counts):
        angle = 2 * math.pi * c / len(counts)
        centre = torch.tensor([separation * math.cos(angle), separation * math.sin(angle)])
        # 5 standard errors per coordinate: fails by chance with probability ~1e-6.
        assert torch.allclose(points[labels == c].mean(0), centre, atol=5 * std / math.sqrt(n))
        assert points[labels == c].std(0).sub(std).abs().max() < 0.35
    # C = 3: the means form an equilateral triangle of side separation · √3.
    means = class_means(3, separation)
    sides = torch.pdist(means)
    assert torch.allclose(sides, torch.full((3,), separation * math.sqrt(3)), atol=1e-5)


def test_gaussian_classes_std_scales_the_spread():
    narrow, labels = gaussian_classes([2000, 2000], std=0.25, seed=0)
    assert narrow[labels == 0].std(0).sub(0.25).abs().max() < 0.02


def test_gaussian_classes_is_seeded():
    a = gaussian_classes(CLASS_COUNTS, seed=7)
    b = gaussian_classes(CLASS_COUNTS, seed=7)
    c = gaussian_classes(CLASS_COUNTS, seed=8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_balanced_test_set_is_balanced_and_a_different_stream():
    points, labels = balanced_test_set(3, per_class=50, seed=0)
    assert points.shape == (150, 2) and torch.bincount(labels).tolist() == [50, 50, 50]
    train_points, _ = gaussian_classes([50, 50, 50], seed=0)
    assert not torch.equal(points, train_points)
    again, _ = balanced_test_set(3, per_class=50, seed=0)
    assert torch.equal(points, again)


@pytest.mark.parametrize("counts", [[5], [10, 0, 3], [10, -1]])
def test_gaussian_classes_rejects_bad_counts(counts):
    with pytest.raises(ConfigError):
        gaussian_classes(counts)


# --- models and training --------------------------------------------------------------------


def test_toy_model_exposes_features_and_classifier():
    model = ToyModel(3, head="cosine")
    features = model.features(torch.zeros(4, 2))
    assert features.shape == (4, 32)
    logits = model(torch.randn(4, 2))
    assert logits.shape == (4, 3) and logits.abs().max() <= 1 + 1e-6
    assert isinstance(ToyModel(3).classifier, torch.nn.Linear)
    with pytest.raises(ConfigError):
        ToyModel(3, head="etf")


def test_ce_on_balanced_classes_is_accurate():
    points, labels = gaussian_classes([200, 200, 200], separation=3.0, seed=0)
    test_points, test_labels = balanced_test_set(3, separation=3.0, seed=0)
    model = train_toy(points, labels, steps=200, seed=0)  # 0.99 at 200 steps as at 500
    assert score(model, test_points, test_labels) > 0.9


def test_training_is_deterministic_and_leaves_the_global_rng_alone():
    points, labels = gaussian_classes([60, 20, 5], seed=1)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    first = train_toy(points, labels, steps=30, seed=4)
    assert torch.equal(torch.rand(1), expected)
    second = train_toy(points, labels, steps=30, seed=4)
    other = train_toy(points, labels, steps=30, seed=5)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)
    assert first.train_losses == second.train_losses and len(first.train_losses) == 30


def test_logit_adjusted_loss_beats_ce_on_the_long_tail(long_tailed):
    ce = [score(r["ce"], *r["test"]) for r in long_tailed]
    la = [score(r["la"], *r["test"]) for r in long_tailed]
    # Observed: CE 0.79-0.81, logit-adjusted 0.91-0.92 on each of seeds 0, 1, 2.
    assert sum(la) / len(la) > sum(ce) / len(ce) + 0.05


def test_posthoc_adjustment_moves_predictions_to_the_rare_class(long_tailed):
    for run in long_tailed:
        test_points, test_labels = run["test"]
        plain = predict(run["ce"], test_points)
        adjusted = predict(run["ce"], test_points, class_counts=CLASS_COUNTS, posthoc_tau=1.0)
        assert (adjusted == 2).sum() > (plain == 2).sum()
        assert score(
            run["ce"], test_points, test_labels, class_counts=CLASS_COUNTS, posthoc_tau=1.0
        ) > score(run["ce"], test_points, test_labels)


def test_recall_is_each_classs_share_on_its_own_side_and_score_their_mean(long_tailed):
    run = long_tailed[0]
    per_class = recall(run["ce"], *run["test"])
    assert len(per_class) == len(CLASS_COUNTS)
    assert sum(per_class) / len(per_class) == pytest.approx(score(run["ce"], *run["test"]))
    # CE favours the head: the rare class has the lowest recall
    assert per_class[-1] == min(per_class)


def test_recall_counts_by_hand():
    class Fixed(torch.nn.Module):  # predicts class 0 left of x = 0, class 1 right of it
        num_classes = 2

        def forward(self, x):
            return torch.stack([-x[:, 0], x[:, 0]], dim=1)

    points = torch.tensor([[-1.0, 0], [1.0, 0], [1.0, 0], [-1.0, 0]])  # sides 0, 1, 1, 0
    # labels 0, 0, 1, 1: one point of each class on its own side -> recall 1/2 each
    assert recall(Fixed(), points, torch.tensor([0, 0, 1, 1])) == [0.5, 0.5]
    assert recall(Fixed(), points, torch.tensor([0, 1, 1, 0])) == [1.0, 1.0]


def test_ldam_with_a_cosine_head_trains():
    points, labels = gaussian_classes(CLASS_COUNTS, seed=0)
    model = train_toy(points, labels, loss="ldam", head="cosine", steps=100, seed=0)
    losses = torch.tensor(model.train_losses)
    assert len(losses) == 100 and torch.isfinite(losses).all()
    assert losses[-10:].mean() < losses[:10].mean()
    assert predict(model, points).shape == labels.shape


def test_ldam_drw_switches_its_weights_by_step():
    points, labels = gaussian_classes([60, 20, 5], seed=0)
    model = train_toy(points, labels, loss="ldam", loss_params={"drw_start": 0.5},
                      head="cosine", steps=10, seed=0)
    assert torch.isfinite(torch.tensor(model.train_losses)).all()


def test_posthoc_needs_class_counts_and_a_valid_tau():
    model = ToyModel(3)
    points = torch.randn(5, 2)
    with pytest.raises(ConfigError, match="class_counts"):
        predict(model, points, posthoc_tau=1.0)
    for tau in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError):
            predict(model, points, class_counts=CLASS_COUNTS, posthoc_tau=tau)
    # tau = 0 is the plain argmax, with or without counts.
    assert torch.equal(predict(model, points), predict(model, points, class_counts=[1, 1, 1]))


def test_train_toy_rejects_bad_input():
    points, labels = gaussian_classes([10, 10], seed=0)
    with pytest.raises(ConfigError):
        train_toy(points, labels, loss="no_such_loss")
    with pytest.raises(ConfigError):
        train_toy(points, labels, loss="ce", loss_params={"tau": 1.0})
    with pytest.raises(ConfigError):
        train_toy(points[:, :1], labels)
    with pytest.raises(ConfigError):
        train_toy(points, labels + 1)  # class 0 has no points


# --- plot -----------------------------------------------------------------------------------


def test_plot_decision_regions_returns_labelled_axes():
    import matplotlib.pyplot as plt

    points, labels = gaussian_classes([60, 20, 5], seed=0)
    model = train_toy(points, labels, steps=20, seed=0)
    ax = plot_decision_regions(model, points, labels, class_counts=[60, 20, 5],
                               posthoc_tau=1.0, title="CE + post-hoc", grid_size=40)
    try:
        assert isinstance(ax, matplotlib.axes.Axes)
        assert ax.get_xlabel() == "x₁" and ax.get_ylabel() == "x₂"
        assert ax.get_title() == "CE + post-hoc"
        assert len(ax.collections) >= 4  # the filled regions and one scatter per class
        low, high = points.min(0).values, points.max(0).values
        assert ax.get_xlim()[0] < low[0] and ax.get_xlim()[1] > high[0]
        assert ax.get_ylim()[0] < low[1] and ax.get_ylim()[1] > high[1]
        _, given = plt.subplots()
        assert plot_decision_regions(model, points, labels, ax=given, grid_size=20) is given
    finally:
        plt.close("all")
