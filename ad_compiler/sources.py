"""Source text that travels with a pickled function.

The compiler reads a function's source (frontend.py). cloudpickle pickles a function defined in
`__main__`, in a notebook or inside another function by value: its code object arrives in the
other process (a Dask worker, perhaps on another machine) without the file, and
`inspect.getsource` fails there. A gradient pickled by cloudpickle (pickling.py) therefore
carries the text of the function and of the helpers it calls that travel by value too, with
their file names and first lines (for error messages, and for the cache key, which must match
the sending process's to reuse its compiled code), and registers it here on arrival.

A carried text is used only for a code object equal to the one it was read for (same first
line, name and digest of the bytecode and constants): a module edited and reloaded later in
the same process is read from its file again.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MOST_FUNCTIONS = 200  # reachable helpers carried at most (a guard against huge traversals)


@dataclass(frozen=True)
class Carried:
    """The definition of one function, as the sending process read it."""

    key: tuple  # the code object's first line, name and digest
    filename: str  # the file, as inspect named it
    first_line: int
    lines: tuple[str, ...]  # the definition's lines

    def file_lines(self) -> tuple[str, ...]:
        """The file as far as known: blank lines, then the definition at its place."""
        return ("\n",) * (self.first_line - 1) + self.lines


_CARRIED: dict[tuple, Carried] = {}


def code_key(code: types.CodeType) -> tuple:
    # (not the file name: cloudpickle's copies name theirs "<dynamic-code>")
    return (code.co_firstlineno, code.co_name, _code_digest(code))


def _code_digest(code: types.CodeType) -> str:
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames)]
    parts += [repr(code.co_freevars), repr(code.co_cellvars), str(code.co_argcount)]
    parts += [str(code.co_kwonlyargcount), str(code.co_flags)]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_digest(const))
        elif isinstance(const, frozenset):  # (its repr's order varies between processes)
            parts.append(repr(sorted(map(repr, const))))
        else:
            parts.append(repr(const))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def carried(fn: Any) -> Carried | None:
    """The carried definition of `fn`, if one arrived with a pickle."""
    code = getattr(fn, "__code__", None)
    if not _CARRIED or not isinstance(code, types.CodeType):
        return None
    return _CARRIED.get(code_key(code))


def register(records: tuple[Carried, ...]) -> None:
    for record in records:
        _CARRIED[record.key] = record


def collect(fn: Any, by_value: Callable[[types.FunctionType], bool]) -> tuple[Carried, ...]:
    """The definitions of `fn` (a function or bound method) and of the functions it reaches
    through its globals, closure and receiver that `by_value` says travel without their file."""
    receiver = getattr(fn, "__self__", None)
    todo = [getattr(fn, "__func__", fn)]
    seen: set[int] = set()
    records = []
    while todo and len(seen) < MOST_FUNCTIONS:
        f = todo.pop()
        if not inspect.isfunction(f) or id(f) in seen or not by_value(f):
            continue
        seen.add(id(f))
        record = _read(f)
        if record is not None:
            records.append(record)
        todo += _reached(f, receiver)
    return tuple(records)


def _read(fn: types.FunctionType) -> Carried | None:
    known = carried(fn)
    if known is not None:  # a copy passed on (by a Dask scheduler, say): its text goes along
        return known
    try:
        lines, first_line = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or inspect.getfile(fn)
    except (OSError, TypeError):
        return None  # no source here either: the receiving side says so when it parses
    return Carried(code_key(fn.__code__), filename, max(first_line, 1), tuple(lines))


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _reached(fn: types.FunctionType, receiver: Any) -> list:
    """Functions `fn` may call: globals it names (and attributes it names of modules it
    names), functions in its closure, and methods of the receiver's class it names."""
    names = _names(fn.__code__)
    namespace = fn.__globals__
    found = []
    for name in names:
        value = namespace.get(name)
        if isinstance(value, types.ModuleType):
            found += [getattr(value, attr, None) for attr in names]
        else:
            found.append(getattr(value, "__wrapped__", value))  # (custom_vjp keeps its fn)
    for cell in fn.__closure__ or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    if receiver is not None:
        for klass in type(receiver).__mro__:
            members = [klass.__dict__.get(n) for n in names]
            found += [getattr(m, "__func__", m) for m in members]  # (static, class methods)
    return [f for f in found if inspect.isfunction(f)]


def travels_by_value(fn: types.FunctionType) -> bool:
    """Whether cloudpickle pickles `fn` by value: not `importable`; a module-level function
    replaced by its decorator's result is not found under its name either."""
    return not importable(fn, fn.__module__, fn.__qualname__)


def importable(obj: Any, module: str | None, qualname: str) -> bool:
    """Whether cloudpickle pickles `obj` by reference: found at `module`.`qualname`, not in
    __main__, not inside a function, not in a module registered with
    `cloudpickle.register_pickle_by_value`."""
    if module in (None, "__main__") or "<locals>" in qualname:
        return False
    cloudpickle = sys.modules.get("cloudpickle")
    registry = getattr(cloudpickle, "list_registry_pickle_by_value", lambda: ())()
    parts = module.split(".")
    if any(".".join(parts[: n + 1]) in registry for n in range(len(parts))):
        return False
    return lookup(module, qualname) is obj


def lookup(module: str, qualname: str) -> Any:
    """The object at `module`.`qualname` in this process (not importing), or None."""
    value: Any = sys.modules.get(module)
    for part in qualname.split("."):
        value = getattr(value, part, None)
    return value
