"""What the fusion pass needs to know about a program: which names may share memory, each
name's kind as the program is now, and which statements of a run are independent."""

from __future__ import annotations

from .ir import UNKNOWN, Assign, Function, Kind, Loop, Stmt, Var, walk
from .kinds import KindTable
from .rules import RULES

# Operations whose scalar form in numba computes what NumPy computes elementwise (maximum and
# minimum of numbers print as rt.maximum/rt.minimum, NaN-propagating like NumPy's; fusion.py
# leaves out Python's builtin max/min, which never take arrays anyway).
ELEMENTWISE = frozenset(
    {
        "add", "sub", "mul", "div", "neg", "pos", "pow", "exp", "log", "log1p", "log2",
        "log10", "expm1", "exp2", "sqrt", "cbrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
        "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "abs", "square",
        "reciprocal", "arctan2", "hypot", "maximum", "minimum", "step",
    }
)  # fmt: skip


def independent(statements: list[Assign]) -> list[list[Assign]]:
    """The statements in groups that share no name one of them defines (in program order
    within each group, groups ordered by their first statement). Running one group after
    another is then the same as interleaving them: a run's only writes to memory are
    accumulations into slices that nothing else in the run reads."""
    parent = list(range(len(statements)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[str, int] = {}  # name -> a statement that defines or reads it
    for k, s in enumerate(statements):
        names = [a.name for a in s.args if isinstance(a, Var)]
        names += [s.target] if s.target else []
        for name in names:
            if name in owner:
                parent[root(k)] = root(owner[name])
            owner[name] = k
    groups: dict[int, list[Assign]] = {}
    for k, s in enumerate(statements):
        groups.setdefault(root(k), []).append(s)
    return list(groups.values())


def targets(s: Stmt) -> list[str]:
    if isinstance(s, Assign):
        return [s.target] if s.target else []
    names = [p.name for p in s.phis]
    if isinstance(s, Loop):
        names += [n for n in (s.index, s.exit_flag) if n]
    return names


def may_alias(fn: Function) -> dict[str, set[str]]:
    """For each name, the names that may share its memory (flow-insensitive, transitive): any
    result of an operation that is not known to return a fresh array may share with its
    array arguments."""
    fresh_ops = ELEMENTWISE | {"zeros_like", "empty_like", "zeros", "empty", "dim", "shape"}
    links: dict[str, set[str]] = {}
    for s in walk(fn.body):
        if not isinstance(s, Assign) or s.target and s.op in fresh_ops:
            continue
        if s.op in ("index_add", "setitem") or s.op.startswith("check"):
            continue  # stores copy values into the array; checks keep nothing
        # an effect (a tape push, a store) links its arguments: the tape holds the array
        names = [a.name for a in s.args if isinstance(a, Var)]
        hub = s.target or (names[0] if names else None)
        for name in names:
            if hub is not None and name != hub:
                links.setdefault(hub, set()).add(name)
                links.setdefault(name, set()).add(hub)
    closure: dict[str, set[str]] = {}
    for start in links:
        group, stack = {start}, [start]
        while stack:
            for other in links.get(stack.pop(), ()):
                if other not in group:
                    group.add(other)
                    stack.append(other)
        closure[start] = group
    return closure


def reinferred(fn: Function, table: KindTable) -> KindTable:
    """Kinds recomputed from the program as it is now, by the operations' own rules: the table
    records each name's kind when a pass made it, and later passes may have replaced an array
    operand by a number (the broadcast gradient of a scalar). A name assigned values of two
    kinds is unknown here: never fused."""
    kinds = KindTable(table.kinds)
    seen: dict[str, Kind] = {}
    for _ in range(2):  # a second time around for values carried by loops
        for s in walk(fn.body):
            if not isinstance(s, Assign) or not s.target or s.op not in RULES:
                continue
            try:
                kind = RULES[s.op].infer(tuple(kinds.of(a) for a in s.args), dict(s.attrs))
            except Exception:  # an operation with its own typing: keep the recorded kind
                kind = table.of(Var(s.target))
            before = seen.get(s.target, kind)
            if (kind.ndim, kind.dtype) != (before.ndim, before.dtype):
                kind = UNKNOWN
            seen[s.target] = kinds.kinds[s.target] = kind
    return kinds


# Reductions whose keepdims=True result has the reduced axes of length 1.
_REDUCTIONS = frozenset({"sum", "max", "min", "mean", "prod", "nansum", "nanmean", "var", "std"})


def unit_axes(fn: Function, kinds: KindTable) -> dict[str, frozenset[int]]:
    """Arrays known to have length 1 along some axes whatever the arguments: every
    definition of the name is a keepdims reduction over the same constant axes
    (`np.max(z, axis=1, keepdims=True)`). NumPy broadcasts them along those axes."""
    found: dict[str, frozenset[int] | None] = {}
    changed = True
    while changed:  # (a name may take the axes of one defined after it, in a loop)
        changed = False
        seen: dict[str, frozenset[int] | None] = {p: None for p in fn.params}
        for s in walk(fn.body):
            for name in targets(s):
                axes = _unit_result(s, found, kinds) if isinstance(s, Assign) else None
                seen[name] = axes if seen.get(name, axes) == axes else None
        changed = seen != found
        found = seen
    return {name: axes for name, axes in found.items() if axes}


def _unit_result(s: Assign, found: dict, kinds: KindTable) -> frozenset[int] | None:
    """The unit axes of what `s` computes: a keepdims reduction's, or those of the array a
    `sum_to` reduces to, or of the arrays of an elementwise operation when all agree."""
    if s.op in _REDUCTIONS and s.attr("keepdims"):
        return axes_of(s.attr("axis"), kinds.of(Var(s.target)).ndim)
    if s.op == "sum_to" and isinstance(s.args[1], Var):
        return found.get(s.args[1].name)
    if s.op == "getitem":
        return _indexed_units(s, found, kinds)
    if s.op == "expand_dims" and isinstance(s.args[0], Var):
        ndim = kinds.of(Var(s.target)).ndim
        new = axes_of(s.attr("axis"), ndim)
        if new is None or len(new) != 1:
            return None
        (at,) = new
        old = found.get(s.args[0].name) or frozenset()
        return frozenset({at} | {a + (a >= at) for a in old})
    if s.op in ELEMENTWISE or s.op == "copy":
        # an axis has length 1 when it has in every array operand (all of the result's ndim)
        arrays = [a for a in s.args if isinstance(a, Var) and kinds.of(a).ndim != 0]
        ndims = {kinds.of(a).ndim for a in arrays}
        if arrays and len(ndims) == 1 and ndims == {kinds.of(Var(s.target)).ndim}:
            units = [found.get(a.name) or frozenset() for a in arrays]
            return frozenset.intersection(*units) or None
    return None


def _indexed_units(s: Assign, found: dict, kinds: KindTable) -> frozenset[int] | None:
    """The unit axes of a view `a[:, None, :]` taken with full slices, `None`s and integers:
    those `None` adds, and those of `a` its slices keep whole."""
    base = kinds.of(s.args[0])
    structure = s.attr("index")
    if base.ndim is None or not isinstance(s.args[0], Var) or not structure:
        return None
    inherited = found.get(s.args[0].name) or frozenset()
    units, axis, out, k = set(), 0, 0, 1  # axis of `a`, axis of the view, argument
    for item in structure:
        if item[0] == "n":
            units.add(out)
            out += 1
        elif item[0] == "s":
            if axis in inherited and not any(item[1:]):
                units.add(out)
            k, axis, out = k + sum(item[1:]), axis + 1, out + 1
        elif item[0] == "i" and kinds.of(s.args[k]).ndim == 0:
            k, axis = k + 1, axis + 1
        else:
            return None  # an index array, an ellipsis
    units |= {out + a - axis for a in inherited if a >= axis}
    return frozenset(units) or None


def axes_of(axis, ndim: int | None) -> frozenset[int] | None:
    """The axes `axis` (an int or a tuple of ints, negative from the end) of an ndim array."""
    listed = axis if isinstance(axis, tuple) else (axis,)
    if ndim is None or not all(type(a) is int and -ndim <= a < ndim for a in listed):
        return None
    return frozenset(a % ndim for a in listed)
