"""Fuzz batch run in a child process by test_hardening_fuzz.py (a crash fails the test).

Draws arbitrary shapes, dtypes, layouts and values for every public array
function; each call must return a correctly shaped array or raise
ValueError/TypeError/MemoryError.  Valid float64 calls are also compared
with the C-contiguous call.
"""

import sys
import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import warpkit
from hardening_profiles import FUZZ
from warpkit._validate import MODES, PADDING_MODES
from warpkit.tps import TpsConditionWarning
from warpkit.fused import warp_affine_vjp

DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int32, np.bool_,
                          np.complex64])
VALUES = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from(
    [0.0, 1.0, -1.0, 1e30, -1e30, 0.5])
OPTIONS = st.fixed_dictionaries({
    "mode": st.sampled_from([*MODES, "cubic"]),  # and a mode that does not exist
    "padding_mode": st.sampled_from(list(PADDING_MODES)),
    "align_corners": st.sampled_from([False, True]),
})


@st.composite
def arrays(draw, shape):
    dtype = draw(DTYPES)
    array = draw(hnp.arrays(np.float64, shape, elements=VALUES))
    with np.errstate(all="ignore"):
        array = array.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "reversed", "readonly"]))
    if layout == "F":
        array = np.asfortranarray(array)
    elif layout == "reversed" and array.ndim:
        array = np.flip(np.flip(array, 0).copy(), 0)
    elif layout == "readonly":
        array.flags.writeable = False
    return array


def small(lo=0, hi=4):
    return st.integers(lo, hi)


@st.composite
def shape_like(draw, base):
    """``base`` with, sometimes, one axis changed, dropped or added."""
    shape = list(base)
    change = draw(st.sampled_from(["keep"] * 6 + ["resize", "drop", "add"]))
    if change == "resize" and shape:
        shape[draw(st.integers(0, len(shape) - 1))] = draw(small())
    elif change == "drop" and shape:
        shape.pop()
    elif change == "add":
        shape.append(draw(small(1, 3)))
    return tuple(shape)


#: Words of Python's own errors for a call that does not fit the signature: the
#: fuzzer's mistake, not a rejected input, so they must not pass as one.
SIGNATURE_ERRORS = ("positional argument", "keyword argument", "multiple values for argument")


def checked(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TpsConditionWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return function(*args, **kwargs)
        except (ValueError, TypeError, MemoryError) as error:
            assert str(error), "an error without a message"
            assert not any(words in str(error) for words in SIGNATURE_ERRORS), \
                f"the fuzzer called {function.__name__} wrongly: {error}"
            return None


@FUZZ
@given(st.data())
def fuzz_grid_sample(data):
    n, c, h, w, ho, wo = (data.draw(small()) for _ in range(6))
    image = data.draw(arrays(data.draw(shape_like((n, c, h + 1, w + 1)))))
    grid = data.draw(arrays(data.draw(shape_like((n, ho, wo, 2)))))
    options = data.draw(OPTIONS)
    out = checked(warpkit.grid_sample, image, grid, **options)
    if out is not None:
        assert out.shape == image.shape[:2] + grid.shape[1:3]
        grads = checked(warpkit.grid_sample_vjp, image, grid, np.ones(out.shape, out.dtype),
                        **options)
        assert grads is not None and grads[0].shape == image.shape
        if image.dtype == np.float64 and grid.dtype == np.float64:
            np.testing.assert_array_equal(out, warpkit.grid_sample(
                np.ascontiguousarray(image), np.ascontiguousarray(grid), **options))


@FUZZ
@given(st.data())
def fuzz_fused_warps(data):
    n, c, h, w = (data.draw(small()) for _ in range(4))
    image = data.draw(arrays(data.draw(shape_like((n, c, h + 1, w + 1)))))
    options = data.draw(OPTIONS)
    size = data.draw(st.none() | st.tuples(small(), small()))
    kind = data.draw(st.sampled_from(["affine", "perspective", "tps"]))
    if kind == "affine":
        theta = data.draw(arrays(data.draw(shape_like((n, 2, 3)))))
        out = checked(warpkit.warp_affine, image, theta, size, **options)
        if out is not None:
            grads = checked(warp_affine_vjp, image, theta, np.ones(out.shape, out.dtype),
                            size, **options)
            assert grads is not None and grads[1].shape == theta.shape
    elif kind == "perspective":
        hom = data.draw(arrays(data.draw(shape_like((n, 3, 3)))))
        out = checked(warpkit.warp_perspective, image, hom, size, **options)
    else:
        k = data.draw(st.integers(1, 5))
        controls = data.draw(arrays(data.draw(shape_like((k, 2)))))
        targets = data.draw(arrays(data.draw(shape_like((n, k, 2)))))
        out = checked(warpkit.warp_tps, image, controls, targets, size, **options)
    if out is not None:
        expected = image.shape[2:] if size is None else size
        assert out.shape == image.shape[:2] + tuple(expected)


@FUZZ
@given(st.data())
def fuzz_grids(data):
    n, h, w = (data.draw(small()) for _ in range(3))
    size = data.draw(st.tuples(small(), small(), small(), small()) | st.just((n, 1, h, w)))
    theta = data.draw(arrays(data.draw(shape_like((n, 2, 3)))))
    hom = data.draw(arrays(data.draw(shape_like((n, 3, 3)))))
    align = data.draw(st.sampled_from([False, True]))
    for function, params in ((warpkit.affine_grid, theta), (warpkit.perspective_grid, hom)):
        grid = checked(function, params, size, align_corners=align)
        if grid is not None:
            assert grid.shape == (size[0], size[2], size[3], 2)


if __name__ == "__main__":
    failures = 0
    for name in sys.argv[1:]:
        try:
            globals()[name]()
            print(f"{name}: ok", flush=True)
        except Exception as error:  # report every fuzzer, then fail
            failures += 1
            print(f"{name}: FAILED {type(error).__name__}: {error}", flush=True)
    sys.exit(1 if failures else 0)
