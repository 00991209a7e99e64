"""The benchmark suite: ad_compiler's gradients against hand-written ones, JAX, PyTorch and
HIPS autograd, on the cases of `cases.py` and `more_cases.py` (issue 15's list).

    OPENBLAS_NUM_THREADS=1 python benchmarks/run.py [--quick] [--only CASE[,CASE...]]
        [--tools primal,adc,hand,jax,torch,autograd] [--rnn-steps N] [--slow-peers]
        [--results PATH] [--plot PATH]

Every (tool, case) pair runs in a fresh process of its own, single-threaded (OpenBLAS, XLA's
Eigen pool, torch's intra- and inter-op pools), in float64. A process first times the first call
(ad_compiler with an empty cache: parse, differentiate, generate, numba compile; numba compiling
the hand-written gradient; JAX tracing and compiling), then checks its gradient against
ad_compiler's and the hand-written one (rtol 1e-8), measures the peak memory of one call where
the case asks (the RNN, RK4), and only then times the per-call cost: the median of repeated
calls. ad_compiler's first call is also timed in a second fresh process with the cache left by
the first (warm cache), together with that process's whole start-up (importing numba and
ad_compiler, building, calling), which is set against numba's own start-up (a fresh process
importing numba and calling a trivial cached njit function) measured right after.

Tools and what they time:
  primal    the forward pass: NumPy (for loop cases its vectorized twin; plain Python for the
            scalar cases) and compiled by numba
  adc       ad_compiler's grad(): the normal call, and the function of .compiled_for(*args)
            (the compiled code alone, without the call's checks and conversions); on the RNN
            also grad(f, checkpoint=True) ("adc checkpoint"; "not supported" while grad()
            has no such option)
  hand      the gradient written by hand as an expert would, compiled by numba (and in NumPy
            for vectorized cases)
  jax       jax.jit(jax.grad(...)); for Rosenbrock also a lax.fori_loop version (jax fori_loop),
            for the RNN also scans of jax.checkpoint'ed segments (jax checkpoint)
  torch     torch.autograd.grad of the forward pass
  autograd  autograd.grad (skipped on the 10^5-step RNN unless --slow-peers)
Tools whose package is not installed are skipped with a note. `--only` takes case names or
shell patterns (gmm_*). `--quick` runs small cases (the RNN at 1000 steps). Results: a Markdown
report (default benchmarks/results.md; `report.py` writes it), printed too, and a plot (default
docs/benchmarks.png). The report lists every miss against issue 15's targets.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import fnmatch
import importlib.metadata
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import NOT_SUPPORTED, RTOL, TOOL_LABELS, plot, report  # noqa: E402

TOOLS = ("primal", "adc", "hand", "jax", "torch", "autograd")
PEERS = ("jax", "torch", "autograd")
THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


# ============================================================================================
# The child process: one tool on one case


def per_call(jobs: list[tuple[str, object, tuple]], quick: bool) -> dict[str, float]:
    """Median seconds per call of each fn(*args) in `jobs`: repeats of a loop long enough to
    time, the jobs' repeats interleaved so that other work on the machine hits them alike."""
    timers = []
    target = 0.002 if quick else 0.02
    for label, fn, args in jobs:
        timer = timeit.Timer("fn(*args)", globals={"fn": fn, "args": args})
        number, elapsed = 1, timer.timeit(1)
        while elapsed < target:
            number *= max(2, min(10, int(target / max(elapsed, 1e-9)) + 1))
            elapsed = timer.timeit(number)
        timers.append((label, timer, number, elapsed))
    budget = 0.3 if quick else 2.0
    one_round = sum(t[3] for t in timers)
    samples = {label: [elapsed / number] for label, _, number, elapsed in timers}
    if one_round > 5.0:  # calls of many seconds (the RNN's Python-loop peers): that one call
        return {label: values[0] for label, values in samples.items()}
    samples = {label: [] for label in samples}
    rounds = int(budget / one_round)
    least = 3 if quick or one_round > 0.5 else 5
    rounds = max(least, min(5 if quick else 31, rounds))
    for _ in range(rounds):
        for label, timer, number, _elapsed in timers:
            samples[label].append(timer.timeit(number) / number)
    return {label: statistics.median(values) for label, values in samples.items()}


def compare(got: tuple, ref: tuple) -> tuple[bool, float]:
    """Entry by entry to rtol 1e-8 (with atol 1e-8 times the largest reference entry, for
    entries near zero); also the largest difference over the largest reference entry."""
    import numpy as np

    if len(got) != len(ref):
        return False, float("inf")
    ok, worst = True, 0.0
    for a, b in zip(got, ref):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            return False, float("inf")
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        ok = ok and bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale))
        if b.size:
            worst = max(worst, float(np.max(np.abs(a - b))) / max(scale, 1e-300))
    return ok, worst


def _proc_status(field: str) -> int:
    """A `Vm...` line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def peak_growth(fn) -> float | str:
    """Bytes by which one call of fn() raises the process's peak resident memory above what is
    resident before it. The peak is reset first (Linux: "5" into /proc/self/clear_refs), after
    a collection and malloc_trim, so that earlier calls (compiling, the checks) do not count and
    memory freed by them is not silently reused."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _proc_status("VmRSS")
    except OSError:
        return "n/a"
    fn()
    return float(max(_proc_status("VmHWM") - before, 0))


def settle(g, args: tuple, budget: float = 60.0) -> None:
    """Time the steady state: array gradients start on NumPy and move to numba once hot
    (ad_compiler/tiering.py, after 20 calls or 0.5 s). Call until hot, then wait for the
    background build, so that no timing runs beside numba compiling in the same process."""
    from ad_compiler import tiering

    def trying() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "ad_compiler tier-up"]

    start = time.perf_counter()
    for _ in range(tiering.HOT_CALLS):
        if trying() or time.perf_counter() - start > budget:
            break
        g(*args)
    for thread in trying():
        thread.join()


class Child:
    def __init__(self, tool: str, case, work: Path, quick: bool) -> None:
        self.tool, self.case, self.work, self.quick = tool, case, work, quick
        self.result = {
            "tool": tool,
            "case": case.name,
            "times": {},
            "first": {},
            "memory": {},
            "checks": [],
            "notes": [],
        }

    def save(self, label: str, grads: tuple) -> None:
        import numpy as np

        np.savez(self.work / f"{self.case.name}.{label}.npz", *[np.asarray(g) for g in grads])

    def load(self, label: str) -> tuple | None:
        import numpy as np

        path = self.work / f"{self.case.name}.{label}.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            return tuple(data[f"arr_{i}"] for i in range(len(data.files)))

    def check(self, who: str, grads: tuple, against: tuple[str, ...]) -> None:
        for label in against:
            ref = self.load(label)
            if ref is None:
                continue
            ok, worst = compare(grads, ref)
            self.result["checks"].append(
                {"tool": who, "against": label, "ok": ok, "max_rel": worst}
            )
            if not ok:
                print(
                    f"!!! GRADIENT MISMATCH: {who} vs {label} on {self.case.name}: "
                    f"max relative difference {worst:.3g}",
                    file=sys.stderr,
                )

    def first(self, label: str, fn):
        start = time.perf_counter()
        out = fn()
        self.result["first"][label] = time.perf_counter() - start
        (self.work / f"{self.case.name}.{self.tool}.first").write_text("done")
        return out

    def time(self, jobs: list[tuple[str, object, tuple]]) -> None:
        self.result["times"].update(per_call(jobs, self.quick))

    def memory(self, label: str, fn, args: tuple = ()) -> None:
        if self.case.memory:
            self.result["memory"][label] = peak_growth(lambda: fn(*args))

    def run(self, first_only: bool) -> dict:
        case = self.case
        args = case.make_args()
        nargs = args[: case.numba_nargs] if case.numba_nargs else args
        if self.tool == "primal":
            from numba import njit

            compiled = njit(case.numba_primal)
            self.first("primal numba", lambda: compiled(*nargs))
            self.memory("primal numba", compiled, nargs)
            self.time(
                [("primal NumPy", case.numpy_primal, args), ("primal numba", compiled, nargs)]
            )
        elif self.tool in ("adc", "adc-ckpt"):
            # the start-up of a process: imports, building the gradient and its first call
            start = time.perf_counter()
            import numba  # noqa: F401  (imported before timing, as for the hand-written gradient)

            from ad_compiler import grad

            holder = {}
            options = {"checkpoint": True} if self.tool == "adc-ckpt" else {}
            label = TOOL_LABELS.get(self.tool, self.tool)
            try:
                holder["g"] = grad(case.primal, wrt=case.wrt, **options)
            except TypeError as exc:
                if not options:
                    raise
                self.result["first"][label] = self.result["times"][label] = NOT_SUPPORTED
                self.result["memory"][label] = NOT_SUPPORTED
                self.result["notes"].append(f"{label}: grad(..., checkpoint=True) raises {exc}")
                return self.result

            def build():
                if not options:  # building is part of the first call
                    holder["g"] = grad(case.primal, wrt=case.wrt)
                return holder["g"](*args)

            out = self.first(label, build)
            self.result["first"]["start-up"] = time.perf_counter() - start
            if first_only:
                return self.result
            g = holder["g"]
            out = out if isinstance(out, tuple) else (out,)
            self.save(self.tool, out)
            if not options:
                (self.work / f"{case.name}.adc.py").write_text(g.source_for(*args))
            self.check(label, out, ("hand",) if not options else ("hand", "adc"))
            settle(g, args)
            self.memory(label, g, args)
            if options:
                self.time([(label, g, args)])
            else:
                self.time([("adc", g, args), ("adc compiled_for", g.compiled_for(*args), args)])
        elif self.tool == "hand":
            from numba import njit

            compiled = njit(case.numba_hand)
            out = self.first("hand numba", lambda: compiled(*nargs))
            self.check("hand numba", out, ("adc",))
            self.save("hand", out)
            self.memory("hand numba", compiled, nargs)
            if case.numpy_hand is not None:
                self.check("hand NumPy", case.numpy_hand(*args), ("adc", "hand"))
            self.time(
                [("hand numba", compiled, nargs)]
                + ([("hand NumPy", case.numpy_hand, args)] if case.numpy_hand is not None else [])
            )
        else:
            import peers

            label = TOOL_LABELS.get(self.tool, self.tool)
            first, call, convert = peers.BUILDERS[self.tool](case, args)
            out = self.first(label, first)
            self.check(label, convert(out), ("adc", "hand"))
            self.memory(label, call)
            self.time([(label, call, ())])
        return self.result


def child_main(options) -> None:
    from cases import all_cases

    case = next(c for c in all_cases(options.rnn_steps) if c.name == options.case)
    child = Child(options.child, case, Path(options.work), options.quick)
    try:
        result = child.run(options.first_only)
    except Exception as exc:
        traceback.print_exc()
        result = child.result
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    print("RESULT " + json.dumps(result))


# ============================================================================================
# The parent: runs the children, writes the report


def installed(tool: str) -> bool:
    module = tool.split("-")[0]
    return module not in PEERS or importlib.util.find_spec(module) is not None


def run_child(
    tool: str,
    case,
    work: Path,
    quick: bool,
    timeout: float,
    env_extra: dict,
    first_only: bool = False,
    first_timeout: float | None = None,
    rnn_steps: int = 0,
) -> dict:
    """Run one child; kill it after `timeout` seconds, or after `first_timeout` seconds if its
    first call (JAX: tracing and compiling) has not finished by then."""
    env = dict(os.environ, **THREAD_ENV, **env_extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if tool.startswith("jax"):
        env["XLA_FLAGS"] = XLA_FLAGS
        env["JAX_PLATFORMS"] = "cpu"
    command = (
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            tool,
            "--case",
            case.name,
            "--work",
            str(work),
            "--rnn-steps",
            str(rnn_steps),
        ]
        + (["--quick"] if quick else [])
        + (["--first-only"] if first_only else [])
    )
    marker = work / f"{case.name}.{tool}.first"
    marker.unlink(missing_ok=True)
    failed = {"tool": tool, "case": case.name, "times": {}, "first": {}, "memory": {}, "checks": []}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while True:
        try:
            stdout, stderr = process.communicate(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            elapsed = time.perf_counter() - start
            compiling = (
                first_timeout is not None and elapsed > first_timeout and not marker.exists()
            )
            if compiling or elapsed > timeout:
                process.kill()
                process.communicate()
                what = f"timeout after {elapsed:.0f} s" + (
                    " (first call: tracing/compiling)" if not marker.exists() else " (while timing)"
                )
                return dict(failed, error=what, timeout=True)
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            if result.get("error"):
                sys.stderr.write(stderr[-3000:])
            return result
    sys.stderr.write(stderr[-3000:])
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return dict(failed, error=f"exit code {process.returncode}: {last}")


NUMBA_STARTUP = """
import sys, time
import numpy
start = time.perf_counter()
import numba

@numba.njit(cache=True)
def trivial(x):
    return x + 1.0

trivial(1.0)
print(time.perf_counter() - start)
"""


def numba_startup(work: Path, runs: int = 1) -> float | None:
    """Seconds a fresh process takes to import numba and call a trivial njit function loaded
    from numba's cache (NumPy imported before): the floor a warm second process is compared
    against. The median of `runs` processes; the first call of a run also fills the cache."""
    script = work / "numba_startup.py"
    cache = work / "numba-cache"
    fill = not script.exists()
    script.write_text(NUMBA_STARTUP)
    env = dict(os.environ, **THREAD_ENV, NUMBA_CACHE_DIR=str(cache))
    times = []
    try:
        for _ in range(runs + fill):
            out = subprocess.run(
                [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
            )
            times.append(float(out.stdout.strip().splitlines()[-1]))
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None
    return statistics.median(times[fill:])


def compile_bytecode() -> None:
    """Write ad_compiler's bytecode (__pycache__), as pip does when it installs a package: an
    editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module from
    source in every process (about 0.4 s of each start-up), which numba, installed with its
    bytecode, does not pay."""
    import ad_compiler

    compileall.compile_dir(os.path.dirname(ad_compiler.__file__), quiet=1)


def tools_for(case, tools: list[str]) -> list[str]:
    chosen = [t for t in ("adc", "hand", "primal") if t in tools]
    if case.checkpoint and "adc" in tools:
        chosen.append("adc-ckpt")
    for peer in PEERS:
        if peer in tools:
            chosen.append(peer)
            if peer == "jax" and case.family == "rosenbrock":
                chosen.append("jax-loop")
            if peer == "jax" and case.checkpoint:
                chosen.append("jax-ckpt")
    return chosen


def run_case(case, tools: list[str], work: Path, options) -> dict:
    """All tools on one case: {"times": {...}, "first": {...}, "checks": [...], "notes": [...]}"""
    merged = {"times": {}, "first": {}, "memory": {}, "checks": [], "notes": []}
    for stale in work.glob(f"{case.name}.*"):
        stale.unlink()
    for tool in tools_for(case, tools):
        if not installed(tool):
            merged["notes"].append(f"{tool}: not installed, skipped")
            continue
        if tool in case.slow_peers and not options.slow_peers:
            merged["notes"].append(
                f"{tool}: skipped ({case.slow_peers[tool]}; --slow-peers runs it)"
            )
            merged["times"][tool] = merged["first"][tool] = "skipped"
            if case.memory:
                merged["memory"][tool] = "skipped"
            continue
        env_extra, first_timeout = {}, None
        cache = None
        if tool.startswith("adc"):
            cache = tempfile.mkdtemp(prefix="adc-cache-")
            env_extra["AD_COMPILER_CACHE_DIR"] = cache
        if tool.startswith("jax"):
            first_timeout = options.jax_timeout
        start = time.perf_counter()
        child = dict(first_timeout=first_timeout, rnn_steps=options.rnn_steps)
        result = run_child(tool, case, work, options.quick, options.timeout, env_extra, **child)
        result["first"].pop("start-up", None)
        if tool == "adc" and not result.get("error"):
            warm = run_child(
                tool, case, work, options.quick, options.timeout, env_extra, True, **child
            )
            if "adc" in warm["first"]:
                result["first"]["adc, warm cache"] = warm["first"]["adc"]
                result["first"]["adc warm start-up"] = warm["first"]["start-up"]
                # numba's own start-up measured right after, under the same load
                result["first"]["numba start-up"] = numba_startup(work)
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
        if "adc" in result["first"]:
            result["first"]["adc, cold cache"] = result["first"].pop("adc")
        merged["times"].update(result["times"])
        merged["first"].update(result["first"])
        merged["memory"].update(result.get("memory", {}))
        merged["checks"].extend(result["checks"])
        merged["notes"].extend(result.get("notes", []))
        if result.get("error"):
            label = TOOL_LABELS.get(tool, tool)
            merged["notes"].append(f"{label}: {result['error']}")
            if result.get("timeout"):
                merged["first"].setdefault(label, "timeout")
                merged["times"].setdefault(label, "timeout")
        print(
            f"  {case.name:28s} {tool:9s} {time.perf_counter() - start:6.1f} s"
            + (f"  [{result['error']}]" if result.get("error") else ""),
            flush=True,
        )
    return merged


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke test)")
    parser.add_argument("--only", help="case names or patterns, comma-separated")
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help=f"comma-separated subset of {','.join(TOOLS)} (default: all)",
    )
    parser.add_argument("--results", type=Path, default=HERE / "results.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "benchmarks.png")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--work", type=Path, help="keep gradients and generated code here")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds per (tool, case) process"
    )
    parser.add_argument(
        "--jax-timeout",
        type=float,
        default=300.0,
        help="seconds a JAX process may take to start, trace and compile",
    )
    parser.add_argument(
        "--rnn-steps",
        type=int,
        help="length of the RNN case (default 100000, with --quick 1000)",
    )
    parser.add_argument(
        "--slow-peers",
        action="store_true",
        help="also run the peers a case marks as too slow to time by default (autograd on the RNN)",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--first-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.argv = argv
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    if options.child:
        child_main(options)
        return 0
    from cases import RNN_STEPS, RNN_STEPS_QUICK, all_cases

    if options.rnn_steps is None:
        options.rnn_steps = RNN_STEPS_QUICK if options.quick else RNN_STEPS
    cases = [c for c in all_cases(options.rnn_steps) if (c.quick if options.quick else c.full)]
    if options.list:
        for case in cases:
            print(f"{case.name:28s} {case.label}{'  (quick)' if case.quick else ''}")
        return 0
    if options.only:
        patterns = [p.strip() for p in options.only.split(",") if p.strip()]
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
        if not cases:
            print(f"no case matches {options.only!r} (see --list)", file=sys.stderr)
            return 2
    tools = [t.strip() for t in options.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        print(f"unknown tools {unknown}; choose from {TOOLS}", file=sys.stderr)
        return 2
    for peer in PEERS:
        if peer in tools and not installed(peer):
            print(f"note: {peer} is not installed: skipped", file=sys.stderr)
    start = time.perf_counter()
    options.load = os.getloadavg()
    work = options.work or Path(tempfile.mkdtemp(prefix="adc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    compile_bytecode()
    try:
        options.numba_startup = numba_startup(work, runs=3) if "adc" in tools else None
        for case in cases:
            print(f"{case.name}: {case.label}", flush=True)
            results[case.name] = run_case(case, tools, work, options)
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = report(cases, results, options, time.perf_counter() - start)
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(text, encoding="utf-8")
    print()
    print(text)
    if not options.no_plot:
        plot(cases, results, options.plot)
        print(f"plot: {options.plot}")
    bad = any(not ch["ok"] for r in results.values() for ch in r["checks"])
    if bad:
        print("!!! GRADIENT MISMATCHES: see the top of the report", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
