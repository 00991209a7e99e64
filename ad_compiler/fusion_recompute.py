"""Recomputing cheap elementwise values where a later fused loop reads them, instead of
keeping them as arrays between the loops.

k-means' reverse sweep reads `t4 = X[:, None, :] - C[None, :, :]`, an (n, K, d) array the
forward loop would store (64 MB at n = 10^4, K = 100, d = 8) only for the reverse loop to read
it back. When such a value is one cheap operation on arrays that never change (never rebound,
no name that may share their memory ever written into) and numbers assigned once, and the value
itself is never written into either, the reading statement reads a copy of that operation
placed just before it: its fused loop computes the element from the operands, and the forward
loop no longer stores the array if nothing else reads it. The operands hold the same values at
both places, so the recomputed elements are the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from .fusion_analysis import targets
from .ir import Assign, Const, Function, Operand, Var, walk
from .rules import RULES

if TYPE_CHECKING:
    from .fusion import Fuser

CHEAP = frozenset({"add", "sub", "mul", "neg", "pos"})


def recompute_cheap(fn: Function, fuser: Fuser) -> Function:
    """`fn` with the elementwise statements of its top-level block that a fused loop would run
    reading, instead of a cheap array value made before a run boundary, a fresh copy of it."""
    defined = Counter(t for s in walk(fn.body) for t in targets(s))
    written: set[str] = set()  # names whose memory a statement may write into
    for s in walk(fn.body):
        if not isinstance(s, Assign) or s.op.startswith("check"):
            continue
        into = RULES[s.op].mutates if s.op in RULES else None
        if into is not None:  # a store: into one argument (it reads the others)
            written |= {a.name for a in s.args[into : into + 1] if isinstance(a, Var)}
        elif s.target is None:  # another effect: any of its arguments, to be safe
            written |= {a.name for a in s.args if isinstance(a, Var)}

    def unchanging(o: Operand) -> bool:
        if isinstance(o, Const):
            return True
        if defined[o.name] > (0 if o.name in fn.params else 1):
            return False
        return not (fuser.aliases.get(o.name, {o.name}) | {o.name}) & written

    body = list(fn.body)
    out = []
    definitions: dict[str, tuple[int, Assign]] = {}
    for position, s in enumerate(body):
        if isinstance(s, Assign) and s.target and defined[s.target] == 1:
            definitions[s.target] = (position, s)
        ndim = fuser.start_ndim(s)
        if ndim is None:
            out.append(s)
            continue
        copies: dict[str, Var] = {}
        for k, a in enumerate(s.args):
            found = definitions.get(a.name) if isinstance(a, Var) else None
            if found is None or a.name in copies or not _replaceable(fuser, s, k, ndim):
                continue
            start, definition = found
            if definition.op not in CHEAP or not unchanging(a):
                continue  # (an array written into after it was made: `a[0] = 1.0`)
            if not all(map(unchanging, definition.args)):
                continue
            if not fuser.fusible(definition, ndim):
                continue
            if _one_run(fuser, body[start + 1 : position], ndim):
                continue
            copies[a.name] = Var(fuser.names.temp())
            fuser.kinds.set(copies[a.name].name, fuser.kinds.of(a))
            copy = replace(definition, target=copies[a.name].name, loc=s.loc, reverses=s.reverses)
            out.append(copy)
        args = tuple(copies.get(a.name, a) if isinstance(a, Var) else a for a in s.args)
        out.append(replace(s, args=args) if copies else s)
    return replace(fn, body=tuple(out))


def _replaceable(fuser: Fuser, s: Assign, k: int, ndim: int) -> bool:
    """Whether argument k of a fusible statement may read a recomputed copy: not the array a
    store writes into, and for `sum_to`/`reduce_grad`'s shape argument only one of the run's
    whole shape (the loop then needs no array of that shape before it)."""
    if RULES[s.op].mutates == k:
        return False
    if s.op in ("sum_to", "reduce_grad") and k == 1:
        return fuser.is_whole(s.args[1], ndim)
    return True


def _one_run(fuser: Fuser, between: list, ndim: int) -> bool:
    """Whether the statements between a definition and its reader would join one run (the
    loop computing the value then hands it on as a scalar: nothing to save)."""
    return all(isinstance(s, Assign) and fuser.joins(s, ndim) for s in between)
