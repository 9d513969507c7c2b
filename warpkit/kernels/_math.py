"""Per-pixel sampling arithmetic, written once and compiled for every target.

:func:`build` takes a target's ``jit`` decorator (``numba.njit`` for the CPU,
``numba.cuda.jit(device=True)`` for CUDA) and a ``scatter_add`` function (a
plain ``+=`` on the CPU, an atomic add on CUDA) and returns the compiled
functions as a namespace.  The CUDA kernels (:mod:`warpkit.kernels.cuda`)
and the CPU spline kernels (:mod:`warpkit.kernels.cpu_fused`) only decide
*which* output pixel a thread handles; everything that decides *what* it
computes lives here.  The CPU block kernels (:mod:`warpkit.kernels.taps`,
:mod:`warpkit.kernels.blocks`) compute the same quantities in the image's
own dtype, in PyTorch's operation order, and share this module's constants
and rules.

Conventions (see :mod:`warpkit.coords`):

* scalar coordinate and weight arithmetic runs in float64 whatever the array
  dtype; loads and stores use the arrays' own dtype;
* a NaN grid coordinate is read as ``-1`` (PyTorch's documented rule);
* a *far* coordinate -- a grid value of ``±Inf``, or one whose pixel
  coordinate lies beyond ``±COORD_LIMIT`` -- becomes exactly
  ``±COORD_LIMIT`` (the sign of the grid value) with zero gradient, so
  integer conversions can never overflow and every index is bounds-checked.
  It reads 0 with zeros padding and the nearest edge with border *and*
  reflection padding (it is not reflected), whatever the axis length; the
  4x4 taps of a bicubic sample at a far coordinate all read that edge.
"""

import math

from .. import coords

MODE_BILINEAR = 0
MODE_NEAREST = 1
MODE_BICUBIC = 2

PADDING_ZEROS = 0
PADDING_BORDER = 1
PADDING_REFLECTION = 2

#: Pixel coordinates beyond this many pixels (2**30) are far (see above).
COORD_LIMIT = 1073741824.0

#: Finite grid values are clamped to ``±GRID_LIMIT`` (2**32) before they are
#: unnormalized, which keeps the arithmetic finite and changes nothing: on
#: every axis whose scale is not 0 (the smallest is 1/2) such a value lands
#: beyond ``COORD_LIMIT`` pixels either way.
GRID_LIMIT = 4.0 * COORD_LIMIT

#: The Keys cubic convolution parameter used by PyTorch's bicubic mode.
CUBIC_A = -0.75


def build(jit, scatter_add):
    """Compile the per-pixel functions for one target.

    Parameters
    ----------
    jit : callable
        Decorator that compiles a Python function for the target as a
        function callable from that target's kernels.  It should inline the
        function into its callers: a call that passes arrays costs more than
        a pixel's arithmetic.
    scatter_add : compiled function
        ``scatter_add(target, scale, n, c, y, x, value)`` adds ``value`` to
        ``target[n, c, y, x]`` (``scale`` is for targets that accumulate in
        fixed point; others ignore it).

    Returns
    -------
    types.SimpleNamespace
        The compiled functions, by name.
    """
    from types import SimpleNamespace

    unnormalize = jit(coords.unnormalize)
    unnormalize_scale = jit(coords.unnormalize_scale)

    @jit
    def unnormalize_safe(coord, size, align_corners):
        """Pixel coordinate of a grid value, with the NaN and far-coordinate rules.

        Returns ``(x, dx/dcoord)``.
        """
        if coord != coord:
            coord = -1.0
        edge = COORD_LIMIT if coord > 0.0 else -COORD_LIMIT
        if coord == math.inf or coord == -math.inf:
            return edge, 0.0
        coord = min(max(coord, -GRID_LIMIT), GRID_LIMIT)
        x = unnormalize(coord, size, align_corners)
        if x > COORD_LIMIT or x < -COORD_LIMIT:
            return edge, 0.0
        return x, unnormalize_scale(size, align_corners)

    @jit
    def pad_coordinate(x, size, padding_mode, align_corners):
        """Apply border/reflection padding to a pixel coordinate.

        Returns ``(x, dx_out/dx_in)``; zeros padding leaves ``x`` unchanged.
        Border clamps into ``[0, size - 1]``; reflection mirrors about the
        edges (``-0.5``, ``size - 0.5``) or, with ``align_corners``, about the
        corner pixel centres (``0``, ``size - 1``), then clamps.  A far
        coordinate (``|x| = COORD_LIMIT``) is not reflected: it clamps like
        border padding.
        """
        if padding_mode == PADDING_ZEROS:
            return x, 1.0
        grad = 1.0
        if padding_mode == PADDING_REFLECTION and abs(x) < COORD_LIMIT:
            if align_corners:
                low = 0.0
                span = size - 1.0
            else:
                low = -0.5
                span = 1.0 * size
            if span <= 0.0:
                return 0.0, 0.0
            x = x - low
            if x < 0.0:
                grad = -1.0
                x = -x
            flips = math.floor(x / span)
            extra = x - flips * span
            if flips - 2.0 * math.floor(flips * 0.5) == 0.0:
                x = extra + low
            else:
                x = span - extra + low
                grad = -grad
        if x <= 0.0:
            return 0.0, 0.0
        if x >= size - 1.0:
            return size - 1.0, 0.0
        return x, grad

    @jit
    def source_index(coord, size, padding_mode, align_corners):
        """Padded pixel coordinate of a grid value and its derivative."""
        x, g_unnormalize = unnormalize_safe(coord, size, align_corners)
        x, g_pad = pad_coordinate(x, size, padding_mode, align_corners)
        return x, g_unnormalize * g_pad

    @jit
    def round_half_even(x):
        """Nearest integer to ``x``, ties to even (``nearbyint``), as an int."""
        below = math.floor(x)
        rest = x - below
        if rest > 0.5 or (rest == 0.5 and below - 2.0 * math.floor(below * 0.5) != 0.0):
            below += 1.0
        return int(below)

    @jit
    def window_index(index, start, extent):
        """Index ``index`` of an axis (``-1``: none) counted from ``start`` in a window of
        ``extent`` pixels that lies inside the axis, or -1 outside the window."""
        index -= start
        return index if index >= 0 and index < extent else -1

    @jit
    def tap_index_framed(tap, x, size, padding_mode, align_corners, start, extent):
        """Index read by integer tap position ``tap`` of coordinate ``x`` after
        padding, counted from ``start`` in a window of ``extent`` pixels that lies
        inside the axis, or -1 if none (or outside the window).  Every tap of a
        far ``x`` reads where ``x`` does."""
        if not abs(x) < COORD_LIMIT:
            tap = x
        x, _ = pad_coordinate(tap, size, padding_mode, align_corners)
        if x >= 0.0 and x < size:
            return window_index(int(x), start, extent)
        return -1

    @jit
    def tap_index(tap, x, size, padding_mode, align_corners):
        """Index read by integer tap position ``tap`` of coordinate ``x`` after
        padding, or -1 if none.  Every tap of a far ``x`` reads where ``x`` does."""
        return tap_index_framed(tap, x, size, padding_mode, align_corners, 0, size)

    @jit
    def cubic_coefficients(t):
        """Keys cubic weights of the 4 taps at offsets -1, 0, 1, 2 from floor(x)."""
        a = CUBIC_A
        x0 = t + 1.0
        x1 = t
        x2 = 1.0 - t
        x3 = 2.0 - t
        c0 = ((a * x0 - 5.0 * a) * x0 + 8.0 * a) * x0 - 4.0 * a
        c1 = ((a + 2.0) * x1 - (a + 3.0)) * x1 * x1 + 1.0
        c2 = ((a + 2.0) * x2 - (a + 3.0)) * x2 * x2 + 1.0
        c3 = ((a * x3 - 5.0 * a) * x3 + 8.0 * a) * x3 - 4.0 * a
        return c0, c1, c2, c3

    @jit
    def cubic_coefficients_grad(t):
        """Derivatives of :func:`cubic_coefficients` with respect to ``t``."""
        a = CUBIC_A
        x0 = t + 1.0
        x1 = t
        x2 = 1.0 - t
        x3 = 2.0 - t
        d0 = (3.0 * a * x0 - 10.0 * a) * x0 + 8.0 * a
        d1 = (3.0 * (a + 2.0) * x1 - 2.0 * (a + 3.0)) * x1
        d2 = -(3.0 * (a + 2.0) * x2 - 2.0 * (a + 3.0)) * x2
        d3 = -((3.0 * a * x3 - 10.0 * a) * x3 + 8.0 * a)
        return d0, d1, d2, d3

    # ------------------------------------------------------------------ forward
    #
    # The input ``inp`` (N, C, rows, cols) is a window of a full image of
    # ``height x width`` pixels that starts at pixel ``(top, left)`` of it: the
    # coordinates are computed on the full image, the taps read the window,
    # and a tap outside the window reads 0 (and receives no gradient).

    @jit
    def sample_bilinear(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height, width,
                        top, left):
        x, _ = source_index(gx, width, padding_mode, align_corners)
        y, _ = source_index(gy, height, padding_mode, align_corners)
        x0f = math.floor(x)
        y0f = math.floor(y)
        tx = x - x0f
        ty = y - y0f
        x0 = int(x0f) - left
        y0 = int(y0f) - top
        x1 = x0 + 1
        y1 = y0 + 1
        w00 = (1.0 - tx) * (1.0 - ty)
        w01 = tx * (1.0 - ty)
        w10 = (1.0 - tx) * ty
        w11 = tx * ty
        rows = inp.shape[2]
        cols = inp.shape[3]
        inx0 = x0 >= 0 and x0 < cols
        inx1 = x1 >= 0 and x1 < cols
        iny0 = y0 >= 0 and y0 < rows
        iny1 = y1 >= 0 and y1 < rows
        channels = inp.shape[1]
        if inx0 and inx1 and iny0 and iny1:
            for c in range(channels):
                out[n, c, h, w] = (
                    inp[n, c, y0, x0] * w00
                    + inp[n, c, y0, x1] * w01
                    + inp[n, c, y1, x0] * w10
                    + inp[n, c, y1, x1] * w11
                )
            return
        for c in range(channels):
            value = 0.0
            if iny0 and inx0:
                value += inp[n, c, y0, x0] * w00
            if iny0 and inx1:
                value += inp[n, c, y0, x1] * w01
            if iny1 and inx0:
                value += inp[n, c, y1, x0] * w10
            if iny1 and inx1:
                value += inp[n, c, y1, x1] * w11
            out[n, c, h, w] = value

    @jit
    def sample_nearest(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height, width,
                       top, left):
        x, _ = source_index(gx, width, padding_mode, align_corners)
        y, _ = source_index(gy, height, padding_mode, align_corners)
        xi = round_half_even(x) - left
        yi = round_half_even(y) - top
        inside = xi >= 0 and xi < inp.shape[3] and yi >= 0 and yi < inp.shape[2]
        for c in range(inp.shape[1]):
            if inside:
                out[n, c, h, w] = inp[n, c, yi, xi]
            else:
                out[n, c, h, w] = 0.0

    @jit
    def bicubic_taps_framed(x, size, padding_mode, align_corners, start, extent):
        """The 4 tap indices, counted from ``start`` in a window of ``extent`` pixels
        (``-1`` where a tap reads nothing or lies outside the window), and the Keys
        weights."""
        x0 = math.floor(x)
        taps = (
            tap_index_framed(x0 - 1.0, x, size, padding_mode, align_corners, start, extent),
            tap_index_framed(x0, x, size, padding_mode, align_corners, start, extent),
            tap_index_framed(x0 + 1.0, x, size, padding_mode, align_corners, start, extent),
            tap_index_framed(x0 + 2.0, x, size, padding_mode, align_corners, start, extent),
        )
        return taps, cubic_coefficients(x - x0), cubic_coefficients_grad(x - x0)

    @jit
    def bicubic_taps(x, size, padding_mode, align_corners):
        """The 4 tap indices (``-1`` where a tap reads nothing) and Keys weights."""
        return bicubic_taps_framed(x, size, padding_mode, align_corners, 0, size)

    @jit
    def sample_bicubic(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height, width,
                       top, left):
        x, _ = unnormalize_safe(gx, width, align_corners)
        y, _ = unnormalize_safe(gy, height, align_corners)
        xs, cx, _ = bicubic_taps_framed(x, width, padding_mode, align_corners, left,
                                        inp.shape[3])
        ys, cy, _ = bicubic_taps_framed(y, height, padding_mode, align_corners, top,
                                        inp.shape[2])
        for c in range(inp.shape[1]):
            value = 0.0
            for j in range(4):
                yi = ys[j]
                if yi < 0:
                    continue
                row = 0.0
                for i in range(4):
                    xi = xs[i]
                    if xi >= 0:
                        row += inp[n, c, yi, xi] * cx[i]
                value += row * cy[j]
            out[n, c, h, w] = value

    @jit
    def sample_pixel_framed(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w,
                            height, width, top, left):
        """Write ``out[n, :, h, w]`` from the ``height x width`` image, of which ``inp``
        holds the window from ``(top, left)``, at grid point ``(gx, gy)``."""
        if mode == MODE_BILINEAR:
            sample_bilinear(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height,
                            width, top, left)
        elif mode == MODE_NEAREST:
            sample_nearest(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height,
                           width, top, left)
        else:
            sample_bicubic(inp, n, gx, gy, padding_mode, align_corners, out, h, w, height,
                           width, top, left)

    @jit
    def sample_pixel(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w):
        """Write ``out[n, :, h, w]`` from the input at grid point ``(gx, gy)``."""
        sample_pixel_framed(inp, n, gx, gy, mode, padding_mode, align_corners, out, h, w,
                            inp.shape[2], inp.shape[3], 0, 0)

    # ----------------------------------------------------------------- backward

    @jit
    def backward_bilinear(inp, grad_out, n, h, w, gx, gy, padding_mode, align_corners,
                          grad_inp, scale, height, width, top, left):
        x, gmx = source_index(gx, width, padding_mode, align_corners)
        y, gmy = source_index(gy, height, padding_mode, align_corners)
        x0f = math.floor(x)
        y0f = math.floor(y)
        tx = x - x0f
        ty = y - y0f
        x0 = int(x0f) - left
        y0 = int(y0f) - top
        x1 = x0 + 1
        y1 = y0 + 1
        rows = inp.shape[2]
        cols = inp.shape[3]
        inx0 = x0 >= 0 and x0 < cols
        inx1 = x1 >= 0 and x1 < cols
        iny0 = y0 >= 0 and y0 < rows
        iny1 = y1 >= 0 and y1 < rows
        gix = 0.0
        giy = 0.0
        for c in range(inp.shape[1]):
            go = grad_out[n, c, h, w] * 1.0
            if iny0 and inx0:
                scatter_add(grad_inp, scale, n, c, y0, x0, (1.0 - tx) * (1.0 - ty) * go)
                v = inp[n, c, y0, x0] * go
                gix -= v * (1.0 - ty)
                giy -= v * (1.0 - tx)
            if iny0 and inx1:
                scatter_add(grad_inp, scale, n, c, y0, x1, tx * (1.0 - ty) * go)
                v = inp[n, c, y0, x1] * go
                gix += v * (1.0 - ty)
                giy -= v * tx
            if iny1 and inx0:
                scatter_add(grad_inp, scale, n, c, y1, x0, (1.0 - tx) * ty * go)
                v = inp[n, c, y1, x0] * go
                gix -= v * ty
                giy += v * (1.0 - tx)
            if iny1 and inx1:
                scatter_add(grad_inp, scale, n, c, y1, x1, tx * ty * go)
                v = inp[n, c, y1, x1] * go
                gix += v * ty
                giy += v * tx
        return gix * gmx, giy * gmy

    @jit
    def backward_nearest(inp, grad_out, n, h, w, gx, gy, padding_mode, align_corners,
                         grad_inp, scale, height, width, top, left):
        x, _ = source_index(gx, width, padding_mode, align_corners)
        y, _ = source_index(gy, height, padding_mode, align_corners)
        xi = round_half_even(x) - left
        yi = round_half_even(y) - top
        if xi >= 0 and xi < inp.shape[3] and yi >= 0 and yi < inp.shape[2]:
            for c in range(inp.shape[1]):
                scatter_add(grad_inp, scale, n, c, yi, xi, grad_out[n, c, h, w] * 1.0)
        return 0.0, 0.0

    @jit
    def backward_bicubic(inp, grad_out, n, h, w, gx, gy, padding_mode, align_corners,
                         grad_inp, scale, height, width, top, left):
        x, gmx = unnormalize_safe(gx, width, align_corners)
        y, gmy = unnormalize_safe(gy, height, align_corners)
        xs, cx, dcx = bicubic_taps_framed(x, width, padding_mode, align_corners, left,
                                          inp.shape[3])
        ys, cy, dcy = bicubic_taps_framed(y, height, padding_mode, align_corners, top,
                                          inp.shape[2])
        gix = 0.0
        giy = 0.0
        for c in range(inp.shape[1]):
            go = grad_out[n, c, h, w] * 1.0
            for j in range(4):
                yi = ys[j]
                if yi < 0:
                    continue
                for i in range(4):
                    xi = xs[i]
                    if xi < 0:
                        continue
                    scatter_add(grad_inp, scale, n, c, yi, xi, cx[i] * cy[j] * go)
                    v = inp[n, c, yi, xi] * go
                    gix += v * dcx[i] * cy[j]
                    giy += v * cx[i] * dcy[j]
        return gix * gmx, giy * gmy

    @jit
    def backward_pixel_framed(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                              align_corners, grad_inp, scale, height, width, top, left):
        """Scatter ``grad_out[n, :, h, w]`` into ``grad_inp`` (shaped like ``inp``, the
        window from ``(top, left)`` of the ``height x width`` image); return the grid
        gradient, ``(d/dgx, d/dgy)`` in normalized coordinates."""
        if mode == MODE_BILINEAR:
            return backward_bilinear(inp, grad_out, n, h, w, gx, gy, padding_mode,
                                     align_corners, grad_inp, scale, height, width, top, left)
        if mode == MODE_NEAREST:
            return backward_nearest(inp, grad_out, n, h, w, gx, gy, padding_mode,
                                    align_corners, grad_inp, scale, height, width, top, left)
        return backward_bicubic(inp, grad_out, n, h, w, gx, gy, padding_mode,
                                align_corners, grad_inp, scale, height, width, top, left)

    @jit
    def backward_pixel(inp, grad_out, n, h, w, gx, gy, mode, padding_mode, align_corners,
                       grad_inp, scale):
        """Scatter ``grad_out[n, :, h, w]`` into ``grad_inp``; return the grid gradient.

        Returns ``(d/dgx, d/dgy)`` in normalized coordinates.
        """
        return backward_pixel_framed(inp, grad_out, n, h, w, gx, gy, mode, padding_mode,
                                     align_corners, grad_inp, scale, inp.shape[2],
                                     inp.shape[3], 0, 0)

    return SimpleNamespace(
        unnormalize=unnormalize,
        unnormalize_scale=unnormalize_scale,
        unnormalize_safe=unnormalize_safe,
        pad_coordinate=pad_coordinate,
        source_index=source_index,
        round_half_even=round_half_even,
        tap_index=tap_index,
        tap_index_framed=tap_index_framed,
        window_index=window_index,
        bicubic_taps=bicubic_taps,
        bicubic_taps_framed=bicubic_taps_framed,
        cubic_coefficients=cubic_coefficients,
        cubic_coefficients_grad=cubic_coefficients_grad,
        sample_pixel=sample_pixel,
        sample_pixel_framed=sample_pixel_framed,
        backward_pixel=backward_pixel,
        backward_pixel_framed=backward_pixel_framed,
    )
