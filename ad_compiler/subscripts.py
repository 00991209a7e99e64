"""Subscripts, mixed into the normalizer: reading `a[...]` (indices, slices, `None`, `...`; a
container's item; a shape's entry) and writing `a[...] = v` into arrays the function owns."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

import numpy as np

from .ir import Block, Const, Function, If, Loop, Operand, Stmt, Var
from .kinds import KindTable
from .values import CONTAINERS, ListValue, PyObject, ShapeOf


class Restart(Exception):
    """Raised when a parameter turns out to be written into: normalize again, copying it."""

    def __init__(self, param: str) -> None:
        self.param = param


class Subscripts:
    """Mixed into the normalizer."""

    # -- in-place writes -----------------------------------------------------------------------

    def store(self, target: ast.Subscript, value: Any) -> None:
        array, args, structure = self.index(target)
        self.setitem(target, array, args, structure, self.operand(value, target))

    def setitem(
        self, node: ast.AST, array: Operand, args: tuple, structure: tuple, value: Operand
    ) -> None:
        if not isinstance(array, Var):
            raise self.error(node, "can only write into an array variable")
        name = array.name
        if name in self.out.views:
            raise self.error(
                node,
                f"writing into {ast.unparse(node.value)}, which is a view of another array"
                " (a slice, transpose or reshape of it)",
                "write into the original array with a full index, or take a .copy() first",
            )
        if self.out.live is not None and name in self.out.live.by_param:
            raise self.error(
                node,
                f"writing into {self.out.live.by_param[name].label}, a module-level array",
                f"work on a copy: `{name.lower()}_copy = {name}.copy()`",
            )
        if name in self.out.params and name not in self.copied_params:
            raise Restart(name)
        self.out.emit("setitem", (array, value) + args, self.loc, (("index", structure),))

    # -- indexing ------------------------------------------------------------------------------

    def index(self, node: ast.Subscript) -> tuple[Operand, tuple, tuple]:
        """The array, index operands and index structure of `a[...]`."""
        base = self.operand(self.expr(node.value), node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args: list[Operand] = []
        structure: list[tuple] = []
        for item in items:
            if isinstance(item, ast.Slice):
                parts = []
                for part in (item.lower, item.upper, item.step):
                    if part is None:
                        parts.append(False)
                    else:
                        args.append(self.operand(self.expr(part), part))
                        parts.append(True)
                structure.append(("s", *parts))
            elif isinstance(item, ast.Constant) and item.value is None:
                structure.append(("n",))
            elif isinstance(item, ast.Constant) and item.value is Ellipsis:
                if ("e",) in structure:
                    raise self.error(item, "an index can only have a single ellipsis ('...')")
                structure.append(("e",))  # the axes not named, as many as the array has
            else:
                value = self.expr(item)
                if (isinstance(value, PyObject) and value.obj is None) or value == Const(None):
                    structure.append(("n",))  # np.newaxis
                    continue
                if isinstance(value, ListValue):
                    # x[[0, 2]]: NumPy indexes with the array of the list (not x[0, 2])
                    value = self.array_item(value, item)
                args.append(self.operand(value, item))
                structure.append(("i",))
        return base, tuple(args), tuple(structure)

    def subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        if isinstance(base, CONTAINERS):
            return self.container_key(base, node)
        if isinstance(base, PyObject) and (base.obj is np.r_ or base.obj is np.c_):
            return self.index_trick(base.obj, node)
        if isinstance(base, ShapeOf):
            key = self.constant(self.expr(node.slice))
            if not (isinstance(key, Const) and isinstance(key.value, int)):
                raise self.error(node, "a tuple can only be indexed by a constant integer")
            return self.emit("dim", base.array, attrs=(("axis", key.value),))
        array, args, structure = self.index(node)
        return self.getitem(array, args, structure)

    def getitem(self, array: Operand, args: tuple, structure: tuple) -> Var:
        return self.emit("getitem", array, *args, attrs=(("index", structure),))


def expand_ellipsis(fn: Function, kinds: KindTable) -> Function:
    """`a[...]` and `a[i, ...]` with the axes `...` stands for as full slices (`a[:, :]`,
    `a[i, :]`), now that the arrays' dimensions are known: numba cannot index with `...`.
    Left as written where it stands for no axis or an index array is involved."""

    def item_axes(structure, args) -> int | None:
        consumed, k = 0, 0
        for item in structure:
            if item[0] == "i":
                if kinds.of(args[k]).ndim != 0:
                    return None
                consumed, k = consumed + 1, k + 1
            elif item[0] == "s":
                consumed, k = consumed + 1, k + sum(item[1:])
        return consumed

    def rewrite(s: Stmt) -> Stmt:
        if isinstance(s, If):
            return replace(s, body=block(s.body), orelse=block(s.orelse))
        if isinstance(s, Loop):
            return replace(s, test=block(s.test), body=block(s.body))
        structure = s.attr("index") if s.op in ("getitem", "setitem", "index_add") else None
        if not structure or ("e",) not in structure:
            return s
        first = 1 if s.op == "getitem" else 2
        consumed = item_axes(structure, s.args[first:])
        ndim = kinds.of(s.args[0]).ndim
        if consumed is None or ndim is None or ndim - consumed < 1:
            return s
        full = (("s", False, False, False),) * (ndim - consumed)
        at = structure.index(("e",))
        expanded = structure[:at] + full + structure[at + 1 :]
        attrs = tuple((k, expanded if k == "index" else v) for k, v in s.attrs)
        return replace(s, attrs=attrs)

    def block(statements: Block) -> Block:
        return tuple(rewrite(s) for s in statements)

    return replace(fn, body=block(fn.body))
