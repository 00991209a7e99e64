"""From a Python function object to its syntax tree, with the names it refers to resolved.

Knows where every node came from (file, line, column, line text) so that later passes can
refuse a construct by pointing at the user's own line.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import operator
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import sources
from .errors import ADCompilerError, UnsupportedSyntaxError
from .ir import Loc

MISSING = object()


@dataclass(frozen=True)
class ParsedFunction:
    """A function's definition and everything needed to read it."""

    fn: Callable
    node: ast.FunctionDef
    filename: str
    indent: int  # columns removed by dedenting the source
    lines: tuple[str, ...]  # the file's lines, for error messages and comments
    closure: dict[str, Any]

    @property
    def name(self) -> str:
        return self.node.name

    def resolve(self, name: str) -> Any:
        """The object a free name in the function refers to, or MISSING."""
        if name in self.closure:
            return self.closure[name]
        namespace = getattr(self.fn, "__globals__", {})
        if name in namespace:
            return namespace[name]
        return getattr(builtins, name, MISSING)

    def reader(self, name: str) -> tuple[Any, Callable[[], Any]] | None:
        """Where a free name's value lives and how to read it again at run time (its closure
        cell or its module's globals, identified by the first item); None for a builtin."""
        if name in self.closure:
            code = self.fn.__code__
            cell = self.fn.__closure__[code.co_freevars.index(name)]
            return cell, lambda: cell.cell_contents
        namespace = getattr(self.fn, "__globals__", {})
        if name in namespace:
            return namespace, functools.partial(operator.getitem, namespace, name)
        return None

    def loc(self, node: ast.AST) -> Loc:
        line = getattr(node, "lineno", self.node.lineno)
        col = getattr(node, "col_offset", 0) + self.indent
        text = self.lines[line - 1].rstrip("\n") if 0 < line <= len(self.lines) else ""
        return Loc(self.filename, line, col, text)

    def error(
        self,
        node: ast.AST,
        message: str,
        suggestion: str | None = None,
        cls: type[UnsupportedSyntaxError] = UnsupportedSyntaxError,
    ) -> UnsupportedSyntaxError:
        loc = self.loc(node)
        return cls(message, loc.filename, loc.line, loc.col + 1, loc.text, suggestion)


def parse_function(fn: Callable) -> ParsedFunction:
    """Parse `fn`'s source. Raises ADCompilerError when there is no source to read."""
    if not inspect.isfunction(fn):
        what = type(fn).__name__
        raise ADCompilerError(
            f"ad_compiler differentiates plain Python functions defined with `def`; got a {what}"
        )
    carried = sources.carried(fn)  # the text a pickled copy brought along (sources.py)
    try:
        if carried is not None:
            source_lines, first_line = list(carried.lines), carried.first_line
            filename = carried.filename
        else:
            source_lines, first_line = inspect.getsourcelines(fn)
            filename = inspect.getsourcefile(fn) or inspect.getfile(fn)
    except (OSError, TypeError) as exc:
        raise ADCompilerError(
            f"cannot read the source of {fn.__qualname__} ({exc}); ad_compiler needs the "
            "function to be defined in a file (not typed into an interactive prompt or exec'd)"
        ) from None
    source = "".join(source_lines)
    dedented = textwrap.dedent(source)
    indent = _indent_removed(source, dedented)
    try:
        tree = ast.parse(dedented)
        ast.increment_lineno(tree, first_line - 1)
    except SyntaxError:
        if fn.__name__ != "<lambda>":
            raise
        # A lambda inside a literal or on a continuation line: its lines alone are not a
        # statement. The whole file is; the lambda is found there by its line and positions.
        tree, indent = _lambdas_of_file(fn, filename), 0
    node = _find_definition(tree, fn, indent)
    if node is None:
        raise ADCompilerError(f"cannot find the definition of {fn.__qualname__} in its source")
    try:
        if carried is not None:
            file_lines = carried.file_lines()
        else:
            with open(filename, encoding="utf-8") as handle:
                file_lines = tuple(handle.readlines())
    except OSError:
        file_lines = ("\n",) * (first_line - 1) + tuple(source_lines)
    closure = dict(inspect.getclosurevars(fn).nonlocals) if fn.__closure__ else {}
    return ParsedFunction(fn, node, filename, indent, file_lines, closure)


def _lambdas_of_file(fn: Callable, filename: str) -> ast.Module:
    """The lambdas of fn's file that start on fn's first line, as a module of expressions."""
    line = fn.__code__.co_firstlineno
    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError):
        raise UnsupportedSyntaxError(
            "cannot read the source of this lambda",
            filename,
            line,
            None,
            None,
            "define it with `def`",
        ) from None
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line]
    outermost = [lam for lam in found if not any(o is not lam and _within(lam, o) for o in found)]
    return ast.Module(body=[ast.Expr(value=lam) for lam in outermost], type_ignores=[])


def _indent_removed(source: str, dedented: str) -> int:
    first = next((line for line in source.splitlines() if line.strip()), "")
    first_dedented = next((line for line in dedented.splitlines() if line.strip()), "")
    return len(first) - len(first_dedented)


def _find_definition(tree: ast.AST, fn: Callable, indent: int) -> ast.FunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            return node
        if isinstance(node, ast.AsyncFunctionDef) and node.name == fn.__name__:
            raise UnsupportedSyntaxError(
                "async functions are not differentiable",
                inspect.getsourcefile(fn),
                node.lineno,
                node.col_offset + 1,
                None,
                "write a plain `def` function",
            )
    if fn.__name__ == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        if len(lambdas) > 1:
            lambdas = _lambdas_holding(lambdas, fn, indent)
        if len(lambdas) == 1:
            lam = lambdas[0]
            body = [
                ast.Return(value=lam.body, lineno=lam.body.lineno, col_offset=lam.body.col_offset)
            ]
            node = ast.FunctionDef(
                name="lambda_",
                args=lam.args,
                body=body,
                decorator_list=[],
                returns=None,
                type_params=[],
                lineno=lam.lineno,
                col_offset=lam.col_offset,
            )
            return node
        raise ADCompilerError(
            "cannot tell which lambda on its line to differentiate; define it with `def`"
        )
    return None


def _lambdas_holding(lambdas: list[ast.Lambda], fn: Callable, indent: int) -> list[ast.Lambda]:
    """Of several lambdas on a line, the innermost whose body holds all of fn's code (the
    positions Python records for each instruction tell where in the line it came from)."""
    spots = {
        (line, col)
        for line, _, col, end_col in fn.__code__.co_positions()
        if line is not None and col is not None and end_col is not None and end_col > col
    }

    def holds(lam: ast.Lambda) -> bool:
        body = lam.body
        start = (body.lineno, body.col_offset + indent)
        end = (body.end_lineno, body.end_col_offset + indent)
        return bool(spots) and all(start <= spot < end for spot in spots)

    holding = [lam for lam in lambdas if holds(lam)]
    inner = [lam for lam in holding if not any(o is not lam and _within(o, lam) for o in holding)]
    return inner


def _within(inner: ast.Lambda, outer: ast.Lambda) -> bool:
    return any(node is inner for node in ast.walk(outer.body))
