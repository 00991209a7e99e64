"""sorted() at compile time: of a dict's keys, or of items whose sort keys are constants
(`sorted(d.items(), key=operator.itemgetter(0))`); what sorts by run-time values is refused."""

from __future__ import annotations

import ast
import operator
from typing import Any

from .ir import Const
from .values import PyObject, TupleValue


class SortedSupport:
    """Mixed into the normalizer (through ContainerSupport)."""

    def sorted_items(self, items: tuple, node: ast.Call) -> tuple:
        """sorted() of items whose sort keys are known at compile time (a dict's keys)."""
        key, reverse = None, False
        for kw in node.keywords:
            value = (
                self.sort_key(kw.value) if kw.arg == "key" else self.constant(self.expr(kw.value))
            )
            if kw.arg == "key" and isinstance(value, PyObject) and callable(value.obj):
                key = value.obj
            elif kw.arg == "reverse" and isinstance(value, Const):
                reverse = bool(value.value)
            else:
                raise self.error(node, f"sorted(..., {kw.arg}=) needs a constant here")
        views = [_static_view(item) for item in items]
        try:
            order = sorted(
                range(len(items)),
                key=lambda k: key(views[k]) if key else views[k],
                reverse=reverse,
            )
        except TypeError:
            raise self.error(
                node,
                "sorted() of values known only at run time is not supported",
                "sort keys or constants (sorted(d) for a dict d), or use np.sort on an array",
            ) from None
        return tuple(items[k] for k in order)

    def sort_key(self, node: ast.expr) -> Any:
        """A sort key: a function, or operator.itemgetter(0) made here from its constants."""
        if isinstance(node, ast.Call) and self.callee(node.func) is operator.itemgetter:
            args = [self.constant(self.expr(a)) for a in node.args]
            if node.keywords or not all(isinstance(a, Const) for a in args):
                raise self.error(node, "operator.itemgetter() needs constant keys here")
            return PyObject(operator.itemgetter(*(a.value for a in args)))
        return self.constant(self.expr(node))


class _RunTime:
    """Stands for a value known only at run time while sorting: comparing it fails."""

    def __lt__(self, other: Any) -> bool:
        raise TypeError("a run-time value")

    __gt__ = __le__ = __ge__ = __lt__


def _static_view(value: Any) -> Any:
    """A compile-time value as Python sees it (tuples of constants), for sorted()'s keys."""
    if isinstance(value, Const):
        return value.value
    if isinstance(value, TupleValue):
        return tuple(_static_view(v) for v in value.items)
    return _RunTime()
