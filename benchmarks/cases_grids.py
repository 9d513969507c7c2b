"""Grid generation: ``affine_grid``, ``perspective_grid``, ``tps_grid`` (K = 16, 64, 256).

Anchors: PyTorch ``affine_grid``; the same grids written with PyTorch tensor
ops (perspective: a matmul and a division; spline: the Bookstein system solved
with ``torch.linalg.solve`` in float64, then ``cdist`` and a matmul); a
float32 NumPy copy of a grid-sized array as the memory floor (writing the grid
once).  ``tps_grid.accuracy`` checks the spline against SciPy's
``RBFInterpolator(kernel="thin_plate_spline", degree=1)`` in float64 (the
report's spline-accuracy target; the spline is that of ``docs/math/grids.rst``),
and times both.
"""

import numpy as np

from . import workloads as wl
from .anchors import require, warpkit_function
from .bench_sampler import torch_tensor
from .cases_warps import TPS_KS, check_tps_size, torch_perspective_grid
from .core import Case, Contender, register


def _tensor_to_numpy(tensor):
    return tensor.detach().numpy()


def _grid_nchw(grid):
    """(N, H, W, 2) grid -> (N, 2, H, W) so the generic diff check applies."""
    grid = np.asarray(grid.detach().numpy() if hasattr(grid, "detach") else grid)
    return np.transpose(grid, (0, 3, 1, 2))


def _grid_floor(work):
    source = np.empty((work.n, work.h, work.w, 2), dtype=np.float32)
    source.fill(0.5)
    out = np.empty_like(source)

    def run():
        np.copyto(out, source)
        return out

    return Contender(run, memory=None, note="write a grid-sized array once (numpy copy)")


def _affine(work):
    affine_grid = warpkit_function("affine_grid")
    torch = require("torch")
    theta = wl.affine_thetas(work.n)
    tt = torch_tensor(theta)
    contenders = {
        "warpkit": Contender(lambda: affine_grid(theta, work.shape), to_nchw=_grid_nchw,
                             primary=True),
        "torch": Contender(lambda: torch.nn.functional.affine_grid(tt, work.shape,
                                                                   align_corners=False),
                           to_nchw=_grid_nchw, memory="rss", primary=True),
        "floor": _grid_floor(work),
    }
    return Case("affine_grid", work.key, contenders, work.pixels)


def _perspective(work):
    perspective_grid = warpkit_function("perspective_grid")
    require("torch")
    hs = wl.homographies(work.n)
    ht = torch_tensor(hs)
    contenders = {
        "warpkit": Contender(lambda: perspective_grid(hs, work.shape), to_nchw=_grid_nchw,
                             primary=True),
        "torch": Contender(lambda: torch_perspective_grid(ht, work.h, work.w),
                           to_nchw=_grid_nchw, memory="rss", primary=True,
                           note="tensor ops"),
        "floor": _grid_floor(work),
    }
    return Case("perspective_grid", work.key, contenders, work.pixels)


def torch_tps_grid(controls, targets, height, width):
    """Bookstein thin-plate-spline grid in PyTorch ops, solved in float64, returned float32."""
    torch = require("torch")
    controls = controls.double()
    targets = targets.double()
    k = controls.shape[0]
    n = targets.shape[0]

    def kernel(d):
        return torch.where(d > 0, d * d * torch.log(torch.clamp(d, min=1e-300)),
                           torch.zeros_like(d))

    system = torch.zeros(k + 3, k + 3, dtype=torch.float64)
    system[:k, :k] = kernel(torch.cdist(controls, controls))
    system[:k, k] = 1.0
    system[:k, k + 1:] = controls
    system[k, :k] = 1.0
    system[k + 1:, :k] = controls.T
    rhs = torch.zeros(n, k + 3, 2, dtype=torch.float64)
    rhs[:, :k] = targets
    coefficients = torch.linalg.solve(system, rhs)
    base = torch.from_numpy(wl.base_grid(height, width))
    features = torch.cat([kernel(torch.cdist(base[:, :2], controls)), base[:, 2:],
                          base[:, :2]], dim=1)
    grid = torch.matmul(features, coefficients)
    return grid.reshape(n, height, width, 2).float()


def _tps(work, k):
    check_tps_size(work, k)
    tps_grid = warpkit_function("tps_grid")
    require("torch")
    controls, targets = wl.tps_points(work.n, k)
    ct, tt = torch_tensor(controls), torch_tensor(targets)
    contenders = {
        "warpkit": Contender(lambda: tps_grid(controls, targets, work.shape), to_nchw=_grid_nchw,
                             primary=True, note="float64 solve and evaluation"),
        "torch": Contender(lambda: torch_tps_grid(ct, tt, work.h, work.w), to_nchw=_grid_nchw,
                           memory="rss", primary=True,
                           note="tensor ops: float64 solve, cdist, matmul"),
        "floor": _grid_floor(work),
    }
    return Case(f"tps_grid.k{k}", work.key, contenders, work.pixels)


def _tps_accuracy(work):
    """Relative max error of tps_grid (float64) against SciPy's RBFInterpolator, K = 16..256."""
    tps_grid = warpkit_function("tps_grid")
    interpolate = require("scipy.interpolate")
    size = (1, 1, 32, 32) if work.h > 16 else (1, 1, work.h, work.w)
    points = wl.base_grid(size[2], size[3])[:, :2]
    cases = {}
    for k in TPS_KS:
        controls, targets = wl.tps_points(1, k, dtype=np.float64)
        cases[k] = (controls, targets)
    accuracy = {}
    for k, (controls, targets) in cases.items():
        ours = np.asarray(tps_grid(controls, targets, size)).reshape(-1, 2)
        reference = interpolate.RBFInterpolator(controls, targets[0],
                                                kernel="thin_plate_spline", degree=1)(points)
        accuracy[k] = float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))

    controls, targets = cases[TPS_KS[-1]]
    contenders = {
        "warpkit": Contender(lambda: tps_grid(controls, targets, size), primary=True,
                             note=f"tps_grid float64, K={TPS_KS[-1]}, {size[2]}×{size[3]}"),
        "scipy RBFInterpolator": Contender(
            lambda: interpolate.RBFInterpolator(controls, targets[0],
                                                kernel="thin_plate_spline", degree=1)(points),
            memory=None, note="thin_plate_spline, degree=1"),
    }
    return Case("tps_grid.accuracy", work.key, contenders, size[2] * size[3],
                notes=["relative max error vs RBFInterpolator: "
                       + ", ".join(f"K={k}: {v:.1e}" for k, v in accuracy.items())],
                extra={"accuracy": accuracy})


register("affine_grid", "grids", wl.WITHOUT_HUGE, doc="affine grid generation")(_affine)
register("perspective_grid", "grids", wl.WITHOUT_HUGE,
         doc="perspective grid generation")(_perspective)
for _k in TPS_KS:
    register(f"tps_grid.k{_k}", "grids", wl.ALL_WORKLOADS,
             doc=f"thin-plate-spline grid generation, K={_k}")(lambda work, k=_k: _tps(work, k))
register("tps_grid.accuracy", "grids", ("n64c1-28",),
         doc="tps_grid accuracy against SciPy (float64), K = 16, 64, 256")(_tps_accuracy)
