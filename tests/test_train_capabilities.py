"""The trainer's chapter-6 capabilities (issue 31): a loss that takes two augmented views
(Khosla et al. 2020), batch-binding (Kini et al. 2024), input mixup (Zhang et al. 2018) and
SADE's three experts (Zhang et al. 2022), each turned on by config, and a config at its
defaults keeping its key."""

from __future__ import annotations

import pytest
import torch
from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401
from torch import nn

import lt_lab.beyond  # noqa: F401  (registers "supcon", "mixup" and the bound set)
from lt_lab.beyond.mixup import MixedBatch
from lt_lab.config import RunConfig, make_config
from lt_lab.data.samplers import InstanceSampler
from lt_lab.errors import ConfigError
from lt_lab.models import Classifier
from lt_lab.pack import unpackable_reason
from lt_lab.train import (
    TrainingData,
    bound_set,
    fit,
    stack_views,
    train_epoch,
    train_step,
    training_batch,
    training_images,
)

# -- keys ---------------------------------------------------------------------------------

def test_a_default_config_keeps_the_key_it_had_before_the_new_fields():
    # Computed at 36f24ff, before batch_binding existed.
    assert make_config("smoke").key() == "70881a1226c3734e"
    assert make_config("quick").key() == "e86f82cec65f2615"
    assert RunConfig().key() == "31cd31cf4a06fc11"
    assert make_config("smoke", batch_binding=False).key() == "70881a1226c3734e"
    assert make_config("smoke", batch_binding=True).key() != "70881a1226c3734e"


# -- bad input ----------------------------------------------------------------------------

def test_batch_binding_must_be_true_or_false():
    with pytest.raises(ConfigError, match="batch_binding='yes' must be true or false"):
        make_config("smoke", batch_binding="yes")


def test_two_views_without_augmentation_are_refused_naming_augment():
    with pytest.raises(ConfigError, match="augment=False.*2 augmented views.*augment=True"):
        make_config("smoke", loss="supcon", augment=False)
    assert make_config("smoke", loss="supcon", augment=False, loss_params={"views": 1})


def test_supcon_views_must_be_a_whole_number_from_one():
    with pytest.raises(ConfigError, match="views=0 must be an integer >= 1"):
        make_config("smoke", loss="supcon", loss_params={"views": 0})


def test_a_pack_refuses_binding_mixing_and_experts_by_name():
    assert "batch_binding" in unpackable_reason(make_config("smoke", batch_binding=True))
    assert "mixes its inputs" in unpackable_reason(make_config("smoke", loss="mixup"))
    assert "head='experts'" in unpackable_reason(make_config("smoke", loss="sade",
                                                             head="experts"))


def test_sade_and_its_experts_head_come_together():
    with pytest.raises(ConfigError, match="loss='sade' reads several experts.*head='experts'"):
        make_config("smoke", loss="sade")
    with pytest.raises(ConfigError, match="head='experts' gives several.*loss='sade'"):
        make_config("smoke", head="experts")


# -- two views ----------------------------------------------------------------------------

def _data(images: torch.Tensor, labels: list[int]) -> TrainingData:
    """A training set on the CPU, normalised by mean 0 and std 1/255 (pixels unchanged)."""
    counts = torch.bincount(torch.tensor(labels)).tolist()
    scale = torch.full((1, 1, 1, 1), 1 / 255, dtype=torch.float64)
    return TrainingData(images, torch.tensor(labels), images, torch.tensor(labels), counts,
                        [str(c) for c in range(len(counts))], torch.zeros_like(scale), scale)


def test_stack_views_puts_each_images_views_on_its_row():
    # Two views of three images, view-major: rows a0 a1 a2 b0 b1 b2.
    outputs = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    assert stack_views(outputs, 2).tolist() == [[[0.0], [10.0]], [[1.0], [11.0]],
                                                [[2.0], [12.0]]]
    assert stack_views(outputs, 1) is outputs


def test_two_views_are_two_successive_augmentations_of_the_same_images():
    images = torch.arange(3 * 16, dtype=torch.uint8).reshape(3, 1, 4, 4)
    data, config = _data(images, [0, 1, 1]), make_config("smoke")
    batch = torch.tensor([2, 0])
    x = training_batch(data, batch, config, torch.Generator().manual_seed(7), views=2)
    draws = torch.Generator().manual_seed(7)
    first = training_images(data, batch, config, draws)
    second = training_images(data, batch, config, draws)
    assert x.shape == (4, 1, 4, 4)
    assert torch.equal(x, data.prepare(torch.cat([first, second])))
    assert not torch.equal(first, second)  # independent crops and flips


class Flatten(nn.Module):
    """A network whose features are its input's pixels, so a test can read what it saw."""

    def __init__(self, pixels: int = 16, classes: int = 2):
        super().__init__()
        self.features = nn.Flatten()
        self.classifier = nn.Linear(pixels, classes).double()
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))


class Spy(nn.Module):
    """A loss that keeps what the trainer passed it."""

    takes_features = True

    def __init__(self, views: int = 1):
        super().__init__()
        self.takes_views, self.seen = views, []

    def forward(self, features, labels):
        self.seen.append((features.detach().clone(), labels.clone()))
        return (features ** 2).mean() * 0 + torch.ones((), requires_grad=True)


def _step(loss, x, y, generator=None):
    model = Flatten()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return train_step(model, model.features, loss, optimizer, x, y, make_config("smoke"),
                      generator=generator)


def test_a_loss_with_two_views_gets_features_of_shape_images_views_dim():
    x = torch.arange(4 * 16, dtype=torch.float64).reshape(4, 1, 4, 4)  # views a0 a1 b0 b1
    spy = Spy(views=2)
    _step(spy, x, torch.tensor([0, 1]))
    features, labels = spy.seen[0]
    assert features.shape == (2, 2, 16) and labels.tolist() == [0, 1]
    assert features[1, 0].tolist() == list(range(16, 32))  # image 1, view a: row 1 of x
    assert features[1, 1].tolist() == list(range(48, 64))  # image 1, view b: row 3 of x


# -- batch-binding ------------------------------------------------------------------------

def test_the_bound_set_is_the_first_example_of_each_class():
    data = _data(torch.zeros(6, 1, 4, 4, dtype=torch.uint8), [2, 0, 1, 0, 2, 1])
    assert bound_set(make_config("smoke", batch_binding=True), data).tolist() == [1, 2, 0]
    assert bound_set(make_config("smoke"), data) is None


def test_every_batch_ends_with_the_bound_set():
    # 6 images, batches of 4: 4 drawn + 3 bound, then 2 drawn + 3 bound.
    data = _data(torch.zeros(6, 1, 4, 4, dtype=torch.uint8), [2, 0, 1, 0, 2, 1])
    config = make_config("smoke", batch_binding=True, batch_size=4, augment=False)
    spy, model = Spy(), Flatten()
    train_epoch(model, spy, torch.optim.SGD(model.parameters(), lr=0.1),
                InstanceSampler(data.train_labels, 3), data, config, 0,
                torch.Generator().manual_seed(0), bound=bound_set(config, data))
    assert [len(labels) for _, labels in spy.seen] == [7, 5]
    assert all(labels[-3:].tolist() == [0, 1, 2] for _, labels in spy.seen)
    drawn = torch.cat([labels[:-3] for _, labels in spy.seen])
    assert sorted(drawn.tolist()) == [0, 0, 1, 1, 2, 2]  # the sampler's epoch, whole


# -- input mixup --------------------------------------------------------------------------

class FixedMix(nn.Module):
    """A loss that mixes every batch with λ = 1/4 and the reversal σ = (1, 0)."""

    mixes_inputs = True

    def __init__(self):
        super().__init__()
        self.seen = None

    def mix(self, inputs, targets, generator=None):
        reverse = torch.tensor([1, 0])
        return MixedBatch(0.25 * inputs + 0.75 * inputs[reverse], targets, targets[reverse],
                          0.25)

    def mixed(self, logits, targets_a, targets_b, lam):
        self.seen = (targets_a.tolist(), targets_b.tolist(), lam)
        return logits.sum() * 0 + 1.0

    def forward(self, logits, targets):  # pragma: no cover - the trainer calls mixed()
        raise AssertionError("a loss that mixes its inputs is scored by mixed()")


def test_a_loss_that_mixes_its_inputs_scores_the_mixed_batch():
    x = torch.stack([torch.zeros(1, 4, 4), torch.full((1, 4, 4), 4.0)]).double()
    loss = FixedMix()
    _step(loss, x, torch.tensor([0, 1]))
    assert loss.seen == ([0, 1], [1, 0], 0.25)


def test_mixup_draws_the_same_mix_from_the_same_generator():
    mix = lt_lab.beyond.MixupCrossEntropy(alpha=1.0)
    x, y = torch.arange(4.0).reshape(4, 1), torch.tensor([0, 1, 2, 3])
    one = mix.mix(x, y, torch.Generator().manual_seed(3))
    two = mix.mix(x, y, torch.Generator().manual_seed(3))
    assert one.lam == two.lam and torch.equal(one.inputs, two.inputs)


# -- SADE's experts -----------------------------------------------------------------------

def test_a_head_of_several_experts_predicts_with_their_mean_logits():
    # Experts' logits (1, 3, 2): (1, 2), (3, 4), (5, 0); their mean is (3, 2).
    experts = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]]])
    model = Classifier(nn.Identity(), lambda features: features)
    assert model(experts).tolist() == [[3.0, 2.0]]
    assert model(torch.tensor([[1.0, 2.0]])).tolist() == [[1.0, 2.0]]  # one head: as is


# -- end to end, by config ----------------------------------------------------------------

TINY = dict(n_max=30, imbalance_ratio=10, test_per_class=10, batch_size=16, epochs=1,
            device="cpu")


@pytest.mark.slow  # trains each config twice, end to end
@pytest.mark.usefixtures("synthetic_fashion_mnist")
@pytest.mark.parametrize("overrides", [
    {"loss": "supcon", "batch_binding": True},
    {"loss": "mixup", "loss_params": {"alpha": 0.4}},
    {"loss": "sade", "head": "experts"},
], ids=["supcon-two-views-bound", "mixup", "sade"])
def test_a_chapter_6_config_trains_and_repeats_itself(overrides):
    config = make_config("smoke", **TINY, **overrides)
    first = fit(config, save=False, cache=False, progress=False).record
    again = fit(config, save=False, cache=False, progress=False).record
    loss = first["curves"]["train_loss"]
    assert len(loss) == 1 and loss[0] == loss[0]  # one finite epoch
    assert again["curves"]["train_loss"] == loss
