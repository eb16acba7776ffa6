"""Classifier fixes on a trained representation (chapter 3).

Kang et al. (ICLR 2020, "Decoupling representation and classifier for long-tailed
recognition") train the network once with plain instance-balanced sampling, freeze its
features, and fix only the classifier:

* **cRT** — a fresh linear head retrained on the frozen features with class-balanced
  sampling;
* **τ-norm** — ``w̃_i = w_i / ‖w_i‖^τ``, bias dropped; τ = 0 is the joint classifier without
  bias, τ = 1 gives every class a unit-norm weight;
* **LWS** — learnable weight scaling ``z̃_i = f_i · z_i``, only ``f`` trained, class-balanced;
* **NCM** — nearest class mean on centred, L2-normalised features (cosine similarity).

Alshammari et al. (CVPR 2022, "Long-tailed recognition via weight balancing") add
**wb_maxnorm**: a classifier-only second stage with the class-balanced loss, a large weight
decay and MaxNorm (every row projected back to ``‖w_k‖ ≤ δ`` after each step). Hasegawa &
Sato (ICLR 2024) replace it with one stage (weight decay, a feature-norm penalty — the
config's ``feature_norm_penalty`` — and a fixed ETF head) followed by the
**multiplicative_posthoc** adjustment ``z̃_k = z_k · π_k^(−τ)``.

Every fix works on features extracted once (:func:`extract`), so a fix costs seconds. Its
hyperparameters (τ, δ) are selected on a balanced *validation* split of training images left
out of the long-tailed subset, never on the test set; the test-set curve is stored beside
the choice, labelled, so a reader can see what peeking would have given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lt_lab import (
    losses,
    metrics,
    reweighting,  # noqa: F401  (registers "class_balanced", stage 2's loss)
)
from lt_lab.data.samplers import build_sampler
from lt_lab.errors import ConfigError, check_choice, check_positive
from lt_lab.hooks import Analysis, register_analysis
from lt_lab.metrics import classification_report
from lt_lab.models import ETFClassifier
from lt_lab.train import extract_features

FIXES = ("crt", "tau_norm", "lws", "ncm", "wb_maxnorm", "multiplicative_posthoc")
TAU_GRID = tuple(round(0.1 * i, 1) for i in range(21))  # linspace(0, 2, 21), as Kang et al.
RETRAIN_EPOCHS = 10  # cRT, LWS (Kang et al.) and WB's second stage (Alshammari et al.)
WB_WEIGHT_DECAY = 0.1  # Alshammari et al.'s second stage
WB_MAX_NORM_FACTORS = (0.25, 0.5, 1.0)  # δ = factor × the joint classifier's mean row norm
METRICS = ("acc", "balanced_acc", "macro_f1", "many_shot_acc", "medium_shot_acc",
           "few_shot_acc")


@dataclass
class Features:
    """Penultimate features of the training, validation and test images, and their labels."""

    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor
    test: torch.Tensor
    test_labels: torch.Tensor
    class_counts: list[int]

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)


@dataclass
class LinearClassifier:
    """``z = h Wᵀ + b`` on features ``h``; ``bias`` may be None."""

    weight: torch.Tensor  # (C, D)
    bias: torch.Tensor | None = None

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        logits = features @ self.weight.T
        return logits if self.bias is None else logits + self.bias

    def weight_norms(self) -> list[float]:
        return self.weight.norm(dim=1).tolist()


def extract(model: nn.Module, data) -> Features:
    """Features of ``data``'s training (no augmentation), validation and test images."""
    if data.val_images is None:
        raise ConfigError("classifier fixes need a validation split: prepare the data with "
                          "a config whose val_per_class > 0")
    return Features(
        train=extract_features(model, data.train_images, data).cpu(),
        train_labels=data.train_labels.cpu(),
        val=extract_features(model, data.val_images, data).cpu(),
        val_labels=data.val_labels.cpu(),
        test=extract_features(model, data.test_images, data).cpu(),
        test_labels=data.test_labels.cpu(),
        class_counts=list(data.class_counts),
    )


def joint_classifier(model: nn.Module) -> LinearClassifier:
    """The trained head of ``model`` as weight and bias (linear or fixed-ETF heads)."""
    head = model.classifier
    if isinstance(head, nn.Linear):
        return LinearClassifier(head.weight.detach().float().cpu().clone(),
                                head.bias.detach().float().cpu().clone())
    if isinstance(head, ETFClassifier):
        return LinearClassifier(head.weight.detach().float().cpu().clone())
    raise ConfigError(f"classifier fixes need head='linear' or 'etf', not {type(head).__name__}")


def tau_normalise(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """τ-normalisation (Kang et al. 2020): ``w̃_i = w_i / ‖w_i‖^τ`` for every class row ``i``."""
    check_positive("tau", tau, inclusive=True)
    return weight / weight.norm(dim=1, keepdim=True).pow(tau)


def multiplicative_adjust(logits: torch.Tensor, class_counts, tau: float) -> torch.Tensor:
    """Hasegawa & Sato (2024): ``z̃_k = z_k · π_k^(−τ)``, π the training class prior."""
    check_positive("tau", tau, inclusive=True)
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    return logits * (counts / counts.sum()).pow(-tau).to(logits.dtype)


def max_norm_(weight: torch.Tensor, max_norm: float) -> torch.Tensor:
    """MaxNorm projection, in place: rescale every row with ``‖w_k‖ > max_norm`` onto the ball."""
    check_positive("max_norm", max_norm)
    with torch.no_grad():
        norms = weight.norm(dim=1, keepdim=True)
        weight.mul_(torch.clamp(max_norm / norms.clamp_min(1e-12), max=1.0))
    return weight


def ncm_classifier(train_features: torch.Tensor, train_labels: torch.Tensor,
                   num_classes: int):
    """Nearest class mean (Kang et al. 2020): returns ``logits(features)`` = cosine similarity
    between the centred, L2-normalised feature and each class's normalised mean."""
    centre = train_features.mean(0)

    def normalise(features):
        return F.normalize(features - centre, dim=1)

    train = normalise(train_features)
    means = torch.zeros(num_classes, train.shape[1]).index_add_(0, train_labels, train)
    means = F.normalize(means / torch.bincount(train_labels, minlength=num_classes)[:, None],
                        dim=1)
    return lambda features: normalise(features) @ means.T


def _train_on_features(parameters, logits_of, features, labels, *, loss_fn, sampler_name,
                       epochs, lr, weight_decay, batch_size, seed, project=None):
    """SGD (momentum 0.9, cosine lr) on frozen features; ``project`` runs after each step."""
    generator = torch.Generator().manual_seed(seed)
    num_classes = int(labels.max()) + 1
    sampler = build_sampler(sampler_name, labels, num_classes, epochs)
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(sampler) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    for epoch in range(epochs):
        indices = sampler.epoch_indices(epoch, generator)
        for start in range(0, len(indices), batch_size):
            batch = indices[start : start + batch_size]
            loss = loss_fn(logits_of(features[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if project is not None:
                project()


def crt(features: Features, *, lr: float, weight_decay: float, batch_size: int = 128,
        epochs: int = RETRAIN_EPOCHS, seed: int = 0) -> LinearClassifier:
    """Classifier re-training (Kang et al. 2020): a fresh linear head, class-balanced sampling."""
    torch.manual_seed(seed)
    head = nn.Linear(features.train.shape[1], features.num_classes)
    _train_on_features(list(head.parameters()), head, features.train, features.train_labels,
                       loss_fn=F.cross_entropy, sampler_name="class_balanced", epochs=epochs,
                       lr=lr, weight_decay=weight_decay, batch_size=batch_size, seed=seed)
    return LinearClassifier(head.weight.detach().clone(), head.bias.detach().clone())


def lws(joint: LinearClassifier, features: Features, *, lr: float, batch_size: int = 128,
        epochs: int = RETRAIN_EPOCHS, seed: int = 0) -> tuple[LinearClassifier, list[float]]:
    """Learnable weight scaling (Kang et al. 2020): ``z̃_i = f_i z_i``, only ``f`` learned, with
    class-balanced sampling. Returns the scaled classifier and the scales ``f``."""
    scales = torch.ones(features.num_classes, requires_grad=True)
    _train_on_features([scales], lambda h: scales * joint.logits(h), features.train,
                       features.train_labels, loss_fn=F.cross_entropy,
                       sampler_name="class_balanced", epochs=epochs, lr=lr, weight_decay=0.0,
                       batch_size=batch_size, seed=seed)
    scales = scales.detach()
    bias = None if joint.bias is None else scales * joint.bias
    return LinearClassifier(scales[:, None] * joint.weight, bias), scales.tolist()


def weight_balancing_stage2(joint: LinearClassifier, features: Features, *, max_norm: float,
                            lr: float, weight_decay: float = WB_WEIGHT_DECAY,
                            beta: float = 0.9999, batch_size: int = 128,
                            epochs: int = RETRAIN_EPOCHS, seed: int = 0) -> LinearClassifier:
    """Weight balancing's second stage (Alshammari et al. 2022): from the stage-1 head, train
    the classifier only with the class-balanced loss (Cui et al., ``beta``), weight decay and
    MaxNorm — each row projected to ``‖w_k‖ ≤ max_norm`` after every step."""
    weight = joint.weight.clone()
    max_norm_(weight, max_norm)
    weight.requires_grad_(True)
    bias = torch.zeros(features.num_classes) if joint.bias is None else joint.bias.clone()
    bias.requires_grad_(True)
    loss_fn = losses.build("class_balanced", features.class_counts, beta=beta)
    _train_on_features([weight, bias], lambda h: h @ weight.T + bias, features.train,
                       features.train_labels, loss_fn=loss_fn, sampler_name="instance",
                       epochs=epochs, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                       seed=seed, project=lambda: max_norm_(weight.data, max_norm))
    return LinearClassifier(weight.detach(), bias.detach())


def report(logits: torch.Tensor, labels: torch.Tensor, class_counts, config) -> dict:
    """The fix's test metrics (fractions) and per-class accuracy."""
    full = classification_report(logits, labels, class_counts,
                                 many_threshold=config.many_threshold,
                                 few_threshold=config.few_threshold)
    return {**{name: full[name] for name in METRICS}, "per_class_acc": full["per_class_acc"]}


def _balanced_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """:func:`lt_lab.metrics.balanced_accuracy` of ``argmax logits``: the selection criterion."""
    return metrics.balanced_accuracy(logits.argmax(1), labels, logits.shape[1])


def select_on_validation(candidates: dict, logits_of, features: Features) -> dict:
    """Pick the candidate with the best validation balanced accuracy (ties: the first).

    ``candidates`` maps a hyperparameter value to whatever ``logits_of`` takes. Returns the
    choice and both curves; the test curve is for comparison only, never for choosing.
    """
    values = list(candidates)
    val_curve = [_balanced_accuracy(logits_of(candidates[v], features.val), features.val_labels)
                 for v in values]
    test_curve = [_balanced_accuracy(logits_of(candidates[v], features.test),
                                    features.test_labels) for v in values]
    best = max(range(len(values)), key=lambda i: (val_curve[i], -i))
    peek = max(range(len(values)), key=lambda i: (test_curve[i], -i))
    return {"grid": values, "chosen": values[best], "val_balanced_acc": val_curve,
            "test_balanced_acc": test_curve, "chosen_on_test": values[peek],
            "note": "chosen on the validation split; the test curve is shown for comparison only"}


def apply_fixes(model: nn.Module, data, config, fixes) -> dict:
    """Run the classifier ``fixes`` on ``model``'s frozen features; JSON-ready results.

    Always includes ``"joint"``: the trained classifier itself, with its per-class weight
    norms, so a chapter can draw norms before and after each fix.
    """
    for name in fixes:
        check_choice("fixes", name, FIXES)
    features = extract(model, data)
    joint = joint_classifier(model)
    counts, seed = features.class_counts, config.seed
    test_labels = features.test_labels

    def evaluate(logits, **extra):
        return {**report(logits, test_labels, counts, config), **extra}

    results = {"joint": evaluate(joint.logits(features.test), weight_norms=joint.weight_norms()),
               "val_per_class": config.val_per_class}
    for name in fixes:
        if name == "crt":
            head = crt(features, lr=config.lr, weight_decay=config.weight_decay,
                       batch_size=config.batch_size, seed=seed)
            results[name] = evaluate(head.logits(features.test), weight_norms=head.weight_norms())
        elif name == "tau_norm":
            candidates = {tau: LinearClassifier(tau_normalise(joint.weight, tau))
                          for tau in TAU_GRID}
            selection = select_on_validation(candidates, lambda c, h: c.logits(h), features)
            head = candidates[selection["chosen"]]
            results[name] = evaluate(head.logits(features.test), tau=selection["chosen"],
                                     selection=selection, weight_norms=head.weight_norms())
        elif name == "lws":
            head, scales = lws(joint, features, lr=config.lr, batch_size=config.batch_size,
                               seed=seed)
            results[name] = evaluate(head.logits(features.test), scales=scales,
                                     weight_norms=head.weight_norms())
        elif name == "ncm":
            logits_of = ncm_classifier(features.train, features.train_labels,
                                       features.num_classes)
            results[name] = evaluate(logits_of(features.test))
        elif name == "wb_maxnorm":
            mean_norm = float(joint.weight.norm(dim=1).mean())
            candidates = {
                factor: weight_balancing_stage2(joint, features, max_norm=factor * mean_norm,
                                                lr=config.lr, batch_size=config.batch_size,
                                                seed=seed)
                for factor in WB_MAX_NORM_FACTORS
            }
            selection = select_on_validation(candidates, lambda c, h: c.logits(h), features)
            head = candidates[selection["chosen"]]
            results[name] = evaluate(head.logits(features.test),
                                     max_norm=selection["chosen"] * mean_norm,
                                     selection=selection, weight_norms=head.weight_norms())
        elif name == "multiplicative_posthoc":
            selection = select_on_validation(
                {tau: tau for tau in TAU_GRID},
                lambda tau, h: multiplicative_adjust(joint.logits(h), counts, tau), features)
            tau = selection["chosen"]
            results[name] = evaluate(multiplicative_adjust(joint.logits(features.test), counts,
                                                           tau),
                                     tau=tau, selection=selection,
                                     weight_norms=joint.weight_norms())
    return results


@register_analysis("classifier_fixes")
class ClassifierFixes(Analysis):
    """After training: the classifier ``fixes`` (names in :data:`FIXES`) on the frozen
    features, each chosen and judged as :func:`apply_fixes` says. Needs the config's
    balanced validation split (``val_per_class > 0``)."""

    def __init__(self, fixes):
        if isinstance(fixes, str) or not isinstance(fixes, (list, tuple)) or not fixes:
            raise ConfigError(f"analyses['classifier_fixes']['fixes']={fixes!r} must be a "
                              f"non-empty list of: {', '.join(FIXES)}")
        for name in fixes:
            check_choice("analyses['classifier_fixes']['fixes']", name, FIXES)
        self.fixes = list(fixes)

    def check(self, config) -> None:
        if not config.val_per_class:
            raise ConfigError("analyses['classifier_fixes'] selects its hyperparameters on a "
                              "balanced validation split: set val_per_class (e.g. 20)")

    def after_fit(self, state) -> None:
        state.extras["classifier_fixes"] = apply_fixes(state.model, state.data, state.config,
                                                       self.fixes)
