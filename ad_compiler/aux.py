"""Auxiliary outputs (`grad(f, has_aux=True)`): f returns `(value, aux)`; the gradient is the
value's, and aux comes back as f returned it, carrying no gradient.

aux is known while normalizing as a compile-time structure (a float, an array, or tuples,
lists, dicts and namedtuples of them). It is kept on the program (`Function.aux`) as a template
whose leaves are operands; the gradient program copies each Var leaf at the end of the forward
sweep (the reverse sweep restores overwritten arrays and loop variables, which must not change
what f returned) and returns the copies after the gradients. The call rebuilds the structure.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NonScalarOutputError
from .ir import Assign, Const, Operand, Var, walk
from .rules import RULES
from .values import COMPILE_TIME, CONTAINERS, ListValue, RecordValue, ShapeOf, TupleValue

if TYPE_CHECKING:
    from .adjoint import Differentiator
    from .api import GradFunction
    from .frontend import ParsedFunction


# -- normalizing: the pair f returns -----------------------------------------------------------


def split_result(result: Any, normalizer: Any, parsed: ParsedFunction) -> tuple[Any, Any]:
    """(value, aux template) of what a has_aux function returns; refuses anything but a pair."""
    items = normalizer.items_of(result) if isinstance(result, CONTAINERS) else None
    if items is None or len(items) != 2 or (isinstance(result, RecordValue) and result.is_dict):
        raise _refusal(
            parsed,
            f"{_describe(result, items)}, not a pair (value, aux): with has_aux=True it must "
            "`return value, aux`",
        )
    value, aux = items
    if isinstance(value, COMPILE_TIME):
        raise _refusal(
            parsed, f"a pair whose first item is a {_what(value)}: the value must be one float"
        )
    return value, _template(aux, normalizer, parsed)


def _template(value: Any, normalizer: Any, parsed: ParsedFunction) -> Any:
    if isinstance(value, (Var, Const)):
        return value
    if isinstance(value, ShapeOf):
        return normalizer.operand(value, parsed.node)  # x.shape: a tuple of ints at run time
    if isinstance(value, TupleValue):
        return ("tuple", tuple(_template(v, normalizer, parsed) for v in value.items))
    if isinstance(value, RecordValue):
        items = tuple(_template(v, normalizer, parsed) for v in value.items)
        return ("record", value.cls, tuple(value.keys), items)
    if isinstance(value, ListValue):
        items = normalizer.items_of(value)
        if items is not None:
            return ("list", tuple(_template(v, normalizer, parsed) for v in items))
        what = "a list grown in a loop"
    else:
        what = f"a {_what(value)}"
    raise _refusal(
        parsed,
        f"(value, aux) where aux holds {what}: aux may hold numbers, arrays, and tuples, lists "
        "and dicts of them (for a list grown in a loop: np.array(items))",
    )


def _describe(result: Any, items: tuple | None) -> str:
    if items is not None and not (isinstance(result, RecordValue) and result.is_dict):
        return f"a {_what(result)} of {len(items)} items"
    if isinstance(result, (Var, Const)):
        return "one value"
    return f"a {_what(result)}"


def _what(value: Any) -> str:
    if isinstance(value, RecordValue):
        return "dict" if value.is_dict else "namedtuple"
    names = {TupleValue: "tuple", ListValue: "list", ShapeOf: "shape"}
    return names.get(type(value), "function or module")


def _refusal(parsed: ParsedFunction, returns: str) -> NonScalarOutputError:
    """`file:line: f() returns ...`, at the function's last return statement."""
    loc = parsed.loc(_last_return(parsed.node) or parsed.node)
    return NonScalarOutputError(f"{loc.filename}:{loc.line}: {parsed.name}() returns {returns}")


def _last_return(node: ast.FunctionDef) -> ast.Return | None:
    """The function's own last return statement (not one of a nested def or lambda)."""
    found = None
    stack = list(node.body)
    while stack:
        n = stack.pop(0)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(n, ast.Return) and (found is None or n.lineno >= found.lineno):
            found = n
        stack.extend(ast.iter_child_nodes(n))
    return found


# -- the gradient program: copies returned after the gradients ---------------------------------


def leaves(template: Any) -> list[Operand]:
    """The operands of a template, in order."""
    if template is None:
        return []
    if isinstance(template, (Var, Const)):
        return [template]
    return [leaf for item in template[-1] for leaf in leaves(item)]


def aux_outputs(diff: Differentiator, forward: list) -> tuple[Var, ...]:
    """aux's values as the forward sweep ends, returned after the gradients: copies of the
    arrays the program writes into (which the reverse sweep may restore)."""
    written = _written_sites(diff)
    out = []
    for leaf in leaves(diff.fn.aux):
        if isinstance(leaf, Var):
            kind = diff.kinds.of(leaf)
            if kind.is_array and written is not None and not diff.aliases.of(leaf.name) & written:
                op = "copy"  # never written: the array itself, as f returns it
            else:
                op = "array_copy" if kind.is_array else "copy"
            out.append(diff.emit(forward, op, (leaf,), target=diff.names.fresh("aux")))
    return tuple(out)


def _written_sites(diff: Differentiator) -> frozenset[str] | None:
    """The arrays (allocation sites) some statement writes into; None: it cannot tell (an
    augmented assignment `a += b` writes into a's array under a new name)."""
    sites: set[str] = set()
    for s in walk(diff.fn.body):
        if isinstance(s, Assign):
            if s.attr("augmented") is not None:
                return None
            into = RULES[s.op].mutates
            if into is not None and isinstance(s.args[into], Var):
                sites |= diff.aliases.of(s.args[into].name)
    return frozenset(sites)


# -- the call: aux rebuilt ---------------------------------------------------------------------


def rebuild(template: Any, values: Iterator) -> Any:
    """aux from its template and the program's outputs for its Var leaves."""
    if isinstance(template, Var):
        value = next(values)
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(template, Const):
        return template.value
    items = [rebuild(item, values) for item in template[-1]]
    if template[0] == "tuple":
        return tuple(items)
    if template[0] == "list":
        return items
    cls, keys = template[1], template[2]
    return dict(zip(keys, items)) if cls is dict else cls(*items)


def unpacker(owner: GradFunction) -> Callable[[Any, Any], Any]:
    """Shapes the compiled program's outputs as `(gradient, aux)`, or `((value, aux),
    gradient)` for value_and_grad."""
    template = owner._normalized.aux
    count = sum(isinstance(leaf, Var) for leaf in leaves(template))

    def unpack(out: Any, values: Any) -> Any:
        if count:
            out, rest = out[: len(out) - count], out[len(out) - count :]
            if len(out) == 1 and not owner.with_value:
                out = out[0]  # (the program returns one gradient bare without aux)
        aux = rebuild(template, iter(rest if count else ()))
        main = owner._unpack(out, values)
        if owner.with_value:
            return (main[0], aux), main[1]
        return main, aux

    return unpack
