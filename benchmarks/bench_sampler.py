"""``grid_sample`` forward, backward and forward+backward, per mode, against the anchors.

The sampler table: warpkit against PyTorch's CPU ``grid_sample`` on the four
anchor workloads (``workloads.ANCHOR_WORKLOADS``; and the suite's two more), with
OpenCV ``remap``, SciPy ``map_coordinates`` and the memory floor as further
anchors of the forward pass.  The grid is a non-trivial affine map (rotation,
scale, shift), float32, ``padding_mode="zeros"``, ``align_corners=False``.

Run it alone (the sampler table, with the compile times)::

    python -m benchmarks.bench_sampler            # = python -m benchmarks --sampler-table
"""

import numpy as np

from . import workloads as wl
from .anchors import require, warpkit_function
from .core import Case, Contender, Skip, register

MODES = ("bilinear", "nearest", "bicubic")
_CV2_INTERPOLATION = {"bilinear": "INTER_LINEAR", "nearest": "INTER_NEAREST",
                      "bicubic": "INTER_CUBIC"}
_SCIPY_ORDER = {"bilinear": 1, "nearest": 0, "bicubic": 3}
#: SciPy's ndimage is single-threaded: above this many output elements one call
#: takes seconds, and it is left out of the workload (said in the report).
SCIPY_MAX_ELEMENTS = 5_000_000


def sampler_data(work, seed=0):
    """Input (N, C, H, W), grid (N, H, W, 2) and an output gradient, float32."""
    x = wl.image(work.shape, seed=seed)
    grid = wl.affine_grid(wl.affine_thetas(work.n), work.h, work.w)
    grad_output = wl.image(work.shape, seed=seed + 1)
    return x, grid, grad_output


def torch_tensor(array, requires_grad=False):
    torch = require("torch")
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if requires_grad:
        tensor = tensor.clone().requires_grad_(True)
    return tensor


def _tensor_to_numpy(tensor):
    return tensor.detach().numpy()


def floor_contender(inputs, output_shape, dtype=np.float32):
    """The memory floor: read every array in ``inputs`` once and write the output once.

    ``np.copyto`` of the input into an output-sized buffer when the shapes
    agree (one read, one write), else a copy of the input plus a fill of the
    output; every further input (the grid) is copied into a scratch buffer.
    Single-threaded NumPy.
    """
    first, *rest = inputs
    out = np.empty(output_shape, dtype=dtype)
    scratches = [np.empty_like(array) for array in rest]
    same = first.shape == out.shape
    first_scratch = None if same else np.empty_like(first)

    def run():
        if same:
            np.copyto(out, first)
        else:
            np.copyto(first_scratch, first)
            out.fill(0.0)
        for array, scratch in zip(rest, scratches):
            np.copyto(scratch, array)
        return out

    return Contender(run, memory=None, note="numpy copies, 1 thread")


def cv2_remap_contender(x, grid, mode):
    """OpenCV ``remap`` over the batch (one image per call, HWC layout, pixel maps)."""
    cv2 = require("cv2")
    n, c, h, w = x.shape
    if mode == "bicubic" and c > 4:
        raise Skip("cv2.remap INTER_CUBIC takes at most 4 channels")
    interpolation = getattr(cv2, _CV2_INTERPOLATION[mode])
    images = wl.nhwc(x)
    maps = wl.pixel_grid(grid, (h, w))
    out = np.empty((n,) + grid.shape[1:3] + (c,), dtype=x.dtype)

    def run():
        for i in range(n):
            result = cv2.remap(images[i], maps[i], None, interpolation,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            out[i] = result.reshape(out.shape[1:])
        return out

    return Contender(run, to_nchw=wl.nchw, memory=None,
                     note="HWC, loop over N, float pixel maps")


def scipy_map_coordinates_contender(x, grid, order):
    """SciPy ``map_coordinates`` over every (image, channel) pair, 'grid-constant' = zeros."""
    ndimage = require("scipy.ndimage")
    n, c, h, w = x.shape
    if x.size > SCIPY_MAX_ELEMENTS or n * c * grid.shape[1] * grid.shape[2] > SCIPY_MAX_ELEMENTS:
        raise Skip(f"scipy.ndimage left out above {SCIPY_MAX_ELEMENTS / 1e6:.0f}M elements "
                   "(single-threaded, seconds per call)")
    pixel = wl.pixel_grid(grid, (h, w)).astype(np.float64)
    coordinates = [np.stack([pixel[i, ..., 1], pixel[i, ..., 0]]) for i in range(n)]
    out = np.empty((n, c) + grid.shape[1:3], dtype=x.dtype)

    def run():
        for i in range(n):
            for j in range(c):
                ndimage.map_coordinates(x[i, j], coordinates[i], output=out[i, j], order=order,
                                        mode="grid-constant", cval=0.0, prefilter=order > 1)
        return out

    note = "loop over N·C, 1 thread"
    if order == 3:
        note += ", cubic B-spline (not Keys), prefilter included"
    return Contender(run, to_nchw=lambda out: out, memory=None, note=note)


def _forward_case(work, mode):
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    x, grid, _ = sampler_data(work)
    xt, gt = torch_tensor(x), torch_tensor(grid)
    f = torch.nn.functional.grid_sample
    contenders = {
        "warpkit": Contender(lambda: grid_sample(x, grid, mode=mode), to_nchw=lambda a: a,
                             primary=True),
        "torch": Contender(lambda: f(xt, gt, mode=mode, padding_mode="zeros",
                                     align_corners=False),
                           to_nchw=_tensor_to_numpy, memory="rss", primary=True),
    }
    notes = []
    for name, make in (
        ("cv2.remap", lambda: cv2_remap_contender(x, grid, mode)),
        (f"scipy map_coordinates o{_SCIPY_ORDER[mode]}",
         lambda: scipy_map_coordinates_contender(x, grid, _SCIPY_ORDER[mode])),
    ):
        try:
            contenders[name] = make()
        except Skip as reason:
            notes.append(f"{name}: skipped, {reason}")
    contenders["floor"] = floor_contender([x, grid], x.shape)
    return Case(f"grid_sample.forward.{mode}", work.key, contenders, work.pixels, notes)


def _backward_case(work, mode):
    grid_sample_vjp = warpkit_function("grid_sample_vjp")
    torch = require("torch")
    x, grid, grad_output = sampler_data(work)
    xt, gt = torch_tensor(x, True), torch_tensor(grid, True)
    got = torch_tensor(grad_output)
    out = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode="zeros",
                                          align_corners=False)
    contenders = {
        "warpkit": Contender(lambda: grid_sample_vjp(x, grid, grad_output, mode=mode),
                             primary=True, note="grid_sample_vjp"),
        "torch": Contender(lambda: torch.autograd.grad(out, (xt, gt), got, retain_graph=True),
                           memory="rss", primary=True,
                           note="autograd.grad on a retained graph (backward only)"),
    }
    return Case(f"grid_sample.backward.{mode}", work.key, contenders, work.pixels)


def _backward_grid_case(work, mode):
    """warpkit's grid-only backward against torch's full backward (input + grid)."""
    grid_sample_vjp = warpkit_function("grid_sample_vjp")
    torch = require("torch")
    x, grid, grad_output = sampler_data(work)
    xt, gt = torch_tensor(x, True), torch_tensor(grid, True)
    got = torch_tensor(grad_output)
    out = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode="zeros",
                                          align_corners=False)
    contenders = {
        "warpkit": Contender(lambda: grid_sample_vjp(x, grid, grad_output, mode=mode,
                                                     wrt=("grid",)),
                             primary=True, note="grid_sample_vjp(wrt=('grid',))"),
        "torch": Contender(lambda: torch.autograd.grad(out, (xt, gt), got, retain_graph=True),
                           memory="rss", primary=True,
                           note="autograd.grad on a retained graph (input + grid)"),
    }
    return Case(f"grid_sample.backward_grid.{mode}", work.key, contenders, work.pixels)


def _forward_backward_case(work, mode):
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    from autograd import make_vjp

    x, grid, grad_output = sampler_data(work)
    xt, gt = torch_tensor(x, True), torch_tensor(grid, True)
    got = torch_tensor(grad_output)
    vjp_maker = make_vjp(lambda pair: grid_sample(pair[0], pair[1], mode=mode))

    def warpkit_run():
        vjp, _ = vjp_maker((x, grid))
        return vjp(grad_output)

    def torch_run():
        out = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode="zeros",
                                              align_corners=False)
        return torch.autograd.grad(out, (xt, gt), got)

    contenders = {
        "warpkit": Contender(warpkit_run, primary=True, note="autograd.make_vjp"),
        "torch": Contender(torch_run, memory="rss", primary=True, note="autograd"),
    }
    return Case(f"grid_sample.forward_backward.{mode}", work.key, contenders, work.pixels)


for _mode in MODES:
    _workloads = wl.ALL_WORKLOADS if _mode == "bilinear" else wl.WITHOUT_HUGE
    register(f"grid_sample.forward.{_mode}", "sampler", _workloads,
             doc=f"grid_sample forward, {_mode}")(
        lambda work, mode=_mode: _forward_case(work, mode))
    register(f"grid_sample.backward.{_mode}", "sampler", _workloads,
             doc=f"grid_sample_vjp (input + grid gradients), {_mode}")(
        lambda work, mode=_mode: _backward_case(work, mode))
register("grid_sample.backward_grid.bilinear", "sampler", wl.WITHOUT_HUGE,
         doc="grid_sample_vjp for the grid gradient only, against torch's full backward")(
    lambda work: _backward_grid_case(work, "bilinear"))
register("grid_sample.forward_backward.bilinear", "sampler", wl.WITHOUT_HUGE,
         doc="grid_sample forward + backward through autograd, bilinear")(
    lambda work: _forward_backward_case(work, "bilinear"))


def main(argv=None):
    """The sampler table: the four anchor workloads, 2 threads, plus compile times."""
    from .__main__ import main as suite_main

    return suite_main(["--sampler-table"] + list(argv or []))


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))
