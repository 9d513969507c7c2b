"""grid_sample, grid_sample_vjp and affine_grid on bad and extreme input."""

import numpy as np
import pytest

import warpkit


@pytest.fixture
def case():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3, 5, 6)), rng.uniform(-1, 1, (2, 4, 4, 2))


@pytest.mark.parametrize("bad_input,message", [
    (np.zeros((3, 5, 6)), r"input must be 4-dimensional"),
    (np.zeros((1, 2, 3, 5, 6)), r"input must be 4-dimensional"),
    (np.zeros((3, 3, 5, 6)), r"same batch size"),
])
def test_input_shape_errors_name_the_argument(case, bad_input, message):
    with pytest.raises(ValueError, match=message):
        warpkit.grid_sample(bad_input, case[1])


@pytest.mark.parametrize("bad_grid,message", [
    (np.zeros((2, 4, 4)), r"grid must be 4-dimensional"),
    (np.zeros((2, 4, 4, 3)), r"grid must have shape \(N, H_out, W_out, 2\)"),
    (np.zeros((2, 4, 4, 1)), r"grid must have shape"),
])
def test_grid_shape_errors(case, bad_grid, message):
    with pytest.raises(ValueError, match=message):
        warpkit.grid_sample(case[0], bad_grid)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.complex128, np.float16,
                                   object])
def test_non_float_input_is_a_type_error(case, dtype):
    with pytest.raises(TypeError, match=r"input must be a float32 or float64 array"):
        warpkit.grid_sample(case[0].astype(dtype), case[1])
    with pytest.raises(TypeError, match=r"grid must be a float32 or float64 array"):
        warpkit.grid_sample(case[0], case[1].astype(dtype))


def test_integer_image_error_says_how_to_convert(case):
    with pytest.raises(TypeError, match=r"astype\(np.float32\)"):
        warpkit.grid_sample((case[0] * 100).astype(np.uint8), case[1])


def test_strings_are_rejected(case):
    with pytest.raises(TypeError, match="input"):
        warpkit.grid_sample(np.array([["a"]]), case[1])


@pytest.mark.parametrize("name,kwargs,message", [
    ("mode", {"mode": "linear"}, r"mode must be one of 'bilinear', 'nearest', 'bicubic'"),
    ("mode", {"mode": None}, r"mode must be one of"),
    ("padding_mode", {"padding_mode": "wrap-around"},
     r"padding_mode must be one of 'zeros', 'border', 'reflection'"),
    ("align_corners", {"align_corners": "yes"}, r"align_corners must be True or False"),
])
def test_option_errors_list_valid_values(case, name, kwargs, message):
    error = TypeError if name == "align_corners" else ValueError
    with pytest.raises(error, match=message):
        warpkit.grid_sample(*case, **kwargs)
    with pytest.raises(error, match=message):
        warpkit.grid_sample_vjp(*case, np.zeros((2, 3, 4, 4)), **kwargs)


def test_grad_output_shape_and_dtype(case):
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape"):
        warpkit.grid_sample_vjp(*case, np.zeros((2, 3, 4, 5)))
    with pytest.raises(TypeError, match=r"grad_output must be a float32 or float64"):
        warpkit.grid_sample_vjp(*case, np.zeros((2, 3, 4, 4), dtype=np.int64))


def test_mixed_float_dtypes_follow_the_input(case):
    image, grid = case
    out = warpkit.grid_sample(image.astype(np.float32), grid)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, warpkit.grid_sample(image, grid), rtol=1e-5, atol=1e-5)
    gi, gg = warpkit.grid_sample_vjp(image.astype(np.float32), grid,
                                     np.ones((2, 3, 4, 4)))
    assert gi.dtype == np.float32 and gg.dtype == np.float64


def test_lists_are_converted(case):
    image, grid = case
    np.testing.assert_array_equal(warpkit.grid_sample(image.tolist(), grid.tolist()),
                                  warpkit.grid_sample(image, grid))


@pytest.mark.parametrize("image_shape,grid_shape", [
    ((0, 3, 5, 6), (0, 4, 4, 2)),
    ((2, 0, 5, 6), (2, 4, 4, 2)),
    ((2, 3, 5, 6), (2, 0, 4, 2)),
    ((2, 3, 5, 6), (2, 4, 0, 2)),
    ((0, 3, 0, 0), (0, 4, 4, 2)),
])
def test_empty_batches_and_outputs_give_empty_results(image_shape, grid_shape):
    image = np.zeros(image_shape)
    grid = np.zeros(grid_shape)
    out = warpkit.grid_sample(image, grid)
    assert out.shape == image_shape[:2] + grid_shape[1:3]
    gi, gg = warpkit.grid_sample_vjp(image, grid, np.zeros(out.shape))
    assert gi.shape == image_shape and gg.shape == grid_shape
    assert not gi.any() and not gg.any()


def test_empty_image_with_outputs_is_an_error():
    with pytest.raises(ValueError, match="non-empty height and width"):
        warpkit.grid_sample(np.zeros((1, 1, 0, 4)), np.zeros((1, 2, 2, 2)))


@pytest.mark.parametrize("dtype,huge", [(np.float32, 3e38), (np.float64, 1e300)])
def test_non_finite_and_huge_coordinates_are_defined(dtype, huge, mode, padding_mode,
                                                     align_corners):
    rng = np.random.default_rng(1)
    image = rng.standard_normal((1, 2, 5, 6)).astype(dtype)
    specials = [np.nan, np.inf, -np.inf, huge, -huge]
    grid = np.zeros((1, len(specials), 2, 2), dtype=dtype)
    for i, value in enumerate(specials):
        grid[0, i, 0] = [value, 0.25]
        grid[0, i, 1] = [0.25, value]
    out = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners)
    gi, gg = warpkit.grid_sample_vjp(image, grid, np.ones_like(out), mode, padding_mode,
                                     align_corners)
    assert np.isfinite(out).all() and np.isfinite(gi).all() and np.isfinite(gg).all()
    # NaN reads as -1
    minus_one = grid[:, :1].copy()
    minus_one[np.isnan(minus_one)] = -1
    np.testing.assert_array_equal(out[:, :, :1],
                                  warpkit.grid_sample(image, minus_one, mode, padding_mode,
                                                      align_corners))
    far = out[:, :, 1:]  # +-Inf and +-huge
    if padding_mode == "zeros":
        assert not far.any()
    else:
        # the nearest edge: the same as a coordinate just outside the image
        edge = np.sign(grid[:, 1:]) * 1.5
        edge[np.isnan(edge)] = 0
        edge[np.abs(grid[:, 1:]) < 1] = 0.25
        np.testing.assert_allclose(
            far, warpkit.grid_sample(image, edge.astype(dtype), mode, "border", align_corners),
            rtol=1e-6, atol=1e-6)
    # gradients w.r.t. the far coordinates are zero
    assert not gg[:, 1:][np.abs(grid[:, 1:]) > 2].any()


def test_nan_and_inf_in_the_image_stay_local():
    image = np.ones((1, 1, 6, 6))
    image[0, 0, 0, 0] = np.nan
    image[0, 0, 5, 5] = np.inf
    grid = warpkit.affine_grid(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]), (1, 1, 6, 6))
    out = warpkit.grid_sample(image, grid)
    assert np.isnan(out[0, 0, 0, 0]) and np.isinf(out[0, 0, 5, 5])
    assert np.all(out[0, 0, 2:4, 2:4] == 1)


@pytest.mark.parametrize("theta,message", [
    (np.zeros((2, 3)), r"theta must be 3-dimensional"),
    (np.zeros((1, 3, 3)), r"theta must have shape \(N, 2, 3\)"),
    (np.zeros((1, 2, 3), dtype=np.int64), r"theta must be a float32 or float64 array"),
])
def test_affine_grid_theta_errors(theta, message):
    error = TypeError if theta.dtype.kind == "i" else ValueError
    with pytest.raises(error, match=message):
        warpkit.affine_grid(theta, (1, 1, 4, 4))


@pytest.mark.parametrize("size,error,message", [
    ((1, 1, 4), ValueError, r"size must have 4 entries"),
    ((2, 1, 4, 4), ValueError, r"size\[0\] must equal the batch size of theta \(1\)"),
    ((1, 1, -4, 4), ValueError, r"size entries must be >= 0"),
    ((1, 1, 4.5, 4), TypeError, r"size must be a sequence of 4 integers"),
    (None, TypeError, r"size must be a sequence of 4 integers"),
])
def test_affine_grid_size_errors(size, error, message):
    with pytest.raises(error, match=message):
        warpkit.affine_grid(np.zeros((1, 2, 3)), size)


def test_affine_grid_accepts_lists_and_empty_sizes():
    theta = [[[1, 0, 0], [0, 1, 0]]]
    grid = warpkit.affine_grid(theta, (1, 1, 2, 3))
    assert grid.dtype == np.float64 and grid.shape == (1, 2, 3, 2)
    assert warpkit.affine_grid(np.zeros((1, 2, 3)), (1, 1, 0, 3)).shape == (1, 0, 3, 2)


def test_infinite_coordinates_on_a_one_pixel_axis(mode, padding_mode):
    # align_corners=True maps every finite coordinate of a 1-pixel axis to pixel 0,
    # but +-Inf lies outside the image whatever the axis (docs/conventions.rst):
    # 0 with zeros padding, the nearest edge (the only pixel) with the others.
    image = np.full((1, 1, 3, 1), 2.0)
    grid = np.array([[[[np.inf, 0.0], [-np.inf, 0.0], [0.3, 0.0]]]])
    out = warpkit.grid_sample(image, grid, mode, padding_mode, align_corners=True)
    gi, gg = warpkit.grid_sample_vjp(image, grid, np.ones_like(out), mode, padding_mode, True)
    assert np.isfinite(out).all() and np.isfinite(gi).all() and np.isfinite(gg).all()
    np.testing.assert_array_equal(out[..., 2], 2.0)
    np.testing.assert_array_equal(out[..., :2], 0.0 if padding_mode == "zeros" else 2.0)
    assert not gg[0, 0, :2, 0].any()  # no gradient along an infinite coordinate


def test_images_wider_than_the_index_range_are_refused():
    wide = np.broadcast_to(np.zeros(1, np.float32), (1, 1, 1, 2**31))  # no memory
    grid = np.zeros((1, 1, 1, 2), np.float32)
    with pytest.raises(ValueError, match="input's height and width must be at most"):
        warpkit.grid_sample(wide, grid)
    with pytest.raises(ValueError, match="input's height and width must be at most"):
        warpkit.warp_affine(wide, np.eye(2, 3)[None], size=(1, 1))
