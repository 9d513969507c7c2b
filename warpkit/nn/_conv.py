"""The convolution primitive: im2col on chunks of samples, one BLAS product per chunk.

A convolution of (N, C, D, H, W) volumes (images: D = 1) with an (F, C, kd,
kh, kw) weight is, for a chunk of M samples, the product of the (F, K) weight
with the (K, M * P) column matrix of :func:`warpkit.nn._conv_kernels.im2col`
(K = C * kd * kh * kw taps, P output voxels per sample).  The batch is cut
into chunks whose column matrix holds about :data:`CHUNK_ELEMENTS` numbers, so
that it is written, multiplied and (backward) added back while it sits in the
core's cache; nothing is kept between the forward and the backward pass (the
backward computes the columns again, one chunk at a time).

Everything runs in float32 when every array is float32 (or narrower) and in
float64 otherwise; gradients come back in the dtype of their argument.
"""

import math

import numpy as np
from autograd.extend import primitive

from .._primitives import only, register
from . import _conv_kernels as kernels

__all__ = ["compute_dtype", "columns", "add_columns", "convolve", "convolve_vjp"]

#: Numbers in one chunk's column matrix (float32: 512 KiB, a core's L2 cache
#: holds it with the chunk's input and output).
CHUNK_ELEMENTS = 1 << 17

_NAMES = ("x", "w", "b")


def compute_dtype(*arrays):
    """float32 if every array is float32 or narrower (float16, ints of <= 16 bits), else float64.

    Raises
    ------
    TypeError
        If an array is complex.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn._conv import compute_dtype
    >>> compute_dtype(np.zeros(2, np.float32), np.zeros(2, np.float16))
    dtype('float32')
    >>> compute_dtype(np.zeros(2, np.float32), np.zeros(2))
    dtype('float64')
    """
    dtype = np.result_type(*arrays)
    if dtype.kind == "c":
        raise TypeError(f"convolutions take real arrays, got dtype {dtype}")
    return np.dtype(np.float32) if np.can_cast(dtype, np.float32, "safe") else np.dtype(
        np.float64)


def _volumes(x):
    """``x`` (N, C, [D,] H, W) as a C-contiguous (N, C, D, H, W) array (images: D = 1)."""
    x = np.ascontiguousarray(x)
    return x if x.ndim == 5 else x.reshape(x.shape[0], x.shape[1], 1, *x.shape[2:])


def _geometry(kernel_size, padding, stride):
    """The kernels' window, padding and stride arguments: images are volumes of depth 1.

    ``(kd, kh, kw, pd, ph, pw, stride)``, with ``kd = 1`` and ``pd = 0`` for a
    ``(kh, kw)`` kernel.
    """
    flat = 3 - len(kernel_size)
    return (1,) * flat + tuple(kernel_size) + (0,) * flat + (padding,) * (3 - flat) + (stride,)


def _out_size(spatial, geometry):
    """Output voxels per axis of (D, H, W) volumes."""
    kernel, pads, stride = geometry[:3], geometry[3:6], geometry[6]
    return tuple((size + 2 * pad - k) // stride + 1
                 for size, k, pad in zip(spatial, kernel, pads))


def _chunks(count, per_sample):
    """Slices of ``count`` samples holding about :data:`CHUNK_ELEMENTS` numbers each."""
    step = max(1, min(count, CHUNK_ELEMENTS // max(per_sample, 1)))
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]


def columns(x, kernel_size, padding, stride, dtype):
    """The (K, N, P) column matrix of the whole batch (see :func:`warpkit.nn.im2col`).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn._conv import columns
    >>> columns(np.arange(9.0).reshape(1, 1, 3, 3), (2, 2), 0, 1, np.float64)[:, 0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    volumes = _volumes(np.asarray(x, dtype=dtype))
    geometry = _geometry(kernel_size, padding, stride)
    out = _out_size(volumes.shape[2:], geometry)
    cols = np.empty((volumes.shape[1] * math.prod(kernel_size), volumes.shape[0],
                     math.prod(out)), dtype=dtype)
    kernels.im2col(volumes, cols, *geometry)
    return cols


def add_columns(cols, x_shape, kernel_size, padding, stride):
    """The adjoint of :func:`columns`: (K, N, P) columns added back onto an ``x_shape`` array.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn._conv import add_columns
    >>> add_columns(np.ones((4, 1, 4)), (1, 1, 3, 3), (2, 2), 0, 1)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    volumes = np.zeros(x_shape[:2] + (1,) * (5 - len(x_shape)) + tuple(x_shape[2:]),
                       dtype=cols.dtype)
    kernels.col2im(np.ascontiguousarray(cols), volumes, *_geometry(kernel_size, padding, stride))
    return volumes.reshape(x_shape)


class _Operands:
    """The arrays of one convolution in the kernels' form, and its sizes.

    ``volumes`` (N, C, D, H, W) and ``weight`` (F, K) in the compute dtype,
    ``geometry`` the kernels' window arguments, ``out_size`` (Do, Ho, Wo),
    ``chunks`` the slices of samples processed together (at most
    ``chunk_samples`` each).
    """

    def __init__(self, x, w, b, padding, stride):
        self.dtype = compute_dtype(x, w, b)
        self.volumes = _volumes(np.asarray(x, dtype=self.dtype))
        self.geometry = _geometry(w.shape[2:], padding, stride)
        self.out_size = _out_size(self.volumes.shape[2:], self.geometry)
        self.pixels = math.prod(self.out_size)
        self.weight = np.ascontiguousarray(w, dtype=self.dtype).reshape(w.shape[0], -1)
        self.filters, self.taps = self.weight.shape
        self.chunks = _chunks(self.volumes.shape[0], self.taps * self.pixels)
        self.chunk_samples = max(chunk.stop - chunk.start for chunk in self.chunks)

    def buffer(self, rows):
        """A flat scratch array for ``rows`` x (the largest chunk's M * P) numbers."""
        return np.empty(rows * self.chunk_samples * self.pixels, dtype=self.dtype)

    def columns(self, chunk, buffer):
        """The (K, M * P) column matrix of the chunk's samples, written into ``buffer``."""
        m = chunk.stop - chunk.start
        cols = buffer[:self.taps * m * self.pixels].reshape(self.taps, m, self.pixels)
        kernels.im2col(self.volumes[chunk], cols, *self.geometry)
        return cols.reshape(self.taps, m * self.pixels)


@primitive
def convolve(x, w, b, padding, stride):
    """Cross-correlation of ``x`` (N, C, ...) with ``w`` (F, C, ...) plus ``b`` (F,).

    Returns a C-contiguous (N, F, ...) array in :func:`compute_dtype`.  The
    bias is a last column of the weight matrix times a row of ones below the
    columns, so a chunk of one sample is one matrix product into the output.
    The arguments are not checked (:func:`warpkit.nn.conv2d` does).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn._conv import convolve
    >>> convolve(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.array([0.5]), 0, 1)[0, 0]
    array([[4.5, 4.5],
           [4.5, 4.5]])
    """
    ops = _Operands(x, w, b, padding, stride)
    n, filters, taps, pixels = ops.volumes.shape[0], ops.filters, ops.taps, ops.pixels
    weight = np.concatenate([ops.weight, np.asarray(b, dtype=ops.dtype)[:, np.newaxis]], axis=1)
    out = np.empty((n, filters, pixels), dtype=ops.dtype)
    cols_buffer = ops.buffer(taps + 1)
    product_buffer = ops.buffer(filters) if ops.chunk_samples > 1 else None
    for chunk in ops.chunks:
        m = chunk.stop - chunk.start
        cols = cols_buffer[:(taps + 1) * m * pixels].reshape(taps + 1, m * pixels)
        ops.columns(chunk, cols_buffer)  # the first K rows
        cols[taps] = 1
        if m == 1:
            np.matmul(weight, cols, out=out[chunk.start])
        else:
            product = product_buffer[:filters * m * pixels].reshape(filters, m * pixels)
            np.matmul(weight, cols, out=product)
            out[chunk] = product.reshape(filters, m, pixels).transpose(1, 0, 2)
    spatial_axes = np.ndim(x) - 2  # 2 for images: drop the depth of 1
    return out.reshape(n, filters, *ops.out_size[3 - spatial_axes:])


def _samples_second(g, chunk):
    """``g[chunk]`` (M, F, P) as a contiguous (F, M * P) matrix (a view when M is 1)."""
    part = np.ascontiguousarray(g[chunk].transpose(1, 0, 2))
    return part.reshape(part.shape[0], -1)


@primitive
def convolve_vjp(x, w, b, grad_output, padding, stride, wrt=_NAMES):
    """Gradients ``(dx, dw, db)`` of :func:`convolve` (None for those not in ``wrt``).

    Per chunk, ``dx`` is col2im of ``w.T @ g`` and ``dw`` is ``g @ cols.T``
    with the chunk's columns computed again.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn._conv import convolve_vjp
    >>> x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1)
    >>> dx, dw, db = convolve_vjp(x, w, b, np.ones((1, 1, 2, 2)), 0, 1)
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dw[0, 0], db
    (array([[4., 4.],
           [4., 4.]]), array([4.]))
    """
    ops = _Operands(x, w, b, padding, stride)
    taps, pixels = ops.taps, ops.pixels
    g = np.ascontiguousarray(grad_output, dtype=ops.dtype).reshape(-1, ops.filters, pixels)
    grad_x = np.zeros(ops.volumes.shape, dtype=ops.dtype) if "x" in wrt else None
    grad_w = np.zeros((taps, ops.filters), dtype=ops.dtype) if "w" in wrt else None  # w.T
    cols_buffer = ops.buffer(taps)
    for chunk in ops.chunks:
        m = chunk.stop - chunk.start
        g_chunk = _samples_second(g, chunk)
        if grad_x is not None:
            grad_cols = cols_buffer[:taps * m * pixels].reshape(taps, m * pixels)
            np.matmul(ops.weight.T, g_chunk, out=grad_cols)
            kernels.col2im(grad_cols.reshape(taps, m, pixels), grad_x[chunk], *ops.geometry)
        if grad_w is not None:
            grad_w += ops.columns(chunk, cols_buffer) @ g_chunk.T
    grads = (
        None if grad_x is None else _like(grad_x, x),
        None if grad_w is None else _like(grad_w.T, w),
        _like(g.sum(axis=(0, 2)), b) if "b" in wrt else None,
    )
    return only(grads, wrt, _NAMES)


def _like(grad, value):
    """``grad`` in the shape and dtype of ``value``."""
    return grad.reshape(np.shape(value)).astype(np.asarray(value).dtype, copy=False)


register(convolve, convolve_vjp, _NAMES, "conv")
