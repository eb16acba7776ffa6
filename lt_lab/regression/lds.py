"""Label distribution smoothing (LDS; Yang et al., ICML 2021, "Delving into Deep Imbalanced
Regression", §3.1).

Neighbouring labels share information, so the density a model "feels" is the empirical
label density convolved with a symmetric kernel (the paper's Eq. for LDS):

    p̃(y') = Σ_y k(y, y') p(y)

and the paper weights the loss of a sample with label y by 1 / p̃(y). The DIR code
(``prepare_weights``), which this module follows, smooths what it is about to invert:

* ``inverse``: w ∝ 1 / (k ∗ clip(n, 5, 1000)) — the counts clipped, then smoothed: the
  paper's 1 / p̃ up to the clipping;
* ``sqrt_inv``: w ∝ 1 / (k ∗ √n) — the square roots of the raw counts smoothed, *not*
  1 / √(k ∗ n). √ is concave, so k ∗ √n ≤ √(k ∗ n) (Jensen), with equality where the
  counts are flat over the kernel's width: after the mean-1 rescaling the two weightings
  differ at the dips of the histogram and next to them;
* counts are taken per bin of width 1 (here: per bin of the dataset's :class:`LabelBins`);
* the convolution pads with zeros at both ends of the label range (``mode='constant'``);
* the weights are rescaled so their mean over the training samples is 1.

The DIR kernel windows are peak-normalised (max 1); ours are sum-normalised, so that the
smoothed density keeps the total count. After the mean-1 rescaling both give the same
weights.
"""

from __future__ import annotations

import numpy as np
import torch

from lt_lab.errors import ConfigError, check_choice, check_positive
from lt_lab.regression.bins import LabelBins

KERNELS = ("gaussian", "triangular", "laplace")
REWEIGHTS = ("none", "inverse", "sqrt_inv")
CLIP_MIN, CLIP_MAX = 5, 1000  # DIR clips the counts of ``inverse`` to this range


def _reflect(index: np.ndarray, length: int) -> np.ndarray:
    """scipy's ``mode='reflect'`` (d c b a | a b c d | d c b a) for any integer index."""
    index = np.mod(index, 2 * length)
    return np.where(index >= length, 2 * length - 1 - index, index)


def _gaussian_filter_of_delta(ks: int, sigma: float) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d(delta, sigma)`` (reflect mode, truncate 4), no scipy."""
    delta = np.zeros(ks)
    delta[(ks - 1) // 2] = 1.0
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * offsets**2 / sigma**2)
    taps /= taps.sum()
    positions = np.arange(ks)[:, None] + offsets[None, :]
    return (delta[_reflect(positions, ks)] * taps[None, :]).sum(1)


def kernel_window(kernel: str = "gaussian", ks: int = 5, sigma: float = 2.0) -> np.ndarray:
    """The symmetric smoothing window of DIR's ``get_lds_kernel_window``, summing to 1.

    * ``gaussian``: a unit impulse of length ``ks`` filtered by a Gaussian of std ``sigma``
      (as DIR does with ``gaussian_filter1d``, so the window's tails fold back in);
    * ``triangular``: ``scipy.signal.windows.triang(ks)``, e.g. ks=5: [1, 2, 3, 2, 1] / 9;
    * ``laplace``: ``exp(-|x| / sigma)`` at x = -(ks-1)/2 … (ks-1)/2.

    ``ks=1`` is the delta kernel: no smoothing at all.
    """
    check_choice("kernel", kernel, KERNELS)
    if not (isinstance(ks, int) and ks >= 1 and ks % 2 == 1):
        raise ConfigError(f"ks={ks!r} must be an odd integer >= 1 (the window length)")
    check_positive("sigma", sigma)
    half = (ks - 1) // 2
    if kernel == "gaussian":
        window = _gaussian_filter_of_delta(ks, sigma)
    elif kernel == "triangular":
        steps = np.arange(1, half + 2)
        rising = 2 * steps / (ks + 1)
        window = np.concatenate([rising, rising[-2::-1]])
    else:
        window = np.exp(-np.abs(np.arange(-half, half + 1)) / sigma)
    return window / window.sum()


def smooth_density(counts, kernel: str = "gaussian", ks: int = 5, sigma: float = 2.0):
    """The LDS effective density p̃ = counts ⊛ kernel, zero-padded at both ends (DIR).

    The window sums to 1, so p̃ keeps the total count whenever the kernel does not reach
    past the label range; at the ends, the share that falls outside is lost, as in DIR.
    """
    counts = np.asarray(counts, dtype=np.float64)
    window = kernel_window(kernel, ks, sigma)
    half = len(window) // 2
    return np.convolve(counts, window, mode="full")[half : half + len(counts)]


def lds_weights(
    labels: torch.Tensor,
    bins: LabelBins,
    *,
    kernel: str = "gaussian",
    ks: int = 5,
    sigma: float = 2.0,
    reweight: str = "sqrt_inv",
    lds: bool = True,
) -> torch.Tensor:
    """Per-sample loss weights of DIR's ``prepare_weights``, mean 1 over the samples.

    Args:
        labels: the training labels (any float tensor).
        bins: the label bins the counts are taken over (DIR: width 1).
        kernel, ks, sigma: the LDS kernel (see :func:`kernel_window`).
        reweight: ``"inverse"`` (1 / (k ∗ clip(n, 5, 1000))), ``"sqrt_inv"``
            (1 / (k ∗ √n)), or ``"none"`` (all ones).
        lds: smooth the (clipped or square-rooted) counts with the kernel first; without
            it, the weights are plain inverse (or inverse square-root) frequency.
    """
    check_choice("reweight", reweight, REWEIGHTS)
    if reweight == "none":
        return torch.ones(len(labels), dtype=torch.float32)
    index = bins.index(labels).cpu().numpy()
    counts = np.bincount(index, minlength=bins.num_bins).astype(np.float64)
    per_bin = np.sqrt(counts) if reweight == "sqrt_inv" else np.clip(counts, CLIP_MIN, CLIP_MAX)
    if lds:
        per_bin = smooth_density(per_bin, kernel, ks, sigma)
    weights = 1.0 / per_bin[index]
    weights *= len(weights) / weights.sum()
    return torch.tensor(weights, dtype=torch.float32)
