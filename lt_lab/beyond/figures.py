"""Chapter 6's figures (seaborn, the book's palette and widths: :mod:`lt_lab.figures`)."""

from __future__ import annotations

import pandas as pd
import seaborn as sns

from lt_lab.beyond.agnostic import SADE_TEST_PRIORS
from lt_lab.decoupling.readers import FIX_TITLES
from lt_lab.figures import PALETTE, axes_for, grid, legend, legend_below, seed_spread

ETF_TO_OF = 0.3204  # ‖(I − 11ᵀ/C)/‖·‖_F − I/√C‖_F at C = 10


def simulator_frame(records: list[dict]) -> pd.DataFrame:
    """Long form of :func:`lt_lab.beyond.ufm_scl.simulate_scl_ufm` records: one row a
    (record, reference geometry)."""
    rows = []
    for r in records:
        counts = r["class_counts"]
        base = {"ρ": f"{max(counts) / min(counts):g}", "τ": f"τ = {r['temperature']:g}",
                "features": "ReLU (non-negative)" if r["relu"] else "no ReLU",
                "seed": r["seed"]}
        rows += [{**base, "reference": "orthogonal frame", "distance": r["of_distance"]},
                 {**base, "reference": "simplex ETF", "distance": r["etf_distance"]}]
    return pd.DataFrame(rows)


def plot_simulator(records: list[dict]):
    """The simulator's final distances to an orthogonal frame and a simplex ETF, by imbalance
    ratio, with and without the ReLU (colour), one panel a temperature; dots are seeds."""
    frame = simulator_frame(records)
    temperatures = list(dict.fromkeys(frame["τ"]))
    axes = grid(len(temperatures) * 2, columns=2, panel_height=2.3)
    for row, tau in enumerate(temperatures):
        for col, reference in enumerate(("orthogonal frame", "simplex ETF")):
            ax, part = axes[2 * row + col], frame[(frame["τ"] == tau)
                                                  & (frame["reference"] == reference)]
            sns.stripplot(part, x="ρ", y="distance", hue="features", dodge=True, size=5,
                          palette=PALETTE, ax=ax, legend=row == 0 and col == 0)
            ax.set_ylim(-0.05, max(1.1, frame["distance"].max() + 0.05))
            ax.set_title(f"{tau}: distance to {reference}", fontsize="medium")
            ax.set_ylabel("distance" if col == 0 else "")
            ax.set_xlabel("imbalance ratio ρ" if row == len(temperatures) - 1 else "")
            ax.grid(alpha=0.3, axis="y")
    legend(axes[0], loc="upper left", fontsize="small")
    return axes


def plot_geometry_curves(curves: pd.DataFrame, quantity: str = "of_distance", ax=None,
                         palette=None):
    """A geometry distance over training epochs (:func:`lt_lab.beyond.readers.geometry_curves`),
    the mean over seeds with their sd, and the simplex ETF's distance to an orthogonal frame."""
    ax = axes_for(ax, size=(6.4, 3.3))
    sns.lineplot(curves, x="epoch", y=quantity, hue="method", marker="o", markersize=4,
                 errorbar=seed_spread(curves), palette=palette or PALETTE, ax=ax)
    if quantity == "of_distance":
        ax.axhline(ETF_TO_OF, color="grey", lw=1, ls=":")
        ax.annotate("a simplex ETF", (curves["epoch"].min(), ETF_TO_OF), xytext=(0, 3),
                    textcoords="offset points", color="grey", fontsize="small")
    ax.set_ylabel({"of_distance": "distance to an orthogonal frame"}.get(quantity, quantity))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    legend_below(ax, columns=2)
    return ax


def plot_priors(table: pd.DataFrame, value: str = "acc", ax=None, palette=None):
    """Accuracy on SADE's eleven test priors, forward-long-tailed (left) to backward (right):
    the mean over seeds of a long table of :mod:`lt_lab.beyond.readers`, with their sd."""
    ax = axes_for(ax, size=(6.4, 3.3))
    sns.lineplot(table, x="position", y=value, hue="method", style="method", markers=True,
                 dashes=False, errorbar=seed_spread(table), palette=palette or PALETTE, ax=ax)
    _prior_axis(ax)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    legend_below(ax, columns=2)
    return ax


def _prior_axis(ax) -> None:
    ax.set_xticks(range(len(SADE_TEST_PRIORS)))
    ax.set_xticklabels([p.replace("forward", "F").replace("backward", "B")
                        .replace("uniform", "U") for p in SADE_TEST_PRIORS])
    ax.set_xlabel("test class prior: forward-long-tailed F50 … uniform U … backward B50")


def plot_weights(table: pd.DataFrame, ax=None, palette=None):
    """SADE's aggregation weights by test prior (:func:`lt_lab.beyond.readers.weight_table`):
    one line an expert, the mean over seeds with their sd; 1/3 each is where they start."""
    ax = axes_for(ax, size=(6.4, 3.4))
    sns.lineplot(table, x="position", y="weight", hue="expert", style="expert", markers=True,
                 dashes=False, errorbar=seed_spread(table), palette=palette or PALETTE, ax=ax)
    ax.axhline(1 / 3, color="grey", lw=1, ls=":")
    ax.annotate("the start, 1/3 each", (0, 1 / 3), xytext=(0, 3), textcoords="offset points",
                color="grey", fontsize="small")
    _prior_axis(ax)
    ax.set_ylabel("aggregation weight")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    legend_below(ax, columns=3)
    return ax


# Part F3's classifiers, named as the book names them (stage 1's own head spelled out)
CLASSIFIERS = {fix: FIX_TITLES[fix] for fix in ("joint", "crt", "lws", "ncm")} | {
    "joint": "joint (stage 1)"}


def plot_classifiers(table: pd.DataFrame, value: str = "balanced_acc", ax=None, palette=None):
    """Each classifier a run carries (:func:`lt_lab.beyond.readers.classifier_table`), one
    colour a first stage: a dot a seed, a diamond their mean with the seeds' sd."""
    ax = axes_for(ax, size=(6.4, 2.7))
    table = table.assign(classifier=table["classifier"].map(lambda c: CLASSIFIERS.get(c, c)))
    colours = palette or PALETTE
    sns.stripplot(table, x="classifier", y=value, hue="method", dodge=True, size=4, alpha=0.5,
                  palette=colours, ax=ax, legend=False)
    sns.pointplot(table, x="classifier", y=value, hue="method", dodge=0.4, markers="D",
                  linestyle="none", errorbar=seed_spread(table), palette=colours, ax=ax)
    ax.set_xlabel("classifier on the stage-1 features")
    ax.set_ylabel("balanced test accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    legend_below(ax, columns=2)
    return ax
