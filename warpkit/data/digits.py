"""The handwritten digits scikit-learn ships, upscaled to MNIST's 28x28 layout."""

import functools

import numpy as np

from . import _checks, _geometry
from ._optional import require_sklearn_datasets

__all__ = ["load_digits"]


@functools.lru_cache(maxsize=4)
def _upscaled(size, box):
    raw = require_sklearn_datasets().load_digits()
    small = (np.asarray(raw.images, dtype=np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
    # The 8x8 picture spans the central box x box pixels of the output: it is
    # scaled by box / 8 about the centres.
    stretch = _geometry.about_centre((8, 8), (size, size), scale=box / 8.0).inverse
    images = _geometry.warp_pixels(small, [stretch] * len(small), (size, size), mode="bicubic")
    images = np.clip(images, 0.0, 1.0)
    images.setflags(write=False)
    labels = np.asarray(raw.target, dtype=np.int64)
    labels.setflags(write=False)
    return images, labels


def load_digits(size=28, box=20):
    """The 1 797 handwritten digits of scikit-learn, upscaled like MNIST.

    scikit-learn's digits are 8x8 images with values 0..16 (no download is
    needed).  Each is resampled with warpkit's bicubic sampler so that it
    fills the central ``box x box`` pixels of a ``size x size`` image, the
    layout of MNIST (a 20x20 digit in a 28x28 frame), then scaled to
    ``[0, 1]``.

    Parameters
    ----------
    size : int, optional
        Side of the output images in pixels (``>= 1``).
    box : int, optional
        Side of the square the 8x8 digit is stretched over (``1 <= box <= size``).

    Returns
    -------
    images : ndarray, shape (1797, 1, size, size), float32
        Values in ``[0, 1]``.
    labels : ndarray, shape (1797,), int64
        Digit classes 0..9.

    Raises
    ------
    ValueError
        If ``size`` or ``box`` is not a positive int, or ``box > size``.
    ImportError
        If scikit-learn is not installed.

    Examples
    --------
    >>> from warpkit.data import load_digits
    >>> images, labels = load_digits()
    >>> images.shape, images.dtype, labels[:5]
    ((1797, 1, 28, 28), dtype('float32'), array([0, 1, 2, 3, 4]))
    >>> bool(images.min() >= 0.0 and images.max() <= 1.0)
    True
    """
    size = _checks.count("size", size, 1)
    box = _checks.count("box", box, 1)
    if box > size:
        raise ValueError(f"box must be between 1 and size ({size}), got {box}")
    images, labels = _upscaled(size, box)
    return images.copy(), labels.copy()
