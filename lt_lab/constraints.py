"""Parameter constraints, declared once per config class and checked in one place.

As scikit-learn's ``_parameter_constraints``: a config class maps each field to a
constraint, and :meth:`lt_lab.config.Config.validate` checks them all. Every failure is a
:class:`~lt_lab.errors.ConfigError` that names the parameter and says what would be valid::

    constraints = {
        "imbalance_ratio": Interval(float, 1, None),          # a number >= 1
        "epochs": Interval(int, 1, None),                      # an integer >= 1
        "loss": Options(lambda: losses.available()),           # one of the registered names
        "lr_milestones": Fractions(),                          # a list of fractions in (0, 1]
        "n_max": Optional(Interval(int, 1, None)),             # None or an integer >= 1
    }

Choices may be given as a callable, so a constraint can name a registry that is filled
later (method families register their losses and analyses on import).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lt_lab.errors import ConfigError, check_choice


class Constraint:
    """Checks one parameter; ``check`` raises :class:`ConfigError` naming it."""

    def check(self, name: str, value) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def quoted_number(value) -> bool:
    """Whether ``value`` is a number in quotes (``"100"``: a papermill or JSON slip)."""
    if not isinstance(value, str):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _bound(value: float) -> str:
    return str(value) if float(value).is_integer() else f"{value:g}"


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: finite, but no config wants it
        return False


def too_large(value) -> bool:
    """Whether ``value`` is an integer beyond a float's range (``10**400``)."""
    return isinstance(value, int) and not isinstance(value, bool) and not _finite(value)


def shown(value, length: int = 40) -> str:
    """``repr(value)``, its middle left out past ``length`` characters (a 400-digit number
    in a message hides the parameter it names)."""
    text = repr(value)
    if len(text) <= length:
        return text
    return f"{text[:length // 2]}...{text[-8:]} ({len(text)} characters)"


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of ``kind`` (int or float) in ``[low, high]`` (open ends where ``closed``
    says so); ``None`` for no bound. An int is accepted where a float is asked for, never a
    bool, NaN or an infinity. ``why``: a reason added to the message (e.g. a bound's cause)."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"
    why: str = ""

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.closed in ('both', 'left') else '>'} {_bound(self.low)}")
        if self.high is not None:
            parts.append(f"{'<=' if self.closed in ('both', 'right') else '<'} "
                         f"{_bound(self.high)}")
        return f"{what} {' and '.join(parts)}".strip()

    def allows(self, value) -> bool:
        ok_type = (isinstance(value, int) and not isinstance(value, bool) if self.kind is int
                   else _is_number(value))
        if not ok_type or not _finite(value):
            return False
        low_ok = (self.low is None or value > self.low
                  or (value == self.low and self.closed in ("both", "left")))
        high_ok = (self.high is None or value < self.high
                   or (value == self.high and self.closed in ("both", "right")))
        return low_ok and high_ok

    def check(self, name: str, value) -> None:
        if not self.allows(value):
            hint = " (written without quotes)" if quoted_number(value) else ""
            why = f" ({self.why})" if self.why else ""
            if too_large(value):
                raise ConfigError(f"{name}={shown(value)} is too large: beyond a float's range "
                                  f"(about 1.8e308); it must be {self.describe()}{why}")
            raise ConfigError(f"{name}={value!r} must be {self.describe()}{why}{hint}")


@dataclass(frozen=True)
class Options(Constraint):
    """One of ``choices`` (an iterable, or a callable returning one)."""

    choices: Iterable | Callable[[], Iterable]

    def allowed(self) -> list:
        return list(self.choices() if callable(self.choices) else self.choices)

    def check(self, name: str, value) -> None:
        check_choice(name, value, self.allowed())


@dataclass(frozen=True)
class Optional(Constraint):
    """``None``, or a value that passes ``inner``."""

    inner: Constraint

    def check(self, name: str, value) -> None:
        if value is not None:
            self.inner.check(name, value)


@dataclass(frozen=True)
class Sequence(Constraint):
    """A list (or tuple) of items that each pass ``item``, at least ``min_length`` of them.

    A bare string or number is refused as a whole (``"0.5"`` is not a list), not item by
    item. ``what`` names the items in the message, ``example`` shows a valid value.
    """

    item: Interval
    what: str
    example: str
    min_length: int = 0

    def check(self, name: str, value) -> None:
        ok = (isinstance(value, (list, tuple)) and len(value) >= self.min_length
              and all(self.item.allows(v) for v in value))
        if not ok:
            least = f" (at least {self.min_length})" if self.min_length else ""
            raise ConfigError(f"{name}={value!r} must be a list of {self.what}{least}, "
                              f"e.g. {self.example}")


def Fractions() -> Sequence:  # noqa: N802 - reads as the constraint it builds
    """A list of fractions of training in (0, 1] (schedule points such as lr milestones)."""
    return Sequence(Interval(float, 0, 1, closed="right"),
                    "fractions of training in (0, 1]", "[0.8, 0.9]")


@dataclass(frozen=True)
class Flag(Constraint):
    """``True`` or ``False``."""

    def check(self, name: str, value) -> None:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value!r} must be true or false")


@dataclass(frozen=True)
class Mapping(Constraint):
    """A dict with string keys (its contents are checked by whoever reads it)."""

    def check(self, name: str, value) -> None:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{name}={value!r} must be a mapping of parameter names to values")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={value!r} must hold JSON values only (numbers, "
                              "strings, lists, mappings)") from None
