"""One ST-CNN training step: warpkit (autograd + warpkit sampler) against PyTorch on the CPU.

Both sides run the same network (``warpkit.nn.make_model("st-cnn", ...)``: a
CNN localization net on the 2x max-pooled input -> affine transformer ->
conv 5x5x16 -> pool -> conv 5x5x32 -> pool -> dense 64 -> 10), the same
batch, the same Adam update, in the same process with the same thread count.
The figure of merit is the ratio of median step times (forward, backward and
update).  The sampler's share of the warpkit step is the time of the
transformer's warp forward plus its backward (measured alone on the step's
shapes) over the step time.

Run::

    python benchmarks/bench_training.py                  # 28x28 and 42x42, batch 64, 1 thread
    python benchmarks/bench_training.py --threads 2 --size 42 --repeat 30
"""

import argparse
import os
import sys
import time

import numpy as np

__all__ = ["warpkit_step", "torch_step", "sampler_step", "measure", "main"]


def _batch(batch, size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


def warpkit_step(batch=64, size=28, transform="affine", seed=0):
    """A closure running one warpkit training step (value_and_grad + Adam update)."""
    from autograd import value_and_grad

    from warpkit import nn

    model = nn.make_model("st-cnn", (1, size, size), transform=transform)
    params = model.init(np.random.default_rng(seed))
    # A non-identity transformer, as after some training.
    rng = np.random.default_rng(seed + 1)
    params["st"]["out"]["w"] = rng.normal(scale=0.01, size=params["st"]["out"]["w"].shape
                                          ).astype(np.float32)
    optimizer = nn.Adam(1e-3)
    state = [params, optimizer.init(params)]
    x, y = _batch(batch, size, seed)
    loss_and_grad = value_and_grad(
        lambda p: nn.softmax_cross_entropy(model.apply(p, x, None), y))

    def step():
        loss, grads = loss_and_grad(state[0])
        state[0], state[1] = optimizer.update(state[0], grads, state[1])
        return loss

    return step, model, state


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


def torch_step(batch=64, size=28, seed=0):
    """A closure running one step of the equivalent PyTorch model (Adam, CPU)."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    torch.manual_seed(seed)

    def conv_out(s):
        return s - 4

    s = size // 2 if size >= 20 else size
    loc_layers = [tnn.MaxPool2d(2)] if size >= 20 else []
    s = conv_out(s)
    loc_layers += [tnn.Conv2d(1, 20, 5), tnn.ReLU()]
    if s >= 10:
        loc_layers.append(tnn.MaxPool2d(2))
        s //= 2
    loc_layers += [tnn.Conv2d(20, 20, 5), tnn.ReLU(), tnn.Flatten()]
    s = conv_out(s)
    loc_layers += [tnn.Linear(20 * s * s, 20), tnn.ReLU()]
    head = tnn.Linear(20, 6)
    with torch.no_grad():
        head.weight.normal_(0, 0.01)
        head.bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
    c = ((size - 4) // 2 - 4) // 2

    class STCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.loc = tnn.Sequential(*loc_layers)
            self.head = head
            self.net = tnn.Sequential(
                tnn.Conv2d(1, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(16, 32, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                tnn.Linear(32 * c * c, 64), tnn.ReLU(), tnn.Linear(64, 10))

        def forward(self, x):
            theta = self.head(self.loc(x)).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.shape, align_corners=False)
            return self.net(F.grid_sample(x, grid, align_corners=False))

    model = STCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = _batch(batch, size, seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
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


def measure(batch=64, size=28, repeat=20, transform="affine"):
    """Median milliseconds of the warpkit step, the PyTorch step and the warpkit sampler."""
    step, model, state = warpkit_step(batch, size, transform)
    sampler = sampler_step(model, state, batch, size)
    results = {"batch": batch, "size": size, "transform": transform}
    try:
        torch_fn = torch_step(batch, size)
    except ImportError:
        torch_fn = None
    fns = [step, sampler] + ([torch_fn] if torch_fn else [])
    medians = _median_ms(fns, repeat)
    results["warpkit_ms"], results["sampler_ms"] = medians[0], medians[1]
    results["sampler_share"] = results["sampler_ms"] / results["warpkit_ms"]
    results["torch_ms"] = medians[2] if torch_fn else None
    results["ratio"] = results["warpkit_ms"] / results["torch_ms"] if torch_fn else None
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, nargs="+", default=[28, 42])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--transform", default="affine")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _set_threads(args.threads)
    print(f"ST-CNN training step, batch {args.batch}, {args.threads} thread(s), median of "
          f"{args.repeat} interleaved rounds")
    print("| input | warpkit step (ms) | PyTorch step (ms) | warpkit / PyTorch | "
          "sampler fwd+bwd (ms) | sampler share |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in args.size:
        r = measure(args.batch, size, args.repeat, args.transform)
        torch_ms = f"{r['torch_ms']:.1f}" if r["torch_ms"] else "–"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "–"
        print(f"| {size}x{size} | {r['warpkit_ms']:.1f} | {torch_ms} | {ratio} | "
              f"{r['sampler_ms']:.2f} | {100 * r['sampler_share']:.1f}% |")


if __name__ == "__main__":
    main()
