"""Classifier fixes (lt_lab.decoupling) against hand-computed values and toy geometries."""

import math

import pytest
import torch

from lt_lab.config import make_config
from lt_lab.data import longtail_counts, make_longtail, validation_indices
from lt_lab.data.samplers import build_sampler
from lt_lab.decoupling import fixes as decouple
from lt_lab.decoupling.fixes import (
    Features,
    LinearClassifier,
    max_norm_,
    multiplicative_adjust,
    ncm_classifier,
    select_on_validation,
    tau_normalise,
)
from lt_lab.decoupling.fixes import _balanced_accuracy as balanced_accuracy
from lt_lab.errors import ConfigError


def test_tau_zero_leaves_the_weights_unchanged_and_tau_one_normalises_them():
    weight = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.equal(tau_normalise(weight, 0.0), weight)
    assert torch.allclose(tau_normalise(weight, 1.0), torch.tensor([[0.6, 0.8], [0.0, 1.0]]))
    # tau = 0.5: divide by sqrt(norm): 5 -> sqrt 5, 2 -> sqrt 2
    half = tau_normalise(weight, 0.5)
    assert torch.allclose(half[0], weight[0] / math.sqrt(5))
    assert torch.allclose(half[1], weight[1] / math.sqrt(2))


def test_tau_must_not_be_negative():
    with pytest.raises(ConfigError, match="tau=-1"):
        tau_normalise(torch.ones(2, 2), -1)


def test_max_norm_never_lets_a_row_exceed_delta_and_leaves_short_rows_alone():
    weight = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 10.0]])
    max_norm_(weight, 1.0)
    assert torch.allclose(weight, torch.tensor([[0.6, 0.8], [0.3, 0.4], [0.0, 1.0]]))
    random = torch.randn(50, 8) * 5
    assert (max_norm_(random, 0.7).norm(dim=1) <= 0.7 + 1e-6).all()


def test_multiplicative_adjustment_divides_by_the_prior_to_the_power_tau():
    logits = torch.tensor([[1.0, 1.0]])
    adjusted = multiplicative_adjust(logits, [3, 1], tau=1.0)  # priors 3/4, 1/4
    assert torch.allclose(adjusted, torch.tensor([[4 / 3, 4.0]]))
    assert torch.equal(multiplicative_adjust(logits, [3, 1], tau=0.0), logits)


def test_ncm_on_separable_toy_data_is_perfect_and_uses_cosine_after_centring():
    means = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(20)
    features = means[labels] + 0.3 * torch.randn(60, 2, generator=generator)
    logits = ncm_classifier(features, labels, 3)(features)
    assert (logits.argmax(1) == labels).all()
    assert logits.abs().max() <= 1 + 1e-6  # cosine similarities


def test_ncm_ignores_class_size():
    # 100 points of class 0 near (1, 0), 2 of class 1 near (-1, 0): a point at (-0.2, 0) is
    # nearer class 1's mean after centring, however many class-0 points there are.
    features = torch.cat([torch.tensor([[1.0, 0.0]]).repeat(100, 1),
                          torch.tensor([[-1.0, 0.1], [-1.0, -0.1]])])
    labels = torch.tensor([0] * 100 + [1, 1])
    centre = features.mean(0)
    point = centre + torch.tensor([[-0.2, 0.0]])
    assert ncm_classifier(features, labels, 2)(point).argmax(1).item() == 1


def test_crt_samples_classes_equally():
    labels = torch.tensor([0] * 90 + [1] * 9 + [2] * 1)
    sampler = build_sampler("class_balanced", labels, 3, decouple.RETRAIN_EPOCHS)
    drawn = torch.cat([sampler.epoch_indices(e, torch.Generator().manual_seed(e))
                       for e in range(decouple.RETRAIN_EPOCHS)])
    shares = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    assert torch.allclose(shares, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.03)


def _toy_features(counts=(200, 20, 4), seed=0) -> Features:
    generator = torch.Generator().manual_seed(seed)
    centres = 2 * torch.eye(3, 4)

    def draw(per_class):
        labels = torch.arange(3).repeat_interleave(torch.tensor(per_class))
        return centres[labels] + torch.randn(len(labels), 4, generator=generator), labels

    train, train_labels = draw(list(counts))
    val, val_labels = draw([30, 30, 30])
    test, test_labels = draw([100, 100, 100])
    return Features(train, train_labels, val, val_labels, test, test_labels, list(counts))


def test_crt_gives_a_fresh_head_that_does_not_favour_the_head_class():
    features = _toy_features()
    head = decouple.crt(features, lr=0.1, weight_decay=0.0, seed=0)
    predicted = head.logits(features.test).argmax(1)
    share_of_head = (predicted == 0).double().mean().item()
    assert share_of_head < 0.45  # a balanced test set: a fair head predicts ~1/3 class 0


def test_lws_learns_larger_scales_for_rare_classes():
    features = _toy_features()
    joint = decouple.crt(features, lr=0.1, weight_decay=0.0, seed=0)
    # a joint-style head: the crt head plus a bias for the head class
    biased = LinearClassifier(joint.weight, joint.bias + torch.tensor([2.0, 0.0, -2.0]))
    scaled, scales = decouple.lws(biased, features, lr=0.1, seed=0)
    assert scales[2] > scales[0]
    assert balanced_accuracy(scaled.logits(features.test), features.test_labels) >= \
        balanced_accuracy(biased.logits(features.test), features.test_labels)


def test_weight_balancing_stage2_respects_max_norm():
    features = _toy_features()
    joint = LinearClassifier(torch.randn(3, 4) * 3, torch.zeros(3))
    head = decouple.weight_balancing_stage2(joint, features, max_norm=0.5, lr=0.1, seed=0)
    assert (head.weight.norm(dim=1) <= 0.5 + 1e-6).all()


def test_balanced_accuracy_is_the_mean_of_per_class_recalls():
    logits = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])  # class 0: 2/2, class 1: 1/2
    assert balanced_accuracy(logits, labels) == pytest.approx(0.75)


def test_selection_uses_the_validation_split_not_the_test_set():
    features = _toy_features()
    # candidate "val" scores perfectly on validation only; "test" only on the test set
    oracle_val = torch.nn.functional.one_hot(features.val_labels, 3).float()
    oracle_test = torch.nn.functional.one_hot(features.test_labels, 3).float()

    def logits_of(name, h):
        if name == "val" and h is features.val:
            return oracle_val
        if name == "test" and h is features.test:
            return oracle_test
        return torch.zeros(len(h), 3)

    selection = select_on_validation({"test": "test", "val": "val"}, logits_of, features)
    assert selection["chosen"] == "val"
    assert selection["chosen_on_test"] == "test"
    assert selection["val_balanced_acc"] == [pytest.approx(1 / 3), 1.0]


def test_validation_split_is_balanced_and_disjoint_from_the_subset():
    labels = torch.arange(3).repeat_interleave(50)
    split = make_longtail(labels, labels, longtail_counts(40, 3, 10), seed=0)
    indices, ranks = validation_indices(labels, split, 5, seed=0)
    assert torch.bincount(ranks).tolist() == [5, 5, 5]
    assert not set(indices.tolist()) & set(split.train_indices.tolist())
    assert torch.equal(labels[indices], torch.tensor(split.class_order)[ranks])


def test_validation_split_that_cannot_fit_names_the_parameter():
    labels = torch.arange(2).repeat_interleave(10)
    split = make_longtail(labels, labels, [10, 2], seed=0)
    with pytest.raises(ConfigError, match="val_per_class=5"):
        validation_indices(labels, split, 5)


def _fixes(*names):
    return {"classifier_fixes": {"fixes": list(names)}}


def test_unknown_fix_is_refused_with_the_allowed_names():
    with pytest.raises(ConfigError, match=r"\['fixes'\]='crt2'.*tau_norm"):
        make_config("smoke", val_per_class=20, analyses=_fixes("crt2"))


def test_a_single_fix_name_as_a_string_is_refused():
    with pytest.raises(ConfigError, match="must be a non-empty list"):
        make_config("smoke", val_per_class=20, analyses={"classifier_fixes": {"fixes": "crt"}})


def test_fixes_need_a_validation_split():
    with pytest.raises(ConfigError, match="set val_per_class"):
        make_config("smoke", analyses=_fixes("crt"))


def test_fixes_and_their_split_are_part_of_the_key():
    plain = make_config("smoke")
    assert plain.key() != make_config("smoke", val_per_class=20).key()
    with_split = make_config("smoke", val_per_class=20)
    assert with_split.key() != make_config("smoke", val_per_class=20, analyses=_fixes("crt")).key()


@pytest.mark.data
@pytest.mark.slow
def test_a_smoke_run_stores_every_fix_with_its_metrics(tmp_path):
    from lt_lab.results import ResultsStore
    from lt_lab.train import fit

    config = make_config("smoke", val_per_class=20, analyses=_fixes(*decouple.FIXES),
                         device="cpu")
    record = fit(config, store=ResultsStore(tmp_path)).record
    fixes = record["extras"]["classifier_fixes"]
    assert set(fixes) == {"joint", "val_per_class", *decouple.FIXES}
    for name in ("joint", *decouple.FIXES):
        assert 0 <= fixes[name]["balanced_acc"] <= 1
        assert len(fixes[name]["per_class_acc"]) == 10
    assert fixes["tau_norm"]["tau"] in decouple.TAU_GRID
    assert len(fixes["tau_norm"]["selection"]["val_balanced_acc"]) == len(decouple.TAU_GRID)
    # tau_norm's classifier at the chosen tau, recomputed from the joint norms
    norms = torch.tensor(fixes["joint"]["weight_norms"])
    expected = norms.pow(1 - fixes["tau_norm"]["tau"])
    assert torch.allclose(torch.tensor(fixes["tau_norm"]["weight_norms"]), expected, atol=1e-4)
