"""Label bins: how a continuous label range is cut for densities, LDS, FDS and shot regions.

DIR (Yang et al. 2021) bins ages in years (width 1); our rotated Fashion-MNIST benchmark cuts
[0°, 90°) into 45 bins of 2°. A bin is *many-shot* with more than ``many_threshold`` training
samples, *few-shot* with fewer than ``few_threshold``, *medium-shot* otherwise (DIR: 100, 20).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lt_lab.errors import ConfigError

SHOT_REGIONS = ("many", "medium", "few")


@dataclass(frozen=True)
class LabelBins:
    """``num_bins`` equal bins over ``[low, high)``; labels outside go to the end bins."""

    low: float
    high: float
    num_bins: int

    def __post_init__(self):
        if not self.high > self.low or self.num_bins < 1:
            raise ConfigError(f"bins need high > low and num_bins >= 1, got {self}")

    @property
    def width(self) -> float:
        return (self.high - self.low) / self.num_bins

    @property
    def centres(self) -> torch.Tensor:
        return self.low + self.width * (torch.arange(self.num_bins, dtype=torch.float64) + 0.5)

    def index(self, labels: torch.Tensor) -> torch.Tensor:
        """The bin of each label (int64), clamped into ``0 … num_bins-1``."""
        index = torch.floor((labels.double() - self.low) / self.width).long()
        return index.clamp(0, self.num_bins - 1)

    def counts(self, labels: torch.Tensor) -> torch.Tensor:
        """Samples per bin (int64)."""
        return torch.bincount(self.index(labels).cpu(), minlength=self.num_bins)


def shot_regions(train_counts, many_threshold: int = 100, few_threshold: int = 20) -> list[str]:
    """``"many"`` (> many_threshold), ``"few"`` (< few_threshold) or ``"medium"``, per bin."""
    regions = []
    for count in torch.as_tensor(train_counts).tolist():
        if count > many_threshold:
            regions.append("many")
        elif count < few_threshold:
            regions.append("few")
        else:
            regions.append("medium")
    return regions
