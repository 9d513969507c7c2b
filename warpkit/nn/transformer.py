"""The spatial transformer layer: localization net -> transform parameters -> fused warp.

A :class:`SpatialTransformer` is configuration only; its parameters live in a
pytree made by :meth:`SpatialTransformer.init` and passed to every call, like
every other layer of :mod:`warpkit.nn`.  It transforms images (NCHW) or, given
a ``(C, D, H, W)`` input shape, volumes (NCDHW) with the 3-D families.
"""

import math
import numbers
import operator

import autograd.numpy as anp
import numpy as np

import warpkit

from .. import _validate
from . import init as initializers
from .layers import _SPATIAL_AXES, conv2d, conv3d, dense, flatten, max_pool, max_pool3d, relu

__all__ = ["SpatialTransformer", "TRANSFORMS", "LOCALIZATIONS"]

TRANSFORMS = ("affine", "perspective", "tps", "attention")
"""Transformation families: ``attention`` is translation + isotropic scale (3 numbers)."""

LOCALIZATIONS = ("fcn", "cnn")

def _attention_basis(dims):
    """Rows map (scale, x, y[, z] translation) to the flattened (dims, dims + 1) affine map."""
    basis = np.zeros((dims + 1, dims * (dims + 1)))
    for axis in range(dims):
        basis[0, axis * (dims + 2)] = 1.0                 # the scale on the diagonal
        basis[axis + 1, axis * (dims + 1) + dims] = 1.0   # the translation column
    return basis


def _identity_output(transform, dims, num_params):
    """Flattened parameters of the identity transform (homographies without their last 1)."""
    return _zoom_output(transform, dims, num_params, 1.0, None)


def _zoom_output(transform, dims, num_params, scale, control_points):
    """Flattened parameters of ``input = scale * output`` (normalized coordinates).

    ``scale < 1`` reads the central part of the input: a zoom into its centre.
    The thin-plate spline's parameters are offsets of its target points from
    ``control_points``, so its zoom is ``(scale - 1) * control_points``.
    """
    if transform == "affine":
        return (scale * np.eye(dims, dims + 1)).ravel()
    if transform == "perspective":
        matrix = np.eye(dims + 1)
        matrix[:dims, :dims] *= scale
        return matrix.ravel()[:-1]
    if transform == "attention":
        return scale * np.eye(1, dims + 1).ravel()
    if control_points is None or scale == 1.0:
        return np.zeros(num_params)
    return ((scale - 1.0) * np.asarray(control_points)).ravel()


def _initial_scale(value):
    """``initial_scale`` as a float in (0, inf)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"initial_scale must be a finite number > 0, got {value!r}")
    return float(value)


_DEFAULT_CONTROL_POINTS = {2: 16, 3: 27}

# The CNN localization net per dimension: kernel side, filters per convolution,
# the smallest side pooled 2x before the first convolution and after it.
_CNN = {2: {"kernel": 5, "filters": 20, "pool_input": 20, "pool_conv": 10},
        3: {"kernel": 3, "filters": 8, "pool_input": 20, "pool_conv": 10}}


def _control_points(count, dims):
    """``count`` control points on a regular grid spanning ``[-1, 1]`` on every axis."""
    if isinstance(count, bool) or not isinstance(count, numbers.Integral):
        raise TypeError(f"num_control_points must be an integer, got {count!r}")
    count = operator.index(count)
    if dims == 2:
        side = math.isqrt(max(count, 0))
        if side * side != count or side < 2:
            raise ValueError(f"num_control_points must be a square >= 4 (a sqrt(K) x sqrt(K) "
                             f"grid), got {count}")
        return warpkit.control_point_grid(count)
    side = round(max(count, 0) ** (1 / 3))
    if side ** 3 != count or side < 2:
        raise ValueError(f"num_control_points must be a cube >= 8 for volumes (a K^(1/3) "
                         f"grid on each axis), got {count}")
    axis = np.linspace(-1.0, 1.0, side)
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")  # x varies fastest
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)


def _input_shape(shape):
    """``(C, H, W)`` (images) or ``(C, D, H, W)`` (volumes) as a tuple of positive ints."""
    try:
        length = len(shape)
    except TypeError:
        raise TypeError(f"input_shape must be (C, H, W) for images or (C, D, H, W) for "
                        f"volumes, got {shape!r}") from None
    if length == 4:
        return _validate.check_size("input_shape (C, D, H, W)", shape, 4, minimum=1)
    return _validate.check_size("input_shape (C, H, W)", shape, 3, minimum=1)


def _output_size(size, dims):
    """``(H, W)`` / ``(D, H, W)`` from an int (a square or cube) or positive ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size,) * dims
    return _validate.check_size(f"output_size ({_SPATIAL_AXES[dims]})", size, dims, minimum=1)


class SpatialTransformer:
    """A spatial transformer (Jaderberg et al., 2015) for NCHW images or NCDHW volumes.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of the images it receives, or ``(C, D, H, W)`` of
        volumes: then every transform is the 3-D one and the warps are the
        volume warps of :func:`warpkit.warp_affine` and friends.
    transform : {"affine", "perspective", "tps", "attention"}, optional
        What the localization net regresses.  Images: a 2x3 affine map (6
        numbers), a homography (8: its last entry is fixed to 1), ``K``
        thin-plate-spline target points (2K), or a translation + isotropic
        scale (3).  Volumes: a 3x4 affine map (12), a 4x4 homography (15),
        ``K`` 3-D target points (3K), or translation + scale (4).
    output_size : int or tuple of int, optional
        ``(H_out, W_out)`` (volumes: ``(D_out, H_out, W_out)``), or one int
        ``S`` for a square (cube); defaults to the input's spatial size.  A
        smaller size reads a large canvas into a small image (e.g. 60x60 into
        30x30).
    localization : {"cnn", "fcn"}, optional
        ``cnn``: the input 2x max-pooled, two 20-filter 5x5 convolutions
        (each followed by ReLU; the first by 2x pooling when the map is large
        enough), then 20 hidden units (the ST-CNN of the paper).  Volumes use
        the same plan with 8-filter 3x3x3 convolutions.  ``fcn``: two fully
        connected hidden layers of 32 units.
    num_control_points : int, optional
        ``K`` for ``"tps"``: control points on a ``sqrt(K) x sqrt(K)`` grid
        (16 by default), or a ``K^(1/3)`` cube for volumes (27 by default).
    mode, padding_mode, align_corners
        Sampling options, as for :func:`warpkit.grid_sample` (``"bilinear"``
        is trilinear and ``"bicubic"`` tricubic on volumes).
    initial_scale : float, optional
        The transform the untrained transformer starts from: ``input =
        initial_scale * output`` in normalized coordinates.  1 (the default)
        is the identity; a value below 1 starts zoomed into the centre, the
        start that lets an attention window find a small digit in a large
        cluttered canvas (see the STN tutorial).

    Raises
    ------
    ValueError
        If a name is unknown (``transform``, ``localization``, ``mode``,
        ``padding_mode``) or a size is not positive.
    TypeError
        If a size is not made of integers or ``align_corners`` is not a bool.

    Notes
    -----
    The last localization layer starts with zero weights and a bias that
    gives the identity transform (or the zoom of ``initial_scale``), so an
    untrained transformer passes the image through (resampled to
    ``output_size``).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> st = nn.SpatialTransformer((1, 28, 28), transform="affine")
    >>> params = st.init(np.random.default_rng(0))
    >>> images = np.random.default_rng(1).random((2, 1, 28, 28)).astype(np.float32)
    >>> out, theta = st(params, images)
    >>> out.shape, theta.shape
    ((2, 1, 28, 28), (2, 2, 3))
    >>> bool(np.allclose(out, images, atol=1e-5))  # identity at initialization
    True
    """

    def __init__(self, input_shape, transform="affine", output_size=None, localization="cnn",
                 num_control_points=None, mode="bilinear", padding_mode="zeros",
                 align_corners=False, initial_scale=1.0):
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {transform!r}; valid transforms: "
                             f"{', '.join(TRANSFORMS)}")
        if localization not in LOCALIZATIONS:
            raise ValueError(f"unknown localization {localization!r}; valid: "
                             f"{', '.join(LOCALIZATIONS)}")
        self.input_shape = _input_shape(input_shape)
        self.dims = dims = len(self.input_shape) - 1
        self.output_size = self.input_shape[1:] if output_size is None else _output_size(
            output_size, dims)
        _validate.mode_code(mode)
        _validate.padding_code(padding_mode)
        if not isinstance(align_corners, (bool, np.bool_)):
            raise TypeError(f"align_corners must be a bool, got {align_corners!r}")
        self.transform = transform
        self.localization = localization
        self.initial_scale = _initial_scale(initial_scale)
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners
        self.control_points = None
        if num_control_points is None:
            num_control_points = _DEFAULT_CONTROL_POINTS[dims]
        if transform == "tps":
            self.control_points = _control_points(num_control_points, dims)
        self.num_params = {"affine": dims * (dims + 1), "perspective": (dims + 1) ** 2 - 1,
                           "attention": dims + 1, "tps": dims * num_control_points}[transform]
        self._plan = self._localization_plan()

    # ------------------------------------------------------------------ structure

    def _localization_plan(self):
        """Layer list of the localization net: (kind, options) with shapes worked out."""
        channels, *spatial = self.input_shape
        plan = []
        if self.localization == "fcn":
            features = channels * math.prod(spatial)
            for units in (32, 32):
                plan.append(("dense", features, units))
                features = units
            return plan, features
        cnn = _CNN[self.dims]
        if min(spatial) >= cnn["pool_input"]:
            plan.append(("pool",))
            spatial = [side // 2 for side in spatial]
        for index in range(2):
            if min(spatial) < cnn["kernel"]:
                break
            plan.append(("conv", channels, cnn["filters"], cnn["kernel"]))
            channels = cnn["filters"]
            spatial = [side - cnn["kernel"] + 1 for side in spatial]
            if index == 0 and min(spatial) >= cnn["pool_conv"]:
                plan.append(("pool",))
                spatial = [side // 2 for side in spatial]
        features = channels * math.prod(spatial)
        plan.append(("dense", features, 20))
        return plan, 20

    def identity_output(self):
        """The bias of the last localization layer: the identity transform's parameters.

        Examples
        --------
        >>> from warpkit import nn
        >>> nn.SpatialTransformer((1, 28, 28)).identity_output()
        array([1., 0., 0., 0., 1., 0.], dtype=float32)
        >>> nn.SpatialTransformer((1, 8, 8, 8)).identity_output().reshape(3, 4)
        array([[1., 0., 0., 0.],
               [0., 1., 0., 0.],
               [0., 0., 1., 0.]], dtype=float32)
        """
        return _identity_output(self.transform, self.dims, self.num_params).astype(np.float32)

    def initial_output(self):
        """The bias of the last localization layer at :meth:`init`: the zoom by ``initial_scale``.

        Examples
        --------
        >>> from warpkit import nn
        >>> nn.SpatialTransformer((1, 60, 60), "attention", initial_scale=0.5).initial_output()
        array([0.5, 0. , 0. ], dtype=float32)
        """
        return _zoom_output(self.transform, self.dims, self.num_params, self.initial_scale,
                            self.control_points).astype(np.float32)

    def init(self, rng):
        """Parameters: ``{"loc": [layer params...], "out": {"w": zeros, "b": start}}``.

        ``start`` is :meth:`initial_output`: the identity unless ``initial_scale``
        says otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import nn
        >>> params = nn.SpatialTransformer((1, 28, 28), "tps").init(np.random.default_rng(0))
        >>> params["out"]["w"].shape, float(abs(params["out"]["w"]).max())
        ((20, 32), 0.0)
        """
        plan, features = self._plan
        layers = []
        for step in plan:
            if step[0] == "dense":
                layers.append(initializers.dense_params(rng, step[1], step[2]))
            elif step[0] == "conv":
                layers.append(initializers.conv_params(rng, *step[1:], dims=self.dims))
        out = {"w": np.zeros((features, self.num_params), dtype=np.float32),
               "b": self.initial_output()}
        return {"loc": layers, "out": out}

    # ------------------------------------------------------------------ forward

    def localize(self, params, x):
        """Regress the raw transform parameters, shape (N, num_params)."""
        plan, _ = self._plan
        pool, conv = (max_pool, conv2d) if self.dims == 2 else (max_pool3d, conv3d)
        layers = iter(params["loc"])
        h = x
        for index, step in enumerate(plan):
            if step[0] == "pool":
                h = pool(h, 2, name=f"localization[{index}] {pool.__name__}")
            elif step[0] == "conv":
                h = relu(conv(next(layers), h, name=f"localization[{index}] {conv.__name__}"))
            else:
                if len(np.shape(h)) != 2:
                    h = flatten(h)
                h = relu(dense(next(layers), h, name=f"localization[{index}] dense"))
        return dense(params["out"], h, name="localization output dense")

    def transform_params(self, params, x):
        """The regressed transform of every image.

        Returns
        -------
        ndarray
            (N, 2, 3) affine maps for ``affine``/``attention``; (N, 3, 3)
            homographies for ``perspective``; (N, K, 2) target points for
            ``tps``.  Volumes: (N, 3, 4), (N, 4, 4) and (N, K, 3).  All map
            normalized output coordinates to input ones.
        """
        raw = self.localize(params, x)
        n, dims = np.shape(x)[0], self.dims
        if self.transform == "affine":
            return anp.reshape(raw, (n, dims, dims + 1))
        if self.transform == "attention":
            basis = _attention_basis(dims).astype(np.float32)
            return anp.reshape(anp.dot(raw, basis), (n, dims, dims + 1))
        if self.transform == "perspective":
            ones = np.ones((n, 1), dtype=np.float32)
            return anp.reshape(anp.concatenate([raw, ones], axis=1), (n, dims + 1, dims + 1))
        offsets = anp.reshape(raw, (n, -1, dims))
        return offsets + self.control_points.astype(np.float32)

    def warp(self, x, theta):
        """Warp ``x`` with transform parameters ``theta`` to ``output_size`` (fused warps)."""
        options = dict(mode=self.mode, padding_mode=self.padding_mode,
                       align_corners=self.align_corners)
        if self.transform in ("affine", "attention"):
            return warpkit.warp_affine(x, theta, size=self.output_size, **options)
        if self.transform == "perspective":
            return warpkit.warp_perspective(x, theta, size=self.output_size, **options)
        control = self.control_points.astype(np.float32)
        if self.dims == 3:  # no fused 3-D spline warp: the grid, then the sampler
            size = (np.shape(x)[0], np.shape(x)[1], *self.output_size)
            grid = warpkit.tps_grid(control, theta, size, align_corners=self.align_corners)
            return warpkit.grid_sample(x, grid, **options)
        return warpkit.warp_tps(x, control, theta, size=self.output_size, **options)

    def __call__(self, params, x):
        """Transform ``x``; returns ``(output, transform_params)``.

        Parameters
        ----------
        params : pytree
            From :meth:`init`.
        x : ndarray, shape (N, C, H, W) or (N, C, D, H, W)
            A batch of at least one image (volume) of shape ``input_shape``.

        Returns
        -------
        output : ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        transform_params : ndarray
            See :meth:`transform_params`.
        """
        shape = tuple(np.shape(x))
        if len(shape) != self.dims + 2 or shape[1:] != self.input_shape or shape[0] == 0:
            raise ValueError(f"SpatialTransformer: expected input of shape (N, "
                             f"{', '.join(map(str, self.input_shape))}) with N >= 1, "
                             f"got {shape}")
        theta = self.transform_params(params, x)
        return self.warp(x, theta), theta
