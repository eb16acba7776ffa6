"""Chapter 2's readings of run records: post-hoc logit adjustment as a curve over τ.

Records keep their post-hoc test metrics under ``extras["posthoc"]`` (see
:mod:`lt_lab.margins.posthoc`), read only through :func:`~lt_lab.margins.posthoc.posthoc_view`,
and, with a validation split, the validation balanced accuracy under ``extras["posthoc_val"]``
(:func:`validation_taus`: τ chosen per seed, off the test set).
"""

from __future__ import annotations

import numpy as np

from lt_lab.errors import ConfigError
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


def validation_taus(records: list[dict], taus) -> list[float]:
    """Per record, the τ of ``taus`` with the best *validation* balanced accuracy (the first
    on ties): τ chosen seed by seed without looking at the test set. The records need a
    validation split (``val_per_class > 0``) and ``analyses={"posthoc": {"taus": ...}}``."""
    taus, chosen = list(taus), []
    for record in records:
        stored = record.get("extras", {}).get("posthoc_val", {})
        missing = [tau for tau in taus if f"{tau:g}" not in stored]
        if missing:
            raise ConfigError(f"record {record.get('key')} has no validation post-hoc metrics "
                              f"at tau={missing[0]:g}; train it with val_per_class > 0 and "
                              f"analyses={{'posthoc': {{'taus': [..., {missing[0]:g}]}}}}")
        scores = [stored[f"{tau:g}"]["balanced_acc"] for tau in taus]
        chosen.append(taus[int(np.argmax(scores))])
    return chosen
