"""The coordinate convention of warpkit, in one place.

Two coordinate systems are used for an axis of ``size`` pixels:

* **pixel** coordinates: pixel ``i`` has its centre at the integer ``i``; the
  top-left pixel centre is ``(x, y) = (0, 0)``.
* **normalized** coordinates in ``[-1, 1]``: with ``align_corners=False``
  (the default, as in PyTorch) ``-1`` and ``+1`` are the outer *edges* of the
  image; with ``align_corners=True`` they are the *centres* of the corner
  pixels.

Grids hold ``(x, y)`` pairs: ``grid[..., 0]`` runs along the width axis and
``grid[..., 1]`` along the height axis.  A grid maps every *output* pixel to
the *input* coordinate it reads (an ``input_from_output`` map).

The scalar formulas below are plain arithmetic, so they run on NumPy arrays
and are also compiled into the sampling kernels (see
``warpkit.kernels._math``): the kernels and the Python helpers cannot
disagree.
"""

import numpy as np

__all__ = [
    "pixel_from_normalized",
    "normalized_from_pixel",
    "normalized_base_coordinates",
    "base_grid",
]


def unnormalize(coord, size, align_corners):
    """Pixel coordinate of normalized ``coord`` on an axis of ``size`` pixels."""
    if align_corners:
        return (coord + 1.0) * 0.5 * (size - 1)
    return ((coord + 1.0) * size - 1.0) * 0.5


def unnormalize_scale(size, align_corners):
    """Derivative of :func:`unnormalize` with respect to ``coord``."""
    if align_corners:
        return (size - 1) * 0.5
    return size * 0.5


def normalize(pixel, size, align_corners):
    """Normalized coordinate of ``pixel`` on an axis of ``size`` pixels (inverse of unnormalize)."""
    if align_corners:
        if size == 1:
            return pixel * 0.0
        return pixel * 2.0 / (size - 1) - 1.0
    return (pixel * 2.0 + 1.0) / size - 1.0


def pixel_from_normalized(points, size, align_corners=False):
    """Convert normalized ``(x, y)`` points to pixel coordinates.

    Parameters
    ----------
    points : array_like, shape (..., 2)
        Normalized ``(x, y)`` coordinates.
    size : tuple of int
        ``(height, width)`` of the image the points refer to.
    align_corners : bool, optional
        The normalization convention (see the module docstring).

    Returns
    -------
    ndarray, shape (..., 2)
        Pixel ``(x, y)`` coordinates; pixel centres are at integers.

    Examples
    --------
    >>> from warpkit.coords import pixel_from_normalized
    >>> pixel_from_normalized([[-1.0, -1.0], [1.0, 1.0]], (4, 4))
    array([[-0.5, -0.5],
           [ 3.5,  3.5]])
    >>> pixel_from_normalized([[-1.0, 1.0]], (4, 4), align_corners=True)
    array([[0., 3.]])
    """
    points = np.asarray(points, dtype=np.result_type(np.asarray(points).dtype, np.float32))
    height, width = size
    x = unnormalize(points[..., 0], width, align_corners)
    y = unnormalize(points[..., 1], height, align_corners)
    return np.stack([x, y], axis=-1)


def normalized_from_pixel(points, size, align_corners=False):
    """Convert pixel ``(x, y)`` points to normalized coordinates.

    The inverse of :func:`pixel_from_normalized`.

    Parameters
    ----------
    points : array_like, shape (..., 2)
        Pixel ``(x, y)`` coordinates.
    size : tuple of int
        ``(height, width)`` of the image.
    align_corners : bool, optional
        The normalization convention.

    Returns
    -------
    ndarray, shape (..., 2)
        Normalized ``(x, y)`` coordinates.

    Examples
    --------
    >>> from warpkit.coords import normalized_from_pixel
    >>> normalized_from_pixel([[0.0, 0.0], [3.0, 3.0]], (4, 4))
    array([[-0.75, -0.75],
           [ 0.75,  0.75]])
    """
    points = np.asarray(points, dtype=np.result_type(np.asarray(points).dtype, np.float32))
    height, width = size
    x = normalize(points[..., 0], width, align_corners)
    y = normalize(points[..., 1], height, align_corners)
    return np.stack([x, y], axis=-1)


def normalized_base_coordinates(size, align_corners=False, dtype=np.float64):
    """Normalized coordinates of the pixel centres along one axis.

    Parameters
    ----------
    size : int
        Number of pixels along the axis.
    align_corners : bool, optional
        The normalization convention.
    dtype : dtype, optional
        Floating dtype of the result.

    Returns
    -------
    ndarray, shape (size,)
        The same values as PyTorch's ``affine_grid`` base grid: ``linspace(-1,
        1, size)`` scaled by ``(size - 1) / size`` when ``align_corners`` is
        False, and ``0`` for a single pixel with ``align_corners=True``.

    Examples
    --------
    >>> from warpkit.coords import normalized_base_coordinates
    >>> normalized_base_coordinates(4)
    array([-0.75, -0.25,  0.25,  0.75])
    >>> normalized_base_coordinates(3, align_corners=True)
    array([-1.,  0.,  1.])
    """
    size = int(size)
    if size <= 1:
        return np.zeros(size, dtype=dtype)
    base = np.linspace(-1.0, 1.0, size, dtype=np.float64)
    if not align_corners:
        base = base * ((size - 1) / size)
    return base.astype(dtype)


def base_grid(height, width, align_corners=False, dtype=np.float64):
    """Normalized homogeneous coordinates ``(x, y, 1)`` of every output pixel.

    Parameters
    ----------
    height, width : int
        Output size.
    align_corners, dtype
        As for :func:`normalized_base_coordinates`.

    Returns
    -------
    ndarray, shape (height, width, 3)
        ``[..., 0]`` is x (varies along the width), ``[..., 1]`` is y, ``[..., 2]`` is 1.

    Examples
    --------
    >>> from warpkit.coords import base_grid
    >>> base_grid(1, 2)[0]
    array([[-0.5,  0. ,  1. ],
           [ 0.5,  0. ,  1. ]])
    """
    xs = normalized_base_coordinates(width, align_corners, dtype)
    ys = normalized_base_coordinates(height, align_corners, dtype)
    out = np.empty((height, width, 3), dtype=dtype)
    out[..., 0] = xs[None, :]
    out[..., 1] = ys[:, None]
    out[..., 2] = 1
    return out
