"""Check warpkit's CUDA kernels against the CPU path and time them against PyTorch CUDA.

One script for a machine with a GPU::

    python benchmarks/gpu_check.py            # checks, then the timing table
    python benchmarks/gpu_check.py --repeat 50

It also runs on tiny sizes under the CUDA simulator (the test suite does
this, so the script cannot rot)::

    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_check.py --tiny

What it does:

1. **Checks**: every CUDA kernel against the CPU kernels on small random
   problems -- ``grid_sample`` values, the input gradient (deterministic and
   atomic paths) and the grid gradient for every mode x padding x
   align_corners x dtype, and the fused warps (values and both gradients)
   where :mod:`warpkit.backends.cuda` has them; the deterministic input
   gradient must be bit-identical across runs.
2. **Timing**: medians of forward, backward (deterministic and atomic input
   gradient), and fused affine forward+backward, against PyTorch CUDA
   ``grid_sample`` (and ``affine_grid`` + ``grid_sample`` for the fused
   warp), on the four anchor workloads (docs/benchmarks.rst) plus N=256 C=3 224x224, all
   float32, bilinear, zeros padding.  ``speedup`` = torch time / warpkit
   time (> 1: warpkit is faster).  warpkit is timed through its public
   functions on numba device arrays that view torch's tensors (no copies),
   including argument checks, allocation and launches.  Without torch (or
   without CUDA in torch) the torch columns are skipped.

Exit status 0 when every check passed.
"""

import argparse
import statistics
import sys
import time

import numpy as np

WORKLOADS = [
    ("N=64 C=1 28x28", (64, 1, 28, 28)),
    ("N=32 C=3 224x224", (32, 3, 224, 224)),
    ("N=1 C=3 2048x2048", (1, 3, 2048, 2048)),
    ("N=8 C=32 64x64", (8, 32, 64, 64)),
    ("N=256 C=3 224x224", (256, 3, 224, 224)),
]

TINY_SHAPES = {
    "N=64 C=1 28x28": (2, 1, 5, 6),
    "N=32 C=3 224x224": (1, 2, 4, 7),
}

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        help="tiny sizes and few combinations (for the CUDA simulator)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed repetitions per measurement (default 30; 1 with --tiny)")
    parser.add_argument("--no-timing", action="store_true", help="run the checks only")
    return parser.parse_args(argv)


# ------------------------------------------------------------------ checks


class Checks:
    """Collects named comparisons and prints one line per failure.

    :meth:`close` scales its tolerance by the magnitude of the whole compared
    array, never by one element: an element of a gradient can be zero, or
    nearly, while the terms summed into it are not, and the GPU sums them in
    another order than the CPU (a tree reduction, float atomics in whatever
    order threads run, contracted multiply-adds), so its last bits differ by
    an amount proportional to the terms, not to their sum.  Values computed
    in a fixed order (the deterministic input gradient, the parameter
    gradients) are compared run against run with :meth:`identical`: exactly.
    """

    #: Largest ``|got - expected|`` allowed, as a fraction of the array's
    #: scale (:meth:`close`): float32 sums of up to thousands of terms in
    #: another order lose a few hundred ulps of the largest term (2e-4 is
    #: ~1700 float32 ulps); float64 rounding of the same sums stays below
    #: 1e-13 of the scale, so 1e-10 still rejects any wrong term.
    RTOL = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-10}

    def __init__(self):
        self.count = 0
        self.failures = []

    def close(self, name, got, expected, dtype, terms=None):
        """Record whether ``got`` matches ``expected`` to :data:`RTOL` of their scale.

        ``scale`` is the largest finite ``|expected|`` in the array and, where
        the caller passes ``terms`` (the same computation on absolute values,
        a bound on the sum of ``|terms|`` of each element), the largest of
        those.  With ``scale == 0`` every term is zero, and a sum of zeros is
        zero in any order: the arrays must then be equal.  Non-finite values
        must be at the same places with the same values.
        """
        self.count += 1
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            self.failures.append(f"{name}: shapes {got.shape} vs {expected.shape}")
            return
        finite = np.isfinite(expected)
        if not (np.array_equal(np.isfinite(got), finite)
                and np.array_equal(got[~finite], expected[~finite], equal_nan=True)):
            self.failures.append(f"{name}: non-finite values differ")
            return
        scale = float(np.abs(expected[finite]).max(initial=0.0))
        if terms is not None:
            terms = np.abs(np.asarray(terms, dtype=np.float64))
            scale = max(scale, float(terms[np.isfinite(terms)].max(initial=0.0)))
        tol = self.RTOL[np.dtype(dtype)] * scale
        error = float(np.abs(got[finite] - expected[finite]).max(initial=0.0))
        if not error <= tol:
            self.failures.append(f"{name}: max |got - expected| {error:.3g} > {tol:.3g} "
                                 f"({self.RTOL[np.dtype(dtype)]:g} of the scale {scale:.3g})")

    def identical(self, name, first, second):
        """Record whether two runs of a fixed-order computation gave the same bits."""
        self.count += 1
        first, second = np.asarray(first), np.asarray(second)
        if first.shape != second.shape or first.tobytes() != second.tobytes():
            self.failures.append(f"{name}: not bit-identical across runs")


def random_problem(rng, shape, out_size, dtype, spread=1.2):
    n, c = shape[:2]
    image = rng.standard_normal(shape).astype(dtype)
    grid = rng.uniform(-spread, spread, (n,) + out_size + (2,)).astype(dtype)
    grad_output = rng.standard_normal((n, c) + out_size).astype(dtype)
    return image, grid, grad_output


def check_grid_sample(checks, tiny):
    import warpkit
    from numba import cuda
    from warpkit import _args
    from warpkit.backends import cuda as backend

    rng = np.random.default_rng(0)
    if tiny:
        cases = [("bilinear", "zeros", False, np.float64), ("nearest", "border", True, np.float32),
                 ("bicubic", "reflection", False, np.float32)]
        shape, out_size = (2, 2, 4, 5), (3, 7)
    else:
        cases = [(m, p, a, d) for d in (np.float32, np.float64) for m in MODES for p in PADDINGS
                 for a in (False, True)]
        shape, out_size = (3, 3, 37, 45), (41, 53)
    for mode, padding, align, dtype in cases:
        name = f"grid_sample {mode}/{padding}/align={align}/{np.dtype(dtype).name}"
        image, grid, grad_output = random_problem(rng, shape, out_size, dtype)
        if mode == "nearest":  # exact ties: round half to even on both targets
            grid[0, 0, :4, 0] = [-0.75, -0.25, 0.25, 0.75]
        options = dict(mode=mode, padding_mode=padding, align_corners=align)
        args = _args.SampleArgs(image, grid, mode, padding, align)
        d_image, d_grid, d_grad = (cuda.to_device(a) for a in (image, grid, grad_output))
        out = backend.grid_sample(args, d_image, d_grid).copy_to_host()
        checks.close(name + " forward", out, warpkit.grid_sample(image, grid, **options), dtype)
        expected_input, expected_grid = warpkit.grid_sample_vjp(image, grid, grad_output,
                                                                **options)
        # the input gradient's sums of |terms| (exact for bilinear and nearest weights)
        input_terms = warpkit.grid_sample_vjp(image, grid, np.abs(grad_output), **options)[0]
        runs = []
        for deterministic in (True, True, False):
            grad_input, grad_grid = backend.grid_sample_vjp(
                args, d_image, d_grid, d_grad, True, True, deterministic=deterministic)
            grad_input, grad_grid = grad_input.copy_to_host(), grad_grid.copy_to_host()
            path = "deterministic" if deterministic else "atomic"
            checks.close(f"{name} grad_input ({path})", grad_input, expected_input, dtype,
                         input_terms)
            checks.close(f"{name} grad_grid ({path})", grad_grid, expected_grid, dtype)
            runs.append((grad_input, grad_grid))
        checks.identical(name + " deterministic grad_input", runs[0][0], runs[1][0])
        # one thread sums each grid-gradient element, in a fixed order, on both paths
        for i in (1, 2):
            checks.identical(f"{name} grad_grid (run {i + 1})", runs[0][1], runs[i][1])


def check_fused(checks, tiny):
    import warpkit
    import warpkit.tps
    from numba import cuda
    from warpkit import fused as warp
    from warpkit.backends import cuda as backend
    rng = np.random.default_rng(1)
    if tiny:
        cases = [("bicubic", "border", True, np.float64)]
        shape, out_size = (2, 2, 4, 5), (3, 7)
    else:
        cases = [(m, p, a, d) for d in (np.float32, np.float64) for m in MODES
                 for p in PADDINGS for a in (False, True)]
        shape, out_size = (3, 3, 37, 45), (41, 53)
    for mode, padding, align, dtype in cases:
        image, _, grad_output = random_problem(rng, shape, out_size, dtype)
        theta = (np.eye(2, 3) + rng.normal(0, 0.3, (shape[0], 2, 3))).astype(dtype)
        hom = np.concatenate([theta, np.zeros((shape[0], 1, 3), dtype)], axis=1)
        hom[:, 2] = [0.05, -0.05, 1.0]
        options = dict(mode=mode, padding_mode=padding, align_corners=align)
        controls = warpkit.control_point_grid(4) + rng.normal(0, 0.02, (4, 2))
        targets = controls[None] + rng.normal(0, 0.1, (shape[0], 4, 2))
        coef = np.ascontiguousarray(warpkit.tps.solve_tps(controls, targets))
        d_image, d_grad = cuda.to_device(image), cuda.to_device(grad_output)
        for kind, params, forward, vjp in [
            ("affine", (theta,), warp.warp_affine, warp.warp_affine_vjp),
            ("perspective", (hom,), warp.warp_perspective, warp.warp_perspective_vjp),
            ("tps", (coef, controls), warp.warp_tps_coefficients,
             warp.warp_tps_coefficients_vjp),
        ]:
            name = f"warp_{kind} {mode}/{padding}/align={align}/{np.dtype(dtype).name}"
            d_params = [cuda.to_device(np.ascontiguousarray(p)) for p in params]
            out = forward(d_image, *d_params, out_size, **options).copy_to_host()
            checks.close(name + " forward", out, forward(image, *params, out_size, **options),
                         dtype)
            expected = vjp(image, *params, grad_output, out_size, **options)
            input_terms = vjp(image, *params, np.abs(grad_output), out_size, **options)[0]
            runs = []
            for deterministic in (True, True, False):
                with backend.scatter(deterministic):
                    grads = [g.copy_to_host()
                             for g in vjp(d_image, *d_params, d_grad, out_size, **options)]
                path = "deterministic" if deterministic else "atomic"
                checks.close(f"{name} grad_input ({path})", grads[0], expected[0], dtype,
                             input_terms)
                for i in range(1, len(grads)):
                    checks.close(f"{name} grad_params[{i}] ({path})", grads[i], expected[i],
                                 dtype)
                runs.append(grads)
            checks.identical(name + " deterministic grad_input", runs[0][0], runs[1][0])
            for i in range(1, len(runs[0])):
                checks.identical(f"{name} grad_params[{i}]", runs[0][i], runs[1][i])
    del warpkit


# ------------------------------------------------------------------ timing


def median_time(function, synchronize, repeat, warmup):
    for _ in range(warmup):
        function()
    synchronize()
    times = []
    for _ in range(repeat):
        synchronize()
        start = time.perf_counter()
        function()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def load_torch():
    try:
        import torch
    except ImportError:
        print("torch is not installed: torch columns skipped")
        return None
    if not torch.cuda.is_available():
        print(f"torch {torch.__version__} has no CUDA device: torch columns skipped")
        return None
    return torch


def time_workloads(tiny, repeat):
    import warpkit
    from numba import cuda
    from warpkit import _args
    from warpkit.backends import cuda as backend
    from warpkit.kernels import cuda as kernels

    torch = None if tiny else load_torch()
    if tiny:
        print("(tiny sizes under the simulator: the times mean nothing)")
    warmup = 1 if tiny else 3
    rows = []
    for label, shape in WORKLOADS:
        if tiny:
            if label not in TINY_SHAPES:
                continue
            shape = TINY_SHAPES[label]
        n, c, h, w = shape
        rng = np.random.default_rng(0)
        angle = rng.uniform(-0.3, 0.3, n)
        scale = rng.uniform(0.8, 1.2, n)
        theta = np.zeros((n, 2, 3), np.float32)
        theta[:, 0, 0] = scale * np.cos(angle)
        theta[:, 0, 1] = -scale * np.sin(angle)
        theta[:, 1, 0] = scale * np.sin(angle)
        theta[:, 1, 1] = scale * np.cos(angle)
        theta[:, :, 2] = rng.uniform(-0.1, 0.1, (n, 2))
        image = rng.standard_normal(shape, dtype=np.float32)
        grid = warpkit.affine_grid(theta, shape).astype(np.float32)
        grad_output = rng.standard_normal(shape, dtype=np.float32)
        row = {"workload": label + (f" (tiny: {n}x{c}x{h}x{w})" if tiny else "")}
        if torch is not None:
            t_image = torch.from_numpy(image).cuda()
            t_grid = torch.from_numpy(grid).cuda()
            t_grad = torch.from_numpy(grad_output).cuda()
            t_theta = torch.from_numpy(theta).cuda()
            d_image, d_grid, d_grad, d_theta = (cuda.as_cuda_array(t) for t in
                                                (t_image, t_grid, t_grad, t_theta))
        else:
            d_image, d_grid, d_grad, d_theta = (cuda.to_device(a) for a in
                                                (image, grid, grad_output, theta))
        args = _args.SampleArgs(image, grid, "bilinear", "zeros", False)
        sync = cuda.synchronize
        row["fwd"] = median_time(lambda: backend.grid_sample(args, d_image, d_grid), sync,
                                 repeat, warmup)
        # Where the time goes: the forward kernel alone (output allocated
        # once), and allocating the output alone.
        out = cuda.device_array(shape, np.float32)
        launches = kernels.pixel_chunks(n, h, w)

        def forward_kernel():
            for blocks, threads, row0, col0 in launches:
                kernels.grid_sample_forward[0][blocks, threads](d_image, d_grid, 0, False, out,
                                                                row0, col0)

        row["fwd kernel"] = median_time(forward_kernel, sync, repeat, warmup)
        row["alloc"] = median_time(lambda: cuda.device_array(shape, np.float32), sync, repeat,
                                   warmup)
        row["bwd det"] = median_time(lambda: backend.grid_sample_vjp(
            args, d_image, d_grid, d_grad, True, True, deterministic=True), sync, repeat, warmup)
        row["bwd atomic"] = median_time(lambda: backend.grid_sample_vjp(
            args, d_image, d_grid, d_grad, True, True, deterministic=False), sync, repeat,
            warmup)

        def fused_step():
            warpkit.warp_affine(d_image, d_theta, (h, w))
            warpkit.warp_affine_vjp(d_image, d_theta, d_grad, (h, w))

        row["fused"] = median_time(fused_step, sync, repeat, warmup)
        if torch is not None:
            functional = torch.nn.functional
            row["torch fwd"] = median_time(
                lambda: functional.grid_sample(t_image, t_grid, align_corners=False), sync,
                repeat, warmup)
            row["torch bwd"] = median_time(
                lambda: torch.ops.aten.grid_sampler_2d_backward(
                    t_grad, t_image, t_grid, 0, 0, False, [True, True]), sync, repeat, warmup)
            t_image_leaf = t_image.clone().requires_grad_(True)
            t_theta_leaf = t_theta.clone().requires_grad_(True)

            def torch_fused_step():
                grid_t = functional.affine_grid(t_theta_leaf, shape, align_corners=False)
                out = functional.grid_sample(t_image_leaf, grid_t, align_corners=False)
                out.backward(t_grad)

            row["torch fused"] = median_time(torch_fused_step, sync, repeat, warmup)
        rows.append(row)
        print("  " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else str(v)
                               for k, v in row.items()), flush=True)
    print_table(rows, torch is not None, True)
    return rows


def print_table(rows, with_torch, fused):
    columns = [("workload", "workload", "{}"), ("fwd", "fwd ms", "{:.4f}"),
               ("fwd kernel", "fwd kernel only ms", "{:.4f}"), ("alloc", "alloc out ms", "{:.4f}")]
    if with_torch:
        columns += [("torch fwd", "torch fwd ms", "{:.4f}"), ("fwd speedup", "fwd x", "{:.2f}")]
    columns += [("bwd det", "bwd det ms", "{:.4f}"), ("bwd atomic", "bwd atomic ms", "{:.4f}")]
    if with_torch:
        columns += [("torch bwd", "torch bwd ms", "{:.4f}"),
                    ("bwd det speedup", "bwd det x", "{:.2f}"),
                    ("bwd atomic speedup", "bwd atomic x", "{:.2f}")]
    columns += [("det/atomic", "det/atomic", "{:.2f}")]
    if fused:
        columns += [("fused", "fused affine f+b ms", "{:.4f}")]
        if with_torch:
            columns += [("torch fused", "torch affine_grid+sample f+b ms", "{:.4f}"),
                        ("fused speedup", "fused x", "{:.2f}")]
    for row in rows:
        row["det/atomic"] = row["bwd det"] / row["bwd atomic"]
        if with_torch:
            row["fwd speedup"] = row["torch fwd"] / row["fwd"]
            row["bwd det speedup"] = row["torch bwd"] / row["bwd det"]
            row["bwd atomic speedup"] = row["torch bwd"] / row["bwd atomic"]
            if fused:
                row["fused speedup"] = row["torch fused"] / row["fused"]
    header = [title for _, title, _ in columns]
    body = [[fmt.format(row[key]) if key in row else "-" for key, _, fmt in columns]
            for row in rows]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for line in body:
        print("| " + " | ".join(line) + " |")
    print("x = torch time / warpkit time (> 1: warpkit faster); det/atomic = deterministic "
          "backward time / atomic backward time; all float32, bilinear, zeros padding.")


# --------------------------------------------------------------------- main


def describe_device():
    import numba
    from numba import cuda

    versions = [f"numpy {np.__version__}", f"numba {numba.__version__}"]
    try:
        import numba_cuda

        versions.append(f"numba-cuda {numba_cuda.__version__}")
    except ImportError:
        pass
    try:
        import torch

        versions.append(f"torch {torch.__version__}")
    except ImportError:
        pass
    import numba.core.config

    if numba.core.config.ENABLE_CUDASIM:
        device = "CUDA simulator"
    else:
        current = cuda.get_current_device()
        name = current.name.decode() if isinstance(current.name, bytes) else current.name
        device = f"{name} (compute capability {current.compute_capability})"
    print(f"device: {device}; {', '.join(versions)}")


def check_torch_tensors(checks):
    """PyTorch CUDA tensors go straight into the CUDA backend (no copies)."""
    torch = load_torch()
    if torch is None:
        return
    import warpkit
    from warpkit import _args
    from warpkit.backends import cuda as backend

    image = torch.randn(2, 3, 9, 11, device="cuda")
    grid = torch.rand(2, 5, 7, 2, device="cuda") * 2 - 1
    args = _args.SampleArgs(image, grid, "bilinear", "zeros", False)
    out = backend.grid_sample(args, image, grid)
    expected = torch.nn.functional.grid_sample(image, grid, align_corners=False)
    checks.close("torch tensors into the CUDA backend's grid_sample", out.copy_to_host(),
                 expected.cpu().numpy(), np.float32)
    try:
        warpkit.grid_sample(image, grid)
        print("warpkit.grid_sample accepts torch CUDA tensors")
    except Exception as error:  # reported, not a failure of the kernels
        print(f"note: warpkit.grid_sample(torch CUDA tensors) raised "
              f"{type(error).__name__}: {error}")


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    repeat = options.repeat or (1 if options.tiny else 30)
    describe_device()
    checks = Checks()
    # Timing first (it compiles only the kernels it times), so that its table
    # comes out even if the full checks below run long.
    if not options.no_timing:
        try:
            time_workloads(options.tiny, repeat)
        except Exception as error:
            import traceback

            traceback.print_exc()
            checks.failures.append(f"timing raised {type(error).__name__}: {error}")
    start = time.perf_counter()
    for check in (check_grid_sample, check_fused, check_torch_tensors):
        if check is check_torch_tensors and options.tiny:
            continue
        try:
            check(checks, options.tiny) if check is not check_torch_tensors else check(checks)
        except Exception as error:  # report and go on: one run should show everything
            import traceback

            traceback.print_exc()
            checks.failures.append(f"{check.__name__} raised {type(error).__name__}: {error}")
    print(f"{checks.count} checks in {time.perf_counter() - start:.1f} s "
          "(first calls include compilation)")
    for failure in checks.failures:
        print("FAILED " + failure)
    if checks.failures:
        print(f"{len(checks.failures)} of {checks.count} checks failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
