"""Tests for lt_lab.regression's data sets, config and trainer (small, fast runs)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from lt_lab.config import make_config
from lt_lab.errors import ConfigError, DataUnavailableError
from lt_lab.regression import data as rdata
from lt_lab.regression.config import (
    RegressionConfig,
    make_regression_config,
    regression_config_from_dict,
)
from lt_lab.regression.train import fit_regression, learning_rate

# --- label profiles and data sets ---------------------------------------------------------


def test_skewed_bin_counts_by_hand():
    # 3 bins, n_max 100, rho 100: 100 · 100^(-b/2) = 100, 10, 1
    assert rdata.skewed_bin_counts(100, 3, 100.0, "exp") == [100, 10, 1]
    # exp_dips thins bin 2 (b ≡ 2 mod 4) to a quarter, never below 1
    assert rdata.skewed_bin_counts(100, 3, 100.0, "exp_dips") == [100, 10, 1]
    # 400 · 16^(-b/4) = 400, 200, 100, 50, 25; bin 2 thinned: 100 // 4 = 25
    assert rdata.skewed_bin_counts(400, 5, 16.0, "exp_dips") == [400, 200, 25, 50, 25]
    # rho = 1 is uniform, without dips
    assert rdata.skewed_bin_counts(7, 6, 1.0, "exp_dips") == [7] * 6
    with pytest.raises(ConfigError, match="label_profile='step'"):
        rdata.skewed_bin_counts(10, 3, 2.0, "step")


def test_labels_fall_in_their_bins():
    bins = rdata.BINS["rotated_fashion_mnist"]
    labels = rdata.labels_from_counts([3, 0, 2] + [0] * 42, bins, torch.Generator().manual_seed(0))
    assert bins.index(labels).tolist() == [0, 0, 0, 2, 2]


def test_rotate_by_zero_and_by_ninety_degrees():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (3, 1, 28, 28), generator=generator, dtype=torch.uint8)
    assert torch.equal(rdata.rotate(images, torch.zeros(3)), images)
    quarter = rdata.rotate(images, torch.full((3,), 90.0))
    # a quarter turn maps pixel centres onto pixel centres: exact, anticlockwise on screen
    assert torch.equal(quarter, torch.rot90(images, k=1, dims=(2, 3)))


def test_synthetic_1d_is_skewed_in_training_and_balanced_in_test():
    data = rdata.synthetic_1d(imbalance_ratio=10.0, n_max=40, test_per_bin=3)
    assert data.train_bin_counts == rdata.skewed_bin_counts(40, 50, 10.0)
    assert data.bins.counts(data.test_targets).tolist() == [3] * 50
    assert data.train_inputs.shape == (len(data.train_targets), 1, 1, 1)
    # inputs follow the label monotonically (the warp is monotone; noise is small)
    order = torch.argsort(data.test_targets)
    x = data.test_inputs.flatten()[order]
    assert float(np.corrcoef(x.numpy(), data.test_targets[order].numpy())[0, 1]) > 0.99


@pytest.mark.data
def test_rotated_fashion_mnist_recipe():
    pytest.importorskip("lt_lab.data")
    try:
        data = rdata.rotated_fashion_mnist(imbalance_ratio=10.0, n_max=20, test_per_bin=2,
                                           subset_seed=3)
    except DataUnavailableError:
        pytest.skip("Fashion-MNIST is not available here")
    assert data.train_bin_counts == rdata.skewed_bin_counts(20, 45, 10.0)
    assert data.bins.counts(data.test_targets).tolist() == [2] * 45
    assert data.train_inputs.dtype == torch.uint8 and data.train_inputs.shape[1:] == (1, 28, 28)
    again = rdata.rotated_fashion_mnist(imbalance_ratio=10.0, n_max=20, test_per_bin=2,
                                        subset_seed=3)
    assert torch.equal(again.train_inputs, data.train_inputs)  # seeded
    assert torch.equal(again.test_targets, data.test_targets)


# --- config -------------------------------------------------------------------------------


def test_profiles_and_validation():
    quick = make_regression_config("quick", imbalance_ratio=50)
    assert (quick.n_max, quick.test_per_bin, quick.epochs) == (300, 40, 20)
    assert quick.profile == "quick" and quick.imbalance_ratio == 50.0
    paper = make_regression_config("paper", dataset="agedb")
    assert paper.imbalance_ratio is None and paper.loss == "l1" and paper.epochs == 90
    with pytest.raises(ConfigError, match="natural label skew"):
        make_regression_config("paper", dataset="agedb", imbalance_ratio=10)
    with pytest.raises(ConfigError, match="reweight='half'"):
        make_regression_config("smoke", reweight="half")
    with pytest.raises(ConfigError, match="lds=True"):
        make_regression_config("smoke", lds=True)
    with pytest.raises(ConfigError, match="already balances"):
        make_regression_config("smoke", loss="balanced_mse", reweight="sqrt_inv")
    with pytest.raises(ConfigError, match="variant"):
        make_regression_config("smoke", loss="balanced_mse", loss_params={"variant": "x"})
    with pytest.raises(ConfigError, match="unknown regression config field"):
        make_regression_config("smoke", learning_rate=0.1)
    with pytest.raises(ConfigError, match="fds_ks=4"):
        make_regression_config("smoke", fds=True, fds_ks=4)


def test_key_has_the_kind_and_survives_a_round_trip():
    config = make_regression_config("quick", reweight="sqrt_inv", lds=True)
    again = regression_config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.key() == config.key()
    assert config.key() != config.replace(seed=1).key()
    assert config.key() == config.replace(device="cpu").key()  # device is not in the key
    assert config.key() != make_config("quick").key()


def test_learning_rate_steps_at_the_milestones():
    config = make_regression_config("paper", dataset="agedb")
    assert [learning_rate(config, e) for e in (0, 59, 60, 79, 80)] == pytest.approx(
        [1e-3, 1e-3, 1e-4, 1e-4, 1e-5])


# --- trainer ------------------------------------------------------------------------------


def _tiny(**overrides) -> RegressionConfig:
    values = dict(dataset="synthetic_1d", imbalance_ratio=10.0, n_max=20, test_per_bin=2,
                  model="mlp", epochs=2, batch_size=32, device="cpu")
    return make_regression_config("smoke", **{**values, **overrides})


@pytest.mark.parametrize("overrides", [
    {},
    {"reweight": "sqrt_inv", "lds": True, "fds": True},
    {"reweight": "inverse", "lds": True, "lds_kernel": "laplace"},
    {"loss": "balanced_mse", "loss_params": {"variant": "gai", "gmm_components": 3}},
    {"loss": "balanced_mse", "loss_params": {"variant": "bni"}},
    {"cls_weight": 1.0, "cls_classes": 4},
    {"ranksim_gamma": 10.0, "loss": "l1"},
], ids=lambda o: "-".join(f"{k}" for k in o) or "vanilla")
def test_every_method_trains_and_records(overrides, store):
    result = fit_regression(_tiny(**overrides), store=store)
    record = result.record
    assert record["kind"] == "regression" and record["key"] == _tiny(**overrides).key()
    assert record["config"]["profile"] == "smoke" and record["config"]["imbalance_ratio"] == 10
    assert record["seed"] == 0
    for name in ("mae", "mse", "gm", "pearson", "few_shot_mae", "many_shot_gm"):
        assert name in record["metrics"]
    assert len(record["per_bin"]["test_mae"]) == 50
    assert record["curves"]["eval_epoch"] == [1, 2]
    assert len(record["curves"]["train_mse"]) == 2
    assert store.path(record["key"]).exists()


def test_same_seed_same_numbers_and_cache(store):
    first = fit_regression(_tiny(), store=store, save=True)
    cached = fit_regression(_tiny(), store=store)
    assert cached.cached and cached.metrics == first.metrics
    again = fit_regression(_tiny(), cache=False, save=False, store=store)
    assert again.metrics == first.metrics
    other = fit_regression(_tiny(seed=1), cache=False, save=False, store=store)
    assert other.metrics != first.metrics


def test_balanced_mse_learns_sigma(store):
    record = fit_regression(_tiny(loss="balanced_mse"), store=store, save=False).record
    sigmas = record["curves"]["noise_sigma"]
    assert sigmas[-1] != 1.0


# --- AgeDB-DIR / IMDB-WIKI-DIR layout -------------------------------------------------------


def _write_faces(root, name, folder, ages_by_split):
    from PIL import Image

    rows = []
    generator = np.random.default_rng(0)
    for split, ages in ages_by_split.items():
        for i, age in enumerate(ages):
            relative = f"{folder}/{split}_{i}_{age}.jpg"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            pixels = generator.integers(0, 256, (20, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / relative)
            rows.append({"age": age, "path": relative, "split": split})
    with open(root / rdata.CSV_NAMES[name], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["age", "path", "split"])
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(("name", "folder"), [("agedb", "AgeDB"), ("imdb_wiki", "imdb_crop/01")])
def test_faces_in_dirs_layout(tmp_path, monkeypatch, name, folder, store):
    root = tmp_path / "data" / name
    _write_faces(root, name, folder, {"train": [20, 21, 21, 40, 70, 33], "val": [30],
                                      "test": [25, 50]})
    splits = rdata.load_faces(name, root=root, image_size=8)
    images, ages = splits["train"]
    assert images.shape == (6, 3, 8, 8) and images.dtype == torch.uint8
    assert ages.tolist() == [20, 21, 21, 40, 70, 33]
    assert splits["test"][1].tolist() == [25, 50]
    assert (root / f".lt_lab_{name}_8px.pt").exists()  # decoded once, then cached
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "data"))
    config = make_regression_config("smoke", dataset=name, image_size=8, model="mlp",
                                    epochs=1, batch_size=3, device="cpu")
    record = fit_regression(config, store=store, save=False).record
    assert record["config"]["imbalance_ratio"] is None
    assert record["data"] == {"train_size": 6, "test_size": 2}


def test_missing_faces_say_how_to_get_them(tmp_path):
    with pytest.raises(DataUnavailableError, match="on request"):
        rdata.load_faces("agedb", root=tmp_path)
