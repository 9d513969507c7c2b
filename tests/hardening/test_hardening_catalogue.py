"""A catalogue of bad and extreme input for every public array function.

Each case either works and the test checks the value (against the
C-contiguous float64 call, or a second way to compute the same thing), or
raises ``ValueError``/``TypeError`` whose message names the argument.
The sampler's own cases are in ``tests/test_sampling_input.py``; here the
same table is applied to the grid generators, the fused warps, their VJPs
and the transform objects.
"""

import warnings

import numpy as np
import pytest

import warpkit
from warpkit import AffineTransform, PerspectiveTransform, TpsTransform
from warpkit.tps import TpsConditionWarning
from warpkit.fused import warp_affine_vjp, warp_perspective_vjp

RNG = np.random.default_rng(8)
IMAGE = RNG.random((2, 3, 5, 6))
THETA = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]], [[1.0, 0.0, -0.2], [0.3, 0.8, 0.0]]])
HOMOGRAPHY = np.concatenate(
    [THETA, np.array([[[0.1, -0.05, 1.0]], [[0.0, 0.2, 1.0]]])], axis=1)
CONTROLS = warpkit.control_point_grid(9)
TARGETS = CONTROLS[None] + RNG.uniform(-0.1, 0.1, (2, 9, 2))
GRAD = RNG.random((2, 3, 5, 6))

# Every public array function, as (name, call taking keyword arrays, default arrays).
FUNCTIONS = {
    "affine_grid": (lambda theta: warpkit.affine_grid(theta, (2, 3, 4, 5)),
                    {"theta": THETA}),
    "perspective_grid": (lambda homography: warpkit.perspective_grid(homography, (2, 3, 4, 5)),
                         {"homography": HOMOGRAPHY}),
    "tps_grid": (lambda control_points, target_points: warpkit.tps_grid(
        control_points, target_points, (2, 3, 4, 5)),
        {"control_points": CONTROLS, "target_points": TARGETS}),
    "warp_affine": (warpkit.warp_affine, {"input": IMAGE, "theta": THETA}),
    "warp_perspective": (warpkit.warp_perspective, {"input": IMAGE, "homography": HOMOGRAPHY}),
    "warp_tps": (warpkit.warp_tps,
                 {"input": IMAGE, "control_points": CONTROLS, "target_points": TARGETS}),
    "warp_affine_vjp": (warp_affine_vjp, {"input": IMAGE, "theta": THETA, "grad_output": GRAD}),
    "warp_perspective_vjp": (warp_perspective_vjp,
                             {"input": IMAGE, "homography": HOMOGRAPHY, "grad_output": GRAD}),
}
SLOTS = [(function, slot) for function, (_, arrays) in FUNCTIONS.items() for slot in arrays]


def call(function, **replace):
    fn, arrays = FUNCTIONS[function]
    return fn(**dict(arrays, **replace))


def first(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("function,slot", SLOTS)
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_, np.float16, np.complex128,
                                   object, str])
def test_wrong_dtypes_are_type_errors_naming_the_argument(function, slot, dtype):
    value = FUNCTIONS[function][1][slot]
    with pytest.raises(TypeError, match=rf"{slot} must be a float32 or float64 array"):
        call(function, **{slot: value.astype(dtype)})


@pytest.mark.parametrize("function,slot", SLOTS)
@pytest.mark.parametrize("how", ["drop_axis", "add_axis", "scalar", "last_axis"])
def test_wrong_ranks_and_shapes_name_the_argument(function, slot, how):
    value = FUNCTIONS[function][1][slot]
    bad = {"drop_axis": value[..., 0], "add_axis": value[None], "scalar": np.float64(1.0),
           "last_axis": np.concatenate([value, value[..., :1]], axis=-1)}[how]
    if function == "tps_grid" and slot == "control_points" and how == "add_axis":
        bad = value[None, None]
    if slot == "input" and how == "last_axis":
        bad = value[..., 0, :]  # (N, C, W): one axis short
    with pytest.raises(ValueError, match=slot):
        call(function, **{slot: bad})


@pytest.mark.parametrize("function,slot", [
    s for s in SLOTS if s[1] != "control_points" and not s[0].endswith("_grid")])
def test_mismatched_batches_name_the_argument(function, slot):
    value = FUNCTIONS[function][1][slot]
    bad = np.concatenate([value, value[:1]])
    # whichever array disagrees with input's batch is named; for input, the other one is
    with pytest.raises(ValueError, match=r"batch size|output's shape|same number"):
        call(function, **{slot: bad})


@pytest.mark.parametrize("function", ["affine_grid", "perspective_grid", "tps_grid"])
def test_grid_batch_must_match_size(function):
    with pytest.raises(ValueError, match=r"size\[0\] must equal the batch size"):
        call(function, **{name: value[:1] for name, value in FUNCTIONS[function][1].items()
                          if name != "control_points"})


def _layouts(value):
    """The values of ``value`` in other memory layouts (and as a list)."""
    readonly = value.copy()
    readonly.flags.writeable = False
    return {
        "fortran": np.asfortranarray(value),
        "negative_stride": value[::-1].copy()[::-1],
        "strided_view": np.repeat(value, 2, axis=-1)[..., ::2],
        "readonly": readonly,
        "list": value.tolist(),
        "broadcast_zero_stride": np.broadcast_to(value[:1], value.shape),
    }


#: What makes each layout of :func:`_layouts` the layout it is named after.
_IS_LAYOUT = {
    "fortran": lambda v: v.ndim < 2 or (v.flags.f_contiguous and not v.flags.c_contiguous),
    "negative_stride": lambda v: v.shape[0] < 2 or v.strides[0] < 0,
    "strided_view": lambda v: v.strides[-1] == 2 * v.itemsize,
    "readonly": lambda v: not v.flags.writeable,
    "list": lambda v: isinstance(v, list),
    "broadcast_zero_stride": lambda v: v.shape[0] < 2 or v.strides[0] == 0,
}


@pytest.mark.parametrize("function,slot", SLOTS)
@pytest.mark.parametrize("layout", ["fortran", "negative_stride", "strided_view", "readonly",
                                    "list", "broadcast_zero_stride"])
def test_every_memory_layout_gives_the_contiguous_result(function, slot, layout):
    value = FUNCTIONS[function][1][slot]
    if layout == "broadcast_zero_stride" and slot == "control_points":
        pytest.skip("repeating one control point is a degenerate spline (tested below)")
    bad = _layouts(value)[layout]
    assert _IS_LAYOUT[layout](bad), f"{layout} is not the layout it names"
    before = np.array(bad)
    expected = call(function, **{slot: np.ascontiguousarray(bad)})
    got = call(function, **{slot: bad})
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(np.array(bad), before)  # never written to


@pytest.mark.parametrize("function,slot", SLOTS)
def test_float32_arguments_follow_the_documented_dtype(function, slot):
    value = FUNCTIONS[function][1][slot]
    got = first(call(function, **{slot: value.astype(np.float32)}))
    reference = first(call(function, **{slot: value.astype(np.float32).astype(np.float64)}))
    # the output follows the image's dtype, or a grid generator's parameters' (not the
    # control points': they are kernel centres, solved for in float64)
    follows = slot == "input" or (function.endswith("_grid") and slot != "control_points")
    assert got.dtype == (np.float32 if follows else np.float64)
    np.testing.assert_allclose(got, reference, rtol=2e-6, atol=2e-6)


# ------------------------------------------------------------- empty and size-1 axes

@pytest.mark.parametrize("function", ["warp_affine", "warp_perspective", "warp_tps"])
@pytest.mark.parametrize("shape,size", [
    ((0, 3, 5, 6), None), ((2, 0, 5, 6), None), ((2, 3, 5, 6), (0, 4)), ((2, 3, 5, 6), (4, 0)),
])
def test_fused_warps_on_empty_shapes(function, shape, size):
    arrays = dict(FUNCTIONS[function][1])
    batch = shape[0]
    arrays["input"] = np.zeros(shape)
    for name in arrays:
        if name not in ("input", "control_points"):
            arrays[name] = arrays[name][:batch] if batch == 0 else arrays[name]
    out = FUNCTIONS[function][0](**arrays, size=size)
    expected_hw = shape[2:] if size is None else size
    assert out.shape == shape[:2] + tuple(expected_hw)


@pytest.mark.parametrize("function", ["warp_affine", "warp_perspective", "warp_tps"])
def test_fused_warp_of_an_empty_image_is_a_value_error(function):
    with pytest.raises(ValueError, match="input must have non-empty height and width"):
        call(function, input=np.zeros((2, 3, 0, 6)))


@pytest.mark.parametrize("shape,size", [((1, 1, 1, 1), (1, 1)), ((1, 1, 1, 7), (3, 1)),
                                        ((1, 2, 6, 1), (1, 4))])
def test_size_one_axes_match_the_grid_path(mode, padding_mode, align_corners, shape, size):
    image = np.random.default_rng(1).random(shape)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    theta = THETA[:1]
    fused = warpkit.warp_affine(image, theta, size, **options)
    grid = warpkit.affine_grid(theta, shape[:2] + size, align_corners)
    np.testing.assert_allclose(fused, warpkit.grid_sample(image, grid, **options),
                               rtol=1e-12, atol=1e-12)
    assert np.isfinite(fused).all()


# ------------------------------------------------------------- options and sizes

@pytest.mark.parametrize("function", ["warp_affine", "warp_perspective", "warp_tps"])
@pytest.mark.parametrize("kwargs,error,message", [
    ({"mode": "linear"}, ValueError, "mode must be one of"),
    ({"mode": 0}, ValueError, "mode must be one of"),
    ({"padding_mode": None}, ValueError, "padding_mode must be one of"),
    ({"align_corners": 1}, TypeError, "align_corners must be True or False"),
    ({"size": 5}, TypeError, "size must be a sequence of 2 integers"),
    ({"size": "ab"}, TypeError, "size must be a sequence"),
    ({"size": (4.5, 4)}, TypeError, "size must be a sequence"),
    ({"size": (4, 4, 4)}, ValueError, "size must have 2 entries"),
    ({"size": (-1, 4)}, ValueError, "size entries must be >= 0"),
    ({"size": (1, 3, 4, 4)}, ValueError, r"size \(N, C, H_out, W_out\) must start with"),
])
def test_fused_warp_options(function, kwargs, error, message):
    with pytest.raises(error, match=message):
        call(function, **kwargs)


@pytest.mark.parametrize("regularization,error,message", [
    (-1.0, ValueError, "regularization must be finite and >= 0"),
    (np.nan, ValueError, "regularization must be finite"),
    (np.inf, ValueError, "regularization must be finite"),
    ("a", TypeError, "regularization must be a real number"),
    (None, TypeError, "regularization must be a real number"),
    (True, TypeError, "regularization must be a real number"),
])
def test_spline_regularization(regularization, error, message):
    with pytest.raises(error, match=message):
        warpkit.warp_tps(IMAGE, CONTROLS, TARGETS, regularization=regularization)
    with pytest.raises(error, match=message):
        warpkit.tps_grid(CONTROLS, TARGETS, (2, 3, 4, 4), regularization=regularization)


@pytest.mark.parametrize("function", ["warp_affine", "affine_grid", "perspective_grid",
                                      "tps_grid"])
def test_requests_larger_than_memory_fail_before_allocating(function):
    huge = (10**6, 10**6)
    with pytest.raises(MemoryError, match=r"size .*needs a float\d\d array of .*TiB"):
        if function == "warp_affine":
            warpkit.warp_affine(IMAGE, THETA, size=huge)
        elif function == "affine_grid":
            warpkit.affine_grid(THETA, (2, 3) + huge)
        elif function == "perspective_grid":
            warpkit.perspective_grid(HOMOGRAPHY, (2, 3) + huge)
        else:
            warpkit.tps_grid(CONTROLS, TARGETS, (2, 3) + huge)
    with pytest.raises(MemoryError, match=r"grid .*needs a float64 array"):
        grid = np.broadcast_to(np.zeros(2), (1, 10**5, 10**5, 2))
        warpkit.grid_sample(np.zeros((1, 1000, 2, 2)), grid)


# ------------------------------------------------------------- non-finite values

@pytest.mark.parametrize("function", ["warp_affine", "warp_perspective", "warp_tps"])
def test_nan_and_inf_pixels_stay_local_in_fused_warps(function):
    image = np.ones((1, 1, 8, 8))
    image[0, 0, 0, 0] = np.nan
    image[0, 0, 7, 7] = np.inf
    identity = {"warp_affine": {"theta": np.eye(2, 3)[None]},
                "warp_perspective": {"homography": np.eye(3)[None]},
                "warp_tps": {"control_points": CONTROLS, "target_points": CONTROLS[None]}}
    out = FUNCTIONS[function][0](image, **identity[function])
    assert np.isnan(out[0, 0, 0, 0]) and np.isinf(out[0, 0, 7, 7])
    np.testing.assert_allclose(out[0, 0, 2:6, 2:6], 1.0, rtol=1e-12)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300, -1e300])
@pytest.mark.parametrize("entry", [(0, 0, 0), (0, 0, 2), (1, 1, 1)])
def test_non_finite_affine_parameters_match_the_grid_path(value, entry, mode, padding_mode):
    theta = THETA.copy()
    theta[entry] = value
    options = dict(mode=mode, padding_mode=padding_mode)
    fused = warpkit.warp_affine(IMAGE, theta, **options)
    with np.errstate(invalid="ignore", over="ignore"):
        grid = warpkit.affine_grid(theta, IMAGE.shape)
    np.testing.assert_allclose(fused, warpkit.grid_sample(IMAGE, grid, **options),
                               rtol=1e-12, atol=1e-12)
    assert np.isfinite(fused).all()
    grad_input, grad_theta = warp_affine_vjp(IMAGE, theta, GRAD, **options)
    assert np.isfinite(grad_input).all()
    assert not np.isinf(grad_theta).any()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300, 0.0])
@pytest.mark.parametrize("entry", [(0, 0, 0), (0, 2, 2), (1, 2, 0)])
def test_non_finite_homographies_match_the_grid_path(value, entry):
    homography = HOMOGRAPHY.copy()
    homography[entry] = value
    fused = warpkit.warp_perspective(IMAGE, homography, padding_mode="border")
    with np.errstate(invalid="ignore", over="ignore"):
        grid = warpkit.perspective_grid(homography, IMAGE.shape)
    np.testing.assert_allclose(
        fused, warpkit.grid_sample(IMAGE, grid, padding_mode="border"), rtol=1e-12, atol=1e-12)
    assert np.isfinite(fused).all()


def test_singular_matrices_are_well_defined():
    # theta = 0: every output pixel reads the image centre
    fused = warpkit.warp_affine(IMAGE, np.zeros((2, 2, 3)))
    centre = warpkit.grid_sample(IMAGE, np.zeros((2, 1, 1, 2)))
    np.testing.assert_allclose(fused, np.broadcast_to(centre, fused.shape), rtol=0,
                               atol=1e-12 * np.abs(centre).max())
    # homography = 0: w = 0 everywhere, no source point -> the padding value
    assert not warpkit.warp_perspective(IMAGE, np.zeros((2, 3, 3))).any()
    # a rank-1 affine part squashes the image onto a line: finite, equal to the grid path
    theta = np.array([[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]] * 2)
    expected = warpkit.grid_sample(IMAGE, warpkit.affine_grid(theta, IMAGE.shape))
    np.testing.assert_allclose(warpkit.warp_affine(IMAGE, theta), expected, rtol=0,
                               atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("slot", ["control_points", "target_points"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_spline_points_are_value_errors(slot, value):
    arrays = {"control_points": CONTROLS.copy(), "target_points": TARGETS.copy()}
    arrays[slot][..., 3, 0] = value
    with pytest.raises(ValueError, match=rf"{slot} must be finite"):
        warpkit.warp_tps(IMAGE, **arrays)
    with pytest.raises(ValueError, match=rf"{slot} must be finite"):
        warpkit.tps_grid(size=(2, 3, 4, 4), **arrays)


@pytest.mark.parametrize("controls,message", [
    (np.zeros((4, 2)), "control_points must be distinct"),
    (np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0], [-1.0, -1.0]]), "must not all lie on one line"),
    (np.array([[0.0, 0.0], [1.0, 0.0]]), "at least 3 control points"),
    (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), "control_points must be distinct"),
])
def test_degenerate_control_points(controls, message):
    targets = np.tile(controls, (2, 1, 1))
    with pytest.raises(ValueError, match=message):
        warpkit.warp_tps(IMAGE, controls, targets)
    with pytest.raises(ValueError, match=message):
        TpsTransform(controls, controls)


@pytest.mark.parametrize("controls", [
    np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0 + 1e-9], [3.0, 3.0]]),   # nearly collinear
    np.concatenate([warpkit.control_point_grid(4), [[-1.0 + 1e-9, -1.0]]]),  # nearly repeated
    warpkit.control_point_grid(4) * 1e-8,                                  # tiny spread
])
def test_ill_conditioned_splines_warn_with_the_condition_number(controls):
    targets = controls[None] + 0.01
    with pytest.warns(TpsConditionWarning, match=r"condition number \d[\d.]*e\+\d+ > 1e\+12"):
        warpkit.tps_grid(controls, targets, (1, 1, 3, 3))
    with pytest.warns(TpsConditionWarning, match=r"condition number"):
        warpkit.warp_tps(IMAGE[:1], controls, targets)


def test_well_conditioned_splines_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warpkit.tps_grid(CONTROLS, TARGETS, (2, 3, 4, 4))
        warpkit.tps_grid(CONTROLS * 1e-3, TARGETS * 1e-3, (2, 3, 4, 4), regularization=1e-3)


# ------------------------------------------------------------- transform objects

@pytest.mark.parametrize("cls", [AffineTransform, PerspectiveTransform])
@pytest.mark.parametrize("dtype", [np.complex128, object, str])
def test_transform_matrix_of_non_real_dtype_is_a_type_error(cls, dtype):
    with pytest.raises(TypeError, match="matrix must hold real numbers"):
        cls(np.eye(3).astype(dtype))


@pytest.mark.parametrize("cls", [AffineTransform, PerspectiveTransform])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float16, np.float32])
def test_transform_matrix_of_real_dtype_is_converted(cls, dtype):
    matrix = np.array([[2, 0, 1], [0, 1, 0], [0, 0, 1]]).astype(dtype)
    np.testing.assert_array_equal(cls(matrix).params, matrix.astype(np.float64))


@pytest.mark.parametrize("cls", [AffineTransform, PerspectiveTransform])
@pytest.mark.parametrize("matrix,message", [
    (np.eye(5), "matrix must have shape"), (np.ones(3), "matrix must have shape"),
    (np.full((3, 3), np.nan), "matrix must be finite"),
    (np.diag([1.0, np.inf, 1.0]), "matrix must be finite"),
])
def test_transform_matrix_shape_and_values(cls, matrix, message):
    with pytest.raises(ValueError, match=message):
        cls(matrix)


@pytest.mark.parametrize("cls", [AffineTransform, PerspectiveTransform])
def test_singular_transform_has_no_inverse(cls):
    with pytest.raises(ValueError, match="not invertible"):
        cls(np.diag([1.0, 0.0, 1.0])).inverse


@pytest.mark.parametrize("size,error,message", [
    (None, TypeError, "input_size must be a sequence of 2 integers"),
    ((0, 4), ValueError, "input_size entries must be >= 1"),
    ((4,), ValueError, "input_size must have 2 entries"),
    ((4.0, 4), TypeError, "input_size must be a sequence"),
])
def test_transform_frame_sizes(size, error, message):
    with pytest.raises(error, match=message):
        AffineTransform(scale=2.0).to_normalized(size)
    with pytest.raises(error, match=message):
        PerspectiveTransform(np.eye(3)).to_normalized(size)


@pytest.mark.parametrize("points,error,message", [
    (np.ones((5, 3)), ValueError, r"points must have shape \(\.\.\., 2\)"),
    (np.ones((5, 2), dtype=np.int64), TypeError, "points must be a float32 or float64"),
    (np.ones((5, 2), dtype=np.complex128), TypeError, "points must be a float32 or float64"),
    ("ab", TypeError, "points must be a float32 or float64"),
])
def test_transform_points(points, error, message):
    for transform in (AffineTransform(scale=2.0), TpsTransform(CONTROLS, CONTROLS + 0.1)):
        with pytest.raises(error, match=message):
            transform(points)


@pytest.mark.parametrize("layout", ["fortran", "negative_stride", "readonly", "list",
                                    "strided_view"])
def test_transform_points_in_any_layout(layout):
    points = RNG.uniform(-1, 1, (6, 2))
    bad = _layouts(points)[layout]
    assert _IS_LAYOUT[layout](bad), f"{layout} is not the layout it names"
    for transform in (AffineTransform(THETA[0]), PerspectiveTransform(HOMOGRAPHY[0]),
                      TpsTransform(CONTROLS, TARGETS[0])):
        np.testing.assert_array_equal(transform(bad), transform(points))


@pytest.mark.parametrize("cls,minimum", [(AffineTransform, 3), (PerspectiveTransform, 4),
                                         (TpsTransform, 3)])
def test_estimation_from_bad_point_pairs(cls, minimum):
    src = RNG.uniform(0, 1, (6, 2))
    with pytest.raises(ValueError, match=f"at least {minimum} point pairs"):
        cls.estimate(src[:minimum - 1], src[:minimum - 1])
    with pytest.raises(ValueError, match="src and dst must both have shape"):
        cls.estimate(src, src[:-1])
    with pytest.raises(ValueError, match="src and dst must be finite"):
        cls.estimate(np.where(src > 0.5, np.nan, src), src)
    with pytest.raises(ValueError, match="line|degenerate|distinct"):
        line = np.stack([np.linspace(0, 1, 6)] * 2, axis=1)
        cls.estimate(line, src)
