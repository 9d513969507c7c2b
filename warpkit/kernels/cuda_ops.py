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

__all__ = ["grid_sample", "grid_sample_vjp", "DETERMINISTIC", "release_scratch"]

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
    blocks, threads = kernels.pixel_launch(batch, out_height, out_width)
    kernels.grid_sample_forward[blocks, threads](
        input, grid, args.mode, args.padding, args.align_corners, out)
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
    blocks, threads = kernels.pixel_launch(batch, out_height, out_width)
    options = (args.mode, args.padding, args.align_corners)
    if not deterministic:
        kernels.grid_sample_backward_atomic[blocks, threads](
            input, grid, grad_output, *options, grad_input, grad_grid)
        return grad_input, grad_grid
    flat_input = grad_input.reshape(grad_input.size)
    flat_blocks, flat_threads = kernels.flat_launch(grad_input.size)
    with _scratch_lock:
        fixed, max_abs = _fixed_scratch(grad_input.size)
        kernels.fill_zero_reset[flat_blocks, flat_threads](flat_input, max_abs)
        max_blocks, max_threads = kernels.pixel_launch(batch, out_height, out_width,
                                                       max_blocks=MAX_REDUCTION_BLOCKS)
        kernels.abs_max[max_blocks, max_threads](grad_output, max_abs)
        kernels.grid_sample_backward_fixed[blocks, threads](
            input, grid, grad_output, *options, fixed.reshape(args.input_shape), grad_input,
            grad_grid, max_abs)
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
