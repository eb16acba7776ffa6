"""``lt-lab bench --grid``: a grid's runs per minute, one after another against side by side.

The same ``quick`` small-CNN runs (seeds 0..runs-1) train twice a round, in a throwaway
store each time:

* **sequential**: one after another in this process, each with ``jobs`` threads pinned
  (``threads=jobs``);
* **parallel**: ``run_grid(jobs=jobs)``, ``jobs`` worker processes with one thread pinned
  each (``threads=1``); the pool's start (spawning workers, importing torch) is counted.

The modes alternate for ``rounds`` rounds, so a drift of the machine's speed touches both.
The record states runs/minute of each mode (all its runs over all its wall time), their
ratio, the load average before and its maximum during (sampled each second; a record
started above 0.5 is not of an idle machine), the machine (:func:`lt_lab.provenance.hardware`)
and whether records that should be bit-identical are: a mode's records across rounds, and
the first parallel records against the same configs retrained alone in this process. The
two modes' own records are different configs (1 thread against ``jobs``) and are not
compared.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.grid import run_grid
from lt_lab.io import write_json_atomic
from lt_lab.provenance import git_commit, hardware, software_versions
from lt_lab.results import ResultsStore

# What differs between two records of one config computed the same way: where, when, how fast.
NOT_COMPUTED = ("wall_time_s", "created", "git_commit", "device", "hardware", "versions")
IDLE_LOAD = 0.5  # a load average above this before the bench: not an idle machine


def computed(record: dict) -> dict:
    """``record`` without its provenance and timing fields (:data:`NOT_COMPUTED`; a pack's
    wall time too): what must be bit-identical when a config is computed again."""
    kept = {name: value for name, value in record.items() if name not in NOT_COMPUTED}
    if isinstance(kept.get("pack"), dict):
        kept["pack"] = {k: v for k, v in kept["pack"].items() if k != "wall_time_s"}
    return kept


def grid_configs(runs: int, threads: int, profile: str = "quick", **overrides) -> list:
    """``runs`` small-CNN classification configs of ``profile`` (seeds 0..runs-1) on the CPU,
    each pinned to ``threads`` threads; ``overrides`` (e.g. ``precision``) on top."""
    return [make_config(profile, **{"model": "small_cnn", "seed": seed, "device": "cpu",
                                    **overrides, "threads": threads})
            for seed in range(runs)]


class LoadMonitor:
    """The 1-minute load average before (at start) and its maximum while running."""

    def __init__(self, every_s: float = 1.0):
        self.before = os.getloadavg()[0]
        self.maximum = self.before
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self._every_s):
            self.maximum = max(self.maximum, os.getloadavg()[0])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.maximum = max(self.maximum, os.getloadavg()[0])


def _timed_grid(configs, jobs: int, root: Path) -> tuple[float, list[dict]]:
    """Wall seconds of training ``configs`` into a fresh store under ``root``, and records."""
    store = ResultsStore(Path(tempfile.mkdtemp(dir=root)))
    started = time.perf_counter()
    records = run_grid(configs, cache=False, store=store, progress=False, jobs=jobs)
    return time.perf_counter() - started, records


def _identical(first: list[dict], second: list[dict]) -> bool:
    return [computed(r) for r in first] == [computed(r) for r in second]


def _check(runs: int, jobs: int, rounds: int) -> None:
    for name, value, least in (("runs", runs, 2), ("jobs", jobs, 2), ("rounds", rounds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"grid bench: {name}={value!r} must be an integer >= {least}")


def grid_bench(runs: int = 6, jobs: int = 2, rounds: int = 2, profile: str = "quick",
               alone: int = 2, overrides: dict | None = None, log=print) -> dict:
    """Measure (the module docstring) and return the record, without writing it.
    ``overrides``: config fields on top of the profile's (e.g. ``precision="fp32"`` on a CPU
    without native bf16, where the profile's bf16 is emulated and slow)."""
    _check(runs, jobs, rounds)
    overrides = dict(overrides or {})
    modes = {"sequential": (grid_configs(runs, jobs, profile, **overrides), 1),
             "parallel": (grid_configs(runs, 1, profile, **overrides), jobs)}
    timings: list[dict] = []
    records: dict[str, list[list[dict]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="lt-lab-grid-bench-") as root, \
            LoadMonitor() as load:
        for round_ in range(1, rounds + 1):
            for mode, (configs, mode_jobs) in modes.items():
                wall_s, trained = _timed_grid(configs, mode_jobs, Path(root))
                records[mode].append(trained)
                timings.append({"round": round_, "mode": mode, "wall_s": round(wall_s, 2),
                                "runs_per_min": round(60 * runs / wall_s, 3)})
                log(f"round {round_} {mode}: {runs} runs in {wall_s:.1f} s "
                    f"({60 * runs / wall_s:.2f} runs/min)")
        parallel_configs = modes["parallel"][0][:alone]
        _, alone_records = _timed_grid(parallel_configs, 1, Path(root))
    return grid_record(runs=runs, jobs=jobs, rounds=rounds, profile=profile,
                       overrides=overrides, timings=timings, records=records,
                       alone_records=alone_records, load=load)


def _across_rounds(rounds: list[list[dict]]) -> bool | None:
    """Whether every round's records equal the first's (None: one round, nothing to compare)."""
    if len(rounds) < 2:
        return None
    return all(_identical(rounds[0], later) for later in rounds[1:])


def _rate(timings: list[dict], mode: str, runs: int) -> float:
    walls = [t["wall_s"] for t in timings if t["mode"] == mode]
    return 60 * runs * len(walls) / sum(walls)


def grid_record(*, runs, jobs, rounds, profile, overrides, timings, records, alone_records,
                load: LoadMonitor) -> dict:
    """The JSON record of a grid bench (the module docstring)."""
    sequential, parallel = (_rate(timings, mode, runs) for mode in ("sequential", "parallel"))
    first_parallel = records["parallel"][0][:len(alone_records)]
    return {
        "kind": "lt_lab.bench.grid",
        "benchmark": {
            "runs": runs, "profile": profile, "model": "small_cnn", "rounds": rounds,
            "seeds": list(range(runs)), "overrides": overrides,
            "precision": records["parallel"][0][0]["precision"],
            "epochs": records["parallel"][0][0]["config"]["epochs"],
            "sequential": {"jobs": 1, "threads_per_run": jobs},
            "parallel": {"jobs": jobs, "threads_per_run": 1},
            "note": "each round trains the runs once in each mode, sequential first, into a "
                    "fresh store (cache=False); parallel includes starting the worker pool; "
                    "runs_per_min of a mode: all its runs over all its wall time",
        },
        "timings": timings,
        "runs_per_min": {"sequential": round(sequential, 3), "parallel": round(parallel, 3)},
        "ratio": round(parallel / sequential, 3),
        "identical": {
            "sequential_across_rounds": _across_rounds(records["sequential"]),
            "parallel_across_rounds": _across_rounds(records["parallel"]),
            "parallel_vs_alone": _identical(first_parallel, alone_records),
            "alone_runs": len(alone_records),
            "note": "the sequential and parallel modes pin different thread counts, so their "
                    "records are different configs; parallel_vs_alone: the first parallel "
                    "records against the same configs trained alone in this process; "
                    "across rounds: null with one round",
        },
        "load": {"before": round(load.before, 2), "max_during": round(load.maximum, 2),
                 "idle_before": load.before <= IDLE_LOAD},
        "hardware": hardware("cpu"), "cores": os.cpu_count(),
        "versions": software_versions(), "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def default_output() -> Path:
    """``data/bench/grid-<time>.json`` of the checkout (else of the current folder)."""
    checkout = Path(__file__).resolve().parents[2]
    root = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / "data" / "bench" / f"grid-{stamp}.json"


def run_grid_bench(*, runs: int = 6, jobs: int = 2, rounds: int = 2, profile: str = "quick",
                   overrides: dict | None = None, output: str | Path | None = None,
                   log=print) -> dict:
    """:func:`grid_bench`, its record written to ``output`` (default :func:`default_output`);
    the record, with its ``path``."""
    record = grid_bench(runs=runs, jobs=jobs, rounds=rounds, profile=profile,
                        overrides=overrides, log=log)
    path = Path(output) if output else default_output()
    write_json_atomic(path, record)
    return {**record, "path": str(path)}


def format_grid(record: dict) -> str:
    """A few lines: each mode's runs/minute, the ratio, identity, the load, the machine."""
    bench, rate, same, load = (record[name] for name in
                               ("benchmark", "runs_per_min", "identical", "load"))
    machine = record["hardware"]
    return "\n".join([
        f"grid of {bench['runs']} {bench['profile']} small-CNN runs ({bench['epochs']} epochs, "
        f"{bench['precision']}), {bench['rounds']} round(s) — cpu: {machine.get('model')}, "
        f"{record['cores']} cores",
        f"sequential (1 job, {bench['sequential']['threads_per_run']} threads a run): "
        f"{rate['sequential']:.2f} runs/min",
        f"parallel ({bench['parallel']['jobs']} jobs, 1 thread a run): "
        f"{rate['parallel']:.2f} runs/min",
        f"parallel / sequential: {record['ratio']:.2f} ×",
        f"bit-identical: sequential across rounds {same['sequential_across_rounds']}, parallel "
        f"across rounds {same['parallel_across_rounds']}, parallel vs alone "
        f"{same['parallel_vs_alone']} ({same['alone_runs']} runs)",
        f"load average: {load['before']:.2f} before, {load['max_during']:.2f} max during"
        + ("" if load["idle_before"] else f" (above {IDLE_LOAD}: not an idle machine)"),
    ])
