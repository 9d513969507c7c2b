"""One training step of the ST-CNN: warpkit (autograd + fused warp) against PyTorch.

The step itself (the same network, batch and Adam update on both sides) is
written in ``benchmarks/bench_training.py``; this module registers it in the
suite, with the transformer's warp forward+backward alone as a third
contender, so that the sampler's share of the step can be read off.  When that
file or ``warpkit.nn`` is not there, the benchmark is skipped with a line
saying so.
"""

import importlib

from .anchors import optional
from .core import Case, Contender, Skip, register

#: Digits are 28x28; the batch is the workload's N (64, or a few in quick mode).
SIZE = 28


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


def _training_step(work):
    module = _load()
    for name in ("warpkit_step", "torch_step", "sampler_step"):
        if not hasattr(module, name):
            raise Skip(f"benchmarks.bench_training has no {name}()")
    batch = work.n
    step, model, state = module.warpkit_step(batch, SIZE)
    contenders = {
        "warpkit": Contender(step, primary=True,
                             note="value_and_grad + Adam, warpkit.nn st-cnn (affine)"),
    }
    notes = []
    if optional("torch") is not None:
        contenders["torch"] = Contender(module.torch_step(batch, SIZE), memory="rss",
                                        primary=True, note="same net, Adam, CPU")
    else:
        notes.append("torch: skipped, not installed")
    contenders["warpkit sampler only"] = Contender(
        module.sampler_step(model, state, batch, SIZE), primary=True,
        note="the transformer's warp forward + backward on the step's shapes")
    return Case("training.st_cnn_step", work.key, contenders, batch * SIZE * SIZE, notes,
                extra={"size": f"N={batch} C=1 {SIZE}² digits"})


register("training.st_cnn_step", "training", ("n64c1-28",),
         doc=f"one ST-CNN training step on {SIZE}×{SIZE} digits (forward, backward, Adam)")(
    _training_step)
