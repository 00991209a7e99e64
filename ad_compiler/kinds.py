"""Kind inference: which values are scalars or arrays (and of how many dimensions), and which
are floats, integers or booleans, from the kinds of the arguments of a call.

The compiler specializes the gradient program on this: scalar code uses `math` and plain
floats, array code NumPy; integers and booleans never carry a gradient; broadcasting is undone
only where shapes may differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import GradientInputError, KindError, UnsupportedSyntaxError
from .ir import (
    BOOL,
    FLOAT,
    INT,
    UNASSIGNED,
    UNKNOWN,
    Assign,
    Block,
    Const,
    Function,
    If,
    Kind,
    Loop,
    Operand,
    Var,
    base_name,
    is_temp,
    walk,
)
from .rules import RULES
from .rules.elementwise import ARRAY_TRUTH, ARRAY_TRUTH_REWRITE


def kind_of_value(value: Any, name: str | None = None) -> Kind:
    """The kind of a runtime argument."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INT
    if isinstance(value, (float, np.floating)):
        return FLOAT
    if isinstance(value, np.ndarray):
        refuse_array_subclass(value, name)
        if value.dtype.kind == "f":
            dtype = "float"
        elif value.dtype.kind in "iu":
            dtype = "int"
        elif value.dtype.kind == "b":
            dtype = "bool"
        else:
            raise GradientInputError(f"arrays of {value.dtype} are not supported")
        return Kind(value.ndim, dtype, name)
    raise GradientInputError(
        f"argument {name or ''} is a {type(value).__name__}; ad_compiler takes numbers and "
        "NumPy arrays"
    )


def refuse_foreign_byte_order(names: tuple, args: tuple, function: str) -> None:
    """numba cannot take an array of the other byte order (`>f8` read from a file): said after
    numba refused such arguments."""
    for name, value in zip(names, args):
        if isinstance(value, np.ndarray) and not value.dtype.isnative:
            raise GradientInputError(
                f"argument {name} of {function}() is an array of byte order {value.dtype.str!r}, "
                f"which numba code cannot take: pass {name}.astype(np.float64) (this machine's "
                "byte order), or use backend='python'"
            )


def refuse_array_subclass(value: np.ndarray, name: str | None) -> None:
    """NumPy's matrix and masked arrays (and other subclasses) change what operators mean:
    `*` multiplies matrices, reductions skip masked entries. The compiled program computes
    on plain arrays, so its values and gradients would differ from the function's."""
    if type(value) is np.ndarray or isinstance(value, np.memmap):
        return
    what = f"argument {name}" if name else "an argument"
    if isinstance(value, np.matrix):
        why, fix = "whose * and ** are matrix products", f"np.asarray({name or 'x'})"
    elif isinstance(value, np.ma.MaskedArray):
        why = "whose operations skip masked entries"
        fix = f"{name or 'x'}.filled(value) or {name or 'x'}.compressed()"
    else:
        why, fix = "whose operators may differ from ndarray's", f"np.asarray({name or 'x'})"
    raise GradientInputError(
        f"{what} is a {type(value).__module__}.{type(value).__name__}, {why}: the compiled "
        f"program works on plain arrays; pass {fix}"
    )


def const_kind(value: Any) -> Kind:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, tuple):
        return Kind(len(value), "shape")
    return UNKNOWN


def join(a: Kind, b: Kind, name: str) -> Kind:
    """The kind of a value that is either a or b."""
    if a == b:
        return a
    if UNASSIGNED in (a, b):  # the placeholder of a helper's result: takes the other kind
        return b if a == UNASSIGNED else a
    ndim = a.ndim if a.ndim == b.ndim else None
    dtypes = {a.dtype, b.dtype}
    if None in dtypes:
        dtype = None
    elif "float" in dtypes:
        dtype = "float"
    elif dtypes <= {"int", "bool"}:
        dtype = "int" if "int" in dtypes else "bool"
    else:
        dtype = a.dtype if a.dtype == b.dtype else None
    same = a.same_shape_as if a.same_shape_as == b.same_shape_as else name
    return Kind(ndim, dtype, same if ndim else None)


def _refusal(where: If | Loop, message: str, suggestion: str) -> UnsupportedSyntaxError:
    loc = where.loc
    at = (loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()
    return UnsupportedSyntaxError(message, *at, suggestion=suggestion)


class KindTable:
    """Kinds of every name in a program, extended as passes add statements."""

    def __init__(self, kinds: dict[str, Kind], fixed: dict[str, Kind] | None = None) -> None:
        self.kinds = dict(kinds)
        self.fixed = fixed or {}  # kinds decided beforehand (grown_dtypes)

    def of(self, operand: Operand) -> Kind:
        if isinstance(operand, Const):
            return const_kind(operand.value)
        return self.kinds.get(operand.name, UNKNOWN)

    def set(self, name: str, kind: Kind) -> None:
        if kind.ndim and kind.same_shape_as is None and kind.dtype != "shape":
            kind = kind.with_shape_of(name)
        if kind.ndim == 0:
            kind = Kind(0, kind.dtype)
        self.kinds[name] = kind

    def join_checked(self, phi, where: If | Loop) -> Kind:
        """The kind of a value merged from two paths. Refused: an array that is integer on one
        path and float on the other (stores into it would truncate on one path only, and
        numba cannot compile it), and a loop's value that is a number on entry and an array
        after an iteration (`s = 0; for ...: s = s + x`)."""
        a, b = self.of(phi.first), self.of(phi.second)
        name = "a value" if is_temp(phi.name) else base_name(phi.name)
        if a.ndim and b.ndim and {a.dtype, b.dtype} == {"int", "float"}:
            message = f"{name} is an integer array on one path and a float array on another"
            suggestion = "make it a float array on every path: np.arange(n) * 1.0, x.astype(float)"
            raise _refusal(where, message, suggestion)
        if a.ndim == b.ndim == 0 and {a.dtype, b.dtype} == {"bool", "int"}:
            # (`c = x[0] > 0` on one path, `c = 3` on the other: c + c and ~c depend on which
            # bool it is, NumPy's or Python's, and numba would compute it as an int)
            message = f"{name} is a bool on one path and an int on another"
            raise _refusal(where, message, "make it an int on every path: int(...)")
        if isinstance(where, Loop) and 0 in (a.ndim, b.ndim) and (a.ndim or b.ndim):
            message = (
                f"{name} is a number before the loop and an array after an iteration "
                "(`s = 0`, then `s = s + array`): its shape would depend on the iteration"
            )
            suggestion = f"start it as an array: {name} = np.zeros_like(...), or 0.0 * x"
            raise _refusal(where, message, suggestion)
        return join(a, b, phi.name)

    def check_truth(self, cond: Operand, where: If | Loop) -> None:
        """A condition (`if`, `while`, and `x or y` lowered to a selection) is one value:
        NumPy refuses the truth value of an array."""
        if self.of(cond).is_array:
            loc = where.loc
            at = (loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()
            raise UnsupportedSyntaxError(ARRAY_TRUTH, *at, suggestion=ARRAY_TRUTH_REWRITE)

    def infer_assign(self, stmt: Assign) -> Kind:
        if stmt.op == "unassigned" and stmt.target in self.kinds:
            return self.kinds[stmt.target]  # already given the kind of the loop's result
        rule = RULES[stmt.op]
        try:
            kind = rule.infer(tuple(self.of(a) for a in stmt.args), dict(stmt.attrs))
        except KindError as exc:
            loc = stmt.loc
            if loc is None:
                raise UnsupportedSyntaxError(str(exc), suggestion=exc.suggestion) from None
            raise UnsupportedSyntaxError(
                str(exc), loc.filename, loc.line, loc.col + 1, loc.text, exc.suggestion
            ) from None
        if stmt.target is not None:
            kind = self.fixed.get(stmt.target, kind)
            self.set(stmt.target, kind)
        return kind

    def block(self, block: Block) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                self.infer_assign(stmt)
            elif isinstance(stmt, If):
                self.check_truth(stmt.cond, stmt)
                self.block(stmt.body)
                self.block(stmt.orelse)
                for phi in stmt.phis:
                    self.set(phi.name, self.join_checked(phi, stmt))
                self.type_placeholders(stmt.phis)
            else:
                self.loop(stmt)

    def loop(self, loop: Loop) -> None:
        for phi in loop.phis:
            self.set(phi.name, self.of(phi.first))
        if loop.index:
            self.check_range_bounds(loop)
            self.set(loop.index, INT)
        if loop.exit_flag:
            self.set(loop.exit_flag, BOOL)
        for _ in range(4):  # a loop-carried value may change kind once or twice
            self.block(loop.test)
            if loop.cond is not None:
                self.check_truth(loop.cond, loop)
            self.block(loop.body)
            changed = False
            for phi in loop.phis:
                new = self.join_checked(phi, loop)
                if new != self.kinds[phi.name]:
                    self.kinds[phi.name] = new
                    changed = True
            if not changed:
                break
        self.type_placeholders(loop.phis)

    def check_range_bounds(self, loop: Loop) -> None:
        """range() takes whole numbers: CPython raises TypeError for a float, numba would
        truncate it silently."""
        for bound in (loop.start, loop.stop, loop.step):
            if bound is not None and self.of(bound).dtype == "float":
                loc = loop.loc
                at = (loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()
                raise UnsupportedSyntaxError(
                    "range() of a float (Python raises TypeError: range takes integers)",
                    *at,
                    suggestion="pass an int, or write range(int(n))",
                )

    def type_placeholders(self, phis) -> None:
        """A helper's result before the loop that returns it takes the kind of that result."""
        for phi in phis:
            kind = self.kinds[phi.name]
            for o in (phi.first, phi.second):
                if isinstance(o, Var) and self.of(o) == UNASSIGNED and kind != UNASSIGNED:
                    self.set(o.name, Kind(kind.ndim, kind.dtype))


def infer_kinds(fn: Function, params: dict[str, Kind]) -> KindTable:
    start = {name: kind.with_shape_of(name) if kind.ndim else kind for name, kind in params.items()}
    table = KindTable(start)
    table.block(fn.body)
    fixed = grown_dtypes(fn, table)
    if fixed:  # (again, with those lists' arrays of bools or ints)
        table = KindTable(start, fixed)
        table.block(fn.body)
    refuse_ambiguous_bools(fn, table)
    return table


_COMPARISONS = frozenset(("lt", "le", "gt", "ge", "eq", "ne"))


def refuse_ambiguous_bools(fn: Function, table: KindTable) -> None:
    """Refuse `a + b` of two single bools and `~c` of one unless one of them is NumPy's for
    sure (an element of a bool array, or a comparison of an element of an array): Python's
    True + True is 2 and ~True is -2, NumPy's np.True_ + np.True_ is True and ~np.True_ is
    False. (A Python float argument compares to a Python bool in CPython, to NumPy's in the
    NumPy program: which one the original computes is not known.)"""
    defs = {s.target: s for s in walk(fn.body) if isinstance(s, Assign) and s.target}

    def element(o: Operand) -> bool:
        s = defs.get(o.name) if isinstance(o, Var) else None
        return s is not None and s.op == "getitem" and bool(table.of(s.args[0]).ndim)

    def numpy_bool(o: Operand) -> bool:
        s = defs.get(o.name) if isinstance(o, Var) else None
        if s is None or table.of(o).dtype != "bool":
            return False
        if s.op in _COMPARISONS:
            return any(map(element, s.args))
        return element(o) or s.op in ("add", "invert") and any(map(numpy_bool, s.args))

    for s in walk(fn.body):
        if not isinstance(s, Assign) or s.op not in ("add", "invert"):
            continue
        if not all(table.of(a).ndim == 0 and table.of(a).dtype == "bool" for a in s.args):
            continue
        if any(map(numpy_bool, s.args)):
            continue  # (NumPy's meaning: the program runs on NumPy, api._numpy_semantics)
        what = "`+` of bools" if s.op == "add" else "~ of a single bool"
        message = (
            f"{what} (Python's True + True is 2 and ~True is -2, NumPy's np.True_ + np.True_ "
            "is True and ~np.True_ is False)"
        )
        rewrite = "int(a > 0) + int(b > 0)" if s.op == "add" else "`not c`"
        raise _refusal(s, f"{message}", f"make them numbers first: {rewrite}")


def grown_dtypes(fn: Function, table: KindTable) -> dict[str, Kind]:
    """The arrays holding lists grown in loops (`m.append(v > 0)`) that hold only bools, or
    only ints: np.array of the list is of that dtype in NumPy, so the array is too."""
    buffers = {
        s.target for s in walk(fn.body) if isinstance(s, Assign) and s.attr("grown") is not None
    }
    stored: dict[str, set] = {}
    for s in walk(fn.body):
        if isinstance(s, Assign) and s.op == "setitem" and s.attr("grows") is not None:
            array = s.args[0]
            if isinstance(array, Var) and array.name in buffers:
                kind = table.of(s.args[1])
                stored.setdefault(array.name, set()).add(kind.dtype if kind.ndim == 0 else None)
    fixed = {}
    for name, dtypes in stored.items():
        if dtypes and dtypes <= {"bool", "int"}:
            fixed[name] = Kind(1, "bool" if dtypes == {"bool"} else "int")
    return fixed


# Scalar arithmetic whose result on two NumPy bools differs under numba: np.bool_ + np.bool_ is
# True in NumPy, 2 in numba; -np.bool_ raises in NumPy.
_BOOL_DIFFERS = frozenset(
    ("add", "sub", "mul", "neg", "pos", "pow", "floordiv", "mod", "abs", "invert")
)


def scalar_bool_arithmetic(fn: Function, params: dict[str, Kind], only_bools: bool) -> bool:
    """Whether the program does arithmetic on a single bool (an element of a bool array, which
    NumPy computes as np.bool_ and numba as an int); `only_bools`: on single bools alone
    (`m[i] + m[i]`, `~m[i]`: a bool times a float is the same number either way)."""
    table = infer_kinds(fn, params)
    for stmt in walk(fn.body):
        if isinstance(stmt, Assign) and stmt.op in _BOOL_DIFFERS:
            bools = [table.of(a).ndim == 0 and table.of(a).dtype == "bool" for a in stmt.args]
            if all(bools) if only_bools else any(bools):
                return True
    return False


def makes_narrow_ints(fn: Function) -> bool:
    """Whether the program makes an integer array or number of a type other than int64
    (`.astype(np.uint8)`, `np.zeros(n, dtype=np.int32)`): numba computes on its elements in
    int64, NumPy in their own type (a uint8 difference wraps around)."""
    for stmt in walk(fn.body):
        if isinstance(stmt, Assign) and stmt.op in ("astype", "asarray"):
            dtype = stmt.attr("dtype")
            if dtype and dtype != "int64" and dtype[:3] in ("int", "uin"):
                return True
    return False


__all__ = ["FLOAT", "INT", "Var", "infer_kinds", "kind_of_value", "KindTable"]
