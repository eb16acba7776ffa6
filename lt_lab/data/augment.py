"""Batched augmentation on the device: random crop with zero padding, horizontal flip.

The CIFAR recipe of He et al. 2016 (pad 4, random 32×32 crop, flip with probability 1/2),
applied to a whole batch with tensor indexing — no Python loop over images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each side by ``padding`` and cut a random window of the original size.

    Every image gets its own offset, drawn uniformly from ``0..2*padding`` on each axis.
    """
    if padding == 0:
        return images
    batch, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    span = 2 * padding + 1
    device = generator.device
    top = torch.randint(span, (batch,), generator=generator, device=device).to(images.device)
    left = torch.randint(span, (batch,), generator=generator, device=device).to(images.device)
    rows = (top[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
    cols = (left[:, None] + torch.arange(width, device=images.device))[:, None, None, :]
    batch_index = torch.arange(batch, device=images.device)[:, None, None, None]
    channel_index = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(len(images), generator=generator, device=generator.device) < 0.5
    flip = flip.to(images.device)[:, None, None, None]
    return torch.where(flip, images.flip(3), images)


def augment(
    images: torch.Tensor, *, padding: int, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Random crop (if ``padding`` > 0) then random horizontal flip (if ``flip``)."""
    images = random_crop(images, padding, generator)
    return random_flip(images, generator) if flip else images
