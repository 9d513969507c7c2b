"""Numba kernels: arithmetic only (no validation, no autograd, no allocation policy)."""
