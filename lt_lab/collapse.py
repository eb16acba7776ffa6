"""Neural collapse: its four measures, minority collapse, the unconstrained-features model.

Papyan, Han & Donoho (2020) found that in the terminal phase of training (training error
zero, loss still falling) the last-layer features and classifier of a deep network take a
rigid shape. With ``h`` a penultimate feature, ``mu_c`` the mean of class ``c``, ``mu_G`` the
global mean, ``M~ = [mu_c - mu_G]`` and ``W`` the classifier (``C x d``):

* NC1, variability collapse: ``Tr(Sigma_W Sigma_B^+) / C -> 0``, with ``Sigma_W`` the
  within-class and ``Sigma_B`` the between-class covariance of the features;
* NC2, the centred class means and the classifier rows become a simplex equiangular tight
  frame (ETF): equal norms (``std/mean`` of the norms -> 0) and equal angles (every cosine
  -> ``-1/(C-1)``; measured as the std of the cosines and the mean ``|cos + 1/(C-1)|``);
* NC3, self-duality: ``|| W / ||W||_F - M~^T / ||M~||_F ||_F^2 -> 0``;
* NC4, the classifier decides as the nearest class mean does.

Under imbalance two statistics that coincide on balanced data differ, so :func:`nc_metrics`
takes ``averaging``: ``"class"`` (the default) weighs every class equally — ``mu_G`` is the
mean of the class means, ``Sigma_W`` the mean of the per-class covariances, ``Sigma_B`` the
mean of ``(mu_c - mu_G)(mu_c - mu_G)^T`` over classes, NC4 the mean over classes of each
class's disagreement rate; ``"sample"`` weighs every training image equally — ``mu_G`` the
mean of all features, ``Sigma_W`` the mean over images of ``(h - mu_y)(h - mu_y)^T``,
``Sigma_B`` the class-size-weighted mean, NC4 the fraction of images. Papyan et al.'s code
mixes the two (sample-averaged ``Sigma_W`` and ``mu_G``, class-averaged ``Sigma_B``); on
balanced data all three agree.

Fang et al. (2021) showed with the layer-peeled model that under a step imbalance of ratio
``R`` the minority classes' classifier rows converge to one direction as ``R`` grows
(*minority collapse*): :func:`minority_collapse`. The unconstrained-features model (UFM)
behind both results is simulated by :func:`train_ufm`: free features and a linear
classifier, optimised directly, in seconds on a CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from torch import nn

from lt_lab.errors import ConfigError, check_choice, check_positive

AVERAGING = ("class", "sample")
# Relative eigenvalue floor of the pseudo-inverse of Sigma_B: eigenvalues below it are the
# numerical null space (Sigma_B has rank C - 1 at most), not directions to divide by.
PINV_RTOL = 1e-10


# --------------------------------------------------------------------------------------
# Statistics of features


def _check_features(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None):
    if features.ndim != 2 or labels.ndim != 1 or len(features) != len(labels):
        raise ConfigError(f"features must be (N, d) and labels (N,); got {tuple(features.shape)}"
                          f" and {tuple(labels.shape)}")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    check_positive("num_classes", num_classes, minimum=2, inclusive=True)
    counts = torch.bincount(labels.long().cpu(), minlength=num_classes)
    if (counts == 0).any():
        raise ConfigError(f"labels has classes with no features: "
                          f"{torch.nonzero(counts == 0).flatten().tolist()}")
    return num_classes, counts.double()


def class_statistics(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None,
                     averaging: str = "class") -> dict:
    """Class means, global mean, within- and between-class covariances, in float64.

    Returns ``means`` (C, d), ``global_mean`` (d,), ``within`` and ``between`` (d, d) and
    ``counts`` (C,), averaged as ``averaging`` says (see the module docstring).
    """
    check_choice("averaging", averaging, AVERAGING)
    num_classes, counts = _check_features(features, labels, num_classes)
    h = features.detach().double().cpu()
    y = labels.long().cpu()
    means = torch.zeros(num_classes, h.shape[1], dtype=torch.float64).index_add_(0, y, h)
    means /= counts[:, None]
    centred = h - means[y]
    if averaging == "class":
        sample_weights = 1.0 / (num_classes * counts[y])
        global_mean = means.mean(0)
        class_weights = torch.full((num_classes,), 1.0 / num_classes, dtype=torch.float64)
    else:
        sample_weights = torch.full((len(y),), 1.0 / len(y), dtype=torch.float64)
        global_mean = h.mean(0)
        class_weights = counts / counts.sum()
    within = centred.T @ (centred * sample_weights[:, None])
    centred_means = means - global_mean
    between = centred_means.T @ (centred_means * class_weights[:, None])
    return {"means": means, "global_mean": global_mean, "within": within, "between": between,
            "counts": counts}


def within_class_variability(within: torch.Tensor, between: torch.Tensor,
                             num_classes: int) -> float:
    """NC1 = ``Tr(Sigma_W Sigma_B^+) / C`` (Papyan et al. 2020, Fig. 6), never negative.

    ``Sigma_B^+`` is a rank-aware pseudo-inverse: of the eigenpairs ``(lambda_k, v_k)`` of
    ``Sigma_B`` only the ``C - 1`` largest with ``lambda_k > 1e-10 lambda_max`` are kept,
    and ``Tr(Sigma_W Sigma_B^+) = sum_k v_k^T Sigma_W v_k / lambda_k`` is a sum of
    non-negative terms. (A plain ``pinv`` of a float32 ``Sigma_B`` divides by round-off in
    its null space, which can make NC1 huge or negative.)
    """
    eigenvalues, eigenvectors = torch.linalg.eigh(between.double())
    keep = eigenvalues > PINV_RTOL * max(float(eigenvalues[-1]), 0.0)
    keep[: max(len(eigenvalues) - (num_classes - 1), 0)] = False
    if not keep.any():
        return math.inf  # all class means coincide: no between-class spread to compare with
    vectors = eigenvectors[:, keep]
    projected = ((vectors.T @ within.double()) * vectors.T).sum(1).clamp_min(0)
    return float((projected / eigenvalues[keep]).sum() / num_classes)


def cosine_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """``C x C`` cosines between the rows of ``vectors`` (a zero row has cosine 0)."""
    vectors = vectors.double()
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-300)
    return unit @ unit.T


def _off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    rows, cols = torch.triu_indices(len(matrix), len(matrix), offset=1)
    return matrix[rows, cols]


def equinorm(vectors: torch.Tensor) -> float:
    """NC2, equal norms: ``std_c ||v_c|| / mean_c ||v_c||`` (unbiased std, as Papyan's code)."""
    norms = vectors.double().norm(dim=1)
    return float(norms.std() / norms.mean())


def equiangularity(vectors: torch.Tensor) -> tuple[float, float]:
    """NC2, equal angles: (std of the pairwise cosines, mean ``|cos + 1/(C-1)|``).

    Both are 0 for a simplex ETF, whose pairwise cosines all equal ``-1/(C-1)``.
    """
    cosines = _off_diagonal(cosine_matrix(vectors))
    spread = float(cosines.std()) if len(cosines) > 1 else 0.0
    return spread, float((cosines + 1.0 / (len(vectors) - 1)).abs().mean())


def self_duality(classifier: torch.Tensor, centred_means: torch.Tensor) -> float:
    """NC3 = ``|| W/||W||_F - M~^T/||M~||_F ||_F^2`` (Papyan et al. 2020), ``W`` (C, d)."""
    w = classifier.double()
    m = centred_means.double()
    return float((w / w.norm() - m / m.norm()).pow(2).sum())


def nearest_mean_disagreement(features, labels, classifier, bias, means,
                              averaging: str = "class") -> tuple[float, float]:
    """NC4 and the classifier's accuracy: how often ``argmax(W h + b)`` differs from
    ``argmin_c ||h - mu_c||`` (fraction of images, or mean over classes of each class's
    fraction, as ``averaging`` says); and how often ``argmax(W h + b)`` is the label."""
    h = features.detach().double().cpu()
    y = labels.long().cpu()
    logits = h @ classifier.double().T
    if bias is not None:
        logits = logits + bias.double()
    predicted = logits.argmax(1)
    nearest = torch.cdist(h, means.double()).argmin(1)
    disagree, correct = (predicted != nearest).double(), (predicted == y).double()
    if averaging == "sample":
        return float(disagree.mean()), float(correct.mean())
    num_classes = len(means)
    counts = torch.bincount(y, minlength=num_classes).double()

    def per_class_mean(values):
        return float((torch.zeros(num_classes, dtype=torch.float64).index_add_(0, y, values)
                      / counts).mean())

    return per_class_mean(disagree), per_class_mean(correct)


def nc_metrics(features: torch.Tensor, labels: torch.Tensor, W: torch.Tensor,
               b: torch.Tensor | None = None, *, averaging: str = "class",
               num_classes: int | None = None) -> dict:
    """The four neural-collapse measures of Papyan et al. (2020) as a dict of floats.

    ``features`` (N, d) and ``labels`` (N,) are the training features; ``W`` (C, d) and
    ``b`` (C,) or None the linear classifier ``z = W h + b``. ``averaging``: ``"class"`` or
    ``"sample"`` statistics (module docstring). Keys: ``nc1``; ``equinorm_means``,
    ``equinorm_classifier``, ``equiangularity_means``, ``equiangularity_classifier`` (mean
    ``|cos + 1/(C-1)|``) and their ``_std`` versions (std of the cosines) for NC2; ``nc3``;
    ``nc4``; and ``accuracy`` of the classifier on these features. All are 0 (accuracy 1)
    at exact neural collapse.
    """
    stats = class_statistics(features, labels, num_classes, averaging)
    means, count = stats["means"], len(stats["means"])
    if W.shape != (count, features.shape[1]):
        raise ConfigError(f"W must be (num_classes, dim) = {(count, features.shape[1])}; "
                          f"got {tuple(W.shape)}")
    W = W.detach().double().cpu()
    b = None if b is None else b.detach().double().cpu()
    centred_means = means - stats["global_mean"]
    angle_std_means, angle_means = equiangularity(centred_means)
    angle_std_w, angle_w = equiangularity(W)
    nc4, accuracy = nearest_mean_disagreement(features, labels, W, b, means, averaging)
    return {
        "nc1": within_class_variability(stats["within"], stats["between"], count),
        "equinorm_means": equinorm(centred_means),
        "equinorm_classifier": equinorm(W),
        "equiangularity_means": angle_means,
        "equiangularity_means_std": angle_std_means,
        "equiangularity_classifier": angle_w,
        "equiangularity_classifier_std": angle_std_w,
        "nc3": self_duality(W, centred_means),
        "nc4": nc4,
        "accuracy": accuracy,
    }


def mean_pairwise_cosine(cosines, classes) -> float:
    """Mean of ``cosines[i][j]`` over the pairs ``i < j`` of ``classes`` (a C x C matrix)."""
    classes = sorted(int(c) for c in classes)
    if len(classes) < 2:
        raise ConfigError(f"minority_classes={classes} needs at least two classes")
    matrix = torch.as_tensor(cosines, dtype=torch.float64)[classes][:, classes]
    return float(_off_diagonal(matrix).mean())


def minority_collapse(W: torch.Tensor, minority_classes) -> float:
    """Mean pairwise cosine of the minority classes' classifier rows (Fang et al. 2021).

    ``-1/(C-1)`` for a simplex ETF; 1 when the minority rows have collapsed onto one
    direction (the classifier can no longer tell the minority classes apart).
    """
    return mean_pairwise_cosine(cosine_matrix(W.detach().cpu()), minority_classes)


def minority_classes(class_counts) -> list[int]:
    """The classes with fewer training images than the largest class (step profile: half)."""
    largest = max(class_counts)
    return [c for c, n in enumerate(class_counts) if n < largest]


# --------------------------------------------------------------------------------------
# The fixed ETF head, and what a trained model's head is


def etf_classifier(num_classes: int, dim: int, seed: int = 0) -> nn.Module:
    """A fixed simplex-ETF head ``z = W h`` (no bias, not trained), usable as
    ``model.classifier`` (Yang et al. 2022): ``W = sqrt(C/(C-1)) U (I - 11^T/C)``, unit
    rows with pairwise cosines ``-1/(C-1)`` (:func:`lt_lab.models.simplex_etf`).
    """
    from lt_lab.models import ETFClassifier, simplex_etf

    head = ETFClassifier(dim, num_classes)
    head.weight.copy_(simplex_etf(num_classes, dim, seed=seed))
    return head


def classifier_weights(head: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(W, b)`` of a head: nn.Linear's weight and bias; the cosine head's normalised rows
    (its decision is ``argmax`` of ``W h`` with unit rows); the ETF head's fixed weight."""
    from lt_lab.models import CosineClassifier

    if isinstance(head, nn.Linear):
        return head.weight.detach(), None if head.bias is None else head.bias.detach()
    if isinstance(head, CosineClassifier):
        return nn.functional.normalize(head.weight.detach(), dim=1), None
    return head.weight.detach(), None


def _rounded(matrix: torch.Tensor, digits: int = 4) -> list:
    return [[round(float(v), digits) for v in row] for row in matrix]


def geometry(features, labels, W, b=None, *, averaging: str = "class",
             num_classes: int | None = None) -> dict:
    """:func:`nc_metrics` plus the small pictures a chapter draws: the cosines between the
    centred class means and between the classifier rows (C x C), and their norms (C)."""
    metrics = nc_metrics(features, labels, W, b, averaging=averaging, num_classes=num_classes)
    stats = class_statistics(features, labels, num_classes, averaging)
    centred = stats["means"] - stats["global_mean"]
    W = W.detach().double().cpu()
    return {
        **metrics,
        "mean_cosines": _rounded(cosine_matrix(centred)),
        "classifier_cosines": _rounded(cosine_matrix(W)),
        "mean_norms": [round(float(v), 6) for v in centred.norm(dim=1)],
        "classifier_norms": [round(float(v), 6) for v in W.norm(dim=1)],
    }


def collapse_snapshot(model: nn.Module, data, config) -> dict:
    """What ``lt_lab.train.fit`` records every ``config.collapse_every`` epochs.

    Penultimate features of the whole training set (eval mode) and the model's head give
    :func:`geometry` with class-averaged statistics, plus NC1 with sample-averaged ones
    (``nc1_sample``). JSON-ready: floats and small lists only.
    """
    from lt_lab.train import extract_features

    features = extract_features(model, data.train_images, data)
    W, b = classifier_weights(model.classifier)
    snapshot = geometry(features, data.train_labels, W, b, num_classes=data.num_classes)
    sample = class_statistics(features, data.train_labels, data.num_classes, "sample")
    snapshot["nc1_sample"] = within_class_variability(sample["within"], sample["between"],
                                                      data.num_classes)
    return snapshot


class CollapseTracker:
    """A ``fit`` callback: :func:`collapse_snapshot` every ``every`` epochs and at the last,
    appended to ``extras[key]`` of the run record as ``{"epoch": e, **snapshot}``.

    ``RunConfig(collapse_every=k)`` does the same inside ``fit`` and is part of the config,
    so its records are cached; this callback is for one-off runs (``fit(..., callbacks=)``).
    """

    def __init__(self, every: int, key: str = "collapse"):
        check_positive("every", every, minimum=1, inclusive=True)
        self.every, self.key = every, key

    def on_epoch_end(self, state) -> None:
        if state.config.collapse_every and self.key == "collapse":
            raise ConfigError("config.collapse_every already records 'collapse'; give the "
                              "tracker another key or set collapse_every=0")
        epoch = state.epoch + 1
        if epoch % self.every == 0 or epoch == state.config.epochs:
            snapshot = collapse_snapshot(state.model, state.data, state.config)
            state.extras.setdefault(self.key, []).append({"epoch": epoch, **snapshot})


# --------------------------------------------------------------------------------------
# The unconstrained-features (layer-peeled) model


UFM_LOSSES = ("ce", "mse")
UFM_CACHE_VERSION = 1
UFM_PROFILES: dict[str, dict] = {  # L-BFGS iterations; the problem is the same at every profile
    "smoke": dict(steps=100, features_per_class=2),
    "quick": dict(steps=1000),
    "paper": dict(steps=3000),
}


def step_counts(num_classes: int, num_majority: int, ratio: float,
                n_max: float = 1.0) -> tuple[float, ...]:
    """Fang et al.'s setting: ``num_majority`` classes of ``n_max`` samples, the rest
    ``n_max / ratio`` (real numbers: the UFM only needs the class proportions)."""
    check_positive("num_majority", num_majority, minimum=1, inclusive=True)
    if num_majority >= num_classes:
        raise ConfigError(f"num_majority={num_majority} must be < num_classes={num_classes}")
    check_positive("ratio", ratio, minimum=1, inclusive=True)
    return tuple([float(n_max)] * num_majority + [n_max / ratio] * (num_classes - num_majority))


@dataclass(frozen=True)
class UFMConfig:
    """One run of the unconstrained-features model (Mixon et al.; Fang et al. 2021).

    Minimises over free features ``h_{c,i}`` (``features_per_class`` per class), ``W`` and
    ``b``, with ``pi_c = n_c / sum_k n_k`` the class proportions of ``class_counts``::

        sum_c pi_c mean_i loss(W h_{c,i} + b, c)
          + weight_decay_classifier / 2 (||W||_F^2 + ||b||^2)
          + weight_decay_features / 2 sum_c pi_c mean_i ||h_{c,i}||^2

    ``loss``: ``"ce"`` (cross-entropy) or ``"mse"`` (``1/2 ||z - e_c||^2``). This is the
    regularised UFM with ``n_c`` samples per class restricted to features tied in
    ``features_per_class`` groups; for fixed ``W, b`` the objective is strictly convex in
    each ``h``, so its minimisers have collapsed classes and the restriction loses nothing.
    """

    class_counts: tuple[float, ...] = (1.0,) * 10
    loss: str = "ce"
    bias: bool = True
    dim: int = 32
    features_per_class: int = 4
    weight_decay_classifier: float = 5e-3
    weight_decay_features: float = 5e-3
    steps: int = 1000
    # The classes whose classifier rows minority collapse is measured on; empty: those with
    # fewer samples than the largest class (give them when the ratio can be 1).
    minority: tuple[int, ...] = ()
    seed: int = 0
    profile: str = "quick"

    def validate(self) -> UFMConfig:
        if len(self.class_counts) < 2 or any(n <= 0 for n in self.class_counts):
            raise ConfigError(f"class_counts={self.class_counts} must be >= 2 positive numbers")
        check_choice("loss", self.loss, UFM_LOSSES)
        check_positive("dim", self.dim, minimum=1, inclusive=True)
        check_positive("features_per_class", self.features_per_class, minimum=1, inclusive=True)
        check_positive("weight_decay_classifier", self.weight_decay_classifier)
        check_positive("weight_decay_features", self.weight_decay_features)
        check_positive("steps", self.steps, minimum=1, inclusive=True)
        if any(not 0 <= c < self.num_classes for c in self.minority):
            raise ConfigError(f"minority={self.minority} must be classes in "
                              f"[0, {self.num_classes})")
        check_choice("profile", self.profile, UFM_PROFILES)
        return self

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["class_counts"] = list(self.class_counts)
        out["minority"] = list(self.minority)
        return out

    def key(self) -> str:
        """16 hex digits of the hash of ``kind: "ufm"`` and every field (profile too)."""
        material = {"kind": "ufm", "cache_version": UFM_CACHE_VERSION, **self.to_dict()}
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def make_ufm_config(profile: str = "quick", **overrides) -> UFMConfig:
    """The profile's UFM settings, then ``overrides``; validated."""
    check_choice("profile", profile, UFM_PROFILES)
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(UFMConfig)})
    if unknown:
        raise ConfigError(f"unknown UFM config field(s) {unknown}")
    values = {**UFM_PROFILES[profile], **overrides, "profile": profile}
    values["class_counts"] = tuple(float(n) for n in values.get("class_counts",
                                                                UFMConfig.class_counts))
    values["minority"] = tuple(int(c) for c in values.get("minority", ()))
    return UFMConfig(**values).validate()


def ufm_objective(config: UFMConfig, W, b, H, labels, sample_weights) -> torch.Tensor:
    """The regularised UFM objective of :class:`UFMConfig` (a scalar tensor)."""
    logits = H @ W.T + (b if b is not None else 0.0)
    if config.loss == "ce":
        per_sample = nn.functional.cross_entropy(logits, labels, reduction="none")
    else:
        targets = nn.functional.one_hot(labels, config.num_classes).to(logits.dtype)
        per_sample = 0.5 * (logits - targets).pow(2).sum(1)
    penalty_w = W.pow(2).sum() + (b.pow(2).sum() if b is not None else 0.0)
    return ((sample_weights * per_sample).sum()
            + 0.5 * config.weight_decay_classifier * penalty_w
            + 0.5 * config.weight_decay_features * (sample_weights * H.pow(2).sum(1)).sum())


def train_ufm(config: UFMConfig) -> dict:
    """Minimise the UFM objective with full-batch L-BFGS (float64) from a seeded random
    start. Returns ``W``, ``b`` (or None), ``H``, ``labels`` and the objective's curve.

    Runs on one CPU thread: the matrices are tiny, and more threads only wait on each other.
    """
    config = config.validate()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _solve_ufm(config)
    finally:
        torch.set_num_threads(threads)


def _solve_ufm(config: UFMConfig) -> dict:
    generator = torch.Generator().manual_seed(config.seed)
    C, m, d = config.num_classes, config.features_per_class, config.dim
    labels = torch.arange(C).repeat_interleave(m)
    proportions = torch.tensor(config.class_counts, dtype=torch.float64)
    proportions /= proportions.sum()
    sample_weights = proportions[labels] / m
    W = (0.1 * torch.randn(C, d, generator=generator, dtype=torch.float64)).requires_grad_()
    # H = G * scale: each feature's terms are weighted by pi_c, so its curvature is too; in G
    # every class has the same curvature, and L-BFGS converges on minority classes as well.
    scale = (1.0 / (C * m * sample_weights)).sqrt()[:, None]
    G = (0.1 * torch.randn(C * m, d, generator=generator, dtype=torch.float64) / scale)
    G.requires_grad_()
    b = torch.zeros(C, dtype=torch.float64, requires_grad=True) if config.bias else None
    parameters = [p for p in (W, b, G) if p is not None]
    optimizer = torch.optim.LBFGS(parameters, lr=1.0, max_iter=config.steps,
                                  max_eval=2 * config.steps, history_size=50,
                                  tolerance_grad=1e-13, tolerance_change=1e-16,
                                  line_search_fn="strong_wolfe")
    curve = []

    def closure():
        optimizer.zero_grad()
        value = ufm_objective(config, W, b, G * scale, labels, sample_weights)
        value.backward()
        curve.append(value.item())
        return value

    optimizer.step(closure)
    return {"W": W.detach(), "b": None if b is None else b.detach(), "H": (G * scale).detach(),
            "labels": labels, "curve": curve}


def mse_bias_free_norms(class_counts, weight_decay_classifier: float,
                        weight_decay_features: float) -> list[float]:
    """``||w_c||^2`` at the optimum of the bias-free MSE UFM of :class:`UFMConfig`.

    The rows of ``W`` are orthogonal (Dang et al. 2023) and each class solves its own scalar
    problem: with ``pi_c`` its proportion and ``p_c = ||w_c|| ||h_c||``, minimise
    ``pi_c/2 (p - 1)^2 + p sqrt(lambda_W lambda_H pi_c)``, so
    ``p_c = max(0, 1 - sqrt(lambda_W lambda_H / pi_c))`` and
    ``||w_c||^2 = p_c sqrt(lambda_H pi_c / lambda_W)``: longer rows for larger classes, and a
    class with ``pi_c <= lambda_W lambda_H`` collapses to zero.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    proportions = counts / counts.sum()
    product = (weight_decay_classifier * weight_decay_features / proportions).sqrt()
    p = (1 - product).clamp_min(0)
    return (p * (weight_decay_features * proportions / weight_decay_classifier).sqrt()).tolist()


def ufm_record(config: UFMConfig, solution: dict, wall_time_s: float) -> dict:
    """The run record of a UFM run: config, seed, metrics, geometry, curve, provenance."""
    from lt_lab.train import git_commit, software_versions

    W, b, H, labels = solution["W"], solution["b"], solution["H"], solution["labels"]
    shape = geometry(H, labels, W, b, num_classes=config.num_classes)
    minority = list(config.minority) or minority_classes(config.class_counts)
    metrics = {k: v for k, v in shape.items() if not isinstance(v, list)}
    metrics["objective"] = solution["curve"][-1]
    if len(minority) >= 2:
        metrics["minority_cosine"] = minority_collapse(W, minority)
        metrics["minority_mean_cosine"] = mean_pairwise_cosine(shape["mean_cosines"], minority)
    curve = solution["curve"]
    stride = max(1, len(curve) // 50)
    return {
        "key": config.key(),
        "kind": "ufm",
        "cache_version": UFM_CACHE_VERSION,
        "config": config.to_dict(),
        "seed": config.seed,
        "class_counts": list(config.class_counts),
        "metrics": {k: round(v, 8) for k, v in metrics.items()},
        "geometry": {k: v for k, v in shape.items() if isinstance(v, list)},
        "bias": None if b is None else [round(float(v), 6) for v in b],
        "curves": {"evaluation": list(range(0, len(curve), stride)),
                   "objective": [round(v, 10) for v in curve[::stride]]},
        "wall_time_s": round(wall_time_s, 3),
        "device": "cpu (float64)",
        "versions": software_versions(),
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def run_ufm(config: UFMConfig, *, cache: bool = True, save: bool = True, store=None) -> dict:
    """The record of ``config``: read from the results store, or trained (seconds) and stored."""
    from lt_lab.results import ResultsStore, write_json_atomic

    config = config.validate()
    store = store or ResultsStore()
    path = store.path(config.key())
    if cache and path.exists():
        try:
            record = json.loads(path.read_text())
            if record.get("cache_version") == UFM_CACHE_VERSION and record.get("kind") == "ufm":
                return record
        except ValueError:
            pass  # a corrupt record is recomputed
    started = time.perf_counter()
    record = ufm_record(config, train_ufm(config), time.perf_counter() - started)
    if save:
        write_json_atomic(path, record)
    return record


def run_ufm_grid(configs: list[UFMConfig], *, cache: bool = True, save: bool = True,
                 store=None) -> list[dict]:
    """Records of every UFM config, in order (stored ones read, the rest computed)."""
    return [run_ufm(config, cache=cache, save=save, store=store) for config in configs]


# --------------------------------------------------------------------------------------
# What the chapter reads from records, and draws


def snapshots(record: dict) -> list[dict]:
    """The neural-collapse snapshots of a training run's record (``collapse_every`` > 0)."""
    found = record.get("extras", {}).get("collapse")
    if not found:
        raise ConfigError(f"record {record.get('key')} has no collapse snapshots; train it "
                          "with collapse_every > 0")
    return found


def collapse_curve(records: list[dict], metric: str):
    """``(epochs, values)``: ``metric`` at each snapshot, one row of ``values`` per record."""
    import numpy as np

    epochs = [s["epoch"] for s in snapshots(records[0])]
    values = np.array([[s[metric] for s in snapshots(r)] for r in records], dtype=float)
    return epochs, values


def final_minority_cosine(record: dict, minority, of: str = "classifier") -> float:
    """Minority collapse at the last snapshot: mean pairwise cosine of the minority classes'
    classifier rows (``of="classifier"``) or centred feature means (``of="means"``)."""
    check_choice("of", of, ("classifier", "means"))
    key = "classifier_cosines" if of == "classifier" else "mean_cosines"
    return mean_pairwise_cosine(snapshots(record)[-1][key], minority)


def threshold_ratio(ratios, cosines, level: float):
    """The smallest ratio whose minority cosine exceeds ``level`` (our R*), or None."""
    for ratio, cosine in sorted(zip(ratios, cosines, strict=True)):
        if cosine > level:
            return ratio
    return None


def plot_cosines(matrix, ax=None, title: str = "", labels=None):
    """A ``C x C`` cosine matrix as a heat map on [-1, 1] (a simplex ETF: -1/(C-1) off the
    diagonal)."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8), layout="constrained")
    matrix = np.asarray(matrix, dtype=float)
    image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
    ticks = range(len(matrix))
    ax.set_xticks(ticks, labels if labels is not None else ticks, rotation=90, fontsize=7)
    ax.set_yticks(ticks, labels if labels is not None else ticks, fontsize=7)
    ax.set_xlabel("class (rank, 0 = most frequent)")
    ax.set_ylabel("class (rank)")
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine")
    return ax
