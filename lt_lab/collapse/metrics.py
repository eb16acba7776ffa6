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
behind both results is simulated by ``train_ufm``: free features and a linear
classifier, optimised directly, in seconds on a CPU (:mod:`lt_lab.collapse.ufm`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lt_lab.errors import ConfigError, check_choice, check_positive
from lt_lab.models import CosineClassifier, ETFClassifier, simplex_etf

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
    """NC1 = ``Tr(Sigma_W Sigma_B^+) / C`` (Papyan et al. 2020, Fig. 6).

    Mathematically NC1 >= 0 whatever the pseudo-inverse: ``Sigma_W`` and ``Sigma_B^+`` are
    both positive semi-definite, and the trace of a product of two PSD matrices is >= 0.
    The pseudo-inverse's care is numerical: of the eigenpairs ``(lambda_k, v_k)`` of
    ``Sigma_B`` only the ``C - 1`` largest with ``lambda_k > 1e-10 lambda_max`` are kept, so
    ``Tr(Sigma_W Sigma_B^+) = sum_k v_k^T Sigma_W v_k / lambda_k`` never divides by
    round-off. (A plain ``pinv`` of a float32 ``Sigma_B`` does, in its null space, which can
    make a computed NC1 huge or even negative.)
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


def nearest_majority(cosines, minority, majority=None) -> list[tuple[int, int, float]]:
    """For each minority class, the majority class it is most aligned with, and that cosine.

    ``cosines`` is a ``C x C`` cosine matrix (between centred class means, or classifier
    rows); ``majority`` defaults to every class not in ``minority``. Returns
    ``(minority class, majority class, cosine)`` per minority class, in ``minority``'s
    order. The minority-only pairwise cosine (:func:`mean_pairwise_cosine`) cannot see a
    minority class merging into a majority one; this can.
    """
    matrix = torch.as_tensor(cosines, dtype=torch.float64)
    minority = [int(c) for c in minority]
    if majority is None:
        majority = [c for c in range(len(matrix)) if c not in minority]
    majority = [int(c) for c in majority]
    if not minority or not majority or set(minority) & set(majority):
        raise ConfigError(f"minority={minority} and majority={majority} must be non-empty "
                          "and disjoint")
    block = matrix[minority][:, majority]
    best = block.argmax(1)
    return [(c, majority[int(k)], float(block[i, k])) for i, (c, k) in
            enumerate(zip(minority, best, strict=True))]


def minority_to_majority_cosine(cosines, minority, majority=None) -> float:
    """Mean over the minority classes of each one's largest cosine with a majority class
    (:func:`nearest_majority`): ``-1/(C-1)`` for a simplex ETF, 1 when every minority class
    points the same way as some majority class."""
    pairs = nearest_majority(cosines, minority, majority)
    return sum(cos for *_, cos in pairs) / len(pairs)


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
    head = ETFClassifier(dim, num_classes)
    head.weight.copy_(simplex_etf(num_classes, dim, seed=seed))
    return head


def classifier_weights(head: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(W, b)`` of a head: nn.Linear's weight and bias; the cosine head's normalised rows
    (its decision is ``argmax`` of ``W h`` with unit rows); the ETF head's fixed weight."""
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
