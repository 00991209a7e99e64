"""What the transforms share (forward.py's jvp and hvp, matrices.py's jacobian and hessian):
functools.partial as a transform's argument, which functions a transform of a transform takes,
and per-leaf results put back into each argument's structure."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from . import pickling
from .api import GradFunction, _LiveGradFunction
from .errors import ADCompilerError
from .pytree import rebuild


def unpartial(f, wrt) -> tuple:
    """A functools.partial's function, `wrt` as names of its parameters, and the arguments the
    partial fixes (positional, keywords); a plain function with () and {}."""
    if not isinstance(f, functools.partial):
        return f, wrt, (), {}
    from .structured import PartialGradFunction

    names = PartialGradFunction(f, wrt, lambda fn, chosen: None).wrt
    return f.func, names[0] if isinstance(wrt, (int, str)) else names, f.args, dict(f.keywords)


class Partial:
    """A transform of a functools.partial: the partial's fixed arguments passed at each call."""

    def __init__(self, f: functools.partial, wrt, make) -> None:
        func, names, self._args, self._keywords = unpartial(f, wrt)
        self._inner = make(func, names)
        functools.update_wrapper(self, func)

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._inner(*self._args, *args, **{**self._keywords, **kwargs})

    def compiled_for(self, /, *args: Any, **kwargs: Any):
        from .numba_call import compiled_for_partial  # (imports numba)

        return compiled_for_partial(self._inner, self._args, self._keywords, args, kwargs)

    def source_for(self, /, *args: Any, **kwargs: Any) -> str:
        return self._inner.source_for(*self._args, *args, **{**self._keywords, **kwargs})

    def __reduce__(self) -> tuple:
        return pickling.reduce_state(self)


def is_plain_grad(fn) -> bool:
    """A grad(f) (not a vjp, jvp, hvp or other subclass): what transforms of it accept."""
    # (a called gradient has the generated fast call of fastcall.py: a subclass of its own)
    return type(fn) in (GradFunction, _LiveGradFunction) or getattr(type(fn), "fast_path", False)


def regroup(flat_results: Any, groups: list, single: bool) -> Any:
    """Per-leaf results back into each wrt argument's structure (grad's layout)."""
    results = iter(flat_results if isinstance(flat_results, tuple) else (flat_results,))
    per_argument = [
        next(results) if layout is None else rebuild(layout, results) for layout, _ in groups
    ]
    return per_argument[0] if single else tuple(per_argument)


def _check_plain(f: Any, what: str, grad_too: bool = False) -> None:
    """Not another transform (nor a grad(f) unless `grad_too`): a transform of a hessian would
    copy the hessian's attributes over its own (functools.update_wrapper) and misbehave."""
    if (isinstance(f, GradFunction) and not grad_too) or (
        not isinstance(f, GradFunction)
        and isinstance(getattr(f, "__dict__", None), dict)
        and any(k in vars(f) for k in ("_hvp", "_jvp", "_grad", "_inner", "_hessian"))
    ):
        raise ADCompilerError(
            f"{what} of {f!r}: of the transforms of transforms, grad(grad(f)), jvp(grad(f)) "
            "and jacobian(grad(f)) are supported; for more, write f's derivative as a function"
        )


def as_call(signature: inspect.Signature, values: list) -> tuple[list, dict]:
    """Arguments bound to a signature's parameters (one value each, in order) as a call's
    positional and keyword arguments: a keyword-only parameter's by keyword."""
    args, kwargs = [], {}
    for (name, param), value in zip(signature.parameters.items(), values):
        if param.kind is param.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return args, kwargs


def python_ints_on_overflow(program: Any, python_program: Any, writes: Any) -> Any:
    """`program` (numba's), falling back to `python_program()` (the NumPy program, whose ints
    are Python's) when an int passes int64 in it, as a gradient's call does (api.py), unless
    it may have written into an argument first (`writes(args)`)."""
    from .runtime_ints import Int64Overflow

    @functools.wraps(program)
    def run(*args: Any) -> Any:
        try:
            return program(*args)
        except Int64Overflow:
            if writes(args):
                raise
            return python_program()(*args)

    return run
