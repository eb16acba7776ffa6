"""A tiny Fashion-MNIST look-alike for the fast tier: random 28×28 images in the real IDX
.gz format, so a unit test can train end to end without Debian's dataset.

    from fixtures_synthetic import synthetic_fashion_mnist  # noqa: F401
    @pytest.mark.usefixtures("synthetic_fashion_mnist")
    def test_...(): ...   # LT_LAB_DATA points at the fake files; lt_lab finds them first

The images are noise (any accuracy is chance): use the fixture to test plumbing, never
numbers. Keep configs small (``n_max`` at most :data:`TRAIN_PER_CLASS`, ``test_per_class``
at most :data:`TEST_PER_CLASS`).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

TRAIN_PER_CLASS = 30
TEST_PER_CLASS = 10
FILES = {  # as lt_lab.data.sources.FASHION_MNIST_FILES
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes: magic 0x0803 (images) or 0x0801 (labels), sizes, data."""
    magic = 0x0800 | array.ndim
    header = struct.pack(f">i{array.ndim}I", magic, *array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(directory: Path, train_per_class: int = TRAIN_PER_CLASS,
                        test_per_class: int = TEST_PER_CLASS, seed: int = 0) -> Path:
    """Write the four Fashion-MNIST files of random images (10 classes) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        images = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        images_name, labels_name = FILES[split]
        _write_idx(directory / images_name, images)
        _write_idx(directory / labels_name, labels)
    return directory


@pytest.fixture
def synthetic_fashion_mnist(tmp_path, monkeypatch) -> Path:
    """Fake Fashion-MNIST files in a temporary folder, found first through ``LT_LAB_DATA``."""
    directory = write_fashion_mnist(tmp_path / "synthetic-data")
    monkeypatch.setenv("LT_LAB_DATA", str(directory))
    return directory
