"""Volume layers (conv3d, max_pool3d, avg_pool3d) against torch and numerical gradients."""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from warpkit import nn
from warpkit.nn.layers import col2im

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def autograd_vjps(fn, inputs, cotangent):
    """Gradients of <fn(*inputs), cotangent> w.r.t. every input."""
    return [grad(lambda *a, i=i: np.sum(fn(*a) * cotangent), i)(*inputs)
            for i in range(len(inputs))]


def torch_vjps(fn, inputs, cotangent):
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = fn(*tensors)
    out.backward(torch.tensor(cotangent))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_close(actual, expected, rtol):
    """Equal up to ``rtol`` of the largest magnitude compared (never of a value that can be 0)."""
    scale = max(np.abs(expected).max(), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("stride, padding, kernel", [(1, 0, 3), (1, 1, 3), (2, 1, 3),
                                                     (2, 0, 2), (3, 2, 3)])
def test_conv3d_matches_torch_values_and_gradients(rng, stride, padding, kernel):
    x = rng.normal(size=(2, 3, 7, 6, 8))  # odd sizes: some strides leave a remainder
    w = rng.normal(size=(4, 3, kernel, kernel, kernel))
    b = rng.normal(size=4)
    out = nn.conv3d({"w": w, "b": b}, x, stride=stride, padding=padding)
    cotangent = rng.normal(size=out.shape)
    expected, expected_grads = torch_vjps(
        lambda x, w, b: F.conv3d(x, w, b, stride=stride, padding=padding), (x, w, b), cotangent)
    assert out.shape == expected.shape
    assert_close(out, expected, 1e-12)
    grads = autograd_vjps(lambda x, w, b: nn.conv3d({"w": w, "b": b}, x, stride=stride,
                                                    padding=padding), (x, w, b), cotangent)
    for name, actual, wanted in zip(("input", "weight", "bias"), grads, expected_grads):
        assert actual.shape == wanted.shape, name
        assert_close(actual, wanted, 1e-12)


def test_conv3d_gradients_numerically(rng):
    x = rng.normal(size=(1, 2, 4, 3, 5))
    w, b = rng.normal(size=(2, 2, 2, 2, 2)), rng.normal(size=2)
    check_grads(lambda x, w, b: nn.conv3d({"w": w, "b": b}, x, stride=2, padding=1),
                modes=["rev"], order=1)(x, w, b)


def test_conv3d_float32_stays_float32(rng):
    x = rng.random((2, 1, 6, 6, 6)).astype(np.float32)
    params = nn.init.conv_params(rng, 1, 3, 3, dims=3)
    assert params["w"].shape == (3, 1, 3, 3, 3) and params["w"].dtype == np.float32
    out = nn.conv3d(params, x, padding=1)
    assert out.dtype == np.float32
    grads = grad(lambda p: np.sum(nn.conv3d(p, x, padding=1) ** 2))(params)
    assert grads["w"].dtype == np.float32 and grads["b"].dtype == np.float32
    expected = F.conv3d(torch.tensor(x), torch.tensor(params["w"]), torch.tensor(params["b"]),
                        padding=1).numpy()
    assert_close(out, expected, 1e-5)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_col2im_is_the_adjoint_of_im2col_on_volumes(rng, stride, padding):
    x = rng.normal(size=(2, 3, 5, 4, 6))
    cols = rng.normal(size=nn.im2col(x, (3, 2, 2), padding, stride).shape)
    lhs = np.sum(nn.im2col(x, (3, 2, 2), padding, stride) * cols)
    rhs = np.sum(x * col2im(cols, x.shape, (3, 2, 2), padding, stride))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pools_match_torch_values_and_gradients(rng, kind, size):
    x = rng.normal(size=(2, 3, 7, 6, 5))  # partial windows are dropped, as torch does
    ours = {"max": nn.max_pool3d, "avg": nn.avg_pool3d}[kind]
    theirs = {"max": F.max_pool3d, "avg": F.avg_pool3d}[kind]
    out = ours(x, size)
    cotangent = rng.normal(size=out.shape)
    expected, (expected_grad,) = torch_vjps(lambda x: theirs(x, size), (x,), cotangent)
    assert out.shape == expected.shape
    assert_close(out, expected, 1e-12)
    (grad_x,) = autograd_vjps(lambda x: ours(x, size), (x,), cotangent)
    assert_close(grad_x, expected_grad, 1e-12)


def test_pools_keep_float32_and_check_numerically(rng):
    x = rng.normal(size=(1, 2, 4, 5, 4))
    check_grads(lambda x: nn.avg_pool3d(x, 2), modes=["rev"], order=1)(x)
    check_grads(lambda x: nn.max_pool3d(x, 2), modes=["rev"], order=1)(x)
    x32 = x.astype(np.float32)
    for pool in (nn.max_pool3d, nn.avg_pool3d):
        assert pool(x32).dtype == np.float32
        assert grad(lambda x: np.sum(pool(x)))(x32).dtype == np.float32


def test_max_pool3d_gradient_goes_to_first_maximum_on_ties():
    x = np.ones((1, 1, 2, 2, 2))
    g = grad(lambda x: np.sum(nn.max_pool3d(x, 2)))(x)
    assert g[0, 0, 0, 0, 0] == 1.0 and g.sum() == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda p, x: nn.conv3d(p, x[0]), ValueError,
     r"conv3d: expected input of shape \(N, 2, D, H, W\)"),
    (lambda p, x: nn.conv3d(p, x[:, :1]), ValueError, "conv3d: expected input"),
    (lambda p, x: nn.conv3d({"w": p["w"][..., 0], "b": p["b"]}, x), ValueError,
     r"weight must have shape \(F, C, kd, kh, kw\)"),
    (lambda p, x: nn.conv3d(p, x[:, :, :2]), ValueError, "smaller than the kernel"),
    (lambda p, x: nn.conv3d(p, x, stride=0), ValueError, "stride must be >= 1"),
    (lambda p, x: nn.conv3d(p, x, stride=1.5), TypeError, "stride must be an integer"),
    (lambda p, x: nn.conv3d(p, x, padding=-1), ValueError, "padding must be >= 0"),
    (lambda p, x: nn.max_pool3d(x[0]), ValueError,
     r"max_pool3d: expected input of shape \(N, C, D, H, W\)"),
    (lambda p, x: nn.avg_pool3d(x, 5), ValueError, "D, H, W >= 5"),
    (lambda p, x: nn.avg_pool3d(x, 0), ValueError, "size must be >= 1"),
    (lambda p, x: nn.max_pool3d(x, True), TypeError, "size must be an integer"),
])
def test_volume_layer_errors_name_layer_and_shapes(rng, call, error, message):
    params = nn.init.conv_params(rng, 2, 3, 3, dims=3)
    x = rng.random((1, 2, 4, 4, 4)).astype(np.float32)
    with pytest.raises(error, match=message):
        call(params, x)


def test_conv_params_dims_must_be_2_or_3(rng):
    with pytest.raises(ValueError, match="dims must be 2"):
        nn.init.conv_params(rng, 1, 2, 3, dims=4)
