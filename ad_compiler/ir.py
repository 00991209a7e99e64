"""The intermediate representation: one operation per statement, structured control flow.

The primal program comes out of `normalize` in SSA form: every name is assigned once, and the
values that merge after an `if` or flow around a loop are explicit `Phi` nodes. The gradient
program built by `adjoint` uses the same nodes without phis, as ordinary Python-style mutable
variables. Passes never mutate nodes: they are frozen and rebuilt with `dataclasses.replace`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Var:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A literal: float, int, bool, None, or a tuple of those (a shape, an axis tuple)."""

    value: Any

    def __str__(self) -> str:
        return repr(self.value)


Operand = Var | Const


@dataclass(frozen=True)
class Kind:
    """What is statically known of a value: its number of dimensions and its element type.

    ndim 0 is a scalar; dtype is "float", "int", "bool", or "shape" (a tuple of ints, what
    `x.shape` gives); None means unknown. `same_shape_as` names a value of the same shape when
    that is known, so that broadcasting need not be undone between them.
    """

    ndim: int | None
    dtype: str | None
    same_shape_as: str | None = None

    @property
    def is_scalar(self) -> bool:
        return self.ndim == 0

    @property
    def is_array(self) -> bool:
        return self.ndim is not None and self.ndim > 0

    @property
    def differentiable(self) -> bool:
        """Whether a value of this kind can carry a gradient (floats, or unknown)."""
        return self.dtype in ("float", None)

    def with_shape_of(self, name: str | None) -> Kind:
        return Kind(self.ndim, self.dtype, name)


FLOAT = Kind(0, "float")
INT = Kind(0, "int")
BOOL = Kind(0, "bool")
UNKNOWN = Kind(None, None)
SHAPE = Kind(None, "shape")
# A helper's result before a loop that returns it: it takes the kind of what it merges with.
UNASSIGNED = Kind(None, "unassigned")


@dataclass(frozen=True)
class Loc:
    """Where a statement came from: the user's file, line, column and line text."""

    filename: str
    line: int
    col: int
    text: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}"


@dataclass(frozen=True)
class Assign:
    """`target = op(*args)`; with target None the op is run for its effect (a store, a push).

    `attrs` holds the op's static parameters (axis, keepdims, the shape of an index) as sorted
    (name, value) pairs so that the node stays hashable.
    """

    target: str | None
    op: str
    args: tuple[Operand, ...]
    attrs: tuple[tuple[str, Any], ...] = ()
    loc: Loc | None = field(default=None, compare=False)
    # The primal statement this one reverses (set on reverse-sweep statements, for comments).
    reverses: Loc | None = field(default=None, compare=False)

    def attr(self, name: str, default: Any = None) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        return default


@dataclass(frozen=True)
class Phi:
    """A value merging two definitions.

    After an `If`: `first` comes from the then-branch, `second` from the else-branch.
    Around a `Loop`: `first` is the value on entry, `second` the value at the end of the body.
    """

    name: str
    first: Operand
    second: Operand


@dataclass(frozen=True)
class If:
    cond: Operand
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    phis: tuple[Phi, ...] = ()
    loc: Loc | None = field(default=None, compare=False)
    reverses: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Loop:
    """A `for index in range(start, stop, step)` loop, or a while loop when `index` is None.

    A while loop evaluates `test` and then `cond` before each iteration. Either kind stops after
    an iteration in which the body set `exit_flag` (how `break` is lowered).
    """

    index: str | None
    start: Operand | None
    stop: Operand | None
    step: Operand | None
    test: tuple[Stmt, ...]
    cond: Operand | None
    body: tuple[Stmt, ...]
    phis: tuple[Phi, ...] = ()
    exit_flag: str | None = None
    loc: Loc | None = field(default=None, compare=False)
    reverses: Loc | None = field(default=None, compare=False)

    @property
    def is_range(self) -> bool:
        return self.index is not None


Stmt = Assign | If | Loop
Block = tuple[Stmt, ...]


@dataclass(frozen=True)
class Function:
    """A whole program: parameters, body, and the operand returned."""

    name: str
    params: tuple[str, ...]
    body: Block
    result: Operand | tuple[Operand, ...] | None
    filename: str = "<unknown>"
    loc: Loc | None = None
    # has_aux (aux.py): what the function returns besides its value, as a template whose
    # leaves are operands; None when the function returns only its value.
    aux: Any = None


# ---------------------------------------------------------------------------------------------
# Walking


def operand_vars(operands: tuple[Operand, ...] | list[Operand]) -> list[str]:
    return [o.name for o in operands if isinstance(o, Var)]


def stmt_operands(stmt: Stmt) -> list[Operand]:
    """The operands a statement reads directly (not those of nested blocks)."""
    if isinstance(stmt, Assign):
        return list(stmt.args)
    if isinstance(stmt, If):
        return [stmt.cond]
    ops = [o for o in (stmt.start, stmt.stop, stmt.step) if o is not None]
    return ops + [p.first for p in stmt.phis]


def walk(block: Block) -> Iterator[Stmt]:
    """Every statement in a block, nested ones included, in program order."""
    for stmt in block:
        yield stmt
        if isinstance(stmt, If):
            yield from walk(stmt.body)
            yield from walk(stmt.orelse)
        elif isinstance(stmt, Loop):
            yield from walk(stmt.test)
            yield from walk(stmt.body)


def defined_names(stmt: Stmt) -> list[str]:
    """Names a statement (with its nested blocks) assigns."""
    if isinstance(stmt, Assign):
        return [stmt.target] if stmt.target else []
    names: list[str] = []
    if isinstance(stmt, If):
        for s in stmt.body + stmt.orelse:
            names += defined_names(s)
    else:
        if stmt.index:
            names.append(stmt.index)
        if stmt.exit_flag:
            names.append(stmt.exit_flag)
        for s in stmt.test + stmt.body:
            names += defined_names(s)
    names += [p.name for p in stmt.phis]
    return names


_TEMP = re.compile(r"t\d+(_bar)?$")
_VERSION = re.compile(r"_\d+(?=_|$)")


def is_temp(name: str) -> bool:
    """Whether a name is a compiler temporary (t1, t2, ...) or a temporary's adjoint."""
    return _TEMP.match(name) is not None


def base_name(name: str) -> str:
    """The variable a name is a version of: x_2 -> x, x_1_bar -> x_bar; "t" for temporaries."""
    return "t" if is_temp(name) else _VERSION.sub("", name)


class Names:
    """Hands out identifiers that collide neither with the user's names nor with each other."""

    def __init__(self, reserved: set[str]) -> None:
        self.taken = set(reserved) | set(keyword.kwlist) | {"np", "math", "rt", "njit"}

    def fresh(self, base: str, temporary: bool = False) -> str:
        """A new name like `base`; a user's variable never gets a temporary's name (t1)."""
        base = base if base == "_" else base.strip("_") or "v"
        if is_temp(base) and not temporary:
            base = f"{base}_v"
        if base not in self.taken:
            self.taken.add(base)
            return base
        k = 1
        while f"{base}_{k}" in self.taken:
            k += 1
        name = f"{base}_{k}"
        self.taken.add(name)
        return name

    @classmethod
    def of_program(cls, fn: Function) -> Names:
        """Names that collide with nothing `fn` defines or reads."""
        reserved = set(fn.params)
        for s in walk(fn.body):
            reserved.update(defined_names(s))
            reserved.update(o.name for o in stmt_operands(s) if isinstance(o, Var))
        return cls(reserved)

    def temp(self) -> str:
        k = 1
        while f"t{k}" in self.taken:
            k += 1
        name = f"t{k}"
        self.taken.add(name)
        return name


# ---------------------------------------------------------------------------------------------
# A plain printer, for debugging and for tests of the passes


def format_operand(o: Operand | tuple) -> str:
    if isinstance(o, tuple):
        return "(" + ", ".join(format_operand(x) for x in o) + ")"
    return str(o)


def format_block(block: Block, indent: int = 0) -> str:
    pad = "    " * indent
    lines: list[str] = []
    for stmt in block:
        if isinstance(stmt, Assign):
            args = ", ".join(map(str, stmt.args))
            attrs = "".join(f", {k}={v!r}" for k, v in stmt.attrs)
            lhs = f"{stmt.target} = " if stmt.target else ""
            lines.append(f"{pad}{lhs}{stmt.op}({args}{attrs})")
        elif isinstance(stmt, If):
            lines.append(f"{pad}if {stmt.cond}:")
            lines.append(format_block(stmt.body, indent + 1) or f"{pad}    pass")
            lines.append(f"{pad}else:")
            lines.append(format_block(stmt.orelse, indent + 1) or f"{pad}    pass")
            for p in stmt.phis:
                lines.append(f"{pad}{p.name} = phi({p.first}, {p.second})")
        else:
            for p in stmt.phis:
                lines.append(f"{pad}{p.name} = phi({p.first}, {p.second})")
            if stmt.is_range:
                head = f"for {stmt.index} in range({stmt.start}, {stmt.stop}, {stmt.step})"
            else:
                lines.append(format_block(stmt.test, indent + 1))
                head = f"while {stmt.cond}"
            flag = f"  # until {stmt.exit_flag}" if stmt.exit_flag else ""
            lines.append(f"{pad}{head}:{flag}")
            lines.append(format_block(stmt.body, indent + 1) or f"{pad}    pass")
    return "\n".join(line for line in lines if line)


def format_function(fn: Function) -> str:
    body = format_block(fn.body, 1)
    result = format_operand(fn.result) if fn.result is not None else "None"
    return f"def {fn.name}({', '.join(fn.params)}):\n{body}\n    return {result}"
