"""Where the book's image datasets come from, and how they are read into tensors.

Four datasets are known (:data:`DATASETS`). ``digits`` ships with scikit-learn; the other
three are read from their standard files, looked for in this order:

1. ``root``, when given (only it; a missing dataset is downloaded into it);
2. ``$LT_LAB_DATA``;
3. ``data/`` in the current directory, and ``data/`` of the repository holding ``lt_lab``;
4. Debian's install path (``/usr/share/datasets/fashion-mnist`` for Fashion-MNIST);
5. a download from the official source, into ``$LT_LAB_DATA`` (or ``./data`` when unset).

Inside each directory a subfolder named after the dataset (``fashion-mnist/``,
``fashion_mnist/``, ``cifar10/``, ``cifar-10/``, ...) is accepted too. Nothing is extracted
to disk: IDX files are read through gzip, CIFAR batches straight out of the tar archive.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import importlib.util
import os
import pickle
import struct
import tarfile
import tempfile
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from lt_lab.errors import DataFileError, DataUnavailableError, check_choice

DATASETS: tuple[str, ...] = ("fashion_mnist", "cifar10", "cifar100", "digits")

DATA_ENV_VAR = "LT_LAB_DATA"
DOWNLOAD_TIMEOUT_S = 30.0
_DOWNLOAD_CHUNK_BYTES = 1 << 16

# Module-level so that tests can point them elsewhere.
_REPOSITORY_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
_SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}

_TITLES = {
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "digits": "scikit-learn digits",
}
_SUBFOLDER_NAMES = {
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
    "cifar10": ("cifar10", "cifar-10"),
    "cifar100": ("cifar100", "cifar-100"),
}


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
class _Remote:
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


def _idx_file(directory: Path, gz_name: str) -> Path | None:
    """The IDX file ``gz_name`` in ``directory``, compressed or not, if present."""
    for candidate in (directory / gz_name, directory / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _find_fashion_mnist(directory: Path) -> Path | None:
    """``directory`` when it holds all four Fashion-MNIST IDX files."""
    found = all(_idx_file(directory, name) for name in FASHION_MNIST_FILES.values())
    return directory if found else None


def _read_bytes(path: Path) -> bytes:
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
    payload = _read_bytes(path)
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
    images_path = _idx_file(directory, FASHION_MNIST_FILES[f"{split}_images"])
    labels_path = _idx_file(directory, FASHION_MNIST_FILES[f"{split}_labels"])
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise DataFileError(f"{images_path} has {len(images)} images, {labels_path} "
                            f"{len(labels)}: files of two different copies?")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataFileError(f"{labels_path} has label {labels.max()}, beyond the 10 classes")
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


def _read_fashion_mnist(directory: Path) -> ImageDataset:
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
    remote: _Remote
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
_CIFAR_LAYOUTS = {
    "cifar10": _CifarLayout(
        name="cifar10",
        remote=_Remote(
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
        remote=_Remote(
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


def _find_cifar(layout: _CifarLayout, directory: Path) -> Path | None:
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


def _read_cifar(layout: _CifarLayout, location: Path) -> ImageDataset:
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


def _load_digits() -> ImageDataset:
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


# --------------------------------------------------------------------------- lookup


def _remotes(name: str) -> tuple[_Remote, ...]:
    """The published files of a file-based dataset."""
    if name == "fashion_mnist":
        return tuple(_Remote(FASHION_MNIST_URL + f, f, FASHION_MNIST_MD5[f][0])
                     for f in FASHION_MNIST_FILES.values())
    return (_CIFAR_LAYOUTS[name].remote,)


def _locate(name: str, directory: Path) -> Path | None:
    """Where ``name`` is in ``directory`` (a folder or an archive), or None."""
    if name == "fashion_mnist":
        return _find_fashion_mnist(directory)
    return _find_cifar(_CIFAR_LAYOUTS[name], directory)


def _read(name: str, location: Path) -> ImageDataset:
    """Read ``name`` from what ``_locate`` found."""
    if name == "fashion_mnist":
        return _read_fashion_mnist(location)
    return _read_cifar(_CIFAR_LAYOUTS[name], location)


def _env_data_dir() -> Path | None:
    """``$LT_LAB_DATA`` as a path, when set and not empty; a folder that does not exist is an
    error (never a silent fall-back to the next place looked in)."""
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise DataUnavailableError(
            f"{DATA_ENV_VAR}={value} {what}. Point it at the folder that holds the datasets, "
            f"create it (mkdir -p {path}) to download into it, or unset it to use data/ and "
            "the system's copies")
    if not os.access(path, os.R_OK | os.X_OK):
        raise DataUnavailableError(
            f"{DATA_ENV_VAR}={value} cannot be entered or listed by this user (mode "
            f"{path.stat().st_mode & 0o777:04o}, owner uid {path.stat().st_uid}). Ask its owner "
            "for read access (chmod g+rx), or point it at a folder you can read")
    return path


def _check_env_used(name: str, dataset: ImageDataset) -> None:
    """An empty ``$LT_LAB_DATA`` folder passed over for a copy elsewhere is an error: the
    user pointed at a folder, and would train on another copy without a word. (An empty
    folder the dataset was downloaded into holds it now.)"""
    env = _env_data_dir()
    if env is None or name == "digits" or Path(dataset.source).is_relative_to(env):
        return
    if not any(env.iterdir()):
        raise DataUnavailableError(
            f"{DATA_ENV_VAR}={env} is an empty folder, and {name} was found in "
            f"{dataset.source} instead. Put the datasets in it (or point it at the folder "
            f"that holds them), or unset {DATA_ENV_VAR} to use {dataset.source}")


_LOADED: dict[str, str] = {}  # dataset name -> where this process last read it from


def note_source(name: str, source: str | Path) -> None:
    """Remember where dataset ``name`` was read from (records state it as ``data_source``)."""
    _LOADED[name] = str(source)


def loaded_from(name: str) -> str | None:
    """Where this process last read dataset ``name`` from (a path, or ``"scikit-learn"``)."""
    return _LOADED.get(name)


def _download_dir(root: str | Path | None) -> Path:
    """Where a missing dataset is downloaded to."""
    if root is not None:
        return Path(root).expanduser().resolve()
    return _env_data_dir() or (Path.cwd() / "data").resolve()


def _base_dirs(name: str, root: str | Path | None) -> list[Path]:
    """The directories configured for ``name``, in lookup order, without duplicates."""
    if name == "digits":
        return []
    if root is not None:
        return [Path(root).expanduser().resolve()]
    candidates = [_env_data_dir(), Path.cwd() / "data", _REPOSITORY_DATA_DIR]
    candidates += _SYSTEM_DIRS.get(name, ())
    unique: list[Path] = []
    for candidate in candidates:
        if candidate is not None and candidate.resolve() not in unique:
            unique.append(candidate.resolve())
    return unique


def _with_subfolders(name: str, bases: Sequence[Path]) -> list[Path]:
    """Each of ``bases`` followed by its subfolders named after ``name``."""
    subfolders = _SUBFOLDER_NAMES.get(name, ())
    return [path for base in bases for path in (base, *(base / sub for sub in subfolders))]


def search_paths(name: str, root: str | Path | None = None) -> list[Path]:
    """The directories looked in for ``name``, in order (empty for ``digits``).

    Each configured directory is followed by its subfolders named after the dataset.
    """
    check_choice("dataset", name, DATASETS)
    return _with_subfolders(name, _base_dirs(name, root))


def _find_in(name: str, directories: Sequence[Path]) -> Path | None:
    """The first location of ``name`` in ``directories``."""
    for directory in directories:
        location = _locate(name, directory)
        if location is not None:
            return location
    return None


# --------------------------------------------------------------------------- download


def download(url: str, destination: Path, md5: str | None = None) -> None:
    """Fetch ``url`` to ``destination`` atomically, checking ``md5`` when given.

    The bytes go to a temporary file next to ``destination``, renamed into place only
    once complete (and matching ``md5``), so a failure never leaves a half-written file.
    """
    from tqdm import tqdm

    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=destination.name,
                disable=None,
            ) as progress:
                while chunk := response.read(_DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"the download of {url} has MD5 {digest.hexdigest()}, not the "
                          f"published {md5}: it was deleted (truncated, or an error page from "
                          "a proxy?); try again")
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _download_missing(name: str, target: Path) -> str | None:
    """Download the files of ``name`` absent from ``target``; None, or what went wrong."""
    for remote in _remotes(name):
        if (target / remote.filename).is_file():
            continue
        try:
            download(remote.url, target / remote.filename, remote.md5)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return f"tried {remote.url}: {_one_line(exc)}"
    return None


# --------------------------------------------------------------------------- messages


def _how_to_fix(name: str, download_note: str) -> str:
    """The ways to make ``name`` available, numbered, ``download_note`` last."""
    files = ", ".join(remote.filename for remote in _remotes(name))
    if name != "fashion_mnist":
        layout = _CIFAR_LAYOUTS[name]
        files = f"{layout.remote.filename} (or its extracted {layout.folder}/ folder)"
    options = [
        f"set {DATA_ENV_VAR}=/path/to/a/folder holding {files}",
        f"put {files} in data/ (here: {Path.cwd() / 'data'})",
    ]
    if name == "fashion_mnist":
        options.append("on Debian: sudo apt-get install dataset-fashion-mnist")
    options.append(f"allow network download: {download_note}")
    return "\n".join(f"  {number}. {option}" for number, option in enumerate(options, 1))


def _unavailable_message(name: str, bases: Sequence[Path], download_note: str) -> str:
    """One message saying where ``name`` was looked for and every way to provide it."""
    looked_in = ", ".join(str(path) for path in bases) or "nowhere"
    subfolders = " or ".join(f"{sub}/" for sub in _SUBFOLDER_NAMES[name])
    return (
        f"{_TITLES[name]} ({name!r}) was not found. Looked in {looked_in} "
        f"(and in a {subfolders} subfolder of each). Any one of these fixes it:\n"
        + _how_to_fix(name, download_note)
    )


# --------------------------------------------------------------------------- public API


@functools.lru_cache(maxsize=8)
def _load_cached(
    name: str, bases: tuple[Path, ...], target: Path | None, download: bool
) -> ImageDataset:
    """``load_dataset`` once its arguments are resolved to directories (the cache key)."""
    if name == "digits":
        return _load_digits()
    location = _find_in(name, _with_subfolders(name, bases))
    if location is not None:
        return _read(name, location)
    url = _remotes(name)[0].url
    if not download:
        note = f"not tried because download=False; download=True fetches {url}"
        raise DataUnavailableError(_unavailable_message(name, bases, note))
    problem = _download_missing(name, target)
    location = _locate(name, target) if problem is None else None
    if location is None:
        note = problem or f"downloaded into {target}, but the files are still incomplete"
        raise DataUnavailableError(_unavailable_message(name, bases, note))
    return _read(name, location)


def load_dataset(
    name: str, *, root: str | Path | None = None, download: bool = True
) -> ImageDataset:
    """Load one of :data:`DATASETS` as uint8 image tensors and int64 labels.

    Args:
        name: ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"`` or ``"digits"``.
        root: a directory to read from (and download into) instead of the usual lookup
            (``$LT_LAB_DATA``, ``data/``, Debian's path). Ignored for ``digits``.
        download: fetch a dataset found nowhere from its official source.

    Results are cached in-process per (name, directories looked in, download), so
    notebooks may call this often; the tensors are shared between calls, so treat them
    as read-only (``.clone()`` first to modify them).

    Raises:
        ConfigError: ``name`` is not a known dataset.
        DataUnavailableError: the dataset was found nowhere and could not be downloaded.
        ValueError: a file was found but is not in the expected format (it is named).
    """
    check_choice("dataset", name, DATASETS)
    bases = tuple(_base_dirs(name, root))
    target = None if name == "digits" else _download_dir(root)
    dataset = _load_cached(name, bases, target, download)
    if root is None:
        _check_env_used(name, dataset)
    note_source(name, dataset.source)
    return dataset


def _report_one(name: str) -> dict:
    """Whether ``name`` can be loaded without downloading, and from where."""
    if name == "digits":
        if importlib.util.find_spec("sklearn") is None:
            return {
                "dataset": name,
                "available": False,
                "source": None,
                "detail": "scikit-learn is not installed: pip install scikit-learn",
            }
        return {
            "dataset": name,
            "available": True,
            "source": "scikit-learn",
            "detail": "bundled with scikit-learn",
        }
    location = _find_in(name, search_paths(name))
    if location is None:
        note = f"load_dataset({name!r}) downloads {_remotes(name)[0].url}"
        detail = _unavailable_message(name, _base_dirs(name, None), note)
        return {"dataset": name, "available": False, "source": None, "detail": detail}
    try:
        detail = verify(name, location)
    except (DataFileError, OSError) as exc:
        return {"dataset": name, "available": False, "source": str(location),
                "detail": f"found at {location} but corrupt: {' '.join(str(exc).split())}"}
    return {"dataset": name, "available": True, "source": str(location), "detail": detail}


def _md5(path: Path, payload: bytes | None = None) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    if payload is not None:
        digest.update(payload)
        return digest.hexdigest()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(name: str, location: Path) -> str:
    """Read ``name`` at ``location`` whole and compare it with the published checksums.

    Returns what was checked, in words; raises :class:`DataFileError` (naming the file) when
    a file cannot be read. Files that read well but differ from the published ones (a
    modified or synthetic copy) are reported, not refused.
    """
    dataset = _read(name, location)
    size = f"{len(dataset.train_labels)} training and {len(dataset.test_labels)} test images"
    if name == "fashion_mnist":
        differ = []
        for gz_name, (published, content) in FASHION_MNIST_MD5.items():
            path = _idx_file(location, gz_name)
            if _md5(path) != published and _md5(path, _read_bytes(path)) != content:
                differ.append(path.name)
    else:
        remote = _CIFAR_LAYOUTS[name].remote
        differ = [] if location.is_dir() or _md5(location) == remote.md5 else [location.name]
        if location.is_dir():
            return f"found at {location}: {size} read (an extracted folder: no checksum)"
    if differ:
        return (f"found at {location}: {size} read, but {', '.join(differ)} differ from the "
                "published files (checksums): a modified or synthetic copy")
    return f"found at {location}: {size} read, checksums match the published files"


def data_report() -> list[dict]:
    """One entry per dataset for ``lt-lab data check``; never downloads, never raises.

    Each entry is ``{"dataset", "available", "source", "detail"}``; ``source`` is where
    the dataset would be read from (None when unavailable).
    """
    report = []
    for name in DATASETS:
        try:
            report.append(_report_one(name))
        except Exception as exc:  # a report must survive anything, e.g. unreadable dirs
            report.append(
                {
                    "dataset": name,
                    "available": False,
                    "source": None,
                    "detail": f"could not check: {_one_line(exc)}",
                }
            )
    return report
