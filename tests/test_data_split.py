"""``lt_lab.data.sources`` split by job (issue 33): the readers (``formats``), downloads
(``fetch``), the ``data check`` report (``report``), with the lookup left in ``sources``.

Every name callers imported from ``sources`` before the split is still there, and is the
same object as in its new module; the report works on any lookup it is given.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

from lt_lab.data import fetch, formats, report, sources

MOVED = {
    formats: ("ImageDataset", "FASHION_MNIST_CLASSES", "FASHION_MNIST_FILES",
              "FASHION_MNIST_MD5", "FASHION_MNIST_URL", "DIGITS_TEST_FRACTION"),
    fetch: ("download", "DOWNLOAD_TIMEOUT_S"),
    report: ("verify",),
}


@pytest.mark.parametrize("module", list(MOVED), ids=lambda m: m.__name__)
def test_moved_names_are_re_exported_by_sources(module):
    for name in MOVED[module]:
        assert getattr(sources, name) is getattr(module, name), name


def test_public_names_of_sources_are_all_there():
    for name in sources.__all__:
        assert hasattr(sources, name), name
    assert {"load_dataset", "search_paths", "data_report", "note_source", "loaded_from",
            "download", "DATASETS"} <= set(sources.__all__)


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in the file at ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_the_lower_modules_do_not_import_the_lookup():
    for module in (formats, fetch, report):
        assert "lt_lab.data.sources" not in _imported_modules(Path(module.__file__)), module
    assert "lt_lab.data.report" in _imported_modules(Path(sources.__file__))


def _toy_report(find, not_found=lambda name: f"{name} nowhere"):
    return report.data_report(["cifar10", "digits"], find, not_found)


def test_report_of_a_dataset_found_nowhere_uses_the_given_wording():
    entries = _toy_report(lambda name: None)
    assert entries[0] == {"dataset": "cifar10", "available": False, "source": None,
                          "detail": "cifar10 nowhere"}
    assert entries[1]["dataset"] == "digits"  # from scikit-learn, no lookup at all


def test_report_survives_a_lookup_that_raises():
    def broken(name):
        raise PermissionError("cannot read /x\n  (mode 000)")

    entry = _toy_report(broken)[0]
    assert entry["available"] is False and entry["source"] is None
    # one line: whitespace runs (the newline and indent) become single spaces
    assert entry["detail"] == "could not check: PermissionError: cannot read /x (mode 000)"


def test_report_of_a_corrupt_file_names_it(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"not a tar archive")
    entry = _toy_report(lambda name: archive)[0]
    assert entry["available"] is False and entry["source"] == str(archive)
    assert entry["detail"].startswith(f"found at {archive} but corrupt:")


def test_md5_hex_of_a_file_and_of_a_payload(tmp_path):
    # MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321's test suite)
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert fetch.md5_hex(path) == "900150983cd24fb0d6963f7d28e17f72"
    assert fetch.md5_hex(path, b"") == hashlib.md5(b"").hexdigest()
