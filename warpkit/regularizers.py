"""Penalties and diagnostics of dense displacement fields, for registration losses.

Fields have the layout of :mod:`warpkit.displacement`: ``(N, H, W, 2)``
holding ``(dx, dy)`` or ``(N, D, H, W, 3)`` holding ``(dx, dy, dz)``.
Everything here is written with :mod:`autograd.numpy`, so a loss built from
it is differentiable with respect to the field (:func:`count_folds`, a count,
is not).

Spatial derivatives are finite differences on the pixel lattice: forward
differences for :func:`smoothness_penalty`; central differences in the
interior and one-sided differences at the edges (as ``numpy.gradient``)
for :func:`jacobian_determinant`.
"""

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from . import _validate
from ._args import array_shape
from .coords import normalized_base_coordinates

__all__ = ["smoothness_penalty", "jacobian_determinant", "count_folds"]

UNITS = ("pixels", "normalized")


def smoothness_penalty(flow):
    """Mean squared forward difference of a displacement field (VoxelMorph's ``Grad("l2")``).

    ``sum over spatial axes a of mean((flow[a + 1] - flow[a]) ** 2) / dims``:
    for each spatial axis the squared differences between neighbours along it
    are averaged over the batch, the positions and the components, and the
    axes' means are averaged.  An axis of a single pixel has no differences
    and contributes 0.  Differences are per pixel step, in the flow's units.

    Parameters
    ----------
    flow : ndarray, shape (N, H, W, 2) or (N, D, H, W, 3), float32 or float64
        Displacement field.

    Returns
    -------
    float
        The penalty (a 0-d value; an autograd box when differentiated).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.regularizers import smoothness_penalty
    >>> flow = np.zeros((1, 4, 5, 2))
    >>> flow[..., 0] = 0.5 * np.arange(5)  # dx grows by 0.5 per column
    >>> float(smoothness_penalty(flow))  # (mean over x of 0.5**2 / 2 components + 0) / 2 axes
    0.0625
    """
    flow, dims = _check_flow(flow)
    total = 0.0
    for axis in range(1, dims + 1):
        if array_shape(flow)[axis] > 1:
            total = total + anp.mean(anp.diff(flow, axis=axis) ** 2)
    return total / dims


def jacobian_determinant(flow, *, units="pixels", align_corners=False):
    """Determinant of the Jacobian of the map ``p -> p + flow(p)`` at every pixel.

    ``J = I + d flow / d p`` with the derivatives taken by central differences
    in the interior and one-sided differences at the edges (an axis of one
    pixel has derivative 0).  ``det(J) <= 0`` marks a fold: the map is not
    invertible there (see :func:`count_folds`).  Exact for affine fields.

    Parameters
    ----------
    flow : ndarray, shape (N, H, W, 2) or (N, D, H, W, 3), float32 or float64
        Displacement field (``(dx, dy[, dz])``).
    units : {"pixels", "normalized"}, optional
        The flow's units (see :func:`warpkit.warp_displacement`):
        in ``"normalized"`` units ``p`` is the pixel's normalized coordinate
        on the field's own lattice (spacing ``2 / size``, or ``2 / (size -
        1)`` with ``align_corners``).
    align_corners : bool, optional
        The normalization convention of ``"normalized"`` units.

    Returns
    -------
    ndarray, shape (N, H, W) or (N, D, H, W)
        The determinant at every pixel, in the flow's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.regularizers import jacobian_determinant
    >>> flow = np.zeros((1, 3, 4, 2))
    >>> flow[..., 0] = np.arange(4.0)  # x stretched twice: p_x -> 2 p_x
    >>> jacobian_determinant(flow)[0]
    array([[2., 2., 2., 2.],
           [2., 2., 2., 2.],
           [2., 2., 2., 2.]])
    """
    flow, dims = _check_flow(flow)
    if not isinstance(units, str) or units not in UNITS:
        raise ValueError(f"units must be one of 'pixels', 'normalized', got {units!r}")
    align_corners = _validate.check_bool("align_corners", align_corners)
    shape = array_shape(flow)
    # J[c][a] = d (p + flow)_c / d p_a, components and axes x first (array axis dims - a)
    jacobian = [[None] * dims for _ in range(dims)]
    for a in range(dims):
        axis = dims - a
        step = 1.0
        if units == "normalized" and shape[axis] > 1:
            base = normalized_base_coordinates(shape[axis], align_corners)
            step = float(base[1] - base[0])
        for c in range(dims):
            derivative = _gradient(flow[..., c], axis, shape[axis]) / step
            jacobian[c][a] = derivative + 1.0 if a == c else derivative
    if dims == 2:
        (j00, j01), (j10, j11) = jacobian
        return j00 * j11 - j01 * j10
    (j00, j01, j02), (j10, j11, j12), (j20, j21, j22) = jacobian
    return (j00 * (j11 * j22 - j12 * j21) - j01 * (j10 * j22 - j12 * j20)
            + j02 * (j10 * j21 - j11 * j20))


def count_folds(flow, *, units="pixels", align_corners=False):
    """Number of pixels (voxels) of each sample where the map folds (``det J <= 0``).

    A diagnostic of a registration: a diffeomorphic (folding-free) map has
    none.  Not differentiable (it is a count); penalize
    :func:`jacobian_determinant` instead.

    Parameters
    ----------
    flow : ndarray, shape (N, H, W, 2) or (N, D, H, W, 3), float32 or float64
        Displacement field.
    units, align_corners
        As for :func:`jacobian_determinant`.

    Returns
    -------
    ndarray of int64, shape (N,)
        The count of each sample.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.regularizers import count_folds
    >>> flow = np.zeros((2, 3, 4, 2))
    >>> flow[1, ..., 0] = -2.0 * np.arange(4.0)  # sample 1 mirrors x: p_x -> -p_x
    >>> count_folds(flow)
    array([ 0, 12])
    """
    det = jacobian_determinant(getval(flow), units=units, align_corners=align_corners)
    return np.sum(det <= 0, axis=tuple(range(1, det.ndim))).astype(np.int64)


def _gradient(values, axis, size):
    """``numpy.gradient`` along ``axis`` (unit spacing) in autograd: central differences
    inside, one-sided at the edges; zeros for an axis of one pixel."""
    if size < 2:
        return values * 0.0
    take = [slice(None)] * values.ndim

    def part(start, stop):
        take[axis] = slice(start, stop)
        return values[tuple(take)]

    first = part(1, 2) - part(0, 1)
    last = part(size - 1, size) - part(size - 2, size - 1)
    if size == 2:
        return anp.concatenate([first, last], axis=axis)
    inner = (part(2, size) - part(0, size - 2)) * 0.5
    return anp.concatenate([first, inner, last], axis=axis)


def _check_flow(flow):
    """A displacement field as an array (lists converted) and its number of spatial axes."""
    _validate.float_dtype("flow", flow)
    flow = _validate.host_array("flow", flow)
    shape = array_shape(flow)
    if len(shape) not in (4, 5) or shape[-1] != len(shape) - 2:
        raise ValueError(f"flow must have shape (N, H, W, 2) or (N, D, H, W, 3), got {shape}")
    return flow, len(shape) - 2
