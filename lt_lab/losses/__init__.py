"""Losses by name: ``lt_lab.losses.build("ce", class_counts=[...], **params)``.

One file per family registers its losses on import: ``basic`` (cross-entropy), and the
chapters' ``reweighting``, ``margins``, ``regression``.
"""

from lt_lab.losses import basic, margins, reweighting  # noqa: F401  (register their losses)
from lt_lab.losses.basic import CrossEntropy, cross_entropy
from lt_lab.losses.registry import available, build, loss_parameters, register

__all__ = ["CrossEntropy", "available", "build", "cross_entropy", "loss_parameters", "register"]
