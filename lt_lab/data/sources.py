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

This module is the lookup and :func:`load_dataset`. The files are read by
:mod:`lt_lab.data.formats`, downloads are checked by :mod:`lt_lab.data.fetch`, and
``lt-lab data check`` is :mod:`lt_lab.data.report`; their public names are importable
from here too, as before the split.
"""

from __future__ import annotations

import functools
import http.client
import os
from collections.abc import Sequence
from pathlib import Path

from lt_lab.data import report
from lt_lab.data.fetch import DOWNLOAD_TIMEOUT_S, download, one_line
from lt_lab.data.formats import (
    CIFAR_LAYOUTS,
    DIGITS_TEST_FRACTION,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    FASHION_MNIST_MD5,
    FASHION_MNIST_URL,
    ImageDataset,
    Remote,
    find_cifar,
    find_fashion_mnist,
    read_digits,
)
from lt_lab.data.formats import read as _read
from lt_lab.data.report import verify
from lt_lab.errors import DataUnavailableError, check_choice

__all__ = [
    "DATASETS",
    "DATA_ENV_VAR",
    "DIGITS_TEST_FRACTION",
    "DOWNLOAD_TIMEOUT_S",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_MD5",
    "FASHION_MNIST_URL",
    "ImageDataset",
    "data_report",
    "download",
    "load_dataset",
    "loaded_from",
    "note_source",
    "search_paths",
    "verify",
]

DATASETS: tuple[str, ...] = ("fashion_mnist", "cifar10", "cifar100", "digits")

DATA_ENV_VAR = "LT_LAB_DATA"

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


# --------------------------------------------------------------------------- lookup


def _remotes(name: str) -> tuple[Remote, ...]:
    """The published files of a file-based dataset."""
    if name == "fashion_mnist":
        return tuple(Remote(FASHION_MNIST_URL + f, f, FASHION_MNIST_MD5[f][0])
                     for f in FASHION_MNIST_FILES.values())
    return (CIFAR_LAYOUTS[name].remote,)


def _locate(name: str, directory: Path) -> Path | None:
    """Where ``name`` is in ``directory`` (a folder or an archive), or None."""
    if name == "fashion_mnist":
        return find_fashion_mnist(directory)
    return find_cifar(CIFAR_LAYOUTS[name], directory)


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


def _download_missing(name: str, target: Path) -> str | None:
    """Download the files of ``name`` absent from ``target``; None, or what went wrong."""
    for remote in _remotes(name):
        if (target / remote.filename).is_file():
            continue
        try:
            download(remote.url, target / remote.filename, remote.md5)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return f"tried {remote.url}: {one_line(exc)}"
    return None


# --------------------------------------------------------------------------- messages


def _how_to_fix(name: str, download_note: str) -> str:
    """The ways to make ``name`` available, numbered, ``download_note`` last."""
    files = ", ".join(remote.filename for remote in _remotes(name))
    if name != "fashion_mnist":
        layout = CIFAR_LAYOUTS[name]
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
        return read_digits()
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


def data_report() -> list[dict]:
    """One entry per dataset for ``lt-lab data check``; never downloads, never raises.

    Each entry is ``{"dataset", "available", "source", "detail"}``; ``source`` is where
    the dataset would be read from (None when unavailable). The report itself is
    :func:`lt_lab.data.report.data_report`; this module gives it the lookup.
    """
    return report.data_report(DATASETS, _find_anywhere, _not_found_detail)


def _find_anywhere(name: str) -> Path | None:
    """Where ``name`` would be read from, without downloading (None when nowhere)."""
    return _find_in(name, search_paths(name))


def _not_found_detail(name: str) -> str:
    """The report's detail for a dataset found nowhere: where it was looked for, the fixes."""
    note = f"load_dataset({name!r}) downloads {_remotes(name)[0].url}"
    return _unavailable_message(name, _base_dirs(name, None), note)
