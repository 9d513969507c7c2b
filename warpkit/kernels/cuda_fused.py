"""CUDA kernels of the fused warps (affine, perspective, thin-plate spline).

The per-pixel arithmetic is :mod:`warpkit.kernels._fused_math`, compiled
with ``cuda.jit(device=True)`` on top of the CUDA sampler of
:mod:`warpkit.kernels.cuda` -- the very source the CPU kernels of
:mod:`warpkit.kernels.cpu_fused` compile with ``numba.njit`` -- once per
input-gradient scatter (float atomics, or the deterministic fixed point).
The kernels here only decide which output pixel a thread handles and how
the parameter gradients are reduced.

Launch geometry
---------------
The pixel kernels use :func:`warpkit.kernels.cuda.pixel_launch`'s 3-D grid
with grid-stride loops (``z`` over the batch).  Backward kernels use
:func:`backward_launch`: the same block, but a grid shrunk in ``y`` and
``x`` so that each thread handles about :data:`PIXELS_PER_THREAD` pixels of
a sample, which amortizes the per-sample block reduction below.

Parameter gradients, in a fixed order
-------------------------------------
Each thread adds its pixels' parameter gradients into float64 accumulators,
visiting its pixels in a fixed order.  When a block has finished sample
``n``, a shared-memory tree reduction (fixed pairing) sums each
accumulator over the block's threads, and thread 0 writes the block's sums
to ``partial[n, block, :]``, ``block = blockIdx.y * gridDim.x +
blockIdx.x``.  :data:`sum_partials` then adds the partial sums block by
block, in block order (and sample by sample, for centres shared by the
batch).  The launch geometry depends only on the shapes and on
:mod:`warpkit._config`, so the gradients are bit-identical from run to run.

* affine and perspective: 6 and 9 accumulators per thread, in a
  ``cuda.local.array`` (registers).
* spline: the number of centres ``K`` is known only at run time, and a
  CUDA local array needs a compile-time size.  Each thread therefore gets
  a column of two float64 *slot* arrays in global memory, ``slot_coef``
  (K + 3, 2, T) and ``slot_centres`` (K, 2, T) (``T`` threads in the grid,
  which :func:`backward_launch` caps at ``max_blocks``); the thread's
  column ``slot_coef[:, :, t]`` is the ``acc_coef`` of
  :func:`warpkit.kernels._fused_math.build`'s ``spline_accumulate``, and
  adjacent threads' entries are adjacent in memory (coalesced).  After each
  sample, the block reduces the ``4 K + 6`` entries one by one (a loop on
  ``k``) into ``partial_coef[n, block]`` and ``partial_centres[n, block]``
  and zeroes its columns for the next sample.

Input gradient
--------------
The same two scatters as :mod:`warpkit.kernels.cuda`: the backward kernels
take ``(fixed, grad_inp, max_abs)`` and are built twice, once adding into
``grad_inp`` with float atomics (``fixed`` and ``max_abs`` unused) and once
adding into the int64 accumulator ``fixed`` at the scale derived from
``max_abs[0]`` (see :data:`warpkit.kernels.cuda.abs_max` and
:data:`warpkit.kernels.cuda.finish_fixed`).
"""

import collections

import numpy as np
from numba import cuda

from . import _fused_math
from . import cuda as base

#: Pixels of one sample each backward thread handles (about), to amortize
#: the per-sample block reduction of the parameter gradients (0: no
#: shrinking, the grid of :func:`warpkit.kernels.cuda.pixel_launch`).
PIXELS_PER_THREAD = 16

#: Size of the shared-memory reduction buffer (the largest block).
MAX_BLOCK_SIZE = base.MAX_BLOCK_SIZE

fused_atomic = _fused_math.build(cuda.jit(device=True), base.pixel_math_atomic)
fused_fixed = _fused_math.build(cuda.jit(device=True), base.pixel_math_fixed)

_spline_pixel = fused_atomic.spline_pixel


def backward_launch(batch, height, width, max_blocks=None):
    """``(blocks, threads)`` of a fused backward kernel over ``(batch, height, width)``.

    :func:`warpkit.kernels.cuda.pixel_launch`, with ``y`` then ``x`` of the
    grid shrunk so that a sample's ``height * width`` pixels need about
    :data:`PIXELS_PER_THREAD` per thread, then capped at ``max_blocks``.
    """
    grid, block = base.pixel_launch(batch, height, width)
    grid = list(grid)
    if PIXELS_PER_THREAD > 0:
        per_sample = max(1, -(-(height * width) // (block[0] * block[1] * PIXELS_PER_THREAD)))
        grid[1] = max(1, min(grid[1], -(-per_sample // grid[0])))
        grid[0] = max(1, min(grid[0], per_sample))
    if max_blocks is not None:
        for axis in (2, 1, 0):
            others = max(1, grid[0] * grid[1] * grid[2] // grid[axis])
            grid[axis] = max(1, min(grid[axis], max_blocks // others))
    return tuple(grid), block


# ------------------------------------------------------------------- helpers

@cuda.jit(device=True)
def _block_sum(value, shared):
    """Sum of ``value`` over the threads of a block, valid in thread 0.

    A tree reduction with a fixed pairing (deterministic); ``shared`` holds
    at least one float64 per thread, the block size is a power of two.
    Every thread of the block must call it.
    """
    threads = cuda.blockDim.x * cuda.blockDim.y
    tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    step = threads // 2
    while step > 0:
        if tid < step:
            shared[tid] = shared[tid] + shared[tid + step]
        cuda.syncthreads()
        step //= 2
    total = shared[0]
    cuda.syncthreads()  # everyone has read shared[0] before it is reused
    return total


@cuda.jit(device=True)
def _target_atomic(fixed, grad_inp):
    return grad_inp


@cuda.jit(device=True)
def _scale_atomic(max_abs, pixels):
    return 1.0


@cuda.jit(device=True)
def _target_fixed(fixed, grad_inp):
    return (fixed, grad_inp)


@cuda.jit(device=True)
def _scale_fixed(max_abs, pixels):
    return base._fixed_scale(max_abs[0], pixels)


# ------------------------------------------------------------------ forward

def _matrix_forward(pixel, mode):
    """A forward kernel for a per-sample matrix family whose ``pixel`` device
    function samples one output pixel."""

    @cuda.jit
    def kernel(inp, params, xs, ys, padding_mode, align_corners, out, row0, col0):
        """``out[n, :, h, w]`` = input at the image of ``(xs[w], ys[h])`` by ``params[n]``."""
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < ys.shape[0] and w < xs.shape[0]:
            x = xs[w]
            y = ys[h]
            for n in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
                pixel(inp, params, n, h, w, x, y, mode, padding_mode, align_corners, out)

    return kernel


def _spline_forward(mode):
    @cuda.jit
    def warp_tps_forward(inp, coef, centres, xs, ys, padding_mode, align_corners, out, row0,
                            col0):
        """``out[n, :, h, w]`` = input at the spline image of ``(xs[w], ys[h])``."""
        shared_centres = centres.shape[0] == 1
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < ys.shape[0] and w < xs.shape[0]:
            x = xs[w]
            y = ys[h]
            for n in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
                cn = 0 if shared_centres else n
                _spline_pixel(inp, coef, centres, n, cn, h, w, x, y, mode, padding_mode,
                              align_corners, out)

    return warp_tps_forward


# ----------------------------------------------------------------- backward

def _matrix_backward(pixel_backward, count, target_of, scale_of, mode):
    """A backward kernel for a per-sample matrix with ``count`` entries."""

    @cuda.jit
    def kernel(inp, params, xs, ys, grad_out, padding_mode, align_corners, fixed, grad_inp,
               max_abs, partial):
        shared = cuda.shared.array(MAX_BLOCK_SIZE, np.float64)
        acc = cuda.local.array(count, np.float64)
        scale = scale_of(max_abs, 1.0 * ys.shape[0] * xs.shape[0])
        target = target_of(fixed, grad_inp)
        block = cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x
        first = cuda.threadIdx.x == 0 and cuda.threadIdx.y == 0
        for n in range(cuda.blockIdx.z, grad_out.shape[0], cuda.gridDim.z):
            for p in range(count):
                acc[p] = 0.0
            for h in range(cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y, ys.shape[0],
                           cuda.gridDim.y * cuda.blockDim.y):
                y = ys[h]
                for w in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x,
                               xs.shape[0], cuda.gridDim.x * cuda.blockDim.x):
                    pixel_backward(inp, params, grad_out, n, h, w, xs[w], y, mode,
                                   padding_mode, align_corners, target, scale, acc)
            for p in range(count):
                total = _block_sum(acc[p], shared)
                if first:
                    partial[n, block, p] = total

    return kernel


def _spline_backward(pixel_backward, target_of, scale_of, mode):
    @cuda.jit
    def kernel(inp, coef, centres, xs, ys, grad_out, padding_mode, align_corners, fixed,
               grad_inp, max_abs, slot_coef, slot_centres, partial_coef, partial_centres):
        shared = cuda.shared.array(MAX_BLOCK_SIZE, np.float64)
        scale = scale_of(max_abs, 1.0 * ys.shape[0] * xs.shape[0])
        target = target_of(fixed, grad_inp)
        block = cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x
        threads = cuda.blockDim.x * cuda.blockDim.y
        tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
        slot = ((cuda.blockIdx.z * cuda.gridDim.y + cuda.blockIdx.y) * cuda.gridDim.x
                + cuda.blockIdx.x) * threads + tid
        acc_coef = slot_coef[:, :, slot]
        acc_centres = slot_centres[:, :, slot]
        count = centres.shape[1]
        shared_centres = centres.shape[0] == 1
        for n in range(cuda.blockIdx.z, grad_out.shape[0], cuda.gridDim.z):
            cn = 0 if shared_centres else n
            for h in range(cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y, ys.shape[0],
                           cuda.gridDim.y * cuda.blockDim.y):
                y = ys[h]
                for w in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x,
                               xs.shape[0], cuda.gridDim.x * cuda.blockDim.x):
                    pixel_backward(inp, coef, centres, grad_out, n, cn, h, w, xs[w], y, mode,
                                   padding_mode, align_corners, target, scale, acc_coef,
                                   acc_centres)
            for k in range(count + 3):
                for j in range(2):
                    total = _block_sum(acc_coef[k, j], shared)
                    acc_coef[k, j] = 0.0
                    if tid == 0:
                        partial_coef[n, block, k, j] = total
            for k in range(count):
                for j in range(2):
                    total = _block_sum(acc_centres[k, j], shared)
                    acc_centres[k, j] = 0.0
                    if tid == 0:
                        partial_centres[n, block, k, j] = total

    return kernel


@cuda.jit
def sum_partials(partial, out):
    """``out[r, p]`` = sum of ``partial[n, b, p]`` in the order n, then b.

    ``partial`` (N, B, P) float64; ``out`` (N, P) sums each sample's blocks,
    ``out`` (1, P) with N > 1 sums every sample's (parameters shared by the
    batch).  One thread per output element: a fixed order.
    """
    rows = out.shape[0]
    size = out.shape[1]
    start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    for i in range(start, rows * size, cuda.gridDim.x * cuda.blockDim.x):
        r = i // size
        p = i - r * size
        first = r
        last = r + 1
        if rows != partial.shape[0]:
            first = 0
            last = partial.shape[0]
        total = 0.0
        for n in range(first, last):
            for b in range(partial.shape[1]):
                total += partial[n, b, p]
        out[r, p] = total


# ------------------------------------------------------------ kernel sets
#
# What a transform family's spec (warpkit.families) names as its CUDA
# kernels, each a tuple indexed by the mode code.  Matrix families reduce
# ``count`` parameters per sample; the thin-plate spline reduces its
# coefficients and centres through per-thread slots.

MatrixKernels = collections.namedtuple(
    "MatrixKernels", "forward backward_atomic backward_fixed count")
TpsKernels = collections.namedtuple("TpsKernels", "forward backward_atomic backward_fixed")


def _by_mode(factory, *args):
    """One kernel per mode code, a tuple indexed by it: ``factory(*args, mode)``."""
    return tuple(factory(*args, mode) for mode in base.MODES)


def _matrix_kernels(family, count):
    """Forward ``kernel[mode][blocks, threads](inp, params, xs, ys, padding_mode,
    align_corners, out, row0, col0)`` (launched by
    :func:`warpkit.kernels.cuda.pixel_chunks`) and backward ``kernel[mode][blocks,
    threads](inp, params, xs, ys, grad_out, padding_mode, align_corners, fixed,
    grad_inp, max_abs, partial)`` (launched by :func:`backward_launch`) of a
    matrix family with ``count`` parameters per sample."""
    scatters = ((fused_atomic, _target_atomic, _scale_atomic),
                (fused_fixed, _target_fixed, _scale_fixed))
    backward = [_by_mode(_matrix_backward, getattr(maths, f"{family}_backward_pixel"), count,
                         target, scale) for maths, target, scale in scatters]
    forward = _by_mode(_matrix_forward, getattr(fused_atomic, f"{family}_pixel"))
    return MatrixKernels(forward, *backward, count)


AFFINE_KERNELS = _matrix_kernels("affine", 6)
PERSPECTIVE_KERNELS = _matrix_kernels("perspective", 9)
#: The spline's backward kernels take two per-thread slot arrays before the
#: partials: ``(..., max_abs, slot_coef, slot_centres, partial_coef,
#: partial_centres)``.
TPS_KERNELS = TpsKernels(
    _by_mode(_spline_forward),
    _by_mode(_spline_backward, fused_atomic.spline_backward_pixel, _target_atomic,
             _scale_atomic),
    _by_mode(_spline_backward, fused_fixed.spline_backward_pixel, _target_fixed, _scale_fixed))
