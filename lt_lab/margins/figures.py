"""Chapter 2's figures: the 2-D toy's boundaries, the logit offsets of the margin losses, and
post-hoc adjustment's curve over τ.

In the book's style (:mod:`lt_lab.figures`); each function draws on ``ax`` (or ``axes``; new
ones when None) and returns it. Needs the ``book`` extra; the family's losses never import
this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from lt_lab.figures import FIGURE_WIDTH, MAX_WIDTH, PALETTE, axes_for, grid, legend_below
from lt_lab.margins import toy
from lt_lab.margins.posthoc import posthoc_view


def plot_toy_boundaries(models: dict, points, labels, test_points, test_labels, *,
                        class_counts, axes=None):
    """One panel per toy model: its decision regions over the training points, titled with
    its balanced accuracy on the balanced test set; one legend of the classes under them.

    ``models`` maps a name to ``(model, posthoc_tau)``: ``posthoc_tau > 0`` predicts with
    ``z − τ log π`` (π from the training ``class_counts``). New axes are two a row in a
    figure of the book's largest width, so that the text stays readable. Returns the axes.
    """
    if axes is None:
        axes = grid(len(models), columns=min(2, len(models)), panel_height=3.5,
                    width=MAX_WIDTH)
    for ax, (name, (model, tau)) in zip(axes, models.items(), strict=True):
        accuracy = toy.score(model, test_points, test_labels,
                             class_counts=class_counts, posthoc_tau=tau)
        toy.plot_decision_regions(model, points, labels, class_counts=class_counts,
                                  posthoc_tau=tau, ax=ax,
                                  title=f"{name}\nbalanced test accuracy {100 * accuracy:.1f} %")
        ax.get_legend().remove()  # the panels share their classes: one legend below
    handles, labels_ = axes[0].get_legend_handles_labels()
    axes[0].figure.legend(handles, labels_, loc="outside lower center", ncols=len(handles),
                          frameon=False)
    return axes


def plot_logit_offsets(offsets_by_loss: dict, ax=None):
    """What each loss adds to the true class's logit, relative to the head class, by class
    rank (grouped bars; negative = a larger margin is asked of the class).

    ``offsets_by_loss`` maps a loss's name to one offset per class (head first).
    """
    ax = axes_for(ax, size=(FIGURE_WIDTH, 4))
    frame = pd.DataFrame([{"loss": name, "class rank": rank, "offset": float(offset)}
                          for name, offsets in offsets_by_loss.items()
                          for rank, offset in enumerate(np.asarray(offsets).tolist())])
    sns.barplot(frame, x="class rank", y="offset", hue="loss", errorbar=None,
                palette=PALETTE, ax=ax)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="class rank (0 = most frequent)",
           ylabel="offset on the true-class logit (logit units)",
           title="what each loss adds to the true class's logit, vs the head")
    legend_below(ax, columns=1)  # the names are long: one a line, outside the bars
    return ax


def posthoc_frame(records: list[dict], taus, metrics) -> pd.DataFrame:
    """One row per (record, τ, metric): ``seed``, ``τ``, ``metric`` (its name, spaced) and
    ``value`` (%) of the records' predictions post-hoc adjusted with τ."""
    return pd.DataFrame([{"seed": view["seed"], "τ": tau,
                          "metric": metric.replace("_acc", " accuracy").replace("_", " "),
                          "value": 100 * view["metrics"][metric]}
                         for tau in taus for view in posthoc_view(records, tau)
                         for metric in metrics])


def plot_posthoc_curve(records: list[dict], taus,
                       metrics=("balanced_acc", "many_shot_acc", "few_shot_acc"), *,
                       reference: float | None = None, reference_label: str = "", ax=None):
    """Test accuracy (%) of post-hoc adjusted predictions against τ, mean ± sd over the
    records (seaborn, ``errorbar="sd"``), one line per metric; ``reference`` (%) is drawn
    as a dashed grey line, e.g. a training-time method's balanced accuracy."""
    ax = axes_for(ax, size=(FIGURE_WIDTH, 4.2))
    sns.lineplot(posthoc_frame(records, taus, metrics), x="τ", y="value", hue="metric",
                 errorbar="sd", err_style="bars", err_kws={"capsize": 3}, marker="o",
                 palette=PALETTE, ax=ax)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", label=reference_label)
    ax.set(xlabel="post-hoc τ", ylabel="test accuracy (%)",
           title="CE + post-hoc adjustment against τ (mean ± sd over seeds)")
    legend_below(ax, columns=2)  # outside the curves, which cross
    return ax
