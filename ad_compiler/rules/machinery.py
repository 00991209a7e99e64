"""Operations the compiler itself emits, not the user: tapes and loop bookkeeping.

They have no derivatives; they are here so that kind inference and code generation treat every
statement alike.
"""

from __future__ import annotations

from ..errors import KindError
from ..ir import INT, UNASSIGNED, Kind
from . import Rule, register


def _nothing(kinds, attrs) -> Kind:
    return Kind(None, None)


def _at(attrs: dict) -> str:
    return "{0}[np.uintp({1})]" if attrs.get("unsigned") else "{0}[{1}]"


def _element(kinds, attrs) -> Kind:
    return attrs.get("element", Kind(None, None))


# A tape the size of a loop's trip count (known at entry) ...
register(Rule("tape_alloc", "np.empty({0}, dtype=np.{dtype})", _nothing))
# (the top of a tape used as a stack, unsigned in numba code: nonnegative.py)
register(Rule("tape_store", lambda n, a: _at(a) + " = {2}", _nothing, mutates=0))
register(Rule("tape_load", lambda n, a: _at(a), _element))
# ... or a list, for while loops and loops nested in loops.
register(Rule("list_new", "[]", _nothing))
register(Rule("list_append", "{0}.append({1})", _nothing, mutates=0))
register(Rule("list_pop", "{0}.pop()", _element, mutates=0))
# The result of a helper that returns from inside a loop, before the loop: never read, it takes
# the kind of the value returned (codegen prints 0.0, or an empty array of that kind).
register(Rule("unassigned", "0.0", lambda k, a: UNASSIGNED))
register(Rule("range_len", "len(range({0}, {1}, {2}))", lambda k, a: INT))
# A list growing in a loop of run-time length (growing.py): an array of its items, shaped like
# an item known before the loop, and each item checked to have that shape as it is stored.
register(
    Rule(
        "list_buffer",
        "rt.list_buffer({0}, {1})",
        lambda k, a: Kind(None if k[1].ndim is None else k[1].ndim + 1, "float"),
        zero_derivative=True,
    )
)
register(
    Rule(
        "checked_item",
        "rt.checked_item({0}, {1})",
        lambda k, a: k[0],
        lambda b, stmt: (b.g, None),
        nondiff_args=(1,),
    )
)
# vjp's seed (adjoint.py, vjp.py): the cotangent, checked to have the output's shape.
register(
    Rule(
        "cotangent",
        "rt.cotangent({0}, {1})",
        lambda k, a: Kind(k[1].ndim, "float", k[1].same_shape_as),
        nondiff_args=(0, 1),
    )
)


def _numbers_only(kinds, attrs) -> Kind:
    if kinds[0].ndim not in (None, 1):
        raise KindError(
            f"{attrs['what']} of a list of arrays: Python compares arrays there, which fails",
            "np.max(np.array(items), axis=0) for the largest entry at each position",
        )
    return kinds[0]


# An index into a grown list: from the end when negative, checked against the count.
register(Rule("list_index", "rt.list_index({0}, {1})", lambda k, a: INT))
# The items of a grown list given to max() or min(): numbers (an array of them), the list as is.
register(Rule("numbers_only", "{0}", _numbers_only, lambda b, stmt: (b.g,)))
