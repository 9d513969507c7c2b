"""Loaders for real datasets already on the user's disk (no network access, ever).

* MNIST: the four IDX files (gzipped or not) or a ``.npz`` archive with the
  keys ``x_train``, ``y_train``, ``x_test``, ``y_test``;
* GTSRB (German Traffic Sign Recognition Benchmark): folders of images with
  their semicolon-separated CSV annotations.
"""

import csv
import gzip
import os
import struct
import zipfile

import numpy as np

from ._files import existing_path, open_image
from ._checks import as_size
from ._optional import require_pil_image
from .datasets import ImageDataset

__all__ = ["read_idx", "load_mnist", "load_gtsrb"]

IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "x_train": ("train-images", 3),
    "y_train": ("train-labels", 1),
    "x_test": ("t10k-images", 3),
    "y_test": ("t10k-labels", 1),
}

GTSRB_COLUMNS = ("Filename", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId")


def read_idx(path):
    """Read an IDX file (the format of the MNIST distribution), gzipped or not.

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip compression is detected from its content.

    Returns
    -------
    ndarray
        The array, in the dtype and shape the header states (native byte order).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a valid IDX file (bad magic number, truncated data).

    Examples
    --------
    >>> import os, struct, tempfile
    >>> import numpy as np
    >>> from warpkit.data.loaders import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = existing_path("IDX file", path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"IDX file {path!r} is a damaged gzip file: {error}") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise ValueError(
            f"{path!r} is not an IDX file: its first 4 bytes {data[:4]!r} are not a valid magic number"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"IDX file {path!r} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"IDX file {path!r} holds {len(data) - header} data bytes, but its header "
            f"(shape {shape}, dtype {dtype}) needs {expected}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _find_idx(directory, prefix, ndim):
    names = [f"{prefix}-idx{ndim}-ubyte", f"{prefix}.idx{ndim}-ubyte"]
    for name in names:
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"MNIST directory {directory!r} has no {names[0]} file (looked for "
        f"{', '.join(n + '[.gz]' for n in names)})"
    )


def _mnist_images(name, images, source):
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"{name} in {source!r} must have shape (N, H, W), got {images.shape}")
    if images.dtype.kind in "iu":
        return (images.astype(np.float32) / 255.0)[:, None]
    if images.dtype.kind == "f":
        return np.clip(images.astype(np.float32), 0.0, 1.0)[:, None]
    raise ValueError(f"{name} in {source!r} must hold numbers, got dtype {images.dtype}")


def _mnist_labels(name, labels, count, source):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.shape != (count,):
        raise ValueError(
            f"{name} in {source!r} must be {count} integer labels, got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    if count and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{name} in {source!r} must hold digits 0..9")
    return labels.astype(np.int64)


def load_mnist(path):
    """Load MNIST (or any MNIST-format dataset) from local files.

    Parameters
    ----------
    path : str or os.PathLike
        Either a directory holding the four IDX files of the MNIST
        distribution (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each possibly
        with ``.gz``; ``train-images.idx3-ubyte`` spellings are accepted too),
        or a ``.npz`` archive with the arrays ``x_train``, ``y_train``,
        ``x_test``, ``y_test`` (the layout of Keras' ``mnist.npz``).

    Returns
    -------
    ImageDataset
        ``name`` ``"mnist"``; images float32 (N, 1, H, W) in ``[0, 1]``
        (integer pixels are divided by 255), labels int64, ``num_classes`` 10.
        ``resample_train`` returns the fixed training set.

    Raises
    ------
    FileNotFoundError
        If ``path`` or one of the files is missing.
    ValueError
        If a file is malformed or the arrays do not fit together.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit.data import load_mnist
    >>> path = os.path.join(tempfile.mkdtemp(), "mnist.npz")
    >>> x = np.zeros((3, 28, 28), dtype=np.uint8)
    >>> np.savez(path, x_train=x, y_train=np.array([1, 2, 3]), x_test=x[:1], y_test=np.array([4]))
    >>> data = load_mnist(path)
    >>> data.x_train.shape, data.y_test
    ((3, 1, 28, 28), array([4]))
    """
    path = existing_path("MNIST path", path, kind="any")
    arrays = {}
    if os.path.isdir(path):
        for key, (prefix, ndim) in MNIST_FILES.items():
            file = _find_idx(path, prefix, ndim)
            arrays[key] = (read_idx(file), file)
    else:
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"MNIST path {path!r} is neither a directory of IDX files nor a .npz archive"
            )
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [key for key in MNIST_FILES if key not in archive.files]
                if missing:
                    raise ValueError(
                        f"MNIST archive {path!r} lacks {', '.join(missing)}; it has "
                        f"{', '.join(archive.files) or 'no arrays'} (expected x_train, y_train, "
                        "x_test, y_test)"
                    )
                arrays = {key: (archive[key], path) for key in MNIST_FILES}
        except (OSError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"cannot read MNIST archive {path!r}: {error}") from error
    parts = {}
    for part in ("train", "test"):
        images, source = arrays["x_" + part]
        images = _mnist_images("x_" + part, images, source)
        labels, label_source = arrays["y_" + part]
        parts[part] = (images, _mnist_labels("y_" + part, labels, len(images), label_source))
    if parts["train"][0].shape[1:] != parts["test"][0].shape[1:]:
        raise ValueError(
            f"MNIST train and test images in {path!r} differ in size: "
            f"{parts['train'][0].shape[2:]} and {parts['test'][0].shape[2:]}"
        )
    return ImageDataset("mnist", *parts["train"], *parts["test"], num_classes=10)


def _gtsrb_rows(csv_path):
    """Rows ``(filename, x1, y1, x2, y2, class_id)`` of one GTSRB annotation file."""
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader, None)
        if header is None:
            raise ValueError(f"GTSRB annotation file {csv_path!r} is empty")
        header = [column.strip() for column in header]
        missing = [column for column in GTSRB_COLUMNS if column not in header]
        if missing:
            raise ValueError(
                f"GTSRB annotation file {csv_path!r} lacks the column(s) {', '.join(missing)}; "
                f"expected a semicolon-separated header with {';'.join(GTSRB_COLUMNS)}, got {header}"
            )
        where = [header.index(column) for column in GTSRB_COLUMNS]
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            try:
                values = [row[i].strip() for i in where]
                numbers = [int(v) for v in values[1:]]
            except (IndexError, ValueError):
                raise ValueError(
                    f"GTSRB annotation file {csv_path!r}, line {line}: expected "
                    f"{len(header)} semicolon-separated fields with integer ROI and ClassId, got {row}"
                ) from None
            x1, y1, x2, y2, class_id = numbers
            if x1 < 0 or y1 < 0 or x2 < x1 or y2 < y1 or class_id < 0:
                raise ValueError(
                    f"GTSRB annotation file {csv_path!r}, line {line}: invalid ROI "
                    f"({x1}, {y1}, {x2}, {y2}) or ClassId {class_id}"
                )
            rows.append((values[0], x1, y1, x2, y2, class_id))
    return rows


def load_gtsrb(path, image_size=(32, 32)):
    """Load German Traffic Sign (GTSRB) images and labels from a local folder.

    Every ``*.csv`` annotation file under ``path`` (searched recursively, in
    sorted order) is read: semicolon-separated, with the header
    ``Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId`` (only
    ``Filename``, the ``Roi`` columns and ``ClassId`` are used).  Each listed
    image (relative to its CSV file) is cropped to its region of interest
    (``Roi.X2``/``Roi.Y2`` inclusive, clipped to the image), converted to RGB
    and resized with Pillow's bilinear filter.  Point it at
    ``GTSRB/Final_Training/Images`` (one ``GT-NNNNN.csv`` per class folder) or
    at the test folder with its annotated ``GT-final_test.csv``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    image_size : int or (int, int), optional
        ``(height, width)`` of the returned images.

    Returns
    -------
    images : ndarray, shape (N, 3, H, W), float32
        Values in ``[0, 1]``.
    labels : ndarray, shape (N,), int64
        ``ClassId`` of every image (0..42 in GTSRB).

    Raises
    ------
    FileNotFoundError
        If ``path``, every annotation file, or a listed image is missing.
    ValueError
        If an annotation file is malformed or an image cannot be read.
    ImportError
        If Pillow is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from warpkit.data import load_gtsrb
    >>> root = tempfile.mkdtemp()
    >>> folder = os.path.join(root, "00014")  # one folder per class
    >>> os.mkdir(folder)
    >>> Image.new("RGB", (40, 30), (255, 0, 0)).save(os.path.join(folder, "a.ppm"))
    >>> with open(os.path.join(folder, "GT-00014.csv"), "w") as f:
    ...     _ = f.write("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\\n")
    ...     _ = f.write("a.ppm;40;30;5;5;34;24;14\\n")
    >>> images, labels = load_gtsrb(root, image_size=16)
    >>> images.shape, labels
    ((1, 3, 16, 16), array([14]))
    """
    path = existing_path("GTSRB path", path, kind="dir")
    height, width = as_size("image_size", image_size)
    csv_paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if name.lower().endswith(".csv")
    )
    if not csv_paths:
        raise FileNotFoundError(
            f"GTSRB path {path!r} holds no *.csv annotation files (expected class folders "
            "such as 00000/GT-00000.csv)"
        )
    image_module = require_pil_image()
    images, labels = [], []
    for csv_path in csv_paths:
        folder = os.path.dirname(csv_path)
        for filename, x1, y1, x2, y2, class_id in _gtsrb_rows(csv_path):
            image_path = os.path.join(folder, filename)
            if not os.path.isfile(image_path):
                raise FileNotFoundError(
                    f"image {image_path!r} listed in {csv_path!r} does not exist"
                )
            image = open_image(image_path).convert("RGB")
            box = (x1, y1, min(x2 + 1, image.width), min(y2 + 1, image.height))
            if box[0] >= box[2] or box[1] >= box[3]:
                raise ValueError(
                    f"ROI {(x1, y1, x2, y2)} of {image_path!r} (in {csv_path!r}) lies outside "
                    f"the {image.width}x{image.height} image"
                )
            image = image.crop(box).resize((width, height), image_module.BILINEAR)
            images.append(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)
            labels.append(class_id)
    if not images:
        raise ValueError(f"the annotation files under {path!r} list no images")
    return np.stack(images), np.asarray(labels, dtype=np.int64)
