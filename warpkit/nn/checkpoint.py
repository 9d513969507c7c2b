"""Save and load parameter pytrees as ``.npz`` files.

A checkpoint stores each leaf under its path (``"loc/0/w"``) plus a small
JSON description of the tree's structure, so that loading rebuilds the same
dicts and lists.  Loading *into* a model (``like=params``) checks every key
and shape first and raises one clear error on any mismatch — a checkpoint is
either loaded whole or not at all.
"""

import json
import os
import tempfile

import numpy as np

from .tree import tree_items, tree_map

__all__ = ["save_checkpoint", "load_checkpoint"]

_STRUCTURE_KEY = "__structure__"


def _structure(tree):
    if isinstance(tree, dict):
        for key in tree:
            if not isinstance(key, str) or not key or "/" in key or key == _STRUCTURE_KEY:
                raise ValueError(f"parameter names must be non-empty strings without '/', "
                                 f"got {key!r}")
        return {"dict": {key: _structure(tree[key]) for key in sorted(tree)}}
    if isinstance(tree, (list, tuple)):
        return {"list": [_structure(item) for item in tree]}
    return None


def _rebuild(structure, arrays, prefix=""):
    if structure is None:
        return arrays[prefix[:-1]]
    if "dict" in structure:
        return {key: _rebuild(sub, arrays, f"{prefix}{key}/")
                for key, sub in structure["dict"].items()}
    return [_rebuild(sub, arrays, f"{prefix}{index}/")
            for index, sub in enumerate(structure["list"])]


def save_checkpoint(path, params, metadata=None):
    """Write ``params`` (a pytree of arrays) to ``path`` as ``.npz``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (conventionally ending in ``.npz``).
    params : pytree
        Nested dicts/lists of arrays; dict keys must be strings without ``/``.
    metadata : dict, optional
        JSON-serializable data stored beside the parameters.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> nn.save_checkpoint(path, {"w": np.ones(2), "layers": [{"b": np.zeros(1)}]})
    >>> nn.load_checkpoint(path)["layers"][0]["b"]
    array([0.])
    """
    arrays = {key: np.asarray(leaf) for key, leaf in tree_items(params)}
    header = {"structure": _structure(params), "metadata": metadata or {}}
    arrays[_STRUCTURE_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path, like=None, *, return_metadata=False):
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike
    like : pytree, optional
        The model's current parameters.  When given, the checkpoint must have
        exactly the same keys and shapes; the result is cast to ``like``'s
        dtypes.
    return_metadata : bool, optional
        Also return the metadata dict.

    Returns
    -------
    params : pytree
    metadata : dict
        Only when ``return_metadata`` is true.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a warpkit checkpoint, or (with ``like``) a key is
        missing, unexpected, or has another shape.  Nothing is loaded then.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit.nn import load_checkpoint, save_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save_checkpoint(path, {"w": np.ones((2, 3))}, metadata={"epoch": 3})
    >>> load_checkpoint(path, return_metadata=True)[1]
    {'epoch': 3}

    Loading into a model of another shape loads nothing:

    >>> load_checkpoint(path, like={"w": np.zeros((3, 2))})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: checkpoint ... 'w' has shape (2, 3) in the checkpoint but (3, 2) in the model
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable .npz checkpoint: {error}") from None
    if _STRUCTURE_KEY not in arrays:
        raise ValueError(f"{path} is not a warpkit checkpoint (no {_STRUCTURE_KEY} entry)")
    header = json.loads(arrays.pop(_STRUCTURE_KEY).tobytes().decode())
    params = _rebuild(header["structure"], arrays) if arrays or header["structure"] else {}
    if like is not None:
        params = _match(path, params, like)
    if return_metadata:
        return params, header["metadata"]
    return params


def _match(path, loaded, like):
    saved = dict(tree_items(loaded))
    wanted = dict(tree_items(like))
    problems = []
    missing = sorted(set(wanted) - set(saved))
    extra = sorted(set(saved) - set(wanted))
    if missing:
        problems.append(f"missing keys {missing}")
    if extra:
        problems.append(f"unexpected keys {extra}")
    for key in sorted(set(wanted) & set(saved)):
        have, want = np.shape(saved[key]), np.shape(wanted[key])
        if have != want:
            problems.append(f"{key!r} has shape {have} in the checkpoint but {want} in the model")
    if problems:
        raise ValueError(f"checkpoint {path} does not match the model: " + "; ".join(problems))
    return tree_map(lambda target, key_leaf: np.asarray(key_leaf, dtype=np.asarray(target).dtype),
                    like, _rebuild(_structure(like), saved))
