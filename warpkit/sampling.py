"""``grid_sample`` and its explicit backward, as autograd primitives.

This is the only module that knows both the kernels and autograd: it
validates arguments, allocates outputs, picks the CPU or CUDA kernels, and
registers the vector-Jacobian product so that one backward kernel run gives
the gradients with respect to both the input and the grid.
"""

import numpy as np
from autograd.extend import defvjp, defvjp_argnums, primitive

from . import _validate
from ._device import check_same_device, cuda_backend
from ._threads import run_chunks, threads_for
from .kernels import cpu
from .kernels.chunks import gradient_buffers, plan_chunks, row_chunks, sum_buffers

__all__ = ["grid_sample", "grid_sample_vjp"]


class SampleArgs:
    """Validated arguments of a sampling call (shapes, dtype, integer codes)."""

    def __init__(self, input, grid, mode, padding_mode, align_corners):
        self.on_device = check_same_device(input=input, grid=grid)
        self.dtype = _validate.float_dtype("input", input)
        self.grid_dtype = _validate.float_dtype("grid", grid)
        self.mode = _validate.mode_code(mode)
        self.padding = _validate.padding_code(padding_mode)
        self.align_corners = _validate.check_bool("align_corners", align_corners)
        input_shape = tuple(np.shape(input)) if not self.on_device else tuple(input.shape)
        grid_shape = tuple(np.shape(grid)) if not self.on_device else tuple(grid.shape)
        _validate.check_ndim("input", input_shape, 4, "(N, C, H, W)")
        _validate.check_ndim("grid", grid_shape, 4, "(N, H_out, W_out, 2)")
        if grid_shape[3] != 2:
            raise ValueError(f"grid must have shape (N, H_out, W_out, 2), got {grid_shape}")
        if grid_shape[0] != input_shape[0]:
            raise ValueError(
                f"input and grid must have the same batch size, got input {input_shape} "
                f"and grid {grid_shape}"
            )
        if (input_shape[2] == 0 or input_shape[3] == 0) and input_shape[0] * input_shape[1]:
            raise ValueError(f"input must have non-empty height and width, got shape {input_shape}")
        self.input_shape = input_shape
        self.output_shape = input_shape[:2] + grid_shape[1:3]
        if not self.on_device:
            _validate.check_allocation("grid", self.output_shape, self.dtype, grid_shape)

    def output_work(self):
        """Number of output elements, the measure that picks the thread count."""
        n, c, h, w = self.output_shape
        return n * max(c, 1) * h * w


@primitive
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """Sample ``input`` at the normalized coordinates in ``grid`` (PyTorch semantics).

    Differentiable under :mod:`autograd` with respect to ``input`` and ``grid``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from.  A GPU array (``__cuda_array_interface__``) runs
        on the GPU and returns a device array.
    grid : ndarray, shape (N, H_out, W_out, 2)
        For every output pixel, the input coordinate ``(x, y)`` to read,
        normalized to ``[-1, 1]`` (see :mod:`warpkit.coords`).  Converted to
        the dtype of ``input``.  Non-finite and huge values are defined: NaN
        reads as ``-1`` (the rule PyTorch documents); coordinates beyond
        ``±2**30`` pixels, ``±Inf`` included, give 0 with ``"zeros"`` padding
        and the nearest edge value with ``"border"`` and ``"reflection"``, with
        zero gradient.  No index ever leaves the image.
    mode : {"bilinear", "nearest", "bicubic"}, optional
        Interpolation.  ``nearest`` rounds half to even; ``bicubic`` uses the
        Keys kernel with ``a = -0.75`` on the 4x4 neighbourhood.
    padding_mode : {"zeros", "border", "reflection"}, optional
        What taps outside the image read: 0, the nearest border pixel, or the
        image mirrored about its edges (``align_corners=False``) or about its
        corner pixel centres (``align_corners=True``).
    align_corners : bool, optional
        Whether ``±1`` are the centres of the corner pixels (True) or their
        outer edges (False, the default).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        Same dtype as ``input``.

    Raises
    ------
    TypeError
        If an array is not float32/float64, or CPU and GPU arrays are mixed.
    ValueError
        If shapes do not match or a mode name is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> theta = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # shift right by one pixel
    >>> grid = warpkit.affine_grid(theta, image.shape)
    >>> warpkit.grid_sample(image, grid)[0, 0]
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])
    """
    args = SampleArgs(input, grid, mode, padding_mode, align_corners)
    if args.on_device:
        return cuda_backend().grid_sample(input, grid, args)
    input = _validate.for_kernel(input, args.dtype)
    grid = _validate.for_kernel(grid, args.dtype)
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    bounds = row_chunks(grid.shape[0] * grid.shape[1], threads_for(args.output_work()))
    run_chunks(cpu.grid_sample_forward, [
        (input, grid, args.mode, args.padding, args.align_corners, out, start, end)
        for start, end in zip(bounds[:-1], bounds[1:])
    ])
    return out


@primitive
def grid_sample_vjp(input, grid, grad_output, mode="bilinear", padding_mode="zeros",
                    align_corners=False):
    """Gradients of :func:`grid_sample` for an output gradient, without autograd.

    The input gradient is a scatter; it is computed race-free and is
    bit-identical from run to run for the same arguments and thread count.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W)
        The images passed to :func:`grid_sample`.
    grid : ndarray, shape (N, H_out, W_out, 2)
        The grid passed to :func:`grid_sample`.
    grad_output : ndarray, shape (N, C, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    mode, padding_mode, align_corners
        As for :func:`grid_sample`.

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W)
        Same dtype as ``input``.
    grad_grid : ndarray, shape (N, H_out, W_out, 2)
        Same dtype as ``grid``.  Zero for ``mode="nearest"``, and where a
        padding mode clamps the coordinate.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> grid = np.zeros((1, 1, 1, 2))  # read the image centre
    >>> grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones((1, 1, 1, 1)))
    >>> grad_input[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> grad_grid[0, 0, 0]  # d output / d (x, y): the image rises by 1 per pixel in x, 2 in y
    array([1., 2.])
    """
    args = SampleArgs(input, grid, mode, padding_mode, align_corners)
    if check_same_device(input=input, grad_output=grad_output):
        return cuda_backend().grid_sample_vjp(input, grid, grad_output, args)
    _validate.float_dtype("grad_output", grad_output)
    if tuple(np.shape(grad_output)) != args.output_shape:
        raise ValueError(
            f"grad_output must have the output's shape {args.output_shape}, "
            f"got {tuple(np.shape(grad_output))}"
        )
    input = _validate.for_kernel(input, args.dtype)
    grid_for_kernel = _validate.for_kernel(grid, args.dtype)
    grad_output = _validate.for_kernel(grad_output, args.dtype)
    grad_input = np.zeros(args.input_shape, dtype=args.dtype)
    grad_grid = np.zeros(grid_for_kernel.shape, dtype=args.dtype)
    if grad_output.size == 0:
        return grad_input, grad_grid.astype(args.grid_dtype, copy=False)
    batch, out_height = grid_for_kernel.shape[:2]
    threads = threads_for(args.output_work())
    chunk_starts, chunk_buffers, n_buffers = plan_chunks(batch, out_height, threads)
    buffers = gradient_buffers(grad_input, n_buffers)
    run_chunks(cpu.grid_sample_backward, [
        (input, grid_for_kernel, grad_output, args.mode, args.padding, args.align_corners,
         buffers[buffer], grad_grid, start, end)
        for start, end, buffer in zip(chunk_starts[:-1], chunk_starts[1:], chunk_buffers)
    ])
    sum_buffers(buffers, grad_input, threads)
    return grad_input, grad_grid.astype(args.grid_dtype, copy=False)


def _grid_sample_vjp_maker(argnums, ans, args, kwargs):
    input, grid = args[0], args[1]
    options = dict(zip(("mode", "padding_mode", "align_corners"), args[2:]), **kwargs)
    for argnum in argnums:
        if argnum > 1:
            raise ValueError("grid_sample is differentiable only with respect to input and grid")

    def vjp(grad_output):
        grads = grid_sample_vjp(input, grid, grad_output, **options)
        return tuple(grads[argnum] for argnum in argnums)

    return vjp


defvjp_argnums(grid_sample, _grid_sample_vjp_maker)


def _second_order_unsupported(*_):
    raise NotImplementedError(
        "second-order derivatives of grid_sample (the gradient of grid_sample_vjp) "
        "are not supported"
    )


defvjp(grid_sample_vjp, _second_order_unsupported, _second_order_unsupported,
       _second_order_unsupported)


# autograd's primitive wrappers hide the examples from doctest's finder.
__test__ = {function.__name__: function.__doc__ for function in (grid_sample, grid_sample_vjp)}
