"""The format readers: the book's image datasets, from their standard files into tensors.

* Fashion-MNIST: the four IDX files (``.gz`` or not), read through gzip;
* CIFAR-10 and CIFAR-100: the python-pickle batches, straight out of the tar archive (or an
  extracted folder), with an unpickler that refuses anything a batch does not hold;
* ``digits``: scikit-learn's 8x8 digits, split 75/25 per class.

Each reader returns an :class:`ImageDataset`, or raises :class:`DataFileError` naming the file
it could not read. Where the files are looked for is :mod:`lt_lab.data.sources`.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from lt_lab.errors import DataFileError, DataUnavailableError


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A dataset's train and test split as uint8 image tensors and int64 labels.

    ``load_dataset`` caches its results, so several callers may share these tensors:
    treat them as read-only and ``.clone()`` before changing them in place.
    """

    name: str
    train_images: torch.Tensor  # uint8, (N, C, H, W), contiguous
    train_labels: torch.Tensor  # int64, (N,)
    test_images: torch.Tensor  # uint8, (M, C, H, W), contiguous
    test_labels: torch.Tensor  # int64, (M,)
    class_names: tuple[str, ...]
    source: str  # the path read from, or "scikit-learn"

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or images.ndim != 4 or not images.is_contiguous():
                raise ValueError(f"{split}_images must be contiguous uint8 (N, C, H, W)")
            if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
                raise ValueError(f"{split}_labels must be int64 with one label per image")
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise ValueError("train and test images differ in shape")

    @property
    def num_classes(self) -> int:
        """How many classes there are (the length of ``class_names``)."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """One image's (channels, height, width)."""
        channels, height, width = self.train_images.shape[1:]
        return (channels, height, width)

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes}, source={self.source!r})"
        )


@dataclass(frozen=True)
class Remote:
    """A file of a dataset as published by its authors."""

    url: str
    filename: str
    md5: str | None = None


# --------------------------------------------------------------------------- Fashion-MNIST

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# MD5s of the four files as published (the official README of zalandoresearch/fashion-mnist),
# and of their decompressed IDX contents: a download must match the first; a local copy may
# match either (Debian's package recompresses the files: other .gz bytes, the same contents).
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                   "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe",
                                   "9018921c3c673c538a1fc5bad174d6f9"),
    "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79",
                                  "8181f5470baa50b63fa0f6fddb340f0a"),
    "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310",
                                  "15d484375f8d13e6eb1aabb0c3f46965"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_IDX_IMAGES_MAGIC = 2051  # 0x0803: unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 2049  # 0x0801: unsigned bytes, 1 dimension


def idx_file(directory: Path, gz_name: str) -> Path | None:
    """The IDX file ``gz_name`` in ``directory``, compressed or not, if present."""
    for candidate in (directory / gz_name, directory / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def find_fashion_mnist(directory: Path) -> Path | None:
    """``directory`` when it holds all four Fashion-MNIST IDX files."""
    found = all(idx_file(directory, name) for name in FASHION_MNIST_FILES.values())
    return directory if found else None


def read_bytes(path: Path) -> bytes:
    """The contents of ``path``, decompressed when it ends in ``.gz``."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path} is not a readable gzip file ({exc}); delete it and fetch "
                            "it again") from exc


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (magic 2051 images, 2049 labels) into an array."""
    payload = read_bytes(path)
    kind = "images" if expected_magic == _IDX_IMAGES_MAGIC else "labels"
    if len(payload) < 4 or struct.unpack(">i", payload[:4])[0] != expected_magic:
        found = struct.unpack(">i", payload[:4])[0] if len(payload) >= 4 else None
        raise DataFileError(
            f"{path} is not an IDX {kind} file: magic number {found}, expected {expected_magic}"
            "; delete it and fetch it again"
        )
    ndim = expected_magic & 0xFF
    header_bytes = 4 + 4 * ndim
    if len(payload) < header_bytes:
        raise DataFileError(f"{path} is truncated: {len(payload)} bytes, header alone needs "
                            "more; delete it and fetch it again")
    shape = struct.unpack(f">{ndim}I", payload[4:header_bytes])
    expected_bytes = header_bytes + int(np.prod(shape))
    if len(payload) != expected_bytes:
        raise DataFileError(
            f"{path} has {len(payload)} bytes but its header {shape} says {expected_bytes} "
            "(truncated?); delete it and fetch it again"
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header_bytes).reshape(shape).copy()


def _read_fashion_split(directory: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's images (N, 1, H, W) and labels from the IDX files in ``directory``."""
    images_path = idx_file(directory, FASHION_MNIST_FILES[f"{split}_images"])
    labels_path = idx_file(directory, FASHION_MNIST_FILES[f"{split}_labels"])
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise DataFileError(f"{images_path} has {len(images)} images, {labels_path} "
                            f"{len(labels)}: files of two different copies?")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataFileError(f"{labels_path} has label {labels.max()}, beyond the 10 classes")
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


def read_fashion_mnist(directory: Path) -> ImageDataset:
    """Fashion-MNIST from the four IDX files in ``directory``."""
    train_images, train_labels = _read_fashion_split(directory, "train")
    test_images, test_labels = _read_fashion_split(directory, "test")
    return ImageDataset(
        "fashion_mnist",
        train_images,
        train_labels,
        test_images,
        test_labels,
        FASHION_MNIST_CLASSES,
        str(directory),
    )


# --------------------------------------------------------------------------- CIFAR


@dataclass(frozen=True)
class _CifarLayout:
    """How one CIFAR archive is laid out (the python-pickle version)."""

    name: str
    remote: Remote
    folder: str  # the folder inside the archive
    train_members: tuple[str, ...]
    test_members: tuple[str, ...]
    meta_member: str
    names_key: bytes
    labels_key: bytes

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.train_members, *self.test_members, self.meta_member)


_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"
CIFAR_LAYOUTS = {
    "cifar10": _CifarLayout(
        name="cifar10",
        remote=Remote(
            _CIFAR_URL + "cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
        ),
        folder="cifar-10-batches-py",
        train_members=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_members=("test_batch",),
        meta_member="batches.meta",
        names_key=b"label_names",
        labels_key=b"labels",
    ),
    "cifar100": _CifarLayout(
        name="cifar100",
        remote=Remote(
            _CIFAR_URL + "cifar-100-python.tar.gz",
            "cifar-100-python.tar.gz",
            "eb9058c3a382ffc7106e4002c42a8d85",
        ),
        folder="cifar-100-python",
        train_members=("train",),
        test_members=("test",),
        meta_member="meta",
        names_key=b"fine_label_names",
        labels_key=b"fine_labels",
    ),
}

# The only globals a CIFAR batch refers to: numpy's array reconstruction.
_CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that refuses everything a CIFAR batch does not contain."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: not in a CIFAR batch")
        return super().find_class(module, name)


def _unpickle_cifar(stream: BinaryIO) -> dict:
    """One CIFAR pickle (written by Python 2, hence bytes keys)."""
    return _CifarUnpickler(stream, encoding="bytes").load()


def find_cifar(layout: _CifarLayout, directory: Path) -> Path | None:
    """The extracted folder (preferred) or the tar.gz of ``layout`` in ``directory``."""
    folder = directory / layout.folder
    if all((folder / member).is_file() for member in layout.members):
        return folder
    archive = directory / layout.remote.filename
    return archive if archive.is_file() else None


def _read_cifar_members(layout: _CifarLayout, location: Path) -> dict[str, dict]:
    """Every pickle of ``layout`` by member name, from a folder or straight from the tar."""
    if location.is_dir():
        members = {}
        for member in layout.members:
            with open(location / member, "rb") as stream:
                members[member] = _unpickle_cifar(stream)
        return members
    wanted = {f"{layout.folder}/{member}": member for member in layout.members}
    members = {}
    with tarfile.open(location, "r:*") as archive:
        for entry in archive:
            member = wanted.get(entry.name.removeprefix("./"))
            if member is not None and entry.isfile():
                with archive.extractfile(entry) as stream:
                    members[member] = _unpickle_cifar(stream)
            if len(members) == len(wanted):
                break
    missing = sorted(set(layout.members) - set(members))
    if missing:
        raise DataFileError(f"{location} lacks {', '.join(missing)} under {layout.folder}/; "
                            "delete it and fetch it again")
    return members


def _batch_entry(batch: dict, key: bytes):
    """``batch[key]``, also accepting str keys (a batch re-pickled by Python 3)."""
    return batch[key] if key in batch else batch[key.decode()]


def _cifar_arrays(batches: Sequence[dict], labels_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels int64 from CIFAR batches."""
    images, labels = [], []
    for batch in batches:
        data = np.asarray(_batch_entry(batch, b"data"), dtype=np.uint8)
        batch_labels = np.asarray(_batch_entry(batch, labels_key), dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(batch_labels) != len(data):
            raise DataFileError(f"a CIFAR batch has data {data.shape}, {len(batch_labels)} "
                                "labels")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def read_cifar(layout: _CifarLayout, location: Path) -> ImageDataset:
    """CIFAR-10 or CIFAR-100 from its tar.gz or extracted folder at ``location``."""
    try:
        members = _read_cifar_members(layout, location)
        train = _cifar_arrays([members[m] for m in layout.train_members], layout.labels_key)
        test = _cifar_arrays([members[m] for m in layout.test_members], layout.labels_key)
        names = _batch_entry(members[layout.meta_member], layout.names_key)
    except (
        tarfile.TarError,
        OSError,
        EOFError,
        zlib.error,
        pickle.UnpicklingError,
        KeyError,
        TypeError,
    ) as exc:
        raise DataFileError(f"{location} is not a readable {layout.name} dataset: {exc!r}; "
                            "delete it and fetch it again") from exc
    class_names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    for labels in (train[1], test[1]):
        if labels.size and not 0 <= labels.min() <= labels.max() < len(class_names):
            raise DataFileError(f"{location} has labels outside 0..{len(class_names) - 1}")
    return ImageDataset(
        layout.name,
        torch.from_numpy(np.ascontiguousarray(train[0])),
        torch.from_numpy(train[1]),
        torch.from_numpy(np.ascontiguousarray(test[0])),
        torch.from_numpy(test[1]),
        class_names,
        str(location),
    )


# --------------------------------------------------------------------------- digits

DIGITS_TEST_FRACTION = 0.25


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int = 0):
    """Sorted train and test indices, ``test_fraction`` of each class in test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = round(len(members) * test_fraction)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def read_digits() -> ImageDataset:
    """scikit-learn's 8x8 digits, scaled to 0..255, split 75/25 per class (seed 0)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DataUnavailableError(
            "the 'digits' dataset comes with scikit-learn, which is not installed: "
            "pip install scikit-learn"
        ) from exc
    bunch = load_digits()
    images = np.rint(bunch.images * (255 / 16)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    train, test = _stratified_split(labels, DIGITS_TEST_FRACTION)
    return ImageDataset(
        "digits",
        torch.from_numpy(np.ascontiguousarray(images[train])),
        torch.from_numpy(labels[train]),
        torch.from_numpy(np.ascontiguousarray(images[test])),
        torch.from_numpy(labels[test]),
        tuple(str(d) for d in range(10)),
        "scikit-learn",
    )


# --------------------------------------------------------------------------- dispatch


def read(name: str, location: Path) -> ImageDataset:
    """Read the file-based dataset ``name`` from the folder or archive found at ``location``."""
    if name == "fashion_mnist":
        return read_fashion_mnist(location)
    return read_cifar(CIFAR_LAYOUTS[name], location)
