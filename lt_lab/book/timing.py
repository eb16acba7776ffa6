"""``lt-lab book time``: how long ``make book`` takes, chapter by chapter.

Every chapter is executed against the results store it is given, then the site is built.
From an empty store every run is trained (the empty-store figure); from the repository's
store nothing is (the full-store figure). The record (per-chapter wall time, records
trained and the training time they record, load average, device, versions) is written to
``data/bench/book-<device>-<time>.json``.

The book's times are read from those records, never typed (:mod:`lt_lab.book.times`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from lt_lab.book.execute import AUTO, environment, execute
from lt_lab.book.paths import ROOT, chapter_notebooks
from lt_lab.book.site import build_site
from lt_lab.book.times import time_table  # noqa: F401  (lt_lab.book.timing.time_table)


def count_records(results_dir: Path) -> int:
    """How many JSON records ``results_dir`` holds (0 when it does not exist)."""
    return len(record_files(results_dir))


def record_files(results_dir: Path) -> set[Path]:
    """The JSON records ``results_dir`` holds (none when it does not exist)."""
    return set(results_dir.rglob("*.json")) if results_dir.exists() else set()


def training_seconds(paths) -> float:
    """The training time the records at ``paths`` report (their ``wall_time_s``)."""
    total = 0.0
    for path in paths:
        try:
            total += float(json.loads(Path(path).read_text()).get("wall_time_s") or 0)
        except (OSError, ValueError, AttributeError):
            continue  # not a run record (e.g. a store's index): no training time
    return round(total, 1)


IDLE_LOAD = 0.5  # a record whose 1-minute load before it exceeded this is void (issue 27)


class LoadWatch:
    """The highest 1-minute load average seen while the ``with`` block runs (sampled every
    ``every`` seconds on a daemon thread)."""

    def __init__(self, every: float = 5.0):
        self.every, self.highest = every, os.getloadavg()[0]
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.wait(self.every):
            self.highest = max(self.highest, os.getloadavg()[0])

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.highest = max(self.highest, os.getloadavg()[0])


def runs_by_kind(paths) -> dict[str, int]:
    """``{"kind/profile": count}`` of the records at ``paths`` (the grid's size by tier)."""
    counts = Counter()
    for path in paths:
        record = json.loads(Path(path).read_text())
        counts[f"{record.get('kind')}/{record.get('config', {}).get('profile')}"] += 1
    return dict(sorted(counts.items()))


def validity(load_before: float, highest: float, cores: int, jobs: int) -> dict:
    """Whether a whole-book time counts: the machine idle before (1-minute load ≤ 0.5) and
    nothing beside the grid during it (load ≤ the workers' threads + 0.5)."""
    from lt_lab.grid import worker_threads

    busy = jobs * worker_threads(jobs)
    reasons = []
    if load_before > IDLE_LOAD:
        reasons.append(f"load {load_before:.2f} before the start (> {IDLE_LOAD})")
    if highest > busy + IDLE_LOAD:
        reasons.append(f"load {highest:.2f} during it (> {busy} threads + {IDLE_LOAD})")
    return {"valid": not reasons, "void_because": reasons, "cores": cores}


def time_chapter(notebook: Path, results_dir: Path, parameters: dict, *, output_dir,
                 claims_dir, log=print) -> dict:
    """Execute one chapter; its wall time, the records it trained and the load around it."""
    stored, load_before = record_files(results_dir), os.getloadavg()
    before = len(stored)
    started = time.perf_counter()
    log(f"executing {notebook.name} against {results_dir} ({before} records)")
    execute(notebook, parameters, output_dir=output_dir, claims_dir=claims_dir)
    trained = record_files(results_dir) - stored
    timing = {
        "notebook": notebook.name,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "records_before": before,
        "records_trained": len(trained),
        "records_trained_s": training_seconds(trained),
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    log(f"  {timing['wall_time_s']:.0f} s, {timing['records_trained']} records trained")
    return timing


def time_build() -> float:
    """Build the site; the seconds it took."""
    started = time.perf_counter()
    build_site()
    return round(time.perf_counter() - started, 1)


def time_book(
    results_dir: str | Path | None = None,
    parameters: dict | None = None,
    *,
    notebooks: list[Path] | None = None,
    build: bool = True,
    output: str | Path | None = None,
    output_dir: str | Path | None = None,
    claims_dir: str | Path | None = AUTO,
    log=print,
) -> dict:
    """Time ``make book``: every chapter executed against ``results_dir``, then the build.

    The executed chapters go where :func:`lt_lab.book.execute.destination` says (the site at
    the defaults; a folder of their own with other parameters) unless ``output_dir`` is given.

    Writes the JSON record to ``output`` (by default ``data/bench/book-<device>-<time>.json``)
    and returns it, with its ``path``.
    """
    from lt_lab.grid import cores, resolve_jobs
    from lt_lab.results import RESULTS_ENV, default_results_dir

    results_dir = Path(results_dir) if results_dir else default_results_dir()
    parameters = dict(parameters or {})
    stored, load_before = record_files(results_dir), os.getloadavg()[0]
    jobs = resolve_jobs(None, [])  # what run_grid gives the chapters' unpinned configs
    started = time.perf_counter()
    with environment({RESULTS_ENV: str(results_dir.resolve())}), LoadWatch() as load:
        chapters = [time_chapter(notebook, results_dir, parameters, output_dir=output_dir,
                                 claims_dir=claims_dir, log=log)
                    for notebook in list(notebooks or chapter_notebooks())]
    record = {
        "kind": "lt_lab.book_time",
        "results_dir": str(results_dir),
        "store_empty_at_start": chapters[0]["records_before"] == 0 if chapters else None,
        "parameters": parameters,
        "jobs": jobs,
        "runs_trained": runs_by_kind(record_files(results_dir) - stored),
        "load": {"before": round(load_before, 2), "max_during": round(load.highest, 2)},
        **validity(load_before, load.highest, cores(), jobs),
        "chapters": chapters,
        "build_wall_time_s": time_build() if build else None,
    }
    record["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    return _write_record(record, parameters.get("device", "auto"), output)


def _write_record(record: dict, device: str, output: str | Path | None) -> dict:
    """Add device, versions, commit and one time stamp (the record's and the file name's)."""
    from lt_lab.bench import device_kind
    from lt_lab.io import write_json_atomic
    from lt_lab.provenance import describe_device, git_commit, software_versions
    from lt_lab.runtime import resolve_device

    device = resolve_device(device)
    finished = datetime.now(timezone.utc)
    record.update(device=describe_device(device), cpu_count=os.cpu_count(),
                  versions=software_versions(), git_commit=git_commit(),
                  created=finished.isoformat(timespec="seconds"))
    stamp = finished.strftime("%Y%m%dT%H%M%SZ")
    path = Path(output or ROOT / "data" / "bench" / f"book-{device_kind(device)}-{stamp}.json")
    write_json_atomic(path, record)
    record["path"] = str(path)
    return record


def format_book_time(record: dict) -> str:
    """The per-chapter table of a :func:`time_book` record, in seconds and minutes."""
    start = "an empty store" if record["store_empty_at_start"] else "a store of stored records"
    lines = [f"make book from {start} ({record['results_dir']}) on {record['device']}",
             f"{'chapter':<34} {'wall time':>10} {'records trained':>16}"]
    for chapter in record["chapters"]:
        lines.append(f"{chapter['notebook']:<34} {chapter['wall_time_s']:>8.0f} s "
                     f"{chapter['records_trained']:>16}")
    if record["build_wall_time_s"] is not None:
        lines.append(f"{'jupyter-book build':<34} {record['build_wall_time_s']:>8.0f} s")
    total = record["total_wall_time_s"]
    lines.append(f"{'total':<34} {total:>8.0f} s  ({total / 60:.1f} min)")
    return "\n".join(lines)

