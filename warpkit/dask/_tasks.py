"""The functions a chunked warp's tasks run, on whichever worker gets them.

Each task receives small things only: the input chunks it reads (Dask passes
them in), the index ranges, and the transform's parameters for its samples
as small NumPy arrays.  Nothing closes over a large array, so the graph
pickles cheaply for ``dask.distributed``.

A task assembles its crop of the input (the part of the source box inside
the chunks it received) and runs warpkit's CPU kernels on it with the crop's
*frame* (the full input's extent and the crop's origin), so every output
pixel is computed by exactly the arithmetic of the in-memory warp.  Tasks
run the kernels on one thread: the scheduler supplies the parallelism.
"""

import contextlib

import numba
import numpy as np

from .. import families
from .._args import SampleArgs, WarpArgs
from ..backends import cpu

__all__ = ["warp_block", "warp_block_vjp", "mse_block", "sample_block", "sample_block_vjp",
           "gather_gradient", "sum_parameters", "zeros"]


@contextlib.contextmanager
def one_thread():
    """Run warpkit's kernels on the calling thread only (Numba's setting is per thread)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def family_for(name, dims):
    """The transform family of a name and a number of spatial axes."""
    table = families.FAMILIES if dims == 2 else families.VOLUME_FAMILIES
    return table[name]


def assemble(parts, starts, first, last):
    """The crop ``[first, last]`` (inclusive, per spatial axis) of the input, from the
    chunks ``parts`` whose spatial origins are ``starts``; a view when one chunk holds it."""
    dims = len(first)
    extent = tuple(b - a + 1 for a, b in zip(first, last))
    if len(parts) == 1:
        part, start = parts[0], starts[0]
        return part[(Ellipsis,) + tuple(slice(a - s, a - s + e)
                                        for a, s, e in zip(first, start, extent))]
    crop = np.empty(parts[0].shape[:-dims] + extent, dtype=parts[0].dtype)
    for part, start in zip(parts, starts):
        source, target = [], []
        for a, b, s, size in zip(first, last, start, part.shape[-dims:]):
            low, high = max(a, s), min(b + 1, s + size)
            source.append(slice(low - s, high - s))
            target.append(slice(low - a, high - a))
        crop[(Ellipsis,) + tuple(target)] = part[(Ellipsis,) + tuple(source)]
    return crop


def frame_of(input_extent, first):
    """The kernels' frame: the full input's spatial extent, then the crop's origin."""
    return tuple(int(v) for v in input_extent) + tuple(int(v) for v in first)


def zeros(shape, dtype):
    """An output chunk whose source lies outside the input (zeros padding)."""
    return np.zeros(shape, dtype=dtype)


# ----------------------------------------------------------------- fused warps


def warp_block(parts, starts, first, last, call, params, output_start, output_stop):
    """One output chunk of a fused warp.

    ``call`` = ``(family name, dims, (mode, padding_mode, align_corners), input
    extent, output extent)``; ``params`` the family's parameter arrays for the
    chunk's samples; ``output_start``/``output_stop`` its spatial index range.
    """
    family, args, crop, kernel_params, frame = _windowed(
        parts, starts, first, last, call, params, output_start, output_stop)
    with one_thread():
        return cpu.fused_forward(family, args, crop, kernel_params, frame=frame)


def _windowed(parts, starts, first, last, call, params, output_start, output_stop):
    """A fused-warp chunk's family, arguments, crop, kernel parameters and frame."""
    name, dims, options, input_extent, output_extent = call
    family = family_for(name, dims)
    crop = assemble(parts, starts, first, last)
    args = WarpArgs.windowed(crop, output_extent, output_start, output_stop, *options,
                             dims=dims)
    return family, args, crop, cpu.parameters(family, args, params), frame_of(input_extent,
                                                                              first)


def warp_block_vjp(parts, starts, first, last, grad_block, call, params, output_start,
                   output_stop, need_input, samples, batch, per_sample):
    """The gradients of one output chunk of a fused warp.

    Returns ``(grad_crop or None, first, parameter gradients)``: the input
    gradient of the crop, its origin, and the float64 gradient of each
    parameter in its kernel shape over the whole batch of ``batch`` samples:
    a parameter with ``per_sample`` True is zero outside the chunk's
    ``samples`` range ``(n0, n1)``; one shared by the batch keeps its shape.
    """
    family, args, crop, kernel_params, frame = _windowed(
        parts, starts, first, last, call, params, output_start, output_stop)
    with one_thread():
        grad_crop, grads = cpu.fused_vjp(family, args, crop, kernel_params,
                                         np.asarray(grad_block), need_input, True, frame=frame)
    n0, n1 = samples
    placed = []
    for grad, split in zip(grads, per_sample):
        if split:
            full = np.zeros((batch,) + grad.shape[1:])
            full[n0:n1] = grad
            grad = full
        placed.append(np.asarray(grad, dtype=np.float64))
    return grad_crop, first, placed


def mse_block(parts, starts, box, fixed_block, call, params, output_start, output_stop,
              count, samples, batch):
    """One output chunk's share of the mean squared error between a warp and ``fixed``.

    Returns ``(None, None, [parameter gradient over the batch, [loss]])``, float64:
    ``sum((warp - fixed) ** 2) / count`` over the chunk and its gradient.
    """
    fixed_block = np.asarray(fixed_block)
    n0, n1 = samples
    gradient = np.zeros((batch,) + params[0].shape[1:])
    if box is None:  # reads nothing: the warp is 0 here, with no parameter gradient
        residual = -fixed_block.astype(np.float64)
    else:
        family, args, crop, kernel_params, frame = _windowed(
            parts, starts, *box, call, params, output_start, output_stop)
        with one_thread():
            warped = cpu.fused_forward(family, args, crop, kernel_params, frame=frame)
            residual = warped.astype(np.float64) - fixed_block
            grad_out = (residual * (2.0 / count)).astype(warped.dtype)
            _, grads = cpu.fused_vjp(family, args, crop, kernel_params, grad_out, False, True,
                                     frame=frame)
        gradient[n0:n1] = grads[0].reshape((n1 - n0,) + params[0].shape[1:])
    loss = np.array([np.sum(residual * residual) / count])
    return None, None, [gradient, loss]


# ---------------------------------------------------------------- grid_sample


def sample_block(parts, starts, first, last, grid_block, call):
    """One output chunk of ``grid_sample``: ``call`` = ``(dims, options, input extent)``."""
    dims, options, input_extent = call
    crop = assemble(parts, starts, first, last)
    with one_thread():
        args = SampleArgs(crop, grid_block, *options)
        return cpu.grid_sample(args, crop, grid_block, frame=frame_of(input_extent, first))


def sample_block_vjp(parts, starts, first, last, grid_block, grad_block, call, need_input,
                     need_grid):
    """The gradients of one output chunk of ``grid_sample``:
    ``(grad_crop or None, first, grad_grid_block or None)``."""
    dims, options, input_extent = call
    crop = assemble(parts, starts, first, last)
    with one_thread():
        args = SampleArgs(crop, grid_block, *options)
        grad_crop, grad_grid = cpu.grid_sample_vjp(args, crop, grid_block,
                                                   np.asarray(grad_block, args.dtype),
                                                   need_input, need_grid,
                                                   frame=frame_of(input_extent, first))
    return grad_crop, first, grad_grid


# ------------------------------------------------------------- the reductions


def gather_gradient(results, block_first, block_shape, dtype):
    """One input chunk's gradient: the parts of the crop gradients in ``results`` that
    overlap it, added in the order given (the output chunks' order: deterministic)."""
    total = np.zeros(block_shape, dtype=dtype)
    dims = len(block_first)
    extent = block_shape[-dims:]
    for grad_crop, first, _ in results:
        if grad_crop is None:
            continue
        source, target = [], []
        for a, size_crop, b, size in zip(first, grad_crop.shape[-dims:], block_first, extent):
            low, high = max(a, b), min(a + size_crop, b + size)
            if low >= high:
                break
            source.append(slice(low - a, high - a))
            target.append(slice(low - b, high - b))
        else:
            total[(Ellipsis,) + tuple(target)] += grad_crop[(Ellipsis,) + tuple(source)]
    return total


def sum_parameters(items):
    """The parameter gradients of ``items`` (``warp_block_vjp`` results or earlier sums),
    added left to right in float64: one node of the fixed reduction tree."""
    total = None
    for item in items:
        grads = item[2] if isinstance(item, tuple) else item
        if grads is None:
            continue
        if total is None:
            total = [np.array(grad, dtype=np.float64) for grad in grads]
        else:
            for acc, grad in zip(total, grads):
                acc += grad
    return total
