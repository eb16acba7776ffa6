"""Chapter 6, beyond one softmax head: the supervised contrastive loss with and without a
last-layer ReLU (Khosla et al. 2020; Kini et al. 2024), batch-binding, the test-agnostic
evaluation and SADE's experts (Zhang et al. 2022), and input mixup (Zhang et al. 2018).

One concept a module: :mod:`~lt_lab.beyond.contrastive`, :mod:`~lt_lab.beyond.geometry`
(orthogonal frame or simplex ETF), :mod:`~lt_lab.beyond.batch_binding`,
:mod:`~lt_lab.beyond.agnostic`, :mod:`~lt_lab.beyond.sade`, :mod:`~lt_lab.beyond.mixup`.
Importing the package registers its losses (``"supcon"``, ``"sade"``, ``"mixup"``) in
:mod:`lt_lab.losses`, its analyses (``"scl_geometry"``, ``"agnostic"``,
:mod:`~lt_lab.beyond.analyses`) and the backbone ``"small_cnn_linear"``
(:mod:`~lt_lab.beyond.backbones`).
"""

from lt_lab.beyond import (  # noqa: F401  (register the losses, analyses and backbone)
    analyses,
    backbones,
    contrastive,
    mixup,
    sade,
)
from lt_lab.beyond.agnostic import (
    SADE_TEST_PRIORS,
    agnostic_metrics,
    class_prior,
    prior_accuracies,
    prior_counts,
    prior_table,
    resample_test_set,
    resampled_metrics,
    reweighted_accuracy,
)
from lt_lab.beyond.batch_binding import BatchBindingSampler, batch_binding, binding_indices
from lt_lab.beyond.contrastive import ProjectionHead, SupConLoss, project, supcon_loss
from lt_lab.beyond.geometry import (
    distance_to_orthogonal_frame,
    distance_to_simplex_etf,
    mean_gram,
    scl_geometry,
)
from lt_lab.beyond.mixup import (
    MixupCrossEntropy,
    mixed_targets,
    mixup_cross_entropy,
    sample_lambda,
)
from lt_lab.beyond.sade import (
    ExpertHeads,
    SADELoss,
    aggregate,
    inverse_prior,
    learn_aggregation_weights,
    prediction_stability,
    sade_loss,
)

__all__ = [
    # contrastive
    "ProjectionHead", "SupConLoss", "project", "supcon_loss",
    # their geometry
    "distance_to_orthogonal_frame", "distance_to_simplex_etf", "mean_gram", "scl_geometry",
    # batch-binding
    "BatchBindingSampler", "batch_binding", "binding_indices",
    # test-agnostic evaluation
    "SADE_TEST_PRIORS", "agnostic_metrics", "class_prior", "prior_accuracies", "prior_counts",
    "prior_table", "resample_test_set", "resampled_metrics", "reweighted_accuracy",
    # SADE
    "ExpertHeads", "SADELoss", "aggregate", "inverse_prior", "learn_aggregation_weights",
    "prediction_stability", "sade_loss",
    # mixup
    "MixupCrossEntropy", "mixed_targets", "mixup_cross_entropy", "sample_lambda",
]
