r"""The geometry of supervised-contrastive features: how far the class means are from an
orthogonal frame (OF) or a simplex ETF, read off their Gram matrix.

Kini et al., "Symmetric Neural-Collapse Representations with Supervised Contrastive Loss:
The Impact of ReLU and Batching" (ICLR 2024): with a last-layer ReLU, SCL's class means
converge to an **orthogonal frame**, ``G = M^T M ∝ I_C``, whatever the imbalance; without
it, on balanced data they form a **simplex ETF**, ``G ∝ I_C − 1 1^T / C``, and under
imbalance neither. With ``M`` the ``d × C`` matrix of the (uncentred) class means of the
features and ``‖·‖_F`` the Frobenius norm, the distance to a reference Gram ``G*`` is::

    Δ(G, G*) = ‖ G / ‖G‖_F − G* / ‖G*‖_F ‖_F      (in [0, 2])

Checked against the official code (valavakilian/SCL_Geometry_And_Batching,
``code/main.py``'s ``OF_comparison`` and ``code/utils.py``'s class means; read, not
copied): the means are the plain per-class averages of the training features (not centred
by the global mean, unlike neural collapse's NC2), ``G_OF = I_K / ‖I_K‖_F``, and the
reported number is ``‖G/‖G‖_F − G_OF‖_F``. The ETF distance is the same measure against
``I − 11^T/C`` (what SCL reaches without the ReLU on balanced data).
"""

from __future__ import annotations

import torch

from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError


def class_means(features: torch.Tensor, labels: torch.Tensor,
                num_classes: int | None = None) -> torch.Tensor:
    """The uncentred mean feature of each class, ``(C, d)`` float64 (rows: classes).
    Raises ConfigError if a class has no example."""
    features = torch.as_tensor(features)
    labels = torch.as_tensor(labels, device=features.device)
    if features.ndim != 2 or labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise ConfigError(f"features must be (N, d) and labels (N,); got "
                          f"{tuple(features.shape)} and {tuple(labels.shape)}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    Interval(int, 2, None).check("num_classes", num_classes)
    counts = torch.bincount(labels, minlength=num_classes)
    if len(counts) > num_classes or (counts == 0).any():
        empty = (counts[:num_classes] == 0).nonzero().flatten().tolist()
        raise ConfigError(f"every class 0..{num_classes - 1} needs an example; missing: "
                          f"{empty or 'labels beyond num_classes'}")
    sums = torch.zeros(num_classes, features.shape[1], dtype=torch.float64,
                       device=features.device).index_add_(0, labels, features.double())
    return (sums / counts[:, None].double()).cpu()


def mean_gram(features: torch.Tensor, labels: torch.Tensor,
              num_classes: int | None = None) -> torch.Tensor:
    """``G = M^T M``, ``C × C``: the inner products of the class means (:func:`class_means`)."""
    means = class_means(features, labels, num_classes)
    return means @ means.T


def _gram(gram) -> torch.Tensor:
    gram = torch.as_tensor(gram, dtype=torch.float64).cpu()
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or gram.shape[0] < 2:
        raise ConfigError(f"gram must be a square C x C matrix with C >= 2; got shape "
                          f"{tuple(gram.shape)}")
    norm = torch.linalg.matrix_norm(gram)
    if not norm > 0:
        raise ConfigError("gram is zero: the class means are all zero")
    return gram / norm


def gram_distance(gram, reference) -> float:
    """``‖ G/‖G‖_F − G*/‖G*‖_F ‖_F``: 0 when ``G`` is a positive multiple of ``G*``."""
    gram, reference = _gram(gram), _gram(reference)
    if gram.shape != reference.shape:
        raise ConfigError(f"gram {tuple(gram.shape)} and reference {tuple(reference.shape)} "
                          "must have the same shape")
    return float(torch.linalg.matrix_norm(gram - reference))


def distance_to_orthogonal_frame(gram) -> float:
    """:func:`gram_distance` to ``I_C``: Kini et al.'s convergence measure (0 for class
    means that are orthogonal and of equal norm)."""
    size = torch.as_tensor(gram).shape[0]
    return gram_distance(gram, torch.eye(size, dtype=torch.float64))


def distance_to_simplex_etf(gram) -> float:
    """:func:`gram_distance` to ``I_C − 1 1^T / C`` (0 for class means of equal norm, with
    pairwise cosines ``−1/(C−1)``, summing to zero)."""
    size = torch.as_tensor(gram).shape[0]
    etf = torch.eye(size, dtype=torch.float64) - torch.full((size, size), 1.0 / size,
                                                            dtype=torch.float64)
    return gram_distance(gram, etf)


def scl_geometry(features: torch.Tensor, labels: torch.Tensor,
                 num_classes: int | None = None) -> dict[str, float]:
    """``{"of_distance", "etf_distance"}`` of the features' class-mean Gram matrix."""
    gram = mean_gram(features, labels, num_classes)
    return {"of_distance": distance_to_orthogonal_frame(gram),
            "etf_distance": distance_to_simplex_etf(gram)}
