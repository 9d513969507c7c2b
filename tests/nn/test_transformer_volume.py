"""The spatial transformer on volumes (NCDHW): the 3-D families through the volume warps."""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

import warpkit
from warpkit import nn

THETA_SHAPES = {"affine": (3, 4), "attention": (3, 4), "perspective": (4, 4), "tps": (27, 3)}


def as_float64(tree):
    return nn.tree_map(lambda a: np.asarray(a, dtype=np.float64), tree)


def smooth_volumes(n, size, seed=0):
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.mgrid[0:size, 0:size, 0:size] / size
    volumes = [np.sin(3 * xx * rng.uniform(1, 2) + 2 * yy) * np.cos(2 * zz * rng.uniform(1, 2))
               + yy * zz for _ in range(n)]
    return np.stack(volumes)[:, None].astype(np.float32)


@pytest.mark.parametrize("transform", nn.TRANSFORMS)
@pytest.mark.parametrize("localization", nn.LOCALIZATIONS)
def test_identity_at_initialization(transform, localization):
    st = nn.SpatialTransformer((1, 8, 8, 8), transform, localization=localization)
    assert st.dims == 3
    params = st.init(np.random.default_rng(0))
    assert not np.any(params["out"]["w"])
    x = smooth_volumes(2, 8)
    out, theta = st(params, x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, x, rtol=0, atol=2e-5 * np.abs(x).max())
    assert theta.shape == (2, *THETA_SHAPES[transform])


def test_identity_parameters_are_the_3d_identities():
    x = smooth_volumes(2, 6)
    for transform, expected in (("affine", np.eye(3, 4)), ("attention", np.eye(3, 4)),
                                ("perspective", np.eye(4))):
        st = nn.SpatialTransformer((1, 6, 6, 6), transform, localization="fcn")
        assert st.num_params == {"affine": 12, "attention": 4, "perspective": 15}[transform]
        _, theta = st(st.init(np.random.default_rng(0)), x)
        np.testing.assert_array_equal(theta, np.tile(expected, (2, 1, 1)))


def test_attention_is_scale_and_translation_per_axis():
    st = nn.SpatialTransformer((1, 6, 6, 6), "attention", localization="fcn")
    params = st.init(np.random.default_rng(0))
    params["out"]["b"] = np.array([0.5, 0.1, 0.2, 0.3], np.float32)
    theta = st.transform_params(params, smooth_volumes(1, 6))
    expected = [[0.5, 0, 0, 0.1], [0, 0.5, 0, 0.2], [0, 0, 0.5, 0.3]]
    np.testing.assert_allclose(theta[0], expected, rtol=0, atol=1e-7)


def test_cnn_localization_uses_volume_layers():
    st = nn.SpatialTransformer((2, 24, 22, 20), "affine")
    params = st.init(np.random.default_rng(0))
    assert [p["w"].shape for p in params["loc"][:2]] == [(8, 2, 3, 3, 3), (8, 8, 3, 3, 3)]
    raw = st.localize(params, np.zeros((3, 2, 24, 22, 20), np.float32))
    assert raw.shape == (3, 12) and raw.dtype == np.float32


def test_output_size_may_differ_from_input():
    st = nn.SpatialTransformer((1, 8, 8, 8), "attention", output_size=(4, 5, 6),
                               localization="fcn")
    x = smooth_volumes(2, 8)
    out, _ = st(st.init(np.random.default_rng(0)), x)
    theta = np.tile(np.eye(3, 4, dtype=np.float32), (2, 1, 1))
    expected = warpkit.grid_sample(x, warpkit.affine_grid(theta, (2, 1, 4, 5, 6)))
    assert out.shape == (2, 1, 4, 5, 6)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 * np.abs(x).max())
    assert nn.SpatialTransformer((1, 8, 8, 8), output_size=3).output_size == (3, 3, 3)


@pytest.mark.parametrize("transform", ["affine", "perspective", "tps"])
def test_gradient_of_localization_weights_matches_central_differences(transform):
    st = nn.SpatialTransformer((1, 5, 5, 5), transform, localization="fcn", num_control_points=8)
    rng = np.random.default_rng(1)
    params = as_float64(st.init(rng))
    params["out"]["w"] = rng.normal(scale=0.02, size=params["out"]["w"].shape)
    x = smooth_volumes(1, 5).astype(np.float64)
    weights = rng.normal(size=(1, 1, 5, 5, 5))

    def loss(p):
        out, _ = st(p, x)
        return np.sum(out * weights)

    check_grads(loss, modes=["rev"], order=1)(params)
    g = grad(loss)(params)["loc"][0]["w"]
    assert np.any(g != 0)
    # One weight by central differences, against its own scale.
    index = np.unravel_index(np.argmax(np.abs(g)), g.shape)
    eps = 1e-5
    shifted = [nn.tree_map(np.copy, params) for _ in range(2)]
    shifted[0]["loc"][0]["w"][index] += eps
    shifted[1]["loc"][0]["w"][index] -= eps
    numeric = (loss(shifted[0]) - loss(shifted[1])) / (2 * eps)
    assert abs(g[index] - numeric) <= 1e-5 * abs(numeric)


def test_training_on_a_toy_volume_task_decreases_the_loss():
    """Learn to undo random translations of a blob (the loss is the distance to the centred one)."""
    size = 8
    zz, yy, xx = (np.mgrid[0:size, 0:size, 0:size] + 0.5) / size * 2 - 1
    rng = np.random.default_rng(0)

    def blob(shift):
        return np.exp(-((xx - shift[0]) ** 2 + (yy - shift[1]) ** 2 + (zz - shift[2]) ** 2) / 0.3)

    shifts = rng.uniform(-0.3, 0.3, size=(6, 3))
    x = np.stack([blob(s) for s in shifts])[:, None].astype(np.float32)
    target = np.broadcast_to(blob((0.0, 0.0, 0.0)), x.shape).astype(np.float32)
    st = nn.SpatialTransformer((1, size, size, size), "attention", localization="fcn",
                               padding_mode="border")
    params = st.init(np.random.default_rng(1))

    def loss(p):
        out, _ = st(p, x)
        return np.mean((out - target) ** 2)

    opt = nn.Adam(3e-3)
    state = opt.init(params)
    losses = []
    for _ in range(12):
        value, g = loss(params), grad(loss)(params)
        losses.append(float(value))
        params, state = opt.update(params, g, state)
    losses.append(float(loss(params)))
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("options, error, message", [
    ({"input_shape": (1, 8, 8, 8, 8)}, ValueError, r"input_shape \(C, H, W\) must have 3"),
    ({"input_shape": (1, 0, 8, 8)}, ValueError, r"input_shape \(C, D, H, W\)"),
    ({"input_shape": 8}, TypeError, "input_shape must be"),
    ({"output_size": (4, 4)}, ValueError, r"output_size \(D, H, W\)"),
    ({"transform": "tps", "num_control_points": 16}, ValueError, "cube >= 8"),
])
def test_bad_volume_options(options, error, message):
    options = {"input_shape": (1, 8, 8, 8), **options}
    with pytest.raises(error, match=message):
        nn.SpatialTransformer(**options)


def test_a_volume_transformer_refuses_images():
    st = nn.SpatialTransformer((1, 6, 6, 6), localization="fcn")
    with pytest.raises(ValueError, match=r"\(N, 1, 6, 6, 6\).*\(2, 1, 6, 6\)"):
        st(st.init(np.random.default_rng(0)), np.zeros((2, 1, 6, 6), np.float32))


def test_the_image_classifiers_refuse_volume_shapes():
    with pytest.raises(ValueError, match=r"st-cnn: input_shape must be \(C, H, W\)"):
        nn.make_model("st-cnn", (1, 8, 8, 8))
