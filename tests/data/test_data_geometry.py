"""The distortions against an independent computation with warpkit's transform objects.

Each test replays the random draws of a distortion, builds the pixel-space
map with :class:`~warpkit.AffineTransform` / :class:`~warpkit.PerspectiveTransform`
/ :class:`~warpkit.TpsTransform`, and samples it with the grid path
(``*_grid`` + :func:`warpkit.grid_sample`), which the fused warps of the
distortions do not use.
"""

import numpy as np
import pytest

import warpkit
from warpkit import AffineTransform, PerspectiveTransform, TpsTransform
from warpkit.data import (
    distort_cluttered,
    distort_e,
    distort_p,
    distort_r,
    distort_rts,
    warp_image_file,
)

SIZE = 12
CENTRE = np.array([(SIZE - 1) / 2.0, (SIZE - 1) / 2.0])
CORNERS = np.array([[-0.5, -0.5], [SIZE - 0.5, -0.5], [SIZE - 0.5, SIZE - 0.5], [-0.5, SIZE - 0.5]])


def images(count=5, size=SIZE):
    return np.random.default_rng(42).random((count, 2, size, size))


def about(point, transform):
    """``transform`` acting about ``point``: ``T(p) @ transform @ T(-p)``."""
    return (AffineTransform(translation=point) @ transform
            @ AffineTransform(translation=-np.asarray(point)))


def sample_affine(batch, input_from_output, out_size):
    theta = np.stack([t.to_normalized(batch.shape[2:], out_size) for t in input_from_output])
    grid = warpkit.affine_grid(theta, batch.shape[:2] + tuple(out_size))
    return warpkit.grid_sample(batch, grid)


def assert_same_image(actual, expected):
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9 * scale)


def test_distort_r_is_an_affine_transform_rotation():
    batch = images()
    rng = np.random.default_rng(7)
    angles = np.deg2rad(rng.uniform(-90.0, 90.0, size=len(batch)))
    maps = [about(CENTRE, AffineTransform(rotation=-a)) for a in angles]
    assert_same_image(distort_r(batch, 7), sample_affine(batch, maps, (SIZE, SIZE)))


def test_distort_rts_is_an_affine_transform_similarity():
    batch = images()
    canvas = 20
    rng = np.random.default_rng(8)
    n = len(batch)
    angles = np.deg2rad(rng.uniform(-45.0, 45.0, size=n))
    scales = rng.uniform(0.7, 1.2, size=n)
    room = np.maximum(canvas - scales * SIZE, 0.0)[:, None] / 2.0
    offsets = room * rng.uniform(-1.0, 1.0, size=(n, 2))
    out_centre = np.full(2, (canvas - 1) / 2.0)
    maps = [
        AffineTransform(translation=CENTRE)
        @ AffineTransform(scale=1.0 / s, rotation=-a)
        @ AffineTransform(translation=-(out_centre + o))
        for a, s, o in zip(angles, scales, offsets)
    ]
    expected = sample_affine(batch, maps, (canvas, canvas))
    assert_same_image(distort_rts(batch, 8, canvas=canvas), expected)


def test_distort_p_is_a_perspective_transform():
    batch = images()
    sigma = 0.5  # small enough that no draw folds the frame (nothing is redrawn)
    rng = np.random.default_rng(9)
    scales = rng.uniform(0.75, 1.0, size=len(batch))
    moved = CENTRE + scales[:, None, None] * (CORNERS - CENTRE)
    moved = moved + rng.normal(0.0, sigma, size=moved.shape)
    # The forward map takes the frame's corners to the moved corners.
    homographies = np.stack([
        PerspectiveTransform.estimate(CORNERS, quad).inverse.to_normalized((SIZE, SIZE))
        for quad in moved
    ])
    grid = warpkit.perspective_grid(homographies, batch.shape)
    assert_same_image(distort_p(batch, 9, sigma=sigma), warpkit.grid_sample(batch, grid))


def test_distort_e_is_a_tps_transform():
    batch = images()
    rng = np.random.default_rng(10)
    scales = rng.uniform(0.75, 1.0, size=len(batch))
    # The 4x4 control points in pixels: the frame's edges, every third of the way.
    axis = np.linspace(-0.5, SIZE - 0.5, 4)
    controls = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    jitter = rng.normal(0.0, 1.5, size=(len(batch),) + controls.shape)
    grids = []
    for scale, shift in zip(scales, jitter):
        spline = TpsTransform(controls, CENTRE + (controls + shift - CENTRE) / scale)
        points, targets = spline.to_normalized((SIZE, SIZE))  # exact: the image is square
        grids.append(warpkit.tps_grid(points, targets[None], (1, 2, SIZE, SIZE))[0])
    expected = warpkit.grid_sample(batch, np.stack(grids))
    assert_same_image(distort_e(batch, 10), expected)


def test_distort_cluttered_image_is_a_whole_pixel_translation():
    # As in DeepMind's generator, the image is copied onto the canvas at a whole-pixel place.
    batch = images()
    out = distort_cluttered(batch, 11, canvas=30, distractors=0)
    assert out.shape == (len(batch), 2, 30, 30)
    for image, placed in zip(batch, out):
        rows, cols = np.nonzero(placed.any(axis=0))
        top, left = rows.min(), cols.min()
        expected = np.zeros_like(placed)
        expected[:, top:top + SIZE, left:left + SIZE] = image
        np.testing.assert_array_equal(placed, expected)


def bright_spot(offset, size=29):
    """A small Gaussian spot (1, 1, size, size) at ``offset`` (x, y) pixels from the centre."""
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    return np.exp(-((x - offset[0]) ** 2 + (y - offset[1]) ** 2) / 2.0)[None, None]


def centroid_offset(image):
    size = image.shape[-1]
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    return np.array([(x * image).sum(), (y * image).sum()]) / image.sum()


@pytest.mark.parametrize("distort", [distort_r, distort_rts])
def test_rotation_sign_is_the_one_of_affine_transform(distort):
    # A spot 8 px right of the centre, turned by the drawn angle a: it lands
    # where AffineTransform(rotation=a) sends (8, 0), i.e. at (8 cos a, 8 sin a),
    # below the centre (clockwise on screen) for a > 0.
    spot = np.repeat(bright_spot((8.0, 0.0)), 6, axis=0)
    angles = np.deg2rad(np.random.default_rng(3).uniform(-30.0, 30.0, size=6))
    assert np.abs(np.sin(angles)).min() * 8.0 > 0.5  # the mirror image is far away
    if distort is distort_r:
        out = distort(spot, 3, max_angle=30.0)
    else:
        out = distort(spot, 3, max_angle=30.0, scale=(1.0, 1.0), canvas=29)
    for item, angle in zip(out[:, 0], angles):
        expected = AffineTransform(rotation=angle)([[8.0, 0.0]])[0]
        np.testing.assert_allclose(centroid_offset(item), expected, atol=0.05)


def test_warp_image_file_rotation_is_an_affine_transform(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(0).random((SIZE, SIZE)).astype(np.float32)
    src = tmp_path / "in.tiff"
    image_module.fromarray(pixels).save(src)  # mode "F"
    warped = warp_image_file(src, tmp_path / "out.tiff", rotate=30.0, scale=1.5)
    forward = about(CENTRE, AffineTransform(scale=1.5, rotation=np.deg2rad(30.0)))
    expected = sample_affine(pixels[None, None].astype(np.float64), [forward.inverse],
                             (SIZE, SIZE))[0]
    assert_same_image(warped, expected)


def test_warp_image_file_spline_is_exact_after_an_affine_map(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(1).random((SIZE, SIZE)).astype(np.float32)
    src = tmp_path / "in.tiff"
    image_module.fromarray(pixels).save(src)  # mode "F"
    warped = warp_image_file(src, tmp_path / "out.tiff", rotate=20.0, tps_jitter=0.05, seed=4)
    # Output points go through the spline first, then through the affine map.
    controls = warpkit.control_point_grid(16)
    targets = controls + np.random.default_rng(4).normal(0.0, 0.1, size=controls.shape)
    bent = warpkit.tps_grid(controls, targets[None], (1, 1, SIZE, SIZE))
    forward = about(CENTRE, AffineTransform(rotation=np.deg2rad(20.0)))
    theta = forward.inverse.to_normalized((SIZE, SIZE))
    grid = bent @ theta[:, :2].T + theta[:, 2]
    expected = warpkit.grid_sample(pixels[None, None].astype(np.float64), grid)[0]
    assert_same_image(warped, expected)


def test_homography_sign_puts_the_quadrilateral_in_front():
    from warpkit.data._geometry import homography

    # A map whose horizon (w = 0, the line x = 50) separates pixel (0, 0)
    # from a quadrilateral near x = 100: normalized to params[2, 2] = 1, it
    # has w < 0 on the quadrilateral, where the warps would read nothing.
    true = PerspectiveTransform([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-0.02, 0.0, 1.0]])
    src = np.array([[95.0, 0.0], [105.0, 0.0], [105.0, 10.0], [95.0, 10.0]])
    dst = true(src)
    found = homography(src, dst)
    np.testing.assert_allclose(found(src), dst, rtol=0, atol=1e-9 * np.abs(dst).max())
    assert found.params[2] @ [100.0, 5.0, 1.0] > 0


def test_about_centre_maps_are_the_affine_transform_objects():
    from warpkit.data._geometry import about_centre_maps

    rng = np.random.default_rng(12)
    count, in_size, out_size = 6, (12, 20), (30, 26)  # (height, width): x and y differ
    scales = rng.uniform(0.5, 2.0, size=count)
    angles = rng.uniform(-np.pi, np.pi, size=count)
    offsets = rng.uniform(-5.0, 5.0, size=(count, 2))
    in_centre, out_centre = np.array([9.5, 5.5]), np.array([12.5, 14.5])  # (x, y)
    maps = about_centre_maps(in_size, out_size, scales, angles, offsets)
    assert maps.shape == (count, 3, 3)
    for matrix, scale, angle, offset in zip(maps, scales, angles, offsets):
        expected = (AffineTransform(translation=out_centre + offset)
                    @ AffineTransform(scale=scale, rotation=angle)
                    @ AffineTransform(translation=-in_centre)).params
        np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-13 * np.abs(expected).max())


def convex_quads(rng, count, size):
    """``count`` convex quadrilaterals (count, 4, 2): the frame's corners, shrunk and jittered."""
    height, width = size
    corners = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                        [-0.5, height - 0.5]])
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    scales = rng.uniform(0.6, 1.0, size=(count, 1, 1))
    return centre + scales * (corners - centre) + rng.normal(0.0, 1.5, size=(count, 4, 2))


def test_quad_homographies_are_the_estimated_perspective_transforms():
    from warpkit.data._geometry import homography, quad_homographies

    rng = np.random.default_rng(13)
    size = (14, 22)
    src, dst = convex_quads(rng, 6, size), convex_quads(rng, 6, size)
    # The sign case of test_homography_sign_puts_the_quadrilateral_in_front:
    # w = 0 on x = 50, between pixel (0, 0) and the quadrilateral.
    far = np.array([[95.0, 0.0], [105.0, 0.0], [105.0, 10.0], [95.0, 10.0]])
    src = np.concatenate([src, far[None]])
    dst = np.concatenate([dst, PerspectiveTransform([[1.0, 0, 0], [0, 1.0, 0],
                                                     [-0.02, 0, 1.0]])(far)[None]])
    maps = quad_homographies(src, dst)
    assert maps.shape == (len(src), 3, 3)
    for matrix, quad, target in zip(maps, src, dst):
        found = PerspectiveTransform(matrix)
        # The same map: the corners and points inside land where the estimate puts them.
        points = np.concatenate([quad, 0.25 * quad + 0.75 * quad.mean(axis=0)])
        expected = homography(quad, target)(points)
        np.testing.assert_allclose(found(points), expected, rtol=0,
                                   atol=1e-10 * np.abs(expected).max())
        assert matrix[2] @ np.append(quad.mean(axis=0), 1.0) > 0  # the quad in front


@pytest.mark.parametrize("kind", [AffineTransform, PerspectiveTransform])
def test_warp_pixel_maps_uses_the_transforms_normalized_matrices(kind):
    from warpkit.data._geometry import quad_homographies, warp_pixel_maps

    batch = np.random.default_rng(14).random((3, 2, 10, 16))
    out_size = (13, 9)  # a different, rectangular output: height and width matter
    rng = np.random.default_rng(15)
    if kind is AffineTransform:
        maps = np.stack([AffineTransform(scale=s, rotation=a, translation=t).params
                         for s, a, t in zip(rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3),
                                            rng.uniform(-3, 3, (3, 2)))])
    else:
        maps = quad_homographies(convex_quads(rng, 3, out_size), convex_quads(rng, 3, (10, 16)))
    out = warp_pixel_maps(batch, maps, out_size, affine=kind is AffineTransform)
    assert out.shape == (3, 2) + out_size
    transforms = [kind(matrix) for matrix in maps]
    if kind is AffineTransform:
        expected = sample_affine(batch, transforms, out_size)
    else:
        homographies = np.stack([t.to_normalized(batch.shape[2:], out_size) for t in transforms])
        grid = warpkit.perspective_grid(homographies, batch.shape[:2] + out_size)
        expected = warpkit.grid_sample(batch, grid)
    assert_same_image(out, expected)
