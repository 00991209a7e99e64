"""Gradients in other processes: scaling from 1 to 2 workers, and a worker's first call.

1. The logistic-regression gradient of `--shards` shards of `--rows` rows each (10^6 by
   default), as array code and as a loop over rows, mapped over the shards and summed: on one
   process (no pool), then on a Dask LocalCluster and a ProcessPoolExecutor of 1 and 2
   single-threaded workers. The shards are made on the workers (Dask: futures held there; the
   pool: all of them in every process, from their seeds), so what travels per gradient is the
   pickled gradient function, the weights and the results. All configurations run at once
   and are timed in turns (`--repeat` rounds after two warm-up gradients): best and median.
2. A fresh worker process's first call of an unpickled gradient, with an empty cache (the
   program generated, and for loop code compiled by numba) and with a warm one (read from the
   cache), for straight-line array code and for a loop.

    OPENBLAS_NUM_THREADS=1 python benchmarks/distributed_scaling.py [--rows N] [--shards K]

Tier-up (tiering.py) is off in the workers (AD_COMPILER_TIER_UP=0): its background numba
compilation would compete with the timed calls for the same cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ["AD_COMPILER_TIER_UP"] = "0"

from ad_compiler import grad  # noqa: E402  (after the environment the workers inherit)

FEATURES = 10
HERE = Path(__file__).resolve().parent


def logistic(w, X, y):
    """Straight-line array code: runs on NumPy."""
    return np.sum(np.logaddexp(0.0, -y * (X @ w)))


def logistic_loop(w, X, y):
    """The same loss as a loop over rows: compiled by numba."""
    total = 0.0
    for i in range(X.shape[0]):
        z = 0.0
        for j in range(X.shape[1]):
            z += X[i, j] * w[j]
        total += np.log(1.0 + np.exp(-y[i] * z))
    return total


PROGRAMS = {"array code (NumPy)": logistic, "loop (numba)": logistic_loop}


def make_shard(seed, rows):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, FEATURES))
    y = np.where(rng.random(rows) < 0.5, 1.0, -1.0)
    return X, y


@cache
def cached_shard(seed, rows):
    return make_shard(seed, rows)


def make_all(shards, rows):
    """A pool worker's initializer: every shard made before the timing (any worker may be
    given any shard)."""
    for seed in range(shards):
        cached_shard(seed, rows)


def on_shard(g, w, shard):
    return g(w, *shard)


def on_seed(g, w, seed, rows):
    return g(w, *cached_shard(seed, rows))


def scaling(rows, shards, repeat, loss):
    """Best and median time of one gradient in each configuration. All of them are started
    first and timed in turns, so that what else runs on the machine meanwhile slows each
    about alike."""
    from dask.distributed import Client, LocalCluster

    g = grad(loss)
    w = np.linspace(-1.0, 1.0, FEATURES)
    data = [make_shard(seed, rows) for seed in range(shards)]
    runs = {"one process, no pool": lambda: sum(g(w, *s) for s in data)}
    with contextlib.ExitStack() as stack:
        for workers in (1, 2):
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"))
            client = stack.enter_context(Client(cluster))
            futures = client.map(make_shard, range(shards), rows=rows)
            client.gather(futures)

            def on_dask(client=client, futures=futures):
                tasks = [client.submit(on_shard, g, w, f, pure=False) for f in futures]
                return np.sum(client.gather(tasks), axis=0)

            runs[f"Dask LocalCluster, {workers} worker(s)"] = on_dask
        for workers in (1, 2):
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=make_all,
                initargs=(shards, rows)))

            def on_pool(pool=pool, n=shards):
                parts = pool.map(on_seed, [g] * n, [w] * n, range(n), [rows] * n)
                return np.sum(list(parts), axis=0)

            runs[f"ProcessPoolExecutor, {workers} worker(s)"] = on_pool
        for run in runs.values():  # warm-up: the workers' first calls build or load it
            run()
            run()
        times = {label: [] for label in runs}
        for _ in range(repeat):
            for label, run in runs.items():
                start = time.perf_counter()
                run()
                times[label].append(time.perf_counter() - start)
    return {label: (min(t), statistics.median(t)) for label, t in times.items()}


def by_hand(w, X, y):
    """The gradient of `logistic` written in NumPy by hand (for the ceiling below)."""
    m = y * (X @ w)
    return X.T @ (-y / (1.0 + np.exp(m)))


def _spin(rows, repeat, start, out):
    X, y = make_shard(0, rows)
    w = np.linspace(-1.0, 1.0, FEATURES)
    start.wait()
    begin = time.perf_counter()
    for _ in range(repeat):
        by_hand(w, X, y)
    out.put(time.perf_counter() - begin)


def ceiling(rows, repeat=10, rounds=3):
    """What this machine gives two processes: the same NumPy work in one process, then in two
    at once (best of `rounds` alternations). 2 x (time alone) / (time of the two at once) is
    the most any pool of 2 can gain."""
    context = get_context("spawn")
    times = {1: float("inf"), 2: float("inf")}
    for _ in range(rounds):
        for n in (1, 2):
            start, out = context.Event(), context.Queue()
            procs = [context.Process(target=_spin, args=(rows, repeat, start, out))
                     for _ in range(n)]
            for p in procs:
                p.start()
            time.sleep(1.0 + 0.5 * rows / 1e6)  # (the processes make their data)
            start.set()
            times[n] = min(times[n], max(out.get() for _ in procs))
            for p in procs:
                p.join()
    return 2 * times[1] / times[2]


WORKER = r"""
import json, pickle, sys, time
t0 = time.perf_counter()
import numpy as np
import ad_compiler
t1 = time.perf_counter()
g = pickle.loads(open(sys.argv[1], "rb").read())
rng = np.random.default_rng(0)
X, y, w = rng.standard_normal((1000, 10)), np.sign(rng.standard_normal(1000)), np.ones(10)
t2 = time.perf_counter()
g(w, X, y)
t3 = time.perf_counter()
g(w, X, y)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "unpickle": t2 - t1, "first": t3 - t2,
                  "second": t4 - t3}))
"""


def first_calls(warm_runs=3):
    """A fresh process's import, unpickling and first call, with an empty then a warm cache."""
    import cloudpickle

    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, fn in PROGRAMS.items():
            payload = Path(folder) / f"{fn.__name__}.pkl"
            # a function of the script (__main__): by value, with its source, as Dask sends it
            payload.write_bytes(cloudpickle.dumps(grad(fn)))
            env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(Path(folder) / f"cache-{name}"))

            def run(env=env, payload=payload):
                out = subprocess.run([sys.executable, "-c", WORKER, str(payload)], env=env,
                                     capture_output=True, text=True, check=True, cwd=folder)
                return json.loads(out.stdout.strip().splitlines()[-1])

            cold = run()
            warm = [run() for _ in range(warm_runs)]
            rows[name] = (cold, {k: statistics.median(r[k] for r in warm) for k in cold})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per shard")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}")
    if not args.skip_scaling:
        best = ceiling(args.rows)
        tables = {name: scaling(args.rows, args.shards, args.repeat, loss)
                  for name, loss in PROGRAMS.items()}
        print(f"\nOne gradient of {args.shards} shards x {args.rows:,} rows x {FEATURES} "
              f"features (logistic loss), best and median of {args.repeat} rounds:\n")
        print("| program | where | best | median | 1 worker / this (best, median) |")
        print("|---|---|---|---|---|")
        for name, results in tables.items():
            for label, (best_time, median) in results.items():
                base = next((v for k, v in results.items()
                             if k.startswith(label.split(",")[0]) and "1 worker" in k), None)
                ratio = (f"{base[0] / best_time:.2f}x, {base[1] / median:.2f}x"
                         if base and "worker" in label else "")
                print(f"| {name} | {label} | {best_time * 1e3:.0f} ms | {median * 1e3:.0f} ms "
                      f"| {ratio} |")
        print(f"\nThis machine: the same NumPy gradient (by hand) in 2 processes at once "
              f"did {best:.2f}x the work of 1 per unit of time (the ceiling for 2 workers).")
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("\nA fresh worker process: import, unpickling, first and second call of the "
          "gradient (1000 x 10 data):\n")
    print("| program | cache | import | unpickle | first call | second call |")
    print("|---|---|---|---|---|---|")
    for name, (cold, warm) in first_calls().items():
        for label, r in (("empty", cold), ("warm", warm)):
            print(f"| {name} | {label} | {r['import'] * 1e3:.0f} ms | "
                  f"{r['unpickle'] * 1e3:.1f} ms | {r['first'] * 1e3:.0f} ms | "
                  f"{r['second'] * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
