"""What chapter notebooks share: parameter checks, the cache switch, method and run tables.

Notebooks keep their code cells short by calling these and the families' own helpers;
the heavy lifting stays in the engine.
"""

from __future__ import annotations

import os

from lt_lab.config import PROFILES
from lt_lab.errors import ConfigError, DataUnavailableError, check_choice, check_positive
from lt_lab.stats import format_mean_sd

CACHE_ENV = "LT_LAB_CACHE"  # "0" turns the results cache off for every chapter


def check_parameters(
    *, profile: str, dataset: str, imbalance_ratio: float, seeds, device: str = "auto",
    subset_seeds=(0,), **extra_ratios,
) -> None:
    """Stop a chapter in its first code cell when a parameter is wrong or data is missing.

    ``extra_ratios``: further lists of imbalance ratios (each a non-empty list of numbers
    >= 1). Values of the wrong type (a quoted ``"100"`` from papermill) are refused by name,
    with the config's own constraints where a parameter is a config field.
    """
    from lt_lab.config import SEED
    from lt_lab.data.sources import DATASETS, load_dataset
    from lt_lab.runtime import resolve_device

    check_choice("profile", profile, PROFILES)
    check_choice("dataset", dataset, DATASETS)
    check_positive("imbalance_ratio", imbalance_ratio, minimum=1, inclusive=True)
    for name, ratios in extra_ratios.items():
        if not _is_list(ratios) or not ratios:
            raise ConfigError(f"{name}={ratios!r} must be a non-empty list of ratios >= 1, "
                              "e.g. [10, 100]")
        for ratio in ratios:
            check_positive(name, ratio, minimum=1, inclusive=True)
    for name, values in (("seeds", seeds), ("subset_seeds", subset_seeds)):
        if not _is_list(values) or not values or not all(SEED.allows(s) for s in values):
            raise ConfigError(f"{name}={values!r} must be a non-empty list of integers in "
                              f"[0, 2**32), e.g. [0, 1, 2]")
        repeated = sorted({seed for seed in values if list(values).count(seed) > 1})
        if repeated:
            raise ConfigError(f"{name}={list(values)!r} names seed(s) {repeated} more than "
                              "once: each seed is one run, and a repeat would be counted twice "
                              "in every mean and interval; give distinct seeds, e.g. [0, 1, 2]")
    resolve_device(device)
    try:
        load_dataset(dataset)
    except DataUnavailableError as error:
        raise DataUnavailableError(f"dataset={dataset!r} is not available here. {error}") from None


def _is_list(values) -> bool:
    """A list, tuple or range (not a string, a number or a mapping)."""
    return isinstance(values, (list, tuple, range))


def use_cache(requested: bool) -> bool:
    """The notebook's ``use_cache`` unless ``$LT_LAB_CACHE=0`` turns the cache off."""
    return requested and os.environ.get(CACHE_ENV, "1") != "0"


def summary_table(records: list[dict], by: str, metrics: dict[str, str]):
    """One row per value of config field ``by``: each metric as mean ± sd over its records.

    ``metrics`` maps a record metric name to a column title (put the unit in the title).
    """
    groups: dict = {}
    for record in records:
        groups.setdefault(record["config"][by], []).append(record)
    return method_table(groups, metrics, index=by)


def method_table(records_by_method: dict[str, list[dict]], metrics: dict[str, str],
                 index: str = "method"):
    """One row per method: each metric as mean ± sd over its records (percent).

    ``index`` titles the rows' column (e.g. ``"what changes"`` when the groups are not
    methods but the sources of variation of one method).
    """
    import pandas as pd

    rows = []
    for method, records in records_by_method.items():
        row = {index: method, "runs": len(records)}
        for name, title in metrics.items():
            row[title] = format_mean_sd([r["metrics"][name] for r in records])
        rows.append(row)
    return pd.DataFrame(rows).set_index(index)


def selection_table(records: list[dict], by: str = "imbalance_ratio", title: str = "ρ"):
    """Last epoch against the best epoch on the test set, one row per record.

    Rows are indexed by config field ``by`` (shown as ``title``) and seed; columns give the
    last epoch's test accuracy and the best one seen during training (%, the record's
    ``best_on_test``), the best epoch, and the optimism of picking it (points): model
    selection on the test set, shown for comparison only.
    """
    import pandas as pd

    table = pd.DataFrame([{
        title: r["config"][by], "seed": r["seed"],
        "last epoch (%)": 100 * r["metrics"]["acc"],
        "best on test (%)": 100 * r["best_on_test"]["acc"],
        "best epoch": r["best_on_test"]["epoch"]} for r in records]).set_index([title, "seed"])
    table["optimism (points)"] = table["best on test (%)"] - table["last epoch (%)"]
    return table


def runs_table(records: list[dict], fields: dict[str, str]):
    """The runs behind a page, one row per record key: the config ``fields`` (column title →
    config field), then device, wall time, ``lt_lab`` version and creation time."""
    import pandas as pd

    return pd.DataFrame([{
        "key": r["key"], **{title: r["config"][field] for title, field in fields.items()},
        "device": r["device"], "wall time (s)": r["wall_time_s"],
        "lt_lab": r["versions"]["lt_lab"], "created": r["created"]}
        for r in records]).set_index("key")


GLUE_PREFIX = "application/papermill.record/"  # myst-nb's mime prefix of a hidden glue


def glue(name: str, value, spec: str = "") -> str:
    """Hand ``value`` (formatted with ``spec``, e.g. ``".2f"``) to the page's prose:
    ``{glue:text}`name``` in a markdown cell shows it. What myst-nb's ``glue(name, value,
    display=False)`` writes, without importing myst-nb (Colab does not have it): a hidden
    display whose metadata names it. Returns the text glued."""
    from IPython.display import display

    text = format(value, spec)
    display({f"{GLUE_PREFIX}text/plain": repr(text)}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})
    return text
