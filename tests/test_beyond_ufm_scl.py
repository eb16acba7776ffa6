"""Tests for lt_lab.beyond.ufm_scl: the unconstrained-features simulator of the supervised
contrastive loss (Kini et al. 2024). Tiny problems (tens of examples), seconds in all."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lt_lab.beyond.contrastive import project, supcon_loss
from lt_lab.beyond.ufm_scl import batch_schedule, example_labels, simulate_scl_ufm
from lt_lab.errors import ConfigError

SMALL = [6, 4, 2]  # N = 12 examples, 3 classes


def test_the_examples_are_labelled_in_class_blocks():
    assert example_labels([2, 1, 3]).tolist() == [0, 0, 1, 2, 2, 2]


@pytest.mark.parametrize("arguments, parameter", [
    (dict(class_counts=[5]), "class_counts"),
    (dict(class_counts=[5, 0]), "class_counts"),
    (dict(class_counts=[5, 2.5]), "class_counts"),
    (dict(class_counts=SMALL, dim=0), "dim"),
    (dict(class_counts=SMALL, relu="yes"), "relu"),
    (dict(class_counts=SMALL, temperature=0), "temperature"),
    (dict(class_counts=SMALL, batch_size=1), "batch_size"),
    (dict(class_counts=SMALL, binding=True), "binding"),
    (dict(class_counts=SMALL, lr=0.0), "lr"),
    (dict(class_counts=SMALL, steps=0), "steps"),
    (dict(class_counts=SMALL, trajectory_every=0), "trajectory_every"),
    (dict(class_counts=SMALL, seed=-1), "seed"),
])
def test_a_bad_argument_is_refused_by_name(arguments, parameter):
    with pytest.raises(ConfigError, match=parameter):
        simulate_scl_ufm(**arguments)


def test_the_first_recorded_loss_is_supcon_of_the_seeded_gaussian_start():
    # step 0 is recorded before any update: h ~ N(0, 1) from Generator().manual_seed(3);
    # with the ReLU the start is |h|, in the non-negative orthant the projection keeps
    labels = example_labels(SMALL)
    h = torch.randn(12, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for relu in (True, False):
        record = simulate_scl_ufm(SMALL, dim=5, relu=relu, steps=1, seed=3)
        start = h.abs() if relu else h
        direct = supcon_loss(project(start, relu=False), labels, temperature=0.1)
        assert record["trajectory"]["step"] == [0, 1]
        assert record["trajectory"]["loss"][0] == pytest.approx(float(direct), rel=1e-12)


def test_the_same_arguments_give_the_same_record_and_another_seed_another():
    arguments = dict(class_counts=SMALL, batch_size=4, binding=True, steps=20,
                     trajectory_every=5)
    first = simulate_scl_ufm(**arguments, seed=1)
    assert json.dumps(first) == json.dumps(simulate_scl_ufm(**arguments, seed=1))
    assert first["loss"] != simulate_scl_ufm(**arguments, seed=2)["loss"]


def test_the_record_is_json_with_a_trajectory_every_k_steps():
    record = simulate_scl_ufm(SMALL, steps=25, trajectory_every=10)
    assert json.loads(json.dumps(record)) == record
    assert record["trajectory"]["step"] == [0, 10, 20, 25]
    assert record["of_distance"] == record["trajectory"]["of_distance"][-1]
    assert record["loss"] == record["trajectory"]["loss"][-1]
    assert len(record["mean_norms"]) == 3
    assert all(0 < norm <= 1 + 1e-12 for norm in record["mean_norms"])
    assert record["optimizer"] == "adam" and record["dim"] == 3  # dim None: C


def test_binding_puts_every_class_in_every_batch():
    # 12 examples in batches of 4 drawn, then the first example of each class: 0, 6, 10
    for batch in batch_schedule(SMALL, batch_size=4, steps=9, binding=True, seed=0):
        assert len(batch) == 4 + 3
        assert batch[-3:].tolist() == [0, 6, 10]
        assert set(example_labels(SMALL)[batch].tolist()) == {0, 1, 2}


def test_without_binding_an_epoch_is_a_permutation_and_a_class_can_be_missing():
    batches = batch_schedule(SMALL, batch_size=5, steps=30, seed=0)
    # 12 = 5 + 5 + 2: three batches an epoch, each epoch covers every example once
    assert [len(b) for b in batches[:3]] == [5, 5, 2]
    for epoch in range(10):
        drawn = torch.cat(batches[3 * epoch:3 * epoch + 3])
        assert sorted(drawn.tolist()) == list(range(12))
    labels = example_labels(SMALL)
    assert any(len(set(labels[b].tolist())) < 3 for b in batches)


def test_bound_and_unbound_runs_draw_the_same_batches():
    bound = batch_schedule(SMALL, batch_size=4, steps=6, binding=True, seed=5)
    free = batch_schedule(SMALL, batch_size=4, steps=6, binding=False, seed=5)
    assert all(torch.equal(b[:-3], f) for b, f in zip(bound, free, strict=True))


def test_full_batch_balanced_without_relu_collapses_each_class():
    # every class collapses to one unit direction (‖μ_c‖ → 1) and the loss flattens near
    # log 3 (three positives at e^{1/τ}, negatives negligible): measured ‖μ_c‖ ≥ 0.997 and
    # a last drop < 1e-3 at 300 steps on seeds 0-4. The angles between the classes stay
    # wherever the collapse left them (etf_distance 0.4-0.75): at τ = 0.1 they barely
    # move the loss.
    record = simulate_scl_ufm([4, 4, 4], relu=False, steps=300, trajectory_every=100, seed=0)
    assert min(record["mean_norms"]) > 0.99
    losses = record["trajectory"]["loss"]
    assert losses[-1] < losses[0] and losses[-2] - losses[-1] < 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_balanced_classes_reach_an_orthogonal_frame_with_relu_and_a_simplex_without(seed):
    # Kini et al.'s balanced picture, at tau = 1 and d = 2C (measured: both distances below
    # 1e-5 for seeds 0-4, C = 3, 300 steps; an orthogonal frame is 0.606 from a simplex ETF
    # at C = 3): with non-negative features an orthogonal frame, without a simplex ETF.
    relu = simulate_scl_ufm([4, 4, 4], relu=True, temperature=1.0, dim=6, steps=300, seed=seed)
    plain = simulate_scl_ufm([4, 4, 4], relu=False, temperature=1.0, dim=6, steps=300,
                             seed=seed)
    assert relu["of_distance"] < 1e-3 and relu["etf_distance"] == pytest.approx(0.6058, abs=1e-3)
    assert plain["etf_distance"] < 1e-3 and plain["of_distance"] == pytest.approx(0.6058,
                                                                                   abs=1e-3)
    assert relu["dead_features"] == plain["dead_features"] == 0


def test_the_shape_losses_of_two_collapsed_classes_by_hand():
    # two classes of two examples at tau = 1. Orthogonal: an anchor's positive has similarity
    # 1, the two others 0: loss log(e + 2) - 1 = 0.55144. Simplex (antipodal): the others
    # have similarity -1: loss log(e + 2/e) - 1 = 0.23955. The ETF is preferred.
    from lt_lab.beyond.ufm_scl import shape_losses

    losses = shape_losses(2, 2, temperature=1.0)
    assert losses["orthogonal frame"] == pytest.approx(math.log(math.e + 2) - 1, abs=1e-12)
    assert losses["simplex ETF"] == pytest.approx(math.log(math.e + 2 / math.e) - 1, abs=1e-12)
