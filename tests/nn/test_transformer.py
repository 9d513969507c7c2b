import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

import warpkit
from warpkit import nn


def as_float64(tree):
    return nn.tree_map(lambda a: np.asarray(a, dtype=np.float64), tree)


def smooth_images(n, size, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = [np.sin(3 * xx * rng.uniform(1, 2) + 2 * yy) * np.cos(2 * yy * rng.uniform(1, 2))
              for _ in range(n)]
    return np.stack(images)[:, None].astype(np.float32)


@pytest.mark.parametrize("transform", nn.TRANSFORMS)
@pytest.mark.parametrize("localization", nn.LOCALIZATIONS)
def test_identity_at_initialization(transform, localization):
    st = nn.SpatialTransformer((1, 28, 28), transform, localization=localization)
    params = st.init(np.random.default_rng(0))
    assert not np.any(params["out"]["w"])
    x = smooth_images(3, 28)
    out, theta = st(params, x)
    np.testing.assert_allclose(out, x, atol=2e-5)
    expected_shape = {"affine": (3, 2, 3), "attention": (3, 2, 3), "perspective": (3, 3, 3),
                      "tps": (3, 16, 2)}[transform]
    assert theta.shape == expected_shape


def test_identity_affine_parameters_are_returned():
    st = nn.SpatialTransformer((1, 20, 20), "affine")
    _, theta = st(st.init(np.random.default_rng(0)), smooth_images(2, 20))
    np.testing.assert_allclose(theta, np.tile([[1, 0, 0], [0, 1, 0]], (2, 1, 1)))


def test_output_size_may_differ_from_input():
    st = nn.SpatialTransformer((1, 60, 60), "attention", output_size=(30, 30))
    params = st.init(np.random.default_rng(0))
    x = smooth_images(2, 60)
    out, _ = st(params, x)
    assert out.shape == (2, 1, 30, 30)
    expected = warpkit.grid_sample(
        x, warpkit.affine_grid(np.tile(np.eye(2, 3, dtype=np.float32), (2, 1, 1)), (2, 1, 30, 30)))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_tps_control_points_count():
    st = nn.SpatialTransformer((1, 28, 28), "tps", num_control_points=9)
    assert st.control_points.shape == (9, 2)
    with pytest.raises(ValueError, match="square"):
        nn.SpatialTransformer((1, 28, 28), "tps", num_control_points=10)


@pytest.mark.parametrize("transform", ["affine", "perspective", "tps"])
def test_gradients_reach_the_localization_net(transform):
    st = nn.SpatialTransformer((1, 12, 12), transform, localization="fcn",
                               num_control_points=4)
    rng = np.random.default_rng(1)
    params = as_float64(st.init(rng))
    params["out"]["w"] = rng.normal(scale=0.01, size=params["out"]["w"].shape)
    x = smooth_images(2, 12).astype(np.float64)
    weights = rng.normal(size=(2, 1, 12, 12))

    def loss(p):
        out, _ = st(p, x)
        return np.sum(out * weights)

    check_grads(loss, modes=["rev"], order=1)(params)
    g = grad(loss)(params)
    assert np.any(g["loc"][0]["w"] != 0)


def test_bad_arguments_list_the_valid_names():
    with pytest.raises(ValueError, match="affine, perspective, tps, attention"):
        nn.SpatialTransformer((1, 28, 28), "similarity")
    with pytest.raises(ValueError, match="fcn, cnn"):
        nn.SpatialTransformer((1, 28, 28), localization="rnn")
    st = nn.SpatialTransformer((1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*\(2, 1, 20, 20\)"):
        st(st.init(np.random.default_rng(0)), np.zeros((2, 1, 20, 20), np.float32))


def test_an_int_output_size_is_a_square():
    st = nn.SpatialTransformer((1, 20, 20), "affine", output_size=5, localization="fcn")
    assert st.output_size == (5, 5)
    out, _ = st(st.init(np.random.default_rng(0)), smooth_images(2, 20))
    assert out.shape == (2, 1, 5, 5)


@pytest.mark.parametrize("size, error, message", [
    ((0, 5), ValueError, "output_size"),
    ((5, 5, 5), ValueError, "output_size"),
    (-3, ValueError, "output_size"),
    (5.0, TypeError, "output_size"),
    ("55", TypeError, "output_size"),
])
def test_bad_output_sizes(size, error, message):
    with pytest.raises(error, match=message):
        nn.SpatialTransformer((1, 20, 20), output_size=size)


@pytest.mark.parametrize("options, error, message", [
    ({"mode": "linear"}, ValueError, "mode must be one of 'bilinear', 'nearest', 'bicubic'"),
    ({"padding_mode": "wrap"}, ValueError, "padding_mode must be one of 'zeros'"),
    ({"align_corners": "yes"}, TypeError, "align_corners must be a bool"),
    ({"input_shape": (1, 0, 28)}, ValueError, "input_shape"),
    ({"input_shape": (28, 28)}, ValueError, "input_shape"),
    ({"transform": "tps", "num_control_points": 9.0}, TypeError, "num_control_points"),
    ({"transform": "tps", "num_control_points": -4}, ValueError, "num_control_points"),
])
def test_bad_options_fail_at_construction(options, error, message):
    options = {"input_shape": (1, 28, 28), **options}
    with pytest.raises(error, match=message):
        nn.SpatialTransformer(**options)


def test_an_empty_batch_is_refused():
    st = nn.SpatialTransformer((1, 12, 12), localization="fcn")
    with pytest.raises(ValueError, match=r"N >= 1, got \(0, 1, 12, 12\)"):
        st(st.init(np.random.default_rng(0)), np.zeros((0, 1, 12, 12), np.float32))


@pytest.mark.parametrize("transform", nn.TRANSFORMS)
def test_initial_scale_starts_zoomed_into_the_centre(transform):
    # Every family starts at input = s * output: the fused affine warp by diag(s).
    scale = 0.55
    st = nn.SpatialTransformer((1, 30, 30), transform, output_size=14, initial_scale=scale)
    params = st.init(np.random.default_rng(0))
    x = np.random.default_rng(1).random((2, 1, 30, 30))
    out, _ = st(params, x)
    theta = np.tile([[scale, 0.0, 0.0], [0.0, scale, 0.0]], (2, 1, 1))
    expected = warpkit.warp_affine(x, theta, size=(14, 14))
    np.testing.assert_allclose(out, expected, atol=1e-5 * np.abs(expected).max())
    assert not np.allclose(out, warpkit.warp_affine(x, np.tile(np.eye(2, 3), (2, 1, 1)),
                                                    size=(14, 14)), atol=1e-3)


def test_initial_scale_of_volumes():
    st = nn.SpatialTransformer((1, 6, 6, 6), "affine", initial_scale=0.5)
    np.testing.assert_array_equal(st.initial_output().reshape(3, 4), 0.5 * np.eye(3, 4))
    tps = nn.SpatialTransformer((1, 6, 6, 6), "tps", initial_scale=0.5)
    targets = tps.control_points + tps.initial_output().reshape(-1, 3)
    np.testing.assert_allclose(targets, 0.5 * tps.control_points, atol=1e-7)


@pytest.mark.parametrize("value", [0, -0.5, float("nan"), float("inf"), True, "0.5"])
def test_bad_initial_scale(value):
    with pytest.raises(ValueError, match="initial_scale must be a finite number > 0"):
        nn.SpatialTransformer((1, 28, 28), "attention", initial_scale=value)


def test_model_passes_the_initial_scale_on():
    model = nn.make_model("st-cnn", (1, 60, 60), transform="attention",
                          st_output_size=(28, 28), st_initial_scale=0.6)
    params = model.init(np.random.default_rng(0))
    np.testing.assert_allclose(params["st"]["out"]["b"], [0.6, 0.0, 0.0], atol=1e-7)
