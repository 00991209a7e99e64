"""Vector-Jacobian products: `vjp(f)(*args, cotangent=c)` is the gradient of `sum(f(*args) * c)`
for a function returning an array (or a float, and then c is a float).

It is one generated program, like a gradient: the reverse sweep is seeded with the cotangent,
an extra last parameter of the generated function, instead of 1.0, so loops stay loops and the
program is compiled once per argument kinds. It also returns f's value, whose shape the call
checks against the cotangent's (the program checks it too, before using the cotangent, where
the output is differentiated: a cotangent is never broadcast).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from . import runtime as rt
from .api import GradFunction
from .call_recovery import _beyond_int64
from .errors import ADCompilerError, CompilationError, GradientInputError, raised_by_numba
from .ir import Kind
from .kinds import infer_kinds
from .pytree import is_structured, rebuild
from .shaping import _converted_for_numba, _in_float64, _like, separate
from .structured import PartialGradFunction
from .transform_support import python_ints_on_overflow
from .typing_aliases import Wrt

_MISSING = object()


class VJPFunction(GradFunction):
    """The vector-Jacobian product of a function: call it like the function, with the
    cotangent as the keyword argument `cotangent=`."""

    _cotangent = True

    def __init__(
        self,
        fn: Callable,
        wrt: Wrt = 0,
        backend: str = "numba",
        with_value: bool = True,
        optimize: bool = True,
        layouts: tuple = (),
        has_aux: bool = False,
        checkpoint: bool = False,
    ) -> None:
        if has_aux:
            raise ADCompilerError("vjp does not take has_aux")
        # The program returns f's value too, to check the cotangent's shape against.
        super().__init__(fn, wrt, backend, True, optimize, layouts, checkpoint=checkpoint)
        self._outputs: dict[tuple, tuple[Any, Kind]] = {}

    def __call__(self, /, *args: Any, cotangent: Any = _MISSING, **kwargs: Any) -> Any:
        if cotangent is _MISSING:
            raise GradientInputError(
                f"vjp of {self.__name__}() needs the cotangent: call it with the function's "
                "arguments and cotangent=c, shaped like the function's output"
            )
        values = self._bind(args, kwargs)
        if any(map(is_structured, values)):
            return self._structured_call(values, cotangent)
        values += list(self._live_values())
        kinds = self._kinds(values)
        function, source = self._build(kinds)
        seed = self._seed(cotangent, kinds)
        if "@njit" in source and (
            self._numpy_semantics(values, kinds) or any(map(_beyond_int64, values))
        ):
            function, source = self._compile(kinds, backend="python")
        elif "@njit" in source:
            if _converted_for_numba(values):
                function = _in_float64(function, source)
            python = functools.cache(lambda: self._compile(kinds, backend="python")[0])
            function = python_ints_on_overflow(function, python, self._writes_into_arguments)
        try:
            out = function(*values, seed)
        except ValueError as exc:
            if str(exc) == rt.COTANGENT_SHAPE:
                raise self._shape_error(seed, None) from None
            raise
        except Exception as exc:
            if self.backend == "numba" and raised_by_numba(exc):
                raise CompilationError(
                    f"numba could not compile the vector-Jacobian product of {self.__name__}: "
                    f"{str(exc).splitlines()[0]}; try backend='python' (.source shows the code)"
                ) from exc
            raise
        if np.shape(out[0]) != np.shape(seed):
            raise self._shape_error(seed, np.shape(out[0]))
        grads = tuple(_like(g, values[p]) for g, p in zip(out[1:], self._positions))
        grads = separate(grads, values)
        return grads[0] if self._single else grads

    def _seed(self, cotangent: Any, kinds: tuple[Kind, ...]) -> Any:
        """The cotangent as the program takes it: a float, or a new float64 array (never the
        caller's, which the program must not write into or return as a gradient)."""
        ndim = self._output_kind(kinds).ndim
        try:
            real = not np.iscomplexobj(cotangent) and np.asarray(cotangent).dtype.kind in "fiub"
        except (TypeError, ValueError):
            real = False
        if not real:
            raise GradientInputError(
                f"cotangent= must be real numbers shaped like {self.__name__}()'s output, not "
                f"{type(cotangent).__name__}"
            )
        if ndim == 0:
            if np.ndim(cotangent) != 0:
                raise self._shape_error(cotangent, ())
            return float(cotangent)
        seed = np.array(cotangent, dtype=np.float64)
        if ndim is not None and seed.ndim != ndim:
            raise self._shape_error(seed, None, ndim)
        return seed

    def _output_kind(self, kinds: tuple[Kind, ...]) -> Kind:
        """What kind of value f returns for arguments of these kinds."""
        primal = self._primal()
        key = tuple((k.ndim, k.dtype) for k in kinds)
        known = self._outputs.get(key)
        if known is None or known[0] is not primal:
            table = infer_kinds(primal, dict(zip(self.params + self._hidden, kinds)))
            known = self._outputs[key] = (primal, table.of(primal.result))
        return known[1]

    def _shape_error(self, cotangent: Any, shape: tuple | None, ndim: int | None = None):
        name = self.__name__
        if shape == ():
            returns = "a float"
        elif shape is not None:
            returns = f"an array of shape {shape}"
        elif ndim is not None:
            returns = f"an array of {ndim} dimension(s)"
        else:
            returns = "an array of a different shape"
        return GradientInputError(
            f"vjp of {name}(): the cotangent has shape {np.shape(cotangent)}, but {name}() "
            f"returns {returns}; the cotangent must have the shape of the output"
        )

    def _structured_call(self, values: list, cotangent: Any) -> Any:
        flat, leaves, layouts = self._structured.prepare(values)
        grads = iter(flat(*leaves, cotangent=cotangent))
        per_argument = [
            next(grads) if name not in layouts else rebuild(layouts[name], grads)
            for name in self.wrt
        ]
        return per_argument[0] if self._single else tuple(per_argument)

    def compiled_for(self, /, *args: Any, **kwargs: Any) -> Callable:
        """A numba dispatcher of the vector-Jacobian product for arguments like these (as
        grad's compiled_for): it takes the function's own arguments, then the cotangent (a
        float, or an array of the output's shape; cotangent= here is optional, for its
        number of dimensions), and returns the gradient(s), as a call does."""
        from .numba_call import compiled_for  # (imports numba)

        return compiled_for(self, args, kwargs)

    def source_for(self, /, *args: Any, cotangent: Any = None, **kwargs: Any) -> str:
        """The generated module's text for arguments like these (the cotangent is ignored)."""
        return super().source_for(*args, **kwargs)

    def _header(self) -> str:
        fn = self._function
        where = f"{self._parsed.filename}:{self._parsed.node.lineno}"
        return (
            f"The vector-Jacobian product of {fn.__name__}() ({where}) with respect to "
            f"{', '.join(self.wrt)}:\n"
            f"the gradient of sum({fn.__name__}(...) * cotangent), where the cotangent, shaped\n"
            "like the output, is the last parameter. Also returns the function's value.\n\n"
            "Generated by ad_compiler: a forward sweep, then a reverse sweep seeded with the\n"
            "cotangent, in which each block adds upstream gradient x local gradient into the\n"
            "adjoints (x_bar).\n"
        )

    def __repr__(self) -> str:
        return f"<vjp of {self.__name__} wrt {self.wrt} ({self.backend})>"


class _PartialVJP(PartialGradFunction):
    """The vector-Jacobian product of a `functools.partial`."""

    def __call__(self, /, *args: Any, cotangent: Any = _MISSING, **kwargs: Any) -> Any:
        return self._inner(*self._arguments(args, kwargs), cotangent=cotangent)


@overload
def vjp(
    f: functools.partial[Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    checkpoint: bool = ...,
) -> _PartialVJP: ...
@overload
def vjp(
    f: Callable[..., Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    checkpoint: bool = ...,
) -> VJPFunction: ...
@overload
def vjp(
    f: None = None,
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    checkpoint: bool = ...,
) -> Callable[[Callable[..., Any]], VJPFunction]: ...
def vjp(
    f: Callable[..., Any] | None = None,
    *,
    wrt: Wrt = 0,
    backend: str = "numba",
    optimize: bool = True,
    checkpoint: bool = False,
) -> Any:
    """The vector-Jacobian product of `f`, a function of floats and NumPy arrays returning an
    array (or a float): `vjp(f)(*args, cotangent=c)` is the gradient of `sum(f(*args) * c)`
    with respect to `wrt`, with c of the output's shape; a tuple of gradients for a tuple `wrt`.
    (The gradient itself, not JAX's pullback function.) Usable like `grad`, checkpoint= too;
    the caching and errors are those of `grad` (see help(grad)), and a cotangent of another
    shape than the output's raises GradientInputError.

    >>> import numpy as np
    >>> from ad_compiler import vjp
    >>> def square(x):
    ...     return x**2
    >>> vjp(square)(np.array([1.0, 2.0, 3.0]), cotangent=np.array([1.0, 1.0, 0.5]))
    array([2., 4., 3.])
    """
    if f is None:
        return lambda g: vjp(g, wrt=wrt, backend=backend, optimize=optimize, checkpoint=checkpoint)
    if isinstance(f, functools.partial):
        return _PartialVJP(
            f,
            wrt,
            lambda fn, names: VJPFunction(
                fn, names, backend, True, optimize, checkpoint=checkpoint
            ),
        )
    return VJPFunction(f, wrt, backend, True, optimize, checkpoint=checkpoint)
