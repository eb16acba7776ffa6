"""Analyses: what a run computes besides training, plugged in by name like losses.

A method family adds an analysis by subclassing :class:`Analysis` and registering it::

    @register_analysis("collapse")
    class CollapseSnapshots(Analysis):
        def __init__(self, every: int): ...
        def on_epoch_end(self, state): state.extras.setdefault("collapse", []).append(...)

A config asks for it with ``analyses={"collapse": {"every": 3}}``; the parameters are
checked against the constructor's signature, as loss parameters are. The trainer calls
``on_epoch_end(state)`` after every epoch and ``after_fit(state)`` once training is over,
and stores ``state.extras`` in the run record. It knows no analysis by name, so a new
chapter adds a package and a notebook and touches neither ``fit`` nor the config base.
"""

from __future__ import annotations

import inspect
from collections.abc import MutableMapping
from typing import ClassVar

from lt_lab.errors import ConfigError, check_choice
from lt_lab.plugins import Registered

# name -> analysis class; the families' analyses load when looked up (lt_lab.plugins)
ANALYSES: MutableMapping[str, type[Analysis]] = Registered("families")


class Analysis:
    """Base class: a no-op at every hook. ``name`` is set by :func:`register_analysis`."""

    name: ClassVar[str] = ""

    def check(self, config) -> None:
        """Raise ConfigError when ``config`` cannot run this analysis (e.g. no validation
        split for an analysis that selects on one)."""

    def on_epoch_end(self, state) -> None:
        """After each epoch: ``state`` has ``config``, ``epoch`` (from 0), ``model``, ``data``
        and ``extras`` (the dict stored in the record)."""

    def after_fit(self, state) -> None:
        """Once, after the last epoch (and its evaluation)."""


def register_analysis(name: str):
    """Class decorator: make ``analyses={name: {...}}`` build this analysis."""

    def add(cls: type[Analysis]) -> type[Analysis]:
        if ANALYSES.registered(name) not in (None, cls):
            raise ValueError(f"analysis {name!r} is registered twice")
        cls.name = name
        ANALYSES[name] = cls
        return cls

    return add


def available() -> list[str]:
    return sorted(ANALYSES)


def analysis_parameters(name: str) -> list[str]:
    check_choice("analyses", name, available())
    signature = inspect.signature(ANALYSES[name].__init__)
    return [p for p in signature.parameters if p != "self"]


def build_analysis(name: str, params: dict) -> Analysis:
    """The analysis ``name`` with ``params``, checked against its signature first."""
    allowed = analysis_parameters(name)
    if not isinstance(params, dict):
        raise ConfigError(f"analyses[{name!r}]={params!r} must be a mapping of its "
                          f"parameters ({', '.join(allowed) or 'none'})")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"analysis {name!r} has no parameter(s) {unknown}; "
                          f"allowed: {allowed or 'none'}")
    try:
        return ANALYSES[name](**params)
    except TypeError as error:  # a required parameter is missing
        raise ConfigError(f"analyses[{name!r}]: {error}; parameters: {allowed}") from None


def build_analyses(config) -> list[Analysis]:
    """The config's analyses, in name order (their results do not depend on the order)."""
    built = [build_analysis(name, config.analyses[name]) for name in sorted(config.analyses)]
    for analysis in built:
        analysis.check(config)
    return built


def check_analyses(config) -> None:
    build_analyses(config)
