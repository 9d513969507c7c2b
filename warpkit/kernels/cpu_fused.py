"""CPU loops of the fused warps (affine, perspective, thin-plate spline).

Like :mod:`warpkit.kernels.cpu`, every kernel is a serial ``nogil`` loop over
a range ``[row_start, row_end)`` of flattened output rows ``n * H_out + h``,
run on the thread pool by :mod:`warpkit.backends.cpu`.  The affine and perspective
kernels compute each block's coordinates and parameter gradients here and
sample with the block pipeline of :mod:`warpkit.kernels.cpu`; the spline
kernels use the per-pixel maths of :mod:`warpkit.kernels._fused_math` on top
of :mod:`warpkit.kernels._math`.

Backward kernels add into the chunk's own buffers: the input gradient into
``grad_inp`` (shared only by chunks that cover distinct samples), the
parameter gradients into float64 per-chunk accumulators, visiting the rows
in order.  The caller sums the chunks' accumulators in chunk order, so the
gradients are bit-identical from run to run.

Every kernel takes the parameters as float64 arrays and the normalized base
coordinates ``xs`` (W_out,) and ``ys`` (H_out,) as float64, and, last, an
optional ``frame``: the int64 array ``(height, width, top, left)`` saying
where the input ``inp`` lies in the full input the warp reads
(:func:`warpkit.kernels.taps.window`; None: ``inp`` is all of it).  The input
gradient then has the shape of ``inp``.
"""

import collections

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from . import _fused_math, _math
from .blocks import DGX, DGY, ROWS, SRC_X, backward_block, sample_block
from .simd import like
from .taps import BLOCK, locate, window

jit = numba.njit(**CPU_DEVICE_JIT_OPTIONS)
NO_SOURCE = _fused_math.NO_SOURCE


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def _scatter_add(target, scale, n, c, y, x, value):
    target[n, c, y, x] += value


pixel_math = _math.build(numba.njit(**CPU_DEVICE_JIT_OPTIONS), _scatter_add)

fused_math = _fused_math.build(numba.njit(**CPU_DEVICE_JIT_OPTIONS), pixel_math)
# The loops call the coordinate and gradient pieces and the sampler directly
# (rather than the composed ``*_pixel`` entries, which the CUDA kernels use):
# one call level less per pixel, which LLVM then inlines.
_sample_pixel = pixel_math.sample_pixel_framed
_backward_pixel = pixel_math.backward_pixel_framed
_perspective_accumulate = fused_math.perspective_accumulate
_spline_point = fused_math.spline_point
_spline_point_basis = fused_math.spline_point_basis
_spline_accumulate_basis = fused_math.spline_accumulate_basis
_spline_basis = fused_math.spline_basis
_spline_point_from_basis = fused_math.spline_point_from_basis


# ------------------------------------------------ affine and perspective
#
# These kernels run the block pipeline of warpkit.kernels.cpu: the
# family's coordinates of a block (computed in float64 from the float64
# parameters, then rounded to the image dtype), the shared locate and
# sample/backward steps, and for the backward pass the parameter gradient
# of the block, summed in float64 in pixel order.  Like the grid_sample
# kernels they are closures specialized on a ``cpu.Spec``.


@jit
def _affine_coordinates(theta, n, xs, ys, first, count, out_width, points):
    t00, t01, t02 = theta[n, 0, 0], theta[n, 0, 1], theta[n, 0, 2]
    t10, t11, t12 = theta[n, 1, 0], theta[n, 1, 1], theta[n, 1, 2]
    i = 0
    while i < count:
        h = (first + i) // out_width
        w0 = first + i - h * out_width
        segment = min(out_width - w0, count - i)
        y = ys[h]
        row_xs = xs[w0:]  # views from 0: no negative-index handling in the loop
        row_points = points[2 * i:]
        for k in range(segment):
            x = row_xs[k]
            row_points[2 * k] = like(points, t00 * x + t01 * y + t02)
            row_points[2 * k + 1] = like(points, t10 * x + t11 * y + t12)
        i += segment


@jit
def _affine_gradient(xs, ys, first, count, out_width, dgx, dgy, acc):
    i = 0
    while i < count:
        h = (first + i) // out_width
        w0 = first + i - h * out_width
        segment = min(out_width - w0, count - i)
        y = ys[h]
        row_xs, row_dgx, row_dgy = xs[w0:], dgx[i:], dgy[i:]
        a0 = a1 = a2 = a3 = a4 = a5 = 0.0
        for k in range(segment):
            x = row_xs[k]
            gx = np.float64(row_dgx[k])
            gy = np.float64(row_dgy[k])
            a0 += gx * x
            a2 += gx
            a3 += gy * x
            a5 += gy
        a1 = a2 * y
        a4 = a5 * y
        acc[0] += a0
        acc[1] += a1
        acc[2] += a2
        acc[3] += a3
        acc[4] += a4
        acc[5] += a5
        i += segment


@jit
def _perspective_point(hom, n, x, y):
    u = hom[n, 0, 0] * x + hom[n, 0, 1] * y + hom[n, 0, 2]
    v = hom[n, 1, 0] * x + hom[n, 1, 1] * y + hom[n, 1, 2]
    w = hom[n, 2, 0] * x + hom[n, 2, 1] * y + hom[n, 2, 2]
    inside = w > 0.0
    gx = u / w if inside else NO_SOURCE
    gy = v / w if inside else NO_SOURCE
    return gx, gy, w


@jit
def _perspective_coordinates(hom, n, xs, ys, first, count, out_width, points):
    i = 0
    while i < count:
        h = (first + i) // out_width
        w0 = first + i - h * out_width
        segment = min(out_width - w0, count - i)
        y = ys[h]
        row_xs = xs[w0:]
        row_points = points[2 * i:]
        for k in range(segment):
            gx, gy, _ = _perspective_point(hom, n, row_xs[k], y)
            row_points[2 * k] = like(points, gx)
            row_points[2 * k + 1] = like(points, gy)
        i += segment


@jit
def _perspective_gradient(hom, n, xs, ys, first, count, out_width, dgx, dgy, acc):
    i = 0
    while i < count:
        h = (first + i) // out_width
        w0 = first + i - h * out_width
        segment = min(out_width - w0, count - i)
        y = ys[h]
        row_xs, row_dgx, row_dgy = xs[w0:], dgx[i:], dgy[i:]
        for k in range(segment):
            x = row_xs[k]
            gx, gy, w = _perspective_point(hom, n, x, y)
            _perspective_accumulate(acc, x, y, w, gx, gy, np.float64(row_dgx[k]),
                                   np.float64(row_dgy[k]))
        i += segment


#: Family codes of the block kernels: a closure constant, so Numba compiles
#: only the family's own branch.
AFFINE = 0
PERSPECTIVE = 1

#: Parameter-gradient entries per sample: theta (2, 3), H (3, 3).
PARAMETER_COUNTS = {AFFINE: 6, PERSPECTIVE: 9}


@jit
def _matrix_coordinates(family, params, n, xs, ys, first, count, out_width, points):
    """The (x, y) input coordinates of a block, by the family's map."""
    if family == AFFINE:
        _affine_coordinates(params, n, xs, ys, first, count, out_width, points)
    else:
        _perspective_coordinates(params, n, xs, ys, first, count, out_width, points)


def matrix_forward(family, mode, padding, align_corners, bits, need_input=True,
                   need_grid=True):
    """``kernel(inp, params, xs, ys, out, index, row_start, row_end, frame=None)``:
    ``out[n, :, h, w]``
    = input at the image of ``(xs[w], ys[h])`` by ``params[n]`` (theta (N, 2, 3) for
    :data:`AFFINE`, H (N, 3, 3) for :data:`PERSPECTIVE`), for rows ``n * H_out + h`` in
    range; ``index`` is the call's :func:`warpkit.kernels.cpu.index_scratch`."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, params, xs, ys, out, index, row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_width = xs.shape[0]
        plane = ys.shape[0] * out_width
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        points = real[SRC_X:SRC_X + 2].reshape(2 * BLOCK)  # the block's (x, y) pairs
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            _matrix_coordinates(family, params, n, xs, ys, first, count, out_width, points)
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            sample_block(mode, bits, inp[n].reshape(channels, height * width),
                         out[n].reshape(channels, plane), first, count, real, index)
            pixel += count

    return kernel


def matrix_backward(family, mode, padding, align_corners, bits, need_input=True,
                    need_grid=True):
    """``kernel(inp, params, xs, ys, grad_out, grad_inp, acc, index, band_start, band_end,
    row_start, row_end, frame=None)``: the input gradient into ``grad_inp`` (if ``need_input``,
    taps in the band only, as for :func:`warpkit.kernels.cpu.grid_sample_backward`;
    else it may be ``(N, C, 0, 0)``), the parameter gradient into ``acc`` (N,
    :data:`PARAMETER_COUNTS`), float64 (if ``need_grid``: the parameters' gradient
    comes from the grid's)."""

    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(inp, params, xs, ys, grad_out, grad_inp, acc, index, band_start, band_end,
               row_start, row_end, frame=None):
        batch, channels, height, width = inp.shape
        full = window(frame, inp)
        out_width = xs.shape[0]
        plane = ys.shape[0] * out_width
        real = np.empty((ROWS, BLOCK), dtype=inp.dtype)
        points = real[SRC_X:SRC_X + 2].reshape(2 * BLOCK)  # the block's (x, y) pairs
        pixel = row_start * out_width
        end = row_end * out_width
        while pixel < end:
            n = pixel // plane
            first = pixel - n * plane
            count = min(BLOCK, end - pixel, plane - first)
            _matrix_coordinates(family, params, n, xs, ys, first, count, out_width, points)
            locate(mode, padding, align_corners, points, count, full, height, width, real,
                   index)
            backward_block(mode, bits, need_input, need_grid,
                           inp[n].reshape(channels, height * width),
                           grad_out[n].reshape(channels, plane),
                           grad_inp[n].reshape(channels, grad_inp.shape[2] * grad_inp.shape[3]),
                           band_start, band_end, first, count, real, index)
            if need_grid:
                if family == AFFINE:
                    _affine_gradient(xs, ys, first, count, out_width, real[DGX], real[DGY],
                                     acc[n])
                else:
                    _perspective_gradient(params, n, xs, ys, first, count, out_width,
                                          real[DGX], real[DGY], acc[n])
            pixel += count

    return kernel


# ---------------------------------------------------------------- spline
#
# The spline kernels below still sample with the per-pixel scalar maths of
# warpkit.kernels._math (coordinates and weights in float64), one pixel at a
# time; they take mode, padding and align_corners as run-time integers.


@numba.njit(**CPU_JIT_OPTIONS)
def tps_forward(inp, coef, centres, xs, ys, mode, padding_mode, align_corners, out,
                        row_start, row_end, frame=None):
    """``out[n, :, h, w]`` = input at the spline image of ``(xs[w], ys[h])``.

    ``coef`` (N, K + 3, 2); ``centres`` (1, K, 2) shared or (N, K, 2).
    """
    height, width, top, left = window(frame, inp)
    out_height = ys.shape[0]
    shared = centres.shape[0] == 1
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        cn = 0 if shared else n
        y = ys[h]
        for w in range(xs.shape[0]):
            gx, gy = _spline_point(coef, centres, n, cn, xs[w], y)
            _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w,
                          height, width, top, left)


@numba.njit(**CPU_JIT_OPTIONS)
def tps_backward(inp, coef, centres, xs, ys, grad_out, mode, padding_mode,
                         align_corners, grad_inp, acc_coef, acc_centres, row_start, row_end,
                         frame=None):
    """Input gradient into ``grad_inp``; coefficient and centre gradients into the
    float64 accumulators ``acc_coef`` (N, K + 3, 2) and ``acc_centres`` (like ``centres``)."""
    height, width, top, left = window(frame, inp)
    out_height = ys.shape[0]
    shared = centres.shape[0] == 1
    basis = np.empty((centres.shape[1], 2))  # U_k and log r2 + 1 of the current pixel
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        cn = 0 if shared else n
        y = ys[h]
        acc_coef_n = acc_coef[n]
        acc_centres_n = acc_centres[cn]
        for w in range(xs.shape[0]):
            x = xs[w]
            gx, gy = _spline_point_basis(coef, centres, n, cn, x, y, basis)
            dgx, dgy = _backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                       align_corners, grad_inp, 1.0, height, width, top, left)
            _spline_accumulate_basis(coef, centres, n, cn, x, y, dgx, dgy, basis, acc_coef_n,
                                     acc_centres_n)


# Shared centres: the kernel values U_k at an output pixel are the same for
# every sample, so these loops run over output rows h (not n * H_out + h),
# compute the K logarithms of a pixel once, and visit every sample there.
# A chunk of rows then touches every sample's input gradient, so each chunk
# adds into its own buffer (the caller sums them in chunk order).


@numba.njit(**CPU_JIT_OPTIONS)
def tps_forward_shared(inp, coef, centres, xs, ys, mode, padding_mode, align_corners,
                               out, h_start, h_end, frame=None):
    """:func:`tps_forward` for centres (1, K, 2), output rows ``h`` in range."""
    height, width, top, left = window(frame, inp)
    basis = np.empty((centres.shape[1], 2))
    for h in range(h_start, h_end):
        y = ys[h]
        for w in range(xs.shape[0]):
            x = xs[w]
            _spline_basis(centres, 0, x, y, basis)
            for n in range(coef.shape[0]):
                gx, gy = _spline_point_from_basis(coef, n, x, y, basis)
                _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w,
                              height, width, top, left)


@numba.njit(**CPU_JIT_OPTIONS)
def tps_backward_shared(inp, coef, centres, xs, ys, grad_out, mode, padding_mode,
                                align_corners, grad_inp, acc_coef, acc_centres, h_start, h_end,
                                frame=None):
    """:func:`tps_backward` for centres (1, K, 2), output rows ``h`` in range."""
    height, width, top, left = window(frame, inp)
    basis = np.empty((centres.shape[1], 2))
    acc_centres_0 = acc_centres[0]
    for h in range(h_start, h_end):
        y = ys[h]
        for w in range(xs.shape[0]):
            x = xs[w]
            _spline_basis(centres, 0, x, y, basis)
            for n in range(coef.shape[0]):
                gx, gy = _spline_point_from_basis(coef, n, x, y, basis)
                dgx, dgy = _backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                           align_corners, grad_inp, 1.0, height, width, top,
                                           left)
                _spline_accumulate_basis(coef, centres, n, 0, x, y, dgx, dgy, basis,
                                         acc_coef[n], acc_centres_0)


# ------------------------------------------------------------ kernel sets
#
# What a transform family's spec (warpkit.families) names as its CPU
# kernels.  Block kernels are specialized closures (warpkit.kernels.cpu.Spec)
# of one family code; pixel kernels take the options at run time, with a
# variant for centres shared by the whole batch.

BlockKernels = collections.namedtuple("BlockKernels", "family forward backward")
PixelKernels = collections.namedtuple(
    "PixelKernels", "forward backward forward_shared backward_shared")

AFFINE_KERNELS = BlockKernels(AFFINE, matrix_forward, matrix_backward)
PERSPECTIVE_KERNELS = BlockKernels(PERSPECTIVE, matrix_forward, matrix_backward)
TPS_KERNELS = PixelKernels(tps_forward, tps_backward, tps_forward_shared, tps_backward_shared)
