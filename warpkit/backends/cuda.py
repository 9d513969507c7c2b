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

Volumes and displacement fields
-------------------------------
5-D ``grid_sample``, the fused 3-D warps (families with ``dims`` 3) and
:func:`displacement` / :func:`displacement_vjp` (2-D and 3-D) run the
kernels of :mod:`warpkit.kernels.cuda_volume`, imported on first use.  A
volume's ``(D_out, H_out)`` are flattened into the rows of the 2-D launch
geometry and its input gradient is scattered into the ``(N, C, D * H, W)``
view of the gradient, with the same two scatters as images; without
``need_input`` a volume kernel scatters nothing.

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
    "displacement",
    "displacement_vjp",
    "to_host",
    "DETERMINISTIC",
    "scatter",
    "release_scratch",
]

#: Layouts of volume arrays, for error messages.
VOLUME = "(N, C, D, H, W)"
VOLUME_GRID = "(N, D_out, H_out, W_out, 3)"
VOLUME_OUT = "(N, C, D_out, H_out, W_out)"

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
    if _dims(args) == 3:
        return _field_forward(_volume().GRID_3D_KERNELS, args,
                              as_device_array("input", input, 5, VOLUME),
                              as_device_array("grid", grid, 5, VOLUME_GRID), *_no_bases(3))
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
    if _dims(args) == 3:
        return _field_vjp(_volume().GRID_3D_KERNELS, args,
                          as_device_array("input", input, 5, VOLUME),
                          as_device_array("grid", grid, 5, VOLUME_GRID),
                          as_device_array("grad_output", grad_output, 5, VOLUME_OUT),
                          *_no_bases(3), need_input, need_grid, deterministic, args.grid_dtype)
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
    Volume gradients reach the kernels as their 4-D ``(N, C, D * H, W)``
    views (:func:`_rows_view`), images as they are.
    """
    if deterministic is None:
        deterministic = DETERMINISTIC
    grad_input = cuda.device_array(args.input_shape, dtype=args.dtype)
    if grad_output.size == 0:
        _fill_zero(grad_input)
        return grad_input
    view = _rows_view(grad_input)
    if not deterministic:
        _fill_zero(grad_input)
        launch(kernel_pair[0], view)
        return grad_input
    batch, rows, width = _output_rows(args)
    flat_input = grad_input.reshape(grad_input.size)
    flat_blocks, flat_threads = kernels.flat_launch(grad_input.size)
    with _scratch_lock:
        fixed, max_abs = _fixed_scratch(grad_input.size)
        kernels.fill_zero_reset[flat_blocks, flat_threads](flat_input, max_abs)
        max_blocks, max_threads = kernels.pixel_launch(batch, rows, width,
                                                       max_blocks=MAX_REDUCTION_BLOCKS)
        reduction = kernels.abs_max if len(grad_output.shape) == 4 else _volume().abs_max_volume
        reduction[max_blocks, max_threads](grad_output, max_abs)
        launch(kernel_pair[1], view, fixed.reshape(view.shape), max_abs)
        kernels.finish_fixed[flat_blocks, flat_threads](
            fixed, flat_input, max_abs, float(rows * width))
    return grad_input


def _output_rows(args):
    """``(N, rows, W_out)`` of the launch geometry: a volume's ``(D_out, H_out)``
    flattened into ``D_out * H_out`` rows."""
    shape = args.output_shape
    return shape[0], int(np.prod(shape[2:-1], dtype=np.int64)), shape[-1]


def _rows_view(array):
    """A 5-D volume array ``(N, C, D, H, W)`` as its 4-D view ``(N, C, D * H, W)``;
    4-D arrays as they are."""
    shape = tuple(array.shape)
    if len(shape) == 4:
        return array
    return array.reshape(shape[:2] + (shape[2] * shape[3], shape[4]))


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

# Device copies of small float64 vectors (base coordinates), by (device, values).
_coordinates = {}
_MAX_COORDINATES = 32


def _base_coordinates(args):
    """``args.xs``, ``args.ys`` (and ``args.zs`` for volumes) on the device (cached)."""
    axes = (args.xs, args.ys) if len(args.output_shape) == 4 else (args.xs, args.ys, args.zs)
    return [_device_vector(values) for values in axes]


def _device_vector(values):
    """A small float64 host vector on the device, cached by its values."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    key = (_device_id(), values.tobytes())
    array = _coordinates.get(key)
    if array is None:
        if len(_coordinates) >= _MAX_COORDINATES:
            _coordinates.pop(next(iter(_coordinates)))
        array = _coordinates[key] = cuda.to_device(values)
    return array


def _kernel_set(family):
    if getattr(family, "dims", 2) == 3:
        return getattr(_volume(), family.cuda)
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
    volume = getattr(family, "dims", 2) == 3
    input = as_device_array("input", input, *((5, VOLUME) if volume else (4, "(N, C, H, W)")))
    out = cuda.device_array(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    coordinates = _base_coordinates(args)
    kernel = _kernel_set(family).forward[args.mode]
    for blocks, threads, row0, col0 in kernels.pixel_chunks(*_output_rows(args)):
        kernel[blocks, threads](input, *params, *coordinates, args.padding, args.align_corners,
                                out, row0, col0)
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
    volume = getattr(family, "dims", 2) == 3
    input = as_device_array("input", input, *((5, VOLUME) if volume else (4, "(N, C, H, W)")))
    grad_output = as_device_array("grad_output", grad_output, *(
        (5, VOLUME_OUT) if volume else (4, "(N, C, H_out, W_out)")))
    kernel_set = _kernel_set(family)
    batch, out_height, out_width = _output_rows(args)
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
    coordinates = _base_coordinates(args)
    # the volume kernels take need_input: without it they scatter nothing
    flags = (need_input,) if volume else ()

    def launch(kernel, grad_input, fixed=None, max_abs=None):
        if fixed is None:  # the atomic kernel: its fixed-point arguments unused
            fixed = max_abs = grad_input
        kernel[args.mode][blocks, threads](input, *params, *coordinates, grad_output,
                                           args.padding, args.align_corners, *flags, fixed,
                                           grad_input, max_abs, *slots, *partials)

    if volume and not need_input:
        launch(kernel_set.backward_atomic, _no_input_gradient(args))
        grad_input = None
    else:
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


# ------------------------------------------------------------------ volumes


def _volume():
    """:mod:`warpkit.kernels.cuda_volume`, imported on first use of a volume or
    displacement kernel."""
    from ..kernels import cuda_volume

    return cuda_volume


def _dims(args):
    return getattr(args, "dims", 2)


def _no_bases(dims):
    """Base coordinates and scales of a stored grid: unused, and unit scales."""
    return tuple(_device_vector(np.zeros(0)) for _ in range(dims)), _device_vector(np.ones(dims))


def _no_input_gradient(args):
    """An empty ``(N, C, 0, 0)`` stand-in for a volume input gradient nobody needs."""
    return cuda.device_array(tuple(args.input_shape[:2]) + (0, 0), dtype=args.dtype)


def _field_forward(kernel_set, args, input, field, bases, scales):
    """The output of a per-element point field (a stored grid or a displacement)."""
    out = cuda.device_array(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    kernel = kernel_set.forward[args.mode]
    for blocks, threads, row0, col0 in kernels.pixel_chunks(*_output_rows(args)):
        kernel[blocks, threads](input, field, *bases, scales, args.padding,
                                args.align_corners, out, row0, col0)
    return out


def _field_vjp(kernel_set, args, input, field, grad_output, bases, scales, need_input,
               need_field, deterministic, field_dtype):
    """``(grad_input or None, grad_field or None)`` of a per-element point field.

    The field gradient is written by the kernels (times each axis' scale);
    the input gradient is scattered by :func:`_scatter`, or not at all for a
    volume whose input gradient is not needed.
    """
    shape = tuple(field.shape)
    grad_field = cuda.device_array(shape if need_field else (0,) * len(shape),
                                   dtype=field_dtype)
    volume = len(shape) == 5
    if grad_output.size == 0:
        _fill_zero(grad_field)
    launches = kernels.pixel_chunks(*_output_rows(args))

    def launch(kernel, grad_input, fixed=None, max_abs=None):
        if fixed is None:  # the atomic kernel: its fixed-point arguments unused
            fixed = max_abs = grad_input
        for blocks, threads, row0, col0 in launches:
            kernel[args.mode][blocks, threads](input, field, *bases, scales, grad_output,
                                               args.padding, args.align_corners, need_input,
                                               need_field, fixed, grad_input, grad_field,
                                               max_abs, row0, col0)

    if volume and not need_input:
        if grad_output.size:
            launch(kernel_set.backward_atomic, _no_input_gradient(args))
        grad_input = None
    else:
        grad_input = _scatter(args, grad_output, deterministic, launch,
                              (kernel_set.backward_atomic, kernel_set.backward_fixed))
    return (grad_input if need_input else None), (grad_field if need_field else None)


def _displacement_arrays(args, input, flow, grad_output=None):
    layouts = ((4, "(N, C, H, W)", "(N, H_out, W_out, 2)", "(N, C, H_out, W_out)")
               if args.dims == 2 else (5, VOLUME, VOLUME_GRID, VOLUME_OUT))
    ndim = layouts[0]
    arrays = [as_device_array("input", input, ndim, layouts[1]),
              as_device_array("flow", flow, ndim, layouts[2])]
    if grad_output is not None:
        arrays.append(as_device_array("grad_output", grad_output, ndim, layouts[3]))
    kernel_set = _volume().FLOW_2D_KERNELS if args.dims == 2 else _volume().FLOW_3D_KERNELS
    bases = tuple(_device_vector(values) for values in args.bases)
    scales = _device_vector(args.scales)
    return kernel_set, arrays, bases, scales


def displacement(args, input, flow):
    """:func:`warpkit.warp_displacement` on device arrays: a numba device array
    with the flow's spatial size, dtype of ``input``.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda
    >>> from warpkit._args import DisplacementArgs
    >>> from warpkit.backends import cuda as backend
    >>> image = np.arange(4.0).reshape(1, 1, 1, 4)
    >>> flow = np.zeros((1, 1, 4, 2))
    >>> flow[..., 0] = 1.0  # one pixel to the right
    >>> args = DisplacementArgs(image, flow, "pixels", "bilinear", "zeros", False)
    >>> out = backend.displacement(args, cuda.to_device(image), cuda.to_device(flow))
    >>> out.copy_to_host()[0, 0, 0]
    array([1., 2., 3., 0.])
    """
    kernel_set, arrays, bases, scales = _displacement_arrays(args, input, flow)
    return _field_forward(kernel_set, args, *arrays, bases, scales)


def displacement_vjp(args, input, flow, grad_output, need_input, need_flow,
                     deterministic=None):
    """``(grad_input or None, grad_flow or None)`` of :func:`displacement`, as
    device arrays; ``deterministic`` as in :func:`grid_sample_vjp`.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import cuda
    >>> from warpkit._args import DisplacementArgs
    >>> from warpkit.backends import cuda as backend
    >>> image = np.arange(4.0).reshape(1, 1, 1, 4)
    >>> flow = np.zeros((1, 1, 4, 2))
    >>> flow[..., 0] = 0.5  # half a pixel to the right: each output mixes two pixels
    >>> args = DisplacementArgs(image, flow, "pixels", "bilinear", "zeros", False)
    >>> grad_input, grad_flow = backend.displacement_vjp(
    ...     args, cuda.to_device(image), cuda.to_device(flow),
    ...     cuda.to_device(np.ones((1, 1, 1, 4))), True, True)
    >>> grad_input.copy_to_host()[0, 0, 0], grad_flow.copy_to_host()[0, 0, :, 0]
    (array([0.5, 1. , 1. , 1. ]), array([ 1.,  1.,  1., -3.]))
    """
    kernel_set, arrays, bases, scales = _displacement_arrays(args, input, flow, grad_output)
    return _field_vjp(kernel_set, args, *arrays, bases, scales, need_input, need_flow,
                      deterministic, args.flow_dtype)
