"""Reproducers of the edge cases a hostile fuzz run found, one test (or a few) each.

Far coordinates on short axes, infinite coordinates on a one-pixel axis,
empty batches (of splines, of huge outputs), array subclasses and foreign
arrays, bools as sizes, warnings from non-finite parameters, the condition
estimate of the thin-plate system, and ``(H, W)`` sizes for the grid
generators.  The CUDA checks run on Numba's CUDA simulator (see
``tests/conftest.py``).
"""

import os
import pathlib
import re
import subprocess
import sys
import textwrap
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import warpkit
from warpkit import _validate, tps

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODES = tuple(_validate.MODES)
PADDINGS = tuple(_validate.PADDING_MODES)
FAR = (-np.inf, np.inf, -1e30, 1e30)


# ------------------------------------------------- far coordinates, short axes

def far_problem(width, dtype):
    """Images of 3 rows and ``width`` columns, and a grid reading the middle row
    (y = 0 is row 1 under both conventions) at every far x in ``FAR``."""
    image = np.random.default_rng(width).uniform(1.0, 2.0, (1, 2, 3, width)).astype(dtype)
    grid = np.zeros((1, 1, len(FAR), 2), dtype=dtype)
    grid[0, 0, :, 0] = FAR
    return image, grid


def far_expected(image, padding_mode):
    """The documented value at a far x: 0 (zeros) or the nearest edge pixel of row 1."""
    left, right = image[0, :, 1, 0], image[0, :, 1, -1]
    expected = np.stack([left, right, left, right], axis=-1)[None, :, None, :]
    return expected * (padding_mode != "zeros")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_far_coordinates_read_the_edge_on_every_axis_length(width, dtype, mode, padding_mode,
                                                            align_corners):
    image, grid = far_problem(width, dtype)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    out = warpkit.grid_sample(image, grid, **options)
    if width == 1 and align_corners and padding_mode == "zeros":
        # every finite x is pixel 0 on this axis; only +-Inf is far
        expected = np.concatenate([np.zeros_like(out[..., :2]), image[:, :, 1:2, [0, 0]]], -1)
    else:
        expected = far_expected(image, padding_mode)
    np.testing.assert_array_equal(out, expected)
    _, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones_like(out), **options)
    assert not grad_grid[..., 0].any()


def test_far_coordinates_of_the_fuzz_report():
    image = np.array([[[[10.0, 20.0, 30.0]]]])
    minus_inf = np.array([[[[-np.inf, 0.0]]]])
    out = warpkit.grid_sample(image, minus_inf, padding_mode="reflection", align_corners=True)
    assert out.item() == 10.0
    out = warpkit.grid_sample(image[..., :2], -minus_inf, padding_mode="reflection")
    assert out.item() == 20.0


def far_theta(value):
    """An affine map sending every output pixel to ``(value, 0)``."""
    return np.array([[[0.0, 0.0, value], [0.0, 0.0, 0.0]]])


def far_spline(value):
    """Controls and targets of a spline sending every output pixel to ``(value, 0)``."""
    controls = warpkit.control_point_grid(4)
    targets = np.zeros((1, 4, 2))
    targets[..., 0] = value
    return controls, targets


@pytest.mark.parametrize("width", [1, 2, 3])
def test_far_coordinates_in_the_fused_warps(width, mode, padding_mode, align_corners):
    image, grid = far_problem(width, np.float64)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    for k, value in enumerate(FAR):
        expected = warpkit.grid_sample(image, grid[:, :, k:k + 1], **options)
        out = warpkit.warp_affine(image, far_theta(value), size=(1, 1), **options)
        np.testing.assert_array_equal(out, expected)
        _, grad_theta = warpkit.warp_affine_vjp(image, far_theta(value), np.ones_like(out),
                                                size=(1, 1), **options)
        assert grad_theta[0, 0, 2] == 0
        if np.isfinite(value):  # (targets must be finite)
            out = warpkit.warp_tps(image, *far_spline(value), size=(1, 1), **options)
            np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("value", FAR)
@pytest.mark.parametrize("width", [2, 3, 5])
def test_far_bicubic_samples_read_nothing_but_the_edge(width, value, padding_mode, align_corners):
    # A zero-weight tap must not read (and spread) the Inf in every other pixel.
    image = np.full((1, 1, 3, width), np.inf)
    edge = 0 if value < 0 else -1
    image[..., edge] = 7.0
    options = dict(mode="bicubic", padding_mode=padding_mode, align_corners=align_corners)
    expected = 0.0 if padding_mode == "zeros" else 7.0
    grid = np.array([[[[value, 0.0]]]])
    assert warpkit.grid_sample(image, grid, **options).item() == expected
    assert warpkit.warp_affine(image, far_theta(value), size=(1, 1), **options).item() == expected
    if np.isfinite(value):
        out = warpkit.warp_tps(image, *far_spline(value), size=(1, 1), **options)
        assert out.item() == expected


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_short_axes_reflect_ordinary_coordinates_bit_identically_to_torch(width, mode,
                                                                          align_corners):
    torch = pytest.importorskip("torch")
    values = [-7.3, 5.1, 1e6 + 0.3, -2.5e5, 0.45, -1.2]
    image, _ = far_problem(width, np.float32)
    grid = np.zeros((1, 1, len(values), 2), dtype=np.float32)
    grid[0, 0, :, 0] = values
    grid[0, 0, :, 1] = np.linspace(-0.9, 0.9, len(values))
    options = dict(mode=mode, padding_mode="reflection", align_corners=align_corners)
    out = warpkit.grid_sample(image, grid, **options)
    _, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones_like(out), **options)
    t_grid = torch.tensor(grid, requires_grad=True)
    t_out = torch.nn.functional.grid_sample(torch.tensor(image), t_grid, **options)
    t_out.sum().backward()
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    np.testing.assert_array_equal(grad_grid, t_grid.grad.numpy())


@pytest.mark.usefixtures("cuda_available", "small_launches")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_far_coordinates_on_the_gpu_match_the_cpu(dtype):
    from numba import cuda

    for width in (1, 2, 3):
        image, grid = far_problem(width, dtype)
        d_image, d_grid = cuda.to_device(image), cuda.to_device(grid)
        for mode in MODES:
            for padding_mode in PADDINGS:
                for align_corners in (False, True):
                    options = dict(mode=mode, padding_mode=padding_mode,
                                   align_corners=align_corners)
                    out = warpkit.grid_sample(d_image, d_grid, **options).copy_to_host()
                    np.testing.assert_array_equal(out, warpkit.grid_sample(image, grid, **options))
                    d_ones = cuda.to_device(np.ones_like(out))
                    _, grad_grid = warpkit.grid_sample_vjp(d_image, d_grid, d_ones, **options)
                    assert not grad_grid.copy_to_host()[..., 0].any()
                    for k, value in enumerate(FAR):  # the fused warp, per-pixel maths
                        theta = cuda.to_device(far_theta(value))
                        out = warpkit.warp_affine(d_image, theta, size=(1, 1), **options)
                        np.testing.assert_array_equal(out.copy_to_host(), warpkit.grid_sample(
                            image, grid[:, :, k:k + 1], **options))


# ------------------------------------------------- one-pixel axis, +-Inf

def one_pixel_problem():
    image = np.array([[[[5.0], [7.0], [11.0]]]])  # 3 rows, 1 column
    grid = np.array([[[[np.inf, 0.0], [-np.inf, 0.0], [0.3, 0.0], [1e30, 0.0]]]])
    return image, grid


def test_infinite_coordinates_on_a_one_pixel_axis_follow_the_documented_rule(mode, padding_mode):
    image, grid = one_pixel_problem()
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=True)
    out = warpkit.grid_sample(image, grid, **options)
    _, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones_like(out), **options)
    edge = 0.0 if padding_mode == "zeros" else 7.0
    np.testing.assert_array_equal(out[0, 0, 0], [edge, edge, 7.0, 7.0])  # finite x: pixel 0
    assert not grad_grid[0, 0, :2, 0].any()
    if padding_mode == "zeros":
        assert not grad_grid[0, 0, :2].any()  # nothing is read: no gradient at all


@pytest.mark.usefixtures("cuda_available", "small_launches")
def test_infinite_coordinates_on_a_one_pixel_axis_on_the_gpu():
    from numba import cuda

    image, grid = one_pixel_problem()
    for mode in MODES:
        for padding_mode in PADDINGS:
            options = dict(mode=mode, padding_mode=padding_mode, align_corners=True)
            out = warpkit.grid_sample(cuda.to_device(image), cuda.to_device(grid), **options)
            np.testing.assert_array_equal(out.copy_to_host(),
                                          warpkit.grid_sample(image, grid, **options))
    # and the far bicubic taps read only the edge
    image = np.full((1, 1, 1, 3), np.inf)
    image[..., 0] = 7.0
    grid = np.array([[[[-np.inf, 0.0], [-1e30, 0.0]]]])
    for align_corners in (False, True):
        out = warpkit.grid_sample(cuda.to_device(image), cuda.to_device(grid), mode="bicubic",
                                  padding_mode="reflection", align_corners=align_corners)
        np.testing.assert_array_equal(out.copy_to_host(), [[[[7.0, 7.0]]]])


# ------------------------------------------------- empty batches

def test_an_empty_batch_of_per_sample_splines_gives_empty_results():
    nothing = np.zeros((0, 9, 2))
    assert warpkit.tps_grid(nothing, nothing, (0, 1, 4, 4)).shape == (0, 4, 4, 2)
    assert warpkit.warp_tps(np.zeros((0, 1, 4, 4)), nothing, nothing).shape == (0, 1, 4, 4)
    controls = warpkit.control_point_grid(9)
    assert warpkit.tps_grid(controls, nothing, (0, 1, 4, 4)).shape == (0, 4, 4, 2)
    assert tps.solve_tps(nothing, nothing).shape == (0, 12, 2)


PEAK_SCRIPT = """
import resource, sys, tracemalloc
import numpy as np
import warpkit

def calls(height, width):
    nothing = np.zeros((0, 9, 2))
    size = (0, 1, height, width)
    return {{
        "affine_grid": lambda: warpkit.affine_grid(np.zeros((0, 2, 3)), size),
        "perspective_grid": lambda: warpkit.perspective_grid(np.zeros((0, 3, 3)), size),
        "tps_grid": lambda: warpkit.tps_grid(nothing, nothing, size),
        "warp_affine": lambda: warpkit.warp_affine(np.zeros((0, 1, 3, 3)), np.zeros((0, 2, 3)),
                                                   size=(height, width)),
    }}

for name in {names!r}:
    calls(4, 4)[name]()  # imports and compiles, with nothing large
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    calls(*{size!r})[name]()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(name, traced, grown * 1024)
"""


def peak_bytes(names, size):
    """Peak traced allocation and peak-RSS growth of each call with an empty batch
    and an output of ``size``, in a fresh process."""
    script = PEAK_SCRIPT.format(names=tuple(names), size=tuple(size))
    child = subprocess.run([sys.executable, "-c", script],
                           capture_output=True, text=True, timeout=600, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert child.returncode == 0, child.stderr[-3000:]
    rows = (line.split() for line in child.stdout.splitlines())
    return {name: (int(traced), int(rss)) for name, traced, rss in rows}


def test_grids_of_an_empty_batch_allocate_nothing_large():
    names = ["affine_grid", "perspective_grid", "tps_grid"]
    for name, (traced, rss) in peak_bytes(names, (8192, 8192)).items():  # 1.5 GiB of base grid
        assert traced < 2**20, (name, traced)
        assert rss < 64 * 2**20, (name, rss)


def test_fused_warps_of_an_empty_batch_allocate_nothing_large():
    # (2**27, 1): 1 GiB of float64 row coordinates, for no output pixel at all
    traced, rss = peak_bytes(["warp_affine"], (2**27, 1))["warp_affine"]
    assert traced < 2**20 and rss < 64 * 2**20, (traced, rss)


def test_the_allocation_check_counts_the_working_arrays(monkeypatch):
    monkeypatch.setattr(_validate, "physical_memory", lambda: 2**20)  # a 1 MiB machine
    theta, homography = np.eye(2, 3)[None], np.eye(3)[None]
    controls = warpkit.control_point_grid(4)
    # each result alone fits; with its base grid (and intermediates) it does not
    size = (1, 1, 170, 170)
    assert _validate.check_allocation("size", (1, 170, 170, 2), np.float64) < 2**20
    with pytest.raises(MemoryError, match=r"size \(1, 1, 170, 170\) needs .* working arrays"):
        warpkit.affine_grid(theta, size)
    with pytest.raises(MemoryError, match="working arrays"):
        warpkit.perspective_grid(homography, size)
    with pytest.raises(MemoryError, match="working arrays"):
        warpkit.tps_grid(controls, controls[None], (1, 1, 100, 100))
    assert warpkit.affine_grid(theta, (1, 1, 100, 100)).shape == (1, 100, 100, 2)


def test_huge_sizes_fail_before_allocating_even_for_an_empty_batch():
    with pytest.raises(MemoryError, match="working arrays of 64.0 TiB"):
        _validate.check_allocation("size", (0, 1, 2**20, 2**20), np.float32,
                                   extra=[((2**42,), np.float64)] * 2)
    huge = (2**31, 2**31)
    for call in (lambda: warpkit.affine_grid(np.zeros((1, 2, 3)), huge),
                 lambda: warpkit.warp_affine(np.zeros((1, 1, 3, 3)), np.zeros((1, 2, 3)),
                                             size=huge)):
        with pytest.raises(MemoryError, match=r"size \(2147483648, 2147483648\)"):
            call()
    # empty, but a shape NumPy cannot represent: warpkit's error, not NumPy's ValueError
    with pytest.raises(MemoryError, match="too large for NumPy even when empty"):
        warpkit.affine_grid(np.zeros((0, 2, 3)), (0, 1) + huge)
    empty = warpkit.affine_grid(np.zeros((0, 2, 3)), (0, 1, 2**28, 2**28))  # 2**60 bytes each
    assert empty.shape == (0, 2**28, 2**28, 2)


# ------------------------------------------------- array subclasses and foreign arrays

def masked(array):
    return np.ma.masked_array(array, mask=np.zeros(array.shape, dtype=bool))


def test_masked_arrays_are_refused_naming_the_argument():
    image, grid = np.ones((1, 1, 2, 2)), np.zeros((1, 2, 2, 2))
    controls = warpkit.control_point_grid(4)
    calls = {
        "grid": lambda: warpkit.grid_sample(image, masked(grid)),
        "input": lambda: warpkit.grid_sample(masked(image), grid),
        "theta": lambda: warpkit.affine_grid(masked(np.eye(2, 3)[None]), (1, 1, 2, 2)),
        "homography": lambda: warpkit.warp_perspective(image, masked(np.eye(3)[None])),
        "target_points": lambda: warpkit.tps_grid(controls, masked(controls[None]), (1, 1, 2, 2)),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match=rf"{name} is a masked array.*{name}\.filled"):
            call()


def test_masked_grid_is_refused_in_a_fresh_process():
    # (In a fresh process the kernels had never been compiled for a plain grid.)
    script = textwrap.dedent("""
        import numpy as np, warpkit
        grid = np.ma.masked_array(np.zeros((1, 2, 2, 2)), mask=True)
        try:
            warpkit.grid_sample(np.ones((1, 1, 2, 2)), grid)
        except TypeError as error:
            print(error)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=600, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "grid is a masked array" in child.stdout, child.stderr[-3000:]


def test_cpu_torch_tensors_are_read_through_numpy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    image = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    grid = rng.uniform(-1, 1, (1, 3, 3, 2)).astype(np.float32)
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.0]]])
    controls = warpkit.control_point_grid(4)
    t = torch.from_numpy
    np.testing.assert_array_equal(warpkit.grid_sample(t(image), t(grid)),
                                  warpkit.grid_sample(image, grid))
    np.testing.assert_array_equal(warpkit.affine_grid(t(theta), (1, 2, 3, 3)),
                                  warpkit.affine_grid(theta, (1, 2, 3, 3)))
    np.testing.assert_array_equal(warpkit.warp_affine(t(image), t(theta)),
                                  warpkit.warp_affine(image, theta))
    np.testing.assert_array_equal(
        warpkit.tps_grid(t(controls), t(controls[None] * 0.9), (1, 1, 3, 3)),
        warpkit.tps_grid(controls, controls[None] * 0.9, (1, 1, 3, 3)))
    with pytest.raises(TypeError, match=r"grid must be .*grid\.detach\(\)\.cpu\(\)\.numpy\(\)"):
        warpkit.grid_sample(t(image), t(grid).requires_grad_())
    with pytest.raises(TypeError, match="input must be a float32 or float64 array, got dtype int"):
        warpkit.grid_sample(t(image).to(torch.int32), t(grid))


class DLPackOnly:
    """An array that NumPy can read only through DLPack."""

    def __init__(self, array):
        self._array = array
        self.shape = array.shape

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_dlpack_arrays_are_read_through_numpy():
    grid = np.random.default_rng(1).uniform(-1, 1, (1, 2, 2, 2))
    image = np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(warpkit.grid_sample(image, DLPackOnly(grid)),
                                  warpkit.grid_sample(image, grid))


def test_huge_broadcast_views_fail_with_warpkits_memory_error():
    grid = np.broadcast_to(np.zeros(2, np.float32), (1, 10**6, 10**6, 2))  # 7.3 TiB
    with pytest.raises(MemoryError, match=r"grid \(1, 1000000, 1000000, 2\) needs a float32 "
                                          r"array of 7\.3 TiB"):
        _validate.for_kernel(grid, np.float32, "grid")
    try:  # no output: an empty result, or warpkit's error (not NumPy's "Unable to allocate")
        out = warpkit.grid_sample(np.zeros((1, 0, 2, 2), np.float32), grid)
        assert out.shape == (1, 0, 10**6, 10**6)
    except MemoryError as error:
        assert "needs a float32 array of 7.3 TiB" in str(error)
    with pytest.raises(MemoryError, match=r"matrix .* needs a float64 array"):
        _validate.as_real_array("matrix", np.broadcast_to(np.float32(1), (10**7, 10**7)))
    with pytest.raises(MemoryError, match=r"theta .* needs a float64 array"):
        _validate.as_float_array("theta", grid, dtype=np.float64)


# ------------------------------------------------- bools as sizes, warnings

@pytest.mark.parametrize("flag", [True, np.bool_(False)])
def test_bools_are_not_sizes(flag):
    with pytest.raises(TypeError, match="size must be a sequence of 2 integers"):
        _validate.check_size("size", (flag, 3), 2)
    with pytest.raises(TypeError, match="size must be a sequence of 4 integers"):
        warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, flag, 3))


def test_non_finite_parameters_give_non_finite_grids_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theta = np.array([[[np.inf, 0.0, 0.0], [0.0, 1.0, np.nan]]])
        grid = warpkit.affine_grid(theta, (1, 1, 2, 3))  # x = -2/3, 0, 2/3: Inf * 0
        homography = np.array([[[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, np.inf]]])
        projected = warpkit.perspective_grid(homography, (1, 1, 2, 3))
    np.testing.assert_array_equal(grid[0, ..., 0], [[-np.inf, np.nan, np.inf]] * 2)
    assert np.isnan(grid[..., 1]).all()
    assert np.isnan(projected[..., 0]).all()
    # the sampler reads them by its rule: NaN as -1, +-Inf far away (the edges)
    image = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    out = warpkit.grid_sample(image, grid, padding_mode="border")
    np.testing.assert_array_equal(out[0, 0], [[1.0, 1.0, 3.0]] * 2)


# ------------------------------------------------- one NO_SOURCE

def test_no_source_is_defined_once():
    sources = (ROOT / "warpkit").rglob("*.py")
    literal = re.compile(r"^NO_SOURCE\s*=\s*[-+\d.]", re.MULTILINE)  # not an alias
    definitions = [path for path in sources
                   if literal.search(path.read_text(encoding="utf-8"))]
    assert [path.name for path in definitions] == ["_fused_math.py"]
    from warpkit.kernels import _fused_math
    assert warpkit.grids.NO_SOURCE == _fused_math.NO_SOURCE


# ------------------------------------------------- the condition estimate

GRID = warpkit.control_point_grid(256)
CONDITION_CASES = {
    "nearly collinear": np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0 + 1e-9], [3.0, 3.0]]),
    "nearly repeated": np.concatenate([warpkit.control_point_grid(4), [[-1.0 + 1e-9, -1.0]]]),
    "tiny spread": warpkit.control_point_grid(4) * 1e-8,
    "near duplicate among 256": np.concatenate([GRID[:-1], GRID[-2:-1] + [1e-6, 0.0]]),
    "cluster of 256": np.random.default_rng(5).normal(0.0, 1e-4, (256, 2)),
    "regular 256": GRID,
    "random 50": np.random.default_rng(1).uniform(-1.0, 1.0, (50, 2)),
    "large scale": warpkit.control_point_grid(64) * 1e4,
}


def warned_condition(controls):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tps.solve_tps(controls, controls[None] + 0.01)
    messages = [str(w.message) for w in caught if w.category is tps.TpsConditionWarning]
    return messages


@pytest.mark.parametrize("name", CONDITION_CASES)
def test_the_condition_estimate_is_within_a_factor_two(name):
    controls = CONDITION_CASES[name]
    system = tps._system(controls, 0.0)
    exact = np.linalg.cond(system, p=1)
    probes = tps._probes(controls)
    estimate = np.abs(system).sum(0).max() * np.max(
        np.abs(np.linalg.solve(system, probes)).sum(0) / np.abs(probes).sum(0))
    assert exact / 2 <= estimate <= exact * (1 + 1e-6)
    assert bool(warned_condition(controls)) == (exact > tps.CONDITION_LIMIT)


def test_the_condition_estimate_needs_no_inverse(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an inverse: O(K**3) besides the solve")

    for name in ("cond", "inv"):
        monkeypatch.setattr(np.linalg, name, refuse)
    controls = CONDITION_CASES["near duplicate among 256"]
    with pytest.warns(tps.TpsConditionWarning, match=r"condition number \d[\d.]*e\+1\d > 1e\+12"):
        tps.solve_tps(controls[None].repeat(2, 0), controls[None].repeat(2, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tps.solve_tps(GRID, GRID[None])


def test_a_singular_system_is_a_value_error(monkeypatch):
    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(tps.anp.linalg, "solve", singular)
    with pytest.raises(ValueError, match="thin-plate spline system is singular"):
        tps.solve_tps(warpkit.control_point_grid(16), warpkit.control_point_grid(16)[None])


def test_the_spline_gradient_is_unchanged_by_the_probes():
    controls = warpkit.control_point_grid(9)
    targets = controls[None] * 1.1

    def loss(c, t):
        return anp.sum(tps.solve_tps(c, t) ** 2)

    def plain(c, t):  # the system solved without probes
        rhs = anp.concatenate([t[0], np.zeros((3, 2))], axis=0)
        return anp.sum(anp.linalg.solve(tps._system(c, 0.0), rhs) ** 2)

    for got, expected in zip(autograd.grad(loss, (0, 1))(controls, targets),
                             autograd.grad(plain, (0, 1))(controls, targets)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


# ------------------------------------------------- (H, W) sizes

def test_grid_generators_take_a_two_entry_size():
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.0]]] * 2)
    homography = np.concatenate([theta, np.tile([[[0.05, 0.0, 1.0]]], (2, 1, 1))], axis=1)
    controls = warpkit.control_point_grid(4)
    targets = np.stack([controls, controls * 0.9])
    pairs = [
        (warpkit.affine_grid(theta, (3, 4)), warpkit.affine_grid(theta, (2, 1, 3, 4))),
        (warpkit.perspective_grid(homography, [3, 4], align_corners=True),
         warpkit.perspective_grid(homography, (2, 5, 3, 4), align_corners=True)),
        (warpkit.tps_grid(controls, targets, (3, 4)),
         warpkit.tps_grid(controls, targets, (2, 1, 3, 4))),
    ]
    for two, four in pairs:
        assert two.shape == (2, 3, 4, 2)
        np.testing.assert_array_equal(two, four)
    with pytest.raises(ValueError, match=r"size\[0\] must equal the batch size of theta \(2\)"):
        warpkit.affine_grid(theta, (1, 1, 3, 4))
    with pytest.raises(ValueError, match="size must have 4 entries"):
        warpkit.tps_grid(controls, targets, (2, 3, 4))
