"""Forward mode: from the primal program (SSA IR) to its tangent program.

Each statement `t = op(a, b)` is followed by one computing `t_dot`, the derivative of t along
the direction given by the tangents of the differentiated parameters. Loops stay loops and
branches stay branches: the tangent of a loop-carried value is carried by a phi beside it.
The result is SSA IR again, so the reverse pass (adjoint.py) can differentiate it once more
(reverse over forward: Hessian-vector products, second derivatives).

The tangent of each operation comes from its reverse rule where that gives it exactly:
- elementwise operations have diagonal Jacobians, so the vector-Jacobian product of the
  tangent is the Jacobian-vector product (the same SymPy derivatives as reverse mode);
- an operation with one float result has a gradient row: its tangent is <gradient, a_dot>;
- a reduction along axes (max, norm, logsumexp, var) feeds each input element into one output
  element: its tangent sums (gradient of ones) x a_dot along those axes;
- linear operations (slices, reshapes, sums, concatenation) are applied to the tangents,
  multilinear ones (matmul, einsum) once per varying operand.
Any other operation reached by a varying value is refused, never given a zero tangent.
"""

from __future__ import annotations

from dataclasses import replace

from .activity import Aliases, written_arrays
from .errors import NoGradientRuleError, UnsupportedSyntaxError
from .ir import (
    Assign,
    Block,
    Const,
    Function,
    If,
    Loc,
    Loop,
    Names,
    Operand,
    Phi,
    Stmt,
    Var,
    defined_names,
    is_temp,
    walk,
)
from .kinds import KindTable
from .rules import RULES, IndexedUpdate
from .tangent_rules import FORWARD_RULES, SYMMETRIC

# Linear in their float operands jointly: the tangent is the operation of the tangents (zeros
# standing in for the operands that do not vary).
LINEAR = {
    "getitem", "reshape", "ravel", "flatten", "transpose", "permute", "swapaxes", "moveaxis",
    "rollaxis", "squeeze", "expand_axes", "atleast_1d", "atleast_2d", "atleast_3d", "sum",
    "mean", "cumsum", "diff", "flip", "fliplr", "flipud", "rot90", "roll", "diag", "diagonal",
    "trace", "tril", "triu", "tile", "repeat", "concatenate", "stack", "stack_axis", "hstack",
    "vstack", "column_stack", "hstack_of", "vstack_of", "column_stack_of", "split",
    "array_split", "hsplit", "vsplit", "dsplit", "take", "fftshift", "array_copy", "copy",
    "astype", "real_part", "average", "full", "full_like", "linspace", "numbers_only",
    "checked_item", "gradient", "append", "pad", "asarray",
}  # fmt: skip
# Of those, the ones linear in all their float operands together (the others: in the first,
# the array; their other float operands, such as np.gradient's spacing, must not vary).
JOINTLY_LINEAR = {
    "concatenate", "stack", "stack_axis", "hstack", "vstack", "column_stack", "hstack_of",
    "vstack_of", "column_stack_of", "append", "linspace", "full", "full_like",
}  # fmt: skip
# Linear in each float operand separately: one term per varying operand.
MULTILINEAR = {
    "matmul", "dot", "inner", "outer", "vdot", "kron", "cross", "tensordot", "einsum",
}  # fmt: skip
# Reductions along the attributes `axis` (None: all) with `keepdims`: each input element
# feeds one output element.
REDUCTIONS = {
    "max", "min", "prod", "var", "std", "norm", "logsumexp", "nansum", "nanmean", "ptp",
    "median",
}  # fmt: skip
# Stores whose tangent is the same store into the tangent array.
STORES = {"setitem", "index_add", "add_at_1d", "add_at_2d"}


def _refuse(stmt: Assign, message: str) -> NoGradientRuleError:
    loc = stmt.loc
    return NoGradientRuleError(
        message,
        *((loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()),
        suggestion="use grad or vjp (reverse mode) for it; jacobian falls back to reverse "
        "mode by itself",
    )


class TangentBuilder:
    """What a reverse rule sees (vjp_builder.VJPBuilder's interface), run with the tangent of one
    operand in place of the upstream gradient."""

    def __init__(self, tangents: Tangents, stmt: Assign, g: Operand, only: int | None, out):
        self.tangents = tangents
        self.stmt = stmt
        self.out = Var(stmt.target)
        self.g = g
        self.only = only
        self._out = out

    def needs(self, i: int) -> bool:
        arg = self.stmt.args[i]
        rule = RULES[self.stmt.op]
        return (
            (self.only is None or i == self.only)
            and isinstance(arg, Var)
            and arg.name in self.tangents.varied
            and i not in rule.nondiff_args
        )

    def kind(self, operand: Operand):
        return self.tangents.kinds.of(operand)

    def feeds_elementwise(self, operand: Operand) -> bool:
        return False

    def emit(self, op: str, *args: Operand, **attrs) -> Var:
        return self.tangents.emit(self._out, op, args, attrs, self.stmt.loc)

    def refuse(self, message: str) -> None:
        raise _refuse(self.stmt, message)


class Tangents:
    """Builds the tangent program of `fn` along the parameters `wrt`.

    seeds: for each wrt parameter, the operand holding its tangent; None makes it a new
    parameter (`x_dot`), placed after the first `user_params` parameters. result: "both"
    returns (value, tangent), "tangent" the tangent alone.
    """

    def __init__(
        self,
        fn: Function,
        kinds: KindTable,
        wrt: tuple[str, ...],
        seeds: dict[str, Operand | None],
        user_params: int,
        result: str = "both",
    ) -> None:
        self.fn = fn
        self.kinds = KindTable(dict(kinds.kinds))
        self.wrt = wrt
        self.seeds = seeds
        self.user_params = user_params
        self.result = result
        names = set(fn.params) | {n for s in walk(fn.body) for n in defined_names(s)}
        names |= {
            a.name
            for s in walk(fn.body)
            if isinstance(s, Assign)
            for a in s.args
            if isinstance(a, Var)
        }
        self.names = Names(names | {fn.name})
        self.varied = varied_values(fn, self.kinds, wrt)
        self.dots: dict[str, Operand] = {}
        self.owners: dict[str, set[str]] = {}  # a tangent array -> the values it is the tangent of
        self.aliases = Aliases(fn, self.kinds)
        written = written_arrays(fn.body)
        self.written_sites = frozenset().union(*(self.aliases.of(n) for n in written))
        self.placeholders = {
            s.target for s in walk(fn.body) if isinstance(s, Assign) and s.op == "unassigned"
        }

    # -- small tools -------------------------------------------------------------------------

    def emit(self, out: list[Stmt], op: str, args, attrs, loc: Loc | None, target=None) -> Var:
        attrs = tuple(sorted(attrs.items())) if isinstance(attrs, dict) else attrs
        if target is None and RULES[op].mutates is None:
            target = self.names.temp()
        stmt = Assign(target, op, tuple(args), attrs, loc)
        self.kinds.infer_assign(stmt)
        out.append(stmt)
        return Var(target) if target else None

    def dot_name(self, name: str) -> str:
        return self.names.temp() if is_temp(name) else self.names.fresh(f"{name}_dot")

    def dot(self, operand: Operand) -> Operand | None:
        """The tangent of an operand, None where it is zero."""
        if isinstance(operand, Var):
            return self.dots.get(operand.name)
        return None

    def may_be_written(self, name: str) -> bool:
        return bool(self.aliases.of(name) & self.written_sites)

    def zero(self, out: list[Stmt], operand: Operand, loc: Loc | None) -> Operand:
        """A zero tangent with the operand's shape."""
        if isinstance(operand, Var) and operand.name in self.placeholders:
            # a helper's result before the loop that returns it: a placeholder tangent too
            name = self.names.temp()
            out.append(Assign(name, "unassigned", (), (), loc))
            self.kinds.set(name, self.kinds.of(operand))
            return Var(name)
        if self.kinds.of(operand).is_array:
            return self.emit(out, "zeros_like", (operand,), {}, loc)
        return Const(0.0)

    def dot_or_zero(self, out: list[Stmt], operand: Operand, loc: Loc | None) -> Operand:
        found = self.dot(operand)
        return found if found is not None else self.zero(out, operand, loc)

    def add(self, out: list[Stmt], terms: list[Operand], loc: Loc | None) -> Operand | None:
        terms = [t for t in terms if not (isinstance(t, Const) and t.value == 0)]
        if not terms:
            return None
        total = terms[0]
        for term in terms[1:]:
            total = self.emit(out, "add", (total, term), {}, loc)
        return total

    # -- statements ------------------------------------------------------------------------

    def block(self, block: Block) -> list[Stmt]:
        out: list[Stmt] = []
        for stmt in block:
            if isinstance(stmt, Assign):
                out.append(stmt)
                self.assign(stmt, out)
            elif isinstance(stmt, If):
                out.append(self.if_(stmt))
            else:
                out += self.loop(stmt)
        return out

    def assign(self, stmt: Assign, out: list[Stmt]) -> None:
        rule = RULES[stmt.op]
        diff_args = [
            i
            for i, a in enumerate(stmt.args)
            if isinstance(a, Var) and a.name in self.varied and i not in rule.nondiff_args
        ]
        if rule.mutates is not None:
            self.store(stmt, out, diff_args)
            return
        if stmt.target is None or stmt.target not in self.varied:
            return
        emitted = len(out)
        if rule.zero_derivative or not diff_args:
            # Varies only through a later store into it (an array allocated, then written).
            tangent = self.zero(out, Var(stmt.target), stmt.loc)
        else:
            tangent = self.tangent_of(stmt, rule, diff_args, out)
        if tangent is None:
            tangent = self.zero(out, Var(stmt.target), stmt.loc)
        new = {s.target for s in out[emitted:] if isinstance(s, Assign)}
        if (
            isinstance(tangent, Var)
            and tangent.name not in new
            and not rule.view
            and stmt.op != "copy"
            and self.kinds.of(Var(stmt.target)).is_array
            and any(map(self.may_be_written, {stmt.target} | self.owners.get(tangent.name, set())))
        ):
            # y = x + 1.0 is a new array whose tangent is x_dot itself: a store into y must
            # not write into x_dot, nor one into x into y_dot, so y gets its own copy.
            tangent = self.emit(out, "array_copy", (tangent,), {}, stmt.loc)
        last = out[-1] if out else None
        if (
            not is_temp(stmt.target)
            and isinstance(tangent, Var)
            and isinstance(last, Assign)
            and last.target == tangent.name
            and is_temp(tangent.name)
        ):
            # The user's names keep theirs: y_dot, not a temporary.
            name = self.dot_name(stmt.target)
            out[-1] = replace(last, target=name)
            self.kinds.set(name, self.kinds.of(tangent))
            tangent = Var(name)
        if isinstance(tangent, Var):
            self.owners.setdefault(tangent.name, set()).add(stmt.target)
        self.dots[stmt.target] = tangent

    def tangent_of(self, stmt: Assign, rule, diff_args: list[int], out) -> Operand | None:
        op, loc = stmt.op, stmt.loc
        if op in LINEAR:
            joint = op in JOINTLY_LINEAR
            if not joint and any(i != 0 for i in diff_args):
                # (np.gradient's spacing: the operation is linear in its array only)
                raise _refuse(stmt, f"no forward-mode (tangent) rule for {op!r} of these operands")
            # Every data operand of a jointly linear operation gets a tangent, zeros for the
            # int and bool ones too (np.array([x, 1]) stacks 1, whose tangent is 0).
            nondiff = RULES[op].nondiff_args
            args = [
                self.dot_or_zero(out, a, loc)
                if (joint and i not in nondiff) or (i == 0 and self._float_operand(stmt, i))
                else a
                for i, a in enumerate(stmt.args)
            ]
            attrs = stmt.attrs
            if op == "pad":  # the padding constant does not vary: the tangent pads with 0
                attrs = tuple((k, 0 if k == "constant_values" else v) for k, v in attrs)
            return self.emit(out, op, args, attrs, loc)
        if op in MULTILINEAR:
            terms = []
            for i in diff_args:
                args = list(stmt.args)
                args[i] = self.dots[stmt.args[i].name]
                terms.append(self.emit(out, op, args, stmt.attrs, loc))
            return self.add(out, terms, loc)
        if op in FORWARD_RULES:
            tangent = FORWARD_RULES[op](
                self, stmt, {i: self.dots[stmt.args[i].name] for i in diff_args}, out
            )
            if tangent is not None:
                return tangent
        if rule.vjp is None:
            raise _refuse(stmt, f"no derivative rule for {op!r}")
        if rule.broadcasting or op in SYMMETRIC:
            # A diagonal Jacobian: the reverse rule applied to the tangent is its product.
            terms = []
            for i in diff_args:
                builder = TangentBuilder(self, stmt, self.dots[stmt.args[i].name], i, out)
                contribution = rule.vjp(builder, stmt)[i]
                if contribution is not None:
                    terms.append(self._checked(stmt, contribution))
            total = self.add(out, terms, loc)
            return None if total is None else self.broadcast(out, total, stmt)
        if self.kinds.of(Var(stmt.target)).is_scalar:
            return self.gradient_row(stmt, rule, diff_args, out)
        if op in REDUCTIONS and stmt.attr("axis", "absent") != "absent":
            return self.reduction(stmt, rule, diff_args, out)
        raise _refuse(
            stmt,
            f"no forward-mode (tangent) rule for {op!r} of a value that depends on the "
            "differentiated arguments",
        )

    def broadcast(self, out: list[Stmt], tangent: Operand, stmt: Assign) -> Operand:
        """A tangent has its value's shape: the contribution of an operand NumPy broadcast
        (a number added to an array) is spread over the result's shape."""
        kt, ko = self.kinds.of(tangent), self.kinds.of(Var(stmt.target))
        if not ko.is_array or (
            kt.ndim == ko.ndim
            and kt.same_shape_as is not None
            and kt.same_shape_as == ko.same_shape_as
        ):
            return tangent
        zeros = self.emit(out, "zeros_like", (Var(stmt.target),), {}, stmt.loc)
        return self.emit(out, "add", (zeros, tangent), {}, stmt.loc)

    def _float_operand(self, stmt: Assign, i: int) -> bool:
        a = stmt.args[i]
        if i in RULES[stmt.op].nondiff_args:
            return False
        if isinstance(a, Const):
            return isinstance(a.value, float)
        return self.kinds.of(a).dtype in ("float", None)

    def _checked(self, stmt: Assign, contribution) -> Operand:
        if isinstance(contribution, IndexedUpdate):
            raise _refuse(stmt, f"no forward-mode (tangent) rule for {stmt.op!r}")
        return contribution

    def gradient_row(self, stmt: Assign, rule, diff_args: list[int], out) -> Operand | None:
        """One float result: its tangent is sum(gradient * tangent) over each operand."""
        terms = []
        for i in diff_args:
            dot = self.dots[stmt.args[i].name]
            builder = TangentBuilder(self, stmt, Const(1.0), i, out)
            row = self._checked(stmt, rule.vjp(builder, stmt)[i])
            product = self.emit(out, "mul", (row, dot), {}, stmt.loc)
            if self.kinds.of(product).is_array:
                product = self.emit(
                    out, "sum", (product,), {"axis": None, "keepdims": False}, stmt.loc
                )
            terms.append(product)
        return self.add(out, terms, stmt.loc)

    def reduction(self, stmt: Assign, rule, diff_args: list[int], out) -> Operand | None:
        """Each input element feeds one output element: the gradient of ones is the row of
        the Jacobian for each input element; the tangent sums it times a_dot along the axes."""
        first = self.kinds.of(stmt.args[0]).same_shape_as
        for i in diff_args:
            # Another operand (logsumexp's b=) feeds one output element per entry only when it
            # has the array's shape; broadcast, its gradient would come back summed.
            if i and (first is None or self.kinds.of(stmt.args[i]).same_shape_as != first):
                raise _refuse(
                    stmt,
                    f"no forward-mode (tangent) rule for {stmt.op!r} with a varying operand "
                    "that may be broadcast against the array",
                )
        ones = self.emit(out, "ones_like", (Var(stmt.target),), {}, stmt.loc)
        terms = []
        for i in diff_args:
            dot = self.dots[stmt.args[i].name]
            builder = TangentBuilder(self, stmt, ones, i, out)
            weights = self._checked(stmt, rule.vjp(builder, stmt)[i])
            product = self.emit(out, "mul", (weights, dot), {}, stmt.loc)
            attrs = {"axis": stmt.attr("axis"), "keepdims": bool(stmt.attr("keepdims", False))}
            terms.append(self.emit(out, "sum", (product,), attrs, stmt.loc))
        return self.add(out, terms, stmt.loc)

    def store(self, stmt: Assign, out: list[Stmt], diff_args: list[int]) -> None:
        rule = RULES[stmt.op]
        array = stmt.args[rule.mutates]
        if not (isinstance(array, Var) and array.name in self.varied):
            return
        if stmt.op not in STORES:
            raise _refuse(stmt, f"no forward-mode (tangent) rule for {stmt.op!r}")
        args = [
            self.dot_or_zero(out, a, stmt.loc) if i in (0, 1) else a
            for i, a in enumerate(stmt.args)
        ]
        out.append(Assign(None, stmt.op, tuple(args), stmt.attrs, stmt.loc))

    # -- control flow ------------------------------------------------------------------------

    def tangent_phi(self, phi: Phi, tails: tuple[list[Stmt], list[Stmt]], loc) -> Phi | None:
        if phi.name not in self.varied:
            return None
        first = self.dot_or_zero(tails[0], phi.first, loc)
        second = self.dot_or_zero(tails[1], phi.second, loc)
        name = self.dot_name(phi.name)
        self.kinds.set(name, self.kinds.of(Var(phi.name)))
        self.dots[phi.name] = Var(name)
        self.owners[name] = {phi.name}  # (a later store into the merged value writes it)
        return Phi(name, first, second)

    def if_(self, stmt: If) -> If:
        body, orelse = self.block(stmt.body), self.block(stmt.orelse)
        phis = [self.tangent_phi(p, (body, orelse), stmt.loc) for p in stmt.phis]
        return replace(
            stmt,
            body=tuple(body),
            orelse=tuple(orelse),
            phis=stmt.phis + tuple(p for p in phis if p is not None),
        )

    def loop(self, loop: Loop) -> list[Stmt]:
        before: list[Stmt] = []
        # The header's tangents exist before the body reads them; their second operands are
        # filled in once the body is built.
        pending = []
        for p in loop.phis:
            if p.name in self.varied:
                first = self.dot_or_zero(before, p.first, loop.loc)
                name = self.dot_name(p.name)
                self.kinds.set(name, self.kinds.of(Var(p.name)))
                self.dots[p.name] = Var(name)
                self.owners[name] = {p.name}
                pending.append((p, name, first))
        test = self.block(loop.test)
        body = self.block(loop.body)
        phis = [
            Phi(name, first, self.dot_or_zero(body, p.second, loop.loc))
            for p, name, first in pending
        ]
        return before + [
            replace(loop, test=tuple(test), body=tuple(body), phis=loop.phis + tuple(phis))
        ]

    # -- the whole function ------------------------------------------------------------------

    def run(self) -> Function:
        fn = self.fn
        start: list[Stmt] = []
        new_params = []
        for p in self.wrt:
            seed = self.seeds.get(p)
            if p not in self.varied:
                continue
            if seed is None:
                name = self.names.fresh(f"{p}_dot")
                self.kinds.set(name, self.kinds.of(Var(p)))
                new_params.append(name)
                seed = Var(name)
                if self.kinds.of(Var(p)).is_array and self.may_be_written(p):
                    # f writes into its argument: its tangent is written too, not the caller's
                    seed = self.emit(start, "array_copy", (seed,), {}, fn.loc)
            self.dots[p] = seed
            if isinstance(seed, Var):
                self.owners.setdefault(seed.name, set()).add(p)
        for p in fn.params:  # an argument written into with varying values
            if p in self.varied and p not in self.dots:
                self.dots[p] = self.zero(start, Var(p), fn.loc)
        body = start + self.block(fn.body)
        result = fn.result
        if isinstance(result, tuple) or result is None:
            loc = fn.loc
            raise UnsupportedSyntaxError(
                f"{fn.name}() returns {'a tuple' if result is not None else 'nothing'}; "
                "jvp, jacobian, hessian and hvp need a function returning one float or one "
                "array",
                *((loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()),
                suggestion="return np.concatenate(...) of the parts, or transform each part "
                "as its own function",
            )
        tangent = self.dot_or_zero(body, result, fn.loc)
        outputs = (result, tangent) if self.result == "both" else tangent
        params = fn.params[: self.user_params] + tuple(new_params) + fn.params[self.user_params :]
        return replace(fn, params=params, body=tuple(body), result=outputs)


def varied_values(fn: Function, kinds: KindTable, wrt: tuple[str, ...]) -> set[str]:
    """Names of the values that depend on the parameters `wrt`, flow-insensitively; a store
    of a varying value into an array makes every name that may be that array vary."""
    aliases = Aliases(fn, kinds)
    varied = {p for p in wrt if kinds.of(Var(p)).differentiable}
    names = list(kinds.kinds)
    changed = True
    while changed:
        changed = False
        new: list[str] = []
        for stmt in walk(fn.body):
            if isinstance(stmt, Assign):
                rule = RULES[stmt.op]
                args = [
                    a.name
                    for i, a in enumerate(stmt.args)
                    if isinstance(a, Var) and i not in rule.nondiff_args
                ]
                if rule.mutates is not None:
                    array = stmt.args[rule.mutates]
                    if (
                        isinstance(array, Var)
                        and kinds.of(array).differentiable
                        and any(a in varied for a in args if a != array.name)
                    ):
                        new += [n for n in names if aliases.share(n, array.name)]
                        new.append(array.name)
                elif (
                    (
                        stmt.target
                        and kinds.of(Var(stmt.target)).differentiable
                        and any(a in varied for a in args)
                        and not rule.zero_derivative
                    )
                    or stmt.target
                    and rule.view
                    and any(a in varied for a in args)
                ):
                    new.append(stmt.target)
            else:
                new += [
                    p.name
                    for p in stmt.phis
                    if any(isinstance(o, Var) and o.name in varied for o in (p.first, p.second))
                ]
        for name in new:
            if name not in varied and kinds.of(Var(name)).differentiable:
                varied.add(name)
                changed = True
    return varied


def leave_ssa(fn: Function) -> Function:
    """The same program with its phis turned into copies, for printing as Python: each branch
    assigns the merged name; a loop's header names are assigned before it and at the end of
    its body (through temporaries when one header value feeds another)."""
    names = Names(set(fn.params) | {n for s in walk(fn.body) for n in defined_names(s)})
    return replace(fn, body=tuple(_leave(fn.body, names)))


def _leave(block: Block, names: Names) -> list[Stmt]:
    out: list[Stmt] = []
    for stmt in block:
        if isinstance(stmt, Assign):
            out.append(stmt)
        elif isinstance(stmt, If):
            body, orelse = _leave(stmt.body, names), _leave(stmt.orelse, names)
            for p in stmt.phis:
                body.append(Assign(p.name, "copy", (p.first,), loc=stmt.loc))
                orelse.append(Assign(p.name, "copy", (p.second,), loc=stmt.loc))
            out.append(replace(stmt, body=tuple(body), orelse=tuple(orelse), phis=()))
        else:
            for p in stmt.phis:
                out.append(Assign(p.name, "copy", (p.first,), loc=stmt.loc))
            body = _leave(stmt.body, names)
            headers = {p.name for p in stmt.phis}
            # Parallel copies: a header value read by a later copy is saved first.
            held: dict[str, str] = {}
            for p in stmt.phis:
                if isinstance(p.second, Var) and p.second.name in headers:
                    held.setdefault(p.second.name, names.temp())
            for original, temp in held.items():
                body.append(Assign(temp, "copy", (Var(original),), loc=stmt.loc))
            for p in stmt.phis:
                second = p.second
                if isinstance(second, Var) and second.name in held:
                    second = Var(held[second.name])
                body.append(Assign(p.name, "copy", (second,), loc=stmt.loc))
            test = _leave(stmt.test, names)
            out.append(replace(stmt, test=tuple(test), body=tuple(body), phis=()))
    return out
