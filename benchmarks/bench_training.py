"""One ST-CNN (or CNN) training step: warpkit (autograd + Numba kernels) against PyTorch, CPU.

Both sides run the same network (``warpkit.nn.make_model(model, (1, size,
size), st_pool=...)``: for ``st-cnn`` a CNN localization net on the 2x
max-pooled input -> affine transformer -> (2x max pool with ``st_pool=2``)
-> conv 5x5x16 -> pool -> conv 5x5x32 -> pool -> dense 64 -> 10; ``cnn`` is
the classifier alone), the same batch, the same Adam update, in the same
process with the same thread count.  The figure of merit is the ratio of
median step times (forward, backward and update), timed in interleaved
rounds after warm-up; the first warpkit step (JIT compilation or loading
from Numba's disk cache, plus one step) is reported apart.  The sampler's
share of the warpkit step is the time of the transformer's warp forward plus
its backward (measured alone on the step's shapes) over the step time.

The default cases are the digits (st-cnn at 28x28 and 42x42) and the
cluttered digits (60x60: st-cnn with ``st_pool=2`` and the plain cnn).

Run::

    python benchmarks/bench_training.py      # the four default cases, batch 64, 1 thread
    python benchmarks/bench_training.py --size 42 --threads 2 --repeat 30
    python benchmarks/bench_training.py --model cnn --size 60
    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/bench_training.py --size 28  # cold compile
"""

import argparse
import os
import sys
import time

import numpy as np

__all__ = ["DEFAULT_CASES", "warpkit_step", "torch_step", "sampler_step", "measure", "main"]

#: (model, input side, st_pool) of the default run: digits and cluttered digits.
DEFAULT_CASES = (("st-cnn", 28, 1), ("st-cnn", 42, 1), ("st-cnn", 60, 2), ("cnn", 60, 1))


def _batch(batch, size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


def warpkit_step(batch=64, size=28, transform="affine", seed=0, model="st-cnn", st_pool=1):
    """A closure running one warpkit training step (value_and_grad + Adam update).

    Returns ``(step, model, state)``: ``state[0]`` holds the parameters.
    """
    from autograd import value_and_grad

    from warpkit import nn

    options = {"transform": transform, "st_pool": st_pool} if model.startswith("st-") else {}
    net = nn.make_model(model, (1, size, size), **options)
    params = net.init(np.random.default_rng(seed))
    if "st" in params:  # a non-identity transformer, as after some training
        rng = np.random.default_rng(seed + 1)
        params["st"]["out"]["w"] = rng.normal(scale=0.01, size=params["st"]["out"]["w"].shape
                                              ).astype(np.float32)
    optimizer = nn.Adam(1e-3)
    state = [params, optimizer.init(params)]
    x, y = _batch(batch, size, seed)
    loss_and_grad = value_and_grad(
        lambda p: nn.softmax_cross_entropy(net.apply(p, x, None), y))

    def step():
        loss, grads = loss_and_grad(state[0])
        state[0], state[1] = optimizer.update(state[0], grads, state[1])
        return loss

    return step, net, state


def sampler_step(model, state, batch=64, size=28, seed=0):
    """A closure running only the transformer's warp forward and backward on the step's shapes."""
    from autograd import make_vjp

    x, _ = _batch(batch, size, seed)
    theta = np.asarray(model.transformer.transform_params(state[0]["st"], x))
    warp_both = make_vjp(lambda xt: model.transformer.warp(xt[0], xt[1]))

    def step():
        vjp, out = warp_both((x, theta))
        return vjp(np.ones_like(out))

    return step


def _torch_localization(tnn, size):
    """The localization net of warpkit's st-cnn (pool the input from 20, the map from 10)."""
    layers, side = [], size
    if side >= 20:
        layers.append(tnn.MaxPool2d(2))
        side //= 2
    layers += [tnn.Conv2d(1, 20, 5), tnn.ReLU()]
    side -= 4
    if side >= 10:
        layers.append(tnn.MaxPool2d(2))
        side //= 2
    layers += [tnn.Conv2d(20, 20, 5), tnn.ReLU(), tnn.Flatten()]
    side -= 4
    layers += [tnn.Linear(20 * side * side, 20), tnn.ReLU()]
    return tnn.Sequential(*layers)


def _torch_classifier(tnn, side):
    """warpkit's cnn classifier on ``side x side`` images."""
    c = ((side - 4) // 2 - 4) // 2
    return tnn.Sequential(
        tnn.Conv2d(1, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(32 * c * c, 64), tnn.ReLU(), tnn.Linear(64, 10))


def torch_step(batch=64, size=28, seed=0, model="st-cnn", st_pool=1):
    """A closure running one step of the equivalent PyTorch model (Adam, CPU)."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    torch.manual_seed(seed)

    class STCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.loc = _torch_localization(tnn, size)
            self.head = tnn.Linear(20, 6)
            with torch.no_grad():
                self.head.weight.normal_(0, 0.01)
                self.head.bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
            self.pool = tnn.MaxPool2d(st_pool) if st_pool > 1 else tnn.Identity()
            self.net = _torch_classifier(tnn, size // st_pool)

        def forward(self, x):
            theta = self.head(self.loc(x)).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.shape, align_corners=False)
            return self.net(self.pool(F.grid_sample(x, grid, align_corners=False)))

    net = STCNN() if model == "st-cnn" else _torch_classifier(tnn, size)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, y = _batch(batch, size, seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def _median_ms(fns, repeat, warmup=3):
    """Median milliseconds of each function, timed in interleaved rounds.

    Interleaving (a, b, c, a, b, c, ...) exposes every contender to the same
    drift of a shared machine's load.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, record in zip(fns, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return [1000 * float(np.median(record)) for record in times]


def measure(batch=64, size=28, repeat=20, transform="affine", model="st-cnn", st_pool=1):
    """Median milliseconds of the warpkit step, the PyTorch step and (ST models) the sampler.

    ``first_ms`` is the first warpkit step alone: compilation (or loading the
    compiled kernels from disk) plus one step.
    """
    step, net, state = warpkit_step(batch, size, transform, model=model, st_pool=st_pool)
    results = {"model": model, "batch": batch, "size": size, "st_pool": st_pool,
               "transform": transform}
    start = time.perf_counter()
    step()
    results["first_ms"] = 1000 * (time.perf_counter() - start)
    fns = [step]
    if net.transformer is not None:
        fns.append(sampler_step(net, state, batch, size))
    try:
        fns.append(torch_step(batch, size, model=model, st_pool=st_pool))
        has_torch = True
    except ImportError:
        has_torch = False
    medians = _median_ms(fns, repeat)
    results["warpkit_ms"] = medians[0]
    results["sampler_ms"] = medians[1] if net.transformer is not None else None
    results["sampler_share"] = (results["sampler_ms"] / results["warpkit_ms"]
                                if results["sampler_ms"] is not None else None)
    results["torch_ms"] = medians[-1] if has_torch else None
    results["ratio"] = results["warpkit_ms"] / results["torch_ms"] if has_torch else None
    return results


def _set_threads(threads):
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)
    import numba
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass


def _cases(args):
    """(model, size, st_pool) to run: the defaults, or the product of ``--model`` and ``--size``."""
    if args.model is None and args.size is None:
        return DEFAULT_CASES
    cases = []
    for model in args.model or ["st-cnn"]:
        for size in args.size or [28, 42, 60]:
            st_pool = args.st_pool
            if st_pool is None:  # the cluttered-digit set-up pools the transformer's output
                st_pool = 2 if model.startswith("st-") and size >= 60 else 1
            cases.append((model, size, st_pool if model.startswith("st-") else 1))
    return cases


def _row(r):
    label = r["model"] + (f", st_pool {r['st_pool']}" if r["st_pool"] > 1 else "")
    torch_ms = f"{r['torch_ms']:.1f}" if r["torch_ms"] else "–"
    ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "–"
    sampler = "–" if r["sampler_ms"] is None else f"{r['sampler_ms']:.2f}"
    share = "–" if r["sampler_share"] is None else f"{100 * r['sampler_share']:.1f}%"
    return (f"| {label} | {r['size']}x{r['size']} | {r['warpkit_ms']:.1f} | {torch_ms} | {ratio} "
            f"| {sampler} | {share} | {r['first_ms']:.0f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, nargs="+", help="input sides (default 28 42 60)")
    parser.add_argument("--model", nargs="+", choices=("st-cnn", "cnn"),
                        help="models (default st-cnn)")
    parser.add_argument("--st-pool", type=int, default=None,
                        help="st_pool of st-cnn (default: 2 at 60x60 and up, else 1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--transform", default="affine")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _set_threads(args.threads)
    print(f"Training step, batch {args.batch}, {args.threads} thread(s), median of "
          f"{args.repeat} interleaved rounds after 3 warm-up steps")
    print("| model | input | warpkit step (ms) | PyTorch step (ms) | warpkit / PyTorch | "
          "sampler fwd+bwd (ms) | sampler share | first warpkit step (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model, size, st_pool in _cases(args):
        print(_row(measure(args.batch, size, args.repeat, args.transform, model, st_pool)),
              flush=True)


if __name__ == "__main__":
    main()
