"""Element reads a loop does not change, computed once before it (numba programs).

In `for r in range(c + 1, d): z[r] = z[r] + icf[k, li] * (x[i, c] - means[k, c])` the
elements x[i, c] and means[k, c] are the same in every iteration, but LLVM loads them again
after each store into z: it cannot prove that z and x are different arrays. The compiler knows
which arrays may share memory (activity.Aliases), so such reads, and the float arithmetic on
them (with names the loop does not assign), move before the loop:

    trip = len(range(c + 1, d))
    if trip > 0:                       # the first iteration would have read the same elements
        t3 = x[i, c] - means[k, c]
    for r in range(c + 1, d):
        z[r] = z[r] + icf[k, li] * t3

Only range loops without break, and only statements at the top level of the body that every
first iteration reaches: the scan stops at the first statement that could raise or skip the
rest (an index check, a call, an `if`, a nested loop). A read moves only when no write in the
loop (stores, tape pushes, `+=` into an array, nested statements included) can reach an array
sharing memory with the one read, every array involved being a parameter, a new array, or a
view or copy of one; its index values are the first iteration's, so the index checks that
cover the loop cover it (numba reads without checking). The values are the same floats in
the same order: the result does not change by a bit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .activity import Aliases
from .ir import (
    BOOL,
    INT,
    Assign,
    Const,
    Function,
    If,
    Loop,
    Names,
    Stmt,
    Var,
    defined_names,
    walk,
)
from .kinds import KindTable
from .rules import RULES

# Arrays whose memory is known: parameters and the results of these operations, each a new
# array (other operations may return their argument's memory: `rt.sum_to` when the shapes
# agree). A read moves only when every array it and the loop's writes may be is known.
_ALLOCATING = frozenset(
    {"zeros", "zeros_like", "empty", "empty_like", "ones", "ones_like", "full", "full_like",
     "tape_alloc", "array_copy", "add", "sub", "mul", "div", "neg"}
)  # fmt: skip
# What moves: an element read and float arithmetic, none of which can raise.
_MOVABLE = frozenset({"getitem", "add", "sub", "mul", "neg"})
# What the scan may pass over. Some can raise (arithmetic on arrays of mismatched shapes): a
# read moved past one is harmless, its index being checked before the loop (an index check in
# the body stops the scan). Calls, checks, ifs and nested loops stop it.
_QUIET = _MOVABLE | frozenset(
    {"copy", "div", "index_add", "setitem", "tape_store", "tape_load", "where", "exp",
     "gt", "ge", "lt", "le", "eq", "ne", "maximum", "minimum", "range_len", "dim"}
)  # fmt: skip


def hoist_invariant_reads(fn: Function, kinds: KindTable) -> Function:
    """`fn` with the invariant element reads of its range loops computed before them."""
    hoister = _Hoister(fn, kinds)
    body = hoister.block(fn.body)
    return fn if not hoister.changed else replace(fn, body=body)


class _Hoister:
    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.aliases = Aliases(fn, kinds)
        self.names = Names.of_program(fn)
        self.changed = False
        # names defined by anything but an allocation: arrays of unknown memory
        self.unknown = {
            s.target
            for s in walk(fn.body)
            if isinstance(s, Assign) and s.target and s.op not in _ALLOCATING
        } - set(fn.params)

    def apart(self, array: str, written: list) -> bool:
        """Whether no write of `written` can reach the memory of `array`."""
        names = [array] + [w.name for w in written if isinstance(w, Var)]
        if any(self.aliases.of(n) & self.unknown for n in names) or len(names) < len(written) + 1:
            return False
        return not any(self.aliases.share(n, array) for n in names[1:])

    def block(self, block: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in block:
            if isinstance(s, If):
                out.append(replace(s, body=self.block(s.body), orelse=self.block(s.orelse)))
            elif isinstance(s, Loop):
                s = replace(s, body=self.block(s.body))  # (range loops have no test)
                out.extend(self.loop(s, out))
            else:
                out.append(s)
        return tuple(out)

    def loop(self, loop: Loop, before: list[Stmt]) -> list[Stmt]:
        """The loop, after the statements computing its invariant reads; `before` holds the
        statements before it in its block."""
        if not loop.is_range or loop.exit_flag is not None:
            return [loop]
        # how often the loop assigns each name (nested blocks included)
        counts = Counter(name for s in loop.body for name in defined_names(s))
        counts[loop.index] += 1
        written = [
            s.args[RULES[s.op].mutates]
            for s in walk(loop.body)
            if isinstance(s, Assign) and RULES[s.op].mutates is not None
        ]
        moved: list[Stmt] = []
        moved_names: set[str] = set()
        read_so_far: set[str] = set()
        for s in loop.body:
            if not (isinstance(s, Assign) and s.op in _QUIET):
                break
            if self._movable(s, counts, moved_names, read_so_far, written):
                moved.append(s)
                moved_names.add(s.target)
            read_so_far.update(o.name for o in s.args if isinstance(o, Var))
        if not moved:
            return [loop]
        self.changed = True
        origin = {"loc": loop.loc, "reverses": loop.reverses}
        guard: list[Stmt] = []
        trip = _trip_count(loop, before)
        if trip is None:
            trip = self._name("trip", INT)
            guard.append(Assign(trip, "range_len", (loop.start, loop.stop, loop.step), **origin))
        ran = self.names.temp()
        self.kinds.set(ran, BOOL)
        guard += [
            Assign(ran, "gt", (Var(trip), Const(0)), **origin),
            If(Var(ran), tuple(moved), ()),
        ]
        kept = {id(s) for s in moved}
        body = tuple(s for s in loop.body if id(s) not in kept)
        return guard + [replace(loop, body=body)]

    def _movable(self, s: Assign, counts, moved_names, read_so_far, written) -> bool:
        target = s.target
        if s.op not in _MOVABLE or target is None:
            return False
        kind = self.kinds.of(Var(target))
        if (
            kind.ndim != 0
            or kind.dtype != "float"
            or counts.get(target, 0) != 1
            or target in read_so_far  # an earlier statement reads last iteration's value
        ):
            return False
        for o in s.args:
            if isinstance(o, Var) and o.name in counts and o.name not in moved_names:
                return False
        if s.op != "getitem":  # arithmetic on registers alone LLVM moves itself
            return any(isinstance(o, Var) and o.name in moved_names for o in s.args)
        array = s.args[0]
        return (
            isinstance(array, Var)
            and self.kinds.of(array).is_array
            and s.attr("index") == (("i",),) * (len(s.args) - 1)
            and self.apart(array.name, written)
        )

    def _name(self, base: str, kind) -> str:
        name = self.names.fresh(base)
        self.kinds.set(name, kind)
        return name


def _trip_count(loop: Loop, before: list[Stmt]) -> str | None:
    """The name an earlier statement of the block gave `len(range(...))` of this loop, when
    only plain assignments of other names stand between it and the loop."""
    bounds = (loop.start, loop.stop, loop.step)
    bound_names = {o.name for o in bounds if isinstance(o, Var)}
    assigned: set[str] = set()
    for s in reversed(before):
        if not isinstance(s, Assign):
            return None
        if s.op == "range_len" and s.args == bounds and s.target not in assigned:
            return s.target
        assigned.update(defined_names(s))
        if assigned & bound_names:
            return None
    return None
