"""warpkit's benchmark suite: warpkit side by side with PyTorch, OpenCV, SciPy and Kornia.

Run it with ``python -m benchmarks`` (``--help`` lists the options).  Every
operation is a small registered benchmark (see :mod:`benchmarks.core`); the
modules ``bench_sampler``, ``cases_warps``, ``cases_grids`` and
``cases_training`` register them, ``compile_times`` and ``scaling`` measure
compile time and scaling curves, and ``report`` writes the Markdown report and
the plots to the results folder.
"""
