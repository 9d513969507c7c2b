"""Distorted-digit datasets: a fixed split by source image, distortions drawn from a seed."""

import numbers

import numpy as np

from . import _checks, _geometry, distortions
from .digits import load_digits

__all__ = [
    "DATASETS",
    "ImageDataset",
    "DigitDataset",
    "dataset_name",
    "make_dataset",
    "stratified_split",
]

DATASETS = ("R", "RTS", "P", "E", "cluttered")

#: Native output size of every set (the paper's canvases for 28x28 digits).
NATIVE_SIZES = {"R": (28, 28), "RTS": (42, 42), "P": (28, 28), "E": (28, 28), "cluttered": (60, 60)}

#: The split of the built-in digits does not depend on the dataset seed: every
#: set and every seed share one test set, so no test digit is ever trained on.
SPLIT_SEED = 20150605
TEST_FRACTION = 0.25


def stratified_split(labels, test_fraction=TEST_FRACTION, seed=SPLIT_SEED):
    """Split indices into train and test, keeping each class's share.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class of every item.
    test_fraction : float, optional
        Share of every class that goes to the test set (rounded per class).
    seed : int, optional
        Seed of the shuffle.

    Returns
    -------
    train_index, test_index : ndarray of int64
        Disjoint, sorted indices that together cover ``range(N)``.

    Examples
    --------
    >>> from warpkit.data import stratified_split
    >>> train, test = stratified_split([0, 0, 0, 0, 1, 1, 1, 1], test_fraction=0.25)
    >>> len(train), len(test)
    (6, 2)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional, got shape {labels.shape}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) \
            or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(_checks.count("seed", seed, 0))
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(test_fraction * len(members)))
        test.append(rng.permutation(members)[:count])
    test_index = np.sort(np.concatenate(test)).astype(np.int64)
    train_index = np.setdiff1d(np.arange(len(labels)), test_index).astype(np.int64)
    return train_index, test_index


class ImageDataset:
    """Images and labels, split into a training and a test set.

    Parameters
    ----------
    name : str
        Name of the dataset.
    x_train, x_test : ndarray, shape (N, C, H, W), float32
        Images with values in ``[0, 1]``.
    y_train, y_test : ndarray, shape (N,), int64
        Class labels.
    num_classes : int
        Number of classes.

    Attributes
    ----------
    image_size : (int, int)
        ``(H, W)`` of the images.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import ImageDataset
    >>> x = np.zeros((4, 1, 8, 8), dtype=np.float32)
    >>> y = np.array([0, 1, 0, 1])
    >>> data = ImageDataset("toy", x, y, x[:2], y[:2], num_classes=2)
    >>> data
    ImageDataset('toy', train=4, test=2, image_size=(8, 8), num_classes=2)
    """

    def __init__(self, name, x_train, y_train, x_test, y_test, num_classes):
        self.name = str(name)
        self.x_train = np.asarray(x_train, dtype=np.float32)
        self.y_train = np.asarray(y_train, dtype=np.int64)
        self.x_test = np.asarray(x_test, dtype=np.float32)
        self.y_test = np.asarray(y_test, dtype=np.int64)
        self.num_classes = _checks.count("num_classes", num_classes, 1)
        for part in ("train", "test"):
            x, y = getattr(self, "x_" + part), getattr(self, "y_" + part)
            if x.ndim != 4 or y.shape != x.shape[:1]:
                raise ValueError(
                    f"x_{part} must be (N, C, H, W) and y_{part} (N,), got {x.shape} and {y.shape}"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"train and test images differ in shape: {self.x_train.shape[1:]} and "
                f"{self.x_test.shape[1:]}"
            )
        self.image_size = tuple(int(v) for v in self.x_train.shape[2:])

    def resample_train(self, epoch):
        """The training set for ``epoch``; a fixed set returns the same arrays every epoch.

        Parameters
        ----------
        epoch : int
            Epoch number.

        Returns
        -------
        x_train : ndarray, shape (N, C, H, W), float32
        y_train : ndarray, shape (N,), int64

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit.data import ImageDataset
        >>> x, y = np.zeros((2, 1, 4, 4), dtype=np.float32), np.array([0, 1])
        >>> ImageDataset("toy", x, y, x, y, 2).resample_train(3)[0].shape
        (2, 1, 4, 4)
        """
        return self.x_train, self.y_train

    def __repr__(self):
        return (
            f"{type(self).__name__}({self.name!r}, train={len(self.y_train)}, "
            f"test={len(self.y_test)}, image_size={self.image_size}, num_classes={self.num_classes})"
        )


class DigitDataset(ImageDataset):
    """One of the distorted-digit sets, built by :func:`make_dataset`.

    The split is by source image: ``train_index`` and ``test_index`` are
    disjoint indices into :func:`load_digits` and are the same for every set
    and every seed.  The test set is drawn once; :meth:`resample_train` draws
    fresh distortions of the same training digits for every epoch.

    Attributes
    ----------
    name : str
        One of :data:`DATASETS`.
    x_train, x_test : ndarray, shape (N, 1, H, W), float32
        Distorted digits with values in ``[0, 1]``.
    y_train, y_test : ndarray, shape (N,), int64
        Digit classes.
    image_size : (int, int)
        ``(H, W)``.
    num_classes : int
        10.
    seed : int
        The seed the distortions are drawn from.
    train_index, test_index : ndarray of int64
        Source digits (indices into :func:`load_digits`) of the two sets.

    Examples
    --------
    >>> from warpkit.data import make_dataset
    >>> data = make_dataset("RTS", seed=0)
    >>> data.x_train.shape[1:], data.num_classes
    ((1, 42, 42), 10)
    """

    def __init__(self, name, seed, image_size, sources, labels, train_index, test_index):
        self.seed = int(seed)
        self.train_index = train_index
        self.test_index = test_index
        self._output_size = image_size
        x_test = self._distort(sources[test_index], np.random.SeedSequence([self.seed, 1, 0]), name)
        self._train_sources = sources[train_index]
        # x_train is the epoch-0 draw, so resample_train(0) returns the same arrays' values.
        super().__init__(
            name,
            self._draw_train(0, name),
            labels[train_index],
            x_test,
            labels[test_index],
            num_classes=10,
        )

    def _distort(self, images, seed_sequence, name):
        rng = np.random.default_rng(seed_sequence)
        if name == "cluttered":
            out = distortions.distort_cluttered(images, rng)
        else:
            out = DISTORTIONS[name](images, rng)
        out = _geometry.resize(out, self._output_size)
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    def _draw_train(self, epoch, name):
        return self._distort(
            self._train_sources, np.random.SeedSequence([self.seed, 0, epoch]), name
        )

    def resample_train(self, epoch):
        """The training digits with distortions redrawn for ``epoch``.

        Deterministic from ``(seed, epoch)``; epoch 0 gives ``x_train``.

        Parameters
        ----------
        epoch : int
            Non-negative epoch number.

        Returns
        -------
        x_train : ndarray, shape (N, 1, H, W), float32
            Fresh distortions of the same training digits.
        y_train : ndarray, shape (N,), int64
            Their labels (the same every epoch).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit.data import make_dataset
        >>> data = make_dataset("R", seed=0)
        >>> x1, y1 = data.resample_train(1)
        >>> x1.shape == data.x_train.shape, bool(np.array_equal(x1, data.x_train))
        (True, False)
        """
        epoch = _checks.count("epoch", epoch, 0)
        return self._draw_train(epoch, self.name), self.y_train.copy()


DISTORTIONS = {
    "R": distortions.distort_r,
    "RTS": distortions.distort_rts,
    "P": distortions.distort_p,
    "E": distortions.distort_e,
    "cluttered": distortions.distort_cluttered,
}


def dataset_name(text):
    """The name in :data:`DATASETS` that ``text`` spells, ignoring letter case.

    Parameters
    ----------
    text : str
        A dataset name such as ``"rts"`` or ``"Cluttered"``; surrounding
        whitespace is ignored.

    Returns
    -------
    str
        The canonical name, one of :data:`DATASETS`.

    Raises
    ------
    ValueError
        If ``text`` is not a string naming one of :data:`DATASETS`; the
        message lists the valid names.

    Examples
    --------
    >>> from warpkit.data import dataset_name
    >>> dataset_name("rts"), dataset_name(" Cluttered ")
    ('RTS', 'cluttered')
    """
    by_key = {name.casefold(): name for name in DATASETS}
    if isinstance(text, str) and text.strip().casefold() in by_key:
        return by_key[text.strip().casefold()]
    valid = ", ".join(repr(n) for n in DATASETS)
    raise ValueError(f"unknown dataset {text!r}; valid names are {valid} (any letter case)")


def make_dataset(name, seed=0, image_size=None):
    """Build one of the distorted-digit datasets of the Spatial Transformer Networks paper.

    The 1 797 digits of :func:`load_digits` are split once, by source image
    and stratified by class (a quarter of every class goes to the test set;
    the split is the same for every set and seed), then distorted (see
    :mod:`warpkit.data.distortions`):

    ============= ===== ==========================================================================
    name          size  distortion
    ============= ===== ==========================================================================
    ``R``         28    rotation in [-90, 90] degrees
    ``RTS``       42    rotation in [-45, 45], scale in [0.7, 1.2], random place in 42x42
    ``P``         28    scale in [0.75, 1], corners moved by N(0, 5 px): perspective
    ``E``         28    scale in [0.75, 1], 4x4 thin-plate spline points moved by N(0, 1.5 px)
    ``cluttered`` 60    random place in 60x60 with six 6x6 fragments of other digits
    ============= ===== ==========================================================================

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: ``"R"``, ``"RTS"``, ``"P"``, ``"E"``, ``"cluttered"``,
        in any letter case (see :func:`dataset_name`).
    seed : int, optional
        Seed of the distortions: the same seed gives identical arrays.
    image_size : int or (int, int), optional
        Size of the returned images; by default the set's native size (table
        above).  Other sizes are resampled bilinearly from the native canvas
        (the field of view stays the same).

    Returns
    -------
    DigitDataset
        ``x_train`` (1347, 1, H, W) and ``x_test`` (450, 1, H, W) float32 in
        ``[0, 1]``, ``y_train`` and ``y_test`` int64, ``num_classes`` 10.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DATASETS`, ``seed`` is not an int
        ``>= 0`` or ``image_size`` is not positive.
    ImportError
        If scikit-learn is not installed.

    Examples
    --------
    >>> from warpkit.data import make_dataset
    >>> data = make_dataset("R", seed=0)
    >>> data
    DigitDataset('R', train=1347, test=450, image_size=(28, 28), num_classes=10)
    >>> make_dataset("cluttered", image_size=32).x_test.shape
    (450, 1, 32, 32)
    """
    name = dataset_name(name)
    seed = _checks.count("seed", seed, 0)
    size = NATIVE_SIZES[name] if image_size is None else _checks.as_size("image_size", image_size)
    sources, labels = load_digits()
    train_index, test_index = stratified_split(labels)
    return DigitDataset(name, seed, size, sources, labels, train_index, test_index)
