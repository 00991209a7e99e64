"""An adjoint array that a carried stencil loop writes whole is allocated, not zero-filled.

After loop_carry.py, the reverse of `for i in range(n - 1): ... x[i] ... x[i + 1] ...` adds
into each element of `x_bar` exactly once: element i + c in iteration i, the last few after the
loop. When `x_bar = np.zeros_like(x)` comes just before and the elements so written are provably
0 .. len(x) - 1, the zeros are never read: `x_bar = np.empty_like(x)` and the additions become
stores, and if the loop runs no iteration the array is filled with zeros after it.

The proof is symbolic, on integers that cannot change: the loop bounds and len(x) are written
as constants plus multiples of `x.shape[k]` and of integer parameters (names assigned once,
through + and -). Lowest element 0 and highest len(x) - 1 must come out equal, term by term;
anything else (a bound read from data, wrap-around of negative indices) leaves the zeros.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from .fusion_analysis import targets
from .ir import Assign, Const, Function, If, Loop, Operand, Stmt, Var, walk

Linear = tuple[tuple[tuple, int], ...]  # sorted (symbol, coefficient) pairs, const under ()
_FULL = (("s", 0, 0, 0),)  # the index structure of `a[:]`


class Integers:
    """Integer values of a program as linear forms over values that cannot change."""

    def __init__(self, fn: Function) -> None:
        counts: Counter = Counter()
        self.defs: dict[str, Assign] = {}
        for s in walk(fn.body):  # each statement's own definitions (walk visits nested ones)
            for name in targets(s):
                counts[name] += 1
            if isinstance(s, Assign) and s.target:
                self.defs[s.target] = s
        self.fixed = {p for p in fn.params if counts[p] == 0}
        self.defs = {k: v for k, v in self.defs.items() if counts[k] == 1}

    def linear(self, o: Operand, depth: int = 0) -> dict | None:
        if isinstance(o, Const):
            return {(): o.value} if type(o.value) is int else None
        if o.name in self.fixed:
            return {("param", o.name): 1}
        s = self.defs.get(o.name)
        if s is None or depth > 50:
            return None
        if s.op in ("dim", "len") and isinstance(s.args[0], Var) and s.args[0].name in self.fixed:
            return {("dim", s.args[0].name, s.attr("axis", 0)): 1}
        parts = [self.linear(a, depth + 1) for a in s.args]
        if any(p is None for p in parts):
            return None
        if s.op == "copy":
            return parts[0]
        if s.op == "neg":
            return _combine(parts[0], {}, -1)
        if s.op in ("add", "sub") and len(parts) == 2:
            return _combine(parts[0], parts[1], 1 if s.op == "add" else -1)
        return None

    def equal(self, a: dict | None, b: dict | None) -> bool:
        return a is not None and b is not None and not _combine(a, b, -1)


def _combine(a: dict, b: dict, sign: int) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + sign * value
    return {k: v for k, v in out.items() if v != 0}


def allocate_fresh(
    prefix: list[Stmt],
    array: str,
    loop: Loop,
    low: int,
    high: int,
    after: list[Stmt],
    trip: str,
    integers: Integers,
    new_name: Callable[[], str],
) -> tuple[list[Stmt], Loop, list[Stmt]] | None:
    """Rewrite the zero-fill in `prefix` (the statements before the loop in its block), the
    loop's store (the one top-level `array[...] += ` of its body) and the stores after it;
    None when totality is not proven. `after` is empty or holds `t = trip > 0` and the `If(t)`
    that stores the elements still pending."""
    at = _zero_fill(prefix, array)
    if at is None:
        return None
    like = prefix[at].args[0]
    if not isinstance(like, Var) or like.name not in integers.fixed:
        return None
    size = {("dim", like.name, 0): 1}
    one = {(): 1}
    start, stop = integers.linear(loop.start), integers.linear(loop.stop)
    if start is None or stop is None:
        return None
    if loop.step.value < 0:  # start, start - 1, ..., stop + 1
        lowest, highest = _combine(stop, one, 1), start
    else:  # start, ..., stop - 1
        lowest, highest = start, _combine(stop, one, -1)
    lowest = _combine(lowest, {(): low}, 1)
    highest = _combine(highest, {(): high}, 1)
    if not (integers.equal(lowest, {}) and integers.equal(highest, _combine(size, one, -1))):
        return None
    prefix = list(prefix)
    prefix[at] = replace(prefix[at], op="empty_like")
    body = tuple(replace(s, op="setitem") if _adds_into(s, array) else s for s in loop.body)
    fill = Assign(None, "setitem", (Var(array), Const(0.0)), (("index", _FULL),))
    if after:
        guard = after[-1]
        assert isinstance(guard, If) and not guard.orelse
        stores = tuple(replace(s, op="setitem") if _adds_into(s, array) else s for s in guard.body)
        after = after[:-1] + [replace(guard, body=stores, orelse=(fill,))]
    else:  # no iteration: nothing was stored
        empty = new_name()
        after = [Assign(empty, "le", (Var(trip), Const(0))), If(Var(empty), (fill,), ())]
    return prefix, replace(loop, body=body), after


def _adds_into(s: Stmt, array: str) -> bool:
    return isinstance(s, Assign) and s.op == "index_add" and s.args[0] == Var(array)


def _zero_fill(prefix: list[Stmt], array: str) -> int | None:
    """The position of `array = zeros_like(x)` when nothing after it in `prefix` mentions the
    array (or writes any array, which could be a view of it)."""
    for j in range(len(prefix) - 1, -1, -1):
        s = prefix[j]
        if isinstance(s, Assign) and s.target == array:
            return j if s.op == "zeros_like" else None
        if not isinstance(s, Assign) or array in _names(s) or (s.target is None):
            return None
    return None


def _names(s: Assign) -> set[str]:
    return {o.name for o in s.args if isinstance(o, Var)} | ({s.target} if s.target else set())
