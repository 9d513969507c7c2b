"""The CPU backend of volume (3-D) sampling: run the kernels of
:mod:`warpkit.kernels.cpu_volume` on threads.

:func:`grid_sample` and :func:`grid_sample_vjp` are the 5-D branches of the
functions of the same names in :mod:`warpkit.backends.cpu`.  The generic
runners serve every point source, so the fused 3-D warps and the 3-D
displacement fields call them with their own field:

``volume_forward(source, args, input, field, bases=None, scales=None, frame=None)``
    The output ``(N, C, D_out, H_out, W_out)`` of ``args.output_shape``.
``volume_vjp(source, args, input, field, grad_output, need_input, need_field,
bases=None, scales=None, frame=None)``
    ``(grad_input or None, grad_field or None, acc or None)``: the input
    gradient (in the input's shape); for the grid and flow sources the
    field's gradient (the flow's already times ``scales``), for the matrix
    sources the float64 parameter gradient ``acc`` (N, 12) or (N, 16), row-major.

Trilinear calls (``mode="bilinear"``) run the block kernels
(:func:`~warpkit.kernels.cpu_volume.trilinear_forward`,
:func:`~warpkit.kernels.cpu_volume.trilinear_backward`), the other modes the
per-voxel ones; both take the same arguments, so the plans below serve both.

``source`` is one of :data:`~warpkit.kernels.cpu_volume.SOURCE_GRID`,
``SOURCE_FLOW``, ``SOURCE_AFFINE``, ``SOURCE_PERSPECTIVE``; ``args`` has
``mode``, ``padding``, ``align_corners``, ``dtype``, ``input_shape``,
``output_shape`` (5 entries) and ``output_work()`` (any of the argument
classes of :mod:`warpkit._args`); ``input`` and ``grad_output`` are
C-contiguous arrays of ``args.dtype``; ``field`` is as the kernels take it
(the grid or flow C-contiguous in ``args.dtype``, matrices float64);
``bases`` is ``(base_x, base_y, base_z)`` float64 and ``scales`` float64 (3,)
(defaults: empty bases, unit scales).

``input`` may be a *crop* of a larger volume: ``frame = (depth, height, width,
front, top, left)`` gives the full volume's extent and where the crop starts
inside it (None: the whole input; checked by
:func:`warpkit._args.check_frame`).  Every coordinate rule uses the full
extent, so a window of the output computed from a crop that
holds every voxel its taps read is bit-identical to the same voxels of the
whole warp; a tap outside the crop reads 0 and gets no gradient.
``args.input_shape`` is then the crop's shape.

Gradients are deterministic, bit-identical on every run and for any thread
count.  Threads own distinct samples where there are enough samples; else,
when the buffers fit (:data:`PRIVATE_CHUNKS`), a sample's output rows are cut
into a fixed number of chunks, each scattering into a private buffer, summed
in chunk order; else each thread scatters only into its band of input rows
``z * H + y`` (:func:`_plan`).  Parameter gradients are summed in float64, voxel
by voxel inside a chunk and chunk by chunk in order: bit-identical from run
to run.
"""

import numpy as np

from .. import _validate
from .._args import check_frame
from .._config import SERIAL_WORK_LIMIT
from ..kernels import cpu_volume as kernels
from ..kernels._math import MODE_BILINEAR
from ..kernels.simd import KERNEL_VECTOR_BITS
from .chunks import gradient_buffers, plan_backward, row_chunks, sum_buffers
from .threads import run_chunks, threads_for

__all__ = ["grid_sample", "grid_sample_vjp", "volume_forward", "volume_vjp"]


def grid_sample(args, input, grid, frame=None):
    """:func:`warpkit.grid_sample` on a volume batch (NumPy arrays); ``input`` a crop of
    the volume of ``frame`` (see the module docstring)."""
    input = _validate.for_kernel(input, args.dtype, "input")
    grid = _validate.for_kernel(grid, args.dtype, "grid")
    return volume_forward(kernels.SOURCE_GRID, args, input, grid, frame=frame)


def grid_sample_vjp(args, input, grid, grad_output, need_input, need_grid, frame=None):
    """:func:`warpkit.grid_sample_vjp` on a volume batch: ``(grad_input, grad_grid)``,
    each None unless needed (``grad_input`` in the crop's shape with ``frame``)."""
    input = _validate.for_kernel(input, args.dtype, "input")
    grid = _validate.for_kernel(grid, args.dtype, "grid")
    grad_output = _validate.for_kernel(grad_output, args.dtype, "grad_output")
    grad_input, grad_grid, _ = volume_vjp(kernels.SOURCE_GRID, args, input, grid,
                                          grad_output, need_input, need_grid, frame=frame)
    if grad_grid is not None:
        grad_grid = grad_grid.astype(args.grid_dtype, copy=False)
    return grad_input, grad_grid


def _options(args):
    return (args.mode, args.padding, args.align_corners)


def _kernel(forward, source, args, frame):
    """The kernel of a call: the trilinear block kernels for ``mode="bilinear"``, else the
    per-voxel ones (nearest, tricubic)."""
    if args.mode != MODE_BILINEAR:
        return kernels.kernel_for(kernels.volume_forward if forward else kernels.volume_backward,
                                  source)
    # int64 tap offsets for a volume of 2**31 voxels or more, or for an axis of 2**30
    # voxels or more (the crop indices of far coordinates then exceed int32)
    wide = int(np.prod(frame[:3])) >= 2**31 or int(max(frame[:3])) >= 2**30
    return kernels.kernel_for(kernels.trilinear_forward if forward
                              else kernels.trilinear_backward, source, KERNEL_VECTOR_BITS, wide)


def _field_inputs(bases, scales):
    bases = bases if bases is not None else (kernels.NO_BASE,) * 3
    return tuple(bases) + (kernels.NO_SCALES if scales is None else scales,)


def volume_forward(source, args, input, field, bases=None, scales=None, frame=None):
    """The sampled volumes of ``source`` (see the module docstring)."""
    frame = check_frame(frame, args.input_shape, dims=3)
    out = np.empty(args.output_shape, dtype=args.dtype)
    if out.size == 0:
        return out
    kernel = _kernel(True, source, args, frame)
    batch, _, out_depth, out_height, _ = args.output_shape
    arguments = (input, frame, field) + _field_inputs(bases, scales) + _options(args) \
        + (out,)
    bounds = row_chunks(batch * out_depth * out_height, threads_for(args.output_work()))
    run_chunks(kernel, [arguments + (int(start), int(end))
                        for start, end in zip(bounds[:-1], bounds[1:])])
    return out


def volume_vjp(source, args, input, field, grad_output, need_input, need_field, bases=None,
               scales=None, frame=None):
    """``(grad_input or None, grad_field or None, acc or None)`` of ``source`` (see the
    module docstring)."""
    frame = check_frame(frame, args.input_shape, dims=3)
    batch, channels, depth, height, width = args.input_shape
    out_depth, out_height = args.output_shape[2:4]
    matrix = source in kernels.PARAMETER_COUNTS
    grad_input = np.zeros(args.input_shape if need_input else (batch, channels, 0, 0, 0),
                          dtype=args.dtype)
    grad_inp4 = grad_input.reshape(batch, channels, depth * height, width) if need_input \
        else grad_input.reshape(batch, channels, 0, 0)
    if matrix or not need_field:
        grad_field = np.empty((0,) * field.ndim, dtype=field.dtype)
    else:
        grad_field = (np.empty if grad_output.size else np.zeros)(field.shape,
                                                                 dtype=field.dtype)
    acc = np.zeros((batch, kernels.PARAMETER_COUNTS[source]) if matrix else (0, 0))
    if grad_output.size and (need_input or need_field):
        kernel = _kernel(False, source, args, frame)
        leading = (input, frame, field) + _field_inputs(bases, scales) + (grad_output,) \
            + _options(args)
        threads = threads_for(args.output_work())
        rows = batch * out_depth * out_height
        # the plan depends on the shapes only (never on ``threads``): the same bits
        private = (need_input and args.output_work() >= SERIAL_WORK_LIMIT
                   and batch < PRIVATE_CHUNKS
                   and PRIVATE_CHUNKS * grad_input.nbytes <= PRIVATE_BYTES)
        if private:
            acc = _private_vjp(kernel, leading, grad_input, grad_field, acc, rows, threads,
                               need_field)
        else:
            for pass_input, pass_field, chunks, ranges, record in _plan(
                    batch, out_depth * out_height, depth * height, width, threads,
                    need_input, need_field):
                accumulators = np.zeros((len(chunks),) + acc.shape)
                run_chunks(kernel, [
                    leading + (pass_input, pass_field, grad_inp4, grad_field,
                               accumulators[k], row_start, row_end, band_start, band_end,
                               ranges, record)
                    for k, (band_start, band_end, row_start, row_end) in enumerate(chunks)
                ])
                if pass_field and matrix:
                    acc = _sum_in_order(accumulators)
    return (grad_input if need_input else None,
            grad_field if need_field and not matrix else None,
            acc if need_field and matrix else None)


#: Threads that share a sample split its output rows into this many chunks, each
#: scattering into a private input-gradient buffer (summed in chunk order): a
#: number fixed by the shapes, not the thread count, so the sum is the same for
#: any thread count.  Used while the buffers fit in :data:`PRIVATE_BYTES`;
#: larger volumes split the input rows in bands instead (see :func:`_plan`).
PRIVATE_CHUNKS = 4
PRIVATE_BYTES = 1 << 30


def _private_vjp(kernel, leading, grad_input, grad_field, acc, rows, threads, need_field):
    """Both gradients in one pass over :data:`PRIVATE_CHUNKS` chunks of rows, each
    with its own input-gradient buffer; the threads run consecutive groups of chunks."""
    batch, channels, depth, height, width = grad_input.shape
    buffers = gradient_buffers(grad_input, PRIVATE_CHUNKS)
    starts = row_chunks(rows, PRIVATE_CHUNKS)
    accumulators = np.zeros((len(starts) - 1,) + acc.shape)

    def run(first, last):
        for k in range(first, last):
            kernel(*leading, True, need_field,
                   buffers[k].reshape(batch, channels, depth * height, width), grad_field,
                   accumulators[k], starts[k], starts[k + 1], 0, kernels.ALL_ROWS,
                   NO_RANGES, False)

    groups = row_chunks(len(starts) - 1, threads)
    run_chunks(run, zip(groups[:-1], groups[1:]))
    sum_buffers(buffers, grad_input, threads)
    return _sum_in_order(accumulators) if need_field else acc


#: The ``ranges`` of a pass that neither records nor reads them.
NO_RANGES = np.empty((0, 2), dtype=np.int64)


def _plan(batch, out_rows, in_rows, width, threads, need_input, need_field):
    """The passes of a backward: ``(need_input, need_field, chunks, ranges, record)``, each
    chunk ``(band_start, band_end, row_start, row_end)`` with the band in input rows
    ``z * H + y``.

    :func:`~warpkit.backends.chunks.plan_backward`'s plan, except that a banded
    input-gradient pass (fewer samples than threads) follows a first pass, split
    over the output rows, that records which input rows each output row reaches
    (``ranges``, see :func:`warpkit.kernels.cpu_volume.volume_backward`) while it
    computes the field gradient: each band then visits only the output rows that
    reach it, not every voxel.
    """
    passes = plan_backward(batch, out_rows, in_rows, width, threads, need_input, need_field)
    if not need_input or len(passes[-1][2]) == 1 or passes[-1][1]:
        return [(i, f, [(a // width, b // width, c, d) for a, b, c, d in chunks], NO_RANGES,
                 False) for i, f, chunks in passes]  # one chunk, or chunks owning samples
    ranges = np.empty((batch * out_rows, 2), dtype=np.int64)
    rows = row_chunks(batch * out_rows, threads)
    bands = row_chunks(in_rows, threads)
    return [(False, need_field, [(0, 0, int(a), int(b)) for a, b in zip(rows[:-1], rows[1:])],
             ranges, True),
            (True, False, [(int(a), int(b), 0, batch * out_rows)
                           for a, b in zip(bands[:-1], bands[1:])], ranges, False)]


def _sum_in_order(accumulators):
    """``accumulators[0] + accumulators[1] + ...`` in that order: bit-identical on every run."""
    total = accumulators[0].copy()
    for part in accumulators[1:]:
        total += part
    return total
