"""The one place for JIT options and launch parameters.

Every CPU kernel's ``numba.njit`` takes its options from here, so that a
reader (and a test) can see at a glance how kernels are compiled.  The CUDA
kernels use numba-cuda's ``cuda.jit`` with its defaults (no fast-math
either); their block size is :data:`CUDA_BLOCK_SIZE` here.

* No ``fastmath``: the kernels must handle NaN and Inf coordinates, and the
  fast-math flags let LLVM assume neither exists.
* ``cache=True``: compiled kernels are written to Numba's on-disk cache, so a
  second process skips compilation.
* ``error_model="numpy"``: division by zero gives Inf/NaN instead of raising,
  which keeps the division-free fast paths branch-free.
"""

#: Options for serial CPU kernels and scalar helpers compiled for the CPU.
CPU_JIT_OPTIONS = {"nogil": True, "cache": True, "error_model": "numpy"}

#: Options for the per-pixel functions called by CPU kernels.  ``forceinline``
#: makes LLVM inline them into the kernel loops (left as calls, every call
#: would pass whole arrays and touch their reference counts).  They are not
#: cached on their own: they are compiled into (and cached with) their callers.
CPU_DEVICE_JIT_OPTIONS = {"nogil": True, "error_model": "numpy", "forceinline": True}

#: Threads per block for the CUDA kernels (grid-stride loops fill the rest).
CUDA_BLOCK_SIZE = 256

#: Problems with fewer output elements (N * C * Ho * Wo) than this run on one
#: thread: handing chunks to the pool costs more than it saves there (measured
#: on a 2-core VM: about 80 us per hand-off; a 64 x 1 x 28 x 28 forward took
#: as long on two threads as on one, a 256 x 1 x 28 x 28 one 1.4x less).
SERIAL_WORK_LIMIT = 1 << 17
