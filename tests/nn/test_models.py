import autograd
import numpy as np
import pytest
from autograd.misc import flatten

from warpkit import nn


@pytest.mark.parametrize("name", nn.MODELS)
@pytest.mark.parametrize("size", [28, 42])
def test_models_give_logits(name, size):
    model = nn.make_model(name, (1, size, size), transform="affine")
    params = model.init(np.random.default_rng(0))
    logits = model.apply(params, np.zeros((2, 1, size, size), np.float32))
    assert logits.shape == (2, 10) and logits.dtype == np.float32


def test_st_pool_halves_the_classifier_input():
    model = nn.make_model("st-cnn", (1, 60, 60), transform="attention", st_pool=2)
    assert model.classifier_input == (1, 30, 30)
    params = model.init(np.random.default_rng(0))
    out, theta = model.transformed(params, np.zeros((2, 1, 60, 60), np.float32))
    assert out.shape == (2, 1, 30, 30) and theta.shape == (2, 2, 3)


def test_init_is_deterministic():
    model = nn.make_model("st-cnn", (1, 28, 28), transform="tps")
    a = model.init(np.random.default_rng(3))
    b = model.init(np.random.default_rng(3))
    for x, y in zip(nn.tree_leaves(a), nn.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_st_cnn_loss_gradient_is_numerically_right():
    """autograd's gradient against central differences along fixed random directions.

    The loss is piecewise smooth (ReLU, max-pooling, bilinear knots), so the step
    is small: a difference that straddles a kink would disagree with any gradient.
    """
    model = nn.make_model("st-cnn", (1, 20, 20), transform="affine")
    rng = np.random.default_rng(0)
    params = nn.tree_map(lambda a: a.astype(np.float64), model.init(rng))
    params["st"]["out"]["w"] = rng.normal(scale=0.01, size=params["st"]["out"]["w"].shape)
    # Away from the identity, whose sampling points sit on the knots of bilinear
    # interpolation (pixel centres).
    params["st"]["out"]["b"] = np.array([0.93, 0.05, 0.031, -0.04, 0.91, 0.027])
    x = rng.random((3, 1, 20, 20))
    y = np.array([1, 2, 3])
    flat, unflatten = flatten(params)

    def loss(vector):
        return nn.softmax_cross_entropy(model.apply(unflatten(vector), x), y)

    gradient = autograd.grad(loss)(flat)
    step = 1e-7
    for _ in range(3):
        direction = rng.standard_normal(flat.size)
        numeric = (loss(flat + step * direction) - loss(flat - step * direction)) / (2 * step)
        analytic = gradient @ direction
        assert abs(numeric - analytic) <= 1e-6 * (1.0 + abs(analytic)), (numeric, analytic)


def test_unknown_model_lists_valid_ones():
    with pytest.raises(ValueError, match="fcn, cnn, st-fcn, st-cnn"):
        nn.make_model("mlp", (1, 28, 28))
    with pytest.raises(ValueError, match="at least 16x16"):
        nn.make_model("cnn", (1, 8, 8))


def test_st_pool_must_leave_an_image():
    with pytest.raises(ValueError, match="st_pool must be >= 1, got 0"):
        nn.make_model("st-fcn", (1, 28, 28), st_pool=0)
    with pytest.raises(ValueError, match=r"st-fcn: the FCN needs .* at least 1x1, got 0x0"):
        nn.make_model("st-fcn", (1, 28, 28), st_pool=29)
    with pytest.raises(ValueError, match=r"st-cnn: the CNN needs .* at least 16x16, got 15x15"):
        nn.make_model("st-cnn", (1, 60, 60), st_output_size=(30, 30), st_pool=2)
    assert nn.make_model("st-cnn", (1, 60, 60), st_pool=2).classifier_input == (1, 30, 30)
