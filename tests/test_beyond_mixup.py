"""Tests for lt_lab.beyond.mixup (Zhang et al. 2018): mixing a batch, λ ~ Beta(α, α), and the
mixed-target cross-entropy. Values worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import lt_lab.beyond  # noqa: F401  (registers "mixup")
from lt_lab.beyond.mixup import (
    MixupCrossEntropy,
    mix,
    mixed_targets,
    mixup,
    mixup_cross_entropy,
    sample_lambda,
)
from lt_lab.errors import ConfigError
from lt_lab.losses import build, loss_parameters

LN3 = math.log(3.0)


def test_mix_by_hand():
    # x = [[1, 0], [0, 1], [2, 2]], σ = [2, 0, 1], λ = 0.75:
    #   row 0: .75 [1, 0] + .25 [2, 2] = [1.25, 0.5]
    #   row 1: .75 [0, 1] + .25 [1, 0] = [0.25, 0.75]
    #   row 2: .75 [2, 2] + .25 [0, 1] = [1.5, 1.75]
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    y = torch.tensor([0, 1, 2])
    batch = mix(x, y, 0.75, torch.tensor([2, 0, 1]))
    assert batch.inputs.tolist() == [[1.25, 0.5], [0.25, 0.75], [1.5, 1.75]]
    assert batch.targets_a.tolist() == [0, 1, 2] and batch.targets_b.tolist() == [2, 0, 1]
    assert batch.lam == 0.75


def test_mixup_cross_entropy_by_hand():
    # logits [0, ln 3]: softmax [1/4, 3/4]; y_a = 0, y_b = 1, λ = 0.75:
    #   0.75 · ln 4 + 0.25 · ln(4/3) = 1.0397208 + 0.0719205 = 1.1116413
    logits = torch.tensor([[0.0, LN3]], dtype=torch.float64)
    value = mixup_cross_entropy(logits, torch.tensor([0]), torch.tensor([1]), 0.75)
    expected = 0.75 * math.log(4) + 0.25 * math.log(4 / 3)
    assert value.item() == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(1.1116413, abs=1e-7)


def test_soft_targets_give_the_same_loss():
    # CE is linear in its target: CE(z, λ e_a + (1-λ) e_b) = λ CE(z, a) + (1-λ) CE(z, b)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    a, b = torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([3, 3, 0, 1, 0, 2])
    soft = mixed_targets(a, b, 0.3, 4)
    assert soft.sum(1).tolist() == pytest.approx([1.0] * 6)
    assert soft[0].tolist() == pytest.approx([0.3, 0.0, 0.0, 0.7])  # 0.3 e_0 + 0.7 e_3
    assert F.cross_entropy(logits, soft).item() == pytest.approx(
        mixup_cross_entropy(logits, a, b, 0.3).item(), abs=1e-12)


def test_alpha_zero_does_not_mix():
    x, y = torch.randn(5, 3), torch.arange(5)
    assert sample_lambda(0.0) == 1.0
    batch = mixup(x, y, alpha=0.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(batch.inputs, x) and batch.lam == 1.0


def test_lambda_draws_follow_beta_and_the_seed():
    # Beta(1, 1) is uniform: mean 1/2, variance 1/12 = 0.0833; Beta(.2, .2): mean 1/2,
    # variance 1 / (4 (2α + 1)) = 1/5.6 = 0.1786. 4000 draws: standard errors ~0.005, ~0.007
    for alpha, variance in [(1.0, 1 / 12), (0.2, 1 / 5.6)]:
        generator = torch.Generator().manual_seed(1)
        draws = torch.tensor([sample_lambda(alpha, generator) for _ in range(4000)])
        assert ((draws >= 0) & (draws <= 1)).all()
        assert draws.mean().item() == pytest.approx(0.5, abs=0.03)
        assert draws.var().item() == pytest.approx(variance, abs=0.015)
    a = sample_lambda(1.0, torch.Generator().manual_seed(4))
    assert a == sample_lambda(1.0, torch.Generator().manual_seed(4))
    assert a != sample_lambda(1.0, torch.Generator().manual_seed(5))


def test_mixup_is_reproducible_per_generator():
    x, y = torch.randn(8, 3), torch.arange(8)
    first = mixup(x, y, 1.0, torch.Generator().manual_seed(2))
    again = mixup(x, y, 1.0, torch.Generator().manual_seed(2))
    assert torch.equal(first.inputs, again.inputs) and first.lam == again.lam
    assert torch.equal(first.targets_b, again.targets_b)
    assert sorted(first.targets_b.tolist()) == list(range(8))  # a permutation of the batch
    # each mixed input is λ x_i + (1 − λ) x_σ(i) for the labels it carries
    assert torch.allclose(first.inputs, first.lam * x + (1 - first.lam) * x[first.targets_b])


def test_registered_loss():
    loss = build("mixup", class_counts=[5, 1], alpha=0.2)
    assert isinstance(loss, MixupCrossEntropy) and loss.mixes_inputs and loss.alpha == 0.2
    assert loss_parameters("mixup") == ["alpha"]
    logits = torch.tensor([[0.0, LN3]], dtype=torch.float64)
    # plain CE with class indices: -ln(3/4); with soft targets: the mixed loss
    assert loss(logits, torch.tensor([1])).item() == pytest.approx(math.log(4 / 3))
    soft = mixed_targets(torch.tensor([0]), torch.tensor([1]), 0.75, 2)
    assert loss(logits, soft).item() == pytest.approx(1.1116413, abs=1e-7)
    assert loss.mixed(logits, torch.tensor([0]), torch.tensor([1]), 0.75).item() == \
        pytest.approx(1.1116413, abs=1e-7)
    batch = loss.mix(torch.randn(4, 2), torch.arange(4), torch.Generator().manual_seed(0))
    assert batch.inputs.shape == (4, 2)


def test_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="alpha"):
        build("mixup", alpha=-1.0)
    with pytest.raises(ConfigError, match="alpha"):
        sample_lambda(float("nan"))
    with pytest.raises(ConfigError, match="lam"):
        mix(torch.zeros(2, 2), torch.tensor([0, 1]), 1.5, torch.tensor([1, 0]))
    with pytest.raises(ConfigError, match="permutation"):
        mix(torch.zeros(2, 2), torch.tensor([0, 1]), 0.5, torch.tensor([1, 0, 2]))
