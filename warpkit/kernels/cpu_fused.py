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

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from . import _fused_math
from .cpu import pixel_math

fused_math = _fused_math.build(numba.njit(**CPU_DEVICE_JIT_OPTIONS), pixel_math)
_affine_pixel = fused_math.affine_pixel
_affine_backward_pixel = fused_math.affine_backward_pixel
_projective_pixel = fused_math.projective_pixel
_projective_backward_pixel = fused_math.projective_backward_pixel
_spline_pixel = fused_math.spline_pixel
_spline_backward_pixel = fused_math.spline_backward_pixel


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
            _affine_pixel(inp, theta, n, h, w, xs[w], y, mode, padding_mode, align_corners,
                          out)


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
            _affine_backward_pixel(inp, theta, grad_out, n, h, w, xs[w], y, mode,
                                   padding_mode, align_corners, grad_inp, 1.0, acc_n)


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
            _projective_pixel(inp, hom, n, h, w, xs[w], y, mode, padding_mode, align_corners,
                              out)


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
            _projective_backward_pixel(inp, hom, grad_out, n, h, w, xs[w], y, mode,
                                       padding_mode, align_corners, grad_inp, 1.0, acc_n)


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
            _spline_pixel(inp, coef, centres, n, cn, h, w, xs[w], y, mode, padding_mode,
                          align_corners, out)


@numba.njit(**CPU_JIT_OPTIONS)
def warp_spline_backward(inp, coef, centres, xs, ys, grad_out, mode, padding_mode,
                         align_corners, grad_inp, acc_coef, acc_centres, row_start, row_end):
    """Input gradient into ``grad_inp``; coefficient and centre gradients into the
    float64 accumulators ``acc_coef`` (N, K + 3, 2) and ``acc_centres`` (like ``centres``)."""
    out_height = ys.shape[0]
    shared = centres.shape[0] == 1
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        cn = 0 if shared else n
        y = ys[h]
        acc_coef_n = acc_coef[n]
        acc_centres_n = acc_centres[cn]
        for w in range(xs.shape[0]):
            _spline_backward_pixel(inp, coef, centres, grad_out, n, cn, h, w, xs[w], y, mode,
                                   padding_mode, align_corners, grad_inp, 1.0, acc_coef_n,
                                   acc_centres_n)
