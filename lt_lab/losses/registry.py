"""One registry for every loss, so a config names its loss by string.

A loss is an ``nn.Module`` called as ``loss(logits, targets)``; its constructor takes
``class_counts`` (training images per class, head first) and the paper's parameters as
keyword arguments. Chapters add theirs with ``@register("name")``. The regression losses of
chapter 5 keep a :class:`Registry` of their own, whose context is the label prior.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from lt_lab.constraints import Constraint
from lt_lab.errors import ConfigError, check_choice
from lt_lab.plugins import Registered


class Registry:
    """Loss classes by name, built with keyword arguments that are checked first.

    ``context`` names the constructor argument every loss of the family receives from the
    trainer (``class_counts``, a label prior...); users set only the other parameters.
    """

    def __init__(self, context: str):
        self.context = context
        self._classes = Registered("families")  # the families' losses load when looked up

    def register(self, name: str):
        """Class decorator: make ``build(name, ...)`` construct this loss."""

        def add(cls: type[nn.Module]) -> type[nn.Module]:
            if self._classes.registered(name) not in (None, cls):
                raise ValueError(f"loss {name!r} is registered twice")
            self._classes[name] = cls
            return cls

        return add

    def unregister(self, name: str) -> None:
        """Forget loss ``name`` (a test's own loss, registered for that test only)."""
        del self._classes[name]

    def loss_class(self, name: str) -> type[nn.Module]:
        """The class registered as ``name``."""
        check_choice("loss", name, self.available())
        return self._classes[name]

    def available(self) -> list[str]:
        """Names of the registered losses, sorted."""
        return sorted(self._classes)

    def parameters(self, name: str) -> list[str]:
        """The keyword parameters loss ``name`` accepts (besides the context)."""
        check_choice("loss", name, self.available())
        signature = inspect.signature(self._classes[name].__init__)
        return [p for p in signature.parameters if p not in ("self", self.context)]

    def check(self, name: str, params: dict) -> None:
        """Raise ConfigError for an unknown loss, a parameter it does not take, or a value
        its declared constraint refuses (:func:`parameter_constraints`)."""
        allowed = self.parameters(name)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(
                f"loss {name!r} has no parameter(s) {unknown}; allowed: {allowed or 'none'}"
            )
        constraints = self.parameter_constraints(name)
        for parameter, value in params.items():
            if parameter in constraints:
                constraints[parameter].check(parameter, value)

    def parameter_constraints(self, name: str) -> dict[str, Constraint]:
        """The constraints loss ``name`` declares on its parameters (its class's
        ``parameter_constraints``, as config classes declare ``constraints``): checked before
        the loss is built, so ``"0.5"`` or NaN is refused by name rather than trained."""
        return dict(getattr(self.loss_class(name), "parameter_constraints", {}))

    def build(self, name: str, context=None, **params) -> nn.Module:
        self.check(name, params)
        return self._classes[name](**{self.context: context}, **params)


_CLASSIFICATION = Registry(context="class_counts")
register = _CLASSIFICATION.register
unregister = _CLASSIFICATION.unregister
available = _CLASSIFICATION.available
loss_class = _CLASSIFICATION.loss_class
loss_parameters = _CLASSIFICATION.parameters


def build(name: str, class_counts=None, **params) -> nn.Module:
    """Construct loss ``name`` for a training set with ``class_counts`` images per class."""
    _CLASSIFICATION.check(name, params)
    if class_counts is not None:
        class_counts = torch.as_tensor(class_counts, dtype=torch.float64)
        if (class_counts <= 0).any():
            raise ConfigError(f"class_counts={class_counts.tolist()} must all be positive")
    return _CLASSIFICATION.build(name, class_counts, **params)
