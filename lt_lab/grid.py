"""Run a grid of configs of any kind one after another, skipping stored ones.

Each kind registers the function that runs one of its configs (``@register_runner``):
classification runs :func:`lt_lab.train.fit`, regression and the simulator theirs. A runner
takes the config and ``cache``, ``save``, ``store``, ``progress`` keywords and returns an
object with a ``record`` (or the record itself).

Every run is also one ``lt-lab run`` call writing one record, so a large grid can be spread
over machines by any job runner (a SLURM array, GNU parallel, a CI matrix): each job runs
one config, and the records land in the shared results folder. ``run_grid(configs,
launcher=name, **options)`` hands the grid to a registered launcher instead
(``@register_launcher``): ``"slurm"`` (:mod:`lt_lab.launch`, loaded when first named:
:mod:`lt_lab.plugins`) submits the missing runs as a SLURM job array.

``run_grid(configs, jobs=N)`` trains the missing runs side by side in N worker processes of
a spawn-based pool on this machine (:mod:`concurrent.futures`; forking after torch has
started its threads can hang). On a CPU two runs at once with one thread each finish more
runs a minute than one after the other with two threads each: the small CNN's step does not
scale to two threads. The default, ``jobs=None``, is ``$LT_LAB_JOBS`` (an integer, or
``auto``), else ``auto``: the cores over the threads a run uses (:func:`auto_jobs`), so
chapters and ``make book`` train their missing runs side by side without a flag. A worker
gives a config with ``threads=None`` its share of the cores (its record's
``hardware.threads`` says how many); a pinned ``threads`` is the run's own, so its record is
bit-identical whether it trained alone or in a grid of any width. In workers a failing run is
reported (its key and error) and the others go on; :class:`~lt_lab.errors.GridError` names
the failures at the end. Ctrl-C (or SIGTERM) stops the workers: the runs in progress unwind
(records are written whole or not at all, checkpoints stay for a resume) and a rerun trains
only what is missing.

``run_grid(configs, pack=K)`` trains runs that share data, architecture and schedule as
packs of up to K members, one batched model each, for the kinds that registered a
:class:`Packer` (``@register_packer``; classification: :mod:`lt_lab.pack`, loaded with the
first packed run: :mod:`lt_lab.plugins`); ``pack`` is then part of their configs and keys. A
config with ``pack`` > 1 trains in a pack whether or not ``run_grid`` was asked to pack.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, MutableMapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from tqdm import tqdm

from lt_lab.errors import ConfigError, GridError, check_choice
from lt_lab.plugins import Registered
from lt_lab.results import ResultsStore

JOBS_ENV = "LT_LAB_JOBS"  # run_grid's default jobs: an integer, or "auto"

# Filled by the modules that register (lt_lab.plugins), loaded when a name is looked up.
RUNNERS: MutableMapping[str, Callable] = Registered("families")
# name -> function(configs, cache=, save=, store=, ...)
LAUNCHERS: MutableMapping[str, Callable] = Registered("launchers")


@dataclass(frozen=True)
class Packer:
    """How runs of one kind train together as one batched model."""

    fit: Callable  # (configs, *, cache, save, store, progress) -> their records, in order
    group_key: Callable  # config -> str: configs with equal keys may share a pack
    unpackable: Callable  # config -> why it cannot pack (a sentence), or None


PACKERS: MutableMapping[str, Packer] = Registered("packers")


def register_runner(kind: str):
    """Function decorator: run configs of ``kind`` with this function."""

    def add(function: Callable) -> Callable:
        RUNNERS[kind] = function
        return function

    return add


def register_packer(kind: str, packer: Packer) -> None:
    """Train packed configs (``pack`` > 1) of ``kind`` with ``packer``."""
    PACKERS[kind] = packer


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
    if getattr(config, "pack", 1) > 1:  # a pack of one: the packed kernels its key names
        return _packer(config).fit([config], cache=cache, save=save, store=store,
                                   progress=progress)[0]
    check_choice("kind", config.kind, RUNNERS)
    result = RUNNERS[config.kind](config, cache=cache, save=save, store=store,
                                 progress=progress)
    return result if isinstance(result, dict) else result.record


def run_grid(configs, *, cache: bool = True, save: bool = True,
             store: ResultsStore | None = None, progress: bool | None = None,
             launcher: str = "local", pack: int | None = None, log=None,
             jobs: int | str | None = None, **options) -> list[dict]:
    """Records of every config, in order: stored ones read, the rest computed and stored
    (here, in ``jobs`` worker processes or one after another; or by ``launcher``, e.g.
    ``"slurm"`` with its ``options``).

    ``jobs`` (the local launcher): worker processes training side by side; ``"auto"``: the
    cores over the threads a run uses (:func:`auto_jobs`); None: ``$LT_LAB_JOBS``, else
    ``"auto"``; 1: one after another in this process, where a failing run stops the grid.
    With workers a failing run is reported through ``log`` and the others go on;
    :class:`~lt_lab.errors.GridError` names the failures at the end.

    ``pack=K`` (the local launcher): every classification config that can pack gets
    ``pack=K`` (K=1: every run alone); the others run alone, each named with the reason
    through ``log`` (default: standard error). The missing runs with ``pack`` > 1 train as
    packs of up to ``pack`` members that share every field but those of
    :data:`lt_lab.pack.PER_MEMBER` (:func:`lt_lab.grid.plan_packs`); a pack is one unit of
    work, in a worker or here. For another launcher ``pack`` is that launcher's option
    (SLURM: runs per array task, one after another; a config with ``pack`` > 1 there trains
    as a pack of one).
    """
    store = store or ResultsStore()
    configs = list(configs)
    if launcher != "local":
        check_choice("launcher", launcher, ["local", *LAUNCHERS])
        if jobs is not None:
            raise ConfigError(f"jobs={jobs!r} is for launcher='local'; launcher={launcher!r} "
                              "spreads runs its own way")
        if pack is not None:
            options["pack"] = pack
        return LAUNCHERS[launcher](configs, cache=cache, save=save, store=store,
                                   progress=progress, **options)
    if pack is not None:
        configs = with_pack(configs, pack, log=log)
    if options:
        raise ConfigError(f"options {sorted(options)} are for a launcher, not 'local'")
    records: list[dict | None] = [store.load(config) if cache else None for config in configs]
    units = _units([i for i, record in enumerate(records) if record is None], configs)
    jobs = resolve_jobs(jobs, [configs[unit[0]] for unit in units])
    quiet = None if progress is None else not progress
    bar = tqdm(total=len(units), desc="runs", disable=True if len(units) < 2 else quiet)
    with bar:
        if jobs > 1 and len(units) > 1:
            trained = _train_in_workers(units, configs, jobs, bar, cache=cache, save=save,
                                        store=store, log=log)
        else:
            trained = _train_here(units, configs, bar, cache=cache, save=save, store=store,
                                  progress=progress)
    for unit, unit_records in zip(units, trained, strict=True):
        for i, record in zip(unit, unit_records, strict=True):
            records[i] = record
    by_key = {record["key"]: record for record in records if record is not None}
    return [record or by_key[config.key()] for record, config in zip(records, configs,
                                                                      strict=True)]


def train_unit(members: list, *, cache: bool, save: bool, store: ResultsStore,
               progress: bool | None) -> list[dict]:
    """The records of one unit of work: a config alone, or the members of a pack."""
    if len(members) == 1 and getattr(members[0], "pack", 1) <= 1:
        return [run(members[0], cache=cache, save=save, store=store, progress=progress)]
    return _packer(members[0]).fit(members, cache=cache, save=save, store=store,
                                   progress=progress)


def _train_here(units, configs, bar, *, cache, save, store, progress) -> list[list[dict]]:
    """Each unit's records, trained one after another in this process."""
    trained = []
    for unit in units:
        trained.append(train_unit([configs[i] for i in unit], cache=cache, save=save,
                                  store=store, progress=progress))
        bar.update()
    return trained


# -- workers -------------------------------------------------------------------------------


def cores() -> int:
    """The CPU cores this process may run on (its affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def auto_jobs(configs) -> int:
    """Workers for ``configs`` on this machine: the cores over the threads a run uses (the
    largest pinned ``threads``; 1 when none is pinned), at least 1. Runs on a GPU, or with
    ``device="auto"`` where torch sees one, train one at a time (one device)."""
    if any(_on_accelerator(config) for config in configs):
        return 1
    pinned = [getattr(config, "threads", None) for config in configs]
    per_run = max([count for count in pinned if count is not None], default=1)
    return max(1, cores() // per_run)


def _on_accelerator(config) -> bool:
    device = getattr(config, "device", "cpu")
    if device == "auto":
        import torch

        return torch.cuda.is_available()
    return device != "cpu"


def resolve_jobs(jobs: int | str | None, configs) -> int:
    """``run_grid``'s ``jobs`` as a count of workers (the function's docstring)."""
    where = "jobs"
    if jobs is None:
        jobs = os.environ.get(JOBS_ENV, "").strip() or "auto"
        where = f"${JOBS_ENV}"
        if jobs != "auto":
            try:
                jobs = int(jobs)
            except ValueError:
                raise ConfigError(f"{where}={jobs!r} must be an integer >= 1 or 'auto'") \
                    from None
    if jobs == "auto":
        return auto_jobs(configs)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"{where}={jobs!r} must be an integer >= 1 or 'auto'")
    return jobs


def worker_threads(jobs: int) -> int:
    """The threads a worker gives a config with ``threads=None``: its share of the cores."""
    return max(1, cores() // jobs)


def _train_in_workers(units, configs, jobs, bar, *, cache, save, store,
                      log) -> list[list[dict]]:
    """Each unit's records, trained in ``jobs`` spawned worker processes; a failing unit is
    reported through ``log`` and the others go on; GridError names the failures at the end.
    An interrupt (KeyboardInterrupt, SIGTERM as the CLI raises it) stops the workers first."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    trained: list[list[dict] | None] = [None] * len(units)
    failures: dict[str, str] = {}
    executor = ProcessPoolExecutor(max_workers=min(jobs, len(units)),
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(worker_threads(jobs),))
    try:
        futures = {executor.submit(_work, [configs[i] for i in unit], cache=cache, save=save,
                                   store=store): n for n, unit in enumerate(units)}
        for future in as_completed(futures):
            n = futures[future]
            try:
                trained[n] = future.result()
            except Exception as error:  # the run's own failure: report it, go on
                failures.update(_failure(units[n], configs, error, log))
            bar.update()
    except BaseException:
        _stop_workers(executor)
        raise
    executor.shutdown()
    if failures:
        raise GridError(failures)
    return trained


def _failure(unit, configs, error: BaseException, log) -> dict[str, str]:
    """``{key: "ErrorType: message"}`` for the configs of a failed unit, each logged."""
    reason = f"{type(error).__name__}: {error}"
    failed = {}
    for i in unit:
        key = configs[i].key()
        failed[key] = reason
        log(f"lt_lab: {configs[i].kind} run {key} failed: {reason}")
    return failed


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """Cancel the runs not started, and stop the running ones: SIGTERM unwinds a worker's run
    (temporary files removed, its checkpoint kept), SIGKILL after 60 s."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join()
    executor.shutdown(wait=True)


_RUNNING = False  # in a worker: whether a run is in progress


def _start_worker(count: int) -> None:
    """A worker's setup: ``count`` torch threads for configs that pin none; Ctrl-C left to
    the parent (which stops workers with SIGTERM); SIGTERM unwinds a run in progress."""
    import torch

    torch.set_num_threads(count)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)


def _on_terminate(signum, frame) -> None:
    if _RUNNING:
        raise KeyboardInterrupt
    os._exit(128 + signum)  # between runs: nothing to clean up


def _work(members: list, *, cache: bool, save: bool, store: ResultsStore) -> list[dict]:
    """In a worker: the records of one unit (:func:`train_unit`, without progress bars)."""
    global _RUNNING
    _RUNNING = True
    try:
        return train_unit(members, cache=cache, save=save, store=store, progress=False)
    except KeyboardInterrupt:  # unwound: temporary files removed; no next run here
        os._exit(130)
    finally:
        _RUNNING = False


def _units(missing: list[int], configs: list) -> list[list[int]]:
    """What trains, in order: packs of the missing packed configs (a config whose key
    appears twice trains once) and each other missing config alone."""
    packs = plan_packs([configs[i] for i in missing])
    units = [[missing[j] for j in members] for members in packs]
    in_packs = {i for unit in units for i in unit}
    keys = {configs[i].key() for i in in_packs}
    alone, seen = [], set()
    for i in missing:
        key = configs[i].key()
        if i in in_packs or key in keys or key in seen:
            continue
        seen.add(key)
        alone.append([i])
    return sorted(units + alone, key=lambda unit: unit[0])


# -- packs ---------------------------------------------------------------------------------


def _packer(config) -> Packer:
    if config.kind not in PACKERS:
        raise ConfigError(f"pack={config.pack}: no packed trainer for kind {config.kind!r} "
                          f"(kinds that pack: {', '.join(sorted(PACKERS)) or 'none'})")
    return PACKERS[config.kind]


def unpackable_reason(config) -> str | None:
    """Why ``config`` cannot train in a pack (a sentence naming the field), or None."""
    if config.kind not in PACKERS:
        known = ", ".join(sorted(PACKERS)) or "none"
        return f"kind={config.kind!r} has no packed trainer (kinds that pack: {known})"
    return PACKERS[config.kind].unpackable(config)


def with_pack(configs, width: int, log=None) -> list:
    """``configs`` with ``pack=width`` where they can pack; the others unchanged, each named
    with the reason in one line through ``log`` (default: standard error)."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ConfigError(f"pack={width!r} must be an integer >= 1 (1: every run alone)")
    packed = []
    for config in configs:
        reason = unpackable_reason(config)
        if reason is None:
            packed.append(config.replace(pack=width))
            continue
        if width > 1:
            log(f"lt_lab: runs alone, unpacked: {config.kind} run {config.key()}: {reason}")
        packed.append(config)
    return packed


def plan_packs(configs) -> list[list[int]]:
    """Indices of the configs with ``pack`` > 1, grouped into packs: one kind and group key
    (:class:`Packer`), at most ``pack`` members each, in the order given. Equal configs
    (one key) appear once: the caller trains the first and reads the others."""
    groups: dict[tuple, list[int]] = {}
    seen: set[str] = set()
    for index, config in enumerate(configs):
        if getattr(config, "pack", 1) <= 1 or config.key() in seen:
            continue
        seen.add(config.key())
        group = (config.kind, config.pack, _packer(config).group_key(config))
        groups.setdefault(group, []).append(index)
    packs = []
    for members in groups.values():
        width = configs[members[0]].pack
        packs += [members[start : start + width] for start in range(0, len(members), width)]
    return packs


def missing(configs, store: ResultsStore | None = None) -> list:
    """The configs that have no stored record yet (what ``run_grid`` would compute)."""
    store = store or ResultsStore()
    return [config for config in configs if store.load(config) is None]
