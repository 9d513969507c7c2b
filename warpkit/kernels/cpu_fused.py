"""CPU loops of the fused warps (affine, projective, thin-plate spline).

Like :mod:`warpkit.kernels.cpu`, every kernel is a serial ``nogil`` loop over
a range ``[row_start, row_end)`` of flattened output rows ``n * H_out + h``,
run on the thread pool by :mod:`warpkit.warp`.  The per-pixel arithmetic is
:mod:`warpkit.kernels._fused_math` (coordinates and parameter gradients) on
top of :mod:`warpkit.kernels._math` (sampling).

Backward kernels add into the chunk's own buffers: the input gradient into
``grad_inp`` (shared only by chunks that cover distinct samples), the
parameter gradients into float64 per-chunk accumulators, visiting the rows
in order.  The caller sums the chunks' accumulators in chunk order, so the
gradients are bit-identical from run to run.

Every kernel takes the parameters as float64 arrays and the normalized base
coordinates ``xs`` (W_out,) and ``ys`` (H_out,) as float64, so there is one
compiled specialization per image dtype.
"""

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from . import _fused_math
from .cpu import pixel_math

fused_math = _fused_math.build(numba.njit(**CPU_DEVICE_JIT_OPTIONS), pixel_math)
# The loops call the coordinate and gradient pieces and the sampler directly
# (rather than the composed ``*_pixel`` entries, which the CUDA kernels use):
# one call level less per pixel, which LLVM then inlines.
_sample_pixel = pixel_math.sample_pixel
_backward_pixel = pixel_math.backward_pixel
_affine_point = fused_math.affine_point
_affine_accumulate = fused_math.affine_accumulate
_projective_point = fused_math.projective_point
_projective_accumulate = fused_math.projective_accumulate
_spline_point = fused_math.spline_point
_spline_point_basis = fused_math.spline_point_basis
_spline_accumulate_basis = fused_math.spline_accumulate_basis
_spline_basis = fused_math.spline_basis
_spline_point_from_basis = fused_math.spline_point_from_basis


@numba.njit(**CPU_JIT_OPTIONS)
def warp_affine_forward(inp, theta, xs, ys, mode, padding_mode, align_corners, out,
                        row_start, row_end):
    """``out[n, :, h, w]`` = input at ``theta[n] @ (xs[w], ys[h], 1)``, rows in range."""
    out_height = ys.shape[0]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        y = ys[h]
        for w in range(xs.shape[0]):
            gx, gy = _affine_point(theta, n, xs[w], y)
            _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_affine_backward(inp, theta, xs, ys, grad_out, mode, padding_mode, align_corners,
                         grad_inp, acc, row_start, row_end):
    """Input gradient into ``grad_inp``; theta gradient into ``acc`` (N, 6), float64."""
    out_height = ys.shape[0]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        y = ys[h]
        acc_n = acc[n]
        for w in range(xs.shape[0]):
            x = xs[w]
            gx, gy = _affine_point(theta, n, x, y)
            dgx, dgy = _backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                       align_corners, grad_inp, 1.0)
            _affine_accumulate(acc_n, x, y, dgx, dgy)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_perspective_forward(inp, hom, xs, ys, mode, padding_mode, align_corners, out,
                             row_start, row_end):
    """``out[n, :, h, w]`` = input at the projection of ``(xs[w], ys[h], 1)`` by ``hom[n]``."""
    out_height = ys.shape[0]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        y = ys[h]
        for w in range(xs.shape[0]):
            gx, gy, _ = _projective_point(hom, n, xs[w], y)
            _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_perspective_backward(inp, hom, xs, ys, grad_out, mode, padding_mode, align_corners,
                              grad_inp, acc, row_start, row_end):
    """Input gradient into ``grad_inp``; homography gradient into ``acc`` (N, 9), float64."""
    out_height = ys.shape[0]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        y = ys[h]
        acc_n = acc[n]
        for w in range(xs.shape[0]):
            x = xs[w]
            gx, gy, wh = _projective_point(hom, n, x, y)
            dgx, dgy = _backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                       align_corners, grad_inp, 1.0)
            _projective_accumulate(acc_n, x, y, wh, gx, gy, dgx, dgy)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_spline_forward(inp, coef, centres, xs, ys, mode, padding_mode, align_corners, out,
                        row_start, row_end):
    """``out[n, :, h, w]`` = input at the spline image of ``(xs[w], ys[h])``.

    ``coef`` (N, K + 3, 2); ``centres`` (1, K, 2) shared or (N, K, 2).
    """
    out_height = ys.shape[0]
    shared = centres.shape[0] == 1
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        cn = 0 if shared else n
        y = ys[h]
        for w in range(xs.shape[0]):
            gx, gy = _spline_point(coef, centres, n, cn, xs[w], y)
            _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_spline_backward(inp, coef, centres, xs, ys, grad_out, mode, padding_mode,
                         align_corners, grad_inp, acc_coef, acc_centres, row_start, row_end):
    """Input gradient into ``grad_inp``; coefficient and centre gradients into the
    float64 accumulators ``acc_coef`` (N, K + 3, 2) and ``acc_centres`` (like ``centres``)."""
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
                                       align_corners, grad_inp, 1.0)
            _spline_accumulate_basis(coef, centres, n, cn, x, y, dgx, dgy, basis, acc_coef_n,
                                     acc_centres_n)


# Shared centres: the kernel values U_k at an output pixel are the same for
# every sample, so these loops run over output rows h (not n * H_out + h),
# compute the K logarithms of a pixel once, and visit every sample there.
# A chunk of rows then touches every sample's input gradient, so each chunk
# adds into its own buffer (the caller sums them in chunk order).


@numba.njit(**CPU_JIT_OPTIONS)
def warp_spline_forward_shared(inp, coef, centres, xs, ys, mode, padding_mode, align_corners,
                               out, h_start, h_end):
    """:func:`warp_spline_forward` for centres (1, K, 2), output rows ``h`` in range."""
    basis = np.empty((centres.shape[1], 2))
    for h in range(h_start, h_end):
        y = ys[h]
        for w in range(xs.shape[0]):
            x = xs[w]
            _spline_basis(centres, 0, x, y, basis)
            for n in range(coef.shape[0]):
                gx, gy = _spline_point_from_basis(coef, n, x, y, basis)
                _sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_spline_backward_shared(inp, coef, centres, xs, ys, grad_out, mode, padding_mode,
                                align_corners, grad_inp, acc_coef, acc_centres, h_start, h_end):
    """:func:`warp_spline_backward` for centres (1, K, 2), output rows ``h`` in range."""
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
                                           align_corners, grad_inp, 1.0)
                _spline_accumulate_basis(coef, centres, n, 0, x, y, dgx, dgy, basis,
                                         acc_coef[n], acc_centres_0)
