"""Volumes: trilinear ``grid_sample`` and the fused 3-D ``warp_affine`` against PyTorch.

On the volume workloads (``workloads.VOLUME_WORKLOADS``: one 128³ volume and
four two-channel 64³ volumes, float32): the 5-D ``grid_sample`` forward and
backward (input + grid gradients) against PyTorch's 5-D ``grid_sample``, and
the fused 3-D ``warp_affine`` forward + backward for the theta gradient (the
volume is data) against PyTorch's ``affine_grid`` + ``grid_sample`` forward
and backward.  The grid is a rotation about a tilted axis with a scale and a
shift, ``padding_mode="zeros"``, ``align_corners=False``.

Run them alone::

    python -m benchmarks --only volume.
"""

from . import workloads as wl
from .anchors import require, warpkit_function
from .bench_sampler import torch_tensor
from .core import Case, Contender, register


def _tensor_to_numpy(tensor):
    return tensor.detach().numpy()


def _data(work):
    """Volume (N, C, D, H, W), grid (N, D, H, W, 3), output gradient, theta (N, 3, 4)."""
    x = wl.image(work.shape)
    theta = wl.affine_thetas_3d(work.n)
    grid = wl.affine_grid_3d(theta, work.d, work.h, work.w)
    grad_output = wl.image(work.shape, seed=1)
    return x, grid, grad_output, theta


def _forward(work):
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    x, grid, _, _ = _data(work)
    xt, gt = torch_tensor(x), torch_tensor(grid)
    contenders = {
        "warpkit": Contender(lambda: grid_sample(x, grid), to_nchw=lambda out: out,
                             primary=True),
        "torch": Contender(lambda: torch.nn.functional.grid_sample(xt, gt, align_corners=False),
                           to_nchw=_tensor_to_numpy, memory="rss", primary=True,
                           note="5-D grid_sample"),
    }
    return Case("volume.grid_sample.forward.trilinear", work.key, contenders, work.pixels)


def _backward(work):
    grid_sample_vjp = warpkit_function("grid_sample_vjp")
    torch = require("torch")
    x, grid, grad_output, _ = _data(work)
    xt, gt = torch_tensor(x, True), torch_tensor(grid, True)
    got = torch_tensor(grad_output)
    out = torch.nn.functional.grid_sample(xt, gt, align_corners=False)
    contenders = {
        "warpkit": Contender(lambda: grid_sample_vjp(x, grid, grad_output), primary=True,
                             note="grid_sample_vjp"),
        "torch": Contender(lambda: torch.autograd.grad(out, (xt, gt), got, retain_graph=True),
                           memory="rss", primary=True,
                           note="autograd.grad on a retained graph (backward only)"),
    }
    return Case("volume.grid_sample.backward.trilinear", work.key, contenders, work.pixels)


def _affine_theta(work):
    """The 3-D STN case: the volume is data, only theta needs a gradient."""
    warp_affine = warpkit_function("warp_affine")
    torch = require("torch")
    f = torch.nn.functional
    from autograd import make_vjp

    x, _, grad_output, theta = _data(work)
    xt, tt = torch_tensor(x), torch_tensor(theta, True)
    got = torch_tensor(grad_output)
    maker = make_vjp(lambda t: warp_affine(x, t))

    def warpkit_run():
        vjp, _ = maker(theta)
        return vjp(grad_output)

    def torch_run():
        out = f.grid_sample(xt, f.affine_grid(tt, x.shape, align_corners=False),
                            align_corners=False)
        return torch.autograd.grad(out, (tt,), got)

    contenders = {
        "warpkit": Contender(warpkit_run, to_nchw=lambda grad: grad, primary=True,
                             note="fused, autograd w.r.t. theta only (no input scatter)"),
        "torch": Contender(torch_run, to_nchw=lambda grads: grads[0], memory="rss",
                           primary=True,
                           note="affine_grid + grid_sample, autograd w.r.t. theta only"),
    }
    return Case("volume.warp_affine.forward_backward.theta", work.key, contenders, work.pixels)


register("volume.grid_sample.forward.trilinear", "volumes", wl.VOLUME_WORKLOADS,
         doc="5-D grid_sample forward, trilinear")(_forward)
register("volume.grid_sample.backward.trilinear", "volumes", wl.VOLUME_WORKLOADS,
         doc="5-D grid_sample_vjp (input + grid gradients), trilinear")(_backward)
register("volume.warp_affine.forward_backward.theta", "volumes", wl.VOLUME_WORKLOADS,
         doc="fused 3-D warp_affine forward + backward, theta gradient only")(_affine_theta)
