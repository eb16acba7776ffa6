"""Errors that name the parameter at fault and what it may be.

A reader who mistypes ``--loss foccal`` should learn which losses exist, not read a
traceback from deep inside torch.
"""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A parameter has a value outside the allowed ones."""


class DataUnavailableError(FileNotFoundError):
    """A dataset could be found nowhere this machine can look."""


class TrainingDivergedError(FloatingPointError):
    """The training loss stopped being a finite number."""


def check_choice(parameter: str, value, allowed: Iterable) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{parameter}={value!r} is not known; allowed values: {listed}")


def check_positive(parameter: str, value, *, minimum: float = 0, inclusive: bool = False) -> None:
    """Raise ConfigError unless ``value`` > minimum (or >= when ``inclusive``)."""
    ok = value >= minimum if inclusive else value > minimum
    if not ok:
        bound = f">= {minimum}" if inclusive else f"> {minimum}"
        raise ConfigError(f"{parameter}={value!r} must be {bound}")
