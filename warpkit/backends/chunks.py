"""How the CPU backward passes split their rows into deterministic chunks.

A *chunk* is a run of flattened output rows (``n * out_height + h``) that one
thread processes in order.  Chunks that cover whole, distinct samples never
scatter into the same input pixel and share one gradient buffer; otherwise
each chunk gets a private buffer and the buffers are summed in chunk order.
The plan depends only on the shapes and the thread count, so the same call
gives bit-identical gradients on every run.
"""

import numpy as np

from .threads import run_chunks


def plan_chunks(batch, out_height, threads):
    """Split ``batch * out_height`` rows into at most ``threads`` chunks.

    Parameters
    ----------
    batch, out_height : int
        Number of samples and output rows per sample.
    threads : int
        Number of chunks to aim for (Numba's thread count).

    Returns
    -------
    chunk_starts : ndarray of int64, shape (K + 1,)
        Chunk ``k`` covers rows ``chunk_starts[k]`` to ``chunk_starts[k + 1]``.
    chunk_buffers : ndarray of int64, shape (K,)
        Index of the gradient buffer chunk ``k`` adds into.
    n_buffers : int
        Number of distinct buffers.

    Examples
    --------
    >>> from warpkit.backends.chunks import plan_chunks
    >>> starts, buffers, n = plan_chunks(batch=4, out_height=3, threads=2)
    >>> starts.tolist(), buffers.tolist(), n
    ([0, 6, 12], [0, 0], 1)
    >>> starts, buffers, n = plan_chunks(batch=1, out_height=5, threads=2)
    >>> starts.tolist(), buffers.tolist(), n
    ([0, 3, 5], [0, 1], 2)
    """
    threads = max(1, int(threads))
    rows = batch * out_height
    if rows == 0:
        return np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64), 1
    if batch >= threads or threads == 1:
        sample_starts = _even_split(batch, min(threads, batch))
        return sample_starts * out_height, np.zeros(len(sample_starts) - 1, np.int64), 1
    starts = _even_split(rows, min(threads, rows))
    k = len(starts) - 1
    return starts, np.arange(k, dtype=np.int64), k


def row_chunks(rows, threads):
    """Boundaries of at most ``threads`` near-equal, non-empty ranges of ``range(rows)``.

    Examples
    --------
    >>> from warpkit.backends.chunks import row_chunks
    >>> row_chunks(5, 2).tolist()
    [0, 3, 5]
    """
    return _even_split(rows, max(1, min(int(threads), rows)))


def _even_split(total, parts):
    """Boundaries of ``parts`` near-equal consecutive ranges of ``range(total)``."""
    base, extra = divmod(total, parts)
    sizes = np.full(parts, base, dtype=np.int64)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def gradient_buffers(grad_input, n_buffers):
    """The buffers that the chunks of a plan scatter into.

    With one buffer (chunks own whole, distinct samples) it is ``grad_input``
    itself, seen as shape ``(1, ...)``; otherwise ``n_buffers`` zeroed copies.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.backends.chunks import gradient_buffers
    >>> grad = np.zeros((2, 3))
    >>> np.shares_memory(gradient_buffers(grad, 1), grad), gradient_buffers(grad, 2).shape
    (True, (2, 2, 3))
    """
    if n_buffers == 1:
        return grad_input[np.newaxis]
    return np.zeros((n_buffers,) + grad_input.shape, dtype=grad_input.dtype)


def sum_buffers(buffers, out, threads):
    """``out[...] = buffers[0] + buffers[1] + ...``, added in buffer order.

    Nothing to do for the single buffer of :func:`gradient_buffers`, which
    is ``out`` itself.

    Parameters
    ----------
    buffers : ndarray, shape (B, ...)
        Per-chunk gradient buffers.
    out : ndarray, shape (...)
        C-contiguous destination.
    threads : int
        Number of threads to split the elements over.
    """
    if buffers.shape[0] == 1 and np.shares_memory(buffers, out):
        return
    flat_buffers = buffers.reshape(buffers.shape[0], -1)
    flat_out = out.reshape(-1)
    bounds = row_chunks(flat_out.shape[0], threads)

    def add(start, end):
        np.add.reduce(flat_buffers[:, start:end], axis=0, out=flat_out[start:end])

    run_chunks(add, zip(bounds[:-1], bounds[1:]))


def plan_backward(batch, out_height, height, width, threads, need_input, need_grid):
    """How a backward kernel's work is split over threads, with no gradient buffers.

    Threads never add into the same input-gradient element:

    * with at least as many samples as threads, each chunk covers whole,
      distinct samples (and scatters into their gradients only);
    * with fewer samples than threads (a batch of one), one pass splits the
      output rows for the grid (or parameter) gradient, and a second pass
      gives each thread a band of *input* rows: it visits every output
      pixel, and scatters only the taps that land in its band.

    Every input-gradient element then receives its contributions in output
    pixel order, from one thread, so the gradients are bit-identical from
    run to run and whatever the thread count.

    Parameters
    ----------
    batch, out_height : int
        Samples and output rows per sample.
    height, width : int
        The input's spatial size.
    threads : int
        Threads available.
    need_input, need_grid : bool
        Which gradients the backward computes.

    Returns
    -------
    list of (bool, bool, list of (int, int, int, int))
        Passes, run one after the other: ``(need_input, need_grid, chunks)``,
        each chunk ``(band_start, band_end, row_start, row_end)`` with the
        band as plane offsets ``[h * width, ...)`` and the rows as flattened
        output rows ``n * out_height + h``.

    Examples
    --------
    >>> from warpkit.backends.chunks import plan_backward
    >>> plan_backward(4, 3, 5, 5, 2, True, True)
    [(True, True, [(0, 25, 0, 6), (0, 25, 6, 12)])]
    >>> plan_backward(1, 4, 6, 5, 2, True, True)  # doctest: +NORMALIZE_WHITESPACE
    [(False, True, [(0, 0, 0, 2), (0, 0, 2, 4)]),
     (True, False, [(0, 15, 0, 4), (15, 30, 0, 4)])]
    """
    threads = max(1, int(threads))
    rows = batch * out_height
    plane = height * width
    if threads == 1:  # one chunk, every row (the common small call, kept cheap)
        return [(need_input, need_grid, [(0, plane, 0, rows)])]
    if not need_input or threads == 1 or batch >= threads:
        if need_input:
            starts = _even_split(batch, min(threads, max(batch, 1))) * out_height
        else:
            starts = row_chunks(max(rows, 1), threads)
        chunks = [(0, plane, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]
        return [(need_input, need_grid, chunks)]
    passes = []
    if need_grid:
        starts = row_chunks(rows, threads)
        passes.append((False, True, [(0, 0, int(a), int(b))
                                     for a, b in zip(starts[:-1], starts[1:])]))
    bands = row_chunks(height, threads) * width
    passes.append((True, False, [(int(a), int(b), 0, rows)
                                 for a, b in zip(bands[:-1], bands[1:])]))
    return passes
