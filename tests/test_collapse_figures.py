"""Chapter 4's readers (lt_lab.collapse.readers) and figures (lt_lab.collapse.figures), on
tiny hand-made training and simulator records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lt_lab import stats  # noqa: E402
from lt_lab.collapse import figures as nc_figures  # noqa: E402
from lt_lab.collapse import readers  # noqa: E402
from lt_lab.errors import ConfigError  # noqa: E402
from lt_lab.figures import smallest_text_px  # noqa: E402

MINORITY = [2, 3]


def _cosines(minority_cosine):
    """4 x 4: cosine -0.2 between every pair, ``minority_cosine`` between classes 2 and 3."""
    matrix = np.full((4, 4), -0.2)
    np.fill_diagonal(matrix, 1.0)
    matrix[2, 3] = matrix[3, 2] = minority_cosine
    return matrix.tolist()


def _snapshot(epoch, nc1, classifier_cosine, mean_cosine, nc4=0.1, accuracy=0.5):
    return {"epoch": epoch, "nc1": nc1, "nc3": nc1 / 2, "nc4": nc4, "accuracy": accuracy,
            "equiangularity_means": 0.3, "equinorm_means": 0.1,
            "classifier_cosines": _cosines(classifier_cosine),
            "mean_cosines": _cosines(mean_cosine), "classifier_norms": [1.0, 1.0, 0.5, 0.5]}


def _run(seed, ratio=10.0, final_cosine=0.6, per_class=(1.0, 0.8, 0.4, 0.2)):
    return {
        "key": f"r{seed}", "seed": seed, "kind": "classification",
        "config": {"imbalance_ratio": ratio},
        "metrics": {"balanced_acc": float(np.mean(per_class))},
        "per_class_acc": list(per_class),
        "extras": {"collapse": [_snapshot(3, 2.0, 0.1, 0.0, nc4=0.3, accuracy=0.6),
                                _snapshot(6, 0.5, final_cosine, final_cosine / 2, nc4=0.02,
                                          accuracy=0.9)]},
    }


def _ufm(seed, minority_cosine=0.5, nc3=1e-4):
    return {"kind": "ufm", "seed": seed, "key": f"u{seed}",
            "metrics": {"minority_cosine": minority_cosine,
                        "minority_mean_cosine": minority_cosine - 0.1,
                        "equiangularity_classifier": 2e-4, "equinorm_classifier": 3e-5,
                        "nc3": nc3, "nc1": 1e-6, "nc4": 0.0},
            "geometry": {"classifier_cosines": _cosines(0.02), "mean_cosines": _cosines(0.0),
                         "classifier_norms": [0.2, 0.4, 0.6, 0.8]}}


PLAIN = [_run(0, final_cosine=0.6), _run(1, final_cosine=0.8)]
REMEDY = [_run(0, final_cosine=0.1), _run(1, final_cosine=0.2, per_class=(1, 1, 0.6, 0.6))]


def test_snapshots_of_a_run_without_them_say_how_to_get_them():
    with pytest.raises(ConfigError, match="collapse"):
        readers.snapshots({"key": "x", "extras": {}})


def test_last_snapshot_and_final_value():
    assert readers.last_snapshot(PLAIN[0])["epoch"] == 6
    assert readers.final_value(PLAIN[0], "nc4") == 0.02


def test_last_over_first_by_hand():
    assert readers.last_over_first(PLAIN, "nc1") == pytest.approx([0.25, 0.25])  # 0.5 / 2.0


def test_final_geometry_of_a_training_run_and_of_the_simulator():
    assert readers.cosines(PLAIN[0])[2, 3] == pytest.approx(0.6)
    assert readers.cosines(PLAIN[0], "means")[2, 3] == pytest.approx(0.3)
    np.testing.assert_allclose(readers.classifier_norms(_ufm(0)), [0.2, 0.4, 0.6, 0.8])
    assert readers.cosines(_ufm(0))[2, 3] == pytest.approx(0.02)
    with pytest.raises(ConfigError):
        readers.cosines(PLAIN[0], "features")


def test_max_off_diagonal_ignores_the_diagonal_and_the_sign():
    assert readers.max_off_diagonal([[1.0, -0.3], [-0.3, 1.0]]) == pytest.approx(0.3)
    assert readers.max_off_diagonal(_cosines(0.02)) == pytest.approx(0.2)


def test_etf_error_is_the_largest_of_nc2_and_nc3():
    assert readers.etf_error(_ufm(0)) == pytest.approx(2e-4)
    assert readers.etf_error(_ufm(0, nc3=0.01)) == pytest.approx(0.01)


def test_ratio_sweep_has_a_row_per_ratio_and_a_column_per_seed():
    sweep = readers.ratio_sweep({1: [_ufm(0, 0.0), _ufm(1, 0.1)], 100: [_ufm(0, 0.9),
                                                                        _ufm(1, 1.0)]},
                                "minority_cosine")
    np.testing.assert_allclose(sweep, [[0.0, 0.1], [0.9, 1.0]])


def test_minority_accuracy_by_hand():
    assert readers.minority_accuracy(PLAIN[0], MINORITY) == pytest.approx(0.3)  # (0.4+0.2)/2


def test_with_final_state_feeds_paired_differences():
    plain = readers.with_final_state(PLAIN, MINORITY)
    remedy = readers.with_final_state(REMEDY, MINORITY)
    assert plain[0]["metrics"]["minority_cosine"] == pytest.approx(0.6)
    assert plain[0]["metrics"]["minority_mean_cosine"] == pytest.approx(0.3)
    assert plain[0]["metrics"]["balanced_acc"] == pytest.approx(0.6)  # kept
    # plain minus remedy, per seed: 0.6 - 0.1, 0.8 - 0.2
    assert stats.paired_differences(plain, remedy, "minority_cosine", scale=1) == \
        pytest.approx([0.5, 0.6])
    # minority accuracy, points: 0.3 - 0.3, 0.3 - 0.6
    assert stats.paired_differences(plain, remedy, "minority_acc") == pytest.approx([0.0, -30.0])
    assert "minority_cosine" not in PLAIN[0]["metrics"]  # the records themselves unchanged


def test_minority_to_majority_cosine_and_look_alikes_read_the_stored_matrices():
    # _cosines: -0.2 between every pair except the two minority classes, so each minority
    # class's nearest majority class is the first one, at -0.2
    assert readers.final_minority_to_majority(PLAIN[0], MINORITY) == pytest.approx(-0.2)
    record = {**PLAIN[0], "class_names": ["a", "b", "c", "d"]}
    record["extras"] = {"collapse": [{**PLAIN[0]["extras"]["collapse"][-1],
                                      "mean_cosines": [[1, 0.1, 0.7, 0], [0.1, 1, 0.2, 0.5],
                                                       [0.7, 0.2, 1, 0.3], [0, 0.5, 0.3, 1]]}]}
    table = readers.look_alikes(record, MINORITY)
    assert list(table.index) == ["c", "d"]
    assert table.to_dict("list") == {"nearest majority class": ["a", "b"], "cosine": [0.7, 0.5]}
    final = readers.with_final_state([record], MINORITY)[0]["metrics"]
    assert final["minority_to_majority_cosine"] == pytest.approx(0.6)  # (0.7 + 0.5) / 2


def test_summary_table_by_hand():
    table = readers.summary_table({"plain": PLAIN, "remedy": REMEDY}, MINORITY)
    assert list(table.index) == ["plain", "remedy"]
    assert table.loc["plain", "step ratio R"] == 10.0 and table.loc["plain", "runs"] == 2
    assert table.loc["plain", "minority cosine, classifier rows"] == "0.700 ± 0.141"
    assert table.loc["plain", "minority-to-majority cosine, feature means"] == "-0.200 ± 0.000"
    assert table.loc["plain", "NC1 (last epoch)"] == "0.5 ± 0.0"
    assert table.loc["plain", "training accuracy (%)"] == "90.0 ± 0.0"
    assert table.loc["remedy", "minority test accuracy (%)"] == "45.0 ± 21.2"


def test_mean_metrics_table_in_scientific_notation():
    table = readers.mean_metrics_table([_ufm(0), _ufm(1, nc3=3e-4)], {"nc3": "NC3"}, "ufm")
    assert table.loc["ufm", "NC3"] == "2.0e-04"


def test_plot_cosines_is_a_heat_map_on_minus_one_to_one():
    ax = nc_figures.plot_cosines(_cosines(0.5), title="t")
    (mesh,) = ax.collections
    assert mesh.get_clim() == (-1, 1)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(4, 4), _cosines(0.5))
    assert ax.get_title() == "t"
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")


def test_plot_final_cosines_draws_one_kind_of_gram_matrix_two_runs_a_row():
    runs = {"plain": PLAIN[0], "remedy": REMEDY[0], "third": PLAIN[1]}
    fig = nc_figures.plot_final_cosines(runs, of="classifier")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["plain\nclassifier rows, epoch 6", "remedy\nclassifier rows, epoch 6",
                      "third\nclassifier rows, epoch 6"]
    assert fig.get_figwidth() <= 7.5 and smallest_text_px(fig) >= 9
    with pytest.raises(ConfigError, match="of="):
        nc_figures.plot_final_cosines(runs, of="features")
    plt.close("all")


def test_plot_ufm_sweep_draws_both_cosines_and_the_threshold():
    sweep = {1: [_ufm(0, 0.0), _ufm(1, 0.2)], 100: [_ufm(0, 0.95), _ufm(1, 0.95)]}
    ax = nc_figures.plot_ufm_sweep(sweep, etf_cosine=-1 / 3, level=0.9, r_star=100)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["classifier rows W", "centred feature means"]
    assert "threshold 0.9" in labels and "R* = 100" in labels
    classifier = next(line for line in ax.get_lines() if len(line.get_xdata()) == 2)
    np.testing.assert_allclose(classifier.get_ydata(), [0.1, 0.95])
    assert ax.get_xscale() == "log"
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")


def test_plot_collapse_curves_has_a_panel_per_metric():
    fig = nc_figures.plot_collapse_curves({"plain": PLAIN, "remedy": REMEDY})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(nc_figures.NC_PANELS)
    assert visible[0].get_yscale() == "log"
    assert all(ax.get_legend() is None for ax in visible)  # one legend, the figure's
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["plain", "remedy"]
    assert fig.get_figwidth() <= 7.5 and smallest_text_px(fig) >= 9
    plt.close("all")


def test_curve_frame_is_tidy():
    frame = nc_figures.curve_frame({"plain": PLAIN}, "nc1")
    assert frame[["seed", "epoch", "value"]].values.tolist() == [[0, 3, 2.0], [0, 6, 0.5],
                                                                  [1, 3, 2.0], [1, 6, 0.5]]


def test_plot_minority_cosine_vs_ratio_adds_each_remedy_at_its_ratio():
    balanced = [_run(0, ratio=1.0, final_cosine=-0.3), _run(1, ratio=1.0, final_cosine=-0.3)]
    ax = nc_figures.plot_minority_cosine_vs_ratio(
        {1: balanced, 10: PLAIN}, MINORITY, remedies={"remedy": (REMEDY, "classifier")}, at=10,
        etf_cosine=-1 / 3)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["classifier rows", "centred feature means", "remedy (classifier rows)"]
    frame = nc_figures.ratio_frame({1: balanced, 10: PLAIN}, MINORITY,
                                   {"remedy": (REMEDY, "classifier")}, at=10)
    remedy = frame[frame["series"] == "remedy (classifier rows)"]
    assert remedy["ratio"].tolist() == [10, 10]
    assert remedy["cosine"].tolist() == pytest.approx([0.1, 0.2])
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")


def test_paired_measures_compare_groups_seed_by_seed_and_skip_missing_groups():
    pairs = {"cosine falls": ("plain", "remedy", "minority_cosine", 1),
             "accuracy rises": ("remedy", "plain", "minority_acc", 100),
             "not stored": ("plain", "absent", "minority_acc", 100)}
    measures = readers.paired_measures({"plain": PLAIN, "remedy": REMEDY}, MINORITY, pairs)
    assert list(measures) == ["cosine falls", "accuracy rises"]
    # minority classifier cosine 0.6 and 0.8 (plain) against 0.1 and 0.2 (remedy)
    assert measures["cosine falls"] == pytest.approx([0.5, 0.6])
    # minority accuracy: 30 % both plain seeds; remedy 30 % then (0.6 + 0.6) / 2 = 60 %
    assert measures["accuracy rises"] == pytest.approx([0.0, 30.0])


def test_terminal_phase_table_by_hand():
    table = readers.terminal_phase(PLAIN)
    assert list(table.columns) == ["seed 0", "seed 1"]
    # last snapshot: training accuracy 0.9, NC1 2.0 -> 0.5, NC4 0.02; never at 99 %
    assert table.loc["training error at the end (%)", "seed 0"] == pytest.approx(10.0)
    assert table.loc["first epoch at ≥ 99 % training accuracy", "seed 1"] == "not reached"
    assert table.loc["NC1, last / first", "seed 0"] == pytest.approx(0.25)
    assert table.loc["NC4 at the end (%)", "seed 1"] == pytest.approx(2.0)
    fitted = {**PLAIN[0], "extras": {"collapse": [{**s, "accuracy": 1.0}
                                                  for s in PLAIN[0]["extras"]["collapse"]]}}
    assert readers.terminal_phase([fitted]).loc["first epoch at ≥ 99 % training accuracy",
                                                "seed 0"] == 3
