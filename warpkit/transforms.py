"""Geometric transform objects: affine, projective and thin-plate spline.

A transform maps 2-D points, ``T(points)``.  Transforms compose with ``@``
(``(A @ B)(p) == A(B(p))``: ``B`` first), invert with ``.inverse``, and are
estimated from point pairs with ``.estimate(src, dst)`` (``T(src) ~ dst``).

The samplers take an ``input_from_output`` map in *normalized* coordinates
(see :mod:`warpkit.coords`).  Image libraries describe maps in *pixel*
coordinates (pixel centres at integers, ``(0, 0)`` the top-left centre).
``to_normalized`` and ``from_normalized`` convert between the two for given
image sizes and ``align_corners``: a pixel-coordinate map ``M`` from output
pixels to input pixels becomes ``theta = N_in @ M @ P_out``, where ``P_out``
turns normalized output coordinates into pixels and ``N_in`` turns input
pixels into normalized coordinates.

Which way a map goes matters.  scikit-image's ``warp(image, inverse_map)``
takes the ``input_from_output`` map, as warpkit does; OpenCV's
``warpAffine(src, M, dsize)`` takes the forward ``output_from_input`` map
unless ``WARP_INVERSE_MAP`` is set, so use ``AffineTransform(M).inverse``.

The worked example of the documentation (``docs/worked_example.rst``): a 4x4
grayscale image, and the map that reads input pixel ``(2.5, 2.5)`` for output
pixel ``(1, 1)`` (a shift by 1.5 pixels).  Bilinear sampling there averages the four surrounding pixels:

>>> import numpy as np
>>> import warpkit
>>> image = np.arange(16.0).reshape(1, 1, 4, 4)
>>> shift = warpkit.AffineTransform(translation=(1.5, 1.5))  # input_from_output, pixels
>>> shift([[1.0, 1.0]])
array([[2.5, 2.5]])
>>> theta = shift.to_normalized((4, 4))  # the sampler's theta, align_corners=False
>>> theta
array([[1.  , 0.  , 0.75],
       [0.  , 1.  , 0.75]])
>>> out = warpkit.warp_affine(image, theta[None])
>>> float(out[0, 0, 1, 1]), (10.0 + 11.0 + 14.0 + 15.0) / 4
(12.5, 12.5)
"""

import numpy as np

from . import _validate, coords
from .tps import check_tps_points, evaluate_tps, solve_tps

__all__ = [
    "AffineTransform",
    "PerspectiveTransform",
    "TpsTransform",
    "CompositeTransform",
    "normalized_from_pixel_matrix",
    "pixel_from_normalized_matrix",
]


# ------------------------------------------------------------ pixel frames


def _image_size(name, size):
    if size is None and name == "output_size":
        return None
    return _validate.check_size(name, size, 2, minimum=1)


def normalized_from_pixel_matrix(size, align_corners=False):
    """3x3 matrix taking pixel ``(x, y, 1)`` to normalized coordinates on an image of ``size``.

    Parameters
    ----------
    size : tuple of int
        ``(height, width)``.
    align_corners : bool, optional
        The normalization convention.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> from warpkit.transforms import normalized_from_pixel_matrix
    >>> normalized_from_pixel_matrix((4, 2))
    array([[ 1.  ,  0.  , -0.5 ],
           [ 0.  ,  0.5 , -0.75],
           [ 0.  ,  0.  ,  1.  ]])
    """
    height, width = _image_size("size", size)
    align_corners = _validate.check_bool("align_corners", align_corners)
    matrix = np.eye(3)
    for axis, length in ((0, width), (1, height)):
        offset = coords.normalize(0.0, length, align_corners)
        matrix[axis, axis] = coords.normalize(1.0, length, align_corners) - offset
        matrix[axis, 2] = offset
    return matrix


def pixel_from_normalized_matrix(size, align_corners=False):
    """3x3 matrix taking normalized ``(x, y, 1)`` to pixel coordinates on an image of ``size``.

    The inverse of :func:`normalized_from_pixel_matrix`, with the same
    parameters; returns an ndarray of shape (3, 3).

    Examples
    --------
    >>> from warpkit.transforms import pixel_from_normalized_matrix
    >>> pixel_from_normalized_matrix((4, 2))
    array([[1. , 0. , 0.5],
           [0. , 2. , 1.5],
           [0. , 0. , 1. ]])
    """
    height, width = _image_size("size", size)
    align_corners = _validate.check_bool("align_corners", align_corners)
    matrix = np.eye(3)
    for axis, length in ((0, width), (1, height)):
        matrix[axis, axis] = coords.unnormalize_scale(length, align_corners)
        matrix[axis, 2] = coords.unnormalize(0.0, length, align_corners)
    return matrix


def _points(name, points):
    array = _validate.as_float_array(name, points, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., 2), got {array.shape}")
    return array


def _point_pairs(src, dst, minimum):
    src = _points("src", src)
    dst = _points("dst", dst)
    if src.ndim != 2 or src.shape != dst.shape:
        raise ValueError(
            f"src and dst must both have shape (M, 2), got {src.shape} and {dst.shape}")
    if len(src) < minimum:
        raise ValueError(f"estimation needs at least {minimum} point pairs, got {len(src)}")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise ValueError("src and dst must be finite")
    return src, dst


# ------------------------------------------------------------ base classes


class _Transform:
    """What every transform offers: call, compose."""

    def __matmul__(self, other):
        if not isinstance(other, _Transform):
            return NotImplemented
        return CompositeTransform([self, other])


class _MatrixTransform(_Transform):
    """A transform given by a 3x3 matrix acting on homogeneous points."""

    def __init__(self, matrix=None, *, scale=None, rotation=None, shear=None,
                 translation=None):
        geometric = (scale, rotation, shear, translation)
        if matrix is not None:
            if any(value is not None for value in geometric):
                raise ValueError("give either a matrix or geometric parameters, not both")
            self.params = self._check_matrix(_validate.as_real_array("matrix", matrix))
        else:
            self.params = _geometric_matrix(scale, rotation, shear, translation)

    def _check_matrix(self, matrix):
        if matrix.shape == (2, 3):
            matrix = np.vstack([matrix, [0.0, 0.0, 1.0]])
        if matrix.shape != (3, 3):
            raise ValueError(f"matrix must have shape (3, 3) or (2, 3), got {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("matrix must be finite")
        return matrix

    def __call__(self, points):
        points = _points("points", points)
        m = self.params
        u = m[0, 0] * points[..., 0] + m[0, 1] * points[..., 1] + m[0, 2]
        v = m[1, 0] * points[..., 0] + m[1, 1] * points[..., 1] + m[1, 2]
        w = m[2, 0] * points[..., 0] + m[2, 1] * points[..., 1] + m[2, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([u / w, v / w], axis=-1)

    @property
    def inverse(self):
        """The inverse transform (exact); ``ValueError`` if the matrix is singular.

        Singular means a condition number above ``1e14`` of the part that
        must be inverted: the 2x2 linear part of an affine map (a translation,
        however large, is always invertible), the whole matrix of a
        homography (its scale does not matter).
        """
        part = self.params[:2, :2] if isinstance(self, AffineTransform) else self.params
        with np.errstate(all="ignore"):
            condition = np.linalg.cond(part)
        if not condition <= 1e14:
            raise ValueError(f"the transform is not invertible (singular matrix):\n{self.params}")
        return type(self)(np.linalg.inv(self.params))

    def __matmul__(self, other):
        if isinstance(other, _MatrixTransform):
            kind = type(self) if type(self) is type(other) else PerspectiveTransform
            return kind(self.params @ other.params)
        return super().__matmul__(other)

    def __repr__(self):
        body = np.array2string(self.params, separator=", ", prefix="    ")
        return f"{type(self).__name__}(\n    {body})"

    def _normalized_matrix(self, input_size, output_size, align_corners):
        input_size = _image_size("input_size", input_size)
        output_size = _image_size("output_size", output_size) or input_size
        return (normalized_from_pixel_matrix(input_size, align_corners) @ self.params
                @ pixel_from_normalized_matrix(output_size, align_corners))

    @classmethod
    def _from_normalized_matrix(cls, matrix, input_size, output_size, align_corners):
        input_size = _image_size("input_size", input_size)
        output_size = _image_size("output_size", output_size) or input_size
        return cls(pixel_from_normalized_matrix(input_size, align_corners) @ matrix
                   @ normalized_from_pixel_matrix(output_size, align_corners))


def _geometric_matrix(scale, rotation, shear, translation):
    """``T @ R @ Sh @ S``: scale, then shear, then rotation, then translation."""
    sx, sy = np.broadcast_to(np.asarray(1.0 if scale is None else scale, np.float64), (2,))
    angle = 0.0 if rotation is None else float(rotation)
    shear = 0.0 if shear is None else float(shear)
    tx, ty = np.broadcast_to(np.asarray(0.0 if translation is None else translation,
                                        np.float64), (2,))
    values = (sx, sy, angle, shear, tx, ty)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"geometric parameters must be finite, got {values}")
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    slant = np.array([[1.0, np.tan(shear), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    stretch = np.diag([sx, sy, 1.0])
    move = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])
    return move @ rotate @ slant @ stretch


# ------------------------------------------------------------------ affine


class AffineTransform(_MatrixTransform):
    """An affine map ``p -> A p + t`` of 2-D points.

    Parameters
    ----------
    matrix : array_like, shape (3, 3) or (2, 3), optional
        The homogeneous matrix; its last row must be ``(0, 0, 1)``.
    scale : float or (float, float), optional
        Scale factors along x and y (applied first).
    rotation : float, optional
        Angle in radians, turning the x axis towards the y axis (clockwise
        on screen, where y points down).
    shear : float, optional
        Shear angle in radians: ``x += tan(shear) * y`` (after scaling).
    translation : (float, float), optional
        Added last.

    Attributes
    ----------
    params : ndarray, shape (3, 3)
        The homogeneous matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import AffineTransform
    >>> turn = AffineTransform(rotation=np.pi / 2, translation=(1.0, 0.0))
    >>> np.round(turn([[1.0, 0.0], [0.0, 2.0]]), 12) + 0.0
    array([[ 1.,  1.],
           [-1.,  0.]])
    >>> np.round((turn.inverse @ turn).params, 12) + 0.0
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    def _check_matrix(self, matrix):
        matrix = super()._check_matrix(matrix)
        if np.allclose(matrix[2], [0.0, 0.0, 1.0], rtol=0, atol=1e-12):
            matrix[2] = (0.0, 0.0, 1.0)  # round-off of an inverse or product
        else:
            raise ValueError(
                f"an affine matrix must have last row (0, 0, 1), got {matrix[2].tolist()}; "
                f"use PerspectiveTransform")
        return matrix

    @classmethod
    def estimate(cls, src, dst):
        """The least-squares affine map with ``T(src) ~ dst``.

        Parameters
        ----------
        src, dst : array_like, shape (M, 2)
            At least 3 point pairs; ``src`` must not all lie on one line.

        Returns
        -------
        AffineTransform

        Raises
        ------
        ValueError
            Fewer than 3 pairs, collinear ``src``, non-finite or mismatched points.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import AffineTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.round(AffineTransform.estimate(src, 2.0 * src + 1.0).params, 12) + 0.0
        array([[2., 0., 1.],
               [0., 2., 1.],
               [0., 0., 1.]])
        """
        src, dst = _point_pairs(src, dst, 3)
        design = np.hstack([src, np.ones((len(src), 1))])
        singular = np.linalg.svd(src - src.mean(axis=0), compute_uv=False)
        if singular[1] <= 1e-10 * singular[0]:
            raise ValueError("src points must not all lie on one line (the affine map would "
                             "be undetermined)")
        solution = np.linalg.lstsq(design, dst, rcond=None)[0]   # (3, 2)
        return cls(np.vstack([solution.T, [0.0, 0.0, 1.0]]))

    def to_normalized(self, input_size, output_size=None, align_corners=False):
        """The sampler's ``theta`` for this pixel-coordinate ``input_from_output`` map.

        Parameters
        ----------
        input_size, output_size : (int, int)
            ``(height, width)`` of the input and output images; the output
            defaults to the input's size.
        align_corners : bool, optional
            The normalization convention of the sampler call.

        Returns
        -------
        ndarray, shape (2, 3)
            ``theta`` for :func:`warpkit.affine_grid` / :func:`warpkit.warp_affine`
            (add a batch axis).

        Examples
        --------
        >>> from warpkit import AffineTransform
        >>> AffineTransform(translation=(1.0, 0.0)).to_normalized((4, 4))
        array([[1. , 0. , 0.5],
               [0. , 1. , 0. ]])
        """
        return self._normalized_matrix(input_size, output_size, align_corners)[:2]

    @classmethod
    def from_normalized(cls, theta, input_size, output_size=None, align_corners=False):
        """The pixel-coordinate map of a sampler ``theta`` (inverse of :meth:`to_normalized`).

        Parameters
        ----------
        theta : array_like, shape (2, 3)
            Normalized ``input_from_output`` map.
        input_size, output_size, align_corners
            As for :meth:`to_normalized`.

        Returns
        -------
        AffineTransform

        Examples
        --------
        >>> from warpkit import AffineTransform
        >>> AffineTransform.from_normalized([[1.0, 0, 0.5], [0, 1.0, 0]], (4, 4)).params
        array([[1., 0., 1.],
               [0., 1., 0.],
               [0., 0., 1.]])
        """
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (2, 3):
            raise ValueError(f"theta must have shape (2, 3), got {theta.shape}")
        matrix = np.vstack([theta, [0.0, 0.0, 1.0]])
        return cls._from_normalized_matrix(matrix, input_size, output_size, align_corners)


# -------------------------------------------------------------- projective


class PerspectiveTransform(_MatrixTransform):
    """A projective map (homography) ``p -> (H (p, 1))[:2] / (H (p, 1))[2]``.

    Parameters
    ----------
    matrix : array_like, shape (3, 3), optional
        The homography (any non-zero multiple is the same map).
    scale, rotation, shear, translation : optional
        Build an affine homography, as for :class:`AffineTransform`.

    Attributes
    ----------
    params : ndarray, shape (3, 3)

    Notes
    -----
    Calling the transform divides by ``w`` as it is: points on the horizon
    (``w = 0``) map to infinities.  The samplers instead give output pixels
    with ``w <= 0`` no source (see :func:`warpkit.perspective_grid`).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import PerspectiveTransform
    >>> tilt = PerspectiveTransform([[1.0, 0, 0], [0, 1.0, 0], [0.5, 0, 1.0]])
    >>> tilt([[2.0, 2.0]])
    array([[1., 1.]])
    """

    @classmethod
    def estimate(cls, src, dst):
        """The homography with ``T(src) ~ dst`` by the normalized direct linear transform.

        Both point sets are first moved to their centroid and scaled to a
        mean distance of ``sqrt(2)`` (Hartley's normalization); the
        homography is the singular vector of the smallest singular value.

        Parameters
        ----------
        src, dst : array_like, shape (M, 2)
            At least 4 point pairs in general position.

        Returns
        -------
        PerspectiveTransform
            Scaled so that ``params[2, 2] == 1`` where possible.

        Raises
        ------
        ValueError
            Fewer than 4 pairs, or a degenerate configuration (e.g. three of
            four points on a line) that does not determine the homography.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import PerspectiveTransform
        >>> true = PerspectiveTransform([[1.0, 0.2, 3.0], [0.1, 0.9, -1.0], [0.01, 0.02, 1.0]])
        >>> src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [5.0, 3.0]])
        >>> found = PerspectiveTransform.estimate(src, true(src))
        >>> np.allclose(found.params, true.params)
        True
        """
        src, dst = _point_pairs(src, dst, 4)
        src_norm, src_points = _hartley(src)
        dst_norm, dst_points = _hartley(dst)
        count = len(src)
        design = np.zeros((2 * count, 9))
        x, y = src_points[:, 0], src_points[:, 1]
        u, v = dst_points[:, 0], dst_points[:, 1]
        design[0::2, 0:3] = np.stack([x, y, np.ones(count)], axis=1)
        design[0::2, 6:9] = -u[:, None] * np.stack([x, y, np.ones(count)], axis=1)
        design[1::2, 3:6] = np.stack([x, y, np.ones(count)], axis=1)
        design[1::2, 6:9] = -v[:, None] * np.stack([x, y, np.ones(count)], axis=1)
        _, singular, vt = np.linalg.svd(design)
        if len(singular) < 9:
            singular = np.concatenate([singular, np.zeros(9 - len(singular))])
        normalized = vt[-1].reshape(3, 3)  # unit Frobenius norm
        if singular[7] <= 1e-10 * singular[0] or abs(np.linalg.det(normalized)) <= 1e-10:
            raise ValueError("src and dst do not determine an invertible homography "
                             "(degenerate points: e.g. three of four points on one line)")
        matrix = np.linalg.inv(dst_norm) @ normalized @ src_norm
        if abs(matrix[2, 2]) > 1e-12 * np.abs(matrix).max():
            matrix = matrix / matrix[2, 2]
        return cls(matrix)

    def to_normalized(self, input_size, output_size=None, align_corners=False):
        """The sampler's homography for this pixel-coordinate ``input_from_output`` map.

        Parameters
        ----------
        input_size, output_size : (int, int)
            ``(height, width)`` of the input and output images.
        align_corners : bool, optional
            The normalization convention of the sampler call.

        Returns
        -------
        ndarray, shape (3, 3)
            For :func:`warpkit.perspective_grid` / :func:`warpkit.warp_perspective`.

        Examples
        --------
        >>> from warpkit import PerspectiveTransform
        >>> PerspectiveTransform(translation=(0.0, 2.0)).to_normalized((4, 4))
        array([[1., 0., 0.],
               [0., 1., 1.],
               [0., 0., 1.]])
        """
        return self._normalized_matrix(input_size, output_size, align_corners)

    @classmethod
    def from_normalized(cls, homography, input_size, output_size=None, align_corners=False):
        """The pixel-coordinate map of a sampler homography (inverse of :meth:`to_normalized`).

        Examples
        --------
        >>> from warpkit import PerspectiveTransform
        >>> hom = [[1.0, 0, 0], [0, 1.0, 1.0], [0, 0, 1.0]]
        >>> PerspectiveTransform.from_normalized(hom, (4, 4)).params
        array([[1., 0., 0.],
               [0., 1., 2.],
               [0., 0., 1.]])
        """
        homography = np.asarray(homography, dtype=np.float64)
        if homography.shape != (3, 3):
            raise ValueError(f"homography must have shape (3, 3), got {homography.shape}")
        return cls._from_normalized_matrix(homography, input_size, output_size, align_corners)


def _hartley(points):
    """Similarity taking ``points`` to centroid 0 and mean distance sqrt(2)."""
    centre = points.mean(axis=0)
    distance = np.mean(np.hypot(*(points - centre).T))
    scale = np.sqrt(2.0) / distance if distance > 0 else 1.0
    matrix = np.array([[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]],
                       [0.0, 0.0, 1.0]])
    return matrix, (points - centre) * scale


# ------------------------------------------------------------------ spline


class TpsTransform(_Transform):
    """The thin-plate spline taking ``control_points`` to ``target_points``.

    The Bookstein spline of :mod:`warpkit.tps`, solved in float64.

    Parameters
    ----------
    control_points : array_like, shape (K, 2)
        At least 3 distinct points, not all on one line.
    target_points : array_like, shape (K, 2)
        Where each control point goes.
    regularization : float, optional
        ``lam >= 0``; 0 passes exactly through the targets.

    Attributes
    ----------
    control_points, target_points : ndarray, shape (K, 2)
    coefficients : ndarray, shape (K + 3, 2)
        Kernel weights then the affine part (constant, x, y).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import TpsTransform
    >>> controls = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> bend = TpsTransform(controls, controls + [[0, 0], [0, 0], [0, 0], [0.2, 0.2]])
    >>> np.round(bend([[1.0, 1.0], [0.0, 0.0]]), 12) + 0.0
    array([[1.2, 1.2],
           [0. , 0. ]])
    >>> np.allclose(bend.inverse(bend([[0.3, 0.6]])), [[0.3, 0.6]])
    True
    """

    def __init__(self, control_points, target_points, regularization=0.0):
        controls = _points("control_points", control_points)
        targets = _points("target_points", target_points)
        if controls.ndim != 2 or targets.ndim != 2:
            raise ValueError(
                f"control_points and target_points must have shape (K, 2), got "
                f"{controls.shape} and {targets.shape}")
        _, _, regularization = check_tps_points(controls, targets[None], regularization)
        self.control_points = controls
        self.target_points = targets
        self.regularization = regularization
        self.coefficients = solve_tps(controls, targets[None], regularization)[0]

    @classmethod
    def estimate(cls, src, dst, regularization=0.0):
        """The spline with ``T(src) = dst`` (exactly for ``regularization=0``).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.allclose(TpsTransform.estimate(src, src + 1.0)(src), src + 1.0)
        True
        """
        src, dst = _point_pairs(src, dst, 3)
        return cls(src, dst, regularization)

    def __call__(self, points):
        points = _points("points", points)
        flat = points.reshape(-1, 2)
        mapped = evaluate_tps(self.coefficients[None], self.control_points, flat)[0]
        return mapped.reshape(points.shape)

    def jacobian(self, points):
        """The 2x2 derivative ``d T / d p`` at each point, shape (..., 2, 2).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> TpsTransform(src, 2.0 * src).jacobian([[0.5, 0.5]])[0]
        array([[2., 0.],
               [0., 2.]])
        """
        points = _points("points", points)
        flat = points.reshape(-1, 2)
        count = len(self.control_points)
        diff = flat[:, None, :] - self.control_points[None]        # (M, K, 2)
        r2 = np.sum(diff * diff, axis=-1)
        with np.errstate(divide="ignore"):
            slope = np.where(r2 > 0, np.log(np.where(r2 > 0, r2, 1.0)) + 1.0, 0.0)
        grad_kernel = slope[..., None] * diff                        # dU_k/dp, (M, K, 2)
        weights = self.coefficients[:count]                          # (K, 2)
        jac = np.einsum("kd,mke->mde", weights, grad_kernel)
        jac = jac + self.coefficients[count + 1:].T[None]            # affine part
        return jac.reshape(points.shape[:-1] + (2, 2))

    @property
    def inverse(self):
        """A numerical inverse, computed by Newton's method point by point.

        The inverse of a spline is not a spline; this transform solves
        ``T(p) = q`` for each query ``q``, starting from the inverse of the
        affine part, to a tolerance of ``1e-12``.  Points where the iteration
        does not converge (the spline folds over, or ``q`` is far outside
        the region the spline maps one-to-one) come back as NaN.
        """
        return _TpsInverse(self)

    def to_normalized(self, input_size, output_size=None, align_corners=False):
        """Control and target points of this pixel-coordinate spline, normalized.

        The control points are in the output image, the targets in the
        input image (the ``input_from_output`` convention).  The result is
        the spline through the same correspondences in normalized
        coordinates; it equals this spline seen through the coordinate maps
        exactly when they scale x and y alike (e.g. square images), since
        the thin-plate energy is only invariant under similarities.

        Returns
        -------
        control_points, target_points : ndarray, shape (K, 2)
            For :func:`warpkit.tps_grid` / :func:`warpkit.warp_tps` (add a
            batch axis to the targets).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> pixels = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
        >>> controls, targets = TpsTransform(pixels, pixels + 1.0).to_normalized((4, 4))
        >>> targets - controls
        array([[0.5, 0.5],
               [0.5, 0.5],
               [0.5, 0.5]])
        """
        input_size = _image_size("input_size", input_size)
        output_size = _image_size("output_size", output_size) or input_size
        return (coords.normalized_from_pixel(self.control_points, output_size, align_corners),
                coords.normalized_from_pixel(self.target_points, input_size, align_corners))

    @classmethod
    def from_normalized(cls, control_points, target_points, input_size, output_size=None,
                        align_corners=False, regularization=0.0):
        """The pixel-coordinate spline through normalized correspondences.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> controls = np.array([[-0.75, -0.75], [0.75, -0.75], [-0.75, 0.75]])
        >>> TpsTransform.from_normalized(controls, controls, (4, 4)).control_points
        array([[0., 0.],
               [3., 0.],
               [0., 3.]])
        """
        input_size = _image_size("input_size", input_size)
        output_size = _image_size("output_size", output_size) or input_size
        return cls(coords.pixel_from_normalized(control_points, output_size, align_corners),
                   coords.pixel_from_normalized(target_points, input_size, align_corners),
                   regularization)

    def __repr__(self):
        return (f"TpsTransform(<{len(self.control_points)} control points>, "
                f"regularization={self.regularization})")


class _TpsInverse(_Transform):
    """Newton's-method inverse of a :class:`TpsTransform`."""

    def __init__(self, spline, tolerance=1e-12, max_iterations=50):
        self.spline = spline
        self.tolerance = tolerance
        self.max_iterations = max_iterations

    @property
    def inverse(self):
        return self.spline

    def __call__(self, points):
        targets = _points("points", points)
        flat = targets.reshape(-1, 2)
        count = len(self.spline.control_points)
        affine = self.spline.coefficients[count:]                  # rows: constant, x, y
        linear = affine[1:].T
        p = np.linalg.solve(linear, (flat - affine[0]).T).T if abs(np.linalg.det(linear)) > 0 \
            else flat.copy()
        scale = max(1.0, np.abs(flat).max(initial=0.0))
        done = np.zeros(len(flat), dtype=bool)
        for _ in range(self.max_iterations):
            residual = self.spline(p) - flat
            done = np.max(np.abs(residual), axis=-1) <= self.tolerance * scale
            if done.all():
                break
            jac = self.spline.jacobian(p)
            det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                step_x = (jac[:, 1, 1] * residual[:, 0] - jac[:, 0, 1] * residual[:, 1]) / det
                step_y = (jac[:, 0, 0] * residual[:, 1] - jac[:, 1, 0] * residual[:, 0]) / det
            p = p - np.where(done[:, None], 0.0, np.stack([step_x, step_y], axis=-1))
        p[~done] = np.nan
        return p.reshape(targets.shape)

    def __repr__(self):
        return f"{self.spline!r}.inverse"


class CompositeTransform(_Transform):
    """``A @ B @ ...`` for transforms that do not combine into one matrix.

    Applies the last transform first.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import AffineTransform, TpsTransform
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> both = AffineTransform(translation=(1.0, 0.0)) @ TpsTransform(src, 2.0 * src)
    >>> both([[1.0, 1.0]])
    array([[3., 2.]])
    """

    def __init__(self, transforms):
        self.transforms = []
        for transform in transforms:
            if isinstance(transform, CompositeTransform):
                self.transforms.extend(transform.transforms)
            else:
                self.transforms.append(transform)

    def __call__(self, points):
        for transform in reversed(self.transforms):
            points = transform(points)
        return points

    @property
    def inverse(self):
        """The inverses, applied in the opposite order."""
        return CompositeTransform([t.inverse for t in reversed(self.transforms)])

    def __repr__(self):
        return " @ ".join(repr(t) for t in self.transforms)
