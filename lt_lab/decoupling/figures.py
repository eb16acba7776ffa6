"""Chapter 3's figures: classifier weight norms per class, and choosing τ on validation.

Each function draws on ``ax`` (a new figure when None) and returns the axes; the data go
through a tidy DataFrame and seaborn, in the book's palette, with the seed-to-seed
standard deviation as the error bars. Needs the ``book`` extra (matplotlib, seaborn).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from lt_lab.decoupling.readers import relative_weight_norms, selection
from lt_lab.figures import PALETTE, axes_for, seed_spread


def weight_norm_frame(records: list[dict], fixes: dict[str, str]) -> pd.DataFrame:
    """Tidy rows ``classifier, seed, class rank, relative norm`` (norm / mean norm)."""
    rows = [{"classifier": title, "seed": record["seed"], "class rank": rank,
             "relative norm": norm}
            for fix, title in fixes.items() for record in records
            for rank, norm in enumerate(relative_weight_norms(record, fix))]
    return pd.DataFrame(rows)


def plot_weight_norms(records: list[dict], fixes: dict[str, str], ax=None):
    """Each class's weight norm over the classifier's mean norm, one line per fix (``fixes``
    maps a fix to its label), mean ± sd over the records (seeds) of one first stage."""
    ax = axes_for(ax)
    frame = weight_norm_frame(records, fixes)
    sns.lineplot(data=frame, x="class rank", y="relative norm", hue="classifier",
                 errorbar=seed_spread(frame), err_style="bars", err_kws={"capsize": 3},
                 marker="o", palette=PALETTE, ax=ax)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.set(xlabel="class rank (0 = most frequent)", ylabel="‖w_i‖ / mean_j ‖w_j‖")
    ax.legend(fontsize=8)
    return ax


def plot_class_sizes(class_counts, ax=None):
    """Training images per class as bars, head first, on a log scale."""
    ax = axes_for(ax)
    frame = pd.DataFrame({"class rank": np.arange(len(class_counts)), "images": class_counts})
    sns.barplot(data=frame, x="class rank", y="images", color="grey", ax=ax)
    ticks = range(0, len(class_counts), max(1, len(class_counts) // 10))  # 100 labels overlap
    ax.set_xticks(list(ticks), [str(rank) for rank in ticks])
    ax.set(yscale="log", xlabel="class rank", ylabel="training images (log scale)")
    return ax


SPLITS = {"val": "validation (used to choose)", "test": "test (not used)"}


def selection_frame(records: list[dict], fix: str = "tau_norm") -> pd.DataFrame:
    """Tidy rows ``split, seed, value, balanced accuracy (%)`` of ``fix``'s selection curve."""
    rows = [{"split": title, "seed": record["seed"], "value": value, "balanced accuracy": 100 * acc}
            for record in records for split, title in SPLITS.items()
            for value, acc in zip(selection(record, fix)["grid"],
                                  selection(record, fix)[f"{split}_balanced_acc"], strict=True)]
    return pd.DataFrame(rows)


def plot_selection(records: list[dict], fix: str = "tau_norm", ax=None):
    """Balanced accuracy against ``fix``'s hyperparameter on validation and on test (mean ±
    sd over seeds); a dotted line at the value chosen for each seed."""
    ax = axes_for(ax, size=(7, 4.2))
    frame = selection_frame(records, fix)
    sns.lineplot(data=frame, x="value", y="balanced accuracy", hue="split",
                 errorbar=seed_spread(frame), err_style="bars", err_kws={"capsize": 2},
                 marker="o", markersize=4, palette=PALETTE, ax=ax)
    for record in records:
        ax.axvline(selection(record, fix)["chosen"], color=sns.color_palette(PALETTE)[0],
                   alpha=0.4, linestyle=":")
    ax.set(xlabel="τ" if fix == "tau_norm" else fix, ylabel="balanced accuracy (%)")
    ax.legend(title=None)
    return ax
