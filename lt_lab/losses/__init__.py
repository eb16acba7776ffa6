"""Losses by name: ``lt_lab.losses.build("ce", class_counts=[...], **params)``.

The engine registers cross-entropy (``basic``); each method family registers its own on
import (``lt_lab.reweighting``, ``lt_lab.margins``; the regression losses keep a registry of
their own in ``lt_lab.regression``). Looking up a name not registered yet imports them all
(:mod:`lt_lab.plugins`).
"""

from lt_lab.losses import basic  # noqa: F401  (registers "ce")
from lt_lab.losses.basic import CrossEntropy, cross_entropy
from lt_lab.losses.registry import available, build, loss_parameters, register

__all__ = ["CrossEntropy", "available", "build", "cross_entropy", "loss_parameters", "register"]
