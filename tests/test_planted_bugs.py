"""Tests that catch three bugs a planted-bug review found uncaught (issue 33).

* the focal loss's modulating factor ``(1 - p_t)^γ`` detached from the graph: the loss value
  is unchanged, only its gradient is wrong (2.7x off at the point below);
* the LDS Laplace window computed as ``exp(-x² / σ)``: at ks = 3 (|x| ≤ 1) it equals
  ``exp(-|x| / σ)``, so only a window of ks ≥ 5 tells them apart;
* a component version (``Config.versions()``) left out of the store key: a changed sampler
  would then reuse the records of the old one.

Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

import lt_lab.config as config_module
from lt_lab.config import Config, make_config
from lt_lab.data import samplers
from lt_lab.regression.lds import kernel_window, smooth_density
from lt_lab.reweighting.losses import focal_loss

# --- the focal loss's gradient ---------------------------------------------------------
#
# logits z = [0, ln 3], target t = 1: p = [1/4, 3/4], p_t = 3/4.
# FL = -(1 - p_t)^γ ln p_t, and dp_t/dz_j = p_t (δ_tj - p_j):
#   dp_t/dz_1 = 3/4 · 1/4 = 3/16,  dp_t/dz_0 = -3/4 · 1/4 = -3/16.
# dFL/dp_t = γ (1 - p_t)^(γ-1) ln p_t - (1 - p_t)^γ / p_t.
# γ = 2: 2 · 1/4 · ln(3/4) - (1/16)/(3/4) = 0.5 · (-0.2876820724517809) - 1/12
#      = -0.14384103622589045 - 0.08333333333333333 = -0.22717436955922378
#   dFL/dz_1 = -0.22717436955922378 · 3/16 = -0.04259519429235446;  dFL/dz_0 = +0.0425951...
# With the factor detached only the second term is left: -1/12 · 3/16 = -1/64 = -0.015625
# (2.73x smaller), which this test rejects.
FOCAL_GRAD_G2 = 0.04259519429235446
# γ = 1: ln(3/4) - (1/4)/(3/4) = -0.2876820724517809 - 0.3333333333333333 = -0.6210154057851142
#   dFL/dz_1 = -0.6210154057851142 · 3/16 = -0.11644038858470891
FOCAL_GRAD_G1 = 0.11644038858470891


def _focal_grad(gamma: float, weight=None, targets=(1,)) -> torch.Tensor:
    logits = torch.tensor([[0.0, math.log(3.0)]] * len(targets), dtype=torch.float64,
                          requires_grad=True)
    focal_loss(logits, torch.tensor(targets), gamma, weight).backward()
    return logits.grad


def test_focal_gradient_by_hand():
    grad = _focal_grad(2.0).flatten().tolist()
    assert grad == pytest.approx([FOCAL_GRAD_G2, -FOCAL_GRAD_G2], abs=1e-12)
    grad = _focal_grad(1.0).flatten().tolist()
    assert grad == pytest.approx([FOCAL_GRAD_G1, -FOCAL_GRAD_G1], abs=1e-12)


def test_focal_gradient_gamma_zero_is_ce_gradient():
    # γ = 0: d(-ln p_t)/dz = p - onehot(t) = [1/4, 3/4] - [0, 1] = [0.25, -0.25]
    assert _focal_grad(0.0).flatten().tolist() == pytest.approx([0.25, -0.25], abs=1e-12)


def test_weighted_focal_gradient_by_hand():
    # Targets [1, 0] at the same logits, class weights [0.5, 3]: w_y = [3, 0.5], and the
    # loss is (3 FL_1 + 0.5 FL_2) / 3.5.
    # Row 2, t = 0, p_t = 1/4, γ = 2: dFL/dp_t = 2 · 3/4 · ln(1/4) - (9/16)/(1/4)
    #   = 1.5 · (-1.3862943611198906) - 2.25 = -2.0794415416798357 - 2.25 = -4.3294415...
    #   dp_t/dz_0 = 1/4 · 3/4 = 3/16 -> dFL/dz_0 = -0.8117702890649693, dFL/dz_1 = +0.81177...
    # Row 1 (t = 1): 3/3.5 · 0.04259519429235446 = 0.036510166536303824 (on z_0)
    # Row 2 (t = 0): 0.5/3.5 · (-0.8117702890649693) = -0.11596718415213847 (on z_0)
    grad = _focal_grad(2.0, torch.tensor([0.5, 3.0]), targets=(1, 0)).flatten().tolist()
    row1, row2 = 0.036510166536303824, -0.11596718415213847
    assert grad == pytest.approx([row1, -row1, row2, -row2], abs=1e-12)


# --- the LDS Laplace window at ks = 5 ---------------------------------------------------
#
# ks = 5: x = -2, -1, 0, 1, 2. σ = 2: exp(-|x|/2) = [e^-1, e^-0.5, 1, e^-0.5, e^-1]
#   = [0.36787944117144233, 0.6065306597126334, 1, 0.6065306597126334, 0.36787944117144233]
# sum = 1 + 2 · 0.6065306597126334 + 2 · 0.36787944117144233 = 2.9488202017681515
# window = [0.12475479..., 0.20568587..., 0.33911868..., 0.20568587..., 0.12475479...]
# (exp(-x²/2) would give e^-2 = 0.1353 at x = ±2 before normalising: a different window.)
LAPLACE_5_SUM = 2.9488202017681515
LAPLACE_5 = [0.36787944117144233 / LAPLACE_5_SUM, 0.6065306597126334 / LAPLACE_5_SUM,
             1 / LAPLACE_5_SUM, 0.6065306597126334 / LAPLACE_5_SUM,
             0.36787944117144233 / LAPLACE_5_SUM]


def test_laplace_window_ks5_by_hand():
    window = kernel_window("laplace", 5, 2.0)
    assert window.tolist() == pytest.approx(LAPLACE_5, abs=1e-12)
    assert window[0] == pytest.approx(0.12475479, abs=1e-8)
    assert window[2] == pytest.approx(0.33911868, abs=1e-8)


def test_laplace_window_is_geometric():
    # exp(-|x|/σ): each step away from the centre multiplies by e^(-1/σ); σ = 1, ks = 7:
    # ratios all e^-1 = 0.36787944117144233 (x² would give e^-1, e^-3, e^-5)
    window = kernel_window("laplace", 7, 1.0)
    ratios = (window[:3] / window[1:4]).tolist()
    assert ratios == pytest.approx([math.exp(-1.0)] * 3, abs=1e-12)


def test_laplace_smoothing_of_a_spike_by_hand():
    # counts with one spike of 10 in the middle of 5 bins: p̃ = 10 · window
    #   = [1.2475479..., 2.0568587..., 3.3911868..., 2.0568587..., 1.2475479...]
    smoothed = smooth_density([0, 0, 10, 0, 0], "laplace", 5, 2.0)
    assert smoothed.tolist() == pytest.approx([10 * w for w in LAPLACE_5], abs=1e-12)


# --- every component version reaches the store key -------------------------------------


# Component versions of the toy config: a module-level table, as SAMPLER_VERSIONS is,
# so that a version is never also a config field (a field away from its default enters
# the key on its own, which would hide a versions() left out of it).
TOY_VERSIONS = {"a_version": 2, "b_version": 3}


@dataclass(frozen=True)
class _Versioned(Config):
    """A toy config whose versions() returns two component versions (kind "" is not
    registered as a record kind)."""

    profile: str = "p"
    profiles: ClassVar[dict[str, dict]] = {"p": {}}

    def versions(self) -> dict:
        return dict(TOY_VERSIONS)


def test_key_is_the_hash_of_kind_cache_version_and_versions():
    # No field differs from its default, profile is excluded; the key material is
    #   {"a_version":2,"b_version":3,"cache_version":1,"kind":""} (sorted, no spaces)
    # hashed with SHA-256, first 16 hex digits.
    assert config_module.CACHE_VERSION == 1
    canonical = '{"a_version":2,"b_version":3,"cache_version":1,"kind":""}'
    expected = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert _Versioned().key() == expected


@pytest.mark.parametrize("name", sorted(TOY_VERSIONS))
def test_changing_any_one_version_changes_the_key(monkeypatch, name):
    before = _Versioned().key()
    monkeypatch.setitem(TOY_VERSIONS, name, 7)
    assert _Versioned().key() != before


def test_cache_version_reaches_the_key(monkeypatch):
    before = _Versioned().key()
    monkeypatch.setattr(config_module, "CACHE_VERSION", 2)
    assert _Versioned().key() != before


@pytest.mark.parametrize("sampler", sorted(samplers.SAMPLER_VERSIONS))
def test_each_sampler_version_reaches_the_run_key(monkeypatch, sampler):
    config = make_config("smoke", sampler=sampler)
    assert config.versions() == {"sampler_version": samplers.SAMPLER_VERSIONS[sampler]}
    before = config.key()
    monkeypatch.setitem(samplers.SAMPLER_VERSIONS, sampler, 3)
    assert config.versions() == {"sampler_version": 3}
    assert config.key() != before
    other = make_config("smoke", sampler="instance")
    monkeypatch.setitem(samplers.SAMPLER_VERSIONS, sampler, 4)
    assert other.versions() == {}  # a sampler at version 1 adds nothing to the key


def test_unversioned_sampler_key_ignores_other_versions(monkeypatch):
    # A run that uses no versioned component keeps its key when another component's
    # version is bumped: only the runs that use the component are retrained.
    config = make_config("smoke", sampler="instance")
    before = config.key()
    monkeypatch.setitem(samplers.SAMPLER_VERSIONS, "oversample", 9)
    assert config.key() == before
