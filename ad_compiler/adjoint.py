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
from .adjoint_analysis import (
    SHAPE_ONLY,
    SHAPE_READS,
    cheaper_to_tape_reads,
    increments,
    masked_values,
    restores_read,
)
from .aux import aux_outputs
from .checkpoint import checkpointed
from .errors import NonScalarOutputError
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
from .rules import RULES, IndexedUpdate
from .vjp_builder import VJPBuilder, unsupported

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
        self.masked = masked_values(fn)
        self.tape_reads = cheaper_to_tape_reads(fn.body, self.aliases)
        self.producers = {s.target: s for s in walk(fn.body) if isinstance(s, Assign) and s.target}
        # Values defined once, outside loops and branches: they exist all through the reverse
        # sweep, so an operation that needs only a shape can read theirs.
        definitions = Counter(n for s in walk(fn.body) for n in defined_names(s))
        self.defined_once = set(fn.params) | {
            s.target
            for s in fn.body
            if isinstance(s, Assign) and s.target and definitions[s.target] == 1
        }
        # y[i] += v: store -> the element read it adds to (see increments).
        self.increments = increments(fn, kinds)
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
        if op in SHAPE_ONLY:
            args = tuple(
                self.same_shape_argument(a, op not in SHAPE_READS) if i in SHAPE_ONLY[op] else a
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
                skip = SHAPE_ONLY.get(s.op, ())
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
                raise unsupported(
                    loc,
                    "indexing that mixes a boolean mask with slices or None is not "
                    "differentiable here",
                    "index with the mask alone (x[m]), or multiply by it (X * m) to zero the rest",
                )
            raise unsupported(
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
                raise unsupported(stmt.loc, f"no gradient rule for argument {i + 1} of {stmt.op!r}")
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
        """Where np.where did not take this value (or np.nansum skipped it), its adjoint is
        exactly 0: keep the contribution 0 there too, even if the local gradient is inf or
        nan (sqrt at 0, the log of a negative number), instead of 0 * inf = nan (the "double
        where" trap)."""
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
            raise unsupported(
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
    restore = restores_read(draft.body, probe.aliases)
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
