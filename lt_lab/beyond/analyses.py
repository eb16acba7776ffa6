"""Chapter 6's analyses, by name in a config's ``analyses``: the contrastive geometry of the
training features and the test-agnostic evaluation.

* ``"scl_geometry"`` (Kini et al., ICLR 2024): how far the class means of the
  **L2-normalised** training features (what the contrastive loss sees) are from an
  orthogonal frame and from a simplex ETF (:mod:`lt_lab.beyond.geometry`), every ``every``
  epochs and at the last, as ``extras["scl_geometry"]``: a list of
  ``{"epoch", "of_distance", "etf_distance", "etf_distance_centred", "mean_norms"}``.
  ``etf_distance`` compares the uncentred means' Gram with ``I − 11ᵀ/C``, as Kini et al.'s
  code compares with ``I``; ``etf_distance_centred`` first subtracts the means' average
  (neural collapse's NC2 convention): centred, an orthogonal frame of equal norms *is* a
  simplex ETF, so only the uncentred distances tell the two apart.
* ``"agnostic"`` (Zhang et al., NeurIPS 2022, SADE's protocol): after training, the model's
  predictions on the balanced test set, scored on SADE's eleven test sets **resampled** to
  forward-, uniform and backward-long-tailed class priors
  (:func:`lt_lab.beyond.agnostic.resampled_metrics`, drawn with ``seed``), as
  ``extras["agnostic"] = {prior: {"acc", "gmean_recall", "min_recall"}}``. The re-weighted
  reading of a stored record (:func:`lt_lab.beyond.agnostic.prior_accuracies`) is its
  expectation; the two are compared in chapter 6.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lt_lab.beyond.agnostic import SADE_TEST_PRIORS, parse_prior, resampled_metrics
from lt_lab.beyond.contrastive import NORM_FLOOR
from lt_lab.beyond.geometry import (
    class_means,
    distance_to_orthogonal_frame,
    distance_to_simplex_etf,
)
from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError
from lt_lab.hooks import Analysis, register_analysis
from lt_lab.runtime import resolve_precision
from lt_lab.train import extract_features, predict_logits

EVERY = Interval(int, 0, None, why="epochs between snapshots; 0: the last epoch only")


def geometry_snapshot(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """The ``scl_geometry`` numbers of ``features`` (N, d), L2-normalised here first."""
    unit = F.normalize(torch.as_tensor(features).double(), dim=1, eps=NORM_FLOOR)
    means = class_means(unit, labels, num_classes)
    centred = means - means.mean(0, keepdim=True)
    gram = means @ means.T
    return {"of_distance": distance_to_orthogonal_frame(gram),
            "etf_distance": distance_to_simplex_etf(gram),
            "etf_distance_centred": distance_to_simplex_etf(centred @ centred.T),
            "mean_norms": [round(float(v), 6) for v in means.norm(dim=1)]}


@register_analysis("scl_geometry")
class SCLGeometry(Analysis):
    """:func:`geometry_snapshot` of the training features every ``every`` epochs (0: none
    but the last) and at the last."""

    def __init__(self, every: int = 0):
        EVERY.check("analyses['scl_geometry']['every']", every)
        self.every = every

    def on_epoch_end(self, state) -> None:
        epoch = state.epoch + 1
        if epoch == state.config.epochs or (self.every and epoch % self.every == 0):
            features = extract_features(state.model, state.data.train_images, state.data)
            snapshot = geometry_snapshot(features.cpu(), state.data.train_labels.cpu(),
                                         state.data.num_classes)
            state.extras.setdefault("scl_geometry", []).append({"epoch": epoch, **snapshot})


@register_analysis("agnostic")
class Agnostic(Analysis):
    """After training: :func:`~lt_lab.beyond.agnostic.resampled_metrics` of the model's test
    predictions under each of ``priors`` (SADE's eleven by default), subsets drawn with
    ``seed``."""

    def __init__(self, priors: list | tuple = SADE_TEST_PRIORS, seed: int = 0):
        if isinstance(priors, str) or not isinstance(priors, (list, tuple)) or not priors:
            raise ConfigError(f"analyses['agnostic']['priors']={priors!r} must be a non-empty "
                              f"list of prior names, e.g. {list(SADE_TEST_PRIORS)}")
        for name in priors:
            parse_prior(name)
        Interval(int, 0, None).check("analyses['agnostic']['seed']", seed)
        self.priors, self.seed = tuple(priors), seed

    def after_fit(self, state) -> None:
        data = state.data
        precision = resolve_precision(state.config.precision, data.test_images.device)
        logits = predict_logits(state.model, data.test_images, data, precision)
        state.extras["agnostic"] = resampled_metrics(
            logits.argmax(1).cpu(), data.test_labels.cpu(), data.num_classes, self.priors,
            self.seed)
