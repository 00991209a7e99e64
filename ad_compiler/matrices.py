"""Whole derivative matrices: jacobian and hessian, one compiled product per direction.

jacobian runs forward mode (one Jacobian-vector product per entry of the argument) or reverse
mode (one vector-Jacobian product per entry of the output), whichever takes fewer passes; a
function with an operation that has no forward rule goes to reverse mode. hessian runs one
Hessian-vector product (reverse over forward) per entry of the argument.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import pickling
from .api import GradFunction
from .checkpoint import refuse as refuse_checkpoint
from .errors import ADCompilerError, NoGradientRuleError
from .forward import HVPFunction, JVPFunction, _check_backend
from .pytree import flatten
from .transform_support import _check_plain, as_call, is_plain_grad, regroup, unpartial
from .typing_aliases import Wrt
from .whole_numbers import not_float_error


def _basis(shape: tuple, k: int) -> np.ndarray | float:
    if not shape:
        return 1.0
    e = np.zeros(shape)
    e.flat[k] = 1.0
    return e


def _zeros_like(arg: Any) -> Any:
    return np.zeros(np.shape(arg)) if isinstance(arg, np.ndarray) else 0.0


def _size(shape: tuple) -> int:
    return int(np.prod(shape, dtype=np.int64))


class jacobian:  # noqa: N801  (a function-like class, named as users call it)
    """`jacobian(f, wrt=0)(*args)`: the Jacobian of f (returning a float or an array) with
    respect to one argument, of shape output.shape + arg.shape (JAX's jacrev layout); for a
    tuple `wrt`, a tuple of those. `mode` is "auto" (forward or reverse, whichever needs fewer
    passes for these shapes), "fwd" or "rev"; `last_mode` says which the last call used.
    `wrt`, `backend`, `optimize`, the caching and the errors are those of `grad` (see
    help(grad)); `jacobian(grad(f))` is the Hessian.

    >>> import numpy as np
    >>> from ad_compiler import jacobian
    >>> def square(x):
    ...     return x**2
    >>> jacobian(square)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def __init__(
        self,
        f: Callable[..., Any],
        *,
        wrt: Wrt = 0,
        backend: str = "numba",
        optimize: bool = True,
        mode: str = "auto",
        checkpoint: bool = False,
    ) -> None:
        refuse_checkpoint(checkpoint, "jacobian")
        _check_backend(backend)
        if mode not in ("auto", "fwd", "rev"):
            raise ValueError(f"mode must be 'auto', 'fwd' or 'rev', not {mode!r}")
        _check_plain(f, "jacobian", grad_too=True)
        f, wrt, self._fixed, self._keywords = unpartial(f, wrt)
        functools.update_wrapper(self, f, updated=())
        self.mode = mode
        self.last_mode: str | None = None  # the mode the last call used
        if isinstance(f, GradFunction):  # jacobian(grad(f)) is the Hessian
            inner = _inner_wrt(f)
            names = (inner,) if isinstance(inner, str) else inner
            asked = tuple(
                f._resolve_wrt(w) for w in ([wrt] if isinstance(wrt, (int, str)) else wrt)
            )
            if asked != tuple(names):
                raise ADCompilerError(
                    "jacobian(grad(f, wrt=a), wrt=b) is the Hessian only for b = a; take "
                    "hessian(f, wrt=(a, b)) for the mixed blocks"
                )
            self._hessian = hessian(f.__wrapped__, wrt=inner, backend=backend, optimize=optimize)
            self._names = tuple(names)
            return
        self._hessian = None
        self._jvp = JVPFunction(f, wrt, backend, optimize)
        self._f, self._backend, self._optimize = f, backend, optimize
        self._vjp = None

    def __reduce__(self) -> tuple:
        return pickling.reduce_state(self)

    @property
    def wrt(self) -> tuple[str, ...]:
        return self._names if self._hessian is not None else self._jvp.wrt

    def _reverse(self):
        if self._vjp is None:
            from .vjp import vjp

            wrt = self.wrt[0] if self._jvp._single else self.wrt
            self._vjp = vjp(self._f, wrt=wrt, backend=self._backend, optimize=self._optimize)
        return self._vjp

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        if self._hessian is not None:
            self.last_mode = "hessian"
            return self._hessian(*args, **kwargs)
        args, kwargs = self._fixed + args, {**self._keywords, **kwargs}
        values = self._jvp._bind_user(args, kwargs)
        # Structured arguments: the Jacobian for each leaf, rebuilt into their structure.
        forward, leaves, groups = self._jvp.flat_view(values)
        targets = [leaves[forward._user.index(p)] for p in forward.wrt]
        for p, a in zip(forward.wrt, targets):
            if not (isinstance(a, np.ndarray) and a.dtype.kind == "f") and not isinstance(
                a, (float, np.floating)
            ):
                others = [w for w in forward.wrt if w != p]
                layouts = forward._entry_spec.layouts
                raise not_float_error(self.__name__, p, a, others, layouts)
        zeros = tuple(_zeros_like(a) for a in targets)
        forward_ok = self.mode != "rev"
        value = None
        if forward_ok:
            try:
                args, keywords = as_call(forward._signature, leaves)
                tangent = zeros if len(zeros) > 1 else zeros[0]
                value, _ = forward(*args, **keywords, tangent=tangent)
            except NoGradientRuleError:
                if self.mode == "fwd":
                    raise
                forward_ok = False
        if value is None:  # (the shape of the output: f run by Python on copies)
            args, keywords = as_call(self._jvp._signature, copy.deepcopy(values))
            value = self._f(*args, **keywords)
        out_shape = np.shape(value)
        n = sum(_size(np.shape(a)) for a in targets)
        use_forward = forward_ok and (self.mode == "fwd" or n <= _size(out_shape))
        self.last_mode = "fwd" if use_forward else "rev"
        if use_forward:
            blocks = self._forward(forward, leaves, targets, out_shape)
        else:
            blocks = self._backward(values, groups, targets, out_shape)
        return regroup(tuple(blocks), groups, self._jvp._single)

    def _forward(self, forward, values: list, targets: list, out_shape: tuple) -> list:
        zeros = [_zeros_like(a) for a in targets]
        program = forward._program_for(values, tuple(zeros) if len(zeros) > 1 else zeros[0])
        blocks = []
        for j, arg in enumerate(targets):
            shape = np.shape(arg)
            jac = np.empty(shape + out_shape)  # column k of the Jacobian in jac[k]
            columns = jac.reshape((_size(shape),) + out_shape)
            for k in range(_size(shape)):
                direction = list(zeros)
                direction[j] = _basis(shape, k)
                columns[k] = program(*values, *direction)[1]
            axes = list(range(len(shape)))
            block = np.moveaxis(jac, axes, [a + len(out_shape) for a in axes])
            blocks.append(_shaped(block))
        return blocks

    def _backward(self, values: list, groups: list, targets: list, out_shape: tuple) -> list:
        reverse = self._reverse()
        rows = []
        for k in range(_size(out_shape)):
            args, keywords = as_call(self._jvp._signature, values)
            grads = reverse(*args, **keywords, cotangent=_basis(out_shape, k))
            grads = grads if len(groups) > 1 else (grads,)
            # (a structured argument's gradient has its structure: its leaves, in order)
            rows.append(
                [
                    leaf
                    for (layout, _), g in zip(groups, grads)
                    for leaf in ([g] if layout is None else flatten(g, layout))
                ]
            )
        blocks = []
        for j, arg in enumerate(targets):
            shape = np.shape(arg)
            stacked = np.array([np.asarray(r[j], dtype=float) for r in rows])
            blocks.append(_shaped(stacked.reshape(out_shape + shape)))
        return blocks


class hessian:  # noqa: N801
    """`hessian(f, wrt=0)(*args)`: the Hessian of f (returning a float) with respect to one
    argument, of shape arg.shape + arg.shape; for a tuple `wrt`, nested tuples of the blocks
    (blocks[i][j] of shape arg_i.shape + arg_j.shape), as JAX returns them. One
    Hessian-vector product per entry of the argument. `wrt`, `backend`, `optimize`, the
    caching and the errors are those of `grad` (see help(grad)).

    >>> import numpy as np
    >>> from ad_compiler import hessian
    >>> def energy(x):
    ...     return np.sum(x**3)
    >>> hessian(energy)(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """

    def __init__(
        self,
        f: Callable[..., Any],
        *,
        wrt: Wrt = 0,
        backend: str = "numba",
        optimize: bool = True,
        checkpoint: bool = False,
    ) -> None:
        refuse_checkpoint(checkpoint, "hessian")
        _check_backend(backend)
        _check_plain(f, "hessian")
        f, wrt, self._fixed, self._keywords = unpartial(f, wrt)
        self._hvp = HVPFunction(f, wrt, backend, optimize)
        functools.update_wrapper(self, f, updated=())

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = self._fixed + args, {**self._keywords, **kwargs}
        values = self._hvp._bind_user(args, kwargs)
        # Structured arguments: blocks per pair of leaves, rebuilt into nested structures.
        h, leaves, groups = self._hvp.flat_view(values)
        targets = [leaves[h._user.index(p)] for p in h.wrt]
        several = len(targets) > 1
        zeros = [_zeros_like(a) for a in targets]
        program = h._program_for(leaves, tuple(zeros) if several else zeros[0])
        blocks = [[None] * len(targets) for _ in targets]
        for j, arg in enumerate(targets):
            shape = np.shape(arg)
            columns = []
            for k in range(_size(shape)):
                direction = list(zeros)
                direction[j] = _basis(shape, k)
                out = program(*leaves, *direction)
                columns.append(out if several else (out,))
            for i, other in enumerate(targets):
                # columns[k][i] = d/d arg_i of the derivative along entry k of arg_j
                stacked = np.array([np.asarray(c[i], dtype=float) for c in columns])
                block = stacked.reshape(shape + np.shape(other))
                axes = list(range(len(shape)))
                block = np.moveaxis(block, axes, [a + np.ndim(other) for a in axes])
                blocks[i][j] = _shaped(block)
        single = self._hvp._single
        rows = [regroup(tuple(row), groups, single) for row in blocks]
        return regroup(tuple(rows), groups, single)

    def __reduce__(self) -> tuple:
        return pickling.reduce_state(self)

    @property
    def source(self) -> str:
        return self._hvp.source

    def source_for(self, /, *args: Any, **kwargs: Any) -> str:
        vector = kwargs.pop("vector", None)
        h = self._hvp
        values = h._bind_user(self._fixed + args, {**self._keywords, **kwargs})
        if vector is None:
            zeros = [_zeros_like(values[h._user.index(p)]) for p in h.wrt]
            vector = tuple(zeros) if len(zeros) > 1 else zeros[0]
        return h._source_for_values(values, vector)


def _shaped(block: np.ndarray) -> np.ndarray | float:
    return float(block) if block.ndim == 0 else np.ascontiguousarray(block)


def _inner_wrt(inner: GradFunction) -> Any:
    """The wrt of a plain grad(f), for jacobian(grad(f)) = hessian(f)."""
    if not is_plain_grad(inner) or inner.with_value or inner.has_aux:
        raise ADCompilerError(
            f"jacobian of {inner!r}: only jacobian(grad(f)) (the Hessian) is supported among "
            "transforms of transforms"
        )
    return inner.wrt[0] if inner._single else inner.wrt
