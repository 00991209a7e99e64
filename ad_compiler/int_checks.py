"""Scalar int `+`, `-`, `*` in numba code: Python's value or an error, never a wrapped int64.

Python's ints grow without bound; numba's are int64 and wrap around without a word: a factorial
`fact = fact * k` turns negative at 21!, and `(n * n) % p` is wrong once n passes 2**31.5. Each
scalar int `+`, `-` or `*` of a numba program whose result might not fit is computed by
`rt.int_add`, `rt.int_sub` or `rt.int_mul` (runtime_ints.py), which raise OverflowError; the
call then runs the NumPy program, whose ints are Python's (api.py). Int arrays are left alone:
NumPy's int64 arrays wrap around as numba's do.

Which results might not fit is found from bounds on magnitudes, over every assignment of a name
(the gradient program assigns some names more than once, in both sweeps):

* a constant: itself; a bool: 1;
* a size (`len`, `x.shape[k]`, `x.size`, a range's length, an argmax): 2**31, an assumption (no
  axis, list or loop of 2**31 elements or more); the index of a range loop: its bounds';
* a counter, a cycle of copies, merges and steps `i = j + s` (`s` within a size: a tape's top,
  `li += 1`, `li += len(row)`): within 2**61 of its other assignments, an assumption too (2**30
  steps of 2**31 pass it; LLVM computes some such loops in closed form, without running them);
* an int argument multiplied: under 2**31, checked once at entry (`rt.small_int`; a bigger one
  runs the NumPy program), so that index arithmetic in loops (`i * n + j`) needs no checks;
* `a + b`, `a - b`: the sum of the bounds; `a * b`: their product; `-a` (checked when `a` may
  be -2**63), `abs(a)`, `a // b`: a's (`abs(-2**63)` and `-2**63 // -1` are not checked);
  `a % b`: b's; a copy, a merge, min and max: the larger;
* anything else (an int argument only added, an element of an int array or of a tuple or list
  of ints, which is a Python int in CPython, int(x)): unknown, just past int64.

A result whose bound passes int64 is checked, and a checked result is bounded by int64.
"""

from __future__ import annotations

from .ir import Assign, Const, Function, If, Loop, Operand, Var, walk
from .kinds import KindTable

INT64 = 2**63 - 1
SIZE = 2**31
STEP = SIZE
TRAVEL = 2**61  # how far a counter may move in one call (an assumption)
_LIMIT = 2**64  # intervals stop growing here
UNKNOWN = (-(2**63) - 1, 2**63)  # (just past int64 on both sides: arithmetic on it is checked)
EMPTY = (_LIMIT, -_LIMIT)  # (no value yet)
_ROUNDS = 1000
_RAISES = 4  # an interval widened this often grows around a cycle (`i = i + 1`): to _LIMIT

CHECKED = {
    "add": "rt.int_add({0}, {1})",
    "sub": "rt.int_sub({0}, {1})",
    "mul": "rt.int_mul({0}, {1})",
    "neg": "rt.int_neg({0})",
}
GUARD = "rt.small_int({0})"
_SIZES = {"len", "dim", "size", "range_len", "argmax", "argmin", "ndim"}
_LARGER = {"copy", "min", "max", "maximum", "minimum", "where"}
_TAPES_IN = {"tape_store": 2, "list_append": 1}  # op: the position of the value stored
_TAPES_OUT = {"tape_load", "list_pop"}


def int_checks(fn: Function, kinds: KindTable) -> tuple[set[int], tuple[str, ...]]:
    """The ids of the statements of `fn` to print checked (CHECKED[stmt.op]), and the int
    parameters to check against 2**31 at entry (GUARD)."""
    statements = list(walk(fn.body))
    if not any(isinstance(s, Assign) and s.op in CHECKED for s in statements):
        return set(), ()
    # int parameters read by arithmetic: checked once at entry instead of at every operation
    # (an index `i * n + j` in a loop); a bigger one runs the NumPy program
    guarded = tuple(
        p
        for p in fn.params
        if kinds.of(Var(p)).ndim == 0
        and kinds.of(Var(p)).dtype == "int"
        and any(isinstance(s, Assign) and s.op in CHECKED and Var(p) in s.args for s in statements)
    )
    plain = _Bounds(kinds, fn.params, guarded, statements, {})
    plain.settle()
    groups = _counter_groups(plain, statements)
    while True:
        bounds = _Bounds(kinds, fn.params, guarded, statements, groups)
        bounds.settle()
        broken = {g for g in set(groups.values()) if bounds.start(g) + TRAVEL > INT64}
        if not broken:
            return bounds.checked, guarded
        groups = {name: g for name, g in groups.items() if g not in broken}


class _Bounds:
    """Intervals holding a program's scalar ints (`interval`), and the statements whose results
    may pass int64 (`checked`). An interval is a pair (lo, hi); none yet is EMPTY."""

    def __init__(self, kinds: KindTable, params, guarded, statements: list, groups: dict) -> None:
        self.kinds = kinds
        self.statements = statements
        self.groups = groups  # name -> its counter group
        self.intervals: dict[str | tuple, tuple[int, int]] = {p: UNKNOWN for p in params}
        self.intervals.update((p, (-SIZE, SIZE)) for p in guarded)
        self.checked: set[int] = set()
        self.widened: dict[str | tuple, int] = {}
        self.changed = True

    def settle(self) -> None:
        for _ in range(_ROUNDS):
            if not self.changed:
                return
            self.changed = False
            for s in self.statements:
                self.visit(s)
        # (never seen: every interval can widen only a few times) all of them, to be safe
        self.checked = {
            id(s)
            for s in self.statements
            if isinstance(s, Assign) and s.op in CHECKED and all(map(self.whole, s.args))
        }

    def interval(self, o: Operand | None) -> tuple[int, int]:
        if isinstance(o, Const):
            v = o.value
            return (int(v), int(v)) if isinstance(v, int | bool) else UNKNOWN
        return EMPTY if o is None else self.intervals.get(o.name, EMPTY)

    def bound(self, o: Operand | None) -> int:
        """The largest magnitude."""
        lo, hi = self.interval(o)
        return max(-lo, hi, 0)

    def widen(self, name: str, interval: tuple[int, int], within_group: bool = False) -> None:
        group = self.groups.get(name)
        if group is not None:  # a counter: its starts, and as far again as it moves
            if not within_group:
                self._widen(("start", group), interval)
            lo, hi = self.intervals.get(("start", group), EMPTY)
            if lo > hi:
                return  # (no start yet)
            interval = (lo - TRAVEL, hi + TRAVEL)
        self._widen(name, interval)

    def _widen(self, key: str | tuple, interval: tuple[int, int]) -> None:
        old = self.intervals.get(key, EMPTY)
        lo, hi = max(min(old[0], interval[0]), -_LIMIT), min(max(old[1], interval[1]), _LIMIT)
        if (lo, hi) != old:
            times = self.widened[key] = self.widened.get(key, 0) + 1
            self.intervals[key] = (-_LIMIT, _LIMIT) if times > _RAISES else (lo, hi)
            self.changed = True

    def start(self, group: int) -> int:
        """The largest magnitude a counter group starts from."""
        lo, hi = self.intervals.get(("start", group), EMPTY)
        return max(-lo, hi, 0)

    def whole(self, o: Operand) -> bool:
        kind = self.kinds.of(o)
        return kind.ndim == 0 and kind.dtype in ("int", "bool")

    def visit(self, s) -> None:
        if isinstance(s, Assign):
            if s.op in _TAPES_IN and isinstance(s.args[0], Var):
                self.widen(s.args[0].name, self.interval(s.args[_TAPES_IN[s.op]]))
            if s.target is not None and self.whole(Var(s.target)):
                if self.counts(s):  # (a step or a copy within a counter group)
                    self.widen(s.target, EMPTY, within_group=True)
                else:
                    self.widen(s.target, self.result(s))
            return
        if isinstance(s, Loop) and s.index is not None:
            self.widen(s.index, self._indices(s))
        if isinstance(s, If | Loop):
            for phi in s.phis:
                group = self.groups.get(phi.name)
                for o in (phi.first, phi.second):
                    if not self.member(o, group):
                        self.widen(phi.name, self.interval(o))

    def _indices(self, loop: Loop) -> tuple[int, int]:
        """Where a range loop's index stays: [start, stop) going up, (stop, start] down."""
        start, stop = self.interval(loop.start), self.interval(loop.stop)
        if start[0] > start[1] or stop[0] > stop[1]:
            return EMPTY  # (not known yet)
        step = loop.step.value if isinstance(loop.step, Const) else None
        if isinstance(step, int) and step > 0:
            return start[0], max(start[0], stop[1] - 1)
        if isinstance(step, int) and step < 0:
            return min(start[1], stop[0] + 1), start[1]
        return min(start[0], stop[0]), max(start[1], stop[1])

    def member(self, o: Operand, group: int | None) -> bool:
        return group is not None and isinstance(o, Var) and self.groups.get(o.name) == group

    def counts(self, s: Assign) -> bool:
        """Whether `s` copies a member of its target's counter group, or steps from one by at
        most STEP."""
        group = self.groups.get(s.target)
        if group is None:
            return False
        if s.op == "copy":
            return self.member(s.args[0], group)
        if s.op not in ("add", "sub") or len(s.args) != 2:
            return False
        a, b = s.args
        if self.member(a, group) and self.bound(b) <= STEP:
            return True
        return s.op == "add" and self.member(b, group) and self.bound(a) <= STEP

    def result(self, s: Assign) -> tuple[int, int]:
        args = s.args
        if s.op in CHECKED and all(map(self.whole, args)):
            got = _arithmetic(s.op, *map(self.interval, args))
            if got[0] < -INT64 - 1 or got[1] > INT64:
                self.checked.add(id(s))
                return (-INT64 - 1, INT64)
            return got
        if self.kinds.of(Var(s.target)).dtype == "bool":
            return (0, 1)
        if s.op in _SIZES or (args and self.kinds.of(args[0]).dtype == "shape"):
            return (0, SIZE)
        if s.op in ("abs", "pos", "floordiv") and args:
            bound = self.bound(args[0])
            return (0 if s.op == "abs" else -bound, bound)
        if s.op == "mod" and len(args) == 2:
            bound = self.bound(args[1])
            return (-bound, bound)
        if s.op in _LARGER and args:
            intervals = [self.interval(a) for a in args]
            return min(i[0] for i in intervals), max(i[1] for i in intervals)
        if s.op in _TAPES_OUT and isinstance(args[0], Var):
            return self.interval(args[0])
        return UNKNOWN


def _arithmetic(op: str, a: tuple[int, int], b: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    if a[0] > a[1] or b[0] > b[1]:
        return EMPTY  # (an operand not known yet)
    if op == "add":
        return a[0] + b[0], a[1] + b[1]
    if op == "sub":
        return a[0] - b[1], a[1] - b[0]
    if op == "neg":
        return -a[1], -a[0]
    products = [x * y for x in a for y in b]
    return min(products), max(products)


def _counter_groups(plain: _Bounds, statements: list) -> dict[str, int]:
    """Counters: the cycles of copies, merges and small steps (`t = u + s`) through which a
    name is stepped from its own earlier value, each numbered. A name merely computed from a
    counter or a size (`t = c + 1`) is no counter: its plain bound holds."""
    edges: dict[str, set[str]] = {}  # from the name read to the name assigned
    steps: list[tuple[str, str]] = []
    for s in statements:
        if isinstance(s, Assign) and s.target is not None and plain.whole(Var(s.target)):
            base = _base_of_step(s, plain)
            if base is not None:
                steps.append((base, s.target))
            elif s.op == "copy" and isinstance(s.args[0], Var) and plain.whole(s.args[0]):
                base = s.args[0].name
            if base is not None:
                edges.setdefault(base, set()).add(s.target)
        elif isinstance(s, If | Loop):
            for phi in s.phis:
                for o in (phi.first, phi.second):
                    if isinstance(o, Var) and plain.whole(o):
                        edges.setdefault(o.name, set()).add(phi.name)
    component = _components(edges)
    counting = sorted({component[a] for a, b in steps if component[a] == component[b]})
    return {name: counting.index(c) for name, c in component.items() if c in counting}


def _components(edges: dict[str, set[str]]) -> dict[str, int]:
    """The strongly connected components of a directed graph (Kosaraju), numbered."""
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})
    order: list[str] = []
    seen: set[str] = set()
    for root in nodes:  # finishing order, without recursion
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(edges.get(root, ()))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(node)
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    reverse: dict[str, set[str]] = {}
    for a, targets in edges.items():
        for b in targets:
            reverse.setdefault(b, set()).add(a)
    component: dict[str, int] = {}
    for root in reversed(order):
        if root in component:
            continue
        number, todo = len(set(component.values())), [root]
        component[root] = number
        while todo:
            for other in reverse.get(todo.pop(), ()):
                if other not in component:
                    component[other] = number
                    todo.append(other)
    return component


def _base_of_step(s: Assign, plain: _Bounds) -> str | None:
    """The name `s` steps from: `t = u + s`, `s + u` or `u - s` with s at most STEP."""
    if s.op not in ("add", "sub") or len(s.args) != 2 or not all(map(plain.whole, s.args)):
        return None
    candidates = [(s.args[0], s.args[1])] + ([(s.args[1], s.args[0])] if s.op == "add" else [])
    for base, step in candidates:
        if isinstance(base, Var) and plain.bound(step) <= STEP:
            return base.name
    return None
