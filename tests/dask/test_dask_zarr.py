"""warpkit.dask.to_zarr: chunk-for-chunk writes, and a resumed write computes no chunk twice."""

import threading

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
import dask  # noqa: E402

import warpkit  # noqa: E402
import warpkit.dask as wd  # noqa: E402


class _Counter:
    """A source whose chunks count how often they are computed, and can fail once."""

    def __init__(self, image, chunks, fail_at=None):
        self.image = image
        self.calls = {}
        self.fail_at = fail_at
        self.lock = threading.Lock()
        chunks = da.core.normalize_chunks(chunks, image.shape)
        self.array = da.map_blocks(self._block, dtype=image.dtype, chunks=chunks,
                                   meta=np.empty((0, 0), image.dtype))

    def _block(self, block_info=None):
        info = block_info[None]
        index = tuple(info["chunk-location"])
        with self.lock:
            self.calls[index] = self.calls.get(index, 0) + 1
            if index == self.fail_at:
                self.fail_at = None
                raise KeyboardInterrupt("interrupted")  # a killed run
        region = tuple(slice(a, b) for a, b in info["array-location"])
        return self.image[region]


def test_warp_to_zarr_round_trip(tmp_path):
    image = np.random.default_rng(0).random((40, 52)).astype(np.float32)
    source = zarr.create_array(tmp_path / "in.zarr", shape=image.shape, chunks=(16, 16),
                               dtype=image.dtype)
    source[:] = image
    theta = np.array([[0.9, 0.2, 0.05], [-0.2, 0.9, 0.1]])
    warped = wd.warp_affine(da.from_zarr(str(tmp_path / "in.zarr")), theta, chunks=16)
    target = wd.to_zarr(warped, tmp_path / "out.zarr")
    assert target.chunks == (16, 16)
    assert np.array_equal(target[:], warpkit.warp_affine(image[None, None], theta[None])[0, 0])


def _stored(path, numblocks):
    """The chunk indices a 2-D Zarr store holds (files ``c/i/j``)."""
    return {index for index in np.ndindex(*numblocks)
            if (path / "c" / str(index[0]) / str(index[1])).is_file()}


def test_resume_after_an_interruption_computes_only_the_missing_chunks(tmp_path):
    image = np.arange(48 * 40, dtype=np.float64).reshape(48, 40)
    chunks = (16, 10)
    first = _Counter(image, chunks, fail_at=(1, 2))
    # one thread, as a killed process: no write finishes after the interruption
    with pytest.raises(KeyboardInterrupt), dask.config.set(scheduler="sync"):
        wd.to_zarr(first.array, tmp_path / "out.zarr")
    stored = _stored(tmp_path / "out.zarr", first.array.numblocks)
    assert (1, 2) not in stored
    second = _Counter(image, chunks)
    target = wd.to_zarr(second.array, tmp_path / "out.zarr")
    assert np.array_equal(target[:], image)
    # exactly the chunks the interrupted run had not stored, each once
    assert set(second.calls) == set(np.ndindex(*first.array.numblocks)) - stored
    assert all(count == 1 for count in second.calls.values())
    third = _Counter(image, chunks)
    wd.to_zarr(third.array, tmp_path / "out.zarr")
    assert third.calls == {}  # all written: nothing to do


def test_resume_recomputes_exactly_the_lost_chunks(tmp_path):
    image = np.arange(48 * 40, dtype=np.float64).reshape(48, 40)
    wd.to_zarr(_Counter(image, (16, 10)).array, tmp_path / "out.zarr")
    lost = {(0, 1), (2, 3)}
    for i, j in lost:
        (tmp_path / "out.zarr" / "c" / str(i) / str(j)).unlink()
    again = _Counter(image, (16, 10))
    target = wd.to_zarr(again.array, tmp_path / "out.zarr")
    assert set(again.calls) == lost
    assert np.array_equal(target[:], image)


def test_zero_chunks_are_written_so_resume_knows_them(tmp_path):
    zeros = da.zeros((8, 8), chunks=4)
    wd.to_zarr(zeros, tmp_path / "z.zarr")
    counter = _Counter(np.zeros((8, 8)), (4, 4))
    wd.to_zarr(counter.array, tmp_path / "z.zarr")
    assert counter.calls == {}


def test_mismatched_or_irregular_targets_are_refused(tmp_path):
    wd.to_zarr(da.zeros((8, 8), chunks=4), tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="cannot resume"):
        wd.to_zarr(da.zeros((8, 9), chunks=4), tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="resume=True"):
        wd.to_zarr(da.zeros((8, 8), chunks=4), tmp_path / "a.zarr", resume=False)
    with pytest.raises(ValueError, match="regular chunks"):
        wd.to_zarr(da.zeros((8, 8), chunks=((3, 5), (4, 4))), tmp_path / "b.zarr")
