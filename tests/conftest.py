"""Shared fixtures: every test writes run records to its own temporary folder."""

import pytest
import torch

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


class AlwaysNaN(torch.nn.Module):
    """A loss that diverges at its first step (NaN whatever the logits)."""

    def __init__(self, class_counts=None):
        super().__init__()

    def forward(self, logits, targets):
        return logits.sum() * float("nan")


@pytest.fixture
def always_nan():
    """A diverging loss registered for one test only: the registry's names stay the book's
    for every other test (the property tests draw from them), in whatever order they run."""
    from lt_lab.losses.registry import register, unregister

    register("always_nan")(AlwaysNaN)
    yield "always_nan"
    unregister("always_nan")
