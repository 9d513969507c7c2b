"""The thin-plate spline solve (warpkit.tps) against SciPy and its own invariants."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from warpkit import control_point_grid
from warpkit.tps import (
    TpsConditionWarning,
    evaluate_tps,
    solve_tps,
    tps_kernel,
)


def random_controls(rng, count):
    """``count`` distinct control points: a jittered grid (well spread, not collinear)."""
    side = int(np.ceil(np.sqrt(count)))
    base = control_point_grid(side * side)[:count]
    return base + rng.uniform(-0.2, 0.2, base.shape) / side


@pytest.mark.parametrize("count", [3, 16, 64, 256])
@pytest.mark.parametrize("regularization", [0.0, 0.1])
def test_matches_scipy_rbf_interpolator(count, regularization):
    interpolate = pytest.importorskip("scipy.interpolate")
    rng = np.random.default_rng(count)
    controls = random_controls(rng, count)
    targets = controls + rng.normal(scale=0.1, size=controls.shape)
    points = rng.uniform(-1.2, 1.2, size=(500, 2))
    reference = interpolate.RBFInterpolator(
        controls, targets, kernel="thin_plate_spline", degree=1,
        smoothing=regularization)(points)
    coefficients = solve_tps(controls, targets[None], regularization)
    mapped = evaluate_tps(coefficients, controls, points)[0]
    scale = np.max(np.abs(reference))
    np.testing.assert_allclose(mapped, reference, rtol=0, atol=1e-9 * scale)


def test_interpolates_control_points_and_solves_in_float64():
    rng = np.random.default_rng(0)
    controls = random_controls(rng, 25).astype(np.float32)
    targets = (controls + rng.normal(scale=0.2, size=controls.shape)).astype(np.float32)
    coefficients = solve_tps(controls, targets[None])
    assert coefficients.dtype == np.float64
    mapped = evaluate_tps(coefficients, controls, controls)[0]
    np.testing.assert_allclose(mapped, targets.astype(np.float64), rtol=0, atol=1e-12)


def test_shared_and_per_sample_controls_agree():
    rng = np.random.default_rng(1)
    controls = random_controls(rng, 9)
    targets = controls + rng.normal(scale=0.1, size=(3, 9, 2))
    shared = solve_tps(controls, targets)
    per_sample = solve_tps(np.broadcast_to(controls, (3, 9, 2)).copy(), targets)
    np.testing.assert_allclose(shared, per_sample, rtol=0, atol=1e-12)


def test_affine_targets_give_a_purely_affine_tps():
    controls = random_controls(np.random.default_rng(2), 16)
    matrix = np.array([[1.1, 0.2], [-0.3, 0.9]])
    targets = controls @ matrix.T + np.array([0.1, -0.2])
    coefficients = solve_tps(controls, targets[None])[0]
    # rows: the 16 kernel weights, then the affine part (constant, x, y)
    np.testing.assert_allclose(coefficients[:16], 0, atol=1e-12)
    np.testing.assert_allclose(coefficients[16], [0.1, -0.2], atol=1e-12)
    np.testing.assert_allclose(coefficients[17:].T, matrix, atol=1e-12)


def test_kernel_is_r2_log_r_with_zero_at_origin():
    r = np.array([0.0, 0.5, 1.0, 3.0])
    expected = np.array([0.0, 0.25 * np.log(0.5), 0.0, 9.0 * np.log(3.0)])
    np.testing.assert_allclose(tps_kernel(r * r), expected, rtol=0,
                               atol=1e-15 * np.abs(expected).max())


def test_gradients_reach_controls_and_targets():
    rng = np.random.default_rng(3)
    controls = random_controls(rng, 9)
    targets = controls + rng.normal(scale=0.1, size=(2, 9, 2))
    points = rng.uniform(-1, 1, size=(7, 2))

    def mapped(c, t):
        return evaluate_tps(solve_tps(c, t, 0.05), c, points)

    check_grads(lambda c: mapped(c, targets), modes=["rev"], order=1)(controls)
    check_grads(lambda t: mapped(controls, t), modes=["rev"], order=1)(targets)
    per_sample = np.stack([controls, controls + 0.01])
    check_grads(lambda c: mapped(c, targets), modes=["rev"], order=1)(per_sample)


SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


@pytest.mark.parametrize("controls, targets, message", [
    (SQUARE[:2], SQUARE[None, :2], "at least 3 control points"),
    (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), SQUARE[None], "duplicates"),
    (np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), SQUARE[None], "one line"),
    (SQUARE, SQUARE[None, :3], "same number of points"),
    (SQUARE, SQUARE, "target_points must have shape"),
    (SQUARE[None].repeat(2, 0), SQUARE[None], "batch size"),
    (SQUARE[:, :1], SQUARE[None], "control_points must have shape"),
    (np.where(SQUARE == 1.0, np.nan, SQUARE), SQUARE[None], "finite"),
])
def test_bad_points_raise_value_errors(controls, targets, message):
    with pytest.raises(ValueError, match=message):
        solve_tps(controls, targets)


def test_negative_regularization_raises():
    with pytest.raises(ValueError, match="regularization"):
        solve_tps(SQUARE, SQUARE[None], -0.1)


@pytest.mark.parametrize("dtype", [np.int64, np.float16])
def test_non_float32_or_float64_points_raise_type_error(dtype):
    with pytest.raises(TypeError, match="control_points must be a float32 or float64 array"):
        solve_tps(SQUARE.astype(dtype), SQUARE[None])
    with pytest.raises(TypeError, match="target_points must be a float32 or float64 array"):
        solve_tps(SQUARE, SQUARE[None].astype(dtype))


def test_ill_conditioned_system_warns_with_condition_number():
    controls = np.concatenate([SQUARE, SQUARE[:1] + 1e-7])
    targets = controls[None] + 0.1
    with pytest.warns(TpsConditionWarning, match=r"condition number \d"):
        solve_tps(controls, targets)


def test_solve_is_traceable_with_autograd_boxes():
    # solve_tps must accept autograd boxes (it is used inside warp_tps).
    from autograd import grad

    def loss(t):
        return anp.sum(solve_tps(SQUARE, t) ** 2)

    assert np.all(np.isfinite(grad(loss)(SQUARE[None] * 1.5)))
