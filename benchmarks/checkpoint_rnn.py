"""Bounded memory (issue 15): a 64-unit tanh RNN over 10^5 steps, grad plain vs checkpoint=True.

    OPENBLAS_NUM_THREADS=1 python benchmarks/checkpoint_rnn.py [--steps N] [--backend numba]

Each configuration runs in a fresh process: the gradient is compiled and warmed up on 10 steps
(25 calls: array loops start on NumPy and move to numba when hot, tiering.py), then the growth
of the process's peak resident memory (ru_maxrss) over the first call on the full sequence is
measured, then the best of three calls' times, then the peak of the memory
allocated during one more call as tracemalloc sees it (NumPy's and numba's arrays, Python's
lists: the tapes themselves, whatever high-water mark compilation left). The gradients of the two
configurations are compared (largest difference relative to the largest entry).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

CHILD = textwrap.dedent("""
    import json, resource, sys, threading, time, tracemalloc
    import numpy as np
    from ad_compiler import grad

    def rnn_loss(W, U, b, xs, h0):   # W (64,64), U (64,8), b (64,), xs (100000, 8), h0 (64,)
        h = h0
        total = 0.0
        for t in range(xs.shape[0]):
            h = np.tanh(W @ h + U @ xs[t] + b)
            total = total + np.sum(h * h)
        return total

    steps, backend, checkpoint, out = {steps}, {backend!r}, {checkpoint}, {out!r}
    rng = np.random.default_rng(0)
    W = rng.normal(size=(64, 64)) * 0.1
    U = rng.normal(size=(64, 8)) * 0.1
    b = rng.normal(size=64) * 0.1
    h0 = rng.normal(size=64)
    xs = rng.normal(size=(steps, 8))
    g = grad(rnn_loss, wrt=(0, 1, 2, 4), backend=backend, checkpoint=checkpoint)
    for _ in range(25):  # compiled and warmed up; hot, it moves to numba (tiering.py)
        g(W, U, b, xs[:10], h0)
    for thread in threading.enumerate():
        if thread.name == "ad_compiler tier-up":
            thread.join()
    # (which program the calls run: the tiered NumPy one, or what replaced it)
    running = [type(entry[0]).__name__ for entry in g._dispatch.values()]
    program = "numba" if backend == "numba" and "TieredKernel" not in running else "NumPy"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    grads = g(W, U, b, xs, h0)
    times = [time.perf_counter() - start]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        start = time.perf_counter()
        g(W, U, b, xs, h0)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    g(W, U, b, xs, h0)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    np.save(out, np.concatenate([np.ravel(a) for a in grads]))
    rss = (after - before) / 1024
    result = {{"rss_mb": rss, "seconds": min(times), "traced": traced, "program": program}}
    print(json.dumps(result))
""")


def measure(steps: int, backend: str, checkpoint: bool) -> dict:
    out = f"/tmp/checkpoint_rnn_{backend}_{checkpoint}.npy"
    code = CHILD.format(steps=steps, backend=backend, checkpoint=checkpoint, out=out)
    # (a file, not -c: the compiler reads the function's source)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(code)
    try:
        result = subprocess.run(
            [sys.executable, script.name], capture_output=True, text=True, check=True
        )
    finally:
        os.unlink(script.name)
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "grad": np.load(out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--backend", default="numba", choices=("numba", "python"))
    options = parser.parse_args()
    plain = measure(options.steps, options.backend, False)
    ck = measure(options.steps, options.backend, True)
    print(f"RNN, 64 units, {options.steps} steps, backend={options.backend}")
    for name, r in (("plain", plain), ("checkpoint=True", ck)):
        print(
            f"  {name:16s} peak RSS +{r['rss_mb']:7.1f} MB   peak traced allocations "
            f"{r['traced']:7.1f} MB   {r['seconds']:.3f} s   ({r['program']} program)"
        )
    ratio = ck["seconds"] / plain["seconds"]
    diff = np.max(np.abs(ck["grad"] - plain["grad"])) / np.max(np.abs(plain["grad"]))
    print(f"  time ratio {ratio:.2f}x; gradients differ by {diff:.1e} (relative)")


if __name__ == "__main__":
    main()
