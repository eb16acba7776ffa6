"""What chapter 5 reads from regression run records, through accessors.

A regression record holds test ``metrics`` (overall and per shot region: ``mae``,
``few_shot_mae``, ``gm``, ``mse``, ...), ``train_metrics`` (the same on the skewed training
set), ``per_bin`` lists (training count, LDS-smoothed density, test error), the label
``bins``, ``curves`` over epochs and the ``data`` sizes. A chapter reads them with the
functions here, never by nested keys, so a change of the record layout is one edit.
"""

from __future__ import annotations

import numpy as np

from lt_lab.errors import check_choice
from lt_lab.regression.bins import LabelBins
from lt_lab.stats import format_mean_sd

SPLITS = {"test": "metrics", "train": "train_metrics"}  # where each split's metrics live
PER_BIN = ("train_count", "region", "lds_density", "test_mae", "test_mse")
REGIONS = {"all": "", "many": "many_shot_", "medium": "medium_shot_", "few": "few_shot_"}


def metric(record: dict, name: str, split: str = "test"):
    """One metric of a run: on the balanced test set (``split="test"``: ``"mae"``,
    ``"few_shot_mae"``, ``"gm"``, ...) or the skewed training set (``"train"``: ``"mse"``,
    ``"mae"``). None for an empty shot region."""
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
    """Per seed: Pearson r of the per-bin test error with the training count and with the
    LDS-smoothed density, over the bins every record has an error for."""
    import pandas as pd

    count, density = per_bin(records[0], "train_count"), per_bin(records[0], "lds_density")
    error = per_bin_errors(records, field)
    valid = ~np.isnan(error).any(0)
    return pd.DataFrame([
        {"seed": r["seed"],
         "r(error, count)": np.corrcoef(error[k][valid], count[valid])[0, 1],
         "r(error, smoothed density)": np.corrcoef(error[k][valid], density[valid])[0, 1]}
        for k, r in enumerate(records)]).set_index("seed")


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
