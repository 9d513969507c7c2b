"""Per-pixel arithmetic of the fused warps, written once for every target.

A fused warp computes each output pixel's input coordinate inside the kernel
from the transformation parameters, samples there with the shared sampler
(:mod:`warpkit.kernels._math`), and in the backward pass turns the
coordinate gradient into a gradient of the parameters on the spot.  No grid
of coordinates is ever stored.

:func:`build` takes a target's ``jit`` decorator and that target's compiled
sampler namespace (the result of :func:`warpkit.kernels._math.build`) and
returns the compiled functions.  The functions use scalar arithmetic and
array indexing only (no allocation, no exceptions), so the same source
compiles for the CPU and for CUDA device functions.

Coordinates
    Output pixel ``(h, w)`` has normalized base coordinates ``(xs[w],
    ys[h])`` (:func:`warpkit.coords.normalized_base_coordinates`); kernels
    take ``x, y`` as float64 scalars.  All coordinate and gradient arithmetic
    runs in float64.

Parameters and their gradient accumulators (``acc``, float64, one per
sample, added to in place)
    * affine: ``theta[n]`` (2, 3); ``acc`` (6,) holds d/dtheta row-major.
    * perspective: ``hom[n]`` (3, 3); ``acc`` (9,) holds d/dH row-major.
      Pixels with ``w <= 0`` or NaN ``w`` read the coordinate ``NO_SOURCE``
      on both axes (the rule of :func:`warpkit.perspective_grid`) and add no
      parameter gradient.
    * spline: ``coef[n]`` (K + 3, 2) (kernel weights, then the affine rows)
      and ``centres[cn]`` (K, 2) with ``cn = n`` for per-sample centres or
      ``0`` for shared ones; accumulators ``acc_coef`` (K + 3, 2) and
      ``acc_centres`` (K, 2).
"""

import math

#: Coordinate of pixels without a source point: far outside any image, so it
#: reads the padding value, with zero gradient (the one definition; the grid
#: generators import it).
NO_SOURCE = -1.0e30


def build(jit, pixel_math, inline_jit=None):
    """Compile the fused per-pixel functions for one target.

    Parameters
    ----------
    jit : callable
        Decorator compiling a Python function as a target device function.
    pixel_math : types.SimpleNamespace
        The target's compiled sampler (``sample_pixel``, ``backward_pixel``).
    inline_jit : callable, optional
        Decorator for the per-pixel entry points, if the target inlines them
        differently (default: ``jit``).

    Returns
    -------
    types.SimpleNamespace
        The compiled functions, by name.
    """
    from types import SimpleNamespace

    inline_jit = inline_jit or jit
    sample_pixel = pixel_math.sample_pixel
    backward_pixel = pixel_math.backward_pixel

    # --------------------------------------------------------------- affine

    @jit
    def affine_point(theta, n, x, y):
        """Input coordinate ``theta[n] @ (x, y, 1)``."""
        gx = theta[n, 0, 0] * x + theta[n, 0, 1] * y + theta[n, 0, 2]
        gy = theta[n, 1, 0] * x + theta[n, 1, 1] * y + theta[n, 1, 2]
        return gx, gy

    @jit
    def affine_accumulate(acc, x, y, dgx, dgy):
        """Add the theta gradient of one pixel: d/dtheta[r, :] = d/dg_r * (x, y, 1)."""
        acc[0] += dgx * x
        acc[1] += dgx * y
        acc[2] += dgx
        acc[3] += dgy * x
        acc[4] += dgy * y
        acc[5] += dgy

    # ---------------------------------------------------------- perspective

    @jit
    def perspective_point(hom, n, x, y):
        """Input coordinate ``(u / w, v / w)`` and ``w``; ``NO_SOURCE`` where ``w <= 0``."""
        u = hom[n, 0, 0] * x + hom[n, 0, 1] * y + hom[n, 0, 2]
        v = hom[n, 1, 0] * x + hom[n, 1, 1] * y + hom[n, 1, 2]
        w = hom[n, 2, 0] * x + hom[n, 2, 1] * y + hom[n, 2, 2]
        if w > 0.0:
            return u / w, v / w, w
        return NO_SOURCE, NO_SOURCE, w

    @jit
    def perspective_accumulate(acc, x, y, w, gx, gy, dgx, dgy):
        """Add the H gradient of one pixel with coordinate ``(gx, gy) = (u/w, v/w)``."""
        if not w > 0.0:
            return
        a = dgx / w
        b = dgy / w
        c = -(dgx * gx + dgy * gy) / w
        acc[0] += a * x
        acc[1] += a * y
        acc[2] += a
        acc[3] += b * x
        acc[4] += b * y
        acc[5] += b
        acc[6] += c * x
        acc[7] += c * y
        acc[8] += c

    # --------------------------------------------------------------- spline

    @jit
    def spline_point(coef, centres, n, cn, x, y):
        """``f(x, y)``: affine part plus the weighted kernels ``U(|p - c_k|)``."""
        count = centres.shape[1]
        gx = coef[n, count, 0] + coef[n, count + 1, 0] * x + coef[n, count + 2, 0] * y
        gy = coef[n, count, 1] + coef[n, count + 1, 1] * x + coef[n, count + 2, 1] * y
        for k in range(count):
            dx = x - centres[cn, k, 0]
            dy = y - centres[cn, k, 1]
            r2 = dx * dx + dy * dy
            if r2 > 0.0:
                u = 0.5 * r2 * math.log(r2)
                gx += coef[n, k, 0] * u
                gy += coef[n, k, 1] * u
        return gx, gy

    @jit
    def spline_accumulate(coef, centres, n, cn, x, y, dgx, dgy, acc_coef, acc_centres):
        """Add the gradients w.r.t. the coefficients and the kernel centres of one pixel.

        ``d/dw_k = d/dg * U_k``; ``d/da = d/dg * (1, x, y)``;
        ``d/dc_k = -(w_k . d/dg) * (log r2 + 1) * (p - c_k)`` (0 at ``r = 0``).
        """
        count = centres.shape[1]
        if dgx == 0.0 and dgy == 0.0:
            return
        acc_coef[count, 0] += dgx
        acc_coef[count, 1] += dgy
        acc_coef[count + 1, 0] += dgx * x
        acc_coef[count + 1, 1] += dgy * x
        acc_coef[count + 2, 0] += dgx * y
        acc_coef[count + 2, 1] += dgy * y
        for k in range(count):
            dx = x - centres[cn, k, 0]
            dy = y - centres[cn, k, 1]
            r2 = dx * dx + dy * dy
            if r2 > 0.0:
                log_r2 = math.log(r2)
                u = 0.5 * r2 * log_r2
                acc_coef[k, 0] += dgx * u
                acc_coef[k, 1] += dgy * u
                pull = -(coef[n, k, 0] * dgx + coef[n, k, 1] * dgy) * (log_r2 + 1.0)
                acc_centres[k, 0] += pull * dx
                acc_centres[k, 1] += pull * dy

    @jit
    def spline_point_basis(coef, centres, n, cn, x, y, basis):
        """:func:`spline_point` that also keeps each kernel's ``U_k`` and ``log r2 + 1``.

        ``basis`` (K, 2) is scratch space for :func:`spline_accumulate_basis`,
        which then needs no logarithm of its own.
        """
        count = centres.shape[1]
        gx = coef[n, count, 0] + coef[n, count + 1, 0] * x + coef[n, count + 2, 0] * y
        gy = coef[n, count, 1] + coef[n, count + 1, 1] * x + coef[n, count + 2, 1] * y
        for k in range(count):
            dx = x - centres[cn, k, 0]
            dy = y - centres[cn, k, 1]
            r2 = dx * dx + dy * dy
            u = 0.0
            slope = 0.0
            if r2 > 0.0:
                log_r2 = math.log(r2)
                u = 0.5 * r2 * log_r2
                slope = log_r2 + 1.0
                gx += coef[n, k, 0] * u
                gy += coef[n, k, 1] * u
            basis[k, 0] = u
            basis[k, 1] = slope
        return gx, gy

    @jit
    def spline_basis(centres, cn, x, y, basis):
        """Fill ``basis`` (K, 2) with ``U_k`` and ``log r2 + 1`` (0 at ``r = 0``) at ``(x, y)``."""
        for k in range(centres.shape[1]):
            dx = x - centres[cn, k, 0]
            dy = y - centres[cn, k, 1]
            r2 = dx * dx + dy * dy
            if r2 > 0.0:
                log_r2 = math.log(r2)
                basis[k, 0] = 0.5 * r2 * log_r2
                basis[k, 1] = log_r2 + 1.0
            else:
                basis[k, 0] = 0.0
                basis[k, 1] = 0.0

    @jit
    def spline_point_from_basis(coef, n, x, y, basis):
        """:func:`spline_point` from a :func:`spline_basis` (no logarithm): for shared
        centres, one basis serves every sample of the batch."""
        count = basis.shape[0]
        gx = coef[n, count, 0] + coef[n, count + 1, 0] * x + coef[n, count + 2, 0] * y
        gy = coef[n, count, 1] + coef[n, count + 1, 1] * x + coef[n, count + 2, 1] * y
        for k in range(count):
            gx += coef[n, k, 0] * basis[k, 0]
            gy += coef[n, k, 1] * basis[k, 0]
        return gx, gy

    @jit
    def spline_accumulate_basis(coef, centres, n, cn, x, y, dgx, dgy, basis, acc_coef,
                                acc_centres):
        """:func:`spline_accumulate` from the ``basis`` of :func:`spline_point_basis`."""
        count = centres.shape[1]
        if dgx == 0.0 and dgy == 0.0:
            return
        acc_coef[count, 0] += dgx
        acc_coef[count, 1] += dgy
        acc_coef[count + 1, 0] += dgx * x
        acc_coef[count + 1, 1] += dgy * x
        acc_coef[count + 2, 0] += dgx * y
        acc_coef[count + 2, 1] += dgy * y
        for k in range(count):
            u = basis[k, 0]
            acc_coef[k, 0] += dgx * u
            acc_coef[k, 1] += dgy * u
            pull = -(coef[n, k, 0] * dgx + coef[n, k, 1] * dgy) * basis[k, 1]
            acc_centres[k, 0] += pull * (x - centres[cn, k, 0])
            acc_centres[k, 1] += pull * (y - centres[cn, k, 1])

    # ----------------------------------------------------- per-pixel entries

    @inline_jit
    def affine_pixel(inp, theta, n, h, w, x, y, mode, padding_mode, align_corners, out):
        """Write ``out[n, :, h, w]`` for the affine map ``theta[n]``."""
        gx, gy = affine_point(theta, n, x, y)
        sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)

    @inline_jit
    def affine_backward_pixel(inp, theta, grad_out, n, h, w, x, y, mode, padding_mode,
                              align_corners, grad_inp, scale, acc):
        """Scatter the input gradient of one pixel and add its theta gradient to ``acc``."""
        gx, gy = affine_point(theta, n, x, y)
        dgx, dgy = backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                  align_corners, grad_inp, scale)
        affine_accumulate(acc, x, y, dgx, dgy)

    @inline_jit
    def perspective_pixel(inp, hom, n, h, w, x, y, mode, padding_mode, align_corners, out):
        """Write ``out[n, :, h, w]`` for the homography ``hom[n]``."""
        gx, gy, _ = perspective_point(hom, n, x, y)
        sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)

    @inline_jit
    def perspective_backward_pixel(inp, hom, grad_out, n, h, w, x, y, mode, padding_mode,
                                  align_corners, grad_inp, scale, acc):
        """Scatter the input gradient of one pixel and add its H gradient to ``acc``."""
        gx, gy, wh = perspective_point(hom, n, x, y)
        dgx, dgy = backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                  align_corners, grad_inp, scale)
        perspective_accumulate(acc, x, y, wh, gx, gy, dgx, dgy)

    @inline_jit
    def spline_pixel(inp, coef, centres, n, cn, h, w, x, y, mode, padding_mode,
                     align_corners, out):
        """Write ``out[n, :, h, w]`` for the spline ``coef[n]`` with centres ``centres[cn]``."""
        gx, gy = spline_point(coef, centres, n, cn, x, y)
        sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w)

    @inline_jit
    def spline_backward_pixel(inp, coef, centres, grad_out, n, cn, h, w, x, y, mode,
                              padding_mode, align_corners, grad_inp, scale, acc_coef,
                              acc_centres):
        """Scatter the input gradient of one pixel; add its coefficient and centre gradients."""
        gx, gy = spline_point(coef, centres, n, cn, x, y)
        dgx, dgy = backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                  align_corners, grad_inp, scale)
        spline_accumulate(coef, centres, n, cn, x, y, dgx, dgy, acc_coef, acc_centres)

    return SimpleNamespace(
        affine_point=affine_point,
        affine_accumulate=affine_accumulate,
        perspective_point=perspective_point,
        perspective_accumulate=perspective_accumulate,
        spline_point=spline_point,
        spline_accumulate=spline_accumulate,
        spline_point_basis=spline_point_basis,
        spline_basis=spline_basis,
        spline_point_from_basis=spline_point_from_basis,
        spline_accumulate_basis=spline_accumulate_basis,
        affine_pixel=affine_pixel,
        affine_backward_pixel=affine_backward_pixel,
        perspective_pixel=perspective_pixel,
        perspective_backward_pixel=perspective_backward_pixel,
        spline_pixel=spline_pixel,
        spline_backward_pixel=spline_backward_pixel,
    )
