"""3-D transform objects: 4x4 matrices, estimation, inverse, composition, pixel <-> normalized,
and warp(volume, transform) by transform object."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warpkit
from warpkit import AffineTransform, PerspectiveTransform, TpsTransform
from warpkit.coords import normalize, normalized_from_pixel, unnormalize
from warpkit.dispatch import warp
from warpkit.transforms import (
    CompositeTransform,
    normalized_from_pixel_matrix,
    pixel_from_normalized_matrix,
)

SETTINGS = settings(max_examples=10, deadline=None)
POINTS = np.random.default_rng(0).uniform(-2, 2, size=(20, 3))


@st.composite
def affines(draw):
    return AffineTransform(
        scale=tuple(draw(st.floats(0.5, 2.0)) for _ in range(3)),
        rotation=tuple(draw(st.floats(-2.0, 2.0)) for _ in range(3)),
        translation=tuple(draw(st.floats(-5, 5)) for _ in range(3)))


@st.composite
def perspectives(draw):
    matrix = draw(affines()).params.copy()
    matrix[3, :3] = [draw(st.floats(-0.05, 0.05)) for _ in range(3)]
    return PerspectiveTransform(matrix)


@st.composite
def splines(draw):
    controls = warpkit.control_point_grid(8, dims=3) * 3.0
    offsets = np.array(draw(st.lists(st.floats(-0.3, 0.3), min_size=24, max_size=24)))
    return TpsTransform(controls, controls + offsets.reshape(8, 3))


def rotation_about(axis, angle):
    """The rotation matrix about a unit ``axis`` by ``angle``, from its definition:
    the part along the axis stays, the perpendicular part turns by ``angle`` towards
    ``axis x p`` (the right-hand rule)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    columns = []
    for p in np.eye(3):
        along = axis * (axis @ p)
        across = p - along
        columns.append(along + np.cos(angle) * across + np.sin(angle) * np.cross(axis, p))
    return np.stack(columns, axis=1)


# ------------------------------------------------------------- construction


def test_matrix_shape_decides_the_dimension():
    assert AffineTransform(np.eye(4)).dims == 3 and AffineTransform(np.eye(3)).dims == 2
    assert AffineTransform(np.eye(3, 4)).params.shape == (4, 4)
    assert PerspectiveTransform(np.eye(4)).dims == 3
    assert AffineTransform(translation=(1, 2, 3)).dims == 3
    assert AffineTransform(scale=2.0).dims == 2
    assert AffineTransform(scale=2.0, rotation=(0, 0, 1.0)).dims == 3


def test_geometric_parameters_scale_then_rotate_then_translate():
    axis, angle = np.array([1.0, -2.0, 0.5]), 0.8
    vector = axis / np.linalg.norm(axis) * angle
    t = AffineTransform(scale=(2.0, 3.0, 0.5), rotation=vector, translation=(1.0, -1.0, 4.0))
    p = np.array([0.5, 0.25, -1.0])
    expected = rotation_about(axis, angle) @ (p * [2.0, 3.0, 0.5]) + [1.0, -1.0, 4.0]
    np.testing.assert_allclose(t(p[None])[0], expected, atol=1e-12)
    # the same rotation as a matrix; about z it is the 2-D rotation
    same = AffineTransform(scale=(2.0, 3.0, 0.5), rotation=rotation_about(axis, angle),
                           translation=(1.0, -1.0, 4.0))
    np.testing.assert_allclose(same.params, t.params, atol=1e-12)
    about_z = AffineTransform(rotation=(0.0, 0.0, 0.7)).params
    np.testing.assert_allclose(about_z[np.ix_([0, 1, 3], [0, 1, 3])],
                               AffineTransform(rotation=0.7).params, atol=1e-15)
    assert t(np.zeros((3, 4, 3))).shape == (3, 4, 3)


@SETTINGS
@given(transform=st.one_of(affines(), perspectives(), splines()))
def test_transform_composed_with_its_inverse_is_the_identity(transform):
    for composite in (transform @ transform.inverse, transform.inverse @ transform):
        np.testing.assert_allclose(composite(POINTS), POINTS, atol=1e-8)


@SETTINGS
@given(a=st.one_of(affines(), perspectives(), splines()),
       b=st.one_of(affines(), perspectives(), splines()))
def test_composition_applies_the_right_operand_first(a, b):
    np.testing.assert_allclose((a @ b)(POINTS), a(b(POINTS)), rtol=1e-10, atol=1e-10)


def test_composition_types():
    a, p = AffineTransform(scale=(2.0, 1.0, 1.0)), PerspectiveTransform(np.eye(4))
    s = TpsTransform(warpkit.control_point_grid(8, dims=3), warpkit.control_point_grid(8, dims=3))
    assert type(a @ a) is AffineTransform and (a @ a).dims == 3
    assert type(a @ p) is PerspectiveTransform and type(p @ a) is PerspectiveTransform
    assert type(a @ s) is CompositeTransform and (a @ s).dims == 3


# --------------------------------------------------------------- estimation


@SETTINGS
@given(transform=affines(), noise=st.sampled_from([0.0, 0.1]))
def test_affine_estimate_is_least_squares(transform, noise):
    rng = np.random.default_rng(1)
    src = rng.uniform(-10, 10, size=(12, 3))
    dst = transform(src) + noise * rng.standard_normal((12, 3))
    found = AffineTransform.estimate(src, dst)
    assert found.dims == 3
    # the normal equations of least squares: the residual is orthogonal to the design
    design = np.hstack([src, np.ones((12, 1))])
    residual = found(src) - dst
    np.testing.assert_allclose(design.T @ residual, 0.0, atol=1e-9 * np.abs(design).max()
                               * np.abs(dst).max())
    if noise == 0:
        np.testing.assert_allclose(found.params, transform.params, atol=1e-9)


@SETTINGS
@given(transform=perspectives(), count=st.sampled_from([5, 9]))
def test_perspective_estimate_recovers_the_homography(transform, count):
    src = np.random.default_rng(2).uniform(0, 50, size=(count, 3))
    found = PerspectiveTransform.estimate(src, transform(src))
    expected = transform.params / transform.params[3, 3]
    np.testing.assert_allclose(found.params, expected, rtol=1e-7, atol=1e-8)


def test_noisy_perspective_estimate_fits_closely():
    true = PerspectiveTransform([[1.0, 0.1, 0, 2], [0, 0.9, 0.1, -1], [0.05, 0, 1.1, 0.5],
                                 [0.002, -0.003, 0.001, 1.0]])
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 50, size=(40, 3))
    dst = true(src) + rng.normal(scale=0.01, size=(40, 3))
    found = PerspectiveTransform.estimate(src, dst)
    assert np.sqrt(np.mean((found(src) - dst) ** 2)) < 0.02
    np.testing.assert_allclose(found(src), true(src), atol=0.05)


CUBE = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1.0]])


@pytest.mark.parametrize("call, message", [
    (lambda: AffineTransform.estimate(CUBE[:3], CUBE[:3]), "at least 4"),
    (lambda: AffineTransform.estimate([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.0]], CUBE[:4]),
     "one plane"),
    (lambda: AffineTransform.estimate(CUBE, CUBE[:, :2]), r"\(M, 3\)"),
    (lambda: PerspectiveTransform.estimate(CUBE[:4], CUBE[:4]), "at least 5"),
    (lambda: PerspectiveTransform.estimate(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1.0]], CUBE), "degenerate"),
    (lambda: TpsTransform.estimate(CUBE[:3], CUBE[:3]), "at least 4"),
    (lambda: AffineTransform(np.eye(5)), r"shape \(3, 3\) or \(2, 3\) \(2-D\), or \(4, 4\)"),
    (lambda: AffineTransform(np.diag([1.0, 1, 2, 1]) + np.eye(4, k=-3)), "last row"),
    (lambda: AffineTransform(np.zeros((3, 4))).inverse, "not invertible"),
    (lambda: AffineTransform(np.eye(4))([[1.0, 2.0]]), r"\(\.\.\., 3\) for a 3-D"),
    (lambda: AffineTransform(np.eye(4)) @ AffineTransform(np.eye(3)), "2-D and 3-D"),
    (lambda: AffineTransform(np.eye(4)) @ TpsTransform(CUBE[:3, :2], CUBE[:3, :2]), "2-D and 3-D"),
    (lambda: AffineTransform(rotation=(0, 0, 1.0), shear=0.1), "mix 2-D and 3-D"),
    (lambda: AffineTransform(translation=(1, 2), scale=(1, 2, 3)), "mix 2-D and 3-D"),
    (lambda: AffineTransform(rotation=np.diag([1.0, 1, 2])), "orthonormal"),
    (lambda: AffineTransform(rotation=np.diag([1.0, 1, -1])), "determinant"),
    (lambda: AffineTransform(rotation=(0, 0, 1.0, 2.0)), r"rotation vector \(3,\)"),
    (lambda: AffineTransform(rotation=(0, 0, 1.0), scale=(1, 2)), "mix"),
    (lambda: AffineTransform(rotation=(0, 0, np.nan)), "finite"),
    (lambda: AffineTransform(np.eye(4)).to_normalized((4, 4)), "input_size must have 3"),
    (lambda: AffineTransform.from_normalized(np.eye(4), (4, 4, 4)), r"\(3, 4\)"),
    (lambda: normalized_from_pixel_matrix((2, 3, 4, 5)), "depth, height, width"),
    (lambda: pixel_from_normalized_matrix((2, 0, 4)), "size entries"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------ pixel <-> normalized


@pytest.mark.parametrize("size", [(3, 5, 7), (1, 4, 2), (6, 1, 1)])
def test_normalized_matrices_convert_points_as_coords_does(size, align_corners):
    depth, height, width = size
    rng = np.random.default_rng(4)
    pixels = rng.uniform(-1, 8, size=(10, 3))
    matrix = normalized_from_pixel_matrix(size, align_corners)
    got = pixels @ matrix[:3, :3].T + matrix[:3, 3]
    # x, y as the 2-D conversion does them; z as coords' scalar rule on the depth
    np.testing.assert_allclose(got[:, :2], normalized_from_pixel(pixels[:, :2], (height, width),
                                                                 align_corners), atol=1e-12)
    np.testing.assert_allclose(got[:, 2], normalize(pixels[:, 2], depth, align_corners),
                               atol=1e-12)
    back = pixel_from_normalized_matrix(size, align_corners)
    normalized = rng.uniform(-1.5, 1.5, size=(10, 3))
    lengths = (width, height, depth)
    expected = np.stack([unnormalize(normalized[:, a], lengths[a], align_corners)
                         for a in range(3)], axis=1)
    np.testing.assert_allclose(normalized @ back[:3, :3].T + back[:3, 3], expected, atol=1e-12)
    if not (align_corners and 1 in size):  # a single voxel collapses its axis to 0
        np.testing.assert_allclose(back @ matrix, np.eye(4), atol=1e-12)


SIZES = [((4, 6, 5), (3, 5, 2)), ((1, 3, 4), (2, 1, 3)), ((5, 5, 5), None)]


@pytest.mark.parametrize("input_size, output_size", SIZES)
@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_to_normalized_gives_the_grid_the_voxel_map(input_size, output_size, align_corners,
                                                    kind):
    rng = np.random.default_rng(5)
    matrix = np.eye(4) + rng.uniform(-0.3, 0.3, (4, 4))
    matrix[3] = [0, 0, 0, 1.0] if kind == "affine" else [0.02, -0.03, 0.01, 1.0]
    transform = (AffineTransform if kind == "affine" else PerspectiveTransform)(matrix)
    out = output_size or input_size
    normalized = transform.to_normalized(input_size, output_size, align_corners)
    assert normalized.shape == ((3, 4) if kind == "affine" else (4, 4))
    if kind == "affine":
        grid = warpkit.affine_grid(normalized[None], (1, 1) + out, align_corners)
    else:
        grid = warpkit.perspective_grid(normalized[None], (1, 1) + out,
                                        align_corners=align_corners)
    zs, ys, xs = np.meshgrid(*(np.arange(n, dtype=float) for n in out), indexing="ij")
    expected = transform(np.stack([xs, ys, zs], axis=-1))
    lengths = input_size[::-1]
    got = np.stack([unnormalize(grid[0, ..., a], lengths[a], align_corners) for a in range(3)],
                   axis=-1)
    for axis, length in enumerate(lengths):
        if align_corners and length == 1:  # reads its only voxel
            expected[..., axis] = 0.0
    np.testing.assert_allclose(got, expected, atol=1e-10)
    back = type(transform).from_normalized(normalized, input_size, output_size, align_corners)
    if not (align_corners and 1 in input_size + out):
        np.testing.assert_allclose(back.params, transform.params, atol=1e-12)


def ramp(size):
    """A volume linear in the voxel coordinates: trilinear sampling is exact inside."""
    zs, ys, xs = np.meshgrid(*(np.arange(n, dtype=float) for n in size), indexing="ij")
    return (0.3 * xs - 0.7 * ys + 0.45 * zs + 2.0)[None, None]


@pytest.mark.parametrize("kind", ["affine", "perspective"])
def test_normalized_matrix_warps_a_volume_as_the_voxel_map_says(kind, align_corners):
    # the slow reference: the ramp evaluated at the transformed voxel centres
    in_size, out_size = (6, 7, 8), (5, 6, 4)
    transform = AffineTransform(scale=(0.9, 1.1, 0.8), rotation=(0.1, -0.2, 0.3),
                                translation=(0.5, 0.2, 0.4))
    if kind == "perspective":
        matrix = transform.params.copy()
        matrix[3, :3] = (0.01, -0.02, 0.015)
        transform = PerspectiveTransform(matrix)
    volume = ramp(in_size)
    zs, ys, xs = np.meshgrid(*(np.arange(n, dtype=float) for n in out_size), indexing="ij")
    source = transform(np.stack([xs, ys, zs], axis=-1))
    inside = np.all((source >= 0) & (source <= np.array(in_size[::-1]) - 1), axis=-1)
    expected = 0.3 * source[..., 0] - 0.7 * source[..., 1] + 0.45 * source[..., 2] + 2.0
    assert inside.sum() > 20
    matrix = transform.to_normalized(in_size, out_size, align_corners)[None]
    options = dict(align_corners=align_corners)
    if kind == "affine":
        grid = warpkit.affine_grid(matrix, (1, 1) + out_size, align_corners)
        fused = warpkit.warp_affine(volume, matrix, out_size, **options)
    else:
        grid = warpkit.perspective_grid(matrix, (1, 1) + out_size, **options)
        fused = warpkit.warp_perspective(volume, matrix, out_size, **options)
    sampled = warpkit.grid_sample(volume, grid, **options)
    np.testing.assert_allclose(sampled[0, 0][inside], expected[inside], atol=1e-10)
    np.testing.assert_allclose(fused[0, 0][inside], expected[inside], atol=1e-10)


# ---------------------------------------------------------------- warp(volume, T)


@pytest.fixture
def volume():
    return np.random.default_rng(6).random((2, 2, 5, 6, 7))


def test_warp_runs_each_family_on_volumes(volume, align_corners):
    options = dict(mode="bilinear", padding_mode="border", align_corners=align_corners)
    affine = AffineTransform(rotation=(0.1, 0.2, 0.3), translation=(0.5, -1.0, 0.3))
    theta = affine.to_normalized((5, 6, 7), (4, 5, 3), align_corners)
    np.testing.assert_array_equal(
        warp(volume, affine, (4, 5, 3), **options),
        warpkit.warp_affine(volume, np.stack([theta, theta]), (4, 5, 3), **options))
    perspective = PerspectiveTransform.estimate(CUBE * 4, CUBE * 3.6 + 0.3 + 0.1 * CUBE ** 2)
    hom = perspective.to_normalized((5, 6, 7), None, align_corners)
    np.testing.assert_array_equal(warp(volume, [perspective, perspective], **options),
                                  warpkit.warp_perspective(volume, np.stack([hom, hom]),
                                                           **options))
    spline = TpsTransform(CUBE * 4, CUBE * 4 + np.random.default_rng(7).normal(0, 0.3, (5, 3)),
                          regularization=0.01)
    controls, targets = spline.to_normalized((5, 6, 7), None, align_corners)
    grid = warpkit.tps_grid(controls, np.stack([targets, targets]), (2, 2, 5, 6, 7),
                            regularization=0.01, align_corners=align_corners)
    np.testing.assert_array_equal(warp(volume, spline, **options),
                                  warpkit.grid_sample(volume, grid, **options))


def test_warp_volume_by_other_transforms_and_per_sample(volume):
    shift = AffineTransform(translation=(0.0, 0.0, 1.0))  # the next slice
    tolerance = dict(rtol=0, atol=1e-12)
    composite = CompositeTransform([shift])   # not a family: evaluated per voxel
    np.testing.assert_allclose(warp(volume, composite), warp(volume, shift), **tolerance)
    np.testing.assert_allclose(warp(volume, lambda p: p + (0.0, 0.0, 1.0)), warp(volume, shift),
                               **tolerance)   # a plain function of (M, 3) points
    out = warp(volume, [shift, shift.inverse])
    np.testing.assert_allclose(out[0, :, :-1], volume[0, :, 1:], **tolerance)
    np.testing.assert_allclose(out[1, :, 1:], volume[1, :, :-1], **tolerance)
    assert warp(volume, shift, (1, 2, 3)).shape == (2, 2, 1, 2, 3)


@pytest.mark.parametrize("call, message", [
    (lambda v: warp(v, AffineTransform()), "must be 3-D to warp volumes"),
    (lambda v: warp(v[:, :, 0], AffineTransform(np.eye(4))), "must be 2-D to warp images"),
    (lambda v: warp(v[0, 0], AffineTransform(np.eye(4))), "4-dimensional"),
    (lambda v: warp(v, AffineTransform(np.eye(4)), (3, 3)), "3 entries"),
])
def test_warp_refuses_mismatched_dimensions(volume, call, message):
    with pytest.raises(ValueError, match=message):
        call(volume)


def test_warp_volume_on_the_device_equals_the_host(cuda_available):
    from numba import cuda

    volume = np.random.default_rng(8).random((1, 1, 3, 3, 4))
    for transform in (AffineTransform(translation=(0.2, 0.0, 0.7)),
                      PerspectiveTransform.estimate(CUBE * 2, CUBE * 2 + 0.1 * CUBE ** 2),
                      TpsTransform(CUBE * 2, CUBE * 2 + (0.0, 0.3, 0.5))):
        out = warp(cuda.to_device(volume), transform)
        np.testing.assert_allclose(out.copy_to_host(), warp(volume, transform), rtol=0,
                                   atol=1e-12)
