"""How long the neuron's gradient takes to get ready, and to run.

Prints: the first call of grad(neuron) in a fresh process with an empty cache (parse, normalize,
differentiate with SymPy, generate, numba compile), then in a second fresh process with the cache
warm, and the per-call time of the compiled gradient against the plain-Python primal.

    OPENBLAS_NUM_THREADS=1 python benchmarks/first_call.py
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import timeit

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import ad_compiler
t1 = time.perf_counter()
sys.path.insert(0, {here!r})
from first_call import neuron
g = ad_compiler.grad(neuron, wrt=(0, 1, 2, 3, 4))
g(2.0, -1.0, -3.0, -2.0, -3.0)
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first_call": t2 - t1}}))
"""

# numba's own start-up: a fresh process importing numba and calling a function that numba's
# cache already holds (the first call initializes numba's typing and target machinery).
NUMBA_CHILD = r"""
import json, sys, time
import numpy  # imported before timing, as ad_compiler's import (excluded above) does
t0 = time.perf_counter()
sys.path.insert(0, {folder!r})
import cached_kernel
cached_kernel.f(1.0)
print(json.dumps({{"startup": time.perf_counter() - t0}}))
"""
KERNEL = "from numba import njit\n\n\n@njit(cache=True)\ndef f(x):\n    return x + 1.0\n"


def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def run_child(cache: str) -> dict:
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=cache)
    code = CHILD.format(here=os.path.dirname(os.path.abspath(__file__)))
    start = timeit.default_timer()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = timeit.default_timer() - start
    return result


def per_call(fn, args, number: int = 20000) -> float:
    timer = timeit.Timer(lambda: fn(*args))
    return min(timer.repeat(5, number)) / number


def numba_startup() -> float:
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "cached_kernel.py"), "w") as handle:
            handle.write(KERNEL)
        code = NUMBA_CHILD.format(folder=folder)
        runs = []
        for _ in range(3):  # the first run compiles and fills numba's cache
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1])["startup"])
        return min(runs[1:])


def main() -> None:
    from ad_compiler import grad

    startup = numba_startup()
    with tempfile.TemporaryDirectory() as cache:
        cold = run_child(cache)
        warm = min((run_child(cache) for _ in range(3)), key=lambda r: r["first_call"])

    args = (2.0, -1.0, -3.0, -2.0, -3.0)
    compiled = grad(neuron, wrt=(0, 1, 2, 3, 4))
    python = grad(neuron, wrt=(0, 1, 2, 3, 4), backend="python")
    compiled(*args)
    primal = per_call(neuron, args)
    rows = [
        ("plain-Python primal neuron(...)", primal),
        ("gradient, numba backend", per_call(compiled, args)),
        ("gradient, python backend", per_call(python, args)),
    ]
    print("First call of grad(neuron)(...) in a fresh process (import ad_compiler excluded):")
    print(
        f"  cold cache : {cold['first_call'] * 1e3:8.1f} ms   (import ad_compiler "
        f"{cold['import'] * 1e3:.0f} ms)"
    )
    print(
        f"  warm cache : {warm['first_call'] * 1e3:8.1f} ms   = numba's own start-up "
        f"{startup * 1e3:.0f} ms (import numba, first call of a cached njit function)"
    )
    print(
        f"               + {(warm['first_call'] - startup) * 1e3:.0f} ms of ad_compiler "
        "(parse, normalize, find the cached module)"
    )
    print()
    print(f"{'per call':34s} {'time':>10s} {'x primal':>9s}")
    for name, t in rows:
        print(f"{name:34s} {t * 1e6:8.2f} us {t / primal:8.2f}x")


if __name__ == "__main__":
    main()
