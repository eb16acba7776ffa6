"""Tests for lt_lab.beyond.geometry: distances of the class-mean Gram matrix to an
orthogonal frame and to a simplex ETF (Kini et al. 2024). Values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lt_lab.beyond.geometry import (
    class_means,
    distance_to_orthogonal_frame,
    distance_to_simplex_etf,
    gram_distance,
    mean_gram,
    scl_geometry,
)
from lt_lab.errors import ConfigError

# Both normalised Grams have unit norm, so Δ² = 2 − 2 <A, B>. OF (I/√3) against the ETF
# ((3/2)(I − J/3), Frobenius norm √(3·1 + 6·¼) = √4.5): <A, B> = tr(G_E)/(√3 √4.5) = 3/√13.5
# = 0.816497, Δ = √(2 − 1.632993) = 0.6058108
OF_TO_ETF = math.sqrt(2 - 2 * 3 / math.sqrt(13.5))


def test_class_means_by_hand():
    # class 0: (1, 0), (3, 0) → (2, 0); class 1: (0, 1) → (0, 1)
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    labels = torch.tensor([0, 1, 0])
    assert class_means(features, labels).tolist() == [[2.0, 0.0], [0.0, 1.0]]
    # G = M M^T = [[4, 0], [0, 1]]
    assert mean_gram(features, labels).tolist() == [[4.0, 0.0], [0.0, 1.0]]


def test_an_orthogonal_frame_by_hand():
    # means e1, e2, e3 (two noisy samples each, averaging to e_c): G = I
    features = torch.tensor([[1.2, 0, 0], [0.8, 0, 0], [0, 1, 0.1], [0, 1, -0.1],
                             [0, 0, 1], [0, 0, 1]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    geometry = scl_geometry(features, labels)
    assert geometry["of_distance"] == pytest.approx(0.0, abs=1e-12)
    assert geometry["etf_distance"] == pytest.approx(OF_TO_ETF, abs=1e-12)
    assert OF_TO_ETF == pytest.approx(0.6058108, abs=1e-7)


def test_a_simplex_etf_by_hand():
    # three unit means at 120°: (1, 0), (-1/2, √3/2), (-1/2, -√3/2): cosines -1/2 = -1/(C-1)
    features = torch.tensor([[1.0, 0.0], [-0.5, math.sqrt(3) / 2], [-0.5, -math.sqrt(3) / 2]],
                            dtype=torch.float64)
    geometry = scl_geometry(features, torch.tensor([0, 1, 2]))
    assert geometry["etf_distance"] == pytest.approx(0.0, abs=1e-12)
    assert geometry["of_distance"] == pytest.approx(OF_TO_ETF, abs=1e-12)


def test_scale_does_not_matter_but_unequal_norms_do():
    assert distance_to_orthogonal_frame(5 * torch.eye(4)) == pytest.approx(0.0)
    # G = diag(4, 1): G/‖G‖ = diag(4, 1)/√17; I/√2: Δ² = 2 − 2·5/√34 = 0.285014
    assert distance_to_orthogonal_frame(torch.diag(torch.tensor([4.0, 1.0]))) == \
        pytest.approx(math.sqrt(2 - 10 / math.sqrt(34)))
    # the largest distance: a Gram opposite to the reference
    assert gram_distance(-torch.eye(2), torch.eye(2)) == pytest.approx(2.0)
    assert distance_to_simplex_etf(torch.eye(2) - 0.5) == pytest.approx(0.0)


def test_errors_name_the_argument():
    with pytest.raises(ConfigError, match="missing: \\[1\\]"):
        class_means(torch.zeros(2, 2), torch.tensor([0, 2]))
    with pytest.raises(ConfigError, match="features"):
        class_means(torch.zeros(2), torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match="gram"):
        distance_to_orthogonal_frame(torch.zeros(3, 3))
    with pytest.raises(ConfigError, match="gram"):
        distance_to_orthogonal_frame(torch.zeros(2, 3))
