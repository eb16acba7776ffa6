"""Data: sources, long-tailed subsets, samplers and batched augmentation."""

from lt_lab.data.augment import augment, random_crop, random_flip
from lt_lab.data.longtail import (
    LongTailSplit,
    class_order,
    longtail_counts,
    make_longtail,
    validation_indices,
)
from lt_lab.data.samplers import BOUND_SETS, SAMPLERS, build_sampler, class_probabilities
from lt_lab.data.sources import DATASETS, ImageDataset, data_report, load_dataset

__all__ = [
    "BOUND_SETS",
    "DATASETS",
    "SAMPLERS",
    "ImageDataset",
    "LongTailSplit",
    "augment",
    "build_sampler",
    "class_order",
    "class_probabilities",
    "data_report",
    "load_dataset",
    "longtail_counts",
    "make_longtail",
    "random_crop",
    "random_flip",
    "validation_indices",
]
