"""Per-voxel sampling arithmetic of volumes, written once for every target.

The 3-D counterpart of :mod:`warpkit.kernels._math`: :func:`build` takes a
target's ``jit`` decorator, its ``scatter_add`` and that target's compiled
2-D namespace (the result of :func:`warpkit.kernels._math.build`), and
returns the compiled per-voxel functions.  Every per-axis rule -- the NaN and
far-coordinate rules, padding, rounding, the Keys cubic weights -- is the
2-D helper's, applied on each of the three axes; nothing is re-derived here.

The functions use scalar float64 arithmetic and array indexing only (no
allocation, no exceptions), so the same source compiles for the CPU
(:mod:`warpkit.kernels.cpu_volume`) and for CUDA device functions.

Layouts
    ``inp`` and ``out`` are 5-D ``(N, C, D, H, W)``.  A grid point holds
    ``(x, y, z)``: ``x`` indexes W, ``y`` H, ``z`` D (PyTorch's 5-D
    ``grid_sample``).  The input gradient is passed as a 4-D view
    ``(N, C, D * H, W)`` so that the 2-D ``scatter_add(target, scale, n, c,
    row, x, value)`` serves volumes unchanged, with ``row = z * H + y``.

Frames
    ``inp`` may be a *crop* of a larger volume: the framed functions take
    ``frame = (depth, height, width, front, top, left)`` (a tuple of ints), the
    full volume's extent and where the crop starts inside it.  Every
    coordinate rule (unnormalization, padding, tap positions) uses the full
    extent; a tap at full-volume ``(z, y, x)`` reads ``inp[n, c, z - front,
    y - top, x - left]``, and a tap outside the crop (which lies inside the
    full volume) reads 0 and gets no gradient.  The input gradient and its
    rows ``z * H + y`` are the crop's.  The unframed names (``sample_voxel``,
    ``backward_voxel``, ``backward_voxel_rows``) pass the whole input's frame
    (:func:`input_frame`).

Modes
    ``MODE_BILINEAR`` is trilinear (8 taps), ``MODE_NEAREST`` rounds half to
    even, ``MODE_BICUBIC`` is tricubic: Keys ``a = -0.75`` weights
    ``cx[i] * cy[j] * cz[k]`` on the 4x4x4 neighbourhood, padding applied per
    tap on each axis as 2-D bicubic does.

Point sources (the maths the fused warps and displacement fields share;
output voxel ``(d, h, w)`` has base coordinates ``(x, y, z)``)
    * affine: ``theta[n]`` (3, 4); ``acc`` (12,) d/dtheta row-major.
    * perspective: ``hom[n]`` (4, 4); ``(u, v, s, w) = H @ (x, y, z, 1)``,
      point ``(u, v, s) / w``, ``NO_SOURCE`` on every axis where ``w <= 0``
      or NaN (no parameter gradient there); ``acc`` (16,) d/dH row-major.
    * flow: ``flow[n, d, h, w]`` (3,) with per-axis ``scales``: point
      ``(base_x[w] + sx * dx, base_y[h] + sy * dy, base_z[d] + sz * dz)``;
      its gradient is the grid gradient times ``scales``.
"""

import math

from ._fused_math import NO_SOURCE
from ._math import MODE_BILINEAR, MODE_NEAREST

#: A row bound beyond any volume's ``D * H`` (the default band: every row).
ALL_ROWS = 1 << 62


def build(jit, scatter_add, pixel_math):
    """Compile the per-voxel functions for one target.

    Parameters
    ----------
    jit : callable
        Decorator compiling a Python function as a target device function
        (inlined into its callers).
    scatter_add : compiled function
        ``scatter_add(target, scale, n, c, row, x, value)`` adds ``value`` to
        ``target[n, c, row, x]`` (as for :func:`warpkit.kernels._math.build`).
    pixel_math : types.SimpleNamespace
        The target's compiled 2-D sampler namespace (``source_index``,
        ``unnormalize_safe``, ``round_half_even``, ``bicubic_taps_framed``,
        ``window_index``).

    Returns
    -------
    types.SimpleNamespace
        The compiled functions, by name.
    """
    from types import SimpleNamespace

    source_index = pixel_math.source_index
    unnormalize_safe = pixel_math.unnormalize_safe
    round_half_even = pixel_math.round_half_even
    bicubic_taps_framed = pixel_math.bicubic_taps_framed
    window_index = pixel_math.window_index

    # ------------------------------------------------------------------ forward

    @jit
    def input_frame(inp):
        """The frame of the whole input ``inp`` (N, C, D, H, W): no crop."""
        zero = inp.shape[2] - inp.shape[2]
        return (inp.shape[2], inp.shape[3], inp.shape[4], zero, zero, zero)

    @jit
    def linear_axis(g, size, start, padding_mode, align_corners):
        """One axis of a trilinear sample on an axis of ``size`` whose crop starts at
        ``start``: the lower tap ``i0`` (crop index), the fraction ``t`` past it,
        ``1 - t``, and ``d pixel / d g`` (after padding)."""
        x, grad = source_index(g, size, padding_mode, align_corners)
        below = math.floor(x)
        t = x - below
        return int(below) - start, t, 1.0 - t, grad

    @jit
    def sample_trilinear(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out,
                         d, h, w):
        depth, height, width = inp.shape[2], inp.shape[3], inp.shape[4]  # the crop's
        x0, tx, ux, _ = linear_axis(gx, frame[2], frame[5], padding_mode, align_corners)
        y0, ty, uy, _ = linear_axis(gy, frame[1], frame[4], padding_mode, align_corners)
        z0, tz, uz, _ = linear_axis(gz, frame[0], frame[3], padding_mode, align_corners)
        x1 = x0 + 1
        y1 = y0 + 1
        z1 = z0 + 1
        channels = inp.shape[1]
        # the crop lies inside the volume: a tap inside the crop is inside the volume
        if x0 >= 0 and x1 < width and y0 >= 0 and y1 < height and z0 >= 0 and z1 < depth:
            for c in range(channels):
                out[n, c, d, h, w] = (
                    ((inp[n, c, z0, y0, x0] * ux + inp[n, c, z0, y0, x1] * tx) * uy
                     + (inp[n, c, z0, y1, x0] * ux + inp[n, c, z0, y1, x1] * tx) * ty) * uz
                    + ((inp[n, c, z1, y0, x0] * ux + inp[n, c, z1, y0, x1] * tx) * uy
                       + (inp[n, c, z1, y1, x0] * ux + inp[n, c, z1, y1, x1] * tx) * ty) * tz)
            return
        # a border voxel: a tap off the volume (or the crop) reads 0 and weighs 0
        inx0 = x0 >= 0 and x0 < width
        inx1 = x1 >= 0 and x1 < width
        iny0 = y0 >= 0 and y0 < height
        iny1 = y1 >= 0 and y1 < height
        inz0 = z0 >= 0 and z0 < depth
        inz1 = z1 >= 0 and z1 < depth
        for c in range(channels):
            value = 0.0
            if inz0 and iny0 and inx0:
                value += inp[n, c, z0, y0, x0] * (ux * uy * uz)
            if inz0 and iny0 and inx1:
                value += inp[n, c, z0, y0, x1] * (tx * uy * uz)
            if inz0 and iny1 and inx0:
                value += inp[n, c, z0, y1, x0] * (ux * ty * uz)
            if inz0 and iny1 and inx1:
                value += inp[n, c, z0, y1, x1] * (tx * ty * uz)
            if inz1 and iny0 and inx0:
                value += inp[n, c, z1, y0, x0] * (ux * uy * tz)
            if inz1 and iny0 and inx1:
                value += inp[n, c, z1, y0, x1] * (tx * uy * tz)
            if inz1 and iny1 and inx0:
                value += inp[n, c, z1, y1, x0] * (ux * ty * tz)
            if inz1 and iny1 and inx1:
                value += inp[n, c, z1, y1, x1] * (tx * ty * tz)
            out[n, c, d, h, w] = value

    @jit
    def nearest_taps(inp, frame, gx, gy, gz, padding_mode, align_corners):
        """The crop indices ``(zi, yi, xi)`` of a nearest tap and whether it reads."""
        x, _ = source_index(gx, frame[2], padding_mode, align_corners)
        y, _ = source_index(gy, frame[1], padding_mode, align_corners)
        z, _ = source_index(gz, frame[0], padding_mode, align_corners)
        xi = window_index(round_half_even(x), frame[5], inp.shape[4])
        yi = window_index(round_half_even(y), frame[4], inp.shape[3])
        zi = window_index(round_half_even(z), frame[3], inp.shape[2])
        return zi, yi, xi, xi >= 0 and yi >= 0 and zi >= 0

    @jit
    def sample_nearest(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out, d, h, w):
        zi, yi, xi, inside = nearest_taps(inp, frame, gx, gy, gz, padding_mode, align_corners)
        for c in range(inp.shape[1]):
            if inside:
                out[n, c, d, h, w] = inp[n, c, zi, yi, xi]
            else:
                out[n, c, d, h, w] = 0.0

    @jit
    def tricubic_axis(g, size, start, extent, padding_mode, align_corners):
        """One axis of a tricubic sample: the four taps' crop indices (``-1``: none),
        their Keys weights and derivatives, and ``d pixel / d g``."""
        x, gm = unnormalize_safe(g, size, align_corners)
        taps, c, dc = bicubic_taps_framed(x, size, padding_mode, align_corners, start, extent)
        return taps, c, dc, gm

    @jit
    def sample_tricubic(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out,
                        d, h, w):
        xs, cx, _, _ = tricubic_axis(gx, frame[2], frame[5], inp.shape[4], padding_mode,
                                     align_corners)
        ys, cy, _, _ = tricubic_axis(gy, frame[1], frame[4], inp.shape[3], padding_mode,
                                     align_corners)
        zs, cz, _, _ = tricubic_axis(gz, frame[0], frame[3], inp.shape[2], padding_mode,
                                     align_corners)
        for c in range(inp.shape[1]):
            value = 0.0
            for k in range(4):
                zi = zs[k]
                if zi < 0:
                    continue
                plane = 0.0
                for j in range(4):
                    yi = ys[j]
                    if yi < 0:
                        continue
                    row = 0.0
                    for i in range(4):
                        xi = xs[i]
                        if xi >= 0:
                            row += inp[n, c, zi, yi, xi] * cx[i]
                    plane += row * cy[j]
                value += plane * cz[k]
            out[n, c, d, h, w] = value

    @jit
    def sample_voxel_framed(inp, frame, n, gx, gy, gz, mode, padding_mode, align_corners,
                            out, d, h, w):
        """Write ``out[n, :, d, h, w]`` from the crop ``inp`` of the volume of ``frame``
        at grid point ``(gx, gy, gz)``."""
        if mode == MODE_BILINEAR:
            sample_trilinear(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out,
                             d, h, w)
        elif mode == MODE_NEAREST:
            sample_nearest(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out,
                           d, h, w)
        else:
            sample_tricubic(inp, frame, n, gx, gy, gz, padding_mode, align_corners, out,
                            d, h, w)

    @jit
    def sample_voxel(inp, n, gx, gy, gz, mode, padding_mode, align_corners, out, d, h, w):
        """Write ``out[n, :, d, h, w]`` from the input at grid point ``(gx, gy, gz)``."""
        sample_voxel_framed(inp, input_frame(inp), n, gx, gy, gz, mode, padding_mode,
                            align_corners, out, d, h, w)

    # ----------------------------------------------------------------- backward
    #
    # ``rows`` [row_start, row_end) limits the input-gradient scatter to the
    # input rows z * H + y in that band (the CPU's deterministic split of the
    # scatter over threads); backward_voxel scatters every row.

    @jit
    def _tap(grad_inp, scale, n, c, row, x, value, row_start, row_end):
        if row >= row_start and row < row_end:
            scatter_add(grad_inp, scale, n, c, row, x, value)

    @jit
    def backward_trilinear(inp, frame, grad_out, n, d, h, w, gx, gy, gz, padding_mode,
                           align_corners, need_input, need_grid, grad_inp, scale,
                           row_start, row_end):
        depth, height, width = inp.shape[2], inp.shape[3], inp.shape[4]  # the crop's
        x0, tx, ux, gmx = linear_axis(gx, frame[2], frame[5], padding_mode, align_corners)
        y0, ty, uy, gmy = linear_axis(gy, frame[1], frame[4], padding_mode, align_corners)
        z0, tz, uz, gmz = linear_axis(gz, frame[0], frame[3], padding_mode, align_corners)
        x1 = x0 + 1
        y1 = y0 + 1
        z1 = z0 + 1
        inx0 = x0 >= 0 and x0 < width
        inx1 = x1 >= 0 and x1 < width
        iny0 = y0 >= 0 and y0 < height
        iny1 = y1 >= 0 and y1 < height
        inz0 = z0 >= 0 and z0 < depth
        inz1 = z1 >= 0 and z1 < depth
        r00 = z0 * height + y0  # input rows of the (z, y) tap pairs
        r01 = r00 + 1
        r10 = r00 + height
        r11 = r10 + 1
        gix = 0.0
        giy = 0.0
        giz = 0.0
        for c in range(inp.shape[1]):
            go = grad_out[n, c, d, h, w] * 1.0
            if need_input:
                if inz0 and iny0 and inx0:
                    _tap(grad_inp, scale, n, c, r00, x0, ux * uy * uz * go, row_start, row_end)
                if inz0 and iny0 and inx1:
                    _tap(grad_inp, scale, n, c, r00, x1, tx * uy * uz * go, row_start, row_end)
                if inz0 and iny1 and inx0:
                    _tap(grad_inp, scale, n, c, r01, x0, ux * ty * uz * go, row_start, row_end)
                if inz0 and iny1 and inx1:
                    _tap(grad_inp, scale, n, c, r01, x1, tx * ty * uz * go, row_start, row_end)
                if inz1 and iny0 and inx0:
                    _tap(grad_inp, scale, n, c, r10, x0, ux * uy * tz * go, row_start, row_end)
                if inz1 and iny0 and inx1:
                    _tap(grad_inp, scale, n, c, r10, x1, tx * uy * tz * go, row_start, row_end)
                if inz1 and iny1 and inx0:
                    _tap(grad_inp, scale, n, c, r11, x0, ux * ty * tz * go, row_start, row_end)
                if inz1 and iny1 and inx1:
                    _tap(grad_inp, scale, n, c, r11, x1, tx * ty * tz * go, row_start, row_end)
            if need_grid:
                v000 = inp[n, c, z0, y0, x0] * go if inz0 and iny0 and inx0 else 0.0
                v001 = inp[n, c, z0, y0, x1] * go if inz0 and iny0 and inx1 else 0.0
                v010 = inp[n, c, z0, y1, x0] * go if inz0 and iny1 and inx0 else 0.0
                v011 = inp[n, c, z0, y1, x1] * go if inz0 and iny1 and inx1 else 0.0
                v100 = inp[n, c, z1, y0, x0] * go if inz1 and iny0 and inx0 else 0.0
                v101 = inp[n, c, z1, y0, x1] * go if inz1 and iny0 and inx1 else 0.0
                v110 = inp[n, c, z1, y1, x0] * go if inz1 and iny1 and inx0 else 0.0
                v111 = inp[n, c, z1, y1, x1] * go if inz1 and iny1 and inx1 else 0.0
                # differences along x, y, z of the tap values, weighed by the
                # other two axes' weights
                gix += ((v001 - v000) * uy + (v011 - v010) * ty) * uz \
                    + ((v101 - v100) * uy + (v111 - v110) * ty) * tz
                giy += ((v010 - v000) * ux + (v011 - v001) * tx) * uz \
                    + ((v110 - v100) * ux + (v111 - v101) * tx) * tz
                giz += ((v100 - v000) * ux + (v101 - v001) * tx) * uy \
                    + ((v110 - v010) * ux + (v111 - v011) * tx) * ty
        return gix * gmx, giy * gmy, giz * gmz

    @jit
    def backward_nearest(inp, frame, grad_out, n, d, h, w, gx, gy, gz, padding_mode,
                         align_corners, need_input, need_grid, grad_inp, scale,
                         row_start, row_end):
        if not need_input:
            return 0.0, 0.0, 0.0
        zi, yi, xi, inside = nearest_taps(inp, frame, gx, gy, gz, padding_mode, align_corners)
        if inside:
            for c in range(inp.shape[1]):
                _tap(grad_inp, scale, n, c, zi * inp.shape[3] + yi, xi,
                     grad_out[n, c, d, h, w] * 1.0, row_start, row_end)
        return 0.0, 0.0, 0.0

    @jit
    def backward_tricubic(inp, frame, grad_out, n, d, h, w, gx, gy, gz, padding_mode,
                          align_corners, need_input, need_grid, grad_inp, scale,
                          row_start, row_end):
        height = inp.shape[3]  # the crop's
        xs, cx, dcx, gmx = tricubic_axis(gx, frame[2], frame[5], inp.shape[4], padding_mode,
                                         align_corners)
        ys, cy, dcy, gmy = tricubic_axis(gy, frame[1], frame[4], height, padding_mode,
                                         align_corners)
        zs, cz, dcz, gmz = tricubic_axis(gz, frame[0], frame[3], inp.shape[2], padding_mode,
                                         align_corners)
        gix = 0.0
        giy = 0.0
        giz = 0.0
        for c in range(inp.shape[1]):
            go = grad_out[n, c, d, h, w] * 1.0
            for k in range(4):
                zi = zs[k]
                if zi < 0:
                    continue
                for j in range(4):
                    yi = ys[j]
                    if yi < 0:
                        continue
                    for i in range(4):
                        xi = xs[i]
                        if xi < 0:
                            continue
                        if need_input:
                            _tap(grad_inp, scale, n, c, zi * height + yi, xi,
                                 cx[i] * cy[j] * cz[k] * go, row_start, row_end)
                        if need_grid:
                            v = inp[n, c, zi, yi, xi] * go
                            gix += v * dcx[i] * cy[j] * cz[k]
                            giy += v * cx[i] * dcy[j] * cz[k]
                            giz += v * cx[i] * cy[j] * dcz[k]
        return gix * gmx, giy * gmy, giz * gmz

    @jit
    def backward_voxel_framed(inp, frame, grad_out, n, d, h, w, gx, gy, gz, mode,
                              padding_mode, align_corners, need_input, need_grid, grad_inp,
                              scale, row_start, row_end):
        """:func:`backward_voxel_rows` on the crop ``inp`` of the volume of ``frame``:
        ``grad_inp`` is the crop's (N, C, D_crop * H_crop, W_crop), its rows the crop's."""
        if mode == MODE_BILINEAR:
            return backward_trilinear(inp, frame, grad_out, n, d, h, w, gx, gy, gz,
                                      padding_mode, align_corners, need_input, need_grid,
                                      grad_inp, scale, row_start, row_end)
        if mode == MODE_NEAREST:
            return backward_nearest(inp, frame, grad_out, n, d, h, w, gx, gy, gz,
                                    padding_mode, align_corners, need_input, need_grid,
                                    grad_inp, scale, row_start, row_end)
        return backward_tricubic(inp, frame, grad_out, n, d, h, w, gx, gy, gz, padding_mode,
                                 align_corners, need_input, need_grid, grad_inp, scale,
                                 row_start, row_end)

    @jit
    def backward_voxel_rows(inp, grad_out, n, d, h, w, gx, gy, gz, mode, padding_mode,
                            align_corners, need_input, need_grid, grad_inp, scale,
                            row_start, row_end):
        """:func:`backward_voxel` scattering only taps on input rows ``z * H + y`` in
        ``[row_start, row_end)``."""
        return backward_voxel_framed(inp, input_frame(inp), grad_out, n, d, h, w, gx, gy, gz,
                                     mode, padding_mode, align_corners, need_input, need_grid,
                                     grad_inp, scale, row_start, row_end)

    @jit
    def backward_voxel(inp, grad_out, n, d, h, w, gx, gy, gz, mode, padding_mode,
                       align_corners, need_input, need_grid, grad_inp, scale):
        """Scatter ``grad_out[n, :, d, h, w]`` into ``grad_inp`` (N, C, D * H, W) if
        ``need_input``; return the grid gradient ``(d/dgx, d/dgy, d/dgz)`` (zeros
        unless ``need_grid``) in normalized coordinates."""
        return backward_voxel_rows(inp, grad_out, n, d, h, w, gx, gy, gz, mode,
                                   padding_mode, align_corners, need_input, need_grid,
                                   grad_inp, scale, 0, ALL_ROWS)

    # ------------------------------------------------------------ point sources

    @jit
    def grid_point(grid, n, d, h, w):
        """The grid's point ``grid[n, d, h, w]`` as float64."""
        return grid[n, d, h, w, 0] * 1.0, grid[n, d, h, w, 1] * 1.0, grid[n, d, h, w, 2] * 1.0

    @jit
    def flow3d_point(flow, n, d, h, w, base_x, base_y, base_z, scales):
        """``(base_x[w] + sx * dx, base_y[h] + sy * dy, base_z[d] + sz * dz)`` for the
        displacement ``flow[n, d, h, w] = (dx, dy, dz)`` and ``scales = (sx, sy, sz)``."""
        return (base_x[w] + scales[0] * flow[n, d, h, w, 0],
                base_y[h] + scales[1] * flow[n, d, h, w, 1],
                base_z[d] + scales[2] * flow[n, d, h, w, 2])

    @jit
    def affine3d_point(theta, n, x, y, z):
        """Input coordinate ``theta[n] @ (x, y, z, 1)``."""
        gx = theta[n, 0, 0] * x + theta[n, 0, 1] * y + theta[n, 0, 2] * z + theta[n, 0, 3]
        gy = theta[n, 1, 0] * x + theta[n, 1, 1] * y + theta[n, 1, 2] * z + theta[n, 1, 3]
        gz = theta[n, 2, 0] * x + theta[n, 2, 1] * y + theta[n, 2, 2] * z + theta[n, 2, 3]
        return gx, gy, gz

    @jit
    def affine3d_accumulate(acc, x, y, z, dgx, dgy, dgz):
        """Add one voxel's theta gradient: d/dtheta[r, :] = d/dg_r * (x, y, z, 1)."""
        acc[0] += dgx * x
        acc[1] += dgx * y
        acc[2] += dgx * z
        acc[3] += dgx
        acc[4] += dgy * x
        acc[5] += dgy * y
        acc[6] += dgy * z
        acc[7] += dgy
        acc[8] += dgz * x
        acc[9] += dgz * y
        acc[10] += dgz * z
        acc[11] += dgz

    @jit
    def perspective3d_point(hom, n, x, y, z):
        """``(u / w, v / w, s / w, w)``; ``NO_SOURCE`` on every axis where ``w <= 0`` or NaN."""
        u = hom[n, 0, 0] * x + hom[n, 0, 1] * y + hom[n, 0, 2] * z + hom[n, 0, 3]
        v = hom[n, 1, 0] * x + hom[n, 1, 1] * y + hom[n, 1, 2] * z + hom[n, 1, 3]
        s = hom[n, 2, 0] * x + hom[n, 2, 1] * y + hom[n, 2, 2] * z + hom[n, 2, 3]
        wh = hom[n, 3, 0] * x + hom[n, 3, 1] * y + hom[n, 3, 2] * z + hom[n, 3, 3]
        if wh > 0.0:
            return u / wh, v / wh, s / wh, wh
        return NO_SOURCE, NO_SOURCE, NO_SOURCE, wh

    @jit
    def perspective3d_accumulate(acc, x, y, z, wh, gx, gy, gz, dgx, dgy, dgz):
        """Add one voxel's H gradient, its point ``(gx, gy, gz) = (u, v, s) / w``."""
        if not wh > 0.0:
            return
        a = dgx / wh
        b = dgy / wh
        c = dgz / wh
        e = -(dgx * gx + dgy * gy + dgz * gz) / wh
        acc[0] += a * x
        acc[1] += a * y
        acc[2] += a * z
        acc[3] += a
        acc[4] += b * x
        acc[5] += b * y
        acc[6] += b * z
        acc[7] += b
        acc[8] += c * x
        acc[9] += c * y
        acc[10] += c * z
        acc[11] += c
        acc[12] += e * x
        acc[13] += e * y
        acc[14] += e * z
        acc[15] += e

    return SimpleNamespace(
        input_frame=input_frame,
        sample_voxel=sample_voxel,
        sample_voxel_framed=sample_voxel_framed,
        backward_voxel=backward_voxel,
        backward_voxel_rows=backward_voxel_rows,
        backward_voxel_framed=backward_voxel_framed,
        grid_point=grid_point,
        flow3d_point=flow3d_point,
        affine3d_point=affine3d_point,
        affine3d_accumulate=affine3d_accumulate,
        perspective3d_point=perspective3d_point,
        perspective3d_accumulate=perspective3d_accumulate,
    )
