"""The ``lt-lab data check`` report: which datasets can be read without downloading, from
where, and whether their files match the published checksums.

The report knows nothing of where datasets are looked for: :func:`data_report` is given the
lookup (``lt_lab.data.sources.data_report`` gives it the book's), so this module sits below
the lookup and the lookup can re-export it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path

from lt_lab.data.fetch import md5_hex, one_line
from lt_lab.data.formats import CIFAR_LAYOUTS, FASHION_MNIST_MD5, idx_file, read, read_bytes
from lt_lab.errors import DataFileError

Find = Callable[[str], "Path | None"]  # dataset name -> where it would be read from, or None
Explain = Callable[[str], str]  # dataset name -> why it was not found, and how to fix it


def data_report(names: Iterable[str], find: Find, not_found: Explain) -> list[dict]:
    """One entry per dataset of ``names``; never downloads, never raises.

    Each entry is ``{"dataset", "available", "source", "detail"}``; ``source`` is where
    the dataset would be read from (None when unavailable). ``find`` locates a file-based
    dataset, ``not_found`` words the detail of one found nowhere.
    """
    report = []
    for name in names:
        try:
            report.append(_report_one(name, find, not_found))
        except Exception as exc:  # a report must survive anything, e.g. unreadable dirs
            report.append(_entry(name, False, None, f"could not check: {one_line(exc)}"))
    return report


def _entry(name: str, available: bool, source: str | None, detail: str) -> dict:
    """One row of the report."""
    return {"dataset": name, "available": available, "source": source, "detail": detail}


def _report_one(name: str, find: Find, not_found: Explain) -> dict:
    """Whether ``name`` can be loaded without downloading, and from where."""
    if name == "digits":
        if importlib.util.find_spec("sklearn") is None:
            return _entry(name, False, None,
                          "scikit-learn is not installed: pip install scikit-learn")
        return _entry(name, True, "scikit-learn", "bundled with scikit-learn")
    location = find(name)
    if location is None:
        return _entry(name, False, None, not_found(name))
    try:
        detail = verify(name, location)
    except (DataFileError, OSError) as exc:
        return _entry(name, False, str(location),
                      f"found at {location} but corrupt: {' '.join(str(exc).split())}")
    return _entry(name, True, str(location), detail)


def verify(name: str, location: Path) -> str:
    """Read ``name`` at ``location`` whole and compare it with the published checksums.

    Returns what was checked, in words; raises :class:`DataFileError` (naming the file) when
    a file cannot be read. Files that read well but differ from the published ones (a
    modified or synthetic copy) are reported, not refused.
    """
    dataset = read(name, location)
    size = f"{len(dataset.train_labels)} training and {len(dataset.test_labels)} test images"
    if name == "fashion_mnist":
        differ = []
        for gz_name, (published, content) in FASHION_MNIST_MD5.items():
            path = idx_file(location, gz_name)
            if md5_hex(path) != published and md5_hex(path, read_bytes(path)) != content:
                differ.append(path.name)
    else:
        remote = CIFAR_LAYOUTS[name].remote
        differ = [] if location.is_dir() or md5_hex(location) == remote.md5 else [location.name]
        if location.is_dir():
            return f"found at {location}: {size} read (an extracted folder: no checksum)"
    if differ:
        return (f"found at {location}: {size} read, but {', '.join(differ)} differ from the "
                "published files (checksums): a modified or synthetic copy")
    return f"found at {location}: {size} read, checksums match the published files"
