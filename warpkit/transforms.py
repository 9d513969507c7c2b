"""Geometric transform objects: affine, projective and thin-plate spline.

A transform maps 2-D points ``(x, y)`` or 3-D points ``(x, y, z)``,
``T(points)``; its ``dims`` (2 or 3) comes from its matrix (3x3 or 4x4) or
its points.  In a volume ``(N, C, D, H, W)``, ``x`` is the column (along
``W``), ``y`` the row (``H``) and ``z`` the slice (``D``), and sizes are
``(depth, height, width)``.  Transforms compose with ``@`` (``(A @ B)(p) ==
A(B(p))``: ``B`` first; both of one dimension), invert with ``.inverse``,
and are estimated from point pairs with ``.estimate(src, dst)`` (``T(src) ~
dst``).

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


def _image_size(name, size, dims=2):
    if size is None and name == "output_size":
        return None
    return _validate.check_size(name, size, dims, minimum=1)


def _frame_size(size):
    """``size`` as ``(height, width)`` or ``(depth, height, width)``, each ``>= 1``."""
    if not np.iterable(size) or isinstance(size, (str, bytes)):
        raise TypeError(f"size must be a sequence of 2 or 3 integers, got {size!r}")
    size = tuple(size)
    if len(size) not in (2, 3):
        raise ValueError(f"size must be (height, width) or (depth, height, width), "
                         f"got {size!r}")
    return _validate.check_size("size", size, len(size), minimum=1)


def normalized_from_pixel_matrix(size, align_corners=False):
    """Matrix taking pixel ``(x, y, 1)`` (or ``(x, y, z, 1)``) to normalized coordinates.

    Parameters
    ----------
    size : tuple of int
        ``(height, width)`` of an image: a 3x3 matrix; or ``(depth, height,
        width)`` of a volume: a 4x4 matrix (``x`` indexes the width, ``y``
        the height, ``z`` the depth).
    align_corners : bool, optional
        The normalization convention.

    Returns
    -------
    ndarray, shape (3, 3) or (4, 4)

    Examples
    --------
    >>> from warpkit.transforms import normalized_from_pixel_matrix
    >>> normalized_from_pixel_matrix((4, 2))
    array([[ 1.  ,  0.  , -0.5 ],
           [ 0.  ,  0.5 , -0.75],
           [ 0.  ,  0.  ,  1.  ]])
    >>> normalized_from_pixel_matrix((2, 4, 2))  # (depth, height, width)
    array([[ 1.  ,  0.  ,  0.  , -0.5 ],
           [ 0.  ,  0.5 ,  0.  , -0.75],
           [ 0.  ,  0.  ,  1.  , -0.5 ],
           [ 0.  ,  0.  ,  0.  ,  1.  ]])
    """
    lengths = _frame_size(size)[::-1]  # x first
    align_corners = _validate.check_bool("align_corners", align_corners)
    dims = len(lengths)
    matrix = np.eye(dims + 1)
    for axis, length in enumerate(lengths):
        offset = coords.normalize(0.0, length, align_corners)
        matrix[axis, axis] = coords.normalize(1.0, length, align_corners) - offset
        matrix[axis, dims] = offset
    return matrix


def pixel_from_normalized_matrix(size, align_corners=False):
    """Matrix taking normalized ``(x, y, 1)`` (or ``(x, y, z, 1)``) to pixel coordinates.

    The inverse of :func:`normalized_from_pixel_matrix`, with the same
    parameters; returns an ndarray of shape (3, 3) for an image size
    ``(height, width)``, (4, 4) for a volume size ``(depth, height, width)``.

    Examples
    --------
    >>> from warpkit.transforms import pixel_from_normalized_matrix
    >>> pixel_from_normalized_matrix((4, 2))
    array([[1. , 0. , 0.5],
           [0. , 2. , 1.5],
           [0. , 0. , 1. ]])
    >>> pixel_from_normalized_matrix((2, 4, 2))[2]  # z: depth 2
    array([0. , 0. , 1. , 0.5])
    """
    lengths = _frame_size(size)[::-1]  # x first
    align_corners = _validate.check_bool("align_corners", align_corners)
    dims = len(lengths)
    matrix = np.eye(dims + 1)
    for axis, length in enumerate(lengths):
        matrix[axis, axis] = coords.unnormalize_scale(length, align_corners)
        matrix[axis, dims] = coords.unnormalize(0.0, length, align_corners)
    return matrix


def _normalized_points(points, size, align_corners):
    """Pixel points (..., d) as normalized points on a frame of ``size`` (d entries)."""
    return np.stack([coords.normalize(points[..., axis], length, align_corners)
                     for axis, length in enumerate(size[::-1])], axis=-1)


def _pixel_points(points, size, align_corners):
    """Normalized points (..., d) as pixel points on a frame of ``size`` (d entries)."""
    return np.stack([coords.unnormalize(points[..., axis], length, align_corners)
                     for axis, length in enumerate(size[::-1])], axis=-1)


def _points(name, points, dims):
    array = _validate.as_float_array(name, points, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] != dims:
        raise ValueError(f"{name} must have shape (..., {dims}) for a {dims}-D transform, "
                         f"got {array.shape}")
    return array


def _point_pairs(src, dst, needed):
    """``src``, ``dst`` (M, d) checked, with ``M >= needed[d]`` (``d`` 2 or 3)."""
    src = _validate.as_float_array("src", src, dtype=np.float64)
    dst = _validate.as_float_array("dst", dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] not in (2, 3) or src.shape != dst.shape:
        raise ValueError(f"src and dst must both have shape (M, 2) or both (M, 3), got "
                         f"{src.shape} and {dst.shape}")
    minimum = needed[src.shape[1]]
    if len(src) < minimum:
        raise ValueError(f"estimation needs at least {minimum} point pairs in "
                         f"{src.shape[1]}-D, got {len(src)}")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise ValueError("src and dst must be finite")
    return src, dst


def _check_same_dims(transforms):
    """The common ``dims`` of ``transforms`` (None if none says, e.g. plain functions);
    ``ValueError`` if they mix 2-D and 3-D."""
    dims = {getattr(t, "dims", None) for t in transforms} - {None}
    if len(dims) > 1:
        raise ValueError(f"cannot compose 2-D and 3-D transforms: {list(transforms)}")
    return dims.pop() if dims else None


# ------------------------------------------------------------ base classes


class _Transform:
    """What every transform offers: call, compose, ``dims`` (2 or 3)."""

    def __matmul__(self, other):
        if not isinstance(other, _Transform):
            return NotImplemented
        return CompositeTransform([self, other])


class _MatrixTransform(_Transform):
    """A transform given by a 3x3 (2-D) or 4x4 (3-D) matrix acting on homogeneous points."""

    def __init__(self, matrix=None, *, scale=None, rotation=None, shear=None,
                 translation=None):
        geometric = (scale, rotation, shear, translation)
        if matrix is not None:
            if any(value is not None for value in geometric):
                raise ValueError("give either a matrix or geometric parameters, not both")
            self.params = self._check_matrix(_validate.as_real_array("matrix", matrix))
        else:
            self.params = _geometric_matrix(scale, rotation, shear, translation)

    @property
    def dims(self):
        """2 for a 3x3 matrix (image points), 3 for a 4x4 matrix (volume points)."""
        return self.params.shape[0] - 1

    def _check_matrix(self, matrix):
        if matrix.shape in ((2, 3), (3, 4)):
            last = np.zeros(matrix.shape[1])
            last[-1] = 1.0
            matrix = np.vstack([matrix, last])
        if matrix.shape not in ((3, 3), (4, 4)):
            raise ValueError(f"matrix must have shape (3, 3) or (2, 3) (2-D), or (4, 4) or "
                             f"(3, 4) (3-D), got {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("matrix must be finite")
        return matrix

    def __call__(self, points):
        dims = self.dims
        points = _points("points", points, dims)
        m = self.params
        rows = []
        for i in range(dims + 1):
            value = m[i, 0] * points[..., 0]
            for j in range(1, dims):
                value = value + m[i, j] * points[..., j]
            rows.append(value + m[i, dims])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([row / rows[dims] for row in rows[:dims]], axis=-1)

    @property
    def inverse(self):
        """The inverse transform (exact); ``ValueError`` if the matrix is singular.

        Singular means a condition number above ``1e14`` of the part that
        must be inverted: the linear part (2x2 or 3x3) of an affine map (a
        translation, however large, is always invertible), the whole matrix
        of a homography (its scale does not matter).
        """
        dims = self.dims
        part = self.params[:dims, :dims] if isinstance(self, AffineTransform) else self.params
        with np.errstate(all="ignore"):
            condition = np.linalg.cond(part)
        if not condition <= 1e14:
            raise ValueError(f"the transform is not invertible (singular matrix):\n{self.params}")
        return type(self)(np.linalg.inv(self.params))

    def __matmul__(self, other):
        if isinstance(other, _MatrixTransform):
            _check_same_dims([self, other])
            kind = type(self) if type(self) is type(other) else PerspectiveTransform
            return kind(self.params @ other.params)
        return super().__matmul__(other)

    def __repr__(self):
        body = np.array2string(self.params, separator=", ", prefix="    ")
        return f"{type(self).__name__}(\n    {body})"

    def _normalized_matrix(self, input_size, output_size, align_corners):
        input_size = _image_size("input_size", input_size, self.dims)
        output_size = _image_size("output_size", output_size, self.dims) or input_size
        return (normalized_from_pixel_matrix(input_size, align_corners) @ self.params
                @ pixel_from_normalized_matrix(output_size, align_corners))

    @classmethod
    def _from_normalized_matrix(cls, matrix, input_size, output_size, align_corners):
        dims = matrix.shape[0] - 1
        input_size = _image_size("input_size", input_size, dims)
        output_size = _image_size("output_size", output_size, dims) or input_size
        return cls(pixel_from_normalized_matrix(input_size, align_corners) @ matrix
                   @ normalized_from_pixel_matrix(output_size, align_corners))


def _geometric_dims(scale, rotation, shear, translation):
    """2 or 3: the dimension the geometric parameters imply (2 if none does)."""
    implied = {}
    for name, value in (("scale", scale), ("translation", translation)):
        if value is not None and np.ndim(value) == 1 and len(value) in (2, 3):
            implied[name] = len(value)
    if rotation is not None:
        implied["rotation"] = 2 if np.ndim(rotation) == 0 else 3
    if shear is not None:
        implied["shear"] = 2
    if len(set(implied.values())) > 1:
        raise ValueError(f"the geometric parameters mix 2-D and 3-D: {implied} (dimension "
                         f"by parameter; shear and a scalar rotation are 2-D only, a "
                         f"rotation vector or matrix is 3-D)")
    return max(implied.values(), default=2)


def _geometric_matrix(scale, rotation, shear, translation):
    """``T @ R @ Sh @ S``: scale, then shear, then rotation, then translation."""
    if _geometric_dims(scale, rotation, shear, translation) == 3:
        return _geometric_matrix_3d(scale, rotation, translation)
    sx, sy = _vector("scale", 1.0 if scale is None else scale, 2)
    angle = 0.0 if rotation is None else float(rotation)
    shear = 0.0 if shear is None else float(shear)
    tx, ty = _vector("translation", 0.0 if translation is None else translation, 2)
    values = (sx, sy, angle, shear, tx, ty)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"geometric parameters must be finite, got {values}")
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    slant = np.array([[1.0, np.tan(shear), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    stretch = np.diag([sx, sy, 1.0])
    move = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])
    return move @ rotate @ slant @ stretch


def _vector(name, value, length):
    """A scalar or ``length`` numbers as a float64 vector of ``length``."""
    array = _validate.as_real_array(name, value)
    if array.ndim > 1 or array.size not in (1, length):
        raise ValueError(f"{name} must be a number or {length} numbers, got shape "
                         f"{array.shape}")
    return np.broadcast_to(array.astype(np.float64), (length,))


def _geometric_matrix_3d(scale, rotation, translation):
    """``T @ R @ S`` in 3-D: scale, then rotation, then translation (4x4)."""
    stretch = _vector("scale", 1.0 if scale is None else scale, 3)
    move = _vector("translation", 0.0 if translation is None else translation, 3)
    if not (np.all(np.isfinite(stretch)) and np.all(np.isfinite(move))):
        raise ValueError(f"geometric parameters must be finite, got scale {stretch.tolist()} "
                         f"and translation {move.tolist()}")
    matrix = np.eye(4)
    matrix[:3, :3] = _rotation_matrix(rotation) @ np.diag(stretch)
    matrix[:3, 3] = move
    return matrix


def _rotation_matrix(rotation):
    """The 3x3 rotation of a rotation vector (3,) or a rotation matrix (3, 3)."""
    if rotation is None:
        return np.eye(3)
    rotation = _validate.as_real_array("rotation", rotation).astype(np.float64)
    if not np.all(np.isfinite(rotation)):
        raise ValueError(f"rotation must be finite, got {rotation.tolist()}")
    if rotation.shape == (3, 3):
        if not (np.allclose(rotation.T @ rotation, np.eye(3), rtol=0, atol=1e-6)
                and np.linalg.det(rotation) > 0):
            raise ValueError("a 3x3 rotation must be orthonormal with determinant +1; give a "
                             "general linear part as the matrix of the transform instead")
        return rotation
    if rotation.shape != (3,):
        raise ValueError(f"rotation in 3-D must be a rotation vector (3,) or a rotation "
                         f"matrix (3, 3), got shape {rotation.shape}")
    angle = np.linalg.norm(rotation)
    if angle == 0:
        return np.eye(3)
    x, y, z = rotation / angle
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])  # cross(axis, .)
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * (cross @ cross)


# ------------------------------------------------------------------ affine


class AffineTransform(_MatrixTransform):
    """An affine map ``p -> A p + t`` of 2-D or 3-D points.

    A 3x3 matrix maps image points ``(x, y)``; a 4x4 matrix maps volume
    points ``(x, y, z)`` = (column, row, slice).  The transform knows its
    dimension from its matrix (``dims``).

    Parameters
    ----------
    matrix : array_like, shape (3, 3) or (2, 3), or (4, 4) or (3, 4), optional
        The homogeneous matrix; its last row must be ``(0, 0, 1)`` (``(0, 0,
        0, 1)`` in 3-D).
    scale : float or (float, float), or (float, float, float), optional
        Scale factors along x, y (and z) (applied first).
    rotation : float, or array_like of shape (3,) or (3, 3), optional
        2-D: an angle in radians, turning the x axis towards the y axis
        (clockwise on screen, where y points down).  3-D: a rotation vector
        (the axis times the angle in radians; the right-hand rule in the
        ``(x, y, z)`` frame, so ``(0, 0, a)`` turns x towards y as the 2-D
        angle ``a`` does) or a 3x3 rotation matrix.
    shear : float, optional
        2-D only.  Shear angle in radians: ``x += tan(shear) * y`` (after
        scaling).
    translation : (float, float) or (float, float, float), optional
        Added last.

    The geometric parameters build ``translation @ rotation @ shear @
    scale``; three scale factors, three translations or a 3-D rotation make
    a 3-D transform, anything else a 2-D one.

    Attributes
    ----------
    params : ndarray, shape (3, 3) or (4, 4)
        The homogeneous matrix; ``dims`` is 2 or 3 accordingly.

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

    In 3-D, a quarter turn about the z axis, then a step along z:

    >>> turn3 = AffineTransform(rotation=(0.0, 0.0, np.pi / 2), translation=(0.0, 0.0, 1.0))
    >>> turn3.dims
    3
    >>> np.round(turn3([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), 12) + 0.0
    array([[ 0.,  1.,  1.],
           [-2.,  0.,  1.]])
    """

    def _check_matrix(self, matrix):
        matrix = super()._check_matrix(matrix)
        last = np.zeros(len(matrix))
        last[-1] = 1.0
        if np.allclose(matrix[-1], last, rtol=0, atol=1e-12):
            matrix[-1] = last  # round-off of an inverse or product
        else:
            raise ValueError(
                f"an affine matrix must have last row {tuple(last.tolist())}, got "
                f"{matrix[-1].tolist()}; use PerspectiveTransform")
        return matrix

    @classmethod
    def estimate(cls, src, dst):
        """The least-squares affine map with ``T(src) ~ dst``.

        Parameters
        ----------
        src, dst : array_like, shape (M, 2) or (M, 3)
            At least 3 point pairs in 2-D (``src`` not all on one line), at
            least 4 in 3-D (``src`` not all on one plane).

        Returns
        -------
        AffineTransform
            2-D or 3-D as the points are.

        Raises
        ------
        ValueError
            Too few pairs, collinear (coplanar in 3-D) ``src``, non-finite or
            mismatched points.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import AffineTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.round(AffineTransform.estimate(src, 2.0 * src + 1.0).params, 12) + 0.0
        array([[2., 0., 1.],
               [0., 2., 1.],
               [0., 0., 1.]])
        >>> corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
        >>> np.round(AffineTransform.estimate(corners, corners + 2.0).params, 12) + 0.0
        array([[1., 0., 0., 2.],
               [0., 1., 0., 2.],
               [0., 0., 1., 2.],
               [0., 0., 0., 1.]])
        """
        src, dst = _point_pairs(src, dst, {2: 3, 3: 4})
        dims = src.shape[1]
        design = np.hstack([src, np.ones((len(src), 1))])
        singular = np.linalg.svd(src - src.mean(axis=0), compute_uv=False)
        if singular[dims - 1] <= 1e-10 * singular[0]:
            raise ValueError(f"src points must not all lie on one "
                             f"{('line', 'plane')[dims - 2]} (the affine map would be "
                             f"undetermined)")
        solution = np.linalg.lstsq(design, dst, rcond=None)[0]   # (d + 1, d)
        return cls(solution.T)

    def to_normalized(self, input_size, output_size=None, align_corners=False):
        """The sampler's ``theta`` for this pixel-coordinate ``input_from_output`` map.

        Parameters
        ----------
        input_size, output_size : (int, int) or (int, int, int)
            ``(height, width)`` of the input and output images, or ``(depth,
            height, width)`` of volumes for a 3-D transform; the output
            defaults to the input's size.
        align_corners : bool, optional
            The normalization convention of the sampler call.

        Returns
        -------
        ndarray, shape (2, 3) or (3, 4)
            ``theta`` for :func:`warpkit.affine_grid` / :func:`warpkit.warp_affine`
            (add a batch axis).

        Examples
        --------
        >>> from warpkit import AffineTransform
        >>> AffineTransform(translation=(1.0, 0.0)).to_normalized((4, 4))
        array([[1. , 0. , 0.5],
               [0. , 1. , 0. ]])
        >>> AffineTransform(translation=(0.0, 0.0, 1.0)).to_normalized((4, 2, 2))
        array([[1. , 0. , 0. , 0. ],
               [0. , 1. , 0. , 0. ],
               [0. , 0. , 1. , 0.5]])
        """
        return self._normalized_matrix(input_size, output_size, align_corners)[:-1]

    @classmethod
    def from_normalized(cls, theta, input_size, output_size=None, align_corners=False):
        """The pixel-coordinate map of a sampler ``theta`` (inverse of :meth:`to_normalized`).

        Parameters
        ----------
        theta : array_like, shape (2, 3) or (3, 4)
            Normalized ``input_from_output`` map of images or volumes.
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
        theta = _validate.as_real_array("theta", theta)
        if theta.shape not in ((2, 3), (3, 4)):
            raise ValueError(f"theta must have shape (2, 3) or (3, 4), got {theta.shape}")
        last = np.zeros(theta.shape[1])
        last[-1] = 1.0
        matrix = np.vstack([theta, last])
        return cls._from_normalized_matrix(matrix, input_size, output_size, align_corners)


# -------------------------------------------------------------- projective


class PerspectiveTransform(_MatrixTransform):
    """A projective map (homography) ``p -> (H (p, 1))[:d] / (H (p, 1))[d]``.

    A 3x3 matrix maps image points ``(x, y)``; a 4x4 matrix maps volume
    points ``(x, y, z)`` = (column, row, slice).

    Parameters
    ----------
    matrix : array_like, shape (3, 3) or (4, 4), optional
        The homography (any non-zero multiple is the same map).
    scale, rotation, shear, translation : optional
        Build an affine homography, as for :class:`AffineTransform`.

    Attributes
    ----------
    params : ndarray, shape (3, 3) or (4, 4)
        The homogeneous matrix; ``dims`` is 2 or 3 accordingly.

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
    >>> PerspectiveTransform(np.diag([1.0, 1.0, 1.0, 2.0]))([[2.0, 4.0, 6.0]])  # 3-D
    array([[1., 2., 3.]])
    """

    @classmethod
    def estimate(cls, src, dst):
        """The homography with ``T(src) ~ dst`` by the normalized direct linear transform.

        Both point sets are first moved to their centroid and scaled to a
        mean distance of ``sqrt(d)`` (Hartley's normalization); the
        homography is the singular vector of the smallest singular value of
        the ``d`` equations per pair ``h_j . X - dst_j (h_d . X) = 0``
        (``X = (src, 1)``, ``h_j`` the rows of the matrix).

        Parameters
        ----------
        src, dst : array_like, shape (M, 2) or (M, 3)
            At least 4 point pairs in 2-D, 5 in 3-D, in general position.

        Returns
        -------
        PerspectiveTransform
            Scaled so that ``params[-1, -1] == 1`` where possible.

        Raises
        ------
        ValueError
            Too few pairs, or a degenerate configuration (e.g. three of four
            points on a line in 2-D, four of five points on a plane in 3-D)
            that does not determine the homography.

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
        src, dst = _point_pairs(src, dst, {2: 4, 3: 5})
        dims = src.shape[1]
        size = dims + 1
        src_norm, src_points = _hartley(src)
        dst_norm, dst_points = _hartley(dst)
        homogeneous = np.hstack([src_points, np.ones((len(src), 1))])   # (M, d + 1)
        design = np.zeros((dims * len(src), size * size))
        for j in range(dims):
            design[j::dims, j * size:(j + 1) * size] = homogeneous
            design[j::dims, dims * size:] = -dst_points[:, j:j + 1] * homogeneous
        _, singular, vt = np.linalg.svd(design)
        if len(singular) < size * size:
            singular = np.concatenate([singular, np.zeros(size * size - len(singular))])
        normalized = vt[-1].reshape(size, size)  # unit Frobenius norm
        if (singular[-2] <= 1e-10 * singular[0]
                or abs(np.linalg.det(normalized)) <= 1e-10):
            example = ("three of four points on one line", "four of five points on one "
                       "plane")[dims - 2]
            raise ValueError(f"src and dst do not determine an invertible homography "
                             f"(degenerate points: e.g. {example})")
        matrix = np.linalg.inv(dst_norm) @ normalized @ src_norm
        if abs(matrix[-1, -1]) > 1e-12 * np.abs(matrix).max():
            matrix = matrix / matrix[-1, -1]
        return cls(matrix)

    def to_normalized(self, input_size, output_size=None, align_corners=False):
        """The sampler's homography for this pixel-coordinate ``input_from_output`` map.

        Parameters
        ----------
        input_size, output_size : (int, int) or (int, int, int)
            ``(height, width)`` of the input and output images, or ``(depth,
            height, width)`` of volumes for a 3-D transform.
        align_corners : bool, optional
            The normalization convention of the sampler call.

        Returns
        -------
        ndarray, shape (3, 3) or (4, 4)
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

        ``homography`` is (3, 3) for images, (4, 4) for volumes; the other
        parameters are as for :meth:`to_normalized`.

        Examples
        --------
        >>> from warpkit import PerspectiveTransform
        >>> hom = [[1.0, 0, 0], [0, 1.0, 1.0], [0, 0, 1.0]]
        >>> PerspectiveTransform.from_normalized(hom, (4, 4)).params
        array([[1., 0., 0.],
               [0., 1., 2.],
               [0., 0., 1.]])
        """
        homography = _validate.as_real_array("homography", homography)
        if homography.shape not in ((3, 3), (4, 4)):
            raise ValueError(f"homography must have shape (3, 3) or (4, 4), got "
                             f"{homography.shape}")
        return cls._from_normalized_matrix(homography, input_size, output_size, align_corners)


def _hartley(points):
    """Similarity taking ``points`` (M, d) to centroid 0 and mean distance sqrt(d)."""
    dims = points.shape[1]
    centre = points.mean(axis=0)
    distance = np.mean(np.sqrt(np.sum((points - centre) ** 2, axis=1)))
    scale = np.sqrt(dims) / distance if distance > 0 else 1.0
    matrix = np.eye(dims + 1)
    matrix[:dims, :dims] *= scale
    matrix[:dims, dims] = -scale * centre
    return matrix, (points - centre) * scale


# ------------------------------------------------------------------ spline


class TpsTransform(_Transform):
    """The thin-plate spline taking ``control_points`` to ``target_points``.

    The Bookstein spline of :mod:`warpkit.tps`, solved in float64: 2-D
    points with the kernel ``r**2 log r``, 3-D points ``(x, y, z)`` with the
    3-D biharmonic kernel ``-r``.

    Parameters
    ----------
    control_points : array_like, shape (K, 2) or (K, 3)
        At least 3 distinct points, not all on one line (2-D), or at least 4
        distinct points, not all on one plane (3-D).
    target_points : array_like, shape (K, 2) or (K, 3)
        Where each control point goes.
    regularization : float, optional
        ``lam >= 0``; 0 passes exactly through the targets.

    Attributes
    ----------
    control_points, target_points : ndarray, shape (K, d)
    coefficients : ndarray, shape (K + d + 1, d)
        Kernel weights then the affine part (constant, x, y[, z]).
    dims : int
        ``d``, 2 or 3.

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
        controls = _validate.as_float_array("control_points", control_points, dtype=np.float64)
        targets = _validate.as_float_array("target_points", target_points, dtype=np.float64)
        if controls.ndim != 2 or targets.ndim != 2:
            raise ValueError(
                f"control_points and target_points must have shape (K, 2) or (K, 3), got "
                f"{controls.shape} and {targets.shape}")
        _, _, regularization = check_tps_points(controls, targets[None], regularization)
        self.control_points = controls
        self.target_points = targets
        self.regularization = regularization
        self.coefficients = solve_tps(controls, targets[None], regularization)[0]

    @property
    def dims(self):
        """2 or 3, the dimension of the points."""
        return self.control_points.shape[1]

    @classmethod
    def estimate(cls, src, dst, regularization=0.0):
        """The spline with ``T(src) = dst`` (exactly for ``regularization=0``).

        ``src`` and ``dst`` are (M, 2) or (M, 3) point pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> np.allclose(TpsTransform.estimate(src, src + 1.0)(src), src + 1.0)
        True
        """
        src, dst = _point_pairs(src, dst, {2: 3, 3: 4})
        return cls(src, dst, regularization)

    def __call__(self, points):
        points = _points("points", points, self.dims)
        flat = points.reshape(-1, self.dims)
        mapped = evaluate_tps(self.coefficients[None], self.control_points, flat)[0]
        return mapped.reshape(points.shape)

    def jacobian(self, points):
        """The ``d x d`` derivative ``d T / d p`` at each point, shape (..., d, d).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit import TpsTransform
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> TpsTransform(src, 2.0 * src).jacobian([[0.5, 0.5]])[0]
        array([[2., 0.],
               [0., 2.]])
        """
        dims = self.dims
        points = _points("points", points, dims)
        flat = points.reshape(-1, dims)
        count = len(self.control_points)
        diff = flat[:, None, :] - self.control_points[None]        # (M, K, d)
        r2 = np.sum(diff * diff, axis=-1)
        positive = r2 > 0
        safe = np.where(positive, r2, 1.0)
        # dU/dp = U'(r) / r * diff: (log r2 + 1) for r**2 log r, -1 / r for -r
        slope = np.log(safe) + 1.0 if dims == 2 else -1.0 / np.sqrt(safe)
        grad_kernel = np.where(positive, slope, 0.0)[..., None] * diff   # (M, K, d)
        weights = self.coefficients[:count]                          # (K, d)
        jac = np.einsum("kd,mke->mde", weights, grad_kernel)
        jac = jac + self.coefficients[count + 1:].T[None]            # affine part
        return jac.reshape(points.shape[:-1] + (dims, dims))

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
        exactly when they scale all axes alike (e.g. square images, cubic
        volumes), since the thin-plate energy is only invariant under
        similarities.

        Parameters
        ----------
        input_size, output_size : (int, int) or (int, int, int)
            ``(height, width)`` of the images, or ``(depth, height, width)``
            of volumes for a 3-D spline; the output defaults to the input's
            size.
        align_corners : bool, optional
            The normalization convention of the sampler call.

        Returns
        -------
        control_points, target_points : ndarray, shape (K, d)
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
        input_size = _image_size("input_size", input_size, self.dims)
        output_size = _image_size("output_size", output_size, self.dims) or input_size
        align_corners = _validate.check_bool("align_corners", align_corners)
        return (_normalized_points(self.control_points, output_size, align_corners),
                _normalized_points(self.target_points, input_size, align_corners))

    @classmethod
    def from_normalized(cls, control_points, target_points, input_size, output_size=None,
                        align_corners=False, regularization=0.0):
        """The pixel-coordinate spline through normalized correspondences.

        The points are (K, 2) with image sizes ``(height, width)``, or (K, 3)
        with volume sizes ``(depth, height, width)``.

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
        controls = _validate.as_float_array("control_points", control_points, dtype=np.float64)
        dims = controls.shape[-1] if controls.ndim else 0
        if dims not in (2, 3):
            raise ValueError(f"control_points must have shape (K, 2) or (K, 3), got "
                             f"{controls.shape}")
        targets = _points("target_points", target_points, dims)
        input_size = _image_size("input_size", input_size, dims)
        output_size = _image_size("output_size", output_size, dims) or input_size
        align_corners = _validate.check_bool("align_corners", align_corners)
        return cls(_pixel_points(controls, output_size, align_corners),
                   _pixel_points(targets, input_size, align_corners), regularization)

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
    def dims(self):
        return self.spline.dims

    @property
    def inverse(self):
        return self.spline

    def __call__(self, points):
        dims = self.dims
        targets = _points("points", points, dims)
        flat = targets.reshape(-1, dims)
        count = len(self.spline.control_points)
        affine = self.spline.coefficients[count:]                  # rows: constant, x, y[, z]
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
            p = p - np.where(done[:, None], 0.0, _newton_steps(self.spline.jacobian(p),
                                                               residual))
        p[~done] = np.nan
        return p.reshape(targets.shape)

    def __repr__(self):
        return f"{self.spline!r}.inverse"


def _newton_steps(jacobians, residuals):
    """``J^-1 r`` for each point (M, d, d), (M, d); NaN where ``J`` is singular."""
    with np.errstate(all="ignore"):
        invertible = np.isfinite(np.linalg.det(jacobians)) & (np.linalg.det(jacobians) != 0)
    steps = np.full(residuals.shape, np.nan)
    if invertible.any():
        steps[invertible] = np.linalg.solve(jacobians[invertible],
                                            residuals[invertible][..., None])[..., 0]
    return steps


class CompositeTransform(_Transform):
    """``A @ B @ ...`` for transforms that do not combine into one matrix.

    Applies the last transform first.  All transforms must be 2-D, or all
    3-D.

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
        self.dims = _check_same_dims(self.transforms)

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
