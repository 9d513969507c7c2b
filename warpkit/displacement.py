"""Dense displacement fields: warp by a flow, compose flows, integrate velocities.

A displacement field (a *flow*) has the layout of a sampling grid: ``(N,
H_out, W_out, 2)`` holding ``(dx, dy)`` for images, ``(N, D_out, H_out,
W_out, 3)`` holding ``(dx, dy, dz)`` for volumes.  Output pixel ``p`` reads
the input at ``p + flow(p)``:

* ``units="pixels"`` (the registration convention, the default): ``p`` is
  the pixel (voxel) index ``(w, h[, d])`` and the flow is in input pixels,
  so output pixel ``(h, w)`` reads input pixel coordinate ``(w + dx, h + dy)``;
* ``units="normalized"``: ``p`` is the normalized coordinate of the output
  pixel and the flow is in normalized units (``[-1, 1]`` spans the image),
  so ``warp_displacement(input, flow)`` equals ``grid_sample(input,
  identity_grid + flow)``.

The kernels add the identity themselves, so no grid array is ever built,
and one backward run gives the gradients with respect to the input and the
flow.  :func:`compose_displacements` and :func:`integrate_velocity` build
on :func:`warp_displacement` with :mod:`autograd.numpy`, so they are
differentiable too; :mod:`warpkit.regularizers` has the penalties a
registration loss adds.
"""

import operator

import autograd.numpy as anp
from autograd.extend import primitive

from . import _validate
from ._args import DisplacementArgs, array_shape
from ._device import backend_for
from ._primitives import register

__all__ = ["warp_displacement", "warp_displacement_vjp", "compose_displacements",
           "integrate_velocity"]

NAMES = ("input", "flow")


def warp_displacement(input, flow, *, units="pixels", mode="bilinear", padding_mode="zeros",
                      align_corners=False):
    """Warp ``input`` by the dense displacement field ``flow``.

    Output pixel ``p`` reads the input at ``p + flow(p)`` (see the module
    docstring for the two ``units``).  Differentiable under :mod:`autograd`
    with respect to ``input`` and ``flow``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (N, C, D, H, W), float32 or float64
        Images or volumes to read from.  A GPU array runs on the GPU.
    flow : ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        Displacement ``(dx, dy[, dz])`` of every output pixel; its rank must
        match the input's.  Converted to the dtype of ``input``; non-finite
        values follow :func:`warpkit.grid_sample`'s rules (a NaN component
        reads as a NaN grid value would).
    units : {"pixels", "normalized"}, optional
        ``"pixels"``: output pixel ``(h, w)`` reads input pixel coordinate
        ``(w + dx, h + dy)``; ``"normalized"``: ``grid_sample(input,
        identity_grid + flow)`` with the identity grid of ``align_corners``.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample` (5-D input: trilinear, nearest or
        tricubic).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        Same dtype as ``input``.

    Raises
    ------
    TypeError
        If an array is not float32/float64, or CPU and GPU arrays are mixed.
    ValueError
        If the flow's rank, last axis or batch does not match the input, or an
        option is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.displacement import warp_displacement
    >>> image = np.arange(12.0).reshape(1, 1, 3, 4)
    >>> flow = np.zeros((1, 3, 4, 2))
    >>> flow[..., 0] = 1.0  # every pixel reads its right neighbour
    >>> warp_displacement(image, flow)[0, 0]
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.]])
    """
    return _warp_displacement(input, flow, units, mode, padding_mode, align_corners)


def warp_displacement_vjp(input, flow, grad_output, *, units="pixels", mode="bilinear",
                          padding_mode="zeros", align_corners=False, wrt=NAMES):
    """Gradients of :func:`warp_displacement` for an output gradient, without autograd.

    Deterministic: the same call gives bit-identical gradients on every run,
    whatever the thread count.

    Parameters
    ----------
    input, flow
        As passed to :func:`warp_displacement`.
    grad_output : ndarray, shape of the output
        Gradient of a scalar loss with respect to the output.
    units, mode, padding_mode, align_corners
        As for :func:`warp_displacement`.
    wrt : tuple of {"input", "flow"}, optional
        The gradients to compute (default both).

    Returns
    -------
    grad_input : ndarray, shape of ``input``, or None
        Same dtype as ``input``; None unless ``"input"`` is in ``wrt``.
    grad_flow : ndarray, shape of ``flow``, or None
        Same dtype as ``flow``, in the flow's units.  Zero for ``nearest``
        and where padding clamps the coordinate; None unless ``"flow"`` is in
        ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.displacement import warp_displacement_vjp
    >>> image = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> flow = np.full((1, 1, 1, 2), 0.5)  # output pixel (0, 0) reads the image centre
    >>> grad_input, grad_flow = warp_displacement_vjp(image, flow, np.ones((1, 1, 1, 1)))
    >>> grad_input[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> grad_flow[0, 0, 0]  # the image rises by 1 per pixel in x, 2 in y
    array([1., 2.])
    """
    return _warp_displacement_vjp(input, flow, grad_output, units, mode, padding_mode,
                                  align_corners, wrt=wrt)


@primitive
def _warp_displacement(input, flow, units, mode, padding_mode, align_corners):
    args = DisplacementArgs(input, flow, units, mode, padding_mode, align_corners)
    return backend_for(input=input, flow=flow).displacement(args, input, flow)


@primitive
def _warp_displacement_vjp(input, flow, grad_output, units, mode, padding_mode,
                           align_corners, *, wrt=NAMES):
    args = DisplacementArgs(input, flow, units, mode, padding_mode, align_corners)
    wrt = _validate.check_wrt(wrt, NAMES)
    backend = backend_for(input=input, flow=flow, grad_output=grad_output)
    args.check_grad_output(grad_output)
    return backend.displacement_vjp(args, input, flow, grad_output, "input" in wrt,
                                    "flow" in wrt)


register(_warp_displacement, _warp_displacement_vjp, NAMES, "warp_displacement")


def compose_displacements(a, b, *, units="pixels", padding_mode="border", align_corners=False):
    """The displacement of warping by ``b`` and then by ``a``: ``c(p) = a(p) + b(p + a(p))``.

    So ``warp_displacement(warp_displacement(I, b), a)`` is close to
    ``warp_displacement(I, c)`` (exactly so where ``b`` is linear between
    pixel centres).  ``b`` is sampled at ``p + a(p)`` bilinearly (trilinearly),
    its components read as channels.  Differentiable under :mod:`autograd`
    with respect to both fields.

    Parameters
    ----------
    a, b : ndarray, shape (N, H, W, 2) or (N, D, H, W, 3), float32 or float64
        Displacement fields of the same shape (NumPy arrays).
    units : {"pixels", "normalized"}, optional
        The units of both fields (see :func:`warp_displacement`).
    padding_mode : {"border", "zeros", "reflection"}, optional
        How ``b`` is read outside its domain; ``"border"`` (the default)
        extends it with its edge values.
    align_corners : bool, optional
        As for :func:`warp_displacement`.

    Returns
    -------
    ndarray, shape of ``a``
        The composed field, in the dtype of ``b`` promoted with ``a``'s.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.displacement import compose_displacements
    >>> a = np.full((1, 2, 2, 2), 0.5)
    >>> b = np.full((1, 2, 2, 2), 0.25)
    >>> compose_displacements(a, b)[0, 0, 0]  # constant shifts add up
    array([0.75, 0.75])
    >>> compose_displacements(a, np.zeros_like(a))[0, 0, 0]  # composing with zero: a itself
    array([0.5, 0.5])
    """
    dims = _check_fields(a, b)
    channels_b = anp.moveaxis(b, -1, 1)  # (N, dims, *spatial): the components as channels
    sampled = warp_displacement(channels_b, a, units=units, mode="bilinear",
                                padding_mode=padding_mode, align_corners=align_corners)
    return a + anp.moveaxis(sampled, 1, dims + 1)


def integrate_velocity(velocity, steps=7, *, units="pixels", align_corners=False):
    """The displacement of a stationary velocity field, by scaling and squaring.

    ``flow = velocity / 2**steps``, then ``steps`` times ``flow =
    compose_displacements(flow, flow)``: the flow of the exponential map of
    the velocity field, a diffeomorphism for smooth, not too large fields (the
    diffeomorphic registration of VoxelMorph and similar methods).
    Differentiable under :mod:`autograd`.

    Parameters
    ----------
    velocity : ndarray, shape (N, H, W, 2) or (N, D, H, W, 3), float32 or float64
        Stationary velocity field (NumPy array).
    steps : int, optional
        Number of squarings (default 7); 0 returns ``velocity`` unchanged.
    units : {"pixels", "normalized"}, optional
        The units of the field (see :func:`warp_displacement`).
    align_corners : bool, optional
        As for :func:`warp_displacement`.

    Returns
    -------
    ndarray, shape of ``velocity``
        The displacement field.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.displacement import integrate_velocity
    >>> velocity = np.full((1, 3, 3, 2), 0.4)  # a constant velocity: a translation
    >>> np.allclose(integrate_velocity(velocity), 0.4)
    True
    """
    try:
        steps = operator.index(steps)
    except TypeError:
        raise TypeError(f"steps must be a non-negative integer, got {steps!r}") from None
    if isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    _check_fields(velocity, velocity, ("velocity", "velocity"))
    if steps == 0:
        return velocity
    flow = velocity * (0.5 ** steps)
    for _ in range(steps):
        flow = compose_displacements(flow, flow, units=units, align_corners=align_corners)
    return flow


def _check_fields(a, b, names=("a", "b")):
    """Check two displacement fields of one shape ``(N, *spatial, dims)``; return ``dims``."""
    for name, field in zip(names, (a, b)):
        _validate.float_dtype(name, field)
        shape = array_shape(field)
        if len(shape) not in (4, 5) or shape[-1] != len(shape) - 2:
            raise ValueError(f"{name} must have shape (N, H, W, 2) or (N, D, H, W, 3), "
                             f"got {shape}")
    if array_shape(a) != array_shape(b):
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got "
                         f"{array_shape(a)} and {array_shape(b)}")
    return len(array_shape(a)) - 2
