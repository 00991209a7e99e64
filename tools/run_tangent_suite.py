"""Differentiate every function of Google Tangent's test suite with ad_compiler, on the arguments
Tangent's own tests use, and summarize the outcomes.

    python tools/run_tangent_suite.py PATH_TO_TANGENT_CHECKOUT [--backend python|numba|both]
        [--mode grad|jvp|hvp|grad2] [--every-function] [--short] [--func-filter TEXT] [--out FILE]

PATH_TO_TANGENT_CHECKOUT is a checkout of github.com/google/tangent: its tests/functions.py is
imported from there (with a stand-in for the few `tangent` names it reads; Tangent itself need not
be installed, and nothing of it is copied here). tools/tangent_suite_check.py builds the arguments
as Tangent's tests/conftest.py and test_reverse_mode.py do, differentiates with respect to every
float argument and judges each function right / refused / wrong / crash / skipped (see its
docstring). `--short` takes Tangent's own --short values (one point per function).

`--mode jvp|hvp|grad2` checks forward mode, Hessian-vector products or grad(grad(f)) instead,
on the functions and points of Tangent's forward-mode, Hessian-vector-product and
reverse-over-reverse tests (tools/tangent_suite_modes.py); `--every-function` takes every
function with Tangent's arguments and every float argument instead.

Prints a table (one line per function and backend), the totals and the refusal reasons, writes
every wrong and crash with a reproducer to FILE (default tangent_suite_out.md), and exits 1 when
anything is wrong or crashed.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import sys
import time
from pathlib import Path

import numpy as np

# This checkout's ad_compiler, not whichever one the environment installed (an editable
# install of another worktree would otherwise be judged).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tangent_suite_check as suite  # noqa: E402
import tangent_suite_modes as modes  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of google/tangent")
    parser.add_argument("--backend", choices=("python", "numba", "both"), default="python")
    parser.add_argument("--mode", choices=("grad", *modes.MODES), default="grad")
    parser.add_argument(
        "--every-function", action="store_true", help="jvp/hvp/grad2: not only Tangent's set"
    )
    parser.add_argument("--short", action="store_true", help="Tangent's --short arguments")
    parser.add_argument("--func-filter", default=None, help="only functions whose name has it")
    parser.add_argument("--out", type=Path, default=Path("tangent_suite_out.md"))
    parser.add_argument("--json", type=Path, default=None, help="also write the records here")
    options = parser.parse_args(argv)

    functions = suite.load_functions(options.checkout)
    if options.mode != "grad":
        functions += modes.load_hvp_functions(options.checkout)
    if options.func_filter:
        functions = [f for f in functions if options.func_filter in f.__name__]
    backends = ("python", "numba") if options.backend == "both" else (options.backend,)
    records = []
    for backend in backends:
        for fn in functions:
            start = time.perf_counter()
            if options.mode == "grad":
                record = suite.check_function(fn, backend, options.short)
            else:
                record = modes.check_function(
                    fn, options.mode, backend, options.short, options.every_function
                )
            record["seconds"] = round(time.perf_counter() - start, 2)
            records.append(record)
            if record["outcome"] != "skipped":
                print(line(record), flush=True)
    print()
    print(totals(records, options.mode))
    bad = [r for r in records if r["outcome"] in ("wrong", "crash")]
    options.out.write_text(reproducers(bad, functions, options.mode), encoding="utf-8")
    print(f"{len(bad)} wrong/crash; reproducers in {options.out}")
    if options.json is not None:
        with options.json.open("w", encoding="utf-8") as handle:
            for r in records:
                handle.write(json.dumps(r, default=_jsonable) + "\n")
    return 1 if bad else 0


def line(r: dict) -> str:
    mark = "*" if r["blacklisted"] else " "
    counts = r.get("counts")
    points = f"{counts['right']}/{r['points']}" if counts else ""
    reason = r["reason"].replace("\n", " ")
    if r.get("cpython", "runs") != "runs":
        reason = f"[CPython {r['cpython'].split(':')[0]}] {reason}"
    if len(reason) > 110:
        reason = reason[:107] + "..."
    return (
        f"{mark}{r['function']:<30}{r['backend']:<8}{r['outcome']:<9}{points:>9}"
        f"{r['seconds']:>7.1f}s  {reason}"
    )


def totals(records: list[dict], mode: str = "grad") -> str:
    lines = [f"mode {mode} (* = on the blacklist of Tangent's conftest.py; points = right/all)"]
    lines.append("")
    header = f"{'backend':<9}{'functions':>10}" + "".join(f"{o:>9}" for o in suite.OUTCOMES)
    lines += [header, "-" * len(header)]
    by_backend = collections.defaultdict(collections.Counter)
    for r in records:
        by_backend[r["backend"]][r["outcome"]] += 1
    for backend, c in by_backend.items():
        row = f"{backend:<9}{sum(c.values()):>10}"
        lines.append(row + "".join(f"{c[o]:>9}" for o in suite.OUTCOMES))
    reasons = collections.defaultdict(list)
    for r in records:
        if r["outcome"] in ("refused", "crash", "skipped"):
            key = r["reason"].split(":")[0] if ":" in r["reason"] else r["reason"]
            reasons[(r["backend"], r["outcome"], key)].append(r["function"])
    lines.append("")
    raising = [
        f"{r['function']} ({r['backend']})" for r in records if "raises" in r.get("cpython", "")
    ]
    if raising:
        lines.append(f"refused where CPython raises too ({len(raising)}): {', '.join(raising)}")
    for (backend, outcome, key), names in sorted(reasons.items()):
        lines.append(f"{backend} {outcome} {key} ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)


def reproducers(bad: list[dict], functions: list, mode: str = "grad") -> str:
    by_name = {f.__name__: f for f in functions}
    parts = [f"# Tangent's functions through ad_compiler ({mode}): {len(bad)} wrong or crashed\n"]
    for r in bad:
        fn = by_name[r["function"]]
        parts.append(f"## {r['outcome']}: {r['function']} ({r['backend']})\n")
        parts.append(f"- {r['reason'].strip()}")
        parts.append(f"- wrt {r.get('wrt')}, arguments `{_code(r.get('args'))}`")
        for key in ("direction", "value", "got_value", "got", "central", "autograd"):
            if key in r:
                parts.append(f"- {key}: `{_code(r[key])}`")
        parts.append("\n```python\n" + inspect.getsource(fn).rstrip() + "\n```")
        if "traceback" in r:
            parts.append("\n```\n" + r["traceback"].rstrip() + "\n```")
        parts.append("")
    return "\n".join(parts) + "\n"


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _code(value) -> str:
    with np.printoptions(precision=17, threshold=50):
        text = repr(value)
    return text if len(text) <= 800 else text[:800] + " ..."


if __name__ == "__main__":
    sys.exit(main())
