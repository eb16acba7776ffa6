"""Chapter 4, neural collapse: NC1–NC4 and minority collapse (:mod:`.metrics`), snapshots
recorded during training by the ``collapse`` analysis (:mod:`.snapshots`), the
unconstrained-features simulator (:mod:`.ufm`), what the chapter reads from records
(:mod:`.readers`), Yang et al.'s dot-regression loss for a fixed ETF head
(:mod:`.dot_regression`) and the chapter's figures (:mod:`.figures`, imported on demand: it
needs the ``book`` extra).
"""

from lt_lab.collapse.dot_regression import DotRegression, dot_regression
from lt_lab.collapse.metrics import (
    class_statistics,
    classifier_weights,
    cosine_matrix,
    equiangularity,
    equinorm,
    etf_classifier,
    geometry,
    mean_pairwise_cosine,
    minority_classes,
    minority_collapse,
    minority_to_majority_cosine,
    nc_metrics,
    nearest_majority,
    nearest_mean_disagreement,
    self_duality,
    within_class_variability,
)
from lt_lab.collapse.readers import (
    collapse_curve,
    final_minority_cosine,
    snapshots,
    threshold_ratio,
)
from lt_lab.collapse.snapshots import CollapseSnapshots, CollapseTracker, collapse_snapshot
from lt_lab.collapse.ufm import (
    UFMConfig,
    make_ufm_config,
    mse_bias_free_norms,
    run_ufm,
    step_counts,
    train_ufm,
    ufm_objective,
    ufm_record,
)

__all__ = [
    "CollapseSnapshots", "CollapseTracker", "DotRegression", "UFMConfig", "class_statistics",
    "classifier_weights", "collapse_curve", "collapse_snapshot", "cosine_matrix", "dot_regression",
    "equiangularity", "equinorm", "etf_classifier", "final_minority_cosine", "geometry",
    "make_ufm_config", "mean_pairwise_cosine", "minority_classes", "minority_collapse",
    "minority_to_majority_cosine", "nearest_majority",
    "mse_bias_free_norms", "nc_metrics", "nearest_mean_disagreement",
    "run_ufm", "self_duality", "snapshots", "step_counts", "threshold_ratio", "train_ufm",
    "ufm_objective", "ufm_record", "within_class_variability",
]
