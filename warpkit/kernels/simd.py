"""Explicit vector gathers for the CPU kernels.

LLVM's x86 cost model avoids gather instructions on most current CPUs, so a
plain Numba loop that reads ``src[offsets[i]]`` stays scalar however it is
written.  :func:`gather` reads a whole block of taps with explicit
``llvm.masked.gather`` calls instead (``vgatherqps``/``vgatherqpd`` on
AVX-512 and AVX2), one vector of lanes at a time, and finishes the block's
unaligned tail with scalar loads.

The vector width is a compile-time argument, ``bits``: 512 or 256 for the
vector path, 0 for the scalar path (plain loads, two adjacent taps at a time
with :func:`load_pair`).  Both paths give bit-identical results -- a gather
moves values, it computes nothing -- so the scalar path is the reference the
vector path is tested against, and the fallback on hosts without AVX2.
:data:`HOST_VECTOR_BITS` is what this host supports,
:data:`KERNEL_VECTOR_BITS` what the kernels use (:func:`kernel_vector_bits`:
measured, gathers are not always the faster choice).

A negative offset marks a tap that reads nothing: that lane is masked off,
never read, and gives 0.
"""

import os

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .._config import CPU_DEVICE_JIT_OPTIONS, CPU_JIT_OPTIONS


def host_vector_bits():
    """Widest vector gather this host runs natively: 512, 256 or 0 (none)."""
    from llvmlite import binding

    features = binding.get_host_cpu_features()
    return 512 if features.get("avx512f") else 256 if features.get("avx2") else 0


def kernel_vector_bits():
    """The gather width the kernels use: 512, 256, or 0 for scalar (pair) loads.

    Explicit vector gathers where the CPU's gathers are fast; scalar loads
    on AMD Zen, whose gathers are microcoded: there, measured on Zen 4, the
    scalar path with pair loads ran bilinear sampling 1.2-1.5x faster than
    512-bit gathers.  ``WARPKIT_SIMD=0``, ``256`` or ``512`` in the
    environment chooses instead (capped at what the host runs).
    """
    from llvmlite import binding

    bits = host_vector_bits()
    choice = os.environ.get("WARPKIT_SIMD")
    if choice is None:
        return 0 if binding.get_host_cpu_name().startswith("znver") else bits
    try:
        wanted = int(choice)
    except ValueError:
        wanted = -1
    if wanted not in (0, 256, 512):
        raise ValueError(f"WARPKIT_SIMD must be 0, 256 or 512, got {choice!r}")
    return min(wanted, bits)


#: Widest gather this host runs natively (512, 256 or 0).
HOST_VECTOR_BITS = host_vector_bits()

#: The gather width warpkit's kernels use here (:func:`kernel_vector_bits`).
KERNEL_VECTOR_BITS = kernel_vector_bits()


def like(ref, value):
    """``value`` converted to the dtype of ``ref`` (an array or a scalar), in kernels.

    Numba types a Python float literal as float64, which would silently
    promote float32 arithmetic; ``like(x, 0.5)`` keeps it in ``x``'s dtype.
    """
    return np.asarray(ref).dtype.type(value)


@overload(like, inline="always")
def _like_overload(ref, value):
    target = ref.dtype if isinstance(ref, types.Array) else ref

    def impl(ref, value):
        return target(value)

    return impl


def _vector_gather(lanes):
    """An intrinsic ``gather_lanes(src, offsets, start, dst)`` for ``lanes`` lanes."""

    @intrinsic
    def gather_lanes(typingctx, src, offsets, start, dst):
        signature = types.void(src, offsets, start, dst)

        def codegen(context, builder, sig, args):
            src_t, offsets_t, _, dst_t = sig.args
            src_a = context.make_array(src_t)(context, builder, args[0])
            offsets_a = context.make_array(offsets_t)(context, builder, args[1])
            dst_a = context.make_array(dst_t)(context, builder, args[3])
            start_v = args[2]
            value_t = context.get_value_type(src_t.dtype)
            itemsize = context.get_abi_sizeof(value_t)
            i32, i64 = ir.IntType(32), ir.IntType(64)

            def lanes_of(array, element_t):
                pointer = builder.gep(array.data, [start_v])
                vector_t = ir.VectorType(element_t, lanes)
                return builder.load(builder.bitcast(pointer, vector_t.as_pointer()), align=1)

            offsets_v = lanes_of(offsets_a, context.get_value_type(offsets_t.dtype))
            active = builder.icmp_signed(">=", offsets_v, ir.Constant(offsets_v.type, None))
            pointers_t = ir.VectorType(src_a.data.type, lanes)
            if offsets_v.type.element.width == 32:
                # A vector GEP: the backend's base + 32-bit index form (vgatherdps).
                # llvmlite types the GEP as scalar; its IR text is the vector form.
                pointers = builder.gep(src_a.data, [offsets_v], source_etype=value_t)
                pointers.type = pointers_t
            else:
                # Addresses as integers, for 64-bit offsets.
                wide_t = ir.VectorType(i64, lanes)
                base = builder.insert_element(ir.Constant(wide_t, ir.Undefined),
                                              builder.ptrtoint(src_a.data, i64),
                                              ir.Constant(i32, 0))
                base = builder.shuffle_vector(base, ir.Constant(wide_t, ir.Undefined),
                                              ir.Constant(ir.VectorType(i32, lanes), None))
                byte_offsets = builder.mul(offsets_v, ir.Constant(wide_t, [itemsize] * lanes))
                pointers = builder.inttoptr(builder.add(base, byte_offsets), pointers_t)
            vector_t = ir.VectorType(value_t, lanes)
            name = f"llvm.masked.gather.v{lanes}f{8 * itemsize}.v{lanes}p0"
            function = builder.module.globals.get(name)
            if function is None:
                function = ir.Function(builder.module, ir.FunctionType(
                    vector_t, [pointers.type, i32, active.type, vector_t]), name=name)
            values = builder.call(function, [pointers, ir.Constant(i32, itemsize), active,
                                             ir.Constant(vector_t, None)])
            destination = builder.gep(dst_a.data, [start_v])
            builder.store(values, builder.bitcast(destination, vector_t.as_pointer()), align=1)
            return context.get_dummy_value()

        return signature, codegen

    return gather_lanes


_gather_4 = _vector_gather(4)
_gather_8 = _vector_gather(8)
_gather_16 = _vector_gather(16)


def gather(bits, src, offsets, count, dst):
    """``dst[i] = src[offsets[i]] if offsets[i] >= 0 else 0`` for ``i < count``.

    Parameters
    ----------
    bits : int
        Vector width, a compile-time constant in the calling kernel: 512,
        256, or 0 for scalar loads.
    src : 1-D C-contiguous float array
    offsets : 1-D C-contiguous int32 or int64 array
        Element offsets into ``src``, each inside it or negative (read nothing).
    count : int
        Number of lanes, at most the length of ``offsets`` and ``dst``.
    dst : 1-D C-contiguous array of ``src``'s dtype
    """
    zero = np.zeros(1, dst.dtype)[0]
    for i in range(count):
        dst[i] = src[offsets[i]] if offsets[i] >= 0 else zero


@overload(gather, prefer_literal=True, jit_options=CPU_DEVICE_JIT_OPTIONS)
def _gather_overload(bits, src, offsets, count, dst):
    # Typed with ``bits`` a literal: only the loop of this width and dtype is
    # compiled (a kernel compiles several gathers; each is inlined).
    if not isinstance(bits, types.IntegerLiteral):
        return None
    lanes = bits.literal_value // (8 * src.dtype.bitwidth // 8) if bits.literal_value else 0
    vector = {16: _gather_16, 8: _gather_8, 4: _gather_4}.get(lanes)

    if vector is None:
        def impl(bits, src, offsets, count, dst):
            zero = like(dst, 0.0)
            for i in range(count):
                dst[i] = src[offsets[i]] if offsets[i] >= 0 else zero
        return impl

    def impl(bits, src, offsets, count, dst):
        start = 0
        while start + lanes <= count:
            vector(src, offsets, start, dst)
            start += lanes
        zero = like(dst, 0.0)
        for i in range(start, count):
            dst[i] = src[offsets[i]] if offsets[i] >= 0 else zero
    return impl


def muladd(a, b, c):
    """``a * b + c``, fused into one rounding where the host has FMA (in kernels).

    LLVM's ``fmuladd``: the choice C compilers make when they contract
    ``a * b + c``, as PyTorch's CPU kernels are compiled.  On an FMA host
    the result is rounded once; elsewhere it is a multiply and an add.
    """
    return a * b + c


@intrinsic
def _fmuladd(typingctx, a, b, c):
    if not (isinstance(a, types.Float) and a == b == c):
        return None
    signature = a(a, b, c)

    def codegen(context, builder, sig, args):
        value_t = context.get_value_type(sig.return_type)
        name = "llvm.fmuladd.f32" if isinstance(value_t, ir.FloatType) else "llvm.fmuladd.f64"
        function = builder.module.globals.get(name)
        if function is None:
            function = ir.Function(builder.module, ir.FunctionType(value_t, [value_t] * 3),
                                   name=name)
        return builder.call(function, args)

    return signature, codegen


@overload(muladd, inline="always")
def _muladd_overload(a, b, c):
    def impl(a, b, c):
        return _fmuladd(a, b, c)

    return impl


def gather_kernel(bits, src, offsets, count, dst):
    """:func:`gather` as a kernel of its own (for tests): ``bits`` 512, 256 or 0."""
    _gather_kernels[bits](src, offsets, count, dst)


def _gather_kernel(bits):
    @numba.njit(**CPU_JIT_OPTIONS)
    def kernel(src, offsets, count, dst):
        gather(bits, src, offsets, count, dst)

    return kernel


_gather_kernels = {bits: _gather_kernel(bits) for bits in (0, 256, 512)}


@intrinsic
def _load_pair(typingctx, src, offset):
    """``(src[offset], src[offset + 1])`` in one (unaligned) vector load."""
    value_t = src.dtype
    signature = types.UniTuple(value_t, 2)(src, offset)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        element_t = context.get_value_type(value_t)
        pair_t = ir.VectorType(element_t, 2)
        pointer = builder.bitcast(builder.gep(array.data, [args[1]]), pair_t.as_pointer())
        pair = builder.load(pointer, align=context.get_abi_sizeof(element_t))
        i32 = ir.IntType(32)
        first = builder.extract_element(pair, ir.Constant(i32, 0))
        second = builder.extract_element(pair, ir.Constant(i32, 1))
        return context.make_tuple(builder, sig.return_type, (first, second))

    return signature, codegen


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def load_pair(src, left, right):
    """``(src[left], src[right])`` for horizontally adjacent taps (``right = left + 1``).

    A negative offset reads 0.  Where both taps read the image -- every
    pixel but those on the image's left and right edges -- one load reads
    both, which halves the loads of bilinear sampling.
    """
    if left >= 0 and right >= 0:
        return _load_pair(src, left)
    zero = like(src, 0.0)
    return (src[left] if left >= 0 else zero), (src[right] if right >= 0 else zero)


@intrinsic
def _add_pair(typingctx, dst, offset, first, second):
    """``dst[offset] += first; dst[offset + 1] += second`` in one vector load and store."""
    signature = types.void(dst, offset, first, second)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        element_t = context.get_value_type(sig.args[0].dtype)
        pair_t = ir.VectorType(element_t, 2)
        pointer = builder.bitcast(builder.gep(array.data, [args[1]]), pair_t.as_pointer())
        align = context.get_abi_sizeof(element_t)
        i32 = ir.IntType(32)
        addend = builder.insert_element(ir.Constant(pair_t, ir.Undefined),
                                        context.cast(builder, args[2], sig.args[2],
                                                     sig.args[0].dtype), ir.Constant(i32, 0))
        addend = builder.insert_element(addend, context.cast(builder, args[3], sig.args[3],
                                                             sig.args[0].dtype),
                                        ir.Constant(i32, 1))
        builder.store(builder.fadd(builder.load(pointer, align=align), addend), pointer,
                      align=align)
        return context.get_dummy_value()

    return signature, codegen


@numba.njit(**CPU_DEVICE_JIT_OPTIONS)
def add_pair(dst, left, right, first, second, band_start, band_end):
    """``dst[left] += first; dst[right] += second`` for the offsets in
    ``[band_start, band_end)`` (``right = left + 1`` where both are; others are
    skipped): one load and one store where both are in the band."""
    left_in = band_start <= left < band_end
    right_in = band_start <= right < band_end
    if left_in and right_in:
        _add_pair(dst, left, first, second)
    elif left_in:
        dst[left] += first
    elif right_in:
        dst[right] += second
