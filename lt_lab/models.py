"""Models: a feature extractor and a separate classifier head.

Decoupling (Kang et al. 2020) retrains the head on frozen features and neural collapse
(Papyan et al. 2020) measures the geometry of features and head, so every model here is
``head(features(x))`` with both parts reachable:

* backbones: ``mlp``, ``small_cnn`` (sized for a 2-core CPU), ``resnet8/20/32`` (the CIFAR
  ResNets of He et al. 2016, depth 6n+2, widths 16/32/64, option-A shortcuts — the
  ResNet-32 of the LDAM and CB code);
* heads: ``linear``, ``cosine`` (normalised linear, the head LDAM trains with) and ``etf``
  (a fixed simplex equiangular tight frame, Yang et al. 2022); a family may register more
  in :data:`EXTRA_HEADS` (SADE's three experts, ``"experts"``, Zhang et al. 2022). A head
  whose output is ``(N, K, C)``, K experts' logits, predicts with their mean
  (:meth:`Classifier.forward`); the trainer's loss reads the K experts.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.errors import ConfigError, check_choice
from lt_lab.plugins import Registered

BACKBONES = ("mlp", "small_cnn", "resnet8", "resnet20", "resnet32")
HEADS = ("linear", "cosine", "etf")
# Heads a family registers, by name: ``head(feature_dim, num_classes)`` -> nn.Module (the
# engine imports no family; lt_lab.beyond.sade registers "experts").
EXTRA_HEADS = Registered("families")
# Backbones a family registers, by name: ``backbone(in_shape)`` -> nn.Module with a
# ``feature_dim`` (lt_lab.beyond registers "small_cnn_linear", the small CNN without its
# last ReLU, for Kini et al.'s contrastive geometry).
EXTRA_BACKBONES = Registered("families")


def backbone_names() -> list[str]:
    """Every backbone a config may name: the built-in :data:`BACKBONES`, then the registered."""
    return [*BACKBONES, *EXTRA_BACKBONES]


def head_names() -> list[str]:
    """Every head a config may name: the built-in :data:`HEADS`, then the registered."""
    return [*HEADS, *EXTRA_HEADS]


def head_class(name: str):
    """The class (or builder) of head ``name``."""
    check_choice("head", name, head_names())
    builtin = {"linear": nn.Linear, "cosine": CosineClassifier, "etf": ETFClassifier}
    return builtin[name] if name in builtin else EXTRA_HEADS[name]


class MLP(nn.Module):
    """Flatten, then ``Linear-ReLU`` blocks. ``feature_dim`` is the last hidden width."""

    def __init__(self, in_shape: tuple[int, int, int], hidden: tuple[int, ...] = (512, 512)):
        super().__init__()
        layers, width = [nn.Flatten()], math.prod(in_shape)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(inplace=True)]
            width = size
        self.body = nn.Sequential(*layers)
        self.feature_dim = width

    def forward(self, x):
        return self.body(x)


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU stages of 32/64/128 channels, max-pooling between, global pool.

    241k parameters: about 1.7 s an epoch for 2,500 28×28 images on a 2-core CPU.
    """

    def __init__(self, in_channels: int, widths: tuple[int, int, int] = (32, 64, 128)):
        super().__init__()
        a, b, c = widths
        self.body = nn.Sequential(
            *_conv_bn_relu(in_channels, a), nn.MaxPool2d(2),
            *_conv_bn_relu(a, b), nn.MaxPool2d(2),
            *_conv_bn_relu(b, c), *_conv_bn_relu(c, c),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.feature_dim = c

    def forward(self, x):
        return self.body(x)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual; option A: zero-padded, subsampled shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.extra_channels = stride, c_out - c_in

    def shortcut(self, x):
        if self.stride == 1 and self.extra_channels == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images (He et al. 2016, §4.2): 3 stages of n blocks."""

    def __init__(self, depth: int, in_channels: int = 3, widths=(16, 32, 64)):
        super().__init__()
        if (depth - 2) % 6:
            raise ConfigError(f"ResNet depth={depth} must be 6n+2 (8, 20, 32, 44, 56, ...)")
        blocks_per_stage = (depth - 2) // 6
        self.stem = nn.Sequential(*_conv_bn_relu(in_channels, widths[0]))
        stages, c_in = [], widths[0]
        for stage, width in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(BasicBlock(c_in, width, stride))
                c_in = width
        self.stages = nn.Sequential(*stages)
        self.feature_dim = widths[-1]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.stages(self.stem(x)), 1).flatten(1)


class CosineClassifier(nn.Module):
    """Normalised linear head: ``z_j = <x/|x|, w_j/|w_j|>`` (cosine logits, no bias).

    LDAM (Cao et al. 2019) scales these logits by ``s`` inside its loss.
    """

    def __init__(self, feature_dim: int, num_classes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, feature_dim).uniform_(-1, 1))

    def forward(self, features):
        return F.normalize(features, dim=1) @ F.normalize(self.weight, dim=1).T


def simplex_etf(num_classes: int, dim: int, seed: int = 0) -> torch.Tensor:
    """A ``(num_classes, dim)`` simplex equiangular tight frame: unit rows, cosines -1/(C-1).

    The rows of ``sqrt(C/(C-1)) (I - 11ᵀ/C)`` are such a frame in R^C, inside the (C-1)-dim
    subspace orthogonal to the all-ones vector (Papyan et al. 2020). We write them in an
    orthonormal basis of that subspace and rotate them into R^dim at random (seeded).
    """
    if dim < num_classes - 1:
        raise ConfigError(f"an ETF of {num_classes} classes needs dim >= {num_classes - 1}")
    generator = torch.Generator().manual_seed(seed)
    c = num_classes
    frame = math.sqrt(c / (c - 1)) * (torch.eye(c, dtype=torch.float64) - 1.0 / c)
    with_ones = torch.cat([torch.ones(c, 1, dtype=torch.float64),
                           torch.randn(c, c - 1, generator=generator, dtype=torch.float64)], 1)
    subspace = torch.linalg.qr(with_ones)[0][:, 1:]  # C×(C-1), orthogonal to 1
    rotation = torch.linalg.qr(torch.randn(dim, c - 1, generator=generator,
                                           dtype=torch.float64))[0]  # dim×(C-1)
    return (frame @ subspace @ rotation.T).float()


class ETFClassifier(nn.Module):
    """A fixed (not trained) simplex-ETF head, no bias (Yang et al. 2022)."""

    def __init__(self, feature_dim: int, num_classes: int):
        super().__init__()
        self.register_buffer("weight", simplex_etf(num_classes, feature_dim))

    def forward(self, features):
        return features @ self.weight.T


class Classifier(nn.Module):
    """``head(features(x))`` with both parts exposed."""

    def __init__(self, features: nn.Module, head: nn.Module):
        super().__init__()
        self.features = features
        self.classifier = head

    def forward(self, x):
        """The logits; a head of K experts, ``(N, K, C)``, predicts with their mean (SADE's
        prediction without test-time aggregation, Zhang et al. 2022)."""
        logits = self.classifier(self.features(x))
        return logits.mean(dim=1) if logits.ndim == 3 else logits


def build_model(
    name: str, in_shape: tuple[int, int, int], num_classes: int, head: str = "linear"
) -> Classifier:
    """Backbone ``name`` (:func:`backbone_names`) with a ``head`` (:func:`head_names`)."""
    check_choice("model", name, backbone_names())
    make_head = head_class(head)
    if name in EXTRA_BACKBONES:
        backbone = EXTRA_BACKBONES[name](in_shape)
    elif name == "mlp":
        backbone = MLP(in_shape)
    elif name == "small_cnn":
        backbone = SmallCNN(in_shape[0])
    else:
        backbone = CifarResNet(int(name.removeprefix("resnet")), in_channels=in_shape[0])
    return Classifier(backbone, make_head(backbone.feature_dim, num_classes))
