"""The convolution primitive (chunked im2col + BLAS): values, gradients, dtypes, torch parity."""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from warpkit.nn import _conv

#: (x shape, weight shape, padding, stride): images and volumes.
GEOMETRIES = [
    ((3, 2, 7, 6), (4, 2, 3, 2), 0, 1),
    ((3, 2, 7, 6), (4, 2, 3, 3), 1, 1),
    ((2, 3, 9, 8), (2, 3, 3, 3), 2, 2),
    ((2, 2, 6, 5, 7), (3, 2, 3, 2, 3), 1, 2),
]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=[None, 1, 2], ids=["one chunk", "chunks of 1", "chunks of 2"])
def chunked(request, monkeypatch):
    """The batch in one chunk, in chunks of one sample, and of two (the last one shorter)."""
    if request.param is not None:
        step = request.param
        monkeypatch.setattr(_conv, "_chunks", lambda count, per_sample: [
            slice(start, min(start + step, count)) for start in range(0, count, step)])


@pytest.mark.parametrize("count, per_sample, limit, expected", [
    (5, 10, 20, [(0, 2), (2, 4), (4, 5)]),
    (3, 10, 1000, [(0, 3)]),
    (2, 10_000, 20, [(0, 1), (1, 2)]),
])
def test_chunks_hold_about_chunk_elements(monkeypatch, count, per_sample, limit, expected):
    monkeypatch.setattr(_conv, "CHUNK_ELEMENTS", limit)
    assert [(c.start, c.stop) for c in _conv._chunks(count, per_sample)] == expected


def direct_convolution(x, w, b, padding, stride):
    """Cross-correlation by an explicit loop over output positions (float64)."""
    dims = x.ndim - 2
    x = np.pad(x, ((0, 0), (0, 0)) + ((padding, padding),) * dims)
    kernel = w.shape[2:]
    out_size = tuple((s - k) // stride + 1 for s, k in zip(x.shape[2:], kernel))
    out = np.empty((x.shape[0], w.shape[0]) + out_size)
    for position in np.ndindex(*out_size):
        window = tuple(slice(p * stride, p * stride + k) for p, k in zip(position, kernel))
        patch = x[(slice(None), slice(None)) + window].reshape(x.shape[0], -1)
        out[(slice(None), slice(None)) + position] = patch @ w.reshape(w.shape[0], -1).T + b
    return out


def random_problem(rng, x_shape, w_shape, dtype=np.float64):
    return (rng.normal(size=x_shape).astype(dtype), rng.normal(size=w_shape).astype(dtype),
            rng.normal(size=w_shape[0]).astype(dtype))


@pytest.mark.parametrize("x_shape, w_shape, padding, stride", GEOMETRIES)
def test_convolve_matches_a_direct_loop(rng, chunked, x_shape, w_shape, padding, stride):
    x, w, b = random_problem(rng, x_shape, w_shape)
    out = _conv.convolve(x, w, b, padding, stride)
    expected = direct_convolution(x, w, b, padding, stride)
    assert out.shape == expected.shape and out.flags.c_contiguous
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("x_shape, w_shape, padding, stride", GEOMETRIES)
def test_vjp_satisfies_the_adjoint_identities(rng, chunked, x_shape, w_shape, padding, stride):
    """<conv(x) - b, g> = <x, dx(g)> and <conv_w(x) - b, g> = <w, dw(g)> (linear maps)."""
    x, w, b = random_problem(rng, x_shape, w_shape)
    out = _conv.convolve(x, w, b, padding, stride)
    g = rng.normal(size=out.shape)
    dx, dw, db = _conv.convolve_vjp(x, w, b, g, padding, stride)
    linear = out - b.reshape((-1,) + (1,) * (out.ndim - 2))
    scale = np.abs(linear * g).sum()
    assert np.sum(linear * g) == pytest.approx(np.sum(x * dx), rel=0, abs=1e-12 * scale)
    assert np.sum(linear * g) == pytest.approx(np.sum(w * dw), rel=0, abs=1e-12 * scale)
    np.testing.assert_allclose(db, g.sum(axis=(0, *range(2, g.ndim))), rtol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, padding, stride", GEOMETRIES[1:3])
def test_gradients_numerically(rng, chunked, x_shape, w_shape, padding, stride):
    x, w, b = random_problem(rng, x_shape, w_shape)
    check_grads(lambda x, w, b: _conv.convolve(x, w, b, padding, stride),
                modes=["rev"], order=1)(x, w, b)


def test_vjp_computes_only_what_is_asked(rng):
    x, w, b = random_problem(rng, (2, 2, 5, 5), (3, 2, 3, 3))
    g = rng.normal(size=(2, 3, 3, 3))
    assert [v is None for v in _conv.convolve_vjp(x, w, b, g, 0, 1, wrt=("w",))] == [
        True, False, True]
    full = _conv.convolve_vjp(x, w, b, g, 0, 1)
    only_x = _conv.convolve_vjp(x, w, b, g, 0, 1, wrt=("x",))[0]
    np.testing.assert_array_equal(only_x, full[0])


def test_float32_stays_float32_and_agrees_with_float64(rng):
    x, w, b = random_problem(rng, (3, 2, 9, 8), (4, 2, 3, 3))
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    out = _conv.convolve(x32, w32, b32, 1, 1)
    assert out.dtype == np.float32
    expected = _conv.convolve(x, w, b, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    g = rng.normal(size=out.shape)
    grads32 = _conv.convolve_vjp(x32, w32, b32, g.astype(np.float32), 1, 1)
    grads64 = _conv.convolve_vjp(x, w, b, g, 1, 1)
    for got, want in zip(grads32, grads64):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_mixed_dtypes_compute_in_float64_and_return_each_dtype(rng):
    x, w, b = random_problem(rng, (2, 1, 6, 6), (2, 1, 3, 3))
    w32 = w.astype(np.float32)
    assert _conv.convolve(x, w32, b, 0, 1).dtype == np.float64
    dx, dw = grad(lambda x, w: np.sum(_conv.convolve(x, w, b, 0, 1) ** 2), (0, 1))(x, w32)
    assert dx.dtype == np.float64 and dw.dtype == np.float32


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.float16, np.float32),
                                             (np.int16, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float64)])
def test_compute_dtype(dtype, expected):
    assert _conv.compute_dtype(np.zeros(1, dtype), np.zeros(1, np.float32)) == expected


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="real arrays.*complex"):
        _conv.compute_dtype(np.zeros(1, np.complex64))


def test_second_derivatives_are_refused(rng):
    x, w, b = random_problem(rng, (1, 1, 4, 4), (1, 1, 2, 2))
    first = grad(lambda w: np.sum(_conv.convolve(x, w, b, 0, 1) ** 2))
    with pytest.raises(NotImplementedError, match="second-order derivatives of conv"):
        grad(lambda w: np.sum(first(w)))(w)


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("x_shape, w_shape, padding, stride", GEOMETRIES)
def test_matches_torch_values_and_gradients(rng, dtype, tolerance, x_shape, w_shape, padding,
                                            stride):
    torch = pytest.importorskip("torch")
    conv = torch.nn.functional.conv2d if len(x_shape) == 4 else torch.nn.functional.conv3d
    x, w, b = random_problem(rng, x_shape, w_shape, dtype)
    out = _conv.convolve(x, w, b, padding, stride)
    g = rng.normal(size=out.shape).astype(dtype)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    expected = conv(*tensors, padding=padding, stride=stride)
    expected.backward(torch.tensor(g))
    pairs = [(out, expected.detach().numpy())]
    pairs += list(zip(_conv.convolve_vjp(x, w, b, g, padding, stride),
                      [t.grad.numpy() for t in tensors]))
    for got, want in pairs:
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance * np.abs(want).max())
