"""Chapter 4's figures: cosine (Gram) matrices, the simulator's ratio sweep, NC1–NC4 through
training, and minority collapse against the imbalance ratio.

Each function draws through a tidy DataFrame and seaborn in the book's palette, with the
seed-to-seed standard deviation as error bars or bands. Single-panel functions draw on
``ax`` (a new figure when None) and return the axes; multi-panel ones return the figure.
Needs the ``book`` extra (pandas, matplotlib, seaborn), imported inside the functions:
the package's analyses and run kind load without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lt_lab.collapse.readers import (
    collapse_curve,
    cosines,
    final_minority_cosine,
    last_snapshot,
    ufm_metric,
)

if TYPE_CHECKING:
    import pandas as pd


WIDTH = 7.5  # inches: at most this wide, so that 8 pt text shows at >= 9 px in a 690 px column
SMALL = 8  # pt: the smallest text of these figures (ticks of the heat maps, legends)


def _plotting():
    """seaborn and the book's palette (the ``book`` extra), imported when a figure is drawn."""
    import seaborn as sns

    from lt_lab.figures import PALETTE

    return sns, PALETTE


def _axes(ax, size=(6.4, 4.0)):
    """``ax``, or the axes of a new figure in the book's style."""
    if ax is None:
        import matplotlib.pyplot as plt

        from lt_lab.figures import use_book_style

        use_book_style()
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)


def _spread(frame) -> str | None:
    """Error bars of one standard deviation when there is more than one seed."""
    return "sd" if frame["seed"].nunique() > 1 else None


def plot_cosines(matrix, ax=None, title: str = "", labels=None):
    """A ``C x C`` cosine matrix as a heat map on [-1, 1] (a simplex ETF: -1/(C-1) off the
    diagonal)."""
    sns, _ = _plotting()
    ax = _axes(ax, size=(4.2, 3.8))
    matrix = np.asarray(matrix, dtype=float)
    ticks = list(labels) if labels is not None else list(range(len(matrix)))
    sns.heatmap(matrix, vmin=-1, vmax=1, cmap="RdBu_r", square=True, ax=ax,
                xticklabels=ticks, yticklabels=ticks,
                cbar_kws={"fraction": 0.046, "pad": 0.04, "label": "cosine"})
    ax.tick_params(labelsize=SMALL)
    ax.set_xlabel("class (rank, 0 = most frequent)")
    ax.set_ylabel("class (rank)")
    ax.set_title(title, fontsize=9)
    return ax


GRAM_OF = {"means": "class means", "classifier": "classifier rows"}


def plot_final_cosines(records_by_name: dict[str, dict], of: str = "means"):
    """One heat map per named training run, two to a row: the cosines between its centred
    class means (``of="means"``) or its classifier rows (``of="classifier"``) at the last
    snapshot. Two columns keep the figure :data:`WIDTH` wide and its tick labels readable."""
    import matplotlib.pyplot as plt

    from lt_lab.errors import check_choice
    from lt_lab.figures import use_book_style

    check_choice("of", of, tuple(GRAM_OF))
    use_book_style()
    rows = -(-len(records_by_name) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(WIDTH, 3.5 * rows), layout="constrained",
                             squeeze=False)
    for ax, (name, record) in zip(axes.flat, records_by_name.items(), strict=False):
        plot_cosines(cosines(record, of), ax=ax,
                     title=f"{name}\n{GRAM_OF[of]}, epoch {last_snapshot(record)['epoch']}")
    for ax in list(axes.flat)[len(records_by_name):]:
        ax.set_visible(False)
    return fig


SWEEP_LINES = {"minority_cosine": "classifier rows W",
               "minority_mean_cosine": "centred feature means"}


def sweep_frame(records_by_ratio: dict) -> pd.DataFrame:
    """Tidy rows ``ratio, seed, of, cosine`` of a simulator sweep (ratio -> its records)."""
    rows = [{"ratio": ratio, "seed": record["seed"], "of": title,
             "cosine": ufm_metric(record, name)}
            for ratio, records in records_by_ratio.items() for record in records
            for name, title in SWEEP_LINES.items()]
    return _frame(rows)


def plot_ufm_sweep(records_by_ratio: dict, *, etf_cosine: float, level: float,
                   r_star=None, ax=None):
    """The simulator's mean pairwise minority cosine (classifier rows and centred feature
    means) against the imbalance ratio, with the simplex-ETF value, the collapse threshold
    ``level`` and, when there is one, the first ratio ``r_star`` past it."""
    sns, PALETTE = _plotting()
    ax = _axes(ax, size=(WIDTH, 4.2))
    frame = sweep_frame(records_by_ratio)
    sns.lineplot(data=frame, x="ratio", y="cosine", hue="of", style="of", markers=["o", "s"],
                 errorbar=_spread(frame), palette=PALETTE, ax=ax)
    ax.axhline(etf_cosine, color="grey", linewidth=0.8, label=f"simplex ETF ({etf_cosine:.3f})")
    ax.axhline(level, color="black", linestyle=":", label=f"threshold {level:g}")
    if r_star is not None:
        ax.axvline(r_star, color="red", linestyle=":", label=f"R* = {r_star:g}")
    ax.set(xscale="log", xlabel="imbalance ratio R (majority / minority class size, log scale)",
           ylabel="mean pairwise cosine of the minority classes")
    ax.legend(fontsize=SMALL)
    return ax


NC_PANELS = {  # snapshot metric -> (panel title, y scale)
    "nc1": ("NC1  Tr(Σ_W Σ_B†)/C", "log"),
    "equiangularity_means": ("NC2  mean |cos + 1/(C−1)|, class means", "linear"),
    "equinorm_means": ("NC2  std/mean of class-mean norms", "linear"),
    "nc3": ("NC3  ||W/||W|| − M/||M|| ||²", "linear"),
    "nc4": ("NC4  mismatch with nearest mean (fraction)", "linear"),
    "accuracy": ("training accuracy (fraction, class-averaged)", "linear"),
}


def curve_frame(runs: dict[str, list[dict]], metric: str) -> pd.DataFrame:
    """Tidy rows ``run, seed, epoch, value`` of ``metric`` at every collapse snapshot."""
    rows = []
    for name, records in runs.items():
        epochs, values = collapse_curve(records, metric)
        rows += [{"run": name, "seed": record["seed"], "epoch": epoch, "value": value}
                 for record, row in zip(records, values, strict=True)
                 for epoch, value in zip(epochs, row, strict=True)]
    return _frame(rows)


def plot_collapse_curves(runs: dict[str, list[dict]], panels: dict = NC_PANELS):
    """One panel per snapshot metric (``panels``: metric -> (title, y scale)), two to a row,
    one line per named group of runs, mean ± sd over its seeds, against the epoch; one
    legend for all panels, above them."""
    import matplotlib.pyplot as plt

    from lt_lab.figures import use_book_style

    sns, PALETTE = _plotting()
    use_book_style()
    rows = -(-len(panels) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(WIDTH, 2.7 * rows), layout="constrained",
                             squeeze=False)
    for index, (ax, (metric, (title, scale))) in enumerate(zip(axes.flat, panels.items(),
                                                                   strict=False)):
        frame = curve_frame(runs, metric)
        sns.lineplot(data=frame, x="epoch", y="value", hue="run", errorbar=_spread(frame),
                     err_style="bars", err_kws={"capsize": 2}, marker="o", markersize=4,
                     palette=PALETTE, legend=index == 0, ax=ax)
        short = title.split("  ")[0] if "  " in title else title.split(" (")[0]
        ax.set(yscale=scale, xlabel="epoch", ylabel=short, title=title)
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    first = axes.flat[0]
    handles, labels = first.get_legend_handles_labels()
    first.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels),
               fontsize=SMALL + 1)  # below: a suptitle may take the top
    return fig


def ratio_frame(ratio_runs: dict, minority, remedies: dict | None = None,
                at: float | None = None) -> pd.DataFrame:
    """Tidy rows ``ratio, seed, series, cosine``: the minority cosine of the classifier rows
    and of the centred feature means for each ratio's runs (``ratio_runs``: ratio -> runs),
    then each remedy (``remedies``: name -> (runs, "classifier" or "means")) at ratio ``at``."""
    titles = {"classifier": "classifier rows", "means": "centred feature means"}
    rows = [{"ratio": ratio, "seed": r["seed"], "series": titles[of],
             "cosine": final_minority_cosine(r, minority, of)}
            for of in titles for ratio, records in ratio_runs.items() for r in records]
    for name, (records, of) in (remedies or {}).items():
        label = f"{name} ({'classifier rows' if of == 'classifier' else 'feature means'})"
        rows += [{"ratio": at, "seed": r["seed"], "series": label,
                  "cosine": final_minority_cosine(r, minority, of)} for r in records]
    return _frame(rows)


def plot_minority_cosine_vs_ratio(ratio_runs: dict, minority, *, remedies: dict | None = None,
                                  at: float | None = None, etf_cosine: float | None = None,
                                  ax=None):
    """Trained networks: mean pairwise cosine of the minority classes against the step ratio
    (log scale), mean ± sd over seeds; each remedy is one point at ratio ``at``."""
    sns, PALETTE = _plotting()
    ax = _axes(ax, size=(WIDTH, 4.2))
    frame = ratio_frame(ratio_runs, minority, remedies, at)
    sns.lineplot(data=frame, x="ratio", y="cosine", hue="series", style="series",
                 markers=["o", "s", "^", "v", "D", "P"][:frame["series"].nunique()],
                 markersize=8, dashes=False, errorbar=_spread(frame), err_style="bars",
                 err_kws={"capsize": 3}, palette=PALETTE, ax=ax)
    if etf_cosine is not None:
        ax.axhline(etf_cosine, color="grey", linewidth=0.8,
                   label=f"simplex ETF ({etf_cosine:.3f})")
    ax.set(xscale="log", xlabel="step imbalance ratio R (log scale)",
           ylabel="mean pairwise cosine of the minority classes")
    ax.legend(fontsize=SMALL)
    return ax
