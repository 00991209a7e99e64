"""The public entry points `grad` and `value_and_grad`: how a function becomes a GradFunction
(api.py), with the signatures type checkers see."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, overload

from .api import GradFunction
from .errors import ADCompilerError
from .structured import PartialGradFunction
from .typing_aliases import P, Wrt


def _make(
    f: Callable | None,
    wrt: Wrt,
    backend: str,
    with_value: bool,
    optimize: bool,
    has_aux: bool,
    checkpoint: bool = False,
):
    if f is None:
        return lambda g: _make(g, wrt, backend, with_value, optimize, has_aux, checkpoint)
    if isinstance(f, PartialGradFunction):
        raise ADCompilerError(
            "grad of the gradient of a functools.partial is not supported: write the partial "
            "as a function (def g(a): return f(a, b=2.0)) and take grad(grad(g))"
        )
    if isinstance(f, GradFunction):
        if checkpoint or f.checkpoint:
            raise ADCompilerError(
                "checkpoint=True is not supported in grad(grad(f)): the second derivative "
                "runs forward over reverse and tapes in full; drop checkpoint="
            )
        if has_aux:
            raise ADCompilerError("grad(grad(f), has_aux=True): has_aux goes on the inner grad")
        from .forward import second_derivative  # (forward.py builds on this module)

        return second_derivative(f, wrt, backend, with_value, optimize)
    if isinstance(f, functools.partial):
        return PartialGradFunction(
            f,
            wrt,
            lambda fn, names: GradFunction(
                fn, names, backend, with_value, optimize, has_aux=has_aux, checkpoint=checkpoint
            ),
        )
    return GradFunction(
        f, wrt, backend, with_value, optimize, has_aux=has_aux, checkpoint=checkpoint
    )


@overload
def grad(
    f: functools.partial[Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> PartialGradFunction: ...
@overload
def grad(
    f: Callable[P, Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> GradFunction[P]: ...
@overload
def grad(
    f: None = None,
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> Callable[[Callable[P, Any]], GradFunction[P]]: ...
def grad(
    f: Callable[..., Any] | None = None,
    *,
    wrt: Wrt = 0,
    backend: str = "numba",
    optimize: bool = True,
    has_aux: bool = False,
    checkpoint: bool = False,
) -> GradFunction[Any] | PartialGradFunction | Callable[[Callable[..., Any]], GradFunction[Any]]:
    """The gradient of `f`, a function of floats and NumPy arrays returning one float.

    Usable as `grad(f, wrt=...)`, `@grad` and `@grad(wrt=...)`. It returns a GradFunction:
    call it like `f`; it returns the gradient with respect to the `wrt` arguments, each with
    its argument's type and shape (a float for a float, an array of the same shape and dtype
    for an array). `f` must be defined in a file (its source is read), and may use loops,
    branches, NumPy and helper functions of your own (see the README's list).

    >>> import numpy as np
    >>> from ad_compiler import grad
    >>> def loss(w, x):
    ...     return np.sum((w * x - 1.0) ** 2)
    >>> grad(loss)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([12., 56.])
    >>> @grad(wrt=("x", "y"))
    ... def circuit(x, y, z):
    ...     return (x + y) * z
    >>> circuit(-2.0, 5.0, -4.0)
    (-4.0, -4.0)

    wrt: a parameter position or name (one gradient), or a tuple of them (a tuple of
        gradients, in that order); default 0, the first parameter. Each differentiated
        argument must be a float or an array of floats; the others may be ints (loop
        counts, indices), arrays of any dtype, dicts, lists, tuples or None.
    backend: "numba" (default) compiles loops and scalar code with numba (a few seconds at
        the first call, then cached); straight-line array code runs on NumPy first and moves
        to numba once it is called often, if numba runs it faster. "python" runs the same
        generated code without numba (debugging, comparison).
    optimize: False generates the gradient program without the optimizer's clean-up passes,
        one operation per line (to compare against).
    has_aux: True for `f` returning `(value, aux)`: the call returns `(gradient, aux)`; aux
        carries no gradient.
    checkpoint: True reverses each outermost `for` loop over a range from checkpoints of its
        carried values every ceil(sqrt(n)) iterations, recomputing one segment at a time: tape
        memory O(sqrt(n)) instead of O(n), for one more run of the loop.

    Caching: the gradient is generated and compiled at the first call, once per combination
    of argument kinds (scalar or array, number of dimensions, dtype, layout of structured
    arguments), and kept. The generated module (readable Python: `g.source`,
    `g.source_for(*args)`) and numba's machine code are cached on disk, keyed by a hash of
    the program, in $AD_COMPILER_CACHE_DIR (default ~/.cache/ad_compiler, or
    $XDG_CACHE_HOME/ad_compiler): another process, or a later run, loads them without
    differentiating or compiling again. `ad-compiler cache info` says where the cache is and
    how big; `ad-compiler cache clear` empties it.

    `g.compiled_for(*args)` is the compiled program itself for arguments like `args`, without
    the checks and conversions of a normal call, for hot loops (see GradFunction.compiled_for).

    Errors (all from ad_compiler.errors, all ADCompilerError):
        GradientInputError: a wrong number of arguments, `wrt` naming no parameter, or a
            differentiated argument that is not a float or an array of floats (a whole number
            is never converted: pass 3.0, or leave it out of wrt).
        UnsupportedSyntaxError (also a SyntaxError), NoGradientRuleError: at the first call,
            code the compiler does not differentiate, naming file:line and a rewrite.
        NonScalarOutputError: `f` returns an array or a tuple (see jacobian, vjp).
        CompilationError: numba could not compile the generated code (backend="python" runs it).

    >>> def power(x, n):
    ...     return x**n
    >>> grad(power)(2.0, 3)  # n is not differentiated: an int is fine
    12.0
    >>> grad(power, wrt="n")(2.0, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.GradientInputError: power() ... the int 3: pass 3.0 (or float(n)), ...
    """
    return _make(f, wrt, backend, False, optimize, has_aux, checkpoint)


@overload
def value_and_grad(
    f: functools.partial[Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> PartialGradFunction: ...
@overload
def value_and_grad(
    f: Callable[P, Any],
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> GradFunction[P]: ...
@overload
def value_and_grad(
    f: None = None,
    *,
    wrt: Wrt = ...,
    backend: str = ...,
    optimize: bool = ...,
    has_aux: bool = ...,
    checkpoint: bool = ...,
) -> Callable[[Callable[P, Any]], GradFunction[P]]: ...
def value_and_grad(
    f: Callable[..., Any] | None = None,
    *,
    wrt: Wrt = 0,
    backend: str = "numba",
    optimize: bool = True,
    has_aux: bool = False,
    checkpoint: bool = False,
) -> GradFunction[Any] | PartialGradFunction | Callable[[Callable[..., Any]], GradFunction[Any]]:
    """Like `grad` (the same arguments, caching and errors: see help(grad)), but the call
    returns `(f(...), gradient)`, computed in one run; with has_aux=True, `((value, aux),
    gradient)`. Its result plugs into `scipy.optimize.minimize(fun, x0, jac=True)`.

    >>> import numpy as np
    >>> from ad_compiler import value_and_grad
    >>> def loss(w, x):
    ...     return np.sum((w * x - 1.0) ** 2)
    >>> value, dw = value_and_grad(loss)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    >>> float(value), dw
    (53.0, array([12., 56.]))
    """
    return _make(f, wrt, backend, True, optimize, has_aux, checkpoint)
