"""Parity with PyTorch's grid_sample and affine_grid, values and both gradients."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import warpkit
from warpkit._validate import MODES

torch = pytest.importorskip("torch")
F = torch.nn.functional

HOST_HAS_FMA = __import__("llvmlite.binding").binding.get_host_cpu_features().get("fma", False)

#: Modes that warpkit computes with torch's operations in torch's order (on an
#: FMA host): the same bits.  Bicubic sums its 16 taps in another order.
SAME_BITS_MODES = tuple(m for m in MODES if m != "bicubic")

# (input shape, output size): size-1 axes, non-square, output larger than input
SHAPES = [
    ((2, 3, 5, 7), (4, 6)),
    ((1, 1, 1, 1), (3, 2)),
    ((3, 2, 1, 6), (2, 5)),
    ((2, 1, 6, 1), (1, 1)),
    ((1, 4, 3, 9), (11, 13)),
]


def torch_reference(image, grid, grad_output, mode, padding_mode, align_corners):
    image_t = torch.tensor(image, requires_grad=True)
    grid_t = torch.tensor(grid, requires_grad=True)
    out = F.grid_sample(image_t, grid_t, mode=mode, padding_mode=padding_mode,
                        align_corners=align_corners)
    out.backward(torch.tensor(grad_output))
    return out.detach().numpy(), image_t.grad.numpy(), grid_t.grad.numpy()


@pytest.mark.parametrize("dtype", (np.float64, np.float32))
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, dtype):
    rng = np.random.default_rng(0)
    # float32: warpkit computes in float32 as torch does; torch's own float32 tolerances
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1.3e-6, atol=1e-5)
    for shape, out in SHAPES:
        image = rng.standard_normal(shape).astype(dtype)
        grid = rng.uniform(-1.3, 1.3, (shape[0],) + out + (2,)).astype(dtype)
        grad_output = rng.standard_normal(shape[:2] + out).astype(dtype)
        expected = torch_reference(image, grid, grad_output, mode, padding_mode, align_corners)
        actual_out = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
        actual_gi, actual_gg = warpkit.grid_sample_vjp(image, grid, grad_output, mode,
                                                       padding_mode, align_corners)
        assert actual_out.dtype == actual_gi.dtype == actual_gg.dtype == dtype
        np.testing.assert_allclose(actual_out, expected[0], **tol, err_msg=f"value {shape}")
        np.testing.assert_allclose(actual_gi, expected[1], **tol, err_msg=f"d input {shape}")
        np.testing.assert_allclose(actual_gg, expected[2], **tol, err_msg=f"d grid {shape}")
        if mode in SAME_BITS_MODES and HOST_HAS_FMA:
            # same operations, same order (torch's compiler contracts a * b + c
            # on FMA hosts, and so does warpkit): the same bits
            np.testing.assert_array_equal(actual_out, expected[0], err_msg=f"value {shape}")
            np.testing.assert_array_equal(actual_gg, expected[2], err_msg=f"d grid {shape}")


@pytest.mark.parametrize("mode", SAME_BITS_MODES)
def test_float32_ties_and_large_images_match_torch_bit_for_bit(mode, padding_mode):
    if not HOST_HAS_FMA and mode == "bilinear":
        pytest.skip("torch contracts multiply-adds only on FMA hosts")
    rng = np.random.default_rng(5)
    image = (rng.random((1, 2, 300, 257)) * 255).astype(np.float32)
    # exact ties of nearest rounding (x.5 pixels) and ordinary points
    ties = (np.arange(-2, 520) + 0.5) / 257 * 2 - 1 - 1 / 257
    grid = np.stack(np.meshgrid(ties.astype(np.float32),
                                np.linspace(-1.1, 1.1, 7, dtype=np.float32)), -1)[None]
    grid = np.concatenate([grid, rng.uniform(-1, 1, grid.shape).astype(np.float32)], 1)
    grid[0, 0, 0] = (-0.2, 1e-6)  # torch's own table: a tie at 7.5 that must read 8
    for align_corners in (False, True):
        expected = F.grid_sample(torch.tensor(image), torch.tensor(grid), mode=mode,
                                 padding_mode=padding_mode, align_corners=align_corners).numpy()
        np.testing.assert_array_equal(
            warpkit.grid_sample(image, grid, mode, padding_mode, align_corners), expected)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid:UserWarning")
@pytest.mark.parametrize("size", [(2, 3, 5, 7), (1, 1, 1, 1), (3, 1, 1, 4), (2, 2, 6, 1)])
def test_affine_grid_matches_torch(size, align_corners):
    rng = np.random.default_rng(1)
    theta = rng.standard_normal((size[0], 2, 3))
    expected = F.affine_grid(torch.tensor(theta), size, align_corners=align_corners).numpy()
    np.testing.assert_allclose(warpkit.affine_grid(theta, size, align_corners), expected,
                               rtol=1e-12, atol=1e-12)
    theta32 = theta.astype(np.float32)
    actual32 = warpkit.affine_grid(theta32, size, align_corners)
    assert actual32.dtype == np.float32
    np.testing.assert_allclose(actual32, expected, rtol=1e-5, atol=1e-5)


def test_affine_grid_and_sample_theta_gradient_matches_torch(mode):
    rng = np.random.default_rng(2)
    image = rng.standard_normal((2, 3, 6, 5))
    theta = np.array([[[0.9, 0.2, 0.05], [-0.15, 1.05, -0.1]],
                      [[1.1, -0.1, 0.2], [0.3, 0.8, 0.15]]])

    def loss(theta):
        grid = warpkit.affine_grid(theta, (2, 3, 7, 4))
        return anp.sum(warpkit.grid_sample(image, grid, mode, "border") ** 2)

    theta_t = torch.tensor(theta, requires_grad=True)
    grid_t = F.affine_grid(theta_t, (2, 3, 7, 4), align_corners=False)
    out_t = F.grid_sample(torch.tensor(image), grid_t, mode=mode, padding_mode="border",
                          align_corners=False)
    (out_t ** 2).sum().backward()
    np.testing.assert_allclose(autograd.grad(loss)(theta), theta_t.grad.numpy(),
                               rtol=1e-9, atol=1e-9)


def test_nan_reads_as_minus_one(mode, padding_mode):
    rng = np.random.default_rng(3)
    image = rng.standard_normal((1, 2, 5, 6))
    grid = np.array([[[[np.nan, 0.3], [0.2, np.nan]]]])
    minus_one = np.array([[[[-1.0, 0.3], [0.2, -1.0]]]])
    out = warpkit.grid_sample(image, grid, mode, padding_mode)
    np.testing.assert_array_equal(out, warpkit.grid_sample(image, minus_one, mode, padding_mode))
    expected = F.grid_sample(torch.tensor(image), torch.tensor(minus_one), mode=mode,
                             padding_mode=padding_mode, align_corners=False).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


# Points with an infinite coordinate (x, y or both), and one ordinary point.
INF_GRID = np.array([[[[np.inf, 0.3], [0.2, -np.inf], [-np.inf, np.inf], [0.1, -0.4]]]])


def assert_close_to(actual, expected, what):
    scale = np.abs(expected).max(initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12 * scale, err_msg=what)


def test_inf_is_out_of_image(mode, padding_mode, align_corners):
    # The documented rule (docs/conventions.rst, grid_sample's docstring): a
    # coordinate of +-Inf is out of the image, with zero gradient; it reads 0
    # with zeros padding and the nearest edge with border and reflection (it is
    # not reflected).  Torch reads the same thing at a finite point far outside
    # (+-1e6) with zeros or border padding: that is the reference.
    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 2, 5, 6))
    grad_output = rng.standard_normal((1, 2) + INF_GRID.shape[1:3])
    far = np.where(np.isinf(INF_GRID), np.sign(INF_GRID) * 1e6, INF_GRID)
    far_padding = "zeros" if padding_mode == "zeros" else "border"
    expected = torch_reference(image, far, grad_output, mode, far_padding, align_corners)
    out = warpkit.grid_sample(image, INF_GRID, mode, padding_mode, align_corners)
    grad_input, grad_grid = warpkit.grid_sample_vjp(image, INF_GRID, grad_output, mode,
                                                    padding_mode, align_corners)
    assert_close_to(out, expected[0], "value")
    assert_close_to(grad_input, expected[1], "d input")
    assert_close_to(grad_grid, expected[2], "d grid")
    assert not grad_grid[np.isinf(INF_GRID)].any()
    if padding_mode == "reflection":
        return  # torch 2.x reflects Inf into NaN (and crashes in its backward)
    # Torch on the infinite grid itself, wherever its result is finite (its
    # bilinear and bicubic weights turn 0 * Inf into NaN).
    direct = torch_reference(image, INF_GRID, grad_output, mode, padding_mode, align_corners)
    for what, actual, reference in zip(("value", "d input", "d grid"),
                                       (out, grad_input, grad_grid), direct):
        finite = np.isfinite(reference)
        assert_close_to(actual[finite], reference[finite], what)
