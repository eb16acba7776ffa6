"""The book's figures (lt_lab.figures, lt_lab.reweighting.figures, lt_lab.margins.figures):
smoke tests on the Agg backend with tiny fake records. Each checks that a figure draws on the
axes it is given, labels them with units, keeps the groups in the legend, and that mean ± sd
error bars are the seeds' (hand-computed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from lt_lab import figures  # noqa: E402
from lt_lab.margins import figures as margin_figures  # noqa: E402
from lt_lab.margins import toy  # noqa: E402
from lt_lab.reweighting import class_weights  # noqa: E402
from lt_lab.reweighting import figures as reweighting_figures  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def record(seed, per_class, ratio=100, counts=(100, 10), curve=(0.5, 0.6), tau_acc=None):
    rec = {"seed": seed, "key": f"run{seed}-{ratio}", "config": {"imbalance_ratio": ratio},
           "class_counts": list(counts), "class_names": ["head", "tail"][:len(per_class)],
           "per_class_acc": list(per_class),
           "metrics": {"balanced_acc": float(np.mean(per_class)), "many_shot_acc": per_class[0],
                       "few_shot_acc": per_class[-1]},
           "curves": {"eval_epoch": [1, 2], "test_balanced_acc": list(curve)}}
    if tau_acc is not None:
        rec["extras"] = {"posthoc": {f"{tau:g}": {"balanced_acc": acc, "many_shot_acc": acc,
                                                  "few_shot_acc": acc, "per_class_acc": [acc]}
                                     for tau, acc in tau_acc.items()}}
    return rec


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def error_bars(ax):
    """The vertical error-bar segments seaborn drew, as (x, low, high), sorted."""
    bars = []
    for collection in ax.collections:
        for segment in getattr(collection, "get_segments", list)():
            if len(segment) != 2:  # seaborn's empty segment for a single seed
                continue
            (x0, y0), (x1, y1) = segment
            if x0 == x1 and y0 != y1:
                bars.append((x0, min(y0, y1), max(y0, y1)))
    return sorted(bars)


def test_use_book_style_and_palette():
    figures.use_book_style()
    assert plt.rcParams["axes.titlesize"] == "medium"
    assert len(figures.colours(3)) == 3
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]  # the book's one palette
    assert [to_hex(c) for c in cycle[:3]] == [to_hex(c) for c in figures.colours(3)]


def test_panels():
    axes = figures.panels(3, height=2.0)
    assert len(axes) == 3 and axes[0].figure is axes[2].figure
    assert tuple(axes[0].figure.get_size_inches()) == pytest.approx((18.0, 2.0))


def test_per_class_frame_and_metric_frame():
    frame = figures.per_class_frame({"g": [record(0, [0.6, 0.2]), record(1, [0.8, 0.4])]})
    assert len(frame) == 4  # 2 records x 2 classes
    assert frame["accuracy (%)"].tolist() == pytest.approx([60, 20, 80, 40])
    assert frame["images"].tolist() == [100, 10, 100, 10]
    assert frame["class name"].tolist() == ["head", "tail"] * 2
    ratios = figures.metric_frame({"g": [record(0, [0.6, 0.2], ratio=10)]}, "balanced_acc")
    assert ratios.to_dict("records") == [{"name": "g", "seed": 0, "imbalance_ratio": 10,
                                          "balanced_acc": pytest.approx(40.0)}]


def test_plot_per_class_accuracy_draws_mean_and_sd_over_seeds():
    _, given = plt.subplots()
    groups = {"ρ=100": [record(0, [0.6, 0.2]), record(1, [0.8, 0.2])],
              "ρ=10": [record(0, [0.9, 0.5], counts=(100, 50))]}
    ax = figures.plot_per_class_accuracy(groups, ax=given)
    assert ax is given
    assert ax.get_xlabel() == "training images of the class (log scale)"
    assert ax.get_ylabel() == "test accuracy of the class (%)"
    assert ax.get_xscale() == "log"
    assert legend_texts(ax) == ["ρ=100", "ρ=10"]
    # the head class of ρ=100: 60 and 80 -> mean 70, sd sqrt(2 * 10^2 / 1) = 14.142
    assert (100.0, pytest.approx(70 - 14.142136), pytest.approx(70 + 14.142136)) in \
        error_bars(ax)


def test_plot_metric_vs_ratio_draws_mean_and_sd_over_seeds():
    groups = {"CE": [record(0, [0.6, 0.2], ratio=10), record(1, [0.8, 0.4], ratio=10),
                     record(0, [0.5, 0.1], ratio=100)]}
    ax = figures.plot_metric_vs_ratio(groups)
    assert ax.get_xlabel() == "imbalance ratio ρ (log scale)"
    assert ax.get_ylabel() == "balanced accuracy (%)"
    assert legend_texts(ax) == ["CE"]
    # ρ=10: balanced 40 and 60 -> mean 50, sd 14.142; ρ=100: one seed, no bar
    assert error_bars(ax) == [(10.0, pytest.approx(35.857864), pytest.approx(64.142136))]
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [10, 100]
    assert list(line.get_ydata()) == pytest.approx([50, 30])


def test_plot_class_counts():
    ax = figures.plot_class_counts({"exponential": [100, 31, 10], "step": [100, 10, 10]})
    assert ax.get_xlabel() == "class rank (0 = most frequent)"
    assert ax.get_ylabel() == "training images per class"
    assert ax.get_yscale() == "log"
    assert legend_texts(ax) == ["exponential", "step"]


def test_plot_curves_is_the_mean_over_seeds():
    groups = {"CE": [record(0, [0.5, 0.5], curve=(0.4, 0.6)),
                     record(1, [0.5, 0.5], curve=(0.6, 0.8))]}
    ax = figures.plot_curves(groups)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test balanced acc (%)"
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [1, 2]
    assert list(line.get_ydata()) == pytest.approx([50, 70])


def test_plot_per_class_bars():
    groups = {"ρ=1": [record(0, [0.9, 0.8])], "ρ=100": [record(0, [0.9, 0.1])]}
    ax = figures.plot_per_class_bars(groups)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["head", "tail"]
    assert ax.get_ylabel() == "test accuracy of the class (%)"
    assert legend_texts(ax) == ["ρ=1", "ρ=100"]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)
    assert heights == [10, 80, 90, 90]


# --- chapter 1 -------------------------------------------------------------------------


def test_plot_effective_number():
    ax = reweighting_figures.plot_effective_number(50, [0.9, 0.99])
    assert ax.get_xlabel() == "images in the class, n"
    assert ax.get_ylabel() == "effective number E_n (images)"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert legend_texts(ax) == ["β=0.9", "β=0.99", "E_n = n (β → 1)"]
    saturating = ax.get_lines()[0]  # β = 0.9: E_50 = (1 - 0.9^50) / 0.1 ≈ 9.948
    assert saturating.get_ydata()[-1] == pytest.approx((1 - 0.9**50) / 0.1)


def test_plot_class_weights():
    counts = [100, 10]
    schemes = {"inverse frequency": class_weights(counts, "inverse")}
    ax = reweighting_figures.plot_class_weights(schemes)
    assert ax.get_xlabel() == "class rank (0 = most frequent)"
    assert ax.get_ylabel() == "loss weight w_c (sum = C)"
    # inverse frequency 1/100 : 1/10, normalised to sum 2: 2/11 and 20/11
    heights = sorted(p.get_height() for p in ax.patches if p.get_height() > 0)
    assert heights == pytest.approx([2 / 11, 20 / 11])


# --- chapter 2 -------------------------------------------------------------------------


def test_plot_logit_offsets():
    ax = margin_figures.plot_logit_offsets({"LDAM": [0.0, -1.0, -2.0], "LA": [0.0, -0.5, -3.0]})
    assert ax.get_xlabel() == "class rank (0 = most frequent)"
    assert ax.get_ylabel() == "offset on the true-class logit (logit units)"
    assert legend_texts(ax) == ["LDAM", "LA"]
    heights = sorted(p.get_height() for p in ax.patches if p.get_height() != 0)
    assert heights == pytest.approx([-3.0, -2.0, -1.0, -0.5])


def test_posthoc_frame_and_curve():
    records = [record(0, [0.5], tau_acc={0.0: 0.5, 1.0: 0.7}),
               record(1, [0.5], tau_acc={0.0: 0.3, 1.0: 0.7})]
    frame = margin_figures.posthoc_frame(records, [0.0, 1.0], ["balanced_acc"])
    assert frame["value"].tolist() == pytest.approx([50, 30, 70, 70])
    assert set(frame["metric"]) == {"balanced accuracy"}
    ax = margin_figures.plot_posthoc_curve(records, [0.0, 1.0], reference=65.0,
                                           reference_label="LA loss")
    assert ax.get_xlabel() == "post-hoc τ" and ax.get_ylabel() == "test accuracy (%)"
    assert legend_texts(ax) == ["balanced accuracy", "many shot accuracy", "few shot accuracy",
                                "LA loss"]
    # τ=0: 50 and 30 -> mean 40, sd 14.142 (the three metrics share the values here)
    assert (0.0, pytest.approx(25.857864), pytest.approx(54.142136)) in error_bars(ax)


def test_plot_toy_boundaries_one_panel_per_model():
    points, labels = toy.gaussian_classes([30, 5], seed=0)
    test_points, test_labels = toy.balanced_test_set(2, per_class=20, seed=0)
    model = toy.train_toy(points, labels, steps=5, seed=0)
    axes = margin_figures.plot_toy_boundaries(
        {"CE": (model, 0.0), "CE + post-hoc": (model, 1.0)}, points, labels,
        test_points, test_labels, class_counts=[30, 5])
    assert len(axes) == 2
    assert axes[0].get_title().startswith("CE\nbalanced test accuracy ")
    assert axes[1].get_title().startswith("CE + post-hoc\nbalanced test accuracy ")
    assert axes[1].get_xlabel() == "x₁"


# --- readable in the book's column ----------------------------------------------------


def test_text_shrinks_with_the_figure_width_into_the_column():
    # 9 pt in a 7.5-inch figure at 150 dpi (1,125 px) shown in 690 px: 9 × 690 / 540 = 11.5 px
    assert figures.shown_text_px(9, 7.5) == pytest.approx(11.5)
    # a narrow figure is not enlarged: 3 inches at 150 dpi is 450 px, so 9 pt = 18.75 px
    assert figures.shown_text_px(9, 3.0) == pytest.approx(9 * 150 / 72)


def test_the_chapter_figures_keep_their_text_readable():
    points, labels = toy.gaussian_classes([30, 5, 2], seed=0)
    test_points, test_labels = toy.balanced_test_set(3, per_class=10, seed=0)
    model = toy.train_toy(points, labels, steps=5, seed=0)
    toy_axes = margin_figures.plot_toy_boundaries(
        {f"model {k}": (model, 0.0) for k in range(4)}, points, labels, test_points,
        test_labels, class_counts=[30, 5, 2])
    drawn = [toy_axes[0],
             reweighting_figures.plot_class_weights({"inverse": class_weights([9, 3], "inverse")}),
             reweighting_figures.plot_effective_number(50, [0.9, 0.99]),
             margin_figures.plot_logit_offsets({"LDAM": [0.0, -1.0], "LA": [0.0, -2.0]}),
             figures.plot_per_class_bars({"ρ=1": [record(0, [0.9, 0.8])]})]
    for ax in drawn:
        assert ax.figure.get_size_inches()[0] <= figures.MAX_WIDTH
        assert figures.smallest_text_px(ax.figure) >= figures.MIN_TEXT_PX


def test_the_toy_panels_are_stacked_two_a_row():
    points, labels = toy.gaussian_classes([30, 5], seed=0)
    model = toy.train_toy(points, labels, steps=5, seed=0)
    axes = margin_figures.plot_toy_boundaries(
        {f"model {k}": (model, 0.0) for k in range(4)}, points, labels, points, labels,
        class_counts=[30, 5])
    rows = sorted({round(ax.get_position().y0, 3) for ax in axes})
    assert len(rows) == 2  # 2 × 2, not 1 × 4
    assert [t.get_text() for t in axes[0].figure.legends[0].get_texts()] == \
        ["class 0 (n=30)", "class 1 (n=5)"]


def test_palette_for_gives_a_name_the_same_colour_in_every_figure():
    palette = figures.palette_for(["ρ=1", "ρ=10", "ρ=100"])
    assert list(palette) == ["ρ=1", "ρ=10", "ρ=100"]
    left = figures.plot_curves({"ρ=10": [record(0, [0.5, 0.5])],
                                "ρ=100": [record(0, [0.5, 0.5])]}, palette=palette)
    assert to_hex(left.get_lines()[0].get_color()) == to_hex(palette["ρ=10"])


def test_grid_stacks_panels_within_the_largest_width():
    axes = figures.grid(3, columns=2, panel_height=2.0, width=12)
    assert len(axes) == 3
    assert tuple(axes[0].figure.get_size_inches()) == pytest.approx((figures.MAX_WIDTH, 4.0))


# --- the text sizes the site check reads ----------------------------------------------


def test_the_book_style_sets_the_style_and_leaves_the_renderer_alone():
    from matplotlib.backends.backend_agg import RendererAgg

    before = RendererAgg.draw_text
    figures.use_book_style()
    figures.plot_class_counts({"a": [10, 1]}).figure.canvas.draw()
    assert RendererAgg.draw_text is before


def test_the_text_recorder_passes_any_signature_through_and_restores_the_renderer(monkeypatch):
    from matplotlib.backends.backend_agg import RendererAgg

    from lt_lab.figure_text import text_sizes_drawn

    calls = []

    def future_draw_text(self, gc, x, y, s, prop, angle, *, ismath=False, mtext=None, new=1):
        calls.append(new)

    monkeypatch.setattr(RendererAgg, "draw_text", future_draw_text)
    prop = matplotlib.font_manager.FontProperties(size=7)
    sizes = []
    with text_sizes_drawn(sizes):
        RendererAgg.draw_text(None, None, 0, 0, "label", prop, 0, ismath=False, new=2)
        RendererAgg.draw_text(None, None, 0, 0, " ", prop, 0)  # empty: not seen by a reader
        RendererAgg.draw_text(None, None, 0, 0, angle=0, s="title", prop=prop.copy(), new=3)
    assert sizes == [7, 7] and calls == [2, 1, 3]
    assert RendererAgg.draw_text is future_draw_text


def test_the_figures_use_the_site_checks_one_text_size_formula():
    from lt_lab.figure_text import COLUMN_PX, MIN_TEXT_PX, text_px

    assert (figures.COLUMN_PX, figures.MIN_TEXT_PX) == (COLUMN_PX, MIN_TEXT_PX)
    # a figure wider than the column shows at the column's width, a narrow one at its own
    assert figures.shown_text_px(9, 7.5) == text_px(9, 7.5, COLUMN_PX)
    assert figures.shown_text_px(9, 3.0) == pytest.approx(text_px(9, 3.0, 3.0 * figures.DPI))
