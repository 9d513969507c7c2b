"""The hardening tests: bad input, fuzzing, threads and processes, the JIT cache, limits.

Hypothesis settings live in hardening_profiles.py and are applied per test
(never loaded globally), so other folders keep their own settings.
"""
