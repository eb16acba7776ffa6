"""Tests for lt_lab.beyond.contrastive: the supervised contrastive loss (Khosla et al. 2020,
L_out) and the projection head with and without its ReLU. Values worked out by hand in the
comments."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import lt_lab.beyond  # noqa: F401  (registers "supcon")
from lt_lab.beyond.contrastive import ProjectionHead, SupConLoss, project, supcon_loss
from lt_lab.errors import ConfigError
from lt_lab.losses import build, loss_parameters


def _tensor(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_three_points_by_hand():
    # z1 = (1, 0), z2 = (0.6, 0.8) of class 0, z3 = (-1, 0) of class 1; τ = 0.5.
    # anchor z1: z1·z2/τ = 1.2, z1·z3/τ = -2; its one positive z2:
    #   l1 = -1.2 + log(e^1.2 + e^-2) = 0.03995333316243044
    # anchor z2: z2·z1/τ = 1.2, z2·z3/τ = -1.2:
    #   l2 = -1.2 + log(e^1.2 + e^-1.2) = 0.08683615215394958
    # anchor z3: no positive, contributes 0 and counts: (l1 + l2 + 0) / 3 = 0.04226316177212667
    features = _tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    value = supcon_loss(features, torch.tensor([0, 0, 1]), temperature=0.5)
    assert value.item() == pytest.approx(0.04226316177212667, abs=1e-12)


def test_two_views_by_hand():
    # image 0: views (1, 0), (0, 1); image 1: views (-1, 0), (0, -1); τ = 1.
    # anchor (1, 0): others (-1, 0), (0, 1), (0, -1) at dot products -1, 0, 0; its positive is
    # its own other view (0, 1): -log(e^0 / (e^-1 + e^0 + e^0)) = log(2 + 1/e). By symmetry
    # every anchor gives the same: L = log(2 + 1/e) = 0.8619948040582511
    features = _tensor([[[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, -1.0]]])
    value = supcon_loss(features, torch.tensor([0, 1]), temperature=1.0)
    assert value.item() == pytest.approx(0.8619948040582511, abs=1e-12)


def test_unnormalised_features_are_normalised_first():
    # (2, 0), (1.8, 2.4), (-5, 0) are 2, 3 and 5 times the unit vectors of the first test
    features = _tensor([[2.0, 0.0], [1.8, 2.4], [-5.0, 0.0]])
    value = supcon_loss(features, torch.tensor([0, 0, 1]), temperature=0.5)
    assert value.item() == pytest.approx(0.04226316177212667, abs=1e-12)


def test_base_temperature_scales_as_the_official_code():
    # Kini et al. call it with temperature 0.1, base_temperature 0.07: the loss times 0.1/0.07
    features = _tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    plain = supcon_loss(features, labels, temperature=0.1)
    scaled = supcon_loss(features, labels, temperature=0.1, base_temperature=0.07)
    assert scaled.item() == pytest.approx(plain.item() * 0.1 / 0.07, rel=1e-12)


def _literal(features, labels, temperature):
    """The formula written as loops over anchors, positives and A(i)."""
    anchors = [F.normalize(features[n, v], dim=0) for v in range(features.shape[1])
               for n in range(features.shape[0])]
    ys = [int(labels[n]) for v in range(features.shape[1]) for n in range(features.shape[0])]
    total = 0.0
    for i, z in enumerate(anchors):
        others = [a for a in range(len(anchors)) if a != i]
        log_denominator = math.log(sum(math.exp(float(z @ anchors[a]) / temperature)
                                       for a in others))
        positives = [p for p in others if ys[p] == ys[i]]
        if positives:
            total += -sum(float(z @ anchors[p]) / temperature - log_denominator
                          for p in positives) / len(positives)
    return total / len(anchors)


def test_matches_the_formula_literally_on_random_views():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(6, 3, 4, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])  # class 2 has one image, three views
    value = supcon_loss(features, labels, temperature=0.3)
    assert value.item() == pytest.approx(_literal(features, labels, 0.3), abs=1e-10)


def test_no_positive_anywhere_gives_zero():
    # every image its own class, one view: no anchor has a positive
    features = _tensor([[1.0, 0.0], [0.0, 1.0]])
    assert supcon_loss(features, torch.tensor([0, 1])).item() == 0.0


def test_gradient_is_finite_for_a_lonely_anchor():
    features = _tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]]).requires_grad_()
    supcon_loss(features, torch.tensor([0, 0, 1])).backward()
    assert torch.isfinite(features.grad).all()


def test_registered_module_reads_features():
    loss = build("supcon", class_counts=[5, 1], temperature=0.5, probe=False)
    assert isinstance(loss, SupConLoss) and loss.takes_features
    assert loss.bind_head(torch.nn.Linear(2, 2)) is loss
    features = _tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    assert loss(features, torch.tensor([0, 0, 1])).item() == pytest.approx(
        0.04226316177212667, abs=1e-12)
    assert loss_parameters("supcon") == ["temperature", "base_temperature", "views", "probe"]


def _identity_head():
    head = torch.nn.Linear(2, 2, dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(torch.eye(2))
        head.bias.zero_()
    return head


def test_the_linear_probe_adds_the_heads_cross_entropy_on_detached_features():
    # logits = features: rows [1, 0] (class 0), [0.6, 0.8] (class 0), [-1, 0] (class 1);
    # CE = log(1 + e^-1), log(1 + e^0.2), log(1 + e^-1): mean 0.4748874...
    head = _identity_head()
    loss = build("supcon", class_counts=[5, 1], temperature=0.5).bind_head(head)
    features = _tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]]).requires_grad_()
    labels = torch.tensor([0, 0, 1])
    total = loss(features, labels)
    assert total.item() == pytest.approx(0.04226316177212667 + 0.4748874148, abs=1e-7)
    assert loss.probe_loss(features, labels).item() == pytest.approx(0.4748874148, abs=1e-7)
    # the probe trains the head only: the features' gradient is the contrastive loss's alone
    total.backward()
    alone = features.detach().clone().requires_grad_()
    supcon_loss(alone, labels, temperature=0.5).backward()
    assert torch.equal(features.grad, alone.grad)
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_the_probe_reads_the_first_view_and_needs_a_head():
    labels = torch.tensor([0, 1])
    views = _tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])  # (N=2, V=2, d=2)
    loss = build("supcon", class_counts=[1, 1])
    with pytest.raises(ConfigError, match="bind_head"):
        loss(views, labels)
    loss.bind_head(_identity_head())
    expected = torch.nn.functional.cross_entropy(views[:, 0], labels).item()
    assert loss.probe_loss(views, labels).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("value", [0, -0.1, float("nan"), "0.1"])
def test_bad_temperature_is_named(value):
    with pytest.raises(ConfigError, match="temperature"):
        build("supcon", temperature=value)
    with pytest.raises(ConfigError, match="temperature"):
        supcon_loss(_tensor([[1.0, 0.0]]), torch.tensor([0]), temperature=value)


def test_bad_shapes_are_named():
    with pytest.raises(ConfigError, match="features"):
        supcon_loss(torch.zeros(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ConfigError, match="labels"):
        supcon_loss(torch.zeros(3, 2), torch.tensor([0, 1]))


def test_projection_with_and_without_relu_by_hand():
    # (-1, 2, 2): with the ReLU (0, 2, 2) / √8 = (0, 1/√2, 1/√2); without it (-1, 2, 2) / 3
    h = _tensor([[-1.0, 2.0, 2.0]])
    assert project(h, relu=True)[0].tolist() == pytest.approx([0.0, 2 ** -0.5, 2 ** -0.5])
    assert project(h, relu=False)[0].tolist() == pytest.approx([-1 / 3, 2 / 3, 2 / 3])
    assert ProjectionHead(3, relu=True)(h)[0].tolist() == pytest.approx(
        [0.0, 2 ** -0.5, 2 ** -0.5])


def test_projection_head_with_a_linear_map_by_hand():
    # W = [[1, 0], [0, -1], [1, 1]], b = 0, h = (1, 2): W h = (1, -2, 3)
    #   relu: (1, 0, 3) / √10; no relu: (1, -2, 3) / √14
    head = ProjectionHead(2, 3, relu=True).double()
    with torch.no_grad():
        head.linear.weight.copy_(_tensor([[1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]))
        head.linear.bias.zero_()
    h = _tensor([[1.0, 2.0]])
    assert head(h)[0].tolist() == pytest.approx([10 ** -0.5, 0.0, 3 * 10 ** -0.5])
    head.relu = False
    assert head(h)[0].tolist() == pytest.approx([14 ** -0.5, -2 * 14 ** -0.5, 3 * 14 ** -0.5])
    # the ReLU head's outputs are non-negative, of unit length, or zero where every
    # coordinate was negative before the ReLU (a dead feature: normalised to 0, not NaN)
    torch.manual_seed(0)
    out = ProjectionHead(2, 5, relu=True)(torch.randn(7, 2))
    norms = out.norm(dim=1)
    assert (out >= 0).all() and torch.isfinite(out).all()
    assert (torch.isclose(norms, torch.ones(7)) | (norms == 0)).all()


def test_projection_head_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="relu"):
        ProjectionHead(3, relu="yes")
    with pytest.raises(ConfigError, match="out_features"):
        ProjectionHead(3, 0)
