"""np.r_[...] and np.c_[...]: NumPy's index-expression builders, lowered to the operations
they stand for (np.arange for a slice of numbers, then a concatenation), so that their
gradients are those of np.concatenate and np.column_stack."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .ir import Const, Operand


class IndexTricks:
    """Mixed into the normalizer."""

    def index_trick(self, obj: Any, node: ast.Subscript) -> Any:
        """The value of `np.r_[items]` (obj is np.r_) or `np.c_[items]`."""
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        name = "np.r_" if obj is np.r_ else "np.c_"
        if not items:
            raise self.error(node, f"{name}[] of nothing")
        operands = [self.index_trick_item(item, name) for item in items]
        if obj is np.c_:  # numbers and 1-D arrays are columns, joined along the last axis
            return self.emit("column_stack", *operands, attrs=(("items", len(operands)),))
        operands = [self.emit("atleast_1d", operand) for operand in operands]
        return self.emit("concatenate", *operands, attrs=(("axis", 0), ("items", len(operands))))

    def index_trick_item(self, item: ast.expr, name: str) -> Operand:
        if isinstance(item, ast.Slice):
            return self.index_trick_range(item, name)
        value = self.constant(self.expr(item))
        if isinstance(value, Const) and isinstance(value.value, str):
            raise self.error(
                item,
                f"{name}[] with a directive string ({value.value!r}) is not supported",
                "use np.concatenate or np.stack with axis=",
            )
        return self.operand(value, item)

    def index_trick_range(self, item: ast.Slice, name: str) -> Operand:
        """`start:stop:step` of constants, as np.arange makes it (a complex step, `0:1:5j`,
        means np.linspace with that many points)."""
        parts = []
        for part in (item.lower, item.upper, item.step):
            if part is None or (isinstance(part, ast.Constant) and isinstance(part.value, complex)):
                parts.append(None if part is None else part.value)  # 5j: a count of points
                continue
            value = self.constant(self.expr(part))
            if not isinstance(value, Const):
                raise self.error(
                    item,
                    f"a slice in {name}[] needs constant bounds here",
                    "write np.arange(start, stop, step) for bounds known at run time",
                )
            parts.append(value.value)
        start, stop, step = parts
        start = 0 if start is None else start
        if isinstance(step, complex):
            points = Const(int(abs(step)))
            return self.emit("linspace", Const(float(start)), Const(float(stop)), points)
        step = 1 if step is None else step
        return self.emit("arange", Const(start), Const(stop), Const(step))
