"""The max-pooling Numba kernels (through nn.max_pool / max_pool3d) against NumPy and torch."""

import itertools

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from warpkit import nn


def reference_max_pool(x, size):
    """Window maxima by a reshape (partial windows dropped), NaN-propagating like np.max."""
    dims = x.ndim - 2
    kept = x[(slice(None), slice(None)) + tuple(slice(0, s // size * size) for s in x.shape[2:])]
    shape = x.shape[:2] + sum(((s // size, size) for s in kept.shape[2:]), ())
    return kept.reshape(shape).max(axis=tuple(3 + 2 * i for i in range(dims)))


def reference_max_pool_grad(x, size, g):
    """Each gradient to the first element of its window (in (d, h, w) order) equal to its max."""
    out = reference_max_pool(x, size)
    grad_x = np.zeros_like(x)
    for index in np.ndindex(*out.shape):
        for offset in itertools.product(range(size), repeat=x.ndim - 2):
            position = index[:2] + tuple(i * size + o for i, o in zip(index[2:], offset))
            if x[position] == out[index]:
                grad_x[position] = g[index]
                break
    return grad_x


POOLS = {4: nn.max_pool, 5: nn.max_pool3d}
SHAPES = [(2, 3, 7, 6), (1, 2, 8, 9), (2, 2, 5, 7, 6)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_matches_numpy(dtype, size, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    x.flat[::7] = np.round(x.flat[::7])  # some ties
    pool = POOLS[len(shape)]
    out = pool(x, size)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, reference_max_pool(x, size))
    g = rng.normal(size=out.shape).astype(dtype)
    grad_x = grad(lambda x: np.sum(pool(x, size) * g))(x)
    assert grad_x.dtype == dtype
    np.testing.assert_array_equal(grad_x, reference_max_pool_grad(x, size, g))


def test_ties_send_the_gradient_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = [[1.0, 3.0], [3.0, 3.0]]
    g = grad(lambda x: np.sum(nn.max_pool(x, 2)))(x)
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1.0
    np.testing.assert_array_equal(g[0, 0], expected)


def test_nan_propagates_and_takes_no_gradient():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan   # not the first of its window: must still win
    out = nn.max_pool(x, 2)
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 0, 1])
    g = grad(lambda x: np.sum(nn.max_pool(x, 2)))(x)
    assert np.all(g[0, 0, :2, :2] == 0) and g.sum() == 3.0


def test_an_infinite_gradient_stays_at_the_maximum():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    g = np.full((1, 1, 2, 2), np.inf)
    grad_x = grad(lambda x: np.sum(nn.max_pool(x, 2) * g))(x)
    assert np.isinf(grad_x).sum() == 4 and np.all(grad_x[~np.isinf(grad_x)] == 0)


def test_non_contiguous_and_integer_inputs():
    x = np.arange(2 * 3 * 8 * 6).reshape(2, 3, 6, 8).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(nn.max_pool(x, 2), reference_max_pool(x.astype(float), 2))
    assert nn.max_pool(x, 2).dtype == np.float64


@pytest.mark.parametrize("shape", [(2, 2, 5, 6), (1, 2, 4, 5, 4)])
def test_max_pool_gradients_numerically(shape):
    x = np.random.default_rng(1).normal(size=shape)
    check_grads(lambda x: POOLS[len(shape)](x, 2), modes=["rev"], order=1)(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [2, 3])
def test_max_pool_matches_torch(dtype, size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 11, 10)).astype(dtype)
    out = nn.max_pool(x, size)
    g = rng.normal(size=out.shape).astype(dtype)
    tensor = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(tensor, size)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out, expected.detach().numpy())
    np.testing.assert_array_equal(grad(lambda x: np.sum(nn.max_pool(x, size) * g))(x),
                                  tensor.grad.numpy())
