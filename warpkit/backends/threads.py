"""The thread pool that runs CPU kernels on chunks of rows.

Kernels are serial ``nogil`` Numba functions over a range of rows; this module
runs several ranges at once.  The calling thread always runs the first chunk
itself, so calls from many Python threads at once never wait on each other
for a free worker, and a small problem (one chunk) never touches the pool.

The number of threads follows ``numba.get_num_threads()`` (so
``NUMBA_NUM_THREADS`` and ``numba.set_num_threads`` apply).  The pool is
created lazily and anew in a forked child process, where the parent's worker
threads do not exist.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

from .._config import SERIAL_WORK_LIMIT

_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def threads_for(work):
    """Number of threads for a call that touches ``work`` output elements."""
    if work < SERIAL_WORK_LIMIT:
        return 1
    return max(1, numba.get_num_threads())


def _get_pool():
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(
                max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                thread_name_prefix="warpkit",
            )
            _pool_pid = os.getpid()
        return _pool


def run_chunks(kernel, chunk_args):
    """Call ``kernel(*args)`` for every ``args`` in ``chunk_args``, in parallel.

    The chunks must write disjoint memory.  Exceptions are re-raised in the
    caller after all chunks have finished.
    """
    chunk_args = list(chunk_args)
    if len(chunk_args) == 1:
        kernel(*chunk_args[0])
        return
    pool = _get_pool()
    futures = [pool.submit(kernel, *args) for args in chunk_args[1:]]
    error = None
    try:
        kernel(*chunk_args[0])
    except BaseException as exc:  # still wait for the others: they write our buffers
        error = exc
    for future in futures:
        exc = future.exception()
        if error is None and exc is not None:
            error = exc
    if error is not None:
        raise error
