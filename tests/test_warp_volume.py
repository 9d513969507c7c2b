"""Fused warps of volumes: warp_affine / warp_perspective on (N, C, D, H, W) input equal
affine_grid / perspective_grid + grid_sample in values and gradients, grid-free."""

import itertools

import numpy as np
import pytest
from autograd import grad

import warpkit
from warpkit.fused import warp_affine_vjp, warp_perspective_vjp
from warpkit.grids import NO_SOURCE

from reference_volume import reference_grid_sample_3d

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
COMBOS = list(itertools.product(MODES, PADDINGS, [False, True]))
SIZE = (3, 4, 5)  # (D_out, H_out, W_out)


def random_theta(rng, batch):
    """Mild 3-D affine maps reaching a little outside the volume (exercises padding)."""
    theta = np.eye(3, 4) + rng.uniform(-0.2, 0.2, size=(batch, 3, 4))
    theta[:, :, 3] = rng.uniform(-0.3, 0.3, size=(batch, 3))
    return theta


def random_homography(rng, batch):
    h = np.zeros((batch, 4, 4))
    h[:, :3] = random_theta(rng, batch)
    h[:, 3] = [0.0, 0.0, 0.0, 1.0]
    h[:, 3, :3] = rng.uniform(-0.15, 0.15, size=(batch, 3))
    return h


# (fused warp, its vjp, grid generator, parameter maker)
FAMILIES = {
    "affine": (warpkit.warp_affine, warp_affine_vjp,
               lambda t, size, align: warpkit.affine_grid(t, size, align), random_theta),
    "perspective": (warpkit.warp_perspective, warp_perspective_vjp,
                    lambda h, size, align: warpkit.perspective_grid(h, size,
                                                                    align_corners=align),
                    random_homography),
}


def unfused(family, volume, params, options):
    """The grid path: the family's grid, then grid_sample."""
    _, _, make_grid, _ = FAMILIES[family]
    grid = make_grid(params, volume.shape[:2] + SIZE, options["align_corners"])
    return warpkit.grid_sample(volume, grid, **options)


def data(seed, batch=2, dtype=np.float64):
    rng = np.random.default_rng(seed)
    volume = rng.standard_normal((batch, 2, 4, 5, 6)).astype(dtype)
    grad_output = rng.standard_normal((batch, 2) + SIZE).astype(dtype)
    return rng, volume, grad_output


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_fused_equals_grid_then_sample(family):
    # Values, the input gradient and the parameter gradient (the grid path's gradient
    # chained through the grid generator by autograd), every mode, padding and
    # convention: run-time arguments of one compiled kernel.
    warp, vjp, _, make_params = FAMILIES[family]
    rng, volume, grad_output = data(0)
    params = make_params(rng, 2)
    for mode, padding_mode, align_corners in COMBOS:
        options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        out = warp(volume, params, SIZE, **options)
        expected = unfused(family, volume, params, options)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * scale,
                                   err_msg=str(options))

        def loss(x, p):
            return np.sum(unfused(family, x, p, options) * grad_output)

        expected_input, expected_params = grad(loss, (0, 1))(volume, params)
        grad_input, grad_params = vjp(volume, params, grad_output, SIZE, **options)
        for ours, theirs in ((grad_input, expected_input), (grad_params, expected_params)):
            np.testing.assert_allclose(ours, theirs, rtol=0,
                                       atol=1e-11 * max(np.abs(theirs).max(), 1.0),
                                       err_msg=str(options))


@pytest.mark.parametrize("combo", [("bilinear", "zeros", False), ("bicubic", "border", True),
                                   ("nearest", "reflection", False)])
def test_fused_matches_the_slow_reference_sampler(combo):
    mode, padding_mode, align_corners = combo
    rng, volume, _ = data(1)
    theta = random_theta(rng, 2)
    grid = warpkit.affine_grid(theta, volume.shape[:2] + SIZE, align_corners)
    expected = reference_grid_sample_3d(volume, grid, mode, padding_mode, align_corners)
    out = warpkit.warp_affine(volume, theta, SIZE, mode=mode, padding_mode=padding_mode,
                              align_corners=align_corners)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("family, mode", [("affine", "bilinear"), ("affine", "bicubic"),
                                          ("perspective", "bilinear"),
                                          ("perspective", "bicubic")])
def test_parameter_gradient_matches_central_differences(family, mode):
    warp, vjp, _, make_params = FAMILIES[family]
    rng, volume, grad_output = data(2, batch=1)
    params = make_params(rng, 1)
    options = dict(mode=mode, padding_mode="border", align_corners=False)
    _, analytic = vjp(volume, params, grad_output, SIZE, **options, wrt=(family_name(family),))
    numeric = np.zeros_like(params)
    step = 1e-6
    for index in np.ndindex(params.shape):
        delta = np.zeros_like(params)
        delta[index] = step
        plus = np.sum(warp(volume, params + delta, SIZE, **options) * grad_output)
        minus = np.sum(warp(volume, params - delta, SIZE, **options) * grad_output)
        numeric[index] = (plus - minus) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-5 * np.abs(numeric).max())


def family_name(family):
    return "theta" if family == "affine" else "homography"


@pytest.mark.parametrize("mode", MODES)
def test_adjoint_identity(mode):
    # The warp is linear in the volume: <A x, y> = <x, A^T y>.
    rng, volume, grad_output = data(3)
    theta = random_theta(rng, 2)
    options = dict(mode=mode, padding_mode="reflection", align_corners=True)
    forward = np.sum(warpkit.warp_affine(volume, theta, SIZE, **options) * grad_output)
    grad_input, grad_theta = warp_affine_vjp(volume, theta, grad_output, SIZE, **options,
                                             wrt=("input",))
    assert grad_theta is None
    np.testing.assert_allclose(forward, np.sum(volume * grad_input), rtol=1e-12)


def test_autograd_through_warp_affine_on_volumes():
    rng, volume, grad_output = data(4)
    theta = random_theta(rng, 2)

    def loss(x, t):
        return np.sum(warpkit.warp_affine(x, t, SIZE, mode="bicubic") ** 2)

    grad_x, grad_t = grad(loss, (0, 1))(volume, theta)
    out = warpkit.warp_affine(volume, theta, SIZE, mode="bicubic")
    expected_x, expected_t = warp_affine_vjp(volume, theta, 2 * out, SIZE, mode="bicubic")
    np.testing.assert_array_equal(grad_x, expected_x)
    np.testing.assert_array_equal(grad_t, expected_t)


def test_float32_follows_float64():
    # (the perspective kernels run the same float64 arithmetic on either dtype)
    warp, vjp, _, make_params = FAMILIES["affine"]
    rng, volume, grad_output = data(5)
    params = make_params(rng, 2)
    out64 = warp(volume, params, SIZE, mode="bicubic")
    grads64 = vjp(volume, params, grad_output, SIZE, mode="bicubic")
    volume32, params32 = volume.astype(np.float32), params.astype(np.float32)
    out32 = warp(volume32, params32, SIZE, mode="bicubic")
    grads32 = vjp(volume32, params32, grad_output.astype(np.float32), SIZE, mode="bicubic")
    assert out32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)
    for ours, theirs in [(out32, out64)] + list(zip(grads32, grads64)):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("batch", [1, 3])  # 1: two passes (bands of input rows)
def test_gradients_are_bit_identical_across_runs_and_without_the_input(batch):
    # Large enough for several threads (warpkit._config.SERIAL_WORK_LIMIT).
    rng = np.random.default_rng(6)
    volume = rng.standard_normal((batch, 2, 40, 40, 48))
    theta = random_theta(rng, batch)
    grad_output = rng.standard_normal(volume.shape)
    first = warp_affine_vjp(volume, theta, grad_output)
    for _ in range(2):
        again = warp_affine_vjp(volume, theta, grad_output)
        for a, b in zip(first, again):
            assert np.array_equal(a, b)
    # without the input gradient the rows split differently: the same sum, reordered
    grad_input, grad_theta = warp_affine_vjp(volume, theta, grad_output, wrt=("theta",))
    assert grad_input is None
    np.testing.assert_allclose(grad_theta, first[1], rtol=0,
                               atol=1e-12 * np.abs(first[1]).max())


def test_points_behind_the_camera_read_padding_without_gradient():
    volume = np.ones((1, 1, 4, 4, 4))
    homography = np.eye(4)[None].copy()
    homography[0, 3] = [0.0, 0.0, 1.0, 0.0]  # w = z: the near half is behind the camera
    out = warpkit.warp_perspective(volume, homography)
    assert np.all(out[0, 0, :2] == 0) and np.all(np.isfinite(out))
    grad_output = np.zeros_like(out)
    grad_output[0, 0, :2] = 1.0  # only the voxels without a source
    _, grad_h = warp_perspective_vjp(volume, homography, grad_output)
    assert np.all(grad_h == 0)
    grid = warpkit.perspective_grid(homography, (1, 1, 4, 4, 4))
    assert np.all(grid[0, :2] == NO_SOURCE)


def test_output_sizes():
    rng, volume, _ = data(7)
    theta = random_theta(rng, 2)
    assert warpkit.warp_affine(volume, theta).shape == volume.shape
    np.testing.assert_array_equal(warpkit.warp_affine(volume, theta, (2, 2) + SIZE),
                                  warpkit.warp_affine(volume, theta, SIZE))
    assert warpkit.warp_affine(volume, theta, (0, 4, 5)).shape == (2, 2, 0, 4, 5)
    grads = warp_affine_vjp(volume, theta, np.zeros((2, 2, 0, 4, 5)), (0, 4, 5))
    assert grads[0].shape == volume.shape and np.all(grads[1] == 0)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: warpkit.warp_affine(x, np.zeros((2, 2, 3))), ValueError,
     r"theta must have shape \(N, 3, 4\) for a volume input"),
    (lambda x: warpkit.warp_perspective(x, np.zeros((2, 3, 3))), ValueError,
     r"homography must have shape \(N, 4, 4\) for a volume input"),
    (lambda x: warpkit.warp_affine(x, np.zeros((1, 3, 4))), ValueError, "batch size"),
    (lambda x: warpkit.warp_affine(x, np.zeros((2, 3, 4)), (4, 4)), ValueError,
     "size must have 3 entries"),
    (lambda x: warpkit.warp_affine(x, np.zeros((2, 3, 4)), (1, 2, 3, 4, 4)), ValueError,
     r"size \(N, C, D_out, H_out, W_out\) must start with the input's \(N, C\)"),
    (lambda x: warpkit.warp_affine(x, np.zeros((2, 3, 4)), mode="trilinear"), ValueError,
     "mode must be one of"),
    (lambda x: warp_affine_vjp(x, np.zeros((2, 3, 4)), np.zeros((2, 2, 4, 5, 5))),
     ValueError, "grad_output must have the output's shape"),
    (lambda x: warpkit.warp_affine(np.zeros((2, 2, 0, 5, 6)), np.zeros((2, 3, 4))),
     ValueError, "input"),
])
def test_bad_input(call, error, message):
    volume = np.zeros((2, 2, 4, 5, 6))
    with pytest.raises(error, match=message):
        call(volume)


def test_second_order_derivatives_fail_clearly():
    rng, volume, _ = data(8)
    theta = random_theta(rng, 2)
    gradient = grad(lambda t: np.sum(warpkit.warp_affine(volume, t)))
    with pytest.raises(NotImplementedError, match="second-order"):
        grad(lambda t: np.sum(gradient(t)))(theta)
