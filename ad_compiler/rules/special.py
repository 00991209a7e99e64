"""scipy.special: elementwise functions, logsumexp, softmax and log_softmax, with hand-written
vector-Jacobian products.

The values come from SciPy itself (`rt.special("erf", x)` calls scipy.special.erf; under numba
the same C kernel, see runtime_linalg.py), so a gradient's value is exactly the primal's. Each
derivative is written with the function's own result where that is the stable form
(expit' = out * (1 - out), which neither overflows nor divides inf by inf far from 0).
"""

from __future__ import annotations

import math

import scipy.special

from .. import runtime as rt
from ..errors import KindError
from ..ir import Const, Kind
from . import CallSpec, Rule, bind_call, register
from .arrays import _infer_reduce, _total
from .elementwise import infer_float


def _special_op(name: str) -> str:
    return f"special_{name}"


def _call(b, name: str, *args):
    return b.emit(_special_op(name), *args)


def _gauss(b, x, scale: float):
    """scale * exp(-x * x)."""
    return b.emit("mul", Const(scale), b.emit("exp", b.emit("neg", b.emit("mul", x, x))))


_TWO_OVER_ROOT_PI = 2.0 / math.sqrt(math.pi)
_ROOT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_ROOT_TWO_PI = math.sqrt(2.0 * math.pi)


def _bessel_next(b, name: str, lower: str, x, out):
    """d/dx J1 = (J0 - J2) / 2 (Y1 alike)."""
    two = b.emit(_special_op(name), Const(2.0), x)
    return b.emit("mul", Const(0.5), b.emit("sub", _call(b, lower, x), two))


# The local derivative of each function of one argument, from (builder, x, out).
_DERIVATIVES = {
    "expit": lambda b, x, out: b.emit("mul", out, b.emit("sub", Const(1.0), out)),
    "logit": lambda b, x, out: b.emit(
        "div", Const(1.0), b.emit("mul", x, b.emit("sub", Const(1.0), x))
    ),
    "erf": lambda b, x, out: _gauss(b, x, _TWO_OVER_ROOT_PI),
    "erfc": lambda b, x, out: _gauss(b, x, -_TWO_OVER_ROOT_PI),
    "erfinv": lambda b, x, out: b.emit(
        "mul", Const(_ROOT_PI_OVER_TWO), b.emit("exp", b.emit("mul", out, out))
    ),
    "erfcinv": lambda b, x, out: b.emit(
        "mul", Const(-_ROOT_PI_OVER_TWO), b.emit("exp", b.emit("mul", out, out))
    ),
    "ndtr": lambda b, x, out: b.emit(
        "div", b.emit("exp", b.emit("mul", Const(-0.5), b.emit("mul", x, x))), Const(_ROOT_TWO_PI)
    ),
    "log_ndtr": lambda b, x, out: b.emit(
        "div",
        b.emit("exp", b.emit("sub", b.emit("mul", Const(-0.5), b.emit("mul", x, x)), out)),
        Const(_ROOT_TWO_PI),
    ),
    "gammaln": lambda b, x, out: _call(b, "digamma", x),
    "digamma": lambda b, x, out: _call(b, "trigamma", x),
    "gamma": lambda b, x, out: b.emit("mul", out, _call(b, "digamma", x)),
    "rgamma": lambda b, x, out: b.emit("neg", b.emit("mul", out, _call(b, "digamma", x))),
    "i0": lambda b, x, out: _call(b, "i1", x),
    "i1": lambda b, x, out: b.emit("sub", _call(b, "i0", x), b.emit("div", out, x)),
    "j0": lambda b, x, out: b.emit("neg", _call(b, "j1", x)),
    "j1": lambda b, x, out: _bessel_next(b, "jv", "j0", x, out),
    "y0": lambda b, x, out: b.emit("neg", _call(b, "y1", x)),
    "y1": lambda b, x, out: _bessel_next(b, "yv", "y0", x, out),
}
# Functions whose derivative is zero wherever it exists (a sign), and the second derivatives
# above that have no rule of their own (a gradient through them is refused).
_ZERO_DERIVATIVE = ("gammasgn",)
_NO_RULE = ("trigamma",)


def _unary_vjp(name: str):
    derivative = _DERIVATIVES[name]

    def vjp(b, stmt) -> tuple:
        x = stmt.args[0]
        return (b.emit("mul", b.g, derivative(b, x, b.out)),)

    return vjp


def _register_unary(name: str) -> None:
    assert name in rt.SPECIAL_UNARY or name in _NO_RULE, name  # (numba binds their kernels)
    vjp = _unary_vjp(name) if name in _DERIVATIVES else None
    register(
        Rule(
            _special_op(name),
            f'rt.special("{name}", {{0}})',
            infer_float,
            vjp,
            cheap=False,
            broadcasting=True,
            zero_derivative=name in _ZERO_DERIVATIVE,
        )
    )
    if name in _NO_RULE:
        return
    spec = CallSpec(_special_op(name), ("x",), name=f"scipy.special.{name}", array_like=("x",))
    bind_call(getattr(scipy.special, name), spec)


for _name in (*_DERIVATIVES, *_ZERO_DERIVATIVE, *_NO_RULE):
    _register_unary(_name)
# scipy.special.psi is digamma under its other name.
bind_call(
    scipy.special.psi,
    CallSpec(_special_op("digamma"), ("x",), name="scipy.special.psi", array_like=("x",)),
)


# --------------------------------------------------------------------------------------------
# Functions of two arguments


def _xlogy_vjp(b, stmt) -> tuple:
    x, y = stmt.args
    return (
        b.emit("mul", b.g, b.emit("log", y)) if b.needs(0) else None,
        b.emit("div", b.emit("mul", b.g, x), y) if b.needs(1) else None,
    )


def _xlog1py_vjp(b, stmt) -> tuple:
    x, y = stmt.args
    return (
        b.emit("mul", b.g, b.emit("log1p", y)) if b.needs(0) else None,
        b.emit("div", b.emit("mul", b.g, x), b.emit("add", Const(1.0), y)) if b.needs(1) else None,
    )


def _order_vjp(b, stmt) -> tuple:
    """jv(v, x), yv(v, x), iv(v, x): the gradient in x only (the order is refused)."""
    if b.needs(0):
        b.refuse(f"the gradient of scipy.special.{stmt.op[8:]} with respect to its order")
    v, x = stmt.args
    lower = b.emit(stmt.op, b.emit("sub", v, Const(1.0)), x)
    upper = b.emit(stmt.op, b.emit("add", v, Const(1.0)), x)
    # J' = (J[v-1] - J[v+1]) / 2, Y alike; I' = (I[v-1] + I[v+1]) / 2
    combine = "add" if stmt.op == _special_op("iv") else "sub"
    derivative = b.emit("mul", Const(0.5), b.emit(combine, lower, upper))
    return (None, b.emit("mul", b.g, derivative))


for _name, _vjp in (
    ("xlogy", _xlogy_vjp),
    ("xlog1py", _xlog1py_vjp),
    ("jv", _order_vjp),
    ("yv", _order_vjp),
    ("iv", _order_vjp),
):
    assert _name in rt.SPECIAL_BINARY, _name
    register(
        Rule(
            _special_op(_name),
            f'rt.special2("{_name}", {{0}}, {{1}})',
            infer_float,
            _vjp,
            cheap=False,
            broadcasting=True,
        )
    )
    _params = ("x", "y") if _name.startswith("xlog") else ("v", "z")
    bind_call(
        getattr(scipy.special, _name),
        CallSpec(_special_op(_name), _params, name=f"scipy.special.{_name}", array_like=_params),
    )


# --------------------------------------------------------------------------------------------
# Reductions along axes: logsumexp, softmax, log_softmax


def _infer_logsumexp(kinds, attrs) -> Kind:
    if attrs.get("return_sign"):
        raise KindError(
            "scipy.special.logsumexp with return_sign=True",
            "compute the sign separately, or keep the weights b positive",
        )
    return _infer_reduce((infer_float(kinds, attrs),), attrs)


def _reduced(stmt) -> dict:
    return {"axis": stmt.attr("axis"), "keepdims": bool(stmt.attr("keepdims", False))}


def _logsumexp_vjp(b, stmt) -> tuple:
    # d/dx logsumexp(x) = exp(x - out), with out spread back over the reduced axes; with
    # weights, d/dx = b * exp(x - out) and d/db = exp(x - out), each summed back to its shape
    # (x and b broadcast against each other).
    x, attrs = stmt.args[0], _reduced(stmt)
    if not stmt.attr("given"):
        spread_g = b.emit("reduce_grad", b.g, x, **attrs)
        spread_out = b.emit("reduce_grad", b.out, x, **attrs)
        return (b.emit("mul", spread_g, b.emit("exp", b.emit("sub", x, spread_out))),)
    weights = stmt.args[1]
    like = b.emit("mul", x, weights)  # of the broadcast shape
    spread_g = b.emit("reduce_grad", b.g, like, **attrs)
    spread_out = b.emit("reduce_grad", b.out, like, **attrs)
    share = b.emit("mul", spread_g, b.emit("exp", b.emit("sub", x, spread_out)))
    return (
        _total(b, b.emit("mul", share, weights), x) if b.needs(0) else None,
        _total(b, share, weights) if b.needs(1) else None,
    )


def _emit_logsumexp(nargs: int, attrs: dict) -> str:
    if nargs == 2:
        return "rt.logsumexp_b({0}, {1}, {axis}, {keepdims})"
    return "rt.logsumexp({0}, {axis}, {keepdims})"


register(Rule("logsumexp", _emit_logsumexp, _infer_logsumexp, _logsumexp_vjp, cheap=False))
bind_call(
    scipy.special.logsumexp,
    CallSpec(
        "logsumexp",
        ("a",),
        {"axis": None, "keepdims": False, "return_sign": False},
        name="scipy.special.logsumexp",
        array_like=("a", "b"),
        optional=("b",),
        positions=("a", "axis", "b", "keepdims", "return_sign"),
    ),
)


def _infer_softmax(kinds, attrs) -> Kind:
    x = kinds[0]
    axis = attrs.get("axis")
    if isinstance(axis, tuple) and x.ndim is not None:
        _infer_reduce(kinds, attrs)  # checks the axes
    return Kind(x.ndim, "float", x.same_shape_as)


def _softmax_vjp(b, stmt) -> tuple:
    # out * (g - sum(g * out)) along the axes
    axis = stmt.attr("axis")
    weighted = b.emit("sum", b.emit("mul", b.g, b.out), axis=axis, keepdims=True)
    return (b.emit("mul", b.out, b.emit("sub", b.g, weighted)),)


def _log_softmax_vjp(b, stmt) -> tuple:
    # g - softmax * sum(g) along the axes
    axis = stmt.attr("axis")
    total = b.emit("sum", b.g, axis=axis, keepdims=True)
    return (b.emit("sub", b.g, b.emit("mul", b.emit("exp", b.out), total)),)


for _op, _vjp in (("softmax", _softmax_vjp), ("log_softmax", _log_softmax_vjp)):
    register(Rule(_op, f"rt.{_op}({{0}}, {{axis}})", _infer_softmax, _vjp, cheap=False))
    bind_call(
        getattr(scipy.special, _op),
        CallSpec(_op, ("x",), {"axis": None}, name=f"scipy.special.{_op}", array_like=("x",)),
    )


from . import special_more  # noqa: E402,F401  (functions of several arguments)
