"""What derivatives are, as data: one `Rule` per primitive operation, and the tables that map the
Python and NumPy functions, methods and attributes a user writes to those operations.

This registry, filled when `elementwise` and `arrays` are imported, is the one global of the
compiler. Adding a NumPy function means adding its rule and its call binding here, and a test
table entry; no other module changes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..ir import Kind

# A vector-Jacobian product: given a builder (see vjp_builder.VJPBuilder) and the primal statement,
# return, for each argument, an operand holding its gradient contribution (or None).
VJP = Callable[..., tuple]
Infer = Callable[[tuple[Kind, ...], dict], Kind]


@dataclass(frozen=True)
class Rule:
    """One primitive operation.

    emit: the Python expression it prints as, with {0}, {1}... for its arguments, or a
        function (number of arguments, attributes) -> such a template; for an operation run for
        its effect (a store) the template is a statement. emit_scalar is used instead when every
        argument is a scalar (math.exp rather than np.exp).
    infer: the kind of the result from the kinds of the arguments and the attributes.
    vjp: the reverse rule. None only for an operation whose result carries no gradient: one
        with an integer, boolean or shape result (a comparison, len), one marked
        zero_derivative, or one the compiler emits itself; a differentiated value reaching any
        other operation without a rule is refused, never given a zero gradient.
    cheap: recomputed in the reverse sweep of a loop rather than stored on the tape.
    mutates: index of the argument the operation writes into (a store), if any.
    view: the result may share memory with argument 0 (slices, transpose, reshape).
    """

    op: str
    emit: str | Callable[[int, dict], str]
    infer: Infer
    vjp: VJP | None = None
    emit_scalar: str | Callable[[int, dict], str] | None = None
    cheap: bool = True
    mutates: int | None = None
    view: bool = False
    # Arguments that never receive a gradient (indices, shapes) even when they are floats.
    nondiff_args: tuple[int, ...] = ()
    # A float result that does not depend on the values of its arguments, only on their shapes
    # (np.zeros_like): its derivative is zero, so it needs no vjp.
    zero_derivative: bool = False
    # Elementwise with NumPy broadcasting: the adjoint sums contributions back to each
    # argument's shape (one runtime helper, rt.sum_to).
    broadcasting: bool = False


@dataclass(frozen=True)
class CallSpec:
    """How a call of a Python function or method maps onto an operation.

    params: positional parameters that become operands, in order (for methods the object is
        the first). static: parameters that must be constants, with their defaults; they become
        attributes. varargs: extra positional arguments become operands too (reshape(2, 3)).
    array_like: parameters where a tuple or list means an array, as NumPy converts it
        (np.sum((x, y)) is np.sum(np.array((x, y))); a shape parameter keeps its tuple).
    separate: the parameter taking a sequence of arrays (np.concatenate((a, b))): the items
        of a tuple or list given there become operands, in its place, each an array as NumPy
        converts it, and the attribute `items` says how many; anything else there (an array,
        a list of run-time length) stays one operand, with no `items` attribute.
    optional: parameters that become operands only when given (and not None), after the
        params' operands in this order; the attribute `given` names those given (np.average's
        weights=, logsumexp's b=).
    positions: the order of the parameters a call may give by position, when params,
        optional and static interleave in the signature (default: params, optional, static).
    """

    op: str
    params: tuple[str, ...]
    static: dict[str, Any] = field(default_factory=dict)
    varargs: bool = False
    name: str = ""  # how users write it, for messages
    array_like: tuple[str, ...] = ()
    separate: str = ""
    optional: tuple[str, ...] = ()
    positions: tuple[str, ...] = ()
    # A function returning a tuple: results(attributes) is its number of items (0: one array),
    # each emitted as its own operation with the attribute item=k (np.linalg.svd, np.split).
    results: Callable[[dict], int] | None = None


@dataclass(frozen=True)
class IndexedUpdate:
    """A gradient contribution to part of an argument: `arg_bar[index] += value`."""

    value: Any
    index_args: tuple
    structure: tuple


RULES: dict[str, Rule] = {}
_CALLS: dict[int, tuple[Any, CallSpec]] = {}
METHODS: dict[str, CallSpec] = {}
ATTRIBUTES: dict[str, str] = {}
_BOUND: dict[tuple[int, str], tuple[Any, CallSpec]] = {}


def register(rule: Rule) -> Rule:
    if rule.op in RULES:
        raise ValueError(f"rule {rule.op!r} registered twice")
    RULES[rule.op] = rule
    return rule


def bind_call(obj: Any, spec: CallSpec) -> None:
    """Make calls of `obj` (a function object) mean `spec.op`."""
    _CALLS[id(obj)] = (obj, spec)


def bind_method(name: str, spec: CallSpec) -> None:
    METHODS[name] = spec


def bind_attribute(name: str, op: str) -> None:
    ATTRIBUTES[name] = op


def bind_bound_method(owner: Any, name: str, spec: CallSpec) -> None:
    """Make calls of `owner.name` mean `spec.op`, for an object whose attribute is a new bound
    method at each access (scipy.stats.norm.pdf), so that no one function object stands for it."""
    _BOUND[(id(owner), name)] = (owner, spec)


def call_spec(obj: Any) -> CallSpec | None:
    entry = _lookup(obj)
    if entry is None and _from_scipy(obj) and load_scipy_rules(obj):
        entry = _lookup(obj)
    return entry[1] if entry is not None else None


def _lookup(obj: Any) -> tuple[Any, CallSpec] | None:
    entry = _CALLS.get(id(obj))
    if entry is not None and entry[0] is obj:
        return entry
    owner = getattr(obj, "__self__", None)
    if owner is None or not inspect.ismethod(obj):
        return None
    entry = _BOUND.get((id(owner), obj.__name__))
    return entry if entry is not None and entry[0] is owner else None


def _from_scipy(obj: Any) -> bool:
    """A SciPy function, or a ufunc of no known rule (scipy.special's are ufuncs)."""
    module = getattr(obj, "__module__", None) or ""
    return module.startswith("scipy") or type(obj).__name__ == "ufunc"


# SciPy's subpackages beyond scipy.special whose rules are loaded when first called (importing
# scipy.stats alone takes a third of a second): the module prefix -> the rules module.
_SCIPY_RULES = {
    "scipy.stats": "scipy_stats",
    "scipy.signal": "scipy_signal",
    "scipy.linalg": "scipy_signal",
}


def load_scipy_rules(obj: Any = None) -> bool:
    """Register the rules for scipy.special (rules/special.py) the first time differentiated
    code calls a SciPy function: importing SciPy doubles the time `import ad_compiler` takes;
    those for scipy.stats, scipy.signal and scipy.linalg when `obj` comes from there (all of
    them when `obj` is None). Returns whether any were loaded just now."""
    loaded = False
    if "special" not in globals():
        from . import special  # noqa: F401

        loaded = True
    module = getattr(obj, "__module__", None) or ""
    for prefix, name in _SCIPY_RULES.items():
        if (obj is None or module.startswith(prefix)) and name not in globals():
            importlib.import_module(f".{name}", __name__)
            loaded = True
    return loaded


from . import (  # noqa: E402,F401  (fill the registry)
    arrays,
    constructors,
    conversions,
    elementwise,
    linalg,
    linalg_decomp,
    logical,
    machinery,
    products,
    reductions,
    selection,
    selection_more,
    shapes,
    shapes_more,
)
