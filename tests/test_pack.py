"""Packed runs (``lt_lab.pack``): K runs as one batched model train as the K runs alone do.

The equivalence tests train on the synthetic Fashion-MNIST of ``fixtures_synthetic`` in
float32, at the smoke profile made tiny (n_max 30, batch 16, 2 epochs: 7 steps an epoch).
"""

import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401

from lt_lab import pack
from lt_lab.cli import main
from lt_lab.config import make_config
from lt_lab.data import augment, build_sampler
from lt_lab.errors import ConfigError, TrainingDivergedError
from lt_lab.grid import plan_packs, run_grid, with_pack
from lt_lab.regression import make_regression_config
from lt_lab.runtime import seed_everything
from lt_lab.train import TrainingData, build_training, fit, prepare_data

TINY = dict(n_max=30, imbalance_ratio=10.0, test_per_class=10, batch_size=16, device="cpu",
            precision="fp32")


def tiny(**overrides):
    return make_config("smoke", **{**TINY, **overrides})


# Two runs that differ in everything a member may: seed, loss and its DRW schedule, head,
# sampler, analyses.
CE = dict(seed=0)
LDAM_DRW = dict(seed=1, loss="ldam", head="cosine", loss_params={"drw_start": 0.5},
                sampler="class_balanced", analyses={"posthoc": {"taus": [0.0, 1.0]}})


# -- grouping --------------------------------------------------------------------------------


def test_runs_that_differ_only_in_member_fields_share_a_pack():
    configs = [tiny(pack=4, **CE), tiny(pack=4, **LDAM_DRW), tiny(pack=4, seed=2,
                                                                  sampler="oversample")]
    assert plan_packs(configs) == [[0, 1, 2]]


def test_a_shared_field_that_differs_splits_the_packs():
    configs = [tiny(pack=4, seed=0), tiny(pack=4, seed=0, lr=0.01), tiny(pack=4, seed=1),
               tiny(pack=4, seed=0, model="resnet8")]
    assert plan_packs(configs) == [[0, 2], [1], [3]]


def test_packs_hold_at_most_pack_members_in_the_order_given():
    configs = [tiny(pack=2, seed=seed) for seed in range(5)]
    assert plan_packs(configs) == [[0, 1], [2, 3], [4]]


def test_a_config_given_twice_is_planned_once_and_unpacked_ones_not_at_all():
    configs = [tiny(pack=2, seed=0), tiny(seed=1), tiny(pack=2, seed=0), tiny(pack=2, seed=2)]
    assert plan_packs(configs) == [[0, 3]]


def test_with_pack_sets_the_width_and_leaves_what_cannot_pack_alone():
    notes = []
    regression = make_regression_config("smoke", dataset="synthetic_1d")
    packed = with_pack([tiny(seed=0), regression], 8, log=notes.append)
    assert packed[0].pack == 8 and packed[0].key() != tiny(seed=0).key()
    assert packed[1] is regression
    assert len(notes) == 1 and ("kind='regression' has no packed trainer (kinds that pack: "
                                "classification)") in notes[0]
    assert with_pack(packed, 1)[0].key() == tiny(seed=0).key()  # 1: alone, old key


def test_pack_is_in_the_key_and_its_default_leaves_keys_unchanged():
    assert make_config("quick", loss="focal", seed=1).key() == "4aa1c3e9dc40f137"
    assert tiny(pack=1).key() == tiny().key() != tiny(pack=2).key() != tiny(pack=3).key()
    with pytest.raises(ConfigError, match="pack=0 must be an integer >= 1"):
        tiny(pack=0)


# -- refusals --------------------------------------------------------------------------------


def test_a_pack_of_runs_differing_in_a_shared_field_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"cannot pack runs that differ in lr \(0\.05 vs 0\.01\)"):
        pack.check_pack([tiny(pack=2), tiny(pack=2, seed=1, lr=0.01)])


def test_a_pack_larger_than_its_width_is_refused():
    with pytest.raises(ConfigError, match="pack=2 but 3 configs"):
        pack.check_pack([tiny(pack=2, seed=seed) for seed in range(3)])


def test_the_same_config_twice_in_a_pack_is_refused():
    with pytest.raises(ConfigError, match="the same config twice"):
        pack.check_pack([tiny(pack=2), tiny(pack=2)])


def test_fp16_does_not_pack_one_scaler_would_skip_every_members_step():
    reason = pack.unpackable_reason(tiny(precision="fp16"), device=torch.device("cuda"))
    assert reason.startswith("precision='fp16' (fp16 on cuda): the members would share one "
                             "gradient scaler")


def test_for_another_launcher_pack_stays_that_launchers_option(monkeypatch, store):
    from lt_lab import grid

    seen = {}
    monkeypatch.setitem(grid.LAUNCHERS, "fake", lambda configs, **kw: seen.update(kw) or [])
    run_grid([tiny()], pack=3, launcher="fake", store=store)
    assert seen["pack"] == 3  # SLURM: runs per array task, one after another


# -- the packed network ----------------------------------------------------------------------


def test_a_packed_batch_holds_each_members_images_augmented_as_its_single_run_draws_them():
    images = torch.randint(0, 256, (6, 1, 5, 5), dtype=torch.uint8)
    data = TrainingData(train_images=images, train_labels=torch.zeros(6, dtype=torch.long),
                        test_images=images, test_labels=torch.zeros(6, dtype=torch.long),
                        class_counts=[6], class_names=["a"], mean=torch.full((1, 1, 1, 1), 9.0),
                        std=torch.full((1, 1, 1, 1), 2.0))
    recipe = SimpleNamespace(augment=True, recipe=SimpleNamespace(crop_padding=2, flip=True))
    indices = torch.tensor([[0, 1, 2], [5, 4, 3]])  # member k: its own images and seed
    packed = pack.pack_batch(data, indices, [torch.Generator().manual_seed(s) for s in (3, 4)],
                             recipe)
    for k, seed in enumerate((3, 4)):
        alone = augment(images[indices[k]], padding=2, flip=True,
                        generator=torch.Generator().manual_seed(seed))
        assert torch.equal(packed[:, k], data.normalise(alone)[:, 0])  # member k's channel


def test_side_by_side_puts_member_k_in_channels_k():
    x = torch.arange(2 * 3 * 2 * 1 * 1, dtype=torch.float32).view(6, 2, 1, 1)  # K=2, B=3, C=2
    packed = pack.side_by_side(x, 2)
    assert packed.shape == (3, 4, 1, 1)
    assert packed[1, :, 0, 0].tolist() == [2.0, 3.0, 8.0, 9.0]  # image 1 of members 0 and 1
    assert packed.is_contiguous(memory_format=torch.channels_last)


def _members(configs, data):
    """Each config's model, loss, sampler and generator, built as ``fit`` builds them."""
    built = []
    for config in configs:
        seed_everything(config.seed)
        model, loss_fn, optimizer = build_training(config, data, torch.device("cpu"))
        sampler = build_sampler(config.sampler, data.train_labels, data.num_classes,
                                config.epochs)
        built.append((model, loss_fn, optimizer, sampler,
                      torch.Generator().manual_seed(config.seed)))
    return built


def _logits_of(head):
    seen = []
    head.register_forward_hook(lambda module, inputs, output: seen.append(output.detach()))
    return seen


@pytest.fixture
def float64():
    """Models built, and inputs normalised, in float64 while the test runs."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def in_float64(data):
    return dataclasses.replace(data, mean=data.mean.double(), std=data.std.double())


# The packed and the separate models run different kernels (grouped against plain
# convolutions), whose float32 roundings differ by CPU: at most 1.5e-5 (resnet8) and 4.9e-5
# (small CNN) on an AMD EPYC Zen 5, 0 on a Zen 3. So the comparison runs in float64, where
# the largest difference measured is 3.2e-16 (the MLP; 0 for both CNNs, Zen 3) and
# FLOAT64_TOLERANCE leaves six orders of magnitude below a real change: lr × 1.01 moves the
# logits by 3.9e-3 to 5.6e-3 within three steps (test below).
FLOAT64_TOLERANCE = 1e-10


def _packed_and_separate_logits(model, separate_lr_factor=1.0):
    """Three steps of a packed pair and of its two members alone, in float64: the logits of
    each step, ``(packed, separate)``, one list per member."""
    from lt_lab.train import train_step

    configs = [tiny(model=model, pack=2, **CE), tiny(model=model, pack=2, **LDAM_DRW)]
    data = in_float64(prepare_data(configs[0]))
    separate = _members([c.replace(lr=c.lr * separate_lr_factor) for c in configs], data)
    packed = pack.Pack(configs, data, torch.device("cpu"))
    for config, (_, loss_fn, *_), packed_loss in zip(configs, separate, packed.losses,
                                                     strict=True):
        if hasattr(loss_fn, "set_epoch"):  # LDAM-DRW's schedule, at epoch 0 on both sides
            loss_fn.set_epoch(0, config.epochs)
            packed_loss.set_epoch(0, config.epochs)
    single_logits = [_logits_of(m[0].classifier) for m in separate]
    packed_logits = [_logits_of(head) for head in packed.model.heads]
    indices = [m[3].epoch_indices(0, m[4]) for m in separate]
    packed_indices = torch.stack([s.epoch_indices(0, g) for s, g in
                                  zip(packed.samplers, packed.generators, strict=True)])
    assert all(torch.equal(a, b) for a, b in zip(indices, packed_indices, strict=True))
    for step in range(3):
        batch = slice(16 * step, 16 * (step + 1))
        for config, (net, loss_fn, optimizer, _, generator), idx in zip(configs, separate,
                                                                       indices, strict=True):
            images = augment(data.train_images[idx[batch]], padding=2, flip=True,
                             generator=generator)
            train_step(net, net.features, loss_fn, optimizer, data.prepare(images),
                       data.train_labels[idx[batch]], config)
        x = pack.pack_batch(data, packed_indices[:, batch], packed.generators, configs[0])
        packed.step(x, data.train_labels[packed_indices[:, batch]])
    return packed_logits, single_logits


def _largest_difference(packed_logits, single_logits) -> float:
    return max((p - s).abs().max().item() for k in range(2)
               for p, s in zip(packed_logits[k], single_logits[k], strict=True))


@pytest.mark.usefixtures("synthetic_fashion_mnist", "float64")
@pytest.mark.parametrize("model", ["small_cnn", "resnet8", "mlp"])
def test_a_packed_pair_computes_the_logits_of_two_separate_runs_step_by_step(model):
    packed, single = _packed_and_separate_logits(model)
    assert packed[0][0].dtype == torch.float64 and len(packed[0]) == 3
    assert _largest_difference(packed, single) <= FLOAT64_TOLERANCE


@pytest.mark.usefixtures("synthetic_fashion_mnist", "float64")
def test_the_step_by_step_comparison_fails_on_a_learning_rate_one_percent_off():
    packed, single = _packed_and_separate_logits("small_cnn", separate_lr_factor=1.01)
    assert _largest_difference(packed, single) > 1e3 * FLOAT64_TOLERANCE


@pytest.mark.slow
@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_packed_pair_ends_where_two_separate_runs_end(store):
    configs = [tiny(**CE), tiny(**LDAM_DRW)]
    alone = [fit(config, store=store, progress=False).record for config in configs]
    together = pack.fit_pack([config.replace(pack=2) for config in configs], store=store,
                             progress=False)
    for single, member in zip(alone, together, strict=True):
        # 14 SGD steps of float32 rounding apart, which training amplifies (the per-step
        # logits agree to 1e-5 above; with two threads the epoch-2 losses were 1 % apart):
        # the training losses agree to 5 % and the test accuracy (100 images) to 3 images.
        assert member["curves"]["epoch"] == single["curves"]["epoch"] == [1, 2]
        torch.testing.assert_close(member["curves"]["train_loss"],
                                   single["curves"]["train_loss"], rtol=5e-2, atol=1e-3)
        assert abs(member["metrics"]["acc"] - single["metrics"]["acc"]) <= 0.03
        assert set(member["extras"]) == set(single["extras"])
    posthoc = together[1]["extras"]["posthoc"]["1"]["acc"]  # the member's own analysis
    assert abs(posthoc - alone[1]["extras"]["posthoc"]["1"]["acc"]) <= 0.03
    assert together[1]["pack"] == {"member": 1, "members": 2, "width": 2,
                                   "keys": [c.replace(pack=2).key() for c in configs],
                                   "wall_time_s": together[1]["pack"]["wall_time_s"]}
    assert together[0]["config"]["pack"] == 2 and store.load(configs[0].replace(pack=2))


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_run_grid_packs_the_missing_runs_and_reads_the_stored_ones(store):
    configs = [tiny(seed=seed, model="mlp", epochs=1) for seed in range(3)]
    first = run_grid(configs[:1], pack=2, store=store)[0]
    assert first["pack"]["members"] == 1  # a pack of one, of width 2
    records = run_grid(configs + configs[:1], pack=2, store=store)
    assert records[0] == first == records[3]  # stored: read, not trained
    assert [r["pack"]["member"] for r in records[1:3]] == [0, 1]
    assert records[1]["pack"]["members"] == 2


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_lt_lab_grid_pack_trains_packs_and_says_what_runs_alone(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    small = {"profile": "smoke", "model": "mlp", "epochs": 1, "n_max": 20, "imbalance_ratio": 10,
             "test_per_class": 5, "batch_size": 16, "precision": "fp32"}
    grid.write_text(json.dumps([{**small, "seed": 0}, {**small, "seed": 1, "loss": "focal"},
                                {"kind": "regression", "profile": "smoke",
                                 "dataset": "synthetic_1d", "epochs": 1}]))
    results = ["--results-dir", str(tmp_path / "r")]
    assert main(["grid", str(grid), "--pack", "2", *results]) == 0
    out, err = capsys.readouterr()
    assert out.count("[pack member") == 2 and "[pack member 2/2]" in out
    assert "runs alone, unpacked: regression" in err
    assert len(list((tmp_path / "r").glob("*.json"))) == 3
    assert main(["grid", str(grid), "--pack", "2", *results]) == 0  # all stored now
    assert len(list((tmp_path / "r").glob("*.json"))) == 3
    assert main(["grid", str(grid), "--pack", "0", *results]) == 2
    assert "pack=0 must be an integer >= 1" in capsys.readouterr().err


@pytest.mark.usefixtures("synthetic_fashion_mnist")
def test_a_diverging_member_is_named_as_the_trainer_names_it_and_the_other_is_stored(
        store, always_nan):
    configs = [tiny(pack=2, model="mlp", epochs=1, seed=0),
               tiny(pack=2, model="mlp", epochs=1, seed=1, loss=always_nan)]
    with pytest.raises(TrainingDivergedError, match=r"seed=1 \(\w+\): training loss became nan "
                       r"at epoch 0, step 0 \(loss='always_nan', lr=") as raised:
        pack.fit_pack(configs, store=store, progress=False)
    assert raised.value.records[1] is None
    assert raised.value.records[0] == store.load(configs[0])
