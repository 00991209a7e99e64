"""Logistic regression fitted on a Dask cluster: the gradient mapped over shards of the data.

Run:  python examples/distributed.py                          # a LocalCluster on this machine
      python examples/distributed.py --scheduler tcp://HOST:8786   # a cluster of yours
      python examples/distributed.py --engine processes       # no Dask: concurrent.futures

Needs the `distributed` extra (dask[distributed], tqdm): pip install -e ".[distributed]".

The loss is a sum over the rows of the data, so its gradient is the sum of the gradients of
the shards. The shards are made on the workers and stay there; each step of L-BFGS sends the
current weights (a few floats) and the gradient function to every shard, and adds up the
(value, gradient) pairs that come back. The gradient function is pickled: the workers rebuild
it, and read its compiled code from their on-disk cache after the first call.
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache

import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

from ad_compiler import value_and_grad

if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path, where this file would hide
    # the `distributed` package that Dask imports: the folder leaves the path.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

FEATURES = 20
TRUE_W = np.linspace(-1.0, 1.0, FEATURES)  # the weights the synthetic labels come from


def shard_loss(w, X, y):
    """The logistic loss of the shard's rows (labels y in {-1, 1}): sum log(1 + exp(-y x.w))."""
    margins = y * (X @ w)
    return np.sum(np.logaddexp(0.0, -margins))


shard_value_and_grad = value_and_grad(shard_loss)


def make_shard(seed, rows):
    """One shard of synthetic data, generated where it will be used."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, FEATURES))
    p = 1.0 / (1.0 + np.exp(-X @ TRUE_W))
    y = np.where(rng.random(rows) < p, 1.0, -1.0)
    return X, y


def on_shard(vg, w, shard):
    """A task: the (value, gradient) of one shard, by the pickled gradient function vg."""
    X, y = shard
    return vg(w, X, y)


# -- engines: each maps the gradient over the shards and adds the results up -------------------


class DaskEngine:
    """Shards as futures held by the cluster's workers."""

    def __init__(self, scheduler, workers, shards, rows):
        from dask.distributed import Client, LocalCluster, progress, wait

        if scheduler:
            self.client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            self.client = Client(cluster)
        print(f"Dask: {self.client}")
        self.shards = self.client.map(make_shard, range(shards), rows=rows)
        progress(self.shards)  # a bar while the workers make the data
        wait(self.shards)
        print()

    def value_and_grad(self, vg, w):
        futures = [self.client.submit(on_shard, vg, w, shard, pure=False)
                   for shard in self.shards]
        return add_up(self.client.gather(futures))

    def close(self):
        cluster = self.client.cluster
        self.client.close()
        if cluster is not None:
            cluster.close()


@cache
def cached_shard(seed, rows):
    return make_shard(seed, rows)


def on_seed(vg, w, seed, rows):
    """A task for a process pool: the shard is made (once per process) from its seed."""
    X, y = cached_shard(seed, rows)
    return vg(w, X, y)


class ProcessEngine:
    """concurrent.futures: the same work on this machine's cores, without Dask."""

    def __init__(self, workers, shards, rows):
        self.pool = ProcessPoolExecutor(workers)
        self.seeds, self.rows = list(range(shards)), rows
        print(f"ProcessPoolExecutor: {workers} processes")

    def value_and_grad(self, vg, w):
        n = len(self.seeds)
        parts = self.pool.map(on_seed, [vg] * n, [w] * n, self.seeds, [self.rows] * n)
        return add_up(list(parts))

    def close(self):
        self.pool.shutdown()


def add_up(parts):
    value = sum(v for v, _ in parts)
    return value, np.sum([g for _, g in parts], axis=0)


# -- the fit ------------------------------------------------------------------------------------


def fit(engine, shards, rows, lam=1.0, iterations=50):
    """Minimize the mean logistic loss plus lam/2 ||w||^2 / n over all shards by L-BFGS."""
    n = shards * rows
    bar = tqdm(total=iterations, desc="L-BFGS", unit="step")
    last = [np.nan]

    def objective(w):
        value, gradient = engine.value_and_grad(shard_value_and_grad, w)
        last[0] = value / n + 0.5 * lam * w @ w / n
        return last[0], gradient / n + lam * w / n

    def step(w):
        bar.update()
        bar.set_postfix(loss=f"{last[0]:.6f}")

    result = minimize(objective, np.zeros(FEATURES), jac=True, method="L-BFGS-B",
                      callback=step, options={"maxiter": iterations})
    bar.close()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["dask", "processes"], default="dask")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a Dask scheduler (tcp://host:8786); default: a LocalCluster")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rows", type=int, default=250_000, help="rows per shard")
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args(argv)

    if args.engine == "dask":
        engine = DaskEngine(args.scheduler, args.workers, args.shards, args.rows)
    else:
        engine = ProcessEngine(args.workers, args.shards, args.rows)
    try:
        start = time.perf_counter()
        result = fit(engine, args.shards, args.rows, iterations=args.iterations)
        elapsed = time.perf_counter() - start
    finally:
        engine.close()
    error = np.max(np.abs(result.x - TRUE_W))
    print(f"{args.shards} shards x {args.rows} rows: loss {result.fun:.6f} after {result.nit} "
          f"steps ({result.nfev} gradients) in {elapsed:.1f} s; "
          f"max |w - w_true| = {error:.3f}")
    return result


if __name__ == "__main__":
    main()
