import hashlib
import json

import pytest

from lt_lab.config import (
    CACHE_VERSION,
    KINDS,
    PROFILES,
    RunConfig,
    make_config,
)
from lt_lab.errors import ConfigError


def test_paper_profile_is_the_cifar_lt_recipe():
    config = make_config("paper", dataset="cifar10")
    assert (config.model, config.epochs, config.batch_size) == ("resnet32", 200, 128)
    assert (config.lr, config.momentum, config.weight_decay) == (0.1, 0.9, 2e-4)
    assert config.warmup_epochs == 5 and config.lr_schedule == "step"
    # 160 and 180 of 200 epochs, lr x0.01 at each
    assert [m * config.epochs for m in config.lr_milestones] == [160, 180]
    assert config.lr_decay == 0.01


def test_overrides_beat_the_profile():
    config = make_config("smoke", epochs=7, loss_params={})
    assert config.epochs == 7 and config.profile == "smoke"
    assert config.n_max == PROFILES["smoke"]["n_max"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"dataset": "mnist"}, "dataset"),
        ({"imbalance_ratio": 0.5}, "imbalance_ratio"),
        ({"n_max": 0}, "n_max"),
        ({"loss": "focall"}, "loss"),
        ({"loss_params": {"gamma": 2}}, "gamma"),
        ({"model": "resnet50"}, "model"),
        ({"head": "mlp"}, "head"),
        ({"sampler": "balanced"}, "sampler"),
        ({"lr_schedule": "poly"}, "lr_schedule"),
        ({"lr_milestones": [160, 180]}, "lr_milestones"),
        ({"epochs": 0}, "epochs"),
        ({"device": "tpu"}, "device"),
        ({"compile": "fast"}, "compile"),
        ({"class_order": "shuffled"}, "class_order"),
        ({"learning_rate": 0.1}, "learning_rate"),
    ],
)
def test_bad_input_names_the_parameter(overrides, named):
    with pytest.raises(ConfigError, match=named):
        make_config("smoke", **overrides)


def test_unknown_profile_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match="'smoke', 'quick', 'long', 'paper'"):
        make_config("fast")


def test_key_is_the_hash_of_kind_version_and_the_fields_that_differ_from_their_defaults():
    config = make_config("smoke", seed=3)
    defaults = RunConfig().to_dict()
    material = {name: value for name, value in config.to_dict().items()
                if value != defaults[name] and name not in ("device", "profile")}
    material.update(kind="classification", cache_version=CACHE_VERSION)
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
    assert config.key() == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_key_follows_what_is_computed():
    config = make_config("smoke")
    assert config.key() == make_config("smoke").key()
    assert config.key() == config.replace(device="cpu").key()
    assert config.key() == config.replace(profile="quick").key()
    assert config.key() != config.replace(seed=1).key()
    assert config.key() != config.replace(loss_params={"label_smoothing": 0.1}).key()
    assert config.key() != config.replace(analyses={"posthoc": {"taus": [1.0]}}).key()
    assert config.key() != config.replace(analyses={"collapse": {"every": 2}}).key()
    assert config.key() != config.replace(feature_norm_penalty=0.01).key()
    assert config.key() != config.replace(compile="reduce-overhead").key()


def test_an_int_where_a_float_is_meant_gives_the_same_key():
    assert make_config("smoke", imbalance_ratio=10).key() == \
        make_config("smoke", imbalance_ratio=10.0).key()


# The key leaves out fields at their default, so a changed default silently changes what old
# keys mean. This snapshot fails first: change a default only together with CACHE_VERSION.
FROZEN_DEFAULTS = {
    "classification": {
        "dataset": "fashion_mnist", "imbalance_ratio": 100.0, "imbalance_profile": "exp",
        "n_max": None, "class_order": "default", "subset_seed": 0, "test_per_class": None,
        "val_per_class": 0, "model": "small_cnn", "head": "linear", "loss": "ce",
        "loss_params": {}, "sampler": "instance", "epochs": 20, "batch_size": 128, "lr": 0.1,
        "momentum": 0.9, "weight_decay": 2e-4, "warmup_epochs": 5, "lr_schedule": "step",
        "lr_milestones": [0.8, 0.9], "lr_decay": 0.01, "augment": True,
        "feature_norm_penalty": 0.0, "many_threshold": 100, "few_threshold": 20,
        "eval_every": 5, "analyses": {}, "compile": "off", "precision": "fp32", "pack": 1,
        "threads": None, "seed": 0, "device": "auto",
        "profile": "custom",  # outside the key: renamed from "quick" without a version bump
        "batch_binding": False,  # added (issue 31) off, a value that keeps every key
    },
    "regression": {
        "dataset": "rotated_fashion_mnist", "imbalance_ratio": 100.0, "label_profile": "exp_dips",
        "n_max": None, "test_per_bin": None, "subset_seed": 0, "image_size": 64, "model": "mlp",
        "loss": "mse", "loss_params": {}, "reweight": "none", "lds": False,
        "lds_kernel": "gaussian", "lds_ks": 5, "lds_sigma": 2.0, "fds": False,
        "fds_kernel": "gaussian", "fds_ks": 5, "fds_sigma": 2.0, "fds_momentum": 0.9,
        "fds_start_update": 0, "fds_start_smooth": 1, "cls_weight": 0.0, "cls_classes": 10,
        "ranksim_gamma": 0.0, "ranksim_lambda": 2.0, "retrain": {}, "augment": False, "epochs": 20,
        "batch_size": 128, "lr": 0.001, "weight_decay": 0.0,
        "lr_milestones": [2 / 3, 8 / 9], "lr_decay": 0.1, "lr_schedule": "step",
        "warmup_epochs": 0, "eval_every": 2, "many_threshold": 100, "few_threshold": 20,
        "precision": "fp32", "threads": None, "seed": 0, "profile": "quick", "device": "auto",
    },
    "ufm": {
        "class_counts": [1.0] * 10, "loss": "ce", "bias": True, "dim": 32,
        "features_per_class": 4, "weight_decay_classifier": 0.005,
        "weight_decay_features": 0.005, "steps": 1000, "minority": [], "seed": 0,
        "profile": "quick",
        "loss_gamma": 0.5, "loss_tau": 1.0,  # added (94dba7f) at values that keep every key
    },
}


def test_changing_a_default_needs_a_cache_version_bump():
    assert CACHE_VERSION == 1, "update FROZEN_DEFAULTS to the new defaults"
    for kind, defaults in FROZEN_DEFAULTS.items():
        assert KINDS[kind]().to_dict() == defaults


def test_every_kind_has_a_frozen_default_snapshot():
    assert set(KINDS) == set(FROZEN_DEFAULTS)


def test_a_changed_sampler_retrains_only_the_runs_that_use_it():
    from lt_lab.data.samplers import SAMPLER_VERSIONS

    assert SAMPLER_VERSIONS["oversample"] == 2
    assert make_config("quick", sampler="oversample").versions() == {"sampler_version": 2}
    assert make_config("quick", sampler="class_balanced").versions() == {}
    # A run with an unchanged sampler keeps the key it had before versions existed.
    assert make_config("quick", loss="focal", seed=1).key() == "4aa1c3e9dc40f137"
