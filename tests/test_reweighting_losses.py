"""Tests for lt_lab.reweighting.losses; expected values are worked out by hand in comments."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lt_lab.config import make_config
from lt_lab.errors import ConfigError
from lt_lab.losses import build, loss_parameters
from lt_lab.losses.basic import cross_entropy
from lt_lab.reweighting.losses import (
    class_weights,
    effective_number,
    focal_loss,
    weighted_cross_entropy,
)

LN3 = math.log(3.0)

# logits [0, ln 3]: softmax = [1, 3] / 4 = [1/4, 3/4]
#   target 1: CE = -ln(3/4) = 0.2876820724517809
#   target 0: CE = -ln(1/4) = ln 4 = 1.3862943611198906
CE_T1 = 0.2876820724517809
CE_T0 = 1.3862943611198906
# focal γ = 2:
#   target 1: (1 - 3/4)^2 · 0.287682 = 0.0625 · 0.287682 = 0.017980129528236306
#   target 0: (1 - 1/4)^2 · 1.386294 = 0.5625 · 1.386294 = 0.7797905781299385
FOCAL_T1 = 0.017980129528236306
FOCAL_T0 = 0.7797905781299385

WEIGHTED = ("weighted_ce", "class_balanced", "cb_focal")
ALL = ("weighted_ce", "class_balanced", "focal", "cb_focal")


def _logits(rows: int = 1) -> torch.Tensor:
    return torch.tensor([[0.0, LN3]] * rows, dtype=torch.float64)


def _batch(seed: int = 0, n: int = 32, c: int = 3):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=generator, dtype=torch.float64) * 3
    targets = torch.randint(c, (n,), generator=generator)
    return logits, targets


# --- class weights ---------------------------------------------------------------------


def test_class_weights_by_hand():
    # inverse, counts [4, 1]: raw [1/4, 1], sum 5/4; times C / sum = 2 / 1.25 = 1.6
    #   -> [0.4, 1.6]
    assert class_weights([4, 1], "inverse").tolist() == pytest.approx([0.4, 1.6], abs=1e-7)
    # inverse_sqrt, counts [4, 1]: raw [1/2, 1], sum 3/2; times 2 / 1.5 = 4/3 -> [2/3, 4/3]
    assert class_weights([4, 1], "inverse_sqrt").tolist() == pytest.approx(
        [2 / 3, 4 / 3], abs=1e-7
    )
    # effective number, β = 0.5, counts [2, 1]: E_2 = (1 - 0.25) / 0.5 = 1.5, E_1 = 1;
    #   raw 1/E = [2/3, 1], sum 5/3; times 2 / (5/3) = 6/5 -> [0.8, 1.2]
    w = class_weights([2, 1], "effective_number", beta=0.5)
    assert w.tolist() == pytest.approx([0.8, 1.2], abs=1e-7)
    # uniform: all ones whatever the counts
    assert class_weights([100, 10, 1], "uniform").tolist() == [1.0, 1.0, 1.0]


def test_class_weights_dtype_and_sum():
    for scheme, beta in [("uniform", None), ("inverse", None), ("inverse_sqrt", None),
                         ("effective_number", 0.9999), ("effective_number", 0.5)]:
        w = class_weights([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], scheme, beta)
        assert w.dtype == torch.float32
        assert w.sum().item() == pytest.approx(10.0, rel=1e-6)
        assert (w[1:] >= w[:-1]).all()  # rarer class, no smaller weight


def test_effective_number_by_hand_and_limits():
    # β = 0.5, n = 2: (1 - 0.25) / (1 - 0.5) = 1.5; n = 3: (1 - 0.125) / 0.5 = 1.75
    assert effective_number(torch.tensor([2, 3]), 0.5).tolist() == pytest.approx([1.5, 1.75])
    # β = 0: (1 - 0^n) / 1 = 1 for every n >= 1
    assert effective_number(torch.tensor([1, 7, 500]), 0.0).tolist() == [1.0, 1.0, 1.0]
    # β → 1: E_n → n (E_n = n - n(n-1)/2 · (1 - β) + ...; n = 10: 10 - 45e-6)
    assert effective_number(10, 0.999999).item() == pytest.approx(10.0, rel=1e-5)
    assert effective_number(10, 1.0).item() == 10.0  # the limit itself


def test_beta_zero_is_uniform():
    w = class_weights([100, 10, 1], "effective_number", beta=0.0)
    assert w.tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-7)


def test_beta_to_one_is_inverse_frequency():
    # inverse, counts [100, 10, 1]: raw [0.01, 0.1, 1], sum 1.11; times 3 / 1.11
    #   -> [0.027027, 0.270270, 2.702703]
    inverse = [0.03 / 1.11, 0.3 / 1.11, 3 / 1.11]
    w = class_weights([100, 10, 1], "effective_number", beta=0.999999)
    assert w.tolist() == pytest.approx(inverse, rel=1e-3)
    assert w.sum().item() == pytest.approx(3.0, rel=1e-6)


def test_class_weights_errors():
    with pytest.raises(ConfigError, match="scheme") as info:
        class_weights([4, 1], "inversee")
    assert "'inverse_sqrt'" in str(info.value)  # lists the allowed schemes
    for beta in (1.0, -0.1, 1.5, None):
        with pytest.raises(ConfigError, match="beta"):
            class_weights([4, 1], "effective_number", beta=beta)
    with pytest.raises(ConfigError, match="beta"):
        class_weights([4, 1], "inverse", beta=0.9)  # beta would be silently ignored
    with pytest.raises(ConfigError, match="class_counts"):
        class_weights([4, 0], "inverse")


# --- focal and weighted CE -------------------------------------------------------------


def test_focal_by_hand():
    # logits [0, ln 3], target 1: p_t = 3/4, γ = 2 -> (1/4)^2 · (-ln 3/4) = 0.017980...
    value = focal_loss(_logits(), torch.tensor([1]), gamma=2.0)
    assert value.item() == pytest.approx(FOCAL_T1, abs=1e-12)
    # γ = 1: (1/4) · 0.287682 = 0.07192051811294523
    value = focal_loss(_logits(), torch.tensor([1]), gamma=1.0)
    assert value.item() == pytest.approx(0.07192051811294523, abs=1e-12)
    # two samples, targets [1, 0], unweighted mean: (0.017980 + 0.779791) / 2 = 0.398885...
    loss = build("focal", class_counts=[4, 1])
    value = loss(_logits(2), torch.tensor([1, 0]))
    assert value.item() == pytest.approx(0.3988853538290874, abs=1e-12)


def test_focal_gamma_zero_is_ce_exactly():
    logits, targets = _batch()
    assert torch.equal(focal_loss(logits, targets, 0.0), cross_entropy(logits, targets))
    weight = torch.tensor([0.3, 1.1, 1.6])
    assert torch.equal(
        focal_loss(logits, targets, 0.0, weight=weight),
        weighted_cross_entropy(logits, targets, weight),
    )
    assert torch.equal(
        weighted_cross_entropy(logits, targets, weight),
        F.cross_entropy(logits, targets, weight=weight.double()),
    )


def test_weighted_ce_by_hand():
    # counts [4, 1], inverse weights [0.4, 1.6]; targets [1, 0] -> w_y = [1.6, 0.4]:
    #   (1.6 · 0.287682 + 0.4 · 1.386294) / (1.6 + 0.4)
    #   = (0.460291 + 0.554518) / 2 = 0.5074045301854029
    loss = build("weighted_ce", class_counts=[4, 1])
    value = loss(_logits(2), torch.tensor([1, 0]))
    assert value.item() == pytest.approx(0.5074045301854029, abs=1e-7)
    value = weighted_cross_entropy(_logits(2), torch.tensor([1, 0]), torch.tensor([0.4, 1.6]))
    assert value.item() == pytest.approx(0.5074045301854029, abs=1e-12)


def test_cb_focal_by_hand():
    # counts [2, 1], β = 0.5 -> weights [0.8, 1.2] (see test_class_weights_by_hand);
    # targets [1, 0] -> w_y = [1.2, 0.8]; γ = 2 focal terms [0.017980, 0.779791]:
    #   (1.2 · 0.017980 + 0.8 · 0.779791) / (1.2 + 0.8) = 0.32270430896891716
    loss = build("cb_focal", class_counts=[2, 1], beta=0.5, gamma=2.0)
    value = loss(_logits(2), torch.tensor([1, 0]))
    assert value.item() == pytest.approx(0.32270430896891716, abs=1e-7)


def test_class_balanced_by_hand():
    # counts [2, 1], β = 0.5 -> weights [0.8, 1.2]; targets [1, 0] -> w_y = [1.2, 0.8]:
    #   (1.2 · 0.287682 + 0.8 · 1.386294) / 2 = (0.345218 + 1.109035) / 2 = 0.727127
    expected = (1.2 * CE_T1 + 0.8 * CE_T0) / 2
    loss = build("class_balanced", class_counts=[2, 1], beta=0.5)
    assert loss(_logits(2), torch.tensor([1, 0])).item() == pytest.approx(expected, abs=1e-7)


# --- deferred re-weighting -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, params, weighted",
    [
        # counts [2, 1, 1]: inverse raw [1/2, 1, 1], sum 5/2, times 3 / 2.5 -> [0.6, 1.2, 1.2]
        ("weighted_ce", {}, lambda lg, t: F.cross_entropy(
            lg, t, weight=torch.tensor([0.6, 1.2, 1.2], dtype=torch.float64))),
        # β = 0.5, E = [1.5, 1, 1], raw [2/3, 1, 1], sum 8/3, times 3 / (8/3) = 9/8
        #   -> [0.75, 1.125, 1.125]
        ("class_balanced", {"beta": 0.5}, lambda lg, t: F.cross_entropy(
            lg, t, weight=torch.tensor([0.75, 1.125, 1.125], dtype=torch.float64))),
        ("cb_focal", {"beta": 0.5, "gamma": 0.0}, lambda lg, t: F.cross_entropy(
            lg, t, weight=torch.tensor([0.75, 1.125, 1.125], dtype=torch.float64))),
    ],
)
def test_drw_switches_weights_on(name, params, weighted):
    logits, targets = _batch()
    loss = build(name, class_counts=[2, 1, 1], drw_start=0.6, **params)  # epoch 3 of 5
    plain = F.cross_entropy(logits, targets)
    # before set_epoch tells the length of training: uniform weights -> plain CE
    assert loss(logits, targets).item() == pytest.approx(plain.item(), abs=1e-12)
    loss.set_epoch(2, 5)
    assert loss(logits, targets).item() == pytest.approx(plain.item(), abs=1e-12)
    loss.set_epoch(3, 5)
    after = weighted(logits, targets).item()
    assert after != pytest.approx(plain.item(), abs=1e-4)
    assert loss(logits, targets).item() == pytest.approx(after, abs=1e-6)
    loss.set_epoch(0, 5)  # toggles back
    assert loss(logits, targets).item() == pytest.approx(plain.item(), abs=1e-12)
    # without drw_start the weights apply from epoch 0
    always = build(name, class_counts=[2, 1, 1], **params)
    assert always(logits, targets).item() == pytest.approx(after, abs=1e-6)


def test_drw_cb_focal_before_switch_is_plain_focal():
    logits, targets = _batch(1)
    loss = build("cb_focal", class_counts=[50, 5, 1], beta=0.9999, gamma=2.0, drw_start=0.5)
    loss.set_epoch(0, 2)
    assert torch.equal(loss(logits, targets), focal_loss(logits, targets, 2.0))


def test_drw_start_validation_and_warning():
    for bad in (-0.1, 1.0, 1.5, 160, "0.8", True):
        with pytest.raises(ConfigError, match="drw_start"):
            build("class_balanced", class_counts=[2, 1], drw_start=bad)
    loss = build("class_balanced", class_counts=[2, 1], drw_start=0.95)  # round(4.75) = 5 of 5
    with pytest.warns(UserWarning, match="drw_start"):
        loss.set_epoch(0, 5)


def test_drw_start_is_a_fraction_of_training_as_the_lr_milestones():
    loss = build("class_balanced", class_counts=[2, 1], drw_start=0.8)
    loss.set_epoch(0, 200)
    assert loss.drw_epoch == 160  # Cao et al.: epoch 160 of 200
    loss.set_epoch(0, 16)
    assert loss.drw_epoch == 13  # round(12.8)


# --- registry --------------------------------------------------------------------------


def test_build_via_registry_with_params():
    assert loss_parameters("weighted_ce") == ["scheme", "drw_start"]
    assert loss_parameters("class_balanced") == ["beta", "drw_start"]
    assert loss_parameters("focal") == ["gamma"]
    assert loss_parameters("cb_focal") == ["beta", "gamma", "drw_start"]
    counts = [100, 10, 1]
    loss = build("weighted_ce", counts, scheme="inverse_sqrt", drw_start=0.4)
    # counts [100, 10, 1]: raw [0.1, 0.316228, 1], sum 1.416228; times 3 / 1.416228
    #   -> [0.2118303, 0.6698663, 2.1183033]
    assert loss.weight.tolist() == pytest.approx([0.2118303, 0.6698663, 2.1183033], abs=1e-6)
    loss.set_epoch(0, 5)
    assert loss.drw_epoch == 2
    assert build("class_balanced", counts, beta=0.99).beta == 0.99
    assert build("focal", counts, gamma=1.0).gamma == 1.0
    cb = build("cb_focal", counts, beta=0.999, gamma=0.5, drw_start=0.0)
    assert (cb.beta, cb.gamma, cb.drw_epoch) == (0.999, 0.5, 0)
    # defaults: Cui et al. β = 0.9999, Lin et al. γ = 2
    default = build("cb_focal", counts)
    assert (default.beta, default.gamma, default.drw_epoch) == (0.9999, 2.0, None)
    assert build("weighted_ce", counts).scheme == "inverse"


def test_build_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="scheme"):
        build("weighted_ce", [4, 1], scheme="effective")
    with pytest.raises(ConfigError, match="scheme"):
        build("weighted_ce", None, scheme="uniform")  # not one of weighted_ce's schemes
    for name in ("class_balanced", "cb_focal"):
        with pytest.raises(ConfigError, match="beta"):
            build(name, [4, 1], beta=1.0)
        with pytest.raises(ConfigError, match="beta"):
            build(name, None, beta=1.0)  # also caught when RunConfig.validate() builds
    for name in ("focal", "cb_focal"):
        with pytest.raises(ConfigError, match="gamma"):
            build(name, [4, 1], gamma=-1.0)
    with pytest.raises(ConfigError, match="beta"):
        build("focal", [4, 1], beta=0.9)  # focal has no beta


@pytest.mark.parametrize("name", ALL)
def test_build_without_counts_does_not_raise(name):
    assert isinstance(build(name, None), nn.Module)


@pytest.mark.parametrize("name", WEIGHTED)
def test_forward_without_counts_raises(name):
    loss = build(name, None)
    with pytest.raises(ConfigError, match="class_counts"):
        loss(_logits(), torch.tensor([1]))
    # focal needs no counts
    assert torch.isfinite(build("focal", None)(_logits(), torch.tensor([1])))


# --- numerics and device moves ---------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_gradients_finite_for_extreme_logits(name, gamma):
    params = {"gamma": gamma} if name in ("focal", "cb_focal") else {}
    loss = build(name, class_counts=[100, 10, 1], **params)
    for dtype in (torch.float32, torch.float64):
        logits = torch.tensor([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]],
                              dtype=dtype, requires_grad=True)
        # targets: the max logit (p_t rounds to 1), the min (p_t = 0), the max again
        value = loss(logits, torch.tensor([0, 1, 2]))
        value.backward()
        assert torch.isfinite(value)
        assert torch.isfinite(logits.grad).all()


def test_focal_extreme_logits_value():
    # logits [1e4, -1e4, 0], target 1: log p_t = -2e4, p_t = 0, factor 1 -> loss 2e4
    logits = torch.tensor([[1e4, -1e4, 0.0]])
    assert focal_loss(logits, torch.tensor([1]), 2.0).item() == pytest.approx(2e4, rel=1e-6)
    # target 0: p_t = 1 -> loss 0
    assert focal_loss(logits, torch.tensor([0]), 2.0).item() == 0.0


@pytest.mark.parametrize("name", WEIGHTED)
def test_weights_are_buffers_that_move(name):
    loss = build(name, class_counts=[4, 1])
    assert "weight" in dict(loss.named_buffers())
    assert loss.weight.dtype == torch.float32
    moved = loss.to(torch.float64)
    assert moved.weight.dtype == torch.float64
    assert moved.weight.tolist() == pytest.approx(
        class_weights([4, 1], loss.scheme, loss.beta).tolist(), abs=1e-7
    )
    assert "weight" in moved.state_dict()
    value = moved(_logits(2), torch.tensor([1, 0]))
    assert value.dtype == torch.float64
    if torch.cuda.is_available():
        on_gpu = build(name, class_counts=[4, 1]).to("cuda")
        assert on_gpu.weight.device.type == "cuda"
        assert torch.isfinite(on_gpu(_logits(2).cuda(), torch.tensor([1, 0]).cuda()))


# --- training smoke --------------------------------------------------------------------


@pytest.mark.data
@pytest.mark.slow
def test_fit_with_cb_focal(store):
    from lt_lab.train import fit

    config = make_config("smoke", epochs=1, loss="cb_focal",
                         loss_params={"beta": 0.999, "gamma": 1.0})
    result = fit(config, store=store)
    assert 0.0 <= result.metrics["acc"] <= 1.0
    assert math.isfinite(result.record["curves"]["train_loss"][0])


@pytest.mark.data
@pytest.mark.slow
def test_fit_with_class_balanced_drw(store):
    from lt_lab.train import fit

    config = make_config("smoke", epochs=2, loss="class_balanced",
                         loss_params={"drw_start": 0.5})
    result = fit(config, store=store)
    assert 0.0 <= result.metrics["acc"] <= 1.0
    assert len(result.record["curves"]["train_loss"]) == 2
    assert all(math.isfinite(v) for v in result.record["curves"]["train_loss"])
