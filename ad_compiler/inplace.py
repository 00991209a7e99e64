"""Augmented assignment of arrays: `b += v` writes into b's array in place (NumPy).

`normalize` compiles `b += v` as the rebinding `b = b + v` (marking the statement with the
attribute `augmented`). For a number, and for an array no other live name holds, that is what
Python does, as far as anyone can tell. For an array that another name still reads afterwards
(`b = a; b += 1.0; return np.sum(a * b)`, a view `r = X[0]; r *= 2.0`, a loop's
`prev = s` ... `s += d`), NumPy shows that name the new values: such a statement is refused here,
with rewrites that say which meaning was intended.
"""

from __future__ import annotations

from .activity import Aliases
from .errors import UnsupportedSyntaxError
from .ir import (
    Assign,
    Block,
    Function,
    If,
    Loop,
    Stmt,
    Var,
    base_name,
    defined_names,
    is_temp,
    walk,
)
from .kinds import KindTable
from .rules import RULES

_SYMBOLS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "pow": "**",
    "mod": "%",
    "floordiv": "//",
    "matmul": "@",
    "bitand": "&",
    "bitor": "|",
    "bitxor": "^",
}


def check_augmented(fn: Function, kinds: KindTable) -> None:
    """Refuse `b op= v` on an array whose memory another name reads afterwards, and `k op= v`
    that would store floats into an integer array (NumPy refuses that), and the same into
    part of one (check_view_augmented)."""
    check_view_augmented(fn, kinds)
    aliases: Aliases | None = None
    for path in _augmented(fn.body, ()):
        stmt = path[-1][0][path[-1][1]]
        array = stmt.args[0]
        if not isinstance(array, Var) or kinds.of(array).ndim == 0:
            continue  # numbers are values: rebinding is exact
        into, result = kinds.of(array).dtype, kinds.of(Var(stmt.target)).dtype
        if into in ("int", "bool") and result not in (into, None):
            raise _error(
                stmt,
                f"{_text(stmt)} would store {result} values into the {into} array "
                f"{stmt.attr('augmented')} in place, which NumPy refuses",
                f"write {_rebinding(stmt)} for a new {result} array",
            )
        aliases = aliases or Aliases(fn, kinds)
        for name, read in sorted(_live_after(fn, path).items()):
            if name != stmt.target and aliases.share(name, array.name):
                raise _shared_error(fn, stmt, name, read)


def check_view_augmented(fn: Function, kinds: KindTable) -> None:
    """Refuse `k[a:b] op= v` that would store floats into a slice (or mask, or rows) of an int
    or bool array: NumPy's in-place operation on the view refuses the cast. (`k[i] += 0.5` of
    one element stores a truncated number, as NumPy does.)"""
    for stmt in walk(fn.body):
        if not isinstance(stmt, Assign) or stmt.attr("view_augmented") is None:
            continue
        old = kinds.of(stmt.args[0])
        into, result = old.dtype, kinds.of(Var(stmt.target)).dtype
        if old.ndim and into in ("int", "bool") and result not in (into, None):
            target = stmt.attr("view_augmented")
            raise _error(
                stmt,
                f"{target} {_SYMBOLS[stmt.op]}= ... would store {result} values into part of "
                f"an {into} array in place, which NumPy refuses",
                "make the array a float array first (.astype(float))",
            )


def refuse_module_array_updates(fn: Function, arrays: dict[str, str]) -> None:
    """Refuse `w op= v` where w may hold a module-level array (`arrays`: its hidden parameter
    -> the name the user wrote): NumPy changes that array in place, for every later call."""
    aliases = Aliases(fn, KindTable({}))  # (kinds unknown: every copy or view may share)
    for stmt in walk(fn.body):
        if not isinstance(stmt, Assign) or stmt.attr("augmented") is None:
            continue
        array = stmt.args[0]
        shared = sorted(aliases.of(array.name) & arrays.keys()) if isinstance(array, Var) else []
        if shared:
            raise _error(
                stmt,
                f"{_text(stmt)} changes the module-level array {arrays[shared[0]]} in place "
                "(NumPy would change it for every later call too)",
                f"write {_rebinding(stmt)} for a new array",
            )


def _augmented(block: Block, path: tuple) -> list[tuple]:
    """Paths (block, index) from the top to every augmented assignment."""
    found = []
    for i, stmt in enumerate(block):
        here = path + ((block, i),)
        if isinstance(stmt, Assign) and stmt.attr("augmented") is not None:
            found.append(here)
        elif isinstance(stmt, If):
            found += _augmented(stmt.body, here) + _augmented(stmt.orelse, here)
        elif isinstance(stmt, Loop):
            found += _augmented(stmt.test, here) + _augmented(stmt.body, here)
    return found


def _live_after(fn: Function, path: tuple) -> dict[str, Stmt | None]:
    """Names defined before the statement at the end of `path` that are read after it while
    still holding the value they had there: name -> a statement reading it (None: the result).
    """
    live: dict[str, Stmt | None] = {}
    later_defs: set[str] = set()  # defined after the statement: a different value
    killed: set[str] = set()  # rebound on leaving a loop (its phis) or in a later iteration

    def add(reads: dict[str, Stmt | None], exclude: set[str]) -> None:
        for name, where in reads.items():
            if name not in exclude and name not in later_defs:
                live.setdefault(name, where)

    for depth in range(len(path) - 1, -1, -1):
        block, i = path[depth]
        rest = block[i + 1 :]
        for s in rest:
            later_defs.update(defined_names(s))
        add(_reads(rest), killed)
        if depth == 0:
            add({n: None for n in _operand_names(fn.result)}, killed)
            break
        container = path[depth - 1][0][path[depth - 1][1]]
        if isinstance(container, If):
            side = "first" if block is container.body else "second"
            add({_name(getattr(p, side)): container for p in container.phis}, killed)
            later_defs.update(p.name for p in container.phis)
        else:
            # the end of this iteration, then the next ones: only values from outside the loop
            # keep theirs (its phis, its index and everything defined in it are new each time)
            add({_name(p.second): container for p in container.phis}, killed)
            inside = set(defined_names(container))
            add(_reads(container.test + container.body), inside | killed)
            if container.cond is not None:
                add({_name(container.cond): container}, inside | killed)
            killed |= inside
    live.pop("", None)
    return live


def _name(operand) -> str:
    return operand.name if isinstance(operand, Var) else ""


def _operand_names(result) -> list[str]:
    items = result if isinstance(result, tuple) else (result,)
    return [o.name for o in items if isinstance(o, Var)]


def _reads(block: Block) -> dict[str, Stmt]:
    """Every name the statements of a block read (nested blocks too), with a reader."""
    names: dict[str, Stmt] = {}

    def note(operand, stmt: Stmt) -> None:
        if isinstance(operand, Var):
            names.setdefault(operand.name, stmt)

    for stmt in block:
        if isinstance(stmt, Assign):
            for a in stmt.args:
                note(a, stmt)
            continue
        if isinstance(stmt, If):
            note(stmt.cond, stmt)
            inner = stmt.body + stmt.orelse
        else:
            for o in (stmt.start, stmt.stop, stmt.step, stmt.cond):
                note(o, stmt)
            inner = stmt.test + stmt.body
        for p in stmt.phis:
            note(p.first, stmt)
            note(p.second, stmt)
        for name, reader in _reads(inner).items():
            names.setdefault(name, reader)
    return names


def _text(stmt: Assign) -> str:
    return f"{stmt.attr('augmented')} {_SYMBOLS.get(stmt.op, stmt.op)}= ..."


def _rebinding(stmt: Assign) -> str:
    name = stmt.attr("augmented")
    return f"{name} = {name} {_SYMBOLS.get(stmt.op, stmt.op)} ..."


def _shared_error(fn: Function, stmt: Assign, other: str, reader) -> UnsupportedSyntaxError:
    name = stmt.attr("augmented")
    symbol = _SYMBOLS.get(stmt.op, stmt.op)
    view = _defined_by_view(fn, stmt.args[0].name)
    who = base_name(other)
    if is_temp(other) or who == name:
        who = "another name"  # (`b = a; a += 1.0`: the IR knows a, the user wrote b)
    line = getattr(getattr(reader, "loc", None), "line", None)
    where = f" (line {line})" if line else " (the result)" if reader is None else ""
    message = (
        f"{_text(stmt)} changes {name}'s array in place, and {who} shares that memory and is "
        f"read afterwards{where}: NumPy would show the new values there"
    )
    if view:
        suggestion = (
            f"write {_rebinding(stmt)} for a new array, or write into the original array "
            f"through an index (X[0] {symbol}= ... instead of r = X[0]; r {symbol}= ...)"
        )
    else:
        suggestion = (
            f"write {_rebinding(stmt)} for a new array, or {name}[:] {symbol}= ... to change "
            "the shared array as NumPy does"
        )
    return _error(stmt, message, suggestion)


def _defined_by_view(fn: Function, name: str) -> bool:
    return any(
        isinstance(s, Assign) and s.target == name and RULES[s.op].view for s in walk(fn.body)
    )


def _error(stmt: Assign, message: str, suggestion: str) -> UnsupportedSyntaxError:
    loc = stmt.loc
    if loc is None:
        return UnsupportedSyntaxError(message, suggestion=suggestion)
    return UnsupportedSyntaxError(
        message, loc.filename, loc.line, loc.col + 1, loc.text, suggestion
    )
