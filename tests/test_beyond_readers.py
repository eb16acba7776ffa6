"""Chapter 6's readers on hand-made records: every number below is computed by hand."""

import pytest

from lt_lab.beyond import readers
from lt_lab.beyond.agnostic import SADE_TEST_PRIORS
from lt_lab.errors import ConfigError


def _record(seed, of, acc=0.5, crt=0.6, wall=10.0, threads=1, per_class=None, agnostic=None):
    return {"key": f"k{seed}", "seed": seed, "wall_time_s": wall,
            "hardware": {"threads": threads},
            "metrics": {"balanced_acc": acc}, "per_class_acc": per_class or [0.5, 0.5],
            "extras": {"scl_geometry": [{"epoch": 4, "of_distance": 1.0, "etf_distance": 1.2,
                                         "etf_distance_centred": 0.9},
                                        {"epoch": 8, "of_distance": of, "etf_distance": 0.3,
                                         "etf_distance_centred": 0.1}],
                       "classifier_fixes": {"crt": {"balanced_acc": crt, "per_class_acc":
                                                    [crt, crt]}},
                       **({"agnostic": agnostic} if agnostic else {})}}


def test_the_geometry_table_averages_the_last_snapshot_over_seeds():
    table = readers.geometry_table({"a": [_record(0, 0.2), _record(1, 0.4)]})
    assert table.loc["a", "of_distance"] == pytest.approx(0.3)
    assert table.loc["a", "etf_distance_centred"] == pytest.approx(0.1)


def test_geometry_curves_have_a_row_per_method_seed_and_epoch():
    curves = readers.geometry_curves({"a": [_record(0, 0.2)], "b": [_record(1, 0.4)]})
    assert len(curves) == 4 and list(curves["epoch"]) == [4, 8, 4, 8]
    assert list(curves["of_distance"]) == [1.0, 0.2, 1.0, 0.4]


def test_a_record_without_snapshots_is_named():
    with pytest.raises(ConfigError, match="k7.*scl_geometry"):
        readers.last_geometry({"key": "k7", "extras": {}})


def test_the_accuracy_table_reads_the_joint_head_and_the_decoupled_ones(monkeypatch):
    import lt_lab.decoupling.readers as decoupling

    monkeypatch.setattr(decoupling, "fix_result",
                        lambda record, fix: record["extras"]["classifier_fixes"][fix])
    table = readers.accuracy_table({"a": [_record(0, 0.2, acc=0.5, crt=0.6),
                                          _record(1, 0.2, acc=0.7, crt=0.8)]},
                                   classifiers=("joint", "crt"))
    assert table.loc["a", "joint"] == pytest.approx(60.0)
    assert table.loc["a", "crt"] == pytest.approx(70.0)


def test_the_reweighted_reading_weighs_per_class_accuracy_by_each_prior():
    # two classes with recalls 1 and 0: forward-50 weighs them 50:1 (untruncated profile)
    table = readers.reweighted_table({"a": [_record(0, 0.2, per_class=[1.0, 0.0])]},
                                     priors=("forward50", "uniform", "backward50"))
    by = dict(zip(table["prior"], table["acc"], strict=True))
    assert by["forward50"] == pytest.approx(100 * 50 / 51)
    assert by["uniform"] == pytest.approx(50.0)
    assert by["backward50"] == pytest.approx(100 * 1 / 51)


def test_by_prior_pivots_in_sades_order_with_the_mean_last():
    agnostic = {p: {"acc": i / 10} for i, p in enumerate(SADE_TEST_PRIORS)}
    long = readers.resampled_table({"a": [_record(0, 0.2, agnostic=agnostic)]})
    wide = readers.by_prior(long)
    assert list(wide.columns) == [*SADE_TEST_PRIORS, "mean over priors"]
    assert wide.loc["a", "backward50"] == pytest.approx(100.0)
    assert wide.loc["a", "mean over priors"] == pytest.approx(50.0)  # mean of 0..100 by 10


def test_a_record_without_the_agnostic_evaluation_is_named():
    with pytest.raises(ConfigError, match="k0.*agnostic"):
        readers.resampled_table({"a": [_record(0, 0.2)]})


def test_the_cost_table_is_the_median_wall_time_against_the_baseline():
    table = readers.cost_table({"CE": [_record(0, 0.2, wall=10), _record(1, 0.2, wall=30),
                                       _record(2, 0.2, wall=20)],
                                "SCL": [_record(0, 0.2, wall=50)]})
    assert table.loc["CE", "median wall time (s)"] == 20
    assert table.loc["SCL", "× CE"] == pytest.approx(2.5)
    assert table.loc["CE", "runs"] == 3 and table.loc["SCL", "threads"] == "1"


def test_the_simulator_table_averages_the_starts_of_each_problem():
    records = [{"temperature": 1.0, "class_counts": [20, 2], "relu": relu, "seed": seed,
                "of_distance": of, "etf_distance": 0.5}
               for relu, seed, of in ((True, 0, 0.0), (True, 1, 0.2), (False, 0, 0.4))]
    table = readers.simulator_table(records)
    assert table.loc[(1.0, 10.0, "ReLU (non-negative)"), "to an OF"] == pytest.approx(0.1)
    assert table.loc[(1.0, 10.0, "ReLU (non-negative)"), "starts"] == 2
    assert table.loc[(1.0, 10.0, "no ReLU"), "to an OF"] == pytest.approx(0.4)


def _sade(seed, shift):
    """SADE's aggregation on every prior: aggregated 0.7 + shift, mean 0.6, experts 0.5/0.6/0.7;
    weights (0.5, 0.3, 0.2) on forward priors, (0.2, 0.3, 0.5) elsewhere."""
    def entry(prior):
        weights = [0.5, 0.3, 0.2] if prior.startswith("forward") else [0.2, 0.3, 0.5]
        return {"weights": weights, "aggregated": {"acc": 0.7 + shift}, "mean": {"acc": 0.6},
                "experts": [{"acc": 0.5}, {"acc": 0.6}, {"acc": 0.7}]}
    return {"key": f"s{seed}", "seed": seed,
            "extras": {"sade_aggregation": {p: entry(p) for p in SADE_TEST_PRIORS}}}


def test_the_sade_table_has_five_predictions_per_seed_and_prior_in_points():
    table = readers.sade_table([_sade(0, 0.0), _sade(1, 0.1)])
    assert len(table) == 2 * 11 * 5
    wide = readers.by_prior(table)
    assert wide.loc["SADE, aggregated", "uniform"] == pytest.approx(75.0)  # (70 + 80) / 2
    assert wide.loc["SADE, experts' mean", "mean over priors"] == pytest.approx(60.0)
    assert wide.loc["SADE: backward expert", "backward50"] == pytest.approx(70.0)


def test_the_weight_table_has_three_weights_per_seed_and_prior_summing_to_one():
    table = readers.weight_table([_sade(0, 0.0)])
    assert len(table) == 11 * 3
    assert table.groupby("prior")["weight"].sum().tolist() == pytest.approx([1.0] * 11)
    backward = table[(table["expert"] == "backward")].set_index("prior")["weight"]
    assert backward["forward50"] == 0.2 and backward["backward50"] == 0.5


def test_a_record_without_sade_s_aggregation_is_named():
    with pytest.raises(ConfigError, match="k0.*sade_aggregation"):
        readers.weight_table([_record(0, 0.2)])


def test_the_prediction_table_stacks_a_method_s_own_scores_and_sade_s_predictions():
    agnostic = {p: {"acc": 0.4} for p in SADE_TEST_PRIORS}
    table = readers.prediction_table({"LA": [_record(0, 0.2, agnostic=agnostic)]}, [_sade(1, 0.0)])
    wide = readers.by_prior(table)
    assert wide.loc["LA", "forward50"] == pytest.approx(40.0)
    assert len(wide) == 6  # LA and SADE's five predictions
    with pytest.raises(ConfigError, match="needs runs"):
        readers.prediction_table({}, None)


def test_the_classifier_table_has_a_row_per_method_seed_and_classifier(monkeypatch):
    import lt_lab.decoupling.readers as decoupling

    monkeypatch.setattr(decoupling, "fix_result",
                        lambda record, fix: record["extras"]["classifier_fixes"][fix])
    table = readers.classifier_table({"a": [_record(0, 0.2, acc=0.5, crt=0.6)],
                                      "b": [_record(3, 0.2, acc=0.7, crt=0.25)]},
                                     classifiers=("joint", "crt"))
    assert list(table["method"]) == ["a", "a", "b", "b"]
    assert list(table["seed"]) == [0, 0, 3, 3]
    assert list(table["classifier"]) == ["joint", "crt", "joint", "crt"]
    assert list(table["balanced_acc"]) == pytest.approx([50.0, 60.0, 70.0, 25.0])
