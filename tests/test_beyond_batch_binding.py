"""Tests for lt_lab.beyond.batch_binding (Kini et al. 2024): every batch holds every class,
the epoch is covered, the batches are fixed by the seed."""

from __future__ import annotations

import pytest
import torch

from lt_lab.beyond.batch_binding import BatchBindingSampler, batch_binding, binding_indices
from lt_lab.errors import ConfigError

# a long tail of 3 classes, head first, interleaved: 6 + 3 + 1 = 10 examples
LABELS = torch.tensor([0, 0, 1, 0, 2, 0, 1, 0, 1, 0])


def test_binding_indices_are_the_first_of_each_class():
    # class 0 first at 0, class 1 first at 2, class 2 first (and only) at 4
    assert binding_indices(LABELS).tolist() == [0, 2, 4]
    assert binding_indices(torch.tensor([2, 1, 1, 0])).tolist() == [3, 1, 0]


def test_every_batch_holds_every_class():
    # batch_size 3 on 10 examples: batches of 3, 3, 3 and 1 drawn, each + 3 bound
    batches = batch_binding(LABELS, batch_size=3, seed=0)
    assert [len(b) for b in batches] == [6, 6, 6, 4]
    for batch in batches:
        assert set(LABELS[batch].tolist()) == {0, 1, 2}
        assert batch[-3:].tolist() == [0, 2, 4]  # the bound examples close every batch


def test_the_drawn_parts_cover_the_epoch_once():
    batches = batch_binding(LABELS, batch_size=3, seed=5)
    drawn = torch.cat([b[:-3] for b in batches])
    assert sorted(drawn.tolist()) == list(range(10))


def test_deterministic_per_seed():
    first = batch_binding(LABELS, batch_size=4, seed=7)
    again = batch_binding(LABELS, batch_size=4, seed=7)
    other = batch_binding(LABELS, batch_size=4, seed=8)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_drop_last_skips_the_incomplete_batch_as_the_official_loop():
    # 10 examples, batch_size 4: batches of 4 and 4 drawn, the last 2 dropped
    batches = batch_binding(LABELS, batch_size=4, seed=0, drop_last=True)
    assert [len(b) for b in batches] == [7, 7]
    assert len(set(torch.cat([b[:-3] for b in batches]).tolist())) == 8


def test_a_generator_is_advanced_and_reproducible():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = batch_binding(LABELS, 4, generator=g1)
    b = batch_binding(LABELS, 4, generator=g2)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert torch.equal(torch.cat(batch_binding(LABELS, 4, seed=3)), torch.cat(a))


def test_sampler_epoch_cut_into_steps_gives_bound_batches():
    sampler = BatchBindingSampler(LABELS, 3, batch_size=3)
    assert sampler.step == 6
    indices = sampler.epoch_indices(0, torch.Generator().manual_seed(1))
    assert len(indices) == len(sampler) == 10 + 4 * 3  # 10 drawn + 4 batches x 3 bound
    for start in range(0, len(indices), sampler.step):
        assert set(LABELS[indices[start:start + sampler.step]].tolist()) == {0, 1, 2}
    dropped = BatchBindingSampler(LABELS, 3, batch_size=4, drop_last=True)
    assert len(dropped) == 8 + 2 * 3
    assert len(dropped.epoch_indices(0, torch.Generator().manual_seed(1))) == len(dropped)


def test_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="batch_size"):
        batch_binding(LABELS, 0)
    with pytest.raises(ConfigError, match="classes \\[1\\]"):
        binding_indices(torch.tensor([0, 2, 2]))
    with pytest.raises(ConfigError, match="num_classes"):
        binding_indices(LABELS, num_classes=2)
    with pytest.raises(ConfigError, match="labels"):
        binding_indices(torch.tensor([0.0, 1.0]))
    with pytest.raises(ConfigError, match="drop_last"):
        batch_binding(LABELS, 3, drop_last="no")
    with pytest.raises(ConfigError, match="seed"):
        batch_binding(LABELS, 3, seed=-1)
