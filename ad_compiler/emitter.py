"""Where the normalizer's statements go: a stack of blocks being filled, shared by the
function and the helpers inlined into it, with what it knows about the values it made
(temporaries, booleans, views) and about the lists built so far.
"""

from __future__ import annotations

import contextlib

from .flow import _COMPARE
from .ir import Assign, If, Loc, Names, Operand, Phi, Stmt, Var
from .live import LiveGlobals
from .rules import RULES

_BOOLEAN_OPS = {*_COMPARE.values(), "not", "and", "or"}


class Emitter:
    """Where statements go: a stack of blocks being filled, shared with inlined helpers."""

    def __init__(self, names: Names, params: set[str]) -> None:
        self.names = names
        self.params = params
        self.blocks: list[list[Stmt]] = [[]]
        self.temps: set[str] = set()
        # Values that are certainly bools (comparisons, not/and/or of them).
        self.bools: set[str] = set()
        # Arrays that may share memory with another (slices, transposes): name -> base name.
        self.views: dict[str, str] = {}
        # Module-level values read at each call (None: compiled in as constants, for trace).
        self.live: LiveGlobals | None = None
        # The items of the lists built in the function, by identity (containers.py).
        self.lists: dict[int, tuple] = {}

    @property
    def current(self) -> list[Stmt]:
        return self.blocks[-1]

    @contextlib.contextmanager
    def block(self):
        self.blocks.append([])
        try:
            yield self.blocks[-1]
        finally:
            self.blocks.pop()

    def emit(
        self,
        op: str,
        args: tuple[Operand, ...],
        loc: Loc | None,
        attrs: tuple = (),
        target: str | None = None,
    ) -> Var | None:
        if op not in RULES:
            raise KeyError(op)
        if target is None and RULES[op].mutates is None:
            target = self.names.temp()
            self.temps.add(target)
        self.current.append(Assign(target, op, args, attrs, loc))
        if target is None:
            return None
        if op in _BOOLEAN_OPS:
            self.bools.add(target)
        if RULES[op].view and isinstance(args[0], Var):
            self.views[target] = self.views.get(args[0].name, args[0].name)
        return Var(target)

    def rename_last(self, temp: str, name: str) -> bool:
        """Give the statement that just computed `temp` the user's variable name instead."""
        if temp not in self.temps or not self.current:
            return False
        last = self.current[-1]
        if isinstance(last, If) and temp in [p.name for p in last.phis]:
            # `y = a if c else b`, `s = s or 1.0`: the selection's value is y.
            phis = tuple(Phi(name, p.first, p.second) if p.name == temp else p for p in last.phis)
            self.current[-1] = If(last.cond, last.body, last.orelse, phis, last.loc)
        elif isinstance(last, Assign) and last.target == temp:
            self.current[-1] = Assign(name, last.op, last.args, last.attrs, last.loc)
        else:
            return False
        self.temps.discard(temp)
        if temp in self.bools:
            self.bools.add(name)
        if temp in self.views:
            self.views[name] = self.views.pop(temp)
        return True
