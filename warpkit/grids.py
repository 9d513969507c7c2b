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
from .coords import normalized_base_coordinates
from .kernels._fused_math import NO_SOURCE

__all__ = ["affine_grid", "perspective_grid", "tps_grid", "control_point_grid"]


def affine_grid(theta, size, align_corners=False):
    """Sampling grid of a batch of affine maps (PyTorch ``affine_grid`` semantics).

    Images take ``theta`` (N, 2, 3), volumes ``theta`` (N, 3, 4), as in
    PyTorch.  Differentiable under :mod:`autograd` with respect to ``theta``.

    Parameters
    ----------
    theta : ndarray, shape (N, 2, 3) or (N, 3, 4), float32 or float64
        Affine maps from normalized *output* coordinates ``(x, y, 1)`` (or
        ``(x, y, z, 1)``) to normalized *input* coordinates.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)`` or ``(H_out, W_out)`` for
        ``theta`` (N, 2, 3); ``(N, C, D_out, H_out, W_out)`` or ``(D_out,
        H_out, W_out)`` for ``theta`` (N, 3, 4); ``N`` matching ``theta``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)`` (volumes:
        ``grid[n, k, i, j] = theta[n] @ (x_j, y_i, z_k, 1)``: x along the
        width, y the height, z the depth), in the dtype of ``theta``.
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

    A volume (the depth first, as in the size):

    >>> warpkit.affine_grid(np.eye(3, 4)[None], (1, 1, 2, 1, 1))[0, :, 0, 0]
    array([[ 0. ,  0. , -0.5],
           [ 0. ,  0. ,  0.5]])
    """
    theta, dtype, dims = _parameters("theta", theta, _AFFINE_LAYOUTS)
    batch = getval(theta).shape[0]
    spatial = _output_size(size, "theta", batch, dims)
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation("size", (batch,) + spatial + (dims,), dtype, size,
                               extra=_point_arrays(batch, spatial, dtype))
    base = _points(batch, spatial, align_corners, dtype)
    with np.errstate(all="ignore"):  # Inf * 0 in a non-finite theta
        grid = anp.matmul(base, anp.swapaxes(theta, 1, 2))
    return anp.reshape(grid, (batch,) + spatial + (dims,))


#: The matrix shape of each grid generator's parameter, by number of spatial axes.
_AFFINE_LAYOUTS = {2: (2, 3), 3: (3, 4)}
_PERSPECTIVE_LAYOUTS = {2: (3, 3), 3: (4, 4)}


def _parameters(name, value, layouts):
    """``value`` as an array (or autograd box) of shape ``(N,) + layout`` for one of
    ``layouts`` (by number of spatial axes), its dtype and that number of axes."""
    dtype = _validate.float_dtype(name, value)
    value = _validate.host_array(name, value)
    if getval(value).dtype != dtype:  # a list of integers
        value = anp.asarray(value, dtype=dtype)
    shape = tuple(getval(value).shape)
    expected = " or ".join("(N, " + ", ".join(str(d) for d in layout) + ")"
                           for layout in layouts.values())
    _validate.check_ndim(name, shape, 3, expected)
    for dims, layout in layouts.items():
        if shape[1:] == layout:
            return value, dtype, dims
    raise ValueError(f"{name} must have shape {expected}, got {shape}")


def _output_size(size, name, batch, dims=2):
    """The output's spatial size (``(H_out, W_out)``, or ``(D_out, H_out, W_out)``
    for ``dims`` 3) of a ``size`` of ``dims`` entries or ``(N, C, ...)``, whose
    ``N`` must be ``batch``, the batch size of argument ``name``."""
    if np.iterable(size) and not isinstance(size, (str, bytes)):
        size = tuple(size)
    if isinstance(size, tuple) and len(size) == dims:
        return _validate.check_size("size", size, dims)
    if dims == 3 and isinstance(size, tuple) and len(size) != 5:
        raise ValueError(f"size must have 5 entries (N, C, D_out, H_out, W_out) or 3 "
                         f"(D_out, H_out, W_out) with the {name} of volumes, got "
                         f"{len(size)}: {size!r}")
    count, _, *spatial = _validate.check_size("size", size, dims + 2)
    if count != batch:
        raise ValueError(f"size[0] must equal the batch size of {name} ({batch}), got {count}")
    return tuple(spatial)


def _point_arrays(batch, spatial, dtype):
    """``(shape, dtype)`` of the arrays :func:`_points` allocates."""
    if not batch:
        return []
    return [(tuple(spatial) + (len(spatial) + 1,), dtype)] + [
        ((extent,), np.float64) for extent in spatial]


def _points(batch, spatial, align_corners, dtype):
    """Homogeneous output coordinates ``(1, P, dims + 1)`` (``(x, y, 1)`` or ``(x, y, z,
    1)``, x varying fastest) of the ``P`` output pixels or voxels; none for an empty batch."""
    dims = len(spatial)
    if not batch:
        return np.zeros((1, 0, dims + 1), dtype=dtype)
    points = np.empty(tuple(spatial) + (dims + 1,), dtype=dtype)
    for axis, extent in enumerate(reversed(spatial)):  # x (the last axis of size) first
        shape = [1] * dims
        shape[dims - 1 - axis] = extent
        points[..., axis] = normalized_base_coordinates(extent, align_corners,
                                                        dtype).reshape(shape)
    points[..., dims] = 1
    return points.reshape(1, -1, dims + 1)


def perspective_grid(homography, size, *, align_corners=False):
    """Sampling grid of a batch of homographies (projective maps), of images or volumes.

    Differentiable under :mod:`autograd` with respect to ``homography``.

    Parameters
    ----------
    homography : ndarray, shape (N, 3, 3) or (N, 4, 4), float32 or float64
        Maps normalized homogeneous *output* coordinates ``(x, y, 1)`` to
        homogeneous *input* coordinates ``(u, v, w)``; the grid holds
        ``(u / w, v / w)``.  A volume's (N, 4, 4) maps ``(x, y, z, 1)`` to
        ``(u, v, s, w)``, and the grid holds ``(u / w, v / w, s / w)``.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)`` or ``(H_out, W_out)`` for an
        (N, 3, 3) ``homography``; ``(N, C, D_out, H_out, W_out)`` or
        ``(D_out, H_out, W_out)`` for an (N, 4, 4) one; ``N`` matching
        ``homography``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        In the dtype of ``homography``.  Pixels (voxels) with ``w <= 0``
        (sent to infinity, or behind the camera) or a NaN ``w`` have no
        source point: they get the coordinate ``NO_SOURCE`` = ``-1e30`` on
        every axis, far outside the image, so the sampler reads the padding
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

    A volume: with ``w = 1 + z`` the slice ``z = -1`` lies at infinity (no
    source), and the slice ``z = 1`` reads ``s / w = 1 / 2``.

    >>> hom = np.eye(4)[None].copy()
    >>> hom[0, 3, 2] = 1.0
    >>> warpkit.perspective_grid(hom, (2, 1, 1), align_corners=True)[0, :, 0, 0]
    array([[-1.e+30, -1.e+30, -1.e+30],
           [ 0.e+00,  0.e+00,  5.e-01]])
    """
    homography, dtype, dims = _parameters("homography", homography, _PERSPECTIVE_LAYOUTS)
    batch = getval(homography).shape[0]
    spatial = _output_size(size, "homography", batch, dims)
    align_corners = _validate.check_bool("align_corners", align_corners)
    _validate.check_allocation(
        "size", (batch,) + spatial + (dims,), dtype, size,
        extra=_point_arrays(batch, spatial, dtype) + [((batch,) + spatial + (dims + 1,), dtype)])
    base = _points(batch, spatial, align_corners, dtype)
    with np.errstate(all="ignore"):  # Inf * 0 and Inf / Inf in a non-finite homography
        projected = anp.matmul(base, anp.swapaxes(homography, 1, 2))   # (N, P, dims + 1)
        w = projected[..., dims:]
        valid = w > 0
        safe_w = anp.where(valid, w, 1.0)
        grid = anp.where(valid, projected[..., :dims] / safe_w, NO_SOURCE)
    return anp.reshape(grid, (batch,) + spatial + (dims,)).astype(dtype)


def tps_grid(control_points, target_points, size, *, regularization=0.0,
             align_corners=False):
    """Sampling grid of a batch of thin-plate splines, of images or volumes.

    Each spline maps its control points (normalized *output* coordinates) to
    its target points (normalized *input* coordinates); see
    :mod:`warpkit.tps` for the Bookstein form (kernel ``r**2 log r`` for 2-D
    points, ``-r`` for 3-D points ``(x, y, z)``).  The spline is solved and
    evaluated in float64.  Differentiable under :mod:`autograd` with respect
    to both point sets.

    Parameters
    ----------
    control_points : ndarray, shape (K, d) or (N, K, d)
        Control points, shared by the batch or one set per sample; for
        example :func:`control_point_grid`.  ``d`` is 2 for images, 3 for
        volumes.
    target_points : ndarray, shape (N, K, d)
        Where the sampler reads for each control point.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)`` or ``(H_out, W_out)`` for 2-D
        points; ``(N, C, D_out, H_out, W_out)`` or ``(D_out, H_out, W_out)``
        for 3-D points; ``N`` matching ``target_points``.
    regularization : float, optional
        ``lam >= 0`` on the kernel diagonal; 0 passes exactly through the
        targets.
    align_corners : bool, optional
        The normalization convention.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        In the dtype of ``target_points``; a volume grid holds ``(x, y, z)``
        (x along the width, z along the depth), for :func:`warpkit.grid_sample`
        on (N, C, D, H, W) input.

    Raises
    ------
    ValueError
        Too few (fewer than ``d + 1``), duplicate, collinear (2-D) or
        coplanar (3-D) control points, negative ``regularization``, or
        mismatched shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> controls = warpkit.control_point_grid(4)
    >>> grid = warpkit.tps_grid(controls, controls[None], (1, 1, 2, 2))  # identity
    >>> np.allclose(grid, warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, 2, 2)))
    True
    >>> cube = warpkit.control_point_grid(8, dims=3)
    >>> warpkit.tps_grid(cube, cube[None] + 0.5, (2, 3, 4)).shape  # a shifted volume
    (1, 2, 3, 4, 3)
    """
    dtype = _validate.float_dtype("target_points", target_points)
    _validate.float_dtype("control_points", control_points)
    batch, count, dims, shared = _tps_shapes(control_points, target_points)
    spatial = _output_size(size, "target_points", batch, dims)
    align_corners = _validate.check_bool("align_corners", align_corners)
    voxels = math.prod(spatial) if batch else 0
    pairs = (1 if shared else batch, voxels, count)  # differences, squared distances, kernel
    _validate.check_allocation(
        "size", (batch,) + spatial + (dims,), np.float64, size,
        extra=_point_arrays(batch, spatial, np.float64)
        + [(pairs, np.float64), (pairs, np.float64), (pairs, np.float64)])
    coefficients = tps.solve_tps(control_points, target_points, regularization)
    points = _points(batch, spatial, align_corners, np.float64)[0, :, :dims]
    mapped = tps.evaluate_tps(coefficients, control_points, points)
    return anp.reshape(mapped, (batch,) + spatial + (dims,)).astype(dtype)


def _tps_shapes(control_points, target_points):
    """``N``, ``K``, ``d`` and whether the controls are shared, read from the shapes
    (:func:`warpkit.tps.check_tps_points` checks them with the values)."""
    controls = np.shape(getval(control_points))
    targets = np.shape(getval(target_points))
    if (len(targets) != 3 or len(controls) not in (2, 3) or targets[-1] not in (2, 3)
            or controls[-1] != targets[-1]):
        tps.check_tps_points(control_points, target_points)  # raises, naming the argument
    return targets[0], targets[1], targets[2], len(controls) == 2


def control_point_grid(count, dtype=np.float64, *, dims=2):
    """``count`` control points on a regular lattice spanning ``[-1, 1]`` on every axis.

    2-D: a ``sqrt(count) x sqrt(count)`` grid of ``(x, y)`` points, the
    usual control points of a thin-plate-spline STN.  3-D: a ``cbrt(count)``
    cube of ``(x, y, z)`` points.  x varies fastest, then y (then z).

    Parameters
    ----------
    count : int
        A perfect square ``>= 4`` (2-D), or a perfect cube ``>= 8`` (3-D).
    dtype : dtype, optional
        float32 or float64.
    dims : {2, 3}, optional
        The dimension of the points (keyword only).

    Returns
    -------
    ndarray, shape (count, dims)

    Examples
    --------
    >>> import warpkit
    >>> warpkit.control_point_grid(4)
    array([[-1., -1.],
           [ 1., -1.],
           [-1.,  1.],
           [ 1.,  1.]])
    >>> warpkit.control_point_grid(8, dims=3)[[0, 1, 2, 4, 7]]
    array([[-1., -1., -1.],
           [ 1., -1., -1.],
           [-1.,  1., -1.],
           [-1., -1.,  1.],
           [ 1.,  1.,  1.]])
    """
    count = operator.index(count)
    if isinstance(dims, bool) or dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    if dims == 2:
        side = math.isqrt(count) if count >= 0 else 0
    else:  # a larger count could not be allocated anyway
        side = round(count ** (1.0 / 3.0)) if 0 <= count < 2 ** 60 else 0
    if count < 2 ** dims or side ** dims != count:
        kind = ("a perfect square >= 4", "a perfect cube >= 8")[dims - 2]
        raise ValueError(f"count must be {kind} for {dims}-D points, got {count}")
    if np.dtype(dtype) not in _validate.FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    axis = np.linspace(-1.0, 1.0, side)
    lattice = np.meshgrid(*([axis] * dims), indexing="ij")  # slowest axis first
    return np.stack([values.ravel() for values in lattice[::-1]], axis=-1).astype(dtype)
