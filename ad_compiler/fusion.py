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

The run may hold elementwise arithmetic and functions, `rt.sum_to`/`rt.reduce_grad` between
values of the run's shape (identity and broadcast of a number), copies, accumulation into
slices of an adjoint array (`index_add` with only slices), and full sums (`np.sum(a)`, known
only after the loop: a statement reading one ends the run). Pure statements that do not depend
on the run (slices taken as views, allocations, arithmetic on numbers, matrix products) are
moved before it. Values used after the run are written to arrays (fresh ones, or in place as
above); the others never exist as arrays. Loops over numbers are left alone (program_source.py
fuses only programs of array code).

Shapes are not known when the program is generated, so the loop runs only when every array the
run reads has the same shape (checked when the program runs; one comparison per array); else
the original statements run, with NumPy's broadcasting. Elements are computed in the same order
and with the same operations, so results agree with the unfused program up to the order of the
terms of full sums.

Accumulating into a slice inside the loop is safe only when nothing in the run reads that array
(or anything that may share its memory): such runs are cut before the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .fusion_analysis import ELEMENTWISE, independent, may_alias, reinferred, targets
from .fusion_stencil import drop_unread_indices, slice_cut, slice_start, stencil_bases
from .ir import (
    BOOL,
    FLOAT,
    INT,
    SHAPE,
    Assign,
    Block,
    Const,
    Function,
    If,
    Kind,
    Loop,
    Names,
    Operand,
    Stmt,
    Var,
    is_temp,
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
    {"zeros_like", "empty_like", "copy", "dim", "shape", "matmul", "transpose", "outer"}
)
_FRESH = ("zeros_like", "empty_like")

MIN_FUSED = 2  # a run of fewer operations stays as it is


def _same_shape_template(n: int, attrs: dict) -> str:
    """`a.shape == b.shape == (u.shape + v.shape)`: a chained comparison; a group of two is the
    shape of their outer product."""
    parts, k = [], 0
    for size in attrs.get("groups") or (1,) * n:
        shapes = [f"{{{j}}}.shape" for j in range(k, k + size)]
        parts.append(shapes[0] if size == 1 else "(" + " + ".join(shapes) + ")")
        k += size
    return " == ".join(parts)


register(
    Rule(
        "same_shape",
        emit=_same_shape_template,
        infer=lambda kinds, attrs: BOOL,
    )
)


@dataclass
class _Run:
    """One run being collected: its statements in order and what they need."""

    ndim: int
    moved: list[Assign] = field(default_factory=list)  # run before the loop, in order
    fused: list[Assign] = field(default_factory=list)  # computed element by element
    original: list[Assign] = field(default_factory=list)  # every statement, in order
    sums: set[str] = field(default_factory=set)  # full sums: known after the loop only
    stored: set[str] = field(default_factory=set)  # memory accumulated into (and its aliases)

    def is_moved(self, s: Assign) -> bool:
        return any(s is m for m in self.moved)

    def reads_before(self) -> set[str]:
        return {a.name for s in self.original for a in s.args if isinstance(a, Var)}

    def assigned(self) -> set[str]:
        return {s.target for s in self.original if s.target}


class _Fuser:
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

    def owned(self, name: str) -> bool:
        """Whether no other name ever refers to the array `name` holds (no copy, view, tape
        or argument): the loop may then write its new elements over the old ones."""
        return self.aliases.get(name, {name}) == {name} and name not in self.fn.params

    # -- which statements a run may hold ----------------------------------------------------

    def _array(self, o: Operand, ndim: int) -> bool:
        k = self.checked.of(o)
        return isinstance(o, Var) and k.ndim == ndim and k.dtype == "float"

    def _number(self, o: Operand) -> bool:
        if isinstance(o, Const):
            return isinstance(o.value, (int, float)) and not isinstance(o.value, bool)
        k = self.checked.of(o)
        return k.ndim == 0 and k.dtype in ("float", "int")

    def _fusible(self, s: Assign, ndim: int) -> bool:
        """Whether `s` computes, element by element, a float array of `ndim` dimensions."""
        if s.op == "index_add":
            return self._slice_store(s, ndim)
        if s.op == "sum":
            return (
                s.attr("axis") is None
                and not s.attr("keepdims", False)
                and self._array(s.args[0], ndim)
            )
        if s.target is None or not self._array(Var(s.target), ndim):
            return False
        if s.op in ELEMENTWISE:
            operands = [a for a in s.args]
            return all(self._array(a, ndim) or self._number(a) for a in operands) and any(
                self._array(a, ndim) for a in operands
            )
        if s.op == "copy":
            return self._array(s.args[0], ndim)
        if s.op == "outer":  # element [i0, i1] is u[i0] * v[i1]
            return ndim == 2 and all(self._array(a, 1) for a in s.args)
        if s.op == "sum_to":
            return self._array(s.args[0], ndim) and self._array(s.args[1], ndim)
        if s.op == "reduce_grad":
            return (
                s.attr("axis") is None and self._number(s.args[0]) and self._array(s.args[1], ndim)
            )
        return False

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

    def _start_ndim(self, s: Stmt) -> int | None:
        if not isinstance(s, Assign):
            return None
        for ndim in (1, 2, 3):
            if self._fusible(s, ndim):
                return ndim
        return None

    def _extend(self, run: _Run, s: Stmt) -> bool:
        """Add `s` to the run if it may join; False ends the run before it."""
        if not isinstance(s, Assign):
            return False
        reads = {a.name for a in s.args if isinstance(a, Var)}
        if reads & run.sums:
            return False
        # nothing may read or rebind memory the loop accumulates into (other stores may add)
        touched = reads - ({s.args[0].name} if s.op == "index_add" else set())
        if (touched | {s.target}) & run.stored:
            return False
        if self._fusible(s, run.ndim):
            if s.op == "index_add":
                if not self._store_allowed(run, s):
                    return False
                run.stored |= self.aliases.get(s.args[0].name, {s.args[0].name})
            run.fused.append(s)
            run.original.append(s)
            if s.op == "sum":
                run.sums.add(s.target)
            return True
        if self._movable(s):
            # it runs before the loop: it may read what earlier moved statements make, not
            # what the loop computes, and nothing the run read or made may be rebound by it
            computed = {f.target for f in run.fused if f.target}
            if reads & computed or s.target in run.assigned() | run.reads_before():
                return False
            run.moved.append(s)
            run.original.append(s)
            return True
        return False

    def _store_allowed(self, run: _Run, s: Assign) -> bool:
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

    def _runs(self, block: Block) -> list[tuple[int, int, _Run]]:
        runs = []
        i = 0
        while i < len(block):
            ndim = self._start_ndim(block[i])
            if ndim is None:
                i += 1
                continue
            run = _Run(ndim)
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

    def _rewrite(self, run: _Run, last: Stmt, out: list[Stmt]) -> list[Stmt]:
        """`out` (the block so far), the run's moved statements, then one loop per group of
        its statements that share values (independent groups may have different shapes: an
        RNN's two weight gradients)."""
        live_after = self.live.live_out.get(id(last), frozenset())
        rewritten: list[Stmt] = []
        for group in independent(run.fused):
            if len(group) < MIN_FUSED:
                rewritten += group
                continue
            loop = _LoopBuilder(self, run, group, live_after, out)
            fused = loop.build()
            shaped, groups = loop.check()
            if fused is None:
                rewritten += group
            elif len(shaped) == 1:
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
                rewritten.append(Assign(ok, "same_shape", names, (("groups", groups),)))
                rewritten.append(If(Var(ok), tuple(moved + fused), tuple(moved + group)))
        return out + list(run.moved) + rewritten

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


class _LoopBuilder:
    """The loop of one run: element by element, with fresh scalar names."""

    def __init__(
        self,
        fuser: _Fuser,
        run: _Run,
        group: list[Assign],
        live_after: frozenset[str],
        before: list[Stmt],
    ) -> None:
        self.fuser = fuser
        self.before_run = before  # the block's statements before the run
        self.kinds = fuser.kinds
        self.names = fuser.names
        self.run = run
        self.group = group
        self.live_after = live_after
        self.inputs: list[str] = []  # arrays the run reads: their shapes must agree
        self.current: dict[str, Operand] = {}  # array name -> its element in this iteration
        self.body: list[Assign] = []
        self.before: list[Assign] = []
        self.after: list[Assign] = []
        self.views: dict[tuple, str] = {}  # (base, bounds, index) -> the view stored into
        self.loaded: set[str] = set()  # arrays read element by element at the loop's index
        self.made: set[str] = set()  # arrays the loop has computed so far (their shape is its)
        self.factors: list[tuple[str, str]] = []  # outer products' vectors (shape checks)
        self.partial: dict[tuple[str, int], Operand] = {}  # (vector, axis) -> its element
        self.allocations: list[Assign] = []  # `base = zeros_like(y)` of stencils (see build)
        self.size: tuple[str, int] | None = None  # (y, c): the loop runs len(y) - c times

    def _shaped(self, name: str) -> None:
        if name not in self.inputs:
            self.inputs.append(name)

    def _element(self, o: Operand) -> Operand:
        if not isinstance(o, Var) or self.fuser.checked.of(o).ndim == 0:
            return o
        if o.name not in self.current:
            self._shaped(o.name)
            loaded = self._scalar(o.name)
            self.body.append(self._at("getitem", loaded, o, ()))
            self.current[o.name] = Var(loaded)
            self.loaded.add(o.name)
        return self.current[o.name]

    def _along(self, o: Var, axis: int) -> Operand:
        """Element `o[i_axis]` of a vector of an outer product."""
        key = (o.name, axis)
        if key not in self.partial:
            loaded = self._scalar(o.name)
            index = (("index", (("i",),)),)
            self.body.append(Assign(loaded, "getitem", (o, Var(self.indices[axis])), index))
            self.partial[key] = Var(loaded)
        return self.partial[key]

    def check(self) -> tuple[list[str], tuple[int, ...]]:
        """The arrays whose shapes must agree, as `same_shape` arguments and groups."""
        names = list(self.inputs)
        groups = [1] * len(names)
        for u, v in self.factors:
            names += [u, v]
            groups.append(2)
        return names, tuple(groups)

    def _scalar(self, name: str) -> str:
        """A name for one element of array `name`: a temporary's is a temporary (codegen
        folds it into the expression that reads it), a variable's reads `x_bar_i`."""
        fresh = self.names.temp() if is_temp(name) else self.names.fresh(f"{name}_i")
        self.kinds.set(fresh, FLOAT)
        return fresh

    def _at(self, op: str, target: str | None, array: Operand, values: tuple) -> Assign:
        index = tuple(("i",) for _ in self.indices)
        return Assign(target, op, (array, *values, *map(Var, self.indices)), (("index", index),))

    def _shifted(self, offset: int) -> Var:
        """The loop's index plus a constant, as a name (or the index itself)."""
        if offset == 0:
            return Var(self.indices[0])
        shifted = self.names.temp()
        self.kinds.set(shifted, INT)
        self.body.append(Assign(shifted, "add", (Var(self.indices[0]), Const(offset))))
        return Var(shifted)

    def _define(self, s: Assign, value: Operand) -> None:
        """The element of `s.target` is `value` (an operand or a fresh name's)."""
        self.current[s.target] = value
        self.made.add(s.target)

    def build(self) -> list[Stmt] | None:
        run = self.run
        self.indices = [
            self.names.fresh("i" if run.ndim == 1 else f"i{k}") for k in range(run.ndim)
        ]
        for name in self.indices:
            self.kinds.set(name, INT)
        self.stencil = stencil_bases(self.group) if run.ndim == 1 else {}
        self.likes = self._stencil_likes()
        for s in self.group:
            self._statement(s)
        reference = self.inputs[0] if self.inputs else None
        if reference is None:
            return None
        defined = {s.target for s in self.group if s.target and s.op != "sum"}
        outputs = [n for n in _ordered(self.group) if n in self.live_after and n in defined]
        # an array read here that no other name refers to gets its new elements in place
        in_place = [n for n in outputs if n in self.loaded and self.fuser.owned(n)]
        for name in in_place:
            self.body.append(self._at("setitem", None, Var(name), (self.current[name],)))
        outputs = [n for n in outputs if n not in in_place]
        shape = None
        if outputs:
            shape = self.names.fresh("shape")
            self.kinds.set(shape, SHAPE)
            self.before.append(Assign(shape, "shape", (Var(reference),)))
        for name in outputs:
            out = self.names.fresh(f"{name}_out" if not is_temp(name) else "out")
            self.kinds.set(out, Kind(run.ndim, "float"))
            self.before.append(Assign(out, "empty", (Var(shape),)))
            self.body.append(self._at("setitem", None, Var(out), (self.current[name],)))
            self.after.append(Assign(name, "copy", (Var(out),)))
        body = _prune(self.body)
        loop: Stmt | None = None
        for k in reversed(range(run.ndim)):
            size = self.names.fresh("n" if run.ndim == 1 else f"n{k}")
            self.kinds.set(size, INT)
            if self.size is None:
                self.before.append(Assign(size, "dim", (Var(reference),), (("axis", k),)))
            else:  # len(y[c:-m]) as a sum fresh_adjoint.py can read (negative: no iteration)
                like, cut = self.size
                length = self.names.temp()
                self.kinds.set(length, INT)
                self.before.append(Assign(length, "dim", (Var(like),), (("axis", 0),)))
                self.before.append(Assign(size, "sub", (Var(length), Const(cut))))
            inner = tuple(body) if loop is None else (loop,)
            loop = Loop(self.indices[k], Const(0), Var(size), Const(1), (), None, inner)
        loc = self.group[0].loc
        reverses = self.group[0].reverses
        marked = [replace(s, loc=loc, reverses=reverses) for s in self.before + self.after]
        loop = replace(loop, loc=loc, reverses=reverses)
        return marked[: len(self.before)] + [loop] + marked[len(self.before) :]

    def _stencil_likes(self) -> dict[str, str]:
        """For each stencil base allocated by `base = np.zeros_like(y)` just before the run,
        y: its slices are taken of y for the shape check, so the allocation can move into the
        branches, and the loop runs len(y) - c - m times for a slice [c:-m] (fresh_adjoint.py
        then proves the loop writes every element)."""
        likes = {}
        for base in self.stencil:
            alloc = self.fuser.allocation(base, self.before_run + self.run.moved)
            stores = [s for s in self.group if s.op == "index_add" and s.args[0] == Var(base)]
            cuts = [slice_cut(s) for s in stores]  # y's slices: len(y) - cut elements each
            if alloc is None or None in cuts:
                continue
            likes[base] = alloc.args[0].name
            self.allocations.append(alloc)
            if self.size is None:
                self.size = (likes[base], cuts[0])
        return likes

    def _statement(self, s: Assign) -> None:
        if s.op == "index_add":
            # One view per slice: stores through one array object let LLVM see they meet.
            # (The views are taken after every moved statement; a moved statement never
            # rebinds what an earlier statement of the run read, so the bounds are the same.)
            key = (s.args[0], *s.args[2:], s.attrs)
            view = self.views.get(key)
            if view is None:
                viewed = Var(self.likes.get(s.args[0].name, s.args[0].name))
                view = self.views[key] = self.names.fresh(f"{viewed.name}_v")
                self.kinds.set(view, Kind(self.run.ndim, "float"))
                getitem = Assign(view, "getitem", (viewed, *s.args[2:]), s.attrs)
                self.run.moved.append(getitem)
                self._shaped(view)
            value = self._element(s.args[1])
            base = s.args[0].name
            if base in self.stencil:  # base[i + c]: loop_carry.py keeps neighbours in registers
                where = self._shifted(slice_start(s))
                index = (("index", (("i",),)),)
                self.body.append(Assign(None, "index_add", (s.args[0], value, where), index))
                self.fuser.stencils.add(self.indices[0])
                return
            self.body.append(self._at("index_add", None, Var(view), (value,)))
            return
        if s.op == "sum":
            total = self.names.fresh(f"{s.target}_sum" if not is_temp(s.target) else "total")
            self.kinds.set(total, FLOAT)
            self.before.append(Assign(total, "copy", (Const(0.0),)))
            self.body.append(Assign(total, "add", (Var(total), self._element(s.args[0]))))
            self.after.append(Assign(s.target, "copy", (Var(total),)))
            return
        if s.op in ("copy", "sum_to"):
            if s.op == "sum_to" and s.args[1].name not in self.made:
                self._shaped(s.args[1].name)
            self._define(s, self._element(s.args[0]))
            return
        if s.op == "reduce_grad":
            if s.args[1].name not in self.made:
                self._shaped(s.args[1].name)
            self._define(s, s.args[0])
            return
        if s.op == "outer":
            u, v = s.args
            self.factors.append((u.name, v.name))
            args = (self._along(u, 0), self._along(v, 1))
            target = self._scalar(s.target)
            self.body.append(Assign(target, "mul", args))
            self._define(s, Var(target))
            return
        args = tuple(self._element(a) for a in s.args)
        target = self._scalar(s.target)
        self.body.append(replace(s, target=target, args=args, attrs=s.attrs))
        self._define(s, Var(target))


def _ordered(group: list[Assign]) -> list[str]:
    seen: list[str] = []
    for s in group:
        if s.target and s.target not in seen and s.op != "sum":
            seen.append(s.target)
    return seen


def _prune(body: list[Assign]) -> list[Assign]:
    """Drop element computations nothing in the loop reads (a value needed for its shape only,
    like the forward expression `rt.reduce_grad` receives)."""
    needed: set[str] = set()
    kept: list[Assign] = []
    for s in reversed(body):
        if s.target is None or s.target in needed or s.op == "add" and _accumulates(s):
            kept.append(s)
            needed |= {a.name for a in s.args if isinstance(a, Var)}
    return list(reversed(kept))


def _accumulates(s: Assign) -> bool:
    return isinstance(s.args[0], Var) and s.args[0].name == s.target


def fuse_elementwise(fn: Function, kinds: KindTable) -> Function:
    """`fn` with its runs of elementwise array statements as loops (see the module's doc)."""
    fuser = _Fuser(fn, kinds)
    fused = replace(fn, body=fuser.block(fn.body))
    if not fuser.stencils:
        return fused
    carried = carry_neighbours(fused, kinds, only=fuser.stencils)
    return drop_unread_indices(carried, fuser.stencils)
