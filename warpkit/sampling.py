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
from .kernels.chunks import plan_backward, row_chunks
from .kernels.simd import KERNEL_VECTOR_BITS

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
        _validate.check_extent("input", input_shape)
        self.input_shape = input_shape
        self.output_shape = input_shape[:2] + grid_shape[1:3]
        if not self.on_device:
            _validate.check_allocation("grid", self.output_shape, self.dtype, grid_shape)

    def spec(self, wrt=("input", "grid")):
        """The CPU kernel specialization for these options and gradients."""
        return cpu.Spec(self.mode, self.padding, self.align_corners, KERNEL_VECTOR_BITS,
                        "input" in wrt, "grid" in wrt)

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
    kernel = cpu.specialized(cpu.grid_sample_forward, args.spec())
    rows = grid.shape[0] * grid.shape[1]
    threads = threads_for(args.output_work())
    if threads == 1:
        kernel(input, grid, out, cpu.index_scratch(input.shape), 0, rows)
        return out
    bounds = row_chunks(rows, threads)
    run_chunks(kernel, [(input, grid, out, cpu.index_scratch(input.shape), start, end)
                        for start, end in zip(bounds[:-1], bounds[1:])])
    return out


@primitive
def grid_sample_vjp(input, grid, grad_output, mode="bilinear", padding_mode="zeros",
                    align_corners=False, *, wrt=("input", "grid")):
    """Gradients of :func:`grid_sample` for an output gradient, without autograd.

    The input gradient is a scatter; it is computed race-free, without
    per-thread copies of the image, and is bit-identical from run to run
    whatever the thread count.
    Ask only for the gradients you need with ``wrt``: the input-gradient
    scatter is most of the cost, and an STN whose image is data needs only
    the grid's.

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
    wrt : tuple of {"input", "grid"}, optional
        The gradients to compute (keyword only; default both).

    Returns
    -------
    grad_input : ndarray, shape (N, C, H, W), or None
        Same dtype as ``input``; None unless ``"input"`` is in ``wrt``.
    grad_grid : ndarray, shape (N, H_out, W_out, 2), or None
        Same dtype as ``grid``.  Zero for ``mode="nearest"``, and where a
        padding mode clamps the coordinate; None unless ``"grid"`` is in
        ``wrt``.

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
    >>> warpkit.grid_sample_vjp(image, grid, np.ones((1, 1, 1, 1)), wrt=("grid",))[0] is None
    True
    """
    args = SampleArgs(input, grid, mode, padding_mode, align_corners)
    wrt = _validate.check_wrt(wrt, ("input", "grid"))
    if check_same_device(input=input, grad_output=grad_output):
        grads = cuda_backend().grid_sample_vjp(input, grid, grad_output, args)
        return tuple(g if name in wrt else None for g, name in zip(grads, ("input", "grid")))
    _validate.float_dtype("grad_output", grad_output)
    if tuple(np.shape(grad_output)) != args.output_shape:
        raise ValueError(
            f"grad_output must have the output's shape {args.output_shape}, "
            f"got {tuple(np.shape(grad_output))}"
        )
    input = _validate.for_kernel(input, args.dtype)
    grid_for_kernel = _validate.for_kernel(grid, args.dtype)
    grad_output = _validate.for_kernel(grad_output, args.dtype)
    need_input, need_grid = "input" in wrt, "grid" in wrt
    batch, channels = args.input_shape[:2]
    if need_input:
        grad_input = np.zeros(args.input_shape, dtype=args.dtype)
    else:
        grad_input = np.zeros((batch, channels, 0, 0), dtype=args.dtype)
    grad_grid = (np.empty if grad_output.size else np.zeros)(
        grid_for_kernel.shape if need_grid else (0, 0, 0, 2), dtype=args.dtype)
    if grad_output.size and (need_input or need_grid):
        height, width = args.input_shape[2:]
        passes = plan_backward(batch, grid_for_kernel.shape[1], height, width,
                               threads_for(args.output_work()), need_input, need_grid)
        for pass_input, pass_grid, chunks in passes:
            kernel = cpu.specialized(cpu.grid_sample_backward,
                                     args.spec(("input",) * pass_input + ("grid",) * pass_grid))
            run_chunks(kernel, [
                (input, grid_for_kernel, grad_output, grad_input, grad_grid,
                 cpu.index_scratch(input.shape)) + chunk
                for chunk in chunks
            ])
    return (grad_input if need_input else None,
            grad_grid.astype(args.grid_dtype, copy=False) if need_grid else None)


def _grid_sample_vjp_maker(argnums, ans, args, kwargs):
    input, grid = args[0], args[1]
    options = dict(zip(("mode", "padding_mode", "align_corners"), args[2:]), **kwargs)
    for argnum in argnums:
        if argnum > 1:
            raise ValueError("grid_sample is differentiable only with respect to input and grid")

    wrt = tuple(("input", "grid")[argnum] for argnum in argnums)

    def vjp(grad_output):
        grads = grid_sample_vjp(input, grid, grad_output, **options, wrt=wrt)
        return tuple(grads[argnum] for argnum in argnums)

    return vjp


defvjp_argnums(grid_sample, _grid_sample_vjp_maker)


def _second_order_unsupported(*_, **__):
    raise NotImplementedError(
        "second-order derivatives of grid_sample (the gradient of grid_sample_vjp) "
        "are not supported"
    )


defvjp(grid_sample_vjp, _second_order_unsupported, _second_order_unsupported,
       _second_order_unsupported)


# autograd's primitive wrappers hide the examples from doctest's finder.
__test__ = {function.__name__: function.__doc__ for function in (grid_sample, grid_sample_vjp)}
