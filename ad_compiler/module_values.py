"""Names the function reads from its module, mixed into the normalizer: numbers and tuples of
them compiled in, arrays and numbers read at each call as hidden parameters (live.py), helpers
and modules as objects whose attributes are resolved the same way."""

from __future__ import annotations

import ast
import numbers
from typing import Any

import numpy as np

from .calls import is_library_module
from .frontend import MISSING
from .ir import Const, Var
from .live import is_constant_tuple, is_live_value, is_pinned_value
from .rules import ATTRIBUTES, METHODS
from .values import PyObject, RecordValue, ShapeOf, TupleValue


class ModuleValues:
    """Mixed into the normalizer."""

    def name(self, node: ast.Name) -> Any:
        ident = node.id
        if ident in self.env:
            return self.env[ident]
        if ident in self.undefined:
            raise self.error(node, self.undefined[ident])
        value = self.parsed.resolve(ident)
        if value is MISSING:
            raise self.error(node, f"name {ident!r} is not defined")
        where = self.parsed.reader(ident) if self.out.live is not None else None
        if where is None or is_library_module(value):
            return self.global_value(value, node)
        container, get = where
        return self.live_value(value, node, ((id(container), ident), ident, get), named=True)

    def live_value(self, value: Any, node: ast.AST, live: tuple, named: bool = False) -> Any:
        """A module-level value read at each call (see live.py): a number or an array is a
        hidden parameter, a bool or None a constant checked at each call; a helper or another
        object a name of the module (or a closure cell) holds, checked to be the same object.
        (Not one read as an attribute: `self.predict` is a new bound method at every read.)"""
        key, label, get = live
        if is_live_value(value):
            if isinstance(value, np.ndarray) and value.dtype.kind not in "fiub":
                raise self.error(node, f"{label} is an array of {value.dtype}")
            return self.out.live.hidden(key, label, get, value, self.parsed.loc(node))
        if type(value) in (list, tuple) and value and all(is_live_value(v) for v in value):
            return self.live_items(value, node, live)
        if is_pinned_value(value):
            pinned = self.out.live.pin(key, label, get, value, self.parsed.loc(node))
            return _constant_items(pinned.value) if is_constant_tuple(value) else pinned
        constant = self.global_value(value, node)  # a helper, a module: its attributes live
        if isinstance(constant, PyObject):
            if named:
                self.out.live.pin_object(key, label, get, value, self.parsed.loc(node))
            return PyObject(value, live)
        return constant

    def live_items(self, value: list | tuple, node: ast.AST, live: tuple) -> TupleValue:
        """A module-level list or tuple of numbers and arrays (`LAYERS = [W1, W2]`): each
        item read at each call as its own hidden parameter; its length is compiled in (and
        checked). Read-only here: a tuple, so appending to it is refused."""
        key, label, get = live

        def length() -> int:
            return len(get())

        where = self.parsed.loc(node)
        self.out.live.pin(key + ("len",), f"len({label})", length, len(value), where)
        items = []
        for i, item in enumerate(value):

            def get_item(i: int = i) -> Any:
                return get()[i]

            items.append(self.live_value(item, node, (key + (i,), f"{label}[{i}]", get_item)))
        return TupleValue(tuple(items))

    def constant(self, value: Any) -> Any:
        """For a place that needs a constant (`axis=`, a tuple's index): a module-level
        number there is compiled in, and checked at each call."""
        if self.out.live is None:
            return value
        if isinstance(value, Var):
            return self.out.live.pin_param(value) or value
        if isinstance(value, TupleValue):
            return TupleValue(tuple(self.constant(v) for v in value.items))
        return value

    def global_value(self, value: Any, node: ast.AST) -> Any:
        if isinstance(value, bool) or value is None:
            return Const(value)
        if isinstance(value, numbers.Integral):
            return Const(int(value))
        if isinstance(value, numbers.Real):
            return Const(float(value))
        if is_constant_tuple(value):
            return _constant_items(value)
        if isinstance(value, np.ndarray):
            raise self.error(
                node,
                f"{ast.unparse(node)} is a global array",
                "pass it to the function as an argument",
            )
        return PyObject(value)

    def attribute(self, node: ast.Attribute) -> Any:
        base = self.expr(node.value)
        if isinstance(base, RecordValue):
            return self.container_attribute(base, node)
        if isinstance(base, PyObject):
            value = getattr(base.obj, node.attr, MISSING)
            if value is MISSING:
                raise self.error(node, f"{ast.unparse(node)} does not exist")
            if base.live is None or is_library_module(value):
                return self.global_value(value, node)
            # `cfg.SCALE` of a module (or object) of the user's: read at each call too.
            key, label, get = base.live
            attr = node.attr

            def get_attr():
                return getattr(get(), attr)

            return self.live_value(value, node, (key + (attr,), f"{label}.{attr}", get_attr))
        if isinstance(base, Var):
            if node.attr == "shape":
                return ShapeOf(base)
            op = ATTRIBUTES.get(node.attr)
            if op is not None:
                return self.emit(op, base)
            if node.attr in METHODS:
                raise self.error(node, f".{node.attr} must be called")
        raise self.error(node, f"the attribute .{node.attr} is not supported")


def _constant_items(value: tuple) -> TupleValue:
    """A module-level tuple of whole numbers (`AXES = (0, 2)`) as a tuple of constants."""
    return TupleValue(
        tuple(
            _constant_items(v)
            if isinstance(v, tuple)
            else Const(v if v is None or v is ... else int(v))
            for v in value
        )
    )
