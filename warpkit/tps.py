"""The thin-plate spline: Bookstein's solve and evaluation, in autograd.numpy.

A thin-plate spline maps 2-D points ``p = (x, y)`` with::

    f(p) = a0 + a1 * x + a2 * y + sum_k w_k * U(|p - c_k|),   U(r) = r**2 * log(r)

(``U(0) = 0``), one such map per output coordinate.  Given ``K`` control
points ``c_k`` and the targets ``t_k`` they must reach, the coefficients solve
the symmetric system (the maths page, ``docs/math/grids.rst``)::

    [[A + lam * I, P], [P.T, 0]] @ [w; a] = [t; 0],

with ``A[i, j] = U(|c_i - c_j|)`` and ``P[i] = (1, x_i, y_i)``.  ``lam >= 0``
smooths the map (``lam = 0`` interpolates: ``f(c_k) = t_k`` exactly).

The solve runs in float64 whatever the dtype of the points, and is written in
:mod:`autograd.numpy` so that gradients reach both the control and the target
points through it.

Coefficients are stored as one array of shape ``(N, K + 3, 2)``: rows
``0 .. K-1`` are the kernel weights ``w_k``, rows ``K, K+1, K+2`` the affine
part ``a0, a1, a2``; the last axis is the output coordinate (x, y).
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


def tps_kernel(squared_distance):
    """The thin-plate kernel ``U(r) = r**2 log r`` of a squared distance ``r**2``.

    Written as ``0.5 * r2 * log(r2)`` with ``U = 0`` (and a zero gradient) at
    ``r2 = 0``.

    Parameters
    ----------
    squared_distance : ndarray
        Squared distances ``r**2 >= 0``.

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
    """
    positive = squared_distance > 0
    safe = anp.where(positive, squared_distance, 1.0)
    return anp.where(positive, 0.5 * squared_distance * anp.log(safe), 0.0)


def _squared_distances(points, centres):
    """``|points[..., m, :] - centres[..., k, :]|**2`` as an array (..., M, K)."""
    dx = points[..., :, None, 0] - centres[..., None, :, 0]
    dy = points[..., :, None, 1] - centres[..., None, :, 1]
    return dx * dx + dy * dy


def check_tps_points(control_points, target_points, regularization=0.0):
    """Validate the arguments of a spline and return their normalized form.

    Parameters
    ----------
    control_points : array_like, shape (K, 2) or (N, K, 2)
        Points in the domain of the spline (shared, or one set per sample).
    target_points : array_like, shape (N, K, 2)
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
        With the reason: wrong shapes, mismatched ``K`` or ``N``, fewer than
        3 points, duplicate or collinear control points, non-finite values,
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
    if controls.ndim not in (2, 3) or controls.shape[-1] != 2:
        raise ValueError(
            f"control_points must have shape (K, 2) or (N, K, 2), got {controls.shape}")
    if targets.ndim != 3 or targets.shape[-1] != 2:
        raise ValueError(f"target_points must have shape (N, K, 2), got {targets.shape}")
    batch, count = targets.shape[:2]
    if controls.shape[-2] != count:
        raise ValueError(
            f"control_points and target_points must hold the same number of points K, got "
            f"{controls.shape[-2]} control points and {count} target points")
    if controls.ndim == 3 and controls.shape[0] != batch:
        raise ValueError(
            f"control_points of shape (N, K, 2) must have the batch size of target_points "
            f"({batch}), got {controls.shape[0]}")
    if count < 3:
        raise ValueError(f"a thin-plate spline needs at least 3 control points, got {count}")
    if not np.all(np.isfinite(controls)):
        raise ValueError("control_points must be finite")
    if not np.all(np.isfinite(targets)):
        raise ValueError("target_points must be finite")
    regularization = _validate.check_nonnegative_number("regularization", regularization)
    for index, points in enumerate(controls.reshape(-1, count, 2)):
        where = f" (sample {index})" if controls.ndim == 3 else ""
        _check_control_geometry(points, where)
    return batch, count, regularization


def _check_control_geometry(points, where):
    """Raise if ``points`` (K, 2) hold duplicates or all lie on one line."""
    extent = np.max(np.abs(points - points.mean(axis=0)))
    order = np.lexsort((points[:, 1], points[:, 0]))
    steps = np.abs(np.diff(points[order], axis=0)).max(axis=1)
    tolerance = 1e-12 * max(extent, 1e-300)
    if np.any(steps <= tolerance):
        i = int(np.argmax(steps <= tolerance))
        a, b = points[order[i]], points[order[i + 1]]
        raise ValueError(
            f"control_points{where} must be distinct, got duplicates: point {order[i]} "
            f"{a.tolist()} and point {order[i + 1]} {b.tolist()}")
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    if singular[1] <= 1e-10 * singular[0]:
        raise ValueError(
            f"control_points{where} must not all lie on one line (the affine part of the "
            f"spline would be undetermined)")


def _system(controls, regularization):
    """The matrix ``[[A + lam I, P], [P.T, 0]]`` for controls (..., K, 2)."""
    count = controls.shape[-2]
    kernel = tps_kernel(_squared_distances(controls, controls))
    if regularization:
        kernel = kernel + regularization * np.eye(count)
    ones = anp.ones(controls.shape[:-1] + (1,))
    poly = anp.concatenate([ones, controls], axis=-1)            # (..., K, 3)
    zeros = anp.zeros(controls.shape[:-2] + (3, 3))
    top = anp.concatenate([kernel, poly], axis=-1)                # (..., K, K + 3)
    bottom = anp.concatenate([anp.swapaxes(poly, -1, -2), zeros], axis=-1)
    return anp.concatenate([top, bottom], axis=-2)                # (..., K + 3, K + 3)


def _probes(controls):
    """Right-hand sides whose solutions estimate ``||M^-1||_1``: (..., K + 3, 8).

    ``||M^-1||_1`` is the largest 1-norm of a column of the inverse, and each
    probe ``v`` bounds it from below by ``||M^-1 v||_1 / ||v||_1``.  The
    probes are the unit vectors where the inverse grows large (the two
    closest control points, whose rows become equal as they meet, and the
    three affine rows, which become dependent as the points line up or
    shrink together) and three dense vectors for the rest (the constant
    vector, Higham's alternating ramp, a fixed pattern of signs).  Solved
    with the spline's own right-hand sides, they cost no factorization.
    """
    controls = np.asarray(getval(controls))
    count = controls.shape[-2]
    size = count + 3
    ramp = (-1.0) ** np.arange(size) * (1.0 + np.arange(size) / (size - 1))
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size)
    dense = np.stack([np.ones(size), ramp, signs], axis=-1)
    distances = _squared_distances(controls, controls)
    distances[..., np.arange(count), np.arange(count)] = np.inf
    closest = np.argmin(distances.reshape(distances.shape[:-2] + (count * count,)), axis=-1)
    identity = np.eye(size)
    columns = [closest // count, closest % count] + [np.full(closest.shape, count + k)
                                                       for k in range(3)]
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
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        Control points (the kernel centres), shared or per sample.
    target_points : ndarray, shape (N, K, 2)
        Targets of the control points.
    regularization : float, optional
        ``lam >= 0`` added to the kernel matrix diagonal (0 interpolates).

    Returns
    -------
    ndarray, shape (N, K + 3, 2), float64
        Kernel weights (rows ``0 .. K-1``) and affine part (rows ``K ..
        K+2``: constant, x, y) of each sample's spline.

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
    """
    batch, count, regularization = check_tps_points(
        control_points, target_points, regularization)
    controls = _as_float64("control_points", control_points)
    targets = _as_float64("target_points", target_points)
    system = _system(controls, regularization)
    zeros = anp.zeros((batch, 3, 2))
    rhs = anp.concatenate([targets, zeros], axis=1)                # (N, K + 3, 2)
    probes = _probes(controls)  # solved with the targets, for the condition estimate
    if controls.ndim == 2:
        # One matrix for the whole batch: solve all right-hand sides at once.
        stacked = anp.reshape(anp.transpose(rhs, (1, 0, 2)), (count + 3, batch * 2))
        solution = _solve(system, anp.concatenate([stacked, probes], axis=1))
        _warn_if_ill_conditioned(system, probes, solution[:, batch * 2:])
        solution = solution[:, :batch * 2]
        return anp.transpose(anp.reshape(solution, (count + 3, batch, 2)), (1, 0, 2))
    solution = _solve(system, anp.concatenate([rhs, probes], axis=2))
    _warn_if_ill_conditioned(system, probes, solution[..., 2:])
    return solution[..., :2]


def evaluate_tps(coefficients, control_points, points):
    """Apply thin-plate splines to points.

    Parameters
    ----------
    coefficients : ndarray, shape (N, K + 3, 2)
        From :func:`solve_tps`.
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        The kernel centres the coefficients were solved for.
    points : ndarray, shape (M, 2) or (N, M, 2)
        Points to map.

    Returns
    -------
    ndarray, shape (N, M, 2)
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
    count = centres.shape[-2]
    kernel = tps_kernel(_squared_distances(points, centres))   # (..., M, K)
    weights = coefficients[:, :count, :]
    affine = coefficients[:, count:, :]
    if kernel.ndim == 2:
        kernel = kernel[None]
    if points.ndim == 2:
        points = points[None]
    nonlinear = anp.matmul(kernel, weights)                       # (N, M, 2)
    linear = affine[:, 0:1, :] + anp.matmul(points, affine[:, 1:, :])
    return nonlinear + linear


def _as_float64(name, value):
    """``value`` (an array, an autograd box, a list or a foreign CPU array) in float64."""
    value = _validate.host_array(name, value)
    return value if getval(value).dtype == np.float64 else value.astype(np.float64)
