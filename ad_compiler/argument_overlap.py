"""Arguments that share memory, when the function changes one of them in place.

The compiled program never changes the caller's arrays: it writes into a copy of an argument
the function writes into (`x[0] = v`), and compiles `x += v` as `x = x + v` (inplace.py). That
is exactly what Python computes as long as no other argument is the same array, or a view of
it. Called as `f(a, a)`, or with a module-level array the function reads, Python's `x[0] = v`
would change what `y` (or the module-level array) reads afterwards, and the compiled program
would not. Rather than give that other value, the program starts with one check per such pair
of arguments, `rt.check_apart(x, y, message)`, which raises GradientInputError when the two
arrays may share memory (their extents overlap, as `np.may_share_memory` tells). A read-only
argument the function changes is refused as NumPy refuses it (`rt.check_writeable`: ValueError).
"""

from __future__ import annotations

import ast
import os
from dataclasses import replace

from .activity import Aliases
from .errors import GradientInputError
from .ir import UNKNOWN, Assign, Function, Loc, Var, walk
from .kinds import KindTable
from .rules import RULES, Rule, register


def _escape(text: str) -> str:
    return repr(text).replace("{", "{{").replace("}", "}}")


register(
    Rule(
        "check_writeable",
        lambda n, a: f"rt.check_writeable({{0}}, {_escape(a['message'])})",
        lambda kinds, attrs: UNKNOWN,
    )
)
register(
    Rule(
        "check_apart",
        lambda n, a: f"rt.check_apart({{0}}, {{1}}, {_escape(a['message'])})",
        lambda kinds, attrs: UNKNOWN,
    )
)


def changed_arguments(fn: Function, kinds: KindTable) -> dict[str, Loc | None]:
    """The array parameters of `fn` (a normalized primal) whose memory Python changes in
    place, each with where it first does: written into (its entry copy, then any store into
    that copy or a view of it) or updated by `x op= v` through any name for its array."""
    entry = {
        s.target: s.attr("argument")
        for s in fn.body
        if isinstance(s, Assign) and s.op == "array_copy" and s.attr("argument") is not None
    }
    arrays = {p for p in fn.params if kinds.of(Var(p)).is_array}
    if not arrays:
        return {}
    aliases = Aliases(fn, kinds)
    changed: dict[str, Loc | None] = {}
    for s in walk(fn.body):
        if not isinstance(s, Assign):
            continue
        into = RULES[s.op].mutates
        if into is None and s.attr("augmented") is not None and kinds.of(s.args[0]).is_array:
            into = 0  # `x += v`: NumPy changes x's array in place
        if into is None or not isinstance(s.args[into], Var):
            continue
        written = s.args[into].name
        for site in sorted(aliases.of(written)):
            param = entry.get(site, site)
            if param in arrays and param not in changed:
                changed[param] = s.loc
    return changed


def check_apart(
    fn: Function, kinds: KindTable, changed: dict[str, Loc | None], function_name: str
) -> Function:
    """`fn` (the program to run) starting with a check of each changed parameter against
    every other array parameter."""
    if not changed:
        return fn
    arrays = [p for p in fn.params if kinds.of(Var(p)).is_array]
    checks, seen = [], set()
    for param, loc in changed.items():
        if param not in arrays:
            continue
        # placed under the comment quoting the def; the messages say where the change is
        attrs = (("message", _read_only(function_name, param, loc)),)
        checks.append(Assign(None, "check_writeable", (Var(param),), attrs, fn.loc))
        for other in arrays:
            if other == param or frozenset((param, other)) in seen:
                continue
            seen.add(frozenset((param, other)))
            attrs = (("message", _message(function_name, param, other, loc)),)
            checks.append(Assign(None, "check_apart", (Var(param), Var(other)), attrs, fn.loc))
    return replace(fn, body=tuple(checks) + tuple(fn.body))


def _read_only(function_name: str, param: str, loc: Loc | None) -> str:
    return (
        f"{function_name}(): {param} is a read-only array, and {function_name} changes it in "
        f"place{_where(loc)}, which NumPy refuses (assignment destination is read-only): "
        f"pass a writeable copy ({param}=a.copy())"
    )


def _where(loc: Loc | None) -> str:
    return f" ({os.path.basename(loc.filename)}:{loc.line})" if loc is not None else ""


def _message(function_name: str, param: str, other: str, loc: Loc | None) -> str:
    where = _where(loc)
    return (
        f"{function_name}(): the arguments {param} and {other} share memory, and "
        f"{function_name} changes {param} in place{where}, which the compiled program does "
        f"on a copy of {param}, so {other} would not see the change: pass a copy "
        f"({param}=a.copy())"
    )


def changes_in_place(fn: Function) -> bool:
    """Whether `fn` (a normalized primal) writes into an argument or has an `x op= v`, which
    Python runs in place on a 0-d array (kinds see 0-d arrays as numbers: zero_d_error)."""
    return any(
        isinstance(s, Assign)
        and (s.attr("augmented") is not None or s.attr("argument") is not None)
        for s in walk(fn.body)
    )


def zero_d_error(function_name: str, param: str) -> GradientInputError:
    """A 0-d array argument of a function that changes values in place: the compiled program
    computes on it as on a number, so `x += v` would not change it (nor other names holding
    it, nor the array it is a view of)."""
    return GradientInputError(
        f"{function_name}(): {param} is a 0-d array, which {function_name} may change in "
        f"place (`x op= v`, a write into an argument) where the compiled program computes "
        f"on numbers: pass float({param}) (or a 1-element array)"
    )


def checked_pairs(source: str) -> list[tuple[int, int, str]]:
    """The pairs of parameters a generated program checks apart (its `rt.check_apart(x, y,
    message)` calls), by position in its first function's parameters, with the message: for
    callers that hand it copies of arguments (float32 ones widened, arrays compiled_for
    binds), which must check the originals."""
    tree = ast.parse(source)
    program = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    positions = {a.arg: k for k, a in enumerate(program.args.args)}
    pairs = []
    for node in ast.walk(program):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "rt.check_apart"
            and all(isinstance(a, ast.Name) for a in node.args[:2])
        ):
            x, y, message = node.args
            pairs.append((positions[x.id], positions[y.id], message.value))
    return pairs
