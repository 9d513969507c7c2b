import re

import numpy as np
import pytest

from warpkit import nn


def run(optimizer, params, grads_seq):
    state = optimizer.init(params)
    for grads in grads_seq:
        params, state = optimizer.update(params, grads, state)
    return params, state


def test_sgd_momentum_matches_hand_computation():
    opt = nn.SGD(0.1, momentum=0.9, weight_decay=0.01)
    p = {"w": np.array([1.0, -2.0])}
    g1, g2 = np.array([0.5, 1.0]), np.array([-1.0, 0.25])
    v = g1 + 0.01 * p["w"]
    w = p["w"] - 0.1 * v
    v = 0.9 * v + g2 + 0.01 * w
    w = w - 0.1 * v
    out, state = run(opt, p, [{"w": g1}, {"w": g2}])
    np.testing.assert_allclose(out["w"], w)
    assert state["step"] == 2


def test_adam_matches_reference_formula():
    opt = nn.Adam(0.01, weight_decay=0.1)
    w = np.array([0.3, -1.0])
    grads = [np.array([0.2, -0.5]), np.array([1.0, 0.1]), np.array([-0.3, 0.3])]
    m = v = np.zeros(2)
    expected = w.copy()
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        mhat, vhat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        expected = expected - 0.01 * mhat / (np.sqrt(vhat) + 1e-8) \
            - 0.01 * 0.1 * expected
    out, _ = run(opt, {"w": w}, [{"w": g} for g in grads])
    np.testing.assert_allclose(out["w"], expected, rtol=1e-10)


@pytest.mark.parametrize("opt", [nn.SGD(0.1), nn.Adam(0.1)])
def test_optimizers_minimize_a_quadratic(opt):
    target = {"a": np.array([1.0, -2.0]), "b": [np.array([[3.0]])]}
    params = nn.tree_map(np.zeros_like, target)
    state = opt.init(params)
    for _ in range(300):
        grads = nn.tree_map(lambda p, t: 2 * (p - t), params, target)
        params, state = opt.update(params, grads, state)
    for got, want in zip(nn.tree_leaves(params), nn.tree_leaves(target)):
        np.testing.assert_allclose(got, want, atol=1e-2)


def test_updates_keep_dtype_and_do_not_modify_inputs():
    p = {"w": np.ones(3, np.float32)}
    g = {"w": np.full(3, 0.5, np.float32)}
    for opt in (nn.SGD(0.1), nn.Adam(0.1)):
        out, _ = opt.update(p, g, opt.init(p))
        assert out["w"].dtype == np.float32
        np.testing.assert_array_equal(p["w"], 1.0)


def test_gradient_clipping_limits_the_step():
    opt = nn.SGD(1.0, momentum=0.0, clip_norm=1.0)
    out, _ = run(opt, {"w": np.zeros(2)}, [{"w": np.array([30.0, 40.0])}])
    np.testing.assert_allclose(out["w"], [-0.6, -0.8])
    assert nn.global_norm(nn.clip_by_global_norm({"w": np.array([0.3, 0.4])}, 1.0)) == \
        pytest.approx(0.5)


def test_schedules_and_lr_scale():
    opt = nn.SGD(nn.step_decay(1.0, every=1, factor=0.5), momentum=0.0,
                 lr_scale={"loc": 0.1})
    params = {"loc": np.zeros(1), "net": np.zeros(1)}
    grads = {"loc": np.ones(1), "net": np.ones(1)}
    out, _ = run(opt, params, [grads, grads])
    np.testing.assert_allclose(out["net"], [-1.5])
    np.testing.assert_allclose(out["loc"], [-0.15])
    schedule = nn.cosine_decay(1.0, 10, final_fraction=0.1)
    assert schedule(0) == 1.0 and schedule(10) == pytest.approx(0.1) and schedule(20) == \
        pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown parameter groups"):
        nn.SGD(0.1, lr_scale={"nope": 0.1}).update(params, grads, opt.init(params))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning_rate"):
        nn.Adam(0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        nn.SGD(0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="clip_norm"):
        nn.SGD(0.1, clip_norm=0)


def test_bad_hyperparameters_that_are_not_finite():
    with pytest.raises(ValueError, match="learning_rate"):
        nn.Adam(float("nan"))
    with pytest.raises(ValueError, match="learning_rate"):
        nn.Adam(float("inf"))
    with pytest.raises(ValueError, match="weight_decay"):
        nn.Adam(0.1, weight_decay=float("nan"))
    with pytest.raises(ValueError, match=r"lr_scale\['st'\] must be finite and >= 0"):
        nn.Adam(0.1, lr_scale={"st": -1.0})


def test_documented_lr_scale_keys_are_parameter_groups_of_a_model():
    """Every ``lr_scale={"key": ...}`` of the optimizers' docs names a group of a Model."""
    import warpkit.nn.optim as optim

    docs = [optim.__doc__, nn.Adam.__doc__, nn.SGD.__doc__]
    keys = {key for doc in docs for example in re.findall(r"lr_scale=\{([^}]*)\}", doc)
            for key in re.findall(r"""["'](\w+)["']\s*:""", example)}
    assert keys, "the docs show no lr_scale example"
    groups = nn.make_model("st-cnn", (1, 28, 28)).init(np.random.default_rng(0))
    assert keys <= set(groups), f"{sorted(keys - set(groups))} are not in {sorted(groups)}"
