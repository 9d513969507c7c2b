"""Training steps: warpkit (autograd + fused warp + Numba conv/pool kernels) against PyTorch.

The steps themselves (the same network, batch and Adam update on both sides)
are written in ``benchmarks/bench_training.py``; this module registers them in
the suite: the ST-CNN on 28x28 digits and, for the cluttered-digit runs, on
60x60 canvases with the transformer's output pooled 2x.  The transformer's
warp forward+backward alone is a third contender, so that the sampler's share
of the step can be read off.  When that file or ``warpkit.nn`` is not there,
the benchmark is skipped with a line saying so.
"""

import importlib

from .anchors import optional
from .core import Case, Contender, Skip, register

#: Digits are 28x28; the batch is the workload's N (64, or a few in quick mode).
SIZE = 28
#: Cluttered digits: 60x60 canvases, the transformer's output max-pooled 2x.
CLUTTERED_SIZE, CLUTTERED_POOL = 60, 2


def _load():
    try:
        importlib.import_module("warpkit.nn")
    except ImportError:
        raise Skip("warpkit.nn does not exist yet") from None
    try:
        return importlib.import_module("benchmarks.bench_training")
    except ImportError as error:
        if "bench_training" in str(error):
            raise Skip("benchmarks/bench_training.py does not exist yet") from None
        raise


def _st_cnn_case(name, work, size, st_pool):
    module = _load()
    for function in ("warpkit_step", "torch_step", "sampler_step"):
        if not hasattr(module, function):
            raise Skip(f"benchmarks.bench_training has no {function}()")
    batch = work.n
    options = {"st_pool": st_pool} if st_pool > 1 else {}
    step, model, state = module.warpkit_step(batch, size, **options)
    pooled = f", output pooled {st_pool}x" if st_pool > 1 else ""
    contenders = {
        "warpkit": Contender(step, primary=True,
                             note=f"value_and_grad + Adam, warpkit.nn st-cnn (affine{pooled})"),
    }
    notes = []
    if optional("torch") is not None:
        contenders["torch"] = Contender(module.torch_step(batch, size, **options), memory="rss",
                                        primary=True, note="same net, Adam, CPU")
    else:
        notes.append("torch: skipped, not installed")
    contenders["warpkit sampler only"] = Contender(
        module.sampler_step(model, state, batch, size), primary=True,
        note="the transformer's warp forward + backward on the step's shapes")
    return Case(name, work.key, contenders, batch * size * size, notes,
                extra={"size": f"N={batch} C=1 {size}²{pooled}"})


@register("training.st_cnn_step", "training", ("n64c1-28",),
          doc=f"one ST-CNN training step on {SIZE}×{SIZE} digits (forward, backward, Adam)")
def _training_step(work):
    return _st_cnn_case("training.st_cnn_step", work, SIZE, 1)


@register("training.st_cnn_step_cluttered", "training", ("n64c1-28",),
          doc=f"one ST-CNN training step on {CLUTTERED_SIZE}×{CLUTTERED_SIZE} cluttered digits, "
              f"the transformer's output pooled {CLUTTERED_POOL}x (the workload's batch)")
def _cluttered_training_step(work):
    return _st_cnn_case("training.st_cnn_step_cluttered", work, CLUTTERED_SIZE, CLUTTERED_POOL)
