"""Sampling a located block: gather the taps of every channel, combine, scatter.

After :func:`warpkit.kernels.taps.locate` has filled a block's scratch rows,
:func:`sample_block` writes the block's output pixels for every channel and
:func:`backward_block` computes their gradients: the grid gradient of each
pixel (summed over channels, into the ``DGX``/``DGY`` rows) and, if asked,
the input gradient (scattered into ``grad_planes`` in pixel order, so it is
deterministic; a thread may scatter only the taps in its own band of input
rows, so that threads never write the same element).  Arithmetic follows PyTorch's CPU kernel operation by
operation, in the image's dtype.

``planes`` are the sample's channels flattened to ``(C, H * W)``;
``out_planes``/``grad_out_planes`` the output's ``(C, H_out * W_out)``;
the block covers output pixels ``first .. first + count - 1``.
"""

import numba

from .._config import CPU_DEVICE_JIT_OPTIONS
from ._math import MODE_BILINEAR, MODE_NEAREST
from .simd import add_pair, gather, like, load_pair, muladd
from .taps import CX, CY, DX, DY, GMX, GMY, TX, TY, W_NE, W_NW, W_SE, W_SW

__all__ = ["V0", "ACC_X", "ACC_Y", "DGX", "DGY", "SRC_X", "SRC_Y", "ROWS",
           "sample_block", "backward_block"]

# Real scratch rows of this module, after those of taps.py.
V0 = 24        # V0 .. V0 + 3: gathered tap values
ACC_X = 28
ACC_Y = 29
DGX = 30       # d loss / d grid x of each pixel of the block
DGY = 31
SRC_X = 32     # SRC_X and SRC_Y, seen as one row of 2 * BLOCK: the block's
SRC_Y = 33     # (x, y) grid points, for kernels that compute them
#: Real scratch rows in all.
ROWS = 34

jit = numba.njit(**CPU_DEVICE_JIT_OPTIONS)


@jit
def sample_block(mode, bits, planes, out_planes, first, count, real, index):
    """Write ``out_planes[:, first:first + count]`` from the located taps.

    ``mode`` is compiled in as a literal, so only its own code is compiled.
    """
    numba.literally(mode)
    if mode == MODE_BILINEAR:
        _sample_bilinear(bits, planes, out_planes, first, count, real, index)
    elif mode == MODE_NEAREST:
        for c in range(planes.shape[0]):
            gather(bits, planes[c], index[0], count, out_planes[c][first:])
    else:
        _sample_bicubic(bits, planes, out_planes, first, count, real, index)


@jit
def _sample_bilinear(bits, planes, out_planes, first, count, real, index):
    w_nw, w_ne, w_sw, w_se = real[W_NW], real[W_NE], real[W_SW], real[W_SE]
    v_nw, v_ne, v_sw, v_se = real[V0], real[V0 + 1], real[V0 + 2], real[V0 + 3]
    o_nw, o_ne, o_sw, o_se = index[0], index[1], index[2], index[3]
    for c in range(planes.shape[0]):
        src = planes[c]
        out = out_planes[c][first:]
        if bits == 0:
            # Pair loads straight into the sum: no tap rows in between.
            for i in range(count):
                nw, ne = load_pair(src, o_nw[i], o_ne[i])
                sw, se = load_pair(src, o_sw[i], o_se[i])
                out[i] = _bilinear_sum(nw, ne, sw, se, w_nw[i], w_ne[i], w_sw[i], w_se[i])
        else:
            _gather_bilinear(bits, src, count, index, v_nw, v_ne, v_sw, v_se)
            for i in range(count):
                out[i] = _bilinear_sum(v_nw[i], v_ne[i], v_sw[i], v_se[i], w_nw[i], w_ne[i],
                                       w_sw[i], w_se[i])


@jit
def _bilinear_sum(nw, ne, sw, se, w_nw, w_ne, w_sw, w_se):
    """PyTorch's ``nw * w_nw + ne * w_ne + sw * w_sw + se * w_se``, as its compiler
    contracts it."""
    return muladd(se, w_se, muladd(sw, w_sw, muladd(ne, w_ne, nw * w_nw)))


@jit
def _gather_bilinear(bits, src, count, index, v_nw, v_ne, v_sw, v_se):
    """The four taps of each pixel into rows: vector gathers, or (``bits == 0``) pair loads."""
    if bits > 0:
        gather(bits, src, index[0], count, v_nw)
        gather(bits, src, index[1], count, v_ne)
        gather(bits, src, index[2], count, v_sw)
        gather(bits, src, index[3], count, v_se)
    else:
        for i in range(count):
            v_nw[i], v_ne[i] = load_pair(src, index[0, i], index[1, i])
            v_sw[i], v_se[i] = load_pair(src, index[2, i], index[3, i])


@jit
def _sample_bicubic(bits, planes, out_planes, first, count, real, index):
    values = real[V0]
    across = real[ACC_X]
    total = real[ACC_Y]
    for c in range(planes.shape[0]):
        src = planes[c]
        for j in range(4):
            for i in range(4):
                gather(bits, src, index[4 * j + i], count, values)
                weights = real[CX + i]
                if i == 0:
                    for p in range(count):
                        across[p] = weights[p] * values[p]
                else:
                    for p in range(count):
                        across[p] = across[p] + weights[p] * values[p]
            weights = real[CY + j]
            if j == 0:
                for p in range(count):
                    total[p] = weights[p] * across[p]
            else:
                for p in range(count):
                    total[p] = total[p] + weights[p] * across[p]
        out = out_planes[c][first:]
        for p in range(count):
            out[p] = total[p]


@jit
def backward_block(mode, bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                   band_start, band_end, first, count, real, index):
    """Gradients of a located block.

    Adds the input gradient into ``grad_planes`` if ``need_input``, for the
    taps whose plane offset lies in ``[band_start, band_end)`` only (a band
    of input rows that the calling thread owns; ``band_start >= 0``, so taps
    that read nothing, at offset -1, are never in it); writes the grid gradient
    (normalized units) into rows ``DGX``/``DGY`` if ``need_grid`` (zeros
    for ``nearest``).  ``mode`` is compiled in as a literal.
    """
    numba.literally(mode)
    if mode == MODE_BILINEAR:
        _backward_bilinear(bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                           band_start, band_end, first, count, real, index)
    elif mode == MODE_NEAREST:
        if need_input:
            offsets = index[0]
            for c in range(planes.shape[0]):
                grad_out = grad_out_planes[c][first:]
                grad = grad_planes[c]
                for i in range(count):
                    if band_start <= offsets[i] < band_end:
                        grad[offsets[i]] += grad_out[i]
        if need_grid:
            dgx, dgy = real[DGX], real[DGY]
            zero = like(real, 0.0)
            for i in range(count):
                dgx[i] = zero
                dgy[i] = zero
    else:
        _backward_bicubic(bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                          band_start, band_end, first, count, real, index)


@jit
def _backward_bilinear(bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                       band_start, band_end, first, count, real, index):
    w_nw, w_ne, w_sw, w_se = real[W_NW], real[W_NE], real[W_SW], real[W_SE]
    v_nw, v_ne, v_sw, v_se = real[V0], real[V0 + 1], real[V0 + 2], real[V0 + 3]
    r_tx, r_ty = real[TX], real[TY]
    gx, gy = real[ACC_X], real[ACC_Y]
    o_nw, o_ne, o_sw, o_se = index[0], index[1], index[2], index[3]
    zero = like(real, 0.0)
    if need_grid:
        for i in range(count):
            gx[i] = zero
            gy[i] = zero
    for c in range(planes.shape[0]):
        grad_out = grad_out_planes[c][first:]
        if need_input:
            grad = grad_planes[c]
            for i in range(count):
                g = grad_out[i]
                add_pair(grad, o_nw[i], o_ne[i], w_nw[i] * g, w_ne[i] * g, band_start, band_end)
                add_pair(grad, o_sw[i], o_se[i], w_sw[i] * g, w_se[i] * g, band_start, band_end)
        if need_grid and bits == 0:
            src = planes[c]
            for i in range(count):  # pair loads straight into the sums
                nw, ne = load_pair(src, o_nw[i], o_ne[i])
                sw, se = load_pair(src, o_sw[i], o_se[i])
                _bilinear_grid_terms(nw, ne, sw, se, r_tx[i], r_ty[i], grad_out[i], gx, gy, i)
        elif need_grid:
            _gather_bilinear(bits, planes[c], count, index, v_nw, v_ne, v_sw, v_se)
            for i in range(count):
                _bilinear_grid_terms(v_nw[i], v_ne[i], v_sw[i], v_se[i], r_tx[i], r_ty[i],
                                     grad_out[i], gx, gy, i)
    if need_grid:
        _scale_grid_gradient(real, count)


@jit
def _bilinear_grid_terms(nw, ne, sw, se, w, n, g, gx, gy, i):
    """Add one channel's ``d out / d (x, y) * g`` of pixel ``i`` into ``gx[i], gy[i]``
    (PyTorch's formula and contractions)."""
    one = like(w, 1.0)
    e = one - w
    s = one - n
    dx = muladd(se - sw, n, (ne - nw) * s)
    dy = muladd(se - ne, w, (sw - nw) * e)
    gx[i] = muladd(dx, g, gx[i])
    gy[i] = muladd(dy, g, gy[i])


@jit
def _backward_bicubic(bits, need_input, need_grid, planes, grad_out_planes, grad_planes,
                      band_start, band_end, first, count, real, index):
    values = real[V0]
    gx, gy = real[ACC_X], real[ACC_Y]
    zero = like(real, 0.0)
    if need_grid:
        for p in range(count):
            gx[p] = zero
            gy[p] = zero
    for c in range(planes.shape[0]):
        grad_out = grad_out_planes[c][first:]
        src = planes[c]
        for i in range(4):
            cx = real[CX + i]
            dx = real[DX + i]
            for j in range(4):
                cy = real[CY + j]
                dy = real[DY + j]
                offsets = index[4 * j + i]
                if need_input:
                    grad = grad_planes[c]
                    for p in range(count):
                        if band_start <= offsets[p] < band_end:
                            grad[offsets[p]] += grad_out[p] * cx[p] * cy[p]
                if need_grid:
                    gather(bits, src, offsets, count, values)
                    for p in range(count):
                        v = values[p] * grad_out[p]
                        gx[p] = gx[p] - v * dx[p] * cy[p]
                        gy[p] = gy[p] - v * dy[p] * cx[p]
    if need_grid:
        _scale_grid_gradient(real, count)


@jit
def _scale_grid_gradient(real, count):
    gx, gy = real[ACC_X], real[ACC_Y]
    gmx, gmy = real[GMX], real[GMY]
    dgx, dgy = real[DGX], real[DGY]
    for i in range(count):
        dgx[i] = gx[i] * gmx[i]
        dgy[i] = gy[i] * gmy[i]
