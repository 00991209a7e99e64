"""checkpoint=True: loops reversed from checkpoints of their carried state, in bounded memory.

A plain reverse sweep keeps every iteration's values on tapes: memory grows with the trip count
n. With checkpointing, the forward sweep runs an outermost loop as the primal does, keeping only
the loop-carried values (its phis) at the start of each segment of iterations: every
k = ceil(sqrt(n)) iterations for a range loop; for a while loop, whose n is not known when it
starts, segments of 1, 2, 3... iterations (about sqrt(2n) of them, none longer). The reverse
sweep walks the segments backwards: it takes a segment's checkpoint back, runs its iterations
again with tapes (the ordinary instrumented loop of loops.LoopPlan, as a range loop over the
segment's iterations, which breaks where the loop broke) and then their reverse. Tapes hold one
segment, checkpoints one value per segment: O(sqrt(n)) memory, for one more run of the loop.

Loops it does not apply to are taped in full as without it, with the reason in the generated
program's header: loops that write into arrays or lists they do not create in each iteration
(a recomputed segment would need the contents as they were), loops reading an array the
function writes into elsewhere, loops carrying values other than numbers and arrays, and loops
nested in another loop (their outermost loop is the one checkpointed).
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
    stride = None  # a while loop's segments grow by one iteration each: 1, 2, 3...
    if loop.is_range:
        trips = diff.emit(forward, "range_len", (loop.start, loop.stop, loop.step), loc=loc)
        stride = diff.emit(forward, "checkpoint_stride", (trips,), loc=loc)
    saved: dict[str, str] = {}  # phi -> the list of its values at the start of each segment
    for p in loop.phis:
        name = p.name if is_temp(p.name) else base_name(p.name)
        saved[p.name] = diff.names.fresh(f"{name}_checkpoints")
        diff.emit(diff.preamble, "list_new", (), target=saved[p.name], loc=loc)

    # Forward: the primal loop, keeping the carried values at the start of each segment.
    count, segments, due = (diff.names.fresh(n) for n in ("iteration", "segments", "due"))
    for name in (count, segments, due):
        diff.emit(forward, "copy", (Const(0),), target=name, loc=loc)
    body: list[Stmt] = []
    starts = diff.emit(body, "eq", (Var(count), Var(due)), loc=loc)
    pushes: list[Stmt] = []
    for p in loop.phis:  # (never written in place: see _refusal; kept by reference)
        diff.emit(pushes, "list_append", (Var(saved[p.name]), Var(p.name)), loc=loc)
    diff.emit(pushes, "add", (Var(segments), Const(1)), target=segments, loc=loc)
    width = stride or Var(segments)
    diff.emit(pushes, "add", (Var(due), width), target=due, loc=loc)
    body.append(If(starts, tuple(pushes), (), (), loc))
    diff.emit(body, "add", (Var(count), Const(1)), target=count, loc=loc)
    body += _primal(diff, loop.body) + _phi_updates(diff, loop)
    forward.append(replace(loop, test=tuple(_primal(diff, loop.test)), body=tuple(body), phis=()))

    # Reverse: segments last to first, each run again with tapes, then reversed. A segment
    # is rerun as a range loop over its iteration numbers, breaking where the loop broke.
    reverse: list[Stmt] = []
    segment = diff.names.fresh("segment")
    diff.kinds.set(segment, INT)
    last = diff.emit(reverse, "sub", (Var(segments), Const(1)), reverses=loc)
    each: list[Stmt] = []
    if stride is not None:
        first = diff.emit(each, "mul", (Var(segment), stride), reverses=loc)
        width = stride
    else:  # 0, 1, 3, 6...: s (s + 1) / 2
        width = diff.emit(each, "add", (Var(segment), Const(1)), reverses=loc)
        product = diff.emit(each, "mul", (Var(segment), width), reverses=loc)
        first = diff.emit(each, "floordiv", (product, Const(2)), reverses=loc)
    end = diff.emit(
        each, "minimum", (diff.emit(each, "add", (first, width), reverses=loc), Var(count)),
        reverses=loc,
    )  # fmt: skip
    if loop.is_range:
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
    if loop.is_range:
        part = replace(loop, start=bounds[0], stop=bounds[1], phis=tuple(phis))
    else:  # its condition held in all these iterations: its statements run, never tested
        index = diff.names.fresh("rerun")
        diff.kinds.set(index, INT)
        part = Loop(
            index, first, end, Const(1), (), None, loop.test + loop.body, tuple(phis),
            loop.exit_flag, loc,
        )  # fmt: skip
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
    code = loop.test + loop.body
    statements = list(walk(code))
    # Arrays an iteration creates and nothing carries to the next one or out of the loop: a
    # recomputed segment creates them again, so writes into them are fine.
    carried = frozenset().union(*(diff.aliases.of(p.name) for p in loop.phis))
    local = {s.target for s in statements if isinstance(s, Assign) and s.target} - carried
    for s in statements:
        rule = RULES[s.op] if isinstance(s, Assign) else None
        if rule is not None and rule.mutates is not None:
            target = s.args[rule.mutates]
            if not isinstance(target, Var) or not diff.aliases.of(target.name) <= local:
                return (
                    "it writes into an array or list it does not create in each iteration: a "
                    "recomputed segment would need the old contents"
                )
    reads = {
        a.name for s in statements if isinstance(s, Assign) for a in s.args if isinstance(a, Var)
    } | {o.name for p in loop.phis for o in (p.first, p.second) if isinstance(o, Var)}
    if any((diff.aliases.of(n) & diff.written) - local for n in reads):
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
