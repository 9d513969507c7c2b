"""Transform objects: geometry, inverses, composition, estimation, pixel <-> normalized."""

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import warpkit
from warpkit import AffineTransform, PerspectiveTransform, TpsTransform
from warpkit.coords import pixel_from_normalized
from warpkit.transforms import CompositeTransform

SETTINGS = settings(max_examples=30, deadline=None)
unit = st.floats(-1.0, 1.0)


@st.composite
def affines(draw):
    transform = AffineTransform(
        scale=(draw(st.floats(0.5, 2.0)), draw(st.floats(0.5, 2.0))),
        rotation=draw(st.floats(-np.pi, np.pi)), shear=draw(st.floats(-0.5, 0.5)),
        translation=(draw(st.floats(-5, 5)), draw(st.floats(-5, 5))))
    return transform


@st.composite
def perspectives(draw):
    matrix = draw(affines()).params.copy()
    matrix[2, :2] = [draw(st.floats(-0.05, 0.05)), draw(st.floats(-0.05, 0.05))]
    return PerspectiveTransform(matrix)


@st.composite
def tps_transforms(draw):
    controls = warpkit.control_point_grid(9) * 3.0
    offsets = np.array(draw(st.lists(st.floats(-0.3, 0.3), min_size=18, max_size=18)))
    return TpsTransform(controls, controls + offsets.reshape(9, 2))


POINTS = np.random.default_rng(0).uniform(-2, 2, size=(20, 2))


def test_geometric_parameters():
    t = AffineTransform(scale=(2.0, 3.0), rotation=np.pi / 2, shear=np.pi / 4,
                        translation=(1.0, -1.0))
    # scale, then shear (x += y), then rotate by 90 degrees ((x, y) -> (-y, x)), then move.
    x, y = 0.5, 0.25
    x, y = 2.0 * x, 3.0 * y
    x = x + y
    x, y = -y, x
    np.testing.assert_allclose(t([[0.5, 0.25]]), [[x + 1.0, y - 1.0]], atol=1e-12)
    assert t([[0.5, 0.25]]).shape == (1, 2) and t(np.zeros((3, 4, 2))).shape == (3, 4, 2)


@SETTINGS
@given(transform=st.one_of(affines(), perspectives(), tps_transforms()))
def test_transform_composed_with_its_inverse_is_the_identity(transform):
    for composite in (transform @ transform.inverse, transform.inverse @ transform):
        np.testing.assert_allclose(composite(POINTS), POINTS, atol=1e-8)


@SETTINGS
@given(a=st.one_of(affines(), perspectives(), tps_transforms()),
       b=st.one_of(affines(), perspectives(), tps_transforms()))
def test_composition_applies_the_right_operand_first(a, b):
    np.testing.assert_allclose((a @ b)(POINTS), a(b(POINTS)), rtol=1e-10, atol=1e-10)


def test_composition_types():
    a, p = AffineTransform(scale=2.0), PerspectiveTransform(np.eye(3))
    s = TpsTransform(warpkit.control_point_grid(4), warpkit.control_point_grid(4))
    assert type(a @ a) is AffineTransform
    assert type(a @ p) is PerspectiveTransform and type(p @ a) is PerspectiveTransform
    assert type(a @ s) is CompositeTransform and len((a @ s @ a).transforms) == 3


@SETTINGS
@given(transform=affines(), noise=st.floats(0.0, 0.1))
def test_affine_estimate_is_least_squares(transform, noise):
    rng = np.random.default_rng(1)
    src = rng.uniform(-10, 10, size=(12, 2))
    dst = transform(src) + noise * rng.standard_normal((12, 2))
    found = AffineTransform.estimate(src, dst)
    design = np.hstack([src, np.ones((12, 1))])
    reference = np.linalg.lstsq(design, dst, rcond=None)[0].T
    np.testing.assert_allclose(found.params[:2], reference, atol=1e-9)
    if noise == 0:
        np.testing.assert_allclose(found.params, transform.params, atol=1e-9)


@SETTINGS
@given(transform=perspectives())
def test_perspective_estimate_recovers_the_homography(transform):
    src = np.random.default_rng(2).uniform(0, 100, size=(8, 2))
    found = PerspectiveTransform.estimate(src, transform(src))
    expected = transform.params / transform.params[2, 2]
    np.testing.assert_allclose(found.params, expected, rtol=1e-7, atol=1e-8)


def test_tps_estimate_interpolates():
    src = np.random.default_rng(3).uniform(0, 10, size=(10, 2))
    dst = src + np.random.default_rng(4).normal(size=src.shape)
    np.testing.assert_allclose(TpsTransform.estimate(src, dst)(src), dst, atol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: AffineTransform.estimate([[0, 0], [1, 1], [2, 2.0]], [[0, 0], [1, 0], [0, 1.0]]),
     "one line"),
    (lambda: AffineTransform.estimate([[0, 0], [1, 1.0]], [[0, 0], [1, 0.0]]), "at least 3"),
    (lambda: AffineTransform.estimate(np.zeros((3, 2)), np.zeros((4, 2))), "shape"),
    (lambda: PerspectiveTransform.estimate([[0, 0], [1, 0], [2, 0], [0, 1.0]],
                                          [[0, 0], [1, 0], [0, 1], [1, 1.0]]), "degenerate"),
    (lambda: PerspectiveTransform.estimate(np.eye(3, 2), np.eye(3, 2)), "at least 4"),
    (lambda: PerspectiveTransform.estimate([[0, 0], [1, 0], [0, np.nan], [1, 1.0]],
                                          np.eye(4, 2)), "finite"),
    (lambda: TpsTransform.estimate([[0, 0], [1, 0], [1, 0.0]], np.eye(3, 2)), "duplicates"),
    (lambda: TpsTransform([[0, 0], [1, 0], [0, 1.0]], np.eye(3, 2), -1.0), "regularization"),
    (lambda: TpsTransform(np.eye(3, 2), np.eye(4, 2)), "same number"),
    (lambda: AffineTransform(np.eye(5)), r"shape \(3, 3\)"),
    (lambda: AffineTransform([[1, 0, 0], [0, 1, 0], [0.1, 0, 1]]), "last row"),
    (lambda: AffineTransform(np.eye(3), scale=2.0), "either"),
    (lambda: AffineTransform(np.zeros((2, 3))).inverse, "not invertible"),
    (lambda: PerspectiveTransform([[1, 0, 0], [0, 1, 0], [0, 0, np.inf]]), "finite"),
    (lambda: AffineTransform(scale=2.0).to_normalized((0, 4)), "input_size"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


SIZES = [((4, 6), (5, 3)), ((1, 7), (3, 1)), ((8, 8), None)]


@pytest.mark.parametrize("input_size, output_size", SIZES)
@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_to_normalized_gives_the_sampler_the_pixel_map(input_size, output_size,
                                                       align_corners, kind):
    rng = np.random.default_rng(5)
    matrix = np.eye(3) + rng.uniform(-0.3, 0.3, (3, 3))
    matrix[2] = [0.0, 0.0, 1.0] if kind == "affine" else [0.02, -0.03, 1.0]
    transform = (AffineTransform if kind == "affine" else PerspectiveTransform)(matrix)
    height, width = output_size or input_size
    size = (1, 1, height, width)
    normalized = transform.to_normalized(input_size, output_size, align_corners)
    if kind == "affine":
        grid = warpkit.affine_grid(normalized[None], size, align_corners)
    else:
        grid = warpkit.perspective_grid(normalized[None], size, align_corners=align_corners)
    # Where pixel (i, j) of the output reads, in input pixels: transform((j, i)) --
    # except along an axis of one pixel with align_corners, which reads its only pixel.
    out_pixels = np.stack(np.meshgrid(np.arange(width), np.arange(height)), axis=-1) * 1.0
    expected = transform(out_pixels)
    got = pixel_from_normalized(grid[0], input_size, align_corners)
    if align_corners:
        for axis, length in ((0, input_size[1]), (1, input_size[0])):
            if length == 1:
                expected[..., axis] = 0.0
    np.testing.assert_allclose(got, expected, atol=1e-10)
    back = type(transform).from_normalized(normalized, input_size, output_size, align_corners)
    if not (align_corners and 1 in input_size):
        np.testing.assert_allclose(back.params, transform.params, atol=1e-12)


def test_tps_to_normalized_on_square_images_is_the_same_map(align_corners):
    rng = np.random.default_rng(6)
    controls = rng.uniform(0, 7, size=(9, 2))
    spline = TpsTransform(controls, controls + rng.normal(scale=0.5, size=(9, 2)))
    normalized_controls, normalized_targets = spline.to_normalized((8, 8), (8, 8),
                                                                   align_corners)
    grid = warpkit.tps_grid(normalized_controls, normalized_targets[None], (1, 1, 8, 8),
                            align_corners=align_corners)
    out_pixels = np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), axis=-1)
    np.testing.assert_allclose(pixel_from_normalized(grid[0], (8, 8), align_corners),
                               spline(out_pixels), atol=1e-9)
    back = TpsTransform.from_normalized(normalized_controls, normalized_targets, (8, 8),
                                           align_corners=align_corners)
    np.testing.assert_allclose(back.control_points, spline.control_points, atol=1e-12)


def linear_image(height, width):
    """An image linear in the pixel coordinates: bilinear sampling is exact inside."""
    ys, xs = np.mgrid[:height, :width].astype(np.float64)
    return (0.3 * xs - 0.7 * ys + 2.0)[None, None]


@SETTINGS
@given(a=affines(), b=affines(), kind=st.sampled_from(["affine", "perspective"]))
@example(a=AffineTransform(np.eye(3)),  # once failed on a tap at the image edge
         b=AffineTransform([[0.54030231, -0.84147098, 0.0], [0.84147098, 0.54030231, 0.0],
                            [0.0, 0.0, 1.0]]),
         kind="perspective")
def test_warping_by_b_then_a_is_warping_by_a_at_b_inside(a, b, kind):
    # "Warping by T" moves the image content by T (pixels): the sampler reads T.inverse.
    size = (24, 24)
    image = linear_image(*size)
    a = AffineTransform(a.params @ np.diag([0.3, 0.3, 1]) + np.diag([0.7, 0.7, 0]))
    b = AffineTransform(b.params @ np.diag([0.3, 0.3, 1]) + np.diag([0.7, 0.7, 0]))
    a.params[:2, 2] *= 0.3
    b.params[:2, 2] *= 0.3
    if kind == "perspective":
        a = PerspectiveTransform(a.params + [[0, 0, 0], [0, 0, 0], [0.004, -0.003, 0]])

    def warp(img, t):
        if isinstance(t, AffineTransform):
            return warpkit.warp_affine(img, t.inverse.to_normalized(size)[None])
        return warpkit.warp_perspective(img, t.inverse.to_normalized(size)[None])

    twice = warp(warp(image, b), a)
    once = warp(image, a @ b)
    # Inside: output pixels whose intermediate point lies inside the image, and whose
    # four intermediate taps read source points inside the image too (there bilinear
    # sampling of a linear image is exact, so resampling twice loses nothing).
    pixels = np.stack(np.meshgrid(np.arange(24.0), np.arange(24.0)), axis=-1)
    middle = a.inverse(pixels)
    # (a 1e-3 pixel margin keeps rounding at the image edge out of the comparison)
    inside = np.all((middle >= 1e-3) & (middle <= 23 - 1e-3), axis=-1)
    for offset in ([0, 0], [0, 1], [1, 0], [1, 1]):
        source = b.inverse(np.floor(middle) + offset)
        inside &= np.all((source >= 1e-3) & (source <= 23 - 1e-3), axis=-1)
    assume(inside.sum() > 10)
    np.testing.assert_allclose(twice[0, 0][inside], once[0, 0][inside], atol=1e-9)


def test_inverse_accepts_invertible_maps_with_large_entries():
    # A large translation or a steep shear is invertible: only a singular
    # linear part (or homography) is refused.
    for transform in (AffineTransform(shear=np.deg2rad(89.999)),
                      AffineTransform(translation=(1e8, -3.0))):
        points = np.array([[1.0, 2.0], [-3.0, 0.5]])
        np.testing.assert_allclose(transform.inverse(transform(points)), points,
                                   rtol=0, atol=1e-9 * np.abs(transform(points)).max())
    with pytest.raises(ValueError, match="not invertible"):
        AffineTransform(np.array([[1.0, 2.0, 5.0], [2.0, 4.0, 0.0]])).inverse
