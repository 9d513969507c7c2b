"""Numba kernels of the convolutions: im2col and its adjoint col2im, on volumes.

Images are volumes of depth 1: ``x`` is (M, C, D, H, W) and the kernel
(kd, kh, kw), with ``kd = 1`` for images.  The columns are laid out
``cols[k, s, p]``: tap ``k = ((c * kd + a) * kh + b) * kw + e`` (the order of
a (C, kd, kh, kw) weight) over output voxel ``p = (z * Ho + i) * Wo + j`` of
sample ``s``, so that a convolution of the M samples is one matrix product
``w.reshape(F, K) @ cols.reshape(K, M * P)``.  The padding ``(pd, ph, pw)``
(``pd = 0`` for images) is read as zeros, nothing is padded in memory; the
stride is the same along every axis.

The kernels are serial loops (arithmetic only; :mod:`warpkit.nn._conv`
validates, allocates and cuts the batch into chunks).  Each compiles lazily
for the dtype it first meets (float32 or float64, the only ones the wrapper
passes) and is cached on disk.
"""

import numba
import numpy as np

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def at(index):
    """A flat index (never negative) as unsigned.

    Numba then skips its negative-index wraparound and the row loops
    vectorize (measured: a copy of rows of 24 numbers ran 5-10x faster).
    """
    return np.uint64(index)


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def out_extent(size, k, padding, stride):
    """Windows along an axis of ``size`` samples: ``(size + 2 * padding - k) // stride + 1``."""
    return (size + 2 * padding - k) // stride + 1


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def valid_range(size, out_size, offset, padding, stride):
    """Outputs ``[lo, hi)`` along an axis whose tap ``offset`` reads inside ``[0, size)``.

    Output ``j`` reads ``j * stride + offset - padding``.
    """
    shift = padding - offset
    lo = 0
    if shift > 0:
        lo = (shift + stride - 1) // stride
    hi = 0
    if size + shift > 0:
        hi = (size - 1 + shift) // stride + 1
    lo = min(lo, out_size)
    hi = max(min(hi, out_size), lo)
    return lo, hi


@numba.njit(**CPU_JIT_OPTIONS)
def im2col(x, cols, kd, kh, kw, pd, ph, pw, stride):
    """Write every window of ``x`` (M, C, D, H, W) into ``cols`` (C * kd * kh * kw, M, P).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import _conv_kernels
    >>> cols = np.empty((4, 1, 4))
    >>> _conv_kernels.im2col(np.arange(9.0).reshape(1, 1, 1, 3, 3), cols, 1, 2, 2, 0, 0, 0, 1)
    >>> cols[:, 0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    m, channels, d, h, w = x.shape
    do = out_extent(d, kd, pd, stride)
    ho = out_extent(h, kh, ph, stride)
    wo = out_extent(w, kw, pw, stride)
    flat_x, flat_cols = x.reshape(-1), cols.reshape(-1)
    for c in range(channels):
        for a in range(kd):
            for b in range(kh):
                for e in range(kw):
                    k = ((c * kd + a) * kh + b) * kw + e
                    j0, j1 = valid_range(w, wo, e, pw, stride)
                    for s in range(m):
                        out = (k * m + s) * do * ho * wo  # the first output of the row
                        for z in range(do):
                            zz = z * stride + a - pd
                            for i in range(ho):
                                yy = i * stride + b - ph
                                if zz < 0 or zz >= d or yy < 0 or yy >= h:
                                    j1_row = j0  # the whole row reads padding
                                else:
                                    j1_row = j1
                                for j in range(j0):
                                    flat_cols[at(out + j)] = 0
                                for j in range(j1_row, wo):
                                    flat_cols[at(out + j)] = 0
                                # x's pixel of output j: start + j * stride
                                start = (((s * channels + c) * d + zz) * h + yy) * w + e - pw
                                if stride == 1:
                                    for j in range(j0, j1_row):
                                        flat_cols[at(out + j)] = flat_x[at(start + j)]
                                else:
                                    for j in range(j0, j1_row):
                                        flat_cols[at(out + j)] = flat_x[at(start + j * stride)]
                                out += wo


@numba.njit(**CPU_JIT_OPTIONS)
def col2im(cols, dx, kd, kh, kw, pd, ph, pw, stride):
    """Add every column of ``cols`` (K, M, P) onto its window of ``dx`` (M, C, D, H, W).

    The adjoint of :func:`im2col`; ``dx`` must hold zeros (or what to add to).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import _conv_kernels
    >>> dx = np.zeros((1, 1, 1, 3, 3))
    >>> _conv_kernels.col2im(np.ones((4, 1, 4)), dx, 1, 2, 2, 0, 0, 0, 1)
    >>> dx[0, 0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    m, channels, d, h, w = dx.shape
    do = out_extent(d, kd, pd, stride)
    ho = out_extent(h, kh, ph, stride)
    wo = out_extent(w, kw, pw, stride)
    flat_cols, flat_dx = cols.reshape(-1), dx.reshape(-1)
    for c in range(channels):
        for a in range(kd):
            for b in range(kh):
                for e in range(kw):
                    k = ((c * kd + a) * kh + b) * kw + e
                    j0, j1 = valid_range(w, wo, e, pw, stride)
                    for s in range(m):
                        out = (k * m + s) * do * ho * wo
                        for z in range(do):
                            zz = z * stride + a - pd
                            for i in range(ho):
                                yy = i * stride + b - ph
                                if zz >= 0 and zz < d and yy >= 0 and yy < h:
                                    start = (((s * channels + c) * d + zz) * h + yy) * w + e - pw
                                    if stride == 1:
                                        for j in range(j0, j1):
                                            flat_dx[at(start + j)] += flat_cols[at(out + j)]
                                    else:
                                        for j in range(j0, j1):
                                            flat_dx[at(start + j * stride)] += \
                                                flat_cols[at(out + j)]
                                out += wo
