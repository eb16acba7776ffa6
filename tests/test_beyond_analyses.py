"""Chapter 6's analyses and backbone: the SCL geometry snapshot by hand, the test-agnostic
hook against the function it calls, and the small CNN without its last ReLU."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lt_lab.beyond.agnostic import SADE_TEST_PRIORS, resampled_metrics
from lt_lab.beyond.analyses import Agnostic, SCLGeometry, geometry_snapshot
from lt_lab.beyond.backbones import SmallCNNLinear
from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.hooks import build_analysis
from lt_lab.models import SmallCNN, build_model


def test_orthogonal_unit_means_are_an_orthogonal_frame_and_centred_a_simplex():
    # class 0: [3, 0] and [5, 0] normalise to [1, 0]; class 1: [0, 2] to [0, 1]. G = I:
    # OF distance 0; against I - 11^T/2 (norm 1): |I/sqrt2 - (I - J/2)|_F
    # = sqrt(2 (1/sqrt2 - 1/2)^2 + 2 (1/2)^2) = 0.76537; centred, the means are +-[1/2, -1/2]:
    # their Gram is I - J/2 itself, ETF distance 0.
    features = torch.tensor([[3.0, 0.0], [5.0, 0.0], [0.0, 2.0]])
    snapshot = geometry_snapshot(features, torch.tensor([0, 0, 1]), 2)
    assert snapshot["of_distance"] == pytest.approx(0.0, abs=1e-12)
    assert snapshot["etf_distance"] == pytest.approx(0.7653668647, abs=1e-9)
    assert snapshot["etf_distance_centred"] == pytest.approx(0.0, abs=1e-12)
    assert snapshot["mean_norms"] == [1.0, 1.0]


def test_the_means_are_of_the_normalised_features():
    # unnormalised, class 0's mean would be [4, 0] and the Gram diag(16, 1), far from I
    features = torch.tensor([[3.0, 0.0], [5.0, 0.0], [0.0, 1.0]])
    assert geometry_snapshot(features, torch.tensor([0, 0, 1]), 2)["of_distance"] == \
        pytest.approx(0.0, abs=1e-12)


def test_a_class_without_examples_is_named():
    with pytest.raises(ConfigError, match="missing"):
        geometry_snapshot(torch.ones(2, 3), torch.tensor([0, 0]), 2)


def _state(epoch, epochs=8):
    data = SimpleNamespace(train_images=torch.eye(3)[:, None, None, :].to(torch.uint8),
                           train_labels=torch.tensor([0, 1, 2]), num_classes=3,
                           prepare=lambda x: x.float().flatten(1))
    model = SimpleNamespace(features=nn.Identity(), training=False, eval=lambda: None,
                            train=lambda mode: None)
    return SimpleNamespace(config=SimpleNamespace(epochs=epochs), epoch=epoch, model=model,
                           data=data, extras={})


@pytest.mark.parametrize(("every", "epochs"), [(0, [8]), (4, [4, 8]), (3, [3, 6, 8])])
def test_geometry_snapshots_fall_every_k_epochs_and_at_the_last(every, epochs):
    analysis, state = SCLGeometry(every), _state(0)
    for epoch in range(8):
        state.epoch = epoch
        analysis.on_epoch_end(state)
    snapshots = state.extras["scl_geometry"]
    assert [s["epoch"] for s in snapshots] == epochs
    assert snapshots[-1]["of_distance"] == pytest.approx(0.0, abs=1e-12)  # one-hot features


@pytest.mark.parametrize("every", [-1, 1.5, True, "2"])
def test_a_bad_every_is_named(every):
    with pytest.raises(ConfigError, match="every"):
        build_analysis("scl_geometry", {"every": every})


class _Echo(nn.Module):
    """Logits one-hot at the class the image's single pixel names."""

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, x):
        return nn.functional.one_hot(x.flatten().long(), self.num_classes).float()


def test_the_agnostic_hook_scores_the_models_predictions_on_each_resampled_prior():
    # 10 classes, 60 test images each; the model predicts the right class for all but class 9
    labels = torch.arange(10).repeat_interleave(60)
    predicted = torch.where(labels == 9, torch.zeros_like(labels), labels)
    data = SimpleNamespace(test_images=predicted.to(torch.uint8)[:, None, None, None],
                           test_labels=labels, num_classes=10, prepare=lambda x: x)
    state = SimpleNamespace(config=make_config("smoke", precision="fp32"), model=_Echo(10),
                            data=data, extras={})
    Agnostic(seed=3).after_fit(state)
    assert state.extras["agnostic"] == resampled_metrics(predicted, labels, 10, seed=3)
    assert list(state.extras["agnostic"]) == list(SADE_TEST_PRIORS)
    # class 9 is the smallest under forward priors and the largest under backward ones
    assert state.extras["agnostic"]["forward50"]["acc"] > state.extras["agnostic"][
        "backward50"]["acc"]
    assert state.extras["agnostic"]["uniform"]["acc"] == pytest.approx(0.9)
    assert state.extras["agnostic"]["uniform"]["min_recall"] == 0.0


@pytest.mark.parametrize("priors", [[], "forward50", ["sideways3"], ["forward0.5"]])
def test_bad_priors_are_named(priors):
    with pytest.raises(ConfigError, match="prior"):
        build_analysis("agnostic", {"priors": priors})


def test_the_linear_backbone_is_the_small_cnn_without_its_last_relu():
    torch.manual_seed(0)
    relu, linear = SmallCNN(1), SmallCNNLinear(1)
    assert sum(isinstance(m, nn.ReLU) for m in relu.body) == 4
    assert sum(isinstance(m, nn.ReLU) for m in linear.body) == 3
    linear.load_state_dict(relu.state_dict())  # the same parameters
    x = torch.randn(4, 1, 28, 28)
    relu.eval(), linear.eval()
    assert (relu(x) >= 0).all() and (linear(x) < 0).any()


def test_a_config_names_the_registered_backbone():
    config = make_config("smoke", model="small_cnn_linear", loss="supcon")
    model = build_model(config.model, (1, 28, 28), 10)
    assert isinstance(model.features, SmallCNNLinear) and model.features.feature_dim == 128
    with pytest.raises(ConfigError, match="small_cnn_linear"):
        make_config("smoke", model="small_cnn_linaer")


def _sade_setup(seed=0):
    from lt_lab.beyond.sade import ExpertHeads
    from lt_lab.models import Classifier

    torch.manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(60)  # a balanced test set, 60 a class
    images = torch.randint(0, 256, (600, 1, 6, 6), dtype=torch.uint8)
    data = SimpleNamespace(test_images=images, test_labels=labels, num_classes=10,
                           prepare=lambda x: x.float().div(255).sub(0.5))
    model = Classifier(nn.Flatten(), ExpertHeads(36, 10, scale=None))
    config = make_config("smoke", head="experts", loss="sade", precision="fp32")
    return model, data, config


def test_sade_aggregation_scores_the_weighted_experts_on_each_resampled_prior():
    from lt_lab.beyond.agnostic import agnostic_metrics, resample_test_set
    from lt_lab.beyond.analyses import SADEAggregation, expert_logits
    from lt_lab.beyond.sade import aggregate

    model, data, config = _sade_setup()
    state = SimpleNamespace(config=config, model=model, data=data, extras={})
    SADEAggregation(priors=["forward10", "backward10"], seed=2).after_fit(state)
    found = state.extras["sade_aggregation"]
    assert list(found) == ["forward10", "backward10"]
    for prior, result in found.items():
        weights = torch.tensor(result["weights"])
        assert weights.min() > 0 and float(weights.sum()) == pytest.approx(1.0, abs=1e-5)
        keep = resample_test_set(data.test_labels, prior, 2)
        plain = expert_logits(model, data.test_images[keep], data)
        labels = data.test_labels[keep]
        assert result["mean"] == agnostic_metrics(aggregate(plain).argmax(1), labels, 10)
        assert result["aggregated"] == pytest.approx(agnostic_metrics(
            aggregate(plain, weights).argmax(1), labels, 10), abs=1e-9)
        assert [e["acc"] for e in result["experts"]] == [
            agnostic_metrics(plain[:, k].argmax(1), labels, 10)["acc"] for k in range(3)]


def test_sade_aggregation_is_the_same_twice_and_needs_the_experts_head():
    from lt_lab.beyond.analyses import SADEAggregation

    model, data, config = _sade_setup()
    runs = []
    for _ in range(2):
        state = SimpleNamespace(config=config, model=model, data=data, extras={})
        SADEAggregation(priors=["uniform"], seed=1).after_fit(state)
        runs.append(state.extras)
    assert runs[0] == runs[1]
    with pytest.raises(ConfigError, match="head='experts'"):
        make_config("smoke", analyses={"sade_aggregation": {}})
    with pytest.raises(ConfigError, match="prior"):
        build_analysis("sade_aggregation", {"priors": ["sideways"]})
