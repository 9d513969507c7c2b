"""Test-session setup shared by ``tests/`` and the doctests in ``warpkit/``.

The CUDA tests and the GPU examples in the docstrings run on Numba's CUDA
simulator unless ``NUMBA_ENABLE_CUDASIM`` says otherwise (set it to 0 on a
machine with a GPU to test the real device).  This must happen before
anything imports ``numba.cuda``; warpkit itself imports it only for device
arrays.
"""

import os
import sys

if "numba.cuda" not in sys.modules and "NUMBA_ENABLE_CUDASIM" not in os.environ:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    import numba.core.config

    numba.core.config.reload_config()
