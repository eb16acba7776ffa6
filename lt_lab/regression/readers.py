"""What chapter 5 reads from regression run records, through accessors.

A regression record holds test ``metrics`` (overall and per shot region: ``mae``,
``few_shot_mae``, ``gm``, ``mse``, ...), ``train_metrics`` (the same on the skewed training
set), for a two-stage run ``base_metrics`` and ``base_train_metrics`` (its stage 1),
``per_bin`` lists (training count, LDS-smoothed density, test error), the label
``bins``, ``curves`` over epochs and the ``data`` sizes. A chapter reads them with the
functions here, never by nested keys, so a change of the record layout is one edit.
"""

from __future__ import annotations

import math

import numpy as np

from lt_lab.errors import check_choice
from lt_lab.regression.bins import LabelBins
from lt_lab.stats import format_mean_sd

# Where each split's metrics live; "base" and "base_train": stage 1 of a two-stage run
# (lt_lab.regression.retrain), on the test and the training set.
SPLITS = {"test": "metrics", "train": "train_metrics", "base": "base_metrics",
          "base_train": "base_train_metrics"}
PER_BIN = ("train_count", "region", "lds_density", "test_mae", "test_mse")
REGIONS = {"all": "", "many": "many_shot_", "medium": "medium_shot_", "few": "few_shot_"}


def metric(record: dict, name: str, split: str = "test"):
    """One metric of a run: on the balanced test set (``split="test"``: ``"mae"``,
    ``"few_shot_mae"``, ``"gm"``, ...) or the skewed training set (``"train"``: ``"mse"``,
    ``"mae"``); ``"base"``/``"base_train"``: the same for stage 1 of a two-stage run. None
    for an empty shot region."""
    check_choice("split", split, SPLITS)
    return record[SPLITS[split]][name]


def by_seed(records: list[dict], name: str, split: str = "test") -> dict:
    """``{seed: metric}`` over the records (the seeds of one method)."""
    return {r["seed"]: metric(r, name, split) for r in records}


def reduction(records: list[dict], baseline: list[dict], name: str,
              split: str = "test") -> list[float]:
    """Per seed present in both: ``100 * (baseline - method) / baseline``, the reduction of a
    metric in % of the baseline's. Seeds where either is missing (None), or the baseline is
    not positive, are left out."""
    new, old = by_seed(records, name, split), by_seed(baseline, name, split)
    return [100 * (old[s] - new[s]) / old[s] for s in new
            if s in old and old[s] is not None and new[s] is not None and old[s] > 0]


def stage_reduction(records: list[dict], name: str) -> list[float]:
    """Per two-stage run: ``100 * (stage 1 - stage 2) / stage 1`` of test metric ``name``,
    the reduction the retrained regressor brings over its own vanilla base (same seed)."""
    pairs = [(metric(r, name, "base"), metric(r, name)) for r in records]
    return [100 * (old - new) / old for old, new in pairs
            if old is not None and new is not None and old > 0]


def mean_metric(records: list[dict], name: str, split: str = "test") -> float:
    """The mean of metric ``name`` over ``records`` (the seeds of one method), as the
    chapter's tables show it; NaN where no record has it (e.g. a region empty at ``smoke``)."""
    values = [value for value in (metric(r, name, split) for r in records) if value is not None]
    return float(np.mean(values)) if values else math.nan


def margin_over_best(records: list[dict], others: list[list[dict]], name: str) -> list[float]:
    """Per seed: the method's metric minus the smallest of the ``others``' (each a list of
    records), for seeds where every one of them has a value. Negative: the method is best."""
    mine, theirs = by_seed(records, name), [by_seed(group, name) for group in others]
    return [mine[s] - min(other[s] for other in theirs) for s in mine
            if mine[s] is not None and all(other.get(s) is not None for other in theirs)]


def per_bin(record: dict, field: str) -> np.ndarray:
    """One per-bin list of a run (``"train_count"``, ``"lds_density"``, ``"test_mae"``,
    ``"test_mse"``) as floats; NaN for a bin without test samples."""
    check_choice("field", field, PER_BIN[:1] + PER_BIN[2:])
    return np.array([np.nan if v is None else v for v in record["per_bin"][field]], dtype=float)


def per_bin_errors(records: list[dict], field: str = "test_mae") -> np.ndarray:
    """``field`` per bin, one row per record (seeds × bins)."""
    return np.array([per_bin(r, field) for r in records], dtype=float)


def label_bins(record: dict) -> LabelBins:
    """The label bins a run was evaluated with (their ``centres`` and ``width``)."""
    return LabelBins(**record["bins"])


def density_correlations(records: list[dict], field: str = "test_mae"):
    """Per seed: Pearson r of the per-bin test error with the training count, with the
    LDS-smoothed density, and with the bin's position in the label range (its index), over
    the bins every record has an error for."""
    import pandas as pd

    count, density = per_bin(records[0], "train_count"), per_bin(records[0], "lds_density")
    position = np.arange(len(count), dtype=float)
    error = per_bin_errors(records, field)
    valid = ~np.isnan(error).any(0)

    def r(k, x):
        return np.corrcoef(error[k][valid], x[valid])[0, 1]

    return pd.DataFrame([
        {"seed": record["seed"], "r(error, count)": r(k, count),
         "r(error, smoothed density)": r(k, density), "r(error, bin position)": r(k, position)}
        for k, record in enumerate(records)]).set_index("seed")


def thinned_bins(record: dict) -> list[int]:
    """The bins ``exp_dips`` thinned to a quarter (b ≡ 2 mod 4) that have a neighbour on
    both sides; none for another label profile, ρ = 1, or a natural data set."""
    from lt_lab.regression.data import DIP_EVERY, DIP_OFFSET

    config, bins = record["config"], label_bins(record).num_bins
    if config.get("label_profile") != "exp_dips" or (config.get("imbalance_ratio") or 1) <= 1:
        return []
    return [b for b in range(DIP_OFFSET, bins - 1, DIP_EVERY)]


def dip_errors(records: list[dict], field: str = "test_mae"):
    """Per seed: the mean per-bin test error of the thinned bins and of their two neighbours
    (a quarter of the images, the same place in the label range); and the ratio of their
    training counts."""
    import pandas as pd

    dips = thinned_bins(records[0])
    neighbours = [b + side for b in dips for side in (-1, 1)]
    count = per_bin(records[0], "train_count")
    rows = [{"seed": r["seed"], "thinned bins": np.nanmean(per_bin(r, field)[dips]),
             "their neighbours": np.nanmean(per_bin(r, field)[neighbours]),
             "count ratio": count[dips].sum() / (count[neighbours].sum() / 2)}
            for r in records] if dips else []
    return pd.DataFrame(rows, columns=["seed", "thinned bins", "their neighbours",
                                       "count ratio"]).set_index("seed")


def correlation_gap(correlations) -> list[float]:
    """Per seed: ``|r(error, smoothed density)| - |r(error, count)|`` of
    :func:`density_correlations` (positive: the smoothed density predicts the error better)."""
    return [abs(row["r(error, smoothed density)"]) - abs(row["r(error, count)"])
            for _, row in correlations.iterrows()]


def curve(record: dict, name: str) -> list:
    """One curve of a run over its evaluation epochs (``"train_mse"``, ``"test_mse"``,
    ``"noise_sigma"``, ...); ``curve(record, "eval_epoch")`` gives the epochs."""
    return record["curves"][name]


def final_sigma(record: dict) -> float | None:
    """Balanced MSE's learned noise scale σ at the end of training (None for other losses)."""
    return curve(record, "noise_sigma")[-1]


def retrain_sigma(record: dict) -> float | None:
    """σ at the end of a two-stage run's second stage (None without a learned σ)."""
    return record["curves"]["retrain"]["noise_sigma"][-1]


def train_size(record: dict) -> int:
    """How many training samples the run saw (its data set's size)."""
    return record["data"]["train_size"]


def regions_table(runs: dict[str, list[dict]], name: str, title: str, unit: str):
    """One row per method: metric ``name`` overall and per shot region (many, medium, few),
    mean ± sd over its seeds, in ``unit``."""
    import pandas as pd

    rows = []
    for method, records in runs.items():
        row = {"method": method}
        for region, prefix in REGIONS.items():
            row[f"{title} {region} ({unit})"] = format_mean_sd(
                [metric(r, prefix + name) for r in records], scale=1, digits=2)
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def sigma_table(runs: list[tuple], unit: str):
    """One row per ``(method, σ at start or None, record)``: σ learned, balanced test MSE,
    training-set MSE and few-shot MAE of that run."""
    import pandas as pd

    rows = []
    for method, start, record in runs:
        few = metric(record, "few_shot_mae")
        rows.append({
            "method": method, f"σ at start ({unit})": "—" if start is None else f"{start:g}",
            f"σ learned ({unit})": "—" if start is None else f"{final_sigma(record):.2f}",
            f"balanced test MSE ({unit}²)": f"{metric(record, 'mse'):.1f}",
            f"training-set MSE ({unit}²)": f"{metric(record, 'mse', 'train'):.2f}",
            f"few-shot MAE ({unit})": "—" if few is None else f"{few:.2f}"})
    return pd.DataFrame(rows).set_index(["method", f"σ at start ({unit})"])


def sampling_table(groups: dict[tuple[str, str], list[dict]], unit: str = "units"):
    """One row per ``(sampling, loss)`` group of runs: its training-set size and the
    balanced, many-shot and few-shot test MSE, mean ± sd over its seeds."""
    import pandas as pd

    rows = []
    for (sampling, loss), records in groups.items():
        row = {"sampling": sampling, "loss": loss, "training samples": train_size(records[0])}
        for name, title in (("mse", "balanced test MSE"), ("many_shot_mse", "many-shot MSE"),
                            ("few_shot_mse", "few-shot MSE")):
            row[f"{title} ({unit}²)"] = format_mean_sd([metric(r, name) for r in records],
                                                       scale=1, digits=2)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["sampling", "loss"])


def _stages(records: list[dict], name: str, splits: tuple[str, str]) -> str:
    """``"a ± s → b ± s"``: metric ``name`` in the two ``splits``, mean ± sd over seeds."""
    return " → ".join(format_mean_sd([metric(r, name, split) for r in records], scale=1,
                                     digits=2) for split in splits)


def two_stage_table(runs: dict[str, list[dict]], unit: str):
    """One row per two-stage method: its stage-1 base → its retrained regressor (balanced
    test MSE, few-shot MAE, training-set MSE; mean ± sd over its seeds), and σ at the end."""
    import pandas as pd

    return pd.DataFrame([{
        "method": method,
        f"balanced test MSE ({unit}²)": _stages(records, "mse", ("base", "test")),
        f"few-shot MAE ({unit})": _stages(records, "few_shot_mae", ("base", "test")),
        f"training-set MSE ({unit}²)": _stages(records, "mse", ("base_train", "train")),
        f"σ at the end ({unit})": format_mean_sd([retrain_sigma(r) for r in records], scale=1,
                                                 digits=2),
    } for method, records in runs.items()]).set_index("method")
