"""Chapter 3, decoupling representation and classifier: cRT, τ-norm, LWS, NCM, weight
balancing's MaxNorm stage and the multiplicative post-hoc adjustment, run on frozen
features by the ``classifier_fixes`` analysis."""

from lt_lab.decoupling.fixes import (
    FIXES,
    TAU_GRID,
    ClassifierFixes,
    LinearClassifier,
    apply_fixes,
    crt,
    lws,
    max_norm_,
    multiplicative_adjust,
    ncm_classifier,
    tau_normalise,
    weight_balancing_stage2,
)

__all__ = ["FIXES", "TAU_GRID", "ClassifierFixes", "LinearClassifier", "apply_fixes", "crt",
           "lws", "max_norm_", "multiplicative_adjust", "ncm_classifier", "tau_normalise",
           "weight_balancing_stage2"]
