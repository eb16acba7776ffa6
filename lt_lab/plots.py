"""Figures the chapters share. Every axis is labelled with its unit.

Each function draws on ``ax`` (a new figure when None) and returns the axes, so a notebook
cell stays one line and can still adjust the result.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax, size=(6.4, 4.0)):
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_class_counts(counts_by_name: dict[str, list[int]], ax=None, log: bool = True):
    """Training images per class (head first), one line per named long-tailed set."""
    ax = _axes(ax)
    for name, counts in counts_by_name.items():
        ax.plot(range(len(counts)), counts, marker="o", markersize=3, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("class rank (0 = most frequent)")
    ax.set_ylabel("training images per class")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def plot_per_class_accuracy(records_by_name: dict[str, list[dict]], ax=None):
    """Per-class test accuracy (%) against training images per class (log scale).

    Each named group of records (the seeds of one setting) is drawn as its mean with the
    seed-to-seed standard deviation as error bars.
    """
    ax = _axes(ax)
    for name, records in records_by_name.items():
        counts = np.asarray(records[0]["class_counts"])
        accuracy = 100 * np.asarray([r["per_class_acc"] for r in records], dtype=float)
        spread = accuracy.std(axis=0, ddof=1) if len(records) > 1 else None
        ax.errorbar(counts, accuracy.mean(axis=0), yerr=spread, marker="o", capsize=3,
                    linestyle="-" if len(set(counts)) > 1 else "none", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test accuracy of the class (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def plot_curves(records_by_name: dict[str, list[dict]], metric: str = "test_balanced_acc",
                ax=None):
    """A test metric (%) over training epochs: mean of each group's records."""
    ax = _axes(ax)
    for name, records in records_by_name.items():
        epochs = records[0]["curves"]["eval_epoch"]
        values = 100 * np.asarray([r["curves"][metric] for r in records], dtype=float)
        ax.plot(epochs, values.mean(axis=0), marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("test_", "test ").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_per_class_bars(records_by_name: dict[str, list[dict]], ax=None):
    """Per-class test accuracy (%) as grouped bars, one group per class (head first)."""
    ax = _axes(ax, size=(8, 4))
    names = records_by_name[next(iter(records_by_name))][0]["class_names"]
    width = 0.8 / len(records_by_name)
    for offset, (name, records) in enumerate(records_by_name.items()):
        accuracy = 100 * np.asarray([r["per_class_acc"] for r in records], dtype=float)
        positions = np.arange(len(names)) + (offset - (len(records_by_name) - 1) / 2) * width
        ax.bar(positions, accuracy.mean(axis=0), width=width, label=name)
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    ax.set_xlabel("class (head → tail at the largest ρ)")
    ax.set_ylabel("test accuracy of the class (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3, axis="y")
    ax.legend()
    return ax


def plot_metric_vs_ratio(records_by_name: dict[str, list[dict]], metric: str = "balanced_acc",
                         ax=None):
    """A final metric (%) against the imbalance ratio (log scale), mean ± sd over seeds."""
    ax = _axes(ax)
    for name, records in records_by_name.items():
        ratios = sorted({r["config"]["imbalance_ratio"] for r in records})
        values = [[100 * r["metrics"][metric] for r in records
                   if r["config"]["imbalance_ratio"] == ratio] for ratio in ratios]
        means = [np.mean(v) for v in values]
        spreads = [np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in values]
        ax.errorbar(ratios, means, yerr=spreads, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio ρ (log scale)")
    ax.set_ylabel(metric.replace("_acc", " accuracy").replace("_", " ") + " (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax
