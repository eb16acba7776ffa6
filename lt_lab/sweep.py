"""Run a grid of configs one after another in this process, skipping stored ones.

Every run is also one ``lt-lab run`` call writing one record, so a large grid can be spread
over machines by any job runner (a SLURM array, GNU parallel, a CI matrix): each job runs
one config, and the records land in the shared results folder. lt_lab has no scheduler.
"""

from __future__ import annotations

from tqdm import tqdm

from lt_lab.config import RunConfig
from lt_lab.results import ResultsStore
from lt_lab.train import fit


def run_grid(
    configs: list[RunConfig],
    *,
    cache: bool = True,
    save: bool = True,
    store: ResultsStore | None = None,
    progress: bool | None = None,
) -> list[dict]:
    """Records of every config, in order: stored ones read, the rest trained and stored."""
    store = store or ResultsStore()
    records = []
    quiet = None if progress is None else not progress
    for config in tqdm(configs, desc="runs", disable=quiet):
        result = fit(config, cache=cache, save=save, store=store, progress=progress)
        records.append(result.record)
    return records


def missing(configs: list[RunConfig], store: ResultsStore | None = None) -> list[RunConfig]:
    """The configs that have no stored record yet (what ``run_grid`` would train)."""
    store = store or ResultsStore()
    return [config for config in configs if store.load(config) is None]
