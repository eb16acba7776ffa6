"""What chapter notebooks share: ranks, Spearman, mean ± sd, summary tables, parameter checks.

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lt_lab.chapter import (
    CACHE_ENV,
    check_parameters,
    format_mean_sd,
    mean_sd,
    rank,
    spearman,
    summary_table,
    use_cache,
)
from lt_lab.errors import ConfigError, DataUnavailableError

# --- rank ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        ([10, 20, 20, 5], [2, 3.5, 3.5, 1]),  # 5 -> 1, 10 -> 2, the two 20s share (3+4)/2
        ([3, 1, 2], [3, 1, 2]),
        ([7, 7, 7], [2, 2, 2]),  # (1+2+3)/3
        ([0.5, -1.0, 0.5, 0.5, 2.0], [3, 1, 3, 3, 5]),  # three 0.5s share (2+3+4)/3
    ],
)
def test_rank(values, expected):
    assert rank(values).tolist() == expected


# --- spearman --------------------------------------------------------------------------


def test_spearman_monotone():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)  # not linear, monotone
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [0.0, -1.0, -5.0, -50.0]) == pytest.approx(-1.0)


def test_spearman_hand_example():
    # ranks of x: 1 2 3 4 5, ranks of y: 2 1 4 3 5, d = -1 1 -1 1 0, sum d^2 = 4
    # rho = 1 - 6 * 4 / (5 * (5^2 - 1)) = 1 - 24/120 = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)


def test_spearman_with_ties():
    # ranks x: 1 2 3 4 (centred -1.5 -.5 .5 1.5), ranks y: 1 2.5 2.5 4 (centred -1.5 0 0 1.5)
    # cov sum 2.25 + 0 + 0 + 2.25 = 4.5; sum x^2 = 5, sum y^2 = 4.5
    # r = 4.5 / sqrt(5 * 4.5) = sqrt(0.9) = 0.9486832980505138
    assert spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(0.9486832980505138)


@pytest.mark.parametrize("x, y", [([1, 2, 3], [5, 5, 5]), ([4, 4, 4], [1, 2, 3])])
def test_spearman_constant_input_is_nan(x, y):
    assert math.isnan(spearman(x, y))


# --- mean_sd / format_mean_sd ----------------------------------------------------------


def test_mean_sd():
    assert mean_sd([1, 2, 3]) == (2.0, 1.0)  # deviations -1 0 1, (1+0+1)/(3-1) = 1
    assert mean_sd([4.5]) == (4.5, 0.0)
    assert mean_sd(np.array([1.0, 2.0, 3.0])) == (2.0, 1.0)


def test_mean_sd_drops_nan_and_none():
    mean, sd = mean_sd([1, math.nan, None, 3])  # [1, 3]: mean 2, sd sqrt(2/1)
    assert mean == pytest.approx(2.0)
    assert sd == pytest.approx(1.4142135623730951)


@pytest.mark.parametrize("values", [[], [None], [math.nan, None]])
def test_mean_sd_empty(values):
    mean, sd = mean_sd(values)
    assert math.isnan(mean) and math.isnan(sd)


def test_format_mean_sd():
    # mean 0.6, sd sqrt(0.1^2 + 0.1^2) = 0.14142 -> in percent 60.0 ± 14.1
    assert format_mean_sd([0.5, 0.7]) == "60.0 ± 14.1"
    assert format_mean_sd([1, 2, 3], scale=1, digits=2) == "2.00 ± 1.00"
    assert format_mean_sd([0.25]) == "25.0 ± 0.0"


@pytest.mark.parametrize("values", [[], [math.nan], [None]])
def test_format_mean_sd_empty(values):
    assert format_mean_sd(values) == "—"


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
