"""Proving indices in range, for the index checks of bounds.py.

Sizes of arrays and bounds of indices are linear forms over values that cannot change
(fresh_adjoint.Integers: parameters, lengths of parameter arrays, constants). An index is in
range when its least value is a nonnegative constant plus lengths, and the size minus its
greatest likewise; or when a check made earlier, before this point, covered it: each check
placed teaches a fact (every index from `low` to `high` of that axis passed), valid in the
rest of the block it is in, under the condition that the loops it covered ran (`guards`):
implied when the point is inside loops running over no more than those ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fresh_adjoint import Integers
from .index_forms import Frame, Lin, constant, form_of, nonnegative, plus
from .ir import INT, Assign, Const, Function, Var
from .kinds import KindTable

_CONSTRUCTORS = ("zeros", "empty", "ones", "full")
_SAME_SHAPE = ("zeros_like", "empty_like", "ones_like", "full_like", "copy", "array_copy")


@dataclass(frozen=True)
class Fact:
    low: dict
    high: dict
    guards: tuple  # ((first, last), ...) of the loops the check covered: it ran if first <= last


class Proofs:
    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.integers = Integers(fn)
        self.facts: list[list[tuple[tuple, Fact]]] = []  # per block being visited, outermost first

    # -- facts ---------------------------------------------------------------------------------

    def learn(self, depth: int, array: str, axis: int, offset: Lin, terms: list) -> None:
        """A check of the block at `depth` (in self.facts), of `offset + sum(coef * i)` over the
        loops of `terms`, (coef, start, stop, step) each, passed."""
        low = high = self.fixed(offset)
        guards = []
        for term in terms:
            coef, start, stop, step = (self.fixed(part) for part in term)
            if None in (low, coef, start, stop, step) or constant(coef) is None:
                return
            if constant(step) not in (1, -1):  # the last index would be a bound, not exact
                return
            if constant(step) == 1:
                first, last = start, plus(stop, {(): -1})
            else:
                first, last = plus(stop, {(): 1}), start
            guards.append((first, last))
            c = constant(coef)
            low = plus(low, first if c > 0 else last, c)
            high = plus(high, last if c > 0 else first, c)
        if low is not None and self.stable(array):
            key = (self.canonical(array), axis)
            self.facts[depth].append((key, Fact(low, high, tuple(guards))))

    def stable(self, array: str) -> bool:
        """Bound once: its shape is the same wherever a fact about it is used."""
        return array in self.integers.fixed or array in self.integers.defs

    def covered(self, array: str, axis: int, low: dict, high: dict, frames: list[Frame]) -> bool:
        """Whether a fact about the axis covers [low, high] (fixed forms) here."""
        if not self.stable(array):
            return False
        key = (self.canonical(array), axis)
        ranges = None
        for block in self.facts:
            for known, fact in block:
                if known != key:
                    continue
                inside = nonnegative(plus(low, fact.low, -1))
                if not (inside and nonnegative(plus(fact.high, high, -1))):
                    continue
                ranges = self.ranges(frames) if ranges is None else ranges
                if all(self.implied(guard, ranges) for guard in fact.guards):
                    return True
        return False

    def ranges(self, frames: list[Frame]) -> list[tuple[dict, dict]]:
        """(first, last) of the loops around the point (each ran: first <= last)."""
        out = []
        for frame in frames:
            loop = frame.loop
            if not loop.is_range or not isinstance(loop.step, Const) or loop.step.value != 1:
                continue
            forms = [form_of(o) for o in (loop.start, loop.stop)]
            start, stop = (None, None) if None in forms else (self.fixed(f) for f in forms)
            if start is not None and stop is not None:
                out.append((start, plus(stop, {(): -1})))
        return out

    @staticmethod
    def implied(guard: tuple, ranges: list) -> bool:
        first, last = guard
        if nonnegative(plus(last, first, -1)):
            return True
        return any(
            nonnegative(plus(lo, first, -1)) and nonnegative(plus(last, hi, -1))
            for lo, hi in ranges
        )

    # -- ranges --------------------------------------------------------------------------------

    def proved(self, array: str, axis: int, low: Lin, high: Lin, frames: list[Frame]) -> bool:
        """Whether every index from low to high (forms valid before the loops lifted through)
        is in range of the axis."""
        lows, highs = self.bounds(low, upper=False), self.bounds(high, upper=True)
        if not lows or not highs:
            return False
        size = self.size(array, axis)
        if size is not None and any(nonnegative(least) for least in lows):
            last = plus(size, {(): -1})
            if any(nonnegative(plus(last, greatest, -1)) for greatest in highs):
                return True
        return any(self.covered(array, axis, a, b, frames) for a in lows for b in highs)

    def bounds(self, lin: Lin, upper: bool) -> list[dict]:
        """Linear forms over values that cannot change bounding `lin` from above (or below):
        its value itself, or for a name defined once as min(a, b) (the length of zip(x, y))
        either of a and b (max(a, b) from below)."""
        out: list[dict] = [{}]
        for key, c in lin.items():
            forms = self.key_bounds(key, upper == (c > 0), 0)
            out = [plus(o, f, c) for o in out for f in forms][:8]
        return out

    def key_bounds(self, key, upper: bool, depth: int) -> list[dict]:
        exact = self.fixed({key: 1})
        if exact is not None:
            return [exact]
        s = self.integers.defs.get(key) if isinstance(key, str) else None
        if s is None or depth > 4 or s.op != ("minimum" if upper else "maximum"):
            return []
        forms = []
        for a in s.args:
            if isinstance(a, Var):
                forms += self.key_bounds(a.name, upper, depth + 1)
            elif type(a.value) is int:
                forms.append({(): a.value} if a.value else {})
        return forms

    def fixed(self, lin: Lin) -> dict | None:
        """A linear form over values that cannot change (fresh_adjoint.Integers), or None."""
        out: dict = {}
        for key, c in lin.items():
            if key == ():
                form = {(): 1}
            elif isinstance(key, tuple):
                form = self.size(key[1], key[2])
            else:
                form = self.integers.linear(Var(key))
            if form is None:
                return None
            out = plus(out, form, c)
        return out

    def size(self, array: str, axis: int, depth: int = 0) -> dict | None:
        """The length of an axis of an array bound once, as a linear form, if known."""
        if array in self.integers.fixed:
            return {("dim", array, axis): 1}
        s = self.integers.defs.get(array)
        if s is None or depth > 20 or not s.args or not isinstance(s.args[0], (Var, Const)):
            return None
        first = s.args[0]
        if s.op in _SAME_SHAPE and isinstance(first, Var):
            return self.size(first.name, axis, depth + 1)
        if s.op == "getitem":
            rows = self.rows_of(s)
            return None if rows is None else self.size(rows[0], axis + rows[1], depth + 1)
        if s.op not in _CONSTRUCTORS:
            return None
        if isinstance(first, Const):
            shape = first.value if isinstance(first.value, tuple) else (first.value,)
            ok = axis < len(shape) and type(shape[axis]) is int
            return {(): shape[axis]} if ok else None
        if self.kinds.of(first) == INT:
            return self.integers.linear(first) if axis == 0 else None
        shape = self.integers.defs.get(first.name)
        if shape is not None and shape.op == "tuple" and axis < len(shape.args):
            return self.integers.linear(shape.args[axis])
        return None

    def rows_of(self, s: Assign) -> tuple[str, int] | None:
        """(x, k) for `s` taking `x[i1, ..., ik]` with k scalar indices: axis a of the result
        is axis a + k of x."""
        items = s.attr("index") if s.op == "getitem" else None
        if not items or any(item != ("i",) for item in items) or not isinstance(s.args[0], Var):
            return None
        if any(self.kinds.of(a) != INT for a in s.args[1:]):
            return None
        return s.args[0].name, len(items)

    def canonical(self, array: str) -> str:
        """An array of the same shape, the same for all arrays kinds know to be alike."""
        for _ in range(20):
            same = self.kinds.of(Var(array)).same_shape_as
            if same is None or same == array:
                break
            array = same
        return array
