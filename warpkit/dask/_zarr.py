"""Write a chunked warp to a Zarr store, resuming where an interrupted write stopped.

:func:`to_zarr` stores each chunk of a Dask array as one Zarr chunk.  With
``resume=True`` it first lists the chunks already in the target and builds
tasks only for the others, so a run that was interrupted (a killed process,
a lost node) picks up where it stopped and computes no written chunk again.
Zarr's local store writes each chunk file atomically (a temporary file,
then a rename), so a chunk is either whole or absent.
"""

import dask.array as da
import numpy as np
import zarr
import zarr.errors
from zarr.core.sync import sync

__all__ = ["to_zarr"]


def to_zarr(array, store, *, resume=True, compressors="auto"):
    """Store a Dask array in a Zarr array, one Zarr chunk per Dask chunk.

    Parameters
    ----------
    array : dask.array.Array
        Regular chunks (every chunk but the last along an axis the same size).
    store : str, pathlib.Path or zarr store
        Where the Zarr array lives (created if absent).
    resume : bool, optional
        If the target exists with the same shape, dtype and chunks, write only
        the chunks it does not hold yet (default).  If False, an existing target
        is an error.
    compressors : optional
        Passed to :func:`zarr.create_array` for a new target.

    Returns
    -------
    zarr.Array
        The target, written with the current Dask scheduler; chunks that are all zero are written too, so that a resumed
        run recognises them.

    Raises
    ------
    ValueError
        Irregular chunks, or an existing target that does not match.

    Examples
    --------
    >>> import tempfile, dask.array as da, numpy as np
    >>> from warpkit.dask import to_zarr
    >>> path = tempfile.mkdtemp() + "/out.zarr"
    >>> values = da.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    >>> target = to_zarr(values, path)
    >>> target.chunks, float(target[2, 3])
    ((2, 2), 11.0)
    >>> target = to_zarr(values, path)  # every chunk is there: nothing to compute
    """
    array = da.asarray(array)
    chunks = _regular_chunks(array)
    target = _open_or_create(store, array, chunks, resume, compressors)
    written = _written_chunks(target) if resume else set()
    sources, regions = [], []
    for index in np.ndindex(*array.numblocks):
        if target.metadata.encode_chunk_key(index) in written:
            continue
        regions.append(tuple(slice(i * c, min((i + 1) * c, s))
                             for i, c, s in zip(index, chunks, array.shape)))
        sources.append(array.blocks[index])
    if sources:
        da.store(sources, [target] * len(sources), regions=regions, lock=False)
    return target


def _regular_chunks(array):
    """The chunk shape of an array with regular chunks, or a ``ValueError``."""
    chunks = []
    for axis, sizes in enumerate(array.chunks):
        if any(size != sizes[0] for size in sizes[:-1]) or sizes[-1] > sizes[0]:
            raise ValueError(f"array must have regular chunks to be stored in Zarr, got "
                             f"{sizes} along axis {axis}; rechunk it first")
        chunks.append(max(sizes[0], 1))
    return tuple(chunks)


def _open_or_create(store, array, chunks, resume, compressors):
    """The target array, checked against ``array``, or a new one."""
    try:
        target = zarr.open_array(store, mode="r+")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        target = zarr.create_array(store, shape=array.shape, chunks=chunks, dtype=array.dtype,
                                   fill_value=0, compressors=compressors)
        return target.with_config(_CONFIG)
    if not resume:
        raise ValueError(f"store already holds an array ({store!r}); pass resume=True to "
                         f"finish writing it, or remove it")
    found = (tuple(target.shape), np.dtype(target.dtype), tuple(target.chunks))
    wanted = (tuple(array.shape), np.dtype(array.dtype), chunks)
    if found != wanted:
        raise ValueError(f"store holds an array of shape, dtype and chunks {found}, which "
                         f"cannot resume a write of {wanted}")
    return target.with_config(_CONFIG)


#: Write every chunk, zeros included: a resumed write then knows it is done.
_CONFIG = {"write_empty_chunks": True}


def _written_chunks(target):
    """The keys of the chunks the target holds."""
    path = target.store_path.path

    async def listing():
        return [key async for key in target.store_path.store.list_prefix(path)]

    prefix = f"{path}/" if path else ""
    return {key[len(prefix):] for key in sync(listing())}
