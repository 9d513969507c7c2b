"""Fused warps: transformation parameters in, warped images out, no grid in between.

``warp_affine(input, theta)`` gives the same values and gradients as
``grid_sample(input, affine_grid(theta, ...))`` (likewise for homographies
and thin-plate splines), but the kernels compute each output pixel's input
coordinate on the fly, and the backward kernels turn coordinate gradients
into parameter gradients on the spot: no ``(N, H_out, W_out, 2)`` array is
ever allocated, forward or backward.

Gradients are deterministic: the input gradient is scattered by the plans of
:mod:`warpkit.kernels.chunks` (threads own distinct samples, or distinct
bands of input rows), and the parameter gradients are summed in float64,
pixel by pixel inside a chunk and chunk by chunk in a fixed order, so the
same call gives bit-identical gradients on every run.

The thin-plate spline is split in two: :func:`warpkit.tps.solve_spline`
solves for the coefficients in :mod:`autograd.numpy` (float64), and the fused
primitive :func:`warp_spline` samples with them; autograd chains the two, so
gradients reach both the control and the target points.
"""

import numpy as np
from autograd.extend import defvjp, defvjp_argnums, primitive
from autograd.tracer import getval

from . import _validate
from ._device import check_same_device, cuda_backend
from ._threads import run_chunks, threads_for
from .coords import normalized_base_coordinates
from .kernels import cpu, cpu_fused
from .kernels.chunks import (gradient_buffers, plan_backward, plan_chunks, row_chunks,
                             sum_buffers)
from .kernels.simd import KERNEL_VECTOR_BITS

__all__ = [
    "warp_affine",
    "warp_affine_vjp",
    "warp_perspective",
    "warp_perspective_vjp",
    "warp_tps",
    "warp_spline",
    "warp_spline_vjp",
]


class WarpArgs:
    """Validated image, output size and sampling options of a fused warp."""

    def __init__(self, input, size, mode, padding_mode, align_corners):
        if hasattr(input, "__cuda_array_interface__"):
            raise TypeError(
                "the fused warps run on NumPy arrays only for now; for GPU arrays use "
                "grid_sample with affine_grid / perspective_grid / tps_grid")
        self.dtype = _validate.float_dtype("input", input)
        input_shape = tuple(np.shape(input))
        _validate.check_ndim("input", input_shape, 4, "(N, C, H, W)")
        batch, channels, height, width = input_shape
        _validate.check_extent("input", input_shape)
        if (height == 0 or width == 0) and batch * channels:
            raise ValueError(f"input must have non-empty height and width, got {input_shape}")
        if size is None:
            out_height, out_width = height, width
        else:
            if np.iterable(size) and not isinstance(size, (str, bytes)):
                size = tuple(size)
            if isinstance(size, tuple) and len(size) == 4:
                values = _validate.check_size("size", size, 4)
                if values[:2] != (batch, channels):
                    raise ValueError(
                        f"size (N, C, H_out, W_out) must start with the input's (N, C) = "
                        f"{(batch, channels)}, got {size!r}")
                out_height, out_width = values[2:]
            else:
                out_height, out_width = _validate.check_size("size", size, 2)
        self.mode = _validate.mode_code(mode)
        self.padding = _validate.padding_code(padding_mode)
        self.align_corners = _validate.check_bool("align_corners", align_corners)
        self.input_shape = input_shape
        self.output_shape = (batch, channels, out_height, out_width)
        _validate.check_allocation("size", self.output_shape, self.dtype,
                                   self.output_shape if size is None else size)
        self.xs = normalized_base_coordinates(out_width, self.align_corners, np.float64)
        self.ys = normalized_base_coordinates(out_height, self.align_corners, np.float64)

    def options(self):
        return self.mode, self.padding, self.align_corners

    def spec(self, need_input=True, need_params=True):
        """The CPU kernel specialization for these options and gradients."""
        return cpu.Spec(self.mode, self.padding, self.align_corners, KERNEL_VECTOR_BITS,
                        need_input, need_params)

    def threads(self):
        n, c, h, w = self.output_shape
        return threads_for(n * max(c, 1) * h * w)

    def check_grad_output(self, grad_output):
        _validate.float_dtype("grad_output", grad_output)
        if tuple(np.shape(grad_output)) != self.output_shape:
            raise ValueError(
                f"grad_output must have the output's shape {self.output_shape}, "
                f"got {tuple(np.shape(grad_output))}")
        return _validate.for_kernel(grad_output, self.dtype)


def _parameters(name, value, layout, batch):
    """``value`` as a C-contiguous float64 array of shape (batch,) + layout."""
    _validate.float_dtype(name, value)
    array = np.asarray(getval(value))
    expected = "(N, " + ", ".join(str(d) for d in layout) + ")"
    _validate.check_ndim(name, array.shape, 1 + len(layout), expected)
    if array.shape[1:] != layout:
        raise ValueError(f"{name} must have shape {expected}, got {array.shape}")
    if array.shape[0] != batch:
        raise ValueError(
            f"{name} must have the input's batch size {batch}, got {array.shape[0]}")
    return _validate.for_kernel(array, np.float64)


def _run_forward(kernel, input, params, args, by_sample=True, specialized=False):
    """Run a forward kernel over chunks of rows ``n * H_out + h`` (or of output rows
    ``h`` alone, for kernels that visit every sample of a row: ``by_sample=False``).

    A ``specialized`` kernel (:func:`warpkit.kernels.cpu.specialized`) takes
    no sampling options but an index scratch per chunk; the others take the
    options as run-time integers."""
    options = () if specialized else args.options()
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    input = _validate.for_kernel(input, args.dtype)
    batch, _, out_height, _ = args.output_shape
    bounds = row_chunks((batch if by_sample else 1) * out_height, args.threads())
    run_chunks(kernel, [
        (input,) + params + (args.xs, args.ys) + options + (out,)
        + ((cpu.index_scratch(input.shape),) if specialized else ()) + (start, end)
        for start, end in zip(bounds[:-1], bounds[1:])
    ])
    return out


def _run_backward(kernel, input, params, grad_output, args, grad_shapes, by_sample=True):
    """Run a run-time-option backward kernel (the spline's); return the input
    gradient and the summed float64 accumulators, one per entry of ``grad_shapes``.

    ``by_sample=False`` is for kernels over output rows ``h`` that visit every
    sample: each chunk then scatters into its own input-gradient buffer.
    """
    grad_output = args.check_grad_output(grad_output)
    input = _validate.for_kernel(input, args.dtype)
    grad_input = np.zeros(args.input_shape, dtype=args.dtype)
    batch, _, out_height, _ = args.output_shape
    if grad_output.size == 0:
        return grad_input, [np.zeros(shape) for shape in grad_shapes]
    threads = args.threads()
    if by_sample:
        chunk_starts, chunk_buffers, n_buffers = plan_chunks(batch, out_height, threads)
    else:
        chunk_starts = row_chunks(out_height, threads)
        n_buffers = len(chunk_starts) - 1
        chunk_buffers = np.arange(n_buffers)
    n_chunks = len(chunk_starts) - 1
    buffers = gradient_buffers(grad_input, n_buffers)
    accumulators = [np.zeros((n_chunks,) + tuple(shape)) for shape in grad_shapes]
    run_chunks(kernel, [
        (input,) + params + (args.xs, args.ys, grad_output) + args.options()
        + (buffers[chunk_buffers[k]],) + tuple(acc[k] for acc in accumulators)
        + (chunk_starts[k], chunk_starts[k + 1])
        for k in range(n_chunks)
    ])
    sum_buffers(buffers, grad_input, threads)
    return grad_input, [_sum_in_order(acc) for acc in accumulators]


def _run_specialized_backward(factory, input, params, grad_output, args, param_count,
                              need_input, need_params):
    """Run the backward of a matrix family (:func:`warpkit.kernels.cpu.specialized`
    kernels) by the plan of :func:`warpkit.kernels.chunks.plan_backward`.

    Returns the input gradient (None unless ``need_input``) and the float64
    parameter gradient (N, ``param_count``), summed chunk by chunk in order.
    """
    grad_output = args.check_grad_output(grad_output)
    input = _validate.for_kernel(input, args.dtype)
    batch, channels, out_height, _ = args.output_shape
    height, width = args.input_shape[2:]
    grad_input = np.zeros(args.input_shape if need_input else (batch, channels, 0, 0),
                          dtype=args.dtype)
    grad_params = np.zeros((batch, param_count))
    if grad_output.size and (need_input or need_params):
        for pass_input, pass_params, chunks in plan_backward(
                batch, out_height, height, width, args.threads(), need_input, need_params):
            kernel = cpu.specialized(factory, args.spec(pass_input, pass_params))
            accumulators = np.zeros((len(chunks), batch, param_count))
            run_chunks(kernel, [
                (input,) + params + (args.xs, args.ys, grad_output, grad_input,
                                     accumulators[k], cpu.index_scratch(input.shape)) + chunk
                for k, chunk in enumerate(chunks)
            ])
            if pass_params:
                grad_params = _sum_in_order(accumulators)
    return (grad_input if need_input else None), grad_params


def _sum_in_order(accumulators):
    """``accumulators[0] + accumulators[1] + ...`` in that order: bit-identical on every run."""
    total = accumulators[0].copy()
    for part in accumulators[1:]:
        total += part
    return total


def _vjp_maker(vjp_function, names):
    """A ``defvjp_argnums`` maker: one backward run serves every requested gradient."""

    def maker(argnums, ans, args, kwargs):
        for argnum in argnums:
            if argnum >= len(names):
                raise ValueError(f"the fused warp is differentiable only with respect to "
                                 f"{', '.join(names)}")
        arrays = args[:len(names)]
        rest = args[len(names):]

        wrt = tuple(names[argnum] for argnum in argnums)

        def vjp(grad_output):
            grads = vjp_function(*arrays, grad_output, *rest, **kwargs, wrt=wrt)
            return tuple(grads[argnum] for argnum in argnums)

        return vjp

    return maker


def _only(grads, wrt, names):
    """``grads`` with None in place of each gradient not named in ``wrt``."""
    return tuple(grad if name in wrt else None for grad, name in zip(grads, names))


def _second_order_unsupported(*_, **__):
    raise NotImplementedError(
        "second-order derivatives of the fused warps are not supported; use grid_sample "
        "with the matching grid")


# ---------------------------------------------------------------------- affine


@primitive
def warp_affine(input, theta, size=None, mode="bilinear", padding_mode="zeros",
                align_corners=False):
    """Warp images by affine maps, fused: ``grid_sample(input, affine_grid(theta, ...))``.

    Differentiable under :mod:`autograd` with respect to ``input`` and
    ``theta``; no sampling grid is allocated in either direction.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.
    theta : ndarray, shape (N, 2, 3)
        Maps normalized *output* coordinates ``(x, y, 1)`` to normalized
        *input* coordinates (the ``input_from_output`` map of
        :func:`warpkit.affine_grid`).
    size : tuple of int, optional
        Output ``(H_out, W_out)`` (or ``(N, C, H_out, W_out)``); default the
        input's ``(H, W)``.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        Same dtype as ``input``.

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
    """
    if check_same_device(input=input, theta=theta):
        return cuda_backend().warp_affine(input, theta, size, mode, padding_mode,
                                          align_corners)
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    theta = _parameters("theta", theta, (2, 3), args.input_shape[0])
    kernel = cpu.specialized(cpu_fused.warp_affine_forward, args.spec())
    return _run_forward(kernel, input, (theta,), args, specialized=True)


@primitive
def warp_affine_vjp(input, theta, grad_output, size=None, mode="bilinear",
                    padding_mode="zeros", align_corners=False, *, wrt=("input", "theta")):
    """Gradients of :func:`warp_affine` for an output gradient, without autograd.

    Parameters
    ----------
    input, theta, size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.
    grad_output : ndarray, shape (N, C, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    wrt : tuple of {"input", "theta"}, optional
        The gradients to compute (keyword only; default both).  An STN whose
        image is data needs only ``("theta",)``, which skips the costly
        input-gradient scatter.

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W), or None
        Same dtype as ``input``; bit-identical from run to run.  None unless
        ``"input"`` is in ``wrt``.
    grad_theta : ndarray, shape (N, 2, 3), or None
        Same dtype as ``theta``; reduced in float64 inside the kernel.  None
        unless ``"theta"`` is in ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.warp import warp_affine_vjp
    >>> image = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])  # rises by 1 per pixel in x, 2 in y
    >>> theta = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])  # read the centre everywhere
    >>> grad_input, grad_theta = warp_affine_vjp(image, theta, np.ones((1, 1, 2, 2)))
    >>> grad_theta[0]  # 4 pixels, d/dx = 1 and d/dy = 2 per normalized half-width
    array([[0., 0., 4.],
           [0., 0., 8.]])
    """
    wrt = _validate.check_wrt(wrt, ("input", "theta"))
    if check_same_device(input=input, theta=theta, grad_output=grad_output):
        grads = cuda_backend().warp_affine_vjp(input, theta, grad_output, size, mode,
                                               padding_mode, align_corners)
        return _only(grads, wrt, ("input", "theta"))
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    theta_dtype = _validate.float_dtype("theta", theta)
    theta64 = _parameters("theta", theta, (2, 3), args.input_shape[0])
    need_input, need_theta = "input" in wrt, "theta" in wrt
    grad_input, grad_theta = _run_specialized_backward(
        cpu_fused.warp_affine_backward, input, (theta64,), grad_output, args, 6, need_input,
        need_theta)
    return grad_input, (grad_theta.reshape(-1, 2, 3).astype(theta_dtype) if need_theta else None)


defvjp_argnums(warp_affine, _vjp_maker(warp_affine_vjp, ("input", "theta")))
defvjp(warp_affine_vjp, *[_second_order_unsupported] * 3)


# ------------------------------------------------------------------ projective


@primitive
def warp_perspective(input, homography, size=None, mode="bilinear", padding_mode="zeros",
                     align_corners=False):
    """Warp images by homographies, fused: ``grid_sample(input, perspective_grid(...))``.

    Differentiable under :mod:`autograd` with respect to ``input`` and
    ``homography``; no sampling grid is allocated in either direction.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.
    homography : ndarray, shape (N, 3, 3)
        Maps normalized homogeneous output coordinates ``(x, y, 1)`` to
        homogeneous input coordinates ``(u, v, w)``; the sampler reads
        ``(u / w, v / w)``.  Output pixels with ``w <= 0`` (at infinity or
        behind the camera) or NaN ``w`` read the far point ``(-1e30, -1e30)``
        -- the padding value there, 0 for ``"zeros"`` -- and pass no gradient
        to ``homography``: the rule of :func:`warpkit.perspective_grid`.
    size : tuple of int, optional
        Output ``(H_out, W_out)`` (or ``(N, C, H_out, W_out)``); default the
        input's ``(H, W)``.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        Same dtype as ``input``.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> doubled = np.array([[[2.0, 0.0, 1.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]])
    >>> np.array_equal(warpkit.warp_perspective(image, doubled),  # H ~ H / 2: a shift
    ...                warpkit.warp_affine(image, np.array([[[1.0, 0, 0.5], [0, 1.0, 0]]])))
    True
    """
    if check_same_device(input=input, homography=homography):
        return cuda_backend().warp_perspective(input, homography, size, mode, padding_mode,
                                               align_corners)
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    hom = _parameters("homography", homography, (3, 3), args.input_shape[0])
    kernel = cpu.specialized(cpu_fused.warp_perspective_forward, args.spec())
    return _run_forward(kernel, input, (hom,), args, specialized=True)


@primitive
def warp_perspective_vjp(input, homography, grad_output, size=None, mode="bilinear",
                         padding_mode="zeros", align_corners=False, *,
                         wrt=("input", "homography")):
    """Gradients of :func:`warp_perspective` for an output gradient, without autograd.

    Parameters
    ----------
    input, homography, size, mode, padding_mode, align_corners
        As for :func:`warp_perspective`.
    grad_output : ndarray, shape (N, C, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    wrt : tuple of {"input", "homography"}, optional
        The gradients to compute (keyword only; default both).

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W), or None
        Same dtype as ``input``; None unless ``"input"`` is in ``wrt``.
    grad_homography : ndarray, shape (N, 3, 3), or None
        Same dtype as ``homography``; None unless ``"homography"`` is in ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.warp import warp_perspective_vjp
    >>> image = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> hom = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> grad_input, grad_hom = warp_perspective_vjp(image, hom, np.ones((1, 1, 2, 2)))
    >>> grad_hom[0]
    array([[0., 0., 4.],
           [0., 0., 8.],
           [0., 0., 0.]])
    """
    wrt = _validate.check_wrt(wrt, ("input", "homography"))
    if check_same_device(input=input, homography=homography, grad_output=grad_output):
        grads = cuda_backend().warp_perspective_vjp(input, homography, grad_output, size,
                                                    mode, padding_mode, align_corners)
        return _only(grads, wrt, ("input", "homography"))
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    dtype = _validate.float_dtype("homography", homography)
    hom = _parameters("homography", homography, (3, 3), args.input_shape[0])
    need_input, need_hom = "input" in wrt, "homography" in wrt
    grad_input, grad_hom = _run_specialized_backward(
        cpu_fused.warp_perspective_backward, input, (hom,), grad_output, args, 9, need_input,
        need_hom)
    return grad_input, (grad_hom.reshape(-1, 3, 3).astype(dtype) if need_hom else None)


defvjp_argnums(warp_perspective, _vjp_maker(warp_perspective_vjp, ("input", "homography")))
defvjp(warp_perspective_vjp, *[_second_order_unsupported] * 3)


# ---------------------------------------------------------------------- spline


def _spline_parameters(coefficients, control_points, batch):
    _validate.float_dtype("coefficients", coefficients)
    _validate.float_dtype("control_points", control_points)
    centres = np.asarray(getval(control_points))
    if centres.ndim == 2:
        centres = centres[np.newaxis]
    if centres.ndim != 3 or centres.shape[2] != 2 or centres.shape[0] not in (1, batch):
        raise ValueError(
            f"control_points must have shape (K, 2) or (N, K, 2) with N = {batch}, "
            f"got {np.shape(getval(control_points))}")
    count = centres.shape[1]
    coef = _parameters("coefficients", coefficients, (count + 3, 2), batch)
    return coef, _validate.for_kernel(centres, np.float64)


def _by_output_row(coef, centres):
    """Shared centres and a batch: loop over output rows, one kernel basis per pixel."""
    return centres.shape[0] == 1 and coef.shape[0] > 1


@primitive
def warp_spline(input, coefficients, control_points, size=None, mode="bilinear",
                padding_mode="zeros", align_corners=False):
    """Warp images by solved thin-plate splines (the fused sampler of :func:`warp_tps`).

    Differentiable under :mod:`autograd` with respect to ``input``,
    ``coefficients`` and ``control_points`` (the kernel centres).

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.
    coefficients : ndarray, shape (N, K + 3, 2)
        Spline coefficients from :func:`warpkit.tps.solve_spline`.
    control_points : ndarray, shape (K, 2) or (N, K, 2)
        The kernel centres (normalized output coordinates).
    size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        Same dtype as ``input``.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> from warpkit.tps import solve_spline
    >>> from warpkit.warp import warp_spline
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_spline(controls, controls[None])  # the identity
    >>> np.allclose(warp_spline(image, coefficients, controls), image)
    True
    """
    if check_same_device(input=input, coefficients=coefficients,
                         control_points=control_points):
        return cuda_backend().warp_spline(input, coefficients, control_points, size, mode,
                                          padding_mode, align_corners)
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    coef, centres = _spline_parameters(coefficients, control_points, args.input_shape[0])
    if _by_output_row(coef, centres):
        return _run_forward(cpu_fused.warp_spline_forward_shared, input, (coef, centres),
                            args, by_sample=False)
    return _run_forward(cpu_fused.warp_spline_forward, input, (coef, centres), args)


@primitive
def warp_spline_vjp(input, coefficients, control_points, grad_output, size=None,
                    mode="bilinear", padding_mode="zeros", align_corners=False, *,
                    wrt=("input", "coefficients", "control_points")):
    """Gradients of :func:`warp_spline` for an output gradient, without autograd.

    Parameters
    ----------
    input, coefficients, control_points, size, mode, padding_mode, align_corners
        As for :func:`warp_spline`.
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
    >>> from warpkit.tps import solve_spline
    >>> from warpkit.warp import warp_spline_vjp
    >>> image = np.random.default_rng(0).random((1, 1, 4, 4))
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_spline(controls, controls[None])
    >>> grads = warp_spline_vjp(image, coefficients, controls, np.ones((1, 1, 4, 4)))
    >>> [g.shape for g in grads]
    [(1, 1, 4, 4), (1, 7, 2), (4, 2)]
    """
    names = ("input", "coefficients", "control_points")
    wrt = _validate.check_wrt(wrt, names)
    if check_same_device(input=input, coefficients=coefficients,
                         control_points=control_points, grad_output=grad_output):
        return _only(cuda_backend().warp_spline_vjp(input, coefficients, control_points,
                                                    grad_output, size, mode, padding_mode,
                                                    align_corners), wrt, names)
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    coef_dtype = _validate.float_dtype("coefficients", coefficients)
    centre_dtype = _validate.float_dtype("control_points", control_points)
    coef, centres = _spline_parameters(coefficients, control_points, args.input_shape[0])
    by_row = _by_output_row(coef, centres)
    kernel = cpu_fused.warp_spline_backward_shared if by_row else cpu_fused.warp_spline_backward
    grad_input, (grad_coef, grad_centres) = _run_backward(
        kernel, input, (coef, centres), grad_output, args, [coef.shape, centres.shape],
        by_sample=not by_row)
    grad_centres = grad_centres.reshape(np.shape(getval(control_points)))
    return _only((grad_input, grad_coef.astype(coef_dtype), grad_centres.astype(centre_dtype)),
                 wrt, names)


defvjp_argnums(warp_spline, _vjp_maker(warp_spline_vjp,
                                       ("input", "coefficients", "control_points")))
defvjp(warp_spline_vjp, *[_second_order_unsupported] * 4)


def warp_tps(input, control_points, target_points, size=None, regularization=0.0,
             mode="bilinear", padding_mode="zeros", align_corners=False):
    """Warp images by thin-plate splines, fused: ``grid_sample(input, tps_grid(...))``.

    The spline of each sample maps its control points (normalized *output*
    coordinates) to its target points (normalized *input* coordinates); the
    coefficients are solved in float64 (:func:`warpkit.tps.solve_spline`) and
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
        Same dtype as ``input``.

    Raises
    ------
    ValueError
        Fewer than 3, duplicate or collinear control points, negative
        ``regularization``, mismatched shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> controls = warpkit.control_point_grid(9)
    >>> targets = controls[None] + np.array([0.5, 0.0])  # read one pixel to the right
    >>> np.round(warpkit.warp_tps(image, controls, targets)[0, 0], 12) + 0.0
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])
    """
    from .tps import solve_spline

    if check_same_device(input=input, control_points=control_points,
                         target_points=target_points):
        return cuda_backend().warp_tps(input, control_points, target_points, size,
                                       regularization, mode, padding_mode, align_corners)
    args = WarpArgs(input, size, mode, padding_mode, align_corners)
    coefficients = solve_spline(control_points, target_points, regularization)
    if coefficients.shape[0] != args.input_shape[0]:
        raise ValueError(
            f"target_points must have the input's batch size {args.input_shape[0]}, "
            f"got {coefficients.shape[0]}")
    return warp_spline(input, coefficients, control_points, size, mode, padding_mode,
                       align_corners)


# autograd primitives are not plain functions, so doctest does not find their
# examples on its own: list them here.
__test__ = {
    function.__name__: function.__doc__
    for function in (warp_affine, warp_affine_vjp, warp_perspective, warp_perspective_vjp,
                     warp_spline, warp_spline_vjp)
}
