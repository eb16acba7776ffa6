"""The book's figure style, and the figures every chapter shares.

One seaborn theme and one palette for every family's figures (:func:`use_book_style`,
:data:`PALETTE`); each figure function draws on ``ax`` (a new figure when None) and returns
the axes, so a notebook cell stays one line and can still adjust the result. Every axis is
labelled with its unit. Spreads over seeds are seaborn's own (``errorbar="sd"``), drawn from
tidy tables built from the records (:func:`per_class_frame`, :func:`metric_frame`). Needs
the ``book`` extra (matplotlib, seaborn, pandas); the engine never imports this module.

Readable in the book: figures render at :data:`DPI` and are at most :data:`MAX_WIDTH` inches
wide, so that text of the theme's sizes shows at ``MIN_TEXT_PX`` px or more in the page's
column (:func:`smallest_text_px`, by :mod:`lt_lab.figure_text`'s one formula); several
panels are stacked (:func:`grid`). A book notebook calls :func:`record_text_sizes` once,
after :func:`use_book_style`, so that each figure it shows records its smallest text for the
site check. Each plot takes ``palette``, e.g. :func:`palette_for` a chapter's methods, so
that one method keeps one colour across a chapter's figures.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from lt_lab import figure_text
from lt_lab.figure_text import (  # noqa: F401  (the explicit call a book notebook makes)
    COLUMN_PX,
    MIN_TEXT_PX,
    png_with_text_size,
    record_text_sizes,
    text_px,
)

PALETTE = "colorblind"  # seaborn's colour-blind-safe palette, for every figure of the book
FIGURE_WIDTH = 6.4  # inches: readable at the page's width in the rendered book
MAX_WIDTH = 7.5  # inches: at the book's fonts (>= 9 pt) the smallest text stays >= 9 px
DPI = 150  # the notebooks' inline figures, and so the book's images


def use_book_style() -> None:
    """The book's seaborn theme: white grid, readable fonts, the colour-blind palette,
    figures at :data:`DPI` (the inline backend renders at ``figure.dpi``); and tables whose
    cells pandas never cuts with "..." (its default cuts text at 50 characters). Only the
    style: a book notebook also calls :func:`record_text_sizes`, for the site check."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": DPI, "savefig.dpi": DPI, "axes.titlesize": "medium"})
    pd.set_option("display.max_colwidth", None)


def save_with_text_size(figure, path, dpi: float = DPI) -> None:
    """``figure.savefig(path)`` at the book's :data:`DPI`, its smallest text and width
    recorded for the site check (:func:`lt_lab.figure_text.save_with_text_size`)."""
    figure_text.save_with_text_size(figure, path, dpi)


def shown_text_px(points: float, width: float, dpi: float = DPI,
                  column_px: float = COLUMN_PX) -> float:
    """How tall text of ``points`` pt shows, in CSS px, in a figure ``width`` inches wide:
    the image is drawn ``width × dpi`` px wide, shrunk to the column when it is wider
    (:func:`lt_lab.figure_text.text_px` at that shown width)."""
    return text_px(points, width, min(width * dpi, column_px))


def smallest_text_px(figure, column_px: float = COLUMN_PX) -> float:
    """The smallest visible text of ``figure`` (titles, labels, ticks, legends), in CSS px
    at the book's column width (:func:`shown_text_px`; ``inf`` when it has no text)."""
    figure.canvas.draw()  # creates the tick labels
    sizes = [text.get_fontsize() for text in figure.findobj(plt.Text)
             if text.get_visible() and text.get_text().strip()]
    width = figure.get_size_inches()[0]
    return min((shown_text_px(size, width, figure.dpi, column_px) for size in sizes),
               default=float("inf"))


def palette_for(names) -> dict:
    """One colour of the book's palette per name, in order: pass it as ``palette`` to every
    figure of a chapter so that a method (or a ρ) keeps its colour from figure to figure."""
    names = list(dict.fromkeys(names))
    return dict(zip(names, sns.color_palette(PALETTE, len(names)), strict=True))


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


def grid(count: int, columns: int = 1, panel_height: float = 3.4,
         width: float = FIGURE_WIDTH):
    """``count`` axes in rows of ``columns``, in one figure ``width`` inches wide (at most
    :data:`MAX_WIDTH`, so that the text stays readable in the book's column): a figure of
    several panels is stacked, not widened. Returns the axes, row by row."""
    rows = -(-count // columns)
    use_book_style()
    _, axes = plt.subplots(rows, columns, figsize=(min(width, MAX_WIDTH), panel_height * rows),
                           layout="constrained", squeeze=False)
    return list(axes.flat)[:count]


def legend(ax, **options):
    """The axes' legend without seaborn's title (its entries are self-explaining), if any."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title=None, **options)


def legend_below(ax, columns: int = 3, **options):
    """The axes' legend under the plot, outside the data (no title, no frame), if any."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title=None, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=columns,
                  frameon=False, **options)


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


def plot_class_counts(counts_by_name: dict[str, list[int]], ax=None, log: bool = True,
                      palette=None):
    """Training images per class (head first), one line per named long-tailed set."""
    ax = axes_for(ax)
    frame = pd.DataFrame([{"name": name, "rank": rank, "images": count}
                          for name, counts in counts_by_name.items()
                          for rank, count in enumerate(counts)])
    sns.lineplot(frame, x="rank", y="images", hue="name", marker="o", markersize=4,
                 palette=palette or PALETTE, ax=ax)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("class rank (0 = most frequent)")
    ax.set_ylabel("training images per class")
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax


def plot_per_class_accuracy(records_by_name: dict[str, list[dict]], ax=None, palette=None):
    """Per-class test accuracy (%) against training images per class (log scale).

    Each named group of records (the seeds of one setting) is drawn as its mean with the
    seed-to-seed standard deviation as error bars (seaborn, ``errorbar="sd"``). Classes
    with the same number of training images share one point.
    """
    ax = axes_for(ax)
    sns.lineplot(per_class_frame(records_by_name), x="images", y="accuracy (%)", hue="name",
                 errorbar="sd", err_style="bars", err_kws={"capsize": 3}, marker="o",
                 palette=palette or PALETTE, ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test accuracy of the class (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax


def plot_curves(records_by_name: dict[str, list[dict]], metric: str = "test_balanced_acc",
                ax=None, palette=None):
    """A test metric (%) over training epochs: mean of each group's records."""
    ax = axes_for(ax)
    frame = pd.DataFrame([{"name": name, "epoch": epoch, "value": 100 * value}
                          for name, records in records_by_name.items() for r in records
                          for epoch, value in zip(r["curves"]["eval_epoch"], r["curves"][metric],
                                                  strict=True)])
    sns.lineplot(frame, x="epoch", y="value", hue="name", errorbar=None, marker="o",
                 markersize=4, palette=palette or PALETTE, ax=ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("test_", "test ").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3)
    legend(ax)
    return ax


def plot_per_class_bars(records_by_name: dict[str, list[dict]], ax=None, palette=None):
    """Per-class test accuracy (%) as grouped bars (mean over seeds), one group per class
    (head first)."""
    ax = axes_for(ax, size=(MAX_WIDTH, 4))
    frame = per_class_frame(records_by_name)
    order = frame.drop_duplicates("class").sort_values("class")["class name"].tolist()
    sns.barplot(frame, x="class name", y="accuracy (%)", hue="name", order=order,
                errorbar=None, palette=palette or PALETTE, ax=ax)
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
                         ax=None, palette=None):
    """A final metric (%) against the imbalance ratio (log scale), mean ± sd over seeds."""
    ax = axes_for(ax)
    sns.lineplot(metric_frame(records_by_name, metric), x="imbalance_ratio", y=metric,
                 hue="name", errorbar="sd", err_style="bars", err_kws={"capsize": 3},
                 marker="o", palette=palette or PALETTE, ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio ρ (log scale)")
    ax.set_ylabel(metric.replace("_acc", " accuracy").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3, which="both")
    legend(ax)
    return ax
