"""The command line.

`ad-compiler show FILE.py:FUNC` prints the gradient program of FUNC; `show --formula` its
closed-form derivatives; `ad-compiler trace FILE.py:FUNC --at ...` the forward and backward sweeps
at given values, node by node, and the circuit drawn with Graphviz; `ad-compiler cache info` and
`cache clear` where compiled code lives and how big it is, and remove it; `--version`.

Exit codes: 0 ok, 1 when the compiler refuses the function (any ADCompilerError), when the
function fails at the given values, or when Graphviz cannot draw; 2 for usage errors (bad
arguments, no such file or function).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import cache_admin
from ._version import __version__
from .api import BACKENDS
from .entry_points import grad
from .errors import ADCompilerError, GradientInputError, NoGradientRuleError
from .formula import formulas
from .forward import hvp, jvp
from .trace import render
from .trace import trace as trace_function

PROG = "ad-compiler"

EXAMPLES = """\
examples:
  ad-compiler show examples/lecture.py:circuit
  ad-compiler show model.py:loss --wrt W --wrt b
  ad-compiler show model.py:loss --at "x=-2, y=5, W=[[0.1, 0.5], [-0.3, 0.8]]"
  ad-compiler show model.py:loss --at "W=@weights.npy" --backend python
  ad-compiler show --formula examples/lecture.py:neuron --latex
"""

TRACE_EXAMPLES = """\
examples:
  ad-compiler trace examples/lecture.py:circuit --at "x=-2, y=5, z=-4"
  ad-compiler trace examples/lecture.py:neuron --at "w0=2, x0=-1, w1=-3, x1=-2, w2=-3" \\
      --png neuron.png
  ad-compiler trace model.py:loss --at "W=@W.npy, X=@X.npy, y=@y.npy" --wrt W --full
  ad-compiler trace examples/loops.py:oscillator_loss \\
      --at "x0=1.0, v0=0.0, k=4.0, c=0.1, n=3" --wrt x0 --wrt v0 --wrt k --wrt c --unfold
"""


class UsageError(Exception):
    """A mistake in the command line; reported in one line with exit code 2."""


# -- --at "x=-2, W=[[...]]" -------------------------------------------------------------------

_NPY_REFERENCE = re.compile(r"(=\s*)@([^,\s)]+)")


def parse_at(text: str) -> dict[str, Any]:
    """Example argument values from `name=literal, ...` (Python keyword-argument syntax).

    Values are Python literals, never evaluated as code. Nested lists become float64 arrays, and
    a value written `@path.npy` (bare or quoted) is loaded with np.load.
    """
    quoted = _NPY_REFERENCE.sub(lambda m: m.group(1) + repr("@" + m.group(2)), text)
    try:
        call = ast.parse(f"f({quoted})", mode="eval").body
    except SyntaxError:
        raise UsageError(f"--at {text!r} is not of the form name=value, name=value, ...") from None
    if call.args or any(k.arg is None for k in call.keywords):
        raise UsageError(f"--at {text!r}: every value needs a name (name=value)")
    values = {}
    for keyword in call.keywords:
        try:
            value = ast.literal_eval(keyword.value)
        except ValueError:
            raise UsageError(
                f"--at: the value of {keyword.arg} is not a literal ({ast.unparse(keyword.value)})"
            ) from None
        values[keyword.arg] = _array_or_value(keyword.arg, value)
    return values


def _array_or_value(name: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        try:
            return np.load(value[1:])
        except (OSError, ValueError) as exc:
            raise UsageError(f"--at: cannot load {name} from {value[1:]}: {exc}") from None
    if isinstance(value, dict):  # a structured argument: a dict of arrays and numbers
        return {k: _array_or_value(f"{name}[{k!r}]", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        try:
            return np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            if any(isinstance(v, dict) for v in value):  # a list of layers given as dicts
                return [_array_or_value(f"{name}[{k}]", v) for k, v in enumerate(value)]
            raise UsageError(f"--at: {name} is not a rectangular list of numbers") from None
    return value


# -- loading FILE.py:FUNC -----------------------------------------------------------------------


def load_function(target: str) -> tuple[Callable, tuple[str, ...] | None]:
    """The function named by `FILE.py:FUNC`, importing FILE from its path, and the parameters
    its @grad decorator differentiates (None if it has none)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    if not path.endswith(".py"):
        raise UsageError(f"{path} is not a Python file (expected FILE.py:FUNC)")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    module = _import_file(path)
    found = module
    for part in name.split("."):
        found = getattr(found, part, None)
    fn = getattr(found, "__wrapped__", found)  # a function decorated with @grad
    if not inspect.isfunction(fn):
        what = "no function" if found is None else f"{type(found).__name__}, not a function,"
        raise UsageError(f"{path} defines {what} named {name}")
    return fn, getattr(found, "wrt", None)


def _import_file(path: str):
    folder = str(Path(path).resolve().parent)
    name = Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)  # so the file's own sibling imports work
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(folder)
    return module


# -- show ---------------------------------------------------------------------------------------


def show(args: argparse.Namespace) -> int:
    if args.latex and not args.formula:
        raise UsageError("--latex goes with --formula")
    if args.formula:
        return show_formula(args)
    fn, decorated_wrt = load_function(args.target)
    params = list(inspect.signature(fn).parameters)
    wrt = tuple(args.wrt or decorated_wrt or params)
    try:
        gradient = grad(fn, wrt=wrt, backend=args.backend)
    except GradientInputError as exc:
        raise UsageError(str(exc)) from None
    values = parse_at(args.at) if args.at else {}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise UsageError(
            f"--at names no parameter of {fn.__name__}: {', '.join(unknown)} "
            f"(parameters: {', '.join(params)})"
        )
    example = {p: _float_if_wrt(values.get(p, 1.0), p in wrt) for p in params}
    if args.mode == "grad":
        _print_code(gradient.source_for(**example))
    else:
        _print_code(_transform_source(args.mode, fn, wrt, args.backend, example))
    return 0


MODES = ("grad", "jvp", "vjp", "jacobian", "hessian", "hvp")


def _transform_source(mode: str, fn: Callable, wrt: tuple, backend: str, example: dict) -> str:
    """The program `mode` runs for these example arguments: jacobian runs the jvp program
    (forward, one run per entry of the arguments) or the vjp program (reverse, one run per
    entry of the output), whichever needs fewer runs; hessian runs the hvp program."""
    directions = tuple(np.zeros(np.shape(example[p])) if np.ndim(example[p]) else 0.0 for p in wrt)
    direction = directions if len(wrt) > 1 else directions[0]
    jacobian_mode = mode == "jacobian"
    if jacobian_mode:
        with np.errstate(all="ignore"):
            size = int(np.size(fn(**example)))
        mode = "jvp" if sum(np.size(d) for d in directions) <= size else "vjp"
    try:
        if mode == "jvp" and jacobian_mode:
            try:  # jacobian goes to reverse mode where forward mode has no rule
                return jvp(fn, wrt=wrt, backend=backend).source_for(**example, tangent=direction)
            except NoGradientRuleError:
                mode = "vjp"
        if mode == "jvp":
            return jvp(fn, wrt=wrt, backend=backend).source_for(**example, tangent=direction)
        if mode in ("hvp", "hessian"):
            return hvp(fn, wrt=wrt, backend=backend).source_for(**example, vector=direction)
        from .vjp import vjp

        with np.errstate(all="ignore"):
            value = fn(**example)
        cotangent = np.zeros(np.shape(value)) if np.ndim(value) else 0.0
        return vjp(fn, wrt=wrt, backend=backend).source_for(**example, cotangent=cotangent)
    except GradientInputError as exc:
        raise UsageError(str(exc)) from None


def show_formula(args: argparse.Namespace) -> int:
    if args.at:
        raise UsageError("--at is not used with --formula (formulas hold for every value)")
    fn, decorated_wrt = load_function(args.target)
    params = list(inspect.signature(fn).parameters)
    wrt = tuple(args.wrt or decorated_wrt or params)
    _check_parameters("--wrt", wrt, fn, params)
    try:
        found = formulas(fn, wrt)
    except ADCompilerError as exc:
        if isinstance(exc, SyntaxError):
            raise
        raise ADCompilerError(
            f"{fn.__name__}(): {exc}; `{PROG} show` prints its gradient "
            f"program, and `{PROG} trace` its gradients at given "
            "values"
        ) from None
    sys.stdout.write(found.text(latex=args.latex) + "\n")
    return 0


def _check_parameters(option: str, names: Sequence[str], fn: Callable, params: list[str]) -> None:
    unknown = [n for n in names if n not in params]
    if unknown:
        raise UsageError(
            f"{option} names no parameter of {fn.__name__}: {', '.join(unknown)} "
            f"(parameters: {', '.join(params)})"
        )


# -- trace --------------------------------------------------------------------------------------


def trace(args: argparse.Namespace) -> int:
    fn, decorated_wrt = load_function(args.target)
    params = list(inspect.signature(fn).parameters)
    wrt = tuple(args.wrt or decorated_wrt or params)
    _check_parameters("--wrt", wrt, fn, params)
    values = parse_at(args.at)
    _check_parameters("--at", list(values), fn, params)
    missing = [p for p in params if p not in values]
    if missing:
        raise UsageError(
            f"--at gives no value for {', '.join(missing)} (the trace runs "
            f"{fn.__name__} on values: give every parameter)"
        )
    example = [_float_if_wrt(values[p], p in wrt) for p in params]
    try:
        recorded = trace_function(fn, *example, wrt=wrt)
    except ADCompilerError as exc:
        whole = [p for p in params if _is_int(values[p])]
        if args.wrt or decorated_wrt or not whole:
            raise
        # every parameter was differentiated, so the whole numbers given became floats
        print(_describe(exc), file=sys.stderr)
        others = [p for p in params if p not in whole] or params[:1]
        print(
            "note: without --wrt every parameter is differentiated, so the whole numbers "
            f"given ({', '.join(whole)}) were read as floats; name the parameters to "
            f"differentiate, and the others stay whole: {' '.join('--wrt ' + p for p in others)}",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # the function itself failed on these values
        print(
            f"{PROG} trace: running {fn.__name__} at the --at values failed: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(recorded.table(full=args.full, unfold=args.unfold) + "\n")
    sys.stdout.flush()
    if not (args.dot or args.svg or args.png):
        return 0
    dot = recorded.to_dot()
    if args.dot:
        _write(args.dot, dot.encode())
    for fmt, path in (("svg", args.svg), ("png", args.png)):
        if not path:
            continue
        try:
            _write(path, render(dot, fmt))
        except OSError as exc:  # Graphviz is not installed
            print(f"{PROG} trace: {exc}", file=sys.stderr)
            return 1
        except subprocess.CalledProcessError as exc:
            detail = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
            print(
                f"{PROG} trace: Graphviz's dot could not draw the circuit"
                + (f": {detail}" if detail else ""),
                file=sys.stderr,
            )
            return 1
    return 0


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _float_if_wrt(value: Any, differentiated: bool) -> Any:
    """Whole numbers written for a differentiated argument (x=-2) are meant as floats."""
    if differentiated and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if differentiated and isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.float64)
    if isinstance(value, dict):
        return {k: _float_if_wrt(v, differentiated) for k, v in value.items()}
    if isinstance(value, list):
        return [_float_if_wrt(v, differentiated) for v in value]
    return value


def _print_code(source: str) -> None:
    if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        try:
            from pygments import highlight
            from pygments.formatters import TerminalFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            pass
        else:
            source = highlight(source, PythonLexer(), TerminalFormatter())
    sys.stdout.write(source if source.endswith("\n") else source + "\n")


# -- cache --------------------------------------------------------------------------------------


def cache(args: argparse.Namespace) -> int:
    if args.action == "info":
        sys.stdout.write(cache_admin.describe(cache_admin.contents()) + "\n")
        return 0
    found = cache_admin.contents() if args.dry_run else cache_admin.clear()
    did = "would remove" if args.dry_run else "removed"
    size = cache_admin.human(found.size)
    sys.stdout.write(f"{did} {found.count} files ({size}) from {found.directory}\n")
    return 0


# -- main -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="ad_compiler: reverse-mode automatic differentiation of plain Python and\n"
        "NumPy functions, by generating readable gradient code.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    show_parser = commands.add_parser(
        "show",
        help="print the generated gradient code of a function",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the gradient program ad_compiler generates for FUNC in FILE.py:\n"
        "a forward sweep, then a reverse sweep that adds upstream gradient x local\n"
        "gradient into each x_bar. Highlighted on a terminal unless NO_COLOR is set.",
    )
    show_parser.add_argument(
        "target", metavar="FILE.py:FUNC", help="the function to differentiate, e.g. model.py:loss"
    )
    show_parser.add_argument(
        "--wrt",
        action="append",
        metavar="NAME",
        help="a parameter to differentiate with respect to; repeat for "
        "several (default: those of FUNC's @grad decorator, else "
        "all parameters)",
    )
    show_parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="numba",
        help="code for numba (@njit) or plain Python (default: numba)",
    )
    show_parser.add_argument(
        "--at",
        metavar="ARGS",
        help='example arguments as Python literals, e.g. "x=-2, '
        'W=[[0.1, 0.5], [-0.3, 0.8]], b=@b.npy"; they decide which '
        "arguments are arrays (default: every argument a float). Whole numbers "
        "given for a differentiated parameter are read as floats (x=-2 is -2.0); "
        "for the others they stay integers",
    )
    show_parser.add_argument(
        "--mode",
        choices=MODES,
        default="grad",
        help="which program: the gradient (default), the Jacobian-vector product (forward "
        "mode), the vector-Jacobian product, the program jacobian runs, or the "
        "Hessian-vector product (which hessian runs too)",
    )
    show_parser.add_argument(
        "--formula",
        action="store_true",
        help="print the closed-form derivatives instead (SymPy; scalar code without loops)",
    )
    show_parser.add_argument(
        "--latex", action="store_true", help="with --formula: print them as LaTeX"
    )
    show_parser.set_defaults(run=show)

    trace_parser = commands.add_parser(
        "trace",
        help="run a function forwards and backwards at given values, node by node",
        epilog=TRACE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run FUNC at the --at values and print, for every node of its circuit:\n"
        "the forward value, the upstream gradient arriving, the local gradient of\n"
        "each input, the gradient passed on to it (upstream x local), and flags\n"
        "(zero, vanishing, exploding, nan, inf). Arrays are summarized as\n"
        "[shape] |norm| min..max. Optionally draw the circuit with Graphviz.",
    )
    trace_parser.add_argument(
        "target", metavar="FILE.py:FUNC", help="the function to trace, e.g. model.py:loss"
    )
    trace_parser.add_argument(
        "--at",
        metavar="ARGS",
        required=True,
        help="every argument's value as a Python literal, e.g. \"x=-2, "
        'W=[[0.1, 0.5], [-0.3, 0.8]], b=@b.npy". Whole numbers given for a '
        "differentiated parameter are read as floats (w0=2 is 2.0, [1, 2] a float "
        "array); for the others (loop counts, labels) they stay integers",
    )
    trace_parser.add_argument(
        "--wrt",
        action="append",
        metavar="NAME",
        help="a parameter to differentiate with respect to; repeat for "
        "several (default: those of FUNC's @grad decorator, else "
        "all parameters, whose whole numbers then count as floats)",
    )
    trace_parser.add_argument(
        "--full",
        action="store_true",
        help="print arrays in full instead of [shape] |norm| min..max",
    )
    trace_parser.add_argument(
        "--unfold",
        action="store_true",
        help="one row per loop iteration (default: a loop's nodes show "
        "their first iteration, flags over all of them)",
    )
    trace_parser.add_argument(
        "--dot", metavar="FILE", help="write the circuit as Graphviz DOT text"
    )
    trace_parser.add_argument(
        "--svg", metavar="FILE", help="draw the circuit as SVG (needs Graphviz's dot)"
    )
    trace_parser.add_argument(
        "--png", metavar="FILE", help="draw the circuit as PNG (needs Graphviz's dot)"
    )
    trace_parser.set_defaults(run=trace)

    cache_parser = commands.add_parser(
        "cache",
        help="where compiled gradients are cached, how big the cache is; clear it",
        description="Compiled gradients (the generated modules and numba's machine code) are "
        "cached on disk, in $AD_COMPILER_CACHE_DIR, else $XDG_CACHE_HOME/ad_compiler, else "
        "~/.cache/ad_compiler. `info` says where and how many files of what size; `clear` "
        "removes ad_compiler's own files there, without asking (everything is rebuilt on "
        "demand: clearing costs compile time, nothing else); other files are left alone.",
    )
    cache_parser.add_argument("action", choices=("info", "clear"), help="info or clear")
    cache_parser.add_argument(
        "--dry-run", action="store_true", help="with clear: say what would be removed, keep it"
    )
    cache_parser.set_defaults(run=cache)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argparse usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ADCompilerError as exc:
        print(_describe(exc), file=sys.stderr)
        return 1


def _describe(exc: ADCompilerError) -> str:
    """The compiler's message, with the offending line and a caret for syntax it refuses."""
    if not isinstance(exc, SyntaxError):
        return str(exc)
    lines = [exc.msg]
    if exc.text:
        code = exc.text.rstrip("\n")
        indent = len(code) - len(code.lstrip())
        lines.append("    " + code.strip())
        if exc.offset and exc.offset > indent:
            lines.append("    " + " " * (exc.offset - 1 - indent) + "^")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
