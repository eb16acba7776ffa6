"""Tests for lt_lab.beyond.sade: SADE's three expert losses, its inverse prior, and the
test-time aggregation weights learned by prediction stability. Values worked out by hand in
the comments."""

from __future__ import annotations

import math

import pytest
import torch

import lt_lab.beyond  # noqa: F401  (registers "sade")
from lt_lab.beyond.sade import (
    ExpertHeads,
    SADELoss,
    aggregate,
    expert_offsets,
    inverse_prior,
    learn_aggregation_weights,
    prediction_stability,
    sade_loss,
)
from lt_lab.errors import ConfigError
from lt_lab.losses import build, loss_parameters


def _tensor(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_inverse_prior_mirrors_the_ranks():
    # sorted head first: the prior reversed
    assert inverse_prior(_tensor([0.6, 0.3, 0.1])).tolist() == pytest.approx([0.1, 0.3, 0.6])
    # unsorted [0.2, 0.5, 0.3]: ranks (smallest first) 0, 2, 1 → values of ranks 2, 0, 1
    #   of the sorted [0.2, 0.3, 0.5]: [0.5, 0.2, 0.3]
    assert inverse_prior(_tensor([0.2, 0.5, 0.3])).tolist() == pytest.approx([0.5, 0.2, 0.3])


def test_expert_offsets_by_hand():
    # counts [3, 1]: π = [3/4, 1/4], π̄ = [1/4, 3/4], λ = 2
    #   forward 0; uniform log π = [ln .75, ln .25];
    #   backward log π − 2 log π̄ = [ln(.75/.0625), ln(.25/.5625)] = [ln 12, ln(4/9)]
    offsets = expert_offsets([3, 1], lambda_=2.0)
    assert offsets[0].tolist() == [0.0, 0.0]
    assert offsets[1].tolist() == pytest.approx([math.log(0.75), math.log(0.25)])
    assert offsets[2].tolist() == pytest.approx([math.log(12), math.log(4 / 9)])


def test_sade_loss_by_hand():
    # every expert's logits [0, 0], target 1, counts [3, 1], λ = 2:
    #   forward CE([0, 0]) = ln 2; uniform CE([ln .75, ln .25]) = -ln(1/4) = ln 4;
    #   backward CE([ln 12, ln 4/9]): softmax_1 = (4/9) / (12 + 4/9) = 1/28, CE = ln 28
    #   sum ln 2 + ln 4 + ln 28 = ln 224 = 5.4116460518550396
    logits = torch.zeros(1, 3, 2, dtype=torch.float64)
    assert sade_loss(logits, torch.tensor([1]), [3, 1]).item() == pytest.approx(
        math.log(224), abs=1e-12)
    # λ = 0: the backward expert is a second balanced softmax: ln 2 + ln 4 + ln 4 = ln 32
    assert sade_loss(logits, torch.tensor([1]), [3, 1], lambda_=0.0).item() == pytest.approx(
        math.log(32), abs=1e-12)


def test_registered_loss_matches_the_function():
    loss = build("sade", class_counts=[50, 20, 5], lambda_=2.0)
    assert isinstance(loss, SADELoss) and loss.takes_experts
    assert loss_parameters("sade") == ["lambda_"]
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, 3, generator=generator)
    targets = torch.randint(3, (8,), generator=generator)
    assert loss(logits, targets).item() == pytest.approx(
        sade_loss(logits.double(), targets, [50, 20, 5]).item(), rel=1e-5)


def test_aggregate_by_hand():
    # experts' logits [1, 0], [0, 2], [3, 3]; weights [.5, .25, .25] → [1.25, 1.25]
    logits = _tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]])
    assert aggregate(logits, [0.5, 0.25, 0.25])[0].tolist() == pytest.approx([1.25, 1.25])
    # no weights: the mean, [4/3, 5/3]
    assert aggregate(logits)[0].tolist() == pytest.approx([4 / 3, 5 / 3])


def test_prediction_stability_by_hand():
    # view 1: every expert [2, 0]; view 2: [2, 0], [0, 2], [2, 0]; weights 1/3 each:
    #   ẑ' = [2, 0], p = softmax = [0.880797, 0.119203]
    #   ẑ'' = [4/3, 2/3], q = softmax = [0.660756, 0.339244]
    #   cos(p, q) = (0.880797·0.660756 + 0.119203·0.339244) / (|p| |q|) = 0.942819476059755
    view1 = _tensor([[[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]]])
    view2 = _tensor([[[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]])
    assert prediction_stability(view1, view2).item() == pytest.approx(0.942819476059755,
                                                                       abs=1e-12)
    # all the weight on expert 1 or 3, which agree across the views: cos = 1
    assert prediction_stability(view1, view2, [1.0, 0.0, 0.0]).item() == pytest.approx(1.0)


def _views(n=64, classes=5, seed=0):
    """Expert 0 gives the same logits on both views; experts 1 and 2 give unrelated ones."""
    generator = torch.Generator().manual_seed(seed)

    def draw():
        return 3 * torch.randn(n, classes, generator=generator, dtype=torch.float64)

    stable = draw()
    return (torch.stack([stable, draw(), draw()], dim=1),
            torch.stack([stable, draw(), draw()], dim=1))


def test_the_stable_expert_gets_most_weight():
    view1, view2 = _views()
    weights = learn_aggregation_weights(view1, view2, batch_size=None, epochs=20)
    assert weights.sum().item() == pytest.approx(1.0)
    assert weights.argmax().item() == 0 and weights[0] > 0.85
    # SADE's defaults (5 epochs, batches of 128: here 5 steps) already favour it
    default = learn_aggregation_weights(view1, view2)
    assert default.argmax().item() == 0 and default[0] > 1 / 3


def test_stops_once_a_weight_falls_below_min_weight():
    view1, view2 = _views()
    stopped = learn_aggregation_weights(view1, view2, batch_size=None, epochs=200)
    free = learn_aggregation_weights(view1, view2, batch_size=None, epochs=200, min_weight=0.0)
    assert stopped.min() < 0.05  # it stopped at the first epoch with a weight below 0.05
    assert free.min() < stopped.min()  # without the rule it goes on


def test_one_plain_sgd_step_follows_the_gradient():
    # momentum 0, no weight decay: ω_1 = ω_0 + lr ∂stability/∂ω at ω_0 = (1/3, 1/3, 1/3),
    # the derivative by central differences of prediction_stability(softmax(ω))
    view1, view2 = _views(n=16, classes=4, seed=1)
    lr, h, start = 0.5, 1e-6, torch.full((3,), 1 / 3, dtype=torch.float64)

    def stability(omega):
        return prediction_stability(view1, view2, torch.softmax(omega, 0)).item()

    gradient = torch.tensor([(stability(start + h * e) - stability(start - h * e)) / (2 * h)
                             for e in torch.eye(3, dtype=torch.float64)])
    expected = torch.softmax(start + lr * gradient, 0)
    weights = learn_aggregation_weights(view1, view2, epochs=1, batch_size=None, lr=lr,
                                        momentum=0.0, weight_decay=0.0, nesterov=False,
                                        min_weight=0.0)
    assert weights.tolist() == pytest.approx(expected.tolist(), abs=1e-8)


def test_expert_heads_shapes_and_cosine_scale():
    heads = ExpertHeads(4, 3, scale=30.0)
    out = heads(torch.randn(5, 4))
    assert out.shape == (5, 3, 3) and out.abs().max() <= 30.0 + 1e-4
    assert ExpertHeads(4, 3, scale=None)(torch.randn(5, 4)).shape == (5, 3, 3)
    # cosine head by hand: h = (1, 0), rows w = (1, 0), (0, 2) → 30·[1, 0]
    with torch.no_grad():
        heads = ExpertHeads(2, 2, scale=30.0)
        for head in heads.heads:
            head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    assert heads(torch.tensor([[3.0, 0.0]]))[0, 1].tolist() == pytest.approx([30.0, 0.0])


def test_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="lambda_"):
        build("sade", class_counts=[3, 1], lambda_=-1.0)
    with pytest.raises(ConfigError, match="expert_logits"):
        sade_loss(torch.zeros(2, 3), torch.tensor([0, 1]), [3, 1])
    with pytest.raises(ConfigError, match="class_counts"):
        build("sade")(torch.zeros(1, 3, 2), torch.tensor([0]))
    with pytest.raises(ConfigError, match="classes"):
        sade_loss(torch.zeros(1, 3, 4), torch.tensor([0]), [3, 1])
    view = torch.zeros(2, 3, 2)
    with pytest.raises(ConfigError, match="min_weight"):
        learn_aggregation_weights(view, view, min_weight=0.5)
    with pytest.raises(ConfigError, match="epochs"):
        learn_aggregation_weights(view, view, epochs=0)
    with pytest.raises(ConfigError, match="view1 and view2"):
        learn_aggregation_weights(view, torch.zeros(3, 3, 2))
    with pytest.raises(ConfigError, match="weights"):
        aggregate(view, [0.5, 0.5])
