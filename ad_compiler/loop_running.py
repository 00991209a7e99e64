"""Integer loop-carried values that grow by a computable amount: recomputed, not taped.

`li = d; for c in range(d): for r in range(c + 1, d): ... li += 1` carries `li` across the
outer loop by `len(range(c + 1, d))` per iteration. Its value at the start of each iteration is
what the reverse sweep needs; loops.py tapes it (an int per iteration) unless the growth is a
constant. Here the growth D(c) is any integer the iteration computes from its index and values
fixed during the loop (through cheap replayable statements), or the trip count times the
step of an inner loop's counter of it. Integers are exact, so the reverse recomputes:

    run = li0; for c in range(...): run += D(c)        # before the reverse loop: the end value
    for c in reversed(range(...)): run -= D(c); li = run   # each reverse iteration

O(1) integer work per iteration instead of a tape store and load (a tape that, for an index,
also keeps the compiler from seeing that the index is affine).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .ir import INT, Assign, Const, Loop, Phi, Stmt, Var
from .nonnegative import nonnegative_ints

if TYPE_CHECKING:
    from .loops import LoopPlan

_OPS = {"add", "sub", "mul", "neg", "copy", "dim", "len", "range_len", "floordiv"}


class Running:
    """How one header phi grows: the statements computing the growth, and its operand."""

    def __init__(self, phi: Phi, chain: list[Assign], growth) -> None:
        self.phi = phi
        self.chain = chain  # in body order, each computing a name the growth needs
        self.growth = growth  # an operand (Const or a chain name), or an inner loop's trip
        self.run = ""
        self.mark: tuple = ()  # ("nonnegative", True) when never negative (nonnegative.py)


def find_running(plan: LoopPlan, header: list[Phi]) -> dict[str, Running]:
    """The header phis of `plan`'s loop whose growth per iteration can be recomputed."""
    loop = plan.loop
    if not (
        loop.is_range
        and not plan.counted
        and loop.exit_flag is None
        and loop.step in (Const(1), Const(-1))  # the reverse runs the loop's own index
    ):
        return {}
    found: dict[str, Running] = {}
    for phi in header:
        if plan.diff.kinds.of(Var(phi.name)).dtype != "int" or not isinstance(phi.second, Var):
            continue
        growth = _growth(plan, phi)
        if growth is None:
            continue
        operands = growth if isinstance(growth, tuple) else (growth,)
        chain = _chain(plan, operands)
        if chain is not None:
            found[phi.name] = Running(phi, chain, growth)
    if found:  # its recomputed values are the counter's own: never negative if it is not
        never_negative = nonnegative_ints(plan.diff.fn, plan.diff.kinds)
        for r in found.values():
            r.mark = (("nonnegative", True),) if r.phi.name in never_negative else ()
    return found


def _growth(plan: LoopPlan, phi: Phi):
    """D of `phi.second = phi + D` (an operand), or (step, start, stop, inner_step) when
    phi.second is the exit value of an inner range loop's counter that starts at phi."""
    update = plan.defs.get(phi.second.name)
    top = {id(s) for s in plan.loop.body}
    if update is None or id(update) not in top:
        return None
    if isinstance(update, Assign) and update.op == "add":
        a, b = update.args
        if a == Var(phi.name) and b != Var(phi.name):
            return b
        if b == Var(phi.name) and a != Var(phi.name):
            return a
        return None
    if not (isinstance(update, Loop) and update.is_range and update.exit_flag is None):
        return None
    inner = next((q for q in update.phis if q.name == phi.second.name), None)
    if inner is None or inner.first != Var(phi.name) or not isinstance(inner.second, Var):
        return None
    step = _constant_step(update, inner)
    if step is None or not all(o is not None for o in (update.start, update.stop, update.step)):
        return None
    return (Const(step), update.start, update.stop, update.step)


def _constant_step(inner_loop: Loop, q: Phi) -> int | None:
    """s when the inner loop's body does `q' = q + s` once at its top level (s an int)."""
    for s in inner_loop.body:
        if isinstance(s, Assign) and s.target == q.second.name and s.op == "add":
            a, b = s.args
            if a == Var(q.name) and isinstance(b, Const) and type(b.value) is int:
                return b.value
            if b == Var(q.name) and isinstance(a, Const) and type(a.value) is int:
                return a.value
    return None


def _chain(plan: LoopPlan, operands) -> list[Assign] | None:
    """The top-level body statements computing `operands` from the index and values fixed
    during the loop, in body order; None if any is not such a statement."""
    loop = plan.loop
    order = {id(s): k for k, s in enumerate(loop.body)}
    picked: dict[str, Assign] = {}
    todo = [o for o in operands if isinstance(o, Var)]
    while todo:
        name = todo.pop().name
        if name == loop.index or name in picked:
            continue
        if name not in plan.defs:  # defined before the loop: fixed during it (SSA)
            continue
        s = plan.defs[name]
        if not (
            isinstance(s, Assign)
            and id(s) in order
            and s.op in _OPS
            and plan.replayable(s)
            and plan.diff.kinds.of(Var(name)).dtype == "int"
        ):
            return None
        picked[name] = s
        todo += [a for a in s.args if isinstance(a, Var)]
    return sorted(picked.values(), key=lambda s: order[id(s)])


def _growth_code(plan: LoopPlan, r: Running, out: list[Stmt]) -> Var | Const:
    """Emit the chain (renamed) and the growth into `out`; the growth operand."""
    diff = plan.diff
    renamed: dict[str, Var] = {}

    def op(o):
        return renamed.get(o.name, o) if isinstance(o, Var) else o

    for s in r.chain:
        target = diff.names.temp()
        diff.kinds.kinds[target] = INT
        out.append(replace(s, target=target, args=tuple(op(a) for a in s.args)))
        renamed[s.target] = Var(target)
    if not isinstance(r.growth, tuple):
        return op(r.growth)
    step, start, stop, inner_step = r.growth
    trip = diff.emit(out, "range_len", (op(start), op(stop), op(inner_step)))
    return trip if step == Const(1) else diff.emit(out, "mul", (trip, step))


def end_values(plan: LoopPlan, running: dict[str, Running]) -> list[Stmt]:
    """Before the reverse loop: each value's end value, run forward over the loop's range."""
    if not running:
        return []
    diff, loop = plan.diff, plan.loop
    out: list[Stmt] = []
    body: list[Stmt] = []
    for r in running.values():
        r.run = diff.names.fresh(f"{r.phi.name}_run")
        diff.emit(out, "copy", (r.phi.first,), r.mark, target=r.run, reverses=loop.loc)
        grown = _growth_code(plan, r, body)
        diff.emit(body, "add", (Var(r.run), grown), r.mark, target=r.run, reverses=loop.loc)
    index = diff.names.fresh(f"{loop.index}_run")
    diff.kinds.kinds[index] = INT
    body = [_rename_index(s, loop.index, index) for s in body]
    out.append(
        Loop(index, loop.start, loop.stop, loop.step, (), None, tuple(body), reverses=loop.loc)
    )
    return out


def start_values(plan: LoopPlan, running: dict[str, Running]) -> list[Stmt]:
    """At the start of a reverse iteration: each value as it was when the iteration began."""
    out: list[Stmt] = []
    for r in running.values():
        grown = _growth_code(plan, r, out)
        loc = plan.loop.loc
        plan.diff.emit(out, "sub", (Var(r.run), grown), r.mark, target=r.run, reverses=loc)
        plan.diff.emit(out, "copy", (Var(r.run),), target=r.phi.name, reverses=plan.loop.loc)
    return out


def _rename_index(s: Stmt, old: str, new: str) -> Stmt:
    assert isinstance(s, Assign)
    return replace(s, args=tuple(Var(new) if a == Var(old) else a for a in s.args))
