"""Fixtures shared by the whole test suite.

The sampling options come from warpkit's own tables
(:data:`warpkit._validate.MODES` and :data:`warpkit._validate.PADDING_MODES`),
so a mode or padding added there is tested everywhere without editing a list.
A test that takes an argument named ``mode``, ``padding_mode`` or
``align_corners`` runs once per value (an explicit
``@pytest.mark.parametrize`` of the same name takes precedence, for tests
that need a subset).  Modules that need the names themselves (Hypothesis
strategies, loops) import the tables from :mod:`warpkit._validate`: a test
module cannot import this file reliably (every ``conftest.py`` outside a
package is the module ``conftest``).
"""

import sys

import pytest

# The CUDA simulator is switched on by the repository's root conftest.py.
from warpkit._validate import MODES, PADDING_MODES


@pytest.fixture(params=tuple(MODES))
def mode(request):
    """Every sampling mode."""
    return request.param


@pytest.fixture(params=tuple(PADDING_MODES))
def padding_mode(request):
    """Every padding mode."""
    return request.param


@pytest.fixture(params=(False, True), ids=("align_corners=False", "align_corners=True"))
def align_corners(request):
    """Both conventions of the pixel grid."""
    return request.param


# ------------------------------------------------------------------ CUDA


@pytest.fixture
def cuda_available():
    """Skip unless the CUDA simulator is on or a GPU is present."""
    cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
    import numba.core.config

    if not numba.core.config.ENABLE_CUDASIM and not cuda.is_available():
        pytest.skip("no GPU and numba.cuda was imported before the simulator could be enabled "
                    "(set NUMBA_ENABLE_CUDASIM=1)")


@pytest.fixture
def small_launches(monkeypatch):
    """Tiny CUDA blocks and grids: several blocks, and grid-stride loops that wrap."""
    from warpkit import _config
    from warpkit.backends import cuda as backend
    from warpkit.kernels import cuda as kernels

    monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", 32)
    monkeypatch.setattr(kernels, "MAX_GRID", (2, 2, 1))
    monkeypatch.setattr(backend, "MAX_REDUCTION_BLOCKS", 2)
    monkeypatch.setattr(backend, "SPLINE_MAX_BLOCKS", 3)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # the simulator's barriers hand over between threads
    yield
    sys.setswitchinterval(interval)
