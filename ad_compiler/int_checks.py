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
* a counter, a cycle of copies, merges and steps `i = j + s` (`s` at most 2**33: a tape's top,
  `li += 1`, `li += len(row)`, `li = li0 + (r - c)`): the largest of its other assignments plus
  2**61 (an assumption too: its steps add up to less than 2**61 in one call);
* `a + b`, `a - b`: the sum of the bounds; `a * b`: their product; `-a`, `abs(a)`, `a // b`:
  a's; `a % b`: b's; a copy, a merge, min and max: the larger;
* anything else (an int argument, a module-level int, an element of an int array, int(x)):
  unknown, 2**63.

A result whose bound passes int64 is checked, and a checked result is bounded by int64.
"""

from __future__ import annotations

from .ir import Assign, Const, Function, If, Loop, Operand, Var, walk
from .kinds import KindTable

INT64 = 2**63 - 1
SIZE = 2**31
STEP = 2**33
TRAVEL = 2**61  # how far a counter may move in one call
_LIMIT = 2**64  # bounds stop growing here
_ROUNDS = 1000
_RAISES = 4  # a bound raised this often grows around a cycle (`i = i + 1`): it goes to _LIMIT

CHECKED = {
    "add": "rt.int_add({0}, {1})",
    "sub": "rt.int_sub({0}, {1})",
    "mul": "rt.int_mul({0}, {1})",
}
_SIZES = {"len", "dim", "size", "range_len", "argmax", "argmin", "ndim"}
_SAME = {"neg", "abs", "pos", "floordiv"}
_LARGER = {"copy", "min", "max", "maximum", "minimum", "where"}
_TAPES_IN = {"tape_store": 2, "list_append": 1}  # op: the position of the value stored
_TAPES_OUT = {"tape_load", "list_pop"}


def int_checks(fn: Function, kinds: KindTable) -> set[int]:
    """The ids of the statements of `fn` to print checked (CHECKED[stmt.op])."""
    statements = list(walk(fn.body))
    if not any(isinstance(s, Assign) and s.op in CHECKED for s in statements):
        return set()
    plain = _Bounds(kinds, fn.params, statements, {})
    plain.settle()
    groups = _counter_groups(plain, statements)
    while True:
        bounds = _Bounds(kinds, fn.params, statements, groups)
        bounds.settle()
        broken = {g for g in set(groups.values()) if bounds.start(g) + TRAVEL > INT64}
        if not broken:
            return bounds.checked
        groups = {name: g for name, g in groups.items() if g not in broken}


class _Bounds:
    """Bounds on the magnitudes of a program's scalar ints (`bound`), and the statements whose
    results pass int64 (`checked`)."""

    def __init__(self, kinds: KindTable, params, statements: list, groups: dict) -> None:
        self.kinds = kinds
        self.statements = statements
        self.groups = groups  # name -> its counter group
        self.bounds: dict[str | tuple, int] = {p: INT64 + 1 for p in params}
        self.checked: set[int] = set()
        self.raises: dict[str | tuple, int] = {}
        self.changed = True

    def settle(self) -> None:
        for _ in range(_ROUNDS):
            if not self.changed:
                return
            self.changed = False
            for s in self.statements:
                self.visit(s)
        # (never seen: every bound can rise only a few times) all of them, to be safe
        self.checked = {
            id(s)
            for s in self.statements
            if isinstance(s, Assign) and s.op in CHECKED and all(map(self.whole, s.args))
        }

    def bound(self, o: Operand | None) -> int:
        if isinstance(o, Const):
            v = o.value
            return abs(int(v)) if isinstance(v, int | bool) else INT64 + 1
        return 0 if o is None else self.bounds.get(o.name, 0)

    def raise_to(self, name: str, bound: int, within_group: bool = False) -> None:
        group = self.groups.get(name)
        if group is not None:  # a counter: its largest start, plus how far it moves
            if not within_group:
                self._raise(("start", group), bound)
            bound = self.bounds.get(("start", group), 0) + TRAVEL
        self._raise(name, bound)

    def _raise(self, key: str | tuple, bound: int) -> None:
        bound = min(bound, _LIMIT)
        if bound > self.bounds.get(key, 0):
            raises = self.raises[key] = self.raises.get(key, 0) + 1
            self.bounds[key] = _LIMIT if raises > _RAISES else bound
            self.changed = True

    def start(self, group: int) -> int:
        return self.bounds.get(("start", group), 0)

    def whole(self, o: Operand) -> bool:
        kind = self.kinds.of(o)
        return kind.ndim == 0 and kind.dtype in ("int", "bool")

    def visit(self, s) -> None:
        if isinstance(s, Assign):
            if s.op in _TAPES_IN and isinstance(s.args[0], Var):
                self.raise_to(s.args[0].name, self.bound(s.args[_TAPES_IN[s.op]]))
            if s.target is not None and self.whole(Var(s.target)):
                if self.counts(s):  # (a step or a copy within a counter group)
                    self.raise_to(s.target, 0, within_group=True)
                else:
                    self.raise_to(s.target, self.result(s))
            return
        if isinstance(s, Loop) and s.index is not None:
            self.raise_to(s.index, max(self.bound(s.start), self.bound(s.stop)))
        if isinstance(s, If | Loop):
            for phi in s.phis:
                group = self.groups.get(phi.name)
                outside = [o for o in (phi.first, phi.second) if not self.member(o, group)]
                self.raise_to(phi.name, max(map(self.bound, outside), default=0))

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

    def result(self, s: Assign) -> int:
        args = s.args
        if s.op in CHECKED and len(args) == 2 and all(map(self.whole, args)):
            a, b = (self.bound(o) for o in args)
            bound = a * b if s.op == "mul" else a + b
            if bound > INT64:
                self.checked.add(id(s))
                return INT64
            return bound
        if self.kinds.of(Var(s.target)).dtype == "bool":
            return 1
        if s.op in _SIZES or (args and self.kinds.of(args[0]).dtype == "shape"):
            return SIZE
        if s.op in _SAME and args:
            return self.bound(args[0])
        if s.op == "mod" and len(args) == 2:
            return self.bound(args[1])
        if s.op in _LARGER and args:
            return max(self.bound(a) for a in args)
        if s.op in _TAPES_OUT and isinstance(args[0], Var):
            return self.bound(args[0])
        return INT64 + 1


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
