"""Tests for lt_lab.models: shapes, hand-counted parameter totals and the head geometries."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lt_lab.errors import ConfigError
from lt_lab.models import (
    BACKBONES,
    HEADS,
    CifarResNet,
    CosineClassifier,
    ETFClassifier,
    build_model,
    simplex_etf,
)

# Feature width of each backbone: MLP's last hidden layer (512), SmallCNN's last stage (128),
# the CIFAR ResNets' last stage (64).
FEATURE_DIM = {"mlp": 512, "small_cnn": 128, "resnet8": 64, "resnet20": 64, "resnet32": 64}
SHAPES = [(1, 28, 28), (3, 32, 32)]


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("backbone", "head", "shape"), list(itertools.product(BACKBONES, HEADS, SHAPES))
)
def test_shapes_for_every_backbone_and_head(backbone, head, shape):
    torch.manual_seed(0)
    model = build_model(backbone, shape, 7, head=head).eval()
    x = torch.randn(3, *shape)
    with torch.no_grad():
        logits = model(x)
        features = model.features(x)
        again = model.classifier(features)
    assert logits.shape == (3, 7)
    assert features.shape == (3, FEATURE_DIM[backbone])
    assert model.features.feature_dim == FEATURE_DIM[backbone]
    assert torch.allclose(again, logits, atol=1e-6)
    assert torch.isfinite(logits).all()


def test_backbones_and_heads_constants():
    assert BACKBONES == ("mlp", "small_cnn", "resnet8", "resnet20", "resnet32")
    assert HEADS == ("linear", "cosine", "etf")


# ---------------------------------------------------------------------------------------------
# parameter counts, by hand
# ---------------------------------------------------------------------------------------------
# CIFAR ResNet, 3 input channels, widths 16/32/64, no conv bias, BN = 2 parameters a channel:
#   stem:  conv 3*16*9 = 432, BN 32                                          ->     464
#   16->16 block: 2 convs 16*16*9 = 2304 each, 2 BN of 32                  ->   4,672
#   16->32 block (first of stage 2): 16*32*9 = 4608 + 32*32*9 = 9216 + 2*64 ->  13,952
#   32->32 block: 2 * 9216 + 2 * 64                                         ->  18,560
#   32->64 block (first of stage 3): 32*64*9 = 18432 + 64*64*9 = 36864 + 2*128 -> 55,552
#   64->64 block: 2 * 36864 + 2 * 128                                       ->  73,984
#   linear head 64 -> 10: 640 + 10                                          ->     650
# ResNet-8  (1 block a stage): 464 + 4672 + 13952 + 55552 + 650                  =  75,290
# ResNet-20 (3 a stage): 464 + 3*4672 + 13952 + 2*18560 + 55552 + 2*73984 + 650   = 269,722
# ResNet-32 (5 a stage): 464 + 5*4672 + 13952 + 4*18560 + 55552 + 4*73984 + 650   = 464,154


@pytest.mark.parametrize(
    ("name", "expected"), [("resnet8", 75_290), ("resnet20", 269_722), ("resnet32", 464_154)]
)
def test_resnet_parameter_counts(name, expected):
    assert _count(build_model(name, (3, 32, 32), 10)) == expected


def test_resnet_sizes_increase():
    sizes = [_count(build_model(n, (3, 32, 32), 10)) for n in ("resnet8", "resnet20", "resnet32")]
    assert sizes[0] < sizes[1] < sizes[2]


def test_small_cnn_parameter_count():
    # 1 input channel: conv 1*32*9 = 288 + BN 64; conv 32*64*9 = 18432 + BN 128;
    # conv 64*128*9 = 73728 + BN 256; conv 128*128*9 = 147456 + BN 256   -> 240,608
    # linear 128 -> 10: 1280 + 10 = 1290                                   -> 241,898 ("241k")
    assert _count(build_model("small_cnn", (1, 28, 28), 10)) == 241_898


def test_mlp_parameter_count():
    # 784*512 + 512 = 401,920; 512*512 + 512 = 262,656; head 512*10 + 10 = 5,130 -> 669,706
    assert _count(build_model("mlp", (1, 28, 28), 10)) == 669_706


def test_resnet_on_one_channel_input():
    # Only the stem changes: conv 1*16*9 = 144 instead of 432 -> 464,154 - 288 = 463,866
    assert _count(build_model("resnet32", (1, 28, 28), 10)) == 463_866


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [10, 18, 21, 34])  # depth - 2 = 8, 16, 19, 32: not /6
def test_resnet_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ConfigError, match="6n"):
        CifarResNet(depth)


@pytest.mark.parametrize("depth", [8, 14, 44, 50])
def test_resnet_depth_6n_plus_2_is_accepted(depth):
    # Depth 6n+2 has n blocks a stage: 8 -> 1, 14 -> 2, 44 -> 7, 50 -> 8.
    assert len(CifarResNet(depth).stages) == 3 * (depth - 2) // 6


def test_unknown_backbone_lists_allowed():
    with pytest.raises(ConfigError, match="model") as info:
        build_model("resnet18", (3, 32, 32), 10)
    assert "'resnet32'" in str(info.value)


def test_unknown_head_lists_allowed():
    with pytest.raises(ConfigError, match="head") as info:
        build_model("mlp", (1, 28, 28), 10, head="softmax")
    assert "'cosine'" in str(info.value)


# ---------------------------------------------------------------------------------------------
# cosine head
# ---------------------------------------------------------------------------------------------


def test_cosine_logits_lie_in_unit_interval():
    torch.manual_seed(0)
    model = build_model("small_cnn", (1, 28, 28), 10, head="cosine").eval()
    with torch.no_grad():
        logits = model(torch.randn(8, 1, 28, 28) * 50)
    assert logits.abs().max() <= 1 + 1e-5


def test_cosine_logits_by_hand():
    head = CosineClassifier(2, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    # feature [0, 2] / 2 = [0, 1]; rows [3, 4] / 5 = [0.6, 0.8] and [1, 0]:
    #   cosines 0.8 and 0; scaling the feature changes nothing.
    assert head(torch.tensor([[0.0, 2.0]]))[0].tolist() == pytest.approx([0.8, 0.0], abs=1e-6)
    assert head(torch.tensor([[0.0, 50.0]]))[0].tolist() == pytest.approx([0.8, 0.0], abs=1e-6)
    # feature [-1, 0]: cosines -0.6 and -1.
    assert head(torch.tensor([[-1.0, 0.0]]))[0].tolist() == pytest.approx([-0.6, -1.0], abs=1e-6)


def test_cosine_head_is_trainable():
    head = CosineClassifier(64, 10)
    assert _count(head) == 640


# ---------------------------------------------------------------------------------------------
# ETF head
# ---------------------------------------------------------------------------------------------


def _check_simplex(weight: torch.Tensor, num_classes: int):
    # Unit rows; every pair of rows has cosine -1/(C-1); the rows sum to the zero vector
    # (|sum|^2 = C + C(C-1) * (-1/(C-1)) = 0).
    gram = weight.double() @ weight.double().T
    expected = torch.full((num_classes, num_classes), -1.0 / (num_classes - 1), dtype=torch.float64)
    expected.fill_diagonal_(1.0)
    assert torch.allclose(gram, expected, atol=1e-5)
    assert torch.allclose(weight.double().sum(0), torch.zeros(weight.shape[1], dtype=torch.float64),
                          atol=1e-5)


def test_etf_head_in_model_is_fixed_simplex():
    model = build_model("resnet8", (3, 32, 32), 10, head="etf")
    head = model.classifier
    assert isinstance(head, ETFClassifier)
    assert list(head.parameters()) == []  # nothing to train
    assert head.weight.shape == (10, 64)
    assert not head.weight.requires_grad
    assert "classifier.weight" in model.state_dict()  # saved with the model as a buffer
    # Norms 1; for C = 10 every off-diagonal cosine is -1/9 = -0.1111.
    assert head.weight.norm(dim=1).tolist() == pytest.approx([1.0] * 10, abs=1e-5)
    gram = head.weight @ head.weight.T
    off = gram[~torch.eye(10, dtype=torch.bool)]
    assert off.tolist() == pytest.approx([-1 / 9] * 90, abs=1e-5)
    _check_simplex(head.weight, 10)


@pytest.mark.parametrize(("num_classes", "dim"), [(10, 9), (10, 10), (10, 64), (4, 3), (2, 1)])
def test_simplex_etf_geometry(num_classes, dim):
    weight = simplex_etf(num_classes, dim)
    assert weight.shape == (num_classes, dim)
    _check_simplex(weight, num_classes)


def test_simplex_etf_two_classes_are_opposite():
    # C = 2: cosine -1/(2-1) = -1, so the two rows are +u and -u.
    weight = simplex_etf(2, 5)
    assert torch.allclose(weight[0], -weight[1], atol=1e-6)


def test_simplex_etf_seeded():
    assert torch.equal(simplex_etf(10, 64, seed=3), simplex_etf(10, 64, seed=3))
    assert not torch.allclose(simplex_etf(10, 64, seed=3), simplex_etf(10, 64, seed=4))


def test_simplex_etf_too_small_dim_is_rejected():
    with pytest.raises(ConfigError, match="dim >= 9"):
        simplex_etf(10, 8)


def test_etf_head_gets_no_gradient():
    model = build_model("mlp", (1, 28, 28), 10, head="etf")
    model(torch.randn(4, 1, 28, 28)).sum().backward()
    assert model.classifier.weight.grad is None
    assert all(p.grad is not None for p in model.features.parameters())
