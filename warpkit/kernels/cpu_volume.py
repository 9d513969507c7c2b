"""CPU loops of every volume (3-D) sampler: grid, displacement field, affine, perspective.

One forward and one backward loop serve every *point source* -- where an
output voxel's input coordinate comes from -- chosen at compile time by a
closure constant (:data:`SOURCE_GRID`, :data:`SOURCE_FLOW`,
:data:`SOURCE_AFFINE`, :data:`SOURCE_PERSPECTIVE`), so Numba compiles only
that source's branch.  Trilinear sampling (``mode="bilinear"``) runs the
block kernels :func:`trilinear_forward` and :func:`trilinear_backward` (the
block pipeline of :mod:`warpkit.kernels.volume_blocks`); nearest and
tricubic run :func:`volume_forward` and :func:`volume_backward`, which
sample (or differentiate) each voxel by the shared per-voxel maths of
:mod:`warpkit.kernels._volume_math`.  Both kinds take mode, padding and
``align_corners`` as run-time integers and the same arguments.

Every kernel is a serial ``nogil`` loop over a range ``[row_start,
row_end)`` of flattened output rows ``(n * D_out + d) * H_out + h``, run on
threads by :mod:`warpkit.backends.cpu_volume`.

Kernel arguments
    ``inp``: the input (N, C, D, H, W), or a crop of it; ``frame``: int64
    ``(depth, height, width, front, top, left)``, the full input's extent and
    where the crop starts inside it (see :mod:`warpkit.kernels._volume_math`;
    the whole input: ``(D, H, W, 0, 0, 0)``).  ``field``: the grid
    (N, D_out, H_out, W_out, 3) or the flow (same shape), in the input's
    dtype; theta (N, 3, 4) or the homography (N, 4, 4), float64.  ``base_x``,
    ``base_y``, ``base_z``: float64 (W_out,), (H_out,), (D_out,) (empty for the
    grid).  ``scales``: float64 (3,) per-axis flow scales (ones for the other
    sources).

Backward kernels
    ``grad_inp4`` is the (N, C, D * H, W) view of the input gradient (the
    crop's; an empty (N, C, 0, 0) stand-in when ``need_input`` is False); only
    taps on the crop's rows ``z * H + y`` in ``[band_start, band_end)`` are
    scattered (default: all).  ``grad_field``: the grid or flow gradient, written (the flow's
    already times ``scales``); matrix sources pass an empty array.  ``acc``:
    float64 (N, 12) or (N, 16) parameter gradients, added to, row-major;
    other sources pass ``np.zeros((0, 0))``.
"""

import threading

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from . import _volume_math
from .cpu_fused import _scatter_add, pixel_math
from .simd import like
from .taps import BLOCK
from .volume_blocks import DGX, DGY, DGZ, INDEX_ROWS, PX, PY, PZ, ROWS
from .volume_blocks import backward_trilinear as _backward_block
from .volume_blocks import locate_trilinear as _locate
from .volume_blocks import sample_trilinear as _sample_block
from .volume_blocks import split_points as _split_points
from .volume_blocks import tap_rows as _tap_rows

jit = numba.njit(**CPU_DEVICE_JIT_OPTIONS)

#: Point sources of the volume kernels (closure constants).
SOURCE_GRID = 0
SOURCE_FLOW = 1
SOURCE_AFFINE = 2
SOURCE_PERSPECTIVE = 3

#: Parameter-gradient entries per sample of the matrix sources.
PARAMETER_COUNTS = {SOURCE_AFFINE: 12, SOURCE_PERSPECTIVE: 16}

#: Default band of the backward kernels: every input row.
ALL_ROWS = _volume_math.ALL_ROWS

volume_math = _volume_math.build(jit, _scatter_add, pixel_math)
_source_index = pixel_math.source_index
# Inlined into the nearest and tricubic loops: a real call per voxel, passing the
# arrays and the frame, cost as much as the nearest sample itself.
_sample_voxel = volume_math.sample_voxel_framed
_backward_voxel = volume_math.backward_voxel_framed


@jit
def _frame_tuple(frame):
    """The int64 ``frame`` array as the tuple the per-voxel maths take."""
    return (frame[0], frame[1], frame[2], frame[3], frame[4], frame[5])


_grid_point = volume_math.grid_point
_flow3d_point = volume_math.flow3d_point
_affine3d_point = volume_math.affine3d_point
_affine3d_accumulate = volume_math.affine3d_accumulate
_perspective3d_point = volume_math.perspective3d_point
_perspective3d_accumulate = volume_math.perspective3d_accumulate


# ------------------------------------------------------------ trilinear blocks
#
# Trilinear sampling (``mode="bilinear"``), the common case, runs the block
# pipeline of warpkit.kernels.volume_blocks instead of the per-voxel maths:
# the points of a block of output voxels (read from the grid, or computed
# from the flow or the matrix -- in float64, then rounded to the image
# dtype, as the 2-D block kernels do), located in vectorized loops, then
# sampled or differentiated channel by channel.  The kernels take the same
# arguments as the per-voxel ones (``mode`` is ignored: trilinear).


@jit
def _segment(first, i, out_height, out_width):
    """``(d, h, w0)``: the output voxel of block voxel ``i``."""
    row = (first + i) // out_width
    w0 = first + i - row * out_width
    d = row // out_height
    return d, row - d * out_height, w0


@jit
def _flow_points(flow_n, base_x, base_y, base_z, scales, first, count, out_height,
                 out_width, real):
    """The block's points ``base + scales * flow`` into rows ``PX, PY, PZ`` (``flow_n``
    one sample's flow, flat)."""
    sx, sy, sz = scales[0], scales[1], scales[2]
    i = 0
    while i < count:
        d, h, w0 = _segment(first, i, out_height, out_width)
        segment = min(out_width - w0, count - i)
        y = base_y[h]
        z = base_z[d]
        row_xs = base_x[w0:]  # views from 0: no negative-index handling in the loop
        row_flow = flow_n[3 * (first + i):]
        p_x, p_y, p_z = real[PX, i:], real[PY, i:], real[PZ, i:]
        for k in range(segment):
            p_x[k] = like(real, row_xs[k] + sx * np.float64(row_flow[3 * k]))
            p_y[k] = like(real, y + sy * np.float64(row_flow[3 * k + 1]))
            p_z[k] = like(real, z + sz * np.float64(row_flow[3 * k + 2]))
        i += segment


@jit
def _matrix_points(affine, params, n, base_x, base_y, base_z, first, count, out_height,
                   out_width, real):
    """The block's points by theta (``affine``) or the homography, in float64, into rows
    ``PX, PY, PZ``."""
    i = 0
    while i < count:
        d, h, w0 = _segment(first, i, out_height, out_width)
        segment = min(out_width - w0, count - i)
        y = base_y[h]
        z = base_z[d]
        row_xs = base_x[w0:]
        p_x, p_y, p_z = real[PX, i:], real[PY, i:], real[PZ, i:]
        if affine:  # a loop of its own, which LLVM vectorizes
            for k in range(segment):
                gx, gy, gz = _affine3d_point(params, n, row_xs[k], y, z)
                p_x[k] = like(real, gx)
                p_y[k] = like(real, gy)
                p_z[k] = like(real, gz)
        else:
            for k in range(segment):
                gx, gy, gz, _ = _perspective3d_point(params, n, row_xs[k], y, z)
                p_x[k] = like(real, gx)
                p_y[k] = like(real, gy)
                p_z[k] = like(real, gz)
        i += segment


@jit
def _matrix_gradient(affine, params, n, base_x, base_y, base_z, first, count, out_height,
                     out_width, dgx, dgy, dgz, acc):
    """Add the block's theta or homography gradient into ``acc`` (float64): the sums of an
    output row's voxels (theta: factored by the row's ``y`` and ``z``), row by row."""
    i = 0
    while i < count:
        d, h, w0 = _segment(first, i, out_height, out_width)
        segment = min(out_width - w0, count - i)
        y = base_y[h]
        z = base_z[d]
        row_xs = base_x[w0:]
        row_dgx, row_dgy, row_dgz = dgx[i:], dgy[i:], dgz[i:]
        if affine:
            sx = sy = sz = xx = xy = xz = 0.0
            for k in range(segment):
                x = row_xs[k]
                gx = np.float64(row_dgx[k])
                gy = np.float64(row_dgy[k])
                gz = np.float64(row_dgz[k])
                xx += gx * x
                sx += gx
                xy += gy * x
                sy += gy
                xz += gz * x
                sz += gz
            acc[0] += xx
            acc[1] += sx * y
            acc[2] += sx * z
            acc[3] += sx
            acc[4] += xy
            acc[5] += sy * y
            acc[6] += sy * z
            acc[7] += sy
            acc[8] += xz
            acc[9] += sz * y
            acc[10] += sz * z
            acc[11] += sz
        else:
            for k in range(segment):
                x = row_xs[k]
                px, py, pz, wh = _perspective3d_point(params, n, x, y, z)
                _perspective3d_accumulate(acc, x, y, z, wh, px, py, pz, np.float64(row_dgx[k]),
                                          np.float64(row_dgy[k]), np.float64(row_dgz[k]))
        i += segment


@jit
def _record_rows(ranges, row_first, index, first, count, out_width, width):
    """Widen ``ranges`` of the output rows of the block to the input rows its taps read
    (a row's entry starts afresh at its first voxel)."""
    i = 0
    while i < count:
        row = (first + i) // out_width
        w0 = first + i - row * out_width
        segment = min(out_width - w0, count - i)
        low, high = _tap_rows(index[:, i:], segment, width)
        if w0 == 0:
            ranges[row_first + row, 0] = low
            ranges[row_first + row, 1] = high
        else:
            ranges[row_first + row, 0] = min(ranges[row_first + row, 0], low)
            ranges[row_first + row, 1] = max(ranges[row_first + row, 1], high)
        i += segment


def trilinear_forward(source, bits, wide):
    """Forward block kernel of one point source, called as :func:`volume_forward`'s;
    ``bits`` is the gather width (:data:`warpkit.kernels.simd.KERNEL_VECTOR_BITS`),
    ``wide`` whether tap offsets need int64 (volumes of 2**31 voxels or more)."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, frame, field, base_x, base_y, base_z, scales, mode, padding,
               align_corners, out, row_start, row_end):
        batch, channels, depth, height, width = inp.shape
        full = _frame_tuple(frame)
        out_depth, out_height, out_width = out.shape[2], out.shape[3], out.shape[4]
        plane = out_depth * out_height * out_width
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        if wide:
            index = np.empty((INDEX_ROWS, BLOCK), dtype=np.int64)
        else:
            index = np.empty((INDEX_ROWS, BLOCK), dtype=np.int32)
        voxel = row_start * out_width
        end = row_end * out_width
        while voxel < end:
            n = voxel // plane
            first = voxel - n * plane
            count = min(BLOCK, end - voxel, plane - first)
            if source == SOURCE_GRID:
                _split_points(field[n].reshape(3 * plane)[3 * first:], count, real)
            elif source == SOURCE_FLOW:
                _flow_points(field[n].reshape(3 * plane), base_x, base_y, base_z, scales,
                             first, count, out_height, out_width, real)
            else:
                _matrix_points(source == SOURCE_AFFINE, field, n, base_x, base_y, base_z,
                               first, count, out_height, out_width, real)
            _locate(padding, align_corners, count, full, depth, height, width, real, index)
            _sample_block(bits, inp[n].reshape(channels, depth * height * width),
                          out[n].reshape(channels, plane), first, count, real, index)
            voxel += count

    return kernel


def trilinear_backward(source, bits, wide):
    """Backward block kernel of one point source, called as :func:`volume_backward`'s
    (``bits`` and ``wide`` as for :func:`trilinear_forward`)."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, frame, field, base_x, base_y, base_z, scales, grad_out, mode, padding,
               align_corners, need_input, need_field, grad_inp4, grad_field, acc,
               row_start, row_end, band_start=0, band_end=ALL_ROWS, ranges=None,
               record=False):
        batch, channels, depth, height, width = inp.shape
        full = _frame_tuple(frame)
        out_depth, out_height, out_width = (grad_out.shape[2], grad_out.shape[3],
                                            grad_out.shape[4])
        plane = out_depth * out_height * out_width
        rows = out_depth * out_height
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        if wide:
            index = np.empty((INDEX_ROWS, BLOCK), dtype=np.int64)
        else:
            index = np.empty((INDEX_ROWS, BLOCK), dtype=np.int32)
        # the band in element offsets of a sample's volume
        low = min(max(band_start, 0), depth * height) * width
        high = min(max(band_end, 0), depth * height) * width
        grad_size = grad_inp4.shape[2] * grad_inp4.shape[3]
        voxel = row_start * out_width
        end = row_end * out_width
        while voxel < end:
            if ranges is not None:
                if not record and ranges.shape[0]:  # past the rows whose taps miss the band
                    row = voxel // out_width
                    while row < row_end and (ranges[row, 1] < band_start
                                             or ranges[row, 0] >= band_end):
                        row += 1
                    voxel = max(voxel, row * out_width)
                    if voxel >= end:
                        break
            n = voxel // plane
            first = voxel - n * plane
            count = min(BLOCK, end - voxel, plane - first)
            if source == SOURCE_GRID:
                _split_points(field[n].reshape(3 * plane)[3 * first:], count, real)
            elif source == SOURCE_FLOW:
                _flow_points(field[n].reshape(3 * plane), base_x, base_y, base_z, scales,
                             first, count, out_height, out_width, real)
            else:
                _matrix_points(source == SOURCE_AFFINE, field, n, base_x, base_y, base_z,
                               first, count, out_height, out_width, real)
            _locate(padding, align_corners, count, full, depth, height, width, real, index)
            _backward_block(bits, need_input, need_field,
                            inp[n].reshape(channels, depth * height * width),
                            grad_out[n].reshape(channels, plane),
                            grad_inp4[n].reshape(channels, grad_size), low, high, first,
                            count, real, index)
            if ranges is not None:
                if record:
                    _record_rows(ranges, n * rows, index, first, count, out_width, width)
            if need_field:
                dgx, dgy, dgz = real[DGX], real[DGY], real[DGZ]
                if source == SOURCE_GRID or source == SOURCE_FLOW:
                    target = grad_field[n].reshape(3 * plane)[3 * first:]
                    if source == SOURCE_GRID:
                        for i in range(count):
                            target[3 * i] = dgx[i]
                            target[3 * i + 1] = dgy[i]
                            target[3 * i + 2] = dgz[i]
                    else:
                        sx, sy, sz = scales[0], scales[1], scales[2]
                        for i in range(count):
                            target[3 * i] = like(dgx, np.float64(dgx[i]) * sx)
                            target[3 * i + 1] = like(dgy, np.float64(dgy[i]) * sy)
                            target[3 * i + 2] = like(dgz, np.float64(dgz[i]) * sz)
                else:
                    _matrix_gradient(source == SOURCE_AFFINE, field, n, base_x, base_y,
                                     base_z, first, count, out_height, out_width, dgx, dgy,
                                     dgz, acc[n])
            voxel += count

    return kernel


def volume_forward(source):
    """Forward kernel of one point source: ``kernel(inp, frame, field, base_x, base_y,
    base_z, scales, mode, padding, align_corners, out, row_start, row_end)`` writes
    ``out[n, :, d, h, w]`` for the rows in range."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, frame, field, base_x, base_y, base_z, scales, mode, padding,
               align_corners, out, row_start, row_end):
        full = _frame_tuple(frame)
        out_depth, out_height, out_width = out.shape[2], out.shape[3], out.shape[4]
        for row in range(row_start, row_end):
            nd = row // out_height
            h = row - nd * out_height
            n = nd // out_depth
            d = nd - n * out_depth
            for w in range(out_width):
                if source == SOURCE_GRID:
                    gx, gy, gz = _grid_point(field, n, d, h, w)
                elif source == SOURCE_FLOW:
                    gx, gy, gz = _flow3d_point(field, n, d, h, w, base_x, base_y, base_z,
                                               scales)
                elif source == SOURCE_AFFINE:
                    gx, gy, gz = _affine3d_point(field, n, base_x[w], base_y[h], base_z[d])
                else:
                    gx, gy, gz, _ = _perspective3d_point(field, n, base_x[w], base_y[h],
                                                         base_z[d])
                _sample_voxel(inp, full, n, gx, gy, gz, mode, padding, align_corners,
                              out, d, h, w)

    return kernel


def volume_backward(source):
    """Backward kernel of one point source: ``kernel(inp, frame, field, base_x, base_y,
    base_z, scales, grad_out, mode, padding, align_corners, need_input, need_field,
    grad_inp4, grad_field, acc, row_start, row_end, band_start=0, band_end=ALL_ROWS,
    ranges=None, record=False)`` (see the module docstring).

    ``ranges`` (int64, (N * D_out * H_out, 2), or (0, 2) for none), if given, holds for
    every output row the
    first and last input row ``z * H + y`` its taps can touch: written when ``record``
    (conservatively: every row), else read to skip the output rows whose taps all miss the
    band.  A banded input-gradient pass then visits only the output rows that reach
    its band.
    """

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, frame, field, base_x, base_y, base_z, scales, grad_out, mode, padding,
               align_corners, need_input, need_field, grad_inp4, grad_field, acc,
               row_start, row_end, band_start=0, band_end=ALL_ROWS, ranges=None,
               record=False):
        full = _frame_tuple(frame)
        out_depth, out_height, out_width = (grad_out.shape[2], grad_out.shape[3],
                                            grad_out.shape[4])
        for row in range(row_start, row_end):
            nd = row // out_height
            h = row - nd * out_height
            n = nd // out_depth
            d = nd - n * out_depth
            if ranges is not None:
                if (not record and ranges.shape[0]
                        and (ranges[row, 1] < band_start or ranges[row, 0] >= band_end)):
                    continue
            y = base_y[h] if source >= SOURCE_AFFINE else 0.0
            z = base_z[d] if source >= SOURCE_AFFINE else 0.0
            for w in range(out_width):
                x = 0.0
                wh = 1.0
                if source == SOURCE_GRID:
                    gx, gy, gz = _grid_point(field, n, d, h, w)
                elif source == SOURCE_FLOW:
                    gx, gy, gz = _flow3d_point(field, n, d, h, w, base_x, base_y, base_z,
                                               scales)
                elif source == SOURCE_AFFINE:
                    x = base_x[w]
                    gx, gy, gz = _affine3d_point(field, n, x, y, z)
                else:
                    x = base_x[w]
                    gx, gy, gz, wh = _perspective3d_point(field, n, x, y, z)
                dgx, dgy, dgz = _backward_voxel(
                    inp, full, grad_out, n, d, h, w, gx, gy, gz, mode, padding,
                    align_corners, need_input, need_field, grad_inp4, 1.0, band_start,
                    band_end)
                if need_field:
                    if source == SOURCE_GRID:
                        grad_field[n, d, h, w, 0] = dgx
                        grad_field[n, d, h, w, 1] = dgy
                        grad_field[n, d, h, w, 2] = dgz
                    elif source == SOURCE_FLOW:
                        grad_field[n, d, h, w, 0] = dgx * scales[0]
                        grad_field[n, d, h, w, 1] = dgy * scales[1]
                        grad_field[n, d, h, w, 2] = dgz * scales[2]
                    elif source == SOURCE_AFFINE:
                        _affine3d_accumulate(acc[n], x, y, z, dgx, dgy, dgz)
                    else:
                        _perspective3d_accumulate(acc[n], x, y, z, wh, gx, gy, gz,
                                                  dgx, dgy, dgz)
            if ranges is not None:
                if record:
                    ranges[row, 0] = 0
                    ranges[row, 1] = ALL_ROWS

    return kernel


_kernels = {}
_kernels_lock = threading.Lock()


def kernel_for(factory, source, *options):
    """The kernel ``factory(source, *options)`` builds, made once per process and key
    (compiled on its first call, or loaded from Numba's disk cache).

    Examples
    --------
    >>> from warpkit.kernels import cpu_volume as kv
    >>> kv.kernel_for(kv.volume_forward, kv.SOURCE_GRID) is kv.kernel_for(
    ...     kv.volume_forward, kv.SOURCE_GRID)
    True
    """
    key = (factory, source) + options
    kernel = _kernels.get(key)
    if kernel is None:
        with _kernels_lock:
            kernel = _kernels.get(key)
            if kernel is None:
                kernel = _kernels[key] = factory(source, *options)
    return kernel


#: Stand-ins for the arrays a source does not use.
NO_BASE = np.zeros(0)
NO_SCALES = np.ones(3)
