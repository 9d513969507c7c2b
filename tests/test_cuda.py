"""CUDA kernels against the CPU path, under the CUDA simulator.

Runs without a GPU: ``tests/conftest.py`` turns Numba's CUDA simulator on
unless ``NUMBA_ENABLE_CUDASIM`` says otherwise.  The simulator runs every
CUDA thread as a Python thread, so the inputs are tiny; the ``small_launches``
fixture shrinks the launch geometry (32-thread blocks, at most 2 blocks per
grid axis) so that even tiny inputs span several blocks and every
grid-stride loop goes round more than once.  ``benchmarks/gpu_check.py`` repeats the checks on
a real GPU, where the kernels are also type-checked and compiled.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
pytestmark = [pytest.mark.usefixtures("cuda_available", "small_launches")]

import warpkit  # noqa: E402
from warpkit import _config, _device  # noqa: E402
from warpkit._args import SampleArgs  # noqa: E402
from warpkit._validate import MODES, PADDING_MODES  # noqa: E402
from warpkit.backends import cuda as backend  # noqa: E402
from warpkit.kernels import cuda as kernels  # noqa: E402

PADDINGS = tuple(PADDING_MODES)
ROOT = Path(__file__).resolve().parents[1]


def problem(dtype, seed=0, shape=(2, 2, 5, 6), out_size=(5, 9), spread=1.3):
    rng = np.random.default_rng(seed)
    n, c = shape[:2]
    image = rng.standard_normal(shape).astype(dtype)
    grid = rng.uniform(-spread, spread, (n,) + out_size + (2,)).astype(dtype)
    grad_output = rng.standard_normal((n, c) + out_size).astype(dtype)
    return image, grid, grad_output


def on_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def to_host(*arrays):
    return [a.copy_to_host() for a in arrays]


def tolerance(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------- CPU parity


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_matches_cpu(mode, padding_mode, align_corners):
    for dtype in (np.float64, np.float32):
        image, grid, grad_output = problem(dtype)
        options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        d_image, d_grid, d_grad = on_device(image, grid, grad_output)

        out = warpkit.grid_sample(d_image, d_grid, **options)
        expected = warpkit.grid_sample(image, grid, **options)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.copy_to_host(), expected, **tolerance(dtype))

        expected_input, expected_grid = warpkit.grid_sample_vjp(image, grid, grad_output,
                                                                **options)
        grad_input, grad_grid = to_host(*warpkit.grid_sample_vjp(d_image, d_grid, d_grad,
                                                                 **options))
        np.testing.assert_allclose(grad_input, expected_input, **tolerance(dtype))
        np.testing.assert_allclose(grad_grid, expected_grid, **tolerance(dtype))

        with backend.scatter(deterministic=False):
            atomic_input, atomic_grid = to_host(*warpkit.grid_sample_vjp(d_image, d_grid, d_grad,
                                                                         **options))
        np.testing.assert_allclose(atomic_input, expected_input, **tolerance(dtype))
        np.testing.assert_allclose(atomic_grid, expected_grid, **tolerance(dtype))


def test_launch_geometry_covers_every_pixel(monkeypatch):
    # Wide rows: several blocks along x and a grid-stride loop in every axis.
    monkeypatch.setattr(kernels, "MAX_GRID", (2, 2, 2))
    image, grid, grad_output = problem(np.float64, shape=(3, 1, 4, 5), out_size=(3, 70))
    blocks, threads = kernels.pixel_launch(3, 3, 70)
    assert blocks == (2, 2, 2) and threads == (32, 1)
    out = warpkit.grid_sample(*on_device(image, grid)).copy_to_host()
    np.testing.assert_allclose(out, warpkit.grid_sample(image, grid), rtol=1e-12, atol=1e-12)
    grads = to_host(*warpkit.grid_sample_vjp(*on_device(image, grid, grad_output)))
    for got, expected in zip(grads, warpkit.grid_sample_vjp(image, grid, grad_output)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_pixel_block_wastes_fewest_threads(monkeypatch):
    monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", 256)
    assert kernels.pixel_block(224, 224) == (32, 8)
    assert kernels.pixel_block(28, 28) == (32, 8)
    assert kernels.pixel_block(2048, 2048) == (256, 1)
    assert kernels.pixel_block(64, 64) == (64, 4)


def test_pixel_chunks_cover_the_output_once(monkeypatch):
    monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", 32)
    monkeypatch.setattr(kernels, "MAX_GRID", (2, 3, 2))
    covered = np.zeros((7, 100), int)
    for blocks, (bx, by), row0, col0 in kernels.pixel_chunks(5, 7, 100):
        assert blocks[0] <= 2 and blocks[1] <= 3 and blocks[2] == 2
        rows = slice(row0, min(7, row0 + blocks[1] * by))
        cols = slice(col0, min(100, col0 + blocks[0] * bx))
        covered[rows, cols] += 1
    assert (covered == 1).all()


def test_pixel_launch_shapes():
    assert kernels.pixel_launch(64, 28, 28) == ((1, 2, 1), (32, 1))
    assert kernels.pixel_launch(1, 1, 1000, max_blocks=1) == ((1, 1, 1), (32, 1))


def test_nonfinite_coordinates_match_cpu():
    image, grid, grad_output = problem(np.float64, out_size=(2, 4))
    grid[0, 0, :, 0] = [np.nan, np.inf, -np.inf, 1e300]
    grid[1, 1, :, 1] = [np.nan, -1e300, np.inf, 0.25]
    for mode in MODES:
        for padding_mode in PADDINGS:
            options = dict(mode=mode, padding_mode=padding_mode)
            d_image, d_grid, d_grad = on_device(image, grid, grad_output)
            out = warpkit.grid_sample(d_image, d_grid, **options).copy_to_host()
            np.testing.assert_allclose(out, warpkit.grid_sample(image, grid, **options),
                                       rtol=1e-12, atol=1e-12)
            got = to_host(*warpkit.grid_sample_vjp(d_image, d_grid, d_grad, **options))
            expected = warpkit.grid_sample_vjp(image, grid, grad_output, **options)
            for a, b in zip(got, expected):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:.*(invalid value|overflow):RuntimeWarning")
def test_nonfinite_grad_output_is_nonfinite_where_cpu_is():
    # (The simulator runs the kernels on NumPy scalars, which warn about Inf - Inf.)
    image, grid, grad_output = problem(np.float64, spread=0.9)
    grad_output[0, 0, 1, 2] = np.nan
    grad_output[1, 1, 3, 4] = np.inf
    grad_output[1, 1, 3, 5] = -np.inf
    grad_output[0, 1, 0, 0] = np.inf
    expected, _ = warpkit.grid_sample_vjp(image, grid, grad_output)
    grad_input, _ = to_host(*warpkit.grid_sample_vjp(*on_device(image, grid, grad_output)))
    assert not np.isfinite(expected).all()
    np.testing.assert_array_equal(np.isnan(grad_input), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(grad_input), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(grad_input), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(grad_input[finite], expected[finite], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- determinism


def test_deterministic_gradient_is_bit_identical_across_runs_and_launches(monkeypatch):
    # A shrinking grid: many output pixels add into each input pixel.
    image, grid, grad_output = problem(np.float32, shape=(2, 2, 3, 3), out_size=(6, 8),
                                       spread=1.0)
    d_image, d_grid, d_grad = on_device(image, grid, grad_output)
    results = []
    for mode in ("bilinear", "bicubic"):
        args = SampleArgs(image, grid, mode, "border", False)
        runs = []
        for block_size, max_grid in [(32, (2, 2, 1)), (32, (2, 2, 1)), (64, (1, 1, 2))]:
            monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", block_size)
            monkeypatch.setattr(kernels, "MAX_GRID", max_grid)
            grad_input, _ = backend.grid_sample_vjp(args, d_image, d_grid, d_grad, True, False,
                                                    deterministic=True)
            runs.append(grad_input.copy_to_host())
        for run in runs[1:]:
            assert run.tobytes() == runs[0].tobytes()
        results.append(runs[0])
    assert not np.array_equal(results[0], results[1])


def test_fixed_point_error_within_documented_bound():
    image, grid, grad_output = problem(np.float64, shape=(1, 2, 4, 4), out_size=(7, 9))
    grad_output[0, 0, 0, 0] = 1e6  # a large maximum: the coarsest fixed-point step
    args = SampleArgs(image, grid, "bicubic", "reflection", False)
    expected, _ = warpkit.grid_sample_vjp(image, grid, grad_output, mode="bicubic",
                                          padding_mode="reflection")
    grad_input, _ = backend.grid_sample_vjp(args, *on_device(image, grid, grad_output), True,
                                            False, deterministic=True)
    grad_input = grad_input.copy_to_host()
    pixels = 7 * 9
    largest = np.abs(grad_output).max()
    contributions = 16 * pixels  # every tap of every output pixel, at most
    bound = contributions * kernels.WEIGHT_BOUND * pixels * largest / 2.0 ** 62
    error = np.abs(grad_input - expected)
    assert error.max() <= bound + 1e-15 * np.abs(expected).max()
    assert bound < 1e-7 * largest


def test_fixed_point_scale_from_max():
    # The scale keeps the largest possible partial sum at 2**61 ...
    assert kernels._fixed_scale(2.0, 100.0) == 2.0 ** 61 / (kernels.WEIGHT_BOUND * 100 * 2.0)
    # ... is 1 for an all-zero gradient, and never overflows for a tiny one.
    assert kernels._fixed_scale(0.0, 100.0) == 1.0
    assert kernels._fixed_scale(1e-300, 1.0) == kernels.MAX_SCALE


# ------------------------------------------------------ arrays, dtypes, errors


def test_simulator_and_real_device_arrays_both_dispatch_to_the_gpu():
    assert _device.is_device_array(cuda.device_array(1))
    assert _device.backend_for(input=cuda.device_array(1)) is backend
    assert not _device.is_device_array(np.zeros(1))


def test_mixing_host_and_device_arrays_is_a_type_error():
    image, grid, grad_output = problem(np.float64)
    d_image, d_grid, d_grad = on_device(image, grid, grad_output)
    with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
        warpkit.grid_sample(d_image, grid)
    with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
        warpkit.grid_sample(image, d_grid)
    with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
        warpkit.grid_sample_vjp(d_image, d_grid, grad_output)


def test_device_arrays_are_checked():
    image, grid, grad_output = problem(np.float64)
    args = SampleArgs(image, grid, "bilinear", "zeros", False)
    d_image, d_grid, d_grad = on_device(image, grid, grad_output)
    with pytest.raises(TypeError, match="grid must be a CUDA array"):
        backend.grid_sample(args, d_image, grid)
    with pytest.raises(TypeError, match="input must be a float32 or float64 array"):
        warpkit.grid_sample(cuda.to_device(image.astype(np.int32)), d_grid)
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        warpkit.grid_sample_vjp(d_image, d_grid, on_device(grad_output[:, :, :2])[0])
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        warpkit.grid_sample_vjp(d_image, d_grid, cuda.to_device(grad_output[0]))
    with pytest.raises(TypeError, match="grad_output must be a float32 or float64"):
        warpkit.grid_sample_vjp(d_image, d_grid, cuda.to_device(grad_output.astype(np.float16)))


def test_missing_numba_cuda_names_the_extra(monkeypatch):
    import numba

    import warpkit.backends
    import warpkit.kernels

    for name in ("warpkit.backends.cuda", "warpkit.kernels.cuda", "warpkit.kernels.cuda_fused"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for package, name in ((warpkit.backends, "cuda"), (warpkit.kernels, "cuda"),
                          (warpkit.kernels, "cuda_fused")):
        monkeypatch.delattr(package, name, raising=False)
    monkeypatch.delattr(numba, "cuda")
    monkeypatch.setitem(sys.modules, "numba.cuda", None)

    class DeviceArray:  # what a CuPy array or a torch CUDA tensor looks like to warpkit
        __cuda_array_interface__ = {"shape": (1, 1, 2, 2), "typestr": "<f4", "version": 3}
        shape = (1, 1, 2, 2)
        dtype = np.dtype(np.float32)

    grid = DeviceArray()
    grid.shape = (1, 2, 2, 2)
    with pytest.raises(ImportError, match=r"pip install 'warpkit\[cuda\]'"):
        warpkit.grid_sample(DeviceArray(), grid)


def test_dtypes_follow_input_and_grid():
    image, grid, grad_output = problem(np.float32)
    grid64 = grid.astype(np.float64)
    d_image, d_grid, d_grad = on_device(image, grid64, grad_output)
    out = warpkit.grid_sample(d_image, d_grid)
    grad_input, grad_grid = warpkit.grid_sample_vjp(d_image, d_grid, d_grad)
    assert (out.dtype, grad_input.dtype, grad_grid.dtype) == (np.float32, np.float32,
                                                              np.float64)
    np.testing.assert_allclose(out.copy_to_host(), warpkit.grid_sample(image, grid64),
                               rtol=1e-5, atol=1e-5)


def test_strided_device_arrays():
    image, grid, grad_output = problem(np.float64, shape=(2, 2, 5, 12), out_size=(5, 18))
    d_image = cuda.to_device(image)[:, :, :, ::2]
    d_grid = cuda.to_device(grid)[:, :, ::2]
    d_grad = cuda.to_device(grad_output)[:, :, :, ::2]
    host = (image[:, :, :, ::2], grid[:, :, ::2], grad_output[:, :, :, ::2])
    out = warpkit.grid_sample(d_image, d_grid).copy_to_host()
    np.testing.assert_allclose(out, warpkit.grid_sample(*host[:2]), rtol=1e-12, atol=1e-12)
    grads = to_host(*warpkit.grid_sample_vjp(d_image, d_grid, d_grad))
    for got, expected in zip(grads, warpkit.grid_sample_vjp(*host)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("deterministic", [True, False])
def test_empty_outputs(deterministic):
    image = np.ones((2, 1, 3, 3))
    grid = np.zeros((2, 0, 4, 2))
    d_image, d_grid = on_device(image, grid)
    assert warpkit.grid_sample(d_image, d_grid).shape == (2, 1, 0, 4)
    with backend.scatter(deterministic):
        grad_input, grad_grid = warpkit.grid_sample_vjp(
            d_image, d_grid, cuda.to_device(np.zeros((2, 1, 0, 4))))
    np.testing.assert_array_equal(grad_input.copy_to_host(), np.zeros((2, 1, 3, 3)))
    assert grad_grid.shape == (2, 0, 4, 2)


# ------------------------------------------------------------------ gpu_check


def test_gpu_check_runs_tiny(capsys):
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" /
                                                  "gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    assert gpu_check.main(["--tiny"]) == 0
    printed = capsys.readouterr().out
    assert "all checks passed" in printed
    assert "N=64 C=1 28x28" in printed
