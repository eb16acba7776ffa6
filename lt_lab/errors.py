"""Errors that name the parameter at fault and what it may be.

A reader who mistypes ``--loss foccal`` should learn which losses exist, not read a
traceback from deep inside torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in what the user gave (a parameter, a file, a dataset, a folder), not a bug
    in lt_lab: the command line prints its message on one line and exits with status 2.
    Every other exception is a bug there and keeps its traceback."""


class ConfigError(UserError, ValueError):
    """A parameter has a value outside the allowed ones."""


class DataUnavailableError(UserError, FileNotFoundError):
    """A dataset could be found nowhere this machine can look."""


class DataFileError(UserError, ValueError):
    """A data file exists but cannot be used (truncated, corrupt, another format): the
    message names the file and says how to fix it (usually: delete it and fetch it again)."""


class TrainingDivergedError(UserError, FloatingPointError):
    """The training loss stopped being a finite number (a learning rate too high for the
    config, usually: the message says what to change)."""


class GridError(RuntimeError):
    """Runs of a grid failed while the others trained and were stored; ``failures`` maps
    each failed run's key to its error ("ErrorType: message")."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        listed = "; ".join(f"{key}: {reason}" for key, reason in self.failures.items())
        super().__init__(f"{len(self.failures)} run(s) of the grid failed (the other "
                         f"runs are stored; a rerun trains only the missing ones): {listed}")

    def __reduce__(self):
        return type(self), (self.failures,)


def check_choice(parameter: str, value, allowed: Iterable) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{parameter}={value!r} is not known; allowed values: {listed}")


def check_positive(parameter: str, value, *, minimum: float = 0, inclusive: bool = False) -> None:
    """Raise ConfigError unless ``value`` is a finite number > minimum (>= when ``inclusive``).

    A string such as ``"100"`` (a quoted papermill parameter) is refused by name, not
    compared: a number is expected, written without quotes.
    """
    bound = f">= {minimum}" if inclusive else f"> {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str):
            try:
                hint = " (written without quotes)" if math.isfinite(float(value)) else ""
            except ValueError:
                pass
        raise ConfigError(f"{parameter}={value!r} must be a number {bound}{hint}")
    try:
        ok = math.isfinite(value) and (value >= minimum if inclusive else value > minimum)
    except OverflowError:  # an int too large for a float
        text = str(value)
        raise ConfigError(f"{parameter}={text[:12]}...({len(text)} digits) is too large: "
                          f"beyond a float's range (about 1.8e308); it must be a number "
                          f"{bound}") from None
    if not ok:
        raise ConfigError(f"{parameter}={value!r} must be a finite number {bound}")
