"""Chapter 6's readers: stored run records in, tables out (no training, no figure).

* the contrastive geometry of a run (``extras["scl_geometry"]``, :mod:`.analyses`): its last
  snapshot, or its curve over the epochs;
* the accuracies of the classifiers a run carries: the joint head (for an SCL run, its linear
  probe) and the decoupled ones of ``extras["classifier_fixes"]`` (cRT, LWS, NCM);
* the test-agnostic evaluation: the resampled metrics of ``extras["agnostic"]`` by prior, and
  the re-weighted reading of any stored record (:func:`lt_lab.beyond.agnostic.prior_table`);
* SADE's test-time aggregation (``extras["sade_aggregation"]``): the accuracy of its
  aggregated, averaged and single experts by prior, and the weights it learned.
"""

from __future__ import annotations

import pandas as pd

from lt_lab.beyond.agnostic import SADE_TEST_PRIORS, prior_accuracies
from lt_lab.errors import ConfigError

GEOMETRY = ("of_distance", "etf_distance", "etf_distance_centred")


def snapshots(record: dict, analysis: str = "scl_geometry") -> list[dict]:
    found = record.get("extras", {}).get(analysis)
    if not found:
        raise ConfigError(f"record {record.get('key')} has no {analysis!r} snapshots: train "
                          f"it with analyses={{'{analysis}': {{...}}}}")
    return found


def last_geometry(record: dict, quantity: str = "of_distance") -> float:
    """``quantity`` of the run's last geometry snapshot (its last epoch)."""
    return float(snapshots(record)[-1][quantity])


def geometry_curves(runs: dict[str, list[dict]], quantity: str = "of_distance") -> pd.DataFrame:
    """Long form, one row a (method, seed, epoch): ``quantity`` over training (for seaborn)."""
    rows = [{"method": name, "seed": record["seed"], "epoch": snap["epoch"],
             quantity: snap[quantity]}
            for name, records in runs.items() for record in records
            for snap in snapshots(record)]
    return pd.DataFrame(rows)


def geometry_table(runs: dict[str, list[dict]]) -> pd.DataFrame:
    """One row a method: the mean over its seeds of each last-epoch geometry distance."""
    return pd.DataFrame({name: {q: sum(last_geometry(r, q) for r in records) / len(records)
                                for q in GEOMETRY}
                         for name, records in runs.items()}).T.rename_axis("method")


def classifier_accuracy(record: dict, classifier: str = "joint",
                        metric: str = "balanced_acc") -> float:
    """``metric`` (a fraction) of the run's ``classifier``: ``"joint"`` (the trained head;
    an SCL run's linear probe) or a decoupled one it stored (``"crt"``, ``"ncm"``)."""
    if classifier == "joint":
        return float(record["metrics"][metric])
    from lt_lab.decoupling.readers import as_fixed

    return float(as_fixed(record, classifier)["metrics"][metric])


def accuracy_table(runs: dict[str, list[dict]], classifiers=("joint", "crt", "ncm"),
                   metric: str = "balanced_acc", scale: float = 100) -> pd.DataFrame:
    """One row a method, one column a classifier: the mean ``metric`` over seeds (points)."""
    return pd.DataFrame({name: {c: scale * sum(classifier_accuracy(r, c, metric)
                                               for r in records) / len(records)
                                for c in classifiers}
                         for name, records in runs.items()}).T.rename_axis("method")


def classifier_table(runs: dict[str, list[dict]], classifiers=("joint", "crt", "lws", "ncm"),
                     metric: str = "balanced_acc", scale: float = 100) -> pd.DataFrame:
    """Long form, one row a (method, seed, classifier): ``metric`` in points (for seaborn);
    :func:`accuracy_table` is its mean over seeds."""
    rows = [{"method": name, "seed": record["seed"], "classifier": c,
             metric: scale * classifier_accuracy(record, c, metric)}
            for name, records in runs.items() for record in records for c in classifiers]
    return pd.DataFrame(rows)


def resampled_table(runs: dict[str, list[dict]], metric: str = "acc",
                    priors=SADE_TEST_PRIORS, scale: float = 100) -> pd.DataFrame:
    """Long form, one row a (method, seed, prior): ``metric`` on SADE's test set resampled to
    that prior (``extras["agnostic"]``), in points, with the prior's position (0 = forward50)."""
    rows = []
    for name, records in runs.items():
        for record in records:
            found = record.get("extras", {}).get("agnostic")
            if not found:
                raise ConfigError(f"record {record.get('key')} has no 'agnostic' evaluation: "
                                  "train it with analyses={'agnostic': {}}")
            rows += [{"method": name, "seed": record["seed"], "prior": prior,
                      "position": i, metric: scale * found[prior][metric]}
                     for i, prior in enumerate(priors)]
    return pd.DataFrame(rows)


def reweighted_table(runs: dict[str, list[dict]], priors=SADE_TEST_PRIORS,
                     n_max: int | None = None, scale: float = 100) -> pd.DataFrame:
    """The same long form from any stored record's ``per_class_acc``: the expected accuracy
    under each prior (:func:`~lt_lab.beyond.agnostic.prior_accuracies`), no resampling."""
    rows = [{"method": name, "seed": record["seed"], "prior": prior, "position": i,
             "acc": scale * value}
            for name, records in runs.items() for record in records
            for i, (prior, value) in enumerate(prior_accuracies(record, priors, n_max).items())]
    return pd.DataFrame(rows)


EXPERTS = ("forward", "uniform", "backward")  # SADE's experts, in their heads' order


def _aggregation(record: dict) -> dict:
    found = record.get("extras", {}).get("sade_aggregation")
    if not found:
        raise ConfigError(f"record {record.get('key')} has no 'sade_aggregation' evaluation: "
                          "train SADE (head='experts', loss='sade') with "
                          "analyses={'sade_aggregation': {}}")
    return found


def sade_table(records: list[dict], name: str = "SADE", metric: str = "acc",
               priors=SADE_TEST_PRIORS, scale: float = 100) -> pd.DataFrame:
    """The long form of :func:`resampled_table` for SADE's runs, one method a prediction:
    ``"{name}, aggregated"`` (the weights learned at test time), ``"{name}, experts' mean"``
    (no aggregation) and ``"{name}: {expert} expert"`` for each expert alone."""
    rows = []
    for record in records:
        found = _aggregation(record)
        for i, prior in enumerate(priors):
            entry = found[prior]
            scores = {f"{name}, aggregated": entry["aggregated"],
                      f"{name}, experts' mean": entry["mean"],
                      **{f"{name}: {e} expert": entry["experts"][k]
                         for k, e in enumerate(EXPERTS)}}
            rows += [{"method": method, "seed": record["seed"], "prior": prior, "position": i,
                      metric: scale * score[metric]} for method, score in scores.items()]
    return pd.DataFrame(rows)


def prediction_table(runs: dict[str, list[dict]], sade: list[dict] | None = None,
                     metric: str = "acc") -> pd.DataFrame:
    """One long table of :func:`resampled_table` (``runs``, by method) and
    :func:`sade_table` (SADE's ``sade`` records, if given), for one figure of both."""
    parts = [resampled_table(runs, metric)] if runs else []
    parts += [sade_table(sade, metric=metric)] if sade else []
    if not parts:
        raise ConfigError("prediction_table needs runs or SADE's records")
    return pd.concat(parts, ignore_index=True)


def weight_table(records: list[dict], priors=SADE_TEST_PRIORS) -> pd.DataFrame:
    """Long form, one row a (seed, prior, expert): the aggregation weight SADE learned for
    that expert on the test set resampled to that prior (the three sum to 1)."""
    return pd.DataFrame([{"seed": record["seed"], "prior": prior, "position": i,
                          "expert": expert, "weight": _aggregation(record)[prior]["weights"][k]}
                         for record in records for i, prior in enumerate(priors)
                         for k, expert in enumerate(EXPERTS)])


def by_prior(table: pd.DataFrame, value: str = "acc") -> pd.DataFrame:
    """A long table of :func:`resampled_table` or :func:`reweighted_table` as methods × priors
    (the mean over seeds), with the mean over the priors last (SADE's summary)."""
    wide = table.pivot_table(index="method", columns="prior", values=value, aggfunc="mean",
                             sort=False)
    wide = wide[[p for p in SADE_TEST_PRIORS if p in wide.columns]]
    wide["mean over priors"] = wide.mean(axis=1)
    return wide


def simulator_table(records: list[dict]) -> pd.DataFrame:
    """The simulator's records (:func:`lt_lab.beyond.ufm_scl.simulate_scl_ufm`) as one row a
    (τ, ρ, features): the mean final distances over the random starts, and how many starts."""
    frame = pd.DataFrame([{"τ": r["temperature"],
                           "ρ": max(r["class_counts"]) / min(r["class_counts"]),
                           "features": "ReLU (non-negative)" if r["relu"] else "no ReLU",
                           "to an OF": r["of_distance"], "to a simplex ETF": r["etf_distance"]}
                          for r in records])
    keys = ["τ", "ρ", "features"]
    table = frame.groupby(keys, sort=False)[["to an OF", "to a simplex ETF"]].mean()
    table["starts"] = frame.groupby(keys, sort=False).size()
    return table


def cost_table(runs: dict[str, list[dict]], baseline: str = "CE") -> pd.DataFrame:
    """One row a method: the median wall time of its runs (s, with the threads they had) and
    its ratio to the ``baseline`` method's median — what a contrastive run costs against CE."""
    import statistics

    medians = {name: statistics.median(r["wall_time_s"] for r in records)
               for name, records in runs.items()}
    threads = {name: sorted({(r.get("hardware") or {}).get("threads") for r in records})
               for name, records in runs.items()}
    return pd.DataFrame({"median wall time (s)": medians,
                         f"× {baseline}": {n: m / medians[baseline] for n, m in medians.items()},
                         "threads": {n: ", ".join(map(str, t)) for n, t in threads.items()},
                         "runs": {n: len(r) for n, r in runs.items()}}).rename_axis("method")
