"""CPU kernels of ``grid_sample`` forward and backward.

Each kernel is a serial, GIL-free (``nogil``) loop over a range of
flattened output rows ``n * H_out + h``; :mod:`warpkit.backends.chunks` cuts
the rows into chunks and :mod:`warpkit.backends.threads` runs them, so a batch of
one still uses every core.  Inside a range the kernel walks blocks of up to
:data:`~warpkit.kernels.taps.BLOCK` output pixels of one sample (a block
may span several short rows): it locates the block's taps from its grid
points (:mod:`warpkit.kernels.taps`), then samples or differentiates them
(:mod:`warpkit.kernels.blocks`).

The kernels are specialized at compile time on a :class:`Spec` -- mode,
padding, ``align_corners``, vector width and, for the backward pass, which
gradients to compute -- so no pixel branches on them.  Each specialization
is compiled the first time it is used (and cached on disk); see
:func:`specialized`.

:func:`displacement_forward` and :func:`displacement_backward` run the same
pipeline on points computed from a dense displacement field (the identity
plus the scaled flow, into scratch rows), for
:func:`warpkit.warp_displacement`.
"""

import collections
import threading

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from .blocks import DGX, DGY, ROWS, SRC_X, backward_block, sample_block
from .simd import like
from .taps import BLOCK, INDEX_ROWS, locate, window

#: What a kernel is specialized on.  ``bits`` is the gather width
#: (:data:`warpkit.kernels.simd.KERNEL_VECTOR_BITS`, or 0 for scalar loads);
#: ``need_input``/``need_grid`` select the backward's gradients (the
#: forward kernels ignore them).
Spec = collections.namedtuple(
    "Spec", "mode padding align_corners bits need_input need_grid",
    defaults=(True, True))

_compiled = {}
_compiled_lock = threading.Lock()


def specialized(factory, spec, *leading):
    """The kernel ``factory(*leading, *spec)`` builds, made once per process and key.

    ``leading`` holds the factory's own compile-time constants (a fused
    warp's family code).  The kernel compiles on its first call (or loads
    from Numba's disk cache).

    Examples
    --------
    >>> from warpkit.kernels import cpu
    >>> spec = cpu.Spec(mode=0, padding=0, align_corners=False, bits=0)
    >>> cpu.specialized(cpu.grid_sample_forward, spec) is cpu.specialized(
    ...     cpu.grid_sample_forward, spec)
    True
    """
    key = (factory, leading, tuple(spec))
    kernel = _compiled.get(key)
    if kernel is None:
        with _compiled_lock:
            kernel = _compiled.get(key)
            if kernel is None:
                kernel = _compiled[key] = factory(*leading, *spec)
    return kernel


# Numba's on-disk cache keys a closure on the values of its free variables,
# so each specialization below is cached apart.  The closures capture plain
# ints and bools only: the helpers they call are module globals (a closure
# over a dispatcher could not be cached).


def index_scratch(image_shape):
    """The integer scratch a kernel call needs: int32 offsets, int64 for huge planes."""
    plane = int(image_shape[-1]) * int(image_shape[-2])
    return np.empty((INDEX_ROWS, BLOCK), dtype=np.int32 if plane < 2**31 else np.int64)


def grid_sample_forward(mode, padding, align_corners, bits, need_input=True, need_grid=True):
    """Forward kernel: ``kernel(inp, grid, out, index, row_start, row_end, frame=None)``;
    ``index`` is the call's :func:`index_scratch`; ``frame``, the int64 array
    ``(height, width, top, left)``, says where ``inp`` lies in the full input the
    grid samples (:func:`warpkit.kernels.taps.window`; None: ``inp`` is all of it)."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, grid, out, index, row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_height, out_width = grid.shape[1], grid.shape[2]
        plane = out_height * out_width
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            # the block's points as a view from the block on: indices from 0
            # need no negative-index handling, which would stop vectorization
            points = grid[n].reshape(2 * plane)[2 * first:]
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            sample_block(mode, bits, inp[n].reshape(channels, height * width),
                         out[n].reshape(channels, plane), first, count, real, index)
            pixel += count

    return kernel


def grid_sample_backward(mode, padding, align_corners, bits, need_input=True, need_grid=True):
    """Backward kernel: ``kernel(inp, grid, grad_out, grad_inp, grad_grid, index,
    band_start, band_end, row_start, row_end, frame=None)`` (``frame`` as for
    :func:`grid_sample_forward`; ``grad_inp`` has the shape of ``inp``).

    Adds the input gradient of the rows into ``grad_inp`` (if ``need_input``;
    only taps at plane offsets ``[band_start, band_end)``, see
    :func:`warpkit.kernels.blocks.backward_block`) and writes their grid
    gradient into ``grad_grid`` (if ``need_grid``).
    A gradient that is not needed may be passed empty: ``grad_inp`` of shape
    ``(N, C, 0, 0)``, ``grad_grid`` of any shape.
    """

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, grid, grad_out, grad_inp, grad_grid, index, band_start, band_end,
               row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_height, out_width = grid.shape[1], grid.shape[2]
        plane = out_height * out_width
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        dgx, dgy = real[DGX], real[DGY]
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            # the block's points as a view from the block on: indices from 0
            # need no negative-index handling, which would stop vectorization
            points = grid[n].reshape(2 * plane)[2 * first:]
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            grad_planes = grad_inp[n].reshape(channels, grad_inp.shape[2] * grad_inp.shape[3])
            backward_block(mode, bits, need_input, need_grid,
                           inp[n].reshape(channels, height * width),
                           grad_out[n].reshape(channels, plane), grad_planes,
                           band_start, band_end, first, count, real, index)
            if need_grid:
                grid_grad = grad_grid[n].reshape(2 * plane)[2 * first:]
                for i in range(count):
                    grid_grad[2 * i] = dgx[i]
                    grid_grad[2 * i + 1] = dgy[i]
            pixel += count

    return kernel


# ------------------------------------------------------ displacement fields
#
# The same block pipeline with the points computed from a dense flow: point
# (x, y) of output pixel (h, w) is (base_x[w] + sx * dx, base_y[h] + sy * dy),
# in float64 and rounded to the image dtype (the wrapper picks the base
# arrays and scales of the flow's units), so no grid array exists.  The flow
# gradient is the grid gradient times (sx, sy).


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def _flow_points(flow_n, base_x, base_y, sx, sy, first, count, out_width, points):
    """The block's grid points ``points[2 i], points[2 i + 1]`` from the flow of one sample
    (``flow_n`` flat, ``(H_out * W_out * 2,)``)."""
    i = 0
    while i < count:
        h = (first + i) // out_width
        w0 = first + i - h * out_width
        segment = min(out_width - w0, count - i)
        y = base_y[h]
        row_xs = base_x[w0:]  # views from 0: no negative-index handling in the loop
        row_flow = flow_n[2 * (first + i):]
        row_points = points[2 * i:]
        for k in range(segment):
            row_points[2 * k] = like(points, row_xs[k] + sx * np.float64(row_flow[2 * k]))
            row_points[2 * k + 1] = like(points, y + sy * np.float64(row_flow[2 * k + 1]))
        i += segment


def displacement_forward(mode, padding, align_corners, bits, need_input=True, need_grid=True):
    """Forward kernel of a displacement warp: ``kernel(inp, flow, base_x, base_y, scales,
    out, index, row_start, row_end, frame=None)``; ``flow`` (N, H_out, W_out, 2) in the
    image dtype, ``base_x`` (W_out,), ``base_y`` (H_out,) and ``scales`` (2,) float64;
    ``index`` is the call's :func:`index_scratch`; ``frame`` as for
    :func:`grid_sample_forward`."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, flow, base_x, base_y, scales, out, index, row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_height, out_width = flow.shape[1], flow.shape[2]
        plane = out_height * out_width
        sx, sy = scales[0], scales[1]
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        points = real[SRC_X:SRC_X + 2].reshape(2 * BLOCK)  # the block's (x, y) pairs
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            _flow_points(flow[n].reshape(2 * plane), base_x, base_y, sx, sy, first, count,
                         out_width, points)
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            sample_block(mode, bits, inp[n].reshape(channels, height * width),
                         out[n].reshape(channels, plane), first, count, real, index)
            pixel += count

    return kernel


def displacement_backward(mode, padding, align_corners, bits, need_input=True,
                          need_grid=True):
    """Backward kernel of a displacement warp: ``kernel(inp, flow, base_x, base_y, scales,
    grad_out, grad_inp, grad_flow, index, band_start, band_end, row_start, row_end,
    frame=None)``.

    As :func:`grid_sample_backward`, with the flow gradient (the grid gradient
    times ``scales``) written into ``grad_flow`` if ``need_grid``.
    """

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, flow, base_x, base_y, scales, grad_out, grad_inp, grad_flow, index,
               band_start, band_end, row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_height, out_width = flow.shape[1], flow.shape[2]
        plane = out_height * out_width
        sx, sy = scales[0], scales[1]
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        points = real[SRC_X:SRC_X + 2].reshape(2 * BLOCK)
        dgx, dgy = real[DGX], real[DGY]
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            _flow_points(flow[n].reshape(2 * plane), base_x, base_y, sx, sy, first, count,
                         out_width, points)
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            grad_planes = grad_inp[n].reshape(channels, grad_inp.shape[2] * grad_inp.shape[3])
            backward_block(mode, bits, need_input, need_grid,
                           inp[n].reshape(channels, height * width),
                           grad_out[n].reshape(channels, plane), grad_planes,
                           band_start, band_end, first, count, real, index)
            if need_grid:
                flow_grad = grad_flow[n].reshape(2 * plane)[2 * first:]
                for i in range(count):
                    flow_grad[2 * i] = like(dgx, np.float64(dgx[i]) * sx)
                    flow_grad[2 * i + 1] = like(dgy, np.float64(dgy[i]) * sy)
            pixel += count

    return kernel
