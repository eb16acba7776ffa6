"""The unconstrained-features (layer-peeled) model: free features and a linear classifier,
optimised directly (Mixon et al.; Fang et al. 2021), in seconds on a CPU.

Its runs are records of kind ``"ufm"`` in the results store, like any training run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from lt_lab.collapse.metrics import (
    geometry,
    mean_pairwise_cosine,
    minority_classes,
    minority_collapse,
)
from lt_lab.config import CACHE_VERSION, SEED, Config
from lt_lab.constraints import Constraint, Flag, Interval, Options, Sequence
from lt_lab.errors import ConfigError, check_positive
from lt_lab.grid import register_runner
from lt_lab.provenance import provenance
from lt_lab.results import ResultsStore
from lt_lab.runtime import threads

# "cdt", "ldt" and "la": cross-entropy on adjusted logits (Behnia et al. 2023, eqs. 2–3):
# class-dependent temperature z_c·δ_c, label-dependent temperature z·δ_y, and additive
# logit adjustment z_c + τ log π_c; δ_c = (n_c / n_max)^loss_gamma.
UFM_LOSSES = ("ce", "mse", "cdt", "ldt", "la")
UFM_PROFILES: dict[str, dict] = {  # L-BFGS iterations; the problem is the same at every profile
    "smoke": dict(steps=100, features_per_class=2),
    "quick": dict(steps=1000),
    "long": dict(steps=1000),  # the networks' schedule is longer; the simulator's problem is not
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
class UFMConfig(Config):
    """One run of the unconstrained-features model (Mixon et al.; Fang et al. 2021).

    Minimises over free features ``h_{c,i}`` (``features_per_class`` per class), ``W`` and
    ``b``, with ``pi_c = n_c / sum_k n_k`` the class proportions of ``class_counts``::

        sum_c pi_c mean_i loss(W h_{c,i} + b, c)
          + weight_decay_classifier / 2 (||W||_F^2 + ||b||^2)
          + weight_decay_features / 2 sum_c pi_c mean_i ||h_{c,i}||^2

    ``loss``: ``"ce"`` (cross-entropy) or ``"mse"`` (``1/2 ||z - e_c||^2``), or cross-entropy
    on adjusted logits ``z = W h + b`` (:func:`adjusted_logits`, Behnia et al. 2023): ``"cdt"``
    (class-dependent temperature, ``z_c δ_c``), ``"ldt"`` (label-dependent temperature,
    ``z δ_y``) with ``δ_c = (n_c / n_max)^loss_gamma``, or ``"la"`` (``z_c + loss_tau log
    π_c``, Menon et al. 2021). This is the
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
    loss_gamma: float = 0.5  # "cdt", "ldt": δ_c = (n_c / n_max)^loss_gamma (Behnia: Δ = √R)
    loss_tau: float = 1.0  # "la": the additive adjustment's τ
    seed: int = 0
    profile: str = "quick"

    kind: ClassVar[str] = "ufm"
    profiles: ClassVar[dict[str, dict]] = UFM_PROFILES
    record_fields: ClassVar[tuple[str, ...]] = ("class_counts", "geometry")
    constraints: ClassVar[dict[str, Constraint]] = {
        "class_counts": Sequence(Interval(float, 0, None, closed="neither"),
                                 "positive class sizes", "[100, 100, 1]", min_length=2),
        "loss": Options(UFM_LOSSES),
        "bias": Flag(),
        "dim": Interval(int, 1, None),
        "features_per_class": Interval(int, 1, None),
        "weight_decay_classifier": Interval(float, 0, None, closed="neither"),
        "weight_decay_features": Interval(float, 0, None, closed="neither"),
        "steps": Interval(int, 1, None),
        "minority": Sequence(Interval(int, 0, None), "class indices", "[5, 6, 7, 8, 9]"),
        "loss_gamma": Interval(float, 0, None),
        "loss_tau": Interval(float, 0, None),
        "seed": SEED,
    }

    def check_relations(self) -> None:
        if any(c >= self.num_classes for c in self.minority):
            raise ConfigError(f"minority={self.minority} must be classes in "
                              f"[0, {self.num_classes})")

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)

def make_ufm_config(profile: str = "quick", **overrides) -> UFMConfig:
    """The profile's UFM settings, then ``overrides``; validated."""
    return UFMConfig.make(profile, **overrides)


def adjusted_logits(config: UFMConfig, logits: torch.Tensor, labels: torch.Tensor):
    """The logits the cross-entropy of ``config.loss`` reads (Behnia et al. 2023, eq. 2–3):
    ``"cdt"`` multiplies class c's logit by δ_c, ``"ldt"`` every logit of a sample of class y
    by δ_y, with δ_c = (n_c / n_max)^γ; ``"la"`` adds τ log π_c; ``"ce"`` leaves them.

    With two classes and no bias, LDT's loss term is e^{−δ_y (w_y − w_c)ᵀh} and CDT's
    e^{−(δ_y w_y − δ_c w_c)ᵀh}, as in the paper.
    """
    counts = torch.tensor(config.class_counts, dtype=logits.dtype)
    delta = (counts / counts.max()) ** config.loss_gamma
    if config.loss == "cdt":
        return logits * delta
    if config.loss == "ldt":
        return logits * delta[labels][:, None]
    if config.loss == "la":
        return logits + config.loss_tau * (counts / counts.sum()).log()
    return logits


def ufm_objective(config: UFMConfig, W, b, H, labels, sample_weights) -> torch.Tensor:
    """The regularised UFM objective of :class:`UFMConfig` (a scalar tensor)."""
    logits = H @ W.T + (b if b is not None else 0.0)
    if config.loss != "mse":
        per_sample = nn.functional.cross_entropy(adjusted_logits(config, logits, labels),
                                                 labels, reduction="none")
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
    with threads(1):
        return _solve_ufm(config)


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
        "cache_version": CACHE_VERSION,
        "config": config.to_dict(),
        "seed": config.seed,
        "class_counts": list(config.class_counts),
        "metrics": {k: round(v, 8) for k, v in metrics.items()},
        "geometry": {k: v for k, v in shape.items() if isinstance(v, list)},
        "bias": None if b is None else [round(float(v), 6) for v in b],
        "curves": {"evaluation": list(range(0, len(curve), stride)),
                   "objective": [round(v, 10) for v in curve[::stride]]},
        "wall_time_s": round(wall_time_s, 3),
        **provenance("cpu"),
        "device": "cpu (float64, 1 thread)",
    }


@register_runner("ufm")
def run_ufm(config: UFMConfig, *, cache: bool = True, save: bool = True,
            store: ResultsStore | None = None, progress: bool | None = None) -> dict:
    """The record of ``config``: read from the results store, or solved (seconds) and stored."""
    config = config.validate()
    store = store or ResultsStore()
    if cache and (record := store.load(config)) is not None:
        return record
    if save:
        store.check_writable()
    started = time.perf_counter()
    record = ufm_record(config, train_ufm(config), time.perf_counter() - started)
    if save:
        store.save(record)
    return record
