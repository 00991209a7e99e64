"""Skipping the innermost loop of a fused sum where a factor of every term is zero.

The reverse sweep of `np.min(D, axis=1)` gives an adjoint that is zero except at each row's
minimum, and the statements after it multiply that adjoint into a sum over a further axis
(k-means: `total[0, i1, i2] += t4_bar[i0, i1, 0] * 2 * (X[i0, 0, i2] - C[0, i1, i2])`). When
such a factor does not depend on the innermost index and is 0, every term of the innermost
loop is 0 times something else, and the loop adds nothing:

    for i1 in range(n1):
        t4_bar_i = t4_bar[i0, i1, 0]
        if t4_bar_i != 0.0 or may_overflow:
            for i2 in range(n2):
                ...

This is exact only when the other factors are finite (0 * inf is NaN), so they are bounded
before the loop from the largest magnitude of each array they read (`rt.max_abs`, inf when an
element is NaN) with interval arithmetic (|a + b| <= |a| + |b|, |a * b| <= |a| |b|; rounding is
monotonic, so the bounds computed in floats still bound the values). When a bound is not finite
the loop runs as before. Only sums into arrays of zeros are skipped: adding +0.0 or -0.0 never
changes a sum that started at +0.0.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import BOOL, FLOAT, Assign, Const, Names, Operand, Var
from .kinds import KindTable

# The operations a bound is known for, by how the bound combines their arguments' bounds.
_ADDS = ("add", "sub")
_MULTIPLIES = ("mul",)


@dataclass
class ZeroSkip:
    """The factor's load (moved out of the innermost loop), the statements computing the test
    (`factor != 0.0 or may_overflow`), and the bound's statements (before the whole loop)."""

    load: Assign
    test: list[Assign]
    condition: Var
    bound: list[Assign]
    inner: list[Assign]


def zero_skip(
    body: list[Assign],
    indices: list[str],
    inner_index: str,
    sums: set[str],
    names: Names,
    kinds: KindTable,
) -> ZeroSkip | None:
    effects = [s for s in body if s.target is None]
    if not effects or any(s.op != "index_add" or s.args[0].name not in sums for s in effects):
        return None  # (a store, or an accumulation into memory that may hold -0.0)
    defs = {s.target: s for s in body if s.target is not None}
    defs.update({i: None for i in indices})  # (no bound known before the loop)
    if any(accumulates(s) for s in body):
        return None
    factor = _common_factor(effects, defs, inner_index)
    if factor is None:
        return None
    siblings = list(dict.fromkeys(o for s in effects for o in _siblings(s.args[1], factor, defs)))
    bound_stmts: list[Assign] = []
    bounds = [_bound(o, defs, names, kinds, bound_stmts) for o in siblings]
    if not bounds or any(b is None for b in bounds):
        return None  # (a term that is the factor alone: not worth a test)
    total: Operand = bounds[0]
    for b in bounds[1:]:
        total = _emit(bound_stmts, names, kinds, "add", (total, b))
    overflow = names.fresh("may_overflow")
    kinds.set(overflow, BOOL)
    bound_stmts.append(Assign(overflow, "may_overflow", (total,)))
    nonzero, condition = names.temp(), names.temp()
    kinds.set(nonzero, BOOL)
    kinds.set(condition, BOOL)
    test = [
        Assign(nonzero, "ne", (Var(factor), Const(0.0))),
        Assign(condition, "or", (Var(nonzero), Var(overflow))),
    ]
    load = defs[factor]
    inner = [s for s in body if s is not load]
    return ZeroSkip(load, test, Var(condition), bound_stmts, inner)


def accumulates(s: Assign) -> bool:
    """`total = total + v`: a sum into a number, carried from one iteration to the next."""
    return s.op == "add" and isinstance(s.args[0], Var) and s.args[0].name == s.target


def _common_factor(effects: list[Assign], defs: dict, inner_index: str) -> str | None:
    """A loaded element, not read at the innermost index, that multiplies every term."""
    common = None
    for s in effects:
        factors = set(_factors(s.args[1], defs))
        common = factors if common is None else common & factors
    for name in sorted(common or ()):
        load = defs[name]
        index = load.args[1:]
        plain = all(isinstance(a, Const) or defs.get(a.name, load) is None for a in index)
        once = all(_uses(s.args[1], name, defs) == 1 for s in effects)
        if load.op == "getitem" and plain and Var(inner_index) not in index and once:
            return name
    return None


def _factors(o: Operand, defs: dict) -> list[str]:
    """The names a product multiplies together (through `mul` and `neg` of the loop's own
    values)."""
    if not isinstance(o, Var) or defs.get(o.name) is None:
        return []
    s = defs[o.name]
    if s.op in _MULTIPLIES:
        return [f for a in s.args for f in _factors(a, defs)]
    if s.op == "neg":
        return _factors(s.args[0], defs)
    return [o.name]


def _uses(o: Operand, name: str, defs: dict) -> int:
    if not isinstance(o, Var):
        return 0
    if o.name == name:
        return 1
    s = defs.get(o.name)
    return 0 if s is None else sum(_uses(a, name, defs) for a in s.args)


def _siblings(o: Operand, factor: str, defs: dict) -> list[Operand]:
    """The other operands of the products on the way from `o` down to `factor`."""
    if isinstance(o, Var) and o.name == factor:
        return []
    s = defs[o.name]
    if s.op == "neg":
        return _siblings(s.args[0], factor, defs)
    a, b = s.args  # (a `mul`: _factors followed only mul and neg)
    on_path, other = (a, b) if _uses(a, factor, defs) else (b, a)
    return [other, *_siblings(on_path, factor, defs)]


def _bound(o: Operand, defs: dict, names: Names, kinds: KindTable, out: list) -> Operand | None:
    """An operand bounding |o| at every iteration, computed before the loop, or None."""
    if isinstance(o, Const):
        value = o.value
        if type(value) not in (int, float) or value != value:
            return None
        return Const(abs(float(value)))
    if o.name in defs and defs[o.name] is None:
        return None  # a loop index
    s = defs.get(o.name)
    if s is None:  # a number from before the loop
        kind = kinds.of(o)
        if kind.ndim != 0 or kind.dtype not in ("float", "int"):
            return None
        if kind.dtype == "int":  # (abs(-2**63) wraps in int64)
            o = _emit(out, names, kinds, "float", (o,))
        return _emit(out, names, kinds, "abs", (o,))
    if s.op == "getitem":
        if kinds.of(s.args[0]).dtype not in ("float", "int"):
            return None
        return _emit(out, names, kinds, "max_abs", (s.args[0],))
    if s.op == "neg":
        return _bound(s.args[0], defs, names, kinds, out)
    if s.op in _ADDS or s.op in _MULTIPLIES:
        parts = [_bound(a, defs, names, kinds, out) for a in s.args]
        if None in parts:
            return None
        return _emit(out, names, kinds, "add" if s.op in _ADDS else "mul", tuple(parts))
    return None


def _emit(out: list, names: Names, kinds: KindTable, op: str, args: tuple) -> Var:
    target = names.temp()
    kinds.set(target, FLOAT)
    out.append(Assign(target, op, args))
    return Var(target)
