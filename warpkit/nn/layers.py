"""Layers as plain functions over parameter dicts, differentiable with autograd.

Every layer is a function ``layer(params, x, ...)`` (or ``layer(x, ...)`` when
it has no parameters).  Images are NCHW; dense layers take (N, features).
The hot spots are autograd primitives with hand-written VJPs:

* :func:`conv2d` is im2col (a primitive whose VJP is col2im) followed by one
  BLAS matrix product that autograd differentiates itself;
* :func:`max_pool` keeps the arg-max of each window for its backward;
* :func:`relu` passes the gradient where the input was positive.

Shape mismatches raise a ``ValueError`` that names the layer and the shapes.
"""

import operator
import weakref

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

__all__ = ["dense", "conv2d", "max_pool", "relu", "dropout", "flatten", "im2col"]


def _shape(x):
    return tuple(np.shape(getval(x)))


def _layer_error(layer, message):
    return ValueError(f"{layer}: {message}")


def _int_at_least(layer, name, value, minimum):
    """``value`` as an int >= ``minimum``, else an error naming the layer and the argument."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{layer}: {name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise _layer_error(layer, f"{name} must be >= {minimum}, got {number}")
    return number


# --------------------------------------------------------------------------- dense

def dense(params, x, *, name="dense"):
    """Fully connected layer ``x @ params["w"] + params["b"]``.

    Parameters
    ----------
    params : dict
        ``"w"`` of shape (D_in, D_out) and ``"b"`` of shape (D_out,).
    x : ndarray, shape (N, D_in)
        Inputs.
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, D_out)

    Raises
    ------
    ValueError
        If ``x`` is not (N, D_in) for the weight's D_in.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> params = {"w": np.ones((3, 2)), "b": np.array([0.0, 1.0])}
    >>> nn.dense(params, np.array([[1.0, 2.0, 3.0]]))
    array([[6., 7.]])
    """
    w_shape, x_shape = _shape(params["w"]), _shape(x)
    if len(x_shape) != 2 or len(w_shape) != 2 or x_shape[1] != w_shape[0]:
        raise _layer_error(
            name, f"expected input of shape (N, {w_shape[0] if w_shape else '?'}) for weight "
                  f"{w_shape}, got {x_shape}")
    return anp.dot(x, params["w"]) + params["b"]


# --------------------------------------------------------------------------- conv2d

@primitive
def im2col(x, kernel_size, padding=0):
    """Unfold every ``kh x kw`` window of ``x`` into a column (stride 1).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Images.
    kernel_size : tuple of int
        ``(kh, kw)``.
    padding : int, optional
        Zero padding added on every side.

    Returns
    -------
    ndarray, shape (C * kh * kw, N * H_out * W_out)
        Column ``(n, i, j)`` holds the window whose top-left corner is the
        padded pixel ``(i, j)``, ordered like a (C, kh, kw) weight, so that a
        convolution is ``w.reshape(F, -1) @ im2col(x, ...)``.  ``H_out = H + 2 *
        padding - kh + 1``.  Each row is one tap ``(c, di, dj)`` over all
        output pixels: the copy reads and writes whole image rows.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.im2col(np.arange(9.0).reshape(1, 1, 3, 3), (2, 2))
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    kh, kw = kernel_size
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, w = x.shape
    ho, wo = h - kh + 1, w - kw + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    cols[...] = windows.transpose(1, 4, 5, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * ho * wo)


def col2im(cols, x_shape, kernel_size, padding=0):
    """Adjoint of :func:`im2col`: add every column back onto its window.

    Returns an (N, C, H, W) array (whose memory is laid out as (C, N, H, W)).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn.layers import col2im
    >>> col2im(np.ones((4, 4)), (1, 1, 3, 3), (2, 2))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    kh, kw = kernel_size
    n, c, h, w = x_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    ho, wo = hp - kh + 1, wp - kw + 1
    taps = cols.reshape(c, kh, kw, n, ho, wo)
    out = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + ho, j:j + wo] += taps[:, i, j]
    if padding:
        out = out[:, :, padding:padding + h, padding:padding + w]
    return out.transpose(1, 0, 2, 3)


defvjp(im2col, lambda ans, x, kernel_size, padding=0:
       lambda g: col2im(g, np.shape(x), kernel_size, padding))


def conv2d(params, x, *, padding=0, name="conv2d"):
    """2-D convolution (cross-correlation, stride 1) of NCHW images.

    Computed as :func:`im2col` followed by one BLAS matrix product, so
    forward and backward cost three matrix products and two memory passes.

    Parameters
    ----------
    params : dict
        ``"w"`` of shape (F, C, kh, kw) and ``"b"`` of shape (F,).
    x : ndarray, shape (N, C, H, W)
        Images.
    padding : int, optional
        Zero padding (>= 0) on every side ("same" output for ``padding = k // 2``).
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, F, H + 2 * padding - kh + 1, W + 2 * padding - kw + 1)

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, its channels differ from the weight's, the
        image is smaller than the kernel, or ``padding`` is negative.
    TypeError
        If ``padding`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> params = {"w": np.ones((1, 1, 2, 2)), "b": np.zeros(1)}
    >>> nn.conv2d(params, np.arange(9.0).reshape(1, 1, 3, 3))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    padding = _int_at_least(name, "padding", padding, 0)
    w_shape, x_shape = _shape(params["w"]), _shape(x)
    if len(w_shape) != 4:
        raise _layer_error(name, f"weight must have shape (F, C, kh, kw), got {w_shape}")
    filters, channels, kh, kw = w_shape
    if len(x_shape) != 4 or x_shape[1] != channels:
        raise _layer_error(
            name, f"expected input of shape (N, {channels}, H, W) for weight {w_shape}, "
                  f"got {x_shape}")
    n, _, h, w = x_shape
    ho, wo = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    if ho < 1 or wo < 1:
        raise _layer_error(
            name, f"input {x_shape} with padding {padding} is smaller than the kernel "
                  f"{(kh, kw)}")
    return _conv2d(x, params["w"], params["b"], padding)


# The im2col matrix of the forward pass is kept for the backward pass (the
# weight gradient needs it), keyed by the output array and dropped with it.
# Outputs are (N, F, H, W) views of (F, N, H, W) memory: the matrix product
# writes that layout directly, and every layer here accepts any strides.
_COLUMNS = {}


def _forget(key):
    return lambda _: _COLUMNS.pop(key, None)


@primitive
def _conv2d(x, w, b, padding):
    filters, channels, kh, kw = w.shape
    n, _, h, width = x.shape
    ho, wo = h + 2 * padding - kh + 1, width + 2 * padding - kw + 1
    dtype = np.result_type(x.dtype, w.dtype)
    cols = im2col(x.astype(dtype, copy=False), (kh, kw), padding)
    out = w.reshape(filters, -1).astype(dtype, copy=False) @ cols
    out += b.astype(dtype, copy=False)[:, np.newaxis]
    out = out.reshape(filters, n, ho, wo).transpose(1, 0, 2, 3)
    key = id(out)
    _COLUMNS[key] = (weakref.ref(out, _forget(key)), cols)
    return out


def _conv2d_columns(ans, x, w, padding):
    entry = _COLUMNS.get(id(ans))
    if entry is not None and entry[0]() is ans:
        return entry[1]
    return im2col(x.astype(ans.dtype, copy=False), w.shape[2:], padding)


def _grad_matrix(g):
    """The output gradient as an (F, N * H_out * W_out) matrix (free for our own outputs)."""
    return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(g.shape[1], -1)


defvjp(
    _conv2d,
    lambda ans, x, w, b, padding: lambda g: col2im(
        w.reshape(w.shape[0], -1).T.astype(g.dtype, copy=False) @ _grad_matrix(g),
        x.shape, w.shape[2:], padding).astype(x.dtype, copy=False),
    lambda ans, x, w, b, padding: lambda g: (
        _grad_matrix(g) @ _conv2d_columns(ans, x, w, padding).T).reshape(w.shape).astype(
            w.dtype, copy=False),
    lambda ans, x, w, b, padding: lambda g: g.sum(axis=(0, 2, 3)).astype(b.dtype, copy=False),
)


# --------------------------------------------------------------------------- pooling

def _pool_taps(x, size):
    """The ``size * size`` strided views whose element-wise maximum is the pooled map."""
    ho, wo = x.shape[2] // size, x.shape[3] // size
    return [x[:, :, i:i + ho * size:size, j:j + wo * size:size]
            for i in range(size) for j in range(size)]


@primitive
def _max_pool(x, size):
    taps = _pool_taps(x, size)
    out = taps[0].copy()
    for tap in taps[1:]:
        np.maximum(out, tap, out=out)
    return out


def _max_pool_vjp(ans, x, size):
    def vjp(g):
        grad = np.zeros_like(x, dtype=g.dtype)  # the memory layout of x (see _conv2d)
        unclaimed = np.ones(ans.shape, dtype=bool)
        for tap, grad_tap in zip(_pool_taps(x, size), _pool_taps(grad, size)):
            first = unclaimed & (tap == ans)  # the gradient goes to the first maximum only
            grad_tap[...] = np.where(first, g, 0)
            unclaimed &= ~first
        return grad
    return vjp


defvjp(_max_pool, _max_pool_vjp)


def max_pool(x, size=2, *, name="max_pool"):
    """Non-overlapping ``size x size`` max pooling; a last partial row/column is dropped.

    The gradient goes to the first maximum of each window.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    size : int, optional
        Window side, >= 1 (1 returns ``x`` unchanged).
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, C, H // size, W // size)

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or smaller than the window, or ``size < 1``.
    TypeError
        If ``size`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import max_pool
    >>> max_pool(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    size = _int_at_least(name, "size", size, 1)
    x_shape = _shape(x)
    if len(x_shape) != 4 or x_shape[2] < size or x_shape[3] < size:
        raise _layer_error(name, f"expected input of shape (N, C, H, W) with H, W >= {size}, "
                                 f"got {x_shape}")
    return _max_pool(x, size)


# --------------------------------------------------------------------------- elementwise

@primitive
def relu(x):
    """Rectified linear unit ``max(x, 0)``; the gradient at 0 is 0.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    return np.maximum(x, 0)


defvjp(relu, lambda ans, x: lambda g: g * (ans > 0))


def dropout(x, rate, rng):
    """Inverted dropout: zero values with probability ``rate``, scale the rest by ``1/(1-rate)``.

    Parameters
    ----------
    x : ndarray
    rate : float
        Drop probability in [0, 1).  0 returns ``x`` unchanged.
    rng : numpy.random.Generator or None
        Source of the mask; ``None`` (evaluation) returns ``x`` unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.dropout(np.ones(4), 0.5, np.random.default_rng(0))
    array([2., 0., 0., 0.])
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if rng is None or rate == 0.0:
        return x
    keep = rng.random(_shape(x)) >= rate
    return x * (keep.astype(getval(x).dtype) / (1.0 - rate))


def flatten(x):
    """Flatten every axis but the first: (N, ...) -> (N, prod(...)).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.flatten(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """
    shape = _shape(x)
    return anp.reshape(x, (shape[0], -1))
