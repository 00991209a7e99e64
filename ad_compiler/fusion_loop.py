"""One fused loop (fusion.py finds the runs): each statement of a run computed element by
element with scalar arithmetic, the arrays it reads loaded at the loop's indices (broadcast
ones at theirs), the values used after the run stored into arrays."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .fusion_analysis import axes_of
from .fusion_skip import ZeroSkip, accumulates, zero_skip
from .fusion_stencil import slice_cut, slice_start, stencil_bases
from .ir import (
    FLOAT,
    INT,
    SHAPE,
    Assign,
    Const,
    If,
    Kind,
    Loop,
    Operand,
    Stmt,
    Var,
    is_temp,
)

if TYPE_CHECKING:
    from .fusion import Fuser, Run


class LoopBuilder:
    """The loop of one run: element by element, with fresh scalar names."""

    def __init__(
        self,
        fuser: Fuser,
        run: Run,
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
        self.broadcasts: dict[str, tuple] = {}  # arrays broadcast: their axes (see broadcast)
        self.partial: dict[tuple[str, int], Operand] = {}  # (vector, axis) -> its element
        self.allocations: list[Assign] = []  # `base = zeros_like(y)` of stencils (see build)
        self.size: tuple[str, int] | None = None  # (y, c): the loop runs len(y) - c times
        self.extents: list[tuple[str, int]] = []  # (array, axis) each loop length is read from
        self.sizing: list[Assign] = []  # the loop's lengths (first before the loop)
        self.sums_along: list[tuple[str, tuple]] = []  # sums along axes: (array, its axes)
        self.reduced: set[str] = set()  # targets summed along axes (known after the loop)
        self.summed: set[int] = set()  # the loop's axes some sum along axes adds up
        self.sum_outputs: set[str] = set()  # the arrays of zeros sums along axes add into
        self.nonempty: set[int] = set()  # the loop's axes that must have a length above 0

    def _shaped(self, name: str) -> None:
        if name not in self.inputs:
            self.inputs.append(name)

    def _element(self, o: Operand) -> Operand:
        if not isinstance(o, Var) or self.fuser.checked.of(o).ndim == 0:
            return o
        axes = self.fuser.broadcast(o, self.run.ndim)
        if axes is not None:
            return self._broadcast_element(o, axes)
        if o.name not in self.current:
            self._shaped(o.name)
            loaded = self._scalar(o.name)
            self.body.append(self._at("getitem", loaded, o, ()))
            self.current[o.name] = Var(loaded)
            self.loaded.add(o.name)
        return self.current[o.name]

    def _broadcast_element(self, o: Var, axes: tuple) -> Operand:
        """`b[i1]` of a bias vector, `t[i0, 0]` of a keepdims result (shape checked too)."""
        if o.name not in self.current:
            self.broadcasts[o.name] = axes
            loaded = self._scalar(o.name)
            index = [Const(0) if a is None else Var(self.indices[a]) for a in axes]
            structure = (("index", tuple(("i",) for _ in axes)),)
            self.body.append(Assign(loaded, "getitem", (o, *index), structure))
            self.current[o.name] = Var(loaded)
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

    def check(self) -> tuple[list[str], tuple[int, ...], tuple[tuple, ...], tuple, tuple]:
        """The arrays whose shapes must agree, as `same_shape` arguments, groups, the axes
        of the broadcast ones (last), where each of the loop's lengths is read from, and the
        lengths that must not be 0 (an output of length 1 along them is written in the loop)."""
        names = list(self.inputs)
        groups = [1] * len(names)
        for u, v in self.factors:
            names += [u, v]
            groups.append(2)
        names += list(self.broadcasts)
        extent = tuple((names.index(name), axis) for name, axis in self.extents)
        nonempty = tuple(extent[k] for k in sorted(self.nonempty))
        return names, tuple(groups), tuple(self.broadcasts.values()), extent, nonempty

    def _find_extents(self) -> list[tuple[str, int]] | None:
        """For each axis of the loop, an array and its axis to read its length from: the first
        array of the run's shape, else the first broadcast one that runs along the axis
        (`X[:, None, :] - C[None, :, :]`: X's first and last, C's middle)."""
        if self.inputs:
            return [(self.inputs[0], k) for k in range(self.run.ndim)]
        if self.factors:
            return None
        extents = []
        for k in range(self.run.ndim):
            along = [
                (name, m)
                for name, axes in self.broadcasts.items()
                for m, axis in enumerate(axes)
                if axis == k
            ]
            if not along:
                return None  # every operand has length 1 along it
            extents.append(along[0])
        return extents

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
        extents = self._find_extents()
        if extents is None:
            return None
        self.extents = extents
        sizes = self._sizes()
        for out, axes in self.sums_along:
            shape = self._shape_of(sizes, axes)
            self.before.append(Assign(out, "zeros", (Var(shape),)))
        defined = {s.target for s in self.group if s.target} - self.reduced
        outputs = [n for n in _ordered(self.group, self.reduced) if n in self.live_after]
        outputs = [n for n in outputs if n in defined]
        # an array read here that no other name refers to gets its new elements in place
        in_place = [n for n in outputs if n in self.loaded and self.fuser.owned(n)]
        for name in in_place:
            self.body.append(self._at("setitem", None, Var(name), (self.current[name],)))
        outputs = [n for n in outputs if n not in in_place]
        full_shape = None
        for name in outputs:
            units = self.fuser.units.get(name, frozenset())
            self.nonempty |= units  # (else its elements would never be written)
            axes = tuple(None if k in units else k for k in range(run.ndim))
            if units or not self.inputs:  # (its own lengths, 1 along its unit axes)
                shape = self._shape_of(sizes, axes)
            elif full_shape is None:
                shape = full_shape = self.names.fresh("shape")
                self.kinds.set(shape, SHAPE)
                self.before.append(Assign(shape, "shape", (Var(self.inputs[0]),)))
            else:
                shape = full_shape
            out = self.names.fresh(f"{name}_out" if not is_temp(name) else "out")
            self.kinds.set(out, Kind(run.ndim, "float"))
            self.before.append(Assign(out, "empty", (Var(shape),)))
            value = (self.current[name],)
            self.body.append(self._at_axes("setitem", Var(out), value, axes))
            self.after.append(Assign(name, "copy", (Var(out),)))
        if self.nonempty and self.size is not None:
            return None  # (a stencil's loop is shorter than its arrays: not checked here)
        body = _prune(self.body)
        order = self._order(body)
        if order[-1] != run.ndim - 1:
            body = self._contiguous_reads(body)
        skip = None
        if run.ndim > 1:
            inner_index = self.indices[order[-1]]
            skip = zero_skip(
                body, self.indices, inner_index, self.sum_outputs, self.names, self.kinds
            )
        if skip is not None:
            body = skip.inner
            self.before += skip.bound
        loop = self._nest(order, sizes, body, skip)
        loc = self.group[0].loc
        reverses = self.group[0].reverses
        before = self.sizing + self.before
        marked = [replace(s, loc=loc, reverses=reverses) for s in before + self.after]
        loop = replace(loop, loc=loc, reverses=reverses)
        return marked[: len(before)] + [loop] + marked[len(before) :]

    def _nest(
        self, order: list[int], sizes: list[str], body: list[Assign], skip: ZeroSkip | None
    ) -> Loop:
        """The loops in `order` (outermost first) around the body; with a zero skip, the
        innermost runs only where its factor is not 0."""
        loop = Loop(
            self.indices[order[-1]],
            Const(0),
            Var(sizes[order[-1]]),
            Const(1),
            (),
            None,
            tuple(body),
        )
        level: tuple[Stmt, ...] = (loop,)
        if skip is not None:
            level = (skip.load, *skip.test, If(skip.condition, (loop,), ()))
        for k in reversed(order[:-1]):
            loop = Loop(self.indices[k], Const(0), Var(sizes[k]), Const(1), (), None, level)
            level = (loop,)
        return loop

    def _order(self, body: list[Assign]) -> list[int]:
        """The loop's axes, outermost first. A sum along the last axis that keeps the one
        before it (k-means' distances, D[i0, i1] = sum over i2) runs its last two axes swapped:
        the innermost loop then adds into a row of D, elements next to each other (LLVM
        vectorizes it), instead of a chain of adds into one element. Each element of a sum
        along axes still receives its terms in the same order. Only loops reading every array
        broadcast (a whole-shape one would be read across its rows)."""
        ndim = self.run.ndim
        natural = list(range(ndim))
        last = ndim - 1
        if ndim < 3 or last not in self.summed or last - 1 in self.summed or self.inputs:
            return natural  # (an array of the loop's shape would be read across its rows)
        along_last = Var(self.indices[last])
        if any(s.target is None and along_last in s.args for s in body):
            return natural  # (a store along the last axis: the same)
        return natural[:-2] + [last, last - 1]

    def _contiguous_reads(self, body: list[Assign]) -> list[Assign]:
        """With the last two axes swapped, a broadcast operand read along both (k-means'
        `C[None, :, :]`, reused for every point) is read from a copy with those axes swapped,
        so that the innermost loop reads consecutive elements."""
        last = self.run.ndim - 1
        copies: dict[str, str] = {}
        out = []
        for s in body:
            name = s.args[0].name if s.op == "getitem" and isinstance(s.args[0], Var) else None
            axes = self.broadcasts.get(name) if name else None
            if axes is None or len(axes) < 2 or axes[-2:] != (last - 1, last):
                out.append(s)
                continue
            if name not in copies:
                copies[name] = self.names.fresh(f"{name}_swapped")
                self.kinds.set(copies[name], self.kinds.of(Var(name)))
                self.before.append(Assign(copies[name], "swap_last_axes", (Var(name),)))
            index = s.args[1:]
            args = (Var(copies[name]), *index[:-2], index[-1], index[-2])
            out.append(replace(s, args=args))
        return out

    def _sizes(self) -> list[str]:
        """The loop's lengths, one name per axis (innermost first in `sizing`, as before)."""
        sizes = [""] * self.run.ndim
        for k in reversed(range(self.run.ndim)):
            size = self.names.fresh("n" if self.run.ndim == 1 else f"n{k}")
            self.kinds.set(size, INT)
            sizes[k] = size
            if self.size is None:
                source, axis = self.extents[k]
                self.sizing.append(Assign(size, "dim", (Var(source),), (("axis", axis),)))
            else:  # len(y[c:-m]) as a sum fresh_adjoint.py can read (negative: no iteration)
                like, cut = self.size
                length = self.names.temp()
                self.kinds.set(length, INT)
                self.sizing.append(Assign(length, "dim", (Var(like),), (("axis", 0),)))
                self.sizing.append(Assign(size, "sub", (Var(length), Const(cut))))
        return sizes

    def _shape_of(self, sizes: list[str], axes: tuple) -> str:
        """`(n0, 1, n2)`: the shape of an array whose axes run along `axes` of the loop."""
        shape = self.names.fresh("shape")
        self.kinds.set(shape, Kind(len(axes), "shape"))
        items = tuple(Const(1) if a is None else Var(sizes[a]) for a in axes)
        self.before.append(Assign(shape, "tuple", items))
        return shape

    def _at_axes(self, op: str, array: Var, values: tuple, axes: tuple) -> Assign:
        """`array[i0, 0, i2] op= value`: element 0 along the array's axes of length 1."""
        index = tuple(Const(0) if a is None else Var(self.indices[a]) for a in axes)
        structure = (("index", tuple(("i",) for _ in axes)),)
        return Assign(None, op, (array, *values, *index), structure)

    def _sum_along(self, s: Assign, axes: tuple) -> None:
        """A sum along the loop's axes missing from `axes` (the result's axes: the loop's axis
        each runs along, None for one of length 1): added up element by element into an array
        of zeros, known after the loop."""
        out = self.names.fresh(f"{s.target}_sum" if not is_temp(s.target) else "total")
        self.kinds.set(out, Kind(len(axes), "float"))
        self.summed |= set(range(self.run.ndim)) - set(axes)
        self.sum_outputs.add(out)
        like = s.args[1] if s.op == "sum_to" else None
        if like is None:
            self.sums_along.append((out, axes))  # allocated once the lengths are known
        else:
            self.before.append(Assign(out, "zeros_like", (like,)))
        value = self._element(s.args[0])
        self.body.append(self._at_axes("index_add", Var(out), (value,), axes))
        self.after.append(Assign(s.target, "copy", (Var(out),)))
        self.reduced.add(s.target)

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
        if s.op == "sum" and s.attr("axis") is not None:
            reduced = axes_of(s.attr("axis"), self.run.ndim)
            kept = tuple(None if k in reduced else k for k in range(self.run.ndim))
            if not s.attr("keepdims"):
                kept = tuple(k for k in kept if k is not None)
            if kept:
                self._sum_along(s, kept)
                return  # (along every axis, without keepdims: a number, as below)
        if s.op == "sum_to" and s.args[1].name not in self.made:
            axes = self.fuser.broadcast(s.args[1], self.run.ndim)
            if axes is not None:  # summed to `like`'s shape; its lengths are checked
                self.broadcasts[s.args[1].name] = axes
                self._sum_along(s, axes)
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
        if s.op == "pow":
            args = (args[0], self._float_exponent(args[1]))
        target = self._scalar(s.target)
        self.body.append(replace(s, target=target, args=args, attrs=s.attrs))
        self._define(s, Var(target))

    def _float_exponent(self, exponent: Operand) -> Operand:
        """An integer exponent that may be negative, as a float: the array's `x ** -1` is inf
        at 0 (NumPy), a number's raises ZeroDivisionError (Python, and numba's int power)."""
        if isinstance(exponent, Const):
            value = exponent.value
            negative = type(value) is int and value < 0
            return Const(float(value)) if negative else exponent
        if self.kinds.of(exponent).dtype != "int":
            return exponent
        converted = self.names.temp()
        self.kinds.set(converted, FLOAT)
        self.body.append(Assign(converted, "float", (exponent,)))
        return Var(converted)


def _ordered(group: list[Assign], reduced: set[str]) -> list[str]:
    seen: list[str] = []
    for s in group:
        if s.target and s.target not in seen and s.op != "sum" and s.target not in reduced:
            seen.append(s.target)
    return seen


def _prune(body: list[Assign]) -> list[Assign]:
    """Drop element computations nothing in the loop reads (a value needed for its shape only,
    like the forward expression `rt.reduce_grad` receives)."""
    needed: set[str] = set()
    kept: list[Assign] = []
    for s in reversed(body):
        if s.target is None or s.target in needed or accumulates(s):
            kept.append(s)
            needed |= {a.name for a in s.args if isinstance(a, Var)}
    return list(reversed(kept))
