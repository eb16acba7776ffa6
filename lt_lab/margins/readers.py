"""Chapter 2's readings of run records: post-hoc logit adjustment as a curve over τ.

Records keep their post-hoc metrics under ``extras["posthoc"]`` (see
:mod:`lt_lab.margins.posthoc`); these functions read them only through
:func:`~lt_lab.margins.posthoc.posthoc_view`.
"""

from __future__ import annotations

import numpy as np

from lt_lab.margins.posthoc import posthoc_view


def posthoc_curve(records: list[dict], taus, metric: str = "balanced_acc",
                  scale: float = 100) -> np.ndarray:
    """``scale * metric`` after post-hoc adjustment, shape ``(len(records), len(taus))``:
    row ``i`` is record ``i``'s curve over ``taus`` (percent by default)."""
    return np.array([[scale * view["metrics"][metric]
                      for view in (posthoc_view([record], tau)[0] for tau in taus)]
                     for record in records], dtype=float)


def best_posthoc_tau(records: list[dict], taus, metric: str = "balanced_acc") -> float:
    """The τ of ``taus`` with the best mean ``metric`` over the records (the first on ties)."""
    taus = list(taus)
    return taus[int(np.argmax(posthoc_curve(records, taus, metric).mean(0)))]
