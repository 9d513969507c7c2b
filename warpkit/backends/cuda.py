"""The CUDA backend: view device arrays, allocate results, launch the kernels.

The same functions as :mod:`warpkit.backends.cpu`, for arrays that live on a
CUDA device; the primitives call them through :func:`warpkit._device.backend_for`.
Importing this module imports numba-cuda (``pip install 'warpkit[cuda]'``),
which is why it is loaded only on demand.

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
:func:`fused_forward` and :func:`fused_vjp` run the CUDA kernel set that a
family's spec names (:mod:`warpkit.families`, kernels in
:mod:`warpkit.kernels.cuda_fused`).  Parameter gradients are reduced in a
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

import contextlib
import threading

import numpy as np
from numba import cuda

from .._validate import FLOAT_DTYPES
from ..kernels import cuda as kernels
from ..kernels import cuda_fused

__all__ = [
    "grid_sample",
    "grid_sample_vjp",
    "parameters",
    "fused_forward",
    "fused_vjp",
    "to_host",
    "DETERMINISTIC",
    "scatter",
    "release_scratch",
]

#: Default of ``deterministic`` in :func:`grid_sample_vjp`.
DETERMINISTIC = True



@contextlib.contextmanager
def scatter(deterministic):
    """Within the block, backward passes use the fixed-point (``True``) or the
    atomic (``False``) input-gradient scatter, whatever :data:`DETERMINISTIC`
    says.  For tests and benchmarks: the setting is process-wide.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda
    >>> from warpkit.backends import cuda as backend
    >>> image = cuda.to_device(np.arange(4.0).reshape(1, 1, 2, 2))
    >>> grid, grad_output = cuda.to_device(np.zeros((1, 1, 1, 2))), cuda.to_device(np.ones((1, 1, 1, 1)))
    >>> with backend.scatter(deterministic=False):
    ...     grad_input, _ = warpkit.grid_sample_vjp(image, grid, grad_output)
    >>> grad_input.copy_to_host()[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    global DETERMINISTIC
    saved, DETERMINISTIC = DETERMINISTIC, bool(deterministic)
    try:
        yield
    finally:
        DETERMINISTIC = saved


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
    >>> from warpkit.backends import cuda
    >>> cuda.release_scratch()
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
    if ndim is not None and len(array.shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional {layout}, got shape "
                         f"{tuple(array.shape)}")
    return array


def to_host(value):
    """A device array's values as a NumPy array (for the small point sets the
    thin-plate spline solves on the host)."""
    return as_device_array("points", value, None, "").copy_to_host()


def to_device(value, dtype=np.float64):
    """A small host array (solved spline coefficients, point gradients) on the device."""
    return cuda.to_device(np.ascontiguousarray(value, dtype=dtype))


# ------------------------------------------------------------- grid_sample


def grid_sample(args, input, grid):
    """:func:`warpkit.grid_sample` on device arrays: a numba device array,
    shape (N, C, H_out, W_out), dtype of ``input``.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> grid = cuda.to_device(warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, 4, 4)))
    >>> warpkit.grid_sample(image, grid).copy_to_host()[0, 0, 0]
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


def grid_sample_vjp(args, input, grid, grad_output, need_input, need_grid,
                    deterministic=None):
    """:func:`warpkit.grid_sample_vjp` on device arrays: ``(grad_input, grad_grid)``
    as numba device arrays, each None unless needed.

    ``deterministic`` picks the fixed-point input gradient, bit-identical from
    run to run (default: :data:`DETERMINISTIC`), or float atomics (False).

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda
    >>> image = cuda.to_device(np.arange(4.0).reshape(1, 1, 2, 2))
    >>> grid = cuda.to_device(np.zeros((1, 1, 1, 2)))
    >>> grad_output = cuda.to_device(np.ones((1, 1, 1, 1)))
    >>> grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, grad_output)
    >>> grad_grid.copy_to_host()[0, 0, 0]
    array([1., 2.])
    """
    input = as_device_array("input", input, 4, "(N, C, H, W)")
    grid = as_device_array("grid", grid, 4, "(N, H_out, W_out, 2)")
    grad_output = as_device_array("grad_output", grad_output, 4, "(N, C, H_out, W_out)")
    grad_grid = cuda.device_array(tuple(grid.shape), dtype=args.grid_dtype)
    batch, _, out_height, out_width = args.output_shape
    options = (args.padding, args.align_corners)
    launches = kernels.pixel_chunks(batch, out_height, out_width)

    def launch(kernel, grad_input, fixed=None, max_abs=None):
        targets = ((grad_input, grad_grid) if fixed is None
                   else (fixed, grad_input, grad_grid, max_abs))
        for blocks, threads, row0, col0 in launches:
            kernel[args.mode][blocks, threads](input, grid, grad_output, *options, *targets,
                                               row0, col0)

    if grad_output.size == 0:
        _fill_zero(grad_grid)
    grad_input = _scatter(args, grad_output, deterministic, launch,
                          (kernels.grid_sample_backward_atomic,
                           kernels.grid_sample_backward_fixed))
    return (grad_input if need_input else None), (grad_grid if need_grid else None)


def _scatter(args, grad_output, deterministic, launch, kernel_pair):
    """The input gradient of a backward kernel pair, launched by
    ``launch(kernel, grad_input, fixed=None, max_abs=None)``.

    The atomic kernel adds into ``grad_input``; the fixed-point one adds into
    the int64 accumulator ``fixed`` at a scale set by ``max |grad_output|``
    (``max_abs``), and a last pass turns the accumulator into
    ``grad_input``.  An empty ``grad_output`` launches nothing: zeros.
    """
    if deterministic is None:
        deterministic = DETERMINISTIC
    grad_input = cuda.device_array(args.input_shape, dtype=args.dtype)
    if grad_output.size == 0:
        _fill_zero(grad_input)
        return grad_input
    if not deterministic:
        _fill_zero(grad_input)
        launch(kernel_pair[0], grad_input)
        return grad_input
    batch, _, out_height, out_width = args.output_shape
    flat_input = grad_input.reshape(grad_input.size)
    flat_blocks, flat_threads = kernels.flat_launch(grad_input.size)
    with _scratch_lock:
        fixed, max_abs = _fixed_scratch(grad_input.size)
        kernels.fill_zero_reset[flat_blocks, flat_threads](flat_input, max_abs)
        max_blocks, max_threads = kernels.pixel_launch(batch, out_height, out_width,
                                                       max_blocks=MAX_REDUCTION_BLOCKS)
        kernels.abs_max[max_blocks, max_threads](grad_output, max_abs)
        launch(kernel_pair[1], grad_input, fixed.reshape(args.input_shape), max_abs)
        kernels.finish_fixed[flat_blocks, flat_threads](
            fixed, flat_input, max_abs, float(out_height * out_width))
    return grad_input


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


def _kernel_set(family):
    return getattr(cuda_fused, family.cuda)


def parameters(family, args, values):
    """A family's parameters as device views in their kernel shapes."""
    arrays = [as_device_array(name, value, None, "")
              for name, value in zip(family.parameters, values)]
    shapes = family.kernel_shapes(args.input_shape[0], dict(zip(
        family.parameters, (tuple(array.shape) for array in arrays))))
    return tuple(array.reshape(shape) for array, shape in zip(arrays, shapes))


def fused_forward(family, args, input, params):
    """The warped images as a numba device array (N, C, H_out, W_out).

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda
    >>> image = cuda.to_device(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> theta = cuda.to_device(np.array([[[1.0, 0, 0.5], [0, 1.0, 0]]]))
    >>> warpkit.warp_affine(image, theta).copy_to_host()[0, 0, 0]
    array([1., 2., 3., 0.])
    >>> hom = cuda.to_device(np.array([[[2.0, 0, 1], [0, 2, 0], [0, 0, 2]]]))
    >>> warpkit.warp_perspective(image, hom).copy_to_host()[0, 0, 0]
    array([1., 2., 3., 0.])
    >>> controls = cuda.to_device(warpkit.control_point_grid(4))
    >>> out = warpkit.warp_tps(image, controls, cuda.to_device(warpkit.control_point_grid(4)[None]))
    >>> np.allclose(out.copy_to_host(), np.arange(16.0).reshape(1, 1, 4, 4))
    True
    """
    input = as_device_array("input", input, 4, "(N, C, H, W)")
    out = cuda.device_array(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    xs, ys = _base_coordinates(args)
    batch, _, out_height, out_width = args.output_shape
    kernel = _kernel_set(family).forward[args.mode]
    for blocks, threads, row0, col0 in kernels.pixel_chunks(batch, out_height, out_width):
        kernel[blocks, threads](input, *params, xs, ys, args.padding, args.align_corners, out,
                                row0, col0)
    return out


def fused_vjp(family, args, input, params, grad_output, need_input, need_params,
              deterministic=None):
    """``(grad_input or None, [gradient of each parameter, in its kernel shape and
    dtype] or None)``, as device arrays.

    The parameter gradients are per-block partial sums, added in a fixed
    order (:data:`~warpkit.kernels.cuda_fused.sum_partials`).

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> from numba import cuda
    >>> image = cuda.to_device(np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    >>> theta = cuda.to_device(np.zeros((1, 2, 3)))
    >>> grad_output = cuda.to_device(np.ones((1, 1, 2, 2)))
    >>> _, grad_theta = warpkit.warp_affine_vjp(image, theta, grad_output)
    >>> grad_theta.copy_to_host()[0]
    array([[0., 0., 4.],
           [0., 0., 8.]])
    """
    input = as_device_array("input", input, 4, "(N, C, H, W)")
    grad_output = as_device_array("grad_output", grad_output, 4, "(N, C, H_out, W_out)")
    kernel_set = _kernel_set(family)
    batch, _, out_height, out_width = args.output_shape
    if grad_output.size == 0:
        grad_input = _scatter(args, grad_output, deterministic, None, None)
        grads = []
        for param in params:
            grad = cuda.device_array(tuple(param.shape), dtype=np.dtype(param.dtype))
            _fill_zero(grad)
            grads.append(grad)
        return (grad_input if need_input else None), (grads if need_params else None)
    matrix = isinstance(kernel_set, cuda_fused.MatrixKernels)
    blocks, threads = cuda_fused.backward_launch(
        batch, out_height, out_width, None if matrix else SPLINE_MAX_BLOCKS)
    blocks_xy = blocks[0] * blocks[1]
    # (N, blocks, P) partial sums: matrix kernels index the P entries flat
    partials = [cuda.device_array((batch, blocks_xy) + ((param.size // param.shape[0],)
                                                        if matrix else tuple(param.shape[1:])),
                                  np.float64)
                for param in params]
    slots = () if matrix else _tps_slots(params, blocks, threads)
    xs, ys = _base_coordinates(args)

    def launch(kernel, grad_input, fixed=None, max_abs=None):
        if fixed is None:  # the atomic kernel: its fixed-point arguments unused
            fixed = max_abs = grad_input
        kernel[args.mode][blocks, threads](input, *params, xs, ys, grad_output, args.padding,
                                           args.align_corners, fixed, grad_input, max_abs,
                                           *slots, *partials)

    grad_input = _scatter(args, grad_output, deterministic, launch,
                          (kernel_set.backward_atomic, kernel_set.backward_fixed))
    grads = []
    for param, partial in zip(params, partials):
        rows = param.shape[0]
        grad = cuda.device_array((rows, param.size // rows), dtype=np.dtype(param.dtype))
        if grad.size:
            flat_blocks, flat_threads = kernels.flat_launch(grad.size)
            cuda_fused.sum_partials[flat_blocks, flat_threads](
                partial.reshape((batch, blocks_xy, grad.shape[1])), grad)
        grads.append(grad.reshape(tuple(param.shape)))
    return (grad_input if need_input else None), (grads if need_params else None)


def _tps_slots(params, blocks, threads):
    """Zeroed per-thread float64 accumulators of the spline backward kernel."""
    count = params[1].shape[1]
    total = blocks[0] * blocks[1] * blocks[2] * threads[0] * threads[1]
    slots = []
    for shape in ((count + 3, 2, total), (count, 2, total)):
        slot = cuda.device_array(shape, np.float64)
        _fill_zero(slot)
        slots.append(slot)
    return tuple(slots)
