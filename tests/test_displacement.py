"""warp_displacement, compose_displacements and integrate_velocity, 2-D and 3-D.

The oracle of warp_displacement is grid_sample on the grid ``identity +
converted flow`` built here from the definitions (docs/conventions.rst), not
from warpkit's own base arrays.  The 2-D flow kernels are specialized at
compile time on (mode, padding, align_corners), so each 2-D test uses one of
a few combinations that together cover every mode, padding and convention;
the 3-D kernel takes them at run time, so the 3-D test loops over all.
"""

import itertools

import autograd
import autograd.numpy as anp
import numba
import numpy as np
import pytest
from autograd.test_util import check_grads

import warpkit
from warpkit.backends import threads
from warpkit.displacement import (compose_displacements, integrate_velocity, warp_displacement,
                                  warp_displacement_vjp)
from warpkit._validate import MODES, PADDING_MODES

#: (mode, padding_mode, align_corners) of the 2-D tests: every mode, every
#: padding and both conventions at least once, a few compilations in all.
CASES_2D = [("bilinear", "border", False), ("bicubic", "zeros", True),
            ("nearest", "reflection", False)]
UNITS = ("pixels", "normalized")


# ------------------------------------------------------------------ oracle


def normalize(p, size, align_corners):
    """Normalized coordinate of pixel coordinate ``p`` on an axis of ``size`` pixels."""
    if align_corners:
        return p * 0.0 if size == 1 else p * 2.0 / (size - 1) - 1.0
    return (2.0 * p + 1.0) / size - 1.0


def flow_scales(flow, input_shape, units, align_corners):
    """d grid / d flow of each component (x first)."""
    dims = flow.shape[-1]
    if units == "normalized":
        return np.ones(dims)
    sizes = input_shape[2:][::-1]
    return np.array([normalize(1.0, n, align_corners) - normalize(0.0, n, align_corners)
                     for n in sizes])


def identity_plus(flow, input_shape, units, align_corners):
    """The sampling grid of a displacement: identity + converted flow (float64)."""
    dims = flow.shape[-1]
    out_sizes = flow.shape[1:-1][::-1]  # x first
    in_sizes = input_shape[2:][::-1]
    grid = np.empty(flow.shape)
    for a in range(dims):
        shape = [1] * (dims + 1)
        shape[dims - a] = out_sizes[a]
        index = np.arange(out_sizes[a], dtype=np.float64).reshape(shape)
        component = flow[..., a].astype(np.float64)
        if units == "pixels":
            grid[..., a] = normalize(index + component, in_sizes[a], align_corners)
        else:
            grid[..., a] = normalize(index, out_sizes[a], align_corners) + component
    return grid


def random_case(rng, input_shape, flow_shape, units, dtype=np.float64):
    image = rng.standard_normal(input_shape).astype(dtype)
    spread = 3.0 if units == "pixels" else 0.7  # some points outside the input
    flow = rng.uniform(-spread, spread, flow_shape).astype(dtype)
    return image, flow


def assert_matches_grid_sample(image, flow, units, mode, padding_mode, align_corners, tol):
    rng = np.random.default_rng(7)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    out = warp_displacement(image, flow, units=units, **options)
    grid = identity_plus(flow, image.shape, units, align_corners).astype(image.dtype)
    expected = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    assert out.dtype == image.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=tol * np.abs(expected).max())

    grad_output = rng.standard_normal(out.shape).astype(image.dtype)
    grad_input, grad_flow = warp_displacement_vjp(image, flow, grad_output, units=units,
                                                  **options)
    want_input, want_grid = warpkit.grid_sample_vjp(image, grid, grad_output, mode,
                                                    padding_mode, align_corners)
    want_flow = want_grid * flow_scales(flow, image.shape, units, align_corners)
    assert grad_input.dtype == image.dtype and grad_flow.dtype == flow.dtype
    np.testing.assert_allclose(grad_input, want_input, rtol=0,
                               atol=tol * np.abs(want_input).max())
    np.testing.assert_allclose(grad_flow, want_flow, rtol=0,
                               atol=tol * max(np.abs(want_flow).max(), 1.0))


# ------------------------------------------------------ against grid_sample


@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("mode, padding_mode, align_corners", CASES_2D)
def test_2d_matches_grid_sample_on_identity_plus_flow(mode, padding_mode, align_corners,
                                                      units):
    rng = np.random.default_rng(1)
    image, flow = random_case(rng, (2, 3, 5, 7), (2, 4, 6, 2), units)  # other output size
    assert_matches_grid_sample(image, flow, units, mode, padding_mode, align_corners, 1e-12)


@pytest.mark.parametrize("units", UNITS)
def test_2d_float32_matches_grid_sample(units):
    rng = np.random.default_rng(2)
    image, flow = random_case(rng, (1, 2, 6, 5), (1, 7, 4, 2), units, np.float32)
    assert_matches_grid_sample(image, flow, units, "bilinear", "border", False, 1e-5)


def test_3d_matches_grid_sample_for_every_option():
    rng = np.random.default_rng(3)
    for units in UNITS:
        image, flow = random_case(rng, (2, 2, 3, 4, 5), (2, 4, 2, 3, 3), units)
        for mode, padding_mode, align_corners in itertools.product(MODES, PADDING_MODES,
                                                                   (False, True)):
            assert_matches_grid_sample(image, flow, units, mode, padding_mode, align_corners,
                                       1e-12)


def test_flow_of_zero_reads_the_input_pixel_for_pixel():
    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 2, 4, 5))
    out = warp_displacement(image, np.zeros((1, 4, 5, 2)), padding_mode="border")
    np.testing.assert_allclose(out, image, rtol=0, atol=1e-14)
    volume = rng.standard_normal((1, 1, 3, 4, 2))
    out = warp_displacement(volume, np.zeros((1, 3, 4, 2, 3)))
    np.testing.assert_allclose(out, volume, rtol=0, atol=1e-14)


def test_nan_flow_reads_as_a_nan_grid_value():
    image = np.arange(20.0).reshape(1, 1, 4, 5)
    flow = np.zeros((1, 4, 5, 2))
    flow[0, 1, 2] = np.nan, 0.0
    grid = identity_plus(flow, image.shape, "pixels", False)
    out = warp_displacement(image, flow, padding_mode="border")
    np.testing.assert_array_equal(out, warpkit.grid_sample(image, grid, "bilinear", "border"))
    assert np.isfinite(out).all()


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("dims", (2, 3))
def test_gradients_match_central_differences(dims):
    rng = np.random.default_rng(5)
    if dims == 2:
        image, flow = random_case(rng, (1, 2, 5, 6), (1, 4, 5, 2), "pixels")
    else:
        image, flow = random_case(rng, (1, 2, 3, 4, 5), (1, 2, 3, 4, 3), "pixels")
    weights = rng.standard_normal((1, 2) + flow.shape[1:-1])

    def loss(image, flow):
        return anp.sum(weights * warp_displacement(image, flow, padding_mode="border"))

    check_grads(loss, modes=["rev"], order=1)(image, flow)


def test_input_gradient_is_the_adjoint():
    rng = np.random.default_rng(6)
    for input_shape, flow_shape in (((2, 3, 5, 4), (2, 6, 3, 2)),
                                    ((1, 2, 3, 4, 5), (1, 4, 3, 2, 3))):
        image, flow = random_case(rng, input_shape, flow_shape, "pixels")
        y = rng.standard_normal(input_shape[:2] + flow_shape[1:-1])
        forward = warp_displacement(image, flow, padding_mode="border")
        grad_input, _ = warp_displacement_vjp(image, flow, y, padding_mode="border")
        lhs, rhs = np.sum(forward * y), np.sum(image * grad_input)
        assert abs(lhs - rhs) <= 1e-12 * np.sum(np.abs(forward * y))


def test_autograd_gives_the_vjp_and_wrt_selects():
    rng = np.random.default_rng(7)
    for input_shape, flow_shape in (((1, 2, 5, 4), (1, 3, 6, 2)),
                                    ((1, 1, 3, 4, 4), (1, 2, 3, 3, 3))):
        image, flow = random_case(rng, input_shape, flow_shape, "pixels")
        weights = rng.standard_normal(input_shape[:2] + flow_shape[1:-1])

        def loss(image, flow):
            return anp.sum(weights * warp_displacement(image, flow, padding_mode="border"))

        grad_image, grad_flow = autograd.grad(loss, argnum=(0, 1))(image, flow)
        want_image, want_flow = warp_displacement_vjp(image, flow, weights,
                                                      padding_mode="border")
        np.testing.assert_array_equal(grad_image, want_image)
        np.testing.assert_array_equal(grad_flow, want_flow)
        only_flow = warp_displacement_vjp(image, flow, weights, padding_mode="border",
                                          wrt=("flow",))
        assert only_flow[0] is None
        np.testing.assert_array_equal(only_flow[1], want_flow)
        np.testing.assert_array_equal(autograd.grad(loss, argnum=1)(image, flow), want_flow)


def test_gradients_are_bit_identical_for_any_thread_count(monkeypatch):
    monkeypatch.setattr(threads, "SERIAL_WORK_LIMIT", 1)  # threads even for small calls
    rng = np.random.default_rng(8)
    for input_shape, flow_shape in (((1, 2, 9, 8), (1, 7, 9, 2)),
                                    ((1, 2, 4, 5, 4), (1, 3, 4, 5, 3))):
        image, flow = random_case(rng, input_shape, flow_shape, "pixels")
        grad_output = rng.standard_normal(input_shape[:2] + flow_shape[1:-1])
        results = []
        try:
            for count in (1, numba.config.NUMBA_NUM_THREADS, 1):
                numba.set_num_threads(count)
                results.append(warp_displacement_vjp(image, flow, grad_output,
                                                     padding_mode="border"))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        for grads in results[1:]:
            for got, want in zip(grads, results[0]):
                np.testing.assert_array_equal(got, want)


# -------------------------------------------------------------------- errors


def test_bad_arguments_are_clear_errors():
    image, flow = np.zeros((2, 1, 4, 4)), np.zeros((2, 3, 3, 2))
    with pytest.raises(ValueError, match="flow must have shape .N, H_out, W_out, 2."):
        warp_displacement(image, np.zeros((2, 3, 3, 3, 3)))
    with pytest.raises(ValueError, match="flow must have shape .N, D_out, H_out, W_out, 3."):
        warp_displacement(np.zeros((2, 1, 4, 4, 4)), flow)
    with pytest.raises(ValueError, match="flow must have shape"):
        warp_displacement(image, np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="same batch size"):
        warp_displacement(image, np.zeros((1, 3, 3, 2)))
    with pytest.raises(ValueError, match="units must be one of"):
        warp_displacement(image, flow, units="voxels")
    with pytest.raises(ValueError, match="input must be 4-dimensional"):
        warp_displacement(np.zeros((4, 4)), flow)
    with pytest.raises(TypeError, match="flow must be a float32 or float64 array"):
        warp_displacement(image, flow.astype(np.int32))
    with pytest.raises(TypeError, match="input must be a float32 or float64 array"):
        warp_displacement(image.astype(np.int64), flow)
    with pytest.raises(ValueError, match="wrt must name gradients among 'input', 'flow'"):
        warp_displacement_vjp(image, flow, np.zeros((2, 1, 3, 3)), wrt=("grid",))
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        warp_displacement_vjp(image, flow, np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        compose_displacements(flow, np.zeros((2, 4, 4, 2)))
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        integrate_velocity(flow, steps=-1)
    with pytest.raises(TypeError, match="steps must be a non-negative integer"):
        integrate_velocity(flow, steps=2.5)


# ----------------------------------------------------------------- compose


def smooth_field(shape, amplitude, rng):
    """A smooth random field: a few low-frequency sines per component."""
    dims = shape[-1]
    axes = [np.arange(n, dtype=np.float64) / n for n in shape[1:-1]]
    mesh = np.meshgrid(*axes, indexing="ij")
    field = np.zeros(shape)
    for n in range(shape[0]):
        for c in range(dims):
            phase = rng.uniform(0, 2 * np.pi, dims)
            freq = rng.uniform(0.2, 0.5, dims)  # cycles per field: periods of 2 to 5 fields
            field[n, ..., c] = amplitude * np.prod(
                [np.sin(2 * np.pi * f * m + p) for f, m, p in zip(freq, mesh, phase)], axis=0)
    return field


def coordinate_images(shape):
    """The identity coordinates ``(x, y[, z])`` of every pixel as channels (N, dims, ...)."""
    dims = shape[-1]
    mesh = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape[1:-1]], indexing="ij")
    coords = np.stack(mesh[::-1], axis=0)  # x first
    return np.broadcast_to(coords, (shape[0], dims) + tuple(shape[1:-1])).copy()


@pytest.mark.parametrize("shape", [(2, 12, 11, 2), (1, 9, 10, 11, 3)])
def test_compose_is_warping_twice(shape):
    # On the coordinate images (linear, so bilinear sampling is exact inside)
    # warp(warp(X, b), a) = X + c exactly, for fields that stay inside.
    rng = np.random.default_rng(9)
    dims = shape[-1]
    a, b = smooth_field(shape, 1.0, rng), smooth_field(shape, 1.0, rng)
    c = compose_displacements(a, b)
    X = coordinate_images(shape)
    twice = warp_displacement(warp_displacement(X, b, padding_mode="border"), a,
                              padding_mode="border")
    inner = tuple([slice(None)] + [slice(3, -3)] * dims)
    composed = X + np.moveaxis(c, -1, 1)
    np.testing.assert_allclose(np.moveaxis(twice, 1, -1)[inner], np.moveaxis(composed, 1, -1)[
        inner], rtol=0, atol=1e-12 * np.abs(X).max())
    # and on a smooth image the two warps agree to a small part of the displacement
    image = np.sin(X[:, :1] / 3.0) * np.cos(X[:, -1:] / 4.0)
    warped_twice = warp_displacement(warp_displacement(image, b, padding_mode="border"), a,
                                     padding_mode="border")
    warped_once = warp_displacement(image, c, padding_mode="border")
    moved = np.abs(warped_once - image)[(slice(None),) + inner].max()
    error = np.abs(warped_twice - warped_once)[(slice(None),) + inner].max()
    assert error < 0.1 * moved


def test_compose_with_zero_is_the_identity():
    rng = np.random.default_rng(10)
    for shape in ((2, 5, 6, 2), (1, 3, 4, 5, 3)):
        for units in UNITS:
            a = rng.uniform(-2, 2, shape) * (1.0 if units == "pixels" else 0.3)
            zero = np.zeros(shape)
            np.testing.assert_array_equal(compose_displacements(a, zero, units=units), a)
            np.testing.assert_allclose(compose_displacements(zero, a, units=units), a,
                                       rtol=0, atol=1e-12 * np.abs(a).max())


def test_compose_in_normalized_units_matches_pixels():
    rng = np.random.default_rng(11)
    shape = (1, 6, 8, 2)
    a, b = smooth_field(shape, 1.5, rng), smooth_field(shape, 1.5, rng)
    scale = np.array([2.0 / 8, 2.0 / 6])  # d normalized / d pixel, align_corners=False
    c = compose_displacements(a, b)
    c_normalized = compose_displacements(a * scale, b * scale, units="normalized")
    np.testing.assert_allclose(c_normalized / scale, c, rtol=0, atol=1e-12)


# --------------------------------------------------------------- integrate


@pytest.mark.parametrize("shape", [(1, 10, 12, 2), (1, 6, 7, 8, 3)])
def test_integrate_velocity(shape):
    rng = np.random.default_rng(12)
    zero = np.zeros(shape)
    np.testing.assert_array_equal(integrate_velocity(zero), zero)
    constant = np.full(shape, 0.3)  # a translation: its own exponential
    np.testing.assert_allclose(integrate_velocity(constant), constant, rtol=0, atol=1e-12)
    velocity = smooth_field(shape, 1.5, rng)
    assert integrate_velocity(velocity, steps=0) is velocity
    forward = integrate_velocity(velocity)
    backward = integrate_velocity(-velocity)
    assert np.abs(forward).max() > 0.5  # it moved
    residual = compose_displacements(forward, backward)  # forward after backward: identity
    inner = tuple([slice(None)] + [slice(2, -2)] * shape[-1] + [slice(None)])
    assert np.abs(residual[inner]).max() < 0.05 * np.abs(velocity).max()


def test_integrate_velocity_is_differentiable():
    rng = np.random.default_rng(13)
    velocity = smooth_field((1, 5, 6, 2), 0.8, rng)
    weights = rng.standard_normal(velocity.shape)
    check_grads(lambda v: anp.sum(weights * integrate_velocity(v, steps=2)), modes=["rev"],
                order=1)(velocity)
