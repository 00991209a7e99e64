"""What a name holds while a function is normalized, besides numbers and arrays (ir.Var and
ir.Const): values known at compile time that never reach the generated program as such.

Tuples, lists, dicts and namedtuples hold their items as separate values (each a Var, a Const
or another container), so `p["W1"]`, `w, b = layer` and `for w in ws` cost nothing at run time.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from typing import Any

from .ir import Operand


@dataclass(frozen=True)
class TupleValue:
    """A tuple known at compile time: `a, b = b, a`, a helper returning two values, a list or
    tuple argument (its items)."""

    items: tuple[Any, ...]


_LIST_IDS = itertools.count()


@dataclass(frozen=True)
class ListValue:
    """A list built in the function (`[a, b]`, `[]` then `append`): a reference. Its items live
    in a table shared by the function and the helpers it inlines, so that an `append` is seen
    by every name and container holding the same list, as Python's aliases see it."""

    ident: int = field(default_factory=lambda: next(_LIST_IDS))


@dataclass(frozen=True)
class RecordValue:
    """A dict or namedtuple known at compile time: its keys (field names) and their values."""

    keys: tuple[Any, ...]
    items: tuple[Any, ...]
    cls: type = dict  # dict, or the namedtuple class

    def get(self, key: Any) -> Any:
        try:
            return self.items[self.keys.index(key)]
        except ValueError:
            raise KeyError(key) from None

    @property
    def is_dict(self) -> bool:
        return self.cls is dict


@dataclass(frozen=True)
class ShapeOf:
    """`x.shape`, kept symbolic so that `x.shape[0]` and `n, m = x.shape` need no tuple."""

    array: Operand


@dataclass(frozen=True)
class PyObject:
    """A module or function the code refers to by name (np, math, a helper)."""

    obj: Any
    # (key, label, getter) to read it again at run time: its attributes are read live too.
    live: tuple | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class LocalFunction:
    """A `def` or `lambda` inside the function: inlined where it is called, reading the
    enclosing function's variables as they are at the call (Python's late binding)."""

    node: ast.FunctionDef
    definer: Any = field(repr=False)  # the _Normalizer of the enclosing function
    defaults: dict[str, Any] = field(default_factory=dict)  # evaluated at the def, as Python does
    # variables of the comprehension around the def that its body reads (nested.py)
    comprehension_reads: tuple[tuple[str, object], ...] = ()


CONTAINERS = (TupleValue, ListValue, RecordValue)
COMPILE_TIME = (TupleValue, ListValue, RecordValue, ShapeOf, PyObject, LocalFunction)
