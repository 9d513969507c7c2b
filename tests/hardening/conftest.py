"""Shared fixtures of the hardening tests (bad input, fuzzing, threads, cache, limits)."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code, env=None, timeout=300, cwd=None, **kwargs):
    """Run ``code`` in a fresh Python process; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    for key, value in list(full_env.items()):
        if value is None:
            del full_env[key]
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], env=full_env,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO,
                          **kwargs)


@pytest.fixture
def python_child():
    return run_python
