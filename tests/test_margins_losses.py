"""Tests for lt_lab.margins.losses: LDAM(-DRW), logit adjustment, Balanced Softmax, VS.

Expected values are worked out by hand in the comments; the identities between the losses
are checked as identities on random tensors.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.losses import build, loss_parameters
from lt_lab.margins.losses import (
    BalancedSoftmaxLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
    balanced_softmax_loss,
    ldam_loss,
    ldam_margins,
    log_prior,
    logit_adjust,
    logit_adjusted_loss,
    vs_loss,
)

NAMES = ("ldam", "logit_adjusted", "balanced_softmax", "vs")
COUNTS = [500, 120, 40, 9, 2]  # a small long tail, head first
LN3 = math.log(3.0)


def _random(rows: int = 32, classes: int = len(COUNTS), *, cosine: bool = False, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, classes, generator=generator, dtype=torch.float64)
    if cosine:
        logits = torch.tanh(logits)  # in [-1, 1] like the cosine head's
    targets = torch.randint(classes, (rows,), generator=generator)
    return logits, targets


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-10, atol=1e-12)


# --- per-class quantities, by hand ----------------------------------------------------------


def test_log_prior_by_hand():
    # counts [3, 1]: π = [3/4, 1/4]
    assert log_prior([3, 1]).tolist() == pytest.approx([math.log(0.75), math.log(0.25)])
    assert log_prior(torch.tensor([3, 1])).dtype == torch.float64


def test_ldam_margins_two_classes():
    # n^(-1/4) = [16^(-1/4), 1^(-1/4)] = [1/2, 1]; max is 1, so ×0.5 → [0.25, 0.5]
    assert ldam_margins([16, 1], max_margin=0.5).tolist() == pytest.approx([0.25, 0.5])


def test_ldam_margins_three_classes():
    # n^(-1/4) = [81^(-1/4), 16^(-1/4), 1] = [1/3, 1/2, 1]; ×0.5 → [1/6, 1/4, 1/2]
    margins = ldam_margins([81, 16, 1], max_margin=0.5)
    assert margins.tolist() == pytest.approx([1 / 6, 0.25, 0.5], abs=1e-12)
    assert ldam_margins([81, 16, 1], max_margin=0.0).tolist() == [0.0, 0.0, 0.0]


def test_ldam_margins_order_does_not_matter():
    # the rarest class gets max_margin wherever it sits
    assert ldam_margins([1, 16], max_margin=0.3).tolist() == pytest.approx([0.3, 0.15])


# --- the losses by hand ---------------------------------------------------------------------


def test_ldam_loss_by_hand():
    # cosine logits [0.5, 0.2], target 0, margins [0.1, 0.5], s = 10:
    #   10 · ([0.5, 0.2] - [0.1, 0]) = [4.0, 2.0]
    #   CE = -log(e^4 / (e^4 + e^2)) = log(1 + e^-2) = 0.1269280110429726
    logits = torch.tensor([[0.5, 0.2]], dtype=torch.float64)
    margins = torch.tensor([0.1, 0.5], dtype=torch.float64)
    value = ldam_loss(logits, torch.tensor([0]), margins, scale=10.0)
    assert value.item() == pytest.approx(0.1269280110429726, abs=1e-12)
    # target 1 instead: 10 · ([0.5, 0.2] - [0, 0.5]) = [5, -3]; CE = log(1 + e^8)
    value = ldam_loss(logits, torch.tensor([1]), margins, scale=10.0)
    assert value.item() == pytest.approx(math.log1p(math.exp(8.0)), abs=1e-12)


def test_ldam_weighted_loss_by_hand():
    # margins 0, s = 1, logits [0, ln 3] twice, targets [1, 0]:
    #   per-sample CE [ln(4/3), ln 4] = [0.287682, 1.386294]; class weights [0.8, 1.2]
    #   w_y = [1.2, 0.8]: (1.2 · 0.287682 + 0.8 · 1.386294) / (1.2 + 0.8) = 0.7271269879190247
    logits = torch.tensor([[0.0, LN3], [0.0, LN3]], dtype=torch.float64)
    value = ldam_loss(logits, torch.tensor([1, 0]), [0.0, 0.0], scale=1.0, weight=[0.8, 1.2])
    assert value.item() == pytest.approx(0.7271269879190247, abs=1e-12)


def test_logit_adjust_by_hand():
    # counts [3, 1], τ = 1: log π = [ln .75, ln .25] = [-0.287682, -1.386294]
    #   logits [0, 0] → adjusted [-ln .75, -ln .25] = [0.287682, 1.386294] → argmax 1
    adjusted = logit_adjust(torch.zeros(1, 2, dtype=torch.float64), [3, 1], tau=1.0)
    assert adjusted[0].tolist() == pytest.approx([-math.log(0.75), -math.log(0.25)])
    assert adjusted.argmax(1).tolist() == [1]
    # τ = 0 leaves the logits alone
    logits, _ = _random()
    assert torch.equal(logit_adjust(logits, COUNTS, tau=0.0), logits)


def test_post_hoc_adjustment_flips_a_prediction_to_the_rare_class():
    # counts [9, 1]: log π = [ln .9, ln .1] = [-0.105361, -2.302585]
    #   logits [1, 0] predict the head class 0;
    #   adjusted [1 + 0.105361, 0 + 2.302585] = [1.105361, 2.302585] predict the rare class 1
    logits = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    assert logits.argmax(1).tolist() == [0]
    adjusted = logit_adjust(logits, [9, 1])
    assert adjusted[0].tolist() == pytest.approx([1 - math.log(0.9), -math.log(0.1)])
    assert adjusted.argmax(1).tolist() == [1]
    # a weaker τ = 0.3 does not flip it: [1 + 0.031608, 0.690776]
    assert logit_adjust(logits, [9, 1], tau=0.3).argmax(1).tolist() == [0]


def test_logit_adjusted_loss_by_hand():
    # counts [3, 1], τ = 1, logits [0, 0]: z + log π = [ln .75, ln .25], softmax = [3/4, 1/4]
    #   target 1: -ln(1/4) = ln 4 = 1.3862943611198906; target 0: -ln(3/4) = 0.2876820724517809
    logits = torch.zeros(1, 2, dtype=torch.float64)
    assert logit_adjusted_loss(logits, torch.tensor([1]), [3, 1]).item() == pytest.approx(
        1.3862943611198906, abs=1e-12)
    assert logit_adjusted_loss(logits, torch.tensor([0]), [3, 1]).item() == pytest.approx(
        0.2876820724517809, abs=1e-12)


def test_balanced_softmax_by_hand():
    # counts [3, 1], logits [0, 0]: z + log n = [ln 3, 0], softmax = [3/4, 1/4]
    #   target 1: ln 4 = 1.3862943611198906
    logits = torch.zeros(1, 2, dtype=torch.float64)
    value = balanced_softmax_loss(logits, torch.tensor([1]), [3, 1])
    assert value.item() == pytest.approx(1.3862943611198906, abs=1e-12)


def test_vs_loss_by_hand():
    # counts [4, 1], γ = 0.5, τ = 1, logits [1, 2], target 1:
    #   Δ = [(4/4)^.5, (1/4)^.5] = [1, 0.5];  ι = [ln .8, ln .2]
    #   z' = [1 + ln .8, 0.5 · 2 + ln .2] = [1 + ln .8, 1 + ln .2]; z'_0 - z'_1 = ln 4
    #   CE = log(1 + e^(ln 4)) = ln 5 = 1.6094379124341003
    logits = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    value = vs_loss(logits, torch.tensor([1]), [4, 1], gamma=0.5, tau=1.0)
    assert value.item() == pytest.approx(1.6094379124341003, abs=1e-12)


# --- identities -----------------------------------------------------------------------------


def test_balanced_softmax_is_logit_adjusted_with_tau_one():
    logits, targets = _random()
    assert _close(balanced_softmax_loss(logits, targets, COUNTS),
                  logit_adjusted_loss(logits, targets, COUNTS, tau=1.0))


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.7])
def test_vs_with_gamma_zero_is_logit_adjusted(tau):
    logits, targets = _random(seed=1)
    assert _close(vs_loss(logits, targets, COUNTS, gamma=0.0, tau=tau),
                  logit_adjusted_loss(logits, targets, COUNTS, tau=tau))


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_ldam_with_zero_margin_is_scaled_cross_entropy(scale):
    logits, targets = _random(cosine=True, seed=2)
    margins = ldam_margins(COUNTS, max_margin=0.0)
    assert _close(ldam_loss(logits, targets, margins, scale=scale),
                  F.cross_entropy(scale * logits, targets))
    module = build("ldam", COUNTS, max_margin=0.0, scale=scale)
    assert torch.allclose(module(logits, targets), F.cross_entropy(scale * logits, targets))


def test_logit_adjusted_with_tau_zero_is_cross_entropy():
    logits, targets = _random(seed=3)
    assert _close(logit_adjusted_loss(logits, targets, COUNTS, tau=0.0),
                  F.cross_entropy(logits, targets))


def test_modules_equal_functions():
    logits, targets = _random(cosine=True, seed=4)
    pairs = [
        (build("ldam", COUNTS, max_margin=0.3, scale=20.0),
         ldam_loss(logits, targets, ldam_margins(COUNTS, 0.3), scale=20.0)),
        (build("logit_adjusted", COUNTS, tau=1.5),
         logit_adjusted_loss(logits, targets, COUNTS, tau=1.5)),
        (build("balanced_softmax", COUNTS), balanced_softmax_loss(logits, targets, COUNTS)),
        (build("vs", COUNTS, gamma=0.2, tau=1.2),
         vs_loss(logits, targets, COUNTS, gamma=0.2, tau=1.2)),
    ]
    for module, expected in pairs:
        # the buffers are float32; float64 logits see them rounded to ~1e-7
        assert torch.allclose(module(logits, targets), expected, rtol=1e-6, atol=1e-7), module
        assert torch.allclose(module.to(torch.float64)(logits, targets), expected), module


def test_ldam_margin_only_lowers_the_target_logit():
    # a margin makes the loss larger than plain scaled CE, never smaller
    logits, targets = _random(cosine=True, seed=5)
    margins = ldam_margins(COUNTS)
    assert ldam_loss(logits, targets, margins) > F.cross_entropy(30.0 * logits, targets)


# --- LDAM-DRW -------------------------------------------------------------------------------


def test_drw_switches_weights_on_at_the_fraction_drw_start_of_training():
    from lt_lab.reweighting.losses import class_weights

    logits, targets = _random(cosine=True, seed=6)
    loss = build("ldam", COUNTS, drw_start=0.3, beta=0.999).to(torch.float64)
    margins = ldam_margins(COUNTS)
    unweighted = ldam_loss(logits, targets, margins)
    weighted = ldam_loss(logits, targets, margins,
                         weight=class_weights(COUNTS, "effective_number", beta=0.999))
    assert not torch.allclose(unweighted, weighted)
    assert torch.allclose(loss(logits, targets), unweighted)  # before set_epoch: off
    for epoch in range(3):
        loss.set_epoch(epoch, 10)
        assert torch.allclose(loss(logits, targets), unweighted), epoch
    for epoch in (3, 9):
        loss.set_epoch(epoch, 10)
        assert torch.allclose(loss(logits, targets), weighted), epoch


def test_drw_weights_by_hand_in_the_module():
    # β = 0.5, counts [2, 1]: (1-β)/(1-β^n) = [0.5/0.75, 0.5/0.5] = [2/3, 1]; sum 5/3;
    # normalised to sum C = 2: × 6/5 → [0.8, 1.2]
    loss = build("ldam", [2, 1], drw_start=0.5, beta=0.5)
    assert loss.weight.tolist() == pytest.approx([0.8, 1.2], abs=1e-6)
    loss.set_epoch(1, 2)
    assert loss.current_weight().tolist() == pytest.approx([0.8, 1.2], abs=1e-6)
    assert build("ldam", [2, 1]).current_weight() is None  # plain LDAM is unweighted


def test_ldam_without_drw_ignores_set_epoch():
    logits, targets = _random(cosine=True, seed=7)
    loss = build("ldam", COUNTS).to(torch.float64)
    before = loss(logits, targets)
    loss.set_epoch(150, 200)
    assert torch.equal(loss(logits, targets), before)


def test_a_drw_switch_that_rounds_to_the_end_warns():
    # as the reweighting losses do: the run is legal, but plain LDAM throughout
    loss = build("ldam", COUNTS, drw_start=0.99)  # round(0.99 * 16) = 16: never
    with pytest.warns(UserWarning, match="drw_start=0.99"):
        loss.set_epoch(0, 16)
    loss.set_epoch(15, 16)
    assert not loss.weights_active


def test_drw_from_epoch_zero_is_weighted_from_the_start():
    loss = build("ldam", COUNTS, drw_start=0.0)
    assert loss.weights_active
    assert not build("ldam", COUNTS).weights_active


# --- registry, parameters and errors --------------------------------------------------------


def test_all_four_build_with_params():
    assert isinstance(build("ldam", COUNTS, max_margin=0.3, scale=10.0, drw_start=0.5, beta=0.99),
                      LDAMLoss)
    assert isinstance(build("logit_adjusted", COUNTS, tau=0.5), LogitAdjustedLoss)
    assert isinstance(build("balanced_softmax", COUNTS), BalancedSoftmaxLoss)
    assert isinstance(build("vs", COUNTS, gamma=0.2, tau=1.2), VSLoss)


def test_loss_parameters():
    assert loss_parameters("ldam") == ["max_margin", "scale", "drw_start", "beta"]
    assert loss_parameters("logit_adjusted") == ["tau"]
    assert loss_parameters("balanced_softmax") == []
    assert loss_parameters("vs") == ["gamma", "tau"]


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_a_config_error(name):
    with pytest.raises(ConfigError, match="margin_max"):
        build(name, COUNTS, margin_max=0.5)


@pytest.mark.parametrize("name", NAMES)
def test_build_without_counts_does_not_raise_but_forward_does(name):
    loss = build(name)  # what RunConfig.validate() does
    logits, targets = _random()
    with pytest.raises(ConfigError, match="class_counts"):
        loss(logits, targets)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_number_of_classes_is_a_config_error(name):
    loss = build(name, [10, 5, 1])
    logits, targets = _random(classes=4)
    with pytest.raises(ConfigError, match="3 classes"):
        loss(logits, targets)


@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("ldam", {"max_margin": -0.1}, "max_margin"),
        ("ldam", {"max_margin": float("inf")}, "max_margin"),
        ("ldam", {"scale": 0.0}, "scale"),
        ("ldam", {"scale": -30.0}, "scale"),
        ("ldam", {"scale": "thirty"}, "scale"),
        ("ldam", {"drw_start": -0.1}, "drw_start"),
        ("ldam", {"drw_start": 1.0}, "drw_start"),
        ("ldam", {"drw_start": 160}, "drw_start"),
        ("ldam", {"beta": 1.0}, "beta"),
        ("ldam", {"beta": -0.5}, "beta"),
        ("logit_adjusted", {"tau": float("nan")}, "tau"),
        ("logit_adjusted", {"tau": -1.0}, "tau"),
        ("vs", {"gamma": -0.3}, "gamma"),
        ("vs", {"gamma": float("inf")}, "gamma"),
        ("vs", {"tau": float("nan")}, "tau"),
    ],
)
def test_bad_parameter_is_named(name, params, parameter):
    with pytest.raises(ConfigError, match=parameter):
        build(name, COUNTS, **params)
    with pytest.raises(ConfigError, match=parameter):  # without counts too, as validate() does
        build(name, None, **params)


def test_config_validation_catches_bad_loss_params():
    with pytest.raises(ConfigError, match="scale"):
        make_config("smoke", loss="ldam", head="cosine", loss_params={"scale": 0})
    config = make_config("smoke", loss="vs", loss_params={"gamma": 0.2, "tau": 1.2})
    assert config.loss_params == {"gamma": 0.2, "tau": 1.2}


def test_functions_reject_non_positive_counts():
    with pytest.raises(ConfigError, match="class_counts"):
        log_prior([3, 0])
    with pytest.raises(ConfigError, match="class_counts"):
        ldam_margins([3, -1])


# --- numerics and devices -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_finite_for_extreme_logits(name):
    loss = build(name, [1000, 10, 1])
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]], requires_grad=True)
    value = loss(logits, torch.tensor([1, 0]))
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_buffers_follow_to(name):
    loss = build(name, COUNTS)
    buffers = dict(loss.named_buffers())
    assert buffers, name  # the per-class tensors are buffers, so .to(device) moves them
    assert all(b.dtype == torch.float32 for b in buffers.values())
    loss = loss.to(torch.float64)
    assert all(b.dtype == torch.float64 for b in loss.buffers())
    logits, targets = _random(seed=8)
    assert loss(logits, targets).dtype == torch.float64
    assert set(loss.state_dict()) == set(buffers)


def test_float32_logits_with_float64_buffers():
    loss = build("vs", COUNTS).to(torch.float64)
    logits, targets = _random(seed=9)
    assert loss(logits.float(), targets).dtype == torch.float32


# --- training smoke -------------------------------------------------------------------------


@pytest.mark.data
@pytest.mark.slow
def test_ldam_drw_trains(store):
    from lt_lab.train import fit

    config = make_config("smoke", epochs=2, loss="ldam", head="cosine",
                         loss_params={"drw_start": 0.5})
    record = fit(config, store=store).record
    assert all(math.isfinite(v) for v in record["curves"]["train_loss"])
    assert 0.0 <= record["metrics"]["acc"] <= 1.0
    assert record["config"]["loss_params"] == {"drw_start": 0.5}


@pytest.mark.data
@pytest.mark.slow
def test_balanced_softmax_trains(store):
    from lt_lab.train import fit

    record = fit(make_config("smoke", epochs=1, loss="balanced_softmax"), store=store).record
    assert all(math.isfinite(v) for v in record["curves"]["train_loss"])
    assert 0.0 <= record["metrics"]["acc"] <= 1.0
