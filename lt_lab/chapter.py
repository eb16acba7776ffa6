"""What chapter notebooks share: parameter checks, seed summaries, rank correlation.

Notebooks keep their code cells short by calling these; the heavy lifting stays in
``lt_lab.train`` and friends.
"""

from __future__ import annotations

import math
import os

import numpy as np

from lt_lab.config import PROFILES
from lt_lab.errors import ConfigError, DataUnavailableError, check_choice, check_positive

CACHE_ENV = "LT_LAB_CACHE"  # "0" turns the results cache off for every chapter


def check_parameters(
    *, profile: str, dataset: str, imbalance_ratio: float, seeds, device: str = "auto",
    subset_seeds=(0,), **extra_ratios,
) -> None:
    """Stop a chapter in its first code cell when a parameter is wrong or data is missing."""
    from lt_lab.data.sources import DATASETS, load_dataset
    from lt_lab.train import resolve_device

    check_choice("profile", profile, PROFILES)
    check_choice("dataset", dataset, DATASETS)
    check_positive("imbalance_ratio", imbalance_ratio, minimum=1, inclusive=True)
    for name, ratios in extra_ratios.items():
        for ratio in ratios:
            check_positive(name, ratio, minimum=1, inclusive=True)
    for name, values in (("seeds", seeds), ("subset_seeds", subset_seeds)):
        if not values or not all(isinstance(s, int) and s >= 0 for s in values):
            raise ConfigError(f"{name}={values!r} must be a non-empty list of integers >= 0")
    resolve_device(device)
    try:
        load_dataset(dataset)
    except DataUnavailableError as error:
        raise DataUnavailableError(f"dataset={dataset!r} is not available here. {error}") from None


def use_cache(requested: bool) -> bool:
    """The notebook's ``use_cache`` unless ``$LT_LAB_CACHE=0`` turns the cache off."""
    return requested and os.environ.get(CACHE_ENV, "1") != "0"


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value), NaNs dropped."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def format_mean_sd(values, scale: float = 100, digits: int = 1) -> str:
    """``"64.6 ± 1.2"`` (in percent by default); ``"—"`` when there is nothing to show."""
    mean, sd = mean_sd(values)
    if math.isnan(mean):
        return "—"
    return f"{scale * mean:.{digits}f} ± {scale * sd:.{digits}f}"


def summary_table(records: list[dict], by: str, metrics: dict[str, str]):
    """One row per value of config field ``by``: each metric as mean ± sd over its records.

    ``metrics`` maps a record metric name to a column title (put the unit in the title).
    """
    import pandas as pd

    groups: dict = {}
    for record in records:
        groups.setdefault(record["config"][by], []).append(record)
    rows = []
    for value, group in groups.items():
        row = {by: value, "runs": len(group)}
        for name, title in metrics.items():
            row[title] = format_mean_sd([r["metrics"][name] for r in group])
        rows.append(row)
    return pd.DataFrame(rows).set_index(by)


def rank(values) -> np.ndarray:
    """Ranks from 1, ties given their average rank."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation: the Pearson correlation of the ranks."""
    rx, ry = rank(x), rank(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


# One tau grid for post-hoc logit adjustment, shared by the chapters that evaluate plain CE
# models this way, so that they share the CE runs (the grid is part of the run's config).
POSTHOC_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def paired_differences(records_a: list[dict], records_b: list[dict], metric: str,
                       scale: float = 100) -> list[float]:
    """``scale * (a - b)`` for each training seed present in both lists (points by default)."""
    by_seed_b = {r["seed"]: r for r in records_b}
    return [scale * (a["metrics"][metric] - by_seed_b[a["seed"]]["metrics"][metric])
            for a in records_a if a["seed"] in by_seed_b]


def method_table(records_by_method: dict[str, list[dict]], metrics: dict[str, str]):
    """One row per method: each metric as mean ± sd over its records (percent)."""
    import pandas as pd

    rows = []
    for method, records in records_by_method.items():
        row = {"method": method, "runs": len(records)}
        for name, title in metrics.items():
            row[title] = format_mean_sd([r["metrics"][name] for r in records])
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def posthoc_view(records: list[dict], tau: float) -> list[dict]:
    """The records as if their predictions were post-hoc adjusted with ``tau``.

    Each copy's ``metrics`` and ``per_class_acc`` are those of ``argmax z - tau log pi``,
    stored in the run (its config must list ``tau`` in ``posthoc_taus``).
    """
    views = []
    for record in records:
        adjusted = dict(record["extras"]["posthoc"][f"{tau:g}"])
        per_class = adjusted.pop("per_class_acc")
        views.append({**record, "metrics": adjusted, "per_class_acc": per_class})
    return views
