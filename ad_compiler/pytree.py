"""Structured arguments ("pytrees"): dicts, lists, tuples and namedtuples whose leaves are
numbers and arrays, nested to any depth.

They stay at the edge: a call's structured arguments are flattened into leaves, each a
parameter of the compiled program with a name a reader recognizes (`p["W1"]` is `p_W1`,
`layers[0].b` is `layers_0_b`), and the gradient's structure is rebuilt from the leaves' on
the way out, with the argument's own container types and key order. The layout (containers,
keys, lengths) is part of what a program is compiled for: another layout compiles again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GradientInputError
from .ir import Const
from .values import PyObject, RecordValue, TupleValue


@dataclass(frozen=True)
class Layout:
    """The shape of one argument: a leaf (its parameter name), or a container of layouts."""

    kind: str  # "leaf", "const", "dict", "list", "tuple" or "namedtuple"
    name: str = ""  # a leaf's parameter name
    value: Any = None  # a const's value: None or a string, compiled in
    keys: tuple = ()  # a dict's keys, a namedtuple's fields
    items: tuple[Layout, ...] = ()
    cls: type | None = None  # a namedtuple's class

    def leaves(self) -> list[str]:
        if self.kind == "leaf":
            return [self.name]
        return [name for item in self.items for name in item.leaves()]


def is_constant(value: Any) -> bool:
    """None, strings and functions (`mask=None`, `{"act": "tanh"}`, `reduce=np.sum`): compiled
    into the program, which is built again when they change."""
    return value is None or isinstance(value, str) or is_function(value)


def is_function(value: Any) -> bool:
    """A function, builtin, ufunc or class given as an argument: called, not differentiated."""
    return callable(value) and not isinstance(value, (np.ndarray, np.generic))


def is_structured(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) or is_constant(value)


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def layout_of(value: Any, name: str, taken: set[str]) -> Layout:
    """The layout of an argument called `name`; leaf names are added to `taken` (and made
    unique against it)."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise GradientInputError(
                    f"argument {name} is a dict with the key {key!r}: keys must be strings or "
                    "integers"
                )
        keys = tuple(value)
        items = tuple(layout_of(value[k], _join(name, k), taken) for k in keys)
        return Layout("dict", keys=keys, items=items, cls=type(value))
    if _is_namedtuple(value):
        fields = tuple(type(value)._fields)
        items = tuple(layout_of(v, _join(name, f), taken) for f, v in zip(fields, value))
        return Layout("namedtuple", keys=fields, items=items, cls=type(value))
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        items = tuple(layout_of(v, _join(name, k), taken) for k, v in enumerate(value))
        return Layout(kind, items=items, cls=type(value))
    if is_constant(value):
        return Layout("const", value=value)
    leaf = name
    suffix = 1
    while leaf in taken:
        leaf = f"{name}_{suffix}"
        suffix += 1
    taken.add(leaf)
    return Layout("leaf", name=leaf)


def _join(prefix: str, key: Any) -> str:
    text = re.sub(r"\W", "_", str(key)).strip("_") or "item"
    return f"{prefix}_{text}"


def flatten(value: Any, layout: Layout) -> list[Any]:
    if layout.kind == "leaf":
        return [value]
    if layout.kind == "const":
        return []
    items = [value[k] for k in layout.keys] if layout.kind == "dict" else list(value)
    return [leaf for v, sub in zip(items, layout.items) for leaf in flatten(v, sub)]


def rebuild(layout: Layout, leaves: Any) -> Any:
    """The structure of `layout` holding the values of the iterator `leaves`, in order."""
    if layout.kind == "leaf":
        return next(leaves)
    if layout.kind == "const":
        return layout.value
    items = [rebuild(sub, leaves) for sub in layout.items]
    if layout.kind == "namedtuple":
        return layout.cls(*items)
    made = dict(zip(layout.keys, items)) if layout.kind == "dict" else items
    if layout.cls in (None, dict, list, tuple):
        return tuple(made) if layout.kind == "tuple" else made
    try:  # the argument's own container type (OrderedDict, a list subclass, ...)
        return layout.cls(made)
    except TypeError:  # one that cannot be made from its items (defaultdict): the plain type
        return tuple(made) if layout.kind == "tuple" else made


def signature(layout: Layout) -> tuple:
    """What a compiled program depends on: the containers, their keys and lengths."""
    if layout.kind == "leaf":
        return ("leaf", layout.name)
    if layout.kind == "const":
        return ("const", type(layout.value), layout.value)
    return (layout.kind, layout.keys, layout.cls, tuple(signature(i) for i in layout.items))


def compile_time_value(layout: Layout, leaf: Any) -> Any:
    """The normalizer's value for a structured parameter: containers of its leaves' values
    (`leaf(name)` gives a leaf's)."""
    if layout.kind == "leaf":
        return leaf(layout.name)
    if layout.kind == "const":
        return PyObject(layout.value) if is_function(layout.value) else Const(layout.value)
    items = tuple(compile_time_value(sub, leaf) for sub in layout.items)
    if layout.kind == "dict":
        return RecordValue(layout.keys, items, dict)
    if layout.kind == "namedtuple":
        return RecordValue(layout.keys, items, layout.cls)
    return TupleValue(items)
