"""scipy.special functions of several arguments (incomplete gamma and beta functions, beta,
Bessel functions of integer order, polygamma, multigammaln), loaded with rules/special.py.

Gradients are given with respect to the arguments where SciPy's own derivative is a closed
form of other special functions; with respect to a shape parameter whose derivative is not
(the `a` of gammainc, the `a` and `b` of betainc, an order) the gradient is refused.
"""

from __future__ import annotations

import scipy.special

from .. import runtime as rt
from ..errors import KindError
from ..ir import Const, Kind
from . import CallSpec, Rule, bind_call, register
from .elementwise import infer_float
from .special import _order_vjp, _special_op


def _call(b, name: str, *args):
    return b.emit(_special_op(name), *args)


def _refuse_shape(b, stmt, index: int, what: str) -> None:
    if b.needs(index):
        b.refuse(f"the gradient of scipy.special.{stmt.op[8:]} with respect to {what}")


def _gammainc_vjp(b, stmt) -> tuple:
    # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a), written as exp(xlogy(a-1, x) - x - gammaln(a))
    # so that it is finite at x = 0 for a = 1; Q = 1 - P has the opposite sign.
    _refuse_shape(b, stmt, 0, "a (the shape parameter)")
    a, x = stmt.args
    exponent = b.emit("sub", _call(b, "xlogy", b.emit("sub", a, Const(1.0)), x), x)
    density = b.emit("exp", b.emit("sub", exponent, _call(b, "gammaln", a)))
    if stmt.op == _special_op("gammaincc"):
        density = b.emit("neg", density)
    return (None, b.emit("mul", b.g, density))


def _beta_vjp(b, stmt) -> tuple:
    # d/da log B(a, b) = psi(a) - psi(a + b); B' = B * that.
    a, c = stmt.args
    both = _call(b, "digamma", b.emit("add", a, c))
    scale = b.g if stmt.op == _special_op("betaln") else b.emit("mul", b.g, b.out)
    return tuple(
        b.emit("mul", scale, b.emit("sub", _call(b, "digamma", arg), both)) if b.needs(i) else None
        for i, arg in enumerate((a, c))
    )


def _betainc_vjp(b, stmt) -> tuple:
    # d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b)
    _refuse_shape(b, stmt, 0, "a")
    _refuse_shape(b, stmt, 1, "b")
    a, c, x = stmt.args
    log_density = b.emit(
        "sub",
        b.emit(
            "add",
            _call(b, "xlogy", b.emit("sub", a, Const(1.0)), x),
            _call(b, "xlog1py", b.emit("sub", c, Const(1.0)), b.emit("neg", x)),
        ),
        _call(b, "betaln", a, c),
    )
    return (None, None, b.emit("mul", b.g, b.emit("exp", log_density)))


def _ive_vjp(b, stmt) -> tuple:
    # ive = iv * exp(-|x|): ive' = (ive(v-1, x) + ive(v+1, x)) / 2 - sign(x) * ive
    _refuse_shape(b, stmt, 0, "its order")
    v, x = stmt.args
    lower = b.emit(stmt.op, b.emit("sub", v, Const(1.0)), x)
    upper = b.emit(stmt.op, b.emit("add", v, Const(1.0)), x)
    mean = b.emit("mul", Const(0.5), b.emit("add", lower, upper))
    derivative = b.emit("sub", mean, b.emit("mul", b.emit("sign", x), b.out))
    return (None, b.emit("mul", b.g, derivative))


_BINARY = {
    "gammainc": (("a", "x"), _gammainc_vjp),
    "gammaincc": (("a", "x"), _gammainc_vjp),
    "beta": (("a", "b"), _beta_vjp),
    "betaln": (("a", "b"), _beta_vjp),
    "yn": (("n", "x"), _order_vjp),
    "ive": (("v", "z"), _ive_vjp),
}
for _name, (_params, _vjp) in _BINARY.items():
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
    bind_call(
        getattr(scipy.special, _name),
        CallSpec(_special_op(_name), _params, name=f"scipy.special.{_name}", array_like=_params),
    )

register(
    Rule(
        _special_op("betainc"),
        'rt.special3("betainc", {0}, {1}, {2})',
        infer_float,
        _betainc_vjp,
        cheap=False,
        broadcasting=True,
    )
)
_ABX = ("a", "b", "x")
bind_call(
    scipy.special.betainc,
    CallSpec(_special_op("betainc"), _ABX, name="scipy.special.betainc", array_like=_ABX),
)


# --------------------------------------------------------------------------------------------
# Functions with a constant integer parameter: polygamma(n, x), multigammaln(a, d)


def _constant_int(value, name: str, what: str, least: int) -> int:
    if type(value) is not int or value < least:
        raise KindError(
            f"scipy.special.{name} with {what}={value!r}",
            f"give {what} as a constant integer >= {least}",
        )
    return value


def _infer_polygamma(kinds, attrs) -> Kind:
    _constant_int(attrs.get("n"), "polygamma", "n", 0)
    return infer_float(kinds, attrs)


def _polygamma_vjp(b, stmt) -> tuple:
    n = stmt.attr("n")
    return (b.emit("mul", b.g, b.emit("special_polygamma", stmt.args[0], n=n + 1)),)


register(
    Rule(
        "special_polygamma",
        "rt.polygamma({n}, {0})",
        _infer_polygamma,
        _polygamma_vjp,
        cheap=False,
        broadcasting=True,
    )
)
bind_call(
    scipy.special.polygamma,
    CallSpec(
        "special_polygamma",
        ("x",),
        {"n": None},
        name="scipy.special.polygamma",
        array_like=("x",),
        positions=("n", "x"),
    ),
)


def _infer_multigammaln(kinds, attrs) -> Kind:
    _constant_int(attrs.get("d"), "multigammaln", "d", 1)
    return infer_float(kinds, attrs)


def _multigammaln_vjp(b, stmt) -> tuple:
    # d/da sum_j gammaln(a - j/2) = sum_j digamma(a - j/2), j = 0 .. d-1
    a = stmt.args[0]
    total = _call(b, "digamma", a)
    for j in range(1, stmt.attr("d")):
        total = b.emit("add", total, _call(b, "digamma", b.emit("sub", a, Const(0.5 * j))))
    return (b.emit("mul", b.g, total),)


register(
    Rule(
        "special_multigammaln",
        "rt.multigammaln({0}, {d})",
        _infer_multigammaln,
        _multigammaln_vjp,
        cheap=False,
        broadcasting=True,
    )
)
bind_call(
    scipy.special.multigammaln,
    CallSpec(
        "special_multigammaln",
        ("a",),
        {"d": None},
        name="scipy.special.multigammaln",
        array_like=("a",),
    ),
)
