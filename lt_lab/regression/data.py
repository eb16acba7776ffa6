"""Imbalanced-regression data sets, as tensors on the device.

``rotated_fashion_mnist`` — **RotFMNIST-DIR**, the chapter's image benchmark, built the way
DIR (Yang et al. 2021) built AgeDB-DIR and IMDB-WIKI-DIR: a skewed training set, a balanced
test set over the whole label range. Exactly:

1. the label is a rotation angle θ ∈ [0°, 90°), cut into 45 bins of 2°;
2. training bin b (0 … 44) holds ``n_b = max(1, int(n_max · ρ^(−b/44)))`` images (the LDAM
   exponential profile over bins, so ρ = ``imbalance_ratio`` = n_0 / n_44, the largest over
   the smallest bin count of this envelope); with ``label_profile="exp_dips"`` (the default)
   every fourth bin from bin 2 on (b ≡ 2 mod 4) keeps only a quarter of its images
   (``max(1, n_b // 4)``), so the histogram is ragged like real label histograms and the
   smoothed density differs from the raw counts;
3. the test set holds ``test_per_bin`` images in every bin (balanced);
4. each image is a distinct Fashion-MNIST image (training images from its training split,
   test images from its test split, drawn without replacement by a generator seeded with
   ``subset_seed``); θ is drawn uniformly inside its bin (same generator) and the image is
   rotated by θ about its centre (bilinear, zero fill: ``affine_grid`` + ``grid_sample``,
   all images in batches; no per-image Python), then stored as uint8.

``synthetic_1d`` — a 1-D task with a controllable label density: the label y ∈ [0, 100)
(50 bins of 2) follows the same profiles; the input is x = g(y/100) + 0.01·ε, with
g(t) = t + 0.05·sin(4πt) a monotone warp, ε ~ N(0, 1). ``imbalance_ratio=1`` is uniform
sampling (Pintea et al.'s controlled-sampling experiment compares the two).

``agedb`` / ``imdb_wiki`` — AgeDB-DIR and IMDB-WIKI-DIR in DIR's layout: a CSV
(``agedb.csv`` / ``imdb_wiki.csv``, columns ``age, path, split``) and the images it names,
relative to one folder. Ages are binned by year over [0, 121) (DIR's ``max_target``).
"""

from __future__ import annotations

import math
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from lt_lab.errors import ConfigError, DataUnavailableError, check_choice
from lt_lab.regression.bins import LabelBins

DATASETS = ("rotated_fashion_mnist", "synthetic_1d", "agedb", "imdb_wiki")
SKEWED = ("rotated_fashion_mnist", "synthetic_1d")  # built here; imbalance_ratio applies
LABEL_PROFILES = ("exp", "exp_dips")
DIP_EVERY, DIP_OFFSET, DIP_FACTOR = 4, 2, 4

BINS = {
    "rotated_fashion_mnist": LabelBins(0.0, 90.0, 45),
    "synthetic_1d": LabelBins(0.0, 100.0, 50),
    "agedb": LabelBins(0.0, 121.0, 121),
    "imdb_wiki": LabelBins(0.0, 121.0, 121),
}
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
FACES_MEAN, FACES_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet, as DIR


@dataclass
class RegressionData:
    """A skewed training set and a balanced test set with float labels, on the device."""

    name: str
    train_inputs: torch.Tensor  # uint8 images (N, C, H, W) or float (N, 1, 1, 1)
    train_targets: torch.Tensor  # float32 (N,)
    test_inputs: torch.Tensor
    test_targets: torch.Tensor
    bins: LabelBins
    mean: torch.Tensor | None = None  # (1, C, 1, 1) for uint8 images
    std: torch.Tensor | None = None
    flip: bool = False  # may images be mirrored (faces: yes; rotations: no, it flips θ)
    crop_padding: int = 0
    details: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_inputs.shape[1:])

    @property
    def train_bin_counts(self) -> list[int]:
        return self.bins.counts(self.train_targets).tolist()

    def normalise(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dtype == torch.uint8:
            return (inputs.float() / 255 - self.mean) / self.std
        return inputs

    def to(self, device) -> RegressionData:
        for name in ("train_inputs", "train_targets", "test_inputs", "test_targets", "mean",
                     "std"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self


# --------------------------------------------------------------------------- label profiles


def skewed_bin_counts(n_max: int, num_bins: int, imbalance_ratio: float,
                      label_profile: str = "exp_dips") -> list[int]:
    """Training samples per bin: ``max(1, int(n_max · ρ^(−b/(B−1))))``, thinned ×4 in every
    fourth bin (b ≡ 2 mod 4) for ``exp_dips``. ρ = 1 is uniform (no dips then)."""
    check_choice("label_profile", label_profile, LABEL_PROFILES)
    if imbalance_ratio < 1:
        raise ConfigError(f"imbalance_ratio={imbalance_ratio!r} must be >= 1")
    span = max(num_bins - 1, 1)
    counts = [max(1, int(n_max * imbalance_ratio ** (-b / span))) for b in range(num_bins)]
    if label_profile == "exp_dips" and imbalance_ratio > 1:
        counts = [max(1, c // DIP_FACTOR) if b % DIP_EVERY == DIP_OFFSET else c
                  for b, c in enumerate(counts)]
    return counts


def labels_from_counts(counts, bins: LabelBins, generator: torch.Generator) -> torch.Tensor:
    """``counts[b]`` labels uniform in bin b, for every b, in bin order (float32)."""
    index = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    offset = torch.rand(len(index), generator=generator, dtype=torch.float64)
    return (bins.low + bins.width * (index + offset)).float()


# --------------------------------------------------------------------------- rotated FMNIST


def rotate(images: torch.Tensor, degrees: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Rotate each uint8 image by its angle (degrees) about its centre; bilinear, zero fill."""
    out = torch.empty_like(images)
    for start in range(0, len(images), batch):
        x = images[start : start + batch].float()
        radians = torch.deg2rad(degrees[start : start + batch].float())
        cos, sin = torch.cos(radians), torch.sin(radians)
        zeros = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, -sin, zeros], 1),
                             torch.stack([sin, cos, zeros], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        rotated = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)
        out[start : start + batch] = rotated.round().clamp(0, 255).to(torch.uint8)
    return out


def rotated_fashion_mnist(*, imbalance_ratio: float, n_max: int, test_per_bin: int,
                          label_profile: str = "exp_dips", subset_seed: int = 0) -> RegressionData:
    """RotFMNIST-DIR (see the module docstring for the exact recipe)."""
    from lt_lab.data import load_dataset

    source = load_dataset("fashion_mnist")
    bins = BINS["rotated_fashion_mnist"]
    counts = skewed_bin_counts(n_max, bins.num_bins, imbalance_ratio, label_profile)
    if sum(counts) > len(source.train_labels):
        raise ConfigError(f"n_max={n_max} needs {sum(counts)} training images; Fashion-MNIST "
                          f"has {len(source.train_labels)}")
    if test_per_bin * bins.num_bins > len(source.test_labels):
        raise ConfigError(f"test_per_bin={test_per_bin} needs more than the "
                          f"{len(source.test_labels)} Fashion-MNIST test images")
    generator = torch.Generator().manual_seed(subset_seed)
    train_angles = labels_from_counts(counts, bins, generator)
    test_angles = labels_from_counts([test_per_bin] * bins.num_bins, bins, generator)
    train_pick = torch.randperm(len(source.train_labels), generator=generator)[: sum(counts)]
    test_pick = torch.randperm(len(source.test_labels), generator=generator)[: len(test_angles)]
    return RegressionData(
        name="rotated_fashion_mnist",
        train_inputs=rotate(source.train_images[train_pick], train_angles),
        train_targets=train_angles,
        test_inputs=rotate(source.test_images[test_pick], test_angles),
        test_targets=test_angles,
        bins=bins,
        mean=torch.tensor(FASHION_MEAN).view(1, 1, 1, 1),
        std=torch.tensor(FASHION_STD).view(1, 1, 1, 1),
        crop_padding=0,
        details={"train_bin_counts_planned": counts,
                 "train_fashion_indices_head": train_pick[:5].tolist()},
    )


# --------------------------------------------------------------------------- synthetic 1-D

SYNTHETIC_NOISE = 0.01


def warp(t: torch.Tensor) -> torch.Tensor:
    """g(t) = t + 0.05 sin(4πt): monotone (g' ≥ 1 − 0.2π > 0), not linear."""
    return t + 0.05 * torch.sin(4 * math.pi * t)


def synthetic_1d(*, imbalance_ratio: float, n_max: int, test_per_bin: int,
                 label_profile: str = "exp_dips", subset_seed: int = 0) -> RegressionData:
    """The 1-D task: y from the label profile, x = g(y/100) + 0.01 ε (float inputs)."""
    bins = BINS["synthetic_1d"]
    counts = skewed_bin_counts(n_max, bins.num_bins, imbalance_ratio, label_profile)
    generator = torch.Generator().manual_seed(subset_seed)
    train_y = labels_from_counts(counts, bins, generator)
    test_y = labels_from_counts([test_per_bin] * bins.num_bins, bins, generator)

    def inputs(y):
        noise = torch.randn(len(y), generator=generator) * SYNTHETIC_NOISE
        x = warp(y.double() / bins.high).float() + noise
        return ((x - 0.5) / 0.29).view(-1, 1, 1, 1)

    return RegressionData(name="synthetic_1d", train_inputs=inputs(train_y),
                          train_targets=train_y, test_inputs=inputs(test_y), test_targets=test_y,
                          bins=bins, details={"train_bin_counts_planned": counts})


# --------------------------------------------------------------------------- AgeDB, IMDB-WIKI

CSV_NAMES = {"agedb": "agedb.csv", "imdb_wiki": "imdb_wiki.csv"}
IMDB_WIKI_TARS = ("https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/static/imdb_crop.tar",
                  "https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/static/wiki_crop.tar")
HOW_TO_GET = {
    "agedb": "AgeDB is released by its authors on request (ibug.doc.ic.ac.uk/resources/agedb); "
             "put its images in <root>/AgeDB/ and DIR's agedb.csv (github.com/YyzHarry/"
             "imbalanced-regression, agedb-dir/data/) in <root>.",
    "imdb_wiki": "with download=True lt_lab fetches and unpacks imdb_crop.tar and wiki_crop.tar "
                 "(ETH Zurich, several GB) into <root>; DIR's imdb_wiki.csv "
                 "(imdb-wiki-dir/data/ of its repository) goes in <root>.",
}


def faces_root(name: str, root: str | Path | None = None) -> Path:
    """``root``, else ``$LT_LAB_DATA/<name>``, else ``data/<name>`` of the checkout."""
    if root is not None:
        return Path(root)
    if os.environ.get("LT_LAB_DATA", "").strip():
        base = Path(os.environ["LT_LAB_DATA"].strip()).expanduser()
        if not base.is_dir():  # never a silent fall-back to the checkout's data/
            raise DataUnavailableError(f"LT_LAB_DATA={base} is not an existing folder; point "
                                       f"it at the folder that holds {name}/, or unset it")
        return base / name
    return Path(__file__).resolve().parents[2] / "data" / name


def _download_imdb_wiki(folder: Path) -> None:
    from lt_lab.data.sources import download

    for url in IMDB_WIKI_TARS:
        archive = folder / url.rsplit("/", 1)[1]
        if not (folder / archive.stem).is_dir():
            download(url, archive)
            with tarfile.open(archive) as tar:
                tar.extractall(folder, filter="data")


def _decode(folder: Path, paths, image_size: int) -> torch.Tensor:
    """uint8 (N, 3, size, size) tensor of the images, resized (PIL, bilinear)."""
    import numpy as np
    from PIL import Image

    out = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    for i, relative in enumerate(paths):  # decoding is per file by nature; done once, cached
        with Image.open(folder / relative) as image:
            out[i] = np.asarray(image.convert("RGB").resize((image_size, image_size),
                                                            Image.BILINEAR))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def load_faces(name: str, *, root: str | Path | None = None, image_size: int = 64,
               download: bool = False) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """AgeDB-DIR or IMDB-WIKI-DIR: ``{"train"|"val"|"test": (uint8 images, float ages)}``.

    Decoded once, then cached as ``.lt_lab_<name>_<size>px.pt`` in the data folder.
    """
    import csv

    check_choice("dataset", name, tuple(CSV_NAMES))
    from lt_lab.data.sources import note_source

    folder = faces_root(name, root)
    note_source(name, folder.resolve())
    cache = folder / f".lt_lab_{name}_{image_size}px.pt"
    if cache.exists():
        return torch.load(cache, weights_only=True)  # a shared data folder: no pickled code
    table = folder / CSV_NAMES[name]
    if download and name == "imdb_wiki":
        _download_imdb_wiki(folder)
    if not table.exists():
        raise DataUnavailableError(f"{name}: {table} not found. {HOW_TO_GET[name]}")
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"age", "path", "split"} - set(rows[0] if rows else {})
    if missing:
        raise DataUnavailableError(f"{table} lacks the column(s) {sorted(missing)}")
    splits = {}
    for split in ("train", "val", "test"):
        chosen = [r for r in rows if r["split"] == split]
        ages = torch.tensor([float(r["age"]) for r in chosen], dtype=torch.float32)
        splits[split] = (_decode(folder, [r["path"] for r in chosen], image_size), ages)
    partial = cache.with_name(cache.name + ".tmp")
    torch.save(splits, partial)
    os.replace(partial, cache)
    return splits


def faces(name: str, *, image_size: int = 64, root=None) -> RegressionData:
    """AgeDB-DIR / IMDB-WIKI-DIR as :class:`RegressionData` (their own train/test splits)."""
    splits = load_faces(name, root=root, image_size=image_size)
    return RegressionData(
        name=name, train_inputs=splits["train"][0], train_targets=splits["train"][1],
        test_inputs=splits["test"][0], test_targets=splits["test"][1], bins=BINS[name],
        mean=torch.tensor(FACES_MEAN).view(1, 3, 1, 1),
        std=torch.tensor(FACES_STD).view(1, 3, 1, 1), flip=True, crop_padding=image_size // 16,
    )
