"""Reverse mode: from the primal program (SSA IR) to the gradient program.

The gradient program is a forward sweep, the primal code instrumented to save what the reverse
sweep needs, then a reverse sweep that walks the statements backwards and adds "upstream gradient
x local gradient" into each argument's adjoint (`x_bar`), one rule per operation.

Loops are reversed by loops.LoopPlan: each reverse iteration replays, or reads back from a
tape, the values of its forward iteration that the reverse sweep needs, and nothing else.

Writes into arrays (`y[i] = v`) are reversed in place: the reverse sweep takes the written part's
gradient, zeroes it, and restores the overwritten values when some reverse computation reads the
array's contents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .activity import Aliases, active_values, written_arrays
from .aux import aux_outputs
from .checkpoint import checkpointed
from .errors import NonScalarOutputError, UnsupportedSyntaxError
from .ir import (
    Assign,
    Block,
    Const,
    Function,
    If,
    Kind,
    Loc,
    Loop,
    Names,
    Operand,
    Stmt,
    Var,
    defined_names,
    is_temp,
    walk,
)
from .kinds import KindTable
from .loops import LoopPlan
from .optimize import use_counts
from .rules import RULES, IndexedUpdate

# Operations whose listed arguments are read only for their shape, never their contents.
# (Of those, the ones that read a shape, not build an array with the value's dtype.)
_SHAPE_READS = {"len", "dim", "shape", "size", "ndim"}
_SHAPE_ONLY = {
    "reduce_grad": (1,),
    "mean_grad": (1,),
    "sum_to": (1,),
    "zeros_like": (0,),
    "zeros_grad": (0,),
    "reshape_to": (1,),
    "len": (0,),
    "dim": (0,),
    "shape": (0,),
    "size": (0,),
    "ndim": (0,),
    "empty_like": (0,),
    "ones_like": (0,),
}

# Elementwise operations whose local gradient is an array of their operands' shape.
_NONLINEAR_UNARY = {
    "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "log1p", "expm1", "log2", "log10", "square",
    "reciprocal", "erf", "abs",
}  # fmt: skip
_NONLINEAR_BINARY = {"mul", "div", "pow", "maximum", "minimum", "hypot", "arctan2"}

# Operations of local gradients that can divide by zero or leave their domain on inputs the
# primal computed without complaint (1/sqrt(x) at 0): whether a statement is one of them.
_RISKY = {
    "div": lambda s: isinstance(s.args[1], Var),
    "pow": lambda s: (
        isinstance(s.args[0], Var) and not (isinstance(s.args[1], Const) and s.args[1].value >= 0)
    ),
    "log": lambda s: isinstance(s.args[0], Var),
    "sqrt": lambda s: isinstance(s.args[0], Var),
}


class VJPBuilder:
    """What a derivative rule uses to write its part of the reverse sweep."""

    def __init__(self, diff: Differentiator, stmt: Assign, out: list[Stmt]) -> None:
        self.diff = diff
        self.stmt = stmt
        self.out = Var(stmt.target)
        self.g = Var(diff.bar(stmt.target))
        self._stmts = out

    def needs(self, i: int) -> bool:
        arg = self.stmt.args[i]
        return (
            isinstance(arg, Var)
            and arg.name in self.diff.active
            and i not in RULES[self.stmt.op].nondiff_args
        )

    def kind(self, operand: Operand):
        return self.diff.kinds.of(operand)

    def feeds_elementwise(self, operand: Operand) -> bool:
        """Whether `operand`'s adjoint may arrive with a broadcastable shape (g without the
        axes a sum removed) rather than its own: when it is computed elementwise from values of
        its own shape by an operation whose local gradient is an array of that shape (x ** 2,
        exp(x), x * y), so that the product g * local gradient has the full shape again. Not
        for +, -, or a product with a constant, which would pass the small g on unchanged."""
        producer = self.diff.producers.get(operand.name) if isinstance(operand, Var) else None
        if producer is None or not RULES[producer.op].broadcasting:
            return False
        shape = self.kind(operand).same_shape_as
        variables = [a for a in producer.args if isinstance(a, Var)]
        if (
            shape is None
            or not variables
            or any(self.kind(a).same_shape_as != shape for a in variables)
        ):
            return False
        # Only where the local gradient is an array of that shape for certain: x % c, x ** 1,
        # np.maximum(x, x) have constant ones, which would pass the small g on unchanged.
        if producer.op in _NONLINEAR_UNARY:
            return True
        if producer.op in _NONLINEAR_BINARY:
            a, b = producer.args
            if producer.op == "pow" and isinstance(b, Const):
                return b.value not in (0, 1)
            # (np.maximum(h, h) splits g into halves that add up to g: constant)
            return len(variables) == 2 and (a != b or producer.op not in ("maximum", "minimum"))
        return False

    def emit(self, op: str, *args: Operand, **attrs) -> Var:
        return self.diff.emit(self._stmts, op, args, attrs, reverses=self.stmt.loc)

    def refuse(self, message: str) -> None:
        raise _error(self.stmt.loc, message)


def _error(loc: Loc | None, message: str, suggestion: str | None = None):
    if loc is None:
        return UnsupportedSyntaxError(message, suggestion=suggestion)
    return UnsupportedSyntaxError(
        message, loc.filename, loc.line, loc.col + 1, loc.text, suggestion
    )


class Differentiator:
    def __init__(
        self,
        fn: Function,
        kinds: KindTable,
        wrt: tuple[str, ...],
        with_value: bool,
        restore: set[str] | None,
        cotangent: bool = False,
        checkpoint: list[str] | None = None,
    ) -> None:
        self.fn = fn
        # checkpoint=True (checkpoint.py): outermost loops reversed from checkpoints; the list
        # collects why a loop is taped in full instead. None: plain tapes.
        self.checkpoint = checkpoint
        self.kinds = kinds
        self.wrt = wrt
        self.with_value = with_value
        all_names = set(fn.params) | {n for s in walk(fn.body) for n in defined_names(s)}
        all_names |= {
            a.name
            for s in walk(fn.body)
            if isinstance(s, Assign)
            for a in s.args
            if isinstance(a, Var)
        }
        self.names = Names(all_names | {fn.name})
        # vjp.py: the reverse sweep is seeded with this extra parameter instead of 1.0.
        self.cotangent = self.names.fresh("cotangent") if cotangent else None
        self.active = active_values(fn, kinds, wrt)
        self.aliases = Aliases(fn, kinds)
        self.written = frozenset().union(*(self.aliases.of(n) for n in written_arrays(fn.body)))
        self.masked = _masked_values(fn)
        self.tape_reads = _cheaper_to_tape_reads(fn.body, self.aliases)
        self.producers = {s.target: s for s in walk(fn.body) if isinstance(s, Assign) and s.target}
        # Values defined once, outside loops and branches: they exist all through the reverse
        # sweep, so an operation that needs only a shape can read theirs.
        definitions = Counter(n for s in walk(fn.body) for n in defined_names(s))
        self.defined_once = set(fn.params) | {
            s.target
            for s in fn.body
            if isinstance(s, Assign) and s.target and definitions[s.target] == 1
        }
        # y[i] += v: store -> the element read it adds to (see _increments).
        self.increments = _increments(fn, kinds)
        self.incremented = set(self.increments.values())
        # Arrays whose overwritten values the reverse sweep needs back (None: all of them).
        self.restore = restore
        self.bars: dict[str, str] = {}
        self.preamble: list[Stmt] = []  # tape lists, created once at function entry
        self.depth = 0
        self.loop_stack: list[Loop] = []  # the loops around the statement being differentiated
        self.branches = 0  # how many ifs are around it
        self.branches_outside: list[int] = []  # how many were around each loop of loop_stack
        # Tape allocations of nested loops, placed before the outermost loop (see LoopPlan).
        self.hoisted: list[Stmt] = []
        self.stack_sizes: dict[tuple[int, ...], Var] = {}
        self.saved: dict[int, str] = {}  # id of a store -> the name holding what it overwrote
        self.counters: dict[int, str] = {}  # id of a loop -> its iteration counter, if any
        self.in_test = False

    # -- small tools ---------------------------------------------------------------------------

    def bar(self, name: str) -> str:
        if name not in self.bars:
            self.bars[name] = self.names.fresh(f"{name}_bar", temporary=is_temp(name))
            self.kinds.set(self.bars[name], self.kinds.of(Var(name)))
        return self.bars[name]

    def emit(
        self,
        out: list[Stmt],
        op: str,
        args: tuple,
        attrs: dict | tuple = (),
        target: str | None = None,
        loc: Loc | None = None,
        reverses: Loc | None = None,
    ) -> Var | None:
        attrs = tuple(sorted(attrs.items())) if isinstance(attrs, dict) else attrs
        rule = RULES[op]
        if op in _SHAPE_ONLY:
            args = tuple(
                self.same_shape_argument(a, op not in _SHAPE_READS) if i in _SHAPE_ONLY[op] else a
                for i, a in enumerate(args)
            )
        new = target is None
        if target is None and rule.mutates is None:
            target = self.names.temp()
        stmt = Assign(target, op, tuple(args), attrs, loc, reverses)
        if new or target not in self.kinds.kinds:
            self.kinds.infer_assign(stmt)
        out.append(stmt)
        return Var(target) if target else None

    def same_shape_argument(self, operand: Operand, same_dtype: bool = True) -> Operand:
        """An argument of the function, or a value defined once outside loops, with the same
        shape as `operand`, if kinds know one: an operation that needs only a shape then does
        not keep a value alive (or recomputed) for it."""
        if isinstance(operand, Var):
            kind, same = self.kinds.of(operand), self.kinds.of(operand).same_shape_as
            other = self.kinds.of(Var(same)) if same in self.defined_once else None
            # Same dtype too where a helper builds an array with that value's dtype.
            if (
                other is not None
                and other.ndim == kind.ndim
                and (other.dtype == kind.dtype or not same_dtype)
            ):
                return Var(same)
        return operand

    def zero(self, out: list[Stmt], name: str, reverses: Loc | None = None) -> None:
        """`name_bar = 0`, with the primal's type (numba cannot unify a float and an array)."""
        kind = self.kinds.of(Var(name))
        bar = self.bar(name)
        if kind.is_scalar:
            self.emit(out, "copy", (Const(0.0),), target=bar, reverses=reverses)
        elif kind.is_array:
            self.emit(out, "zeros_like", (Var(name),), target=bar, reverses=reverses)
        else:
            self.emit(out, "zeros_grad", (Var(name),), target=bar, reverses=reverses)

    def content_reads(self, code: Block) -> set[str]:
        """The names whose contents, not only their shape, some statement of `code` reads."""
        names: set[str] = set()
        for s in walk(code):
            if isinstance(s, Assign):
                skip = _SHAPE_ONLY.get(s.op, ())
                names.update(
                    a.name for i, a in enumerate(s.args) if isinstance(a, Var) and i not in skip
                )
            elif isinstance(s, If) and isinstance(s.cond, Var):
                names.add(s.cond.name)
        return names

    def is_active(self, operand: Operand) -> bool:
        return isinstance(operand, Var) and operand.name in self.active

    def must_unbroadcast(self, name: str, contribution: Operand) -> bool:
        ka, kc = self.kinds.of(Var(name)), self.kinds.of(contribution)
        if ka.is_scalar and kc.is_scalar:
            return False
        return not (
            ka.is_array and ka.same_shape_as is not None and ka.same_shape_as == kc.same_shape_as
        )

    def unbroadcast(
        self, out: list[Stmt], name: str, contribution: Operand, loc: Loc | None
    ) -> Operand:
        """Sum a contribution back to the shape of `name` (undo NumPy broadcasting): the
        leading axes broadcasting added are summed statically; rt.sum_to does the rest (axes
        of length 1), returning its argument unchanged when the shapes already agree."""
        negated = next(
            (
                s
                for s in out
                if isinstance(s, Assign)
                and isinstance(contribution, Var)
                and s.target == contribution.name
                and s.op == "neg"
            ),
            None,
        )
        if negated is not None and self.kinds.of(contribution).is_array:
            # sum(-g) is -sum(g): negate the small result, not the large array
            summed = self.unbroadcast(out, name, negated.args[0], loc)
            return self.emit(out, "neg", (summed,), reverses=loc)
        ka, kc = self.kinds.of(Var(name)), self.kinds.of(contribution)
        if ka.is_scalar and kc.is_array:
            return self.emit(
                out, "sum", (contribution,), {"axis": None, "keepdims": False}, reverses=loc
            )
        if ka.is_array and kc.is_array:
            for _ in range(kc.ndim - ka.ndim):
                contribution = self.emit(
                    out, "sum", (contribution,), {"axis": 0, "keepdims": False}, reverses=loc
                )
        return self.emit(out, "sum_to", (contribution, Var(name)), reverses=loc)

    def accumulate(
        self, out: list[Stmt], name: str, contribution, broadcasting: bool, loc: Loc | None
    ) -> None:
        """`name_bar += contribution`."""
        if name in self.incremented:
            return
        bar = self.bar(name)
        if isinstance(contribution, IndexedUpdate):
            self.scatter(out, bar, contribution, loc)
            return
        if isinstance(contribution, Const) and contribution.value == 0:
            return
        if broadcasting and self.must_unbroadcast(name, contribution):
            contribution = self.unbroadcast(out, name, contribution, loc)
        elif not broadcasting and self.must_unbroadcast(name, contribution):
            # A reduction's adjoint left broadcastable (see rules.arrays._spread): the adjoint
            # no longer has a known shape; the next elementwise rule sums it back as needed.
            kind = self.kinds.of(Var(name))
            self.kinds.kinds[bar] = type(kind)(kind.ndim, kind.dtype, None)
        self.emit(out, "add", (Var(bar), contribution), target=bar, reverses=loc)

    def scatter(self, out: list[Stmt], bar: str, update: IndexedUpdate, loc: Loc | None) -> None:
        """`bar[index] += value`; integer-array indices accumulate repeated entries."""
        fancy = [self.kinds.of(a).ndim != 0 for a in update.index_args if not isinstance(a, Const)]
        items = update.structure
        if any(fancy):
            if all(item[0] == "i" for item in items) and len(items) in (1, 2):
                op = "add_at_1d" if len(items) == 1 else "add_at_2d"
                self.emit(
                    out, op, (Var(bar), update.value) + tuple(update.index_args), reverses=loc
                )
                return
            if any(self.kinds.of(a).dtype == "bool" for a in update.index_args):
                raise _error(
                    loc,
                    "indexing that mixes a boolean mask with slices or None is not "
                    "differentiable here",
                    "index with the mask alone (x[m]), or multiply by it (X * m) to zero the rest",
                )
            raise _error(
                loc,
                "indexing that mixes integer arrays with slices or None is not differentiable here",
                "index with integer arrays only, or slices only",
            )
        self.emit(
            out,
            "index_add",
            (Var(bar), update.value) + tuple(update.index_args),
            {"index": items},
            reverses=loc,
        )

    # -- statements ----------------------------------------------------------------------------

    def block(
        self, block: Block, prologue: list[Stmt] | None = None, extra_defs: tuple[str, ...] = ()
    ) -> tuple[list[Stmt], list[Stmt]]:
        """The forward and reverse code of a block.

        The reverse code starts by zeroing the adjoints of the values this block defines (each
        iteration of a loop starts afresh), then runs `prologue`, then the statements'
        reverses in reverse order.
        """
        forward: list[Stmt] = []
        reverses: list[list[Stmt]] = []
        defined: list[str] = list(extra_defs)
        for stmt in block:
            if isinstance(stmt, Assign):
                fwd, rev = self.assign(stmt)
                if stmt.target:
                    defined.append(stmt.target)
            elif isinstance(stmt, If):
                fwd, rev = self.if_(stmt)
                defined += [p.name for p in stmt.phis]
            else:
                fwd, rev = self.loop(stmt)
                defined += [p.name for p in stmt.phis]
            forward += fwd
            reverses.append(rev)
        reverse: list[Stmt] = []
        for name in defined:
            if name in self.active:
                self.zero(reverse, name)
        reverse += prologue or []
        for rev in reversed(reverses):
            reverse += rev
        return forward, reverse

    def assign(self, stmt: Assign) -> tuple[list[Stmt], list[Stmt]]:
        if stmt.op == "setitem":
            return self.setitem(stmt)
        rule = RULES[stmt.op]
        if stmt.target in self.incremented:
            return [stmt], []  # its gradient stays in the array's adjoint: see setitem
        if stmt.target not in self.active or rule.vjp is None:
            # Inactive, or a constructor (np.zeros) whose later writes carry the gradient.
            return [stmt], []
        reverse: list[Stmt] = []
        builder = VJPBuilder(self, stmt, reverse)
        contributions = rule.vjp(builder, stmt)
        assert len(contributions) == len(stmt.args), f"rule {stmt.op!r}: one gradient per argument"
        for i, contribution in enumerate(contributions):
            arg = stmt.args[i]
            if not builder.needs(i):
                continue
            if contribution is None:  # a rule must say 0 where it means 0, never forget
                raise _error(stmt.loc, f"no gradient rule for argument {i + 1} of {stmt.op!r}")
            if (
                rule.broadcasting
                and stmt.target in self.masked
                and isinstance(contribution, Var)
                and not _scales(contribution, builder.g, reverse)
            ):
                contribution = self.zero_where_masked(reverse, builder.g, contribution, stmt)
            self.accumulate(reverse, arg.name, contribution, rule.broadcasting, stmt.loc)
        return [stmt], reverse

    def zero_where_masked(
        self, out: list[Stmt], g: Var, contribution: Operand, stmt: Assign
    ) -> Operand:
        """Where np.where did not take this value, its adjoint is exactly 0: keep the
        contribution 0 there too, even if the local gradient is inf or nan (sqrt at 0, the
        log of a negative number), instead of 0 * inf = nan (the "double where" trap)."""
        unused = next(
            (
                s.target
                for s in out
                if isinstance(s, Assign) and s.op == "eq" and s.args == (g, Const(0.0))
            ),
            None,
        )
        if unused is None:
            unused = self.quiet_where_unused(out, g, stmt)
        return self.emit(out, "where", (Var(unused), Const(0.0), contribution), reverses=stmt.loc)

    def quiet_where_unused(self, out: list[Stmt], g: Var, stmt: Assign) -> str:
        """`unused = g == 0`, put before the local gradient `out` computes, whose divisors,
        bases of powers and arguments of log and sqrt become 1 where unused: nothing there
        divides by zero (the guarded sqrt at 0 would compute 0/0), so NumPy warns of nothing
        the user's function does not warn of."""
        head: list[Stmt] = []
        unused = self.emit(head, "eq", (g, Const(0.0)), reverses=stmt.loc)
        rewritten: list[Stmt] = []
        for s in out:
            risky = _RISKY.get(s.op) if isinstance(s, Assign) else None
            if risky is not None and risky(s):
                k = 1 if s.op == "div" else 0
                safe = self.emit(
                    rewritten, "where", (unused, Const(1.0), s.args[k]), reverses=stmt.loc
                )
                s = replace(s, args=s.args[:k] + (safe,) + s.args[k + 1 :])
            rewritten.append(s)
        out[:] = head + rewritten
        return unused.name

    def setitem(self, stmt: Assign) -> tuple[list[Stmt], list[Stmt]]:
        array, value, index = stmt.args[0], stmt.args[1], stmt.args[2:]
        structure = stmt.attr("index")
        forward: list[Stmt] = []
        reverse: list[Stmt] = []
        restore = (self.restore is None or id(stmt) in self.restore) and not self.in_test
        if restore:
            # Keep what the store overwrites, to put it back in the reverse sweep.
            saved = self.emit(
                forward, "getitem", (array,) + index, {"index": structure}, loc=stmt.loc
            )
            if not self.kinds.of(saved).is_scalar:
                saved = self.emit(forward, "array_copy", (saved,), loc=stmt.loc)
            self.saved[id(stmt)] = saved.name
        forward.append(stmt)
        if array.name in self.active:
            bar = Var(self.bar(array.name))
            piece = None
            if self.is_active(value):
                piece = self.emit(
                    reverse, "getitem", (bar,) + index, {"index": structure}, reverses=stmt.loc
                )
                if not self.kinds.of(piece).is_scalar:
                    piece = self.emit(reverse, "array_copy", (piece,), reverses=stmt.loc)
            # The written part had no influence: zero it, then pass its gradient to the value
            # (in that order: in `y[:] = y` the value is the array itself). Not for y[i] += v:
            # the old y[i] passes on the same gradient, so it simply stays.
            if id(stmt) not in self.increments:
                self.emit(
                    reverse,
                    "setitem",
                    (bar, Const(0.0)) + index,
                    {"index": structure},
                    reverses=stmt.loc,
                )
            if piece is not None:
                self.accumulate(reverse, value.name, piece, True, stmt.loc)
        if restore:
            self.emit(
                reverse,
                "setitem",
                (array, Var(self.saved[id(stmt)])) + index,
                {"index": structure, "restore": id(stmt)},
                reverses=stmt.loc,
            )
        return forward, reverse

    def if_(self, stmt: If) -> tuple[list[Stmt], list[Stmt]]:
        flows_then = [p for p in stmt.phis if p.name in self.active and self.is_active(p.first)]
        flows_else = [p for p in stmt.phis if p.name in self.active and self.is_active(p.second)]
        then_flow: list[Stmt] = []
        for p in flows_then:
            self.accumulate(then_flow, p.first.name, Var(self.bar(p.name)), False, stmt.loc)
        else_flow: list[Stmt] = []
        for p in flows_else:
            self.accumulate(else_flow, p.second.name, Var(self.bar(p.name)), False, stmt.loc)
        self.branches += 1
        fwd_then, rev_then = self.block(stmt.body, then_flow)
        fwd_else, rev_else = self.block(stmt.orelse, else_flow)
        self.branches -= 1
        for p in stmt.phis:  # leave SSA: each branch assigns the merged name
            fwd_then.append(Assign(p.name, "copy", (p.first,), loc=stmt.loc))
            fwd_else.append(Assign(p.name, "copy", (p.second,), loc=stmt.loc))
        forward = [If(stmt.cond, tuple(fwd_then), tuple(fwd_else), (), stmt.loc)]
        reverse = []
        if rev_then or rev_else:
            reverse = [
                If(stmt.cond, tuple(rev_then), tuple(rev_else), (), stmt.loc, reverses=stmt.loc)
            ]
        return forward, reverse

    # -- loops ---------------------------------------------------------------------------------

    def loop(self, loop: Loop) -> tuple[list[Stmt], list[Stmt]]:
        if self.checkpoint is not None and self.depth == 0:
            done = checkpointed(self, loop)
            if done is not None:
                return done
        active_phis = [p for p in loop.phis if p.name in self.active]
        # At the end of a reverse iteration's start: the header adjoints flow to the values
        # that were copied into the header at the end of the forward iteration.
        flow: list[Stmt] = []
        held = {}
        for p in active_phis:
            held[p.name] = self.emit(flow, "copy", (Var(self.bar(p.name)),), reverses=loop.loc)
        for p in active_phis:
            self.zero(flow, p.name, reverses=loop.loc)
        for p in active_phis:
            if self.is_active(p.second):
                self.accumulate(flow, p.second.name, held[p.name], False, loop.loc)

        self.depth += 1
        self.loop_stack.append(loop)
        self.branches_outside.append(self.branches)
        # A while condition is evaluated once more than the body runs: its stores are never
        # put back (nothing in the reverse sweep may depend on them, checked below).
        outer, self.in_test = self.in_test, True
        fwd_test, rev_test = self.block(loop.test)
        self.in_test = outer
        if rev_test:
            raise _error(
                loop.loc,
                "the loop condition computes a value the result depends on",
                "compute that value inside the loop body",
            )
        fwd_body, rev_body = self.block(loop.body, flow)
        self.loop_stack.pop()
        self.branches_outside.pop()
        self.depth -= 1

        plan = LoopPlan(self, loop, fwd_test, fwd_body, rev_body)
        forward, reverse = plan.build()
        for p in active_phis:
            if self.is_active(p.first):
                self.accumulate(reverse, p.first.name, Var(self.bar(p.name)), False, loop.loc)
        return forward, reverse

    # -- the whole function --------------------------------------------------------------------

    def run(self) -> Function:
        fn = self.fn
        result = fn.result
        kind = self.kinds.of(result) if isinstance(result, (Var, Const)) else None
        if self.cotangent is not None and kind is not None and kind.ndim is not None:
            pass  # a vector-Jacobian product: any float output
        elif kind is None or kind.ndim != 0:
            shape = "an array" if kind is not None and kind.is_array else "a tuple or nothing"
            if kind is not None and kind.ndim is None:
                shape = "a value of unknown shape"
            raise NonScalarOutputError(
                f"{fn.name}() returns {shape}; grad needs a function returning one float: "
                "use np.sum(...) of it, or differentiate one entry at a time (a Jacobian)"
            )
        if kind.dtype in ("int", "bool"):
            raise NonScalarOutputError(
                f"{fn.name}() returns an {kind.dtype}; grad needs a float result"
            )
        seed: list[Stmt] = []
        if self.cotangent is not None:
            self.kinds.set(self.cotangent, Kind(kind.ndim, "float"))
        if isinstance(result, Var) and result.name in self.active:
            origin = next(
                (s.loc for s in walk(fn.body) if isinstance(s, Assign) and s.target == result.name),
                None,
            )
            g = Const(1.0)
            if self.cotangent is not None:
                g = Var(self.cotangent)
                if kind.ndim != 0:  # checked to have the output's shape (never broadcast)
                    g = self.emit(seed, "cotangent", (g, result), reverses=origin)
            self.emit(
                seed,
                "add",
                (Var(self.bar(result.name)), g),
                target=self.bar(result.name),
                reverses=origin,
            )
        wrt_active = tuple(p for p in self.wrt if p in self.active)
        forward, reverse = self.block(fn.body, seed, extra_defs=wrt_active)
        grads: list[Operand] = []
        for p in self.wrt:
            if p in self.active:
                grads.append(Var(self.bar(p)))
            else:  # the result does not depend on p: its gradient is zero
                zero = []
                self.zero(zero, p)
                reverse += zero
                grads.append(Var(self.bar(p)))
        if self.with_value and isinstance(result, Var):
            # The reverse sweep may restore loop variables: keep the value as it ends forward.
            value = self.names.fresh("value")
            self.kinds.set(value, self.kinds.of(result))
            forward.append(Assign(value, "copy", (result,), loc=None))
            result = Var(value)
        aux = aux_outputs(self, forward) if fn.aux is not None else ()
        outputs = ((result,) if self.with_value else ()) + tuple(grads) + aux
        body = tuple(self.preamble) + tuple(forward) + tuple(reverse)
        if self.cotangent is not None:
            name = self.names.fresh(f"{fn.name}_vjp")
            params = fn.params + (self.cotangent,)
            return Function(name, params, body, outputs, fn.filename, fn.loc)
        name = self.names.fresh(f"{fn.name}_grad")
        return Function(name, fn.params, body, outputs, fn.filename, fn.loc)


def _cheaper_to_tape_reads(body: Block, aliases: Aliases) -> frozenset[str]:
    """Arrays (allocation sites) whose reads inside loops are better kept on a tape than
    replayed: replaying a read needs every store into the array undone in the reverse sweep
    (one saved value per store), taping it one saved value per read. Counts are weighted by
    loop depth (x10 per loop), a static guess at trip counts."""
    stores: dict[str, float] = {}
    reads: dict[str, float] = {}
    # A read only added or subtracted (y[i] += v reads y[i]) has a gradient that does not
    # depend on its value: the reverse sweep never needs it.
    linear = {"add", "sub", "neg", "pos", "copy", "setitem"}
    valued = {
        a.name
        for s in walk(body)
        if isinstance(s, Assign) and s.op not in linear
        for a in s.args
        if isinstance(a, Var)
    }

    def scan(block: Block, weight: float) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                if stmt.op == "setitem":
                    for site in aliases.of(stmt.args[0].name):
                        stores[site] = stores.get(site, 0.0) + weight
                elif (
                    stmt.op == "getitem"
                    and weight > 1
                    and isinstance(stmt.args[0], Var)
                    and stmt.target in valued
                ):
                    for site in aliases.of(stmt.args[0].name):
                        reads[site] = reads.get(site, 0.0) + weight
            elif isinstance(stmt, If):
                scan(stmt.body, weight)
                scan(stmt.orelse, weight)
            else:
                scan(stmt.test + stmt.body, weight * 10)

    scan(body, 1.0)
    return frozenset(site for site, n in reads.items() if n < stores.get(site, 0.0))


def _scales(value: Var, g: Var, stmts: list[Stmt]) -> bool:
    """Whether `value` is g itself or g times/over constants (then it is 0 where g is)."""
    if value == g:
        return True
    for s in stmts:
        if isinstance(s, Assign) and s.target == value.name:
            others = [a for a in s.args if a != g]
            return (
                s.op in ("mul", "div", "neg", "copy")
                and g in s.args[: 1 if s.op == "div" else None]
                and all(isinstance(a, Const) for a in others)
            )
    return False


def _masked_values(fn: Function) -> set[str]:
    """Values whose adjoint is zero wherever an np.where did not select them: the branches of
    a where, and, through elementwise operations, what they are computed from."""
    masked = {
        a.name
        for s in walk(fn.body)
        if isinstance(s, Assign) and s.op == "where"
        for a in s.args[1:]
        if isinstance(a, Var)
    }
    changed = True
    while changed:
        changed = False
        for s in walk(fn.body):
            if (
                isinstance(s, Assign)
                and s.target in masked
                and RULES[s.op].broadcasting
                and s.op != "where"
            ):
                for a in s.args:
                    if isinstance(a, Var) and a.name not in masked:
                        masked.add(a.name)
                        changed = True
    return masked


def differentiate(
    fn: Function,
    kinds: KindTable,
    wrt: tuple[str, ...],
    with_value: bool,
    cotangent: bool = False,
    checkpoint: list[str] | None = None,
) -> Function:
    """The gradient program of `fn` with respect to the parameters `wrt` (with `cotangent`,
    the vector-Jacobian product: the cotangent is a last, extra parameter).

    Built twice: the first build (restoring everything every store overwrites) shows which
    stores' old values some later reverse computation reads; the second restores only those.
    """
    probe = Differentiator(
        fn, KindTable(kinds.kinds), wrt, with_value, None, cotangent, _fresh(checkpoint)
    )
    draft = probe.run()
    restore = _restores_read(draft.body, probe.aliases)
    final = Differentiator(
        fn, KindTable(kinds.kinds), wrt, with_value, restore, cotangent, checkpoint
    )
    gradient = final.run()
    # The reverse sweep's kinds too: code generation prints a scalar `where` as `a if c else
    # b` (evaluated lazily, returning a float), not np.where (a 0-d array).
    kinds.kinds.update(final.kinds.kinds)
    return gradient


def _fresh(notes: list[str] | None) -> list[str] | None:
    return None if notes is None else []


def _increments(fn: Function, kinds: KindTable) -> dict[int, str]:
    """The stores `y[i] = t + v` where t = y[i] was read just before (what `y[i] += v`
    becomes), with scalar indices: store -> t. The gradient of y[i] after the store flows
    unchanged to y[i] before it, so the reverse sweep leaves it where it is, instead of
    zeroing y_bar[i] and adding it back."""
    uses = use_counts(fn)
    found: dict[int, str] = {}

    def element_read(block: Block, position: dict, name: str, store: Assign) -> bool:
        read = block[position[name]] if name in position else None
        return (
            isinstance(read, Assign)
            and read.op == "getitem"
            and read.args == (store.args[0],) + store.args[2:]
            and read.attr("index") == store.attr("index")
            and uses[name] == 1
        )

    def scan(block: Block) -> None:
        position: dict[str, int] = {}
        for i, stmt in enumerate(block):
            if isinstance(stmt, If):
                scan(stmt.body)
                scan(stmt.orelse)
                continue
            if isinstance(stmt, Loop):
                scan(stmt.test)
                scan(stmt.body)
                continue
            if stmt.target:
                position[stmt.target] = i
            if not (
                stmt.op == "setitem"
                and isinstance(stmt.args[1], Var)
                and all(kinds.of(a).is_scalar for a in stmt.args[2:])
            ):
                continue
            total = stmt.args[1].name
            add = block[position[total]] if total in position else None
            if not (isinstance(add, Assign) and add.op == "add" and uses[total] == 1):
                continue
            reads = [
                a.name
                for a in add.args
                if isinstance(a, Var) and element_read(block, position, a.name, stmt)
            ]
            if len(reads) != 1 or add.args[0] == add.args[1]:
                continue
            # Nothing in between may write anywhere or rebind the array or an index.
            names = {a.name for a in stmt.args if isinstance(a, Var)} - {total}
            between = block[position[reads[0]] + 1 : i]
            if all(
                isinstance(s, Assign) and RULES[s.op].mutates is None and s.target not in names
                for s in between
            ):
                found[id(stmt)] = reads[0]

    scan(fn.body)
    return found


def _restores_read(body: Block, aliases: Aliases) -> set[int]:
    """The stores whose restored values some reverse-sweep statement reads afterwards (later
    in the program, or anywhere in a loop around both)."""
    # (position, loops around it, ifs and loops around it, statement)
    events: list[tuple[int, tuple[int, ...], tuple[int, ...], Assign]] = []

    def scan(block: Block, loops: tuple[int, ...], path: tuple[int, ...]) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                events.append((len(events), loops, path, stmt))
            elif isinstance(stmt, If):
                scan(stmt.body, loops, path + (id(stmt), 0))
                scan(stmt.orelse, loops, path + (id(stmt), 1))
            else:
                inner = loops + (id(stmt),)
                scan(stmt.test, inner, path + (id(stmt),))
                scan(stmt.body, inner, path + (id(stmt),))

    scan(body, (), ())
    # A value popped from a tape is a copy taken in the forward sweep: reading it does not read
    # the array's memory. Only where the pop is certainly the value read: the last definition
    # of the name before the read, in the same block (the name may hold the array itself
    # elsewhere, e.g. before a loop's reverse pops it).
    copies: dict[int, set[str]] = {}
    last: dict[str, tuple[tuple[int, ...], bool]] = {}
    for m, _, path, stmt in events:
        copies[m] = {
            a.name for a in stmt.args if isinstance(a, Var) and last.get(a.name) == (path, True)
        }
        if stmt.target:
            copied = stmt.op in ("list_pop", "tape_load") and not stmt.attr("shared")
            last[stmt.target] = (path, copied)
    restores = [(n, loops, s) for n, loops, _, s in events if s.attr("restore")]
    needed: set[int] = set()
    for n, loops, store in restores:
        group = aliases.of(store.args[0].name)
        for m, other_loops, _, stmt in events:
            if stmt.reverses is None or stmt.attr("restore"):
                continue
            shape_only = _SHAPE_ONLY.get(stmt.op, ())
            if (m > n or set(loops) & set(other_loops)) and any(
                isinstance(a, Var) and a.name not in copies[m] and aliases.of(a.name) & group
                for i, a in enumerate(stmt.args)
                if i not in shape_only
            ):
                needed.add(store.attr("restore"))
                break
    return needed
