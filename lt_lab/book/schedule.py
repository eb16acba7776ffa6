"""The papers' schedule as a second column of evidence.

Most of the book trains 16 epochs (the ``quick`` profile). Claims whose papers say the effect
needs their schedule (DRW after 160 of 200 epochs, VS far past zero training error, weight
decay over 200 epochs) are measured again at the ``long`` profile: the same data and network,
the papers' 200-epoch schedule. A ``long`` run costs minutes, so a chapter at its defaults
only *reads* those runs from the store; with ``long_schedule=True`` it trains the missing
ones. Either way the claim keeps the threshold it was declared with and the book's one rule,
at three seeds, without escalation.

DRW switches on at the first learning-rate decay whatever the profile (epoch 12 of 16 at
``quick``, epoch 160 of 200 at ``long``), so a method's ``drw_start`` is moved to the long
profile's first milestone.
"""

from __future__ import annotations

import statistics

from lt_lab.book.claims import LONG_COLUMN
from lt_lab.config import make_config
from lt_lab.results import ResultsStore

PROFILE = "long"


def at_long_schedule(overrides: dict) -> dict:
    """``overrides`` (a chapter's method) for the ``long`` profile: DRW at its first decay."""
    params = overrides.get("loss_params", {})
    if "drw_start" not in params:
        return dict(overrides)
    first_decay = make_config(PROFILE).lr_milestones[0]
    return {**overrides, "loss_params": {**params, "drw_start": first_decay}}


def long_configs(methods: dict[str, dict], seeds, **common) -> dict:
    """``{(method, seed): config}`` at the ``long`` profile; ``common``: the chapter's data
    fields (dataset, imbalance_ratio, device, ...)."""
    return {(name, seed): make_config(PROFILE, seed=seed, **common, **at_long_schedule(overrides))
            for name, overrides in methods.items() for seed in seeds}


def long_runs(methods: dict[str, dict], seeds, *, train: bool = False, partial: bool = False,
              store=None, **common) -> dict[str, list[dict]] | None:
    """The ``long`` runs of ``methods`` by method (one record per seed). Unless ``train``,
    nothing is trained: with runs missing, one line says how many and how to train them
    (``long_schedule=True``) at about what cost, and the result is None, or with ``partial``
    only the methods whose every seed is stored."""
    from lt_lab.grid import run_grid

    configs = long_configs(methods, seeds, **common)
    store = store or ResultsStore()
    if train:
        records = dict(zip(configs, run_grid(list(configs.values()), store=store), strict=True))
    else:
        records = {key: store.load(config) for key, config in configs.items()}
        missing = [key for key, record in records.items() if record is None]
        if missing:
            print(missing_message(len(missing), len(configs), store))
            if not partial:
                return None
    complete = [name for name in methods
                if all(records[(name, seed)] is not None for seed in seeds)]
    return {name: [records[(name, seed)] for seed in seeds] for name in complete}


def run_minutes(store=None) -> float | None:
    """The median wall time of the stored ``long`` runs, in minutes (None: none stored)."""
    times = [r["wall_time_s"] for r in (store or ResultsStore()).records("classification")
             if r["config"]["profile"] == PROFILE]
    return statistics.median(times) / 60 if times else None


def missing_message(missing: int, total: int, store=None) -> str:
    minutes = run_minutes(store)
    cost = "" if minutes is None else f" (about {missing * minutes:.0f} minutes here at " \
        f"{minutes:.1f} per run)"
    return (f"{LONG_COLUMN}: {missing} of {total} runs are not in the results store; train them "
            f"with `lt-lab book execute CHAPTER -p long_schedule True`{cost}.")
