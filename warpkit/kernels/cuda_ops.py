"""The GPU side of warpkit's public functions: validate device arrays, allocate, launch.

:mod:`warpkit.sampling` calls these functions when its arrays live on a CUDA
device; importing this module imports numba-cuda (``pip install
'warpkit[cuda]'``), which is why :func:`warpkit._device.cuda_backend` loads it
only on demand.

Arrays
------
Any object exposing ``__cuda_array_interface__`` is accepted (numba device
arrays, CuPy arrays, PyTorch CUDA tensors) and viewed in place with
``numba.cuda.as_cuda_array``: nothing is copied to the host.  Results are
numba device arrays (``numba.cuda.as_cuda_array``, ``cupy.asarray`` and
``torch.as_tensor(..., device="cuda")`` all view them without a copy).

Streams
-------
Kernels run on the CUDA default stream, in order.  An array whose interface
names the legacy or per-thread default stream (PyTorch's and CuPy's defaults)
is ordered with it already; for an array produced on any other stream, that
stream is synchronized before the array is read.

Fused warps
-----------
:func:`warp_affine`, :func:`warp_perspective` and :func:`warp_spline` (and
:func:`warp_tps`, which solves the spline's small linear system on the host)
and their ``*_vjp`` take the arguments of :mod:`warpkit.warp`'s functions,
validated by the same :class:`warpkit.warp.WarpArgs`, and run the kernels of
:mod:`warpkit.kernels.cuda_fused`.  Parameter gradients are reduced in a
fixed order (bit-identical from run to run); the input gradient uses the
same scatter as :func:`grid_sample_vjp`.

Input-gradient scatter
----------------------
:func:`grid_sample_vjp` has two ways to add the input gradient (see
:mod:`warpkit.kernels.cuda` for the maths and the error bound): float atomics
(fast, last bits depend on thread timing) and a fixed-point accumulation with
integer atomics (bit-identical on every run).  The deterministic path is the
default (:data:`DETERMINISTIC`), so the GPU keeps the CPU's promise that the
same inputs give the same gradients.  It costs a max-reduction of
``|grad_output|``, a pass that turns the int64 accumulator into the gradient,
and 64-bit instead of 32-bit atomics: measured on an H100 (float32,
bilinear), 1.19-1.31x the atomic path's time on the large workloads of
``benchmarks/gpu_check.py`` and up to 1.57x on tiny ones, where the two
extra launches dominate.  ``deterministic=False`` picks the atomic path.
"""

import threading

import numpy as np
from numba import cuda

from .._validate import FLOAT_DTYPES
from . import cuda as kernels
from . import cuda_fused

__all__ = [
    "grid_sample",
    "grid_sample_vjp",
    "warp_affine",
    "warp_affine_vjp",
    "warp_perspective",
    "warp_perspective_vjp",
    "warp_spline",
    "warp_spline_vjp",
    "warp_tps",
    "DETERMINISTIC",
    "release_scratch",
]

#: Default of ``deterministic`` in :func:`grid_sample_vjp`.
DETERMINISTIC = True

#: Interface stream values that are ordered with the default stream already
#: (1: legacy default stream, 2: per-thread default stream).
_DEFAULT_STREAMS = (None, 0, 1, 2)

# Scratch buffers of the deterministic scatter, kept between calls (each
# finishing kernel leaves its accumulator zeroed).  Launch sequences that
# use them hold the lock, so calls from several threads stay in order on the
# default stream.
_scratch = {}
_scratch_lock = threading.Lock()
_MAX_SCRATCH = 4

#: Blocks of the max-reduction of ``|grad_output|`` (each makes one atomic max).
MAX_REDUCTION_BLOCKS = 1024


def release_scratch():
    """Free the int64 accumulators kept between deterministic backward calls.

    Examples
    --------
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> cuda_ops.release_scratch()  # doctest: +SKIP
    """
    with _scratch_lock:
        _scratch.clear()


def as_device_array(name, value, ndim, layout):
    """``value`` as a numba device array (a view, never a copy), checked.

    Raises ``TypeError`` for host arrays and for dtypes other than float32 /
    float64, ``ValueError`` for the wrong number of dimensions.
    """
    if getattr(value, "__cuda_ndarray__", False):
        array = value
    elif hasattr(value, "__cuda_array_interface__"):
        interface = value.__cuda_array_interface__
        sync = interface.get("stream") not in _DEFAULT_STREAMS
        array = cuda.as_cuda_array(value, sync=sync)
    else:
        raise TypeError(
            f"{name} must be a CUDA array (numba device array, CuPy array or PyTorch CUDA "
            f"tensor) like the other arrays, got {type(value).__name__}"
        )
    dtype = np.dtype(array.dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {dtype}")
    if len(array.shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional {layout}, got shape "
                         f"{tuple(array.shape)}")
    return array


def grid_sample(input, grid, args):
    """:func:`warpkit.grid_sample` on the GPU.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    grid : CUDA array, shape (N, H_out, W_out, 2), float32 or float64
    args : warpkit.sampling.SampleArgs
        The validated options and shapes.

    Returns
    -------
    numba device array, shape (N, C, H_out, W_out), dtype of ``input``

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda  # doctest: +SKIP
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))  # doctest: +SKIP
    >>> grid = cuda.to_device(warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, 4, 4)))  # doctest: +SKIP
    >>> warpkit.grid_sample(image, grid).copy_to_host()[0, 0, 0]  # doctest: +SKIP
    array([0., 1., 2., 3.])
    """
    input = as_device_array("input", input, 4, "(N, C, H, W)")
    grid = as_device_array("grid", grid, 4, "(N, H_out, W_out, 2)")
    out = cuda.device_array(args.output_shape, dtype=args.dtype)
    batch, _, out_height, out_width = args.output_shape
    if out.size == 0:
        return out
    kernel = kernels.grid_sample_forward[args.mode]
    for blocks, threads, row0, col0 in kernels.pixel_chunks(batch, out_height, out_width):
        kernel[blocks, threads](input, grid, args.padding, args.align_corners, out, row0, col0)
    return out


def grid_sample_vjp(input, grid, grad_output, args, deterministic=None):
    """:func:`warpkit.grid_sample_vjp` on the GPU.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    grid : CUDA array, shape (N, H_out, W_out, 2), float32 or float64
    grad_output : CUDA array, shape (N, C, H_out, W_out), float32 or float64
    args : warpkit.sampling.SampleArgs
        The validated options and shapes.
    deterministic : bool, optional
        Fixed-point input gradient, bit-identical from run to run (default:
        :data:`DETERMINISTIC`), or float atomics (``False``).

    Returns
    -------
    grad_input : numba device array, shape (N, C, H, W), dtype of ``input``
    grad_grid : numba device array, shape (N, H_out, W_out, 2), dtype of ``grid``

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda  # doctest: +SKIP
    >>> image = cuda.to_device(np.arange(4.0).reshape(1, 1, 2, 2))  # doctest: +SKIP
    >>> grid = cuda.to_device(np.zeros((1, 1, 1, 2)))  # doctest: +SKIP
    >>> grad_output = cuda.to_device(np.ones((1, 1, 1, 1)))  # doctest: +SKIP
    >>> grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, grad_output)  # doctest: +SKIP
    >>> grad_grid.copy_to_host()[0, 0, 0]  # doctest: +SKIP
    array([1., 2.])
    """
    if deterministic is None:
        deterministic = DETERMINISTIC
    input = as_device_array("input", input, 4, "(N, C, H, W)")
    grid = as_device_array("grid", grid, 4, "(N, H_out, W_out, 2)")
    grad_output = as_device_array("grad_output", grad_output, 4, "(N, C, H_out, W_out)")
    if tuple(grad_output.shape) != args.output_shape:
        raise ValueError(f"grad_output must have the output's shape {args.output_shape}, "
                         f"got {tuple(grad_output.shape)}")
    grad_input = cuda.device_array(args.input_shape, dtype=args.dtype)
    grad_grid = cuda.device_array(tuple(grid.shape), dtype=args.grid_dtype)
    batch, _, out_height, out_width = args.output_shape
    if grad_output.size == 0 or not deterministic:
        _fill_zero(grad_input)
    if grad_output.size == 0:
        _fill_zero(grad_grid)
        return grad_input, grad_grid
    options = (args.padding, args.align_corners)
    launches = kernels.pixel_chunks(batch, out_height, out_width)
    if not deterministic:
        kernel = kernels.grid_sample_backward_atomic[args.mode]
        for blocks, threads, row0, col0 in launches:
            kernel[blocks, threads](input, grid, grad_output, *options, grad_input, grad_grid,
                                    row0, col0)
        return grad_input, grad_grid
    flat_input = grad_input.reshape(grad_input.size)
    flat_blocks, flat_threads = kernels.flat_launch(grad_input.size)
    with _scratch_lock:
        fixed, max_abs = _fixed_scratch(grad_input.size)
        kernels.fill_zero_reset[flat_blocks, flat_threads](flat_input, max_abs)
        max_blocks, max_threads = kernels.pixel_launch(batch, out_height, out_width,
                                                       max_blocks=MAX_REDUCTION_BLOCKS)
        kernels.abs_max[max_blocks, max_threads](grad_output, max_abs)
        kernel = kernels.grid_sample_backward_fixed[args.mode]
        fixed_4d = fixed.reshape(args.input_shape)
        for blocks, threads, row0, col0 in launches:
            kernel[blocks, threads](input, grid, grad_output, *options, fixed_4d, grad_input,
                                    grad_grid, max_abs, row0, col0)
        kernels.finish_fixed[flat_blocks, flat_threads](
            fixed, flat_input, max_abs, float(out_height * out_width))
    return grad_input, grad_grid


def _fill_zero(array):
    if array.size:
        blocks, threads = kernels.flat_launch(array.size)
        kernels.fill_zero[blocks, threads](array.reshape(array.size))


def _fixed_scratch(size):
    """A zeroed int64 accumulator of ``size`` elements and a float64 scalar.

    Both are kept for the next call: :data:`~warpkit.kernels.cuda.finish_fixed`
    leaves the accumulator zeroed.  Call with ``_scratch_lock`` held.
    """
    key = (_device_id(), size)
    buffers = _scratch.pop(key, None)
    if buffers is None:
        if len(_scratch) >= _MAX_SCRATCH:
            _scratch.pop(next(iter(_scratch)))
        buffers = (cuda.device_array(size, dtype=np.int64), cuda.device_array(1, np.float64))
        _fill_zero(buffers[0])
    _scratch[key] = buffers
    return buffers


def _device_id():
    try:
        return cuda.get_current_device().id
    except AttributeError:  # the simulator's device has no id
        return 0


# ------------------------------------------------------------------ fused warps

#: Blocks of the spline backward kernel (each thread holds a float64 column
#: of 4 K + 6 accumulators in global memory).
SPLINE_MAX_BLOCKS = 256

# Device copies of the normalized base coordinates, by (device, size, align).
_coordinates = {}
_MAX_COORDINATES = 32


def _fused_args(input, size, mode, padding_mode, align_corners):
    """The device ``input`` and its validated :class:`warpkit.warp.WarpArgs`."""
    from ..warp import WarpArgs

    input = as_device_array("input", input, 4, "(N, C, H, W)")
    # WarpArgs reads only the shape and dtype: a zero-strided stand-in.
    stand_in = np.broadcast_to(np.zeros((), np.dtype(input.dtype)), tuple(input.shape))
    return input, WarpArgs(stand_in, size, mode, padding_mode, align_corners)


def _base_coordinates(args):
    """``args.xs`` and ``args.ys`` on the device (cached)."""
    arrays = []
    for values in (args.xs, args.ys):
        key = (_device_id(), values.shape[0], args.align_corners)
        array = _coordinates.get(key)
        if array is None:
            if len(_coordinates) >= _MAX_COORDINATES:
                _coordinates.pop(next(iter(_coordinates)))
            array = _coordinates[key] = cuda.to_device(values)
        arrays.append(array)
    return arrays


def _parameters(name, value, layout, batch):
    """Transformation parameters on the device, shape (batch,) + layout.

    Host arrays (small) are copied to the device as float64.
    """
    expected = "(N, " + ", ".join(str(d) for d in layout) + ")"
    if _is_device(value):
        array = as_device_array(name, value, 1 + len(layout), expected)
    else:
        from ..warp import _parameters as host_parameters

        array = cuda.to_device(host_parameters(name, value, layout, batch))
    if tuple(array.shape[1:]) != layout:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(array.shape)}")
    if array.shape[0] != batch:
        raise ValueError(f"{name} must have the input's batch size {batch}, "
                         f"got {array.shape[0]}")
    return array


def _is_device(value):
    return bool(getattr(value, "__cuda_ndarray__", False)) or hasattr(
        value, "__cuda_array_interface__")


def _centres(control_points, batch):
    """Kernel centres on the device as (1, K, 2) or (N, K, 2), and their own shape."""
    if _is_device(control_points):
        centres = as_device_array("control_points", control_points,
                                  len(control_points.shape), "(K, 2) or (N, K, 2)")
    else:
        centres = cuda.to_device(np.ascontiguousarray(control_points, dtype=np.float64))
    shape = tuple(centres.shape)
    if len(shape) == 2:
        centres = centres.reshape((1,) + shape)
    if len(centres.shape) != 3 or centres.shape[2] != 2 or centres.shape[0] not in (1, batch):
        raise ValueError(f"control_points must have shape (K, 2) or (N, K, 2) with N = "
                         f"{batch}, got {shape}")
    return centres, shape


def _fused_forward(kernel, input, params, args):
    out = cuda.device_array(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    xs, ys = _base_coordinates(args)
    batch, _, out_height, out_width = args.output_shape
    kernel = kernel[args.mode]
    for blocks, threads, row0, col0 in kernels.pixel_chunks(batch, out_height, out_width):
        kernel[blocks, threads](input, *params, xs, ys, args.padding, args.align_corners, out,
                                row0, col0)
    return out


def _fused_backward(kernel, input, params, grad_output, args, deterministic, partials,
                    max_blocks=None, before=lambda: ()):
    """Run a fused backward kernel; return the input gradient.

    ``kernel`` is a ``(atomic, fixed)`` pair; ``partials(blocks_xy)`` returns
    the partial-sum arrays passed last (after the arrays of ``before``).
    """
    if deterministic is None:
        deterministic = DETERMINISTIC
    grad_output = as_device_array("grad_output", grad_output, 4, "(N, C, H_out, W_out)")
    if tuple(grad_output.shape) != args.output_shape:
        raise ValueError(f"grad_output must have the output's shape {args.output_shape}, "
                         f"got {tuple(grad_output.shape)}")
    grad_input = cuda.device_array(args.input_shape, dtype=args.dtype)
    batch, _, out_height, out_width = args.output_shape
    if grad_output.size == 0:
        _fill_zero(grad_input)
        return grad_input, None
    xs, ys = _base_coordinates(args)
    blocks, threads = cuda_fused.backward_launch(batch, out_height, out_width, max_blocks)
    partial = partials(blocks, threads)
    head = (input,) + tuple(params) + (xs, ys, grad_output, args.padding,
                                       args.align_corners)
    if not deterministic:
        _fill_zero(grad_input)
        kernel[0][args.mode][blocks, threads](*head, grad_input, grad_input, grad_input,
                                              *before(), *partial)
        return grad_input, partial
    flat_input = grad_input.reshape(grad_input.size)
    flat_blocks, flat_threads = kernels.flat_launch(grad_input.size)
    with _scratch_lock:
        fixed, max_abs = _fixed_scratch(grad_input.size)
        kernels.fill_zero_reset[flat_blocks, flat_threads](flat_input, max_abs)
        max_blocks_, max_threads = kernels.pixel_launch(batch, out_height, out_width,
                                                        max_blocks=MAX_REDUCTION_BLOCKS)
        kernels.abs_max[max_blocks_, max_threads](grad_output, max_abs)
        kernel[1][args.mode][blocks, threads](*head, fixed.reshape(args.input_shape),
                                              grad_input, max_abs, *before(), *partial)
        kernels.finish_fixed[flat_blocks, flat_threads](
            fixed, flat_input, max_abs, float(out_height * out_width))
    return grad_input, partial


def _summed(partial, rows, dtype):
    """:data:`~warpkit.kernels.cuda_fused.sum_partials` of (N, B, ...) into (rows, P)."""
    n, b = partial.shape[:2]
    size = partial.size // max(1, n * b)
    out = cuda.device_array((rows, size), dtype=dtype)
    if out.size:
        blocks, threads = kernels.flat_launch(out.size)
        cuda_fused.sum_partials[blocks, threads](partial.reshape((n, b, size)), out)
    return out


def _matrix_vjp(kernel, input, params, grad_output, args, deterministic, name, layout):
    params = _parameters(name, params, layout, args.input_shape[0])
    count = layout[0] * layout[1]
    batch = args.input_shape[0]
    grad_input, partial = _fused_backward(
        kernel, input, (params,), grad_output, args, deterministic,
        lambda blocks, threads: (cuda.device_array((batch, blocks[0] * blocks[1], count),
                                                   np.float64),))
    dtype = np.dtype(params.dtype)
    if partial is None:
        grad = cuda.device_array((batch, count), dtype=dtype)
        _fill_zero(grad)
    else:
        grad = _summed(partial[0], batch, dtype)
    return grad_input, grad.reshape((batch,) + layout)


def warp_affine(input, theta, size=None, mode="bilinear", padding_mode="zeros",
                align_corners=False):
    """:func:`warpkit.warp_affine` on the GPU.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    theta : CUDA array, shape (N, 2, 3), float32 or float64
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_affine`.

    Returns
    -------
    numba device array, shape (N, C, H_out, W_out), dtype of ``input``

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))  # doctest: +SKIP
    >>> theta = cuda.to_device(np.array([[[1.0, 0, 0.5], [0, 1.0, 0]]]))  # doctest: +SKIP
    >>> cuda_ops.warp_affine(image, theta).copy_to_host()[0, 0, 0]  # doctest: +SKIP
    array([1., 2., 3., 0.])
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    theta = _parameters("theta", theta, (2, 3), args.input_shape[0])
    return _fused_forward(cuda_fused.warp_affine_forward, input, (theta,), args)


def warp_affine_vjp(input, theta, grad_output, size=None, mode="bilinear",
                    padding_mode="zeros", align_corners=False, deterministic=None):
    """:func:`warpkit.warp.warp_affine_vjp` on the GPU.

    Parameters
    ----------
    input, theta, size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.
    grad_output : CUDA array, shape (N, C, H_out, W_out)
    deterministic : bool, optional
        As for :func:`grid_sample_vjp` (the input gradient's scatter); the
        theta gradient is reduced in a fixed order either way.

    Returns
    -------
    grad_input : numba device array, shape (N, C, H, W), dtype of ``input``
    grad_theta : numba device array, shape (N, 2, 3), dtype of ``theta``

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> image = cuda.to_device(np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))  # doctest: +SKIP
    >>> theta = cuda.to_device(np.zeros((1, 2, 3)))  # doctest: +SKIP
    >>> grad_output = cuda.to_device(np.ones((1, 1, 2, 2)))  # doctest: +SKIP
    >>> _, grad_theta = cuda_ops.warp_affine_vjp(image, theta, grad_output)  # doctest: +SKIP
    >>> grad_theta.copy_to_host()[0]  # doctest: +SKIP
    array([[0., 0., 4.],
           [0., 0., 8.]])
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    return _matrix_vjp((cuda_fused.warp_affine_backward_atomic,
                        cuda_fused.warp_affine_backward_fixed), input, theta, grad_output,
                       args, deterministic, "theta", (2, 3))


def warp_perspective(input, homography, size=None, mode="bilinear", padding_mode="zeros",
                     align_corners=False):
    """:func:`warpkit.warp_perspective` on the GPU.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    homography : CUDA array, shape (N, 3, 3), float32 or float64
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_perspective`.

    Returns
    -------
    numba device array, shape (N, C, H_out, W_out), dtype of ``input``

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))  # doctest: +SKIP
    >>> hom = cuda.to_device(np.array([[[2.0, 0, 1], [0, 2, 0], [0, 0, 2]]]))  # doctest: +SKIP
    >>> cuda_ops.warp_perspective(image, hom).copy_to_host()[0, 0, 0]  # doctest: +SKIP
    array([1., 2., 3., 0.])
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    hom = _parameters("homography", homography, (3, 3), args.input_shape[0])
    return _fused_forward(cuda_fused.warp_perspective_forward, input, (hom,), args)


def warp_perspective_vjp(input, homography, grad_output, size=None, mode="bilinear",
                         padding_mode="zeros", align_corners=False, deterministic=None):
    """:func:`warpkit.warp.warp_perspective_vjp` on the GPU.

    Parameters
    ----------
    input, homography, size, mode, padding_mode, align_corners
        As for :func:`warp_perspective`.
    grad_output : CUDA array, shape (N, C, H_out, W_out)
    deterministic : bool, optional
        As for :func:`warp_affine_vjp`.

    Returns
    -------
    grad_input : numba device array, shape (N, C, H, W), dtype of ``input``
    grad_homography : numba device array, shape (N, 3, 3), dtype of ``homography``

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> image = cuda.to_device(np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))  # doctest: +SKIP
    >>> hom = cuda.to_device(np.diag([0.0, 0.0, 1.0])[None])  # doctest: +SKIP
    >>> grad_output = cuda.to_device(np.ones((1, 1, 2, 2)))  # doctest: +SKIP
    >>> _, grad_hom = cuda_ops.warp_perspective_vjp(image, hom, grad_output)  # doctest: +SKIP
    >>> grad_hom.copy_to_host()[0, :2]  # doctest: +SKIP
    array([[0., 0., 4.],
           [0., 0., 8.]])
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    return _matrix_vjp((cuda_fused.warp_perspective_backward_atomic,
                        cuda_fused.warp_perspective_backward_fixed), input, homography,
                       grad_output, args, deterministic, "homography", (3, 3))


def warp_spline(input, coefficients, control_points, size=None, mode="bilinear",
                padding_mode="zeros", align_corners=False):
    """:func:`warpkit.warp.warp_spline` on the GPU.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    coefficients : array, shape (N, K + 3, 2)
        On the device, or a (small) host array that is copied there.
    control_points : array, shape (K, 2) or (N, K, 2)
        The kernel centres, on the device or the host.
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp.warp_spline`.

    Returns
    -------
    numba device array, shape (N, C, H_out, W_out), dtype of ``input``

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> from warpkit.tps import solve_spline
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_spline(controls, controls[None])  # the identity
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> out = cuda_ops.warp_spline(cuda.to_device(image), coefficients, controls)  # doctest: +SKIP
    >>> np.allclose(out.copy_to_host(), image)  # doctest: +SKIP
    True
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    batch = args.input_shape[0]
    centres, _ = _centres(control_points, batch)
    coef = _parameters("coefficients", coefficients, (centres.shape[1] + 3, 2), batch)
    return _fused_forward(cuda_fused.warp_spline_forward, input, (coef, centres), args)


def warp_spline_vjp(input, coefficients, control_points, grad_output, size=None,
                    mode="bilinear", padding_mode="zeros", align_corners=False,
                    deterministic=None):
    """:func:`warpkit.warp.warp_spline_vjp` on the GPU.

    Parameters
    ----------
    input, coefficients, control_points, size, mode, padding_mode, align_corners
        As for :func:`warp_spline`.
    grad_output : CUDA array, shape (N, C, H_out, W_out)
    deterministic : bool, optional
        As for :func:`warp_affine_vjp`.

    Returns
    -------
    grad_input : numba device array, shape (N, C, H, W)
    grad_coefficients : numba device array, shape (N, K + 3, 2)
    grad_control_points : numba device array, shape of ``control_points``

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> from warpkit.tps import solve_spline
    >>> controls = warpkit.control_point_grid(4)
    >>> coefficients = solve_spline(controls, controls[None])
    >>> image = cuda.to_device(np.random.default_rng(0).random((1, 1, 4, 4)))  # doctest: +SKIP
    >>> grads = cuda_ops.warp_spline_vjp(image, coefficients, controls,
    ...                                  cuda.to_device(np.ones((1, 1, 4, 4))))  # doctest: +SKIP
    >>> [g.shape for g in grads]  # doctest: +SKIP
    [(1, 1, 4, 4), (1, 7, 2), (4, 2)]
    """
    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    batch = args.input_shape[0]
    centres, centre_shape = _centres(control_points, batch)
    count = centres.shape[1]
    coef = _parameters("coefficients", coefficients, (count + 3, 2), batch)
    slots = []

    def partials(blocks, threads):
        total = blocks[0] * blocks[1] * blocks[2] * threads[0] * threads[1]
        for shape in ((count + 3, 2, total), (count, 2, total)):
            slot = cuda.device_array(shape, np.float64)
            _fill_zero(slot)
            slots.append(slot)
        blocks_xy = blocks[0] * blocks[1]
        return (cuda.device_array((batch, blocks_xy, count + 3, 2), np.float64),
                cuda.device_array((batch, blocks_xy, count, 2), np.float64))

    grad_input, partial = _fused_backward(
        (cuda_fused.warp_spline_backward_atomic, cuda_fused.warp_spline_backward_fixed),
        input, (coef, centres), grad_output, args, deterministic, partials,
        max_blocks=SPLINE_MAX_BLOCKS, before=lambda: tuple(slots))
    coef_dtype, centre_dtype = np.dtype(coef.dtype), np.dtype(centres.dtype)
    if partial is None:
        grad_coef = cuda.device_array((batch, (count + 3) * 2), dtype=coef_dtype)
        grad_centres = cuda.device_array((centres.shape[0], count * 2), dtype=centre_dtype)
        _fill_zero(grad_coef)
        _fill_zero(grad_centres)
    else:
        grad_coef = _summed(partial[0], batch, coef_dtype)
        grad_centres = _summed(partial[1], centres.shape[0], centre_dtype)
    return (grad_input, grad_coef.reshape((batch, count + 3, 2)),
            grad_centres.reshape(centre_shape))


def warp_tps(input, control_points, target_points, size=None, regularization=0.0,
             mode="bilinear", padding_mode="zeros", align_corners=False):
    """:func:`warpkit.warp_tps` on the GPU.

    The spline's ``(K + 3)``-sized linear system is solved on the host in
    float64 (:func:`warpkit.tps.solve_spline`; the points are copied there),
    the image is warped on the device.

    Parameters
    ----------
    input : CUDA array, shape (N, C, H, W), float32 or float64
    control_points : array, shape (K, 2) or (N, K, 2)
    target_points : array, shape (N, K, 2)
    size, regularization, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_tps`.

    Returns
    -------
    numba device array, shape (N, C, H_out, W_out), dtype of ``input``

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda  # doctest: +SKIP
    >>> from warpkit.kernels import cuda_ops  # doctest: +SKIP
    >>> controls = warpkit.control_point_grid(4)
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))  # doctest: +SKIP
    >>> out = cuda_ops.warp_tps(image, controls, controls[None])  # doctest: +SKIP
    >>> np.allclose(out.copy_to_host(), np.arange(16.0).reshape(1, 1, 4, 4))  # doctest: +SKIP
    True
    """
    from ..tps import solve_spline

    def host(points):
        if not getattr(points, "__cuda_ndarray__", False):
            points = cuda.as_cuda_array(points)
        return points.copy_to_host()

    input, args = _fused_args(input, size, mode, padding_mode, align_corners)
    control_points = host(control_points) if _is_device(control_points) else control_points
    target_points = host(target_points) if _is_device(target_points) else target_points
    coefficients = solve_spline(control_points, target_points, regularization)
    if coefficients.shape[0] != args.input_shape[0]:
        raise ValueError(f"target_points must have the input's batch size "
                         f"{args.input_shape[0]}, got {coefficients.shape[0]}")
    return warp_spline(input, coefficients, control_points, size, mode, padding_mode,
                       align_corners)
