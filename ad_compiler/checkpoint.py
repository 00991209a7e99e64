"""checkpoint=True: loops reversed from checkpoints of their carried state, in bounded memory.

A plain reverse sweep keeps every iteration's values on tapes: memory grows with the trip count
n. With checkpointing, the forward sweep runs an outermost `for` loop over a range as the primal
does, keeping only the loop-carried values (its phis) at the start of every k-th iteration, with
k = ceil(sqrt(n)) (a segment). The reverse sweep walks the segments backwards: it takes a
segment's checkpoint back, runs that segment's k iterations again with tapes (the ordinary
instrumented loop of loops.LoopPlan, over the segment's sub-range) and then their reverse. Tapes
hold at most one segment, checkpoints one value per segment: O(sqrt(n)) memory, for one extra
run of the primal loop.

Loops it does not apply to are taped in full as without it, and the reason is written in the
generated program's header: while loops (the trip count is not known when they start), loops
with a break or a return inside, loops that write into arrays or lists (a recomputed segment
would need the contents as they were), loops reading an array the function writes into
elsewhere, and loops nested in another loop (their outermost loop is the one checkpointed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import ADCompilerError
from .ir import INT, Assign, Block, Const, If, Loop, Phi, Stmt, Var, base_name, is_temp, walk
from .rules import RULES, Rule, register

if TYPE_CHECKING:
    from .adjoint import Differentiator

# The segment length for n iterations: ceil(sqrt(n)), at least 1 (n may be 0).
register(Rule("checkpoint_stride", "max(1, int(np.ceil(np.sqrt({0}))))", lambda k, a: INT))


def refuse(checkpoint: bool, what: str) -> None:
    """checkpoint=True given to a transform that does not run it (second derivatives)."""
    if checkpoint:
        raise ADCompilerError(
            f"{what} does not take checkpoint=True (second derivatives tape in full); it is "
            "supported by grad, value_and_grad and vjp"
        )


def checkpointed(diff: Differentiator, loop: Loop) -> tuple[list[Stmt], list[Stmt]] | None:
    """The forward and reverse code of an outermost loop reversed from checkpoints, or None
    (with the reason noted in diff.checkpoint) when the loop is taped in full instead."""
    reason = _refusal(diff, loop)
    if reason is not None:
        if loop.loc is not None:
            diff.checkpoint.append(f"line {loop.loc.line}: taped in full ({reason})")
        return None
    loc = loop.loc
    forward: list[Stmt] = [Assign(p.name, "copy", (p.first,), loc=loc) for p in loop.phis]
    trips = diff.emit(forward, "range_len", (loop.start, loop.stop, loop.step), loc=loc)
    stride = diff.emit(forward, "checkpoint_stride", (trips,), loc=loc)
    saved: dict[str, str] = {}  # phi -> the list of its values at the start of each segment
    for p in loop.phis:
        name = p.name if is_temp(p.name) else base_name(p.name)
        saved[p.name] = diff.names.fresh(f"{name}_checkpoints")
        diff.emit(diff.preamble, "list_new", (), target=saved[p.name], loc=loc)

    # Forward: the primal loop, keeping the carried values every `stride` iterations.
    count = diff.names.fresh("iteration")
    diff.emit(forward, "copy", (Const(0),), target=count, loc=loc)
    body: list[Stmt] = []
    phase = diff.emit(body, "mod", (Var(count), stride), loc=loc)
    due = diff.emit(body, "eq", (phase, Const(0)), loc=loc)
    pushes: list[Stmt] = []
    for p in loop.phis:  # (never written in place: see _refusal; kept by reference)
        diff.emit(pushes, "list_append", (Var(saved[p.name]), Var(p.name)), loc=loc)
    body.append(If(due, tuple(pushes), (), (), loc))
    diff.emit(body, "add", (Var(count), Const(1)), target=count, loc=loc)
    body += _primal(diff, loop.body) + _phi_updates(diff, loop)
    forward.append(replace(loop, test=tuple(_primal(diff, loop.test)), body=tuple(body), phis=()))

    # Reverse: segments last to first, each run again with tapes, then reversed.
    reverse: list[Stmt] = []
    segment = diff.names.fresh("segment")
    diff.kinds.set(segment, INT)
    spare = diff.emit(reverse, "sub", (stride, Const(1)), reverses=loc)
    segments = diff.emit(
        reverse, "floordiv", (diff.emit(reverse, "add", (trips, spare), reverses=loc), stride),
        reverses=loc,
    )  # fmt: skip
    last = diff.emit(reverse, "sub", (segments, Const(1)), reverses=loc)
    each: list[Stmt] = []
    first = diff.emit(each, "mul", (Var(segment), stride), reverses=loc)
    end = diff.emit(
        each, "minimum", (diff.emit(each, "add", (first, stride), reverses=loc), trips),
        reverses=loc,
    )  # fmt: skip
    bounds = [
        diff.emit(
            each,
            "add",
            (loop.start, diff.emit(each, "mul", (k, loop.step), reverses=loc)),
            reverses=loc,
        )
        for k in (first, end)
    ]
    phis = []
    for p in loop.phis:
        start = diff.names.fresh(f"{saved[p.name]}_top")
        diff.kinds.set(start, diff.kinds.of(Var(p.name)))
        element = {"element": diff.kinds.of(Var(p.name))}
        diff.emit(each, "list_pop", (Var(saved[p.name]),), element, start, reverses=loc)
        phis.append(Phi(p.name, Var(start), p.second))
    part = replace(loop, start=bounds[0], stop=bounds[1], phis=tuple(phis))
    notes, diff.checkpoint = diff.checkpoint, None
    try:
        part_forward, part_reverse = diff.loop(part)
    finally:
        diff.checkpoint = notes
    each += part_forward + part_reverse
    reverse.append(
        Loop(segment, last, Const(-1), Const(-1), (), None, tuple(each), (), None, loc, loc)
    )
    # The header adjoints now hold the gradient with respect to the values entering the loop.
    for p in loop.phis:
        if p.name in diff.active and diff.is_active(p.first):
            diff.accumulate(reverse, p.first.name, Var(diff.bar(p.name)), False, loc)
    return forward, reverse


def _refusal(diff: Differentiator, loop: Loop) -> str | None:
    """Why this loop cannot be reversed from checkpoints, or None."""
    if not loop.is_range:
        return "a while loop: its trip count is not known when it starts"
    if loop.exit_flag is not None:
        return "a break or return inside the loop"
    code = loop.test + loop.body
    statements = list(walk(code))
    if any(isinstance(s, Assign) and RULES[s.op].mutates is not None for s in statements):
        return "it writes into an array or list: a recomputed segment would need the old contents"
    reads = {
        a.name for s in statements if isinstance(s, Assign) for a in s.args if isinstance(a, Var)
    } | {o.name for p in loop.phis for o in (p.first, p.second) if isinstance(o, Var)}
    if any(diff.aliases.of(n) & diff.written for n in reads):
        return "it reads an array the function writes into"
    for p in loop.phis:
        kind = diff.kinds.of(Var(p.name))
        if kind.ndim is None or kind.dtype not in ("float", "int", "bool"):
            return (
                f"{base_name(p.name)}, carried from one iteration to the next, is not a number "
                "or an array of known dimensions"
            )
    if not any(p.name in diff.active for p in loop.phis):
        return "nothing it carries from one iteration to the next is differentiated"
    return None


def _primal(diff: Differentiator, block: Block) -> list[Stmt]:
    """The primal code of a block out of SSA form, as new nodes (passes key facts by id)."""
    out: list[Stmt] = []
    for stmt in block:
        if isinstance(stmt, Assign):
            out.append(replace(stmt))
        elif isinstance(stmt, If):
            then = _primal(diff, stmt.body)
            orelse = _primal(diff, stmt.orelse)
            then += [Assign(p.name, "copy", (p.first,), loc=stmt.loc) for p in stmt.phis]
            orelse += [Assign(p.name, "copy", (p.second,), loc=stmt.loc) for p in stmt.phis]
            out.append(If(stmt.cond, tuple(then), tuple(orelse), (), stmt.loc))
        else:
            out += [Assign(p.name, "copy", (p.first,), loc=stmt.loc) for p in stmt.phis]
            body = _primal(diff, stmt.body) + _phi_updates(diff, stmt)
            test = _primal(diff, stmt.test)
            out.append(replace(stmt, test=tuple(test), body=tuple(body), phis=()))
    return out


def _phi_updates(diff: Differentiator, loop: Loop) -> list[Stmt]:
    """The copies into the header names at the end of an iteration, through temporaries where
    one reads another header name (they update at once)."""
    headers = {p.name for p in loop.phis}
    held: list[Stmt] = []
    updates: list[Stmt] = []
    for p in loop.phis:
        value = p.second
        if isinstance(value, Var) and value.name in headers and value.name != p.name:
            value = Var(diff.names.temp())
            diff.kinds.kinds[value.name] = diff.kinds.of(p.second)
            held.append(Assign(value.name, "copy", (p.second,), loc=loop.loc))
        if value != Var(p.name):
            updates.append(Assign(p.name, "copy", (value,), loc=loop.loc))
    return held + updates
