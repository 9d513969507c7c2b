"""warpkit.dask.fit_transform and pyramid: a known map is recovered over chunks."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import warpkit  # noqa: E402
import warpkit.dask as wd  # noqa: E402
from warpkit.dask._fit import loss_and_gradient  # noqa: E402


def _scene(size):
    """A smooth image of a few blobs, float32."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.zeros((size, size))
    for cx, cy, s in ((0.3, 0.35, 0.08), (0.65, 0.4, 0.12), (0.45, 0.7, 0.1), (0.75, 0.75, 0.05)):
        image += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    return image.astype(np.float32)


def _rigid(angle, shift):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[[c, -s, shift[0]], [s, c, shift[1]]]])


def test_loss_and_gradient_match_autograd_in_memory():
    import autograd
    import autograd.numpy as anp

    rng = np.random.default_rng(0)
    fixed = rng.random((1, 1, 20, 24))
    moving = rng.random((1, 1, 20, 24))
    theta = _rigid(0.1, (0.05, -0.02))

    def loss(t):
        return anp.mean((warpkit.warp_affine(moving, t) - fixed) ** 2)

    value, grad = loss_and_gradient(da.from_array(fixed, chunks=7),
                                    da.from_array(moving, chunks=(1, 1, 6, 9)), "affine", theta)
    assert abs(value - loss(theta)) <= 1e-12 * loss(theta)
    expected = autograd.grad(loss)(theta)
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_fit_recovers_a_rotation_and_shift_coarse_to_fine():
    size = 128
    fixed = _scene(size)
    truth = _rigid(0.05, (0.04, -0.03))
    moving = warpkit.warp_affine(fixed[None, None], np.linalg.inv(
        np.vstack([truth[0], [0, 0, 1]]))[None, :2], padding_mode="border")[0, 0]
    fit = wd.fit_transform(da.from_array(fixed, chunks=48), da.from_array(moving, chunks=40),
                           levels=3, steps=(60, 40, 30), padding_mode="border")
    assert fit.shapes == [(32, 32), (64, 64), (128, 128)]
    assert fit.losses[-1][-1] < 0.05 * fit.losses[0][0]
    # the error of the fitted map, in pixels, over the image
    ys, xs = np.mgrid[0:size, 0:size]
    points = np.stack([(2 * xs + 1) / size - 1, (2 * ys + 1) / size - 1, np.ones_like(xs)], -1)
    error = (points @ (fit.params[0] - truth[0]).T) * size / 2
    assert np.sqrt(np.mean(np.sum(error ** 2, -1))) < 0.1


def test_pyramid_levels_average_pairs():
    image = da.from_array(np.arange(64.0).reshape(1, 1, 8, 8), chunks=4)
    coarse, fine = wd.pyramid(image, 2)
    assert fine is image
    assert np.array_equal(coarse.compute()[0, 0, 0, :2], [4.5, 6.5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(model="tps"), "model must be"), (dict(loss="ncc"), "loss must be"),
    (dict(steps=(1, 2)), "steps must be"), (dict(params=np.full((1, 2, 3), np.nan)),
                                             "params must be finite"),
    (dict(levels=0), "levels must be"),
])
def test_bad_arguments_are_named(kwargs, match):
    image = da.ones((16, 16), chunks=8)
    with pytest.raises(ValueError, match=match):
        wd.fit_transform(image, image, **kwargs)
