"""Parallel spatial transformers: shapes, identity at initialization, gradients to every one."""

import autograd
import numpy as np
import pytest
from autograd.misc import flatten

from warpkit import nn
from warpkit.nn.multi import MultiTransformerModel


def images(count=3, shape=(2, 20, 20), seed=1):
    return np.random.default_rng(seed).random((count,) + shape).astype(np.float32)


@pytest.mark.parametrize("classifier", ["cnn", "fcn"])
@pytest.mark.parametrize("keep, channels", [("all", 4), ("own", 2)])
def test_shapes(classifier, keep, channels):
    model = MultiTransformerModel((2, 24, 24), num_classes=19, classifier=classifier,
                                  st_output_size=18, keep=keep)
    assert model.name == f"st-{classifier}-multi"
    assert model.classifier_input == (channels, 18, 18)
    params = model.init(np.random.default_rng(0))
    x = images(3, (2, 24, 24))
    stacked, thetas = model.transformed(params, x)
    assert stacked.shape == (3, channels, 18, 18) and thetas.shape == (3, 2, 2, 3)
    logits = model.apply(params, x)
    assert logits.shape == (3, 19) and logits.dtype == np.float32


def test_three_transformers_with_tps():
    model = MultiTransformerModel((1, 20, 20), num_transformers=3, transform="tps",
                                  num_control_points=9)
    params = model.init(np.random.default_rng(0))
    stacked, thetas = model.transformed(params, images(2, (1, 20, 20)))
    assert stacked.shape == (2, 3, 20, 20) and thetas.shape == (2, 3, 9, 2)


@pytest.mark.parametrize("keep", ["all", "own"])
def test_every_transformer_starts_at_the_identity(keep):
    model = MultiTransformerModel((2, 20, 20), keep=keep)
    params = model.init(np.random.default_rng(0))
    x = images()
    stacked, thetas = model.transformed(params, x)
    expected = np.concatenate([x, x], axis=1) if keep == "all" else x
    np.testing.assert_allclose(stacked, expected, atol=1e-5)
    np.testing.assert_array_equal(thetas, np.broadcast_to(np.eye(2, 3), (3, 2, 2, 3)))


def test_transformer_k_feeds_channels_k():
    """Moving one transformer changes only its own block of channels."""
    model = MultiTransformerModel((2, 20, 20))
    params = model.init(np.random.default_rng(0))
    params["st"][1]["out"]["b"] = np.array([0.5, 0, 0.2, 0, 0.5, -0.1], np.float32)
    x = images()
    stacked, thetas = model.transformed(params, x)
    np.testing.assert_allclose(stacked[:, :2], x, atol=1e-5)
    assert np.abs(stacked[:, 2:] - x).max() > 0.1
    np.testing.assert_allclose(thetas[:, 1], np.broadcast_to(
        params["st"][1]["out"]["b"].reshape(2, 3), (3, 2, 3)))


def test_gradients_reach_both_transformers_and_differ():
    model = MultiTransformerModel((2, 20, 20), num_classes=5)
    params = model.init(np.random.default_rng(0))
    x, y = images(4), np.array([0, 1, 2, 3])
    grads = autograd.grad(lambda p: nn.softmax_cross_entropy(model.apply(p, x), y))(params)
    first, second = (g["out"]["w"] for g in grads["st"])
    assert np.abs(first).max() > 1e-6 and np.abs(second).max() > 1e-6
    # Both start at the identity but are pushed apart from the first step.
    assert np.abs(first - second).max() > 0.1 * np.abs(first).max()


def test_loss_gradient_is_numerically_right():
    """autograd's gradient against central differences along random directions (float64)."""
    model = MultiTransformerModel((2, 20, 20), num_classes=4, st_output_size=16)
    rng = np.random.default_rng(0)
    params = nn.tree_map(lambda a: a.astype(np.float64), model.init(rng))
    for st, bias in zip(params["st"], ([0.93, 0.05, 0.031, -0.04, 0.91, 0.027],
                                       [0.81, -0.06, -0.12, 0.07, 0.86, 0.093])):
        st["out"]["w"] = rng.normal(scale=0.01, size=st["out"]["w"].shape)
        st["out"]["b"] = np.array(bias)  # away from the identity's knots
    x = rng.random((2, 2, 20, 20))
    y = np.array([1, 3])
    flat, unflatten = flatten(params)

    def loss(vector):
        return nn.softmax_cross_entropy(model.apply(unflatten(vector), x), y)

    gradient = autograd.grad(loss)(flat)
    step = 1e-7
    for _ in range(2):
        direction = rng.standard_normal(flat.size)
        numeric = (loss(flat + step * direction) - loss(flat - step * direction)) / (2 * step)
        analytic = gradient @ direction
        assert abs(numeric - analytic) <= 1e-6 * (1.0 + abs(analytic)), (numeric, analytic)


def test_the_optimizer_groups_are_st_and_net():
    model = MultiTransformerModel((2, 20, 20))
    params = model.init(np.random.default_rng(0))
    optimizer = nn.Adam(1e-2, lr_scale={"st": 0.0})
    grads = nn.tree_map(np.ones_like, params)
    updated, _ = optimizer.update(params, grads, optimizer.init(params))
    for old, new in zip(nn.tree_leaves(params["st"]), nn.tree_leaves(updated["st"])):
        np.testing.assert_array_equal(old, new)
    assert not np.array_equal(params["net"][0]["w"], updated["net"][0]["w"])


@pytest.mark.parametrize("options, message", [
    ({"classifier": "resnet"}, "unknown classifier 'resnet'; valid classifiers: cnn, fcn"),
    ({"keep": "some"}, "keep must be one of 'all', 'own', got 'some'"),
    ({"keep": "own", "num_transformers": 3}, "num_transformers must equal the 2 input"),
    ({"num_transformers": 0}, "num_transformers must be an int >= 1, got 0"),
    ({"transform": "similarity"}, "unknown transform"),
    ({"st_output_size": 8}, "at least 16x16"),
])
def test_bad_arguments_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        MultiTransformerModel((2, 20, 20), **options)
