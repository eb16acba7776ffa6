"""Neural-collapse metrics on constructed geometries, minority collapse, the UFM simulator."""

import math

import pytest
import torch
from torch import nn

from lt_lab.collapse import (
    CollapseTracker,
    class_statistics,
    classifier_weights,
    collapse_snapshot,
    cosine_matrix,
    equiangularity,
    equinorm,
    etf_classifier,
    make_ufm_config,
    mean_pairwise_cosine,
    minority_classes,
    minority_collapse,
    minority_to_majority_cosine,
    mse_bias_free_norms,
    nc_metrics,
    nearest_majority,
    run_ufm,
    self_duality,
    step_counts,
    train_ufm,
    within_class_variability,
)
from lt_lab.errors import ConfigError
from lt_lab.models import CosineClassifier, simplex_etf
from lt_lab.runtime import threads

C, D = 4, 6


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with threads(1):
        yield


def collapsed(counts=(3, 3, 3, 3), dim=D, scale=2.0):
    """Every feature sits exactly on its class's vertex of a simplex ETF; W is that ETF."""
    etf = simplex_etf(len(counts), dim, seed=1).double()
    labels = torch.arange(len(counts)).repeat_interleave(torch.tensor(counts))
    return scale * etf[labels], labels, etf


def test_exact_simplex_etf_is_full_collapse():
    features, labels, W = collapsed()
    metrics = nc_metrics(features, labels, W)
    for name in ("nc1", "equinorm_means", "equinorm_classifier", "equiangularity_means",
                 "equiangularity_means_std", "equiangularity_classifier",
                 "equiangularity_classifier_std", "nc3", "nc4"):
        assert metrics[name] == pytest.approx(0, abs=1e-6), name  # a float32 ETF
    assert metrics["accuracy"] == 1.0


def test_random_features_are_not_collapsed():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(200, D, generator=generator)
    labels = torch.arange(C).repeat(50)
    W = torch.randn(C, D, generator=generator)
    metrics = nc_metrics(features, labels, W)
    assert metrics["nc1"] > 1
    assert metrics["equiangularity_classifier"] > 0.05
    assert metrics["nc3"] > 0.1
    assert metrics["nc4"] > 0.1


def test_nc1_by_hand():
    # Two classes on a line: means -1 and +1, within-class offsets +-0.5.
    features = torch.tensor([[-1.5], [-0.5], [0.5], [1.5]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    stats = class_statistics(features, labels)
    assert stats["within"].item() == pytest.approx(0.25)
    assert stats["between"].item() == pytest.approx(1.0)
    # Tr(0.25 / 1) / C = 0.125
    assert nc_metrics(features, labels, torch.tensor([[-1.0], [1.0]]))["nc1"] == pytest.approx(
        0.125)


def test_sample_and_class_averaging_differ_under_imbalance():
    # Class 0: three points 0, 0, 2 (mean 2/3); class 1: one point at 4.
    features = torch.tensor([[0.0], [0.0], [2.0], [4.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1])
    by_class = class_statistics(features, labels, averaging="class")
    by_sample = class_statistics(features, labels, averaging="sample")
    assert by_class["global_mean"].item() == pytest.approx((2 / 3 + 4) / 2)
    assert by_sample["global_mean"].item() == pytest.approx(6 / 4)
    variance_0 = ((0 - 2 / 3) ** 2 * 2 + (2 - 2 / 3) ** 2) / 3
    assert by_class["within"].item() == pytest.approx(variance_0 / 2)  # class 1 adds 0
    assert by_sample["within"].item() == pytest.approx(variance_0 * 3 / 4)
    spread = 4 - 2 / 3
    assert by_class["between"].item() == pytest.approx(spread**2 / 4)
    assert by_sample["between"].item() == pytest.approx(3 / 4 * 1 / 4 * spread**2)


def test_nc1_is_never_negative_with_a_rank_deficient_between_matrix():
    # Many dimensions, few classes: Sigma_B has rank C-1 = 1 in R^50, float32 features.
    generator = torch.Generator().manual_seed(3)
    direction = torch.randn(50, generator=generator)
    labels = torch.arange(2).repeat(100)
    features = (labels[:, None] * 2 - 1) * direction + 1e-3 * torch.randn(200, 50,
                                                                       generator=generator)
    stats = class_statistics(features.float(), labels)
    nc1 = within_class_variability(stats["within"], stats["between"], 2)
    assert 0 <= nc1 < 1e-3
    # the within-class variance of the noise along the class direction, over Sigma_B
    assert math.isfinite(nc1)


def test_nc2_and_nc3_by_hand():
    vectors = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    assert equinorm(vectors) == pytest.approx(math.sqrt(2) / 2)  # std [3, 1] / mean = 1.414/2
    vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # cosines 0, -1, 0
    spread, error = equiangularity(vectors)
    assert spread == pytest.approx(torch.tensor([0.0, -1.0, 0.0]).std().item())
    assert error == pytest.approx((0.5 + 0.5 + 0.5) / 3)  # |cos + 1/2|
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert self_duality(W, W) == pytest.approx(0)
    assert self_duality(W, -W) == pytest.approx(4 * 1.0)  # ||2 W/||W|| ||^2 = 4


def test_nc4_counts_disagreement_with_the_nearest_mean():
    features = torch.tensor([[0.0], [1.0], [10.0], [11.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    # Linear rule: z = (0, h - 0.9): predicts class 1 for h > 0.9, so the image at 1.0
    # (nearest mean 0.5) disagrees: 1 of 4 images; per class 1/2 and 0.
    W, b = torch.tensor([[0.0], [1.0]]), torch.tensor([0.0, -0.9])
    sample = nc_metrics(features, labels, W, b, averaging="sample")
    by_class = nc_metrics(features, labels, W, b, averaging="class")
    assert sample["nc4"] == pytest.approx(0.25) and sample["accuracy"] == pytest.approx(0.75)
    assert by_class["nc4"] == pytest.approx(0.25)


def test_nc4_class_averaging_weighs_classes_equally():
    features = torch.tensor([[0.0], [0.0], [0.0], [1.0], [10.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 0, 1])
    W, b = torch.tensor([[0.0], [1.0]]), torch.tensor([0.0, -0.9])
    assert nc_metrics(features, labels, W, b, averaging="sample")["nc4"] == pytest.approx(1 / 5)
    assert nc_metrics(features, labels, W, b, averaging="class")["nc4"] == pytest.approx(1 / 8)


def test_bad_inputs_are_refused():
    features, labels, W = collapsed()
    with pytest.raises(ConfigError, match="averaging"):
        nc_metrics(features, labels, W, averaging="image")
    with pytest.raises(ConfigError, match="W must be"):
        nc_metrics(features, labels, W[:, :2])
    with pytest.raises(ConfigError, match="no features"):
        nc_metrics(features, labels, torch.randn(5, D), num_classes=5)
    with pytest.raises(ConfigError, match="at least two"):
        minority_collapse(W, [1])


def test_minority_collapse_by_hand():
    W = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    # pairs (1,2): 1, (1,3): 1/sqrt2, (2,3): 1/sqrt2
    assert minority_collapse(W, [1, 2, 3]) == pytest.approx((1 + 2 / math.sqrt(2)) / 3)
    etf = simplex_etf(10, 16)
    assert minority_collapse(etf, range(5, 10)) == pytest.approx(-1 / 9, abs=1e-6)
    assert mean_pairwise_cosine(cosine_matrix(W).tolist(), [2, 1]) == pytest.approx(1.0)
    assert minority_classes([5, 5, 2, 1]) == [2, 3]


def test_minority_to_majority_cosine_sees_what_the_minority_only_cosine_cannot():
    # Classes 0, 1 majority; 2, 3 minority. The minority means point away from each other
    # (cosine -1: no minority collapse), but class 2 lies along majority class 0.
    means = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])
    cosines = cosine_matrix(means)
    assert mean_pairwise_cosine(cosines, [2, 3]) == pytest.approx(-1.0)
    # class 2 vs (0, 1): cosines 1, 0 -> class 0 at 1; class 3: -1, 0 -> class 1 at 0
    assert nearest_majority(cosines, [2, 3]) == [(2, 0, pytest.approx(1.0)),
                                                 (3, 1, pytest.approx(0.0))]
    assert minority_to_majority_cosine(cosines, [2, 3]) == pytest.approx(0.5)
    assert minority_to_majority_cosine(cosines, [2, 3], majority=[0]) == pytest.approx(0.0)
    etf = simplex_etf(10, 16)
    assert minority_to_majority_cosine(cosine_matrix(etf), range(5, 10)) == \
        pytest.approx(-1 / 9, abs=1e-6)
    with pytest.raises(ConfigError, match="disjoint"):
        nearest_majority(cosines, [2, 3], majority=[0, 2])


def test_etf_classifier_is_a_fixed_head():
    head = etf_classifier(5, 8, seed=2)
    assert not list(head.parameters())
    cosines = cosine_matrix(head.weight)
    assert torch.allclose(cosines.diagonal(), torch.ones(5, dtype=torch.float64))
    off = cosines[~torch.eye(5, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -0.25), atol=1e-6)
    assert head(torch.zeros(3, 8)).shape == (3, 5)
    W, b = classifier_weights(head)
    assert b is None and W.shape == (5, 8)


def test_classifier_weights_of_linear_and_cosine_heads():
    linear = nn.Linear(3, 2)
    W, b = classifier_weights(linear)
    assert W is not None and torch.equal(b, linear.bias.detach())
    cosine = CosineClassifier(3, 2)
    W, b = classifier_weights(cosine)
    assert b is None and torch.allclose(W.norm(dim=1), torch.ones(2))


def test_collapse_snapshot_and_tracker_on_a_tiny_model():
    from lt_lab.config import make_config
    from lt_lab.models import build_model
    from lt_lab.train import TrainingData, TrainState

    generator = torch.Generator().manual_seed(0)
    data = TrainingData(
        train_images=torch.randint(0, 255, (12, 1, 4, 4), generator=generator,
                                   dtype=torch.uint8),
        train_labels=torch.arange(3).repeat(4), test_images=torch.zeros(3, 1, 4, 4),
        test_labels=torch.arange(3), class_counts=[4, 4, 4], class_names=["a", "b", "c"],
        mean=torch.zeros(1, 1, 1, 1), std=torch.ones(1, 1, 1, 1))
    model = build_model("mlp", (1, 4, 4), 3)
    config = make_config("smoke", model="mlp", epochs=2)
    snapshot = collapse_snapshot(model, data, config)
    assert len(snapshot["mean_cosines"]) == 3 and len(snapshot["classifier_norms"]) == 3
    assert all(isinstance(v, (float, list)) for v in snapshot.values())
    state = TrainState(config, 0, model, data)
    tracker = CollapseTracker(every=2)
    tracker.on_epoch_end(state)
    assert "collapse" not in state.extras  # epoch 1 of 2: not yet
    state.epoch = 1
    tracker.on_epoch_end(state)
    assert [s["epoch"] for s in state.extras["collapse"]] == [2]
    with pytest.raises(ConfigError, match="'collapse' analysis already records"):
        tracked = config.replace(analyses={"collapse": {"every": 1}})
        CollapseTracker(every=1).on_epoch_end(TrainState(tracked, 0, model, data))


def test_collapse_analysis_can_also_snapshot_the_first_epoch():
    from types import SimpleNamespace

    from lt_lab.collapse import CollapseSnapshots
    from lt_lab.collapse.snapshots import _due

    config = SimpleNamespace(epochs=25)
    due = [e + 1 for e in range(25) if _due(SimpleNamespace(epoch=e, config=config), 10)]
    assert due == [10, 20, 25]  # every 10 epochs and the last
    due = [e + 1 for e in range(25)
           if _due(SimpleNamespace(epoch=e, config=config), 10, first_epoch=True)]
    assert due == [1, 10, 20, 25]
    assert CollapseSnapshots(every=10, first_epoch=True).first_epoch
    with pytest.raises(ConfigError, match="first_epoch"):
        CollapseSnapshots(every=10, first_epoch="yes")


def test_the_simulator_runs_at_every_profile_of_the_networks():
    from lt_lab.config import PROFILES

    for profile in PROFILES:
        assert make_ufm_config(profile, class_counts=[1, 1, 1]).profile == profile


def test_step_counts():
    assert step_counts(4, 2, 10.0, n_max=100) == (100.0, 100.0, 10.0, 10.0)
    with pytest.raises(ConfigError, match="num_majority"):
        step_counts(4, 4, 10.0)


def test_ufm_config_key_names_the_kind_and_refuses_bad_fields():
    config = make_ufm_config("smoke")
    assert config.key() != make_ufm_config("quick").key()
    assert config.key() == make_ufm_config("smoke").key()
    with pytest.raises(ConfigError, match="loss"):
        make_ufm_config("smoke", loss="hinge")
    with pytest.raises(ConfigError, match="unknown ufm config field"):
        make_ufm_config("smoke", lr=0.1)
    with pytest.raises(ConfigError, match="minority"):
        make_ufm_config("smoke", minority=(12,))


def test_ufm_reaches_the_simplex_etf_for_balanced_counts():
    config = make_ufm_config("smoke", class_counts=(1,) * C, dim=D, features_per_class=2,
                             steps=100)
    solution = train_ufm(config)
    metrics = nc_metrics(solution["H"], solution["labels"], solution["W"], solution["b"])
    assert metrics["nc1"] < 1e-6
    assert metrics["equiangularity_classifier"] < 1e-4
    assert metrics["equinorm_classifier"] < 1e-4
    assert metrics["nc3"] < 1e-4
    assert metrics["nc4"] == 0


def test_ufm_bias_free_mse_matches_the_orthogonal_closed_form():
    counts = (1.0, 1.0, 2.0, 4.0)
    config = make_ufm_config("smoke", class_counts=counts, loss="mse", bias=False, dim=D,
                             features_per_class=1, weight_decay_classifier=0.05,
                             weight_decay_features=0.05, steps=300)
    solution = train_ufm(config)
    W = solution["W"]
    expected = mse_bias_free_norms(counts, 0.05, 0.05)
    assert W.norm(dim=1).pow(2).tolist() == pytest.approx(expected, rel=1e-3)
    cosines = cosine_matrix(W)
    assert (cosines - torch.eye(len(counts), dtype=torch.float64)).abs().max() < 1e-3


def test_mse_closed_form_by_hand():
    # pi = (1/2, 1/2), lambda = 0.1: p = 1 - sqrt(0.01 / 0.5), ||w||^2 = p sqrt(0.5)
    p = 1 - math.sqrt(0.01 / 0.5)
    assert mse_bias_free_norms([1, 1], 0.1, 0.1) == pytest.approx([p * math.sqrt(0.5)] * 2)
    # a class with pi <= lambda_W lambda_H collapses to zero
    assert mse_bias_free_norms([1, 1000], 0.1, 0.1)[0] == 0.0


def test_ufm_minority_collapse_grows_with_the_ratio():
    def cosine(ratio):
        config = make_ufm_config("smoke", class_counts=step_counts(4, 2, ratio), dim=D,
                                 features_per_class=1, minority=(2, 3), steps=200)
        return minority_collapse(train_ufm(config)["W"], [2, 3])

    assert cosine(1.0) == pytest.approx(-1 / 3, abs=1e-3)
    assert cosine(1e5) > 0.9


def test_run_ufm_stores_and_reads_its_record(store):
    config = make_ufm_config("smoke", class_counts=(1, 1, 1), dim=4, features_per_class=1,
                             steps=20, seed=1)
    record = run_ufm(config, store=store)
    assert record["kind"] == "ufm" and record["seed"] == 1
    assert record["config"]["profile"] == "smoke"
    assert store.path(config.key()).exists()
    again = run_ufm(config, store=store)
    assert again["created"] == record["created"] and again["metrics"] == record["metrics"]
    assert {"nc1", "nc3", "objective"} <= set(record["metrics"])


def test_adjusted_logits_by_hand():
    """Counts (4, 1), γ = 1/2: δ = (1, 0.5). CDT scales class columns, LDT a sample's whole
    row by its label's δ, LA adds τ log π with π = (0.8, 0.2)."""
    import math

    from lt_lab.collapse.ufm import adjusted_logits

    logits, labels = torch.tensor([[2.0, 1.0], [0.5, 3.0]]), torch.tensor([0, 1])
    config = make_ufm_config("quick", class_counts=[4.0, 1.0], loss="cdt", loss_gamma=0.5)
    assert adjusted_logits(config, logits, labels).tolist() == [[2.0, 0.5], [0.5, 1.5]]
    ldt = config.replace(loss="ldt")
    assert adjusted_logits(ldt, logits, labels).tolist() == [[2.0, 1.0], [0.25, 1.5]]
    la = config.replace(loss="la", loss_tau=1.0)
    expected = [[2 + math.log(0.8), 1 + math.log(0.2)], [0.5 + math.log(0.8), 3 + math.log(0.2)]]
    got = adjusted_logits(la, logits, labels).tolist()
    assert [v for row in got for v in row] == pytest.approx([v for row in expected for v in row])
    assert adjusted_logits(config.replace(loss="ce"), logits, labels) is logits


def test_ldt_loss_is_behnia_et_als_binary_term():
    """LDT's cross-entropy on two classes is log(1 + e^{−δ_y (w_y − w_c)ᵀh}): here δ_1 = 0.5,
    z = (0.5, 3.0), y = 1: log(1 + e^{−0.5·2.5}) = log(1 + e^{−1.25})."""
    import math

    from lt_lab.collapse.ufm import adjusted_logits

    config = make_ufm_config("quick", class_counts=[4.0, 1.0], loss="ldt", loss_gamma=0.5)
    z = adjusted_logits(config, torch.tensor([[0.5, 3.0]]), torch.tensor([1]))
    loss = torch.nn.functional.cross_entropy(z, torch.tensor([1]))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1.25)))


def test_the_adjusted_losses_keep_every_stored_simulator_key():
    """loss_gamma and loss_tau are at their defaults in every earlier config: keys unchanged."""
    assert make_ufm_config("quick").key() == make_ufm_config(
        "quick", loss_gamma=0.5, loss_tau=1.0).key()
    assert make_ufm_config("quick", loss="ldt").key() != make_ufm_config("quick").key()


def test_an_adjusted_loss_solves_at_smoke_size():
    record = run_ufm(make_ufm_config("smoke", class_counts=[4.0, 4.0, 1.0, 1.0], loss="ldt",
                                     bias=False, seed=0), save=False, cache=False)
    assert all(math.isfinite(v) for v in record["metrics"].values())
