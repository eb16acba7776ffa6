"""What chapter 4 reads from run records: collapse snapshots, curves, minority cosines, the
simulator's metrics and geometry, and the summaries the chapter tabulates.

A chapter reads records through these accessors, never by nested keys, so a change of the
record layout is one edit here.
"""

from __future__ import annotations

import numpy as np

from lt_lab.collapse.metrics import (
    mean_pairwise_cosine,
    minority_to_majority_cosine,
    nearest_majority,
)
from lt_lab.errors import ConfigError, check_choice
from lt_lab.stats import format_mean_sd


def snapshots(record: dict) -> list[dict]:
    """The neural-collapse snapshots of a training run's record (the ``collapse`` analysis)."""
    found = record.get("extras", {}).get("collapse")
    if not found:
        raise ConfigError(f"record {record.get('key')} has no collapse snapshots; train it "
                          "with analyses={'collapse': {'every': k}}")
    return found


def collapse_curve(records: list[dict], metric: str):
    """``(epochs, values)``: ``metric`` at each snapshot, one row of ``values`` per record."""
    epochs = [s["epoch"] for s in snapshots(records[0])]
    values = np.array([[s[metric] for s in snapshots(r)] for r in records], dtype=float)
    return epochs, values


def final_minority_cosine(record: dict, minority, of: str = "classifier") -> float:
    """Minority collapse at the last snapshot: mean pairwise cosine of the minority classes'
    classifier rows (``of="classifier"``) or centred feature means (``of="means"``)."""
    check_choice("of", of, ("classifier", "means"))
    key = "classifier_cosines" if of == "classifier" else "mean_cosines"
    return mean_pairwise_cosine(snapshots(record)[-1][key], minority)


def final_minority_to_majority(record: dict, minority, of: str = "means") -> float:
    """At the last snapshot: the mean over minority classes of each one's largest cosine with
    a majority class, between centred feature means (``of="means"``) or classifier rows
    (:func:`lt_lab.collapse.metrics.minority_to_majority_cosine`). Read from the stored
    cosine matrices, so no run retrains for it."""
    return minority_to_majority_cosine(cosines(record, of), minority)


def look_alikes(record: dict, minority, of: str = "means"):
    """A table indexed by minority class: the majority class each is most aligned with at
    the end of training, and their cosine (``of``: feature means or classifier rows)."""
    import pandas as pd

    names = record.get("class_names") or [str(c) for c in range(len(cosines(record, of)))]
    rows = nearest_majority(cosines(record, of), minority)
    return pd.DataFrame({"nearest majority class": [names[k] for _, k, _ in rows],
                         "cosine": [round(cos, 3) for *_, cos in rows]},
                        index=pd.Index([names[c] for c, _, _ in rows], name="minority class"))


def threshold_ratio(ratios, cosines, level: float):
    """The smallest ratio whose minority cosine exceeds ``level`` (our R*), or None."""
    for ratio, cosine in sorted(zip(ratios, cosines, strict=True)):
        if cosine > level:
            return ratio
    return None


def last_snapshot(record: dict) -> dict:
    """The last neural-collapse snapshot of a training run (its ``epoch``, NC1–NC4, cosines)."""
    return snapshots(record)[-1]


def final_value(record: dict, metric: str) -> float:
    """``metric`` (``"nc1"``, ``"nc4"``, ``"accuracy"``, ...) at the last snapshot."""
    return last_snapshot(record)[metric]


def last_over_first(records: list[dict], metric: str) -> list[float]:
    """Per record: ``metric`` at the last snapshot divided by its value at the first."""
    return [snapshots(r)[-1][metric] / snapshots(r)[0][metric] for r in records]


def final_geometry(record: dict) -> dict:
    """The geometry at the end: a simulator (``ufm``) record's solution, or a training run's
    last snapshot. Holds ``classifier_cosines``, ``mean_cosines`` and the norms."""
    if record.get("kind") == "ufm":
        return record["geometry"]
    return last_snapshot(record)


def cosines(record: dict, of: str = "classifier") -> np.ndarray:
    """The ``C x C`` cosine matrix at the end, between the classifier rows
    (``of="classifier"``) or the centred class means (``of="means"``)."""
    check_choice("of", of, ("classifier", "means"))
    key = "classifier_cosines" if of == "classifier" else "mean_cosines"
    return np.asarray(final_geometry(record)[key], dtype=float)


def classifier_norms(record: dict) -> np.ndarray:
    """The length of each class's classifier row at the end."""
    return np.asarray(final_geometry(record)["classifier_norms"], dtype=float)


def max_off_diagonal(matrix) -> float:
    """The largest ``|cos|`` between two different rows of a cosine matrix (0: orthogonal)."""
    matrix = np.abs(np.asarray(matrix, dtype=float))
    return float(matrix[~np.eye(len(matrix), dtype=bool)].max())


def ufm_metric(record: dict, name: str) -> float:
    """One metric of a simulator record (``"nc1"``, ``"minority_cosine"``, ...)."""
    return record["metrics"][name]


def ratio_sweep(records_by_ratio: dict, name: str) -> np.ndarray:
    """``ufm_metric`` over a sweep: one row per ratio (in the dict's order), one column per
    record (seed)."""
    return np.array([[ufm_metric(r, name) for r in records]
                     for records in records_by_ratio.values()], dtype=float)


def etf_error(record: dict) -> float:
    """How far a simulator solution is from a self-dual simplex ETF: the largest of the
    classifier's equiangularity and equinorm (NC2) and of NC3 (0 at the ETF)."""
    return max(ufm_metric(record, "equiangularity_classifier"),
               ufm_metric(record, "equinorm_classifier"), ufm_metric(record, "nc3"))


def minority_accuracy(record: dict, minority) -> float:
    """Mean test accuracy (fraction) of the ``minority`` classes."""
    return float(np.mean([record["per_class_acc"][c] for c in minority]))


def with_final_state(records: list[dict], minority) -> list[dict]:
    """The records with chapter 4's end-of-training quantities added to their ``metrics``:
    ``minority_cosine`` (classifier rows), ``minority_mean_cosine`` (centred feature means),
    ``minority_to_majority_cosine`` (feature means, :func:`final_minority_to_majority`) and
    ``minority_acc`` (test accuracy, fraction), so that
    :func:`lt_lab.stats.paired_differences` compares them seed by seed."""
    return [{**r, "metrics": {
        **r["metrics"],
        "minority_cosine": final_minority_cosine(r, minority),
        "minority_mean_cosine": final_minority_cosine(r, minority, "means"),
        "minority_to_majority_cosine": final_minority_to_majority(r, minority),
        "minority_acc": minority_accuracy(r, minority)}}
        for r in records]


def paired_measures(runs: dict[str, list[dict]], minority,
                    pairs: dict[str, tuple]) -> dict[str, list[float]]:
    """``{name: scale * (metric of a - metric of b)}`` seed by seed at the end of training,
    for each ``name: (a, b, metric, scale)`` of ``pairs`` whose groups ``a`` and ``b`` are both
    in ``runs`` (the others are left out: a column of evidence may hold only some groups).
    ``metric``: a record metric or one of :func:`with_final_state`'s."""
    from lt_lab.stats import paired_differences

    final = {name: with_final_state(records, minority) for name, records in runs.items()}
    return {name: paired_differences(final[a], final[b], metric, scale=scale)
            for name, (a, b, metric, scale) in pairs.items() if a in final and b in final}


def terminal_phase(records: list[dict]):
    """How far the runs got towards the terminal phase, one column a seed: training error at
    the last snapshot, the first snapshot epoch at >= 99 % training accuracy, NC1 and NC2's
    equiangularity at the last snapshot over the first, and NC4 at the last, in %."""
    import pandas as pd

    first_99 = [next((s["epoch"] for s in snapshots(r) if s["accuracy"] >= 0.99), "not reached")
                for r in records]
    return pd.DataFrame({
        "training error at the end (%)": [100 * (1 - final_value(r, "accuracy"))
                                          for r in records],
        "first epoch at ≥ 99 % training accuracy": first_99,
        "NC1, last / first": last_over_first(records, "nc1"),
        "NC2 equiangularity, last / first": last_over_first(records, "equiangularity_means"),
        "NC4 at the end (%)": [100 * final_value(r, "nc4") for r in records],
    }, index=[f"seed {r['seed']}" for r in records]).T


def summary(records: list[dict], minority) -> dict[str, str]:
    """Mean ± sd over the records of the minority geometry, NC1, training and test accuracy."""
    values = {
        "minority cosine, classifier rows": [final_minority_cosine(r, minority) for r in records],
        "minority cosine, feature means": [final_minority_cosine(r, minority, "means")
                                           for r in records],
        "minority-to-majority cosine, feature means": [final_minority_to_majority(r, minority)
                                                       for r in records],
        "NC1 (last epoch)": [final_value(r, "nc1") for r in records],
        "training accuracy (%)": [100 * final_value(r, "accuracy") for r in records],
        "minority test accuracy (%)": [100 * minority_accuracy(r, minority) for r in records],
        "balanced test accuracy (%)": [100 * r["metrics"]["balanced_acc"] for r in records],
    }
    return {name: format_mean_sd(v, scale=1, digits=3 if "cosine" in name else 1)
            for name, v in values.items()}


def summary_table(runs: dict[str, list[dict]], minority):
    """:func:`summary` for each named group of runs, with its step ratio and run count."""
    import pandas as pd

    table = pd.DataFrame({name: summary(records, minority) for name, records in runs.items()}).T
    table.insert(0, "step ratio R", [records[0]["config"]["imbalance_ratio"]
                                     for records in runs.values()])
    table.insert(1, "runs", [len(records) for records in runs.values()])
    return table


def mean_metrics_table(records: list[dict], names: dict[str, str], label: str):
    """One row, ``label``: the mean over the (simulator) records of each metric in ``names``
    (metric -> column title), in scientific notation."""
    import pandas as pd

    return pd.DataFrame({title: [f"{np.mean([ufm_metric(r, name) for r in records]):.1e}"]
                         for name, title in names.items()}, index=[label])
