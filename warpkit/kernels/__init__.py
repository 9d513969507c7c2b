"""Numba kernels: arithmetic only (no validation, no autograd, no allocation policy)."""

from .._cache import install_cache_locators

install_cache_locators()
