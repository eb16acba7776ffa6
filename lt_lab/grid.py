"""Run a grid of configs of any kind one after another, skipping stored ones.

Each kind registers the function that runs one of its configs (``@register_runner``):
classification runs :func:`lt_lab.train.fit`, regression and the simulator theirs. A runner
takes the config and ``cache``, ``save``, ``store``, ``progress`` keywords and returns an
object with a ``record`` (or the record itself).

Every run is also one ``lt-lab run`` call writing one record, so a large grid can be spread
over machines by any job runner (a SLURM array, GNU parallel, a CI matrix): each job runs
one config, and the records land in the shared results folder. ``run_grid(configs,
launcher=name, **options)`` hands the grid to a registered launcher instead
(``@register_launcher``): ``"slurm"`` (:mod:`lt_lab.launch`, registered on ``import lt_lab``)
submits the missing runs as a SLURM job array.
"""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from lt_lab.errors import ConfigError, check_choice
from lt_lab.results import ResultsStore

RUNNERS: dict[str, Callable] = {}
LAUNCHERS: dict[str, Callable] = {}  # name -> function(configs, cache=, save=, store=, ...)


def register_runner(kind: str):
    """Function decorator: run configs of ``kind`` with this function."""

    def add(function: Callable) -> Callable:
        RUNNERS[kind] = function
        return function

    return add


def register_launcher(name: str):
    """Function decorator: ``run_grid(configs, launcher=name, **options)`` calls it with the
    configs, the ``cache``, ``save``, ``store``, ``progress`` keywords and the options; it
    returns the records in order."""

    def add(function: Callable) -> Callable:
        LAUNCHERS[name] = function
        return function

    return add


def run(config, *, cache: bool = True, save: bool = True, store: ResultsStore | None = None,
        progress: bool | None = None) -> dict:
    """The record of one config of any kind: stored, or computed and stored."""
    check_choice("kind", config.kind, RUNNERS)
    result = RUNNERS[config.kind](config, cache=cache, save=save, store=store,
                                 progress=progress)
    return result if isinstance(result, dict) else result.record


def run_grid(configs, *, cache: bool = True, save: bool = True,
             store: ResultsStore | None = None, progress: bool | None = None,
             launcher: str = "local", **options) -> list[dict]:
    """Records of every config, in order: stored ones read, the rest computed and stored
    (here, one after another; or by ``launcher``, e.g. ``"slurm"`` with its ``options``)."""
    store = store or ResultsStore()
    configs = list(configs)
    if launcher != "local":
        check_choice("launcher", launcher, ["local", *LAUNCHERS])
        return LAUNCHERS[launcher](configs, cache=cache, save=save, store=store,
                                   progress=progress, **options)
    if options:
        raise ConfigError(f"options {sorted(options)} are for a launcher, not 'local'")
    quiet = None if progress is None else not progress
    bar = tqdm(configs, desc="runs", disable=True if len(configs) < 2 else quiet)
    return [run(config, cache=cache, save=save, store=store, progress=progress)
            for config in bar]


def missing(configs, store: ResultsStore | None = None) -> list:
    """The configs that have no stored record yet (what ``run_grid`` would compute)."""
    store = store or ResultsStore()
    return [config for config in configs if store.load(config) is None]
