"""Chapter 5's readers (lt_lab.regression.readers) and figures (lt_lab.regression.figures),
on tiny hand-made regression records."""

import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from lt_lab.errors import ConfigError  # noqa: E402
from lt_lab.figures import PALETTE, smallest_text_px  # noqa: E402
from lt_lab.regression import figures as dir_figures  # noqa: E402
from lt_lab.regression import readers  # noqa: E402
from lt_lab.regression.bins import LabelBins  # noqa: E402


def _record(seed, mae=8.0, few=14.0, mse=100.0, train_mse=2.0, sigma=1.5, error=None):
    error = [1.0, 2.0, 3.0, None] if error is None else error
    return {
        "seed": seed, "kind": "regression",
        "metrics": {"mae": mae, "many_shot_mae": mae - 2, "medium_shot_mae": mae,
                    "few_shot_mae": few, "mse": mse, "gm": mae / 2, "many_shot_gm": 1.0,
                    "medium_shot_gm": 2.0, "few_shot_gm": None, "many_shot_mse": mse / 2,
                    "few_shot_mse": None},
        "train_metrics": {"mse": train_mse, "mae": 1.0},
        "bins": {"low": 0.0, "high": 8.0, "num_bins": 4},
        "per_bin": {"train_count": [30, 20, 10, 0], "lds_density": [25.0, 20.0, 10.0, 3.0],
                    "region": ["many", "medium", "few", "few"], "test_mae": error,
                    "test_mse": [e if e is None else e * e for e in error]},
        "curves": {"eval_epoch": [1, 2], "train_mse": [4.0, train_mse],
                   "test_mse": [200.0, mse], "noise_sigma": [1.0, sigma]},
        "data": {"train_size": 60, "test_size": 40},
    }


VANILLA = [_record(0), _record(1, mae=9.0, few=16.0, mse=120.0)]
METHOD = [_record(0, mae=7.0, few=12.6, mse=90.0, train_mse=3.0),
          _record(1, mae=9.5, few=None, mse=132.0, train_mse=2.5)]


def test_metric_reads_test_and_training_metrics():
    assert readers.metric(VANILLA[0], "few_shot_mae") == 14.0
    assert readers.metric(VANILLA[0], "mse", "train") == 2.0
    with pytest.raises(ConfigError, match="split"):
        readers.metric(VANILLA[0], "mse", "validation")


def test_by_seed():
    assert readers.by_seed(VANILLA, "mae") == {0: 8.0, 1: 9.0}


def test_reduction_by_hand_leaves_out_missing_values():
    # (14 - 12.6) / 14 = 10 %; seed 1 has no few-shot error
    assert readers.reduction(METHOD, VANILLA, "few_shot_mae") == pytest.approx([10.0])
    # (100 - 90) / 100 = 10 %, (120 - 132) / 120 = -10 %
    assert readers.reduction(METHOD, VANILLA, "mse") == pytest.approx([10.0, -10.0])
    # training set: (2 - 3) / 2 = -50 %, (2 - 2.5) / 2 = -25 %
    assert readers.reduction(METHOD, VANILLA, "mse", "train") == pytest.approx([-50.0, -25.0])


def test_reduction_skips_a_baseline_that_is_not_positive():
    zero = [_record(0, mse=0.0)]
    assert readers.reduction([_record(0, mse=1.0)], zero, "mse") == []


def test_margin_over_best_by_hand():
    others = [[_record(0, few=13.0), _record(1, few=15.0)],
              [_record(0, few=12.0), _record(1, few=17.0)]]
    # seed 0: 12.6 - min(13, 12) = 0.6; seed 1: the method has no value
    assert readers.margin_over_best(METHOD, others, "few_shot_mae") == pytest.approx([0.6])


def test_per_bin_turns_missing_errors_into_nan():
    np.testing.assert_array_equal(readers.per_bin(VANILLA[0], "test_mae")[:3], [1.0, 2.0, 3.0])
    assert np.isnan(readers.per_bin(VANILLA[0], "test_mae")[3])
    assert readers.per_bin_errors(VANILLA).shape == (2, 4)
    with pytest.raises(ConfigError):
        readers.per_bin(VANILLA[0], "region")


def test_label_bins_of_a_record():
    assert readers.label_bins(VANILLA[0]) == LabelBins(0.0, 8.0, 4)


def test_density_correlations_and_their_gap_by_hand():
    # error falls exactly as the count rises (r = -1) over the three bins with an error
    records = [_record(0, error=[1.0, 2.0, 3.0, None])]
    table = readers.density_correlations(records)
    assert table.loc[0, "r(error, count)"] == pytest.approx(-1.0)
    r_density = np.corrcoef([1.0, 2.0, 3.0], [25.0, 20.0, 10.0])[0, 1]
    assert table.loc[0, "r(error, smoothed density)"] == pytest.approx(r_density)
    assert readers.correlation_gap(table) == pytest.approx([abs(r_density) - 1.0])


def test_curves_sigma_and_sizes():
    assert readers.curve(VANILLA[0], "eval_epoch") == [1, 2]
    assert readers.final_sigma(VANILLA[0]) == 1.5
    assert readers.train_size(VANILLA[0]) == 60


def test_regions_table_by_hand():
    table = readers.regions_table({"vanilla": VANILLA}, "mae", "MAE", "°")
    assert list(table.columns) == ["MAE all (°)", "MAE many (°)", "MAE medium (°)",
                                   "MAE few (°)"]
    assert table.loc["vanilla", "MAE all (°)"] == "8.50 ± 0.71"
    assert table.loc["vanilla", "MAE few (°)"] == "15.00 ± 1.41"
    gm = readers.regions_table({"vanilla": VANILLA}, "gm", "GM", "°")
    assert gm.loc["vanilla", "GM few (°)"] == "—"  # no few-shot GM in any run


def test_sigma_table_by_hand():
    table = readers.sigma_table([("vanilla", None, VANILLA[0]), ("BMC", 4.0, METHOD[1])], "°")
    assert table.loc[("vanilla", "—"), "σ learned (°)"] == "—"
    assert table.loc[("BMC", "4"), "σ learned (°)"] == "1.50"
    assert table.loc[("BMC", "4"), "balanced test MSE (°²)"] == "132.0"
    assert table.loc[("BMC", "4"), "training-set MSE (°²)"] == "2.50"
    assert table.loc[("BMC", "4"), "few-shot MAE (°)"] == "—"


def test_sampling_table_by_hand():
    table = readers.sampling_table({("imbalanced", "MSE alone"): VANILLA})
    row = table.loc[("imbalanced", "MSE alone")]
    assert row["training samples"] == 60
    assert row["balanced test MSE (units²)"] == "110.00 ± 14.14"
    assert row["few-shot MSE (units²)"] == "—"


def _data():
    bins = LabelBins(0.0, 8.0, 4)
    targets = torch.tensor([1.0, 1.5, 3.0, 5.0, 7.0])
    return SimpleNamespace(bins=bins, train_targets=targets, train_bin_counts=[2, 1, 1, 1],
                           test_targets=torch.tensor([1.0, 3.0, 5.0, 7.0]),
                           train_inputs=torch.zeros(5, 1, 8, 8, dtype=torch.uint8))


def test_plot_dataset_shows_examples_and_both_histograms():
    fig = dir_figures.plot_dataset(_data(), "°", ratio=100, title="histograms")
    top, bottom = fig.subfigs
    assert len(top.axes) == 8 and top.axes[0].get_title().startswith("θ = 1.0")
    (ax,) = bottom.axes
    assert ax.get_title() == "histograms" and ax.get_yscale() == "log"
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "test images per bin", "training images per bin (ρ=100)"]
    assert fig.get_figwidth() <= 7.5 and smallest_text_px(fig) >= 9
    plt.close("all")


def test_plot_examples_skips_inputs_that_are_not_images():
    data = _data()
    data.train_inputs = torch.zeros(5, 1, 1, 1)
    assert dir_figures.plot_examples(data, "units").axes == []
    plt.close("all")


def test_plot_error_vs_density_uses_a_second_axis_for_the_error():
    ax = dir_figures.plot_error_vs_density(VANILLA, "°")
    twin = next(other for other in ax.figure.axes if other is not ax)
    assert twin.get_ylabel() == "test MAE (°)"
    assert len(ax.patches) == 4
    (mean,) = [line for line in twin.get_lines() if len(line.get_xdata()) > 0
               and line.get_marker() == "o"]
    np.testing.assert_allclose(mean.get_xdata(), [1.0, 3.0, 5.0])  # the empty bin left out
    np.testing.assert_allclose(mean.get_ydata(), [1.0, 2.0, 3.0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "test MAE per bin (mean ± sd over seeds)"
    assert mean.get_color() == sns.color_palette(PALETTE)[0]  # vanilla's colour in the curves
    assert smallest_text_px(ax.figure) >= 9
    plt.close("all")


def test_plot_mse_curves_has_the_training_and_the_test_panel():
    fig = dir_figures.plot_mse_curves({"vanilla": VANILLA, "method": METHOD}, "°")
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert left.get_title() == "skewed training set"
    assert left.get_legend() is None and right.get_legend() is None  # one, the figure's
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["vanilla", "method"]
    assert fig.get_figwidth() <= 7.5 and smallest_text_px(fig) >= 9
    frame = dir_figures.curve_frame({"vanilla": VANILLA})
    assert len(frame) == 2 * 2 * 2  # seeds x curves x epochs
    plt.close("all")


def test_density_correlations_also_give_the_bins_position():
    # error 1, 2, 3 over bins 0, 1, 2: it rises exactly with the position (r = 1)
    table = readers.density_correlations([_record(0, error=[1.0, 2.0, 3.0, None])])
    assert table.loc[0, "r(error, bin position)"] == pytest.approx(1.0)


def _dipped(seed, error):
    """A record on 9 bins thinned at bins 2 and 6 (exp_dips), with per-bin test ``error``."""
    record = _record(seed, error=error)
    record["config"] = {"label_profile": "exp_dips", "imbalance_ratio": 100.0}
    record["bins"] = {"low": 0.0, "high": 18.0, "num_bins": 9}
    record["per_bin"]["train_count"] = [40, 36, 8, 30, 28, 26, 6, 22, 20]
    return record


def test_thinned_bins_are_those_with_neighbours_on_both_sides():
    error = [1.0] * 9
    assert readers.thinned_bins(_dipped(0, error)) == [2, 6]
    uniform = _dipped(0, error)
    uniform["config"]["imbalance_ratio"] = 1.0
    assert readers.thinned_bins(uniform) == []
    natural = _dipped(0, error)
    natural["config"] = {"label_profile": "exp_dips", "imbalance_ratio": None}
    assert readers.thinned_bins(natural) == []


def test_dip_errors_by_hand():
    # thinned bins 2 and 6: errors 5 and 7 -> 6; neighbours 1, 3, 5, 7: errors 4, 4, 6, 6 -> 5
    error = [0.0, 4.0, 5.0, 4.0, 0.0, 6.0, 7.0, 6.0, 0.0]
    table = readers.dip_errors([_dipped(3, error)])
    assert table.loc[3, "thinned bins"] == pytest.approx(6.0)
    assert table.loc[3, "their neighbours"] == pytest.approx(5.0)
    # counts 8 + 6 = 14 against (36 + 30 + 26 + 22) / 2 = 57
    assert table.loc[3, "count ratio"] == pytest.approx(14 / 57)
    uniform = _dipped(3, error)
    uniform["config"]["imbalance_ratio"] = 1.0
    assert readers.dip_errors([uniform]).empty  # no dips, no rows


def _two_stage(seed, base_mse, mse, few=(14.0, 12.0), train=(1.0, 3.0), sigma=10.5):
    record = _record(seed, mse=mse, few=few[1], train_mse=train[1])
    record["base_metrics"] = {**record["metrics"], "mse": base_mse, "few_shot_mae": few[0]}
    record["base_train_metrics"] = {"mse": train[0], "mae": 1.0}
    record["curves"]["retrain"] = {"epoch": [1, 2], "loss": [5.0, 4.0],
                                   "noise_sigma": [10.2, sigma]}
    return record


def test_stage_reduction_and_the_two_stage_table_by_hand():
    runs = [_two_stage(0, 200.0, 180.0), _two_stage(1, 100.0, 110.0, sigma=10.7)]
    # (200 - 180) / 200 = 10 %, (100 - 110) / 100 = -10 %
    assert readers.stage_reduction(runs, "mse") == pytest.approx([10.0, -10.0])
    assert readers.metric(runs[0], "mse", "base_train") == 1.0
    assert readers.retrain_sigma(runs[1]) == 10.7
    table = readers.two_stage_table({"two-stage BMC": runs}, "°")
    assert table.loc["two-stage BMC", "balanced test MSE (°²)"] == "150.00 ± 70.71 → 145.00 ± 49.50"
    assert table.loc["two-stage BMC", "training-set MSE (°²)"] == "1.00 ± 0.00 → 3.00 ± 0.00"
    assert table.loc["two-stage BMC", "σ at the end (°)"] == "10.60 ± 0.14"
