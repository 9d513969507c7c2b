"""The 3-D thin-plate spline (kernel -r): solve, evaluation, tps_grid on volumes, TpsTransform."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import warpkit
from warpkit import TpsTransform, control_point_grid, tps_grid
from warpkit.coords import normalized_base_coordinates
from warpkit.tps import TpsConditionWarning, evaluate_tps, solve_tps, tps_kernel


def random_controls(rng, count):
    """``count`` distinct, well-spread 3-D control points: a jittered lattice."""
    side = int(np.ceil(count ** (1 / 3) - 1e-9))
    base = control_point_grid(side ** 3, dims=3)[:count]
    return base + rng.uniform(-0.2, 0.2, base.shape) / side


def kernel_sum(controls, weights, affine, points):
    """The spline's formula, written out: a0 + A p + sum_k w_k * (-|p - c_k|)."""
    distances = np.linalg.norm(points[:, None, :] - controls[None], axis=-1)
    return affine[0] + points @ affine[1:] - distances @ weights


@pytest.mark.parametrize("count", [4, 27])
@pytest.mark.parametrize("regularization", [0.0, 0.1])
def test_matches_scipy_rbf_with_the_linear_kernel(count, regularization):
    # SciPy's "linear" kernel is -r: the same spline, smoothing included.
    interpolate = pytest.importorskip("scipy.interpolate")
    rng = np.random.default_rng(count)
    controls = random_controls(rng, count)
    targets = controls + rng.normal(scale=0.1, size=controls.shape)
    points = rng.uniform(-1.2, 1.2, size=(50, 3))
    reference = interpolate.RBFInterpolator(controls, targets, kernel="linear", degree=1,
                                            smoothing=regularization)(points)
    coefficients = solve_tps(controls, targets[None], regularization)
    assert coefficients.shape == (1, count + 4, 3)
    mapped = evaluate_tps(coefficients, controls, points)[0]
    scale = np.max(np.abs(reference))
    np.testing.assert_allclose(mapped, reference, rtol=0, atol=1e-10 * scale)
    # and the coefficients are those of the documented formula
    weights, affine = coefficients[0, :count], coefficients[0, count:]
    np.testing.assert_allclose(kernel_sum(controls, weights, affine, points), mapped,
                               rtol=0, atol=1e-12 * scale)


def test_interpolates_its_control_points_exactly_in_float64():
    rng = np.random.default_rng(0)
    controls = random_controls(rng, 27).astype(np.float32)
    targets = (controls + rng.normal(scale=0.2, size=controls.shape)).astype(np.float32)
    coefficients = solve_tps(controls, targets[None])
    assert coefficients.dtype == np.float64
    mapped = evaluate_tps(coefficients, controls, controls)[0]
    np.testing.assert_allclose(mapped, targets.astype(np.float64), rtol=0, atol=1e-12)
    # P^T w = 0: the kernel part holds no affine component
    weights = coefficients[0, :27]
    poly = np.hstack([np.ones((27, 1)), controls.astype(np.float64)])
    np.testing.assert_allclose(poly.T @ weights, 0.0, atol=1e-12 * np.abs(weights).max())


def test_affine_targets_give_exactly_the_affine_map():
    controls = random_controls(np.random.default_rng(2), 8)
    matrix = np.array([[1.1, 0.2, -0.1], [-0.3, 0.9, 0.05], [0.1, 0.0, 1.2]])
    offset = np.array([0.1, -0.2, 0.3])
    targets = controls @ matrix.T + offset
    coefficients = solve_tps(controls, targets[None])[0]
    # rows: the 8 kernel weights, then the affine part (constant, x, y, z)
    np.testing.assert_allclose(coefficients[:8], 0, atol=1e-12)
    np.testing.assert_allclose(coefficients[8], offset, atol=1e-12)
    np.testing.assert_allclose(coefficients[9:].T, matrix, atol=1e-12)
    points = np.random.default_rng(3).uniform(-2, 2, (30, 3))
    np.testing.assert_allclose(evaluate_tps(coefficients[None], controls, points)[0],
                               points @ matrix.T + offset, atol=1e-12)


def test_shared_and_per_sample_controls_agree():
    rng = np.random.default_rng(1)
    controls = random_controls(rng, 8)
    targets = controls + rng.normal(scale=0.1, size=(3, 8, 3))
    shared = solve_tps(controls, targets)
    per_sample = solve_tps(np.broadcast_to(controls, (3, 8, 3)).copy(), targets)
    np.testing.assert_allclose(shared, per_sample, rtol=0, atol=1e-12)


def test_kernel_is_minus_r_with_zero_at_origin():
    r = np.array([0.0, 0.5, 1.0, 3.0])
    np.testing.assert_array_equal(tps_kernel(r * r, dims=3), -r)
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        tps_kernel(r, dims=4)


# -------------------------------------------------------------------- tps_grid


@pytest.mark.parametrize("shared", [True, False])
def test_tps_grid_evaluates_the_spline_at_every_voxel(shared, align_corners):
    rng = np.random.default_rng(4)
    controls = random_controls(rng, 8)
    if not shared:
        controls = np.stack([controls, controls + 0.05])
    targets = (controls if not shared else controls[None]) + rng.normal(0, 0.1, (2, 8, 3))
    targets = targets.astype(np.float32)
    size = (3, 4, 5)
    grid = tps_grid(controls, targets, (2, 1) + size, regularization=0.05,
                    align_corners=align_corners)
    assert grid.shape == (2, 3, 4, 5, 3) and grid.dtype == np.float32
    xs, ys, zs = (normalized_base_coordinates(n, align_corners) for n in size[::-1])
    d, h, w = 2, 1, 3
    point = np.array([[xs[w], ys[h], zs[d]]])
    for n in range(2):
        expected = evaluate_tps(solve_tps(controls, targets, 0.05), controls, point)[n, 0]
        np.testing.assert_allclose(grid[n, d, h, w], expected, rtol=0, atol=1e-6)
    points = np.stack(np.meshgrid(zs, ys, xs, indexing="ij")[::-1], axis=-1).reshape(-1, 3)
    everywhere = evaluate_tps(solve_tps(controls, targets, 0.05), controls, points)
    np.testing.assert_allclose(grid.reshape(2, -1, 3), everywhere, rtol=0, atol=1e-6)
    same = tps_grid(controls, targets, size, regularization=0.05, align_corners=align_corners)
    np.testing.assert_array_equal(same, grid)


def test_tps_grid_of_the_identity_is_the_affine_identity_grid():
    cube = control_point_grid(27, dims=3)
    grid = tps_grid(cube, cube[None], (1, 1, 2, 3, 4))
    np.testing.assert_allclose(grid, warpkit.affine_grid(np.eye(3, 4)[None], (1, 1, 2, 3, 4)),
                               rtol=0, atol=1e-12)


def test_tps_grid_gradients_match_central_differences():
    rng = np.random.default_rng(5)
    controls = random_controls(rng, 8)
    targets = controls[None] + rng.normal(0, 0.1, (1, 8, 3))
    weights = rng.normal(size=(1, 2, 3, 2, 3))

    def loss(c, t):
        return anp.sum(tps_grid(c, t, (2, 3, 2), regularization=0.05) * weights)

    for argnum, value in ((0, controls), (1, targets)):
        analytic = grad(loss, argnum)(controls, targets)
        numeric = np.zeros_like(value)
        step = 1e-6
        for index in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[index] += step
            minus[index] -= step
            args_plus = (plus, targets) if argnum == 0 else (controls, plus)
            args_minus = (minus, targets) if argnum == 0 else (controls, minus)
            numeric[index] = (loss(*args_plus) - loss(*args_minus)) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, rtol=0,
                                   atol=1e-6 * max(1.0, np.abs(numeric).max()))


# ------------------------------------------------------------------ TpsTransform


def test_tps_transform_in_3d():
    rng = np.random.default_rng(6)
    controls = rng.uniform(0, 7, (12, 3))
    targets = controls + rng.normal(scale=0.3, size=(12, 3))
    spline = TpsTransform.estimate(controls, targets)
    assert spline.dims == 3 and spline.coefficients.shape == (16, 3)
    np.testing.assert_allclose(spline(controls), targets, atol=1e-9)
    points = rng.uniform(1, 6, (5, 3))
    np.testing.assert_allclose(spline.inverse(spline(points)), points, atol=1e-8)
    # the Jacobian against central differences
    step = 1e-6
    numeric = np.stack([(spline(points + step * e) - spline(points - step * e)) / (2 * step)
                        for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(spline.jacobian(points), numeric, rtol=0, atol=1e-7)


def test_tps_to_normalized_on_cubic_volumes_is_the_same_map(align_corners):
    rng = np.random.default_rng(7)
    controls = rng.uniform(0, 5, size=(10, 3))
    spline = TpsTransform(controls, controls + rng.normal(scale=0.4, size=(10, 3)))
    size = (6, 6, 6)
    normalized_controls, normalized_targets = spline.to_normalized(size, None, align_corners)
    grid = tps_grid(normalized_controls, normalized_targets[None], size,
                    align_corners=align_corners)
    back = TpsTransform.from_normalized(normalized_controls, normalized_targets, size,
                                        align_corners=align_corners)
    np.testing.assert_allclose(back.control_points, spline.control_points, atol=1e-12)
    voxels = np.stack(np.meshgrid(*(np.arange(6.0),) * 3, indexing="ij")[::-1], axis=-1)
    pixel_grid = np.stack([warpkit.coords.unnormalize(grid[0, ..., a], 6, align_corners)
                           for a in range(3)], axis=-1)
    np.testing.assert_allclose(pixel_grid, spline(voxels), atol=1e-9)


def test_control_point_grid_in_3d():
    cube = control_point_grid(27, np.float32, dims=3)
    assert cube.shape == (27, 3) and cube.dtype == np.float32
    np.testing.assert_array_equal(cube[:4], [[-1, -1, -1], [0, -1, -1], [1, -1, -1],
                                             [-1, 0, -1]])
    np.testing.assert_array_equal(cube[9], [-1, -1, 0])
    for count, dims in ((9, 3), (26, 3), (4, 3), (8, 2)):
        with pytest.raises(ValueError, match="perfect"):
            control_point_grid(count, dims=dims)
    with pytest.raises(ValueError, match="dims"):
        control_point_grid(8, dims=4)


# ------------------------------------------------------------------------ errors


CUBE = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1.0]])


@pytest.mark.parametrize("controls, targets, message", [
    (CUBE[:3], CUBE[None, :3], "at least 4 control points, got 3"),
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.0]]), CUBE[None, :4], "one plane"),
    (np.vstack([CUBE, CUBE[2:3]]), np.vstack([CUBE, CUBE[:1]])[None], "duplicates"),
    (CUBE, CUBE[None, :, :2],
     r"same last axis .* control_points \(5, 3\) and target_points \(1, 5, 2\)"),
    (CUBE[:, :2], CUBE[None],
     r"same last axis .* control_points \(5, 2\) and target_points \(1, 5, 3\)"),
    (np.zeros((5, 4)), CUBE[None], "control_points must have shape"),
    (CUBE, CUBE[None, :4], "same number of points"),
])
def test_bad_points_raise_value_errors(controls, targets, message):
    with pytest.raises(ValueError, match=message):
        solve_tps(controls, targets)
    with pytest.raises(ValueError, match=message):
        tps_grid(controls, targets, (2, 2, 2))


def test_bad_sizes_and_points_raise_value_errors():
    with pytest.raises(ValueError, match="size"):
        tps_grid(CUBE, CUBE[None], (2, 2))
    with pytest.raises(ValueError, match="batch size"):
        tps_grid(CUBE, CUBE[None], (2, 1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"points must have shape \(M, 3\)"):
        evaluate_tps(solve_tps(CUBE, CUBE[None]), CUBE, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        TpsTransform(CUBE, CUBE)(np.zeros((4, 2)))


def test_ill_conditioned_system_warns():
    # The kernel -r grows linearly at 0, so two control points eps apart make the
    # system's condition grow like 1 / eps only (r**2 log r in 2-D is flatter there):
    # it passes 1e12 just above the duplicate tolerance (1e-12 of the extent).
    controls = np.concatenate([CUBE, CUBE[:1] + 2e-12])
    with pytest.warns(TpsConditionWarning, match=r"condition number \d"):
        solve_tps(controls, controls[None] + 0.1)
