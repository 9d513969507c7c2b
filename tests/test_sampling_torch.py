"""Parity with PyTorch's grid_sample and affine_grid, values and both gradients."""

import itertools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import warpkit

torch = pytest.importorskip("torch")
F = torch.nn.functional

HOST_HAS_FMA = __import__("llvmlite.binding").binding.get_host_cpu_features().get("fma", False)

MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")

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
@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(MODES, PADDINGS, (False, True))))
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
        if mode != "bicubic" and HOST_HAS_FMA:
            # same operations, same order (torch's compiler contracts a * b + c
            # on FMA hosts, and so does warpkit): the same bits
            np.testing.assert_array_equal(actual_out, expected[0], err_msg=f"value {shape}")
            np.testing.assert_array_equal(actual_gg, expected[2], err_msg=f"d grid {shape}")


@pytest.mark.parametrize("mode", ("nearest", "bilinear"))
def test_float32_ties_and_large_images_match_torch_bit_for_bit(mode):
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
        for padding_mode in PADDINGS:
            expected = F.grid_sample(torch.tensor(image), torch.tensor(grid), mode=mode,
                                     padding_mode=padding_mode,
                                     align_corners=align_corners).numpy()
            np.testing.assert_array_equal(
                warpkit.grid_sample(image, grid, mode, padding_mode, align_corners), expected)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid:UserWarning")
@pytest.mark.parametrize("align_corners", (False, True))
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


@pytest.mark.parametrize("mode", MODES)
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


def test_nan_reads_as_minus_one_and_inf_is_out_of_image():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((1, 2, 5, 6))
    grid = np.array([[[[np.nan, 0.3], [0.2, np.nan]]]])
    minus_one = np.array([[[[-1.0, 0.3], [0.2, -1.0]]]])
    for mode in MODES:
        for padding_mode in PADDINGS:
            np.testing.assert_array_equal(
                warpkit.grid_sample(image, grid, mode, padding_mode),
                warpkit.grid_sample(image, minus_one, mode, padding_mode))
            # where torch is finite (border/reflection for bilinear and nearest) it agrees
            expected = F.grid_sample(torch.tensor(image), torch.tensor(minus_one), mode=mode,
                                     padding_mode=padding_mode, align_corners=False).numpy()
            np.testing.assert_allclose(warpkit.grid_sample(image, grid, mode, padding_mode),
                                       expected, rtol=1e-12, atol=1e-12)
