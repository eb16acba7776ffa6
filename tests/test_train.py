import math

import pytest
import torch
from torch import nn

from lt_lab.config import make_config
from lt_lab.errors import TrainingDivergedError
from lt_lab.train import fit, learning_rate


def test_paper_schedule_by_hand():
    config = make_config("paper", dataset="cifar10")
    # warm-up: 0.1 * (epoch + 1) / 5
    assert [learning_rate(config, e) for e in range(5)] == pytest.approx(
        [0.02, 0.04, 0.06, 0.08, 0.1])
    assert learning_rate(config, 159) == pytest.approx(0.1)
    assert learning_rate(config, 160) == pytest.approx(0.001)
    assert learning_rate(config, 179) == pytest.approx(0.001)
    assert learning_rate(config, 180) == pytest.approx(0.00001)


def test_cosine_schedule_by_hand():
    config = make_config("smoke", lr=1.0, epochs=5, warmup_epochs=1, lr_schedule="cosine")
    # after warm-up: 0.5 (1 + cos(pi (e - 1) / 4))
    assert [learning_rate(config, e) for e in range(5)] == pytest.approx(
        [1.0, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4))])


@pytest.mark.data
def test_smoke_run_writes_a_full_record(store):
    result = fit(make_config("smoke"), store=store)
    record = result.record
    assert not result.cached and result.model is not None
    assert store.path(record["key"]).exists()
    assert record["class_counts"] == [200, 119, 71, 43, 25, 15, 9, 5, 3, 2]
    assert len(record["per_class_acc"]) == 10
    assert set(record["metrics"]) >= {"acc", "balanced_acc", "many_shot_acc", "few_shot_acc"}
    assert record["curves"]["epoch"] == [1, 2]
    assert record["versions"]["torch"] == torch.__version__
    assert record["device"].startswith("cpu")
    assert record["wall_time_s"] > 0
    assert 0 <= record["metrics"]["acc"] <= 1


@pytest.mark.data
def test_cache_returns_the_stored_record(store):
    config = make_config("smoke", epochs=1)
    first = fit(config, store=store)
    again = fit(config, store=store)
    assert again.cached and again.model is None and again.record == first.record


@pytest.mark.data
def test_same_seed_same_numbers_other_seed_other_numbers(store):
    config = make_config("smoke", epochs=1, sampler="class_balanced")
    one = fit(config, cache=False, save=False, store=store).record
    two = fit(config, cache=False, save=False, store=store).record
    assert one["metrics"] == two["metrics"] and one["curves"] == two["curves"]
    other = fit(config.replace(seed=1), cache=False, save=False, store=store).record
    assert other["curves"]["train_loss"] != one["curves"]["train_loss"]


@pytest.mark.data
@pytest.mark.usefixtures("always_nan")
def test_nan_loss_names_epoch_and_step(store):
    with pytest.raises(TrainingDivergedError, match=r"epoch 0, step 0"):
        fit(make_config("smoke", loss="always_nan"), store=store)


@pytest.mark.data
@pytest.mark.slow
def test_quick_run_shows_the_head_tail_gap(store):
    """The book's baseline run: quick CE on Fashion-MNIST-LT ρ=100, in this CPU's fastest
    precision (the gap does not depend on it; emulated bf16 costs ten times fp32 on a CPU
    without native bf16)."""
    record = fit(make_config("quick", precision="auto"), store=store).record
    metrics = record["metrics"]
    assert record["class_counts"] == [1000, 599, 359, 215, 129, 77, 46, 27, 16, 10]
    assert metrics["many_shot_acc"] - metrics["few_shot_acc"] > 0.3
    head, tail = record["per_class_acc"][:3], record["per_class_acc"][-3:]
    assert min(head) > max(tail)


@pytest.mark.data
def test_posthoc_adjustment_moves_predictions_to_the_tail(store):
    config = make_config("smoke", analyses={"posthoc": {"taus": [0.0, 1.0]}})
    record = fit(config, store=store).record
    plain, adjusted = record["extras"]["posthoc"]["0"], record["extras"]["posthoc"]["1"]
    assert plain["acc"] == record["metrics"]["acc"]  # tau=0 is no adjustment
    assert adjusted["few_shot_acc"] >= plain["few_shot_acc"]
    assert adjusted["many_shot_acc"] <= plain["many_shot_acc"]


def _tiny_training(feature_norm_penalty: float):
    """A 4-image, 2-class set of 1×4×4 images and an MLP; no augmentation, lr ~ 0."""
    from lt_lab.data import build_sampler
    from lt_lab.train import TrainingData, build_training, train_epoch

    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 1, 4, 4), dtype=torch.uint8)
    labels = torch.tensor([0, 0, 0, 1])
    data = TrainingData(images, labels, images, labels, [3, 1], ["a", "b"],
                        torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1))
    config = make_config("smoke", model="mlp", augment=False, batch_size=4, lr=1e-12,
                         momentum=0.0, feature_norm_penalty=feature_norm_penalty)
    model, loss_fn, optimizer = build_training(config, data, torch.device("cpu"))
    sampler = build_sampler("instance", labels, 2, 1)
    loss = train_epoch(model, loss_fn, optimizer, sampler, data, config, 0,
                       torch.Generator().manual_seed(0))
    return model, data, loss


def test_feature_norm_penalty_adds_half_lambda_times_the_mean_squared_norm():
    model, data, loss = _tiny_training(feature_norm_penalty=0.5)
    model.train()
    features = model.features(data.normalise(data.train_images))
    cross_entropy = nn.functional.cross_entropy(model.classifier(features), data.train_labels)
    expected = cross_entropy + 0.5 * 0.5 * features.pow(2).sum(1).mean()
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    _, _, plain = _tiny_training(feature_norm_penalty=0.0)
    assert plain == pytest.approx(cross_entropy.item(), rel=1e-5)


@pytest.mark.data
def test_the_collapse_analysis_records_snapshots_at_its_epochs_and_the_last(store):
    config = make_config("smoke", model="mlp", epochs=3, augment=False,
                         analyses={"collapse": {"every": 2}})
    record = fit(config, store=store).record
    snapshots = record["extras"]["collapse"]
    assert [s["epoch"] for s in snapshots] == [2, 3]
    assert all(s["nc1"] >= 0 and 0 <= s["nc4"] <= 1 for s in snapshots)
    assert fit(config, store=store).cached  # the snapshots are part of the stored record


@pytest.mark.data
def test_compile_wraps_only_the_training_forward(store, monkeypatch):
    """``compile`` sends training steps through ``torch.compile(model.features, mode)``;
    evaluation stays on the eager module. An identity "compiler" shows the wiring without
    paying for a real compilation (checked by hand on CPU and on an H100)."""
    import lt_lab.train

    calls = {"compiled": [], "forward_batches": 0}

    def fake_compile(module, mode):
        calls["compiled"].append(mode)

        def forward(x):
            calls["forward_batches"] += 1
            return module(x)

        return forward

    monkeypatch.setattr(lt_lab.train.torch, "compile", fake_compile)
    eager = make_config("smoke", epochs=1)
    compiled = eager.replace(compile="reduce-overhead")
    compiled_record = fit(compiled, cache=False, save=False, store=store).record
    eager_record = fit(eager, cache=False, save=False, store=store).record
    steps = math.ceil(sum(compiled_record["class_counts"]) / compiled.batch_size)
    assert calls == {"compiled": ["reduce-overhead"], "forward_batches": steps}
    assert compiled_record["metrics"] == eager_record["metrics"]
    assert compiled_record["key"] != eager_record["key"]
