"""Planning which names of copies `a = b` to merge, with liveness computed once.

Merging the two names of a copy whose lifetimes do not overlap (neither is defined while the
other is live, copies between them aside) makes one name whose live range is the union of the
two: after `drop` becomes `keep`, a statement has `keep` live after it exactly where `keep` or
`drop` was live before. So the planner keeps the live sets of the program it started from and
reads them through the merges made so far, instead of rewriting the program and recomputing
liveness after every merge (which made coalescing quadratic: 0.4 s of GMM's build).

One case is not a union: a copy between the two names becomes `keep = keep` and is dropped, and
if its target was dead after it, the read it made kept a lifetime alive that is now gone. The
planner then stops after that merge, and the caller rewrites the program and plans again on
fresh liveness. Decisions are the same as rewriting after every merge, in the same order.
"""

from __future__ import annotations

from collections import Counter

from .ir import Assign, Function, Loop, Stmt, Var, base_name, is_temp, walk

_NOTHING: frozenset = frozenset()


def mergeable(a: str, b: str) -> bool:
    """Names that may become one: versions of one variable, or a compiler temporary and a name
    (different variables of the user's keep their names, for readability)."""
    return base_name(a) == base_name(b) or is_temp(a) or is_temp(b)


def preference(name: str, params: set[str]) -> tuple:
    """Which of two merged names survives: a parameter, a user's name, a temporary's adjoint
    (t3_bar, kept on its own line), a temporary; then the shorter (x over x_1)."""
    value_temp = is_temp(name) and not name.endswith("_bar")
    return (name not in params, value_temp, is_temp(name), name.count("_"), len(name), name)


class MergePlan:
    """Merges of copy-related names for one program, from its live sets (`live_out`: the names
    live after each statement, by id) and use counts. `run()` returns the renaming (dropped
    name -> kept name) and whether planning stopped early because liveness must be
    recomputed."""

    def __init__(self, fn: Function, live_out: dict[int, frozenset], uses: Counter) -> None:
        self.params = set(fn.params)
        self.live_out = live_out
        self.uses = Counter(uses)
        self.parent: dict[str, str] = {}  # a dropped name -> the name it was merged into
        self.members: dict[str, set[str]] = {}  # a kept name -> the names merged into it
        self.defs: dict[str, list[Stmt]] = {}
        self.copies: list[Assign] = []
        self.loop_names: set[str] = set()
        self.dropped: set[int] = set()  # copies that became `x = x`
        for s in walk(fn.body):
            if isinstance(s, Assign) and s.target:
                self.defs.setdefault(s.target, []).append(s)
                if s.op == "copy" and isinstance(s.args[0], Var):
                    self.copies.append(s)
            elif isinstance(s, Loop):
                if s.index:
                    self.defs.setdefault(s.index, []).append(s)
                self.loop_names.update(n for n in (s.index, s.exit_flag) if n)

    def find(self, name: str) -> str:
        while name in self.parent:
            name = self.parent[name]
        return name

    def _live_after(self, name: str, stmt: Stmt) -> bool:
        live = self.live_out.get(id(stmt), _NOTHING)
        return not live.isdisjoint(self.members.get(name, (name,)))

    def run(self) -> tuple[dict[str, str], bool]:
        while True:
            pair = self._next_pair()
            if pair is None:
                return self._renaming(), False
            if not self._merge(*pair):
                return self._renaming(), True

    def _renaming(self) -> dict[str, str]:
        return {name: self.find(name) for name in self.parent}

    def _next_pair(self) -> tuple[str, str] | None:
        """The first copy (in program order) whose two names may merge now."""
        params, uses = self.params, self.uses
        for s in self.copies:
            if id(s) in self.dropped:
                continue
            a, b = self.find(s.target), self.find(s.args[0].name)
            if a == b or (a in params and b in params):
                continue
            if a in self.loop_names or b in self.loop_names or not mergeable(a, b):
                continue
            temp = (
                b if is_temp(b) and not is_temp(a) else a if is_temp(a) and not is_temp(b) else None
            )
            if temp is not None and uses[temp] > 1:
                continue  # a user's name would stand for a different value on the other uses
            if not self._interferes(a, b, s) and not self._interferes(b, a, s):
                keep, drop = sorted((a, b), key=lambda n: preference(n, params))
                if drop in params:
                    continue
                return keep, drop
        return None

    def _interferes(self, x: str, y: str, copy: Stmt) -> bool:
        """Whether some definition of x (other than a copy of y) happens while y is live."""
        for d in self.defs.get(x, ()):
            if d is copy or id(d) in self.dropped:
                continue
            if isinstance(d, Assign) and d.op == "copy":
                source = d.args[0]
                if isinstance(source, Var) and self.find(source.name) == y:
                    continue
            if self._live_after(y, d):
                return True
        return False

    def _merge(self, keep: str, drop: str) -> bool:
        """Merge `drop` into `keep`; False when a dropped self-copy's target was dead after
        it (the live sets no longer hold: plan again on the rewritten program)."""
        self.parent[drop] = keep
        self.members[keep] = self.members.get(keep, {keep}) | self.members.pop(drop, {drop})
        self.uses[keep] += self.uses.pop(drop, 0)
        self.defs[keep] = self.defs.get(keep, []) + self.defs.pop(drop, [])
        exact = True
        for s in self.copies:  # every `x = x` goes, as the rewrite drops them all
            if id(s) in self.dropped:
                continue
            name = self.find(s.target)
            if name == self.find(s.args[0].name):
                self.dropped.add(id(s))
                self.uses[name] -= 1
                exact &= self._live_after(name, s)
        return exact
