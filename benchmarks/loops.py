"""Loops: gradient time over primal time, both compiled by numba, and the tape's memory.

    OPENBLAS_NUM_THREADS=1 python benchmarks/loops.py

Cases (targets from the issue): the Rosenbrock function as a loop at n = 10^6 (gradient at most
3x the primal), an explicit Euler integration of a damped oscillator for 1000 steps (at most 4x),
and the peak memory of the Rosenbrock gradient at n = 10^7, measured as the growth of the
process's peak resident memory during the gradient call, against the bytes of the gradient it
returns (the tape should add nothing: the reverse loop recomputes what it needs).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
import timeit

import numpy as np
from cases import euler, rosenbrock
from numba import njit

from ad_compiler import grad


def median_time(fn, *args, number: int, repeat: int = 11) -> float:
    fn(*args)
    return (
        statistics.median(timeit.repeat(lambda: fn(*args), number=number, repeat=repeat)) / number
    )


MEMORY_CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    sys.path.insert(0, {here!r})
    from cases import rosenbrock
    from ad_compiler import grad
    g = grad(rosenbrock)
    g(np.linspace(-1.0, 1.0, 10))  # compile outside the measurement
    x = np.linspace(-1.0, 1.0, {n})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    dx = g(x)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"growth": (after - before) * 1024, "gradient": dx.nbytes}}))
""")


def tape_memory(n: int) -> dict:
    here = __file__.rsplit("/", 1)[0]
    code = MEMORY_CHILD.format(here=here, n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    x = np.linspace(-1.0, 1.0, 10**6)
    primal = njit(rosenbrock)
    gradient = grad(rosenbrock)
    assert np.allclose(gradient(x[:50]), grad(rosenbrock, backend="python")(x[:50]))
    t_primal = median_time(primal, x, number=5)
    t_grad = median_time(gradient, x, number=5)

    e_primal = njit(euler)
    e_grad = grad(euler, wrt=(0, 1, 2, 3))
    e_args = (1.0, 0.0, 4.0, 0.3, 0.01, 1000)
    t_eprimal = median_time(e_primal, *e_args, number=200)
    t_egrad = median_time(e_grad, *e_args, number=200)

    print(f"{'case':34s} {'primal':>10s} {'gradient':>10s} {'ratio':>7s} {'target':>7s}")
    print(
        f"{'Rosenbrock loop, n = 10^6':34s} {t_primal * 1e6:8.0f}us {t_grad * 1e6:8.0f}us "
        f"{t_grad / t_primal:6.2f}x {'3x':>7s}"
    )
    print(
        f"{'Euler, 1000 steps':34s} {t_eprimal * 1e6:8.1f}us {t_egrad * 1e6:8.1f}us "
        f"{t_egrad / t_eprimal:6.2f}x {'4x':>7s}"
    )
    source = e_grad.source_for(*e_args)
    tapes = source.count("_tape = np.empty")
    print(
        f"\nEuler tape: {tapes} arrays of 1000 float64 (the two loop-carried values x, v): "
        f"{tapes * 1000 * 8} bytes"
    )
    memory = tape_memory(10**7)
    extra = memory["growth"] - memory["gradient"]
    print(
        f"Rosenbrock at n = 10^7: peak memory grew by {memory['growth'] / 1e6:.1f} MB during "
        f"the call, of which the returned gradient is {memory['gradient'] / 1e6:.1f} MB; "
        f"tape and temporaries: {max(extra, 0) / 1e6:.1f} MB "
        f"(tapes in the generated code: {grad(rosenbrock).source_for(x).count('_tape')})"
    )


if __name__ == "__main__":
    main()
