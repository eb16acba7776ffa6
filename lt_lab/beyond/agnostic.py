r"""Test-agnostic evaluation: a model scored on test sets whose class prior is not uniform.

Zhang et al., "Self-Supervised Aggregation of Diverse Experts for Test-Agnostic
Long-Tailed Recognition" (SADE, NeurIPS 2022), evaluate every model on eleven test class
priors (:data:`SADE_TEST_PRIORS`): **forward** long-tailed (the training prior's order,
class 0 the largest) with imbalance ratios 50, 25, 10, 5, 2, **uniform**, and **backward**
long-tailed (the order reversed, class 0 the smallest) with ratios 2, 5, 10, 25, 50.
Each is a subset of the balanced test set (``n_max`` images a class): with ``C`` classes,
class ``c`` keeps::

    forward ρ:   n_c = int(n_max · ρ^(−c/(C−1)))
    backward ρ:  n_c = int(n_max · ρ^(−(C−1−c)/(C−1)))
    uniform:     n_c = n_max

Checked against the official code (Vanint/SADE-AgnosticLT, read, not copied):
``test_training_cifar.py`` lists the priors (``distrb``: ``'forward50': (0.02, False)``,
``'backward50': (0.02, True)``, ..., evaluated in the order above) and
``data_loader/imbalance_cifar.py`` (``get_img_num_per_cls``, ``imb_type='exp'``) computes
``int(img_max * imb_factor ** (cls_idx / (cls_num - 1)))`` with ``imb_factor = 1/ρ``, the
exponent ``(cls_num - 1 - cls_idx)/(cls_num - 1)`` when ``reverse``; ``img_max`` is the
balanced test set's size over the classes. It keeps the first ``n_c`` images of each
class after a shuffle with ``np.random.seed(0)``: here :func:`resample_indices` draws them
with a torch generator of a given seed (the same counts; other images).

Two ways to score a model under a prior, which the chapter compares:

* **resampled**: predict on the resampled test set and compute the metrics there
  (:func:`resampled_metrics`); what SADE reports;
* **re-weighted**: weight the balanced test set's per-class accuracies by the prior,
  ``acc_π = Σ_c π_c a_c`` (:func:`reweighted_accuracy`, :func:`prior_accuracies`): the
  expected accuracy of the resampled set, exact in expectation, with no resampling noise,
  and computable from a stored record's ``per_class_acc``.

Per-class recalls do not depend on how many images a class has, so G-mean and minimum
recall under a resampled prior estimate the balanced set's values (only fewer images
each); accuracy is what the prior moves.
"""

from __future__ import annotations

import math
import re

import torch

from lt_lab.constraints import Interval
from lt_lab.errors import ConfigError
from lt_lab.metrics import accuracy, per_class_accuracy

SADE_TEST_PRIORS = ("forward50", "forward25", "forward10", "forward5", "forward2", "uniform",
                    "backward2", "backward5", "backward10", "backward25", "backward50")
_PRIOR = re.compile(r"(forward|backward)(\d+(?:\.\d+)?)")


def parse_prior(name: str) -> tuple[str, float]:
    """``"forward50"`` → ``("forward", 50.0)``; ``"uniform"`` → ``("uniform", 1.0)``."""
    if name == "uniform":
        return "uniform", 1.0
    match = _PRIOR.fullmatch(name) if isinstance(name, str) else None
    if match is None or float(match.group(2)) < 1:
        raise ConfigError(f"prior={name!r} is not known; allowed: 'uniform', 'forwardR' or "
                          f"'backwardR' with a ratio R >= 1 (SADE's: {list(SADE_TEST_PRIORS)})")
    return match.group(1), float(match.group(2))


def _exponents(name: str, num_classes: int) -> list[float]:
    """The exponent of ``ρ^(−e_c)`` for each class: ``c/(C−1)``, reversed for backward."""
    Interval(int, 2, None).check("num_classes", num_classes)
    direction, _ = parse_prior(name)
    steps = [c / (num_classes - 1.0) for c in range(num_classes)]
    if direction == "backward":
        steps = steps[::-1]
    return [0.0] * num_classes if direction == "uniform" else steps


def prior_counts(name: str, num_classes: int, n_max: int) -> torch.Tensor:
    """Images per class of SADE's test set for prior ``name`` (formula in the module
    docstring), from a balanced test set of ``n_max`` images a class; int64, class order.
    Floating-point as SADE's (Python's ``**`` on doubles, truncated by ``int``)."""
    Interval(int, 1, None).check("n_max", n_max)
    _, ratio = parse_prior(name)
    imb_factor = 1.0 / ratio
    counts = [int(n_max * imb_factor ** e) for e in _exponents(name, num_classes)]
    return torch.tensor(counts, dtype=torch.long)


def class_prior(name: str, num_classes: int, n_max: int | None = None) -> torch.Tensor:
    """The class prior ``π`` of test prior ``name`` (float64, sums to 1). With ``n_max``:
    the proportions of :func:`prior_counts` (the resampled set's own, after truncation);
    without: the untruncated profile ``ρ^(−e_c) / Σ_k ρ^(−e_k)``."""
    if n_max is not None:
        counts = prior_counts(name, num_classes, n_max).double()
        if counts.sum() == 0:
            raise ConfigError(f"n_max={n_max} leaves no test image under prior {name!r}")
        return counts / counts.sum()
    _, ratio = parse_prior(name)
    weights = torch.tensor([ratio ** -e for e in _exponents(name, num_classes)],
                           dtype=torch.float64)
    return weights / weights.sum()


def resample_indices(labels, counts, seed: int = 0) -> torch.Tensor:
    """Indices of a test subset with ``counts[c]`` images of class ``c``, drawn uniformly
    without replacement within each class by ``torch.Generator().manual_seed(seed)``;
    sorted ascending. ``labels``: the (balanced) test labels."""
    labels = torch.as_tensor(labels).cpu()
    counts = torch.as_tensor(counts).cpu()
    Interval(int, 0, None).check("seed", seed)
    if labels.ndim != 1 or labels.is_floating_point() or labels.numel() == 0:
        raise ConfigError("labels must be a non-empty 1-D tensor of class indices")
    if counts.ndim != 1 or counts.is_floating_point() or (counts < 0).any():
        raise ConfigError(f"counts must be a list of non-negative integers; got {counts}")
    available = torch.bincount(labels, minlength=len(counts))
    if len(available) > len(counts):
        raise ConfigError(f"labels hold class {len(available) - 1} but counts has "
                          f"{len(counts)} classes")
    short = (counts > available).nonzero().flatten().tolist()
    if short:
        c = short[0]
        raise ConfigError(f"counts[{c}]={int(counts[c])} exceeds the {int(available[c])} test "
                          f"images of class {c}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c, n in enumerate(counts.tolist()):
        members = (labels == c).nonzero().flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:n]])
    return torch.cat(chosen).sort().values


def resample_test_set(labels, name: str, seed: int = 0) -> torch.Tensor:
    """:func:`resample_indices` for SADE's prior ``name``, ``n_max`` the balanced test
    set's images a class (every class must have as many; else give counts yourself)."""
    labels = torch.as_tensor(labels).cpu()
    if labels.ndim != 1 or labels.is_floating_point() or labels.numel() == 0:
        raise ConfigError("labels must be a non-empty 1-D tensor of class indices")
    per_class = torch.bincount(labels)
    if (per_class != per_class[0]).any():
        raise ConfigError(f"the test set is not balanced ({per_class.tolist()} images per "
                          "class); pass counts to resample_indices instead")
    counts = prior_counts(name, len(per_class), int(per_class[0]))
    return resample_indices(labels, counts, seed)


# --- metrics --------------------------------------------------------------------------------


def _recalls(per_class_acc) -> torch.Tensor:
    recalls = torch.as_tensor(per_class_acc, dtype=torch.float64).cpu()
    if recalls.ndim != 1 or recalls.numel() == 0:
        raise ConfigError(f"per_class_acc must be a non-empty list; got {per_class_acc!r}")
    present = recalls[~recalls.isnan()]
    if present.numel() == 0 or (present < 0).any() or (present > 1).any():
        raise ConfigError("per_class_acc must be fractions in [0, 1] (nan for an absent "
                          f"class), with at least one present; got {recalls.tolist()}")
    return recalls


def gmean_of_recalls(per_class_acc) -> float:
    """``(Π_c r_c)^(1/C)`` over the classes present (nan recalls left out); 0 when a class
    has recall 0. The G-mean of SelMix (Ramasubramanian et al., ICLR 2024) and of the
    imbalanced-learning literature."""
    recalls = _recalls(per_class_acc)
    present = recalls[~recalls.isnan()]
    return float(torch.exp(torch.log(present).mean()))  # log 0 = -inf → exp(-inf) = 0


def min_of_recalls(per_class_acc) -> float:
    """The smallest recall over the classes present (the worst-case class)."""
    recalls = _recalls(per_class_acc)
    return float(recalls[~recalls.isnan()].min())


def gmean_recall(predictions, labels, num_classes: int) -> float:
    """G-mean of the per-class recalls of ``predictions`` (:func:`gmean_of_recalls`)."""
    return gmean_of_recalls(per_class_accuracy(predictions, labels, num_classes))


def min_recall(predictions, labels, num_classes: int) -> float:
    """Minimum per-class recall of ``predictions`` over the classes in ``labels``."""
    return min_of_recalls(per_class_accuracy(predictions, labels, num_classes))


def agnostic_metrics(predictions, labels, num_classes: int) -> dict[str, float]:
    """``{"acc", "gmean_recall", "min_recall"}`` of ``predictions`` (fractions in [0, 1])."""
    recalls = per_class_accuracy(predictions, labels, num_classes)
    return {"acc": accuracy(predictions, labels), "gmean_recall": gmean_of_recalls(recalls),
            "min_recall": min_of_recalls(recalls)}


def resampled_metrics(predictions, labels, num_classes: int, priors=SADE_TEST_PRIORS,
                      seed: int = 0) -> dict[str, dict[str, float]]:
    """For each prior name, :func:`agnostic_metrics` on the balanced test set's predictions
    restricted to :func:`resample_test_set` (same ``seed`` for every prior)."""
    predictions, labels = torch.as_tensor(predictions).cpu(), torch.as_tensor(labels).cpu()
    out = {}
    for name in priors:
        keep = resample_test_set(labels, name, seed)
        out[name] = agnostic_metrics(predictions[keep], labels[keep], num_classes)
    return out


# --- the reader: re-weighted metrics from a record ------------------------------------------


def reweighted_accuracy(per_class_acc, prior) -> float:
    """``Σ_c π_c a_c``: the expected accuracy on a test set of class prior ``π`` (any
    non-negative weights, normalised here) of a model with per-class accuracies ``a``."""
    recalls = _recalls(per_class_acc)
    prior = torch.as_tensor(prior, dtype=torch.float64).cpu()
    if prior.shape != recalls.shape or (prior < 0).any() or not prior.sum() > 0:
        raise ConfigError(f"prior must be {len(recalls)} non-negative weights, not all 0; got "
                          f"{prior.tolist()}")
    weighted = prior > 0
    if recalls[weighted].isnan().any():
        missing = (weighted & recalls.isnan()).nonzero().flatten().tolist()
        raise ConfigError(f"per_class_acc has no value (nan) for classes {missing}, which the "
                          "prior weighs")
    return float((prior[weighted] * recalls[weighted]).sum() / prior.sum())


def prior_accuracies(record_or_per_class, priors=SADE_TEST_PRIORS,
                     n_max: int | None = None) -> dict[str, float]:
    """The re-weighted accuracy (:func:`reweighted_accuracy`) under each prior name, from
    one run record (its ``per_class_acc``) or a list of per-class accuracies; ``n_max``:
    weigh by the truncated counts of SADE's resampled sets (:func:`class_prior`)."""
    per_class = record_or_per_class
    if isinstance(record_or_per_class, dict):
        if "per_class_acc" not in record_or_per_class:
            raise ConfigError(f"record {record_or_per_class.get('key')!r} has no "
                              "'per_class_acc'")
        per_class = record_or_per_class["per_class_acc"]
    recalls = _recalls(per_class)
    return {name: reweighted_accuracy(recalls, class_prior(name, len(recalls), n_max))
            for name in priors}


def mean_over_priors(values: dict[str, float]) -> float:
    """The mean of a ``{prior: value}`` mapping (SADE's summary over its test priors)."""
    if not values or any(not math.isfinite(v) for v in values.values()):
        raise ConfigError(f"values must be a non-empty mapping of finite numbers; got {values}")
    return sum(values.values()) / len(values)


def prior_table(records: list[dict], priors=SADE_TEST_PRIORS, n_max: int | None = None,
                scale: float = 100):
    """One row per record (indexed by its ``seed``, else its ``key``), one column per prior:
    the re-weighted accuracy (:func:`prior_accuracies`) times ``scale`` (percent), then
    the mean over the priors (SADE's summary). A descriptive table of stored records."""
    import pandas as pd

    if not records:
        raise ConfigError("records must hold at least one run record")
    rows, index = [], []
    for record in records:
        values = prior_accuracies(record, priors, n_max)
        row = {name: scale * value for name, value in values.items()}
        row["mean over priors"] = scale * mean_over_priors(values)
        rows.append(row)
        index.append(record.get("seed", record.get("key")))
    table = pd.DataFrame(rows, index=index)
    table.index.name = "seed" if all("seed" in r for r in records) else "record"
    return table
