"""Fused warps (``warp_affine``, ``warp_perspective``, ``warp_tps``): forward and forward+backward.

Contenders: warpkit's fused warp; warpkit unfused (grid generator +
``grid_sample``, the same maths with an (N, Ho, Wo, 2) grid in memory);
PyTorch (``affine_grid`` / a perspective grid from tensor ops +
``grid_sample``, autograd for the backward); OpenCV ``warpAffine`` /
``warpPerspective`` and SciPy ``affine_transform`` (forward only); Kornia
``warp_affine`` / ``warp_perspective`` / TPS (if installed); the memory floor
(read the input and write the output once).  Forward+backward means the
gradients with respect to the input *and* the transform parameters.
"""

import numpy as np

from . import workloads as wl
from .anchors import require, warpkit_function
from .bench_sampler import SCIPY_MAX_ELEMENTS, floor_contender, torch_tensor
from .core import Case, Contender, Skip, register

#: Thin-plate splines evaluate K kernel terms per output pixel: workloads with
#: more than this many N * Ho * Wo * K terms are left out (said in the report).
TPS_MAX_TERMS = 20_000_000
TPS_KS = (16, 64, 256)
_CV2_INTERPOLATION = {"bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC"}
_SCIPY_ORDER = {"bilinear": 1, "bicubic": 3}


def _identity(array):
    return array


def _tensor_to_numpy(tensor):
    return tensor.detach().numpy()


def _try(contenders, notes, name, make):
    try:
        contenders[name] = make()
    except Skip as reason:
        notes.append(f"{name}: skipped, {reason}")


def _vjp_runner(fn, args, grad_output):
    """Forward + backward of ``fn(*args)`` through autograd, gradients w.r.t. every arg."""
    from autograd import make_vjp

    maker = make_vjp(lambda packed: fn(*packed))

    def run():
        vjp, _ = maker(tuple(args))
        return vjp(grad_output)

    return run


def _torch_grads(forward, leaves, grad_output):
    torch = require("torch")

    def run():
        out = forward()
        return torch.autograd.grad(out, leaves, grad_output)

    return run


# ------------------------------------------------------------------------ OpenCV / SciPy


def _cv2_warp(x, pixel, kind, mode):
    """cv2.warpAffine / warpPerspective over the batch, HWC, inverse (output -> input) maps."""
    cv2 = require("cv2")
    n, c, h, w = x.shape
    if mode == "bicubic" and c > 4:
        raise Skip("cv2 INTER_CUBIC takes at most 4 channels")
    flags = getattr(cv2, _CV2_INTERPOLATION[mode]) | cv2.WARP_INVERSE_MAP
    images = wl.nhwc(x)
    out = np.empty_like(images)
    warp = cv2.warpAffine if kind == "affine" else cv2.warpPerspective
    matrices = [np.ascontiguousarray(m[:2] if kind == "affine" else m) for m in pixel]

    def run():
        for i in range(n):
            result = warp(images[i], matrices[i], (w, h), flags=flags,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            out[i] = result.reshape(out.shape[1:])
        return out

    return Contender(run, to_nchw=wl.nchw, memory=None,
                     note="HWC, loop over N, 1/32-pixel fixed point")


def _scipy_affine(x, pixel, order):
    ndimage = require("scipy.ndimage")
    n, c, h, w = x.shape
    if x.size > SCIPY_MAX_ELEMENTS:
        raise Skip(f"scipy.ndimage left out above {SCIPY_MAX_ELEMENTS / 1e6:.0f}M elements "
                   "(single-threaded, seconds per call)")
    # (row, col) order: input = matrix @ output + offset
    matrices = [np.array([[m[1, 1], m[1, 0]], [m[0, 1], m[0, 0]]]) for m in pixel]
    offsets = [np.array([m[1, 2], m[0, 2]]) for m in pixel]
    out = np.empty_like(x)

    def run():
        for i in range(n):
            for j in range(c):
                ndimage.affine_transform(x[i, j], matrices[i], offsets[i], output=out[i, j],
                                         order=order, mode="grid-constant", cval=0.0,
                                         prefilter=order > 1)
        return out

    note = "loop over N·C, 1 thread"
    if order == 3:
        note += ", cubic B-spline (not Keys), prefilter included"
    return Contender(run, to_nchw=_identity, memory=None, note=note)


# ------------------------------------------------------------------------ torch / kornia


def torch_perspective_grid(homography, height, width):
    """PyTorch ops: (N, 3, 3) normalized homographies -> (N, H, W, 2) grid (differentiable)."""
    torch = require("torch")
    base = torch.from_numpy(wl.base_grid(height, width).astype(np.float32))
    mapped = torch.matmul(base, homography.transpose(1, 2))
    grid = mapped[..., :2] / mapped[..., 2:3]
    return grid.reshape(homography.shape[0], height, width, 2)


def _kornia_affine(x, pixel, mode, with_grad, grad_output=None):
    kornia = require("kornia")
    torch = require("torch")
    n, c, h, w = x.shape
    dst_from_src = np.linalg.inv(pixel)[:, :2].astype(np.float32)
    xt = torch_tensor(x, with_grad)
    mt = torch_tensor(dst_from_src, with_grad)
    warp = kornia.geometry.transform.warp_affine

    def forward():
        return warp(xt, mt, (h, w), mode=mode, padding_mode="zeros", align_corners=True)

    if with_grad:
        return Contender(_torch_grads(forward, (xt, mt), torch_tensor(grad_output)),
                         memory="rss", note="grads w.r.t. input and pixel matrix")
    return Contender(forward, to_nchw=_tensor_to_numpy, memory="rss",
                     note="pixel matrix, align_corners=True (same pixel-centre warp)")


def _kornia_perspective(x, pixel, with_grad, grad_output=None):
    kornia = require("kornia")
    n, c, h, w = x.shape
    dst_from_src = np.linalg.inv(pixel).astype(np.float32)
    xt = torch_tensor(x, with_grad)
    mt = torch_tensor(dst_from_src, with_grad)
    warp = kornia.geometry.transform.warp_perspective

    def forward():
        return warp(xt, mt, (h, w), mode="bilinear", padding_mode="zeros", align_corners=True)

    if with_grad:
        return Contender(_torch_grads(forward, (xt, mt), torch_tensor(grad_output)),
                         memory="rss", note="grads w.r.t. input and pixel matrix")
    return Contender(forward, to_nchw=_tensor_to_numpy, memory="rss",
                     note="pixel matrix, align_corners=True (same pixel-centre warp)")


# ------------------------------------------------------------------------ cases


def _data(work):
    x = wl.image(work.shape)
    grad_output = wl.image(work.shape, seed=1)
    return x, grad_output


def _affine_forward(work, mode="bilinear"):
    warp_affine = warpkit_function("warp_affine")
    affine_grid = warpkit_function("affine_grid")
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    f = torch.nn.functional
    x, _ = _data(work)
    theta = wl.affine_thetas(work.n)
    xt, tt = torch_tensor(x), torch_tensor(theta)
    pixel = wl.pixel_matrices(theta, (work.h, work.w), (work.h, work.w))
    contenders = {
        "warpkit": Contender(lambda: warp_affine(x, theta, mode=mode), to_nchw=_identity,
                             primary=True, note="fused warp_affine"),
        "warpkit unfused": Contender(
            lambda: grid_sample(x, affine_grid(theta, x.shape), mode=mode), to_nchw=_identity,
            note="affine_grid + grid_sample"),
        "torch": Contender(
            lambda: f.grid_sample(xt, f.affine_grid(tt, x.shape, align_corners=False),
                                  mode=mode, align_corners=False),
            to_nchw=_tensor_to_numpy, memory="rss", primary=True,
            note="affine_grid + grid_sample"),
    }
    notes = []
    _try(contenders, notes, "cv2.warpAffine", lambda: _cv2_warp(x, pixel, "affine", mode))
    _try(contenders, notes, f"scipy affine_transform o{_SCIPY_ORDER[mode]}",
         lambda: _scipy_affine(x, pixel, _SCIPY_ORDER[mode]))
    if mode == "bilinear":
        _try(contenders, notes, "kornia", lambda: _kornia_affine(x, pixel, mode, False))
    contenders["floor"] = floor_contender([x], x.shape)
    name = "warp_affine.forward" + ("" if mode == "bilinear" else f".{mode}")
    return Case(name, work.key, contenders, work.pixels, notes)


def _affine_forward_backward(work):
    warp_affine = warpkit_function("warp_affine")
    affine_grid = warpkit_function("affine_grid")
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    f = torch.nn.functional
    x, grad_output = _data(work)
    theta = wl.affine_thetas(work.n)
    xt, tt = torch_tensor(x, True), torch_tensor(theta, True)
    got = torch_tensor(grad_output)
    pixel = wl.pixel_matrices(theta, (work.h, work.w), (work.h, work.w))
    contenders = {
        "warpkit": Contender(_vjp_runner(warp_affine, (x, theta), grad_output), primary=True,
                             note="fused, autograd (d input, d theta)"),
        "warpkit unfused": Contender(
            _vjp_runner(lambda a, t: grid_sample(a, affine_grid(t, a.shape)), (x, theta),
                        grad_output),
            note="affine_grid + grid_sample, autograd"),
        "torch": Contender(
            _torch_grads(lambda: f.grid_sample(xt, f.affine_grid(tt, x.shape,
                                                                 align_corners=False),
                                               align_corners=False), (xt, tt), got),
            memory="rss", primary=True, note="affine_grid + grid_sample, autograd"),
    }
    notes = []
    _try(contenders, notes, "kornia",
         lambda: _kornia_affine(x, pixel, "bilinear", True, grad_output))
    grid_bytes = work.n * work.h * work.w * 2 * x.itemsize
    return Case("warp_affine.forward_backward", work.key, contenders, work.pixels, notes,
                extra={"grid_bytes": grid_bytes})


def _affine_theta_only(work):
    """The STN case: the image is data, only theta needs a gradient."""
    warp_affine = warpkit_function("warp_affine")
    torch = require("torch")
    f = torch.nn.functional
    from autograd import make_vjp

    x, grad_output = _data(work)
    theta = wl.affine_thetas(work.n)
    xt, tt = torch_tensor(x), torch_tensor(theta, True)
    got = torch_tensor(grad_output)
    maker = make_vjp(lambda t: warp_affine(x, t))

    def warpkit_run():
        vjp, _ = maker(theta)
        return vjp(grad_output)

    contenders = {
        "warpkit": Contender(warpkit_run, primary=True,
                             note="fused, autograd w.r.t. theta only (no input scatter)"),
        "torch": Contender(
            _torch_grads(lambda: f.grid_sample(xt, f.affine_grid(tt, x.shape,
                                                                 align_corners=False),
                                               align_corners=False), (tt,), got),
            memory="rss", primary=True,
            note="affine_grid + grid_sample, autograd w.r.t. theta only"),
    }
    return Case("warp_affine.forward_backward.theta", work.key, contenders, work.pixels)


def _perspective_forward(work):
    warp_perspective = warpkit_function("warp_perspective")
    perspective_grid = warpkit_function("perspective_grid")
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    x, _ = _data(work)
    hs = wl.homographies(work.n)
    xt, ht = torch_tensor(x), torch_tensor(hs)
    pixel = wl.pixel_matrices(hs, (work.h, work.w), (work.h, work.w))
    f = torch.nn.functional
    contenders = {
        "warpkit": Contender(lambda: warp_perspective(x, hs), to_nchw=_identity, primary=True,
                             note="fused warp_perspective"),
        "warpkit unfused": Contender(lambda: grid_sample(x, perspective_grid(hs, x.shape)),
                                     to_nchw=_identity,
                                     note="perspective_grid + grid_sample"),
        "torch": Contender(
            lambda: f.grid_sample(xt, torch_perspective_grid(ht, work.h, work.w),
                                  align_corners=False),
            to_nchw=_tensor_to_numpy, memory="rss", primary=True,
            note="grid from tensor ops + grid_sample"),
    }
    notes = []
    _try(contenders, notes, "cv2.warpPerspective",
         lambda: _cv2_warp(x, pixel, "perspective", "bilinear"))
    _try(contenders, notes, "kornia", lambda: _kornia_perspective(x, pixel, False))
    contenders["floor"] = floor_contender([x], x.shape)
    return Case("warp_perspective.forward", work.key, contenders, work.pixels, notes)


def _perspective_forward_backward(work):
    warp_perspective = warpkit_function("warp_perspective")
    perspective_grid = warpkit_function("perspective_grid")
    grid_sample = warpkit_function("grid_sample")
    torch = require("torch")
    f = torch.nn.functional
    x, grad_output = _data(work)
    hs = wl.homographies(work.n)
    xt, ht = torch_tensor(x, True), torch_tensor(hs, True)
    got = torch_tensor(grad_output)
    pixel = wl.pixel_matrices(hs, (work.h, work.w), (work.h, work.w))
    contenders = {
        "warpkit": Contender(_vjp_runner(warp_perspective, (x, hs), grad_output), primary=True,
                             note="fused, autograd (d input, d H)"),
        "warpkit unfused": Contender(
            _vjp_runner(lambda a, m: grid_sample(a, perspective_grid(m, a.shape)), (x, hs),
                        grad_output),
            note="perspective_grid + grid_sample, autograd"),
        "torch": Contender(
            _torch_grads(lambda: f.grid_sample(xt, torch_perspective_grid(ht, work.h, work.w),
                                               align_corners=False), (xt, ht), got),
            memory="rss", primary=True, note="tensor-op grid + grid_sample, autograd"),
    }
    notes = []
    _try(contenders, notes, "kornia", lambda: _kornia_perspective(x, pixel, True, grad_output))
    grid_bytes = work.n * work.h * work.w * 2 * x.itemsize
    return Case("warp_perspective.forward_backward", work.key, contenders, work.pixels, notes,
                extra={"grid_bytes": grid_bytes})


def check_tps_size(work, k):
    terms = work.n * work.h * work.w * k
    if terms > TPS_MAX_TERMS:
        raise Skip(f"K={k} on this workload is {terms / 1e6:.0f}M kernel terms "
                   f"(> {TPS_MAX_TERMS / 1e6:.0f}M, left out to keep the suite short)")


#: Kornia solves the spline with a batched float32 ``torch.linalg.solve``; on
#: this build (MKL) that fails for K = 256 with batches above a few images
#: ("Pivots given to lu_solve must all be greater or equal to 1").
KORNIA_TPS_MAX_K = 64


def _kornia_tps(x, controls, targets, with_grad, grad_output=None):
    kornia = require("kornia")
    if controls.shape[0] > KORNIA_TPS_MAX_K:
        raise Skip(f"Kornia's batched float32 spline solve fails above K={KORNIA_TPS_MAX_K} "
                   "here (torch.linalg.solve: 'Pivots given to lu_solve must all be >= 1')")
    tps = kornia.geometry.transform
    n = x.shape[0]
    xt = torch_tensor(x, with_grad)
    ct = torch_tensor(np.broadcast_to(controls, (n,) + controls.shape))
    tt = torch_tensor(targets, with_grad)

    def forward():
        kernel_weights, affine_weights = tps.get_tps_transform(tt, ct)
        return tps.warp_image_tps(xt, ct, kernel_weights, affine_weights, align_corners=False)

    if with_grad:
        return Contender(_torch_grads(forward, (xt, tt), torch_tensor(grad_output)),
                         memory="rss", note="solve + warp, grads w.r.t. input and targets")
    return Contender(forward, memory="rss",
                     note="get_tps_transform + warp_image_tps (solve included); speed only: "
                          "Kornia's spline convention differs, values are not comparable")


def _tps_forward(work, k):
    check_tps_size(work, k)
    warp_tps = warpkit_function("warp_tps")
    tps_grid = warpkit_function("tps_grid")
    grid_sample = warpkit_function("grid_sample")
    x, _ = _data(work)
    controls, targets = wl.tps_points(work.n, k)
    contenders = {
        "warpkit": Contender(lambda: warp_tps(x, controls, targets), to_nchw=_identity,
                             primary=True, note="fused warp_tps (solve included)"),
        "warpkit unfused": Contender(
            lambda: grid_sample(x, tps_grid(controls, targets, x.shape)), to_nchw=_identity,
            note="tps_grid + grid_sample"),
    }
    notes = []
    _try(contenders, notes, "kornia", lambda: _kornia_tps(x, controls, targets, False))
    contenders["floor"] = floor_contender([x], x.shape)
    return Case(f"warp_tps.forward.k{k}", work.key, contenders, work.pixels, notes)


def _tps_forward_backward(work, k):
    check_tps_size(work, k)
    warp_tps = warpkit_function("warp_tps")
    tps_grid = warpkit_function("tps_grid")
    grid_sample = warpkit_function("grid_sample")
    x, grad_output = _data(work)
    controls, targets = wl.tps_points(work.n, k)
    contenders = {
        "warpkit": Contender(
            _vjp_runner(lambda a, t: warp_tps(a, controls, t), (x, targets), grad_output),
            primary=True, note="fused, autograd (d input, d targets)"),
        "warpkit unfused": Contender(
            _vjp_runner(lambda a, t: grid_sample(a, tps_grid(controls, t, a.shape)),
                        (x, targets), grad_output),
            note="tps_grid + grid_sample, autograd"),
    }
    notes = []
    _try(contenders, notes, "kornia", lambda: _kornia_tps(x, controls, targets, True,
                                                          grad_output))
    grid_bytes = work.n * work.h * work.w * 2 * x.itemsize
    return Case(f"warp_tps.forward_backward.k{k}", work.key, contenders, work.pixels, notes,
                extra={"grid_bytes": grid_bytes})


register("warp_affine.forward", "warps", wl.ALL_WORKLOADS,
         doc="fused affine warp forward, bilinear")(_affine_forward)
register("warp_affine.forward.bicubic", "warps", wl.MODERATE,
         doc="fused affine warp forward, bicubic")(
    lambda work: _affine_forward(work, "bicubic"))
register("warp_affine.forward_backward", "warps", wl.WITHOUT_HUGE,
         doc="fused affine warp forward + gradients w.r.t. input and theta")(
    _affine_forward_backward)
register("warp_affine.forward_backward.theta", "warps", wl.WITHOUT_HUGE,
         doc="fused affine warp forward + gradient w.r.t. theta only (image as data)")(
    _affine_theta_only)
register("warp_perspective.forward", "warps", wl.MODERATE,
         doc="fused perspective warp forward, bilinear")(_perspective_forward)
register("warp_perspective.forward_backward", "warps", wl.MODERATE,
         doc="fused perspective warp forward + gradients w.r.t. input and H")(
    _perspective_forward_backward)
for _k in TPS_KS:
    register(f"warp_tps.forward.k{_k}", "warps", wl.ALL_WORKLOADS,
             doc=f"fused thin-plate-spline warp forward, K={_k}")(
        lambda work, k=_k: _tps_forward(work, k))
    register(f"warp_tps.forward_backward.k{_k}", "warps", wl.ALL_WORKLOADS,
             doc=f"fused thin-plate-spline warp forward + gradients, K={_k}")(
        lambda work, k=_k: _tps_forward_backward(work, k))
