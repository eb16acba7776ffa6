"""Yang et al.'s dot-regression loss (lt_lab.collapse.dot_regression) against its formula,
worked by hand: L = 1/2 (w_y.h - ||w_y|| ||h||)^2 / ||h||, lengths constant in the gradient."""

import pytest
import torch

from lt_lab.collapse import DotRegression, dot_regression
from lt_lab.errors import ConfigError
from lt_lab.models import ETFClassifier, build_model

W = torch.tensor([[1.0, 0.0], [0.0, 2.0]])


def test_the_loss_by_hand():
    # h = (3, 4), label 0: w.h = 3, ||w|| ||h|| = 5, so 1/2 (3 - 5)^2 / 5 = 0.4;
    # h = (0, 1), label 1: w.h = 2 = ||w|| ||h||, so 0. The batch mean is 0.2.
    features = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert float(dot_regression(features, torch.tensor([0, 1]), W)) == pytest.approx(0.2)


def test_the_gradient_treats_the_lengths_as_constants():
    # d/dh of 1/2 (w.h - ||w|| c)^2 / c with c = ||h|| = 5 held fixed: (3 - 5) / 5 * w
    h = torch.tensor([[3.0, 4.0]], requires_grad=True)
    dot_regression(h, torch.tensor([0]), W).backward()
    assert h.grad[0].tolist() == pytest.approx([-0.4, 0.0])


def test_a_feature_along_its_row_costs_nothing_whatever_its_length():
    for length in (0.1, 1.0, 30.0):
        h = torch.tensor([[0.0, length]])
        assert float(dot_regression(h, torch.tensor([1]), W)) == pytest.approx(0.0, abs=1e-7)


def test_reg_lam_adds_the_mean_feature_length():
    features = torch.tensor([[3.0, 4.0], [0.0, 1.0]])  # lengths 5 and 1: mean 3
    loss = dot_regression(features, torch.tensor([0, 1]), W, reg_lam=0.1)
    assert float(loss) == pytest.approx(0.2 + 0.1 * 3)
    with pytest.raises(ConfigError, match="reg_lam"):
        dot_regression(features, torch.tensor([0, 1]), W, reg_lam=-1.0)


def test_the_module_binds_to_the_fixed_etf_head_and_refuses_a_learnable_one():
    model = build_model("mlp", (1, 8, 8), 4, head="etf")
    loss = DotRegression().bind_head(model.classifier)
    assert isinstance(model.classifier, ETFClassifier) and DotRegression.takes_features
    with torch.no_grad():
        features = model.features(torch.randn(5, 1, 8, 8))
    targets = torch.tensor([0, 1, 2, 3, 0])
    assert float(loss(features, targets)) == pytest.approx(
        float(dot_regression(features, targets, model.classifier.weight)))
    with pytest.raises(ConfigError, match="head='etf'"):
        DotRegression().bind_head(build_model("mlp", (1, 8, 8), 4).classifier)
    with pytest.raises(ConfigError, match="bind_head"):
        DotRegression()(features, targets)


def test_features_and_weight_must_share_their_dimension():
    with pytest.raises(ConfigError, match="share d"):
        dot_regression(torch.ones(2, 3), torch.tensor([0, 1]), W)


@pytest.mark.slow  # trains end to end (about 3 s)
def test_the_trainer_feeds_dot_regression_the_features_of_a_fixed_etf_head():
    from lt_lab.config import make_config
    from lt_lab.train import fit

    config = make_config("smoke", loss="dot_regression", head="etf", epochs=2,
                         imbalance_ratio=10, test_per_class=5)
    record = fit(config, cache=False, save=False).record
    losses = record["curves"]["train_loss"]
    assert all(loss == loss and loss >= 0 for loss in losses)  # finite, a squared distance
    assert losses[-1] < losses[0]


def test_dot_regression_refuses_a_learnable_head_and_a_pack():
    from lt_lab.config import make_config
    from lt_lab.pack import unpackable_reason
    from lt_lab.train import fit

    with pytest.raises(ConfigError, match="head='etf'"):
        fit(make_config("smoke", loss="dot_regression", imbalance_ratio=10, test_per_class=5),
            cache=False, save=False)
    assert "reads the features" in unpackable_reason(
        make_config("smoke", loss="dot_regression", head="etf"))


def test_l2_normalize_regresses_the_unit_feature_as_the_authors_do():
    # h = (3, 4) becomes (0.6, 0.8); label 0, w = (1, 0): 1/2 (0.6 - 1)^2 = 0.08.
    # h = (0, -2) becomes (0, -1); label 1, w = (0, 2): 1/2 (-2 - 2)^2 = 8. The mean is 4.04.
    features = torch.tensor([[3.0, 4.0], [0.0, -2.0]])
    loss = dot_regression(features, torch.tensor([0, 1]), W, l2_normalize=True)
    assert float(loss) == pytest.approx(4.04)
    # the same loss whatever the features' lengths
    assert float(dot_regression(10 * features, torch.tensor([0, 1]), W, l2_normalize=True)) \
        == pytest.approx(4.04)


def test_l2_normalize_turns_the_feature_towards_its_row():
    # d/dh of 1/2 (h1/|h| - 1)^2 at h = (3, 4): (0.6 - 1) * (1/|h| - h1^2/|h|^3, -h1 h2/|h|^3)
    # = -0.4 * (0.128, -0.096) = (-0.0512, 0.0384): orthogonal to h, so it rotates h towards
    # w = (1, 0) (the unnormalised gradient, (-0.4, 0), is along w alone)
    h = torch.tensor([[3.0, 4.0]], requires_grad=True)
    dot_regression(h, torch.tensor([0]), W, l2_normalize=True).backward()
    assert h.grad[0].tolist() == pytest.approx([-0.0512, 0.0384])
    assert float(h.grad[0] @ h[0].detach()) == pytest.approx(0.0, abs=1e-7)


def test_the_module_passes_l2_normalize_and_refuses_a_non_flag():
    model = build_model("mlp", (1, 8, 8), 4, head="etf")
    loss = DotRegression(l2_normalize=True).bind_head(model.classifier)
    features = torch.randn(5, model.classifier.weight.shape[1])
    targets = torch.tensor([0, 1, 2, 3, 0])
    assert float(loss(features, targets)) == pytest.approx(float(dot_regression(
        features, targets, model.classifier.weight, l2_normalize=True)))
    with pytest.raises(ConfigError, match="l2_normalize"):
        DotRegression(l2_normalize="yes")
