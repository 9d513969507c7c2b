"""grid_sample and grid_sample_vjp against the slow reference, and their invariants."""

import threading

import autograd
import autograd.numpy as anp
import numba
import numpy as np
import pytest
from autograd.test_util import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import warpkit
from reference import reference_grid_sample
from warpkit._config import SERIAL_WORK_LIMIT
from warpkit._validate import MODES, PADDING_MODES

#: The modes with a grid gradient (nearest is piecewise constant).
SMOOTH_MODES = tuple(m for m in MODES if m != "nearest")


def random_case(rng, shape=(2, 3, 5, 7), out=(4, 6), spread=1.4, dtype=np.float64):
    image = rng.standard_normal(shape).astype(dtype)
    grid = rng.uniform(-spread, spread, (shape[0],) + out + (2,)).astype(dtype)
    return image, grid


def identity_theta(batch, dtype=np.float64):
    return np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]], dtype=dtype), (batch, 1, 1))


def test_forward_matches_every_pixel_reference(mode, padding_mode, align_corners):
    rng = np.random.default_rng(1)
    image, grid = random_case(rng)
    expected = reference_grid_sample(image, grid, mode, padding_mode, align_corners)
    actual = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_input_gradient_is_adjoint_of_reference(mode, padding_mode, align_corners):
    # The reference is linear in the image: its transpose applied to g, column by column.
    rng = np.random.default_rng(2)
    image, grid = random_case(rng, shape=(1, 2, 4, 5), out=(3, 4))
    grad_output = rng.standard_normal((1, 2, 3, 4))
    grad_input, _ = warpkit.grid_sample_vjp(image, grid, grad_output, mode, padding_mode,
                                            align_corners)
    expected = np.zeros_like(image)
    for index in np.ndindex(image.shape):
        basis = np.zeros_like(image)
        basis[index] = 1.0
        response = reference_grid_sample(basis, grid, mode, padding_mode, align_corners)
        expected[index] = np.sum(response * grad_output)
    np.testing.assert_allclose(grad_input, expected, rtol=1e-12, atol=1e-12)


def knot_free_grid(rng, batch, out, size, padding_mode, align_corners):
    """Grid whose pixel coordinates have fractional parts in [0.2, 0.8].

    With border/reflection the points stay strictly inside the image, away from
    the kinks of clamping and mirroring.
    """
    height, width = size
    coords = []
    for extent in (width, height):
        low = -1.0 if padding_mode == "zeros" else 0.0
        high = extent if padding_mode == "zeros" else extent - 1.0
        base = rng.integers(int(np.floor(low)), int(np.ceil(high)) - 1 + 1, (batch,) + out)
        base = np.clip(base, low, high - 1)
        pixel = base + rng.uniform(0.2, 0.8, base.shape)
        coords.append(warpkit.coords.normalize(pixel, extent, align_corners))
    return np.stack(coords, axis=-1)


@pytest.mark.parametrize("mode", SMOOTH_MODES)
def test_autograd_check_grads(mode, padding_mode, align_corners):
    rng = np.random.default_rng(3)
    image = rng.standard_normal((2, 2, 5, 6))
    grid = knot_free_grid(rng, 2, (3, 4), (5, 6), padding_mode, align_corners)

    def f(image, grid):
        return warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)

    check_grads(f, modes=["rev"], order=1)(image, grid)


@pytest.mark.parametrize("mode", SMOOTH_MODES)
def test_grid_gradient_matches_finite_differences_of_reference(mode, padding_mode,
                                                               align_corners):
    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 2, 5, 6))
    grid = knot_free_grid(rng, 1, (2, 3), (5, 6), padding_mode, align_corners)
    grad_output = rng.standard_normal((1, 2, 2, 3))
    _, grad_grid = warpkit.grid_sample_vjp(image, grid, grad_output, mode, padding_mode,
                                           align_corners)
    step = 1e-6
    expected = np.zeros_like(grid)
    for index in np.ndindex(grid.shape):
        plus, minus = grid.copy(), grid.copy()
        plus[index] += step
        minus[index] -= step
        diff = (reference_grid_sample(image, plus, mode, padding_mode, align_corners)
                - reference_grid_sample(image, minus, mode, padding_mode, align_corners))
        expected[index] = np.sum(diff * grad_output) / (2 * step)
    # central differences: truncation and cancellation error, scaled to the gradient
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(grad_grid, expected, rtol=0, atol=1e-6 * scale)


def test_nearest_has_zero_grid_gradient():
    rng = np.random.default_rng(5)
    image, grid = random_case(rng)
    _, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones((2, 3, 4, 6)), "nearest")
    assert not np.any(grad_grid)


def test_autograd_runs_one_backward_per_call(monkeypatch):
    rng = np.random.default_rng(6)
    image, grid = random_case(rng)
    calls = []
    from warpkit.backends import cpu

    original = cpu.grid_sample_vjp

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(cpu, "grid_sample_vjp", counting)
    grad_image, grad_grid = autograd.grad(
        lambda i, g: anp.sum(warpkit.grid_sample(i, g) ** 2), argnum=(0, 1))(image, grid)
    assert len(calls) == 1
    out = warpkit.grid_sample(image, grid)
    expected = warpkit.grid_sample_vjp(image, grid, 2 * out)
    assert len(calls) == 2
    np.testing.assert_array_equal(grad_image, expected[0])
    np.testing.assert_array_equal(grad_grid, expected[1])


def test_second_order_derivative_fails_clearly():
    rng = np.random.default_rng(7)
    image, grid = random_case(rng)

    def loss(grid):
        return anp.sum(warpkit.grid_sample(image, grid) ** 2)

    with pytest.raises(NotImplementedError, match="second-order"):
        autograd.grad(lambda g: anp.sum(autograd.grad(loss)(g)))(grid)


def test_options_pass_through_autograd():
    rng = np.random.default_rng(8)
    image, grid = random_case(rng)
    g_kw = autograd.grad(lambda g: anp.sum(warpkit.grid_sample(
        image, g, mode="bicubic", padding_mode="reflection", align_corners=True)))(grid)
    g_pos = autograd.grad(lambda g: anp.sum(warpkit.grid_sample(
        image, g, "bicubic", "reflection", True)))(grid)
    _, expected = warpkit.grid_sample_vjp(image, grid, np.ones((2, 3, 4, 6)), "bicubic",
                                          "reflection", True)
    np.testing.assert_array_equal(g_kw, expected)
    np.testing.assert_array_equal(g_pos, expected)


# ---------------------------------------------------------------- properties

shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))
modes = st.sampled_from(tuple(MODES))
paddings = st.sampled_from(tuple(PADDING_MODES))


@settings(deadline=None, max_examples=40)
@given(shape=shapes, mode=modes, padding_mode=paddings,
       align_corners=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_identity_grid_reproduces_input(shape, mode, padding_mode, align_corners, seed):
    image = np.random.default_rng(seed).standard_normal(shape)
    grid = warpkit.affine_grid(identity_theta(shape[0]), shape, align_corners)
    out = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    np.testing.assert_allclose(out, image, rtol=1e-10, atol=1e-10)


@settings(deadline=None, max_examples=40)
@given(shape=shapes, dx=st.integers(-4, 4), dy=st.integers(-4, 4),
       mode=modes, seed=st.integers(0, 2**32 - 1))
def test_integer_translation_is_an_array_shift(shape, dx, dy, mode, seed):
    n, c, h, w = shape
    image = np.random.default_rng(seed).standard_normal(shape)
    theta = identity_theta(n)
    theta[:, 0, 2] = 2.0 * dx / w  # align_corners=False: one pixel is 2 / size
    theta[:, 1, 2] = 2.0 * dy / h
    out = warpkit.grid_sample(image, warpkit.affine_grid(theta, shape), mode)
    expected = np.zeros_like(image)
    ys = np.arange(h)
    xs = np.arange(w)
    src_y, src_x = ys + dy, xs + dx
    valid_y = (src_y >= 0) & (src_y < h)
    valid_x = (src_x >= 0) & (src_x < w)
    expected[:, :, ys[valid_y][:, None], xs[valid_x][None, :]] = \
        image[:, :, src_y[valid_y][:, None], src_x[valid_x][None, :]]
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@settings(deadline=None, max_examples=50)
@given(shape=shapes, out=st.tuples(st.integers(1, 7), st.integers(1, 7)),
       mode=modes, padding_mode=paddings,
       align_corners=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_input_gradient_is_the_exact_adjoint(shape, out, mode, padding_mode, align_corners, seed):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal(shape)
    grid = rng.uniform(-1.5, 1.5, (shape[0],) + out + (2,))
    probe = rng.standard_normal(shape[:2] + out)
    forward = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    adjoint, _ = warpkit.grid_sample_vjp(image, grid, probe, mode, padding_mode, align_corners)
    lhs = np.sum(forward * probe)
    rhs = np.sum(image * adjoint)
    # rounding in sums of products: scaled by the sums of their magnitudes
    magnitude = np.sum(np.abs(forward * probe)) + np.sum(np.abs(image * adjoint))
    assert abs(lhs - rhs) <= 1e-12 * magnitude


@settings(deadline=None, max_examples=30)
@given(shape=shapes, mode=modes, padding_mode=paddings,
       align_corners=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_float32_agrees_with_float64(shape, mode, padding_mode, align_corners, seed):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal(shape)
    grid = rng.uniform(-1.2, 1.2, (shape[0], 5, 4, 2))
    probe = rng.standard_normal(shape[:2] + (5, 4))
    out64 = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    out32 = warpkit.grid_sample(image.astype(np.float32), grid.astype(np.float32), mode,
                                padding_mode, align_corners)
    assert out32.dtype == np.float32
    if mode == "nearest":
        # a float32 coordinate can round to the other neighbour at a half-way point
        close = np.isclose(out32, out64, rtol=1e-5, atol=1e-5)
        assert close.mean() > 0.9
        return
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4)
    gi64, gg64 = warpkit.grid_sample_vjp(image, grid, probe, mode, padding_mode, align_corners)
    gi32, gg32 = warpkit.grid_sample_vjp(image.astype(np.float32), grid.astype(np.float32),
                                         probe.astype(np.float32), mode, padding_mode,
                                         align_corners)
    assert gi32.dtype == gg32.dtype == np.float32
    np.testing.assert_allclose(gi32, gi64, rtol=1e-4, atol=1e-4)
    # the grid gradient jumps at integer knots; compare away from them
    pixel = np.stack([warpkit.coords.unnormalize(grid[..., 0], shape[3], align_corners),
                      warpkit.coords.unnormalize(grid[..., 1], shape[2], align_corners)], -1)
    frac = pixel - np.floor(pixel)
    smooth = np.all((frac > 1e-3) & (frac < 1 - 1e-3), axis=-1, keepdims=True)
    scale = 1 + np.abs(gg64).max()
    np.testing.assert_allclose(np.where(smooth, gg32, 0), np.where(smooth, gg64, 0),
                               rtol=1e-3, atol=1e-3 * scale)


# ------------------------------------------------------- layouts and threads

def reversed_view(value, axes):
    """``value`` with negative strides along ``axes``: a reversed copy, viewed reversed."""
    flip = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(value.ndim))
    return value[flip].copy()[flip]


def layouts(value):
    """The same values as ``value`` in other memory layouts, each with a check of its layout."""
    readonly = value.copy()
    readonly.flags.writeable = False
    itemsize = value.itemsize
    return {
        "fortran": (np.asfortranarray(value),
                    lambda v: v.flags.f_contiguous and not v.flags.c_contiguous),
        "negative_strides": (reversed_view(value, (1, 2)),
                             lambda v: v.strides[1] < 0 and v.strides[2] < 0),
        "strided": (np.repeat(value, 2, axis=-1)[..., ::2],
                    lambda v: v.strides[-1] == 2 * itemsize and not v.flags.c_contiguous),
        "readonly": (readonly, lambda v: not v.flags.writeable),
    }


@pytest.mark.parametrize("argument", ["input", "grid"])
@pytest.mark.parametrize("layout", ["fortran", "negative_strides", "strided", "readonly"])
def test_layouts_give_the_same_answer(argument, layout):
    rng = np.random.default_rng(9)
    image, grid = random_case(rng, shape=(2, 3, 6, 8), out=(5, 4))
    probe = rng.standard_normal((2, 3, 5, 4))
    arrays = {"input": image, "grid": grid}
    variant, is_layout = layouts(arrays[argument])[layout]
    assert is_layout(variant), f"{layout} is not the layout it names"
    np.testing.assert_array_equal(variant, arrays[argument])
    before = variant.copy()
    options = ("bicubic", "reflection")
    expected = (warpkit.grid_sample(image, grid, *options),
                warpkit.grid_sample_vjp(image, grid, probe, *options))
    arrays[argument] = variant
    got = (warpkit.grid_sample(arrays["input"], arrays["grid"], *options),
           warpkit.grid_sample_vjp(arrays["input"], arrays["grid"], probe, *options))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1][0], expected[1][0])
    np.testing.assert_array_equal(got[1][1], expected[1][1])
    np.testing.assert_array_equal(variant, before)  # the argument is never written to


def require_threads(output_shape):
    """Skip on one thread; check that an output of this shape is split over threads."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("a single thread: no split to test")
    assert np.prod(output_shape) >= SERIAL_WORK_LIMIT, "small outputs run on one thread"


def test_backward_is_bit_identical_across_runs():
    # N=1 with a large output uses several threads and private buffers.
    rng = np.random.default_rng(10)
    image, grid = random_case(rng, shape=(1, 3, 64, 64), out=(216, 216), spread=1.1,
                              dtype=np.float32)
    probe = rng.standard_normal((1, 3, 216, 216)).astype(np.float32)
    require_threads(probe.shape)
    first = warpkit.grid_sample_vjp(image, grid, probe, "bicubic", "border")
    for _ in range(3):
        again = warpkit.grid_sample_vjp(image, grid, probe, "bicubic", "border")
        np.testing.assert_array_equal(again[0], first[0])
        np.testing.assert_array_equal(again[1], first[1])


def test_thread_count_does_not_change_forward_and_batch_split_backward():
    rng = np.random.default_rng(11)
    image, grid = random_case(rng, shape=(4, 2, 40, 40), out=(128, 128))
    probe = rng.standard_normal((4, 2, 128, 128))
    require_threads(probe.shape)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            results.append((warpkit.grid_sample(image, grid),
                            warpkit.grid_sample_vjp(image, grid, probe)))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    # N >= threads: each sample's rows run in order on one thread, whatever the count
    np.testing.assert_array_equal(results[0][1][0], results[1][1][0])
    np.testing.assert_array_equal(results[0][1][1], results[1][1][1])


def test_calls_from_several_python_threads():
    rng = np.random.default_rng(12)
    cases = [random_case(rng, shape=(1, 2, 50, 50), out=(60, 60)) for _ in range(6)]
    probes = [rng.standard_normal((1, 2, 60, 60)) for _ in cases]
    serial = [(warpkit.grid_sample(i, g, "bicubic"), warpkit.grid_sample_vjp(i, g, p, "bicubic"))
              for (i, g), p in zip(cases, probes)]
    results = [None] * len(cases)

    def work(k):
        image, grid = cases[k]
        for _ in range(3):
            results[k] = (warpkit.grid_sample(image, grid, "bicubic"),
                          warpkit.grid_sample_vjp(image, grid, probes[k], "bicubic"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (out, (gi, gg)), (s_out, (s_gi, s_gg)) in zip(results, serial):
        np.testing.assert_array_equal(out, s_out)
        np.testing.assert_array_equal(gi, s_gi)
        np.testing.assert_array_equal(gg, s_gg)


def test_autograd_asks_only_for_the_gradients_it_needs(monkeypatch):
    rng = np.random.default_rng(7)
    image, grid = random_case(rng)
    asked = []
    from warpkit.backends import cpu

    original = cpu.grid_sample_vjp

    def recording(args, input, grid, grad_output, need_input, need_grid):
        asked.append((need_input, need_grid))
        return original(args, input, grid, grad_output, need_input, need_grid)

    monkeypatch.setattr(cpu, "grid_sample_vjp", recording)
    grad_grid = autograd.grad(lambda g: anp.sum(warpkit.grid_sample(image, g) ** 2))(grid)
    grad_image = autograd.grad(lambda i: anp.sum(warpkit.grid_sample(i, grid) ** 2))(image)
    assert asked == [(False, True), (True, False)]
    out = warpkit.grid_sample(image, grid)
    both = warpkit.grid_sample_vjp(image, grid, 2 * out)
    np.testing.assert_array_equal(grad_grid, both[1])
    np.testing.assert_array_equal(grad_image, both[0])


def test_vjp_wrt_returns_none_for_gradients_not_asked_for():
    rng = np.random.default_rng(8)
    image, grid = random_case(rng)
    grad_output = np.ones_like(warpkit.grid_sample(image, grid))
    both = warpkit.grid_sample_vjp(image, grid, grad_output)
    grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, grad_output, wrt=("grid",))
    assert grad_input is None
    np.testing.assert_array_equal(grad_grid, both[1])
    grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, grad_output, wrt="input")
    assert grad_grid is None
    np.testing.assert_array_equal(grad_input, both[0])
    with pytest.raises(ValueError, match="wrt must name gradients among 'input', 'grid'"):
        warpkit.grid_sample_vjp(image, grid, grad_output, wrt=("theta",))
