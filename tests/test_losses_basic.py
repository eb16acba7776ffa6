"""Tests for lt_lab.losses (registry and plain cross-entropy), values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lt_lab.errors import ConfigError
from lt_lab.losses import CrossEntropy, available, build, cross_entropy, loss_parameters

LN3 = math.log(3.0)

# logits [0, ln 3]: softmax = [1, 3] / (1 + 3) = [1/4, 3/4]
#   target 1: -ln(3/4) = 0.2876820724517809
#   target 0: -ln(1/4) = ln 4 = 1.3862943611198906
LOSS_T1 = 0.2876820724517809
LOSS_T0 = 1.3862943611198906


def _logits(rows: int = 1) -> torch.Tensor:
    return torch.tensor([[0.0, LN3]] * rows, dtype=torch.float64)


def test_build_returns_a_module():
    loss = build("ce", class_counts=[50, 10, 2])
    assert isinstance(loss, nn.Module)
    assert isinstance(loss, CrossEntropy)
    assert isinstance(build("ce"), CrossEntropy)  # class_counts may be left out


def test_ce_by_hand():
    loss = build("ce", class_counts=[3, 1])
    assert loss(_logits(), torch.tensor([1])).item() == pytest.approx(LOSS_T1, abs=1e-12)
    assert loss(_logits(), torch.tensor([0])).item() == pytest.approx(LOSS_T0, abs=1e-12)


def test_ce_is_a_batch_mean():
    # (0.287682 + 1.386294) / 2 = 0.8369882167858358
    loss = build("ce", class_counts=[3, 1])
    value = loss(_logits(2), torch.tensor([1, 0])).item()
    assert value == pytest.approx(0.8369882167858358, abs=1e-12)


def test_function_equals_module():
    torch.manual_seed(0)
    logits, targets = torch.randn(16, 5), torch.randint(5, (16,))
    module = build("ce", class_counts=[5, 4, 3, 2, 1])
    assert torch.equal(module(logits, targets), cross_entropy(logits, targets))
    smoothed = build("ce", class_counts=[5, 4, 3, 2, 1], label_smoothing=0.1)
    assert torch.equal(
        smoothed(logits, targets), cross_entropy(logits, targets, label_smoothing=0.1)
    )
    assert cross_entropy(_logits(), torch.tensor([1])).item() == pytest.approx(LOSS_T1, abs=1e-12)


def test_label_smoothing_by_hand():
    # eps = 0.2, C = 2: target distribution (1 - eps) one-hot + eps / C = [0.1, 0.9] for y = 1.
    #   loss = -0.1 ln(1/4) - 0.9 ln(3/4) = 0.1 * 1.386294 + 0.9 * 0.287682
    #        = 0.13862944 + 0.25891387 = 0.3975433013185919
    loss = build("ce", class_counts=[3, 1], label_smoothing=0.2)
    assert loss.label_smoothing == 0.2
    value = loss(_logits(), torch.tensor([1])).item()
    assert value == pytest.approx(0.3975433013185919, abs=1e-12)


def test_weighted_cross_entropy_by_hand():
    # Two samples, targets [1, 0], class weights w = [1, 3]: w_y = [3, 1].
    #   (3 * 0.287682 + 1 * 1.386294) / (3 + 1) = (0.863046 + 1.386294) / 4 = 0.5623351446188083
    value = cross_entropy(_logits(2), torch.tensor([1, 0]), weight=torch.tensor([1.0, 3.0]))
    assert value.item() == pytest.approx(0.5623351446188083, abs=1e-12)


def test_gradient_is_finite_and_by_hand():
    # d loss / d z = softmax(z) - onehot(y) = [1/4, 3/4] - [0, 1] = [0.25, -0.25]
    logits = _logits().requires_grad_()
    build("ce", class_counts=[3, 1])(logits, torch.tensor([1])).backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0].tolist() == pytest.approx([0.25, -0.25], abs=1e-12)


def test_gradient_finite_for_extreme_logits():
    logits = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = build("ce", class_counts=[1, 1, 1])(logits, torch.tensor([1]))
    loss.backward()
    # softmax ~ [1, 0, 0] so the loss is ~ 1e4 - (-1e4) = 2e4, finite.
    assert loss.item() == pytest.approx(2e4, rel=1e-6)
    assert torch.isfinite(logits.grad).all()


def test_unknown_loss_lists_ce():
    with pytest.raises(ConfigError, match="loss") as info:
        build("cee", class_counts=[3, 1])
    assert "'ce'" in str(info.value)
    assert "'cee'" in str(info.value)


def test_unknown_parameter_names_it_and_the_allowed_ones():
    with pytest.raises(ConfigError, match="gamma") as info:
        build("ce", class_counts=[3, 1], gamma=2.0)
    assert "label_smoothing" in str(info.value)


@pytest.mark.parametrize("counts", [[3, 0, 1], [3, -1, 1]])
def test_non_positive_class_count_is_rejected(counts):
    with pytest.raises(ConfigError, match="class_counts"):
        build("ce", class_counts=counts)


def test_available_contains_ce():
    names = available()
    assert "ce" in names
    assert names == sorted(names)


def test_loss_parameters():
    assert loss_parameters("ce") == ["label_smoothing"]
    with pytest.raises(ConfigError, match="loss"):
        loss_parameters("nope")
