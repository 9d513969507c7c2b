"""Hypothesis fuzzers for every public array function, run in a child process.

A segfault or an abort in a kernel kills the child, not pytest: the test
then fails with the child's exit code and faulthandler's traceback.  The
short profile runs by default (CI); ``WARPKIT_FUZZ=long`` runs thousands of
examples per function.
"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("fuzzers", [("fuzz_grid_sample",), ("fuzz_fused_warps", "fuzz_grids")])
def test_fuzz_batch_in_a_child_process(fuzzers):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    timeout = 3600 if os.environ.get("WARPKIT_FUZZ") == "long" else 300
    child = subprocess.run(
        [sys.executable, "-X", "faulthandler", os.path.join(HERE, "fuzz_child.py"), *fuzzers],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    report = child.stdout + child.stderr[-4000:]
    assert child.returncode == 0, f"fuzz child exited with {child.returncode}:\n{report}"
    for name in fuzzers:
        assert f"{name}: ok" in child.stdout, report
