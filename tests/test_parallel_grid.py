"""Grids in worker processes (``run_grid(jobs=N)``) and the ``threads`` config field.

A config that pins its thread count gets the same record alone, in a grid one run after
another, or in a grid of workers of any width; a failing run in workers loses none of the
others; an interrupted grid of workers leaves only whole records and resumes. Runs train on
the synthetic Fashion-MNIST of ``fixtures_synthetic`` (workers find it through
``$LT_LAB_DATA``, inherited from this process). Every test that starts workers is bounded by
:func:`deadline` (SIGALRM), so a hang fails the test instead of stalling CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab.bench.grid import computed, format_grid, run_grid_bench
from lt_lab.config import make_config
from lt_lab.errors import ConfigError, GridError
from lt_lab.grid import auto_jobs, cores, resolve_jobs, run, run_grid, worker_threads
from lt_lab.regression.config import make_regression_config
from lt_lab.regression.train import run_threads
from lt_lab.results import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


def tiny(seed: int = 0, **overrides):
    """A smoke config small enough for the synthetic data (30 images a class at most)."""
    values = dict(n_max=30, test_per_class=10, imbalance_ratio=10.0, batch_size=16,
                  device="cpu", seed=seed, threads=1)
    return make_config("smoke", **{**values, **overrides})


@contextmanager
def deadline(seconds: int):
    """Fail the block with TimeoutError after ``seconds`` (SIGALRM; the main thread only)."""

    def expire(signum, frame):
        raise TimeoutError(f"the test ran past its {seconds} s deadline")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- the threads field ------------------------------------------------------------------


def test_threads_at_its_default_leaves_every_key_unchanged():
    for profile in ("smoke", "quick", "long"):
        config = make_config(profile)
        assert config.threads is None
        assert config.replace(threads=None).key() == config.key()
        assert config.replace(threads=1).key() != config.key()
    regression = make_regression_config("smoke")
    assert regression.replace(threads=None).key() == regression.key()


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_a_bad_thread_count_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="threads"):
        make_config("smoke", threads=value)


def test_regression_pins_one_thread_for_the_mlp_unless_told():
    assert run_threads(make_regression_config("smoke")) == 1
    assert run_threads(make_regression_config("smoke", threads=3)) == 3
    assert run_threads(make_regression_config("smoke", model="resnet8")) is None


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_pinned_run_computes_with_its_threads_and_its_record_says_so(store):
    before = torch.get_num_threads()
    record = run(tiny(epochs=1), store=store, progress=False)
    assert record["hardware"]["threads"] == 1
    assert record["config"]["threads"] == 1
    assert torch.get_num_threads() == before


# -- how many workers ---------------------------------------------------------------------


def test_jobs_come_from_the_argument_then_the_environment_then_the_machine(monkeypatch):
    configs = [tiny(0), tiny(1)]
    assert resolve_jobs(3, configs) == 3
    monkeypatch.setenv("LT_LAB_JOBS", "4")
    assert resolve_jobs(None, configs) == 4
    monkeypatch.setenv("LT_LAB_JOBS", "auto")
    assert resolve_jobs(None, configs) == max(1, cores())
    monkeypatch.delenv("LT_LAB_JOBS")
    assert resolve_jobs(None, configs) == auto_jobs(configs)


def test_auto_jobs_are_the_cores_over_the_pinned_threads(monkeypatch):
    monkeypatch.setattr("lt_lab.grid.cores", lambda: 8)
    assert auto_jobs([tiny(threads=None)]) == 8
    assert auto_jobs([tiny(threads=2), tiny(threads=None)]) == 4
    assert auto_jobs([tiny(threads=16)]) == 1
    assert auto_jobs([tiny(threads=None, device="cuda")]) == 1
    assert worker_threads(3) == 2


@pytest.mark.parametrize("value", [0, -2, 1.5, "two", True])
def test_bad_jobs_are_refused_by_name(value, monkeypatch):
    with pytest.raises(ConfigError, match="jobs"):
        resolve_jobs(value, [tiny()])
    if isinstance(value, str):
        monkeypatch.setenv("LT_LAB_JOBS", value)
        with pytest.raises(ConfigError, match="LT_LAB_JOBS"):
            resolve_jobs(None, [tiny()])


def test_jobs_are_for_the_local_launcher(store):
    with pytest.raises(ConfigError, match="jobs"):
        run_grid([tiny()], store=store, launcher="slurm", jobs=2)


def test_a_grid_error_names_each_failed_run_and_survives_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(GridError({"abc": "ConfigError: batch_size=9"})))
    assert error.failures == {"abc": "ConfigError: batch_size=9"}
    assert "abc: ConfigError: batch_size=9" in str(error)


# -- workers --------------------------------------------------------------------------------


def _computed(records: list[dict]) -> list[dict]:
    return [computed(record) for record in records]


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_grid_in_two_workers_stores_the_records_of_one_run_after_another(tmp_path):
    configs = [tiny(seed) for seed in range(4)]
    with deadline(300):
        sequential = run_grid(configs, store=ResultsStore(tmp_path / "one"), jobs=1)
        parallel = run_grid(configs, store=ResultsStore(tmp_path / "two"), jobs=2)
    assert _computed(parallel) == _computed(sequential)
    stored = [json.loads((tmp_path / "two" / f"{c.key()}.json").read_text()) for c in configs]
    assert _computed(stored) == _computed(sequential)
    assert {record["hardware"]["threads"] for record in stored} == {1}


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_config_is_bit_identical_alone_or_in_a_wider_grid(tmp_path):
    config = tiny(7, epochs=3)
    alone = run(config, store=ResultsStore(tmp_path / "alone"), progress=False)
    grid = [tiny(1), config, tiny(2)]
    with deadline(300):
        records = run_grid(grid, store=ResultsStore(tmp_path / "grid"), jobs=3)
    assert computed(records[1]) == computed(alone)


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_failing_run_in_workers_loses_none_of_the_others(tmp_path):
    store = ResultsStore(tmp_path / "results")
    bad = tiny(9, batch_size=1000)  # larger than the training set: fails once it has data
    configs = [tiny(0), bad, tiny(1), tiny(2)]
    messages = []
    with deadline(300), pytest.raises(GridError) as raised:
        run_grid(configs, store=store, jobs=2, log=messages.append)
    assert set(raised.value.failures) == {bad.key()}
    assert "batch_size=1000" in raised.value.failures[bad.key()]
    assert any(bad.key() in message and "batch_size" in message for message in messages)
    assert all(store.load(config) is not None for config in configs if config is not bad)


INTERRUPTED = """
import json, signal, sys
from lt_lab.config import make_config
from lt_lab.grid import run_grid
from lt_lab.results import ResultsStore

if __name__ == "__main__":
    # Ctrl-C raises KeyboardInterrupt even where this was started in the background by a
    # shell without job control, which starts its children with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    configs = [make_config("smoke", **values) for values in json.loads(sys.argv[2])]
    try:
        run_grid(configs, store=ResultsStore(sys.argv[1]), jobs=2, progress=False)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


def _interrupted_grid(tmp_path: Path, grid: list[dict]) -> subprocess.Popen:
    """A grid of workers in its own process group, Ctrl-C'd once its first record exists."""
    script = tmp_path / "grid.py"
    script.write_text(textwrap.dedent(INTERRUPTED))
    results = tmp_path / "results"
    process = subprocess.Popen([sys.executable, str(script), str(results), json.dumps(grid)],
                               cwd=ROOT, env=os.environ.copy(), start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not list(results.glob("*.json")):
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
    return process


def _group_ends(group: int, within_s: float) -> bool:
    """Whether every process of ``group`` is gone within ``within_s`` seconds (multiprocessing's
    resource tracker leaves a moment after its parent)."""
    stop = time.monotonic() + within_s
    while time.monotonic() < stop:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_an_interrupted_grid_of_workers_leaves_whole_records_and_resumes(tmp_path):
    common = dict(n_max=30, test_per_class=10, imbalance_ratio=10.0, batch_size=16,
                  device="cpu", threads=1)
    grid = [dict(common, seed=0, epochs=1)] + [dict(common, seed=s, epochs=20)
                                               for s in (1, 2, 3)]
    with deadline(300):
        process = _interrupted_grid(tmp_path, grid)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert _group_ends(process.pid, within_s=30), "a worker outlived the grid"
    results = tmp_path / "results"
    assert not list(results.glob(".*.tmp")), "a half-written record was left"
    store = ResultsStore(results)
    configs = [make_config("smoke", **values) for values in grid]
    done = {path.name: path.stat().st_mtime_ns for path in results.glob("*.json")}
    assert 1 <= len(done) < len(configs)
    assert all(store.read(results / name) is not None for name in done)
    with deadline(300):
        records = run_grid(configs, store=store, jobs=2)
    assert len(records) == len(configs)
    assert {name: (results / name).stat().st_mtime_ns for name in done} == done


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_the_grid_bench_writes_its_record(tmp_path, monkeypatch):
    monkeypatch.setattr("lt_lab.bench.grid.grid_configs",
                        lambda runs, threads, profile, **overrides:
                        [tiny(s, threads=threads, **overrides) for s in range(runs)])
    with deadline(300):
        record = run_grid_bench(runs=2, jobs=2, rounds=1, profile="smoke",
                                overrides={"epochs": 1}, output=tmp_path / "grid.json",
                                log=lambda line: None)
    stored = json.loads((tmp_path / "grid.json").read_text())
    assert stored["runs_per_min"]["parallel"] > 0 and stored["ratio"] > 0
    assert stored["identical"]["parallel_vs_alone"] is True
    assert stored["benchmark"]["epochs"] == 1
    assert stored["load"]["max_during"] >= 0 and "model" in stored["hardware"]
    assert "runs/min" in format_grid(record)


# -- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--jobs", "0"], "jobs=0"),
    (["--jobs", "two"], "'two'"),
    (["--jobs", "2", "--launcher", "slurm"], "--jobs is for --launcher local"),
])
def test_grid_jobs_are_checked_by_name(tmp_path, capsys, argv, message):
    from lt_lab.cli import main

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"profile": "smoke", "n_max": 30}]))
    assert main(["grid", str(grid), *argv, "--results-dir", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_lt_lab_grid_trains_in_workers(tmp_path, capsys):
    from lt_lab.cli import main

    entries = [tiny(seed).to_dict() | {"profile": "smoke"} for seed in range(2)]
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(entries))
    with deadline(300):
        code = main(["grid", str(grid), "--jobs", "2", "--no-progress",
                     "--results-dir", str(tmp_path / "r")])
    assert code == 0
    assert len(list((tmp_path / "r").glob("*.json"))) == 2
    assert len(capsys.readouterr().out.splitlines()) == 2
