"""Fused warps: equal to grid + sample in values and gradients, deterministic, grid-free."""

import itertools
import tracemalloc
import zlib

import autograd.numpy as anp
import numba
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import warpkit
from warpkit.tps import solve_tps
from warpkit.fused import (
    warp_affine_vjp,
    warp_perspective_vjp,
    warp_tps_coefficients,
    warp_tps_coefficients_vjp,
)

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
COMBOS = list(itertools.product(MODES, PADDINGS, [False, True]))
SETTINGS = settings(max_examples=15, deadline=None)


def random_theta(rng, batch):
    """Mild affine maps that reach a little outside the image (exercises padding)."""
    theta = np.eye(2, 3) + rng.uniform(-0.25, 0.25, size=(batch, 2, 3))
    theta[:, :, 2] = rng.uniform(-0.3, 0.3, size=(batch, 2))
    return theta


def random_homography(rng, batch):
    h = np.zeros((batch, 3, 3))
    h[:, :2] = random_theta(rng, batch)
    h[:, 2] = [0.0, 0.0, 1.0]
    h[:, 2, :2] = rng.uniform(-0.2, 0.2, size=(batch, 2))
    return h


def random_spline(rng, batch, count=9):
    controls = warpkit.control_point_grid(count) * 0.8 + rng.uniform(-0.05, 0.05, (count, 2))
    targets = controls[None] + rng.normal(scale=0.15, size=(batch, count, 2))
    return controls, targets


# Each case: (fused call, unfused call) as functions of (input, params...).
def affine_case(rng, batch):
    theta = random_theta(rng, batch)
    size = (4, 5)

    def fused(x, t, **opt):
        return warpkit.warp_affine(x, t, size, **opt)

    def unfused(x, t, **opt):
        grid = warpkit.affine_grid(t, (x.shape[0], x.shape[1]) + size, opt["align_corners"])
        return warpkit.grid_sample(x, grid, **opt)

    return fused, unfused, (theta,)


def perspective_case(rng, batch):
    hom = random_homography(rng, batch)
    size = (4, 5)

    def fused(x, h, **opt):
        return warpkit.warp_perspective(x, h, size, **opt)

    def unfused(x, h, **opt):
        grid = warpkit.perspective_grid(h, (x.shape[0], x.shape[1]) + size,
                                        align_corners=opt["align_corners"])
        return warpkit.grid_sample(x, grid, **opt)

    return fused, unfused, (hom,)


def spline_case(rng, batch):
    controls, targets = random_spline(rng, batch)
    size = (4, 5)

    def fused(x, c, t, **opt):
        return warpkit.warp_tps(x, c, t, size, regularization=0.01, **opt)

    def unfused(x, c, t, **opt):
        grid = warpkit.tps_grid(c, t, (x.shape[0], x.shape[1]) + size, regularization=0.01,
                                align_corners=opt["align_corners"])
        return warpkit.grid_sample(x, grid, **opt)

    return fused, unfused, (controls, targets)


CASES = {"affine": affine_case, "perspective": perspective_case, "spline": spline_case}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBOS)
def test_fused_equals_grid_then_sample(case, dtype, mode, padding_mode, align_corners):
    rng = np.random.default_rng(zlib.crc32(f"{case}-{mode}-{padding_mode}-{align_corners}".encode()))
    image = rng.standard_normal((2, 3, 6, 7)).astype(dtype)
    fused, unfused, params = CASES[case](rng, 2)
    params = tuple(p.astype(dtype) for p in params)
    opt = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    expected = unfused(image, *params, **opt)
    result = fused(image, *params, **opt)
    assert result.dtype == dtype and result.shape == (2, 3, 4, 5)
    tol = 1e-12 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(result, expected, rtol=0, atol=tol * max(1, np.abs(expected).max()))

    weights = rng.standard_normal(expected.shape).astype(dtype)
    argnums = tuple(range(1 + len(params)))

    def loss(function):
        return lambda *a: anp.sum(function(*a, **opt) * weights)

    fused_grads = grad(loss(fused), argnums)(image, *params)
    unfused_grads = grad(loss(unfused), argnums)(image, *params)
    for got, want in zip(fused_grads, unfused_grads):
        assert got.dtype == want.dtype
        scale = max(1.0, np.abs(want).max())
        gtol = 1e-10 if dtype == np.float64 else 2e-3
        np.testing.assert_allclose(got, want, rtol=0, atol=gtol * scale)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_check_grads_affine_and_perspective(mode, padding_mode, align_corners):
    rng = np.random.default_rng(7)
    image = rng.standard_normal((2, 2, 5, 6))
    theta = random_theta(rng, 2)
    hom = random_homography(rng, 2)
    opt = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_grads(lambda t: warpkit.warp_affine(image, t, (4, 3), **opt), modes=["rev"],
                order=1)(theta)
    check_grads(lambda h: warpkit.warp_perspective(image, h, (4, 3), **opt), modes=["rev"],
                order=1)(hom)
    check_grads(lambda x: warpkit.warp_affine(x, theta, **opt), modes=["rev"], order=1)(image)


@pytest.mark.parametrize("shared", [True, False])
def test_check_grads_spline_points(shared):
    rng = np.random.default_rng(8)
    image = rng.standard_normal((2, 1, 6, 6))
    controls, targets = random_spline(rng, 2)
    if not shared:
        controls = np.stack([controls, controls[::-1] * 0.9])
    check_grads(lambda t: warpkit.warp_tps(image, controls, t, (3, 4), regularization=0.01), modes=["rev"],
                order=1)(targets)
    check_grads(lambda c: warpkit.warp_tps(image, c, targets, (3, 4), regularization=0.01), modes=["rev"],
                order=1)(controls)
    coefficients = solve_tps(controls, targets)
    check_grads(lambda a: warp_tps_coefficients(image, a, controls, (3, 4), mode="bicubic"),
                modes=["rev"], order=1)(coefficients)


@SETTINGS
@given(height=st.integers(1, 6), width=st.integers(1, 6), align_corners=st.booleans(),
       mode=st.sampled_from(MODES), padding_mode=st.sampled_from(PADDINGS),
       seed=st.integers(0, 2**16))
def test_identity_parameters_reproduce_the_input(height, width, align_corners, mode,
                                                 padding_mode, seed):
    image = np.random.default_rng(seed).standard_normal((2, 2, height, width))
    opt = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(
        warpkit.warp_affine(image, np.eye(2, 3)[None].repeat(2, 0), **opt), image, atol=1e-12)
    np.testing.assert_allclose(
        warpkit.warp_perspective(image, np.eye(3)[None].repeat(2, 0) * 3.0, **opt), image,
        atol=1e-12)
    controls = warpkit.control_point_grid(9)
    np.testing.assert_allclose(
        warpkit.warp_tps(image, controls, controls[None].repeat(2, 0), **opt), image,
        atol=1e-9)


@SETTINGS
@given(entries=st.lists(st.floats(-1.5, 1.5), min_size=6, max_size=6),
       mode=st.sampled_from(MODES), align_corners=st.booleans())
def test_projective_with_affine_last_row_and_affine_spline_equal_the_affine_warp(
        entries, mode, align_corners):
    image = np.random.default_rng(0).standard_normal((1, 2, 5, 6))
    theta = np.array(entries).reshape(1, 2, 3)
    hom = np.concatenate([theta, [[[0.0, 0.0, 1.0]]]], axis=1)
    opt = dict(mode=mode, align_corners=align_corners)
    expected = warpkit.warp_affine(image, theta, **opt)
    np.testing.assert_allclose(warpkit.warp_perspective(image, hom, **opt), expected,
                               atol=1e-12)
    if mode != "nearest" and abs(np.linalg.det(theta[0, :, :2])) > 1e-3:
        controls = warpkit.control_point_grid(9)
        targets = controls @ theta[0, :, :2].T + theta[0, :, 2]
        np.testing.assert_allclose(warpkit.warp_tps(image, controls, targets[None], **opt),
                                   expected, atol=1e-8)


def test_points_behind_the_camera_read_padding_without_nan():
    # w = x + 0.2: the left part of the output is behind the camera or at infinity.
    image = np.random.default_rng(1).standard_normal((1, 1, 6, 8))
    hom = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.2]]])
    out = warpkit.warp_perspective(image, hom)
    xs = warpkit.coords.normalized_base_coordinates(8)
    behind = xs + 0.2 <= 0
    assert np.all(out[..., behind] == 0) and np.all(np.isfinite(out))
    for padding_mode in PADDINGS:
        opt = dict(padding_mode=padding_mode)
        grid = warpkit.perspective_grid(hom, image.shape)
        np.testing.assert_allclose(warpkit.warp_perspective(image, hom, **opt),
                                   warpkit.grid_sample(image, grid, **opt), atol=1e-12)
        grad_input, grad_hom = warp_perspective_vjp(image, hom, np.ones_like(out), **opt)
        assert np.all(np.isfinite(grad_input)) and np.all(np.isfinite(grad_hom))
    # The pixels without a source add nothing to the homography gradient.
    weights = np.zeros_like(out)
    weights[..., behind] = 1.0
    assert np.all(warp_perspective_vjp(image, hom, weights)[1] == 0)


def test_output_size_defaults_to_the_input_size_and_accepts_nchw():
    image = np.random.default_rng(2).standard_normal((2, 3, 5, 4)).astype(np.float32)
    theta = random_theta(np.random.default_rng(3), 2)
    assert warpkit.warp_affine(image, theta).shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(warpkit.warp_affine(image, theta, (2, 3, 7, 6)),
                                  warpkit.warp_affine(image, theta, (7, 6)))


@pytest.mark.parametrize("function, params", [
    (warp_affine_vjp, (random_theta(np.random.default_rng(4), 1),)),
    (warp_perspective_vjp, (random_homography(np.random.default_rng(5), 1),)),
])
def test_gradients_are_bit_identical_across_runs(function, params):
    # One sample over several threads: private input-gradient buffers, summed in order.
    rng = np.random.default_rng(6)
    image = rng.standard_normal((1, 2, 150, 160))
    grad_output = rng.standard_normal((1, 2, 150, 160))
    first = function(image, *params, grad_output, mode="bicubic")
    for _ in range(3):
        again = function(image, *params, grad_output, mode="bicubic")
        for a, b in zip(first, again):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("batch", [1, 3])  # 3: shared centres, loops over output rows
def test_spline_gradients_are_bit_identical_across_runs(batch):
    rng = np.random.default_rng(9)
    image = rng.standard_normal((batch, 1, 120, 140))
    controls, targets = random_spline(rng, batch, 16)
    coefficients = solve_tps(controls, targets)
    grad_output = rng.standard_normal(image.shape)
    first = warp_tps_coefficients_vjp(image, coefficients, controls, grad_output)
    again = warp_tps_coefficients_vjp(image, coefficients, controls, grad_output)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)


def test_no_sampling_grid_is_allocated():
    # The input gradient needs no private buffers, so the peak extra memory is the
    # output (forward) or the input gradient (backward), plus each thread's block
    # scratch (a few hundred pixels' worth, whatever the image size).
    from warpkit.kernels import blocks, taps

    rng = np.random.default_rng(10)
    batch = max(4, numba.get_num_threads())
    image = rng.standard_normal((batch, 1, 128, 128))
    theta = random_theta(rng, batch)
    grad_output = rng.standard_normal(image.shape)
    grid_bytes = batch * 128 * 128 * 2 * 8
    scratch = numba.get_num_threads() * taps.BLOCK * (blocks.ROWS * 8 + taps.INDEX_ROWS * 4)
    warpkit.warp_affine(image, theta)  # compile outside the measurement
    warp_affine_vjp(image, theta, grad_output)
    for run, result_bytes in [(lambda: warpkit.warp_affine(image, theta), image.nbytes),
                              (lambda: warp_affine_vjp(image, theta, grad_output),
                               image.nbytes)]:
        tracemalloc.start()
        run()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < result_bytes + scratch + 64 * 1024 < result_bytes + grid_bytes


@pytest.mark.parametrize("call, error, message", [
    (lambda x: warpkit.warp_affine(x, np.zeros((1, 3, 3))), ValueError, r"theta must have"),
    (lambda x: warpkit.warp_affine(x, np.zeros((2, 2, 3))), ValueError, "batch size"),
    (lambda x: warpkit.warp_affine(x[0], np.zeros((1, 2, 3))), ValueError, "4-dimensional"),
    (lambda x: warpkit.warp_affine(x, np.zeros((1, 2, 3)), (3,)), ValueError, "size"),
    (lambda x: warpkit.warp_affine(x, np.zeros((1, 2, 3)), (2, 1, 3, 3)), ValueError, "size"),
    (lambda x: warpkit.warp_affine(x, np.zeros((1, 2, 3)), mode="cubic"), ValueError, "mode"),
    (lambda x: warpkit.warp_affine(x.astype(np.int32), np.zeros((1, 2, 3))), TypeError,
     "input"),
    (lambda x: warpkit.warp_perspective(x, np.zeros((1, 2, 3))), ValueError, "homography"),
    (lambda x: warpkit.warp_tps(x, warpkit.control_point_grid(4),
                                warpkit.control_point_grid(4)[None, :3]), ValueError,
     "same number of points"),
    (lambda x: warpkit.warp_tps(x, warpkit.control_point_grid(4),
                                warpkit.control_point_grid(4)[None].repeat(2, 0)),
     ValueError, "batch size"),
    (lambda x: warp_affine_vjp(x, np.zeros((1, 2, 3)), np.zeros((1, 1, 2, 2))), ValueError,
     "grad_output"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(np.zeros((1, 1, 4, 4)))


def test_second_order_derivatives_fail_clearly():
    image = np.random.default_rng(11).standard_normal((1, 1, 4, 4))

    def first(theta):
        return anp.sum(grad(lambda t: anp.sum(warpkit.warp_affine(image, t) ** 2))(theta))

    with pytest.raises(NotImplementedError, match="second-order"):
        grad(first)(random_theta(np.random.default_rng(12), 1))


@settings(max_examples=20, deadline=None)
@given(case=st.sampled_from(list(CASES)), mode=st.sampled_from(MODES),
       padding_mode=st.sampled_from(PADDINGS), align_corners=st.booleans(),
       seed=st.integers(0, 2**16), batch=st.integers(1, 3))
def test_fused_equals_unfused_for_random_parameters(case, mode, padding_mode, align_corners,
                                                     seed, batch):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((batch, 2, 5, 6))
    fused, unfused, params = CASES[case](rng, batch)
    opt = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(fused(image, *params, **opt), unfused(image, *params, **opt),
                               rtol=0, atol=1e-12)
    weights = rng.standard_normal((batch, 2, 4, 5))
    argnums = tuple(range(1 + len(params)))
    got = grad(lambda *a: anp.sum(fused(*a, **opt) * weights), argnums)(image, *params)
    want = grad(lambda *a: anp.sum(unfused(*a, **opt) * weights), argnums)(image, *params)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10 * max(1.0, np.abs(w).max()))


@pytest.mark.parametrize("function,params,name", [
    (warp_affine_vjp, np.array([[[0.9, -0.2, 0.1], [0.2, 0.9, 0.0]]]), "theta"),
    (warp_perspective_vjp, np.array([[[0.9, -0.2, 0.1], [0.2, 0.9, 0.0], [0.1, 0.0, 1.0]]]),
     "homography"),
])
def test_vjp_wrt_parameters_only_equals_the_full_backward(function, params, name):
    rng = np.random.default_rng(9)
    image = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    grad_output = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    full = function(image, params, grad_output)
    grad_input, grad_params = function(image, params, grad_output, wrt=(name,))
    assert grad_input is None
    np.testing.assert_array_equal(grad_params, full[1])
    grad_input, grad_params = function(image, params, grad_output, wrt=("input",))
    assert grad_params is None
    np.testing.assert_array_equal(grad_input, full[0])
