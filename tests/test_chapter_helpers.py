"""What chapter notebooks share (lt_lab.book.chapter): summary, method, selection and run
tables, the cache switch, parameter checks. (Ranks, Spearman and mean ± sd, which lived here
with them, are lt_lab.stats now: tests/test_stats.py.)

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import pytest

from lt_lab.book.chapter import (
    CACHE_ENV,
    check_parameters,
    method_table,
    runs_table,
    selection_table,
    summary_table,
    use_cache,
)
from lt_lab.errors import ConfigError, DataUnavailableError

# --- summary_table ---------------------------------------------------------------------


def record(loss: str, accuracy: float, tail: float) -> dict:
    return {"config": {"loss": loss, "seed": 0}, "metrics": {"acc": accuracy, "tail": tail}}


def test_summary_table():
    records = [
        record("ce", 0.5, 0.1),
        record("focal", 0.8, 0.3),
        record("ce", 0.7, 0.3),
    ]
    table = summary_table(records, by="loss", metrics={"acc": "accuracy (%)", "tail": "tail (%)"})
    assert table.index.name == "loss"
    assert list(table.index) == ["ce", "focal"]  # in order of first appearance
    assert list(table.columns) == ["runs", "accuracy (%)", "tail (%)"]
    # ce accuracy [0.5, 0.7]: 60.0 ± 14.1; ce tail [0.1, 0.3]: mean 0.2, sd 0.1414 -> 20.0 ± 14.1
    assert table.loc["ce"].to_dict() == {
        "runs": 2, "accuracy (%)": "60.0 ± 14.1", "tail (%)": "20.0 ± 14.1"}
    assert table.loc["focal"].to_dict() == {
        "runs": 1, "accuracy (%)": "80.0 ± 0.0", "tail (%)": "30.0 ± 0.0"}


# --- method_table / selection_table / runs_table ------------------------------------


def test_method_table_rows_in_order_and_index_title():
    groups = {"focal": [record("focal", 0.8, 0.3)],
              "ce": [record("ce", 0.5, 0.1), record("ce", 0.7, 0.3)]}
    table = method_table(groups, {"acc": "accuracy (%)"})
    assert table.index.name == "method" and list(table.index) == ["focal", "ce"]
    assert table.loc["ce"].to_dict() == {"runs": 2, "accuracy (%)": "60.0 ± 14.1"}
    renamed = method_table(groups, {"tail": "tail (%)"}, index="what changes")
    assert renamed.index.name == "what changes"
    assert renamed.loc["focal", "tail (%)"] == "30.0 ± 0.0"


def full_record(key, ratio, seed, acc, best, best_epoch):
    return {"key": key, "seed": seed,
            "config": {"imbalance_ratio": ratio, "seed": seed, "subset_seed": 0},
            "metrics": {"acc": acc}, "best_on_test": {"acc": best, "epoch": best_epoch},
            "device": "cpu", "wall_time_s": 1.5, "versions": {"lt_lab": "0.1.0"},
            "created": "2026-01-01T00:00:00+00:00"}


def test_selection_table():
    records = [full_record("a", 10, 0, 0.75, 0.8, 12), full_record("b", 10, 1, 0.5, 0.5, 16)]
    table = selection_table(records)
    assert table.index.names == ["ρ", "seed"]
    assert list(table.columns) == ["last epoch (%)", "best on test (%)", "best epoch",
                                   "optimism (points)"]
    # seed 0: last 75, best 80 at epoch 12 -> 5 points of optimism; seed 1: last is best
    assert table.loc[(10, 0)].tolist() == pytest.approx([75, 80, 12, 5])
    assert table.loc[(10, 1), "optimism (points)"] == 0


def test_runs_table():
    records = [full_record("a", 10, 0, 0.75, 0.8, 12), full_record("b", 100, 1, 0.5, 0.5, 16)]
    table = runs_table(records, {"ρ": "imbalance_ratio", "subset seed": "subset_seed"})
    assert table.index.name == "key" and list(table.index) == ["a", "b"]
    assert list(table.columns) == ["ρ", "subset seed", "device", "wall time (s)", "lt_lab",
                                   "created"]
    assert table.loc["b"].to_dict() == {"ρ": 100, "subset seed": 0, "device": "cpu",
                                        "wall time (s)": 1.5, "lt_lab": "0.1.0",
                                        "created": "2026-01-01T00:00:00+00:00"}


# --- use_cache -------------------------------------------------------------------------


def test_use_cache_default(monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert use_cache(True) is True
    assert use_cache(False) is False


def test_use_cache_turned_off(monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "0")
    assert use_cache(True) is False
    assert use_cache(False) is False


def test_use_cache_other_values_keep_it(monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "1")
    assert use_cache(True) is True
    assert use_cache(False) is False


# --- check_parameters ------------------------------------------------------------------

GOOD = dict(profile="smoke", dataset="digits", imbalance_ratio=10, seeds=[0, 1], device="cpu")


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"profile": "fast"}, "profile='fast'"),
        ({"dataset": "mnist"}, "dataset='mnist'"),
        ({"imbalance_ratio": 0.5}, "imbalance_ratio=0.5"),
        ({"imbalance_ratio": 0}, "imbalance_ratio=0"),
        ({"compare_ratios": [0.5]}, "compare_ratios=0.5"),
        ({"compare_ratios": [10, 100, 0.5]}, "compare_ratios=0.5"),
        ({"seeds": []}, "seeds=[]"),
        ({"seeds": [0, -1]}, "seeds=[0, -1]"),
        ({"seeds": [0, 1.5]}, "seeds=[0, 1.5]"),
        ({"subset_seeds": []}, "subset_seeds=[]"),
        ({"subset_seeds": [-2]}, "subset_seeds=[-2]"),
        ({"subset_seeds": ["0"]}, "subset_seeds=['0']"),
    ],
)
def test_check_parameters_names_the_bad_parameter(changes, named, monkeypatch):
    def unreachable(name, **kwargs):
        raise AssertionError("the dataset is loaded only after every parameter is checked")

    monkeypatch.setattr("lt_lab.data.sources.load_dataset", unreachable)
    with pytest.raises(ConfigError) as error:
        check_parameters(**{**GOOD, **changes})
    assert named in str(error.value)


def test_check_parameters_unknown_device():
    with pytest.raises(ConfigError, match="device='tpu'"):
        check_parameters(**{**GOOD, "device": "tpu"})


def test_check_parameters_cuda_without_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ConfigError, match="device='cuda'"):
        check_parameters(**{**GOOD, "device": "cuda"})


def test_check_parameters_missing_data(monkeypatch):
    def unavailable(name, **kwargs):
        raise DataUnavailableError("looked in /nowhere")

    monkeypatch.setattr("lt_lab.data.sources.load_dataset", unavailable)
    with pytest.raises(DataUnavailableError, match="dataset='cifar10' is not available here"):
        check_parameters(**{**GOOD, "dataset": "cifar10"})


def test_check_parameters_passes(monkeypatch):
    # The real load_dataset("digits") imports scikit-learn (about 1 s, which would push this
    # file past its time budget); a stub records that the dataset is asked for last.
    loaded = []
    monkeypatch.setattr("lt_lab.data.sources.load_dataset", lambda name, **kw: loaded.append(name))
    assert check_parameters(**GOOD) is None
    # the bounds are inclusive: a ratio of exactly 1 (balanced) and seed 0 are allowed
    assert check_parameters(profile="smoke", dataset="digits", imbalance_ratio=1, seeds=(0,),
                            device="cpu", subset_seeds=range(3), compare_ratios=[1, 10]) is None
    assert loaded == ["digits", "digits"]
