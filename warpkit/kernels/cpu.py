"""CPU loops for ``grid_sample`` forward and backward.

Each kernel is a serial, GIL-free (``nogil``) loop over a range of flattened
output rows ``n * H_out + h``; :mod:`warpkit.kernels.chunks` cuts the rows
into chunks and runs them on a thread pool, so a batch of one still uses every
core.  Serial kernels compile in about half the time of Numba ``parallel=True``
loops, and the pool is safe to use from several Python threads and after
``fork``.

The loops only choose which output pixels to visit; the per-pixel arithmetic
is :mod:`warpkit.kernels._math`.
"""

import numba
from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS
from . import _math


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def _scatter_add(target, scale, n, c, y, x, value):
    target[n, c, y, x] += value


pixel_math = _math.build(numba.njit(**CPU_DEVICE_JIT_OPTIONS), _scatter_add)
_sample_pixel = pixel_math.sample_pixel
_backward_pixel = pixel_math.backward_pixel


@numba.njit(**CPU_JIT_OPTIONS)
def grid_sample_forward(inp, grid, mode, padding_mode, align_corners, out, row_start, row_end):
    """``out[n, :, h, w]`` = input sampled at ``grid[n, h, w]``, for flattened rows
    ``n * H_out + h`` in ``[row_start, row_end)``."""
    out_height = grid.shape[1]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        for w in range(grid.shape[2]):
            _sample_pixel(inp, n, grid[n, h, w, 0], grid[n, h, w, 1], mode, padding_mode,
                          align_corners, out, h, w)


@numba.njit(**CPU_JIT_OPTIONS)
def grid_sample_backward(inp, grid, grad_out, mode, padding_mode, align_corners, grad_inp,
                         grad_grid, row_start, row_end):
    """Gradients of :func:`grid_sample_forward` for rows ``[row_start, row_end)``.

    Adds the input gradient into ``grad_inp`` (in row order) and writes the
    grid gradient of those rows into ``grad_grid``.
    """
    out_height = grid.shape[1]
    for row in range(row_start, row_end):
        n = row // out_height
        h = row - n * out_height
        for w in range(grid.shape[2]):
            gx, gy = _backward_pixel(inp, grad_out, n, h, w, grid[n, h, w, 0], grid[n, h, w, 1],
                                     mode, padding_mode, align_corners, grad_inp, 1.0)
            grad_grid[n, h, w, 0] = gx
            grad_grid[n, h, w, 1] = gy
