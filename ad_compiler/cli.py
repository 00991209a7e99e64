"""The command line: `ad-compiler show FILE.py:FUNC` prints the gradient program of FUNC.

Exit codes: 0 ok, 1 when the compiler refuses the function (any ADCompilerError), 2 for usage
errors (bad arguments, no such file or function).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .api import BACKENDS, grad
from .errors import ADCompilerError, GradientInputError

PROG = "ad-compiler"

EXAMPLES = """\
examples:
  ad-compiler show examples/lecture.py:circuit
  ad-compiler show model.py:loss --wrt W --wrt b
  ad-compiler show model.py:loss --at "x=-2, y=5, W=[[0.1, 0.5], [-0.3, 0.8]]"
  ad-compiler show model.py:loss --at "W=@weights.npy" --backend python
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
        raise UsageError(f"--at {text!r} is not of the form name=value, name=value, ...") \
            from None
    if call.args or any(k.arg is None for k in call.keywords):
        raise UsageError(f"--at {text!r}: every value needs a name (name=value)")
    values = {}
    for keyword in call.keywords:
        try:
            value = ast.literal_eval(keyword.value)
        except ValueError:
            raise UsageError(f"--at: the value of {keyword.arg} is not a literal "
                             f"({ast.unparse(keyword.value)})") from None
        values[keyword.arg] = _array_or_value(keyword.arg, value)
    return values


def _array_or_value(name: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        try:
            return np.load(value[1:])
        except (OSError, ValueError) as exc:
            raise UsageError(f"--at: cannot load {name} from {value[1:]}: {exc}") from None
    if isinstance(value, (list, tuple)):
        try:
            return np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
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
        raise UsageError(f"--at names no parameter of {fn.__name__}: {', '.join(unknown)} "
                         f"(parameters: {', '.join(params)})")
    example = {p: _float_if_wrt(values.get(p, 1.0), p in wrt) for p in params}
    _print_code(gradient.source_for(**example))
    return 0


def _float_if_wrt(value: Any, differentiated: bool) -> Any:
    """Whole numbers written for a differentiated argument (x=-2) are meant as floats."""
    if differentiated and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if differentiated and isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.float64)
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


# -- main -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="ad_compiler: reverse-mode automatic differentiation of plain Python and\n"
                    "NumPy functions, by generating readable gradient code.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    show_parser = commands.add_parser(
        "show", help="print the generated gradient code of a function",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the gradient program ad_compiler generates for FUNC in FILE.py:\n"
                    "a forward sweep, then a reverse sweep that adds upstream gradient x local\n"
                    "gradient into each x_bar. Highlighted on a terminal unless NO_COLOR is set.")
    show_parser.add_argument("target", metavar="FILE.py:FUNC",
                             help="the function to differentiate, e.g. model.py:loss")
    show_parser.add_argument("--wrt", action="append", metavar="NAME",
                             help="a parameter to differentiate with respect to; repeat for "
                                  "several (default: those of FUNC's @grad decorator, else "
                                  "all parameters)")
    show_parser.add_argument("--backend", choices=BACKENDS, default="numba",
                             help="code for numba (@njit) or plain Python (default: numba)")
    show_parser.add_argument("--at", metavar="ARGS",
                             help='example arguments as Python literals, e.g. "x=-2, '
                                  'W=[[0.1, 0.5], [-0.3, 0.8]], b=@b.npy"; they decide which '
                                  "arguments are arrays (default: every argument a float)")
    show_parser.set_defaults(run=show)
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
