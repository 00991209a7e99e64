"""Liveness: the names live after each statement of a program (read later before being set).

Computed in two passes over the structured program. Bottom-up, every statement and block gets
its effect on liveness as a pair (gen, kill): live before = gen | (live after - kill); this form
is closed under sequence, branches and loops. Top-down, the live sets are then recorded. A
loop's live set at its head follows from its body's pair directly (a loop needs no second trip
around: whatever its body kills it kills on every trip), so each statement is visited twice,
where iterating every loop to a fixpoint visited a body nested d loops deep 2^d times.
"""

from __future__ import annotations

from .ir import Assign, Block, Function, If, Loop, Stmt, Var

_Summary = tuple[frozenset, frozenset]  # (gen, kill)
_IDENTITY: _Summary = (frozenset(), frozenset())


def reads_of(s: Stmt) -> set[str]:
    """The names a statement reads itself (not in its nested blocks)."""
    if isinstance(s, Assign):
        return {a.name for a in s.args if isinstance(a, Var)}
    if isinstance(s, If):
        return {s.cond.name} if isinstance(s.cond, Var) else set()
    return {o.name for o in (s.start, s.stop, s.step) if isinstance(o, Var)}


def output_names(fn: Function) -> list[str]:
    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    return [o.name for o in outputs if isinstance(o, Var)]


def _loop_extras(s: Loop) -> tuple[set[str], set[str]]:
    flag = {s.exit_flag} if s.exit_flag else set()
    cond = {s.cond.name} if isinstance(s.cond, Var) else set()
    return flag, cond


class Liveness:
    """Names live after each statement (`live_out`, keyed by the statement's id)."""

    computed = 0  # how many programs' liveness was computed (tests check passes reuse it)

    def __init__(self, fn: Function) -> None:
        Liveness.computed += 1
        self.live_out: dict[int, frozenset[str]] = {}
        self._summaries: dict[int, tuple[_Summary, _Summary]] = {}
        self._record(fn.body, set(output_names(fn)))

    # -- bottom-up: (gen, kill) of statements and blocks

    def _block_summary(self, block: Block) -> _Summary:
        gen: frozenset = frozenset()
        kill: frozenset = frozenset()
        for s in reversed(block):  # compose: s runs before what is summarized so far
            g, k = self._stmt_summary(s)
            gen = g | (gen - k)
            kill = k | kill
        return gen, kill

    def _inner(self, s: If | Loop) -> tuple[_Summary, _Summary]:
        """The summaries of a compound statement's two blocks (body, then orelse or test)."""
        known = self._summaries.get(id(s))
        if known is None:
            other = s.orelse if isinstance(s, If) else s.test
            known = (self._block_summary(s.body), self._block_summary(other))
            self._summaries[id(s)] = known
        return known

    def _stmt_summary(self, s: Stmt) -> _Summary:
        if isinstance(s, Assign):
            return frozenset(reads_of(s)), frozenset((s.target,) if s.target else ())
        (bg, bk), (og, ok) = self._inner(s)
        if isinstance(s, If):
            return bg | og | reads_of(s), bk & ok
        flag, cond = _loop_extras(s)
        if s.is_range:  # may run no trip: kills nothing
            return ((bg | (flag - bk)) - {s.index}) | reads_of(s), frozenset()
        return og | ((bg | (flag - bk) | cond) - ok) | reads_of(s), ok

    # -- top-down: the live sets

    def _record(self, block: Block, live: set[str]) -> set[str]:
        live = set(live)
        for s in reversed(block):
            self.live_out[id(s)] = frozenset(live)
            live = self._record_stmt(s, live)
        return live

    def _record_stmt(self, s: Stmt, live: set[str]) -> set[str]:
        if isinstance(s, Assign):
            if s.target:
                live.discard(s.target)
            return live | reads_of(s)
        if isinstance(s, If):
            return self._record(s.body, live) | self._record(s.orelse, live) | reads_of(s)
        return self._loop(s, live)

    def _loop(self, s: Loop, after: set[str]) -> set[str]:
        """The head of a loop has live what is live after it and what a trip reads before
        setting it; the body and test are recorded with that."""
        (bg, bk), (tg, tk) = self._inner(s)
        flag, cond = _loop_extras(s)
        if s.is_range:
            header = after | ((bg | ((after | flag) - bk)) - {s.index})
            self._record(s.body, header | flag)
        else:
            header = set(tg | ((bg | ((after | flag) - bk) | after | cond) - tk))
            body_in = self._record(s.body, header | after | flag)
            self._record(s.test, body_in | after | cond)
        return header | reads_of(s)
