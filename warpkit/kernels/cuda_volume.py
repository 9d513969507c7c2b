"""CUDA kernels of the volume work: dense displacement fields (2-D and 3-D),
5-D ``grid_sample`` and the fused 3-D affine and perspective warps.

As in :mod:`warpkit.kernels.cuda` and :mod:`warpkit.kernels.cuda_fused`,
the kernels only decide which output pixel or voxel a thread handles: what
it computes is the shared scalar maths, :mod:`warpkit.kernels._math`
(pixels) and :mod:`warpkit.kernels._volume_math` (voxels), compiled here
with ``cuda.jit(device=True)`` once per input-gradient scatter (float
atomics, or the deterministic fixed point of :mod:`warpkit.kernels.cuda`).

Every kernel is a tuple indexed by the mode code
(:data:`warpkit.kernels.cuda.MODES`), the mode a compile-time constant.

Point sources
-------------
A kernel reads the sampling point of output element ``(n, [d,] h, w)``
from its *field*:

* grid: the stored normalized point ``grid[n, d, h, w, :]``;
* displacement: ``base_x[w] + sx * flow[n, (d,) h, w, 0]`` (and so on per
  axis), with per-axis base coordinates and scales chosen by the wrapper
  (see :func:`warpkit.warp_displacement`); the flow gradient is the point
  gradient times the scale;
* affine / perspective (3-D): the image of the base coordinates
  ``(xs[w], ys[h], zs[d])`` by ``theta[n]`` (3, 4) or ``hom[n]`` (4, 4).

Volumes
-------
Volume kernels flatten ``(D_out, H_out)`` into the rows of the 2-D launch
geometry (:func:`warpkit.kernels.cuda.pixel_chunks` over ``(N, D_out *
H_out, W_out)``); a thread recovers ``d, h`` from its row.  The input
gradient is scattered into a 4-D view ``(N, C, D * H, W)`` of the volume
gradient (row ``z * H + y``), so the 2-D scatters serve volumes unchanged;
one output voxel's tap weights add up to at most ``sqrt(1.9)**3 < 2.7 <
WEIGHT_BOUND`` (tricubic), so the fixed-point bound of
:mod:`warpkit.kernels.cuda` holds with ``P = D_out * H_out * W_out``.

Parameter gradients of the fused 3-D warps (12 and 16 per sample) are
reduced like the 2-D ones (:mod:`warpkit.kernels.cuda_fused`): per-thread
float64 accumulators, a fixed-pairing block reduction into
``partial[n, block, :]``, and :data:`warpkit.kernels.cuda_fused.sum_partials`
in block order, so they are bit-identical from run to run.
"""

import collections
import math

import numpy as np
from numba import cuda

from . import _volume_math
from . import cuda as base
from . import cuda_fused

MODES = base.MODES

#: The per-voxel maths, compiled for CUDA with each scatter.
volume_math_atomic = _volume_math.build(cuda.jit(device=True), base._scatter_atomic,
                                        base.pixel_math_atomic)
volume_math_fixed = _volume_math.build(cuda.jit(device=True), base._scatter_fixed,
                                       base.pixel_math_fixed)

_sample_pixel = base.pixel_math_atomic.sample_pixel
_sample_voxel = volume_math_atomic.sample_voxel


def _by_mode(factory, *args):
    """One kernel per mode code, a tuple indexed by it: ``factory(*args, mode)``."""
    return tuple(factory(*args, mode) for mode in MODES)


# ------------------------------------------------------ 2-D displacement fields

def _flow_forward(mode):
    @cuda.jit
    def warp_displacement_forward(inp, flow, base_x, base_y, scales, padding_mode,
                                  align_corners, out, row0, col0):
        """``out[n, :, h, w]`` = input at ``(base_x[w] + sx * dx, base_y[h] + sy * dy)``."""
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < flow.shape[1] and w < flow.shape[2]:
            x = base_x[w]
            y = base_y[h]
            for n in range(cuda.blockIdx.z, flow.shape[0], cuda.gridDim.z):
                _sample_pixel(inp, n, x + scales[0] * flow[n, h, w, 0],
                              y + scales[1] * flow[n, h, w, 1], mode, padding_mode,
                              align_corners, out, h, w)

    return warp_displacement_forward


def _flow_backward(backward_pixel, target_of, scale_of, mode):
    @cuda.jit
    def warp_displacement_backward(inp, flow, base_x, base_y, scales, grad_out, padding_mode,
                                   align_corners, need_input, need_field, fixed, grad_inp,
                                   grad_flow, max_abs, row0, col0):
        """Scatter the input gradient (float atomics into ``grad_inp``, or fixed point
        into ``fixed``: always, ``need_input`` is for the volume kernels' signature);
        write ``grad_flow`` if ``need_field``."""
        scale = scale_of(max_abs, 1.0 * flow.shape[1] * flow.shape[2])
        target = target_of(fixed, grad_inp)
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < flow.shape[1] and w < flow.shape[2]:
            x = base_x[w]
            y = base_y[h]
            for n in range(cuda.blockIdx.z, flow.shape[0], cuda.gridDim.z):
                gx, gy = backward_pixel(inp, grad_out, n, h, w,
                                        x + scales[0] * flow[n, h, w, 0],
                                        y + scales[1] * flow[n, h, w, 1], mode, padding_mode,
                                        align_corners, target, scale)
                if need_field:
                    grad_flow[n, h, w, 0] = gx * scales[0]
                    grad_flow[n, h, w, 1] = gy * scales[1]

    return warp_displacement_backward


# ------------------------------------------------------ 3-D grids and flows

_grid_point3 = volume_math_atomic.grid_point
_flow_point = volume_math_atomic.flow3d_point


@cuda.jit(device=True)
def _grid_point(grid, n, d, h, w, base_x, base_y, base_z, scales):
    """``grid_point`` with the flow point's signature (bases and scales unused).

    ``float`` is a no-op on the device (the values are float64 already); under
    the simulator it keeps a float32 grid's arithmetic in float64, as compiled.
    """
    gx, gy, gz = _grid_point3(grid, n, d, h, w)
    return float(gx), float(gy), float(gz)


def _field_forward(point, mode):
    @cuda.jit
    def volume_field_forward(inp, field, base_x, base_y, base_z, scales, padding_mode,
                             align_corners, out, row0, col0):
        """``out[n, :, d, h, w]`` = input at the field's point of voxel ``(d, h, w)``;
        thread rows are ``d * H_out + h``."""
        height = field.shape[2]
        r = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if r < field.shape[1] * height and w < field.shape[3]:
            d = r // height
            h = r - d * height
            for n in range(cuda.blockIdx.z, field.shape[0], cuda.gridDim.z):
                gx, gy, gz = point(field, n, d, h, w, base_x, base_y, base_z, scales)
                _sample_voxel(inp, n, gx, gy, gz, mode, padding_mode, align_corners, out,
                              d, h, w)

    return volume_field_forward


def _field_backward(point, backward_voxel, target_of, scale_of, mode):
    @cuda.jit
    def volume_field_backward(inp, field, base_x, base_y, base_z, scales, grad_out,
                              padding_mode, align_corners, need_input, need_field, fixed,
                              grad_inp, grad_field, max_abs, row0, col0):
        """Scatter the input gradient into the 4-D view ``grad_inp`` (float atomics)
        or ``fixed`` (fixed point) if ``need_input``; write ``grad_field`` (the point
        gradient times ``scales``) if ``need_field``."""
        height = field.shape[2]
        scale = scale_of(max_abs, 1.0 * field.shape[1] * height * field.shape[3])
        target = target_of(fixed, grad_inp)
        r = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if r < field.shape[1] * height and w < field.shape[3]:
            d = r // height
            h = r - d * height
            for n in range(cuda.blockIdx.z, field.shape[0], cuda.gridDim.z):
                gx, gy, gz = point(field, n, d, h, w, base_x, base_y, base_z, scales)
                dgx, dgy, dgz = backward_voxel(inp, grad_out, n, d, h, w, gx, gy, gz, mode,
                                               padding_mode, align_corners, need_input,
                                               need_field, target, scale)
                if need_field:
                    grad_field[n, d, h, w, 0] = dgx * scales[0]
                    grad_field[n, d, h, w, 1] = dgy * scales[1]
                    grad_field[n, d, h, w, 2] = dgz * scales[2]

    return volume_field_backward


# ------------------------------------------------------ fused 3-D warps
#
# Both matrix families reach the kernels through the same two signatures:
# ``point(params, n, x, y, z) -> (gx, gy, gz, w)`` and ``accumulate(acc, x, y,
# z, w, gx, gy, gz, dgx, dgy, dgz)`` (``w`` is the perspective's divisor; the
# affine adapters ignore it).

_affine3d_point = volume_math_atomic.affine3d_point
_affine3d_accumulate = volume_math_atomic.affine3d_accumulate


@cuda.jit(device=True)
def _affine_point(theta, n, x, y, z):
    gx, gy, gz = _affine3d_point(theta, n, x, y, z)
    return gx, gy, gz, 1.0


@cuda.jit(device=True)
def _affine_accumulate(acc, x, y, z, wh, gx, gy, gz, dgx, dgy, dgz):
    _affine3d_accumulate(acc, x, y, z, dgx, dgy, dgz)


def _matrix_forward(point, mode):
    """A forward kernel for a per-sample matrix family with point function ``point``."""

    @cuda.jit
    def kernel(inp, params, xs, ys, zs, padding_mode, align_corners, out, row0, col0):
        """``out[n, :, d, h, w]`` = input at the image of ``(xs[w], ys[h], zs[d])``."""
        height = ys.shape[0]
        r = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if r < zs.shape[0] * height and w < xs.shape[0]:
            d = r // height
            h = r - d * height
            x = xs[w]
            y = ys[h]
            z = zs[d]
            for n in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
                gx, gy, gz, _ = point(params, n, x, y, z)
                _sample_voxel(inp, n, gx, gy, gz, mode, padding_mode, align_corners, out,
                              d, h, w)

    return kernel


def _matrix_backward(point, accumulate, count, backward_voxel, target_of, scale_of, mode):
    """A backward kernel for a per-sample matrix with ``count`` entries: the
    parameter gradient as per-block partial sums (see
    :mod:`warpkit.kernels.cuda_fused`)."""

    @cuda.jit
    def kernel(inp, params, xs, ys, zs, grad_out, padding_mode, align_corners, need_input,
               fixed, grad_inp, max_abs, partial):
        shared = cuda.shared.array(cuda_fused.MAX_BLOCK_SIZE, np.float64)
        acc = cuda.local.array(count, np.float64)
        height = ys.shape[0]
        rows = zs.shape[0] * height
        scale = scale_of(max_abs, 1.0 * rows * xs.shape[0])
        target = target_of(fixed, grad_inp)
        block = cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x
        first = cuda.threadIdx.x == 0 and cuda.threadIdx.y == 0
        for n in range(cuda.blockIdx.z, grad_out.shape[0], cuda.gridDim.z):
            for p in range(count):
                acc[p] = 0.0
            for r in range(cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y, rows,
                           cuda.gridDim.y * cuda.blockDim.y):
                d = r // height
                h = r - d * height
                y = ys[h]
                z = zs[d]
                for w in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x,
                               xs.shape[0], cuda.gridDim.x * cuda.blockDim.x):
                    x = xs[w]
                    gx, gy, gz, wh = point(params, n, x, y, z)
                    dgx, dgy, dgz = backward_voxel(inp, grad_out, n, d, h, w, gx, gy, gz, mode,
                                                   padding_mode, align_corners, need_input,
                                                   True, target, scale)
                    accumulate(acc, x, y, z, wh, gx, gy, gz, dgx, dgy, dgz)
            for p in range(count):
                total = cuda_fused._block_sum(acc[p], shared)
                if first:
                    partial[n, block, p] = total

    return kernel


@cuda.jit
def abs_max_volume(grad_out, max_abs):
    """:data:`warpkit.kernels.cuda.abs_max` of a 5-D ``grad_out`` (N, C, D, H, W).

    Launch with :func:`warpkit.kernels.cuda.pixel_launch` over ``(N, D * H,
    W)``, with a capped number of blocks.
    """
    shared = cuda.shared.array(base.MAX_BLOCK_SIZE, np.float64)
    height = grad_out.shape[3]
    largest = 0.0
    for n in range(cuda.blockIdx.z, grad_out.shape[0], cuda.gridDim.z):
        for r in range(cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y,
                       grad_out.shape[2] * height, cuda.gridDim.y * cuda.blockDim.y):
            d = r // height
            h = r - d * height
            for w in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x,
                           grad_out.shape[4], cuda.gridDim.x * cuda.blockDim.x):
                for c in range(grad_out.shape[1]):
                    value = abs(grad_out[n, c, d, h, w] * 1.0)
                    if value > largest and value < math.inf:
                        largest = value
    largest = base._block_max(largest, shared)
    if cuda.threadIdx.x == 0 and cuda.threadIdx.y == 0:
        cuda.atomic.max(max_abs, 0, largest)


# ------------------------------------------------------------ kernel sets
#
# What the backend (warpkit.backends.cuda) and the volume families' specs
# (warpkit.families, by name) launch; every kernel a tuple indexed by the
# mode code.

#: Kernels of a per-element point field: ``forward[mode][blocks, threads](inp,
#: field, *bases, scales, padding_mode, align_corners, out, row0, col0)`` and
#: ``backward_*[mode][blocks, threads](inp, field, *bases, scales, grad_out,
#: padding_mode, align_corners, need_input, need_field, fixed, grad_inp,
#: grad_field, max_abs, row0, col0)``, all launched by
#: :func:`warpkit.kernels.cuda.pixel_chunks` over ``(N, rows, W_out)``.
#: ``bases`` are the x, y (, z) base coordinates (float64), ``scales`` the
#: per-axis flow scales (float64); a stored grid takes empty bases and unit
#: scales.  ``fixed`` and ``max_abs`` are unused by the atomic kernels.
FieldKernels = collections.namedtuple("FieldKernels", "forward backward_atomic backward_fixed")

_SCATTERS = ((volume_math_atomic, cuda_fused._target_atomic, cuda_fused._scale_atomic),
             (volume_math_fixed, cuda_fused._target_fixed, cuda_fused._scale_fixed))


def _field_kernels(point):
    return FieldKernels(_by_mode(_field_forward, point), *(
        _by_mode(_field_backward, point, maths.backward_voxel, target, scale)
        for maths, target, scale in _SCATTERS))


#: 2-D displacement fields (images): bases ``(base_x, base_y)``.  The 2-D
#: sampler always scatters the input gradient (``need_input`` is ignored).
FLOW_2D_KERNELS = FieldKernels(
    _by_mode(_flow_forward),
    _by_mode(_flow_backward, base.pixel_math_atomic.backward_pixel, cuda_fused._target_atomic,
             cuda_fused._scale_atomic),
    _by_mode(_flow_backward, base.pixel_math_fixed.backward_pixel, cuda_fused._target_fixed,
             cuda_fused._scale_fixed))

#: 5-D ``grid_sample`` (a stored grid, unit scales).
GRID_3D_KERNELS = _field_kernels(_grid_point)

#: 3-D displacement fields: bases ``(base_x, base_y, base_z)``.
FLOW_3D_KERNELS = _field_kernels(_flow_point)


def _matrix_kernels(point, accumulate, count):
    """Forward ``kernel[mode][blocks, threads](inp, params, xs, ys, zs,
    padding_mode, align_corners, out, row0, col0)`` (launched by
    :func:`warpkit.kernels.cuda.pixel_chunks` over ``(N, D_out * H_out,
    W_out)``) and backward ``kernel[mode][blocks, threads](inp, params, xs, ys,
    zs, grad_out, padding_mode, align_corners, need_input, fixed, grad_inp,
    max_abs, partial)`` (launched by
    :func:`warpkit.kernels.cuda_fused.backward_launch`) of a 3-D matrix family
    with ``count`` parameters per sample."""
    backward = [_by_mode(_matrix_backward, point, accumulate, count, maths.backward_voxel,
                         target, scale) for maths, target, scale in _SCATTERS]
    return cuda_fused.MatrixKernels(_by_mode(_matrix_forward, point), *backward, count)


#: theta (N, 3, 4): 12 parameters per sample.
AFFINE_3D_KERNELS = _matrix_kernels(_affine_point, _affine_accumulate, 12)

#: homography (N, 4, 4): 16 parameters per sample.
PERSPECTIVE_3D_KERNELS = _matrix_kernels(volume_math_atomic.perspective3d_point,
                                         volume_math_atomic.perspective3d_accumulate, 16)
