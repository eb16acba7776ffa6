"""The small CNN without its last ReLU: the "no ReLU" arm of Kini et al.'s contrastive
geometry.

Kini et al., "Symmetric Neural-Collapse Representations with Supervised Contrastive Loss:
The Impact of ReLU and Batching" (ICLR 2024), compare SCL on features that pass through a
ReLU last (a ResNet's last block ends in one: the features are non-negative) with features
whose last layer is linear. :class:`lt_lab.models.SmallCNN` ends in conv-BN-ReLU and a
global average pool, so its features are non-negative; ``"small_cnn_linear"`` is the same
network with that last ReLU removed (conv-BN, then the pool): the same parameters, the same
initialisation at a seed, features of either sign.
"""

from __future__ import annotations

from torch import nn

from lt_lab.models import EXTRA_BACKBONES, SmallCNN


class SmallCNNLinear(SmallCNN):
    """:class:`~lt_lab.models.SmallCNN` whose last stage is conv-BN (no ReLU) before the
    global pool: its features can be negative."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int] = (32, 64, 128)):
        super().__init__(in_channels, widths)
        layers = list(self.body)
        last_relu = max(i for i, layer in enumerate(layers) if isinstance(layer, nn.ReLU))
        self.body = nn.Sequential(*layers[:last_relu], *layers[last_relu + 1:])


def small_cnn_linear(in_shape: tuple[int, int, int]) -> SmallCNNLinear:
    return SmallCNNLinear(in_shape[0])


EXTRA_BACKBONES["small_cnn_linear"] = small_cnn_linear
