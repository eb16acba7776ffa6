import hashlib
import json

import pytest

from lt_lab.config import (
    CACHE_VERSION,
    KEY_OMITTED_AT_DEFAULT,
    PROFILES,
    RunConfig,
    config_from_dict,
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
    with pytest.raises(ConfigError, match="'smoke', 'quick', 'paper'"):
        make_config("fast")


def test_key_is_the_hash_of_the_canonical_config_without_device_and_profile():
    config = make_config("smoke", seed=3)
    material = config.to_dict()
    # device and profile do not change what is computed; features added later (post-hoc
    # taus, collapse tracking, classifier fixes...) are left out while at their defaults
    del material["device"], material["profile"]
    for name in KEY_OMITTED_AT_DEFAULT:
        del material[name]
    material["cache_version"] = CACHE_VERSION
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"))
    assert config.key() == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_key_follows_what_is_computed():
    config = make_config("smoke")
    assert config.key() == make_config("smoke").key()
    assert config.key() == config.replace(device="cpu").key()
    assert config.key() != config.replace(seed=1).key()
    assert config.key() != config.replace(loss_params={"label_smoothing": 0.1}).key()
    assert config.key() != config.replace(posthoc_taus=[1.0]).key()
    assert config.key() != config.replace(collapse_every=2).key()
    assert config.key() != config.replace(feature_norm_penalty=0.01).key()
    assert config.key() != config.replace(compile="reduce-overhead").key()


def test_round_trip_through_a_record():
    config = make_config("quick", lr_milestones=[0.5, 0.75], imbalance_ratio=10)
    again = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.key() == config.key()


def test_defaults_validate():
    assert RunConfig().validate() == RunConfig()
