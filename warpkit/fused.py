"""Fused warps: transformation parameters in, warped images out, no grid in between.

``warp_affine(input, theta)`` gives the same values and gradients as
``grid_sample(input, affine_grid(theta, ...))`` (likewise for homographies
and thin-plate splines), but the kernels compute each output pixel's input
coordinate on the fly, and the backward kernels turn coordinate gradients
into parameter gradients on the spot: no ``(N, H_out, W_out, 2)`` array is
ever allocated, forward or backward.  Gradients are deterministic
(bit-identical from run to run) on every backend.  The affine and
perspective warps take volumes too: a 5-D ``input`` (N, C, D, H, W) selects
the volume family (``theta`` (N, 3, 4), ``homography`` (N, 4, 4)).

Each family's primitives are built from its spec (:mod:`warpkit.families`,
``warpkit._primitives.FusedWarp``); the functions here give them their
public signatures and documentation.  The thin-plate spline is split in two:
:func:`warpkit.tps.solve_tps` solves for the coefficients in
:mod:`autograd.numpy` (float64), and the fused primitive
:func:`warp_tps_coefficients` samples with them; autograd chains the two, so
gradients reach both the control and the target points.
"""

import autograd
import numpy as np
from autograd.tracer import getval

from . import _validate
from ._args import array_shape, check_image
from ._device import backend_for, check_same_device
from ._primitives import FusedWarp, only
from .families import AFFINE, AFFINE_3D, PERSPECTIVE, PERSPECTIVE_3D, TPS
from .tps import solve_tps

__all__ = [
    "warp_affine",
    "warp_affine_vjp",
    "warp_perspective",
    "warp_perspective_vjp",
    "warp_tps",
    "warp_tps_vjp",
    "warp_tps_coefficients",
    "warp_tps_coefficients_vjp",
]

_AFFINE = {2: FusedWarp(AFFINE), 3: FusedWarp(AFFINE_3D)}
_PERSPECTIVE = {2: FusedWarp(PERSPECTIVE), 3: FusedWarp(PERSPECTIVE_3D)}
_TPS = FusedWarp(TPS)


def _for_input(warps, input):
    """The warp of images, or of volumes for a 5-D ``input`` (the family's checks
    then name what is wrong with either)."""
    return warps[3 if len(array_shape(input)) == 5 else 2]


# ---------------------------------------------------------------------- affine


def warp_affine(input, theta, size=None, *, mode="bilinear", padding_mode="zeros",
                align_corners=False):
    """Warp images or volumes by affine maps: ``grid_sample(input, affine_grid(theta, ...))``.

    Differentiable under :mod:`autograd` with respect to ``input`` and
    ``theta``; no sampling grid is allocated in either direction.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (N, C, D, H, W), float32 or float64
        Images, or volumes, to read from.
    theta : ndarray, shape (N, 2, 3), or (N, 3, 4) for volumes
        Maps normalized *output* coordinates ``(x, y, 1)`` (volumes: ``(x,
        y, z, 1)``) to normalized *input* coordinates (the
        ``input_from_output`` map of :func:`warpkit.affine_grid`).
    size : tuple of int, optional
        Output ``(H_out, W_out)`` (or ``(N, C, H_out, W_out)``); volumes
        ``(D_out, H_out, W_out)`` (or ``(N, C, D_out, H_out, W_out)``).
        Default the input's spatial size.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample` (``"bilinear"`` is trilinear and
        ``"bicubic"`` tricubic on volumes).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        The images (volumes) warped by ``theta``, dtype of ``input``.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> theta = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # read one pixel to the right
    >>> warpkit.warp_affine(image, theta)[0, 0]
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])

    A volume, read one slice deeper (z is the third coordinate; with
    ``align_corners`` and a depth of 3, one slice is one normalized unit):

    >>> volume = np.arange(3.0).reshape(1, 1, 3, 1, 1)
    >>> theta = np.array([[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 1.0]]])
    >>> warpkit.warp_affine(volume, theta, align_corners=True)[0, 0, :, 0, 0]
    array([1., 2., 0.])
    """
    return _for_input(_AFFINE, input).forward(input, theta, size, mode, padding_mode,
                                              align_corners)


def warp_affine_vjp(input, theta, grad_output, size=None, *, mode="bilinear",
                    padding_mode="zeros", align_corners=False, wrt=("input", "theta")):
    """Gradients of :func:`warp_affine` for an output gradient, without autograd.

    Parameters
    ----------
    input, theta, size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.
    grad_output : ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    wrt : tuple of {"input", "theta"}, optional
        The gradients to compute (keyword only; default both).  An STN whose
        image is data needs only ``("theta",)``, which skips the costly
        input-gradient scatter.

    Returns
    -------
    grad_input : ndarray, shape of ``input``, or None
        Same dtype as ``input``; bit-identical from run to run.  None unless
        ``"input"`` is in ``wrt``.
    grad_theta : ndarray, shape of ``theta`` ((N, 2, 3) or (N, 3, 4)), or None
        Same dtype as ``theta``; reduced in float64 inside the kernel.  None
        unless ``"theta"`` is in ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.fused import warp_affine_vjp
    >>> image = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])  # rises by 1 per pixel in x, 2 in y
    >>> theta = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])  # read the centre everywhere
    >>> grad_input, grad_theta = warp_affine_vjp(image, theta, np.ones((1, 1, 2, 2)))
    >>> grad_theta[0]  # 4 pixels, d/dx = 1 and d/dy = 2 per normalized half-width
    array([[0., 0., 4.],
           [0., 0., 8.]])

    A volume rising by 4 per slice in z (with ``align_corners`` and a depth
    of 3, one slice is one normalized unit):

    >>> volume = np.array([0.0, 4.0, 8.0]).reshape(1, 1, 3, 1, 1)
    >>> theta = np.array([[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 0]]])  # z = 0 everywhere
    >>> _, grad_theta = warp_affine_vjp(volume, theta, np.ones((1, 1, 3, 1, 1)),
    ...                                 align_corners=True, wrt=("theta",))
    >>> grad_theta[0]  # 3 voxels, d/dz = 4 per normalized unit
    array([[ 0.,  0.,  0.,  0.],
           [ 0.,  0.,  0.,  0.],
           [ 0.,  0.,  0., 12.]])
    """
    return _for_input(_AFFINE, input).vjp(input, theta, grad_output, size, mode,
                                          padding_mode, align_corners, wrt=wrt)


# ----------------------------------------------------------------- perspective


def warp_perspective(input, homography, size=None, *, mode="bilinear", padding_mode="zeros",
                     align_corners=False):
    """Warp images or volumes by homographies: ``grid_sample(input, perspective_grid(...))``.

    Differentiable under :mod:`autograd` with respect to ``input`` and
    ``homography``, without a sampling grid, like :func:`warp_affine`.

    Parameters
    ----------
    input
        As for :func:`warp_affine`: images (N, C, H, W) or volumes (N, C, D, H, W).
    homography : ndarray, shape (N, 3, 3), or (N, 4, 4) for volumes
        Maps normalized homogeneous output coordinates ``(x, y, 1)`` to
        homogeneous input coordinates ``(u, v, w)``; the sampler reads
        ``(u / w, v / w)`` (volumes: ``(x, y, z, 1)`` to ``(u, v, s, w)``,
        read at ``(u / w, v / w, s / w)``).  Output pixels with ``w <= 0``
        (at infinity or behind the camera) or NaN ``w`` read the far point
        ``-1e30`` on every axis -- the padding value there, 0 for
        ``"zeros"`` -- and pass no gradient to ``homography``: the rule of
        :func:`warpkit.perspective_grid`.
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_affine`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        The images (volumes) seen through the homographies, dtype of ``input``.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> doubled = np.array([[[2.0, 0.0, 1.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]])
    >>> np.array_equal(warpkit.warp_perspective(image, doubled),  # H ~ H / 2: a shift
    ...                warpkit.warp_affine(image, np.array([[[1.0, 0, 0.5], [0, 1.0, 0]]])))
    True

    The same for a volume, with a (4, 4) homography:

    >>> volume = np.arange(27.0).reshape(1, 1, 3, 3, 3)
    >>> doubled = 2 * np.eye(4)[None]
    >>> doubled[0, 0, 3] = 2.0  # x + 1: one voxel to the right (align_corners, width 3)
    >>> warpkit.warp_perspective(volume, doubled, align_corners=True)[0, 0, 0]
    array([[1., 2., 0.],
           [4., 5., 0.],
           [7., 8., 0.]])
    """
    return _for_input(_PERSPECTIVE, input).forward(input, homography, size, mode,
                                                   padding_mode, align_corners)


def warp_perspective_vjp(input, homography, grad_output, size=None, *, mode="bilinear",
                         padding_mode="zeros", align_corners=False,
                         wrt=("input", "homography")):
    """Gradients of :func:`warp_perspective` for an output gradient, without autograd.

    Parameters
    ----------
    input, homography, size, mode, padding_mode, align_corners
        As for :func:`warp_perspective`.
    grad_output : ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    wrt : tuple of {"input", "homography"}, optional
        The gradients to compute (keyword only; default both).

    Returns
    -------
    grad_input : ndarray, shape of ``input``, or None
        Same dtype as ``input``; None unless ``"input"`` is in ``wrt``.
    grad_homography : ndarray, shape of ``homography`` ((N, 3, 3) or (N, 4, 4)), or None
        Same dtype as ``homography``; None unless ``"homography"`` is in ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.fused import warp_perspective_vjp
    >>> image = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> hom = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> grad_input, grad_hom = warp_perspective_vjp(image, hom, np.ones((1, 1, 2, 2)))
    >>> grad_hom[0]
    array([[0., 0., 4.],
           [0., 0., 8.],
           [0., 0., 0.]])

    A volume (the gradient has the homography's shape):

    >>> grads = warp_perspective_vjp(np.ones((1, 1, 2, 2, 2)), np.eye(4)[None],
    ...                              np.ones((1, 1, 2, 2, 2)))
    >>> [g.shape for g in grads]
    [(1, 1, 2, 2, 2), (1, 4, 4)]
    """
    return _for_input(_PERSPECTIVE, input).vjp(input, homography, grad_output, size, mode,
                                               padding_mode, align_corners, wrt=wrt)


# ------------------------------------------------------------- thin-plate spline


def warp_tps_coefficients(input, coefficients, control_points, size=None, *,
                          mode="bilinear", padding_mode="zeros", align_corners=False):
    """Warp images by solved thin-plate splines (the fused sampler of :func:`warp_tps`).

    Differentiable under :mod:`autograd` with respect to ``input``,
    ``coefficients`` and ``control_points`` (the kernel centres).

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.
    coefficients : ndarray, shape (N, K + 3, 2)
        Spline coefficients from :func:`warpkit.tps.solve_tps`.
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        The kernel centres (normalized output coordinates).
    size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        The images read through the splines, dtype of ``input``.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from warpkit.tps import solve_tps
    >>> from warpkit.fused import warp_tps_coefficients
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_tps(controls, controls[None])  # the identity
    >>> np.allclose(warp_tps_coefficients(image, coefficients, controls), image)
    True
    """
    return _TPS.forward(input, coefficients, control_points, size, mode, padding_mode,
                        align_corners)


def warp_tps_coefficients_vjp(input, coefficients, control_points, grad_output, size=None, *,
                              mode="bilinear", padding_mode="zeros", align_corners=False,
                              wrt=("input", "coefficients", "control_points")):
    """Gradients of :func:`warp_tps_coefficients` for an output gradient, without autograd.

    Parameters
    ----------
    input, coefficients, control_points, size, mode, padding_mode, align_corners
        As for :func:`warp_tps_coefficients`.
    grad_output : ndarray, shape (N, C, H_out, W_out)
        Gradient of a scalar loss with respect to the output.

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W)
    grad_coefficients : ndarray, shape (N, K + 3, 2)
    grad_control_points : ndarray, shape of ``control_points``
        Gradient with respect to the kernel centres only (the solve's share
        is added by autograd in :func:`warp_tps`).

    A gradient not named in ``wrt`` (keyword only; default all three) is
    returned as None.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> from warpkit.tps import solve_tps
    >>> from warpkit.fused import warp_tps_coefficients_vjp
    >>> image = np.random.default_rng(0).random((1, 1, 4, 4))
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_tps(controls, controls[None])
    >>> grads = warp_tps_coefficients_vjp(image, coefficients, controls, np.ones((1, 1, 4, 4)))
    >>> [g.shape for g in grads]
    [(1, 1, 4, 4), (1, 7, 2), (4, 2)]
    """
    return _TPS.vjp(input, coefficients, control_points, grad_output, size, mode,
                    padding_mode, align_corners, wrt=wrt)


def warp_tps(input, control_points, target_points, size=None, *, regularization=0.0,
             mode="bilinear", padding_mode="zeros", align_corners=False):
    """Warp images by thin-plate splines, fused: ``grid_sample(input, tps_grid(...))``.

    The spline of each sample maps its control points (normalized *output*
    coordinates) to its target points (normalized *input* coordinates); the
    coefficients are solved in float64 (:func:`warpkit.tps.solve_tps`) and
    the fused kernel evaluates the spline at every output pixel.
    Differentiable under :mod:`autograd` with respect to ``input``,
    ``control_points`` and ``target_points``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        Control points, shared or per sample (e.g.
        :func:`warpkit.control_point_grid`).
    target_points : ndarray, shape (N, K, 2)
        Where each control point reads from.
    size : tuple of int, optional
        Output ``(H_out, W_out)`` (or ``(N, C, H_out, W_out)``); default the
        input's ``(H, W)``.
    regularization : float, optional
        ``lam >= 0`` on the kernel diagonal.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        The images read through the splines, dtype of ``input``.

    Raises
    ------
    ValueError
        Fewer than 3, duplicate or collinear control points, negative
        ``regularization``, mismatched shapes.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> controls = warpkit.control_point_grid(9)
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> targets = controls[None] + np.array([0.5, 0.0])  # read one pixel to the right
    >>> np.round(warpkit.warp_tps(image, controls, targets)[0, 0], 12) + 0.0
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])
    """
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    if check_same_device(input=input, control_points=control_points,
                         target_points=target_points):
        # GPU arrays: the points come to the host for the small float64
        # solve, the coefficients go back to the device
        backend = backend_for(input=input)
        coefficients = backend.to_device(_solve(input, backend.to_host(control_points),
                                                backend.to_host(target_points),
                                                regularization))
    else:
        coefficients = _solve(input, control_points, target_points, regularization)
    return warp_tps_coefficients(input, coefficients, control_points, size, **options)


def warp_tps_vjp(input, control_points, target_points, grad_output, size=None, *,
                 regularization=0.0, mode="bilinear", padding_mode="zeros",
                 align_corners=False, wrt=("input", "control_points", "target_points")):
    """Gradients of :func:`warp_tps` for an output gradient, without autograd.

    Parameters
    ----------
    input, control_points, target_points, size, regularization, mode, padding_mode, align_corners
        As for :func:`warp_tps`.
    grad_output : ndarray, shape (N, C, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    wrt : tuple of {"input", "control_points", "target_points"}, optional
        The gradients to compute (keyword only; default all three).

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W), or None
        Same dtype as ``input``.
    grad_control_points : ndarray, shape of ``control_points``, or None
        Through the spline's solve and its kernel centres.
    grad_target_points : ndarray, shape (N, K, 2), or None
        Through the spline's solve.

    Each gradient not named in ``wrt`` is None.  GPU arrays give device
    arrays (the small solve runs on the host in float64).

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.random.default_rng(0).random((1, 1, 6, 6))
    >>> controls = warpkit.control_point_grid(9)
    >>> grads = warpkit.warp_tps_vjp(image, controls, controls[None], np.ones((1, 1, 6, 6)))
    >>> [g.shape for g in grads]
    [(1, 1, 6, 6), (9, 2), (1, 9, 2)]
    """
    names = ("input", "control_points", "target_points")
    wrt = _validate.check_wrt(wrt, names)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    on_device = check_same_device(input=input, control_points=control_points,
                                  target_points=target_points, grad_output=grad_output)
    backend = backend_for(input=input)
    host_controls = backend.to_host(control_points) if on_device else getval(control_points)
    host_targets = backend.to_host(target_points) if on_device else getval(target_points)
    solve_vjp, coefficients = autograd.make_vjp(
        lambda controls, targets: _solve(input, controls, targets, regularization),
        argnum=(0, 1))(host_controls, host_targets)
    need_points = "control_points" in wrt or "target_points" in wrt
    grad_input, grad_coefficients, grad_centres = warp_tps_coefficients_vjp(
        input, backend.to_device(coefficients) if on_device else coefficients,
        control_points if on_device else host_controls, grad_output, size,
        **options, wrt=("input",) * ("input" in wrt) + ("coefficients", "control_points")
        * need_points)
    if not need_points:
        return grad_input, None, None
    if on_device:
        grad_coefficients, grad_centres = (backend.to_host(grad_coefficients),
                                           backend.to_host(grad_centres))
    grad_controls, grad_targets = solve_vjp(np.asarray(grad_coefficients, np.float64))
    grad_controls = grad_controls + np.reshape(grad_centres, np.shape(grad_controls))
    grads = []
    for name, grad, value in (("control_points", grad_controls, control_points),
                              ("target_points", grad_targets, target_points)):
        grad = grad.astype(_validate.float_dtype(name, value))
        grads.append(backend.to_device(grad, grad.dtype) if on_device else grad)
    return only((grad_input, *grads), wrt, names)


def _solve(input, control_points, target_points, regularization):
    """The spline coefficients of :func:`warp_tps`, checked against the input's batch."""
    shape = array_shape(input)
    check_image("input", shape)
    coefficients = solve_tps(control_points, target_points, regularization)
    batch = shape[0]
    if coefficients.shape[0] != batch:
        raise ValueError(f"target_points must have the input's batch size {batch}, "
                         f"got {coefficients.shape[0]}")
    return coefficients

