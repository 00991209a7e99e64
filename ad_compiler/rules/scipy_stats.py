"""scipy.stats distributions as users call them: `scipy.stats.norm.logpdf(x, loc, scale)`.

Each (distribution, method) is one elementwise operation with NumPy broadcasting, bound to
the distribution object's method (rules.bind_bound_method: `scipy.stats.norm.pdf` is a new
bound method at each access). Values come from SciPy itself on the python backend
(`rt.stats3("norm_pdf", x, loc, scale)`) and from runtime_scipy.py under numba.

Gradients follow from the log-density: with z = (x - loc) / scale, d logpdf / dx = l'(z) /
scale, d/dloc = -l'(z) / scale, d/dscale = -(1 + z l'(z)) / scale; pdf = exp(logpdf); a cdf's
derivative in x is the pdf. A cdf's gradient with respect to a shape parameter (t's df,
gamma's a) has no closed form and is refused.
"""

from __future__ import annotations

import scipy.stats

from ..ir import Const
from . import CallSpec, Rule, bind_bound_method, register
from .elementwise import infer_float


def _special(b, name, *args):
    return b.emit(f"special_{name}", *args)


def _sub1(b, v):
    return b.emit("sub", v, Const(1.0))


# For each distribution with loc and scale: its shape parameters, its methods, and
# (b, z, shapes) -> (l'(z), [d logpdf / d shape for each shape]) of its standard log-density.
def _norm(b, z, shapes):
    return b.emit("neg", z), []


def _t(b, z, shapes):
    (df,) = shapes
    z2 = b.emit("mul", z, z)
    total = b.emit("add", df, z2)
    df1 = b.emit("add", df, Const(1.0))
    dz = b.emit("neg", b.emit("div", b.emit("mul", df1, z), total))
    half_psi = b.emit(
        "mul",
        Const(0.5),
        b.emit(
            "sub",
            _special(b, "digamma", b.emit("mul", Const(0.5), df1)),
            _special(b, "digamma", b.emit("mul", Const(0.5), df)),
        ),
    )
    rest = b.emit(
        "sub",
        b.emit("div", b.emit("mul", df1, z2), b.emit("mul", b.emit("mul", Const(2.0), df), total)),
        b.emit(
            "add",
            b.emit("div", Const(0.5), df),
            b.emit("mul", Const(0.5), b.emit("log1p", b.emit("div", z2, df))),
        ),
    )
    return dz, [b.emit("add", half_psi, rest)]


def _chi2(b, z, shapes):
    (df,) = shapes
    half = b.emit("mul", Const(0.5), df)
    dz = b.emit("sub", b.emit("div", _sub1(b, half), z), Const(0.5))
    ddf = b.emit(
        "mul",
        Const(0.5),
        b.emit("sub", b.emit("log", b.emit("mul", Const(0.5), z)), _special(b, "digamma", half)),
    )
    return dz, [ddf]


def _gamma(b, z, shapes):
    (a,) = shapes
    dz = b.emit("sub", b.emit("div", _sub1(b, a), z), Const(1.0))
    return dz, [b.emit("sub", b.emit("log", z), _special(b, "digamma", a))]


def _beta(b, z, shapes):
    a, c = shapes
    one_minus = b.emit("sub", Const(1.0), z)
    dz = b.emit("sub", b.emit("div", _sub1(b, a), z), b.emit("div", _sub1(b, c), one_minus))
    both = _special(b, "digamma", b.emit("add", a, c))
    da = b.emit("add", b.emit("sub", b.emit("log", z), _special(b, "digamma", a)), both)
    db = b.emit("add", b.emit("sub", b.emit("log", one_minus), _special(b, "digamma", c)), both)
    return dz, [da, db]


_CDFS = ("pdf", "logpdf", "cdf", "logcdf")
_FAMILIES = {
    "norm": ((), (*_CDFS, "sf", "logsf"), _norm),
    "t": (("df",), _CDFS, _t),
    "chi2": (("df",), ("pdf", "logpdf", "cdf"), _chi2),
    "gamma": (("a",), ("pdf", "logpdf", "cdf"), _gamma),
    "beta": (("a", "b"), ("pdf", "logpdf", "cdf"), _beta),
}


def _operands(stmt, shapes: tuple) -> list:
    """x, the shapes, loc and scale (a constant where not given), in that order."""
    given = stmt.attr("given", ())
    args = list(stmt.args[: 1 + len(shapes)])
    rest = iter(stmt.args[1 + len(shapes) :])
    for name, default in (("loc", 0.0), ("scale", 1.0)):
        args.append(next(rest) if name in given else Const(default))
    return args


def _emit(dist: str, method: str, shapes: tuple):
    def emit(nargs: int, attrs: dict) -> str:
        given = attrs.get("given", ())
        fields = [f"{{{i}}}" for i in range(1 + len(shapes))]
        k = len(fields)
        for name, default in (("loc", "0.0"), ("scale", "1.0")):
            fields.append(f"{{{k}}}" if name in given else default)
            k += name in given
        return f'rt.stats{len(fields)}("{dist}_{method}", {", ".join(fields)})'

    return emit


def _family_vjp(dist: str, method: str, shapes: tuple, local):
    def vjp(b, stmt) -> tuple:
        args = _operands(stmt, shapes)
        x, params, loc, scale = args[0], args[1:-2], args[-2], args[-1]
        z = b.emit("div", b.emit("sub", x, loc), scale)
        if method in ("pdf", "logpdf"):
            dz, dshapes = local(b, z, params)
            dx = b.emit("div", dz, scale)
            dscale = b.emit(
                "neg", b.emit("div", b.emit("add", Const(1.0), b.emit("mul", z, dz)), scale)
            )
            if method == "pdf":
                dx, dscale = (b.emit("mul", b.out, d) for d in (dx, dscale))
                dshapes = [b.emit("mul", b.out, d) for d in dshapes]
        else:
            for i, name in enumerate(shapes):
                if b.needs(1 + i):
                    b.refuse(f"the gradient of scipy.stats.{dist}.{method} with respect to {name}")
            logpdf = b.emit(f"stats_{dist}_logpdf", *args, given=("loc", "scale"))
            if method in ("cdf", "sf"):
                dx = b.emit("exp", logpdf)
            else:
                dx = b.emit("exp", b.emit("sub", logpdf, b.out))
            if method in ("sf", "logsf"):
                dx = b.emit("neg", dx)
            dscale = b.emit("neg", b.emit("mul", dx, z))
            dshapes = [None] * len(shapes)
        partials = [dx, *dshapes, b.emit("neg", dx), dscale]
        given = stmt.attr("given", ())
        keep = [True] * (1 + len(shapes)) + ["loc" in given, "scale" in given]
        partials = [p for p, k in zip(partials, keep) if k]
        return tuple(
            b.emit("mul", b.g, p) if b.needs(i) and p is not None else None
            for i, p in enumerate(partials)
        )

    return vjp


for _dist, (_shapes, _methods, _local) in _FAMILIES.items():
    for _method in _methods:
        _op = f"stats_{_dist}_{_method}"
        register(
            Rule(
                _op,
                _emit(_dist, _method, _shapes),
                infer_float,
                _family_vjp(_dist, _method, _shapes, _local),
                cheap=False,
                broadcasting=True,
            )
        )
        _params = ("x", *_shapes)
        bind_bound_method(
            getattr(scipy.stats, _dist),
            _method,
            CallSpec(
                _op,
                _params,
                name=f"scipy.stats.{_dist}.{_method}",
                array_like=(*_params, "loc", "scale"),
                optional=("loc", "scale"),
            ),
        )


# --------------------------------------------------------------------------------------------
# poisson.pmf / logpmf / cdf (k, mu): the gradient in mu


def _poisson_vjp(b, stmt) -> tuple:
    k, mu = stmt.args
    if b.needs(0):
        b.refuse(f"the gradient of scipy.stats.poisson.{stmt.op[14:]} with respect to k")
    if stmt.op == "stats_poisson_cdf":
        # d/dmu sum_{j <= k} pmf(j) = -pmf(floor(k))
        last = b.emit("stats_poisson_logpmf", b.emit("floor", k), mu)
        local = b.emit("neg", b.emit("exp", last))
    else:
        local = b.emit("sub", b.emit("div", k, mu), Const(1.0))
        if stmt.op == "stats_poisson_pmf":
            local = b.emit("mul", b.out, local)
    return (None, b.emit("mul", b.g, local))


for _method in ("pmf", "logpmf", "cdf"):
    _op = f"stats_poisson_{_method}"
    register(
        Rule(
            _op,
            f'rt.stats2("poisson_{_method}", {{0}}, {{1}})',
            infer_float,
            _poisson_vjp,
            cheap=False,
            broadcasting=True,
        )
    )
    bind_bound_method(
        scipy.stats.poisson,
        _method,
        CallSpec(_op, ("k", "mu"), name=f"scipy.stats.poisson.{_method}", array_like=("k", "mu")),
    )
