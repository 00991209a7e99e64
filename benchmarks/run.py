"""The benchmark suite: ad_compiler's gradients against hand-written ones, JAX, PyTorch and
HIPS autograd, on the cases of `cases.py`.

    OPENBLAS_NUM_THREADS=1 python benchmarks/run.py [--quick] [--only CASE[,CASE...]]
        [--tools primal,adc,hand,jax,torch,autograd] [--results PATH] [--plot PATH]

Every (tool, case) pair runs in a fresh process of its own, single-threaded (OpenBLAS, XLA's
Eigen pool, torch's intra- and inter-op pools), in float64. A process first times the first call
(ad_compiler with an empty cache: parse, differentiate, generate, numba compile; numba compiling
the hand-written gradient; JAX tracing and compiling), then checks its gradient against
ad_compiler's and the hand-written one (rtol 1e-8) and only then times the per-call cost: the
median of repeated calls. ad_compiler's first call is also timed in a second fresh process with
the cache left by the first (warm cache).

Tools and what they time:
  primal    the forward pass: NumPy (for loop cases its vectorized twin; plain Python for the
            scalar cases) and compiled by numba
  adc       ad_compiler's grad(): the normal call, and the function of .compiled_for(*args)
            (the compiled code alone, without the call's checks and conversions)
  hand      the gradient written by hand, compiled by numba (and in NumPy for vectorized cases)
  jax       jax.jit(jax.grad(...)), and for Rosenbrock also a lax.fori_loop version (jax-loop)
  torch     torch.autograd.grad of the forward pass
  autograd  autograd.grad
Tools whose package is not installed are skipped with a note. `--only` takes case names or
shell patterns (gmm_*). Results: a Markdown report (default benchmarks/results.md), printed too,
and a plot (default docs/benchmarks.png).
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

TOOLS = ("primal", "adc", "hand", "jax", "torch", "autograd")
PEERS = ("jax", "torch", "autograd")
RTOL = 1e-8
PEER_LABELS = ("jax", "jax fori_loop", "torch", "autograd")
PER_CALL_COLUMNS = (
    "primal NumPy",
    "primal numba",
    "hand numba",
    "hand NumPy",
    "adc",
    "adc compiled_for",
) + PEER_LABELS
FIRST_CALL_COLUMNS = (
    "adc, cold cache",
    "adc, warm cache",
    "hand numba",
    "primal numba",
    "jax",
    "jax fori_loop",
    "torch",
    "autograd",
)
BASE = "hand numba"
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
    budget = 0.3 if quick else 3.0
    rounds = int(budget / sum(t[3] for t in timers))
    rounds = max(3 if quick else 5, min(5 if quick else 31, rounds))
    samples = {label: [] for label, *_ in timers}
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


class Child:
    def __init__(self, tool: str, case, work: Path, quick: bool) -> None:
        self.tool, self.case, self.work, self.quick = tool, case, work, quick
        self.result = {
            "tool": tool,
            "case": case.name,
            "times": {},
            "first": {},
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

    def run(self, first_only: bool) -> dict:
        case = self.case
        args = case.make_args()
        nargs = args[: case.numba_nargs] if case.numba_nargs else args
        if self.tool == "primal":
            from numba import njit

            compiled = njit(case.numba_primal)
            self.first("primal numba", lambda: compiled(*nargs))
            self.time(
                [("primal NumPy", case.numpy_primal, args), ("primal numba", compiled, nargs)]
            )
        elif self.tool == "adc":
            import numba  # noqa: F401  (imported before timing, as for the hand-written gradient)

            from ad_compiler import grad

            holder = {}

            def build():
                holder["g"] = grad(case.primal, wrt=case.wrt)
                return holder["g"](*args)

            out = self.first("adc", build)
            if first_only:
                return self.result
            g = holder["g"]
            out = out if isinstance(out, tuple) else (out,)
            self.save("adc", out)
            (self.work / f"{case.name}.adc.py").write_text(g.source_for(*args))
            self.check("adc", out, ("hand",))
            self.time([("adc", g, args), ("adc compiled_for", g.compiled_for(*args), args)])
        elif self.tool == "hand":
            from numba import njit

            compiled = njit(case.numba_hand)
            out = self.first("hand numba", lambda: compiled(*nargs))
            self.check("hand numba", out, ("adc",))
            self.save("hand", out)
            if case.numpy_hand is not None:
                self.check("hand NumPy", case.numpy_hand(*args), ("adc", "hand"))
            self.time(
                [("hand numba", compiled, nargs)]
                + ([("hand NumPy", case.numpy_hand, args)] if case.numpy_hand is not None else [])
            )
        else:
            import peers

            label = "jax fori_loop" if self.tool == "jax-loop" else self.tool
            first, call, convert = peers.BUILDERS[self.tool](case, args)
            out = self.first(label, first)
            self.check(label, convert(out), ("adc", "hand"))
            self.time([(label, call, ())])
        return self.result


def child_main(options) -> None:
    from cases import all_cases

    case = next(c for c in all_cases() if c.name == options.case)
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
    module = {"jax-loop": "jax"}.get(tool, tool)
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
        ]
        + (["--quick"] if quick else [])
        + (["--first-only"] if first_only else [])
    )
    marker = work / f"{case.name}.{tool}.first"
    marker.unlink(missing_ok=True)
    failed = {"tool": tool, "case": case.name, "times": {}, "first": {}, "checks": []}
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


def tools_for(case, tools: list[str]) -> list[str]:
    chosen = [t for t in ("adc", "hand", "primal") if t in tools]
    for peer in PEERS:
        if peer in tools:
            chosen.append(peer)
            if peer == "jax" and case.family == "rosenbrock":
                chosen.append("jax-loop")
    return chosen


def run_case(case, tools: list[str], work: Path, options) -> dict:
    """All tools on one case: {"times": {...}, "first": {...}, "checks": [...], "notes": [...]}"""
    merged = {"times": {}, "first": {}, "checks": [], "notes": []}
    for stale in work.glob(f"{case.name}.*"):
        stale.unlink()
    for tool in tools_for(case, tools):
        if not installed(tool):
            merged["notes"].append(f"{tool}: not installed, skipped")
            continue
        env_extra, first_timeout = {}, None
        cache = None
        if tool == "adc":
            cache = tempfile.mkdtemp(prefix="adc-cache-")
            env_extra["AD_COMPILER_CACHE_DIR"] = cache
        if tool.startswith("jax"):
            first_timeout = options.jax_timeout
        start = time.perf_counter()
        result = run_child(
            tool, case, work, options.quick, options.timeout, env_extra, first_timeout=first_timeout
        )
        if tool == "adc" and not result.get("error"):
            warm = run_child(
                tool, case, work, options.quick, options.timeout, env_extra, first_only=True
            )
            if "adc" in warm["first"]:
                result["first"]["adc, warm cache"] = warm["first"]["adc"]
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
        if "adc" in result["first"]:
            result["first"]["adc, cold cache"] = result["first"].pop("adc")
        merged["times"].update(result["times"])
        merged["first"].update(result["first"])
        merged["checks"].extend(result["checks"])
        if result.get("error"):
            label = "jax fori_loop" if tool == "jax-loop" else tool
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


# -- formatting -------------------------------------------------------------------------------


def fmt_time(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return str(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{value:.{digits}f} {unit}"
    return str(seconds)


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def fastest_peer(times: dict) -> tuple[str, float] | None:
    peers = [(label, times[label]) for label in PEER_LABELS if isinstance(times.get(label), float)]
    return min(peers, key=lambda p: p[1]) if peers else None


def slow_flags(case, data: dict) -> list[str]:
    times = data["times"]
    flags = []
    if not isinstance(times.get("adc"), float):
        return flags
    if isinstance(times.get(BASE), float) and times["adc"] > 1.5 * times[BASE]:
        flags.append(
            f"adc {fmt_time(times['adc'])} is {fmt_ratio(times['adc'] / times[BASE])}"
            f" the hand-written numba gradient ({fmt_time(times[BASE])}); "
            f"compiled_for: {fmt_ratio(times['adc compiled_for'] / times[BASE])}"
        )
    best = fastest_peer(times)
    if best and times["adc"] > best[1]:
        flags.append(
            f"adc {fmt_time(times['adc'])} is slower than {best[0]} "
            f"({fmt_time(best[1])}, {fmt_ratio(times['adc'] / best[1])}); "
            f"compiled_for: {fmt_time(times['adc compiled_for'])}"
        )
    return flags


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    for name in ("numpy", "numba", "jax", "jaxlib", "torch", "autograd"):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(cases: list, results: dict, options, elapsed: float) -> str:
    present = [c for c in PER_CALL_COLUMNS if any(c in results[k.name]["times"] for k in cases)]
    firsts = [c for c in FIRST_CALL_COLUMNS if any(c in results[k.name]["first"] for k in cases)]
    out = ["# Benchmarks", ""]
    out.append(
        f"`{' '.join(['python', 'benchmarks/run.py'] + options.argv)}` on {cpu_name()} "
        f"({os.cpu_count()} cores), one thread per tool, float64; {versions()}. "
        f"Whole run: {elapsed / 60:.1f} min; load average (1 min) at the start "
        f"{options.load[0]:.1f}, at the end {os.getloadavg()[0]:.1f}: other work on "
        "the machine slows every tool alike but adds noise."
    )
    out.append("")
    mismatches = [(c.name, ch) for c in cases for ch in results[c.name]["checks"] if not ch["ok"]]
    if mismatches:
        out.append("## !!! GRADIENT MISMATCHES")
        out.append("")
        for name, ch in mismatches:
            out.append(
                f"- **{name}: {ch['tool']} disagrees with {ch['against']}** (max relative "
                f"difference {ch['max_rel']:.3g}, rtol {RTOL:g})"
            )
        out.append("")
    checked = sum(len(results[c.name]["checks"]) for c in cases)
    out.append(
        f"Gradients checked before timing: {checked} comparisons against ad_compiler's "
        f"and the hand-written gradient at rtol {RTOL:g}, "
        f"{'all agree' if not mismatches else f'{len(mismatches)} disagree (above)'}."
    )
    out.append("")
    out.append("## Per call")
    out.append("")
    out.append(
        "Median time of one call; in parentheses the ratio to the hand-written numba "
        "gradient (`hand numba`). `primal` columns are the forward pass only. "
        "`adc` is ad_compiler's gradient called normally, `adc compiled_for` the "
        "compiled function alone."
    )
    out.append("")
    rows = []
    for case in cases:
        times = results[case.name]["times"]
        base = times.get(BASE) if isinstance(times.get(BASE), float) else None
        row = [case.label]
        for column in present:
            t = times.get(column)
            if t is None:
                row.append("—")
            elif isinstance(t, float) and base and column != BASE:
                row.append(f"{fmt_time(t)} ({fmt_ratio(t / base)})")
            else:
                row.append(fmt_time(t))
        rows.append(row)
    out.append(table(["case"] + present, rows))
    out.append("")
    out.append("## First call")
    out.append("")
    out.append(
        "A fresh process, imports (numba, ad_compiler, jax, torch, autograd) excluded. "
        "`adc, cold cache`: parse, differentiate, "
        "generate and compile with an empty cache; `adc, warm cache`: the next process, "
        "which finds the compiled module on disk; `hand numba` / `primal numba`: numba "
        "compiling the hand-written gradient / the primal; `jax`: tracing and XLA "
        "compilation; `torch`, `autograd`: the first gradient call."
    )
    out.append("")
    rows = [
        [case.label] + [fmt_time(results[case.name]["first"].get(c, "—")) for c in firsts]
        for case in cases
    ]
    out.append(table(["case"] + list(firsts), rows))
    out.append("")
    flagged = [(c, slow_flags(c, results[c.name])) for c in cases]
    flagged = [(c, f) for c, f in flagged if f]
    out.append("## Where ad_compiler is slow")
    out.append("")
    out.append(
        "Cases where ad_compiler's gradient (normal call) takes more than 1.5x the "
        "hand-written numba gradient, or more than the fastest peer:"
    )
    out.append("")
    for case, flags in flagged:
        for flag in flags:
            out.append(f"- {case.label}: {flag}")
    if not flagged:
        out.append("- none")
    out.append("")
    out.append("## Notes")
    out.append("")
    forms = {}
    for case in cases:
        if case.peer_form:
            forms.setdefault(case.family, case.peer_form)
    for family, form in forms.items():
        out.append(f"- {family}: {form}.")
    out.append(
        "- The machine is a shared 2-core VM: the same code timed in two processes can "
        "differ by up to ~1.5x (compare `hand numba` in the GMM loops and vectorized "
        "rows: the same function on the same data)."
    )
    out.append(
        "- The loop cases' `primal NumPy` is the vectorized NumPy form of the same "
        "function (Rosenbrock, GMM); the scalar and Euler cases' is plain Python."
    )
    for case in cases:
        for note in results[case.name]["notes"]:
            out.append(f"- {case.name}: {note}")
    return "\n".join(out) + "\n"


COLORS = {
    "primal NumPy": "#bbbbbb",
    "primal numba": "#888888",
    "hand numba": "#2b2b2b",
    "hand NumPy": "#6b6b6b",
    "adc": "#d62728",
    "adc compiled_for": "#ff9896",
    "jax": "#1f77b4",
    "jax fori_loop": "#aec7e8",
    "torch": "#ff7f0e",
    "autograd": "#2ca02c",
}


def plot(cases: list, results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = []
    for case in cases:
        if case.family not in families:
            families.append(case.family)
    columns = [c for c in PER_CALL_COLUMNS if any(c in results[k.name]["times"] for k in cases)]
    ncols = 2 if len(families) > 1 else 1
    nrows = (len(families) + ncols - 1) // ncols
    widths = [sum(c.family == f for c in cases) for f in families]
    fig, axes = plt.subplots(nrows, ncols, figsize=(8 * ncols, 3.6 * nrows), squeeze=False)
    for ax, family, width in zip(axes.flat, families, widths):
        members = [c for c in cases if c.family == family]
        used = [col for col in columns if any(col in results[c.name]["times"] for c in members)]
        bar = 0.85 / max(len(used), 1)
        for j, column in enumerate(used):
            xs, ys = [], []
            for i, case in enumerate(members):
                t = results[case.name]["times"].get(column)
                if isinstance(t, float):
                    xs.append(i + (j - (len(used) - 1) / 2) * bar)
                    ys.append(t)
            ax.bar(xs, ys, bar, label=column, color=COLORS.get(column))
        ax.set_yscale("log")
        ax.set_xticks(range(width))
        ax.set_xticklabels(
            [c.label.split(", ", 1)[-1] if family.startswith("gmm") else c.label for c in members],
            fontsize=8,
            rotation=12 if width > 3 else 0,
        )
        ax.set_title(family.replace("_", " "), fontsize=10)
        ax.set_ylabel("seconds per call")
        ax.grid(axis="y", which="major", alpha=0.3)
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    handles, labels = {}, []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    order = [c for c in PER_CALL_COLUMNS if c in handles]
    fig.legend(
        [handles[c] for c in order],
        order,
        loc="lower center",
        ncol=min(len(order), 5),
        fontsize=9,
        frameon=False,
    )
    fig.suptitle(
        "Per-call time, log scale (lower is better): primal, hand-written, "
        "ad_compiler (adc) and peers",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.05 + 0.02 * (len(order) > 5), 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    from cases import all_cases

    cases = [c for c in all_cases() if c.quick or not options.quick]
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
    try:
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
