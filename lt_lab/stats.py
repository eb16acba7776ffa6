"""Summaries over seeds: mean and spread, paired differences, rank correlation; and the
accessors through which chapters read run records (:func:`select`, :func:`metric_values`...)."""

from __future__ import annotations

import math
import statistics

import numpy as np


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


def paired_differences(records_a: list[dict], records_b: list[dict], metric: str,
                       scale: float = 100) -> list[float]:
    """``scale * (a - b)`` for each training seed present in both lists (points by default)."""
    by_seed_b = {r["seed"]: r for r in records_b}
    return [scale * (a["metrics"][metric] - by_seed_b[a["seed"]]["metrics"][metric])
            for a in records_a if a["seed"] in by_seed_b]


# --- reading records -------------------------------------------------------------------
# A run record is a nested dict (see lt_lab.train.make_record); chapters read it through
# these accessors rather than by string keys, so that a change of the record's layout
# breaks here, under test, and not in a notebook.


def select(records: list[dict], **fields) -> list[dict]:
    """The records whose config has every one of ``fields``, in their order.

    ``select(records, imbalance_ratio=100, subset_seed=0)``.
    """
    return [r for r in records
            if all(r["config"][name] == value for name, value in fields.items())]


def group_by(records: list[dict], field: str) -> dict:
    """The records by the value of config field ``field``, in order of first appearance."""
    groups: dict = {}
    for record in records:
        groups.setdefault(record["config"][field], []).append(record)
    return groups


def metric_values(records: list[dict], metric: str, scale: float = 100) -> list:
    """``scale * metric`` of each record (percent by default); a missing value stays None."""
    values = [r["metrics"][metric] for r in records]
    return [None if v is None else scale * v for v in values]


def mean_metric(records: list[dict], metric: str, scale: float = 100) -> float:
    """The mean of ``scale * metric`` over the records (percent by default)."""
    return float(np.mean([scale * r["metrics"][metric] for r in records]))


def best_by_mean(records_by_name: dict[str, list[dict]], names, metric: str) -> str:
    """Of ``names``, the one whose records have the highest mean ``metric`` (first on ties)."""
    return max(names, key=lambda name: mean_metric(records_by_name[name], metric, scale=1))


def paired_comparison(records_by_name: dict[str, list[dict]], metric: str, scale: float = 100):
    """A function ``(a, b) -> paired_differences(records_by_name[a], records_by_name[b])``.

    ``differences = paired_comparison(runs, "balanced_acc")`` then reads
    ``differences("CB-focal", "CE")``: CB-focal minus CE, seed by seed, in points.
    """
    def differences(a: str, b: str) -> list[float]:
        return paired_differences(records_by_name[a], records_by_name[b], metric, scale)

    differences.__doc__ = f"{scale:g} × ({metric} of a − {metric} of b) for each shared seed."
    return differences


def class_drop(records_a: list[dict], records_b: list[dict], classes,
               scale: float = 100) -> list[float]:
    """Per-class accuracy of ``a`` minus ``b``, averaged over ``classes``, for each shared seed.

    E.g. ``a`` the balanced runs and ``b`` the long-tailed ones of the same seeds: how much
    the classes ``classes`` lose to the imbalance, in points.
    """
    classes = list(classes)
    by_seed_b = {r["seed"]: r for r in records_b}
    drops = []
    for a in records_a:
        if a["seed"] not in by_seed_b:
            continue
        b = by_seed_b[a["seed"]]
        drops.append(scale * sum(a["per_class_acc"][c] - b["per_class_acc"][c]
                                 for c in classes) / len(classes))
    return drops


def frequency_correlation(records: list[dict]) -> list[float]:
    """For each record, Spearman's correlation of class size and class test accuracy."""
    return [spearman(r["class_counts"], r["per_class_acc"]) for r in records]


def selection_optimism(records: list[dict], curve: str = "test_balanced_acc",
                       metric: str = "balanced_acc", scale: float = 100) -> list[float]:
    """For each record, the best value of ``curve`` over the evaluated epochs minus the last
    epoch's ``metric`` (points): what choosing the epoch on the test set would add."""
    return [scale * (max(r["curves"][curve]) - r["metrics"][metric]) for r in records]


def shot_labels(class_counts, many_threshold: int = 100, few_threshold: int = 20) -> list[str]:
    """The shot group ("many", "medium" or "few") of each class, in class order.

    The groups of :func:`lt_lab.metrics.shot_groups`, read per class.
    """
    from lt_lab.metrics import shot_groups

    groups = shot_groups(list(class_counts), many_threshold, few_threshold)
    return [next(name for name, members in groups.items() if c in members)
            for c in range(len(class_counts))]


CONFIDENCE = 0.95  # of every interval in the book


def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student-t quantile: ``t_{(1+confidence)/2, df}`` (4.303 at df = 2)."""
    from scipy import stats

    return float(stats.t.ppf((1 + confidence) / 2, df))


def mean_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Student-t interval of the mean of ``values`` (at least two)."""
    n = len(values)
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    half = t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    return mean - half, mean + half
