"""A run is data: one ``RunConfig``, built from a named profile plus overrides.

Profiles are partial configs, not code paths:

* ``smoke`` — seconds a run on a 2-core CPU; for tests;
* ``quick`` — the CPU default: a chapter's grid in minutes;
* ``paper`` — the papers' CIFAR-LT protocol (Cao et al. 2019; Cui et al. 2019): ResNet-32,
  200 epochs, batch 128, SGD lr 0.1 momentum 0.9, weight decay 2e-4, 5 warm-up epochs,
  lr ×0.01 at epoch 160 and ×0.0001 at 180. Meant for a GPU.

The canonical JSON of a config (without ``device``, ``profile``: they do not change what is
computed) plus :data:`CACHE_VERSION` is the key of its run record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from lt_lab.errors import ConfigError, check_choice, check_positive

# Bump when a change to lt_lab changes what a given config computes: stored records with an
# older version then miss the cache and are retrained.
CACHE_VERSION = 1

LR_SCHEDULES = ("step", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune-no-cudagraphs")
KEY_EXCLUDED = ("device", "profile")
# Features added after records were first stored: left out of the key while at their default
# ("off"), so adding one never invalidates the records of configs that do not use it.
KEY_OMITTED_AT_DEFAULT = ("posthoc_taus", "collapse_every", "classifier_fixes",
                          "val_per_class", "feature_norm_penalty", "compile")


@dataclass(frozen=True)
class DatasetRecipe:
    """How a source is normalised and augmented, and its full per-class training size."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_padding: int
    flip: bool
    n_max: int


# Means and standard deviations of the training pixels in [0, 1]; CIFAR-10's are the values
# in the LDAM/CB code. Fashion-MNIST is flipped: clothes are left-right symmetric, digits not.
DATASET_RECIPES = {
    "fashion_mnist": DatasetRecipe((0.2860,), (0.3530,), 2, True, 6000),
    "cifar10": DatasetRecipe((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010), 4, True, 5000),
    "cifar100": DatasetRecipe((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), 4, True, 500),
    "digits": DatasetRecipe((0.3050,), (0.3760,), 1, False, 130),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what one training run computes."""

    dataset: str = "fashion_mnist"
    imbalance_ratio: float = 100.0
    imbalance_profile: str = "exp"
    n_max: int | None = None  # None: the dataset's full per-class size
    class_order: str = "default"
    subset_seed: int = 0  # which images form the long-tailed subset (LDAM fixes it to 0)
    test_per_class: int | None = None  # None: the whole (balanced) test set
    model: str = "small_cnn"
    head: str = "linear"
    loss: str = "ce"
    loss_params: dict = field(default_factory=dict)
    sampler: str = "instance"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 2e-4
    warmup_epochs: int = 5
    lr_schedule: str = "step"
    lr_milestones: tuple[float, ...] = (0.8, 0.9)  # fractions of `epochs`
    lr_decay: float = 0.01  # multiplier applied at each milestone
    augment: bool = True
    many_threshold: int = 100  # shot groups: many > 100 training images, few < 20
    few_threshold: int = 20
    eval_every: int = 5  # epochs between test evaluations (the last epoch always is one)
    # Post-hoc logit adjustment at the last epoch (Menon et al. 2021): also report the metrics
    # of argmax(z - tau log pi) for each tau; tau=1 is Buda et al.'s prior thresholding.
    posthoc_taus: tuple[float, ...] = ()
    # Neural-collapse metrics (lt_lab.collapse) every `collapse_every` epochs and at the last;
    # 0 is off.
    collapse_every: int = 0
    # Classifier fixes on the trained representation (lt_lab.decouple: "crt", "tau_norm",
    # "lws", "ncm", "wb_maxnorm", "multiplicative_posthoc"), run after the last epoch.
    classifier_fixes: tuple[str, ...] = ()
    # Images per class of the balanced validation split that the fixes select their
    # hyperparameters on, drawn from the source's training images left out of the subset.
    val_per_class: int = 20
    # Hasegawa & Sato 2024: (lambda / 2) * mean ||h||^2 added to the loss, h the features.
    feature_norm_penalty: float = 0.0
    # torch.compile the backbone for training, with this mode (evaluation stays eager). A GPU
    # speed-up: at batch 128 a ResNet-32 step is bound by kernel launches, which
    # "reduce-overhead" (CUDA graphs) removes. Part of the key: compiled kernels round
    # differently.
    compile: str = "off"
    seed: int = 0  # model initialisation, sampling and augmentation
    profile: str = "quick"
    device: str = "auto"

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first bad parameter; return self when all is well."""
        from lt_lab.data.longtail import PROFILES as IMBALANCE_PROFILES
        from lt_lab.data.longtail import class_order_names
        from lt_lab.data.samplers import SAMPLERS
        from lt_lab.data.sources import DATASETS
        from lt_lab.losses import build
        from lt_lab.models import BACKBONES, HEADS

        check_choice("dataset", self.dataset, DATASETS)
        check_positive("imbalance_ratio", self.imbalance_ratio, minimum=1, inclusive=True)
        check_choice("imbalance_profile", self.imbalance_profile, IMBALANCE_PROFILES)
        if self.n_max is not None:
            check_positive("n_max", self.n_max, minimum=1, inclusive=True)
        check_choice("class_order", self.class_order, class_order_names(self.dataset))
        if self.test_per_class is not None:
            check_positive("test_per_class", self.test_per_class, minimum=1, inclusive=True)
        check_choice("model", self.model, BACKBONES)
        check_choice("head", self.head, HEADS)
        build(self.loss, None, **self.loss_params)  # names and parameters
        check_choice("sampler", self.sampler, SAMPLERS)
        for name in ("epochs", "batch_size", "eval_every"):
            check_positive(name, getattr(self, name), minimum=1, inclusive=True)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, inclusive=True)
        check_positive("warmup_epochs", self.warmup_epochs, inclusive=True)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if any(not 0 < m <= 1 for m in self.lr_milestones):
            raise ConfigError(
                f"lr_milestones={self.lr_milestones} must be fractions of the epochs in (0, 1]"
            )
        check_positive("collapse_every", self.collapse_every, inclusive=True)
        from lt_lab.decouple import FIXES

        for name in self.classifier_fixes:
            check_choice("classifier_fixes", name, FIXES)
        check_positive("val_per_class", self.val_per_class, minimum=1, inclusive=True)
        check_positive("feature_norm_penalty", self.feature_norm_penalty, inclusive=True)
        check_choice("compile", self.compile, COMPILE_MODES)
        check_choice("profile", self.profile, PROFILES)
        check_choice("device", self.device, DEVICES)
        return self

    @property
    def recipe(self) -> DatasetRecipe:
        return DATASET_RECIPES[self.dataset]

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["lr_milestones"] = list(self.lr_milestones)
        out["posthoc_taus"] = list(self.posthoc_taus)
        out["classifier_fixes"] = list(self.classifier_fixes)
        return out

    def key(self) -> str:
        """A stable 16-hex-digit hash of what this config computes."""
        defaults = RunConfig().to_dict()
        material = {k: v for k, v in self.to_dict().items() if k not in KEY_EXCLUDED
                    and not (k in KEY_OMITTED_AT_DEFAULT and v == defaults[k])}
        material["cache_version"] = CACHE_VERSION
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **_coerce(changes)).validate()


PROFILES: dict[str, dict] = {
    "smoke": dict(
        model="small_cnn", n_max=200, test_per_class=50, epochs=2, lr=0.05,
        warmup_epochs=0, lr_schedule="cosine", eval_every=1,
    ),
    "quick": dict(
        model="small_cnn", n_max=1000, test_per_class=500, epochs=16, lr=0.05,
        weight_decay=5e-4, warmup_epochs=1, lr_schedule="step", lr_milestones=(0.75, 0.9),
        eval_every=4,
    ),
    "paper": dict(
        model="resnet32", n_max=None, test_per_class=None, epochs=200, batch_size=128, lr=0.1,
        weight_decay=2e-4, warmup_epochs=5, lr_schedule="step", lr_milestones=(0.8, 0.9),
        lr_decay=0.01, eval_every=10,
    ),
}

FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


def _coerce(values: dict) -> dict:
    """Reject unknown fields; make JSON-ish values (lists) the types RunConfig holds."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; allowed: {', '.join(FIELDS)}")
    out = dict(values)
    if "lr_milestones" in out:
        out["lr_milestones"] = tuple(float(m) for m in out["lr_milestones"])
    if "posthoc_taus" in out:
        out["posthoc_taus"] = tuple(float(t) for t in out["posthoc_taus"])
    if "classifier_fixes" in out:
        out["classifier_fixes"] = tuple(str(name) for name in out["classifier_fixes"])
    if "imbalance_ratio" in out:
        out["imbalance_ratio"] = float(out["imbalance_ratio"])
    if "loss_params" in out:
        out["loss_params"] = dict(out["loss_params"] or {})
    return out


def make_config(profile: str = "quick", **overrides) -> RunConfig:
    """The ``profile``'s settings, then ``overrides`` on top; validated."""
    check_choice("profile", profile, PROFILES)
    values = {**PROFILES[profile], **overrides, "profile": profile}
    return RunConfig(**_coerce(values)).validate()


def config_from_dict(values: dict) -> RunConfig:
    """Rebuild a config from its ``to_dict()`` form (as stored in a run record)."""
    return RunConfig(**_coerce(values)).validate()
