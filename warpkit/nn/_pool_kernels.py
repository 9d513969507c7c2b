"""Numba kernels of non-overlapping max pooling, forward and backward, on volumes.

Images are volumes of depth 1: ``x`` is (N, C, D, H, W) and the window
(sd, sh, sw), with ``sd = 1`` for images.  Output voxel ``(z, i, j)`` pools
``x[..., z*sd:(z+1)*sd, i*sh:(i+1)*sh, j*sw:(j+1)*sw]``; a last partial
window along any axis is dropped.  The maximum propagates NaN (as
``numpy.maximum``); the gradient goes to the first element of the window
(in (d, h, w) order) equal to its output, so none where the output is NaN.

The loops run along output rows and choose by selects and arithmetic, not
branches (a branch on which element of a window is largest is mispredicted
often: 2-4x slower).  Arithmetic only:
:mod:`warpkit.nn.layers` validates and allocates.  Each kernel compiles
lazily for the dtype it first meets (float32 or float64) and is cached on
disk.
"""

import numba
import numpy as np

from .._config import CPU_JIT_OPTIONS
from ._conv_kernels import at


@numba.njit(**CPU_JIT_OPTIONS)
def max_pool_forward(x, out, sd, sh, sw):
    """``out`` (N, C, Do, Ho, Wo) = the maximum of each window of ``x`` (N, C, D, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import _pool_kernels
    >>> out = np.empty((1, 1, 1, 1, 2))
    >>> _pool_kernels.max_pool_forward(np.array([[[[[1.0, 3.0, 2.0, 0.0]]]]]), out, 1, 1, 2)
    >>> out.ravel()
    array([3., 2.])
    """
    n, channels, do, ho, wo = out.shape
    d, h, w = x.shape[2:]
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for plane in range(n * channels):
        for z in range(do):
            for i in range(ho):
                row = ((plane * do + z) * ho + i) * wo
                first = ((plane * d + z * sd) * h + i * sh) * w  # the window rows' first
                for j in range(wo):
                    flat_out[at(row + j)] = flat_x[at(first + j * sw)]
                for a in range(sd):
                    for b in range(sh):
                        source = first + (a * h + b) * w
                        for e in range(sw):
                            for j in range(wo):
                                value = flat_x[at(source + j * sw + e)]
                                best = flat_out[at(row + j)]
                                bigger = (value > best) | (value != value)  # NaN wins
                                flat_out[at(row + j)] = value if bigger else best


@numba.njit(**CPU_JIT_OPTIONS)
def max_pool_backward(x, out, grad_out, grad_x, sd, sh, sw):
    """Send each ``grad_out`` value to the first element of its window equal to ``out``.

    Every element of ``grad_x`` (the shape of ``x``) is written: each plane
    is zeroed while it is in cache, then each row of windows is scanned in
    reverse window order, keeping the offset of the last match (the first in
    window order) in ``offsets`` by arithmetic alone (-1: no match, a NaN
    window), and each gradient is stored once.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import _pool_kernels
    >>> x, out = np.array([[[[[1.0, 3.0, 2.0, 2.0]]]]]), np.array([[[[[3.0, 2.0]]]]])
    >>> grad_x = np.empty_like(x)
    >>> _pool_kernels.max_pool_backward(x, out, np.array([[[[[5.0, 7.0]]]]]), grad_x, 1, 1, 2)
    >>> grad_x.ravel()
    array([0., 5., 7., 0.])
    """
    n, channels, do, ho, wo = out.shape
    d, h, w = x.shape[2:]
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    flat_grad_out, flat_grad_x = grad_out.reshape(-1), grad_x.reshape(-1)
    offsets = np.empty(wo, dtype=np.int64)
    for plane in range(n * channels):
        for index in range(plane * d * h * w, (plane + 1) * d * h * w):
            flat_grad_x[at(index)] = 0
        for z in range(do):
            for i in range(ho):
                row = ((plane * do + z) * ho + i) * wo
                first = ((plane * d + z * sd) * h + i * sh) * w  # window j starts at first + j*sw
                best = flat_out[row:row + wo]
                offsets[:] = -1
                for a in range(sd - 1, -1, -1):
                    for b in range(sh - 1, -1, -1):
                        for e in range(sw - 1, -1, -1):
                            delta = (a * h + b) * w + e
                            for j in range(wo):
                                hit = flat_x[at(first + delta + j * sw)] == best[j]
                                offsets[j] += hit * (delta - offsets[j])
                for j in range(wo):
                    if offsets[j] >= 0:
                        flat_grad_x[at(first + offsets[j] + j * sw)] = flat_grad_out[at(row + j)]
