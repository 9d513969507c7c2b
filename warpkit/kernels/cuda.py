"""CUDA kernels for ``grid_sample`` forward and backward (numba-cuda).

Importing this module compiles nothing and needs no GPU: kernels compile on
their first launch (one specialization per combination of array dtypes and
layouts), and the module also imports under the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), where the test suite runs every kernel.

The kernels only decide which output pixel a thread handles; what a pixel
computes is :mod:`warpkit.kernels._math`, compiled here with
``cuda.jit(device=True)`` exactly as :mod:`warpkit.kernels.cpu` compiles it
with ``numba.njit``, so the two targets cannot drift apart.

Launch geometry
---------------
The sampling kernels are compiled once per sampling mode (tuples indexed by
the mode code, :data:`MODES`): with the mode a compile-time constant the
other modes' code is dropped, which cuts the registers a thread needs (and
raises the number of threads resident per multiprocessor).  They run one
output pixel per thread in ``x`` (columns) and ``y`` (rows), with a
grid-stride loop over the batch in ``z``; :func:`pixel_chunks` splits
outputs taller or wider than one grid into several launches (``row0``,
``col0``), so any size runs.  Every index is a 64-bit integer (shapes are
``intp``) and no thread divides a flat index.  The block holds
``warpkit._config.CUDA_BLOCK_SIZE`` threads, shaped to the output by
:func:`pixel_block` (224-pixel rows get 32 x 8 blocks, which waste no
thread).  Reductions (:data:`abs_max`, the fused backward kernels) use
:func:`pixel_launch`'s capped grid with grid-stride loops in all three
axes; flat kernels (zero fill, finishing the fixed-point gradient) loop
grid-stride over 1-D views.

Input gradient: two scatters
----------------------------
The input gradient is a scatter: many output pixels add into the same input
pixel.  Two kernels do it:

* **atomic** (:data:`grid_sample_backward_atomic`): ``cuda.atomic.add`` of
  each contribution into the gradient, in the gradient's dtype.  Fast, but
  floating-point addition is not associative, so the last bits depend on the
  order in which threads happen to run.
* **deterministic** (:data:`grid_sample_backward_fixed`): every finite
  contribution ``v`` is added as the 64-bit integer ``round(v * scale)`` with
  integer atomics.  Integer addition is associative, so the sum, and the
  gradient ``sum / scale``, are bit-identical on every run and for every
  launch geometry.  ``scale`` is computed on the device from two
  order-independent quantities: ``M``, the largest finite ``|grad_output|``
  (a max-reduction, exact in any order), and ``P = H_out * W_out``:
  ``scale = 2**61 / (WEIGHT_BOUND * P * M)``.

  *No overflow*: one output pixel's taps hold weights whose absolute values
  add up to at most ``WEIGHT_BOUND`` (1 for bilinear and nearest, below 1.9
  for bicubic), so every partial sum of one input pixel's contributions is at
  most ``WEIGHT_BOUND * P * M * scale = 2**61`` in magnitude, plus 0.5 per
  rounded contribution: far inside ``int64``.

  *Error bound*: each contribution is rounded by at most ``0.5 / scale``, so
  an input-gradient element that receives ``K`` contributions is off by at
  most ``K * WEIGHT_BOUND * P * M / 2**62`` (absolute), before the final
  rounding to the gradient's dtype.  For a 2048 x 2048 output and ``K = 4``
  this is ``2**-36 * M``, about ``1.5e-11 * M``: far below float32's
  resolution, and comparable to the rounding error of float64 atomics on
  gradients of the same size as ``M``.

  *Non-finite values* (NaN or Inf in ``grad_output``) are not rounded: they
  are added with float atomics straight into the gradient, which starts at
  zero and receives nothing else there.  A sum of NaN and +-Inf values does
  not depend on the order (NaN if any NaN or both infinities, else the
  infinity), so the result stays deterministic and non-finite exactly where
  the CPU result is.
"""

import math

import numpy as np
from numba import cuda

from .. import _config
from . import _math

#: Bound on the sum of the absolute tap weights of one output pixel, for all
#: modes (bilinear and nearest: 1; bicubic: (sum |Keys weights|)**2 < 1.9).
WEIGHT_BOUND = 4.0

#: The fixed-point accumulator's full scale: the largest possible partial sum.
FIXED_RANGE = 2.0 ** 61

#: Scaled contributions beyond this magnitude (only NaN and Inf get there)
#: take the floating-point path.
FIXED_LIMIT = 2.0 ** 62

#: Upper limit of ``scale`` (for a maximum that is subnormal).
MAX_SCALE = 2.0 ** 960

#: Size of the shared-memory reduction buffers; launches use at most this
#: many threads per block.
MAX_BLOCK_SIZE = 1024

#: Grid caps (blocks in x, y and z) of the pixel kernels.
MAX_GRID = (2 ** 31 - 1, 65535, 65535)


# --------------------------------------------------------------- scatter adds

@cuda.jit(device=True)
def _scatter_atomic(target, scale, n, c, y, x, value):
    cuda.atomic.add(target, (n, c, y, x), value)


@cuda.jit(device=True)
def _scatter_fixed(target, scale, n, c, y, x, value):
    fixed, overflow = target
    scaled = value * scale
    if abs(scaled) <= FIXED_LIMIT:
        cuda.atomic.add(fixed, (n, c, y, x), int(math.floor(scaled + 0.5)))
    else:
        cuda.atomic.add(overflow, (n, c, y, x), value)


#: The per-pixel maths, compiled for CUDA with each scatter.
pixel_math_atomic = _math.build(cuda.jit(device=True), _scatter_atomic)
pixel_math_fixed = _math.build(cuda.jit(device=True), _scatter_fixed)

_sample_pixel = pixel_math_atomic.sample_pixel
_backward_pixel_atomic = pixel_math_atomic.backward_pixel
_backward_pixel_fixed = pixel_math_fixed.backward_pixel


# ------------------------------------------------------------ launch geometry

def block_size():
    """Threads per block, from :data:`warpkit._config.CUDA_BLOCK_SIZE`."""
    threads = int(_config.CUDA_BLOCK_SIZE)
    if not 32 <= threads <= MAX_BLOCK_SIZE or threads & (threads - 1):
        raise ValueError(
            "warpkit._config.CUDA_BLOCK_SIZE must be a power of two in [32, "
            f"{MAX_BLOCK_SIZE}], got {threads}"
        )
    return threads


def pixel_block(height, width):
    """The ``(bx, by)`` block of a pixel kernel over ``height x width`` outputs.

    ``bx * by`` = :func:`block_size`, ``bx`` a power of two >= 32 (whole
    warps along a row); of these, the block whose tiling of the output
    covers the fewest pixels (wastes the fewest threads), the widest of
    equals: 224-pixel rows get 32 x 8 blocks, 28 x 28 outputs 32 x 8,
    2048-pixel rows 256 x 1 (with 256 threads).
    """
    threads = block_size()
    best = None
    bx = 32
    while bx <= threads:
        by = threads // bx
        covered = -(-width // bx) * bx * (-(-height // by) * by)
        if best is None or covered <= best[0]:
            best = (covered, bx, by)
        bx *= 2
    return best[1], best[2]


def pixel_launch(batch, height, width, max_blocks=None):
    """``(blocks, threads)`` of a grid-stride pixel kernel over ``(batch, height, width)``.

    The block is :func:`pixel_block`.  The grid covers the output once,
    capped at :data:`MAX_GRID`; with ``max_blocks`` the grid is shrunk (in
    z, then y, then x) to at most that many blocks.  Grid-stride loops cover
    whatever the grid does not.
    """
    bx, by = pixel_block(height, width)
    grid = [max(1, min(-(-width // bx), MAX_GRID[0])),
            max(1, min(-(-height // by), MAX_GRID[1])),
            max(1, min(batch, MAX_GRID[2]))]
    if max_blocks is not None:
        for axis in (2, 1, 0):
            others = max(1, grid[0] * grid[1] * grid[2] // grid[axis])
            grid[axis] = max(1, min(grid[axis], max_blocks // others))
    return tuple(grid), (bx, by)


def pixel_chunks(batch, height, width):
    """Launches ``(blocks, threads, row0, col0)`` of a one-pixel-per-thread kernel.

    Each launch covers the output rows ``row0 ...`` and columns ``col0 ...``
    that its grid reaches (one thread per pixel, at most :data:`MAX_GRID`
    blocks in x and y) and the whole batch (a grid-stride loop in z).
    Together the launches cover ``(batch, height, width)`` exactly once;
    outputs up to ``MAX_GRID[1] * by`` rows and ``MAX_GRID[0] * bx``
    columns take one launch.
    """
    bx, by = pixel_block(height, width)
    rows = MAX_GRID[1] * by
    cols = MAX_GRID[0] * bx
    launches = []
    for row0 in range(0, max(height, 1), rows):
        for col0 in range(0, max(width, 1), cols):
            blocks = (max(1, -(-min(cols, width - col0) // bx)),
                      max(1, -(-min(rows, height - row0) // by)),
                      max(1, min(batch, MAX_GRID[2])))
            launches.append((blocks, (bx, by), row0, col0))
    return launches


def flat_launch(size):
    """``(blocks, threads)`` of a flat kernel over ``size`` elements."""
    threads = block_size()
    return max(1, min(-(-size // threads), 65535)), threads


# ------------------------------------------------------------------- helpers

@cuda.jit(device=True)
def _block_max(value, shared):
    """Maximum of ``value`` over the threads of a block (every thread gets it).

    ``shared`` holds at least one float64 per thread; the block size is a
    power of two.
    """
    threads = cuda.blockDim.x * cuda.blockDim.y
    tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    step = threads // 2
    while step > 0:
        if tid < step:
            other = shared[tid + step]
            if other > shared[tid]:
                shared[tid] = other
        cuda.syncthreads()
        step //= 2
    return shared[0]


@cuda.jit(device=True)
def _fixed_scale(max_abs, pixels):
    """The fixed-point scale for a largest finite ``|grad_output|`` of ``max_abs``."""
    if max_abs == 0.0:
        return 1.0
    scale = FIXED_RANGE / (WEIGHT_BOUND * pixels * max_abs)
    if scale > MAX_SCALE:
        scale = MAX_SCALE
    return scale


# ------------------------------------------------------------------- kernels

def _forward_kernel(mode):
    @cuda.jit
    def grid_sample_forward(inp, grid, padding_mode, align_corners, out, row0, col0):
        """``out[n, :, h, w]`` = ``inp`` sampled at ``grid[n, h, w]``, for all pixels."""
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < grid.shape[1] and w < grid.shape[2]:
            for n in range(cuda.blockIdx.z, grid.shape[0], cuda.gridDim.z):
                _sample_pixel(inp, n, grid[n, h, w, 0], grid[n, h, w, 1], mode,
                              padding_mode, align_corners, out, h, w)

    return grid_sample_forward


def _backward_atomic_kernel(mode):
    @cuda.jit
    def grid_sample_backward_atomic(inp, grid, grad_out, padding_mode, align_corners,
                                    grad_inp, grad_grid, row0, col0):
        """Add the input gradient into ``grad_inp`` (float atomics); write ``grad_grid``.

        ``grad_inp`` must hold zeros.
        """
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < grid.shape[1] and w < grid.shape[2]:
            for n in range(cuda.blockIdx.z, grid.shape[0], cuda.gridDim.z):
                gx, gy = _backward_pixel_atomic(inp, grad_out, n, h, w, grid[n, h, w, 0],
                                                grid[n, h, w, 1], mode, padding_mode,
                                                align_corners, grad_inp, 1.0)
                grad_grid[n, h, w, 0] = gx
                grad_grid[n, h, w, 1] = gy

    return grid_sample_backward_atomic


def _backward_fixed_kernel(mode):
    @cuda.jit
    def grid_sample_backward_fixed(inp, grid, grad_out, padding_mode, align_corners, fixed,
                                   grad_inp, grad_grid, max_abs, row0, col0):
        """Add the input gradient into ``fixed`` (int64 fixed point); write ``grad_grid``.

        ``fixed`` and ``grad_inp`` must hold zeros; ``max_abs[0]`` is the
        largest finite ``|grad_out|`` (see :data:`abs_max`).  Non-finite
        contributions go to ``grad_inp``.  :data:`finish_fixed` turns ``fixed``
        into the gradient.
        """
        scale = _fixed_scale(max_abs[0], 1.0 * grid.shape[1] * grid.shape[2])
        target = (fixed, grad_inp)
        h = row0 + cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        w = col0 + cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if h < grid.shape[1] and w < grid.shape[2]:
            for n in range(cuda.blockIdx.z, grid.shape[0], cuda.gridDim.z):
                gx, gy = _backward_pixel_fixed(inp, grad_out, n, h, w, grid[n, h, w, 0],
                                               grid[n, h, w, 1], mode, padding_mode,
                                               align_corners, target, scale)
                grad_grid[n, h, w, 0] = gx
                grad_grid[n, h, w, 1] = gy

    return grid_sample_backward_fixed


#: The sampling mode codes of :mod:`warpkit.kernels._math`, in order: the
#: pixel kernels below are tuples indexed by them.
MODES = (_math.MODE_BILINEAR, _math.MODE_NEAREST, _math.MODE_BICUBIC)

#: ``grid_sample_forward[mode][blocks, threads](inp, grid, padding_mode,
#: align_corners, out)``.
grid_sample_forward = tuple(_forward_kernel(mode) for mode in MODES)

#: ``grid_sample_backward_atomic[mode][blocks, threads](inp, grid, grad_out,
#: padding_mode, align_corners, grad_inp, grad_grid)``.
grid_sample_backward_atomic = tuple(_backward_atomic_kernel(mode) for mode in MODES)

#: ``grid_sample_backward_fixed[mode][blocks, threads](inp, grid, grad_out,
#: padding_mode, align_corners, fixed, grad_inp, grad_grid, max_abs)``.
grid_sample_backward_fixed = tuple(_backward_fixed_kernel(mode) for mode in MODES)


@cuda.jit
def abs_max(grad_out, max_abs):
    """``max_abs[0]`` = max(``max_abs[0]``, largest finite ``|grad_out|``).

    Each block reduces its values in shared memory and makes one atomic max
    (exact in any order).  Launch with :func:`pixel_launch` over
    ``grad_out``'s ``(N, H, W)``, with a capped number of blocks.
    """
    shared = cuda.shared.array(MAX_BLOCK_SIZE, np.float64)
    largest = 0.0
    for n in range(cuda.blockIdx.z, grad_out.shape[0], cuda.gridDim.z):
        for h in range(cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y, grad_out.shape[2],
                       cuda.gridDim.y * cuda.blockDim.y):
            for w in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x,
                           grad_out.shape[3], cuda.gridDim.x * cuda.blockDim.x):
                for c in range(grad_out.shape[1]):
                    value = abs(grad_out[n, c, h, w] * 1.0)
                    if value > largest and value < math.inf:
                        largest = value
    largest = _block_max(largest, shared)
    if cuda.threadIdx.x == 0 and cuda.threadIdx.y == 0:
        cuda.atomic.max(max_abs, 0, largest)


@cuda.jit
def finish_fixed(fixed, grad_inp, max_abs, pixels):
    """``grad_inp += fixed / scale`` and ``fixed = 0``, on 1-D views.

    Leaves the accumulator zeroed for its next use.
    """
    scale = _fixed_scale(max_abs[0], pixels)
    start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    for i in range(start, fixed.shape[0], cuda.gridDim.x * cuda.blockDim.x):
        grad_inp[i] += fixed[i] / scale
        fixed[i] = 0


@cuda.jit
def fill_zero(target):
    """``target[:] = 0`` on a 1-D array."""
    start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    for i in range(start, target.shape[0], cuda.gridDim.x * cuda.blockDim.x):
        target[i] = 0


@cuda.jit
def fill_zero_reset(target, max_abs):
    """``target[:] = 0`` on a 1-D array, and ``max_abs[0] = 0``."""
    start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if start == 0:
        max_abs[0] = 0.0
    for i in range(start, target.shape[0], cuda.gridDim.x * cuda.blockDim.x):
        target[i] = 0
