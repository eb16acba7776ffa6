"""One registry for every loss, so a config names its loss by string.

A loss is an ``nn.Module`` called as ``loss(logits, targets)``; its constructor takes
``class_counts`` (training images per class, head first) and the paper's parameters as
keyword arguments. Chapters add theirs with ``@register("name")``.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from lt_lab.errors import ConfigError, check_choice

_LOSSES: dict[str, type[nn.Module]] = {}


def register(name: str):
    """Class decorator: make ``build(name, ...)`` construct this loss."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _LOSSES and _LOSSES[name] is not cls:
            raise ValueError(f"loss {name!r} is registered twice")
        _LOSSES[name] = cls
        return cls

    return add


def available() -> list[str]:
    """Names of the registered losses, sorted."""
    return sorted(_LOSSES)


def loss_parameters(name: str) -> list[str]:
    """The keyword parameters loss ``name`` accepts (besides ``class_counts``)."""
    check_choice("loss", name, available())
    signature = inspect.signature(_LOSSES[name].__init__)
    return [p for p in signature.parameters if p not in ("self", "class_counts")]


def build(name: str, class_counts=None, **params) -> nn.Module:
    """Construct loss ``name`` for a training set with ``class_counts`` images per class."""
    check_choice("loss", name, available())
    allowed = loss_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"loss {name!r} has no parameter(s) {unknown}; allowed: {allowed or 'none'}"
        )
    if class_counts is not None:
        class_counts = torch.as_tensor(class_counts, dtype=torch.float64)
        if (class_counts <= 0).any():
            raise ConfigError(f"class_counts={class_counts.tolist()} must all be positive")
    return _LOSSES[name](class_counts=class_counts, **params)
