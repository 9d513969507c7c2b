"""Register volumes: a worked example of warpkit's 3-D warps and displacement fields.

The driver behind ``warpkit register`` and the gallery example
``plot_register_volumes.py`` (see docs/volumes.rst):

* :func:`make_phantom_pair` draws a blob phantom (a few anisotropic
  Gaussians, deterministic by seed) and a moving copy deformed by a known
  affine map plus a smooth random displacement, so the answer is known;
* :func:`register` aligns a moving volume with a fixed one by gradient
  descent under :mod:`autograd`: first an affine map (12 parameters,
  :func:`warpkit.warp_affine` on 5-D input, mean squared error), then a
  dense displacement field (:func:`warpkit.warp_displacement`,
  mean squared error plus ``smoothness`` times
  :func:`warpkit.smoothness_penalty`), optionally
  diffeomorphic (a stationary velocity field integrated by
  :func:`warpkit.integrate_velocity`);
* :func:`plot_registration` draws orthogonal slices of the fixed, moving and
  warped volumes and the deformed grid lines of the field.

Volumes are ``(D, H, W)`` or ``(C, D, H, W)`` arrays.  Flows follow the
registration convention of :func:`~warpkit.warp_displacement`
(``units="pixels"``): ``flow[d, h, w] = (dx, dy, dz)`` says that voxel
``(d, h, w)`` of the result reads the moving volume at voxel
``(w + dx, h + dy, d + dz)``.
"""

import math
import time
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from . import displacement, fused, regularizers, transforms
from .nn.optim import Adam

__all__ = ["Phantom", "RegistrationResult", "blob_phantom", "make_phantom_pair", "register",
           "affine_flow", "plot_registration", "load_volume", "write_outputs", "OUTPUT_FILES"]

_PADDING = "border"
"""How both stages read outside the moving volume: the edge voxels repeat."""


# ---------------------------------------------------------------------- phantoms

def _shape3(shape, minimum=4):
    """``(D, H, W)`` from an int (a cube) or a 3-tuple, each >= ``minimum``."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),) * 3
    shape = tuple(shape)
    if len(shape) != 3 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                  and s >= minimum for s in shape):
        raise ValueError(f"shape must be an int or (D, H, W), each an integer >= {minimum}, "
                         f"got {shape}")
    return tuple(int(s) for s in shape)


def _voxel_points(shape):
    """Voxel coordinates ``(x, y, z)`` of every voxel of a ``(D, H, W)`` volume: (D, H, W, 3)."""
    z, y, x = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in shape), indexing="ij")
    return np.stack([x, y, z], axis=-1)


def _random_rotation(rng, max_angle):
    """A rotation matrix about a random axis by an angle up to ``max_angle`` radians."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(-max_angle, max_angle)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


class _Blobs:
    """A sum of anisotropic, rotated Gaussians, evaluated at any voxel coordinates."""

    def __init__(self, shape, rng, count):
        extent = np.array(shape[::-1], dtype=np.float64)          # (W, H, D): x, y, z
        self.centres = rng.uniform(0.3, 0.7, size=(count, 3)) * extent
        self.amplitudes = rng.uniform(0.5, 1.0, size=count)
        precisions = []
        for _ in range(count):
            sigmas = rng.uniform(0.07, 0.16, size=3) * extent
            rotation = _random_rotation(rng, np.pi)
            precisions.append(rotation @ np.diag(sigmas ** -2.0) @ rotation.T)
        self.precisions = np.array(precisions)

    def __call__(self, points):
        total = np.zeros(points.shape[:-1])
        for centre, amplitude, precision in zip(self.centres, self.amplitudes, self.precisions):
            offset = points - centre
            total += amplitude * np.exp(-0.5 * np.einsum("...i,ij,...j->...", offset, precision,
                                                          offset))
        return total


def blob_phantom(shape=32, *, seed=0, blobs=6, dtype=np.float32):
    """A smooth test volume: ``blobs`` anisotropic Gaussians, deterministic by ``seed``.

    Parameters
    ----------
    shape : int or tuple of int, optional
        ``(D, H, W)``, or one int for a cube; every side >= 4.
    seed : int, optional
        Seed of the blobs' centres, sizes, orientations and heights.
    blobs : int, optional
        Number of Gaussians (>= 1).
    dtype : dtype, optional
        float32 (default) or float64.

    Returns
    -------
    ndarray, shape (D, H, W)
        Values in about [0, 2], near 0 at the border.

    Examples
    --------
    >>> from warpkit.registration import blob_phantom
    >>> volume = blob_phantom(16, seed=1)
    >>> volume.shape, volume.dtype.name, bool(volume.max() > 0.4)
    ((16, 16, 16), 'float32', True)
    """
    shape = _shape3(shape)
    function = _Blobs(shape, np.random.default_rng(seed), _positive_int("blobs", blobs))
    return function(_voxel_points(shape)).astype(dtype)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


@dataclass
class Phantom:
    """A fixed volume, a moving copy and the flow that registers them.

    ``fixed`` and ``moving`` are ``(D, H, W)``; ``flow`` is ``(D, H, W, 3)``
    voxel displacements ``(dx, dy, dz)`` with
    ``moving(p + flow(p)) = fixed(p)``: the answer :func:`register` looks for.
    ``matrix`` is the 4x4 voxel-coordinate affine part of that map
    (``(x, y, z, 1)`` of a fixed voxel to the moving voxel it shows), before
    the smooth displacement is added.
    """

    fixed: np.ndarray
    moving: np.ndarray
    flow: np.ndarray
    matrix: np.ndarray
    seed: int


class _SmoothField:
    """A few low-frequency sine modes per axis: a smooth random displacement in voxels."""

    def __init__(self, shape, rng, amplitude, modes=3):
        extent = np.array(shape[::-1], dtype=np.float64)
        self.frequencies = rng.uniform(-1.0, 1.0, size=(modes, 3, 3)) * 2 * np.pi / extent
        self.phases = rng.uniform(0, 2 * np.pi, size=(modes, 3))
        # each axis sums `modes` unit sines: amplitude / sqrt(modes) keeps the typical size
        self.weights = rng.normal(size=(modes, 3)) * amplitude / np.sqrt(modes)

    def __call__(self, points):
        field = np.zeros(points.shape)
        for frequency, phase, weight in zip(self.frequencies, self.phases, self.weights):
            field += weight * np.sin(points @ frequency.T + phase)
        return field


def make_phantom_pair(shape=32, *, seed=0, rotation=10.0, scale=0.06, shift=1.5,
                      amplitude=1.5, blobs=6, dtype=np.float32):
    """A blob phantom and a copy deformed by a known affine map plus a smooth displacement.

    The map takes a fixed voxel ``p`` (``(x, y, z)``) to
    ``phi(p) = c + M (p - c) + t + g(p)`` in the moving volume: ``c`` is the
    centre, ``M`` a rotation by up to ``rotation`` degrees about a random
    axis times per-axis scales within ``1 +- scale``, ``t`` a shift of up to
    ``shift`` voxels per axis and ``g`` a few random sine modes of about
    ``amplitude`` voxels.  The moving volume is the phantom evaluated at
    ``phi^-1(q)`` (inverted by fixed-point iteration), so there is no
    interpolation blur, and ``phi(p) - p`` is the flow to recover.

    Parameters
    ----------
    shape : int or tuple of int, optional
        ``(D, H, W)`` or one int for a cube (default 32); every side >= 4.
    seed : int, optional
        Seed of the phantom and of the deformation.
    rotation, scale, shift, amplitude : float, optional
        Sizes of the deformation, as above (degrees, fraction, voxels, voxels).
    blobs : int, optional
        Gaussians in the phantom.
    dtype : dtype, optional
        Of ``fixed``, ``moving`` and ``flow``.

    Returns
    -------
    Phantom

    Examples
    --------
    >>> from warpkit.registration import make_phantom_pair
    >>> pair = make_phantom_pair(12, seed=3)
    >>> pair.fixed.shape, pair.moving.shape, pair.flow.shape
    ((12, 12, 12), (12, 12, 12), (12, 12, 12, 3))
    >>> bool(abs(pair.fixed - pair.moving).max() > 0.1)
    True
    """
    shape = _shape3(shape)
    for name, value in (("rotation", rotation), ("scale", scale), ("shift", shift),
                        ("amplitude", amplitude)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if scale >= 0.5:
        raise ValueError(f"scale must be < 0.5 (a map that can be inverted), got {scale!r}")
    rng = np.random.default_rng(seed)
    phantom = _Blobs(shape, rng, _positive_int("blobs", blobs))
    centre = (np.array(shape[::-1], dtype=np.float64) - 1) / 2
    linear = _random_rotation(rng, np.deg2rad(rotation)) @ np.diag(
        1 + rng.uniform(-scale, scale, size=3))
    offset = rng.uniform(-shift, shift, size=3)
    smooth = _SmoothField(shape, rng, amplitude)

    def forward(points):
        return centre + (points - centre) @ linear.T + offset + smooth(points)

    fixed_points = _voxel_points(shape)
    # phi^-1(q): p = c + M^-1 (q - c - t - g(p)), a contraction for moderate g
    inverse_linear = np.linalg.inv(linear)
    source = fixed_points.copy()
    for _ in range(60):
        source = centre + (fixed_points - centre - offset - smooth(source)) @ inverse_linear.T
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = centre - linear @ centre + offset
    return Phantom(fixed=phantom(fixed_points).astype(dtype),
                   moving=phantom(source).astype(dtype),
                   flow=(forward(fixed_points) - fixed_points).astype(dtype),
                   matrix=matrix, seed=seed)


# ---------------------------------------------------------------------- registration

def _voxel_matrix(theta, shape):
    """The 4x4 voxel-coordinate map of a normalized ``theta`` (3, 4) on a (D, H, W) volume."""
    return (transforms.pixel_from_normalized_matrix(shape) @ np.vstack([theta, [0, 0, 0, 1]])
            @ transforms.normalized_from_pixel_matrix(shape))


def affine_flow(matrix, shape):
    """The voxel displacement field ``M p - p`` of a 4x4 voxel-coordinate affine map.

    Parameters
    ----------
    matrix : array_like, shape (4, 4)
        Takes a fixed voxel ``(x, y, z, 1)`` to the moving voxel it reads.
    shape : tuple of int
        ``(D, H, W)`` of the field.

    Returns
    -------
    ndarray, shape (D, H, W, 3), float64
        ``(dx, dy, dz)`` per voxel.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.registration import affine_flow
    >>> shift = np.eye(4); shift[:3, 3] = (1.0, 0.0, -2.0)
    >>> affine_flow(shift, (2, 3, 4))[1, 2, 3]
    array([ 1.,  0., -2.])
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"matrix must have shape (4, 4), got {matrix.shape}")
    points = _voxel_points(_shape3(shape, minimum=1))
    return points @ (matrix[:3, :3] - np.eye(3)).T + matrix[:3, 3]


@dataclass
class RegistrationResult:
    """What :func:`register` found, and how well.

    Attributes
    ----------
    warped : ndarray, (C, D, H, W)
        The moving volume warped by ``flow``.
    flow : ndarray, (D, H, W, 3)
        The total voxel displacement (affine and deformable), float32.
    matrix : ndarray, (4, 4)
        The affine stage's voxel-coordinate map.
    mse : dict
        Mean squared difference to the fixed volume ``"before"``, ``"affine"``
        (after the affine stage) and ``"after"``.
    flow_error : dict or None
        With a known flow: mean voxel distance ``|flow - true_flow|``
        ``"before"`` (identity), ``"affine"`` and ``"after"``, over the voxels
        where the fixed volume shows something (above a tenth of its
        maximum): elsewhere the images say nothing about the motion.
    folds : int
        Voxels where the map folds (Jacobian determinant <= 0).
    history : dict
        The loss per step of ``"affine"`` and ``"deformable"``.
    settings : dict
        The options of the run.
    seconds : float
        Wall time of the registration.
    """

    warped: np.ndarray
    flow: np.ndarray
    matrix: np.ndarray
    mse: dict
    flow_error: dict
    folds: int
    history: dict = field(repr=False)
    settings: dict
    seconds: float

    def summary(self):
        """A few lines: the errors before and after, the folds, the time."""
        mse = self.mse
        lines = [f"mean squared difference: {mse['before']:.3g} before, {mse['affine']:.3g} "
                 f"after the affine stage, {mse['after']:.3g} after"]
        if self.flow_error:
            error = self.flow_error
            lines.append(f"mean flow error: {error['before']:.3f} voxels before, "
                         f"{error['affine']:.3f} after the affine stage, "
                         f"{error['after']:.3f} after")
        lines.append(f"folded voxels: {self.folds}; {self.seconds:.1f} s")
        return "\n".join(lines)

    def to_dict(self):
        """The numbers (no arrays), for JSON."""
        return {"mse": self.mse, "flow_error": self.flow_error, "folds": self.folds,
                "matrix": self.matrix.tolist(), "settings": self.settings,
                "seconds": self.seconds,
                "final_loss": {stage: (values[-1] if values else None)
                               for stage, values in self.history.items()}}


def _as_batch(name, volume):
    """A (1, C, D, H, W) float32/float64 batch from a (D, H, W) or (C, D, H, W) volume."""
    array = np.asarray(volume)
    if array.ndim not in (3, 4):
        raise ValueError(f"{name} must be a (D, H, W) or (C, D, H, W) volume, got an array "
                         f"of shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.dtype != np.float64:
        array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if min(array.shape[-3:]) < 2:
        raise ValueError(f"{name} must be at least 2 voxels along every axis, got shape "
                         f"{array.shape}")
    return array.reshape((1,) * (5 - array.ndim) + array.shape)


def _fit(loss, params, iterations, learning_rate):
    """Adam on ``loss(params)``; returns the parameters and the loss per step."""
    loss_and_grad = value_and_grad(loss)
    optimizer = Adam(learning_rate)
    state = optimizer.init(params)
    history = []
    for _ in range(iterations):
        value, gradient = loss_and_grad(params)
        history.append(float(value))
        params, state = optimizer.update(params, gradient, state)
    return params, history


def _mse(a, b):
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def register(fixed, moving, *, affine_iterations=100, iterations=100, smoothness=0.05,
             diffeomorphic=False, affine_rate=0.01, rate=0.2, true_flow=None):
    """Align ``moving`` with ``fixed``: an affine map, then a smooth displacement field.

    Both stages minimize the mean squared difference by Adam under
    :mod:`autograd`.  The affine stage fits a normalized ``theta`` (3, 4)
    through :func:`warpkit.warp_affine` from the identity.  The deformable
    stage fits a field ``v`` (in the affine map's input frame) so that the
    total map is ``A(p + v(p))``; its loss adds ``smoothness *
    smoothness_penalty(v)``.  With ``diffeomorphic``, ``v`` is
    ``integrate_velocity(w)`` of a fitted velocity ``w``: the map cannot
    fold (up to discretization).

    Parameters
    ----------
    fixed, moving : ndarray, shape (D, H, W) or (C, D, H, W)
        Same shape; float64 stays float64, anything else becomes float32.
    affine_iterations, iterations : int, optional
        Adam steps of the affine and the deformable stage (0 skips a stage).
    smoothness : float, optional
        Weight (>= 0) of the smoothness penalty.
    diffeomorphic : bool, optional
        Fit a stationary velocity field instead of the displacement.
    affine_rate, rate : float, optional
        Adam learning rates: normalized units for ``theta``, voxels for ``v``.
    true_flow : ndarray, shape (D, H, W, 3), optional
        The known answer (``Phantom.flow``): the result then reports the
        mean voxel error of the flow.

    Returns
    -------
    RegistrationResult

    Examples
    --------
    >>> from warpkit.registration import make_phantom_pair, register
    >>> pair = make_phantom_pair(12, seed=0)
    >>> result = register(pair.fixed, pair.moving, affine_iterations=20, iterations=10,
    ...                   true_flow=pair.flow)
    >>> bool(result.mse["after"] < result.mse["before"])
    True
    """
    fixed_batch, moving_batch = _as_batch("fixed", fixed), _as_batch("moving", moving)
    if fixed_batch.shape != moving_batch.shape:
        raise ValueError(f"fixed and moving must have the same shape, got "
                         f"{np.shape(fixed)} and {np.shape(moving)}")
    moving_batch = moving_batch.astype(fixed_batch.dtype)
    for name, value in (("affine_iterations", affine_iterations), ("iterations", iterations)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    smoothness = _number("smoothness", smoothness, positive=False)
    affine_rate, rate = _number("affine_rate", affine_rate), _number("rate", rate)
    shape = fixed_batch.shape[2:]
    if true_flow is not None:
        true_flow = np.asarray(true_flow, dtype=np.float64)
        if true_flow.shape != shape + (3,):
            raise ValueError(f"true_flow must have shape {shape + (3,)}, got {true_flow.shape}")
    start = time.perf_counter()
    matrix, affine_history = _affine_stage(fixed_batch, moving_batch, affine_iterations,
                                           affine_rate)
    base = affine_flow(matrix, shape)[None].astype(fixed_batch.dtype)
    flow, deformable_history = _deformable_stage(
        fixed_batch, moving_batch, base, matrix[:3, :3], iterations, rate, smoothness,
        diffeomorphic)
    warped = displacement.warp_displacement(moving_batch, flow, padding_mode=_PADDING)
    affine_warped = displacement.warp_displacement(moving_batch, base, padding_mode=_PADDING)
    seconds = time.perf_counter() - start
    return RegistrationResult(
        warped=warped[0], flow=flow[0].astype(np.float32), matrix=matrix,
        mse={"before": _mse(moving_batch, fixed_batch), "affine": _mse(affine_warped, fixed_batch),
             "after": _mse(warped, fixed_batch)},
        flow_error=None if true_flow is None else _flow_errors(
            fixed_batch, true_flow, {"before": 0.0 * true_flow, "affine": base[0],
                                     "after": flow[0]}),
        folds=int(np.sum(regularizers.count_folds(flow))),
        history={"affine": affine_history, "deformable": deformable_history},
        settings={"shape": list(shape), "channels": int(fixed_batch.shape[1]),
                  "affine_iterations": affine_iterations, "iterations": iterations,
                  "smoothness": smoothness, "diffeomorphic": bool(diffeomorphic),
                  "affine_rate": affine_rate, "rate": rate},
        seconds=seconds)


def _number(name, value, positive=True):
    """``value`` as a finite float, > 0 (``positive``) or >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or (number <= 0 if positive else number < 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, "
                         f"got {value!r}")
    return number


def _affine_stage(fixed, moving, iterations, rate):
    """Fit ``theta`` from the identity; returns its 4x4 voxel matrix and the losses."""
    def loss(theta):
        warped = fused.warp_affine(moving, theta, padding_mode=_PADDING)
        return anp.mean((warped - fixed) ** 2)

    theta, history = _fit(loss, np.eye(3, 4, dtype=fixed.dtype)[None], iterations, rate)
    return _voxel_matrix(theta[0].astype(np.float64), fixed.shape[2:]), history


def _deformable_stage(fixed, moving, base, linear, iterations, rate, smoothness,
                      diffeomorphic):
    """Fit ``v`` of the total flow ``base + M v``; returns that flow and the losses."""
    linear = linear.T.astype(fixed.dtype)

    def field_of(params):
        return displacement.integrate_velocity(params) if diffeomorphic else params

    def loss(params):
        field_ = field_of(params)
        flow = base + anp.matmul(field_, linear)
        warped = displacement.warp_displacement(moving, flow, padding_mode=_PADDING)
        return (anp.mean((warped - fixed) ** 2)
                + smoothness * regularizers.smoothness_penalty(field_))

    params, history = _fit(loss, np.zeros(base.shape, fixed.dtype), iterations, rate)
    return base + np.matmul(field_of(params), linear), history


def _flow_errors(fixed, true_flow, estimates):
    """Mean voxel distance of each estimate to ``true_flow`` where ``fixed`` shows something."""
    signal = np.abs(fixed[0]).max(axis=0)
    inside = signal > 0.1 * signal.max()
    if not inside.any():                                  # a blank volume: every voxel counts
        inside[...] = True
    return {name: float(np.mean(np.linalg.norm(estimate - true_flow, axis=-1)[inside]))
            for name, estimate in estimates.items()}


# ---------------------------------------------------------------------- files and pictures

def load_volume(path, name="volume"):
    """A volume from a ``.npy`` file or a one-array ``.npz`` file.

    Parameters
    ----------
    path : str or path-like
        The file.
    name : str, optional
        What the volume is, for the error messages.

    Returns
    -------
    ndarray, shape (D, H, W) or (C, D, H, W)

    Raises
    ------
    ValueError
        For a file that is not one 3-D or 4-D array of real numbers.
    OSError
        For a file that cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit.registration import load_volume
    >>> path = os.path.join(tempfile.mkdtemp(), "v.npy")
    >>> np.save(path, np.zeros((4, 5, 6), np.float32))
    >>> load_volume(path).shape
    (4, 5, 6)
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as error:                   # not an .npy/.npz, or pickled objects
        raise ValueError(f"{name} {str(path)!r}: not a NumPy .npy/.npz array file ({error})") \
            from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            if len(loaded.files) != 1:
                raise ValueError(f"{name} {str(path)!r}: expected one array in the .npz file, "
                                 f"found {len(loaded.files)}")
            loaded = loaded[loaded.files[0]]
    if loaded.ndim not in (3, 4):
        raise ValueError(f"{name} {str(path)!r}: expected a (D, H, W) or (C, D, H, W) volume, "
                         f"got an array of shape {loaded.shape}")
    if not (np.issubdtype(loaded.dtype, np.integer) or np.issubdtype(loaded.dtype, np.floating)):
        raise ValueError(f"{name} {str(path)!r}: expected real numbers, got dtype {loaded.dtype}")
    return loaded


def _slices(volume):
    """The middle axial (H, W), coronal (D, W) and sagittal (D, H) slices of (D, H, W)."""
    d, h, w = (n // 2 for n in volume.shape)
    return volume[d], volume[:, h], volume[:, :, w]


VIEWS = ("axial (z = D/2)", "coronal (y = H/2)", "sagittal (x = W/2)")


def plot_registration(fixed, moving, result, *, title=None, path=None, every=2):
    """Orthogonal slices of the fixed, moving and warped volumes, and the field's grid lines.

    Rows: fixed, moving, warped (first channel), each as the middle axial,
    coronal and sagittal slice; last row: the deformed grid of the axial
    slice drawn on the moving volume (where each fixed voxel reads), and the
    absolute difference to the fixed slice before and after.

    Parameters
    ----------
    fixed, moving : ndarray, shape (D, H, W) or (C, D, H, W)
        The volumes given to :func:`register`.
    result : RegistrationResult
    title : str, optional
        Figure title (names the run).
    path : str, optional
        Write a PNG there.
    every : int, optional
        Draw every ``every``-th grid line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from warpkit.registration import make_phantom_pair, plot_registration, register
    >>> pair = make_phantom_pair(8)
    >>> result = register(pair.fixed, pair.moving, affine_iterations=1, iterations=1)
    >>> figure = plot_registration(pair.fixed, pair.moving, result, title="8^3, seed 0")
    >>> len(figure.axes)
    12
    """
    import matplotlib.pyplot as plt

    first = [np.asarray(v, np.float64).reshape((-1,) + np.shape(v)[-3:])[0]
             for v in (fixed, moving, result.warped)]
    top = max(float(np.max(v)) for v in first) or 1.0
    fig, axes = plt.subplots(4, 3, figsize=(9, 12.4))
    for row, (volume, name) in enumerate(zip(first, ("fixed", "moving", "warped"))):
        for col, (image, view) in enumerate(zip(_slices(volume), VIEWS)):
            ax = axes[row, col]
            ax.imshow(image, cmap="gray", vmin=0, vmax=top, origin="lower")
            ax.set_title(f"{name}: {view}", fontsize=9)
    depth = first[0].shape[0] // 2
    ax = axes[3, 0]
    ax.imshow(first[1][depth], cmap="gray", vmin=0, vmax=top, origin="lower")
    flow = result.flow[depth]                                      # (H, W, 3)
    height, width = flow.shape[:2]
    y, x = np.mgrid[0:height, 0:width]
    gx, gy = x + flow[..., 0], y + flow[..., 1]
    for i in range(0, height, every):
        ax.plot(gx[i], gy[i], color="tab:orange", lw=0.7)
    for j in range(0, width, every):
        ax.plot(gx[:, j], gy[:, j], color="tab:orange", lw=0.7)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(-0.5, height - 0.5)
    ax.set_title("field: where fixed voxels read moving", fontsize=9)
    before, after = (abs(first[k][depth] - first[0][depth]) for k in (1, 2))
    for ax, image, name, key in ((axes[3, 1], before, "|moving - fixed|", "before"),
                                 (axes[3, 2], after, "|warped - fixed|", "after")):
        ax.imshow(image, cmap="magma", vmin=0, vmax=top / 2, origin="lower")
        ax.set_title(f"{name}, axial\n(MSE of the volume {result.mse[key]:.2g})", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or "registration", fontsize=11)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


OUTPUT_FILES = ("warped.npy", "flow.npy", "registration.png", "summary.json", "summary.md")
"""The files :func:`write_outputs` (and ``warpkit register --out``) writes."""


def write_outputs(out, fixed, moving, result, *, title):
    """Write :data:`OUTPUT_FILES` into the folder ``out`` (which must exist).

    ``warped.npy`` has the shape of ``moving``; ``flow.npy`` is
    ``(D, H, W, 3)``; ``registration.png`` is :func:`plot_registration`'s
    picture; ``summary.json`` holds ``title`` and
    ``RegistrationResult.to_dict()``; ``summary.md`` the summary lines.

    Parameters
    ----------
    out : str or path-like
        An existing folder.
    fixed, moving : ndarray, shape (D, H, W) or (C, D, H, W)
        The volumes given to :func:`register`.
    result : RegistrationResult
    title : str
        Names the run in the picture and the summaries.

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from warpkit.registration import make_phantom_pair, register, write_outputs
    >>> pair = make_phantom_pair(8)
    >>> result = register(pair.fixed, pair.moving, affine_iterations=1, iterations=1)
    >>> out = tempfile.mkdtemp()
    >>> write_outputs(out, pair.fixed, pair.moving, result, title="demo")
    >>> sorted(os.listdir(out))
    ['flow.npy', 'registration.png', 'summary.json', 'summary.md', 'warped.npy']
    """
    import json
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    np.save(os.path.join(out, "warped.npy"), result.warped.reshape(np.shape(moving)))
    np.save(os.path.join(out, "flow.npy"), result.flow)
    plt.close(plot_registration(fixed, moving, result, title=title,
                                path=os.path.join(out, "registration.png")))
    summary = {"title": title, **result.to_dict()}
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2)
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as file:
        file.write(f"# {title}\n\n{result.summary()}\n\n"
                   "Files: `warped.npy` (the moving volume warped onto the fixed one), "
                   "`flow.npy` ((D, H, W, 3) voxel displacements (dx, dy, dz): voxel "
                   "(d, h, w) reads the moving volume at (w + dx, h + dy, d + dz)), "
                   "`registration.png`, `summary.json`.\n")
