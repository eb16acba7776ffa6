"""A run is data: a frozen config, built from a named profile plus overrides.

Every kind of run (classification here; regression and the unconstrained-features
simulator in their families) is a :class:`Config`: a frozen dataclass whose fields have
their constraints declared once (:mod:`lt_lab.constraints`), with named profiles, a
canonical dict form and one key rule.

Profiles are partial configs, not code paths:

* ``smoke`` — seconds a run on a 2-core CPU; for tests (float32, so tests can compare
  hand-computed values);
* ``quick`` — the CPU default: a chapter's grid in minutes, in bf16 (1.5–1.8× float32's
  throughput on a CPU with native bf16; pinned, so a record means the same everywhere);
* ``paper`` — the papers' CIFAR-LT protocol (Cao et al. 2019; Cui et al. 2019): ResNet-32,
  200 epochs, batch 128, SGD lr 0.1 momentum 0.9, weight decay 2e-4, 5 warm-up epochs,
  lr ×0.01 at 80 % and 90 % of training (epochs 160 and 180), bf16. Meant for a GPU.

**The key.** A record is stored under ``config.key()``: 16 hex digits of the SHA-256 of the
canonical JSON of the config's ``kind``, :data:`CACHE_VERSION` and every field that differs
from its default, leaving out ``device`` and ``profile`` (they do not change what is
computed). A field at its default is left out so that adding a field never changes the keys
of stored records. The other side of that rule: changing a field's *default* changes what
old keys mean, so it needs a bump of :data:`CACHE_VERSION` (a test freezes the defaults).

**Schedules** are fractions of training everywhere (``lr_milestones``, a loss's
``drw_start``); warm-up lengths and evaluation intervals are counted in epochs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import ClassVar

from lt_lab import hooks
from lt_lab.constraints import Constraint, Flag, Fractions, Interval, Mapping, Optional, Options
from lt_lab.errors import ConfigError, check_choice
from lt_lab.plugins import Registered
from lt_lab.runtime import DEVICES, PRECISIONS

# The profile name of a config built field by field (``RunConfig()``): its class defaults,
# which are no profile's (20 epochs, fp32, the full data); outside the key, as every profile.
BARE_PROFILE = "custom"

# Bump when a change to lt_lab changes what a given config computes, or a field's default:
# stored records of an older version then miss the cache and are retrained.
CACHE_VERSION = 1

# kind name -> config class, filled by subclassing; the families' kinds load when looked up
KINDS: MutableMapping[str, type[Config]] = Registered("families")


class Config:
    """The base of every kind of run config. Subclasses are frozen dataclasses that set:

    ``kind`` (the record kind, part of the key), ``profiles`` (name -> partial config) and
    ``constraints`` (field -> :class:`~lt_lab.constraints.Constraint`); and may override
    :meth:`check_relations` for rules between fields.
    """

    kind: ClassVar[str] = ""
    profiles: ClassVar[dict[str, dict]] = {}
    constraints: ClassVar[dict[str, Constraint]] = {}
    key_excluded: ClassVar[tuple[str, ...]] = ("device", "profile")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS[cls.kind] = cls

    # -- building ------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def coerce(cls, values: dict) -> dict:
        """Reject unknown fields; turn JSON-ish values (lists, ints for floats) into the
        types the fields hold. Anything else is left for :meth:`validate` to judge."""
        names = cls.field_names()
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(f"unknown {cls.kind} config field(s) {unknown}; allowed: "
                              f"{', '.join(names)}")
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        return {name: _coerce(types[name], value) for name, value in values.items()}

    @classmethod
    def profile_values(cls, profile: str, overrides: dict) -> dict:
        """The values of ``profile`` with ``overrides`` on top (a kind may adjust them)."""
        return {**cls.profiles[profile], **overrides, "profile": profile}

    @classmethod
    def make(cls, profile: str = "quick", **overrides):
        """The ``profile``'s settings, then ``overrides`` on top; validated."""
        check_choice("profile", profile, cls.profiles)
        return cls(**cls.coerce(cls.profile_values(profile, overrides))).validate()

    @classmethod
    def from_dict(cls, values: dict):
        """Rebuild a config from its :meth:`to_dict` form (as stored in a run record)."""
        return cls(**cls.coerce(values)).validate()

    def replace(self, **changes):
        return dataclasses.replace(self, **self.coerce(changes)).validate()

    # -- checking ------------------------------------------------------------------------

    def validate(self):
        """Raise ConfigError naming the first bad parameter; return self when all is well."""
        for name, constraint in self.constraints.items():
            constraint.check(name, getattr(self, name))
        if self.profile != BARE_PROFILE:  # a config built without a profile says so
            check_choice("profile", self.profile, self.profiles)
        self.check_relations()
        return self

    def check_relations(self) -> None:
        """Rules between fields (a subclass's); the single-field ones are ``constraints``."""

    def versions(self) -> dict:
        """Versions of the components this config uses that have changed since version 1
        (e.g. ``{"sampler_version": 2}``): part of the key, so a change to one component
        retrains only the runs that use it, where CACHE_VERSION would retrain them all."""
        return {}

    # -- the record's view ---------------------------------------------------------------

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))  # tuples become lists

    def key(self) -> str:
        """A stable 16-hex-digit hash of what this config computes (the module docstring)."""
        defaults = {f.name: _default(f) for f in dataclasses.fields(self)}
        defaults = json.loads(json.dumps(defaults))
        material = {name: value for name, value in self.to_dict().items()
                    if name not in self.key_excluded and value != defaults[name]}
        material.update(kind=self.kind, cache_version=CACHE_VERSION, **self.versions())
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _as_float(value):
    """An int as a float (where a float field is meant); anything else, or an int too large
    for a float, unchanged (for :meth:`Config.validate` to judge)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return value
    return value


def _coerce(annotation: str, value):
    if "float" in annotation and "tuple" not in annotation:
        return _as_float(value)
    if annotation.startswith("tuple") and isinstance(value, (list, tuple)):
        if "float" in annotation:
            return tuple(_as_float(v) for v in value)
        return tuple(value)
    if annotation.startswith("dict"):
        if value is None:
            return {}
        if isinstance(value, dict):
            try:
                return json.loads(json.dumps(value))  # nested tuples become lists, as stored
            except (TypeError, ValueError):  # not JSON: the Mapping constraint names it
                return value
    return value


def config_from_dict(values: dict, kind: str = "classification") -> Config:
    """Rebuild a config of ``kind`` from its stored dict."""
    check_choice("kind", kind, KINDS)
    return KINDS[kind].from_dict(values)


# ------------------------------------------------------------------------------------------
# Classification runs


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
LR_SCHEDULES = ("step", "cosine", "constant")
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


def _datasets():
    from lt_lab.data.sources import DATASETS

    return DATASETS


def _imbalance_profiles():
    from lt_lab.data.longtail import PROFILES as IMBALANCE_PROFILES

    return IMBALANCE_PROFILES


def _samplers():
    from lt_lab.data.samplers import SAMPLERS

    return SAMPLERS


def _backbones():
    from lt_lab.models import backbone_names

    return backbone_names()


def _heads():
    from lt_lab.models import head_names

    return head_names()


def _losses():
    from lt_lab import losses

    return losses.available()


POSITIVE_INT = Interval(int, 1, None)
NON_NEGATIVE_INT = Interval(int, 0, None)
NON_NEGATIVE = Interval(float, 0, None)
# numpy seeds its generator with an unsigned 32-bit integer.
SEED = Interval(int, 0, 2**32 - 1, why="numpy's seeds are 32-bit")
MOMENTUM = Interval(float, 0, 1, closed="left")
LR_DECAY = Interval(float, 0, 1, closed="right", why="the multiplier at each lr milestone")
BATCH_SIZE = Interval(int, 2, None, why="BatchNorm needs two images a batch")


def check_schedule(config) -> None:
    """Rules between the schedule fields that every trained kind shares: the warm-up ends
    before training does."""
    if config.warmup_epochs >= config.epochs:
        raise ConfigError(f"warmup_epochs={config.warmup_epochs} must be < epochs="
                          f"{config.epochs}: the warm-up would last the whole run")


def check_drw(config) -> None:
    """A loss's deferred re-weighting (``loss_params["drw_start"]``, a fraction of training)
    must switch on before the last epoch ends: at epoch ``round(drw_start · epochs)`` <
    ``epochs``."""
    start = config.loss_params.get("drw_start")
    if start is None or isinstance(start, bool) or not isinstance(start, (int, float)):
        return  # the loss itself checks its type
    epoch = round(start * config.epochs)
    if epoch >= config.epochs:
        latest = (config.epochs - 1) / config.epochs
        raise ConfigError(f"loss_params['drw_start']={start!r} switches the class weights on "
                          f"at epoch {epoch} of epochs={config.epochs}: never. Use drw_start "
                          f"<= {latest:.3g}, or more epochs")


def check_views(config, loss) -> None:
    """A loss that takes several augmented views of each image (``takes_views`` > 1) needs
    ``augment=True``: without augmentation its views would be one image repeated."""
    views = getattr(loss, "takes_views", 1)
    if views > 1 and not config.augment:
        raise ConfigError(f"augment=False, but loss={config.loss!r} takes {views} augmented "
                          "views of each image, which would then be the same image; use "
                          "augment=True, or a loss with one view")


def check_experts(config, loss) -> None:
    """A loss that reads several experts' logits (``takes_experts``, SADE) needs a head that
    gives them (``outputs_experts``), and such a head needs such a loss."""
    from lt_lab.models import head_class

    experts_head = getattr(head_class(config.head), "outputs_experts", False)
    if getattr(loss, "takes_experts", False) and not experts_head:
        raise ConfigError(f"loss={config.loss!r} reads several experts' logits, but "
                          f"head={config.head!r} gives one head's; use head='experts'")
    if experts_head and not getattr(loss, "takes_experts", False):
        raise ConfigError(f"head={config.head!r} gives several experts' logits, but "
                          f"loss={config.loss!r} reads one head's; use loss='sade', or "
                          "another head")


def as_config_error(field: str, check, *args, **kwargs):
    """Call ``check``; a ConfigError that does not name ``field`` gets it as a prefix, and a
    TypeError/ValueError/OverflowError (a value a constructor could not take) becomes one."""
    try:
        return check(*args, **kwargs)
    except ConfigError as error:
        if field in str(error):
            raise
        raise ConfigError(f"{field}: {error}") from None
    except (TypeError, ValueError, OverflowError, ArithmeticError) as error:
        raise ConfigError(f"{field}: {type(error).__name__}: {error}") from None


@dataclass(frozen=True)
class RunConfig(Config):
    """Everything that decides what one classification training run computes."""

    dataset: str = "fashion_mnist"
    imbalance_ratio: float = 100.0
    imbalance_profile: str = "exp"
    n_max: int | None = None  # None: the dataset's full per-class size
    class_order: str = "default"
    subset_seed: int = 0  # which images form the long-tailed subset (LDAM fixes it to 0)
    test_per_class: int | None = None  # None: the whole (balanced) test set
    # A balanced validation split of this many images per class, drawn from the source's
    # training images left out of the subset (0: none). Analyses that select a
    # hyperparameter (chapter 3's classifier fixes) select it there, never on the test set.
    val_per_class: int = 0
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
    lr_milestones: tuple[float, ...] = (0.8, 0.9)  # fractions of training
    lr_decay: float = 0.01  # multiplier applied at each milestone
    augment: bool = True
    # Hasegawa & Sato 2024: (lambda / 2) * mean ||h||^2 added to the loss, h the features.
    feature_norm_penalty: float = 0.0
    # Kini et al. 2024's batch-binding: one fixed training example of each class appended to
    # every training batch (lt_lab.beyond.batch_binding, looked up in
    # lt_lab.data.samplers.BOUND_SETS). Off: outside the key, as every field at its default.
    batch_binding: bool = False
    many_threshold: int = 100  # shot groups: many > 100 training images, few < 20
    few_threshold: int = 20
    eval_every: int = 5  # epochs between test evaluations (the last epoch always is one)
    # What else the run computes, by name (:mod:`lt_lab.hooks`): e.g.
    # {"posthoc": {"taus": [0.0, 1.0]}, "collapse": {"every": 3},
    #  "classifier_fixes": {"fixes": ["crt", "tau_norm"]}}. Results land in the record's
    # extras under the same names.
    analyses: dict = field(default_factory=dict)
    # torch.compile the backbone for training, with this mode (evaluation stays eager). A GPU
    # speed-up: at batch 128 a ResNet-32 step is bound by kernel launches, which
    # "reduce-overhead" (CUDA graphs) removes. Part of the key: compiled kernels round
    # differently.
    compile: str = "off"
    # Autocast precision of training and evaluation (lt_lab.runtime.resolve_precision):
    # "fp32", "bf16", "fp16" (GPUs, with a gradient scaler) or "auto" (the device's fastest).
    # Profiles pin it, so a record means the same on every machine; the record states the
    # resolved one. Part of the key.
    precision: str = "fp32"
    # Trained in a pack of up to this many runs as one batched model (lt_lab.pack: grouped
    # convolutions; run_grid(..., pack=K)); 1: alone. Part of the key: packed kernels round
    # differently. The record says which member of how large a pack it was.
    pack: int = 1
    # CPU threads the run computes with (lt_lab.runtime.threads); None: the process's count
    # (torch's default, or a grid worker's share of the cores), which the record states in
    # hardware.threads. A CPU's kernels split work by thread count, and the split changes the
    # rounding, so a pinned count is part of the key and makes the record bit-identical on one
    # machine whether the run trained alone or in a grid of any width (lt_lab.grid).
    threads: int | None = None
    seed: int = 0  # model initialisation, sampling and augmentation
    profile: str = BARE_PROFILE  # make_config(profile) names it; not in the key
    device: str = "auto"

    kind: ClassVar[str] = "classification"
    # What every record must hold besides the common fields (the store skips, with a report,
    # a record without them); readers tolerate the absence of the others.
    record_fields: ClassVar[tuple[str, ...]] = ("metrics.acc",)
    profiles: ClassVar[dict[str, dict]] = {
        # Its schedule points fall inside its two epochs (lr_milestones are unused by its
        # cosine schedule, but a loss's DRW starting at the first one switches on at epoch 1).
        "smoke": dict(
            model="small_cnn", n_max=200, test_per_class=50, epochs=2, lr=0.05,
            warmup_epochs=0, lr_schedule="cosine", lr_milestones=(0.5, 0.75), eval_every=1,
        ),
        "quick": dict(
            model="small_cnn", n_max=1000, test_per_class=500, epochs=16, lr=0.05,
            weight_decay=5e-4, warmup_epochs=1, lr_schedule="step", lr_milestones=(0.75, 0.9),
            eval_every=4, precision="bf16",
        ),
        # The papers' schedule (Cao et al. 2019: 200 epochs, 5 warm-up, lr 0.1, x0.01 at
        # 80 % and 90 %, weight decay 2e-4) on the quick data and network: the second column
        # of evidence for schedule-sensitive claims.
        "long": dict(
            model="small_cnn", n_max=1000, test_per_class=500, epochs=200, batch_size=128,
            lr=0.1, weight_decay=2e-4, warmup_epochs=5, lr_schedule="step",
            lr_milestones=(0.8, 0.9), lr_decay=0.01, eval_every=10, precision="bf16",
        ),
        "paper": dict(
            model="resnet32", n_max=None, test_per_class=None, epochs=200, batch_size=128,
            lr=0.1, weight_decay=2e-4, warmup_epochs=5, lr_schedule="step",
            lr_milestones=(0.8, 0.9), lr_decay=0.01, eval_every=10, precision="bf16",
        ),
    }
    constraints: ClassVar[dict[str, Constraint]] = {
        "dataset": Options(_datasets),
        "imbalance_ratio": Interval(float, 1, None),
        "imbalance_profile": Options(_imbalance_profiles),
        "n_max": Optional(POSITIVE_INT),
        "subset_seed": SEED,
        "test_per_class": Optional(POSITIVE_INT),
        "val_per_class": NON_NEGATIVE_INT,
        "model": Options(_backbones),
        "head": Options(_heads),
        "loss": Options(_losses),
        "loss_params": Mapping(),
        "sampler": Options(_samplers),
        "epochs": POSITIVE_INT,
        "batch_size": BATCH_SIZE,
        "lr": Interval(float, 0, None, closed="neither"),
        "momentum": MOMENTUM,
        "weight_decay": NON_NEGATIVE,
        "warmup_epochs": NON_NEGATIVE_INT,
        "lr_schedule": Options(LR_SCHEDULES),
        "lr_milestones": Fractions(),
        "lr_decay": LR_DECAY,
        "augment": Flag(),
        "feature_norm_penalty": NON_NEGATIVE,
        "batch_binding": Flag(),
        "many_threshold": NON_NEGATIVE_INT,
        "few_threshold": NON_NEGATIVE_INT,
        "eval_every": POSITIVE_INT,
        "analyses": Mapping(),
        "compile": Options(COMPILE_MODES),
        "precision": Options(PRECISIONS),
        "pack": POSITIVE_INT,
        "threads": Optional(POSITIVE_INT),
        "seed": SEED,
        "device": Options(DEVICES),
    }

    def check_relations(self) -> None:
        from lt_lab.data.longtail import class_order_names
        from lt_lab.losses import build

        check_choice("class_order", self.class_order, class_order_names(self.dataset))
        if self.n_max is not None and self.n_max > self.recipe.n_max:
            raise ConfigError(f"n_max={self.n_max} is more than the {self.recipe.n_max} "
                              f"training images a class of dataset={self.dataset!r} has")
        check_schedule(self)
        loss = as_config_error("loss_params", build, self.loss, None, **self.loss_params)
        check_views(self, loss)
        check_experts(self, loss)
        check_drw(self)
        as_config_error("analyses", hooks.check_analyses, self)

    def versions(self) -> dict:
        from lt_lab.data.samplers import SAMPLER_VERSIONS

        version = SAMPLER_VERSIONS.get(self.sampler, 1)
        return {"sampler_version": version} if version != 1 else {}

    @property
    def recipe(self) -> DatasetRecipe:
        return DATASET_RECIPES[self.dataset]


PROFILES = RunConfig.profiles
FIELDS = RunConfig.field_names()


def make_config(profile: str = "quick", **overrides) -> RunConfig:
    """The ``profile``'s settings, then ``overrides`` on top; validated."""
    return RunConfig.make(profile, **overrides)
