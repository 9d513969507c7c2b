"""The spatial transformer layer: localization net -> transform parameters -> fused warp.

A :class:`SpatialTransformer` is configuration only; its parameters live in a
pytree made by :meth:`SpatialTransformer.init` and passed to every call, like
every other layer of :mod:`warpkit.nn`.
"""

import math
import numbers
import operator

import autograd.numpy as anp
import numpy as np

import warpkit

from .. import _validate
from . import init as initializers
from .layers import conv2d, dense, flatten, max_pool, relu

__all__ = ["SpatialTransformer", "TRANSFORMS", "LOCALIZATIONS"]

TRANSFORMS = ("affine", "perspective", "tps", "attention")
"""Transformation families: ``attention`` is translation + isotropic scale (3 numbers)."""

LOCALIZATIONS = ("fcn", "cnn")

_ATTENTION_BASIS = np.array([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],   # scale
                             [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],   # x translation
                             [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])  # y translation


def _control_points(count):
    if isinstance(count, bool) or not isinstance(count, numbers.Integral):
        raise TypeError(f"num_control_points must be an integer, got {count!r}")
    count = operator.index(count)
    side = math.isqrt(max(count, 0))
    if side * side != count or side < 2:
        raise ValueError(f"num_control_points must be a square >= 4 (a sqrt(K) x sqrt(K) "
                         f"grid), got {count}")
    return warpkit.control_point_grid(count)


def _size_pair(size):
    """``(H, W)`` from an int (a square) or a pair of positive ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    return _validate.check_size("output_size (H, W)", size, 2, minimum=1)


class SpatialTransformer:
    """A spatial transformer (Jaderberg et al., 2015) for NCHW images.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of the images it receives.
    transform : {"affine", "perspective", "tps", "attention"}, optional
        What the localization net regresses: a 2x3 affine map (6 numbers), a
        homography (8), ``K`` thin-plate-spline target points (2K), or a
        translation + isotropic scale (3).
    output_size : int or tuple of int, optional
        ``(H_out, W_out)``, or one int ``S`` for a square ``(S, S)``; defaults
        to the input's ``(H, W)``.  A smaller size reads a large canvas into a
        small image (e.g. 60x60 into 30x30).
    localization : {"cnn", "fcn"}, optional
        ``cnn``: the input 2x max-pooled, two 20-filter 5x5 convolutions
        (each followed by ReLU; the first by 2x pooling when the map is large
        enough), then 20 hidden units (the ST-CNN of the paper).  ``fcn``: two
        fully connected hidden layers of 32 units.
    num_control_points : int, optional
        ``K`` for ``"tps"``: control points on a ``sqrt(K) x sqrt(K)`` grid.
    mode, padding_mode, align_corners
        Sampling options, as for :func:`warpkit.grid_sample`.

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
    gives the identity transform, so an untrained transformer passes the
    image through (resampled to ``output_size``).

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
                 num_control_points=16, mode="bilinear", padding_mode="zeros",
                 align_corners=False):
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {transform!r}; valid transforms: "
                             f"{', '.join(TRANSFORMS)}")
        if localization not in LOCALIZATIONS:
            raise ValueError(f"unknown localization {localization!r}; valid: "
                             f"{', '.join(LOCALIZATIONS)}")
        self.input_shape = _validate.check_size("input_shape (C, H, W)", input_shape, 3,
                                                minimum=1)
        self.output_size = self.input_shape[1:] if output_size is None else _size_pair(
            output_size)
        _validate.mode_code(mode)
        _validate.padding_code(padding_mode)
        if not isinstance(align_corners, (bool, np.bool_)):
            raise TypeError(f"align_corners must be a bool, got {align_corners!r}")
        self.transform = transform
        self.localization = localization
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners
        self.control_points = None
        if transform == "tps":
            self.control_points = _control_points(num_control_points)
        self.num_params = {"affine": 6, "perspective": 8, "attention": 3,
                           "tps": 2 * num_control_points}[transform]
        self._plan = self._localization_plan()

    # ------------------------------------------------------------------ structure

    def _localization_plan(self):
        """Layer list of the localization net: (kind, options) with shapes worked out."""
        channels, height, width = self.input_shape
        plan = []
        if self.localization == "fcn":
            features = channels * height * width
            for units in (32, 32):
                plan.append(("dense", features, units))
                features = units
            return plan, features
        if min(height, width) >= 20:
            plan.append(("pool",))
            height, width = height // 2, width // 2
        for index in range(2):
            if min(height, width) < 5:
                break
            plan.append(("conv", channels, 20))
            channels, height, width = 20, height - 4, width - 4
            if index == 0 and min(height, width) >= 10:
                plan.append(("pool",))
                height, width = height // 2, width // 2
        features = channels * height * width
        plan.append(("dense", features, 20))
        return plan, 20

    def identity_output(self):
        """The bias of the last localization layer: the identity transform's parameters.

        Examples
        --------
        >>> from warpkit import nn
        >>> nn.SpatialTransformer((1, 28, 28)).identity_output()
        array([1., 0., 0., 0., 1., 0.], dtype=float32)
        """
        if self.transform == "affine":
            values = [1, 0, 0, 0, 1, 0]
        elif self.transform == "perspective":
            values = [1, 0, 0, 0, 1, 0, 0, 0]
        elif self.transform == "attention":
            values = [1, 0, 0]
        else:
            values = [0] * self.num_params
        return np.array(values, dtype=np.float32)

    def init(self, rng):
        """Parameters: ``{"loc": [layer params...], "out": {"w": zeros, "b": identity}}``.

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
                layers.append(initializers.conv_params(rng, step[1], step[2], 5))
        out = {"w": np.zeros((features, self.num_params), dtype=np.float32),
               "b": self.identity_output()}
        return {"loc": layers, "out": out}

    # ------------------------------------------------------------------ forward

    def localize(self, params, x):
        """Regress the raw transform parameters, shape (N, num_params)."""
        plan, _ = self._plan
        layers = iter(params["loc"])
        h = x
        for index, step in enumerate(plan):
            if step[0] == "pool":
                h = max_pool(h, 2, name=f"localization[{index}] max_pool")
            elif step[0] == "conv":
                h = relu(conv2d(next(layers), h, name=f"localization[{index}] conv2d"))
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
            ``tps``.  All map normalized output coordinates to input ones.
        """
        raw = self.localize(params, x)
        n = np.shape(x)[0]
        if self.transform == "affine":
            return anp.reshape(raw, (n, 2, 3))
        if self.transform == "attention":
            return anp.reshape(anp.dot(raw, _ATTENTION_BASIS.astype(np.float32)), (n, 2, 3))
        if self.transform == "perspective":
            ones = np.ones((n, 1), dtype=np.float32)
            return anp.reshape(anp.concatenate([raw, ones], axis=1), (n, 3, 3))
        offsets = anp.reshape(raw, (n, -1, 2))
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
        return warpkit.warp_tps(x, control, theta, size=self.output_size, **options)

    def __call__(self, params, x):
        """Transform ``x``; returns ``(output, transform_params)``.

        Parameters
        ----------
        params : pytree
            From :meth:`init`.
        x : ndarray, shape (N, C, H, W)
            A batch of at least one image of shape ``input_shape``.

        Returns
        -------
        output : ndarray, shape (N, C, H_out, W_out)
        transform_params : ndarray
            See :meth:`transform_params`.
        """
        shape = tuple(np.shape(x))
        if len(shape) != 4 or shape[1:] != self.input_shape or shape[0] == 0:
            raise ValueError(f"SpatialTransformer: expected input of shape (N, "
                             f"{', '.join(map(str, self.input_shape))}) with N >= 1, "
                             f"got {shape}")
        theta = self.transform_params(params, x)
        return self.warp(x, theta), theta
