"""Chapter 1's figures: the effective number of samples and the class weights it gives.

In the book's style (:mod:`lt_lab.figures`); each function draws on ``ax`` (a new figure
when None) and returns the axes. Needs the ``book`` extra; the family's losses never
import this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from lt_lab.figures import PALETTE, axes_for, legend_below
from lt_lab.reweighting.losses import effective_number


def plot_effective_number(n_max: int, betas, ax=None):
    """Cui et al.'s effective number ``E_n`` against class size ``n = 1 … n_max`` (log-log),
    one line per ``β`` of ``betas``, with ``E_n = n`` (the limit β → 1) dashed."""
    ax = axes_for(ax)
    n = np.arange(1, int(n_max) + 1)
    frame = pd.DataFrame([{"β": f"β={beta}", "n": count, "E_n": value}
                          for beta in betas
                          for count, value in zip(n, effective_number(n, beta).tolist(),
                                                  strict=True)])
    sns.lineplot(frame, x="n", y="E_n", hue="β", palette=PALETTE, ax=ax)
    ax.plot(n, n, "k--", label="E_n = n (β → 1)")
    ax.set(xlabel="images in the class, n", ylabel="effective number E_n (images)",
           xscale="log", yscale="log", title="effective number against class size")
    legend_below(ax, columns=3)  # outside the lines: they fill the log-log square
    return ax


def plot_class_weights(weights_by_scheme: dict, ax=None):
    """Per-class loss weights (log scale), grouped bars by class rank, one colour per scheme.

    ``weights_by_scheme`` maps a scheme's name to its weights (head class first), e.g.
    ``{"inverse frequency": class_weights(counts, "inverse")}``.
    """
    ax = axes_for(ax)
    frame = pd.DataFrame([{"scheme": name, "class rank": rank, "weight": float(weight)}
                          for name, weights in weights_by_scheme.items()
                          for rank, weight in enumerate(np.asarray(weights).tolist())])
    sns.barplot(frame, x="class rank", y="weight", hue="scheme", errorbar=None,
                palette=PALETTE, ax=ax)
    ax.set(xlabel="class rank (0 = most frequent)", ylabel="loss weight w_c (sum = C)",
           yscale="log")
    legend_below(ax, columns=3)  # outside the bars
    return ax
