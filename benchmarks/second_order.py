"""Issue 14's benchmark: a Hessian-vector product and Jacobians of loops, ad_compiler against
JAX and hand-written numba, in one process and float64.

    OPENBLAS_NUM_THREADS=1 python benchmarks/second_order.py [--n 10000] [--jac-n 200]
        [--repeat 5]

1. The Rosenbrock function as a Python loop over i (n = --n): ad_compiler's `hvp` (and its
   `grad`, the yardstick: the goal is an hvp within 3x of one gradient call), against JAX with
   the loop as `lax.fori_loop` and the hvp as `jvp` of `grad` under `jit` (also JAX's vectorized
   sum, for reference), and against a gradient and an hvp derived by hand as numba loops.
2. Jacobians (n = --jac-n): a coupled recurrence writing an output array in a loop, and
   `np.tanh(W @ x)` w.r.t. x, against JAX's jacrev and jacfwd under `jit` (the recurrence as
   `lax.fori_loop` writing `y.at[i]`, as the literal translation, and as `lax.scan`) and a
   Jacobian written by hand as a numba loop.

Everything runs single-threaded (OpenBLAS, numba, XLA's Eigen pool). Before timing, every
result is checked (rtol 1e-8): the hand-written derivatives against central differences and
JAX (each an oracle for the other; a disagreement there stops the run), and ad_compiler
against both (a disagreement is reported, that row is not timed and the exit status is 1).
An ad_compiler transform that does not exist yet or refuses the function (ImportError,
AttributeError, TypeError, ADCompilerError) is listed as "not available: <error>"; JAX, if
not installed, is skipped with a note. Per call: the median over --repeat rounds, the rows'
rounds interleaved so that other work on the machine hits them alike; each round a loop of
calls long enough to time. Ratios are between rows timed in this same run. "first call" is
building the function and calling it once: numba compiling, JAX tracing and compiling,
ad_compiler generating and compiling its program (or loading it from its on-disk cache, if an
earlier run left it there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # the ad_compiler of this checkout, then run.py's helpers
    if _path not in sys.path:
        sys.path.insert(0, _path)

from report import cpu_name, fmt_ratio, fmt_time, table, versions  # noqa: E402
from run import THREAD_ENV, XLA_FLAGS  # noqa: E402

# Thread pools are sized when numpy, numba and jax load: set the environment first.
for _key, _value in {**THREAD_ENV, "XLA_FLAGS": XLA_FLAGS, "JAX_PLATFORMS": "cpu"}.items():
    os.environ.setdefault(_key, _value)

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from ad_compiler import ADCompilerError, grad  # noqa: E402

RTOL = 1e-8
UNAVAILABLE = (ImportError, AttributeError, TypeError, ADCompilerError)

# ============================================================================================
# The functions, as ad_compiler users write them


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def recurrence(x):
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = np.sin(x[0])
    for i in range(1, n):
        y[i] = np.sin(x[i]) * x[i - 1] + 0.5 * np.tanh(y[i - 1])
    return y


def layer(x, W):
    return np.tanh(W @ x)


# ============================================================================================
# Derivatives by hand (compiled by numba at first call)


@njit(cache=False)
def rosenbrock_grad_hand(x):
    g = np.zeros_like(x)
    for i in range(x.shape[0] - 1):
        r = x[i + 1] - x[i] * x[i]
        g[i] += -400.0 * x[i] * r - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * r
    return g


@njit(cache=False)
def rosenbrock_hvp_hand(x, v):
    # Term i depends on x[i], x[i+1] only: its 2x2 Hessian is
    # [[1200 x_i^2 - 400 x_{i+1} + 2, -400 x_i], [-400 x_i, 200]].
    hv = np.zeros_like(x)
    for i in range(x.shape[0] - 1):
        a = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0
        b = -400.0 * x[i]
        hv[i] += a * v[i] + b * v[i + 1]
        hv[i + 1] += b * v[i] + 200.0 * v[i + 1]
    return hv


@njit(cache=False)
def recurrence_jac_hand(x):
    # Row i is 0.5 (1 - tanh(y[i-1])^2) times row i-1, plus the two direct terms.
    n = x.shape[0]
    J = np.zeros((n, n))
    y_prev = np.sin(x[0])
    J[0, 0] = np.cos(x[0])
    for i in range(1, n):
        t = np.tanh(y_prev)
        scale = 0.5 * (1.0 - t * t)
        for j in range(i):
            J[i, j] = scale * J[i - 1, j]
        J[i, i] += np.cos(x[i]) * x[i - 1]
        J[i, i - 1] += np.sin(x[i])
        y_prev = np.sin(x[i]) * x[i - 1] + 0.5 * t
    return J


@njit(cache=False)
def layer_jac_hand(x, W):
    m, n = W.shape
    J = np.empty((m, n))
    for i in range(m):
        s = 0.0
        for k in range(n):
            s += W[i, k] * x[k]
        t = np.tanh(s)
        d = 1.0 - t * t
        for k in range(n):
            J[i, k] = d * W[i, k]
    return J


# ============================================================================================
# JAX, written as its users would


def load_jax():
    """The jax module with float64 on, or the reason it cannot be used."""
    try:
        import jax
    except ImportError as exc:
        return None, f"jax is not installed ({exc})"
    jax.config.update("jax_enable_x64", True)
    return jax, ""


def jax_rosenbrock_loop(jax):
    def loss(x):
        def body(i, s):
            return s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2

        return jax.lax.fori_loop(0, x.shape[0] - 1, body, 0.0)

    return loss


def jax_rosenbrock_sum(jax):
    jnp = jax.numpy

    def loss(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return loss


def jax_hvp(jax, loss):
    return jax.jit(lambda x, v: jax.jvp(jax.grad(loss), (x,), (v,))[1])


def jax_recurrence_fori(jax):
    jnp = jax.numpy

    def f(x):
        def body(i, y):
            return y.at[i].set(jnp.sin(x[i]) * x[i - 1] + 0.5 * jnp.tanh(y[i - 1]))

        y = jnp.zeros_like(x).at[0].set(jnp.sin(x[0]))
        return jax.lax.fori_loop(1, x.shape[0], body, y)

    return f


def jax_recurrence_scan(jax):
    jnp = jax.numpy

    def f(x):
        def step(prev, pair):
            y = jnp.sin(pair[0]) * pair[1] + 0.5 * jnp.tanh(prev)
            return y, y

        y0 = jnp.sin(x[0])
        _, ys = jax.lax.scan(step, y0, (x[1:], x[:-1]))
        return jnp.concatenate([y0[None], ys])

    return f


def jax_layer(jax):
    return lambda x, W: jax.numpy.tanh(W @ x)


# ============================================================================================
# Rows: build, check, time


@dataclass
class Row:
    label: str
    call: Callable[[], object] | None = None  # one more call, for timing
    value: np.ndarray | None = None
    first: float | None = None  # seconds of the first call (compiling included)
    per_call: float | None = None
    note: str = ""


class Section:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, Row] = {}
        self.mismatch = False

    def add(self, label: str, build: Callable[[], Callable[[], object]], adc: bool = False):
        """`build()` returns a function of no arguments computing the result; the build and
        its first call are timed together (parsing, differentiating, compiling)."""
        row = self.rows[label] = Row(label)
        start = time.perf_counter()
        try:
            call = build()
            value = call()
        except UNAVAILABLE as exc:
            if not adc:
                raise
            row.note = f"not available: {type(exc).__name__}: {first_line(exc)}"
            print(f"  {label}: {row.note}", flush=True)
            return row
        row.first = time.perf_counter() - start
        row.call, row.value = call, np.asarray(value, dtype=float)
        print(f"  {label}: first call {fmt_time(row.first)}", flush=True)
        return row

    def skip(self, label: str, why: str) -> None:
        self.rows[label] = Row(label, note=why)

    def check(self, label: str, against: list[str], oracle: bool) -> None:
        """Compare row `label` with each present row of `against`. Oracles (hand-written,
        JAX, differences) must agree with each other: a disagreement stops the run. An
        ad_compiler row that disagrees is reported and left untimed."""
        row = self.rows.get(label)
        if row is None or row.value is None:
            return
        for other in against:
            ref = self.rows.get(other)
            if ref is None or ref.value is None:
                continue
            error = disagreement(row.value, ref.value)
            if error is None:
                continue
            message = f"{self.title}: {label} disagrees with {other}: {error}"
            if oracle:
                raise AssertionError(message)
            print(f"!!! MISMATCH {message}", file=sys.stderr)
            row.call, row.note, self.mismatch = None, f"WRONG: disagrees with {other}", True
            return

    def time(self, repeat: int, target: float) -> None:
        timed = [r for r in self.rows.values() if r.call is not None]
        for row, value in zip(timed, per_call([r.call for r in timed], repeat, target)):
            row.per_call = value

    def report(self, baselines: list[str]) -> str:
        header = ["", "first call", "per call"] + [f"÷ {b}" for b in baselines]
        lines = []
        for row in self.rows.values():
            if row.per_call is None:
                lines.append([row.label, "—", row.note or "—"] + ["—"] * len(baselines))
                continue
            cells = [row.label, fmt_time(row.first), fmt_time(row.per_call)]
            cells += [self.ratio(row.label, b, plain=True) for b in baselines]
            lines.append(cells)
        return f"### {self.title}\n\n" + table(header, lines)

    def ratio(self, top: str, bottom: str, plain: bool = False) -> str:
        a, b = self.rows.get(top), self.rows.get(bottom)
        if a is None or b is None or a.per_call is None or b.per_call is None:
            return "—" if plain else "not measured"
        return fmt_ratio(a.per_call / b.per_call)


def bound(fn: Callable, *args) -> Callable[[], object]:
    return lambda: fn(*args)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def disagreement(got: np.ndarray, ref: np.ndarray) -> str | None:
    """None if `got` matches `ref` to rtol 1e-8 (atol 1e-8 times ref's largest entry, for
    entries near zero), else what differs."""
    if got.shape != ref.shape:
        return f"shape {got.shape} vs {ref.shape}"
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    if np.allclose(got, ref, rtol=RTOL, atol=RTOL * scale):
        return None
    worst = float(np.max(np.abs(got - ref))) / max(scale, 1e-300)
    return f"largest difference {worst:.3g} of the largest entry"


def per_call(calls: list[Callable[[], object]], repeat: int, target: float) -> list[float]:
    """Median seconds per call of each function: `repeat` rounds, each timing a loop of calls
    lasting at least `target` seconds; the functions' rounds interleaved."""
    timers = []
    for call in calls:
        timer = timeit.Timer(call)
        number, elapsed = 1, timer.timeit(1)
        while elapsed < target:
            number *= max(2, min(10, int(target / max(elapsed, 1e-9)) + 1))
            elapsed = timer.timeit(number)
        timers.append((timer, number))
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for (timer, number), out in zip(timers, samples):
            out.append(timer.timeit(number) / number)
    return [statistics.median(s) for s in samples]


def central_differences(f: Callable, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The Jacobian of f (array or float valued) at x, one column per entry of x."""
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(columns, axis=-1)


def agree_loosely(label: str, got: np.ndarray, ref: np.ndarray, rtol: float = 1e-6) -> None:
    scale = float(np.max(np.abs(ref)))
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale, err_msg=label)


# ============================================================================================
# The two sections


def hvp_section(n: int, jax) -> Section:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, n)
    v = rng.standard_normal(n)
    section = Section(f"Rosenbrock loop, n = {n}: Hessian-vector product")
    print(section.title, flush=True)
    section.add("numba primal", lambda: bound(njit(rosenbrock), x))
    section.add("numba hand grad", lambda: bound(rosenbrock_grad_hand, x))
    section.add("numba hand hvp", lambda: bound(rosenbrock_hvp_hand, x, v))

    # The hand-written derivatives (compiled by the first calls above) against central
    # differences of the original function (small n, every entry) and of the hand-written
    # gradient (the full n, along v).
    small = x[:12].copy()
    agree_loosely(
        "hand gradient vs differences",
        rosenbrock_grad_hand(small),
        central_differences(rosenbrock, small),
    )
    h = 1e-6
    fd_hvp = (rosenbrock_grad_hand(x + h * v) - rosenbrock_grad_hand(x - h * v)) / (2 * h)
    agree_loosely("hand hvp vs differences of the gradient", rosenbrock_hvp_hand(x, v), fd_hvp)

    if jax is None:
        for label in ("jax grad (fori_loop)", "jax hvp (fori_loop)", "jax hvp (vectorized)"):
            section.skip(label, "jax not installed")
    else:
        dx, dv = jax.numpy.asarray(x), jax.numpy.asarray(v)
        loop, vectorized = jax_rosenbrock_loop(jax), jax_rosenbrock_sum(jax)

        def jitted(fn, *args):
            return lambda: jax.block_until_ready(fn(*args))

        section.add("jax grad (fori_loop)", lambda: jitted(jax.jit(jax.grad(loop)), dx))
        section.add("jax hvp (fori_loop)", lambda: jitted(jax_hvp(jax, loop), dx, dv))
        section.add("jax hvp (vectorized)", lambda: jitted(jax_hvp(jax, vectorized), dx, dv))
    for label, against in (
        ("jax grad (fori_loop)", ["numba hand grad"]),
        ("jax hvp (fori_loop)", ["numba hand hvp"]),
        ("jax hvp (vectorized)", ["numba hand hvp"]),
    ):
        section.check(label, against, oracle=True)

    section.add("adc grad", lambda: bound(grad(rosenbrock), x), adc=True)
    section.add("adc hvp", lambda: adc_hvp(x, v), adc=True)
    section.add("adc grad compiled_for", lambda: adc_compiled_grad(x), adc=True)
    section.add("adc hvp compiled_for", lambda: adc_compiled_hvp(x, v), adc=True)
    for label in ("adc grad", "adc grad compiled_for"):
        section.check(label, ["numba hand grad", "jax grad (fori_loop)"], oracle=False)
    for label in ("adc hvp", "adc hvp compiled_for"):
        section.check(label, ["numba hand hvp", "jax hvp (fori_loop)"], oracle=False)
    return section


def adc_hvp(x, v):
    from ad_compiler import hvp

    H = hvp(rosenbrock, wrt=0)
    return lambda: H(x, vector=v)


def adc_compiled_grad(x):
    f = grad(rosenbrock).compiled_for(x)
    return lambda: f(x)


def adc_compiled_hvp(x, v):
    from ad_compiler import hvp

    f = hvp(rosenbrock, wrt=0).compiled_for(x, vector=v)
    return lambda: f(x, v)


def jacobian_section(n: int, jax) -> list[Section]:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, n)
    W = rng.standard_normal((n, n)) / np.sqrt(n)
    cases = (
        (
            f"Jacobian of a recurrence writing y[i] in a loop, n = {n}",
            recurrence,
            (x,),
            recurrence_jac_hand,
            [("fori_loop", jax_recurrence_fori), ("scan", jax_recurrence_scan)],
        ),
        (
            f"Jacobian of np.tanh(W @ x) w.r.t. x, W {n}x{n}",
            layer,
            (x, W),
            layer_jac_hand,
            [("", jax_layer)],
        ),
    )
    sections = []
    for title, f, args, hand, jax_forms in cases:
        section = Section(title)
        print(title, flush=True)
        section.add("numba hand Jacobian", lambda hand=hand, args=args: bound(hand, *args))
        agree_loosely(
            f"hand Jacobian of {f.__name__} vs differences",
            hand(*args),
            central_differences(lambda z, f=f, rest=args[1:]: f(z, *rest), args[0]),
        )
        oracles = ["numba hand Jacobian"]
        for form, make in jax_forms:
            suffix = f" ({form})" if form else ""
            for way in ("jacrev", "jacfwd"):
                label = f"jax {way}{suffix}"
                if jax is None:
                    section.skip(label, "jax not installed")
                    continue
                device = tuple(jax.numpy.asarray(a) for a in args)
                jac = jax.jit(getattr(jax, way)(make(jax), argnums=0))
                section.add(label, lambda jac=jac, d=device: lambda: jax.block_until_ready(jac(*d)))
                section.check(label, ["numba hand Jacobian"], oracle=True)
                oracles.append(label)
        for mode in ("auto", "fwd", "rev"):
            label = f"adc jacobian ({mode})"
            section.add(label, lambda f=f, a=args, m=mode: adc_jacobian(f, a, m), adc=True)
            section.check(label, oracles, oracle=False)
        sections.append(section)
    return sections


def adc_jacobian(f, args, mode):
    from ad_compiler import jacobian

    J = jacobian(f, wrt=0) if mode == "auto" else jacobian(f, wrt=0, mode=mode)
    return lambda: J(*args)


# ============================================================================================


def summary(rosen: Section, jacs: list[Section]) -> str:
    lines = [
        "adc hvp ÷ adc grad (goal: at most 3x): "
        f"{rosen.ratio('adc hvp', 'adc grad')} "
        f"(compiled_for: {rosen.ratio('adc hvp compiled_for', 'adc grad compiled_for')}; "
        f"by hand: {rosen.ratio('numba hand hvp', 'numba hand grad')}; "
        f"JAX fori_loop: {rosen.ratio('jax hvp (fori_loop)', 'jax grad (fori_loop)')})",
        f"adc hvp ÷ JAX hvp, fori_loop: {rosen.ratio('adc hvp', 'jax hvp (fori_loop)')}; "
        f"vectorized: {rosen.ratio('adc hvp', 'jax hvp (vectorized)')}",
        f"adc hvp ÷ numba hand hvp: {rosen.ratio('adc hvp', 'numba hand hvp')}",
        f"adc grad ÷ numba hand grad: {rosen.ratio('adc grad', 'numba hand grad')}",
    ]
    for section in jacs:
        jax_rows = [
            label
            for label, row in section.rows.items()
            if label.startswith("jax") and row.per_call is not None
        ]
        versus = "; ".join(
            f"÷ {label}: {section.ratio('adc jacobian (auto)', label)}" for label in jax_rows
        )
        lines.append(
            f"{section.title}: adc jacobian ÷ numba hand: "
            f"{section.ratio('adc jacobian (auto)', 'numba hand Jacobian')}"
            + (f"; {versus}" if versus else "")
        )
    return "\n".join(f"- {line}" for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10**4, help="Rosenbrock size (default 10^4)")
    parser.add_argument("--jac-n", type=int, default=200, help="Jacobian sizes (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per row (median)")
    parser.add_argument(
        "--target", type=float, default=0.02, help="seconds of calls per timed round"
    )
    options = parser.parse_args(argv)
    if options.n < 13 or options.jac_n < 2 or options.repeat < 1:
        parser.error("need --n >= 13, --jac-n >= 2, --repeat >= 1")
    start = time.perf_counter()
    jax, why = load_jax()
    if jax is None:
        print(f"note: {why}: JAX rows skipped", file=sys.stderr)
    rosen = hvp_section(options.n, jax)
    jacs = jacobian_section(options.jac_n, jax)
    print("timing ...", flush=True)
    for section in [rosen, *jacs]:
        section.time(options.repeat, options.target)
    print()
    print(
        f"{cpu_name()}, {versions()}; one thread per tool, float64; median of "
        f"{options.repeat} rounds; load average at the end {os.getloadavg()[0]:.1f}; "
        f"whole run {time.perf_counter() - start:.0f} s.\n"
    )
    print(rosen.report(["adc grad", "numba hand hvp", "jax hvp (fori_loop)"]))
    print()
    for section in jacs:
        print(section.report(["numba hand Jacobian"]))
        print()
    print("Ratios (this run):\n")
    print(summary(rosen, jacs))
    bad = rosen.mismatch or any(s.mismatch for s in jacs)
    if bad:
        print("!!! ad_compiler disagrees with the oracles: see above", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
