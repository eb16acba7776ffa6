"""Chapter 5's figures: the skewed benchmark, per-bin error against the label density, and
MSE curves on the training and the test set.

Each function draws through a tidy DataFrame and seaborn in the book's palette, with the
seed-to-seed standard deviation as error bars. Single-panel functions draw on ``ax`` (a new
figure when None) and return the axes; multi-panel ones return the figure. Needs the
``book`` extra (pandas, matplotlib, seaborn).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from lt_lab.figures import PALETTE, axes_for, seed_spread, use_book_style
from lt_lab.regression.readers import curve, label_bins, per_bin, per_bin_errors

WIDTH = 7.5  # inches: at most this wide, so that 8 pt text shows at >= 9 px in a 690 px column
METHOD_COLOURS = {"vanilla": 0}  # the palette index of a method drawn alone, as in the curves


def plot_examples(data, unit: str, figure=None, count: int = 8):
    """``count`` training images spread over the label range, each titled with its label.

    Draws on ``figure`` (a figure or subfigure; a new figure when None) and returns it;
    draws nothing for a data set whose inputs are not images.
    """
    if figure is None:
        use_book_style()
        figure = plt.figure(figsize=(WIDTH, 1.7), layout="constrained")
    if data.train_inputs.dtype.is_floating_point:
        return figure
    picks = np.linspace(0, len(data.train_targets) - 1, count).astype(int)
    for ax, i in zip(figure.subplots(1, count), picks, strict=True):
        ax.imshow(data.train_inputs[i].permute(1, 2, 0).cpu().squeeze().numpy(), cmap="gray")
        ax.set_title(f"θ = {data.train_targets[i]:.1f}{unit}", fontsize=9)
        ax.axis("off")
    figure.suptitle("training images and their labels (rarer to the right)")
    return figure


def plot_bin_counts(data, unit: str, ratio: float | None = None, ax=None):
    """Training images per label bin (bars) and test images per bin (steps), log scale."""
    ax = axes_for(ax, size=(WIDTH, 3.2))
    bins = data.bins
    centres = bins.centres.numpy()
    label = "training images per bin" + ("" if ratio is None else f" (ρ={ratio:g})")
    ax.bar(centres, data.train_bin_counts, width=bins.width * 0.9,
           color=sns.color_palette(PALETTE)[0], label=label)
    ax.plot(centres, bins.counts(data.test_targets.cpu()).numpy(), color="black",
            drawstyle="steps-mid", label="test images per bin")
    ax.set(xlabel=f"label ({unit})", ylabel="images per bin", yscale="log")
    ax.legend(fontsize=9)
    return ax


def plot_dataset(data, unit: str, ratio: float | None = None, title: str = ""):
    """The benchmark at a glance: example images (top) and the label histograms (bottom,
    titled ``title``)."""
    use_book_style()
    fig = plt.figure(figsize=(WIDTH, 5.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 2.2])
    plot_examples(data, unit, figure=top)
    plot_bin_counts(data, unit, ratio, ax=bottom.subplots()).set_title(title)
    return fig


def error_frame(records: list[dict], field: str = "test_mae") -> pd.DataFrame:
    """Tidy rows ``seed, label, error`` of ``field`` per bin (bins without error left out)."""
    centres = label_bins(records[0]).centres.numpy()
    errors = per_bin_errors(records, field)
    frame = pd.DataFrame([{"seed": r["seed"], "label": centre, "error": error}
                          for r, row in zip(records, errors, strict=True)
                          for centre, error in zip(centres, row, strict=True)])
    return frame.dropna()


def plot_error_vs_density(records: list[dict], unit: str, ax=None):
    """Training images per bin (bars), their LDS-smoothed density (line) and, on a second
    axis, the per-bin test MAE of ``records`` (mean ± sd over seeds), in the colour that
    method (``vanilla``) has in :func:`plot_mse_curves`."""
    ax = axes_for(ax, size=(WIDTH, 4.6))
    colours = sns.color_palette(PALETTE)
    bins = label_bins(records[0])
    centres = bins.centres.numpy()
    ax.bar(centres, per_bin(records[0], "train_count"), width=bins.width * 0.9,
           color="lightgrey", label="training images per bin")
    ax.plot(centres, per_bin(records[0], "lds_density"), color="black", linewidth=2,
            label="LDS-smoothed density (Gaussian, 5 bins, σ=2)")
    ax.set(xlabel=f"label ({unit})", ylabel="training images per bin")
    twin = ax.twinx()
    frame = error_frame(records)
    sns.lineplot(data=frame, x="label", y="error", errorbar=seed_spread(frame), err_style="bars",
                 err_kws={"capsize": 2}, color=colours[METHOD_COLOURS["vanilla"]], marker="o",
                 markersize=4,
                 label="test MAE per bin (mean ± sd over seeds)", legend=False, ax=twin)
    twin.set_ylabel(f"test MAE ({unit})")
    twin.grid(False)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", fontsize=8)
    return ax


def curve_frame(runs: dict[str, list[dict]], names=("train_mse", "test_mse")) -> pd.DataFrame:
    """Tidy rows ``method, seed, epoch, curve, value`` of the named curves of each method."""
    rows = [{"method": method, "seed": r["seed"], "epoch": epoch, "curve": name, "value": value}
            for method, records in runs.items() for r in records for name in names
            for epoch, value in zip(curve(r, "eval_epoch"), curve(r, name), strict=True)]
    return pd.DataFrame(rows)


def plot_mse_curves(runs: dict[str, list[dict]], unit: str):
    """MSE on the skewed training set (left, log scale) and on the balanced test set (right)
    over the epochs, one line per method, mean ± sd over its seeds; one legend for both."""
    use_book_style()
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    frame = curve_frame(runs)
    for index, (ax, name) in enumerate(zip(axes, ("train_mse", "test_mse"), strict=True)):
        part = frame[frame["curve"] == name]
        sns.lineplot(data=part, x="epoch", y="value", hue="method", errorbar=seed_spread(part),
                     marker="o", palette=PALETTE, legend=index == 0, ax=ax)
        ax.set(xlabel="epoch", ylabel=f"MSE ({unit}²)")
    axes[0].set(yscale="log", title="skewed training set")
    axes[1].set(title="balanced test set")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].get_legend().remove()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=9)
    return fig
