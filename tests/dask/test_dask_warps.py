"""warpkit.dask: chunked warps equal the in-memory ones bit for bit; gradients over chunks.

Every chunked result is compared with the in-memory function on the computed
arrays: forward outputs with ``np.array_equal`` (the chunk kernels run the
same arithmetic), gradients to float64 rounding (the partial sums are added in
a different, fixed order).  Chunkings are uneven, smaller than the kernels'
support, and transforms reach outside the input.
"""

import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import warpkit  # noqa: E402
import warpkit.dask as wd  # noqa: E402

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _affine(rng, batch, dims=2, spread=0.3):
    """Random near-identity affine maps (N, dims, dims + 1) that reach a little outside."""
    linear = np.eye(dims) + spread * rng.standard_normal((batch, dims, dims))
    shift = 0.4 * rng.standard_normal((batch, dims, 1))
    return np.concatenate([linear, shift], axis=2)


def _perspective(rng, batch, dims=2):
    hom = np.concatenate([_affine(rng, batch, dims, 0.2),
                          np.zeros((batch, 1, dims + 1))], axis=1)
    hom[:, -1, -1] = 1.0
    hom[:, -1, :-1] = 0.3 * rng.standard_normal((batch, dims))
    return hom


def _chunked(image, chunks):
    return da.from_array(image, chunks=chunks)


def _spatial_chunks(draw_or_rng, shape):
    """Uneven chunks per spatial axis: runs of 1 to 6 pixels."""
    result = []
    for extent in shape:
        sizes, left = [], extent
        while left:
            size = min(left, int(draw_or_rng.integers(1, 7)))
            sizes.append(size)
            left -= size
        result.append(tuple(sizes))
    return tuple(result)


OPTIONS = st.tuples(st.sampled_from(["bilinear", "nearest", "bicubic"]),
                    st.sampled_from(["zeros", "border", "reflection"]), st.booleans(),
                    st.sampled_from([np.float32, np.float64]))


# ------------------------------------------------------------------- forward


@SETTINGS
@given(options=OPTIONS, seed=st.integers(0, 2**16), kind=st.sampled_from(
    ["affine", "perspective"]))
def test_matrix_warps_are_bit_identical(options, seed, kind):
    mode, padding, align, dtype = options
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((2, 2, 11, 14)).astype(dtype)
    params = (_affine if kind == "affine" else _perspective)(rng, 2)
    size = (9, 16)
    chunks = _spatial_chunks(rng, size)
    warp = {"affine": (warpkit.warp_affine, wd.warp_affine),
            "perspective": (warpkit.warp_perspective, wd.warp_perspective)}[kind]
    expected = warp[0](image, params, size, mode=mode, padding_mode=padding,
                       align_corners=align)
    input_chunks = ((1, 1), (2,)) + _spatial_chunks(rng, image.shape[2:])
    lazy = warp[1](_chunked(image, input_chunks), params, size, chunks=chunks, mode=mode,
                   padding_mode=padding, align_corners=align)
    assert lazy.chunks[2:] == chunks
    got = lazy.compute(scheduler="sync")
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


@SETTINGS
@given(options=OPTIONS, seed=st.integers(0, 2**16), shared=st.booleans())
def test_tps_warp_is_bit_identical(options, seed, shared):
    mode, padding, align, dtype = options
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((2, 1, 12, 10)).astype(dtype)
    controls = warpkit.control_point_grid(9)
    if not shared:
        controls = controls[None] + 0.02 * rng.standard_normal((2, 9, 2))
    targets = np.broadcast_to(warpkit.control_point_grid(9), (2, 9, 2)) + \
        0.25 * rng.standard_normal((2, 9, 2))
    expected = warpkit.warp_tps(image, controls, targets, mode=mode, padding_mode=padding,
                                align_corners=align)
    lazy = wd.warp_tps(_chunked(image, ((1, 1), (1,)) + _spatial_chunks(rng, (12, 10))),
                       controls, targets, chunks=_spatial_chunks(rng, (12, 10)), mode=mode,
                       padding_mode=padding, align_corners=align)
    assert np.array_equal(lazy.compute(scheduler="sync"), expected)


@SETTINGS
@given(options=OPTIONS, seed=st.integers(0, 2**16))
def test_grid_sample_is_bit_identical(options, seed):
    mode, padding, align, dtype = options
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((2, 3, 9, 12)).astype(dtype)
    grid = rng.uniform(-1.3, 1.3, (2, 7, 8, 2)).astype(dtype)
    grid[0, 0, 0] = np.nan  # the NaN rule holds over chunks too
    grid[1, 2, 3, 0] = np.inf
    expected = warpkit.grid_sample(image, grid, mode=mode, padding_mode=padding,
                                   align_corners=align)
    grid_chunks = ((2,),) + _spatial_chunks(rng, (7, 8)) + ((2,),)
    lazy = wd.grid_sample(_chunked(image, ((1, 1), (2, 1)) + _spatial_chunks(rng, (9, 12))),
                          _chunked(grid, grid_chunks), mode=mode, padding_mode=padding,
                          align_corners=align)
    assert np.array_equal(lazy.compute(scheduler="sync"), expected)


@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_volume_warps_are_bit_identical(kind, mode, padding_mode, align_corners):
    rng = np.random.default_rng(7)
    volume = rng.standard_normal((1, 2, 7, 8, 9)).astype(np.float32)
    params = (_affine if kind == "affine" else _perspective)(rng, 1, dims=3)
    warp = {"affine": (warpkit.warp_affine, wd.warp_affine),
            "perspective": (warpkit.warp_perspective, wd.warp_perspective)}[kind]
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    expected = warp[0](volume, params, (6, 7, 8), **options)
    lazy = warp[1](_chunked(volume, (1, 1, 3, 5, 4)), params, (6, 7, 8), chunks=(4, 3, 5),
                   **options)
    assert np.array_equal(lazy.compute(scheduler="sync"), expected)


def test_volume_grid_sample_is_bit_identical(mode, padding_mode):
    rng = np.random.default_rng(8)
    volume = rng.standard_normal((1, 1, 6, 7, 5))
    grid = rng.uniform(-1.2, 1.2, (1, 4, 5, 6, 3))
    expected = warpkit.grid_sample(volume, grid, mode=mode, padding_mode=padding_mode)
    lazy = wd.grid_sample(_chunked(volume, (1, 1, 2, 3, 4)), _chunked(grid, (1, 3, 2, 4, 3)),
                          mode=mode, padding_mode=padding_mode)
    assert np.array_equal(lazy.compute(scheduler="sync"), expected)


def test_single_image_in_single_image_out():
    image = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    theta = np.array([[0.8, 0.2, 0.1], [-0.2, 0.8, 0.0]])
    lazy = wd.warp_affine(_chunked(image, 7), theta, chunks=9)
    assert lazy.shape == (20, 30)
    assert np.array_equal(lazy.compute(), warpkit.warp_affine(image[None, None], theta[None])[0, 0])


# ----------------------------------------------------------- what is read


def _dependencies(array, key):
    graph = dict(array.__dask_graph__())
    return {dep for dep in _keys_in(graph[key]) if dep in graph and dep != key}


def _keys_in(task):
    """Every tuple key mentioned in a legacy task (nested lists and tuples)."""
    if isinstance(task, tuple) and task and isinstance(task[0], str):
        yield task
    if isinstance(task, (tuple, list)):
        for item in task:
            yield from _keys_in(item)


def test_chunks_read_only_their_source_box():
    image = da.zeros((1, 1, 64, 64), chunks=16)
    theta = np.array([[[0.25, 0.0, -0.6], [0.0, 0.25, -0.6]]])  # a quarter, near a corner
    lazy = wd.warp_affine(image, theta, chunks=32)
    graph = dict(lazy.__dask_graph__())
    read = set()
    for index in np.ndindex(*lazy.numblocks):
        deps = {key for key in _keys_in(graph[(lazy.name,) + index])
                if key[0] == image.name}
        read |= deps
        assert len(deps) <= 2 * 2  # a 32 x 32 chunk scaled by 1/4 spans at most 2 x 2
    assert read <= {(image.name, 0, 0, i, j) for i in range(2) for j in range(2)}
    assert np.array_equal(lazy.compute(), np.zeros((1, 1, 64, 64)))


def test_output_outside_the_input_reads_nothing():
    image = da.ones((1, 1, 32, 32), chunks=8)
    theta = np.array([[[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]]])  # reads beyond the right edge
    lazy = wd.warp_affine(image, theta, chunks=8)
    graph = dict(lazy.__dask_graph__())
    for index in np.ndindex(*lazy.numblocks):
        assert not [k for k in _keys_in(graph[(lazy.name,) + index]) if k[0] == image.name]
    assert not lazy.compute().any()
    border = wd.warp_affine(image, theta, chunks=8, padding_mode="border")
    assert np.array_equal(border.compute(), np.ones((1, 1, 32, 32)))


def test_graph_pickles_small_without_closures():
    image = da.random.random((1, 1, 256, 256), chunks=64)
    theta = np.array([[[0.9, 0.1, 0.0], [-0.1, 0.9, 0.0]]])
    lazy = wd.warp_affine(image, theta)
    layer = dict(lazy.__dask_graph__().layers[lazy.name])
    payload = pickle.dumps(layer)  # plain pickle: no lambdas, no closures
    assert len(payload) < 40 * len(layer) * 100  # small arrays only, a few KB a task
    assert not any(isinstance(value, np.ndarray) and value.nbytes > 1000
                   for task in layer.values() for value in _leaves(task))


def _leaves(task):
    if isinstance(task, (tuple, list)):
        for item in task:
            yield from _leaves(item)
    else:
        yield task


# --------------------------------------------------------------- bad input


def test_non_finite_parameters_fail_before_any_compute():
    image = da.ones((1, 1, 8, 8), chunks=4)
    for bad in (np.nan, np.inf):
        theta = np.array([[[1.0, 0.0, bad], [0.0, 1.0, 0.0]]])
        with pytest.raises(ValueError, match="theta must be finite"):
            wd.warp_affine(image, theta)
        with pytest.raises(ValueError, match="homography must be finite"):
            wd.warp_perspective(image, np.array([[[1.0, 0, 0], [0, 1, 0], [0, bad, 1]]]))
    with pytest.raises(ValueError, match="target_points must be finite"):
        wd.warp_tps(image, warpkit.control_point_grid(4),
                    np.full((1, 4, 2), np.nan))


@pytest.mark.parametrize("call, match", [
    (lambda: wd.warp_affine(da.ones((1, 1, 8, 8)), np.eye(3)[None]), "theta must have shape"),
    (lambda: wd.warp_affine(da.ones((8,)), np.eye(2, 3)[None]), "input must have shape"),
    (lambda: wd.warp_affine(da.ones((1, 1, 8, 8), dtype=int), np.eye(2, 3)[None]),
     "input must be a float32 or float64"),
    (lambda: wd.warp_affine(da.ones((1, 1, 8, 8)), np.eye(2, 3)[None], mode="linear"),
     "mode"),
    (lambda: wd.warp_affine(da.ones((1, 1, 8, 8)), np.eye(2, 3)[None], chunks=(1, 2, 3)),
     "chunks must"),
    (lambda: wd.warp_affine(da.ones((2, 1, 8, 8)), np.eye(2, 3)[None]), "batch size"),
    (lambda: wd.warp_affine_vjp(da.ones((1, 1, 8, 8)), np.eye(2, 3)[None],
                                da.ones((1, 1, 4, 8))), "grad_output must have"),
    (lambda: wd.grid_sample(da.ones((1, 1, 8, 8)), da.ones((2, 3, 3, 2))), "batch size"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------- gradients


def _close(got, expected, scale=1e-12):
    """Equal to float64 rounding, relative to the magnitude compared."""
    tolerance = scale * max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)


@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_matrix_gradients_match_in_memory(kind, mode, padding_mode):
    align_corners = mode != "nearest"  # both conventions over the modes, fewer compiles
    rng = np.random.default_rng(3)
    image = rng.standard_normal((2, 2, 13, 11))
    params = (_affine if kind == "affine" else _perspective)(rng, 2)
    grad_output = rng.standard_normal((2, 2, 10, 12))
    name = "theta" if kind == "affine" else "homography"
    memory = getattr(warpkit, f"warp_{kind}_vjp")
    chunked = getattr(wd, f"warp_{kind}_vjp")
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    expected = memory(image, params, grad_output, (10, 12), **options)
    lazy = chunked(_chunked(image, (1, 1, 4, 5)), params,
                   _chunked(grad_output, (2, 2, 3, 5)), (10, 12), **options)
    got = dask.compute(*lazy, scheduler="sync")
    assert got[0].shape == image.shape and got[1].shape == params.shape
    _close(got[0], expected[0])
    _close(got[1], expected[1])
    only_params = chunked(_chunked(image, 6), params, grad_output, (10, 12), **options,
                          wrt=(name,))
    assert only_params[0] is None
    _close(only_params[1].compute(), expected[1])


def test_gradients_are_identical_from_run_to_run_and_scheduler_to_scheduler():
    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 1, 40, 40)).astype(np.float32)
    theta = _affine(rng, 1)
    grad_output = rng.standard_normal((1, 1, 40, 40)).astype(np.float32)
    lazy = wd.warp_affine_vjp(_chunked(image, 7), theta, _chunked(grad_output, 9))
    runs = [dask.compute(*lazy, scheduler=s) for s in ("threads", "sync", "threads")]
    for run in runs[1:]:
        assert np.array_equal(run[0], runs[0][0])
        assert np.array_equal(run[1], runs[0][1])
    expected = warpkit.warp_affine_vjp(image, theta, grad_output)
    _close(runs[0][1], expected[1], 1e-10)  # the float32 kernel's coordinate gradients
    _close(runs[0][0], expected[0], 1e-5)  # float32 input gradient, other summation order


def test_tps_gradients_match_in_memory():
    rng = np.random.default_rng(5)
    image = rng.standard_normal((2, 1, 12, 14))
    controls = warpkit.control_point_grid(9)
    targets = controls[None] + 0.1 * rng.standard_normal((2, 9, 2))
    grad_output = rng.standard_normal((2, 1, 12, 14))
    expected = warpkit.warp_tps_vjp(image, controls, targets, grad_output,
                                    padding_mode="border")
    got = dask.compute(*wd.warp_tps_vjp(_chunked(image, (1, 1, 5, 4)), controls, targets,
                                        _chunked(grad_output, (1, 1, 4, 6)),
                                        padding_mode="border"))
    for a, b in zip(got, expected):
        _close(a, b, 1e-10)


def test_grid_sample_gradients_match_in_memory(mode, padding_mode):
    rng = np.random.default_rng(6)
    image = rng.standard_normal((1, 2, 9, 10))
    grid = rng.uniform(-1.1, 1.1, (1, 6, 7, 2))
    grad_output = rng.standard_normal((1, 2, 6, 7))
    expected = warpkit.grid_sample_vjp(image, grid, grad_output, mode=mode,
                                       padding_mode=padding_mode)
    got = dask.compute(*wd.grid_sample_vjp(_chunked(image, (1, 1, 4, 3)),
                                           _chunked(grid, (1, 2, 3, 2)), grad_output,
                                           mode=mode, padding_mode=padding_mode))
    _close(got[0], expected[0])
    _close(got[1], expected[1])


def test_input_gradient_is_the_adjoint_of_the_chunked_warp():
    """<warp(x), y> = <x, warp^T(y)> with both sides computed over chunks."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 1, 30, 30))
    y = rng.standard_normal((1, 1, 24, 26))
    theta = _affine(rng, 1)
    forward = wd.warp_affine(_chunked(x, 8), theta, (24, 26), chunks=7).compute()
    adjoint = wd.warp_affine_vjp(_chunked(x, 8), theta, _chunked(y, 7), (24, 26),
                                 wrt=("input",))[0].compute()
    lhs, rhs = np.sum(forward * y), np.sum(x * adjoint)
    assert abs(lhs - rhs) <= 1e-12 * (np.abs(forward * y).sum() + 1.0)
