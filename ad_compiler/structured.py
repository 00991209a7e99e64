"""Gradients of functions called with structured arguments, and of partials.

A call with a dict, list, tuple or namedtuple argument goes to the gradient compiled for that
layout of its arguments (pytree.py): a GradFunction whose parameters are the leaves, built on
first use and kept; the gradient of a structured argument comes back with its structure.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import pickling
from .errors import GradientInputError
from .pytree import Layout, flatten, is_structured, layout_of, rebuild, signature

if TYPE_CHECKING:
    from .api import GradFunction


def flat_signature(signature: inspect.Signature, layouts: dict[str, Layout]) -> inspect.Signature:
    """The signature of the program for one layout: each structured parameter replaced by its
    leaves, all positional."""
    params = []
    for name in signature.parameters:
        for leaf in layouts[name].leaves() if name in layouts else [name]:
            params.append(inspect.Parameter(leaf, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    return inspect.Signature(params)


class StructuredCalls:
    """One compiled gradient per layout of the structured arguments of `owner`'s calls."""

    def __init__(self, owner: GradFunction) -> None:
        self.owner = owner
        self.flat: dict[tuple, GradFunction] = {}
        self.lock = threading.Lock()

    def prepare(self, values: tuple | list) -> tuple[GradFunction, list, dict[str, Layout]]:
        """The gradient for these arguments' layout, their leaves, and the layouts."""
        owner = self.owner
        taken = set(owner.params)
        layouts = {
            name: layout_of(value, name, taken - {name})
            for name, value in zip(owner.params, values)
            if is_structured(value)
        }
        key = tuple((name, signature(layout)) for name, layout in layouts.items())
        flat = self.flat.get(key)
        if flat is None:
            with self.lock:
                flat = self.flat.get(key)
                if flat is None:
                    flat = self.flat[key] = self.build(layouts)
        leaves = []
        for name, value in zip(owner.params, values):
            leaves += flatten(value, layouts[name]) if name in layouts else [value]
        return flat, leaves, layouts

    def build(self, layouts: dict[str, Layout]) -> GradFunction:
        owner = self.owner
        wrt = []
        for name in owner.wrt:
            leaves = layouts[name].leaves() if name in layouts else [name]
            wrt += leaves
        if not wrt:
            raise GradientInputError(
                f"{owner.__name__}() is differentiated with respect to {', '.join(owner.wrt)}, "
                "which holds no numbers"
            )
        return type(owner)(
            owner.__wrapped__,
            tuple(wrt),
            owner.backend,
            owner.with_value,
            owner.optimize,
            tuple(layouts.items()),
            has_aux=owner.has_aux,
            checkpoint=owner.checkpoint,
        )

    def __call__(self, values: tuple) -> Any:
        flat, leaves, layouts = self.prepare(values)
        out = flat(*leaves)
        if self.owner.has_aux:  # ((value, aux), grads) or (grads, aux): aux as f returned it
            (value, aux), grads = out if self.owner.with_value else ((None, out[1]), out[0])
        elif self.owner.with_value:
            value, grads = out
        else:
            value, grads = None, out
        grads = iter(grads)
        per_argument = []
        for name in self.owner.wrt:
            layout = layouts.get(name)
            per_argument.append(next(grads) if layout is None else rebuild(layout, grads))
        result = per_argument[0] if self.owner._single else tuple(per_argument)
        if self.owner.has_aux:
            return ((value, aux), result) if self.owner.with_value else (result, aux)
        return (value, result) if self.owner.with_value else result

    def source_for(self, values: list) -> str:
        flat, leaves, _ = self.prepare(values)
        return flat.source_for(*leaves)


class PartialGradFunction:
    """The gradient of a `functools.partial`: its arguments are the partial's; the values it
    fixes are passed to the function's gradient at each call, as the partial passes them."""

    def __init__(self, partial: functools.partial, wrt: Any, make: Callable) -> None:
        functools.update_wrapper(self, partial.func)
        self._partial = partial
        names = list(inspect.signature(partial).parameters)
        single = isinstance(wrt, (int, str))
        chosen = []
        for w in [wrt] if single else list(wrt):
            if isinstance(w, int) and not isinstance(w, bool) and -len(names) <= w < len(names):
                chosen.append(names[w])
            elif isinstance(w, str) and w in names:
                chosen.append(w)
            else:
                raise GradientInputError(
                    f"wrt={w!r} names no parameter of the partial of {partial.func.__name__}: "
                    f"{tuple(names)}"
                )
        self._inner = make(partial.func, chosen[0] if single else tuple(chosen))
        self.wrt = tuple(chosen)

    def _arguments(self, args: tuple, kwargs: dict) -> list:
        fixed = self._partial
        return self._inner._bind(fixed.args + args, {**fixed.keywords, **kwargs})

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._inner(*self._arguments(args, kwargs))

    def compiled_for(self, /, *args: Any, **kwargs: Any) -> Callable:
        """The inner compiled_for; the values the partial fixes are bound in the dispatcher,
        which takes the arguments the partial leaves open."""
        from .numba_call import compiled_for_partial  # (imports numba)

        fixed = self._partial
        return compiled_for_partial(self._inner, fixed.args, fixed.keywords, args, kwargs)

    def source_for(self, /, *args: Any, **kwargs: Any) -> str:
        return self._inner.source_for(*self._arguments(args, kwargs))

    @property
    def source(self) -> str:
        return self._inner.source

    def __reduce__(self) -> tuple:
        return pickling.reduce_state(self)

    def __repr__(self) -> str:
        return f"<partial {self._inner!r}>"
