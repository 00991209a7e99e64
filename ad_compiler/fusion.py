"""Fusing chains of elementwise array operations into one loop, for numba programs.

Array code compiled by numba otherwise runs one operation per statement, as NumPy would: every
`t = a * b` allocates and fills a whole array, and `x_bar[:-1] += g` goes through numba's slow
generic path for in-place operators on slices. This pass finds runs of statements that
all work element by element on arrays of one shape and turns each run into one loop over that
shape whose body computes each element with scalar arithmetic:

    t4 = t1 - t2 ** 2                      for i in range(n):
    t4_bar = t17 * t4                 ->       t4_e = t1[i] - t2[i] ** 2
    x_bar[1:] += t4_bar                        x_bar_v[i] += t17_e * t4_e

An outer product is an element `u[i0] * v[i1]` of a two-dimensional loop. An array that no
other name ever refers to (no copy, view, tape or argument) gets its new elements in place;
statements of a run that share no values get a loop each (they may differ in shape).

The run may hold elementwise arithmetic and functions (np.maximum/np.minimum included, as
rt.maximum/rt.minimum), `rt.sum_to`/`rt.reduce_grad` between values of the run's shape
(identity and broadcast of a number), copies, accumulation into slices of an adjoint array
(`index_add` with only slices), full sums (`np.sum(a)`) and sums along axes (`np.sum(a,
axis=1)`, and `rt.sum_to` down to a bias or a keepdims shape: added up element by element into
an array of zeros). Sums are known only after the loop: arithmetic on numbers that reads one
(`a_bar = a_bar + t68`) is deferred until after it, and any other statement reading one, or
rebinding what deferred arithmetic reads, ends the run. Pure statements that do not depend on
the run (slices taken as views, allocations, arithmetic on numbers, matrix products) are moved
before it. Values used after the run are written to arrays (fresh ones, or in place as above);
the others never exist as arrays, and cheap ones a later run reads are recomputed there
(fusion_recompute.py). Loops over numbers are left alone (program_source.py fuses only
programs of array code).

Operands NumPy broadcasts against the run's shape are read at the loop's indices too: a vector
of fewer dimensions along the last axes (a bias, `b[i1]`), and an array known to have length 1
along some axes (a keepdims reduction, `m[i0, 0]`; a view `X[:, None, :]`, `t1[i0, 0, i2]`:
fusion_analysis.unit_axes). When no operand has the run's whole shape (`X[:, None, :] -
C[None, :, :]`), each of the loop's lengths is read from an operand that runs along its axis.
A result of length 1 along some axes (`m * c` of a keepdims `m`) is computed at every index
and stored with its own shape; the loop must then run along those axes (a length above 0).

Shapes are not known when the program is generated, so the loop runs only when every array the
run reads has the same shape, and each broadcast one the lengths its reads assume, axis by axis
(checked when the program runs); else the original statements run, with NumPy's broadcasting.
Elements are computed in the same order and with the same operations, so results agree with the
unfused program up to the order of the terms of full sums.

Accumulating into a slice inside the loop is safe only when nothing in the run reads that array
(or anything that may share its memory): such runs are cut before the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .fusion_analysis import (
    ELEMENTWISE,
    axes_of,
    independent,
    may_alias,
    reinferred,
    targets,
    unit_axes,
)
from .fusion_loop import LoopBuilder
from .fusion_recompute import recompute_cheap
from .fusion_reuse import reuse_dead_arrays
from .ir import (
    BOOL,
    FLOAT,
    Assign,
    Block,
    Const,
    Function,
    If,
    Loop,
    Names,
    Operand,
    Stmt,
    Var,
    walk,
)
from .kinds import KindTable
from .liveness import Liveness
from .loop_carry import carry_neighbours
from .rules import Rule, register

# Pure operations that may be moved before a run when nothing in the run before them defines
# what they read. A matrix product of mismatched shapes (or an int power with a negative
# exponent) may raise there instead of at its own line: the same error, never another value,
# and only for shapes the primal program could not have run with.
_MOVABLE = frozenset(
    {
        "zeros_like", "empty_like", "copy", "dim", "shape", "matmul", "transpose", "outer",
        "expand_dims",
    }
)  # fmt: skip
_FRESH = ("zeros_like", "empty_like")

MIN_FUSED = 2  # a run of fewer operations stays as it is


def _same_shape_template(n: int, attrs: dict) -> str:
    """`a.shape == b.shape == (u.shape + v.shape)`: a chained comparison; a group of two is the
    shape of their outer product. Then each broadcast array's axes against the loop's lengths:
    `b.shape[0] == a.shape[1]` (`extent` names the array and axis each length is read from,
    the first array's by default), `1` for an axis of length 1 (fusion.broadcast); `nonempty`
    lengths must be above 0."""
    broadcast = attrs.get("broadcast") or ()
    parts, k = [], 0
    for size in attrs.get("groups") or (1,) * (n - len(broadcast)):
        shapes = [f"{{{j}}}.shape" for j in range(k, k + size)]
        parts.append(shapes[0] if size == 1 else "(" + " + ".join(shapes) + ")")
        k += size
    tests = [" == ".join(parts)] if len(parts) > 1 else []
    extent = attrs.get("extent")
    for j, axes in enumerate(broadcast, start=k):
        for m, axis in enumerate(axes):
            source = (0, axis) if extent is None or axis is None else extent[axis]
            if source == (j, m):
                continue  # the loop's length is read from this axis
            along = "1" if axis is None else f"{{{source[0]}}}.shape[{source[1]}]"
            tests.append(f"{{{j}}}.shape[{m}] == {along}")
    tests += [f"{{{j}}}.shape[{m}] > 0" for j, m in attrs.get("nonempty") or ()]
    return " and ".join(tests) or "True"


# The helpers of fused loops (fusion_loop.py, fusion_skip.py): runtime_fused.py.
register(Rule("swap_last_axes", "rt.swap_last_axes({0})", lambda kinds, attrs: kinds[0]))
register(Rule("max_abs", "rt.max_abs({0})", lambda kinds, attrs: FLOAT))
register(Rule("may_overflow", "rt.may_overflow({0})", lambda kinds, attrs: BOOL))

register(
    Rule(
        "same_shape",
        emit=_same_shape_template,
        infer=lambda kinds, attrs: BOOL,
    )
)


@dataclass
class Run:
    """One run being collected: its statements in order and what they need."""

    ndim: int
    moved: list[Assign] = field(default_factory=list)  # run before the loop, in order
    fused: list[Assign] = field(default_factory=list)  # computed element by element
    original: list[Assign] = field(default_factory=list)  # every statement, in order
    sums: set[str] = field(default_factory=set)  # sums: known after the loop only
    deferred: list[Assign] = field(default_factory=list)  # arithmetic on sums, after it
    after_loop: set[str] = field(default_factory=set)  # what the deferred read and make
    stored: set[str] = field(default_factory=set)  # memory accumulated into (and its aliases)

    def is_moved(self, s: Assign) -> bool:
        return any(s is m for m in self.moved)

    def reads_before(self) -> set[str]:
        return {a.name for s in self.original for a in s.args if isinstance(a, Var)}

    def assigned(self) -> set[str]:
        return {s.target for s in self.original if s.target}


class Fuser:
    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.fn = fn
        self.kinds = kinds
        self.checked = reinferred(fn, kinds)
        self.live = Liveness(fn)
        names = {p for p in fn.params}
        for s in walk(fn.body):
            if isinstance(s, Assign):
                names |= {a.name for a in s.args if isinstance(a, Var)}
            names |= set(targets(s))
        self.names = Names(names)
        self.aliases = may_alias(fn)
        self.stencils: set[str] = set()  # indices of loops that add into base[i + c]
        assigned = {t for s in walk(fn.body) for t in targets(s)}
        self.fixed = set(fn.params) - assigned  # parameters never reassigned
        self.units = unit_axes(fn, self.checked)  # keepdims results: axes of length 1

    def owned(self, name: str) -> bool:
        """Whether no other name ever refers to the array `name` holds (no copy, view, tape
        or argument): the loop may then write its new elements over the old ones."""
        return self.aliases.get(name, {name}) == {name} and name not in self.fn.params

    # -- which statements a run may hold ----------------------------------------------------

    def _array(self, o: Operand, ndim: int) -> bool:
        """A float array of the run's shape (checked when the program runs)."""
        k = self.checked.of(o)
        return (
            isinstance(o, Var)
            and k.ndim == ndim
            and k.dtype == "float"
            and o.name not in self.units
        )

    def is_whole(self, o: Operand, ndim: int) -> bool:
        """A float array of the run's shape (no axis known to be of length 1)."""
        return self._array(o, ndim)

    def broadcast(self, o: Operand, ndim: int) -> tuple | None:
        """For a float array NumPy broadcasts against the run's shape (a bias vector of fewer
        dimensions, a keepdims reduction's result), where each of its axes lies in the run:
        the run's axis it runs along, or None for an axis of length 1 (element 0)."""
        k = self.checked.of(o)
        if not isinstance(o, Var) or k.dtype != "float" or k.ndim is None:
            return None
        units = self.units.get(o.name, frozenset())
        if not 1 <= k.ndim <= ndim or (k.ndim == ndim and not units):
            return None
        return tuple(None if m in units else ndim - k.ndim + m for m in range(k.ndim))

    def _number(self, o: Operand) -> bool:
        if isinstance(o, Const):
            return isinstance(o.value, (int, float)) and not isinstance(o.value, bool)
        k = self.checked.of(o)
        return k.ndim == 0 and k.dtype in ("float", "int")

    def fusible(self, s: Assign, ndim: int) -> bool:
        """Whether `s` computes, element by element, a float array of `ndim` dimensions."""
        if s.op == "index_add":
            return self._slice_store(s, ndim)
        if s.op == "sum":
            if s.attr("axis") is None:
                return not s.attr("keepdims", False) and self._array(s.args[0], ndim)
            return self._array(s.args[0], ndim) and axes_of(s.attr("axis"), ndim) is not None
        if s.op == "sum_to":  # the identity, or a sum along the axes `like` broadcasts along
            value, like = s.args
            reduced = self._array(like, ndim) or self.broadcast(like, ndim) is not None
            return self._array(value, ndim) and reduced
        if s.op in ELEMENTWISE:
            return self._elementwise(s, ndim)
        if s.target is None or not self._array(Var(s.target), ndim):
            return False
        if s.op == "copy":
            return self._array(s.args[0], ndim)
        if s.op == "outer":  # element [i0, i1] is u[i0] * v[i1]
            return ndim == 2 and all(self._array(a, 1) for a in s.args)
        if s.op == "reduce_grad":
            return (
                s.attr("axis") is None and self._number(s.args[0]) and self._array(s.args[1], ndim)
            )
        return False

    def _elementwise(self, s: Assign, ndim: int) -> bool:
        """An elementwise operation on arrays of the run's shape, numbers and arrays NumPy
        broadcasts against it, whose result has length 1 exactly along the axes no operand
        runs along (fusion_analysis.unit_axes knows it): its element at the loop's indices is
        then the value NumPy broadcasts there, and it is stored with its own shape."""
        k = self.checked.of(Var(s.target)) if s.target else None
        if k is None or k.ndim != ndim or k.dtype != "float" or s.attr("builtin"):
            return False
        along: set[int] = set()  # the run's axes some operand runs along
        for a in s.args:
            if self._array(a, ndim):
                along |= set(range(ndim))
            elif self._number(a):
                continue
            elif (axes := self.broadcast(a, ndim)) is not None:
                along |= {axis for axis in axes if axis is not None}
            else:
                return False
        units = set(range(ndim)) - along
        return units == set(self.units.get(s.target, ())) and len(units) < ndim

    def reduces(self, s: Assign, ndim: int) -> bool:
        """Whether `s` sums along some axes of the run (known after the loop only)."""
        if s.op == "sum":
            return True
        return s.op == "sum_to" and not self._array(s.args[1], ndim)

    def _deferrable(self, s: Assign) -> bool:
        """Arithmetic on numbers, which may wait until after the loop."""
        return (
            s.target is not None
            and (s.op in ELEMENTWISE or s.op == "copy")
            and self._number(Var(s.target))
            and all(self._number(a) for a in s.args)
        )

    def _slice_store(self, s: Assign, ndim: int) -> bool:
        index = s.attr("index")
        base, value = s.args[0], s.args[1]
        return (
            self._array(base, ndim)
            and len(index) == ndim
            and all(item[0] == "s" for item in index)
            and (self._array(value, ndim) or self._number(value))
            and all(self._number(a) for a in s.args[2:])
        )

    def joins(self, s: Assign, ndim: int) -> bool:
        """Whether `s` may be part of a run of `ndim` dimensions, fused or moved before it."""
        return self.fusible(s, ndim) or self._movable(s)

    def _movable(self, s: Assign) -> bool:
        if s.target is None:
            return False
        if s.op == "getitem":  # a view: only slices, never an error
            index = s.attr("index")
            return index is not None and all(item[0] in "sn" for item in index)
        if s.op in _MOVABLE:
            return True
        return s.op in ELEMENTWISE and all(self._number(a) for a in s.args)

    # -- collecting runs --------------------------------------------------------------------

    def start_ndim(self, s: Stmt) -> int | None:
        if not isinstance(s, Assign):
            return None
        for ndim in (1, 2, 3):
            if self.fusible(s, ndim):
                return ndim
        return None

    def _extend(self, run: Run, s: Stmt) -> bool:
        """Add `s` to the run if it may join; False ends the run before it."""
        if not isinstance(s, Assign):
            return False
        reads = {a.name for a in s.args if isinstance(a, Var)}
        if reads & run.sums:
            if not self._deferrable(s):
                return False
            # arithmetic on sums (`a_bar = a_bar + t68`) runs after the loop: later
            # statements of the run must not read what it makes, nor rebind what it reads
            run.deferred.append(s)
            run.original.append(s)
            run.sums.add(s.target)
            run.after_loop |= reads | {s.target}
            return True
        if s.target in run.after_loop:
            return False
        # nothing may read or rebind memory the loop accumulates into (other stores may add)
        touched = reads - ({s.args[0].name} if s.op == "index_add" else set())
        if (touched | {s.target}) & run.stored:
            return False
        if self.fusible(s, run.ndim):
            made = {f.target for f in run.fused}
            if self.reduces(s, run.ndim) and s.op == "sum_to" and s.args[1].name in made:
                return False  # (summed to the shape of `like`, which the loop makes: unknown)
            if s.op == "index_add":
                if not self._store_allowed(run, s):
                    return False
                run.stored |= self.aliases.get(s.args[0].name, {s.args[0].name})
            run.fused.append(s)
            run.original.append(s)
            if self.reduces(s, run.ndim):
                run.sums.add(s.target)
            return True
        if self._movable(s):
            # it runs before the loop: it may read what earlier moved statements make, not
            # what the loop computes, and nothing the run read or made may be rebound by it
            computed = {f.target for f in run.fused if f.target} | run.sums
            if reads & computed or s.target in run.assigned() | run.reads_before():
                return False
            run.moved.append(s)
            run.original.append(s)
            return True
        return False

    def _store_allowed(self, run: Run, s: Assign) -> bool:
        """Accumulating into a slice of `base` element by element is what the whole-slice
        statement does only if nothing else in the run touches that memory (other stores may
        add to it: sums do not depend on their order), and it is the compiler's own array (a
        user's arguments may be one array passed twice)."""
        base = s.args[0].name
        sharing = self.aliases.get(base, {base})
        if sharing & set(self.fn.params):
            return False
        for other in run.original:  # made in the run only by an allocation moved before it
            if other.target in sharing and not (run.is_moved(other) and other.op in _FRESH):
                return False
        if any(isinstance(a, Var) and a.name in sharing for a in s.args[1:]):
            return False
        for other in run.original:
            args = other.args[1:] if other.op == "index_add" else other.args
            if any(isinstance(a, Var) and a.name in sharing for a in args):
                return False
        return True

    def _runs(self, block: Block) -> list[tuple[int, int, Run]]:
        runs = []
        i = 0
        while i < len(block):
            ndim = self.start_ndim(block[i])
            if ndim is None:
                i += 1
                continue
            run = Run(ndim)
            j = i
            while j < len(block) and self._extend(run, block[j]):
                j += 1
            # statements moved at the end of a run gain nothing: leave them where they are
            while run.original and run.is_moved(run.original[-1]):
                run.moved.pop()
                run.original.pop()
                j -= 1
            if len(run.fused) >= MIN_FUSED and j > i:
                runs.append((i, j, run))
                i = j
            else:
                i += 1
        return runs

    # -- rewriting ---------------------------------------------------------------------------

    def block(self, block: Block) -> Block:
        runs = self._runs(block)
        out: list[Stmt] = []
        i = 0
        for start, stop, run in runs:
            out += [self._nested(s) for s in block[i:start]]
            out = self._rewrite(run, block[stop - 1], out)
            i = stop
        out += [self._nested(s) for s in block[i:]]
        return tuple(out)

    def _nested(self, s: Stmt) -> Stmt:
        if isinstance(s, If):
            return replace(s, body=self.block(s.body), orelse=self.block(s.orelse))
        if isinstance(s, Loop):
            return replace(s, test=self.block(s.test), body=self.block(s.body))
        return s

    def _rewrite(self, run: Run, last: Stmt, out: list[Stmt]) -> list[Stmt]:
        """`out` (the block so far), the run's moved statements, then one loop per group of
        its statements that share values (independent groups may have different shapes: an
        RNN's two weight gradients)."""
        live_after = self.live.live_out.get(id(last), frozenset())
        rewritten: list[Stmt] = []
        for group in independent(run.fused):
            if len(group) < MIN_FUSED:
                rewritten += group
                continue
            loop = LoopBuilder(self, run, group, live_after, out)
            fused = loop.build()
            shaped, groups, broadcast, extent, nonempty = loop.check()
            if fused is None:
                rewritten += group
            elif len(shaped) == 1 and not nonempty:
                rewritten += fused
            else:
                # a stencil's zero-filled adjoint is allocated in each branch: the fused one
                # writes it whole (fresh_adjoint.py drops the zeros there)
                moved = loop.allocations
                out = [s for s in out if not any(s is m for m in moved)]
                run.moved = [s for s in run.moved if not any(s is m for m in moved)]
                ok = self.names.fresh("same_shape")
                self.kinds.set(ok, BOOL)
                names = tuple(Var(n) for n in shaped)
                attrs = (
                    ("groups", groups),
                    ("broadcast", broadcast),
                    ("extent", extent),
                    ("nonempty", nonempty),
                )
                rewritten.append(Assign(ok, "same_shape", names, attrs))
                rewritten.append(If(Var(ok), tuple(moved + fused), tuple(moved + group)))
        return out + list(run.moved) + rewritten + list(run.deferred)

    def allocation(self, base: str, before: list[Stmt]) -> Assign | None:
        """`base = np.zeros_like(y)` (y a parameter never reassigned) when it is the last of
        `before` to mention `base` or memory it may share."""
        sharing = self.aliases.get(base, {base}) | {base}
        for s in reversed(before):
            mentioned = set()
            for inner in walk((s,)):
                mentioned |= set(targets(inner))
                if isinstance(inner, Assign):
                    mentioned |= {a.name for a in inner.args if isinstance(a, Var)}
            if not mentioned & sharing:
                continue
            like = s.args[0] if isinstance(s, Assign) and s.args else None
            fixed = isinstance(like, Var) and like.name in self.fixed
            if isinstance(s, Assign) and s.target == base and s.op == "zeros_like" and fixed:
                return s
            return None
        return None


def fuse_elementwise(fn: Function, kinds: KindTable) -> Function:
    """`fn` with its runs of elementwise array statements as loops (see the module's doc)."""
    fn = recompute_cheap(fn, Fuser(fn, kinds))
    fuser = Fuser(fn, kinds)
    fused = reuse_dead_arrays(replace(fn, body=fuser.block(fn.body)), kinds)
    if not fuser.stencils:
        return fused
    return carry_neighbours(fused, kinds, only=fuser.stencils)
