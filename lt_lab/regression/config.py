"""``RegressionConfig``: everything that decides what one imbalanced-regression run computes.

Profiles (partial configs, like :data:`lt_lab.config.PROFILES`):

* ``smoke`` — seconds: RotFMNIST-DIR with n_max=40 (≈ 400 images), MLP, 2 epochs;
* ``quick`` — the CPU default: n_max=300 (2,444 images at ρ=100), 40 test images per bin
  (1,800), the MLP 784-512-512 of :mod:`lt_lab.models` (one thread: a few seconds a run),
  20 epochs, batch 128, Adam lr 1e-3 ×0.1 at 2/3 and 8/9 of training, bf16 autocast;
* ``paper`` — DIR's AgeDB-DIR / IMDB-WIKI-DIR protocol as far as lt_lab's backbones go:
  L1, Adam lr 1e-3, batch 256, 90 epochs, lr ×0.1 at epochs 60 and 80 (DIR), but a CIFAR
  ResNet-32 on 64×64 faces instead of DIR's ResNet-50 at 224×224 (documented deviation).
  On RotFMNIST-DIR the paper profile uses n_max=3,000 and 200 test images per bin. bf16.

``imbalance_ratio`` is ρ = n_0 / n_{B−1}, the largest over the smallest bin count of the
exponential envelope of the training label histogram (see :mod:`lt_lab.regression.data`);
it must be ``None`` for AgeDB-DIR and IMDB-WIKI-DIR, whose skew is their natural one.

The key follows the rule of :class:`lt_lab.config.Config` with ``kind="regression"``, so
keys never collide with the classification runs of :class:`lt_lab.config.RunConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from lt_lab.config import BATCH_SIZE, LR_DECAY, SEED, Config, as_config_error, check_schedule
from lt_lab.constraints import Constraint, Flag, Fractions, Interval, Mapping, Optional, Options
from lt_lab.errors import ConfigError
from lt_lab.runtime import DEVICES, PRECISIONS

KIND = "regression"


def _datasets():
    from lt_lab.regression.data import DATASETS

    return DATASETS


def _label_profiles():
    from lt_lab.regression.data import LABEL_PROFILES

    return LABEL_PROFILES


def _backbones():
    from lt_lab.models import BACKBONES

    return BACKBONES


def _reweights():
    from lt_lab.regression.lds import REWEIGHTS

    return REWEIGHTS


def _kernels():
    from lt_lab.regression.lds import KERNELS

    return KERNELS


def _losses():
    from lt_lab.regression.losses import available

    return available()


POSITIVE_INT = Interval(int, 1, None)
NON_NEGATIVE = Interval(float, 0, None)


@dataclass(frozen=True)
class RegressionConfig(Config):
    """One imbalanced-regression training run."""

    dataset: str = "rotated_fashion_mnist"
    imbalance_ratio: float | None = 100.0
    label_profile: str = "exp_dips"
    n_max: int | None = None  # training samples in the fullest bin; None: the profile's
    test_per_bin: int | None = None
    subset_seed: int = 0  # which images and angles form the data set
    image_size: int = 64  # faces only
    model: str = "mlp"
    loss: str = "mse"  # "mse", "l1", "balanced_mse"
    loss_params: dict = field(default_factory=dict)
    reweight: str = "none"  # "none", "inverse", "sqrt_inv" (DIR)
    lds: bool = False
    lds_kernel: str = "gaussian"
    lds_ks: int = 5
    lds_sigma: float = 2.0
    fds: bool = False
    fds_kernel: str = "gaussian"
    fds_ks: int = 5
    fds_sigma: float = 2.0
    fds_momentum: float = 0.9
    fds_start_update: int = 0
    fds_start_smooth: int = 1
    cls_weight: float = 0.0  # Pintea et al.: weight of the equalised-bin classification loss
    cls_classes: int = 10
    ranksim_gamma: float = 0.0  # RankSim's loss weight gamma (Gong et al.: 100); 0 is off
    ranksim_lambda: float = 2.0  # RankSim's interpolation lambda
    # Balanced MSE's second stage (Ren et al.; :mod:`lt_lab.regression.retrain`): after
    # training, the regressor alone retrained on the frozen backbone with this loss, e.g.
    # two_stage_recipe("bmc"). Empty: one stage (and the key of every earlier run unchanged).
    retrain: dict = field(default_factory=dict)
    augment: bool = False
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_milestones: tuple[float, ...] = (2 / 3, 8 / 9)  # fractions of `epochs` (DIR: 60, 80 of 90)
    lr_decay: float = 0.1
    lr_schedule: str = "step"  # DIR's schedule; the shared loop also knows "cosine", "constant"
    warmup_epochs: int = 0
    eval_every: int = 2
    many_threshold: int = 100
    few_threshold: int = 20
    precision: str = "fp32"  # autocast of training and evaluation (lt_lab.runtime)
    # CPU threads (as lt_lab.config.RunConfig.threads); None: one for the MLP, whose small
    # layers lose more to thread synchronisation than they gain, else the process's count.
    threads: int | None = None
    seed: int = 0
    profile: str = "quick"
    device: str = "auto"

    kind: ClassVar[str] = KIND
    record_fields: ClassVar[tuple[str, ...]] = ("per_bin", "bins", "metrics.mae")
    constraints: ClassVar[dict[str, Constraint]] = {
        "dataset": Options(_datasets),
        "label_profile": Options(_label_profiles),
        "n_max": Optional(POSITIVE_INT),
        "test_per_bin": Optional(POSITIVE_INT),
        "subset_seed": SEED,
        "image_size": POSITIVE_INT,
        "model": Options(_backbones),
        "loss": Options(_losses),
        "loss_params": Mapping(),
        "reweight": Options(_reweights),
        "lds": Flag(),
        "lds_kernel": Options(_kernels),
        "lds_ks": POSITIVE_INT,
        "lds_sigma": Interval(float, 0, None, closed="neither"),
        "fds": Flag(),
        "fds_kernel": Options(_kernels),
        "fds_ks": POSITIVE_INT,
        "fds_sigma": Interval(float, 0, None, closed="neither"),
        "fds_momentum": Interval(float, 0, 1, closed="left"),
        "fds_start_update": Interval(int, 0, None),
        "fds_start_smooth": Interval(int, 0, None),
        "cls_weight": NON_NEGATIVE,
        "cls_classes": Interval(int, 2, None),
        "ranksim_gamma": NON_NEGATIVE,
        "ranksim_lambda": Interval(float, 0, None, closed="neither"),
        "retrain": Mapping(),
        "augment": Flag(),
        "epochs": POSITIVE_INT,
        "batch_size": BATCH_SIZE,  # BatchNorm, Balanced MSE's BMC
        "lr": Interval(float, 0, None, closed="neither"),
        "weight_decay": NON_NEGATIVE,
        "lr_milestones": Fractions(),
        "lr_decay": LR_DECAY,
        "lr_schedule": Options(("step", "cosine", "constant")),
        "warmup_epochs": Interval(int, 0, None),
        "eval_every": POSITIVE_INT,
        "many_threshold": Interval(int, 0, None),
        "few_threshold": Interval(int, 0, None),
        "seed": SEED,
        "precision": Options(PRECISIONS),
        "threads": Optional(POSITIVE_INT),
        "device": Options(DEVICES),
    }

    def check_relations(self) -> None:
        from lt_lab.regression.data import BINS, SKEWED
        from lt_lab.regression.losses import build

        if self.dataset in SKEWED:
            if self.imbalance_ratio is None:
                raise ConfigError(f"imbalance_ratio must be a number >= 1 for "
                                  f"dataset={self.dataset!r}")
            Interval(float, 1, None).check("imbalance_ratio", self.imbalance_ratio)
        elif self.imbalance_ratio is not None:
            raise ConfigError(f"imbalance_ratio={self.imbalance_ratio!r}: dataset="
                              f"{self.dataset!r} keeps its natural label skew; set "
                              "imbalance_ratio=None")
        check_schedule(self)
        bins = BINS[self.dataset].num_bins
        if self.cls_classes > bins:
            raise ConfigError(f"cls_classes={self.cls_classes} must be <= the {bins} label bins "
                              f"of dataset={self.dataset!r}")
        as_config_error("loss_params", build, self.loss, None, **self.loss_params)
        if self.retrain:
            from lt_lab.regression.retrain import check_retrain

            as_config_error("retrain", check_retrain, self.retrain)
        if self.loss == "balanced_mse" and (self.reweight != "none" or self.lds):
            raise ConfigError("loss='balanced_mse' already balances; use reweight='none', "
                              "lds=False")
        if self.lds and self.reweight == "none":
            raise ConfigError("lds=True smooths the reweighting; choose reweight='inverse' or "
                              "'sqrt_inv'")
        for prefix in ("lds", "fds"):
            ks = getattr(self, f"{prefix}_ks")
            if not (isinstance(ks, int) and ks >= 1 and ks % 2 == 1):
                raise ConfigError(f"{prefix}_ks={ks!r} must be an odd integer >= 1")

    @classmethod
    def profile_values(cls, profile: str, overrides: dict) -> dict:
        """The profile's settings, its data-set sizes for the data sets built here, then the
        overrides; the natural data sets get ``imbalance_ratio=None`` unless told."""
        from lt_lab.regression.data import SKEWED

        values = {**PROFILES[profile], **overrides, "profile": profile}
        if values.get("dataset", RegressionConfig.dataset) in SKEWED:
            values = {**DATASET_DEFAULTS[profile], **values}
        elif "imbalance_ratio" not in overrides:
            values["imbalance_ratio"] = None
        return values


DATASET_DEFAULTS = {  # n_max, test_per_bin per profile for the data sets built here
    "smoke": dict(n_max=40, test_per_bin=5),
    "quick": dict(n_max=300, test_per_bin=40),
    "paper": dict(n_max=3000, test_per_bin=200),
}

PROFILES: dict[str, dict] = {
    "smoke": dict(model="mlp", epochs=2, batch_size=64, eval_every=1),
    "quick": dict(model="mlp", epochs=20, batch_size=128, eval_every=2, precision="bf16"),
    "paper": dict(model="resnet32", loss="l1", epochs=90, batch_size=256, lr=1e-3,
                  lr_milestones=(60 / 90, 80 / 90), augment=True, eval_every=10,
                  precision="bf16"),
}

RegressionConfig.profiles = PROFILES
FIELDS = RegressionConfig.field_names()


def make_regression_config(profile: str = "quick", **overrides) -> RegressionConfig:
    """The profile's settings (and its data-set sizes), then ``overrides``; validated."""
    return RegressionConfig.make(profile, **overrides)


def regression_config_from_dict(values: dict) -> RegressionConfig:
    """Rebuild a config from its ``to_dict()`` form (as stored in a run record)."""
    return RegressionConfig.from_dict(values)
