"""Balanced MSE's two-stage recipe (Ren et al. 2022; lt_lab.regression.retrain).

The authors' IMDB-WIKI-DIR README: train a vanilla base model, then retrain the regressor
only (``--retrain_fc --pretrained``) with ``--bmse --imp bmc|gai|bni --init_noise_sigma 10.``,
``--sigma_lr 0.01``, ``--lr 0.0001 --epoch 10`` (Adam).
"""

from __future__ import annotations

import pytest
import torch

from lt_lab.errors import ConfigError
from lt_lab.regression import readers
from lt_lab.regression.config import make_regression_config
from lt_lab.regression.retrain import retrain_regressor, two_stage_recipe
from lt_lab.regression.train import (
    build_training,
    fit_regression,
    label_prior,
    prepare_regression_data,
)


def _tiny(**overrides):
    values = dict(dataset="synthetic_1d", imbalance_ratio=10.0, n_max=20, test_per_bin=2,
                  model="mlp", epochs=2, batch_size=32, device="cpu")
    return make_regression_config("smoke", **{**values, **overrides})


@pytest.mark.parametrize("variant", ["bmc", "gai", "bni"])
def test_the_recipe_is_the_authors_readme(variant):
    assert two_stage_recipe(variant) == {
        "loss": "balanced_mse",
        "loss_params": {"variant": variant, "init_noise_sigma": 10.0, "sigma_lr": 0.01},
        "epochs": 10, "lr": 1e-4, "init": "base"}


def test_a_config_without_a_second_stage_keeps_its_key():
    # an empty ``retrain`` is the default, left out of the key: every earlier run keeps its
    # record. These keys were computed before the field existed.
    assert make_regression_config("smoke").key() == "fd46e7c11695bd4f"
    assert make_regression_config("quick").key() == "a21d6515e11a7c1b"
    assert make_regression_config("quick", reweight="sqrt_inv", lds=True,
                                  fds=True).key() == "81273d7d98e8dc46"
    two_stage = make_regression_config("quick", retrain=two_stage_recipe("bmc"))
    assert two_stage.key() != make_regression_config("quick").key()


@pytest.mark.parametrize(("retrain", "named"), [
    ({"epoch": 10}, "unknown key"),
    ({"loss": "huber"}, "retrain\\['loss'\\]"),
    ({"epochs": 0}, "retrain\\['epochs'\\]"),
    ({"lr": -1.0}, "retrain\\['lr'\\]"),
    ({"init": "random"}, "retrain\\['init'\\]"),
    ({"loss_params": {"variant": "xyz"}}, "variant"),
])
def test_a_bad_second_stage_is_refused_by_name(retrain, named):
    with pytest.raises(ConfigError, match=named):
        _tiny(retrain=retrain)


def _stage(config):
    data = prepare_regression_data(config)
    run = build_training(config, data, "cpu")
    return run.model, data


def test_the_first_step_moves_each_regressor_weight_by_lr_and_sigma_by_its_lr():
    # Adam's first step is lr · g / |g| per parameter (bias-corrected moments): exactly the
    # recipe's lr (1e-4) for the regressor and sigma_lr (0.01) for σ, which starts at 10.
    recipe = {**two_stage_recipe("bmc"), "epochs": 1}
    config = _tiny(retrain=recipe)
    model, data = _stage(config)
    backbone = {k: v.clone() for k, v in model.features.state_dict().items()}
    before = model.regressor.weight.detach().clone()
    one_batch = len(data.train_targets)  # one batch: one step
    curves = retrain_regressor(model, data, config, label_prior(data), batch_size=one_batch)
    step = (model.regressor.weight.detach() - before).abs()
    moved = step > 0
    assert moved.any()
    assert torch.allclose(step[moved], torch.full_like(step[moved], 1e-4), rtol=1e-3)
    assert abs(curves["noise_sigma"][0] - 10.0) == pytest.approx(0.01, rel=1e-3)
    # the backbone is frozen: not one of its weights changed
    for name, value in model.features.state_dict().items():
        assert torch.equal(value, backbone[name]), name


def test_a_fresh_regressor_is_reinitialised_from_the_seed_only():
    config = _tiny(retrain={**two_stage_recipe("bni", init="fresh"), "epochs": 1, "lr": 1e-12})
    first, data = _stage(config)
    base_weight = first.regressor.weight.detach().clone()
    state = torch.get_rng_state()
    retrain_regressor(first, data, config, label_prior(data))
    assert torch.equal(torch.get_rng_state(), state)  # the global generator untouched
    torch.manual_seed(123)  # another base model, the same fresh regressor
    second, _ = _stage(config)
    retrain_regressor(second, data, config, label_prior(data))
    assert not torch.allclose(first.regressor.weight, base_weight)  # not the base's
    assert torch.allclose(first.regressor.weight, second.regressor.weight)  # the seed's


def test_a_two_stage_run_keeps_its_vanilla_base_bit_for_bit(store):
    vanilla = fit_regression(_tiny(), store=store).record
    two_stage = fit_regression(_tiny(retrain=two_stage_recipe("bmc")), store=store).record
    # stage 1 is the vanilla run of the same seed
    assert two_stage["base_metrics"] == vanilla["metrics"]
    assert two_stage["base_train_metrics"] == vanilla["train_metrics"]
    assert two_stage["metrics"] != vanilla["metrics"]
    assert len(two_stage["curves"]["retrain"]["loss"]) == 10
    assert "base_metrics" not in vanilla  # a one-stage record is as before
    old, new = vanilla["metrics"]["mse"], two_stage["metrics"]["mse"]
    assert readers.stage_reduction([two_stage], "mse") == [pytest.approx(100 * (old - new) / old)]
    assert readers.metric(two_stage, "mse", "base") == old
