"""The book's figure style, and the figures every chapter shares.

One seaborn theme and one palette for every family's figures (:func:`use_book_style`,
:data:`PALETTE`); each figure function draws on ``ax`` (a new figure when None) and returns
the axes, so a notebook cell stays one line and can still adjust the result. Every axis is
labelled with its unit. Spreads over seeds are seaborn's own (``errorbar="sd"``), drawn from
tidy tables built from the records (:func:`per_class_frame`, :func:`metric_frame`). Needs
the ``book`` extra (matplotlib, seaborn, pandas); the engine never imports this module.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = "colorblind"  # seaborn's colour-blind-safe palette, for every figure of the book
FIGURE_WIDTH = 6.4  # inches: readable at the page's width in the rendered book


def use_book_style() -> None:
    """The book's seaborn theme: white grid, readable fonts, the colour-blind palette."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": 100, "savefig.dpi": 150, "axes.titlesize": "medium"})


def colours(count: int) -> list:
    """``count`` colours of the book's palette."""
    return sns.color_palette(PALETTE, count)


def axes_for(ax, size=(FIGURE_WIDTH, 4.0)):
    """``ax``, or the axes of a new figure of ``size`` inches in the book's style."""
    if ax is None:
        use_book_style()
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def seed_spread(frame) -> str | None:
    """seaborn's ``errorbar``: one standard deviation over seeds when a tidy frame (with a
    ``seed`` column) holds more than one seed; none for a single seed."""
    return "sd" if frame["seed"].nunique() > 1 else None


def panels(count: int, height: float = 4.2, width: float | None = None):
    """A row of ``count`` axes for side-by-side figures (``width`` defaults to 6 inches each)."""
    width = 6.0 * count if width is None else width
    _, axes = plt.subplots(1, count, figsize=(width, height), layout="constrained",
                           squeeze=False)
    return list(axes[0])


def legend(ax, **options):
    """The axes' legend without seaborn's title (its entries are self-explaining), if any."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title=None, **options)


def per_class_frame(records_by_name: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per (group, record, class): ``name``, ``seed``, ``class`` (index),
    ``class name``, ``images`` (its training images) and ``accuracy (%)`` on the test set."""
    rows = []
    for name, records in records_by_name.items():
        for r in records:
            names = r.get("class_names") or [str(c) for c in range(len(r["per_class_acc"]))]
            rows += [{"name": name, "seed": r["seed"], "class": c, "class name": names[c],
                      "images": r["class_counts"][c], "accuracy (%)": 100 * accuracy}
                     for c, accuracy in enumerate(r["per_class_acc"])]
    return pd.DataFrame(rows)


def metric_frame(records_by_name: dict[str, list[dict]], metric: str,
                 by: str = "imbalance_ratio") -> pd.DataFrame:
    """One row per (group, record): ``name``, ``seed``, config field ``by`` and ``metric``
    (in percent, under its own name)."""
    return pd.DataFrame([{"name": name, "seed": r["seed"], by: r["config"][by],
                          metric: None if r["metrics"][metric] is None
                          else 100 * r["metrics"][metric]}
                         for name, records in records_by_name.items() for r in records])


def plot_class_counts(counts_by_name: dict[str, list[int]], ax=None, log: bool = True):
    """Training images per class (head first), one line per named long-tailed set."""
    ax = axes_for(ax)
    frame = pd.DataFrame([{"name": name, "rank": rank, "images": count}
                          for name, counts in counts_by_name.items()
                          for rank, count in enumerate(counts)])
    sns.lineplot(frame, x="rank", y="images", hue="name", marker="o", markersize=4,
                 palette=PALETTE, ax=ax)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("class rank (0 = most frequent)")
    ax.set_ylabel("training images per class")
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax


def plot_per_class_accuracy(records_by_name: dict[str, list[dict]], ax=None):
    """Per-class test accuracy (%) against training images per class (log scale).

    Each named group of records (the seeds of one setting) is drawn as its mean with the
    seed-to-seed standard deviation as error bars (seaborn, ``errorbar="sd"``). Classes
    with the same number of training images share one point.
    """
    ax = axes_for(ax)
    sns.lineplot(per_class_frame(records_by_name), x="images", y="accuracy (%)", hue="name",
                 errorbar="sd", err_style="bars", err_kws={"capsize": 3}, marker="o",
                 palette=PALETTE, ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test accuracy of the class (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax


def plot_curves(records_by_name: dict[str, list[dict]], metric: str = "test_balanced_acc",
                ax=None):
    """A test metric (%) over training epochs: mean of each group's records."""
    ax = axes_for(ax)
    frame = pd.DataFrame([{"name": name, "epoch": epoch, "value": 100 * value}
                          for name, records in records_by_name.items() for r in records
                          for epoch, value in zip(r["curves"]["eval_epoch"], r["curves"][metric],
                                                  strict=True)])
    sns.lineplot(frame, x="epoch", y="value", hue="name", errorbar=None, marker="o",
                 markersize=4, palette=PALETTE, ax=ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("test_", "test ").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3)
    legend(ax)
    return ax


def plot_per_class_bars(records_by_name: dict[str, list[dict]], ax=None):
    """Per-class test accuracy (%) as grouped bars (mean over seeds), one group per class
    (head first)."""
    ax = axes_for(ax, size=(8, 4))
    frame = per_class_frame(records_by_name)
    order = frame.drop_duplicates("class").sort_values("class")["class name"].tolist()
    sns.barplot(frame, x="class name", y="accuracy (%)", hue="name", order=order,
                errorbar=None, palette=PALETTE, ax=ax)
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_xlabel("class (head → tail at the largest ρ)")
    ax.set_ylabel("test accuracy of the class (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3, axis="y")
    legend(ax)
    return ax


def plot_metric_vs_ratio(records_by_name: dict[str, list[dict]], metric: str = "balanced_acc",
                         ax=None):
    """A final metric (%) against the imbalance ratio (log scale), mean ± sd over seeds."""
    ax = axes_for(ax)
    sns.lineplot(metric_frame(records_by_name, metric), x="imbalance_ratio", y=metric,
                 hue="name", errorbar="sd", err_style="bars", err_kws={"capsize": 3},
                 marker="o", palette=PALETTE, ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio ρ (log scale)")
    ax.set_ylabel(metric.replace("_acc", " accuracy").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax
