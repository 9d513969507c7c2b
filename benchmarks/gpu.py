"""The GPU part of the report: ``benchmarks/gpu_check.py`` run in a subprocess, if a GPU is here.

The CUDA kernels are checked and timed by ``gpu_check.py`` (against PyTorch
CUDA); the suite only runs it when ``numba.cuda`` sees a GPU and copies its
output into the report.  Without a GPU the section says so.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def gpu_available():
    """Whether numba-cuda sees a GPU (asked in a subprocess, so this process stays CPU-only)."""
    try:
        completed = subprocess.run(
            [sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
            capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and completed.stdout.strip().endswith("True")


def measure(quick=False):
    """``{"available": bool, "output": str, "returncode": int}`` (quick mode: never runs it)."""
    script = os.path.join(HERE, "gpu_check.py")
    if not os.path.exists(script):
        return {"available": False, "output": "benchmarks/gpu_check.py does not exist yet"}
    if quick or not gpu_available():
        return {"available": False,
                "output": "no CUDA GPU here: the CUDA kernels are checked only under the "
                          "simulator (tests/); run `python benchmarks/gpu_check.py` on a GPU"}
    completed = subprocess.run([sys.executable, script], capture_output=True, text=True,
                               timeout=1200, cwd=os.path.dirname(HERE))
    return {"available": True, "returncode": completed.returncode,
            "output": completed.stdout[-20000:] + completed.stderr[-4000:]}
