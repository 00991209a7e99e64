"""Gradients the user decides: `custom_vjp` rules and `stop_gradient`.

A function wrapped by `custom_vjp` is a primitive of the compiler: where differentiated code
calls it, the generated program calls it (compiled by numba for the numba backend, unless it is
a numba function already) and, in the reverse sweep, the user's rule, with the upstream
gradient, the result and the arguments. Both appear in the generated module by name
(`custom_softplus`, `custom_softplus_vjp`). The kind of the result (a number, an array of some
dimensions) is found by calling the function once on sample values of its arguments' kinds.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import pickling, sources
from .errors import ADCompilerError, KindError
from .ir import Kind
from .rules import CallSpec, Rule, bind_call, register

# The functions with custom rules, by "module.qualname" (the generated modules look them up).
_REGISTRY: dict[str, CustomVJP] = {}


class CustomVJP:
    """A function with a gradient rule of the user's (see `custom_vjp`)."""

    def __init__(self, fn: Callable) -> None:
        functools.update_wrapper(self, getattr(fn, "py_func", fn))
        self.fn = fn
        self.vjp: Callable | None = None
        self.jvp: Callable | None = None
        python = getattr(fn, "py_func", fn)
        self.key = f"{python.__module__}.{python.__qualname__}"
        self.label = python.__name__.strip("_") or "function"
        self._compiled: dict[str, Callable] = {}
        self._kinds: dict[tuple, Kind] = {}
        _REGISTRY[self.key] = self

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> Any:
        """By reference where its module holds it; otherwise (cloudpickle's copy of a function
        of __main__) rebuilt with its rules, and so registered in the receiving process."""
        module, name = self.__module__, self.__qualname__
        if sources.importable(self, module, name) or (
            not pickling.cloudpickling() and sources.lookup(module, name) is self
        ):
            return name
        return (_rebuilt, (pickling.Function(self.fn), self.vjp, self.jvp))

    def defvjp(self, rule: Callable) -> Callable:
        """Set the rule: `rule(g, result, *args)` returns the gradient contribution of each
        argument (a tuple for several; None for one that takes no gradient)."""
        self.vjp = rule
        self._compiled.pop("vjp", None)
        return rule

    def defjvp(self, rule: Callable) -> Callable:
        """Set the forward-mode rule (for forward-mode transforms)."""
        self.jvp = rule
        return rule

    @property
    def version(self) -> str:
        """A hash of the function's and the rule's code: a program built for other code is
        another program (never numba's cached machine code of the old one)."""
        parts = []
        for f in (self.fn, self.vjp):
            code = getattr(getattr(f, "py_func", f), "__code__", None)
            parts.append(repr((code.co_code, code.co_consts)) if code is not None else repr(f))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]

    def compiled(self, which: str, backend: str) -> Callable:
        """The primal ("primal") or the rule ("vjp") as the generated code calls it."""
        fn = self.fn if which == "primal" else self.vjp
        if backend != "numba" or hasattr(fn, "py_func"):
            return fn  # plain Python for the python backend; a numba function as it is
        if which not in self._compiled:
            import numba

            self._compiled[which] = numba.njit(cache=False)(fn)
        return self._compiled[which]

    def result_kind(self, kinds: tuple[Kind, ...]) -> Kind:
        """The kind of the result for arguments of these kinds: the function called once on
        sample values (0.5, or arrays of 0.5 of three entries per axis)."""
        key = tuple((k.ndim, k.dtype) for k in kinds)
        if key not in self._kinds:
            from .kinds import kind_of_value

            try:
                samples = [_sample(k) for k in kinds]
                self._kinds[key] = kind_of_value(self.fn(*samples))
            except Exception as exc:
                raise KindError(
                    f"{self.label}() (a custom_vjp function) could not be called on sample "
                    f"values of its arguments' kinds to learn its result's: {exc}",
                    "make it accept arrays of any size (and return a number or an array)",
                ) from None
        return self._kinds[key]


def _rebuilt(fn: Callable, vjp: Callable | None, jvp: Callable | None) -> CustomVJP:
    custom = CustomVJP(fn)
    custom.vjp, custom.jvp = vjp, jvp
    return custom


def _sample(kind: Kind) -> Any:
    if kind.ndim is None:
        raise ValueError("an argument of unknown dimensions")
    value = {"float": 0.5, "int": 1, "bool": False}.get(kind.dtype, 0.5)
    return value if kind.ndim == 0 else np.full((3,) * kind.ndim, value)


def custom_vjp(fn: Callable) -> CustomVJP:
    """Make `fn` a primitive with a gradient rule of your own:

    >>> import numpy as np
    >>> from ad_compiler import custom_vjp, grad
    >>> @custom_vjp
    ... def softplus(x):
    ...     return np.log1p(np.exp(x))
    >>> @softplus.defvjp
    ... def softplus_vjp(g, result, x):
    ...     return g / (1.0 + np.exp(-x))
    >>> def loss(x):
    ...     return np.sum(softplus(x))
    >>> grad(loss)(np.array([0.0, 2.0]))  # the sigmoid, from the rule
    array([0.5       , 0.88079708])

    Differentiated code calling `softplus` calls it and, in the reverse sweep, the rule. `fn` may
    be anything the generated code can call (a `numba.njit` kernel for the numba backend).
    """
    return CustomVJP(fn)


def registered(key: str, which: str, backend: str) -> Callable:
    """For the generated modules: the function or rule registered under `key`."""
    if key not in _REGISTRY:
        raise ADCompilerError(
            f"the custom_vjp function {key} is not defined in this process: import the module "
            "that defines it before calling its gradient"
        )
    return _REGISTRY[key].compiled(which, backend)


def lookup(key: str) -> CustomVJP:
    return _REGISTRY[key]


_T = TypeVar("_T")


def stop_gradient(x: _T) -> _T:
    """`x` itself, through which no gradient passes: differentiated code treats it as a
    constant (as `jax.lax.stop_gradient` does).

    >>> from ad_compiler import grad, stop_gradient
    >>> grad(lambda x: x * stop_gradient(x), backend="python")(3.0)
    3.0
    """
    return x


def function_names(key: str) -> tuple[str, str]:
    """The names the generated code gives a custom function and its rule."""
    label = _REGISTRY[key].label
    return f"custom_{label}", f"custom_{label}_vjp"


def _call(n: int, attrs: dict) -> str:
    name = function_names(attrs["custom"])[0]
    return f"{name}(" + ", ".join(f"{{{i}}}" for i in range(n)) + ")"


def _rule_call(n: int, attrs: dict) -> str:
    name = function_names(attrs["custom"])[1]
    call = f"{name}(" + ", ".join(f"{{{i}}}" for i in range(n)) + ")"
    return call if attrs["parts"] == 1 else f"{call}[{attrs['part']}]"


def _infer_call(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return lookup(attrs["custom"]).result_kind(kinds)


def _call_vjp(b, stmt) -> tuple:
    """One call of the user's rule per argument that needs a gradient."""
    key, version = stmt.attr("custom"), stmt.attr("version")
    parts = len(stmt.args)
    grads = []
    for i in range(parts):
        if not b.needs(i):
            grads.append(None)
            continue
        grads.append(
            b.emit(
                "custom_vjp",
                b.g,
                b.out,
                *stmt.args,
                custom=key,
                version=version,
                part=i,
                parts=parts,
            )
        )
    return tuple(grads)


def _infer_rule(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return kinds[2 + attrs["part"]]  # a contribution has its argument's kind


register(Rule("custom", _call, _infer_call, _call_vjp, cheap=False))
register(Rule("custom_vjp", _rule_call, _infer_rule, cheap=False))


def _same(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return kinds[0]


# Its derivative is zero by definition: the value passes, the gradient does not.
register(Rule("stop_gradient", "{0}", _same, zero_derivative=True))
bind_call(stop_gradient, CallSpec("stop_gradient", ("x",), name="ad_compiler.stop_gradient"))
