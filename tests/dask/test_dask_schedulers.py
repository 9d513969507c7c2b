"""warpkit.dask under Dask's schedulers: threads, processes and dask.distributed.

The distributed test starts a ``LocalCluster`` of two worker processes on this
machine (no network beyond localhost): the graph must pickle, the workers
import warpkit and compile its kernels themselves, and the result must be the
same bits as in memory.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
import dask  # noqa: E402

import warpkit  # noqa: E402
import warpkit.dask as wd  # noqa: E402


def _problem():
    rng = np.random.default_rng(11)
    image = rng.standard_normal((1, 2, 48, 40)).astype(np.float32)
    theta = np.array([[[0.8, -0.3, 0.1], [0.35, 0.85, -0.05]]])
    grad_output = rng.standard_normal((1, 2, 48, 40)).astype(np.float32)
    return image, theta, grad_output


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_local_schedulers(scheduler):
    image, theta, _ = _problem()
    lazy = wd.warp_affine(da.from_array(image, chunks=(1, 1, 13, 11)), theta, chunks=(10, 12))
    assert np.array_equal(lazy.compute(scheduler=scheduler), warpkit.warp_affine(image, theta))


def test_distributed_local_cluster_of_processes():
    image, theta, grad_output = _problem()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = wd.warp_affine(da.from_array(image, chunks=(1, 1, 13, 11)), theta,
                              chunks=(10, 12))
        forward = client.compute(lazy).result()
        grads = dask.compute(*wd.warp_affine_vjp(  # the client is the default scheduler
            da.from_array(image, chunks=16), theta, da.from_array(grad_output, chunks=12)))
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    assert np.array_equal(forward, warpkit.warp_affine(image, theta))
    local = dask.compute(*wd.warp_affine_vjp(da.from_array(image, chunks=16), theta,
                                             da.from_array(grad_output, chunks=12)),
                         scheduler="sync")
    assert np.array_equal(grads[0], local[0]) and np.array_equal(grads[1], local[1])
