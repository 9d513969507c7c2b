"""Grid generators: transformation parameters -> an ``input_from_output`` grid.

Written in :mod:`autograd.numpy`, so autograd differentiates them with respect
to their parameters without any hand-written gradient.
"""

import math
import operator

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from . import _validate
from .coords import base_grid

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
        Output size ``(N, C, H_out, W_out)``; ``N`` must match ``theta``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2)
        ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``, in the dtype of ``theta``.

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
    dtype = _validate.float_dtype("theta", theta)
    if not hasattr(getval(theta), "shape"):
        theta = anp.asarray(theta, dtype=dtype)
    shape = tuple(getval(theta).shape)
    _validate.check_ndim("theta", shape, 3, "(N, 2, 3)")
    if shape[1:] != (2, 3):
        raise ValueError(f"theta must have shape (N, 2, 3), got {shape}")
    batch, _, height, width = _validate.check_size("size", size, 4)
    if batch != shape[0]:
        raise ValueError(f"size[0] must equal the batch size of theta ({shape[0]}), got {batch}")
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation("size", (batch, height, width, 2), dtype, size)
    base = base_grid(height, width, align_corners, dtype=dtype).reshape(1, height * width, 3)
    grid = anp.matmul(base, anp.swapaxes(theta, 1, 2))
    return anp.reshape(grid, (batch, height, width, 2))


#: Grid coordinate given to output pixels that a homography sends to infinity
#: or behind the camera (``w <= 0``): far outside the image on both axes, so
#: they read the padding (0 with ``padding_mode="zeros"``) with zero gradient.
NO_SOURCE = -1.0e30


def perspective_grid(homography, size, align_corners=False):
    """Sampling grid of a batch of homographies (projective maps).

    Differentiable under :mod:`autograd` with respect to ``homography``.

    Parameters
    ----------
    homography : ndarray, shape (N, 3, 3), float32 or float64
        Maps normalized homogeneous *output* coordinates ``(x, y, 1)`` to
        homogeneous *input* coordinates ``(u, v, w)``; the grid holds
        ``(u / w, v / w)``.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)``; ``N`` must match ``homography``.
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
        follows the same rule.

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
    dtype = _validate.float_dtype("homography", homography)
    if not hasattr(getval(homography), "shape"):
        homography = anp.asarray(homography, dtype=dtype)
    shape = tuple(getval(homography).shape)
    _validate.check_ndim("homography", shape, 3, "(N, 3, 3)")
    if shape[1:] != (3, 3):
        raise ValueError(f"homography must have shape (N, 3, 3), got {shape}")
    batch, _, height, width = _validate.check_size("size", size, 4)
    if batch != shape[0]:
        raise ValueError(
            f"size[0] must equal the batch size of homography ({shape[0]}), got {batch}")
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation("size", (batch, height, width, 3), dtype, size)
    base = base_grid(height, width, align_corners, dtype=dtype).reshape(1, height * width, 3)
    projected = anp.matmul(base, anp.swapaxes(homography, 1, 2))   # (N, HW, 3)
    w = projected[..., 2:3]
    valid = w > 0
    safe_w = anp.where(valid, w, 1.0)
    grid = anp.where(valid, projected[..., :2] / safe_w, NO_SOURCE)
    return anp.reshape(grid, (batch, height, width, 2)).astype(dtype)


def tps_grid(control_points, target_points, size, regularization=0.0, align_corners=False):
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
        Output size ``(N, C, H_out, W_out)``.
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
    from . import tps

    dtype = _validate.float_dtype("target_points", target_points)
    _validate.float_dtype("control_points", control_points)
    batch, _, height, width = _validate.check_size("size", size, 4)
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation("size", (batch, height, width, 2), np.float64, size)
    coefficients = tps.solve_spline(control_points, target_points, regularization)
    if batch != coefficients.shape[0]:
        raise ValueError(
            f"size[0] must equal the batch size of target_points ({coefficients.shape[0]}), "
            f"got {batch}")
    points = base_grid(height, width, align_corners, dtype=np.float64)[..., :2]
    mapped = tps.evaluate_spline(coefficients, control_points, points.reshape(-1, 2))
    return anp.reshape(mapped, (batch, height, width, 2)).astype(dtype)


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
