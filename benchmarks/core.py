"""The machinery of the suite: registered benchmarks, interleaved timing, peak memory.

A *benchmark* is a name, a group and a ``build(workload)`` function.  ``build``
prepares the data (untimed) and returns a :class:`Case`: one operation on one
workload, with one callable per *contender* -- warpkit first, then each anchor
(PyTorch, OpenCV, SciPy, Kornia, the memory floor).  :func:`run_case` times
all contenders of a case in the same process, interleaved (run 1 of every
contender, then run 2 of every contender, ...), after warm-up, and reports
medians with min and max.

``build`` raises :class:`Skip` with a reason when an operation cannot run
(warpkit function not there yet, anchor not installed, workload too large for
it); the reason is printed and written to the report.
"""

import ctypes
import fnmatch
import gc
import math
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

#: Anchors whose single call takes longer than this many seconds get fewer
#: runs (never fewer than MIN_SLOW_RUNS); warpkit and PyTorch always get the
#: full ``repeat``.  The number of runs is reported next to every time.
SLOW_ANCHOR_BUDGET_S = 2.0
MIN_SLOW_RUNS = 3

#: Calls faster than this are repeated in a loop inside one timing sample,
#: and the sample divided by the loop count (as ``timeit`` does).
MIN_SAMPLE_S = 2e-3

_REGISTRY = []


class Skip(Exception):
    """Raised by a ``build`` function (or a contender factory) to skip, with a reason."""


@dataclass
class Contender:
    """One implementation of an operation.

    ``fn`` takes no argument and returns its result.  ``to_nchw``, if given,
    turns that result into an (N, C, Ho, Wo) NumPy array so that it can be
    compared with warpkit's (the "max |diff|" column); ``memory`` says how its
    peak memory is measured: ``"tracemalloc"`` (NumPy allocations, exact) or
    ``"rss"`` (the process's resident-set high-water mark, for libraries that
    allocate outside Python: PyTorch, Kornia) or ``None`` (not measured: the
    single-purpose anchors -- OpenCV, SciPy, the floor -- allocate their
    output and nothing else).  ``primary`` contenders (warpkit's subject and
    PyTorch) always get the full number of runs.
    """

    fn: object
    to_nchw: object = None
    memory: str = "tracemalloc"
    primary: bool = False
    note: str = ""


@dataclass
class Case:
    """One operation on one workload, ready to time."""

    name: str
    workload: str
    contenders: dict
    pixels: int
    notes: list = field(default_factory=list)
    subject: str = "warpkit"
    #: Extra figures copied into the result record (e.g. ``grid_bytes``).
    extra: dict = field(default_factory=dict)


@dataclass
class Benchmark:
    name: str
    group: str
    build: object
    workloads: tuple
    doc: str = ""


def register(name, group, workloads, doc=""):
    """Decorator: register ``build(workload) -> Case`` under ``name`` for ``workloads`` (keys)."""

    def decorate(build):
        # a module run as a script and imported again registers twice: keep one
        _REGISTRY[:] = [bench for bench in _REGISTRY if bench.name != name]
        _REGISTRY.append(Benchmark(name, group, build, tuple(workloads), doc))
        return build

    return decorate


def registry():
    return list(_REGISTRY)


def matches(pattern, *names):
    """Whether ``pattern`` (a substring or a shell-style wildcard) matches any of ``names``."""
    if not pattern:
        return True
    for name in names:
        if pattern in name or fnmatch.fnmatch(name, pattern):
            return True
    return False


# ----------------------------------------------------------------------------- threads


def set_threads(count):
    """Use ``count`` threads in every library that has a setting for it.

    warpkit splits a call into ``numba.get_num_threads()`` row chunks (see
    ``warpkit/backends/threads.py``), so ``numba.set_num_threads`` sets its thread
    count; PyTorch's intra-op pool follows ``torch.set_num_threads`` and
    OpenCV's ``cv2.setNumThreads``, NumPy's BLAS ``threadpoolctl`` (when
    installed).  SciPy's ``ndimage`` is single-threaded.
    """
    import numba

    numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))
    try:
        import torch

        torch.set_num_threads(count)
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(count)
    except ImportError:
        pass
    try:  # NumPy's BLAS (used by autograd matmuls and the spline solve)
        from threadpoolctl import threadpool_limits

        threadpool_limits(count)
    except ImportError:
        pass


def prepare_process():
    """Import the anchors, run their lazy imports once, then freeze the GC's current objects.

    PyTorch and Kornia bring hundreds of thousands of long-lived objects;
    with them frozen, the ``gc.collect()`` before each case takes
    milliseconds instead of half a second.
    """
    from .anchors import optional

    for name in ("torch", "kornia", "cv2", "scipy.ndimage", "scipy.interpolate", "autograd"):
        optional(name)
    torch = optional("torch")
    if torch is not None:  # first autograd.grad imports sympy & co.
        leaf = torch.ones(2, requires_grad=True)
        torch.autograd.grad((leaf * 2).sum(), leaf)
    gc.collect()
    gc.freeze()


# ----------------------------------------------------------------------------- memory

_M_MMAP_THRESHOLD = -3
_M_TRIM_THRESHOLD = -1


def _mallopt(option, value):
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(option, value))
    except (OSError, AttributeError):
        return False


def _malloc_trim():
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _proc_status_kib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_rss_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def peak_memory(contender):
    """Peak extra memory (bytes) of one call of ``contender``, or None if not measurable.

    ``tracemalloc``: the peak of memory allocated through Python's allocators
    during the call (NumPy reports its array buffers there), the result
    included.  ``rss``: the rise of the process's resident-set high-water mark
    (``VmHWM``, reset through ``/proc/self/clear_refs``) during the call; free
    heap pages are first given back (``malloc_trim``) and glibc is told to
    serve every block above 64 KiB with a fresh ``mmap`` while this runs, so
    that reused memory does not hide allocations.
    """
    if contender.memory is None:
        return None
    gc.collect()
    if contender.memory == "tracemalloc":
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            result = contender.fn()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        del result
        return max(0, peak - base)
    if not _mallopt(_M_MMAP_THRESHOLD, 64 * 1024):
        return None
    _mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
    try:
        _malloc_trim()  # give free heap pages back, so that reusing them shows in the RSS
        if not _reset_rss_peak():
            return None
        base = _proc_status_kib("VmRSS")
        result = contender.fn()
        peak = _proc_status_kib("VmHWM")
        del result
        return max(0, peak - base) * 1024
    finally:
        # glibc's dynamic threshold grows to at most 32 MiB: fix it there, so
        # the timings of later cases see the allocator they would see anyway.
        _mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        _mallopt(_M_TRIM_THRESHOLD, 64 * 1024 * 1024)


# ----------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """Per-call times (seconds) of one contender in one case."""

    median: float
    low: float
    high: float
    runs: int
    inner: int
    peak_bytes: object = None
    memory: str = ""
    max_diff: object = None
    note: str = ""

    def finite(self):
        return math.isfinite(self.median) and self.median > 0


def _as_numpy(result, to_nchw):
    if to_nchw is None:
        return None
    array = to_nchw(result)
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def _timed(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def run_case(case, repeat, quick=False, measure_memory=True):
    """Time every contender of ``case``; returns ``{contender: Timing}``.

    Each contender is called once to warm up (its result is compared with
    warpkit's when both can be put in NCHW layout), then ``repeat`` timed runs
    are made, interleaved across contenders.  Quick mode reports the warm-up
    call itself (one call per contender) and measures no memory.
    """
    names = list(case.contenders)
    reference = None
    warm = {}
    diffs = {}
    first_call = {}
    for name in list(names):
        contender = case.contenders[name]
        start = time.perf_counter()
        try:
            result = contender.fn()
        except Exception as error:  # noqa: BLE001 - an anchor's failure is reported, not fatal
            if name == case.subject:
                raise
            names.remove(name)
            case.notes.append(f"{name}: failed, {type(error).__name__}: {str(error)[:160]}")
            continue
        warm[name] = first_call[name] = time.perf_counter() - start
        array = _as_numpy(result, contender.to_nchw)
        if name == case.subject:
            reference = array
        if array is not None and reference is not None and name != case.subject:
            if array.shape == reference.shape:
                diffs[name] = float(np.max(np.abs(array - reference))) if array.size else 0.0
            else:
                diffs[name] = float("nan")
        del result
    if quick:  # the warm-up call is the one run: every benchmark runs once
        return {name: Timing(median=first_call[name], low=first_call[name],
                             high=first_call[name], runs=1, inner=1,
                             memory=case.contenders[name].memory, max_diff=diffs.get(name),
                             note=case.contenders[name].note)
                for name in names}
    for name in names:
        # A second warm-up: warpkit's first call may include JIT compilation,
        # and fast calls settle thread pools and caches.  The faster of the
        # two calls then decides the loop count and how many runs it gets.
        if name.startswith("warpkit") or warm[name] < 0.5:
            start = time.perf_counter()
            case.contenders[name].fn()
            warm[name] = min(warm[name], time.perf_counter() - start)
    runs = {}
    inner = {}
    for name in names:
        contender = case.contenders[name]
        inner[name] = max(1, min(200, int(MIN_SAMPLE_S / max(warm[name], 1e-7))))
        if contender.primary or warm[name] * repeat <= SLOW_ANCHOR_BUDGET_S:
            runs[name] = repeat
        else:
            runs[name] = max(MIN_SLOW_RUNS, min(repeat, int(SLOW_ANCHOR_BUDGET_S / warm[name])))
    samples = {name: [] for name in names}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for run in range(max(runs.values())):
            for name in names:
                if run < runs[name]:
                    samples[name].append(_timed(case.contenders[name].fn, inner[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    timings = {}
    for name in names:
        values = np.array(samples[name])
        contender = case.contenders[name]
        timings[name] = Timing(
            median=float(np.median(values)),
            low=float(values.min()),
            high=float(values.max()),
            runs=len(values),
            inner=inner[name],
            memory=contender.memory,
            max_diff=diffs.get(name),
            note=contender.note,
        )
    if measure_memory and not quick:
        for name in names:
            timings[name].peak_bytes = peak_memory(case.contenders[name])
    return timings
