"""Chapter 6's figures (lt_lab.beyond.figures) on hand-made tables."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lt_lab.beyond import figures  # noqa: E402
from lt_lab.figures import smallest_text_px  # noqa: E402


def _classifier_table():
    rows = [{"method": method, "seed": seed, "classifier": classifier,
             "balanced_acc": base + seed + (5 if classifier == "crt" else 0)}
            for method, base in (("CE", 60.0), ("mixup α=1", 62.0))
            for seed in (0, 1) for classifier in ("joint", "crt")]
    return pd.DataFrame(rows)


def test_plot_classifiers_names_each_classifier_and_marks_each_arm_s_mean():
    ax = figures.plot_classifiers(_classifier_table())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["joint (stage 1)", "cRT"]
    # a diamond a (arm, classifier) at the mean of its two seeds: CE joint 60.5, cRT 65.5
    means = sorted(y for line in ax.lines if line.get_marker() == "D" for y in line.get_ydata())
    assert means == pytest.approx([60.5, 62.5, 65.5, 67.5])
    assert smallest_text_px(ax.figure) >= 9
    plt.close(ax.figure)
