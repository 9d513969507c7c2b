"""Scaling curves: bilinear grid_sample forward and backward, warpkit and PyTorch.

* ``size``: one RGB image, output (= input) side 32 -> 4096;
* ``batch``: N = 1 -> 256 RGB images of 64x64;
* ``channels``: C = 1 -> 64, N = 8 images of 64x64;
* ``threads``: every suite workload but the 4096x4096 image, at 1 and at 2
  threads.

Each point is a :class:`~benchmarks.core.Case` with two contenders timed
interleaved, as everywhere in the suite.  The report draws each curve as a PNG
and prints it as a table.
"""

from . import workloads as wl
from .anchors import require, warpkit_function
from .bench_sampler import sampler_data, torch_tensor
from .core import Case, Contender, run_case, set_threads

KINDS = ("size", "batch", "channels", "threads")

_POINTS = {
    "size": [wl.Workload(f"size-{s}", 1, 3, s, s) for s in (32, 64, 128, 256, 512, 1024, 2048,
                                                            4096)],
    "batch": [wl.Workload(f"batch-{n}", n, 3, 64, 64) for n in (1, 4, 16, 64, 256)],
    "channels": [wl.Workload(f"channels-{c}", 8, c, 64, 64) for c in (1, 4, 16, 64)],
}
_QUICK_POINTS = {
    "size": [wl.Workload(f"size-{s}", 1, 3, s, s) for s in (8, 16)],
    "batch": [wl.Workload(f"batch-{n}", n, 3, 8, 8) for n in (1, 2)],
    "channels": [wl.Workload(f"channels-{c}", 2, c, 8, 8) for c in (1, 2)],
}
_X = {"size": ("output side (pixels)", lambda w: w.h),
      "batch": ("batch size N", lambda w: w.n),
      "channels": ("channels C", lambda w: w.c)}
SERIES = ("warpkit forward", "torch forward", "warpkit backward", "torch backward")


def _cases(work):
    """Forward and backward cases (bilinear, zeros, align_corners=False) on ``work``."""
    grid_sample = warpkit_function("grid_sample")
    grid_sample_vjp = warpkit_function("grid_sample_vjp")
    torch = require("torch")
    x, grid, grad_output = sampler_data(work)
    xt, gt = torch_tensor(x), torch_tensor(grid)
    f = torch.nn.functional.grid_sample
    forward = Case("forward", work.key, {
        "warpkit": Contender(lambda: grid_sample(x, grid), primary=True),
        "torch": Contender(lambda: f(xt, gt, align_corners=False), primary=True, memory="rss"),
    }, work.pixels)
    xr, gr = torch_tensor(x, True), torch_tensor(grid, True)
    out = f(xr, gr, align_corners=False)
    got = torch_tensor(grad_output)
    backward = Case("backward", work.key, {
        "warpkit": Contender(lambda: grid_sample_vjp(x, grid, grad_output), primary=True),
        "torch": Contender(lambda: torch.autograd.grad(out, (xr, gr), got, retain_graph=True),
                           primary=True, memory="rss"),
    }, work.pixels)
    return forward, backward


def _point(work, repeat, quick):
    forward, backward = _cases(work)
    times = {}
    for label, case in (("forward", forward), ("backward", backward)):
        timings = run_case(case, repeat, quick=quick, measure_memory=False)
        for name, timing in timings.items():
            times[f"{name} {label}"] = timing.median
    return times


def measure(kind, quick=False, repeat=7, threads=2):
    """One scaling curve: ``{"x_label", "rows": [{"x", "label", times...}], "threads"}``."""
    if kind == "threads":
        rows = []
        for key in wl.WITHOUT_HUGE[: 2 if quick else None]:
            work = wl.workload(key, quick)
            row = {"x": key, "label": wl.full_label(key), "size": work.label}
            for count in (1, 2):
                set_threads(count)
                for name, value in _point(work, repeat, quick).items():
                    row[f"{name} @{count}"] = value
            rows.append(row)
        set_threads(threads)
        return {"x_label": "workload", "rows": rows, "threads": [1, 2]}
    set_threads(threads)
    label, x_of = _X[kind]
    rows = []
    for work in (_QUICK_POINTS if quick else _POINTS)[kind]:
        row = {"x": x_of(work), "label": work.label}
        row.update(_point(work, repeat, quick))
        rows.append(row)
    return {"x_label": label, "rows": rows, "threads": threads}
