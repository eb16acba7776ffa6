"""Chapter 3's readers (lt_lab.decoupling.readers) and figures (lt_lab.decoupling.figures),
on tiny hand-made records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lt_lab import stats  # noqa: E402
from lt_lab.decoupling import figures as fix_figures  # noqa: E402
from lt_lab.decoupling.readers import (  # noqa: E402
    as_fixed,
    fix_metric,
    fix_result,
    fix_table,
    fixed_runs,
    norm_size_correlation,
    relative_weight_norms,
    selection,
    selection_table,
)
from lt_lab.errors import ConfigError  # noqa: E402
from lt_lab.figures import smallest_text_px  # noqa: E402


def _fix(balanced, few, norms, per_class=(0.9, 0.5, 0.1), **extra):
    return {"balanced_acc": balanced, "few_shot_acc": few, "many_shot_acc": 1 - few,
            "per_class_acc": list(per_class), "weight_norms": list(norms), **extra}


def _record(seed, joint=0.5, crt=0.7, chosen=1.0):
    selection_ = {"grid": [0.0, 1.0, 2.0], "val_balanced_acc": [0.5, 0.7, 0.6],
                  "test_balanced_acc": [0.4, 0.6, 0.65], "chosen": chosen,
                  "chosen_on_test": 2.0}
    return {
        "key": f"k{seed}", "seed": seed, "class_counts": [100, 10, 1],
        "metrics": {"balanced_acc": joint}, "per_class_acc": [0.9, 0.5, 0.1],
        "extras": {"classifier_fixes": {
            "val_per_class": 20,
            "joint": _fix(joint, 0.0, [3.0, 2.0, 1.0]),
            "crt": _fix(crt, 0.3, [1.0, 1.0, 1.0], per_class=(0.8, 0.7, 0.6)),
            "tau_norm": _fix(0.6, 0.2, [2.0, 2.0, 2.0], selection=selection_, tau=chosen),
        }},
    }


RUNS = [_record(0), _record(1, joint=0.6, crt=0.9, chosen=2.0)]


def _mean_lines(ax):
    """The lines seaborn draws through the means, in hue order (not legend proxies)."""
    return [line for line in ax.get_lines()
            if line.get_marker() == "o" and len(line.get_xdata()) > 0]


def test_norm_size_correlation_is_one_when_norms_rank_classes_as_sizes_do():
    # joint norms 3 > 2 > 1 for counts 100 > 10 > 1: the same order
    assert norm_size_correlation(RUNS[0]) == pytest.approx(1.0)
    # norms 1 < 2 < 3 against counts 100 > 10 > 1: the reverse order
    reversed_ = {**RUNS[0], "class_counts": [1, 10, 100]}
    assert norm_size_correlation(reversed_) == pytest.approx(-1.0)


def test_fix_metric_reads_one_fix():
    assert fix_metric(RUNS[0], "crt", "balanced_acc") == 0.7
    assert fix_metric(RUNS[1], "joint", "few_shot_acc") == 0.0


def test_a_missing_fix_names_those_the_record_has():
    with pytest.raises(ConfigError, match=r"\['crt', 'joint', 'tau_norm'\]"):
        fix_result(RUNS[0], "lws")
    with pytest.raises(ConfigError, match="val_per_class"):  # a number, not a fix
        fix_result(RUNS[0], "val_per_class")


def test_a_record_without_fixes_says_how_to_get_them():
    with pytest.raises(ConfigError, match="classifier_fixes"):
        fix_metric({"key": "x", "extras": {}}, "crt", "balanced_acc")


def test_as_fixed_swaps_metrics_and_per_class_accuracy_only():
    fixed = as_fixed(RUNS[0], "crt")
    assert fixed["metrics"]["balanced_acc"] == 0.7
    assert fixed["per_class_acc"] == [0.8, 0.7, 0.6]
    assert fixed["seed"] == 0 and fixed["class_counts"] == [100, 10, 1]
    assert RUNS[0]["metrics"]["balanced_acc"] == 0.5  # the record itself is unchanged


def test_fixed_runs_feed_paired_differences():
    # cRT minus joint: (0.7 - 0.5, 0.9 - 0.6) in points
    gains = stats.paired_differences(fixed_runs(RUNS, "crt"), fixed_runs(RUNS, "joint"),
                                     "balanced_acc")
    assert gains == pytest.approx([20.0, 30.0])


def test_relative_weight_norms_divide_by_the_mean():
    np.testing.assert_allclose(relative_weight_norms(RUNS[0], "joint"), [1.5, 1.0, 0.5])



def test_selection_reads_the_validation_curve():
    assert selection(RUNS[1])["chosen"] == 2.0
    with pytest.raises(ConfigError, match="no hyperparameter"):
        selection(RUNS[0], "crt")


def test_fix_table_by_hand():
    table = fix_table({"instance-balanced": RUNS}, {"joint": "joint", "crt": "cRT"})
    assert table.index.name == "stage-1 sampler"
    assert list(table.columns) == ["joint", "cRT"]
    # joint 0.5, 0.6: mean 55.0, sd 7.07; cRT 0.7, 0.9: mean 80.0, sd 14.14
    assert table.loc["instance-balanced", "joint"] == "55.0 ± 7.1"
    assert table.loc["instance-balanced", "cRT"] == "80.0 ± 14.1"


def test_selection_table_by_hand():
    table = selection_table(RUNS)
    assert list(table.index) == [0, 1]
    assert table.loc[0, "τ chosen on validation"] == 1.0
    assert table.loc[1, "τ a test-set sweep would pick"] == 2.0
    assert table.loc[0, "test balanced acc at chosen τ (%)"] == pytest.approx(60.0)
    assert table.loc[1, "test balanced acc at chosen τ (%)"] == pytest.approx(65.0)
    assert table.loc[0, "best test balanced acc on the grid (%)"] == pytest.approx(65.0)


def test_weight_norm_frame_is_tidy():
    frame = fix_figures.weight_norm_frame(RUNS, {"joint": "joint", "crt": "cRT"})
    assert len(frame) == 2 * 2 * 3  # fixes x seeds x classes
    assert set(frame.columns) == {"classifier", "seed", "class rank", "relative norm"}


def test_plot_weight_norms_draws_one_line_per_fix():
    ax = fix_figures.plot_weight_norms(RUNS, {"joint": "joint", "crt": "cRT"})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["joint", "cRT"]
    assert ax.get_xlabel() == "class rank (0 = most frequent)"
    joint, crt = _mean_lines(ax)
    np.testing.assert_allclose(joint.get_ydata(), [1.5, 1.0, 0.5])
    np.testing.assert_allclose(crt.get_ydata(), [1.0, 1.0, 1.0])
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")


def test_plot_class_sizes_draws_a_bar_per_class_on_a_log_scale():
    ax = fix_figures.plot_class_sizes([100, 10, 1])
    assert len(ax.patches) == 3
    assert ax.get_yscale() == "log"
    plt.close("all")


def test_plot_class_sizes_labels_every_tenth_of_a_hundred_classes():
    ax = fix_figures.plot_class_sizes(list(range(100, 0, -1)))
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(r) for r in range(0, 100, 10)]
    plt.close("all")


def test_plot_selection_draws_both_splits_and_the_chosen_values():
    ax = fix_figures.plot_selection(RUNS)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["validation (used to choose)", "test (not used)"]
    validation, test = _mean_lines(ax)
    np.testing.assert_allclose(validation.get_ydata(), [50.0, 70.0, 60.0])
    np.testing.assert_allclose(test.get_ydata(), [40.0, 60.0, 65.0])
    chosen = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert chosen == [1.0, 2.0]
    assert ax.get_xlabel() == "τ"
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")
