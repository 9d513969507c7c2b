import numpy as np
import pytest
from autograd.test_util import check_grads

from warpkit import nn
from warpkit.nn.layers import col2im


def naive_conv(x, w, b, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, width - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w) + b
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv2d_matches_naive_loops(rng, padding):
    x = rng.normal(size=(2, 3, 7, 6))
    params = {"w": rng.normal(size=(4, 3, 3, 2)), "b": rng.normal(size=4)}
    out = nn.conv2d(params, x, padding=padding)
    np.testing.assert_allclose(out, naive_conv(x, params["w"], params["b"], padding), atol=1e-12)


def test_conv2d_float32_stays_float32(rng):
    x = rng.random((2, 1, 8, 8)).astype(np.float32)
    params = nn.init.conv_params(rng, 1, 3, 3)
    assert nn.conv2d(params, x).dtype == np.float32


def test_conv2d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 3, 9, 9))
    params = {"w": rng.normal(size=(5, 3, 5, 5)), "b": rng.normal(size=5)}
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(params["w"]),
                                          torch.tensor(params["b"]), padding=2).numpy()
    np.testing.assert_allclose(nn.conv2d(params, x, padding=2), expected, atol=1e-10)


@pytest.mark.parametrize("padding", [0, 1])
def test_conv2d_gradients(rng, padding):
    x = rng.normal(size=(2, 2, 5, 6))
    params = {"w": rng.normal(size=(3, 2, 3, 3)), "b": rng.normal(size=3)}
    check_grads(lambda x, w, b: nn.conv2d({"w": w, "b": b}, x, padding=padding),
                modes=["rev"], order=1)(x, params["w"], params["b"])


def test_col2im_is_the_adjoint_of_im2col(rng):
    x = rng.normal(size=(2, 3, 6, 5))
    cols = rng.normal(size=nn.im2col(x, (3, 2), 1).shape)
    lhs = np.sum(nn.im2col(x, (3, 2), 1) * cols)
    rhs = np.sum(x * col2im(cols, x.shape, (3, 2), 1))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_dense_and_gradients(rng):
    x = rng.normal(size=(4, 3))
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    np.testing.assert_allclose(nn.dense(params, x), x @ params["w"] + params["b"])
    check_grads(lambda x, w, b: nn.dense({"w": w, "b": b}, x), modes=["rev"], order=1)(
        x, params["w"], params["b"])


def test_max_pool_values_and_gradients(rng):
    x = rng.normal(size=(2, 3, 7, 6))  # odd height: the last row is dropped
    out = nn.max_pool(x, 2)
    expected = x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out, expected)
    check_grads(lambda x: nn.max_pool(x, 2), modes=["rev"], order=1)(x)
    check_grads(lambda x: nn.max_pool(x, 3), modes=["rev"], order=1)(x)


def test_max_pool_gradient_goes_to_first_maximum_on_ties():
    from autograd import grad
    x = np.ones((1, 1, 2, 2))
    g = grad(lambda x: np.sum(nn.max_pool(x, 2)))(x)
    np.testing.assert_array_equal(g[0, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_relu_and_flatten_gradients(rng):
    x = rng.normal(size=(3, 2, 2, 2))
    x[np.abs(x) < 0.1] = 0.5  # keep away from the kink
    check_grads(nn.relu, modes=["rev"], order=1)(x)
    check_grads(nn.flatten, modes=["rev"], order=1)(x)
    assert nn.flatten(x).shape == (3, 8)


def test_dropout_is_deterministic_and_unbiased(rng):
    x = np.ones((200, 50))
    a = nn.dropout(x, 0.3, np.random.default_rng(5))
    b = nn.dropout(x, 0.3, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 1.0) < 0.05
    assert nn.dropout(x, 0.3, None) is x
    mask_rng = np.random.default_rng(1)
    check_grads(lambda x: nn.dropout(x, 0.5, np.random.default_rng(1)), modes=["rev"], order=1)(
        mask_rng.normal(size=(4, 4)))
    with pytest.raises(ValueError, match="rate"):
        nn.dropout(x, 1.0, rng)


def test_shape_errors_name_layer_and_shapes(rng):
    conv = nn.init.conv_params(rng, 3, 4, 5)
    with pytest.raises(ValueError, match=r"conv1: .*\(N, 3, H, W\).*\(2, 1, 9, 9\)"):
        nn.conv2d(conv, np.zeros((2, 1, 9, 9)), name="conv1")
    with pytest.raises(ValueError, match=r"conv2d: .*smaller than the kernel"):
        nn.conv2d(conv, np.zeros((2, 3, 3, 3)))
    dense = nn.init.dense_params(rng, 10, 2)
    with pytest.raises(ValueError, match=r"head: .*\(N, 10\).*\(4, 9\)"):
        nn.dense(dense, np.zeros((4, 9)), name="head")
    with pytest.raises(ValueError, match=r"max_pool: .*\(2, 1\)"):
        nn.max_pool(np.zeros((2, 1)), 2)


def test_softmax_cross_entropy_value_and_gradient(rng):
    logits = rng.normal(size=(5, 4))
    labels = np.array([0, 1, 2, 3, 0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), labels]))
    assert nn.softmax_cross_entropy(logits, labels) == pytest.approx(expected)
    check_grads(lambda z: nn.softmax_cross_entropy(z, labels), modes=["rev"], order=1)(logits)
    with pytest.raises(ValueError, match="labels"):
        nn.softmax_cross_entropy(logits, np.array([0, 1, 2, 3, 4]))
    big = np.array([[1000.0, 0.0]])
    assert np.isfinite(nn.softmax_cross_entropy(big, np.array([1])))


@pytest.mark.parametrize("size", [0, -2])
def test_max_pool_size_must_be_positive(size):
    with pytest.raises(ValueError, match=rf"pool1: size must be >= 1, got {size}"):
        nn.max_pool(np.zeros((1, 1, 4, 4)), size, name="pool1")


@pytest.mark.parametrize("size", [2.0, "2", True])
def test_max_pool_size_must_be_an_integer(size):
    with pytest.raises(TypeError, match="max_pool: size must be an integer"):
        nn.max_pool(np.zeros((1, 1, 4, 4)), size)


def test_max_pool_of_size_one_is_the_identity():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    np.testing.assert_array_equal(nn.max_pool(x, 1), x)


def test_conv2d_padding_must_be_a_nonnegative_integer(rng):
    conv = nn.init.conv_params(rng, 1, 2, 3)
    x = np.zeros((1, 1, 6, 6))
    with pytest.raises(ValueError, match=r"conv1: padding must be >= 0, got -1"):
        nn.conv2d(conv, x, padding=-1, name="conv1")
    with pytest.raises(TypeError, match="conv2d: padding must be an integer"):
        nn.conv2d(conv, x, padding=1.5)
    assert nn.conv2d(conv, x, padding=1).shape == (1, 2, 6, 6)


def test_st_cnn_step_runs_in_float32_end_to_end(monkeypatch):
    """Every kernel of a float32 ST-CNN step sees float32; the loss and gradients are float32."""
    from autograd import value_and_grad

    from warpkit.nn import _conv_kernels, _pool_kernels

    seen = set()

    def recording(module, name):
        kernel = getattr(module, name)

        def record(*args):
            seen.update(str(a.dtype) for a in args if isinstance(a, np.ndarray))
            return kernel(*args)

        monkeypatch.setattr(module, name, record)

    for module, names in ((_conv_kernels, ("im2col", "col2im")),
                          (_pool_kernels, ("max_pool_forward", "max_pool_backward"))):
        for name in names:
            recording(module, name)
    model = nn.make_model("st-cnn", (1, 28, 28))
    params = model.init(np.random.default_rng(0))
    x = np.random.default_rng(1).random((2, 1, 28, 28), dtype=np.float32)
    loss, grads = value_and_grad(
        lambda p: nn.softmax_cross_entropy(model.apply(p, x), np.array([3, 7])))(params)
    assert seen == {"float32"}
    assert np.asarray(loss).dtype == np.float32
    leaves = [grads["st"]["out"]["w"], grads["st"]["out"]["b"]]
    leaves += [layer[key] for layer in grads["st"]["loc"] + grads["net"] for key in ("w", "b")]
    assert {leaf.dtype for leaf in leaves} == {np.dtype(np.float32)}


@pytest.mark.parametrize("stride, padding", [(2, 0), (2, 1), (3, 2)])
def test_conv2d_strides_match_torch(rng, stride, padding):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 3, 9, 10))
    params = {"w": rng.normal(size=(4, 3, 3, 3)), "b": rng.normal(size=4)}
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(params["w"]),
                                          torch.tensor(params["b"]), stride=stride,
                                          padding=padding).numpy()
    out = nn.conv2d(params, x, stride=stride, padding=padding)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_im2col_rejects_a_kernel_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"im2col: expected .*\(2, 1, 4, 4\) and \(2, 2, 2\)"):
        nn.im2col(np.zeros((2, 1, 4, 4)), (2, 2, 2))
