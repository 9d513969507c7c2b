"""The vector CPU kernels against their scalar path, lane by lane and bit for bit.

A gather moves values and computes nothing, so the explicit-gather kernels
(``bits`` 512 or 256) must give exactly the results of the same kernels
with scalar loads (``bits=0``), for every mode, padding, ``align_corners``
and dtype, and on every unaligned tail of a block.
"""

import itertools

import numpy as np
import pytest

from warpkit.kernels import cpu, cpu_fused, simd
from warpkit.kernels.taps import BLOCK

MODES = (0, 1, 2)          # bilinear, nearest, bicubic
PADDINGS = (0, 1, 2)       # zeros, border, reflection
VECTOR_BITS = sorted({simd.HOST_VECTOR_BITS, 256} - {0})
# Every combination is compiled once more with scalar loads (and AVX2-width
# vectors): float32 for all of them, float64 where the maths differs by
# dtype only through the gather width, to keep the suite's compile time down.
COMBINATIONS = ([(np.float32,) + c for c in itertools.product(MODES, PADDINGS, (False, True))]
                + [(np.float64, 0, 0, False), (np.float64, 2, 2, True)])


@pytest.mark.parametrize("bits", VECTOR_BITS)
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_gather_matches_scalar_loads_on_every_tail(bits, dtype):
    rng = np.random.default_rng(0)
    src = rng.standard_normal(1000).astype(dtype)
    for count in range(1, 34):
        for index_dtype in (np.int32, np.int64):
            active = rng.random(40) < 0.7
            offsets = np.where(active, rng.integers(0, src.size, 40), -1).astype(index_dtype)
            expected = np.where(active, src[np.where(active, offsets, 0)], 0)[:count]
            dst = np.full(40, 7, dtype)
            simd.gather_kernel(bits, src, offsets, count, dst)
            np.testing.assert_array_equal(dst[:count], expected, err_msg=f"count {count}")
            assert np.all(dst[count:] == 7), "wrote past count"
        np.testing.assert_array_equal(dst[:count], expected, err_msg=f"count {count}")
        assert np.all(dst[count:] == 7), "wrote past count"


def _run_grid_sample(spec, image, grid, grad_output):
    batch, channels = image.shape[:2]
    rows = grid.shape[0] * grid.shape[1]
    out = np.empty((batch, channels) + grid.shape[1:3], image.dtype)
    index = cpu.index_scratch(image.shape)
    cpu.specialized(cpu.grid_sample_forward, spec)(image, grid, out, index, 0, rows)
    grad_image = np.zeros_like(image)
    grad_grid = np.empty_like(grid)
    cpu.specialized(cpu.grid_sample_backward, spec)(image, grid, grad_output, grad_image,
                                                    grad_grid, index, 0, image[0, 0].size,
                                                    0, rows)
    return out, grad_image, grad_grid


@pytest.mark.parametrize("dtype,mode,padding,align_corners", COMBINATIONS)
def test_vector_grid_sample_equals_scalar(mode, padding, align_corners, dtype):
    rng = np.random.default_rng(1)
    image = rng.standard_normal((2, 3, 6, 7)).astype(dtype)
    # widths 1..33: every tail of a 4-, 8- and 16-lane vector; and one grid
    # longer than a block, so that blocks split inside rows
    for width in list(range(1, 34)) + [BLOCK + 37]:
        grid = rng.uniform(-1.4, 1.4, (2, 2, width, 2)).astype(dtype)
        grid[0, 0, :3] = [[np.nan, 0.2], [1e30, -np.inf], [0.5, 1e10]][:width]
        grad_output = rng.standard_normal((2, 3, 2, width)).astype(dtype)
        scalar = _run_grid_sample(cpu.Spec(mode, padding, align_corners, 0), image, grid,
                                  grad_output)
        for bits in (VECTOR_BITS if mode == 0 else VECTOR_BITS[-1:]):
            vector = _run_grid_sample(cpu.Spec(mode, padding, align_corners, bits), image,
                                      grid, grad_output)
            for name, s, v in zip(("value", "d input", "d grid"), scalar, vector):
                np.testing.assert_array_equal(v, s, err_msg=f"{name}, width {width}, {bits}")


@pytest.mark.parametrize("family", ("affine", "perspective"))
@pytest.mark.parametrize("mode", MODES)
def test_vector_fused_warps_equal_scalar(family, mode):
    rng = np.random.default_rng(2)
    image = rng.standard_normal((2, 2, 9, 8)).astype(np.float32)
    if family == "affine":
        params = np.array([[[0.9, -0.3, 0.1], [0.2, 1.1, -0.2]],
                           [[1.2, 0.1, -0.3], [-0.2, 0.8, 0.1]]])
        code = cpu_fused.AFFINE
    else:
        params = np.array([[[0.9, -0.3, 0.1], [0.2, 1.1, -0.2], [0.3, -0.2, 1.0]],
                           [[1.2, 0.1, -0.3], [-0.2, 0.8, 0.1], [-0.4, 0.1, 0.9]]])
        code = cpu_fused.PERSPECTIVE
    size = cpu_fused.PARAMETER_COUNTS[code]
    for width in (1, 5, 16, 17, 33, BLOCK + 3):
        xs = np.linspace(-1, 1, width)
        ys = np.linspace(-1, 1, 3)
        grad_output = rng.standard_normal((2, 2, 3, width)).astype(np.float32)
        results = []
        for bits in [0] + VECTOR_BITS:
            spec = cpu.Spec(mode, 0, False, bits)
            out = np.empty((2, 2, 3, width), np.float32)
            index = cpu.index_scratch(image.shape)
            cpu.specialized(cpu_fused.matrix_forward, spec, code)(image, params, xs, ys, out,
                                                                  index, 0, 6)
            grad_image = np.zeros_like(image)
            acc = np.zeros((2, size))
            cpu.specialized(cpu_fused.matrix_backward, spec, code)(
                image, params, xs, ys, grad_output, grad_image, acc, index, 0, 72, 0, 6)
            results.append((out, grad_image, acc))
        for vector in results[1:]:
            for s, v in zip(results[0], vector):
                np.testing.assert_array_equal(v, s, err_msg=f"{family} width {width}")


def test_backward_computes_only_the_gradients_asked_for():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((2, 2, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1, 1, (2, 3, 4, 2)).astype(np.float32)
    grad_output = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    full = _run_grid_sample(cpu.Spec(0, 0, False, simd.HOST_VECTOR_BITS), image, grid,
                            grad_output)
    grid_only = cpu.Spec(0, 0, False, simd.HOST_VECTOR_BITS, need_input=False)
    no_input = np.zeros((2, 2, 0, 0), np.float32)  # the kernel must not touch it
    grad_grid = np.empty_like(grid)
    index = cpu.index_scratch(image.shape)
    cpu.specialized(cpu.grid_sample_backward, grid_only)(image, grid, grad_output, no_input,
                                                         grad_grid, index, 0, 30, 0, 6)
    np.testing.assert_array_equal(grad_grid, full[2])
    input_only = cpu.Spec(0, 0, False, simd.HOST_VECTOR_BITS, need_grid=False)
    grad_image = np.zeros_like(image)
    untouched = np.full_like(grid, 5.0)
    cpu.specialized(cpu.grid_sample_backward, input_only)(image, grid, grad_output, grad_image,
                                                          untouched, index, 0, 30, 0, 6)
    np.testing.assert_array_equal(grad_image, full[1])
    assert np.all(untouched == 5.0)


def test_the_environment_chooses_the_vector_width(monkeypatch):
    monkeypatch.setenv("WARPKIT_SIMD", "0")
    assert simd.kernel_vector_bits() == 0
    monkeypatch.setenv("WARPKIT_SIMD", "512")
    assert simd.kernel_vector_bits() == simd.HOST_VECTOR_BITS  # capped at the host's
    monkeypatch.setenv("WARPKIT_SIMD", "banana")
    with pytest.raises(ValueError, match="WARPKIT_SIMD must be 0, 256 or 512"):
        simd.kernel_vector_bits()
    monkeypatch.delenv("WARPKIT_SIMD")
    assert simd.kernel_vector_bits() in (0, simd.HOST_VECTOR_BITS)


def test_input_row_bands_partition_the_input_gradient():
    """Scattering band by band adds up, element for element, to the whole scatter."""
    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 2, 9, 5)).astype(np.float32)
    grid = rng.uniform(-1.2, 1.2, (1, 7, 6, 2)).astype(np.float32)
    grad_output = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    index = cpu.index_scratch(image.shape)
    for mode in MODES:
        kernel = cpu.specialized(cpu.grid_sample_backward,
                                 cpu.Spec(mode, 0, False, simd.HOST_VECTOR_BITS, True, False))
        whole = np.zeros_like(image)
        kernel(image, grid, grad_output, whole, grid, index, 0, 45, 0, 7)
        banded = np.zeros_like(image)
        for start, end in ((0, 10), (10, 30), (30, 45)):  # rows 0-1, 2-5, 6-8
            kernel(image, grid, grad_output, banded, grid, index, start, end, 0, 7)
            part = np.zeros_like(image)
            kernel(image, grid, grad_output, part, grid, index, start, end, 0, 7)
            outside = np.ones(45, bool)
            outside[start:end] = False
            assert not np.any(part.reshape(1, 2, 45)[..., outside]), "scattered outside its band"
        np.testing.assert_array_equal(banded, whole)
