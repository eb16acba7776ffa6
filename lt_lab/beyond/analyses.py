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
* ``"sade_aggregation"`` (Zhang et al. 2022): for a model with SADE's three experts
  (``head="experts"``), on each of SADE's resampled test sets, the test-time aggregation
  weights learned from two augmented views of its unlabelled images
  (:func:`lt_lab.beyond.sade.learn_aggregation_weights`), and the metrics of the aggregated
  prediction, of the experts' plain mean and of each expert, as
  ``extras["sade_aggregation"] = {prior: {"weights", "aggregated", "mean", "experts"}}``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lt_lab.beyond.agnostic import (
    SADE_TEST_PRIORS,
    agnostic_metrics,
    parse_prior,
    resample_test_set,
    resampled_metrics,
)
from lt_lab.beyond.contrastive import NORM_FLOOR
from lt_lab.beyond.geometry import (
    class_means,
    distance_to_orthogonal_frame,
    distance_to_simplex_etf,
)
from lt_lab.constraints import Interval
from lt_lab.data.augment import augment
from lt_lab.errors import ConfigError
from lt_lab.hooks import Analysis, register_analysis
from lt_lab.inference import infer
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
        self.priors = _priors("agnostic", priors)
        Interval(int, 0, None).check("analyses['agnostic']['seed']", seed)
        self.seed = seed

    def after_fit(self, state) -> None:
        data = state.data
        precision = resolve_precision(state.config.precision, data.test_images.device)
        logits = predict_logits(state.model, data.test_images, data, precision)
        state.extras["agnostic"] = resampled_metrics(
            logits.argmax(1).cpu(), data.test_labels.cpu(), data.num_classes, self.priors,
            self.seed)


def _priors(name: str, priors) -> tuple[str, ...]:
    if isinstance(priors, str) or not isinstance(priors, (list, tuple)) or not priors:
        raise ConfigError(f"analyses[{name!r}]['priors']={priors!r} must be a non-empty list "
                          f"of prior names, e.g. {list(SADE_TEST_PRIORS)}")
    for prior in priors:
        parse_prior(prior)
    return tuple(priors)


def expert_logits(model, images: torch.Tensor, data, precision: str = "fp32") -> torch.Tensor:
    """The experts' logits ``(N, 3, C)`` of uint8 ``images``, eval mode, computed in the run's
    ``precision`` (as :func:`lt_lab.train.predict_logits` computes a test score), as float32."""
    return infer(model, images, prepare=data.prepare, precision=precision,
                 forward=lambda x: model.classifier(model.features(x)))


def sade_on_prior(model, data, config, prior: str, seed: int) -> dict:
    """SADE's test-time aggregation on the test set resampled to ``prior`` (drawn with
    ``seed``): weights learned on two augmented views of its images, labels unused; then the
    metrics of the aggregated, mean and single-expert predictions on the unaugmented images."""
    from lt_lab.beyond.sade import aggregate, learn_aggregation_weights

    keep = resample_test_set(data.test_labels.cpu(), prior, seed).to(data.test_labels.device)
    images, labels = data.test_images[keep], data.test_labels[keep].cpu()
    generator = torch.Generator().manual_seed(seed)
    recipe, precision = config.recipe, resolve_precision(config.precision, images.device)
    views = [expert_logits(model, augment(images, padding=recipe.crop_padding,
                                          flip=recipe.flip, generator=generator), data, precision)
             for _ in range(2)]
    weights = learn_aggregation_weights(views[0].cpu(), views[1].cpu(), seed=seed)
    plain = expert_logits(model, images, data, precision).cpu()

    def score(logits):
        return agnostic_metrics(logits.argmax(1), labels, data.num_classes)

    return {"weights": [round(float(w), 6) for w in weights],
            "aggregated": score(aggregate(plain, weights)), "mean": score(aggregate(plain)),
            "experts": [score(plain[:, k]) for k in range(plain.shape[1])]}


@register_analysis("sade_aggregation")
class SADEAggregation(Analysis):
    """After training: :func:`sade_on_prior` on each of ``priors`` (SADE's eleven by default),
    test subsets and views drawn with ``seed``. Needs SADE's experts (``head="experts"``)."""

    def __init__(self, priors: list | tuple = SADE_TEST_PRIORS, seed: int = 0):
        self.priors = _priors("sade_aggregation", priors)
        Interval(int, 0, None).check("analyses['sade_aggregation']['seed']", seed)
        self.seed = seed

    def check(self, config) -> None:
        if config.head != "experts":
            raise ConfigError(f"analyses['sade_aggregation'] aggregates SADE's experts: it needs "
                              f"head='experts' (and loss='sade'), not head={config.head!r}")

    def after_fit(self, state) -> None:
        state.extras["sade_aggregation"] = {
            prior: sade_on_prior(state.model, state.data, state.config, prior, self.seed)
            for prior in self.priors}
