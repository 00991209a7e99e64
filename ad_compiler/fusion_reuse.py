"""The adjoint of a max or min along an axis written over the array the extreme was taken of,
when nothing reads that array afterwards (numba programs).

k-means' `D_bar = rt.extreme_grad(t3_bar, D, t3, 1, False)` is as large as the distances D
(8 MB at n = 10^4, K = 100), and D is dead once it is computed. Two arrays that large, freed
at the end of every call, are returned to the operating system by the allocator, and their
pages are faulted in again on the next call (about half of k-means' time on this machine);
writing the shares over D keeps one. The array must be the program's own: made fresh (an
allocation, an elementwise result, a reduction along axes, or the array a fused loop summed
into), and read before only by operations that keep no reference to it (the reduction itself,
its shape, single elements).
"""

from __future__ import annotations

from dataclasses import replace

from .fusion_analysis import ELEMENTWISE
from .ir import Assign, Block, Function, If, Loop, Stmt, Var, stmt_operands, walk
from .kinds import KindTable
from .liveness import Liveness
from .rules import Rule, register

# (It writes into its argument 1: codegen folds no read of that array past it.)
register(
    Rule(
        "extreme_grad_over",
        "rt.extreme_grad_over({0}, {1}, {2}, {axis}, {keepdims})",
        lambda k, a: k[1],
        mutates=1,
    )
)

# Operations whose result is a new array, never a view of an argument.
_FRESH = ELEMENTWISE | {"zeros", "empty", "zeros_like", "empty_like", "sum", "min", "max"}
# Operations that read an array without keeping a reference to it.
_READS = {"min", "max", "sum", "dim", "shape", "same_shape", "extreme_grad"}


def reuse_dead_arrays(fn: Function, kinds: KindTable) -> Function:
    candidates = [
        s
        for s in walk(fn.body)
        if isinstance(s, Assign) and s.op == "extreme_grad" and isinstance(s.args[1], Var)
    ]
    if not candidates:
        return fn
    live = Liveness(fn)
    program = _Uses(fn, kinds)
    chosen = set()
    for s in candidates:
        x = s.args[1].name
        kind = kinds.of(s.args[1])
        if not kind.is_array or kind.dtype != "float" or x in live.live_out.get(id(s), ()):
            continue
        if s.args[0] == s.args[1] or s.args[2] == s.args[1]:
            continue
        if program.owned(x):
            chosen.add(id(s))
    if not chosen:
        return fn
    return replace(fn, body=_rewrite(fn.body, chosen))


class _Uses:
    """Every statement defining or reading each name."""

    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.params = set(fn.params)
        self.defs: dict[str, list[Assign]] = {}
        self.reads: dict[str, list[Stmt]] = {}
        for s in walk(fn.body):
            if isinstance(s, Assign) and s.target:
                self.defs.setdefault(s.target, []).append(s)
            for o in stmt_operands(s):
                if isinstance(o, Var):
                    self.reads.setdefault(o.name, []).append(s)
        self.returned = {o.name for o in _results(fn) if isinstance(o, Var)}

    def owned(self, x: str) -> bool:
        """Whether array `x` is one no other name refers to, ever."""
        if x in self.params or x in self.returned:
            return False
        for d in self.defs.get(x, []):
            if d.op in _FRESH:
                continue
            if (
                d.op == "copy"
                and isinstance(d.args[0], Var)
                and self._summed_into(d.args[0].name, x)
            ):
                continue
            return False
        return all(self._only_reads(s, x) for s in self.reads.get(x, []))

    def _only_reads(self, s: Stmt, x: str) -> bool:
        if not isinstance(s, Assign):
            return False  # (a loop's bound, an if's condition: not an array)
        if s.op in _READS:
            return True
        element = s.target is not None and self.kinds.of(Var(s.target)).ndim == 0
        return s.op == "getitem" and s.args[0] == Var(x) and element

    def _summed_into(self, y: str, x: str) -> bool:
        """`x = y` of an array a fused loop added into: y made by an allocation, written by
        stores, read only by that copy."""
        if y in self.params or y in self.returned:
            return False
        if any(
            d.op not in ("zeros", "empty", "zeros_like", "empty_like") for d in self.defs.get(y, [])
        ):
            return False
        for s in self.reads.get(y, []):
            if not isinstance(s, Assign):
                return False
            store = s.op in ("index_add", "setitem") and s.args[0] == Var(y)
            if store and Var(y) not in s.args[1:]:
                continue
            if s.op == "copy" and s.target == x:
                continue
            return False
        return True


def _results(fn: Function) -> list:
    result = fn.result
    if result is None:
        return []
    return list(result) if isinstance(result, tuple) else [result]


def _rewrite(block: Block, chosen: set[int]) -> Block:
    out: list[Stmt] = []
    for s in block:
        if isinstance(s, Assign) and id(s) in chosen:
            out.append(replace(s, op="extreme_grad_over"))
        elif isinstance(s, If):
            out.append(replace(s, body=_rewrite(s.body, chosen), orelse=_rewrite(s.orelse, chosen)))
        elif isinstance(s, Loop):
            out.append(replace(s, test=_rewrite(s.test, chosen), body=_rewrite(s.body, chosen)))
        else:
            out.append(s)
    return tuple(out)
