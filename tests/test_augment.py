"""Tests for lt_lab.data.augment: crops and flips checked against hand-listed pixel values."""

from __future__ import annotations

import math

import torch

from lt_lab.data.augment import augment, random_crop, random_flip

# A 4x4 image with pixel values 0..15:
#    0  1  2  3
#    4  5  6  7
#    8  9 10 11
#   12 13 14 15
IMAGE = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)

# Zero-padded by 1 it is 6x6; the nine 4x4 windows, keyed by (top, left) offset in 0..2:
WINDOWS = {
    (0, 0): [[0, 0, 0, 0], [0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]],
    (0, 1): [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
    (0, 2): [[0, 0, 0, 0], [1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0]],
    (1, 0): [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10], [0, 12, 13, 14]],
    (1, 1): [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]],
    (1, 2): [[1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0], [13, 14, 15, 0]],
    (2, 0): [[0, 4, 5, 6], [0, 8, 9, 10], [0, 12, 13, 14], [0, 0, 0, 0]],
    (2, 1): [[4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15], [0, 0, 0, 0]],
    (2, 2): [[5, 6, 7, 0], [9, 10, 11, 0], [13, 14, 15, 0], [0, 0, 0, 0]],
}

# The mirror (left-right) of IMAGE:
MIRROR = [[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8], [15, 14, 13, 12]]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _which_window(crop: torch.Tensor):
    """The (top, left) key of the hand-listed window ``crop`` (4x4) equals, or None."""
    for key, window in WINDOWS.items():
        if crop.tolist() == window:
            return key
    return None


def test_crop_padding_zero_returns_input():
    batch = torch.rand(3, 2, 5, 5)
    out = random_crop(batch, 0, _gen())
    assert torch.equal(out, batch)


def test_crop_is_one_of_the_nine_windows_and_offsets_vary():
    # 300 copies: each window is missed with probability (8/9)^300 < 1e-15.
    batch = IMAGE.expand(300, 1, 4, 4).clone()
    out = random_crop(batch, 1, _gen())
    assert out.shape == (300, 1, 4, 4)
    keys = [_which_window(out[i, 0]) for i in range(300)]
    assert None not in keys
    assert set(keys) == set(WINDOWS)


def test_crop_offsets_roughly_uniform():
    # Each of the 9 offsets with p = 1/9 over 900 images: 100 expected, sd = sqrt(900/9*8/9)
    batch = IMAGE.expand(900, 1, 4, 4).clone()
    out = random_crop(batch, 1, _gen(3))
    keys = [_which_window(out[i, 0]) for i in range(900)]
    sd = math.sqrt(900 * (1 / 9) * (8 / 9))
    for key in WINDOWS:
        assert abs(keys.count(key) - 100) <= 5 * sd


def test_crop_uses_one_offset_for_all_channels():
    # Channel 1 is the negative of channel 0; zero padding stays zero under negation, so the
    # two output channels are negatives of each other only if they share the same offset.
    two = torch.cat([IMAGE, -IMAGE], 1).expand(100, 2, 4, 4).clone()
    out = random_crop(two, 1, _gen())
    assert torch.equal(out[:, 1], -out[:, 0])
    assert _which_window(out[0, 0]) is not None


def test_crop_padding_two_reaches_the_extreme_offsets():
    # Padding 2 on a 4x4 makes an 8x8; offsets run over 0..4 on each axis (25 windows).
    # Offset (0, 0): rows 0-1 and columns 0-1 of the window are padding, the original
    # top-left 2x2 [[0, 1], [4, 5]] sits in the bottom-right corner. Offset (4, 4): the
    # original bottom-right 2x2 [[10, 11], [14, 15]] sits in the top-left corner.
    # 600 images: an offset is missed with probability (24/25)^600 < 1e-10.
    top_left = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 4, 5]]
    bottom_right = [[10, 11, 0, 0], [14, 15, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    batch = IMAGE.expand(600, 1, 4, 4).clone()
    out = random_crop(batch, 2, _gen())
    assert out.shape == (600, 1, 4, 4)
    crops = [out[i, 0].tolist() for i in range(600)]
    assert top_left in crops
    assert bottom_right in crops
    # Original pixel (r, c) lands at (r + 2 - top, c + 2 - left), so each offset gives a
    # different window: exactly 25 distinct crops.
    assert len({str(c) for c in crops}) == 25


def test_crop_preserves_uint8():
    batch = (IMAGE.to(torch.uint8) + 100).expand(50, 1, 4, 4).clone()
    out = random_crop(batch, 1, _gen())
    assert out.dtype == torch.uint8
    # Padding is 0, every other value is 100..115.
    assert set(out.unique().tolist()) <= {0, *range(100, 116)}


def test_crop_deterministic_for_seeded_generator():
    batch = torch.rand(64, 3, 8, 8)
    a = random_crop(batch, 2, _gen(11))
    b = random_crop(batch, 2, _gen(11))
    c = random_crop(batch, 2, _gen(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_flip_is_original_or_mirror_and_about_half():
    # 2000 images, p = 1/2: 1000 expected, sd = sqrt(2000 * 0.25) = 22.4
    batch = IMAGE.expand(2000, 1, 4, 4).clone()
    out = random_flip(batch, _gen())
    original = IMAGE[0, 0].tolist()
    flipped = 0
    for i in range(2000):
        view = out[i, 0].tolist()
        assert view in (original, MIRROR)
        flipped += view == MIRROR
    assert abs(flipped - 1000) <= 5 * math.sqrt(2000 * 0.25)


def test_flip_same_for_all_channels_and_uint8():
    two = torch.cat([IMAGE, IMAGE + 16], 1).to(torch.uint8).expand(100, 2, 4, 4).clone()
    out = random_flip(two, _gen())
    assert out.dtype == torch.uint8
    assert torch.equal(out[:, 1], out[:, 0] + 16)


def test_flip_deterministic_for_seeded_generator():
    batch = torch.rand(64, 3, 8, 8)
    assert torch.equal(random_flip(batch, _gen(5)), random_flip(batch, _gen(5)))
    assert not torch.equal(random_flip(batch, _gen(5)), random_flip(batch, _gen(6)))


def test_augment_without_crop_or_flip_is_identity():
    batch = torch.rand(4, 3, 8, 8)
    assert torch.equal(augment(batch, padding=0, flip=False, generator=_gen()), batch)


def test_augment_crop_then_flip():
    # Every output is one of the 9 windows or the mirror of one of them.
    batch = IMAGE.expand(200, 1, 4, 4).clone()
    out = augment(batch, padding=1, flip=True, generator=_gen())
    allowed = list(WINDOWS.values()) + [[row[::-1] for row in w] for w in WINDOWS.values()]
    for i in range(200):
        assert out[i, 0].tolist() in allowed
    # Without a flip, only the 9 windows.
    out = augment(batch, padding=1, flip=False, generator=_gen())
    assert all(_which_window(out[i, 0]) is not None for i in range(200))
