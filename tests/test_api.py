"""The public surface: names, real signatures, one vocabulary, ``warpkit.warp``."""

import inspect

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import warpkit
from warpkit import dispatch, families
from warpkit.transforms import CompositeTransform

FUNCTIONS = [getattr(warpkit, name) for name in warpkit.__all__
             if inspect.isfunction(getattr(warpkit, name))]


def test_package_docstring_names_every_public_name():
    for name in warpkit.__all__:
        assert f"`{name}`" in warpkit.__doc__ or f":func:`{name}`" in warpkit.__doc__, name


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_public_functions_show_their_real_parameters(function):
    parameters = inspect.signature(function).parameters
    kinds = {p.kind for p in parameters.values()}
    assert inspect.Parameter.VAR_POSITIONAL not in kinds
    assert inspect.Parameter.VAR_KEYWORD not in kinds
    arrays = {"input", "theta", "count", "control_points", "homography", "flow", "velocity"}
    assert arrays & set(parameters) or list(parameters)[:2] == ["a", "b"]
    assert function.__doc__ and "Examples" in function.__doc__


@pytest.mark.parametrize("name", ["warp", "warp_affine", "warp_perspective", "warp_tps",
                                  "perspective_grid", "tps_grid",
                                  "warp_affine_vjp", "warp_perspective_vjp", "warp_tps_vjp"])
def test_options_after_size_are_keyword_only(name):
    parameters = inspect.signature(getattr(warpkit, name)).parameters
    names = list(parameters)
    after_size = names[names.index("size") + 1:]
    assert after_size and all(parameters[n].kind is inspect.Parameter.KEYWORD_ONLY
                              for n in after_size)


def test_torch_signatures_are_kept():
    assert list(inspect.signature(warpkit.grid_sample).parameters) == [
        "input", "grid", "mode", "padding_mode", "align_corners"]
    assert list(inspect.signature(warpkit.affine_grid).parameters)[:2] == ["theta", "size"]


def test_one_registry_of_families():
    assert set(dispatch.WARPS) == set(families.FAMILIES) == {"affine", "perspective", "tps"}
    assert set(dispatch.FAMILY_OF.values()) == set(families.FAMILIES)
    for name, warp in dispatch.WARPS.items():
        assert warp is getattr(warpkit, f"warp_{name}")
        assert getattr(warpkit, f"warp_{name}_vjp").__name__ == f"warp_{name}_vjp"


# ------------------------------------------------------------------ warp()


@pytest.fixture
def image():
    return np.random.default_rng(0).random((2, 3, 6, 7))


@pytest.mark.parametrize("align_corners", [False, True])
def test_warp_runs_each_family_fused(image, align_corners):
    options = dict(mode="bicubic", padding_mode="border", align_corners=align_corners)
    affine = warpkit.AffineTransform(rotation=0.3, translation=(0.5, -1.0))
    theta = affine.to_normalized((6, 7), (5, 4), align_corners)
    np.testing.assert_array_equal(
        warpkit.warp(image, affine, (5, 4), **options),
        warpkit.warp_affine(image, np.stack([theta, theta]), (5, 4), **options))
    corners = np.array([[0.0, 0.0], [6.0, 0.0], [6.0, 5.0], [0.0, 5.0]])
    perspective = warpkit.PerspectiveTransform.estimate(corners, corners * 0.9 + 0.3)
    hom = perspective.to_normalized((6, 7), None, align_corners)
    np.testing.assert_array_equal(warpkit.warp(image, [perspective, perspective], **options),
                                  warpkit.warp_perspective(image, np.stack([hom, hom]),
                                                           **options))
    spline = warpkit.TpsTransform(corners, corners + [[0.3, 0], [0, 0.2], [0, 0], [-0.1, 0]],
                                  regularization=0.01)
    controls, targets = spline.to_normalized((6, 7), None, align_corners)
    np.testing.assert_array_equal(
        warpkit.warp(image, spline, **options),
        warpkit.warp_tps(image, controls, np.stack([targets, targets]), regularization=0.01,
                         **options))


def test_warp_by_any_other_transform_samples_its_grid(image):
    shift = warpkit.AffineTransform(translation=(1.0, 0.5))
    composite = CompositeTransform([shift])  # not a family: evaluated per pixel
    np.testing.assert_allclose(warpkit.warp(image, composite), warpkit.warp(image, shift),
                               rtol=0, atol=1e-12 * np.abs(image).max())


def test_warp_per_sample_transforms_and_gradients(image):
    shifts = [warpkit.AffineTransform(translation=(1.0, 0.0)),
              warpkit.AffineTransform(translation=(0.0, 1.0))]
    out = warpkit.warp(image, shifts)
    tolerance = dict(rtol=0, atol=1e-12 * np.abs(image).max())  # the normalized round trip
    np.testing.assert_allclose(out[0, :, :, :-1], image[0, :, :, 1:], **tolerance)
    np.testing.assert_allclose(out[1, :, :-1], image[1, :, 1:], **tolerance)
    grad = autograd.grad(lambda x: anp.sum(warpkit.warp(x, shifts) ** 2))(image)
    expected = np.zeros_like(image)
    expected[0, :, :, 1:] = 2 * image[0, :, :, 1:]
    expected[1, :, 1:] = 2 * image[1, :, 1:]
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-12)


def test_warp_empty_batch(image):
    assert warpkit.warp(image[:0], warpkit.AffineTransform()).shape == (0, 3, 6, 7)


@pytest.mark.parametrize("transform, error, message", [
    (lambda: [warpkit.AffineTransform()], ValueError, "one per sample"),
    (lambda: [warpkit.AffineTransform(), warpkit.PerspectiveTransform()], TypeError,
     "one class"),
    (lambda: 3.0, TypeError, "transform must be a transform object"),
])
def test_warp_refuses_bad_transforms(image, transform, error, message):
    with pytest.raises(error, match=message):
        warpkit.warp(image, transform())
