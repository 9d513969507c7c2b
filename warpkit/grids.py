"""Grid generators: transformation parameters -> an ``input_from_output`` grid.

Written in :mod:`autograd.numpy`, so autograd differentiates them with respect
to their parameters without any hand-written gradient.
"""

import math
import operator

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from . import _validate, tps
from .coords import base_grid
from .kernels._fused_math import NO_SOURCE

__all__ = ["affine_grid", "perspective_grid", "tps_grid", "control_point_grid"]


def affine_grid(theta, size, align_corners=False):
    """Sampling grid of a batch of affine maps (PyTorch ``affine_grid`` semantics).

    Differentiable under :mod:`autograd` with respect to ``theta``.

    Parameters
    ----------
    theta : ndarray, shape (N, 2, 3), float32 or float64
        Affine maps from normalized *output* coordinates ``(x, y, 1)`` to
        normalized *input* coordinates.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)``, ``N`` matching ``theta``, or
        ``(H_out, W_out)``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2)
        ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``, in the dtype of ``theta``.
        A non-finite ``theta`` gives non-finite grid values, without a
        warning; :func:`warpkit.grid_sample` reads them by its rule (NaN as
        ``-1``, ``±Inf`` far outside the image).

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> identity = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> warpkit.affine_grid(identity, (1, 1, 2, 2))[0]
    array([[[-0.5, -0.5],
            [ 0.5, -0.5]],
    <BLANKLINE>
           [[-0.5,  0.5],
            [ 0.5,  0.5]]])
    """
    theta, dtype = _parameters("theta", theta, (2, 3))
    batch = getval(theta).shape[0]
    height, width = _output_size(size, "theta", batch)
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation("size", (batch, height, width, 2), dtype, size,
                               extra=_base_arrays(batch, height, width, dtype))
    base = _base_points(batch, height, width, align_corners, dtype)
    with np.errstate(all="ignore"):  # Inf * 0 in a non-finite theta
        grid = anp.matmul(base, anp.swapaxes(theta, 1, 2))
    return anp.reshape(grid, (batch, height, width, 2))


def _parameters(name, value, layout):
    """``value`` as an array (or autograd box) of shape ``(N,) + layout``, and its dtype."""
    dtype = _validate.float_dtype(name, value)
    value = _validate.host_array(name, value)
    if getval(value).dtype != dtype:  # a list of integers
        value = anp.asarray(value, dtype=dtype)
    shape = tuple(getval(value).shape)
    expected = "(N, " + ", ".join(str(d) for d in layout) + ")"
    _validate.check_ndim(name, shape, 1 + len(layout), expected)
    if shape[1:] != layout:
        raise ValueError(f"{name} must have shape {expected}, got {shape}")
    return value, dtype


def _output_size(size, name, batch):
    """``(H_out, W_out)`` of a ``size`` ``(H_out, W_out)`` or ``(N, C, H_out, W_out)``,
    whose ``N`` must be ``batch``, the batch size of argument ``name``."""
    if np.iterable(size) and not isinstance(size, (str, bytes)):
        size = tuple(size)
    if isinstance(size, tuple) and len(size) == 2:
        return _validate.check_size("size", size, 2)
    count, _, height, width = _validate.check_size("size", size, 4)
    if count != batch:
        raise ValueError(f"size[0] must equal the batch size of {name} ({batch}), got {count}")
    return height, width


def _base_arrays(batch, height, width, dtype):
    """``(shape, dtype)`` of the arrays :func:`_base_points` allocates."""
    if not batch:
        return []
    return [((height, width, 3), dtype), ((height,), np.float64), ((width,), np.float64)]


def _base_points(batch, height, width, align_corners, dtype):
    """Homogeneous output coordinates ``(1, H_out * W_out, 3)``; none for an empty batch."""
    if not batch:
        return np.zeros((1, 0, 3), dtype=dtype)
    return base_grid(height, width, align_corners, dtype=dtype).reshape(1, height * width, 3)


def perspective_grid(homography, size, *, align_corners=False):
    """Sampling grid of a batch of homographies (projective maps).

    Differentiable under :mod:`autograd` with respect to ``homography``.

    Parameters
    ----------
    homography : ndarray, shape (N, 3, 3), float32 or float64
        Maps normalized homogeneous *output* coordinates ``(x, y, 1)`` to
        homogeneous *input* coordinates ``(u, v, w)``; the grid holds
        ``(u / w, v / w)``.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)``, ``N`` matching ``homography``,
        or ``(H_out, W_out)``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2)
        In the dtype of ``homography``.  Pixels with ``w <= 0`` (sent to
        infinity, or behind the camera) or a NaN ``w`` have no source point:
        they get the coordinate ``(NO_SOURCE, NO_SOURCE)`` = ``(-1e30,
        -1e30)``, far outside the image, so the sampler reads the padding
        there (0 for ``"zeros"``, the top-left pixel for ``"border"``) and
        no gradient flows through them.  :func:`warpkit.warp_perspective`
        follows the same rule.  A non-finite ``homography`` gives
        non-finite grid values (or ``NO_SOURCE``), without a warning.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> shift = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> warpkit.perspective_grid(shift, (1, 1, 1, 2))[0, 0]
    array([[0., 0.],
           [1., 0.]])
    >>> behind = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])  # w = x
    >>> warpkit.perspective_grid(behind, (1, 1, 1, 2))[0, 0]
    array([[-1.e+30, -1.e+30],
           [ 1.e+00,  0.e+00]])
    """
    homography, dtype = _parameters("homography", homography, (3, 3))
    batch = getval(homography).shape[0]
    height, width = _output_size(size, "homography", batch)
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation(
        "size", (batch, height, width, 2), dtype, size,
        extra=_base_arrays(batch, height, width, dtype) + [((batch, height, width, 3), dtype)])
    base = _base_points(batch, height, width, align_corners, dtype)
    with np.errstate(all="ignore"):  # Inf * 0 and Inf / Inf in a non-finite homography
        projected = anp.matmul(base, anp.swapaxes(homography, 1, 2))   # (N, HW, 3)
        w = projected[..., 2:3]
        valid = w > 0
        safe_w = anp.where(valid, w, 1.0)
        grid = anp.where(valid, projected[..., :2] / safe_w, NO_SOURCE)
    return anp.reshape(grid, (batch, height, width, 2)).astype(dtype)


def tps_grid(control_points, target_points, size, *, regularization=0.0,
             align_corners=False):
    """Sampling grid of a batch of thin-plate splines.

    Each spline maps its control points (normalized *output* coordinates) to
    its target points (normalized *input* coordinates); see
    :mod:`warpkit.tps` for the Bookstein form.  The spline is solved and
    evaluated in float64.  Differentiable under :mod:`autograd` with respect
    to both point sets.

    Parameters
    ----------
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        Control points, shared by the batch or one set per sample; for
        example :func:`control_point_grid`.
    target_points : ndarray, shape (N, K, 2)
        Where the sampler reads for each control point.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)``, ``N`` matching
        ``target_points``, or ``(H_out, W_out)``.
    regularization : float, optional
        ``lam >= 0`` on the kernel diagonal; 0 passes exactly through the
        targets.
    align_corners : bool, optional
        The normalization convention.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2)
        In the dtype of ``target_points``.

    Raises
    ------
    ValueError
        Fewer than 3, duplicate or collinear control points, negative
        ``regularization``, or mismatched shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> controls = warpkit.control_point_grid(4)
    >>> grid = warpkit.tps_grid(controls, controls[None], (1, 1, 2, 2))  # identity
    >>> np.allclose(grid, warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, 2, 2)))
    True
    """
    dtype = _validate.float_dtype("target_points", target_points)
    _validate.float_dtype("control_points", control_points)
    batch, count, shared = _tps_shapes(control_points, target_points)
    height, width = _output_size(size, "target_points", batch)
    align_corners = _validate.check_bool("align_corners", align_corners)
    pixels = height * width if batch else 0
    pairs = (1 if shared else batch, pixels, count)  # dx and dy, squared distances, kernel
    _validate.check_allocation(
        "size", (batch, height, width, 2), np.float64, size,
        extra=_base_arrays(batch, height, width, np.float64)
        + [(pairs + (2,), np.float64), (pairs, np.float64), (pairs, np.float64)])
    coefficients = tps.solve_tps(control_points, target_points, regularization)
    points = _base_points(batch, height, width, align_corners, np.float64)[0, :, :2]
    mapped = tps.evaluate_tps(coefficients, control_points, points)
    return anp.reshape(mapped, (batch, height, width, 2)).astype(dtype)


def _tps_shapes(control_points, target_points):
    """``N``, ``K`` and whether the controls are shared, read from the shapes
    (:func:`warpkit.tps.check_tps_points` checks them with the values)."""
    controls = np.shape(getval(control_points))
    targets = np.shape(getval(target_points))
    if len(targets) != 3 or len(controls) not in (2, 3):
        tps.check_tps_points(control_points, target_points)  # raises, naming the argument
    return targets[0], targets[1], len(controls) == 2


def control_point_grid(count, dtype=np.float64):
    """``count`` control points on a regular ``sqrt(count) x sqrt(count)`` grid.

    The points span ``[-1, 1]`` on both axes, x varying fastest: the
    usual control points of a thin-plate-spline STN.

    Parameters
    ----------
    count : int
        A perfect square ``>= 4``.
    dtype : dtype, optional
        float32 or float64.

    Returns
    -------
    ndarray, shape (count, 2)
        ``(x, y)`` points.

    Examples
    --------
    >>> import warpkit
    >>> warpkit.control_point_grid(4)
    array([[-1., -1.],
           [ 1., -1.],
           [-1.,  1.],
           [ 1.,  1.]])
    """
    count = operator.index(count)
    side = math.isqrt(count) if count >= 0 else 0
    if count < 4 or side * side != count:
        raise ValueError(f"count must be a perfect square >= 4, got {count}")
    if np.dtype(dtype) not in _validate.FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    axis = np.linspace(-1.0, 1.0, side)
    ys, xs = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=-1).astype(dtype)
