"""Tests for lt_lab.data.sources, on tiny files written here in the datasets' true formats.

No test touches the network: ``download`` is replaced by a failing stub unless a test
installs its own fake, and the real one is exercised only on a ``file://`` URL.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from lt_lab.data import sources
from lt_lab.data.sources import DATASETS, ImageDataset, data_report, load_dataset, search_paths
from lt_lab.errors import ConfigError, DataUnavailableError

REAL_DOWNLOAD = sources.download
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No $LT_LAB_DATA, a fresh cwd, no repository or Debian data, no network."""

    def no_network(url, destination, md5=None):
        pytest.fail(f"a test tried to download {url}")

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("LT_LAB_DATA", raising=False)
    monkeypatch.setattr(sources, "_REPOSITORY_DATA_DIR", tmp_path / "repository" / "data")
    monkeypatch.setattr(sources, "_SYSTEM_DIRS", {})
    monkeypatch.setattr(sources, "download", no_network)
    sources._load_cached.cache_clear()
    yield work
    sources._load_cached.cache_clear()


# --------------------------------------------------------------------------- file writers


def idx_bytes(magic: int, shape: tuple[int, ...], values: np.ndarray) -> bytes:
    """An IDX file built by hand: big-endian magic, big-endian dims, then raw bytes."""
    header = struct.pack(">i", magic) + struct.pack(f">{len(shape)}I", *shape)
    return header + values.astype(np.uint8).tobytes()


def write_fashion_mnist(directory: Path, *, seed: int = 0, compressed: bool = True) -> dict:
    """Write 5 train and 3 test Fashion-MNIST images as IDX files; return the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (5, 28, 28)),
        "train_labels": rng.integers(0, 10, 5),
        "test_images": rng.integers(0, 256, (3, 28, 28)),
        "test_labels": rng.integers(0, 10, 3),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for filename, key in zip(FASHION_FILES, arrays, strict=True):
        magic = 2051 if key.endswith("images") else 2049
        content = idx_bytes(magic, arrays[key].shape, arrays[key])
        if compressed:
            (directory / filename).write_bytes(gzip.compress(content))
        else:
            (directory / filename.removesuffix(".gz")).write_bytes(content)
    return arrays


class Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes, as in the official CIFAR pickles."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_pickle(obj) -> bytes:
    """``obj`` pickled like CIFAR's Python 2 files (protocol 2, numpy.core globals)."""
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


CIFAR_FORMATS = {
    "cifar10": {
        "archive": "cifar-10-python.tar.gz",
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "names_key": b"label_names",
        "labels_key": b"labels",
        "classes": 10,
    },
    "cifar100": {
        "archive": "cifar-100-python.tar.gz",
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "names_key": b"fine_label_names",
        "labels_key": b"fine_labels",
        "classes": 100,
    },
}


def cifar_members(name: str, seed: int = 0) -> tuple[dict[str, bytes], dict]:
    """The pickled members of a tiny CIFAR archive, and the arrays they hold."""
    layout, rng = CIFAR_FORMATS[name], np.random.default_rng(seed)
    members = {}
    expected = {"train_data": [], "train_labels": [], "test_data": [], "test_labels": []}
    for split in ("train", "test"):
        for index, member in enumerate(layout[split]):
            n = 2 + index % 3
            data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
            labels = [int(x) for x in rng.integers(0, layout["classes"], n)]
            batch = {
                b"batch_label": member.encode(),
                b"data": data,
                layout["labels_key"]: labels,
                b"filenames": [f"img_{i}.png".encode() for i in range(n)],
            }
            if name == "cifar100":
                batch[b"coarse_labels"] = [label // 5 for label in labels]
            members[member] = py2_pickle(batch)
            expected[f"{split}_data"].append(data)
            expected[f"{split}_labels"].append(labels)
    names = [f"class_{i}".encode() for i in range(layout["classes"])]
    members[layout["meta"]] = py2_pickle({layout["names_key"]: names, b"num_vis": 3072})
    expected = {key: np.concatenate(value) for key, value in expected.items()}
    expected["class_names"] = tuple(n.decode() for n in names)
    return members, expected


def cifar_tar_bytes(name: str, members: dict[str, bytes]) -> bytes:
    """A tar.gz holding ``members`` under the dataset's folder, like the official one."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, content in members.items():
            info = tarfile.TarInfo(f"{CIFAR_FORMATS[name]['folder']}/{member}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_cifar(directory: Path, name: str, *, form: str = "tar", seed: int = 0) -> dict:
    """Write a tiny CIFAR dataset as the tar.gz or the extracted folder; return its arrays."""
    members, expected = cifar_members(name, seed)
    layout = CIFAR_FORMATS[name]
    if form == "tar":
        directory.mkdir(parents=True, exist_ok=True)
        (directory / layout["archive"]).write_bytes(cifar_tar_bytes(name, members))
    else:
        (directory / layout["folder"]).mkdir(parents=True)
        for member, content in members.items():
            (directory / layout["folder"] / member).write_bytes(content)
    return expected


def check_split(images: torch.Tensor, labels: torch.Tensor, shape: tuple, n: int) -> None:
    """Dtypes and shapes every split must have."""
    assert images.dtype == torch.uint8 and images.is_contiguous()
    assert tuple(images.shape) == (n, *shape)
    assert labels.dtype == torch.int64 and tuple(labels.shape) == (n,)


# --------------------------------------------------------------------------- Fashion-MNIST


def test_fashion_mnist_round_trips_gzip_idx(isolated):
    arrays = write_fashion_mnist(isolated / "data")
    dataset = load_dataset("fashion_mnist", download=False)
    check_split(dataset.train_images, dataset.train_labels, (1, 28, 28), 5)
    check_split(dataset.test_images, dataset.test_labels, (1, 28, 28), 3)
    assert np.array_equal(dataset.train_images[:, 0].numpy(), arrays["train_images"])
    assert np.array_equal(dataset.test_images[:, 0].numpy(), arrays["test_images"])
    assert dataset.train_labels.tolist() == arrays["train_labels"].tolist()
    assert dataset.test_labels.tolist() == arrays["test_labels"].tolist()
    assert dataset.class_names[0] == "T-shirt/top" and dataset.class_names[-1] == "Ankle boot"
    assert dataset.num_classes == 10 and dataset.image_shape == (1, 28, 28)
    assert dataset.source == str((isolated / "data").resolve())


def test_fashion_mnist_uncompressed_in_named_subfolder(isolated):
    arrays = write_fashion_mnist(isolated / "data" / "fashion-mnist", compressed=False)
    dataset = load_dataset("fashion_mnist", download=False)
    assert np.array_equal(dataset.train_images[:, 0].numpy(), arrays["train_images"])
    assert dataset.source.endswith("fashion-mnist")


def test_wrong_idx_magic_names_the_file(isolated):
    write_fashion_mnist(isolated / "data")
    labels = np.zeros(5)
    bad = gzip.compress(idx_bytes(2051, (5,), labels))  # images magic on a labels file
    (isolated / "data" / "train-labels-idx1-ubyte.gz").write_bytes(bad)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz.*magic"):
        load_dataset("fashion_mnist", download=False)


def test_truncated_idx_is_reported(isolated):
    write_fashion_mnist(isolated / "data")
    path = isolated / "data" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz has .* bytes"):
        load_dataset("fashion_mnist", download=False)


def test_not_gzip_is_reported(isolated):
    write_fashion_mnist(isolated / "data")
    (isolated / "data" / "train-images-idx3-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz is not a readable gzip"):
        load_dataset("fashion_mnist", download=False)


@pytest.mark.data
@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist absent")
def test_debian_fashion_mnist_is_complete():
    dataset = load_dataset("fashion_mnist", root=DEBIAN_FASHION_MNIST, download=False)
    check_split(dataset.train_images, dataset.train_labels, (1, 28, 28), 60000)
    check_split(dataset.test_images, dataset.test_labels, (1, 28, 28), 10000)
    assert torch.bincount(dataset.train_labels).tolist() == [6000] * 10
    assert torch.bincount(dataset.test_labels).tolist() == [1000] * 10


# --------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("form", ["tar", "folder"])
@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_round_trips(isolated, name, form):
    expected = write_cifar(isolated / "data", name, form=form)
    dataset = load_dataset(name, download=False)
    n_train, n_test = len(expected["train_labels"]), len(expected["test_labels"])
    check_split(dataset.train_images, dataset.train_labels, (3, 32, 32), n_train)
    check_split(dataset.test_images, dataset.test_labels, (3, 32, 32), n_test)
    # Row-major, channel-major: pixel [c, h, w] is data[i, c*1024 + h*32 + w].
    data = expected["train_data"]
    for i, c, h, w in [(0, 0, 0, 0), (1, 2, 31, 31), (n_train - 1, 1, 5, 17)]:
        assert dataset.train_images[i, c, h, w].item() == data[i, c * 1024 + h * 32 + w]
    assert np.array_equal(dataset.train_images.reshape(n_train, -1).numpy(), data)
    assert np.array_equal(dataset.test_images.reshape(n_test, -1).numpy(), expected["test_data"])
    assert dataset.train_labels.tolist() == expected["train_labels"].tolist()
    assert dataset.test_labels.tolist() == expected["test_labels"].tolist()
    assert dataset.class_names == expected["class_names"]
    assert dataset.num_classes == CIFAR_FORMATS[name]["classes"]


def test_cifar_archive_missing_a_batch_is_reported(isolated):
    members, _ = cifar_members("cifar10")
    del members["data_batch_3"]
    (isolated / "data").mkdir()
    (isolated / "data" / "cifar-10-python.tar.gz").write_bytes(cifar_tar_bytes("cifar10", members))
    with pytest.raises(ValueError, match="lacks data_batch_3"):
        load_dataset("cifar10", download=False)


class CallsAFunction:
    """An object whose pickle calls a (harmless) function when loaded."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_cifar_pickle_calling_a_function_is_refused(isolated):
    members, _ = cifar_members("cifar10")
    members["data_batch_1"] = py2_pickle({b"data": CallsAFunction()})
    (isolated / "data").mkdir()
    (isolated / "data" / "cifar-10-python.tar.gz").write_bytes(cifar_tar_bytes("cifar10", members))
    with pytest.raises(ValueError, match="getcwd"):
        load_dataset("cifar10", download=False)


# --------------------------------------------------------------------------- lookup order


def test_env_var_beats_data_dir(isolated, tmp_path, monkeypatch):
    write_fashion_mnist(isolated / "data", seed=1)
    from_env = write_fashion_mnist(tmp_path / "env", seed=2)
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "env"))
    dataset = load_dataset("fashion_mnist", download=False)
    assert dataset.source == str((tmp_path / "env").resolve())
    assert dataset.train_labels.tolist() == from_env["train_labels"].tolist()


def test_data_dir_beats_debian_dir(isolated, tmp_path, monkeypatch):
    write_fashion_mnist(tmp_path / "debian", seed=1)
    write_fashion_mnist(isolated / "data", seed=2)
    monkeypatch.setattr(sources, "_SYSTEM_DIRS", {"fashion_mnist": (tmp_path / "debian",)})
    assert load_dataset("fashion_mnist", download=False).source == str(isolated / "data")


def test_explicit_root_is_the_only_place_looked(isolated, tmp_path, monkeypatch):
    write_fashion_mnist(isolated / "data")
    monkeypatch.setenv("LT_LAB_DATA", str(isolated / "data"))
    root = tmp_path / "root"
    assert search_paths("fashion_mnist", root) == [
        root,
        root / "fashion-mnist",
        root / "fashion_mnist",
    ]
    with pytest.raises(DataUnavailableError):
        load_dataset("fashion_mnist", root=root, download=False)


def test_search_paths_order_and_deduplication(isolated, tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(sources, "_REPOSITORY_DATA_DIR", isolated / "data")  # same as cwd's
    monkeypatch.setattr(sources, "_SYSTEM_DIRS", {"fashion_mnist": (tmp_path / "debian",)})
    bases = search_paths("fashion_mnist")[::3]
    assert bases == [tmp_path / "env", isolated / "data", tmp_path / "debian"]
    assert search_paths("cifar10")[::3] == [tmp_path / "env", isolated / "data"]
    assert search_paths("digits") == []


def test_nothing_found_without_download_names_every_fix(isolated):
    with pytest.raises(DataUnavailableError) as caught:
        load_dataset("fashion_mnist", download=False)
    message = str(caught.value)
    for must_mention in ("LT_LAB_DATA", "data/", "apt-get install dataset-fashion-mnist"):
        assert must_mention in message
    assert "download" in message and "fashion-mnist.s3-website" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_failed_download_reports_url_and_error_on_one_line(isolated, monkeypatch):
    def unreachable(url, destination, md5=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(sources, "download", unreachable)
    with pytest.raises(DataUnavailableError) as caught:
        load_dataset("cifar100")
    download_lines = [line for line in str(caught.value).splitlines() if "tried" in line]
    assert len(download_lines) == 1
    assert "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz" in download_lines[0]
    assert "URLError" in download_lines[0] and "Name or service not known" in download_lines[0]


def fake_download(monkeypatch, files: dict[str, bytes]) -> list[tuple[str, Path, str | None]]:
    """Serve ``files`` by name instead of the network; return the calls made."""
    calls = []

    def serve(url, destination, md5=None):
        calls.append((url, destination, md5))
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(files[destination.name])

    monkeypatch.setattr(sources, "download", serve)
    return calls


def test_download_goes_to_env_dir_with_md5(isolated, tmp_path, monkeypatch):
    members, expected = cifar_members("cifar10")
    archive = cifar_tar_bytes("cifar10", members)
    calls = fake_download(monkeypatch, {"cifar-10-python.tar.gz": archive})
    (tmp_path / "env").mkdir()  # $LT_LAB_DATA must exist (tests/test_bad_inputs.py)
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "env"))
    dataset = load_dataset("cifar10")
    assert calls == [
        (
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            (tmp_path / "env" / "cifar-10-python.tar.gz").resolve(),
            "c58f30108f718f92721af3b95e74349a",
        )
    ]
    assert dataset.train_labels.tolist() == expected["train_labels"].tolist()


def test_download_fills_only_missing_files_into_cwd_data(isolated, tmp_path, monkeypatch):
    write_fashion_mnist(tmp_path / "source")
    write_fashion_mnist(isolated / "data")
    (isolated / "data" / "train-images-idx3-ubyte.gz").unlink()
    served = {name: (tmp_path / "source" / name).read_bytes() for name in FASHION_FILES}
    calls = fake_download(monkeypatch, served)
    dataset = load_dataset("fashion_mnist")
    assert [url for url, _, _ in calls] == [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"
    ]
    assert dataset.source == str(isolated / "data")


def test_real_download_is_atomic_and_checks_md5(tmp_path):
    source = tmp_path / "served.bin"
    source.write_bytes(b"x" * 100_000)
    good_md5 = hashlib.md5(source.read_bytes()).hexdigest()
    target = tmp_path / "target"
    REAL_DOWNLOAD(source.as_uri(), target / "file.bin", good_md5)
    assert (target / "file.bin").read_bytes() == source.read_bytes()
    with pytest.raises(OSError, match="MD5"):
        REAL_DOWNLOAD(source.as_uri(), target / "other.bin", "0" * 32)
    with pytest.raises(urllib.error.URLError):
        REAL_DOWNLOAD((tmp_path / "absent").as_uri(), target / "absent.bin")
    assert sorted(p.name for p in target.iterdir()) == ["file.bin"]  # no partial files


# --------------------------------------------------------------------------- the rest


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        load_dataset("mnist")
    for name in DATASETS:
        assert repr(name) in str(caught.value)
    with pytest.raises(ConfigError):
        search_paths("imagenet")


def test_digits_split_is_stratified_and_deterministic():
    pytest.importorskip("sklearn")
    dataset = load_dataset("digits")
    assert len(dataset.train_labels) + len(dataset.test_labels) == 1797
    check_split(dataset.train_images, dataset.train_labels, (1, 8, 8), len(dataset.train_labels))
    check_split(dataset.test_images, dataset.test_labels, (1, 8, 8), len(dataset.test_labels))
    train_counts = torch.bincount(dataset.train_labels, minlength=10)
    test_counts = torch.bincount(dataset.test_labels, minlength=10)
    fractions = test_counts / (train_counts + test_counts)
    assert ((fractions > 0.23) & (fractions < 0.27)).all()
    assert dataset.train_images.max() == 255 and dataset.train_images.min() == 0
    assert dataset.class_names == tuple("0123456789") and dataset.source == "scikit-learn"
    sources._load_cached.cache_clear()
    again = load_dataset("digits")
    assert again is not dataset and torch.equal(again.test_images, dataset.test_images)


def test_loads_are_cached_per_location(isolated, tmp_path, monkeypatch):
    write_fashion_mnist(isolated / "data", seed=1)
    first = load_dataset("fashion_mnist", download=False)
    assert load_dataset("fashion_mnist", download=False) is first
    write_fashion_mnist(tmp_path / "env", seed=2)
    monkeypatch.setenv("LT_LAB_DATA", str(tmp_path / "env"))
    assert load_dataset("fashion_mnist", download=False).source == str(tmp_path / "env")


def test_image_dataset_repr_is_short_and_validates():
    images, labels = torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64)
    dataset = ImageDataset("toy", images, labels, images, labels, ("a",), "here")
    assert repr(dataset).startswith("ImageDataset(name='toy', train=2, test=2")
    with pytest.raises(ValueError):
        ImageDataset("toy", images.float(), labels, images, labels, ("a",), "here")


def test_data_report_lists_every_dataset(isolated):
    write_cifar(isolated / "data", "cifar10")
    report = {entry["dataset"]: entry for entry in data_report()}
    assert list(report) == list(DATASETS)
    for entry in report.values():
        assert set(entry) == {"dataset", "available", "source", "detail"}
    assert report["cifar10"]["available"]
    assert report["cifar10"]["source"].endswith("cifar-10-python.tar.gz")
    assert not report["fashion_mnist"]["available"] and report["fashion_mnist"]["source"] is None
    assert "LT_LAB_DATA" in report["fashion_mnist"]["detail"]


def test_data_report_never_raises(isolated, monkeypatch):
    def broken(name, directory):
        raise PermissionError(f"cannot read {directory}")

    monkeypatch.setattr(sources, "_locate", broken)
    report = data_report()
    assert len(report) == len(DATASETS)
    assert not any(entry["available"] for entry in report if entry["dataset"] != "digits")
    assert all("PermissionError" in e["detail"] for e in report if e["dataset"] != "digits")
