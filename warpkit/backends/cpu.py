"""The CPU backend: convert arrays, allocate results, run the kernels on threads.

Every function takes arguments already validated by :mod:`warpkit._args`
and :mod:`warpkit.families`; :mod:`warpkit.backends.cuda` has the same
functions for GPU arrays, so the primitives pick a backend and call it
without knowing which it is.

The sampling and fused-warp functions take a ``frame`` (see
:func:`warpkit._args.full_frame`): the input they get may be a window of a
larger input, which the kernels read as if it were the whole, bit for bit.

Gradients are deterministic: the input gradient is scattered by the plans of
:mod:`warpkit.backends.chunks` (threads own distinct samples, or distinct
bands of input rows), and parameter gradients are summed in float64, pixel by
pixel inside a chunk and chunk by chunk in a fixed order, so the same call
gives bit-identical gradients on every run and for any thread count.
"""

import numpy as np
from autograd.tracer import getval

from .. import _validate
from .._args import check_frame
from ..kernels import cpu
from ..kernels.cpu_fused import BlockKernels, PARAMETER_COUNTS
from ..kernels.simd import KERNEL_VECTOR_BITS
from . import cpu_volume
from .chunks import gradient_buffers, plan_backward, plan_chunks, row_chunks, sum_buffers
from .threads import run_chunks, threads_for

__all__ = ["grid_sample", "grid_sample_vjp", "parameters", "fused_forward", "fused_vjp",
           "displacement", "displacement_vjp"]


def _spec(args, need_input=True, need_grid=True):
    """The kernel specialization for a call's options and gradients."""
    return cpu.Spec(args.mode, args.padding, args.align_corners, KERNEL_VECTOR_BITS,
                    need_input, need_grid)


def _run_rows(kernel, rows, args, arguments, frame, index_shape=None):
    """``kernel(*arguments, [index,] start, end, frame)`` over chunks of ``rows`` rows,
    on the threads the call's size earns (a small call runs here, unsplit).

    With ``index_shape`` (the input's), every chunk gets its own index scratch
    (:func:`warpkit.kernels.cpu.index_scratch`): chunks run at once.
    """
    def chunk(start, end):
        scratch = () if index_shape is None else (cpu.index_scratch(index_shape),)
        return arguments + scratch + (start, end, frame)

    threads = threads_for(args.output_work())
    if threads == 1:
        kernel(*chunk(0, rows))
        return
    bounds = row_chunks(rows, threads)
    run_chunks(kernel, [chunk(start, end) for start, end in zip(bounds[:-1], bounds[1:])])


# ------------------------------------------------------------- grid_sample


def grid_sample(args, input, grid, frame=None):
    """:func:`warpkit.grid_sample` on NumPy arrays; ``input`` is the window ``frame`` of
    the input the grid samples (None: all of it)."""
    if args.dims == 3:  # volumes: warpkit.backends.cpu_volume
        return cpu_volume.grid_sample(args, input, grid, frame=frame)
    frame = check_frame(frame, args.input_shape)
    input = _validate.for_kernel(input, args.dtype, "input")
    grid = _validate.for_kernel(grid, args.dtype, "grid")
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    kernel = cpu.specialized(cpu.grid_sample_forward, _spec(args))
    _run_rows(kernel, grid.shape[0] * grid.shape[1], args, (input, grid, out), frame,
              input.shape)
    return out


def grid_sample_vjp(args, input, grid, grad_output, need_input, need_grid, frame=None):
    """:func:`warpkit.grid_sample_vjp` on NumPy arrays: ``(grad_input, grad_grid)``,
    each None unless needed; ``grad_input`` has the shape of ``input``, the window
    ``frame`` (as for :func:`grid_sample`)."""
    if args.dims == 3:
        return cpu_volume.grid_sample_vjp(args, input, grid, grad_output, need_input,
                                          need_grid, frame=frame)
    frame = check_frame(frame, args.input_shape)
    input = _validate.for_kernel(input, args.dtype, "input")
    grid = _validate.for_kernel(grid, args.dtype, "grid")
    grad_output = _validate.for_kernel(grad_output, args.dtype, "grad_output")
    batch = args.input_shape[0]
    grad_input = _input_gradient(args, need_input)
    grad_grid = (np.empty if grad_output.size else np.zeros)(
        grid.shape if need_grid else (0, 0, 0, 2), dtype=args.dtype)
    if grad_output.size and (need_input or need_grid):
        height, width = args.input_shape[2:]
        for pass_input, pass_grid, chunks in plan_backward(
                batch, grid.shape[1], height, width, threads_for(args.output_work()),
                need_input, need_grid):
            kernel = cpu.specialized(cpu.grid_sample_backward,
                                     _spec(args, pass_input, pass_grid))
            run_chunks(kernel, [(input, grid, grad_output, grad_input, grad_grid,
                                 cpu.index_scratch(input.shape)) + chunk + (frame,)
                                for chunk in chunks])
    return (grad_input if need_input else None,
            grad_grid.astype(args.grid_dtype, copy=False) if need_grid else None)


# -------------------------------------------------------------- fused warps


def parameters(family, args, values):
    """A family's parameters as C-contiguous float64 arrays in their kernel shapes."""
    arrays = [np.asarray(_validate.host_array(name, getval(value)))
              for name, value in zip(family.parameters, values)]
    shapes = family.kernel_shapes(args.input_shape[0], dict(zip(
        family.parameters, (array.shape for array in arrays))))
    return tuple(_validate.for_kernel(array, np.float64, name).reshape(shape)
                 for name, array, shape in zip(family.parameters, arrays, shapes))


def fused_forward(family, args, input, params, frame=None):
    """The warped images: ``family``'s forward kernels over chunks of output rows;
    ``input`` is the window ``frame`` of the input the warp reads (None: all of it)."""
    if family.dims == 3:  # volumes: the matrix point sources of warpkit.backends.cpu_volume
        return cpu_volume.volume_forward(
            family.cpu.source, args, _validate.for_kernel(input, args.dtype, "input"),
            params[0], (args.xs, args.ys, args.zs), frame=frame)
    frame = check_frame(frame, args.input_shape)
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    input = _validate.for_kernel(input, args.dtype, "input")
    batch, _, out_height, _ = args.output_shape
    kernels = family.cpu
    if isinstance(kernels, BlockKernels):
        kernel = cpu.specialized(kernels.forward, _spec(args), kernels.family)
        _run_rows(kernel, batch * out_height, args, (input,) + params + (args.xs, args.ys, out),
                  frame, input.shape)
        return out
    shared = _shared_centres(params)
    options = (args.mode, args.padding, args.align_corners)
    _run_rows(kernels.forward_shared if shared else kernels.forward,
              (1 if shared else batch) * out_height, args,
              (input,) + params + (args.xs, args.ys) + options + (out,), frame)
    return out


def fused_vjp(family, args, input, params, grad_output, need_input, need_params,
              frame=None):
    """``(grad_input or None, [float64 gradient of each parameter, in its kernel shape]
    or None)``; ``input`` is the window ``frame`` (as for :func:`fused_forward`), and
    ``grad_input`` has its shape."""
    input = _validate.for_kernel(input, args.dtype, "input")
    grad_output = _validate.for_kernel(grad_output, args.dtype, "grad_output")
    if family.dims == 3:  # no input scatter unless need_input; float64 acc in chunk order
        grad_input, _, acc = cpu_volume.volume_vjp(
            family.cpu.source, args, input, params[0], grad_output, need_input, need_params,
            (args.xs, args.ys, args.zs), frame=frame)
        return grad_input, (None if acc is None else [acc.reshape(params[0].shape)])
    frame = check_frame(frame, args.input_shape)
    if isinstance(family.cpu, BlockKernels):
        grad_input, grads = _block_vjp(family.cpu, args, input, params, grad_output,
                                       need_input, need_params, frame)
    else:
        grad_input, grads = _pixel_vjp(family.cpu, args, input, params, grad_output, frame)
    return (grad_input if need_input else None), (grads if need_params else None)


def _block_vjp(kernels, args, input, params, grad_output, need_input, need_params, frame):
    """Backward of a block-kernel family by :func:`~warpkit.backends.chunks.plan_backward`."""
    batch, _, out_height, _ = args.output_shape
    height, width = args.input_shape[2:]
    count = PARAMETER_COUNTS[kernels.family]
    grad_input = _input_gradient(args, need_input)
    grad_params = np.zeros((batch, count))
    if grad_output.size and (need_input or need_params):
        for pass_input, pass_params, chunks in plan_backward(
                batch, out_height, height, width, threads_for(args.output_work()),
                need_input, need_params):
            kernel = cpu.specialized(kernels.backward, _spec(args, pass_input, pass_params),
                                     kernels.family)
            accumulators = np.zeros((len(chunks), batch, count))
            run_chunks(kernel, [
                (input,) + params + (args.xs, args.ys, grad_output, grad_input,
                                     accumulators[k], cpu.index_scratch(input.shape))
                + chunk + (frame,)
                for k, chunk in enumerate(chunks)
            ])
            if pass_params:
                grad_params = _sum_in_order(accumulators)
    return grad_input, [grad_params.reshape(params[0].shape)]


def _pixel_vjp(kernels, args, input, params, grad_output, frame):
    """Backward of a pixel-kernel family (both gradients, always).

    With centres shared by the batch the kernels run over output rows ``h``
    and visit every sample, so each chunk scatters into its own
    input-gradient buffer (summed in chunk order); otherwise chunks own
    whole samples where they can (:func:`~warpkit.backends.chunks.plan_chunks`).
    """
    grad_input = np.zeros(args.input_shape, dtype=args.dtype)
    accumulator_shapes = [param.shape for param in params]
    if grad_output.size == 0:
        return grad_input, [np.zeros(shape) for shape in accumulator_shapes]
    batch, _, out_height, _ = args.output_shape
    threads = threads_for(args.output_work())
    if _shared_centres(params):
        kernel = kernels.backward_shared
        chunk_starts = row_chunks(out_height, threads)
        n_buffers = len(chunk_starts) - 1
        chunk_buffers = np.arange(n_buffers)
    else:
        kernel = kernels.backward
        chunk_starts, chunk_buffers, n_buffers = plan_chunks(batch, out_height, threads)
    n_chunks = len(chunk_starts) - 1
    buffers = gradient_buffers(grad_input, n_buffers)
    accumulators = [np.zeros((n_chunks,) + shape) for shape in accumulator_shapes]
    options = (args.mode, args.padding, args.align_corners)
    run_chunks(kernel, [
        (input,) + params + (args.xs, args.ys, grad_output) + options
        + (buffers[chunk_buffers[k]],) + tuple(acc[k] for acc in accumulators)
        + (chunk_starts[k], chunk_starts[k + 1], frame)
        for k in range(n_chunks)
    ])
    sum_buffers(buffers, grad_input, threads)
    return grad_input, [_sum_in_order(acc) for acc in accumulators]


def _input_gradient(args, need_input):
    """The zeroed input gradient a backward kernel adds into, or an empty
    ``(N, C, 0, 0)`` stand-in the kernel never touches when it is not needed."""
    batch, channels = args.input_shape[:2]
    return np.zeros(args.input_shape if need_input else (batch, channels, 0, 0),
                    dtype=args.dtype)


def _shared_centres(params):
    """Thin-plate spline centres shared by a batch of several samples: the
    pixel kernels then loop over output rows and compute each basis once."""
    coefficients, centres = params
    return centres.shape[0] == 1 and coefficients.shape[0] > 1


def _sum_in_order(accumulators):
    """``accumulators[0] + accumulators[1] + ...`` in that order: bit-identical on every run."""
    total = accumulators[0].copy()
    for part in accumulators[1:]:
        total += part
    return total


# ------------------------------------------------------ displacement fields
#
# Images run the flow kernels of warpkit.kernels.cpu (the grid_sample block
# pipeline with points computed from the flow); volumes run the SOURCE_FLOW
# kernels through the volume runner.  The flow is converted to the input's
# dtype, as a grid is; its gradient comes back in the flow's own dtype.


def displacement(args, input, flow):
    """:func:`warpkit.warp_displacement` on NumPy arrays: the warped batch
    ``(N, C, *flow.shape[1:-1])``."""
    input = _validate.for_kernel(input, args.dtype, "input")
    flow = _validate.for_kernel(flow, args.dtype, "flow")
    if args.dims == 3:
        return cpu_volume.volume_forward(cpu_volume.kernels.SOURCE_FLOW, args, input, flow,
                                         args.bases, args.scales)
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    kernel = cpu.specialized(cpu.displacement_forward, _spec(args))
    base_x, base_y = args.bases
    _run_rows(kernel, flow.shape[0] * flow.shape[1], args,
              (input, flow, base_x, base_y, args.scales, out), None, input.shape)
    return out


def displacement_vjp(args, input, flow, grad_output, need_input, need_flow,
                     deterministic=True):
    """:func:`warpkit.warp_displacement_vjp` on NumPy arrays: ``(grad_input,
    grad_flow)``, each None unless needed; always deterministic on the CPU."""
    input = _validate.for_kernel(input, args.dtype, "input")
    flow = _validate.for_kernel(flow, args.dtype, "flow")
    grad_output = _validate.for_kernel(grad_output, args.dtype, "grad_output")
    if args.dims == 3:
        grad_input, grad_flow, _ = cpu_volume.volume_vjp(
            cpu_volume.kernels.SOURCE_FLOW, args, input, flow, grad_output, need_input,
            need_flow, args.bases, args.scales)
    else:
        grad_input, grad_flow = _displacement_vjp_2d(args, input, flow, grad_output,
                                                     need_input, need_flow)
    return (grad_input if need_input else None,
            grad_flow.astype(args.flow_dtype, copy=False) if need_flow else None)


def _displacement_vjp_2d(args, input, flow, grad_output, need_input, need_flow):
    grad_input = _input_gradient(args, need_input)
    grad_flow = (np.empty if grad_output.size else np.zeros)(
        flow.shape if need_flow else (0, 0, 0, 2), dtype=args.dtype)
    if grad_output.size and (need_input or need_flow):
        height, width = args.input_shape[2:]
        base_x, base_y = args.bases
        for pass_input, pass_flow, chunks in plan_backward(
                flow.shape[0], flow.shape[1], height, width, threads_for(args.output_work()),
                need_input, need_flow):
            kernel = cpu.specialized(cpu.displacement_backward,
                                     _spec(args, pass_input, pass_flow))
            run_chunks(kernel, [(input, flow, base_x, base_y, args.scales, grad_output,
                                 grad_input, grad_flow, cpu.index_scratch(input.shape))
                                + chunk for chunk in chunks])
    return grad_input, grad_flow
