"""Layers as plain functions over parameter dicts, differentiable with autograd.

Every layer is a function ``layer(params, x, ...)`` (or ``layer(x, ...)`` when
it has no parameters).  Images are NCHW, volumes NCDHW; dense layers take
(N, features).  The hot spots are autograd primitives with hand-written VJPs:

* :func:`conv2d` and :func:`conv3d` are im2col (a Numba kernel) followed
  by one BLAS matrix product per cache-sized chunk of samples, and the same
  two steps backwards (``warpkit.nn._conv``);
* :func:`max_pool` and :func:`max_pool3d` are Numba kernels that send the
  gradient to the first maximum of each window; :func:`avg_pool3d` spreads
  it evenly;
* :func:`relu` passes the gradient where the input was positive.

Shape mismatches raise a ``ValueError`` that names the layer and the shapes.
"""

import itertools
import operator

import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

from . import _conv, _pool_kernels

__all__ = ["dense", "conv2d", "conv3d", "max_pool", "max_pool3d", "avg_pool3d", "relu", "dropout",
           "flatten", "im2col"]


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


# --------------------------------------------------------------------------- convolutions

_SPATIAL_AXES = {2: "H, W", 3: "D, H, W"}
_KERNEL_AXES = {2: "kh, kw", 3: "kd, kh, kw"}


def _window_counts(spatial, kernel_size, padding, stride):
    """Windows per spatial axis: ``(size + 2 * padding - k) // stride + 1``."""
    return tuple((size + 2 * padding - k) // stride + 1 for size, k in zip(spatial, kernel_size))


@primitive
def im2col(x, kernel_size, padding=0, stride=1):
    """Unfold every window of images or volumes into a column.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W) or (N, C, D, H, W)
        Images (2-D kernel) or volumes (3-D kernel).
    kernel_size : tuple of int
        ``(kh, kw)`` or ``(kd, kh, kw)``: one entry per spatial axis of ``x``.
    padding : int, optional
        Zero padding added on every side of every spatial axis.
    stride : int, optional
        Step between windows along every spatial axis.

    Returns
    -------
    ndarray, shape (C * prod(kernel_size), N * prod(out_size))
        Column ``(n, i, j)`` holds the window whose top-left corner is the
        padded pixel ``(i * stride, j * stride)``, ordered like a (C, kh, kw)
        weight, so that a convolution is ``w.reshape(F, -1) @ im2col(x, ...)``.
        ``out_size`` per axis is ``(size + 2 * padding - k) // stride + 1``.
        Each row is one tap ``(c, di, dj)`` over all output pixels: the copy
        reads and writes whole image rows.  float32 when ``x`` is float32 (or
        narrower), float64 otherwise.

    Raises
    ------
    ValueError
        If ``kernel_size`` does not have one entry per spatial axis of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.im2col(np.arange(9.0).reshape(1, 1, 3, 3), (2, 2))
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    >>> nn.im2col(np.arange(8.0).reshape(1, 1, 2, 2, 2), (2, 2, 2)).ravel()
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    """
    kernel_size = tuple(kernel_size)
    if np.ndim(x) not in (4, 5) or len(kernel_size) != np.ndim(x) - 2:
        raise ValueError(f"im2col: expected (N, C, H, W) images with a (kh, kw) kernel_size or "
                         f"(N, C, D, H, W) volumes with (kd, kh, kw), got {np.shape(x)} and "
                         f"{kernel_size}")
    cols = _conv.columns(x, kernel_size, padding, stride, _conv.compute_dtype(x))
    return cols.reshape(cols.shape[0], -1)


def col2im(cols, x_shape, kernel_size, padding=0, stride=1):
    """Adjoint of :func:`im2col`: add every column back onto its window.

    ``cols`` is (C * prod(kernel_size), N * prod(out_size)); returns a
    C-contiguous array of shape ``x_shape`` (N, C, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn.layers import col2im
    >>> col2im(np.ones((4, 4)), (1, 1, 3, 3), (2, 2))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    n = x_shape[0]
    cols = np.asarray(cols)
    cols = cols.astype(_conv.compute_dtype(cols), copy=False).reshape(cols.shape[0], n, -1)
    return _conv.add_columns(cols, tuple(x_shape), kernel_size, padding, stride)


defvjp(im2col, lambda ans, x, kernel_size, padding=0, stride=1:
       lambda g: col2im(g, np.shape(x), kernel_size, padding, stride))


def _convolution(params, x, dims, padding, stride, name):
    """Validate a ``dims``-D convolution's arguments (errors name the layer), then run it."""
    padding = _int_at_least(name, "padding", padding, 0)
    stride = _int_at_least(name, "stride", stride, 1)
    w_shape, x_shape = _shape(params["w"]), _shape(x)
    if len(w_shape) != dims + 2:
        raise _layer_error(name, f"weight must have shape (F, C, {_KERNEL_AXES[dims]}), "
                                 f"got {w_shape}")
    channels, kernel_size = w_shape[1], w_shape[2:]
    if len(x_shape) != dims + 2 or x_shape[1] != channels:
        raise _layer_error(
            name, f"expected input of shape (N, {channels}, {_SPATIAL_AXES[dims]}) for weight "
                  f"{w_shape}, got {x_shape}")
    if min(_window_counts(x_shape[2:], kernel_size, padding, 1)) < 1:
        raise _layer_error(
            name, f"input {x_shape} with padding {padding} is smaller than the kernel "
                  f"{kernel_size}")
    return _conv.convolve(x, params["w"], params["b"], padding, stride)


def conv2d(params, x, *, padding=0, stride=1, name="conv2d"):
    """2-D convolution (cross-correlation) of NCHW images.

    Computed on chunks of samples small enough to stay in the core's cache:
    :func:`im2col` (a Numba kernel) then one BLAS matrix product per chunk;
    backward, the columns' gradient (a product) is added back by col2im and
    the weight gradient is a product with the chunk's columns, computed
    again.  float32 inputs and parameters compute and return float32.

    Parameters
    ----------
    params : dict
        ``"w"`` of shape (F, C, kh, kw) and ``"b"`` of shape (F,).
    x : ndarray, shape (N, C, H, W)
        Images.
    padding : int, optional
        Zero padding (>= 0) on every side ("same" output for ``padding = k // 2``).
    stride : int, optional
        Step (>= 1) between windows along both axes.
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, F, H_out, W_out)
        ``H_out = (H + 2 * padding - kh) // stride + 1``, ``W_out`` likewise.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, its channels differ from the weight's, the
        image is smaller than the kernel, ``padding`` is negative or
        ``stride`` is below 1.
    TypeError
        If ``padding`` or ``stride`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> params = {"w": np.ones((1, 1, 2, 2)), "b": np.zeros(1)}
    >>> nn.conv2d(params, np.arange(9.0).reshape(1, 1, 3, 3))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    return _convolution(params, x, 2, padding, stride, name)


def conv3d(params, x, *, padding=0, stride=1, name="conv3d"):
    """3-D convolution (cross-correlation) of NCDHW volumes.

    The volume version of :func:`conv2d`, with the same design:
    chunks of :func:`im2col` columns, each multiplied by the weight matrix.

    Parameters
    ----------
    params : dict
        ``"w"`` of shape (F, C, kd, kh, kw) and ``"b"`` of shape (F,)
        (see :func:`warpkit.nn.init.conv_params` with ``dims=3``).
    x : ndarray, shape (N, C, D, H, W)
        Volumes.
    padding : int, optional
        Zero padding (>= 0) on every side of every axis.
    stride : int, optional
        Step (>= 1) between windows along every axis.
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, F, D_out, H_out, W_out)
        ``D_out = (D + 2 * padding - kd) // stride + 1``, the others likewise.

    Raises
    ------
    ValueError
        If ``x`` is not 5-D, its channels differ from the weight's, the
        volume is smaller than the kernel, ``padding`` is negative or
        ``stride`` is below 1.
    TypeError
        If ``padding`` or ``stride`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> params = {"w": np.ones((1, 1, 2, 2, 2)), "b": np.zeros(1)}
    >>> nn.conv3d(params, np.arange(27.0).reshape(1, 1, 3, 3, 3))[0, 0, 0]
    array([[52., 60.],
           [76., 84.]])
    >>> nn.conv3d(params, np.ones((1, 1, 4, 4, 4)), stride=2).shape
    (1, 1, 2, 2, 2)
    """
    return _convolution(params, x, 3, padding, stride, name)


# --------------------------------------------------------------------------- pooling

def _pool_taps(x, size):
    """The ``size ** dims`` strided views (one per window offset) of non-overlapping windows.

    Their element-wise mean is the average pooled map; a last partial window
    along any axis is dropped.
    """
    spatial = x.shape[2:]
    return [x[(slice(None), slice(None)) +
              tuple(slice(o, o + (s // size) * size, size) for o, s in zip(offset, spatial))]
            for offset in itertools.product(range(size), repeat=len(spatial))]


def _pool_size(name, x, size, dims):
    """``size`` checked (int >= 1) against an input of ``dims`` spatial axes, each >= size."""
    size = _int_at_least(name, "size", size, 1)
    x_shape = _shape(x)
    if len(x_shape) != dims + 2 or min(x_shape[2:]) < size:
        axes = _SPATIAL_AXES[dims]
        raise _layer_error(name, f"expected input of shape (N, C, {axes}) with {axes} >= "
                                 f"{size}, got {x_shape}")
    return size


def _as_volumes(array):
    """A contiguous (N, C, H, W) array viewed as (N, C, 1, H, W); volumes unchanged."""
    return array if array.ndim == 5 else array.reshape(array.shape[:2] + (1,) + array.shape[2:])


def _pool_window(ndim, size):
    """The kernels' (sd, sh, sw) window: images are volumes of depth 1."""
    return (1, size, size) if ndim == 4 else (size, size, size)


@primitive
def _max_pool(x, size):
    x = np.ascontiguousarray(x, dtype=_conv.compute_dtype(x))
    out = np.empty(x.shape[:2] + tuple(side // size for side in x.shape[2:]), dtype=x.dtype)
    _pool_kernels.max_pool_forward(_as_volumes(x), _as_volumes(out), *_pool_window(x.ndim, size))
    return out


def _max_pool_vjp(ans, x, size):
    def vjp(g):
        inputs = np.ascontiguousarray(x, dtype=ans.dtype)
        grad_out = np.ascontiguousarray(g, dtype=ans.dtype)
        grad = np.empty(inputs.shape, dtype=ans.dtype)  # the kernel writes every element
        _pool_kernels.max_pool_backward(_as_volumes(inputs), _as_volumes(ans),
                                        _as_volumes(grad_out), _as_volumes(grad),
                                        *_pool_window(inputs.ndim, size))
        return grad
    return vjp


defvjp(_max_pool, _max_pool_vjp)


@primitive
def _avg_pool(x, size):
    taps = _pool_taps(x, size)
    out = taps[0].copy()
    for tap in taps[1:]:
        out += tap
    out /= len(taps)
    return out


def _avg_pool_vjp(ans, x, size):
    def vjp(g):
        grad = np.zeros_like(x, dtype=g.dtype)
        share = g / size ** (x.ndim - 2)
        for grad_tap in _pool_taps(grad, size):
            grad_tap[...] = share
        return grad
    return vjp


defvjp(_avg_pool, _avg_pool_vjp)


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
    return _max_pool(x, _pool_size(name, x, size, 2))


def max_pool3d(x, size=2, *, name="max_pool3d"):
    """Non-overlapping ``size x size x size`` max pooling of volumes.

    A last partial slice along any axis is dropped; the gradient goes to the
    first maximum of each window (in (d, h, w) order).

    Parameters
    ----------
    x : ndarray, shape (N, C, D, H, W)
    size : int, optional
        Window side, >= 1 (1 returns ``x`` unchanged).
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, C, D // size, H // size, W // size)

    Raises
    ------
    ValueError
        If ``x`` is not 5-D or smaller than the window, or ``size < 1``.
    TypeError
        If ``size`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import max_pool3d
    >>> max_pool3d(np.arange(27.0).reshape(1, 1, 3, 3, 3))[0, 0]
    array([[[13.]]])
    """
    return _max_pool(x, _pool_size(name, x, size, 3))


def avg_pool3d(x, size=2, *, name="avg_pool3d"):
    """Non-overlapping ``size x size x size`` average pooling of volumes.

    A last partial slice along any axis is dropped; each voxel of a window
    receives ``1 / size**3`` of its output's gradient.

    Parameters
    ----------
    x : ndarray, shape (N, C, D, H, W)
    size : int, optional
        Window side, >= 1 (1 returns ``x`` unchanged).
    name : str, optional
        Layer name used in error messages.

    Returns
    -------
    ndarray, shape (N, C, D // size, H // size, W // size)

    Raises
    ------
    ValueError
        If ``x`` is not 5-D or smaller than the window, or ``size < 1``.
    TypeError
        If ``size`` is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import avg_pool3d
    >>> avg_pool3d(np.arange(8.0).reshape(1, 1, 2, 2, 2))[0, 0]
    array([[[3.5]]])
    """
    return _avg_pool(x, _pool_size(name, x, size, 3))


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
