"""Fused warps against PyTorch and against warpkit's own unfused path.

Run from the repository root::

    python -m benchmarks.bench_warp            # the four anchor workloads
    python -m benchmarks.bench_warp --quick    # tiny shapes, checks that it runs

Three tables:

1. ``warp_affine`` forward + backward (gradients w.r.t. the input and theta)
   against PyTorch's ``affine_grid`` + ``grid_sample`` forward + backward, and
   against warpkit's unfused ``affine_grid`` + ``grid_sample`` under autograd,
   on the four anchor workloads (``workloads.ANCHOR_WORKLOADS``; float32,
   bilinear, zeros padding).
2. Peak extra memory of one forward + backward: tracemalloc for warpkit (every
   NumPy allocation is traced; the inputs and the output gradient exist
   before the measurement); PyTorch's profiler for torch (CPU memory events
   replayed in time order; the running total's peak).
3. ``warp_tps`` forward + backward (input, control and target points) for
   K = 16, 64, 256 against the unfused ``tps_grid`` + ``grid_sample``, and
   Kornia's ``get_tps_transform`` + ``warp_image_tps`` if Kornia is installed
   (K <= 64).  Both warpkit paths include the float64 spline solve.

NumPy's BLAS (OpenBLAS) may start one thread per host CPU; on a machine that
offers fewer cores than it sees, the spline solve slows down a hundredfold.
Set ``OPENBLAS_NUM_THREADS`` to the number of cores you have.

Times are medians of ``--repeat`` runs (default 7) after one warm-up run, all
contenders interleaved in one process with the same thread count.
"""

import argparse
import gc
import statistics
import time
import tracemalloc

import numba
import numpy as np
from autograd import make_vjp

import warpkit
from warpkit.fused import warp_affine_vjp

from . import workloads as wl


def median_time(fns, repeat):
    """Median seconds of each callable, runs interleaved after one warm-up each."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def numpy_peak(fn):
    """Peak bytes allocated through NumPy/Python while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def torch_peak(fn):
    """Approximate peak bytes PyTorch allocates on the CPU while ``fn`` runs.

    Replays the profiler's per-operator memory changes (allocations positive,
    frees negative) in order of start time and returns the running total's
    maximum.  A free inside a parent operator is counted at the parent's
    start, so this can read a little low.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e.time_range.start, e.self_cpu_memory_usage) for e in prof.events()
                    if e.self_cpu_memory_usage)
    total = peak = 0
    for _, change in events:
        total += change
        peak = max(peak, total)
    return peak


def affine_contenders(workload):
    x = wl.image(workload.shape)
    theta = wl.affine_thetas(workload.n)
    grad_out = wl.image(workload.shape, seed=1)

    def fused():
        warpkit.warp_affine(x, theta)
        return warp_affine_vjp(x, theta, grad_out)

    unfused_vjp = make_vjp(lambda p: warpkit.grid_sample(
        p[0], warpkit.affine_grid(p[1], p[0].shape)))

    def unfused():
        vjp, _ = unfused_vjp((x, theta))
        return vjp(grad_out)

    fns = {"warpkit fused": fused, "warpkit unfused": unfused}
    fused()  # compile and warm up before measuring memory
    unfused()
    peaks = {"warpkit fused": numpy_peak(fused), "warpkit unfused": numpy_peak(unfused)}
    try:
        import torch
    except ImportError:
        return fns, peaks
    torch.set_num_threads(numba.get_num_threads())
    tx = torch.from_numpy(x).requires_grad_()
    ttheta = torch.from_numpy(theta).requires_grad_()
    tgrad = torch.from_numpy(grad_out)
    F = torch.nn.functional

    def torch_run():
        grid = F.affine_grid(ttheta, list(x.shape), align_corners=False)
        out = F.grid_sample(tx, grid, mode="bilinear", padding_mode="zeros",
                            align_corners=False)
        return torch.autograd.grad(out, (tx, ttheta), tgrad)

    fns["torch"] = torch_run
    torch_run()
    peaks["torch"] = torch_peak(torch_run)
    return fns, peaks


def tps_contenders(workload, k):
    x = wl.image(workload.shape)
    controls = warpkit.control_point_grid(k)
    targets = controls[None] + 0.05 * wl.rng(k).standard_normal((workload.n, k, 2))
    grad_out = wl.image(workload.shape, seed=1)
    fused_vjp = make_vjp(lambda p: warpkit.warp_tps(p[0], p[1], p[2]))
    unfused_vjp = make_vjp(lambda p: warpkit.grid_sample(
        p[0], warpkit.tps_grid(p[1], p[2], p[0].shape).astype(np.float32)))

    def run(maker):
        def go():
            vjp, _ = maker((x, controls, targets))
            return vjp(grad_out)
        return go

    fns = {"warpkit fused": run(fused_vjp), "warpkit unfused": run(unfused_vjp)}
    kornia = _kornia_tps(x, controls, targets, grad_out)
    if kornia is not None:
        fns["kornia"] = kornia
    return fns


#: Kornia's batched float32 spline solve fails above this K on this torch build
#: ("Pivots given to lu_solve must all be greater or equal to 1").
KORNIA_TPS_MAX_K = 64


def _kornia_tps(x, controls, targets, grad_out):
    """Kornia's solve + warp_image_tps forward+backward (input, targets), or None."""
    try:
        import kornia
        import torch
    except ImportError:
        return None
    if len(controls) > KORNIA_TPS_MAX_K:
        return None
    tps = kornia.geometry.transform
    xt = torch.from_numpy(x).requires_grad_()
    ct = torch.from_numpy(np.broadcast_to(controls, targets.shape).astype(np.float32))
    tt = torch.from_numpy(targets.astype(np.float32)).requires_grad_()
    gt = torch.from_numpy(grad_out)

    def run():
        kernel_weights, affine_weights = tps.get_tps_transform(tt, ct)
        out = tps.warp_image_tps(xt, ct, kernel_weights, affine_weights, align_corners=False)
        return torch.autograd.grad(out, (xt, tt), gt)

    return run


def megabytes(value):
    return f"{value / 2**20:8.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workloads", nargs="*", default=list(wl.ANCHOR_WORKLOADS))
    args = parser.parse_args(argv)
    print(f"threads: numba {numba.get_num_threads()}; float32, bilinear, zeros padding; "
          f"medians of {args.repeat} runs after warm-up")

    print("\nwarp_affine forward+backward (d input, d theta)")
    header = (f"{'workload':>20} {'fused ms':>9} {'unfused ms':>10} {'torch ms':>9} "
              f"{'torch/fused':>11} {'unfused/fused':>13} {'fused MiB':>9} "
              f"{'unfused MiB':>11} {'torch MiB':>9} {'grid MiB':>8}")
    print(header)
    for key in args.workloads:
        workload = wl.workload(key, args.quick)
        fns, peaks = affine_contenders(workload)
        times = median_time(fns, args.repeat)
        fused = times["warpkit fused"]
        grid_bytes = workload.n * workload.h * workload.w * 2 * 4
        torch_ms = times.get("torch", float("nan")) * 1e3
        print(f"{wl.full_label(key):>20} {fused * 1e3:9.3f} {times['warpkit unfused'] * 1e3:10.3f} "
              f"{torch_ms:9.3f} {torch_ms / (fused * 1e3):11.2f} "
              f"{times['warpkit unfused'] / fused:13.2f} {megabytes(peaks['warpkit fused']):>9} "
              f"{megabytes(peaks['warpkit unfused']):>11} "
              f"{megabytes(peaks.get('torch', float('nan'))):>9} {megabytes(grid_bytes):>8}")

    print("\nwarp_tps forward+backward (d input, d control points, d target points; "
          "kornia: d input, d targets)")
    try:
        import kornia  # noqa: F401
    except ImportError:
        print("kornia: not installed, skipped")
    print(f"{'workload':>20} {'K':>4} {'fused ms':>9} {'unfused ms':>10} {'kornia ms':>9} "
          f"{'unfused/fused':>13} {'kornia/fused':>12}")
    for key in ("n64c1-28", "n8c32-64"):
        workload = wl.workload(key, args.quick)
        for k in (16, 64, 256):
            times = median_time(tps_contenders(workload, k), args.repeat)
            fused = times["warpkit fused"]
            kornia_ms = times.get("kornia", float("nan")) * 1e3
            print(f"{wl.full_label(key):>20} {k:>4} {fused * 1e3:9.3f} "
                  f"{times['warpkit unfused'] * 1e3:10.3f} {kornia_ms:9.3f} "
                  f"{times['warpkit unfused'] / fused:13.2f} {kornia_ms / (fused * 1e3):12.2f}")
    print(f"(kornia is left out above K={KORNIA_TPS_MAX_K}: its batched float32 solve fails)")


if __name__ == "__main__":
    main()
