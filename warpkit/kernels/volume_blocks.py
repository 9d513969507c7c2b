"""Trilinear sampling of volumes by blocks: locate the taps, then sample or differentiate.

The 3-D counterpart of :mod:`warpkit.kernels.taps` and
:mod:`warpkit.kernels.blocks` for ``mode="bilinear"`` on volumes.  A kernel
of :mod:`warpkit.kernels.cpu_volume` walks blocks of up to
:data:`~warpkit.kernels.taps.BLOCK` output voxels of one sample and puts
each block's normalized points in rows ``PX, PY, PZ``;
:func:`locate_trilinear` turns them into, per tap, an element offset
``(z * H + y) * W + x`` into the sample's ``(D, H, W)`` volume (``-1`` for a
tap that reads nothing) and the fractions along each axis, in short
branch-free loops that LLVM vectorizes; then :func:`sample_trilinear` or
:func:`backward_trilinear` read the eight taps of every channel and
interpolate in the image's dtype.

The per-axis rules -- NaN reads as ``-1``, far coordinates become
``±COORD_LIMIT`` with zero gradient, padding, ``align_corners`` -- are the
2-D block helpers' (:func:`warpkit.kernels.taps.grid_coordinate`,
:func:`~warpkit.kernels.taps.pad_coordinate`), applied on each axis in
float64 whatever the image dtype, so a point lies in the same cell (and
has the same gradient) in a float32 and a float64 call.  ``padding`` and
``align_corners`` are run-time values; each axis loop dispatches once per
block to a copy compiled for the padding mode, so no voxel branches on it.

Frames: the volume read may be a *crop* ``(D_crop, H_crop, W_crop)`` of a
larger one, ``frame = (depth, height, width, front, top, left)`` (a tuple of
ints, see :mod:`warpkit.kernels._volume_math`): the coordinates are the full
volume's, the offsets the crop's, ``((z - front) * H_crop + y - top) * W_crop
+ x - left``; a tap outside the crop reads nothing (``-1``).  The crop lies
inside the full volume, so a tap inside the crop is inside the volume.

Scratch rows (``real`` of the image dtype and ``index`` of int32, or int64
for volumes of 2**31 voxels or more; ``BLOCK`` wide):

* ``real`` rows ``PX, PY, PZ``: the block's points; ``TX, TY, TZ``: the
  fractions; ``GMX, GMY, GMZ``: d voxel / d grid; ``V0 .. V0 + 7``:
  gathered taps (vector gathers only); ``DGX, DGY, DGZ``: the grid gradient
  of each voxel (normalized units).
* ``index`` rows ``0 .. 7``: the offset of tap ``4 * dz + 2 * dy + dx``;
  ``IX, IX + 1, IX + 2``: the floors of the coordinates, minus the crop's start
  (crop indices).
"""

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS
from ._math import PADDING_BORDER, PADDING_REFLECTION, PADDING_ZEROS
from .simd import add_pair, gather, like, load_pair, muladd
from .taps import grid_coordinate, pad_coordinate

__all__ = ["ROWS", "INDEX_ROWS", "PX", "PY", "PZ", "DGX", "DGY", "DGZ", "split_points",
           "locate_trilinear", "sample_trilinear", "backward_trilinear", "tap_rows"]

TX, TY, TZ, GMX, GMY, GMZ = 0, 1, 2, 3, 4, 5
V0 = 6
DGX, DGY, DGZ = 14, 15, 16
PX, PY, PZ = 17, 18, 19
#: Real scratch rows in all.
ROWS = 20
IX = 8
#: Index scratch rows: one per tap, then the floors along x, y, z.
INDEX_ROWS = 11

jit = numba.njit(**CPU_DEVICE_JIT_OPTIONS)


# ------------------------------------------------------------------ locate


@jit
def split_points(points, count, real):
    """Copy the block's interleaved ``(x, y, z)`` points (a flat view from the block on)
    into rows ``PX, PY, PZ``: all three at once, which LLVM vectorizes."""
    p_x, p_y, p_z = real[PX], real[PY], real[PZ]
    for i in range(count):
        p_x[i] = points[3 * i]
        p_y[i] = points[3 * i + 1]
        p_z[i] = points[3 * i + 2]


@jit
def _axis_loop(points, count, size, start, padding, align_corners, fractions, grads,
               floors):
    shift = like(floors, start)
    for i in range(count):
        # in float64 whatever the image dtype: the cell of a point, and so its
        # gradient, is then the same for a float32 and a float64 call
        x, gm = grid_coordinate(np.float64(points[i]), size, align_corners)
        x, gm = pad_coordinate(x, gm, size, padding, align_corners)
        x0 = np.floor(x)
        fractions[i] = like(fractions, x - x0)
        grads[i] = like(grads, gm)
        # |x| <= COORD_LIMIT, and int32 floors only for extents below 2**30: no overflow
        floors[i] = like(floors, x0) - shift


@jit
def _locate_axis(points, count, size, start, padding, align_corners, fractions, grads,
                 floors):
    """The fraction, d voxel / d grid and floor (minus ``start``) of the padded
    coordinates along an axis of ``size``: one loop per padding mode, each with its mode
    constant (the calls are inlined)."""
    if padding == PADDING_ZEROS:
        _axis_loop(points, count, size, start, PADDING_ZEROS, align_corners, fractions,
                   grads, floors)
    elif padding == PADDING_BORDER:
        _axis_loop(points, count, size, start, PADDING_BORDER, align_corners, fractions,
                   grads, floors)
    else:
        _axis_loop(points, count, size, start, PADDING_REFLECTION, align_corners,
                   fractions, grads, floors)


@jit
def _plane_offsets(i_x, i_y, i_z, dz, count, depth, height, width, o0, o1, o2, o3):
    """Offsets of the four taps of the ``z0 + dz`` plane (``x0, x0 + 1`` on rows
    ``y0, y0 + 1``) into the crop ``(depth, height, width)``, ``-1`` where a tap is
    outside the crop (so outside the volume, or not read by the caller's window)."""
    none = like(o0, -1)
    one = like(o0, 1)
    w = like(o0, width)
    h = like(o0, height)
    plane = h * w
    for i in range(count):
        ix = i_x[i]
        iy = i_y[i]
        iz = i_z[i] + like(o0, dz)
        x0 = (ix > none) & (ix < w)
        x1 = (ix + one > none) & (ix + one < w)
        y0 = (iy > none) & (iy < h)
        y1 = (iy + one > none) & (iy + one < h)
        z = (iz > none) & (iz < like(o0, depth))
        base = iz * plane + iy * w + ix
        o0[i] = base if z & y0 & x0 else none
        o1[i] = base + one if z & y0 & x1 else none
        o2[i] = base + w if z & y1 & x0 else none
        o3[i] = base + w + one if z & y1 & x1 else none


@jit
def locate_trilinear(padding, align_corners, count, frame, depth, height, width, real,
                     index):
    """Fill the scratch rows of a block of ``count`` voxels whose normalized points are in
    rows ``PX, PY, PZ``, reading the crop ``(depth, height, width)`` of the volume of
    ``frame``."""
    i_x, i_y, i_z = index[IX], index[IX + 1], index[IX + 2]
    _locate_axis(real[PX], count, frame[2], frame[5], padding, align_corners, real[TX],
                 real[GMX], i_x)
    _locate_axis(real[PY], count, frame[1], frame[4], padding, align_corners, real[TY],
                 real[GMY], i_y)
    _locate_axis(real[PZ], count, frame[0], frame[3], padding, align_corners, real[TZ],
                 real[GMZ], i_z)
    _plane_offsets(i_x, i_y, i_z, 0, count, depth, height, width,
                   index[0], index[1], index[2], index[3])
    _plane_offsets(i_x, i_y, i_z, 1, count, depth, height, width,
                   index[4], index[5], index[6], index[7])


# ------------------------------------------------------------------ sample


@jit
def _lerp(a, b, t):
    return muladd(b - a, t, a)


@jit
def _taps(bits, src, index, real, i):
    """The eight tap values of voxel ``i``: pair loads (``bits == 0``) or the gathered rows."""
    if bits == 0:
        v000, v001 = load_pair(src, index[0, i], index[1, i])
        v010, v011 = load_pair(src, index[2, i], index[3, i])
        v100, v101 = load_pair(src, index[4, i], index[5, i])
        v110, v111 = load_pair(src, index[6, i], index[7, i])
        return v000, v001, v010, v011, v100, v101, v110, v111
    return (real[V0, i], real[V0 + 1, i], real[V0 + 2, i], real[V0 + 3, i],
            real[V0 + 4, i], real[V0 + 5, i], real[V0 + 6, i], real[V0 + 7, i])


@jit
def _gather_taps(bits, src, index, count, real):
    if bits > 0:
        for k in range(8):
            gather(bits, src, index[k], count, real[V0 + k])


@jit
def sample_trilinear(bits, planes, out_planes, first, count, real, index):
    """Write ``out_planes[:, first:first + count]`` from the located taps; ``planes`` are
    the sample's channels flattened to ``(C, D * H * W)``."""
    r_x, r_y, r_z = real[TX], real[TY], real[TZ]
    for c in range(planes.shape[0]):
        src = planes[c]
        out = out_planes[c][first:]
        _gather_taps(bits, src, index, count, real)
        for i in range(count):
            v000, v001, v010, v011, v100, v101, v110, v111 = _taps(bits, src, index, real, i)
            tx = r_x[i]
            ty = r_y[i]
            b0 = _lerp(_lerp(v000, v001, tx), _lerp(v010, v011, tx), ty)
            b1 = _lerp(_lerp(v100, v101, tx), _lerp(v110, v111, tx), ty)
            out[i] = _lerp(b0, b1, r_z[i])


# ---------------------------------------------------------------- backward


@jit
def backward_trilinear(bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                       band_start, band_end, first, count, real, index):
    """Gradients of a located block.

    Adds the input gradient into ``grad_planes`` (``(C, D * H * W)``) if
    ``need_input``, for the taps whose offset lies in ``[band_start, band_end)``
    only (element offsets, ``band_start >= 0``); writes the grid gradient
    (normalized units) into rows ``DGX, DGY, DGZ`` if ``need_grid``.
    """
    r_x, r_y, r_z = real[TX], real[TY], real[TZ]
    gx, gy, gz = real[DGX], real[DGY], real[DGZ]
    o0, o1, o2, o3 = index[0], index[1], index[2], index[3]
    o4, o5, o6, o7 = index[4], index[5], index[6], index[7]
    one = like(real, 1.0)
    zero = like(real, 0.0)
    if need_grid:
        for i in range(count):
            gx[i] = zero
            gy[i] = zero
            gz[i] = zero
    for c in range(planes.shape[0]):
        grad_out = grad_out_planes[c][first:]
        grad = grad_planes[c]
        src = planes[c]
        if need_grid:
            _gather_taps(bits, src, index, count, real)
        for i in range(count):  # both gradients in one pass over the taps
            g = grad_out[i]
            tx = r_x[i]
            ty = r_y[i]
            tz = r_z[i]
            if need_input:
                ux = one - tx
                a = (one - ty) * (one - tz) * g
                b = ty * (one - tz) * g
                e = (one - ty) * tz * g
                f = ty * tz * g
                add_pair(grad, o0[i], o1[i], ux * a, tx * a, band_start, band_end)
                add_pair(grad, o2[i], o3[i], ux * b, tx * b, band_start, band_end)
                add_pair(grad, o4[i], o5[i], ux * e, tx * e, band_start, band_end)
                add_pair(grad, o6[i], o7[i], ux * f, tx * f, band_start, band_end)
            if need_grid:
                v000, v001, v010, v011, v100, v101, v110, v111 = _taps(bits, src, index,
                                                                       real, i)
                # d/dx: the x differences, weighed along y then z
                dx = _lerp(_lerp(v001 - v000, v011 - v010, ty),
                           _lerp(v101 - v100, v111 - v110, ty), tz)
                a00 = _lerp(v000, v001, tx)
                a01 = _lerp(v010, v011, tx)
                a10 = _lerp(v100, v101, tx)
                a11 = _lerp(v110, v111, tx)
                dy = _lerp(a01 - a00, a11 - a10, tz)
                dz = _lerp(a10, a11, ty) - _lerp(a00, a01, ty)
                gx[i] = muladd(dx, g, gx[i])
                gy[i] = muladd(dy, g, gy[i])
                gz[i] = muladd(dz, g, gz[i])
    if need_grid:
        gmx, gmy, gmz = real[GMX], real[GMY], real[GMZ]
        for i in range(count):
            gx[i] = gx[i] * gmx[i]
            gy[i] = gy[i] * gmy[i]
            gz[i] = gz[i] * gmz[i]


@jit
def tap_rows(index, count, width):
    """``(low, high)``: the first and last input row ``z * H + y`` the located taps of
    voxels ``0 .. count - 1`` read (``(1 << 62, -1)`` if none reads any)."""
    low = np.int64(1) << 62
    high = np.int64(-1)
    for k in range(8):
        offsets = index[k]
        for i in range(count):
            o = np.int64(offsets[i])
            if o >= 0:
                row = o // width
                low = min(low, row)
                high = max(high, row)
    return low, high
