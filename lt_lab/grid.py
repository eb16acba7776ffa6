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

``run_grid(configs, pack=K)`` trains runs that share data, architecture and schedule as
packs of up to K members, one batched model each, for the kinds that registered a
:class:`Packer` (``@register_packer``; classification: :mod:`lt_lab.pack`, registered on
``import lt_lab``); ``pack`` is then part of their configs and keys. A config with ``pack``
> 1 trains in a pack whether or not ``run_grid`` was asked to pack.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from lt_lab.errors import ConfigError, check_choice
from lt_lab.results import ResultsStore

RUNNERS: dict[str, Callable] = {}
LAUNCHERS: dict[str, Callable] = {}  # name -> function(configs, cache=, save=, store=, ...)


@dataclass(frozen=True)
class Packer:
    """How runs of one kind train together as one batched model."""

    fit: Callable  # (configs, *, cache, save, store, progress) -> their records, in order
    group_key: Callable  # config -> str: configs with equal keys may share a pack
    unpackable: Callable  # config -> why it cannot pack (a sentence), or None


PACKERS: dict[str, Packer] = {}


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
             **options) -> list[dict]:
    """Records of every config, in order: stored ones read, the rest computed and stored
    (here, one after another; or by ``launcher``, e.g. ``"slurm"`` with its ``options``).

    ``pack=K`` (the local launcher): every classification config that can pack gets
    ``pack=K`` (K=1: every run alone); the others run alone, each named with the reason
    through ``log`` (default: standard error). The missing runs with ``pack`` > 1 train as
    packs of up to ``pack`` members that share every field but those of
    :data:`lt_lab.pack.PER_MEMBER` (:func:`lt_lab.pack.plan_packs`). For another launcher
    ``pack`` is that launcher's option (SLURM: runs per array task, one after another; a
    config with ``pack`` > 1 there trains as a pack of one).
    """
    store = store or ResultsStore()
    configs = list(configs)
    if launcher != "local":
        check_choice("launcher", launcher, ["local", *LAUNCHERS])
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
    quiet = None if progress is None else not progress
    bar = tqdm(units, desc="runs", disable=True if len(units) < 2 else quiet)
    for unit in bar:
        if len(unit) == 1 and getattr(configs[unit[0]], "pack", 1) <= 1:
            records[unit[0]] = run(configs[unit[0]], cache=cache, save=save, store=store,
                                   progress=progress)
            continue
        members = [configs[i] for i in unit]
        trained = _packer(members[0]).fit(members, cache=cache, save=save, store=store,
                                          progress=progress)
        for i, record in zip(unit, trained, strict=True):
            records[i] = record
    by_key = {record["key"]: record for record in records if record is not None}
    return [record or by_key[config.key()] for record, config in zip(records, configs,
                                                                      strict=True)]


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
                          f"(known: {', '.join(sorted(PACKERS)) or 'none'}; classification "
                          "registers with `import lt_lab.pack`)")
    return PACKERS[config.kind]


def unpackable_reason(config) -> str | None:
    """Why ``config`` cannot train in a pack (a sentence naming the field), or None."""
    if config.kind not in PACKERS:
        known = ", ".join(sorted(PACKERS)) or "none; classification's: import lt_lab.pack"
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
