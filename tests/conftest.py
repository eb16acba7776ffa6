"""Shared fixtures: every test writes run records to its own temporary folder."""

import pytest

from lt_lab.results import ResultsStore


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path / "results")


@pytest.fixture(autouse=True)
def _isolated_results(tmp_path, monkeypatch):
    # A test must never write into the repository's data/results.
    monkeypatch.setenv("LT_LAB_RESULTS", str(tmp_path / "default-results"))
    # Grids train one run after another unless a test asks for workers (run_grid's jobs):
    # tests stay in one process, where monkeypatched runners and fixtures reach the runs.
    monkeypatch.setenv("LT_LAB_JOBS", "1")
