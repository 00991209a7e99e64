"""What a derivative rule sees while the reverse sweep is written: `VJPBuilder` (rules/ call
`needs`, `kind`, `emit`, `refuse` on it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import UnsupportedSyntaxError
from .ir import Assign, Const, Loc, Operand, Stmt, Var
from .rules import RULES

if TYPE_CHECKING:
    from .adjoint import Differentiator

# Elementwise operations whose local gradient is an array of their operands' shape.
_NONLINEAR_UNARY = {
    "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "log1p", "expm1", "log2", "log10", "square",
    "reciprocal", "erf", "abs",
}  # fmt: skip
_NONLINEAR_BINARY = {"mul", "div", "pow", "maximum", "minimum", "hypot", "arctan2"}


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
        raise unsupported(self.stmt.loc, message)


def unsupported(loc: Loc | None, message: str, suggestion: str | None = None):
    if loc is None:
        return UnsupportedSyntaxError(message, suggestion=suggestion)
    return UnsupportedSyntaxError(
        message, loc.filename, loc.line, loc.col + 1, loc.text, suggestion
    )
