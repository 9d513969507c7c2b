"""JIT compile time, measured in fresh subprocesses: cold (empty Numba cache) and warm.

Each measurement starts a new Python process whose ``NUMBA_CACHE_DIR`` points
to a temporary folder.  *Cold*: the folder is empty, so every kernel the
calls need is compiled.  *Warm*: the same folder again, now filled by the cold
run, so kernels are loaded from Numba's on-disk cache.  Inside the process the
script times, one after the other:

* ``import warpkit`` (NumPy's import included);
* the first ``grid_sample`` call (float32, bilinear) -- import + this call is
  the "first call" of the report's compile-time target;
* the first ``grid_sample_vjp`` call;
* calls with the other modes and paddings (each combination compiles its own
  specialized forward and backward kernels);
* a float64 call (the second specialization);
* the fused warps' first forward and backward calls, where they exist.

It also counts the compiled specializations of every Numba function in
``warpkit.kernels``, the option-specialized kernels included.  The wall time of the whole subprocess (interpreter start
included) is reported too.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import warpkit
phases = {"import warpkit": time.perf_counter() - t0}

def timed(name, fn):
    start = time.perf_counter()
    try:
        fn()
    except Exception as error:
        phases[name] = None
        errors[name] = f"{type(error).__name__}: {error}"
        return
    phases[name] = time.perf_counter() - start

errors = {}
x = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
theta = np.array([[[0.9, -0.2, 0.05], [0.2, 0.9, -0.03]]] * 2, dtype=np.float32)
grid = warpkit.affine_grid(theta, x.shape).astype(np.float32)
go = np.ones((2, 3, 8, 8), np.float32)
timed("first grid_sample", lambda: warpkit.grid_sample(x, grid))
timed("first grid_sample_vjp", lambda: warpkit.grid_sample_vjp(x, grid, go))
def other_modes():
    for mode in ("nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            warpkit.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=True)
            warpkit.grid_sample_vjp(x, grid, go, mode=mode, padding_mode=padding)
if FULL:
    timed("other modes and paddings", other_modes)
    timed("first float64 grid_sample + vjp", lambda: (
        warpkit.grid_sample(x.astype(np.float64), grid.astype(np.float64)),
        warpkit.grid_sample_vjp(x.astype(np.float64), grid.astype(np.float64),
                                go.astype(np.float64))))
    from autograd import grad
    h = np.concatenate([theta, np.array([[[0.05, -0.03, 1.0]]] * 2, np.float32)], axis=1)
    side = np.linspace(-0.8, 0.8, 4)
    controls = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2).astype(np.float32)
    targets = np.stack([controls * 0.9] * 2).astype(np.float32)
    fused = {
        "warp_affine": (lambda a: warpkit.warp_affine(x, a), theta),
        "warp_perspective": (lambda a: warpkit.warp_perspective(x, a), h),
        "warp_tps": (lambda a: warpkit.warp_tps(x, controls, a), targets),
    }
    for name, (fn, params) in fused.items():
        if hasattr(warpkit, name):
            timed(f"first {name}", lambda: fn(params))
            timed(f"first {name} backward", lambda: grad(lambda p: fn(p).sum())(params))

counts = {}
import importlib, pkgutil
import warpkit.kernels as kernels
for info in pkgutil.iter_modules(kernels.__path__):
    try:
        module = importlib.import_module(f"warpkit.kernels.{info.name}")
    except Exception:
        continue
    for attr, value in vars(module).items():
        signatures = getattr(value, "signatures", None)
        if isinstance(signatures, list) and signatures:
            counts[f"{info.name}.{attr}"] = len(signatures)
# The kernels specialized on their options (warpkit.kernels.cpu.specialized):
# one entry per factory, counting every (options, dtype) compiled.
from warpkit.kernels import cpu
for key, kernel in list(cpu._compiled.items()):
    factory = key[0]  # key: (factory, its leading constants, the options)
    name = f"{factory.__module__.rsplit('.', 1)[-1]}.{factory.__name__}"
    counts[name] = counts.get(name, 0) + len(kernel.signatures)
print("RESULT " + json.dumps({"phases": phases, "errors": errors, "specializations": counts}))
"""


def _run(cache_dir, full):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    source = SCRIPT.replace("if FULL:", f"if {bool(full)}:")  # quick: float32 calls only
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", source], env=env, capture_output=True,
                               text=True, timeout=600)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"compile-time subprocess failed:\n{completed.stderr[-2000:]}")
    line = [row for row in completed.stdout.splitlines() if row.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    result["wall"] = wall
    return result


def _first_call(result):
    phases = result["phases"]
    if phases.get("first grid_sample") is None:
        return None
    return phases["import warpkit"] + phases["first grid_sample"]


def measure(quick=False, warm_runs=3):
    """Cold and warm compile times; quick mode: one warm-ish run with the default cache.

    Returns ``{"cold": ..., "warm": [...], "numbers": {...}}`` where
    ``numbers`` holds the headline figures (seconds): ``cold_first_call`` and
    ``warm_first_call`` (import + first grid_sample), ``cold_vjp`` and
    ``warm_vjp`` (the first grid_sample_vjp call after that).
    """
    if quick:
        result = _run(None, full=False)
        return {"mode": "quick: one subprocess with the default Numba cache", "cold": None,
                "warm": [result],
                "numbers": {"first_call": _first_call(result),
                            "vjp": result["phases"].get("first grid_sample_vjp")}}
    with tempfile.TemporaryDirectory(prefix="warpkit-numba-cache-") as cache_dir:
        cold = _run(cache_dir, full=True)
        warm = [_run(cache_dir, full=True) for _ in range(warm_runs)]
    warm_first = [_first_call(result) for result in warm]
    warm_vjp = [result["phases"].get("first grid_sample_vjp") for result in warm]
    numbers = {
        "cold_first_call": _first_call(cold),
        "warm_first_call": statistics.median(warm_first) if None not in warm_first else None,
        "cold_vjp": cold["phases"].get("first grid_sample_vjp"),
        "warm_vjp": statistics.median(warm_vjp) if None not in warm_vjp else None,
    }
    return {"mode": f"cold: 1 run with an empty NUMBA_CACHE_DIR; warm: median of {warm_runs} "
                    "runs with that cache filled",
            "cold": cold, "warm": warm, "numbers": numbers}


if __name__ == "__main__":
    print(json.dumps(measure(quick="--quick" in sys.argv), indent=1))
