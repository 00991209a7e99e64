"""Run HIPS autograd's own test suite with every checked function also differentiated by
ad_compiler, and summarize the outcomes.

    python tools/run_autograd_suite.py PATH_TO_AUTOGRAD_CHECKOUT [--numba 0.1] [--wrt-all]
        [--files test_numpy.py ...] [--out DIR] [--findings FILE] [--modes grad,jvp,vjp,hvp]

PATH_TO_AUTOGRAD_CHECKOUT is a checkout of github.com/HIPS/autograd (its tests/ directory is
run with pytest; nothing of it is copied here). The plugin tools/autograd_suite_plugin.py wraps
autograd's check_grads (and so combo_check), grad, value_and_grad and elementwise_grad; autograd's
own checks still run unchanged. For each checked call, tools/autograd_suite_check.py records
right / unsure / refused / wrong / crash / skipped (see its docstring) on the python backend and,
for a sample (--numba fraction), on numba. --modes also judges forward mode (jvp), vector-Jacobian
products (vjp, array outputs) and Hessian-vector products (hvp), as autograd's
check_grads(modes=["fwd", "rev"], order=2) does (tools/autograd_suite_modes.py); the default is
the gradient alone.

Writes DIR/results.jsonl (one line per check and backend) and DIR/wrong.md (every wrong and crash
with a reproducer), prints a table of counts per test file, and exits 1 when anything is wrong or
crashed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTCOMES = ("right", "unsure", "refused", "wrong", "crash", "skipped", "shim-error")
DEFAULT_FILES = (
    "test_numpy.py",
    "test_scalar_ops.py",
    "test_systematic.py",
    "test_linalg.py",
    "test_misc.py",
    "test_wrappers.py",
    "test_core.py",
    "test_binary_ops.py",
    "test_graphs.py",
    "test_logic.py",
    "test_scipy.py",
    "test_builtins.py",
    "test_direct.py",
    "test_jacobian.py",
    "test_truediv.py",
    "test_tuple.py",
    "test_list.py",
    "test_dict.py",
    "test_complex.py",
    "test_fft.py",
    "test_vspaces.py",
    "test_tests.py",
    "test_ufunc_dispatch.py",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of HIPS/autograd")
    parser.add_argument("--files", nargs="*", default=None, help="test files (default: all)")
    parser.add_argument("--numba", type=float, default=0.0, help="fraction also run on numba")
    parser.add_argument("--wrt-all", action="store_true", help="differentiate every float arg")
    parser.add_argument("--out", type=Path, default=Path("autograd_suite_out"))
    parser.add_argument("--findings", type=Path, default=None, help="append wrong/crash here")
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--summarize-only", action="store_true", help="reuse DIR/results.jsonl")
    parser.add_argument(
        "--modes", default="grad", help="comma-separated: grad, jvp, vjp, hvp, or all"
    )
    options = parser.parse_args(argv)

    out = options.out.resolve()
    results = out / "results.jsonl"
    if not options.summarize_only:
        code = run_pytest(options, out, results)
        print(f"autograd's own tests: pytest exit code {code}")
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    print(table(records))
    bad = [r for r in records if r["outcome"] in ("wrong", "crash", "shim-error")]
    report = reproducers(bad)
    (out / "wrong.md").write_text(report, encoding="utf-8")
    print(f"{len(bad)} wrong/crash/shim-error records; reproducers in {out / 'wrong.md'}")
    if options.findings is not None and bad:
        options.findings.parent.mkdir(parents=True, exist_ok=True)
        with options.findings.open("a", encoding="utf-8") as handle:
            handle.write(f"\n## autograd's test suite through ad_compiler ({len(bad)} cases)\n\n")
            handle.write(report)
    return 1 if bad else 0


def run_pytest(options, out: Path, results: Path) -> int:
    checkout = options.checkout.resolve()
    tests = checkout / "tests"
    if not tests.is_dir():
        sys.exit(f"{checkout} has no tests/ directory: give a checkout of HIPS/autograd")
    out.mkdir(parents=True, exist_ok=True)
    if results.exists():
        results.unlink()
    files = options.files or [f for f in DEFAULT_FILES if (tests / f).exists()]
    env = dict(os.environ)
    env.update(
        ADSUITE_OUT=str(results),
        ADSUITE_GEN=str(out / "gen"),
        ADSUITE_NUMBA=str(options.numba),
        ADSUITE_WRT_ALL="1" if options.wrt_all else "",
        ADSUITE_MODES=options.modes,
        OPENBLAS_NUM_THREADS="1",
        # This repository's ad_compiler (a worktree's, not an installed one), then tools/.
        PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "autograd_suite_plugin",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-o",
        "required_plugins=",
        "--rootdir",
        str(checkout),
        *(["-k", options.k] if options.k else []),
        *[str(tests / f) for f in files],
    ]
    print(f"ad_compiler from {HERE.parent / 'ad_compiler'}", flush=True)
    return subprocess.call(command, cwd=checkout, env=env)


def table(records: list[dict]) -> str:
    """Counts per test file, mode and backend, then totals per mode and backend."""
    counts: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in records:
        counts[(r["file"], r.get("check", "grad"), r.get("backend", "-"))][r["outcome"]] += 1
    total: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for (_, mode, backend), c in counts.items():
        total[(mode, backend)].update(c)
    header = f"{'file':<26}{'mode':<6}{'backend':<9}" + "".join(f"{o:>11}" for o in OUTCOMES)
    lines = [header, "-" * len(header)]
    rows = sorted(counts.items()) + [(("TOTAL",) + k, c) for k, c in sorted(total.items())]
    for (file, mode, backend), c in rows:
        cells = "".join(f"{c[o]:>11}" for o in OUTCOMES)
        lines.append(f"{file:<26}{mode:<6}{backend:<9}{cells}")
    for mode in sorted({r.get("check", "grad") for r in records}):
        mine = [r for r in records if r.get("check", "grad") == mode]
        refusals = collections.Counter(
            r["reason"].split(":")[0] for r in mine if r["outcome"] == "refused"
        )
        skips = collections.Counter(r["reason"] for r in mine if r["outcome"] == "skipped")
        lines.append("")
        lines.append(
            f"[{mode}] refusals by error: "
            + ", ".join(f"{k} {v}" for k, v in refusals.most_common())
        )
        lines.append(
            f"[{mode}] skipped: " + "; ".join(f"{k} ({v})" for k, v in skips.most_common())
        )
    return "\n".join(lines)


def reproducers(bad: list[dict]) -> str:
    parts = []
    for r in bad:
        parts.append(f"### {r['outcome']}: {r['nodeid']} (check {r['index']}, {r['origin']})\n")
        parts.append(
            f"- check {r.get('check', 'grad')}, backend {r.get('backend')}, "
            f"{r.get('mode')}, wrt {r.get('wrt')}"
        )
        parts.append(f"- {r.get('reason', '').strip()}")
        if "source" in r:
            parts.append("\n```python\n" + r["source"].rstrip() + "\n```")
            parts.append(f"- args: `{', '.join(r['args'])}`")
            if r.get("kwargs"):
                parts.append(f"- kwargs: `{r['kwargs']}`")
            if r.get("cotangent"):
                parts.append(f"- cotangent c: `{r['cotangent']}`")
            for key in ("tangent", "vector"):  # jvp's and hvp's direction, per wrt leaf
                if r.get(key):
                    parts.append(f"- {key} (per differentiated leaf): `{', '.join(r[key])}`")
            for key in ("jvp_source", "vjp_source"):
                if r.get(key) and r[key] != r["source"]:
                    parts.append(f"- {key}:\n\n```python\n{r[key].rstrip()}\n```")
        for key in ("value", "got_value", "autograd", "central", "got"):
            if key in r:
                parts.append(f"- {key}: `{_short(r[key])}`")
        if "traceback" in r:
            parts.append("\n```\n" + r["traceback"].rstrip() + "\n```")
        parts.append("")
    return "\n".join(parts) + "\n"


def _short(value, limit: int = 600) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + " ..."


if __name__ == "__main__":
    sys.exit(main())
