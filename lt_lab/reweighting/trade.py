"""What a recipe costs the head and gives the tail, against a reference (chapter 1).

"Reweighting trades head accuracy for tail accuracy" is a claim about every recipe; some
(over-sampling, for one) may move the tail without a head cost the seeds can show. This table
says which, recipe by recipe: the per-seed paired difference of each shot group's accuracy
against the reference run of the same seed, its mean and 95 % Student-t interval
(:func:`lt_lab.stats.mean_interval`), in points.
"""

from __future__ import annotations

import statistics

from lt_lab.stats import paired_differences

SHOT_METRICS = {"many_shot_acc": "many-shot", "few_shot_acc": "few-shot"}


def interval_text(values, digits: int = 1) -> str:
    """``"+1.2 [-0.4, +2.8]"``: the mean with its 95 % interval; the mean alone for one value,
    ``"—"`` for none."""
    from lt_lab.stats import mean_interval

    if not values:
        return "—"
    mean = f"{statistics.fmean(values):+.{digits}f}"
    if len(values) < 2:
        return mean
    low, high = mean_interval(values)
    return f"{mean} [{low:+.{digits}f}, {high:+.{digits}f}]"


def shot_differences(runs: dict[str, list[dict]], name: str, reference: str,
                     metric: str) -> list[float]:
    """``metric`` of ``name`` minus ``reference``, seed by seed, in points."""
    return paired_differences(runs[name], runs[reference], metric)


def head_cost_unclear(runs: dict[str, list[dict]], reference: str = "CE",
                      metric: str = "many_shot_acc") -> list[str]:
    """The recipes whose head change against ``reference`` has a 95 % interval containing 0
    (or too few seeds for one): the seeds cannot show that they cost the head anything."""
    from lt_lab.stats import mean_interval

    unclear = []
    for name in runs:
        if name == reference:
            continue
        values = shot_differences(runs, name, reference, metric)
        if len(values) < 2 or mean_interval(values)[0] <= 0 <= mean_interval(values)[1]:
            unclear.append(name)
    return unclear


def trade_table(runs: dict[str, list[dict]], reference: str = "CE", metrics=None):
    """One row per recipe (``reference`` left out): each shot group's accuracy minus the
    reference's, ``"mean [95 % interval]"`` over the shared seeds, in points."""
    import pandas as pd

    metrics = metrics or SHOT_METRICS
    rows = {name: {f"{title} minus {reference} (points)": interval_text(
                shot_differences(runs, name, reference, metric))
                   for metric, title in metrics.items()}
            for name in runs if name != reference}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("recipe")
