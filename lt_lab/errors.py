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


class SlurmUnavailableError(UserError, RuntimeError):
    """SLURM cannot be asked from this machine: its command (``squeue``, ``sbatch``) is not on
    the PATH, or does not answer. The message names the command and the jobs it was asked
    about, and where to ask instead (a login node of the cluster)."""


class GridTimeoutError(UserError, TimeoutError):
    """A SLURM grid waited for (``--wait``) is not finished after ``--wait-timeout``: its
    tasks go on, and the message gives the grid's status and how to follow it."""


class CheckpointError(UserError, RuntimeError):
    """A run's checkpoint passed its header checks (this config's key, lt_lab's format) yet
    cannot be loaded into the run (another version of lt_lab wrote it, or it is damaged):
    the message names the file and says what to do (delete it, or use another store)."""


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


class SlurmGridError(GridError):
    """Runs of a SLURM grid that ended without their record (their tasks failed, were
    cancelled or timed out); ``failures`` maps each such run's key to its task and error,
    ``status`` is the grid's status text (counts, and each failed task's log tail). The grid
    resumes: submitted again, its stored runs are skipped."""

    def __init__(self, failures: dict[str, str], status: str = ""):
        self.failures, self.status = dict(failures), status
        listed = "; ".join(f"{key}: {reason}" for key, reason in self.failures.items())
        message = (f"{len(self.failures)} run(s) of the SLURM grid ended without a record: "
                   f"{listed}. Submit the same grid again (run_grid(..., launcher=\"slurm\") "
                   "or lt-lab grid FILE --launcher slurm): its stored runs are skipped and "
                   "only these run again")
        Exception.__init__(self, message + (f"\n{status}" if status else ""))

    def __reduce__(self):
        return type(self), (self.failures, self.status)


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
