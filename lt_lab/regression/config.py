"""``RegressionConfig``: everything that decides what one imbalanced-regression run computes.

Profiles (partial configs, like :data:`lt_lab.config.PROFILES`):

* ``smoke`` — seconds: RotFMNIST-DIR with n_max=40 (≈ 400 images), MLP, 2 epochs;
* ``quick`` — the CPU default: n_max=300 (2,444 images at ρ=100), 40 test images per bin
  (1,800), the MLP 784-512-512 of :mod:`lt_lab.models` (one thread: a few seconds a run),
  20 epochs, batch 128, Adam lr 1e-3 ×0.1 at 2/3 and 8/9 of training;
* ``paper`` — DIR's AgeDB-DIR / IMDB-WIKI-DIR protocol as far as lt_lab's backbones go:
  L1, Adam lr 1e-3, batch 256, 90 epochs, lr ×0.1 at epochs 60 and 80 (DIR), but a CIFAR
  ResNet-32 on 64×64 faces instead of DIR's ResNet-50 at 224×224 (documented deviation).
  On RotFMNIST-DIR the paper profile uses n_max=3,000 and 200 test images per bin.

``imbalance_ratio`` is ρ = n_0 / n_{B−1}, the largest over the smallest bin count of the
exponential envelope of the training label histogram (see :mod:`lt_lab.regression.data`);
it must be ``None`` for AgeDB-DIR and IMDB-WIKI-DIR, whose skew is their natural one.

The canonical JSON of the config (without ``device`` and ``profile``) plus ``"kind":
"regression"`` and :data:`CACHE_VERSION` is the record key, so keys never collide with the
classification runs of :class:`lt_lab.config.RunConfig`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from lt_lab.config import DEVICES
from lt_lab.errors import ConfigError, check_choice, check_positive

KIND = "regression"
CACHE_VERSION = 1
KEY_EXCLUDED = ("device", "profile")


@dataclass(frozen=True)
class RegressionConfig:
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
    ranksim_weight: float = 0.0  # RankSim's gamma (paper: 100); 0 is off
    ranksim_lambda: float = 2.0  # RankSim's interpolation lambda
    augment: bool = False
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_milestones: tuple[float, ...] = (2 / 3, 8 / 9)  # fractions of `epochs` (DIR: 60, 80 of 90)
    lr_decay: float = 0.1
    eval_every: int = 2
    many_threshold: int = 100
    few_threshold: int = 20
    seed: int = 0
    profile: str = "quick"
    device: str = "auto"

    def validate(self) -> RegressionConfig:
        from lt_lab.models import BACKBONES
        from lt_lab.regression.data import DATASETS, LABEL_PROFILES, SKEWED
        from lt_lab.regression.lds import KERNELS, REWEIGHTS
        from lt_lab.regression.losses import build

        check_choice("dataset", self.dataset, DATASETS)
        if self.dataset in SKEWED:
            if self.imbalance_ratio is None:
                raise ConfigError(f"imbalance_ratio must be a number >= 1 for {self.dataset}")
            check_positive("imbalance_ratio", self.imbalance_ratio, minimum=1, inclusive=True)
        elif self.imbalance_ratio is not None:
            raise ConfigError(f"imbalance_ratio={self.imbalance_ratio!r}: {self.dataset} keeps "
                              "its natural label skew; set imbalance_ratio=None")
        check_choice("label_profile", self.label_profile, LABEL_PROFILES)
        for name in ("n_max", "test_per_bin"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name), minimum=1, inclusive=True)
        check_choice("model", self.model, BACKBONES)
        build(self.loss, None, **self.loss_params)
        check_choice("reweight", self.reweight, REWEIGHTS)
        if self.loss == "balanced_mse" and (self.reweight != "none" or self.lds):
            raise ConfigError("loss='balanced_mse' already balances; use reweight='none', "
                              "lds=False")
        if self.lds and self.reweight == "none":
            raise ConfigError("lds=True smooths the reweighting; choose reweight='inverse' or "
                              "'sqrt_inv'")
        for prefix in ("lds", "fds"):
            check_choice(f"{prefix}_kernel", getattr(self, f"{prefix}_kernel"), KERNELS)
            ks = getattr(self, f"{prefix}_ks")
            if not (isinstance(ks, int) and ks >= 1 and ks % 2 == 1):
                raise ConfigError(f"{prefix}_ks={ks!r} must be an odd integer >= 1")
            check_positive(f"{prefix}_sigma", getattr(self, f"{prefix}_sigma"))
        if not 0 <= self.fds_momentum < 1:
            raise ConfigError(f"fds_momentum={self.fds_momentum!r} must be in [0, 1)")
        for name in ("fds_start_update", "fds_start_smooth", "cls_weight", "ranksim_weight",
                     "weight_decay"):
            check_positive(name, getattr(self, name), inclusive=True)
        check_positive("cls_classes", self.cls_classes, minimum=2, inclusive=True)
        check_positive("ranksim_lambda", self.ranksim_lambda)
        for name in ("epochs", "batch_size", "eval_every", "image_size"):
            check_positive(name, getattr(self, name), minimum=1, inclusive=True)
        if self.batch_size < 2:
            raise ConfigError("batch_size must be >= 2 (BatchNorm, Balanced MSE's BMC)")
        check_positive("lr", self.lr)
        if any(not 0 < m <= 1 for m in self.lr_milestones):
            raise ConfigError(f"lr_milestones={self.lr_milestones} must be fractions in (0, 1]")
        check_choice("profile", self.profile, PROFILES)
        check_choice("device", self.device, DEVICES)
        return self

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["lr_milestones"] = list(self.lr_milestones)
        return out

    def key(self) -> str:
        """16 hex digits of the hash of what this run computes (kind included)."""
        material = {k: v for k, v in self.to_dict().items() if k not in KEY_EXCLUDED}
        material.update(kind=KIND, cache_version=CACHE_VERSION)
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def replace(self, **changes) -> RegressionConfig:
        return dataclasses.replace(self, **_coerce(changes)).validate()


DATASET_DEFAULTS = {  # n_max, test_per_bin per profile for the data sets built here
    "smoke": dict(n_max=40, test_per_bin=5),
    "quick": dict(n_max=300, test_per_bin=40),
    "paper": dict(n_max=3000, test_per_bin=200),
}

PROFILES: dict[str, dict] = {
    "smoke": dict(model="mlp", epochs=2, batch_size=64, eval_every=1),
    "quick": dict(model="mlp", epochs=20, batch_size=128, eval_every=2),
    "paper": dict(model="resnet32", loss="l1", epochs=90, batch_size=256, lr=1e-3,
                  lr_milestones=(60 / 90, 80 / 90), augment=True, eval_every=10),
}

FIELDS = tuple(f.name for f in dataclasses.fields(RegressionConfig))


def _coerce(values: dict) -> dict:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown regression config field(s) {unknown}; allowed: "
                          f"{', '.join(FIELDS)}")
    out = dict(values)
    if "lr_milestones" in out:
        out["lr_milestones"] = tuple(float(m) for m in out["lr_milestones"])
    if out.get("imbalance_ratio") is not None:
        out["imbalance_ratio"] = float(out["imbalance_ratio"])
    if "loss_params" in out:
        out["loss_params"] = dict(out["loss_params"] or {})
    return out


def make_regression_config(profile: str = "quick", **overrides) -> RegressionConfig:
    """The profile's settings (and its data-set sizes), then ``overrides``; validated."""
    check_choice("profile", profile, PROFILES)
    from lt_lab.regression.data import SKEWED

    values = {**PROFILES[profile], **overrides, "profile": profile}
    if values.get("dataset", RegressionConfig.dataset) in SKEWED:
        values = {**DATASET_DEFAULTS[profile], **values}
    elif "imbalance_ratio" not in overrides:
        values["imbalance_ratio"] = None
    return RegressionConfig(**_coerce(values)).validate()


def regression_config_from_dict(values: dict) -> RegressionConfig:
    """Rebuild a config from its ``to_dict()`` form (as stored in a run record)."""
    return RegressionConfig(**_coerce(values)).validate()
