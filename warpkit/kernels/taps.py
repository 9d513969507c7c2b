"""Where a block of output pixels reads: coordinates to tap offsets and weights.

The CPU kernels work on *blocks* of up to :data:`BLOCK` output pixels of one
sample.  For each block they first run a *locate* loop (this module) that
turns the normalized grid coordinates into, per tap, an element offset into
the ``(H, W)`` input plane (``-1`` for a tap that reads nothing) and an
interpolation weight, stored in small scratch rows; then they read the taps of every
channel with :func:`warpkit.kernels.simd.gather`.  The locate loops are
branch-free per pixel, so LLVM vectorizes them.

Arithmetic runs in the image's own dtype, in the order of PyTorch's CPU
kernel (``aten/native/cpu/GridSamplerKernel.cpp``), so float32 results match
``torch.nn.functional.grid_sample`` to the last bit where the operations
allow, nearest-mode ties included.  warpkit's rules for extreme coordinates
hold on top (see :mod:`warpkit.kernels._math`): a NaN grid value reads as
``-1``; a *far* coordinate (``±Inf``, or beyond ``±COORD_LIMIT`` pixels)
becomes exactly ``±COORD_LIMIT`` with zero gradient, and every padding mode
reads it like border padding would (reflection included).

``mode``, ``padding`` and ``align_corners`` are compile-time constants of
the calling kernel, so the branches on them fold away.  Every offset is
either ``-1`` or inside the plane.

Scratch rows (``real`` of the image dtype, ``index`` of int32 -- int64 for
planes of 2**31 pixels or more --, one row per entry, ``BLOCK`` wide):

* bilinear: ``real`` rows ``W_NW, W_NE, W_SW, W_SE`` (weights), ``TX, TY``
  (fractions), ``GMX, GMY`` (d pixel / d grid); ``index`` rows ``0..3``:
  offsets of the taps nw, ne, sw, se.
* nearest: ``index`` row 0.
* bicubic: ``real`` rows ``CX..CX+3``, ``CY..CY+3`` (Keys weights),
  ``DX..DX+3``, ``DY..DY+3`` (their torch-form derivatives), ``GMX, GMY``;
  ``index`` rows ``4 j + i``: offset of the tap in row ``j``, column ``i``.
"""

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .._config import CPU_DEVICE_JIT_OPTIONS
from ._math import (COORD_LIMIT, CUBIC_A, GRID_LIMIT, MODE_BILINEAR, MODE_NEAREST,
                    PADDING_REFLECTION, PADDING_ZEROS)
from .simd import like, muladd

__all__ = ["BLOCK", "REAL_ROWS", "INDEX_ROWS", "locate", "window"]

#: Output pixels per block: the scratch rows of a block stay in L1.
BLOCK = 256

# Rows of the real scratch.
W_NW, W_NE, W_SW, W_SE, TX, TY, GMX, GMY = 0, 1, 2, 3, 4, 5, 6, 7
CX, CY, DX, DY = 8, 12, 16, 20
#: Rows of scratch the kernels need: these, then the kernels' own rows.
REAL_ROWS = 24
INDEX_ROWS = 16

jit = numba.njit(**CPU_DEVICE_JIT_OPTIONS)


def window(frame, inp):
    """``(height, width, top, left)``, in kernels: where the input ``inp`` (N, C,
    rows, cols), a window of a full image, lies in it.

    ``frame`` is the int64 array ``(height, width, top, left)`` a kernel was
    given, or None (a kernel called without one): ``inp`` is the whole image.
    """
    if frame is None:
        return inp.shape[2], inp.shape[3], 0, 0
    return int(frame[0]), int(frame[1]), int(frame[2]), int(frame[3])


@overload(window, inline="always")
def _window_overload(frame, inp):
    if isinstance(frame, (types.NoneType, types.Omitted)):
        def impl(frame, inp):
            return inp.shape[2], inp.shape[3], np.int64(0), np.int64(0)
    else:
        def impl(frame, inp):
            return np.int64(frame[0]), np.int64(frame[1]), np.int64(frame[2]), np.int64(frame[3])
    return impl


@jit
def grid_coordinate(g, size, align_corners):
    """Unpadded pixel coordinate of normalized ``g`` and ``d pixel / d g``.

    PyTorch's ``(g + 1) * ((size - 1) / 2)`` (``align_corners``) or
    ``(g + 1) * (size / 2) - 0.5``, in ``g``'s dtype, with warpkit's NaN
    and far-coordinate rules: NaN reads as ``-1``; ``±Inf``, or a result
    beyond ``±COORD_LIMIT``, is exactly ``±COORD_LIMIT`` (the sign of
    ``g``) with zero gradient.
    """
    one = like(g, 1.0)
    limit = like(g, COORD_LIMIT)
    zero = like(g, 0.0)
    if align_corners:
        scale = like(g, size - 1) / like(g, 2.0)
    else:
        scale = like(g, size) / like(g, 2.0)
    g = -one if g != g else g
    infinite = abs(g) == like(g, np.inf)
    edge = limit if g > zero else -limit
    g = min(max(g, like(g, -GRID_LIMIT)), like(g, GRID_LIMIT))  # keeps x finite
    if align_corners:
        x = (g + one) * scale
    else:
        x = muladd(g + one, scale, like(g, -0.5))  # contracted, as PyTorch is compiled
    far = infinite | (x > limit) | (x < -limit)
    return (edge if far else x), (zero if far else scale)


@jit
def pad_coordinate(x, grad, size, padding, align_corners):
    """Apply border or reflection padding to pixel coordinate ``x`` (zeros: unchanged).

    Returns ``(x, grad)`` with ``grad`` multiplied by ``d padded / d x``.
    Reflection is PyTorch's (about ``-0.5`` and ``size - 0.5``, or the
    corner centres with ``align_corners``), then both clip into
    ``[0, size - 1]``; a clipped coordinate has zero gradient, as in PyTorch.
    Reflection leaves a far coordinate (``|x| = COORD_LIMIT``) to the clip.
    """
    if padding == PADDING_ZEROS:
        return x, grad
    zero = like(x, 0.0)
    top = like(x, size - 1)
    if padding == PADDING_REFLECTION:
        if align_corners:
            low = zero
            twice_span = like(x, size - 1) * like(x, 2.0)
        else:
            low = like(x, -0.5)
            twice_span = like(x, size) * like(x, 2.0)
        shifted = x - low
        negative = shifted < zero
        magnitude = abs(shifted)
        flips = np.trunc(magnitude / twice_span)
        extra = magnitude - flips * twice_span
        reflected_extra = twice_span - extra
        one_more = extra > reflected_extra
        reflected = (reflected_extra if one_more else extra) + low
        sign = -grad if one_more != negative else grad
        if align_corners and size <= 1:
            reflected = zero
            sign = zero
        near = abs(x) < like(x, COORD_LIMIT)  # a far coordinate clips like border
        x = reflected if near else x
        grad = sign if near else grad
    bounded = max(x, zero)
    clipped = min(bounded, top)
    inside = (bounded != zero) & (clipped != top)
    return clipped, (grad if inside else zero)


@jit
def cubic_coefficients(t):
    """Keys weights (``a = -0.75``) of the taps at ``-1, 0, 1, 2`` from ``floor(x)``."""
    a = like(t, CUBIC_A)
    one = like(t, 1.0)
    two = like(t, 2.0)
    x = t + one
    c0 = ((a * x - like(t, 5.0) * a) * x + like(t, 8.0) * a) * x - like(t, 4.0) * a
    x = t
    c1 = ((a + two) * x - (a + like(t, 3.0))) * x * x + one
    x = one - t
    c2 = ((a + two) * x - (a + like(t, 3.0))) * x * x + one
    x = two - t
    c3 = ((a * x - like(t, 5.0) * a) * x + like(t, 8.0) * a) * x - like(t, 4.0) * a
    return c0, c1, c2, c3


@jit
def cubic_coefficients_grad(t):
    """PyTorch's ``d weight / d x`` terms: ``d c_k / d t`` with the sign flipped."""
    a = like(t, CUBIC_A)
    two = like(t, 2.0)
    three = like(t, 3.0)
    ten = like(t, 10.0)
    x = like(t, -1.0) - t
    d0 = (like(t, -3.0) * a * x - ten * a) * x - like(t, 8.0) * a
    x = like(t, 0.0) - t
    d1 = (like(t, -3.0) * (a + two) * x - two * (a + three)) * x
    x = like(t, 1.0) - t
    d2 = (three * (a + two) * x - two * (a + three)) * x
    x = two - t
    d3 = (three * a * x - ten * a) * x + like(t, 8.0) * a
    return d0, d1, d2, d3


@jit
def tap_index(position, x, size, padding, align_corners, start, extent):
    """Index of integer-valued tap ``position`` of coordinate ``x`` after padding, on
    an axis of ``size`` pixels, counted from ``start`` (the window's first index),
    and whether it is inside the window of ``extent`` pixels (which lies inside
    the axis).  Every tap of a far ``x`` (``|x| = COORD_LIMIT``) reads where
    ``x`` itself does."""
    position = position if abs(x) < like(x, COORD_LIMIT) else x
    x, _ = pad_coordinate(position, position, size, padding, align_corners)
    # |x| <= COORD_LIMIT + 2, so the conversion cannot overflow.
    index = np.int64(x) - start
    return index, (index > -1) & (index < extent)


@jit
def locate(mode, padding, align_corners, points, count, frame, rows, cols, real, index):
    """Fill the scratch rows of the block of ``count`` pixels whose normalized grid
    points are ``points[2 * i]`` (x) and ``points[2 * i + 1]`` (y): a flat view
    of an ``(..., 2)`` grid that starts at the block.

    The input is a window of ``rows x cols`` pixels of a full image: ``frame``
    is ``(height, width, top, left)``, the full image's extent and where the
    window starts in it (:func:`window`).  Coordinates are computed on the
    full image; offsets index the window's plane, and a tap outside the
    window reads nothing (offset -1).  ``mode`` is compiled in as a literal,
    so only its own code is compiled.
    """
    numba.literally(mode)
    if mode == MODE_BILINEAR:
        _locate_bilinear(padding, align_corners, points, count, frame, rows, cols, real, index)
    elif mode == MODE_NEAREST:
        _locate_nearest(padding, align_corners, points, count, frame, rows, cols, index)
    else:
        _locate_bicubic(padding, align_corners, points, count, frame, rows, cols, real, index)


@jit
def _locate_bilinear(padding, align_corners, points, count, frame, rows, cols, real, index):
    height, width, top, left = frame
    # Several short loops over 1-D rows rather than one long one: LLVM
    # vectorizes a loop only while the rows it writes are few enough to
    # check for overlap at run time.
    r_x, r_y, r_gmx, r_gmy = real[TX], real[TY], real[GMX], real[GMY]
    for i in range(count):
        x, gmx = grid_coordinate(points[2 * i], width, align_corners)
        y, gmy = grid_coordinate(points[2 * i + 1], height,
                                 align_corners)
        x, gmx = pad_coordinate(x, gmx, width, padding, align_corners)
        y, gmy = pad_coordinate(y, gmy, height, padding, align_corners)
        r_x[i] = x
        r_y[i] = y
        r_gmx[i] = gmx
        r_gmy[i] = gmy
    o_nw, o_ne, o_sw, o_se = index[0], index[1], index[2], index[3]
    cols32 = np.int32(cols)  # 32-bit lanes: twice as many per vector
    top32 = np.int32(top)
    left32 = np.int32(left)
    for i in range(count):
        # |x| <= COORD_LIMIT: no overflow; then the cell in window pixels
        ix = np.int32(np.floor(r_x[i])) - left32
        iy = np.int32(np.floor(r_y[i])) - top32
        nw, ne, sw, se = _bilinear_masks(ix, iy, rows, cols)
        base = iy * cols32 + ix
        o_nw[i] = base if nw else -1
        o_ne[i] = base + 1 if ne else -1
        o_sw[i] = base + cols32 if sw else -1
        o_se[i] = base + cols32 + 1 if se else -1
    w_nw, w_ne, w_sw, w_se = real[W_NW], real[W_NE], real[W_SW], real[W_SE]
    one = like(real, 1.0)
    for i in range(count):
        x = r_x[i]
        y = r_y[i]
        w = x - np.floor(x)
        e = one - w
        n = y - np.floor(y)
        s = one - n
        w_nw[i] = s * e
        w_ne[i] = s * w
        w_sw[i] = n * e
        w_se[i] = n * w
        r_x[i] = w  # the rows become TX, TY: the fractions
        r_y[i] = n


@jit
def _bilinear_masks(ix, iy, rows, cols):
    """Which of the taps nw, ne, sw, se of the cell at int32 ``(ix, iy)`` (window
    pixels) read the ``rows x cols`` window.  The window lies inside the image,
    so a tap inside it is inside the image too, whatever the padding."""
    none = np.int32(-1)
    cols32 = np.int32(cols)
    rows32 = np.int32(rows)
    ix1 = ix + np.int32(1)
    iy1 = iy + np.int32(1)
    west = (ix > none) & (ix < cols32)
    north = (iy > none) & (iy < rows32)
    east = (ix1 > none) & (ix1 < cols32)
    south = (iy1 > none) & (iy1 < rows32)
    return west & north, east & north, west & south, east & south


@jit
def _locate_nearest(padding, align_corners, points, count, frame, rows, cols, index):
    height, width, top, left = frame
    offsets = index[0]
    for i in range(count):
        x, gmx = grid_coordinate(points[2 * i], width, align_corners)
        y, gmy = grid_coordinate(points[2 * i + 1], height,
                                 align_corners)
        x, _ = pad_coordinate(x, gmx, width, padding, align_corners)
        y, _ = pad_coordinate(y, gmy, height, padding, align_corners)
        ix = np.int64(np.rint(x)) - left  # round half to even, as nearbyint
        iy = np.int64(np.rint(y)) - top
        inside = (ix > -1) & (ix < cols) & (iy > -1) & (iy < rows)
        offsets[i] = iy * cols + ix if inside else -1


@jit
def _locate_bicubic(padding, align_corners, points, count, frame, rows, cols, real, index):
    height, width, top, left = frame
    one = like(real, 1.0)
    for i in range(count):
        x, gmx = grid_coordinate(points[2 * i], width, align_corners)
        y, gmy = grid_coordinate(points[2 * i + 1], height,
                                 align_corners)
        x0 = np.floor(x)
        y0 = np.floor(y)
        cx0, cx1, cx2, cx3 = cubic_coefficients(x - x0)
        cy0, cy1, cy2, cy3 = cubic_coefficients(y - y0)
        dx0, dx1, dx2, dx3 = cubic_coefficients_grad(x - x0)
        dy0, dy1, dy2, dy3 = cubic_coefficients_grad(y - y0)
        real[CX, i] = cx0
        real[CX + 1, i] = cx1
        real[CX + 2, i] = cx2
        real[CX + 3, i] = cx3
        real[CY, i] = cy0
        real[CY + 1, i] = cy1
        real[CY + 2, i] = cy2
        real[CY + 3, i] = cy3
        real[DX, i] = dx0
        real[DX + 1, i] = dx1
        real[DX + 2, i] = dx2
        real[DX + 3, i] = dx3
        real[DY, i] = dy0
        real[DY + 1, i] = dy1
        real[DY + 2, i] = dy2
        real[DY + 3, i] = dy3
        real[GMX, i] = gmx
        real[GMY, i] = gmy
        col0, mx0 = tap_index(x0 - one, x, width, padding, align_corners, left, cols)
        col1, mx1 = tap_index(x0, x, width, padding, align_corners, left, cols)
        col2, mx2 = tap_index(x0 + one, x, width, padding, align_corners, left, cols)
        col3, mx3 = tap_index(x0 + one + one, x, width, padding, align_corners, left, cols)
        for j in range(4):
            row, my = tap_index(y0 + like(real, j - 1), y, height, padding, align_corners,
                                top, rows)
            start = row * cols
            index[4 * j, i] = start + col0 if my & mx0 else -1
            index[4 * j + 1, i] = start + col1 if my & mx1 else -1
            index[4 * j + 2, i] = start + col2 if my & mx2 else -1
            index[4 * j + 3, i] = start + col3 if my & mx3 else -1
