"""Which input pixels an output chunk can read: its source box.

A chunked warp computes every output chunk from a crop of the input.  The
crop must hold every pixel that any sampling tap of the chunk reads, or the
result would differ from the in-memory warp; it should hold little more, or
the chunk reads (and copies) input it does not need.  This module computes,
per output chunk, the range of normalized source coordinates on each axis
(:func:`affine_ranges`, :func:`perspective_ranges`, :func:`tps_ranges`,
:func:`grid_ranges`) and turns a range into the inclusive range of input
pixels the taps can reach (:func:`tap_range`).

The ranges are conservative by construction:

* affine: the map is linear, so each source coordinate is extreme at a
  corner of the chunk's rectangle of pixel centres (exact);
* perspective: where ``w > 0`` at every corner, ``w`` (affine) is positive
  on the whole rectangle and the image of the rectangle is the convex
  quadrilateral of the corners' images (exact); where ``w <= 0`` everywhere
  the chunk reads no source point; a chunk that the horizon crosses may read
  anywhere, so it gets the whole axis;
* thin-plate spline: the spline is evaluated on a lattice over the
  rectangle, and every point of the rectangle lies within ``d`` (half the
  lattice cell's diagonal) of a lattice point, so by the mean value theorem
  its value lies within ``L * d`` of a lattice value, with ``L`` a bound on
  the gradient's norm over the rectangle (:func:`tps_lipschitz`);
* sampling grids: the grid chunk's own minimum and maximum.

:func:`tap_range` then widens the pixel range by :data:`SLACK` pixels plus
``2**-20`` of the coordinates' magnitude, which covers the kernels' rounding
(coordinates rounded to float32 and unnormalized in float32 carry a few
units in the last place, ``2**-24`` relative each), and by the taps' reach
(``floor(x) - 1`` to ``floor(x) + 2`` covers bilinear, nearest and bicubic),
after applying the padding mode's folding.
"""

import math

import numpy as np

from .. import coords
from ..kernels._fused_math import NO_SOURCE
from ..kernels._math import COORD_LIMIT, PADDING_REFLECTION, PADDING_ZEROS

__all__ = ["tap_range", "affine_ranges", "perspective_ranges", "tps_ranges", "grid_ranges",
           "tps_lipschitz", "SLACK"]

#: Pixels added on each side of a coordinate range before the taps' reach.
SLACK = 2.0

#: Relative widening of a coordinate range (16 float32 units in the last place).
RELATIVE_SLACK = 2.0 ** -20


def tap_range(low, high, size, padding, align_corners):
    """Inclusive range of input indices that samples at normalized coordinates in
    ``[low, high]`` can read on an axis of ``size`` pixels, or None.

    ``low``/``high`` may be ``±inf`` (a far coordinate).  With zeros padding a
    range wholly outside the axis reads nothing (None); border and reflection
    padding fold it into the axis first, as the kernels do.

    Examples
    --------
    >>> from warpkit.dask._boxes import tap_range
    >>> tap_range(-1.0, 1.0, 8, padding=0, align_corners=False)
    (0, 7)
    >>> tap_range(-0.25, -0.25, 8, padding=0, align_corners=False)  # pixel 2.5
    (0, 6)
    >>> tap_range(3.0, 5.0, 8, padding=0, align_corners=False) is None
    True
    >>> tap_range(3.0, 5.0, 8, padding=1, align_corners=False)  # border: the last column
    (6, 7)
    """
    if not low <= high and not (math.isnan(low) or math.isnan(high)):
        raise ValueError(f"a coordinate range must have low <= high, got [{low}, {high}]")
    first, last = sorted(_pixel(value, size, align_corners) for value in (low, high))
    slack = SLACK + RELATIVE_SLACK * max(abs(first), abs(last), size)
    first, last = first - slack, last + slack
    if padding == PADDING_REFLECTION:
        first, last = _reflected_range(first, last, size, align_corners)
    elif padding != PADDING_ZEROS:
        first, last = min(max(first, 0.0), size - 1.0), min(max(last, 0.0), size - 1.0)
    first = max(math.floor(first) - 1, 0)
    last = min(math.floor(last) + 2, size - 1)
    return (int(first), int(last)) if first <= last else None


def _pixel(value, size, align_corners):
    """Pixel coordinate of a normalized value, clamped to the kernels' far limit."""
    if math.isnan(value):
        value = -1.0  # the kernels read a NaN coordinate as -1
    pixel = coords.unnormalize(min(max(value, -4.0 * COORD_LIMIT), 4.0 * COORD_LIMIT), size,
                               align_corners)
    return min(max(pixel, -COORD_LIMIT), COORD_LIMIT)


def _reflected_range(first, last, size, align_corners):
    """The image of pixel range ``[first, last]`` under reflection padding, clipped."""
    low, span = (0.0, size - 1.0) if align_corners else (-0.5, float(size))
    top = size - 1.0
    if span <= 0.0 or last - first >= 2.0 * span or abs(first) >= COORD_LIMIT \
            or abs(last) >= COORD_LIMIT:
        return 0.0, top  # the whole axis (a far coordinate clips like border)
    ends = [_reflect(first, low, span), _reflect(last, low, span)]
    # folds inside the range reach the axis' ends
    for fold, edge in ((low, 0.0), (low + span, top)):
        k = math.ceil((first - fold) / (2.0 * span))
        if fold + 2.0 * span * k <= last:
            ends.append(edge)
    return min(max(min(ends), 0.0), top), min(max(max(ends), 0.0), top)


def _reflect(x, low, span):
    """Reflection of ``x`` into ``[low, low + span]`` (period ``2 * span``)."""
    extra = (x - low) % (2.0 * span)
    return low + (extra if extra <= span else 2.0 * span - extra)


def _corners(axes):
    """The corners of a box given as one ``(low, high)`` pair per axis, as (K, axes) points."""
    grids = np.meshgrid(*axes, indexing="ij")
    return np.stack([grid.ravel() for grid in grids], axis=-1)


def affine_ranges(theta, corners):
    """Per-axis (low, high) of ``theta @ (p, 1)`` over the box with ``corners`` (K, D),
    for one sample's ``theta`` (D, D + 1): a (D, 2) array."""
    images = corners @ theta[:, :-1].T + theta[:, -1]
    return np.stack([images.min(axis=0), images.max(axis=0)], axis=-1)


def perspective_ranges(homography, corners):
    """Per-axis (low, high) of the homography's image of the box with ``corners``.

    ``homography`` (D + 1, D + 1).  Where the last row ``w`` is positive at every
    corner the range is exact; where ``w <= 0`` at every corner every pixel reads
    the no-source coordinate; otherwise the range is unbounded.
    """
    dims = corners.shape[1]
    homogeneous = corners @ homography[:, :-1].T + homography[:, -1]
    w = homogeneous[:, -1]
    if np.all(w > 0.0):
        images = homogeneous[:, :-1] / w[:, None]
        return np.stack([images.min(axis=0), images.max(axis=0)], axis=-1)
    if np.all(w <= 0.0):
        return np.full((dims, 2), NO_SOURCE)
    return np.tile([-np.inf, np.inf], (dims, 1))


def tps_lipschitz(coefficients, centres, low, high):
    """Bound on the gradient norm of each output coordinate of a thin-plate spline
    over the rectangle ``[low, high]`` (normalized (x, y) corners): a (2,) array.

    The spline is ``f(p) = a + A p + sum_k w_k U(|p - c_k|)`` with
    ``U(r) = r**2 log r``, so ``|grad f_j| <= |A_j| + sum_k |w_kj| max |U'(r)|``
    over the distances ``r`` from ``c_k`` to the rectangle, and
    ``|U'(r)| = r |log r**2 + 1|`` is largest at an end of the distance range
    or at its interior maximum ``r = exp(-1.5)`` (value ``2 exp(-1.5)``).
    """
    count = centres.shape[0]
    weights = np.abs(coefficients[:count])  # (K, 2)
    linear = coefficients[count + 1:count + 3]  # rows of x and y: (2, 2) [input axis j in columns]
    nearest = np.clip(centres, low, high)
    r_min = np.linalg.norm(centres - nearest, axis=1)
    far = np.maximum(np.abs(centres - low), np.abs(centres - high))
    r_max = np.linalg.norm(far, axis=1)
    return np.linalg.norm(linear, axis=0) + slope_bound(r_min, r_max) @ weights


def slope_bound(r_min, r_max):
    """``max |U'(r)|`` over ``r_min <= r <= r_max`` (arrays), ``U(r) = r**2 log r``:
    the larger end, or the interior maximum ``2 exp(-1.5)`` at ``r = exp(-1.5)``
    (``|U'|`` falls to 0 at ``exp(-0.5)`` and then grows for good)."""
    slope = np.maximum(_slope(r_min), _slope(r_max))
    peak = math.exp(-1.5)
    return np.where((r_min <= peak) & (peak <= r_max), np.maximum(slope, 2.0 * peak), slope)


def _slope(r):
    """``|U'(r)| = r |log r**2 + 1|`` (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = r * np.abs(2.0 * np.log(r) + 1.0)  # log r**2 would underflow for tiny r
    return np.where(r > 0.0, value, 0.0)


#: Lattice points per axis tried in turn until the margin is below a pixel-sized target.
LATTICE_SIZES = (9, 33, 129)


def tps_ranges(coefficients, centres, low, high, pixel_scale, evaluate):
    """Per-axis (low, high) of a thin-plate spline over the rectangle ``[low, high]``.

    ``pixel_scale`` (2,): input pixels per normalized unit on x and y, used only
    to pick a lattice fine enough that the proven margin stays near a pixel.
    ``evaluate(points)`` evaluates the spline at (M, 2) normalized points.
    """
    bound = tps_lipschitz(coefficients, centres, low, high)
    extent = np.asarray(high, np.float64) - np.asarray(low, np.float64)
    for size in LATTICE_SIZES:
        cell = extent / (size - 1)
        margin = bound * 0.5 * float(np.hypot(*cell))
        if np.all(margin * pixel_scale <= 1.0):
            break
    axes = [np.linspace(a, b, size) for a, b in zip(low, high)]
    values = evaluate(_corners(axes))
    return np.stack([values.min(axis=0) - margin, values.max(axis=0) + margin], axis=-1)


def grid_ranges(block):
    """Per-axis (low, high) of a grid chunk (..., D), NaN read as -1 (the kernels' rule)."""
    values = block.reshape(-1, block.shape[-1]).astype(np.float64)
    values = np.where(np.isnan(values), -1.0, values)
    if values.shape[0] == 0:
        return np.full((block.shape[-1], 2), np.nan)
    return np.stack([values.min(axis=0), values.max(axis=0)], axis=-1)


def box_corners(bases, starts, stops):
    """Corners (K, D) of the rectangle of an output chunk's pixel centres, in
    normalized (x, y[, z]) order: ``bases`` are the full output's base coordinates
    per axis (x first), ``starts``/``stops`` the chunk's index range per axis (x first)."""
    return _corners([(base[start], base[stop - 1]) for base, start, stop in
                     zip(bases, starts, stops)])
