"""The thin-plate spline: Bookstein's solve and evaluation, in autograd.numpy.

A thin-plate spline maps 2-D points ``p = (x, y)`` with::

    f(p) = a0 + a1 * x + a2 * y + sum_k w_k * U(|p - c_k|),   U(r) = r**2 * log(r)

(``U(0) = 0``), one such map per output coordinate.  3-D points
``p = (x, y, z)`` use the 3-D biharmonic kernel and an affine part in
``(1, x, y, z)``::

    f(p) = a0 + a1 * x + a2 * y + a3 * z + sum_k w_k * U(|p - c_k|),   U(r) = -r

(the sign makes the kernel matrix conditionally positive definite, as
``r**2 log r`` is in 2-D, so ``lam`` below smooths in 3-D as it does in 2-D;
with ``lam = 0`` the sign does not change the map).  Given ``K`` control
points ``c_k`` and the targets ``t_k`` they must reach, the coefficients solve
the symmetric system (the maths page, ``docs/math/grids.rst``)::

    [[A + lam * I, P], [P.T, 0]] @ [w; a] = [t; 0],

with ``A[i, j] = U(|c_i - c_j|)`` and ``P[i] = (1, x_i, y_i)`` (``(1, x_i,
y_i, z_i)`` in 3-D).  ``lam >= 0`` smooths the map (``lam = 0``
interpolates: ``f(c_k) = t_k`` exactly).  The dimension ``d`` (2 or 3) is
read from the last axis of the points.

The solve runs in float64 whatever the dtype of the points, and is written in
:mod:`autograd.numpy` so that gradients reach both the control and the target
points through it.

Coefficients are stored as one array of shape ``(N, K + d + 1, d)``: rows
``0 .. K-1`` are the kernel weights ``w_k``, rows ``K .. K+d`` the affine
part ``a0, a1, .., ad``; the last axis is the output coordinate (x, y[, z]).
"""

import warnings

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from . import _validate

__all__ = [
    "TpsConditionWarning",
    "tps_kernel",
    "solve_tps",
    "evaluate_tps",
    "check_tps_points",
]

#: A system whose (estimated) 1-norm condition number exceeds this triggers a warning.
CONDITION_LIMIT = 1e12


class TpsConditionWarning(RuntimeWarning):
    """The thin-plate spline system is ill-conditioned (its solution is inaccurate)."""


def tps_kernel(squared_distance, dims=2):
    """The thin-plate kernel ``U(r)`` of a squared distance ``r**2``.

    2-D: ``U(r) = r**2 log r``, written as ``0.5 * r2 * log(r2)``; 3-D:
    ``U(r) = -r``.  Both are 0, with a zero gradient, at ``r2 = 0``.

    Parameters
    ----------
    squared_distance : ndarray
        Squared distances ``r**2 >= 0``.
    dims : {2, 3}, optional
        The dimension of the points.

    Returns
    -------
    ndarray
        ``U`` of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.tps import tps_kernel
    >>> tps_kernel(np.array([0.0, 1.0, np.e ** 2]))  # U(0), U(1), U(e)
    array([0.       , 0.       , 7.3890561])
    >>> tps_kernel(np.array([0.0, 4.0]), dims=3)  # U(0), U(2)
    array([ 0., -2.])
    """
    positive = squared_distance > 0
    safe = anp.where(positive, squared_distance, 1.0)
    if dims == 3:
        return anp.where(positive, -anp.sqrt(safe), 0.0)
    if dims != 2:
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    return anp.where(positive, 0.5 * squared_distance * anp.log(safe), 0.0)


def _squared_distances(points, centres):
    """``|points[..., m, :] - centres[..., k, :]|**2`` as an array (..., M, K)."""
    total = 0.0
    for axis in range(np.shape(getval(points))[-1]):
        delta = points[..., :, None, axis] - centres[..., None, :, axis]
        total = total + delta * delta
    return total


def check_tps_points(control_points, target_points, regularization=0.0):
    """Validate the arguments of a spline and return their normalized form.

    Parameters
    ----------
    control_points : array_like, shape (K, d) or (N, K, d)
        Points in the domain of the spline (shared, or one set per sample);
        ``d`` is 2 or 3.
    target_points : array_like, shape (N, K, d)
        Where each control point must go.
    regularization : float, optional
        ``lam >= 0``.

    Returns
    -------
    batch, count : int
        ``N`` and ``K``.
    regularization : float

    Raises
    ------
    ValueError
        With the reason: wrong shapes, mismatched ``K``, ``N`` or ``d``,
        fewer than ``d + 1`` points, duplicate control points, control
        points all on one line (2-D) or one plane (3-D), non-finite values,
        negative ``regularization``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.tps import check_tps_points
    >>> controls = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> check_tps_points(controls, controls[None], 0.0)
    (1, 3, 0.0)
    >>> check_tps_points(controls[:2], controls[None, :2])
    Traceback (most recent call last):
    ...
    ValueError: a thin-plate spline needs at least 3 control points, got 2
    """
    controls = _validate.as_float_array("control_points", getval(control_points), dtype=np.float64)
    targets = _validate.as_float_array("target_points", getval(target_points), dtype=np.float64)
    if controls.ndim not in (2, 3) or controls.shape[-1] not in (2, 3):
        raise ValueError(f"control_points must have shape (K, 2) or (N, K, 2) (2-D), or "
                         f"(K, 3) or (N, K, 3) (3-D), got {controls.shape}")
    dims = controls.shape[-1]
    if targets.ndim != 3 or targets.shape[-1] not in (2, 3):
        raise ValueError(f"target_points must have shape (N, K, {dims}) for control points "
                         f"of shape {controls.shape}, got {targets.shape}")
    if targets.shape[-1] != dims:
        raise ValueError(f"control_points and target_points must have the same last axis "
                         f"(2 for images, 3 for volumes), got control_points "
                         f"{controls.shape} and target_points {targets.shape}")
    batch, count = targets.shape[:2]
    if controls.shape[-2] != count:
        raise ValueError(
            f"control_points and target_points must hold the same number of points K, got "
            f"{controls.shape[-2]} control points and {count} target points")
    if controls.ndim == 3 and controls.shape[0] != batch:
        raise ValueError(
            f"control_points of shape (N, K, {dims}) must have the batch size of target_points "
            f"({batch}), got {controls.shape[0]}")
    if count < dims + 1:
        raise ValueError(f"a thin-plate spline needs at least {dims + 1} control points, "
                         f"got {count}")
    if not np.all(np.isfinite(controls)):
        raise ValueError("control_points must be finite")
    if not np.all(np.isfinite(targets)):
        raise ValueError("target_points must be finite")
    regularization = _validate.check_nonnegative_number("regularization", regularization)
    for index, points in enumerate(controls.reshape(-1, count, dims)):
        where = f" (sample {index})" if controls.ndim == 3 else ""
        _check_control_geometry(points, where)
    return batch, count, regularization


def _check_control_geometry(points, where):
    """Raise if ``points`` (K, d) hold duplicates or all lie on one line (2-D) or plane (3-D)."""
    dims = points.shape[1]
    extent = np.max(np.abs(points - points.mean(axis=0)))
    order = np.lexsort(points.T[::-1])
    steps = np.abs(np.diff(points[order], axis=0)).max(axis=1)
    tolerance = 1e-12 * max(extent, 1e-300)
    if np.any(steps <= tolerance):
        i = int(np.argmax(steps <= tolerance))
        a, b = points[order[i]], points[order[i + 1]]
        raise ValueError(
            f"control_points{where} must be distinct, got duplicates: point {order[i]} "
            f"{a.tolist()} and point {order[i + 1]} {b.tolist()}")
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    if singular[dims - 1] <= 1e-10 * singular[0]:
        raise ValueError(
            f"control_points{where} must not all lie on one {('line', 'plane')[dims - 2]} "
            f"(the affine part of the spline would be undetermined)")


def _system(controls, regularization):
    """The matrix ``[[A + lam I, P], [P.T, 0]]`` for controls (..., K, d)."""
    count, dims = controls.shape[-2:]
    kernel = tps_kernel(_squared_distances(controls, controls), dims)
    if regularization:
        kernel = kernel + regularization * np.eye(count)
    ones = anp.ones(controls.shape[:-1] + (1,))
    poly = anp.concatenate([ones, controls], axis=-1)            # (..., K, d + 1)
    zeros = anp.zeros(controls.shape[:-2] + (dims + 1, dims + 1))
    top = anp.concatenate([kernel, poly], axis=-1)                # (..., K, K + d + 1)
    bottom = anp.concatenate([anp.swapaxes(poly, -1, -2), zeros], axis=-1)
    return anp.concatenate([top, bottom], axis=-2)                # (..., K + d + 1, K + d + 1)


def _probes(controls):
    """Right-hand sides whose solutions estimate ``||M^-1||_1``: (..., K + d + 1, d + 6).

    ``||M^-1||_1`` is the largest 1-norm of a column of the inverse, and each
    probe ``v`` bounds it from below by ``||M^-1 v||_1 / ||v||_1``.  The
    probes are the unit vectors where the inverse grows large (the two
    closest control points, whose rows become equal as they meet, and the
    ``d + 1`` affine rows, which become dependent as the points line up (lie
    in one plane) or shrink together) and three dense vectors for the rest (the constant
    vector, Higham's alternating ramp, a fixed pattern of signs).  Solved
    with the spline's own right-hand sides, they cost no factorization.
    """
    controls = np.asarray(getval(controls))
    count, dims = controls.shape[-2:]
    size = count + dims + 1
    ramp = (-1.0) ** np.arange(size) * (1.0 + np.arange(size) / (size - 1))
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size)
    dense = np.stack([np.ones(size), ramp, signs], axis=-1)
    distances = _squared_distances(controls, controls)
    distances[..., np.arange(count), np.arange(count)] = np.inf
    closest = np.argmin(distances.reshape(distances.shape[:-2] + (count * count,)), axis=-1)
    identity = np.eye(size)
    columns = [closest // count, closest % count] + [
        np.full(closest.shape, count + k) for k in range(dims + 1)]
    unit = np.stack([identity[c] for c in columns], axis=-1)
    return np.concatenate([np.broadcast_to(dense, unit.shape[:-1] + (3,)), unit], axis=-1)


def _warn_if_ill_conditioned(system, probes, solutions):
    """Warn if ``||M||_1 * ||M^-1||_1`` exceeds :data:`CONDITION_LIMIT`, with
    ``||M^-1||_1`` estimated from the ``solutions`` of the :func:`_probes`.

    The estimate is a lower bound of the condition number (as LAPACK's
    estimators give), within a small factor of it for thin-plate systems.
    """
    values = np.asarray(getval(system))
    solutions = np.asarray(getval(solutions))
    if not solutions.size:
        return  # an empty batch
    with np.errstate(all="ignore"):  # Inf and NaN in a numerically singular system
        ratios = np.sum(np.abs(solutions), axis=-2) / np.sum(np.abs(probes), axis=-2)
        norms = np.max(np.sum(np.abs(values), axis=-2), axis=-1)
        condition = np.max(norms * np.max(ratios, axis=-1))
    if not np.isfinite(condition) or condition > CONDITION_LIMIT:
        warnings.warn(
            f"the thin-plate spline system is ill-conditioned (1-norm condition number "
            f"{condition:.3g} > {CONDITION_LIMIT:.0e}); the spline may be inaccurate. Spread "
            f"the control points out or add regularization.",
            TpsConditionWarning, stacklevel=3)


def _solve(system, rhs):
    """``numpy.linalg.solve``, with a singular system as a ``ValueError``."""
    try:
        return anp.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the thin-plate spline system is singular: spread the control points out or add "
            "regularization") from None


def solve_tps(control_points, target_points, regularization=0.0):
    """Coefficients of the thin-plate splines taking controls to targets.

    Differentiable under :mod:`autograd` with respect to both point sets.

    Parameters
    ----------
    control_points : ndarray, shape (K, d) or (N, K, d)
        Control points (the kernel centres), shared or per sample; ``d`` is
        2 or 3 (the kernel is ``r**2 log r`` in 2-D, ``-r`` in 3-D).
    target_points : ndarray, shape (N, K, d)
        Targets of the control points.
    regularization : float, optional
        ``lam >= 0`` added to the kernel matrix diagonal (0 interpolates).

    Returns
    -------
    ndarray, shape (N, K + d + 1, d), float64
        Kernel weights (rows ``0 .. K-1``) and affine part (rows ``K ..
        K+d``: constant, x, y[, z]) of each sample's spline.

    Raises
    ------
    ValueError
        For bad points (see :func:`check_tps_points`).

    Warns
    -----
    TpsConditionWarning
        If the system's 1-norm condition number (estimated from the solve)
        exceeds ``1e12``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.tps import solve_tps
    >>> controls = np.array([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    >>> coefficients = solve_tps(controls, 2.0 * controls[None])  # a pure scaling
    >>> np.round(coefficients[0], 12) + 0.0  # no kernel weights; a1 = (2, 0), a2 = (0, 2)
    array([[0., 0.],
           [0., 0.],
           [0., 0.],
           [0., 0.],
           [0., 0.],
           [2., 0.],
           [0., 2.]])
    >>> corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])
    >>> solve_tps(corners, corners[None] + 0.5).shape  # 3-D: K + 4 rows, 3 coordinates
    (1, 9, 3)
    """
    batch, count, regularization = check_tps_points(
        control_points, target_points, regularization)
    controls = _as_float64("control_points", control_points)
    targets = _as_float64("target_points", target_points)
    dims = getval(controls).shape[-1]
    size = count + dims + 1
    system = _system(controls, regularization)
    zeros = anp.zeros((batch, dims + 1, dims))
    rhs = anp.concatenate([targets, zeros], axis=1)                # (N, K + d + 1, d)
    probes = _probes(controls)  # solved with the targets, for the condition estimate
    if controls.ndim == 2:
        # One matrix for the whole batch: solve all right-hand sides at once.
        stacked = anp.reshape(anp.transpose(rhs, (1, 0, 2)), (size, batch * dims))
        solution = _solve(system, anp.concatenate([stacked, probes], axis=1))
        _warn_if_ill_conditioned(system, probes, solution[:, batch * dims:])
        solution = solution[:, :batch * dims]
        return anp.transpose(anp.reshape(solution, (size, batch, dims)), (1, 0, 2))
    solution = _solve(system, anp.concatenate([rhs, probes], axis=2))
    _warn_if_ill_conditioned(system, probes, solution[..., dims:])
    return solution[..., :dims]


def evaluate_tps(coefficients, control_points, points):
    """Apply thin-plate splines to points.

    Parameters
    ----------
    coefficients : ndarray, shape (N, K + d + 1, d)
        From :func:`solve_tps`.
    control_points : ndarray, shape (K, d) or (N, K, d)
        The kernel centres the coefficients were solved for.
    points : ndarray, shape (M, d) or (N, M, d)
        Points to map.

    Returns
    -------
    ndarray, shape (N, M, d)
        ``f(points)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.tps import evaluate_tps, solve_tps
    >>> controls = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> targets = controls[None] + np.array([0.0, 0.0, 0.0, 0.5])[None, :, None]
    >>> coefficients = solve_tps(controls, targets)
    >>> np.allclose(evaluate_tps(coefficients, controls, controls), targets)
    True
    """
    centres = _as_float64("control_points", control_points)
    points = _as_float64("points", points)
    count, dims = getval(centres).shape[-2:]
    if getval(points).shape[-1] != dims:
        raise ValueError(f"points must have shape (M, {dims}) or (N, M, {dims}) for control "
                         f"points of shape {getval(centres).shape}, got {getval(points).shape}")
    kernel = tps_kernel(_squared_distances(points, centres), dims)   # (..., M, K)
    weights = coefficients[:, :count, :]
    affine = coefficients[:, count:, :]
    if kernel.ndim == 2:
        kernel = kernel[None]
    if points.ndim == 2:
        points = points[None]
    nonlinear = anp.matmul(kernel, weights)                       # (N, M, d)
    linear = affine[:, 0:1, :] + anp.matmul(points, affine[:, 1:, :])
    return nonlinear + linear


def _as_float64(name, value):
    """``value`` (an array, an autograd box, a list or a foreign CPU array) in float64."""
    value = _validate.host_array(name, value)
    return value if getval(value).dtype == np.float64 else value.astype(np.float64)
