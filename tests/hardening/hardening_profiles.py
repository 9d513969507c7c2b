"""Hypothesis settings of the hardening fuzzers, kept local to this folder.

Two profiles: ``hardening-short`` (the default, for CI: a few dozen examples
per function) and ``hardening-long`` (``WARPKIT_FUZZ=long``: thousands, for a
local run).  They are used as decorators (``@FUZZ``), never loaded globally,
so other test folders keep their own hypothesis settings.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                      HealthCheck.data_too_large])
settings.register_profile("hardening-short", max_examples=40, **_COMMON)
settings.register_profile("hardening-long", max_examples=2000, **_COMMON)

PROFILE = "hardening-long" if os.environ.get("WARPKIT_FUZZ") == "long" else "hardening-short"
FUZZ = settings.get_profile(PROFILE)
