"""The rule sweep's table: at least one case for every function, method and attribute in the
rule table (tests/test_rule_sweep.py fails for a name without one).

A case is an expression over inputs x (and y, z) of the given shapes, drawn from a domain where
the function is smooth; `wrt` says which inputs are differentiated. Shapes are tuples (() for a
Python float). The sweep checks each case against NumPy running the expression, central
differences and autograd (tests/test_rule_sweep.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str  # as the rule table lists it: "np.cumsum", ".sum()", ".T", "math.sin"
    expr: str
    shapes: tuple = ((4,),)
    domain: str = "any"  # any, pos, unit, gt1, distinct, spd (symmetric positive definite)
    wrt: tuple = (0,)
    autograd: bool = True  # autograd can run the expression (with autograd.numpy)
    float32: bool = True  # float32 inputs keep float32 (NumPy's own rule)
    value_rtol: float = 1e-10  # looser where the expression itself rounds to float32
    expected: str = ""  # the gradient by the math, where central differences cannot judge


def _unary(names: str, domain: str = "any", shapes=((3, 2),), **kw) -> list[Case]:
    return [Case(f"np.{n}", f"np.{n}(x)", shapes, domain, **kw) for n in names.split()]


def _math(names: str, domain: str = "any") -> list[Case]:
    return [Case(f"math.{n}", f"math.{n}(x)", ((),), domain, autograd=False) for n in names.split()]


M23, M33, V4 = (2, 3), (3, 3), (4,)

CASES: list[Case] = [
    # -- elementwise --------------------------------------------------------------------------
    *_unary("sin cos tanh exp expm1 arctan arcsinh sinh cosh negative absolute fabs square sign"),
    *_unary("exp2 cbrt sinc deg2rad rad2deg degrees radians", autograd=True),
    *_unary("log log10 log2 sqrt reciprocal", "pos"),
    *_unary("log1p arcsin arccos arctanh tan", "unit"),
    *_unary("arccosh", "gt1"),
    *_unary("ceil floor", "distinct"),
    Case("np.nan_to_num", "np.nan_to_num(x * 2.0)"),
    Case("np.real", "np.real(x) * 2.0"),
    Case("np.real_if_close", "np.real_if_close(x) * 2.0", autograd=False),
    Case("np.imag", "np.imag(x) + x"),
    Case("np.conjugate", "np.conjugate(x) * 3.0"),
    Case("np.angle", "np.angle(x) + x", domain="pos"),
    Case("np.add", "np.add(x, y)", (M23, (3,)), wrt=(0, 1)),
    Case("np.subtract", "np.subtract(x, y)", (M23, (2, 1)), wrt=(0, 1)),
    Case("np.multiply", "np.multiply(x, y)", (M23, (3,)), wrt=(0, 1)),
    Case("np.true_divide", "np.true_divide(x, y)", (M23, (3,)), "pos", wrt=(0, 1)),
    Case("np.power", "np.power(x, y)", (M23, (3,)), "pos", wrt=(0, 1)),
    Case("np.arctan2", "np.arctan2(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("np.hypot", "np.hypot(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("np.logaddexp", "np.logaddexp(x, y)", (M23, (3,)), wrt=(0, 1)),
    Case("np.logaddexp2", "np.logaddexp2(x, y)", (M23, (3,)), wrt=(0, 1)),
    Case("np.maximum", "np.maximum(x, y)", (M23, M23), "distinct", wrt=(0, 1)),
    Case("np.minimum", "np.minimum(x, y)", (M23, M23), "distinct", wrt=(0, 1)),
    Case("np.fmax", "np.fmax(x, y)", (M23, M23), "distinct", wrt=(0, 1), autograd=False),
    Case("np.fmin", "np.fmin(x, y)", (M23, M23), "distinct", wrt=(0, 1), autograd=False),
    Case("np.remainder", "np.remainder(x, 0.7)", (M23,), "distinct"),
    Case("np.floor_divide", "np.floor_divide(x, 0.7) + x", (M23,), "distinct"),
    Case("np.clip", "np.clip(x, a_min=-0.5, a_max=0.55)", (M23,), "distinct"),
    Case("np.where", "np.where(x > 0.05, x * 2.0, y)", (M23, M23), "distinct", wrt=(0, 1)),
    Case("np.any", "np.where(np.any(x > 0.05), x * 2.0, x)", (M23,), "distinct"),
    Case(".any()", "x * 2.0 if (x > 0.3).any() else x * x", (M23,), "distinct"),
    Case("np.all", "np.where(np.all(x > -0.3), x * 2.0, x * x)", (M23,), "distinct"),
    Case(".all()", "x * 2.0 if (x > -0.3).all() else x * x", (M23,), "distinct"),
    Case("np.count_nonzero", "x * np.count_nonzero(x > 0.05)", (M23,), "distinct"),
    Case("np.argmax", "x * x[np.argmax(x)]", (V4,), "distinct"),
    Case(".argmax()", "x * np.argmax(x, axis=1)[:, None]", (M23,), "distinct"),
    Case("np.argmin", "x * x[np.argmin(x)]", (V4,), "distinct"),
    Case(".argmin()", "x[x.argmin()] * x", (V4,), "distinct"),
    Case("np.equal", "np.where(np.equal(x, 0.0), 0.0, x)", (M23,), "distinct"),
    Case("np.not_equal", "np.where(np.not_equal(x, 0.0), x, 0.0)", (M23,), "distinct"),
    Case("np.greater", "np.where(np.greater(x, 0.05), x, 2.0 * x)", (M23,), "distinct"),
    Case("np.greater_equal", "np.where(np.greater_equal(x, 0.05), x, -x)", (M23,), "distinct"),
    Case("np.less", "np.where(np.less(x, 0.05), x, 3.0 * x)", (M23,), "distinct"),
    Case("np.less_equal", "np.where(np.less_equal(x, 0.05), x, x * x)", (M23,), "distinct"),
    Case("np.isfinite", "np.where(np.isfinite(x), x, 0.0)", (M23,)),
    Case("np.isnan", "np.where(np.isnan(x), 0.0, x)", (M23,)),
    Case("np.isinf", "np.where(np.isinf(x), 0.0, x * 2.0)", (M23,)),
    Case("math.isnan", "0.0 if math.isnan(x) else x * 3.0", ((),), autograd=False),
    Case("math.isinf", "0.0 if math.isinf(x) else x * x", ((),), autograd=False),
    Case("math.isfinite", "x * 2.0 if math.isfinite(x) else 0.0", ((),), autograd=False),
    Case(
        "np.logical_and",
        "np.where(np.logical_and(x > -0.05, x < 0.95), x, 2.0 * x)",
        (M23,),
        "distinct",
    ),
    Case(
        "np.logical_or",
        "np.where(np.logical_or(x > 0.95, x < -0.05), x, 2.0 * x)",
        (M23,),
        "distinct",
    ),
    Case("np.logical_not", "np.where(np.logical_not(x > 0.05), x, 2.0 * x)", (M23,), "distinct"),
    *_math("sin cos tan exp expm1 atan asinh sinh cosh tanh erf fabs"),
    *_math("log log10 log2 sqrt", "pos"),
    *_math("log1p asin acos atanh", "unit"),
    *_math("acosh", "gt1"),
    *_math("ceil floor", "distinct"),
    Case("math.atan2", "math.atan2(x, y)", ((), ()), "pos", wrt=(0, 1), autograd=False),
    Case("math.hypot", "math.hypot(x, y)", ((), ()), "pos", wrt=(0, 1), autograd=False),
    Case("math.pow", "math.pow(x, y)", ((), ()), "pos", wrt=(0, 1), autograd=False),
    Case("abs", "abs(x)", ((),), "distinct"),
    Case("pow", "pow(x, 3) + pow(x, y)", ((), ()), "pos", wrt=(0, 1)),
    Case("float", "float(x) * x", ((),)),
    Case("int", "int(x) * x", ((),), "distinct"),
    Case("sum", "sum([x, 2.0 * y])", ((), ()), wrt=(0, 1)),
    Case("np.float64", "np.float64(x) * x", ((),)),
    # a Python float argument arrives as np.float64, which NumPy 2 promotes differently
    Case(
        "np.float32",
        "np.float32(x) * 2.0",
        ((),),
        float32=False,
        value_rtol=1e-6,
        expected="2.0 * c",  # central differences through float32 rounding are too coarse
    ),
    # -- constructors (no gradient of their own; here mixed with x) ----------------------------
    Case("np.zeros", "np.zeros(4) + x"),
    Case("np.ones", "np.ones((2, 4)) * x"),
    Case("np.empty", "x * 0.0 + np.sum(np.empty(3) * 0.0)", autograd=False),
    Case("np.eye", "np.eye(4) @ x"),
    Case("np.zeros_like", "np.zeros_like(x) + x * x"),
    Case("np.ones_like", "np.ones_like(x) * x"),
    Case("np.empty_like", "x + np.sum(np.empty_like(x) * 0.0)", autograd=False),
    Case("np.full", "np.full(4, x)", ((),)),
    Case("np.full_like", "np.full_like(x, 2.0) * x", autograd=False),
    Case("np.arange", "np.arange(4.0) * x"),
    Case("np.linspace", "np.linspace(0.0, x, 5)", ((),), autograd=False),
    Case("np.copy", "np.copy(x) * x"),
    # -- reductions and scans -----------------------------------------------------------------
    Case("np.sum", "np.sum(x, axis=(0, 2), keepdims=True)", ((2, 3, 2),)),
    Case("np.mean", "np.mean(x, axis=-1)", (M23,)),
    Case("np.max", "np.max(x, axis=0)", (M23,), "distinct"),
    Case("np.min", "np.min(x, axis=1, keepdims=True)", (M23,), "distinct"),
    Case("np.amax", "np.amax(x)", (M23,), "distinct"),
    Case("np.amin", "np.amin(x, axis=0)", (M23,), "distinct"),
    Case("np.prod", "np.prod(x, axis=1)", (M23,)),
    Case("np.var", "np.var(x, axis=0, ddof=1)", ((3, 2),)),
    Case("np.std", "np.std(x, axis=1, keepdims=True)", (M23,)),
    Case("np.ptp", "np.ptp(x, axis=1)", (M23,), "distinct", autograd=False),
    Case("np.average", "np.average(x, axis=0)", (M23,)),
    Case("np.nansum", "np.nansum(x, axis=1)", (M23,), autograd=False),
    Case("np.nanmean", "np.nanmean(x)", (M23,), autograd=False),
    Case("np.cumsum", "np.cumsum(x, axis=1)", (M23,)),
    Case("np.cumprod", "np.cumprod(x)", (M23,), autograd=False),
    Case("np.diff", "np.diff(x, axis=0)", ((3, 2),)),
    Case("np.sort", "np.sort(x, axis=0)", ((3, 2),), "distinct"),
    Case("np.trace", "np.trace(x)", (M33,)),
    Case("np.dot", "np.dot(x, y)", (M23, (3, 2)), wrt=(0, 1)),
    Case("np.matmul", "np.matmul(x, y)", ((2, 2, 3), (3, 2)), wrt=(0, 1)),
    Case("np.outer", "np.outer(x, y)", ((3,), (2,)), wrt=(0, 1)),
    # -- shapes ---------------------------------------------------------------------------------
    Case("np.reshape", "np.reshape(x, (3, 2))", (M23,)),
    Case("np.ravel", "np.ravel(x)", (M23,)),
    Case("np.transpose", "np.transpose(x, (1, 2, 0))", ((2, 3, 2),)),
    Case("np.moveaxis", "np.moveaxis(x, 0, -1)", ((2, 3, 2),)),
    Case("np.swapaxes", "np.swapaxes(x, 0, 2)", ((2, 3, 2),)),
    Case("np.squeeze", "np.squeeze(x, axis=1)", ((2, 1, 3),)),
    Case("np.expand_dims", "np.expand_dims(x, 1)", (M23,)),
    Case("np.atleast_1d", "np.atleast_1d(x)", ((),)),
    Case("np.atleast_2d", "np.atleast_2d(x)", ((3,),)),
    Case("np.atleast_3d", "np.atleast_3d(x)", (M23,)),
    Case("np.concatenate", "np.concatenate((x, y), axis=1)", (M23, (2, 2)), wrt=(0, 1)),
    Case("np.stack", "np.stack([x, y], axis=-1)", (M23, M23), wrt=(0, 1)),
    Case("np.hstack", "np.hstack((x, y))", (M23, (2, 1)), wrt=(0, 1)),
    Case("np.vstack", "np.vstack((x, y))", (M23, (3,)), wrt=(0, 1)),
    Case("np.column_stack", "np.column_stack((x, y))", ((3,), (3, 2)), wrt=(0, 1)),
    Case("np.append", "np.append(x, y, axis=0)", (M23, (1, 3)), wrt=(0, 1)),
    Case("np.flip", "np.flip(x, axis=1)", (M23,)),
    Case("np.fliplr", "np.fliplr(x)", (M23,)),
    Case("np.flipud", "np.flipud(x)", (M23,)),
    Case("np.rot90", "np.rot90(x)", (M23,)),
    Case("np.roll", "np.roll(x, 1, axis=1)", (M23,)),
    Case("np.repeat", "np.repeat(x, 2, axis=0)", (M23,)),
    Case("np.tile", "np.tile(x, (2, 1))", (M23,)),
    Case("np.tril", "np.tril(x)", (M33,)),
    Case("np.triu", "np.triu(x, 1)", (M33,)),
    Case("np.diag", "np.diag(x)", (M33,)),
    # -- linear algebra -------------------------------------------------------------------------
    Case("np.linalg.inv", "np.linalg.inv(x)", (M33,), "spd"),
    Case("np.linalg.solve", "np.linalg.solve(x, y)", (M33, (3, 2)), "spd", wrt=(0, 1)),
    Case("np.linalg.det", "np.linalg.det(x)", (M33,), "spd"),
    Case("np.linalg.slogdet", "np.linalg.slogdet(x)[1]", (M33,), "spd"),
    Case("np.linalg.cholesky", "np.linalg.cholesky(x)", (M33,), "spd", autograd=False),
    Case("np.linalg.norm", "np.linalg.norm(x, ord=3, axis=1)", (M23,), "pos"),
    Case("np.linalg.norm", "np.linalg.norm(x, 'fro')", (M23,)),
    # -- methods and attributes -----------------------------------------------------------------
    Case(".sum()", "x.sum(axis=0)", (M23,)),
    Case(".mean()", "x.mean()", (M23,)),
    Case(".max()", "x.max(axis=1)", (M23,), "distinct"),
    Case(".min()", "x.min()", (M23,), "distinct"),
    Case(".prod()", "x.prod(axis=0)", (M23,)),
    Case(".var()", "x.var()", (M23,)),
    Case(".std()", "x.std(axis=0)", (M23,)),
    Case(".cumsum()", "x.cumsum(axis=0)", (M23,)),
    Case(".cumprod()", "x.cumprod(axis=1)", (M23,), autograd=False),
    Case(".dot()", "x.dot(y)", (M23, (3,)), wrt=(0, 1)),
    Case(".reshape()", "x.reshape(3, 2)", (M23,)),
    Case(".ravel()", "x.ravel()", (M23,)),
    Case(".flatten()", "x.flatten()", (M23,)),
    Case(".squeeze()", "x.squeeze(axis=0)", ((1, 3),)),
    Case(".transpose()", "x.transpose()", (M23,)),
    Case(".swapaxes()", "x.swapaxes(0, 1)", (M23,)),
    Case(".clip()", "x.clip(-0.5, 0.55)", (M23,), "distinct"),
    Case(".astype()", "x.astype(float) * x", (M23,)),
    Case(".copy()", "x.copy() * x", (M23,)),
    Case(".repeat()", "x.repeat(2)", (M23,), autograd=False),
    Case(".trace()", "x.trace()", (M33,), autograd=False),
    Case(".T", "x.T @ x", (M23,)),
    Case(".ndim", "x * x.ndim", (M23,)),
    Case(".size", "x * x.size", (M23,)),
    # -- scipy.special --------------------------------------------------------------------------
    Case("scipy.special.expit", "scipy.special.expit(x)", (M23,)),
    Case("scipy.special.logit", "scipy.special.logit(x)", (M23,), "prob"),
    Case("scipy.special.erf", "scipy.special.erf(x)", (M23,)),
    Case("scipy.special.erfc", "scipy.special.erfc(x)", (M23,)),
    Case("scipy.special.erfinv", "scipy.special.erfinv(x)", (M23,), "unit"),
    Case("scipy.special.erfcinv", "scipy.special.erfcinv(x + 1.0)", (M23,), "unit"),
    Case("scipy.special.ndtr", "scipy.special.ndtr(x)", (M23,)),
    Case("scipy.special.log_ndtr", "scipy.special.log_ndtr(x)", (M23,)),
    Case("scipy.special.gammaln", "scipy.special.gammaln(x)", (M23,), "pos"),
    Case("scipy.special.gamma", "scipy.special.gamma(x)", (M23,), "pos"),
    Case("scipy.special.rgamma", "scipy.special.rgamma(x)", (M23,), "pos"),
    Case("scipy.special.gammasgn", "scipy.special.gammasgn(x) * x", (M23,), "pos", autograd=False),
    Case("scipy.special.psi", "scipy.special.psi(x)", (M23,), "pos"),
    Case("scipy.special.i0", "scipy.special.i0(x)", (M23,)),
    Case("scipy.special.i1", "scipy.special.i1(x)", (M23,)),
    Case("scipy.special.j0", "scipy.special.j0(x)", (M23,)),
    Case("scipy.special.j1", "scipy.special.j1(x)", (M23,)),
    Case("scipy.special.y0", "scipy.special.y0(x)", (M23,), "pos"),
    Case("scipy.special.y1", "scipy.special.y1(x)", (M23,), "pos"),
    Case("scipy.special.jv", "scipy.special.jv(2.0, x)", (M23,)),
    Case("scipy.special.yv", "scipy.special.yv(2.0, x)", (M23,), "pos"),
    Case("scipy.special.iv", "scipy.special.iv(2.0, x)", (M23,)),
    Case("scipy.special.xlogy", "scipy.special.xlogy(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("scipy.special.xlog1py", "scipy.special.xlog1py(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("scipy.special.logsumexp", "scipy.special.logsumexp(x, axis=1)", (M23,)),
    Case("scipy.special.softmax", "scipy.special.softmax(x, axis=0)", (M23,), autograd=False),
    Case(
        "scipy.special.log_softmax", "scipy.special.log_softmax(x, axis=1)", (M23,), autograd=False
    ),
    Case("scipy.special.beta", "scipy.special.beta(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("scipy.special.betaln", "scipy.special.betaln(x, y)", (M23, M23), "pos", wrt=(0, 1)),
    Case("scipy.special.betainc", "scipy.special.betainc(2.0, 3.0, x)", (M23,), "prob"),
    Case("scipy.special.gammainc", "scipy.special.gammainc(2.5, x)", (M23,), "pos"),
    Case("scipy.special.gammaincc", "scipy.special.gammaincc(2.5, x)", (M23,), "pos"),
    Case("scipy.special.polygamma", "scipy.special.polygamma(1, x)", (M23,), "pos"),
    Case("scipy.special.multigammaln", "scipy.special.multigammaln(x + 2.0, 2)", ((),), "pos"),
    Case("scipy.special.yn", "scipy.special.yn(2, x)", (M23,), "pos"),
    Case("scipy.special.ive", "scipy.special.ive(1.5, x)", (M23,), "pos"),
    # -- scipy.stats, scipy.signal ----------------------------------------------------------------
    *[
        Case(
            f"scipy.stats.norm.{m}",
            f"scipy.stats.norm.{m}(x, y, z)",
            (M23, (3,), (3,)),
            "pos",
            wrt=(0, 1, 2),
        )
        for m in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")
    ],
    *[
        Case(
            f"scipy.stats.t.{m}",
            f"scipy.stats.t.{m}(x, 4.0, y, z)",
            (M23, (3,), (3,)),
            "pos",
            wrt=(0, 1, 2),
        )
        for m in ("pdf", "logpdf", "cdf", "logcdf")
    ],
    *[
        Case(f"scipy.stats.{d}.{m}", f"scipy.stats.{d}.{m}(x, {a})", (M23,), dom)
        for d, a, dom in (
            ("chi2", "3.0", "pos"),
            ("gamma", "2.5", "pos"),
            ("beta", "2.0, 3.0", "prob"),
        )
        for m in ("pdf", "logpdf", "cdf")
    ],
    *[
        Case(f"scipy.stats.poisson.{m}", f"scipy.stats.poisson.{m}(3.0, x)", (M23,), "pos")
        for m in ("pmf", "logpmf", "cdf")
    ],
    Case("scipy.signal.convolve", "scipy.signal.convolve(x, y)", ((5,), (3,)), wrt=(0, 1)),
    Case(
        "scipy.signal.convolve",
        "scipy.signal.convolve(x, y, mode='same')",
        ((4, 3), (2, 2)),
        wrt=(0, 1),
    ),
    # -- products, decompositions, selection (issue 13) -------------------------------------------
    Case("np.einsum", "np.einsum('ij,jk->ik', x, y)", (M23, (3, 2)), wrt=(0, 1)),
    Case("np.einsum", "np.einsum('...i,...i', x, y)", (M23, M23), wrt=(0, 1)),
    Case("np.tensordot", "np.tensordot(x, y, axes=1)", (M23, (3, 2)), wrt=(0, 1)),
    Case("np.inner", "np.inner(x, y)", (M23, (4, 3)), wrt=(0, 1)),
    Case("np.vdot", "np.vdot(x, y)", (M23, M23), wrt=(0, 1)),
    Case("np.kron", "np.kron(x, y)", (M23, (2, 2)), wrt=(0, 1)),
    Case("np.cross", "np.cross(x, y)", ((2, 3), (2, 3)), wrt=(0, 1)),
    Case("np.linalg.pinv", "np.linalg.pinv(x)", ((3, 2),), autograd=False),
    Case("np.linalg.svd", "np.linalg.svd(x, compute_uv=False)", ((3, 2),), autograd=False),
    Case("np.linalg.svd", "np.sum(np.linalg.svd(x, full_matrices=False)[1] ** 3)", ((3, 2),)),
    Case("np.linalg.eigh", "np.linalg.eigh(x + x.T)[0]", (M33,)),
    Case("np.linalg.eigvalsh", "np.linalg.eigvalsh(x + x.T)", (M33,), autograd=False),
    Case("np.linalg.qr", "np.linalg.qr(x)[1] ** 2", ((3, 2),), autograd=False),
    Case("np.diagonal", "np.diagonal(x, 1)", (M33,)),
    Case(".diagonal()", "x.diagonal()", (M33,), autograd=False),
    Case(".real", "x.real * x", (M23,), autograd=False),
    Case(".imag", "x.imag + x", (M23,), autograd=False),
    Case(".conj()", "x.conj() * x", (M23,), autograd=False),
    Case(".conjugate()", "x.conjugate() * 2.0", (M23,), autograd=False),
    Case("np.fft.fftshift", "np.fft.fftshift(x)", ((5,),), autograd=False),
    Case("np.fft.ifftshift", "np.fft.ifftshift(x, axes=1)", (M23,), autograd=False),
    Case("np.gradient", "np.gradient(x, 0.5)", ((5,),), autograd=False),
    Case("np.pad", "np.pad(x, 1, mode='edge')", (M23,), autograd=False),
    Case("np.pad", "np.pad(x, ((0, 1), (2, 0)))", (M23,)),
    Case("np.partition", "np.partition(x, 1)[1]", ((5,),), "distinct", autograd=False),
    Case("np.rollaxis", "np.rollaxis(x, 2)", ((2, 3, 2),)),
    Case("np.take", "np.take(x, [0, 2, 2])", ((4,),), autograd=False),
    Case(".take()", "x.take([1, 1, 0], axis=1)", (M23,), autograd=False),
    Case("np.median", "np.median(x, axis=0)", ((3, 2),), "distinct", autograd=False),
    Case(
        "np.select",
        "np.select([x > 0.05, x < -0.95], [x * 2.0, x * x], 1.0)",
        (M23,),
        "distinct",
        autograd=False,
    ),
    Case("np.split", "np.split(x, 2)[1] * np.split(x, 2)[0]", ((4,),), autograd=False),
    Case("np.array_split", "np.array_split(x, 2, axis=1)[1]", (M23,), autograd=False),
    Case("np.vsplit", "np.vsplit(x, 2)[0]", ((4, 2),), autograd=False),
    Case("np.hsplit", "np.hsplit(x, 2)[1]", ((2, 4),), autograd=False),
    Case("np.dsplit", "np.dsplit(x, 2)[0]", ((2, 2, 4),), autograd=False),
    # -- ad_compiler ----------------------------------------------------------------------------
    Case(
        "ad_compiler.stop_gradient",
        "x * ad_compiler.stop_gradient(x)",
        (M23,),
        autograd=False,
        expected="c * x",  # central differences see the whole x * x
    ),
]
