"""What chapter 3 reads from run records: each classifier fix's results, through accessors.

The ``classifier_fixes`` analysis stores one entry per fix under
``record["extras"]["classifier_fixes"]`` (its metrics, per-class accuracy, weight norms and,
for the fixes with a hyperparameter, how it was chosen on validation). A chapter reads them
with the functions here, never by nested keys, so a change of the record layout is one edit.
"""

from __future__ import annotations

import numpy as np

from lt_lab.errors import ConfigError
from lt_lab.stats import format_mean_sd, spearman

ANALYSIS = "classifier_fixes"
FIX_TITLES = {  # how the book names each classifier (``joint``: stage 1's own classifier)
    "joint": "joint", "crt": "cRT", "tau_norm": "τ-norm", "lws": "LWS", "ncm": "NCM",
    "wb_maxnorm": "WB stage 2", "multiplicative_posthoc": "multiplicative post-hoc",
}


def fix_results(record: dict) -> dict:
    """Every fix's results in a run record (the ``classifier_fixes`` analysis)."""
    found = record.get("extras", {}).get(ANALYSIS)
    if not found:
        raise ConfigError(f"record {record.get('key')} has no classifier fixes; train it with "
                          "analyses={'classifier_fixes': {'fixes': [...]}} and val_per_class")
    return found


def fix_result(record: dict, fix: str) -> dict:
    """The results of classifier ``fix`` (``"joint"``, ``"crt"``, ...) in a run record."""
    results = fix_results(record)
    if not isinstance(results.get(fix), dict):
        known = sorted(k for k, v in results.items() if isinstance(v, dict))
        raise ConfigError(f"fix={fix!r} was not run for record {record.get('key')}; it has "
                          f"{known}")
    return results[fix]


def fix_metric(record: dict, fix: str, metric: str):
    """One test metric (``"balanced_acc"``, ``"few_shot_acc"``, ...) of ``fix`` on a run."""
    return fix_result(record, fix)[metric]


def as_fixed(record: dict, fix: str) -> dict:
    """The record as if its classifier were ``fix``: its ``metrics`` and ``per_class_acc``
    are the fix's, so every reader of plain records (tables, paired differences) applies."""
    result = fix_result(record, fix)
    return {**record, "metrics": result, "per_class_acc": result["per_class_acc"]}


def fixed_runs(records: list[dict], fix: str) -> list[dict]:
    """:func:`as_fixed` for each record (the seeds of one first stage)."""
    return [as_fixed(record, fix) for record in records]


def selection(record: dict, fix: str = "tau_norm") -> dict:
    """How ``fix``'s hyperparameter was chosen: ``grid``, ``val_balanced_acc``,
    ``test_balanced_acc`` (one per grid value), ``chosen`` and ``chosen_on_test``."""
    found = fix_result(record, fix).get("selection")
    if found is None:
        raise ConfigError(f"fix={fix!r} has no hyperparameter to select")
    return found


def relative_weight_norms(record: dict, fix: str) -> np.ndarray:
    """Each class's classifier weight norm divided by the classifier's mean norm."""
    norms = np.asarray(fix_metric(record, fix, "weight_norms"), dtype=float)
    return norms / norms.mean()


def norm_size_correlation(record: dict, fix: str = "joint") -> float:
    """Spearman's rank correlation between ``fix``'s per-class weight norms ``‖w_c‖`` and
    the classes' training counts ``n_c`` (Kang et al. 2020: under joint training the norms
    track class size; 1 when the norms rank the classes exactly as their sizes do)."""
    return spearman(fix_metric(record, fix, "weight_norms"), record["class_counts"])


def fix_table(runs: dict[str, list[dict]], fixes: dict[str, str],
              metric: str = "balanced_acc"):
    """One row per first stage, one column per fix: ``metric`` as mean ± sd over seeds (%).

    ``runs`` maps a first stage's name to its records, ``fixes`` a fix to its column title.
    """
    import pandas as pd

    table = pd.DataFrame(
        {title: [format_mean_sd([fix_metric(r, fix, metric) for r in records])
                 for records in runs.values()] for fix, title in fixes.items()},
        index=list(runs))
    table.index.name = "stage-1 sampler"
    return table


def selection_table(records: list[dict], fix: str = "tau_norm"):
    """Per seed: the value chosen on validation, the one a test-set sweep would pick, and
    the test balanced accuracy (%) at the chosen value and at the best on the grid."""
    import pandas as pd

    rows = []
    for record in records:
        chosen = selection(record, fix)
        test = chosen["test_balanced_acc"]
        rows.append({
            "seed": record["seed"],
            "τ chosen on validation": chosen["chosen"],
            "τ a test-set sweep would pick": chosen["chosen_on_test"],
            "test balanced acc at chosen τ (%)": 100 * test[chosen["grid"].index(chosen["chosen"])],
            "best test balanced acc on the grid (%)": 100 * max(test),
        })
    return pd.DataFrame(rows).set_index("seed")
