"""Issue 14: forward mode (jvp), jacobian, hessian, hvp, and grad of grad.

Expected values never come from ad_compiler. Each case is compared with:
- autograd running the same source (`np` rebound to autograd.numpy by
  test_oracles.autograd_version), wherever the function writes into no array;
- where it does: autograd on a twin (the same mathematics without array writes, TWINS), and
  central differences of the original function (float64, Richardson, gradcheck_helpers): jvp as
  d/dt f(x + t v), a Jacobian column by column, a Hessian as the Jacobian of the
  central-difference gradient (nested: only checked against the other oracles, loosely);
- closed forms where they are short (the Rosenbrock Hessian, the neuron's, tanh(W x)'s Jacobian).
test_oracles_agree checks those oracles against each other on every case (it runs without the
new transforms). Cases run on the python backend; CASES marked numba also run on numba.

Run `python tests/test_issue14_transforms.py` to evaluate every oracle and print how far apart
they are.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import autograd
import lecture_functions as lf
import numpy as np
import pytest
from control_functions import rosenbrock_loop
from gradcheck_helpers import central, copies, directional
from reliability_functions import loop_write_argument
from test_oracles import VALUE_RTOL, array_write, autograd_version

import ad_compiler as ad
from ad_compiler import grad
from ad_compiler.errors import ADCompilerError, GradientInputError

TIGHT = {"rtol": 1e-9, "atol": 1e-11}  # against autograd and closed forms
CD = {"rtol": 1e-6, "atol": 1e-7}  # against central differences
# against nested central differences (second derivatives): atol scaled by the largest entry
CD2 = {"rtol": 1e-5, "atol": 1e-5, "scaled": True}

# -- the functions, as a user writes them ---------------------------------------------------------


def euler(k, x0):
    """100 explicit Euler steps of x' = -k x + sin(x); the final x."""
    x = x0
    dt = 0.01
    for _ in range(100):
        x = x + dt * (-k * x + np.sin(x))
    return x


def scalar_fn(x):
    return x * np.sin(x) + np.exp(-x * x)


def tanh_layer(W, x):
    return np.tanh(W @ x)


def tanh_energy(W, x):
    q = np.tanh(W @ x)
    return np.sum(q * q)


def fill_loop(x):
    """Writes its output array element by element, each entry reading the running state."""
    n = x.shape[0]
    y = np.zeros(n)
    acc = 0.0
    for i in range(n):
        acc = 0.5 * acc + np.sin(x[i])
        y[i] = acc * x[(i + 1) % n]
    return y


def outer_sin(x):
    """A 2-D output: the Jacobian has shape (n, n, n)."""
    return np.outer(np.sin(x), x) + x[0]


def while_branch(x, k):
    total = 0.0
    i = 0
    while i < len(x):
        if x[i] > 0.0:
            total += k * x[i] ** 2 * np.sin(x[i])
        else:
            total -= np.exp(k * x[i])
        i += 1
    y = total
    steps = 0
    while y > 0.1 and steps < 50:  # the trip count depends on the values
        y = 0.8 * y - 0.01 * y * y
        steps += 1
    return y


def damped(x):
    """A scalar while loop with a branch inside, for grad of grad."""
    y = x
    total = 0.0
    n = 0
    while abs(y) > 0.05 and n < 30:
        if y > 1.0:
            y = 0.9 * y - 0.1 * np.sin(y)
        else:
            y = 0.7 * y + 0.05 * y * y
        total += y * y
        n += 1
    return total


def _smooth(z):
    return z * np.tanh(z) + np.log1p(z * z)


def with_helper(x, c):
    return _smooth(x) * c + _smooth(x[::-1])


def with_helper_sum(x, c):
    return np.sum(with_helper(x, c) * x)


def inplace_energy(x):
    n = x.shape[0]
    y = np.zeros(n - 1)
    for i in range(n - 1):
        y[i] = x[i + 1] * np.sin(x[i]) - x[i] ** 2
    return np.sum(y * y) + x[0] ** 3


def smooth_argument(x):
    """Writes into its argument (the caller's array must stay as it was)."""
    for i in range(1, x.shape[0]):
        x[i] = 0.5 * x[i - 1] * x[i] + np.sin(x[i])
    return x * x


# Twins: the same mathematics without writes into arrays, so that autograd can differentiate it
# (an oracle for the in-place originals; test_oracles_agree checks the values are equal).


def fill_loop_twin(x):
    n = x.shape[0]
    ys = []
    acc = 0.0
    for i in range(n):
        acc = 0.5 * acc + np.sin(x[i])
        ys.append(acc * x[(i + 1) % n])
    return np.array(ys)


def smooth_argument_twin(x):
    prev = x[0]
    out = [prev * prev]
    for i in range(1, x.shape[0]):
        prev = 0.5 * prev * x[i] + np.sin(x[i])
        out.append(prev * prev)
    return np.array(out)


def inplace_energy_twin(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        y = x[i + 1] * np.sin(x[i]) - x[i] ** 2
        total += y * y
    return total + x[0] ** 3


def loop_write_argument_twin(x):
    prev = x[0]
    total = prev
    for i in range(1, x.shape[0]):
        prev = prev * x[i] + 1.0
        total += prev
    return total


TWINS = {fill_loop: fill_loop_twin, smooth_argument: smooth_argument_twin,
         inplace_energy: inplace_energy_twin, loop_write_argument: loop_write_argument_twin}


def pair_out(x):
    return np.sin(x), np.cos(x)


# -- closed forms ---------------------------------------------------------------------------------


def d_scalar_fn(x):
    return np.sin(x) + x * np.cos(x) - 2.0 * x * np.exp(-x * x)


def d2_scalar_fn(x):
    return 2.0 * np.cos(x) - x * np.sin(x) + (4.0 * x * x - 2.0) * np.exp(-x * x)


def rosenbrock_hessian(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] -= 400.0 * x[i]
        H[i + 1, i] -= 400.0 * x[i]
    return H


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    for i in range(len(x) - 1):
        r = x[i + 1] - x[i] ** 2
        g[i] += -400.0 * x[i] * r - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * r
    return g


def sigmoid_d2(a):
    s = 1.0 / (1.0 + np.exp(-a))
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def neuron_hessian_w(w, x):
    """f = s(w . u) with u = (x0, x1, 1): H = s''(a) u u^T."""
    u = np.array([x[0], x[1], 1.0])
    return sigmoid_d2(w @ u) * np.outer(u, u)


def tanh_jac_W(W, x):
    """d tanh(W x)_i / d W_jk = (1 - t_i^2) delta_ij x_k."""
    return np.einsum("ij,k->ijk", np.diag(1.0 - np.tanh(W @ x) ** 2), x)


def tanh_jac_x(W, x):
    return (1.0 - np.tanh(W @ x) ** 2)[:, None] * W


# -- inputs ---------------------------------------------------------------------------------------

rng = np.random.default_rng(14)
K, X0 = 0.7, 1.0
W = 0.7 * rng.normal(size=(5, 2))  # m = 5 outputs, n = 2 inputs (jacrev and jacfwd both pay)
XV = rng.normal(size=2)
VW = rng.normal(size=(5, 2))
VX = rng.normal(size=2)
ROS5 = 0.5 * rng.normal(size=5) + 0.5
ROS20 = 0.5 * rng.normal(size=20) + 0.5
V5 = rng.normal(size=5)
V20 = rng.normal(size=20)
XF = rng.normal(size=6)
VF = rng.normal(size=6)
XW = np.array([0.9, -0.4, 1.7, 0.3, -1.1])  # both branches; the second loop runs 6 times
VWB = rng.normal(size=5)
XH = rng.normal(size=4)
VH = rng.normal(size=4)
XE = rng.normal(size=6)
VE = rng.normal(size=6)
XA = 0.5 * rng.normal(size=5)
VA = rng.normal(size=5)
W_LECT, X_LECT = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
VW_LECT, VX_LECT = np.array([0.3, -0.2, 0.5]), np.array([1.0, 0.4])

# -- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Case:
    fn: Callable
    args: tuple
    wrt: Any = 0
    extra: Any = None  # the tangent (jvp) or vector (hvp)
    exact: Callable | None = None  # closed form of the expected result: exact(*args)
    numba: bool = False
    shape: tuple | None = None  # expected result shape, where the layout is the point

    @property
    def id(self) -> str:
        size = "".join(f"-n{np.size(a)}" for a in self.args if np.size(a) > 1)[:8]
        return f"{self.fn.__name__}{size}-wrt{self.wrt}".replace(" ", "").replace("'", "")

    @property
    def positions(self) -> tuple:
        items = self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)
        names = self.fn.__code__.co_varnames
        return tuple(names.index(w) if isinstance(w, str) else w for w in items)

    @property
    def argnum(self):
        return self.positions if isinstance(self.wrt, tuple) else self.positions[0]

    @property
    def extras(self) -> tuple:
        return self.extra if isinstance(self.wrt, tuple) else (self.extra,)


def hv(H, v):
    return np.tensordot(H, v, np.ndim(v))


JVP = [
    Case(scalar_fn, (1.3,), 0, 0.7, lambda x: d_scalar_fn(x) * 0.7, numba=True),
    Case(euler, (K, X0), 0, -0.4),
    Case(euler, (K, X0), (0, 1), (0.3, -1.2)),
    Case(rosenbrock_loop, (ROS5,), 0, V5, lambda x: rosenbrock_grad(x) @ V5),
    Case(lf.neuron_arrays, (W_LECT, X_LECT), 0, VW_LECT),
    Case(lf.neuron_arrays, (W_LECT, X_LECT), (0, 1), (VW_LECT, VX_LECT)),
    Case(tanh_layer, (W, XV), 0, VW, lambda W_, x: hv(tanh_jac_W(W_, x), VW)),
    Case(tanh_layer, (W, XV), 1, VX, lambda W_, x: tanh_jac_x(W_, x) @ VX),
    Case(tanh_layer, (W, XV), (0, 1), (VW, VX),
         lambda W_, x: hv(tanh_jac_W(W_, x), VW) + tanh_jac_x(W_, x) @ VX),
    Case(fill_loop, (XF,), 0, VF),
    Case(while_branch, (XW, 0.8), 0, VWB, numba=True),
    Case(while_branch, (XW, 0.8), 1, 0.6),
    Case(with_helper, (XH, 1.5), 0, VH),
    Case(outer_sin, (XH,), 0, VH),
    Case(smooth_argument, (XA,), 0, VA),
]

JACOBIAN = [
    Case(tanh_layer, (W, XV), 0, exact=tanh_jac_W, numba=True, shape=(5, 5, 2)),
    Case(tanh_layer, (W, XV), 1, exact=tanh_jac_x, shape=(5, 2)),
    Case(fill_loop, (XF,), 0, numba=True, shape=(6, 6)),
    Case(outer_sin, (XH,), 0, shape=(4, 4, 4)),
    Case(with_helper, (XH, 1.5), 1, shape=(4,)),
    Case(smooth_argument, (XA,), 0, shape=(5, 5)),
    Case(rosenbrock_loop, (ROS5,), 0, exact=lambda x: rosenbrock_grad(x), shape=(5,)),
    Case(while_branch, (XW, 0.8), 0, shape=(5,)),
    Case(scalar_fn, (1.3,), 0, exact=d_scalar_fn, shape=()),
]

HESSIAN = [
    Case(rosenbrock_loop, (ROS5,), 0, exact=rosenbrock_hessian, shape=(5, 5)),
    Case(rosenbrock_loop, (ROS20,), 0, exact=rosenbrock_hessian, numba=True, shape=(20, 20)),
    Case(lf.neuron_arrays, (W_LECT, X_LECT), "w", exact=neuron_hessian_w, numba=True,
         shape=(3, 3)),
    Case(scalar_fn, (1.3,), 0, exact=d2_scalar_fn, shape=()),
    Case(tanh_energy, (W, XV), 0, shape=(5, 2, 5, 2)),
    Case(while_branch, (XW, 0.8), 0, shape=(5, 5)),
    Case(with_helper_sum, (XH, 1.5), 0, shape=(4, 4)),
    Case(inplace_energy, (XE,), 0, shape=(6, 6)),
    Case(loop_write_argument, (0.5 * XA,), 0, shape=(5, 5)),
]

HVP = [
    Case(rosenbrock_loop, (ROS5,), 0, V5, lambda x: rosenbrock_hessian(x) @ V5),
    Case(rosenbrock_loop, (ROS20,), 0, V20, lambda x: rosenbrock_hessian(x) @ V20, numba=True),
    Case(tanh_energy, (W, XV), 0, VW),
    Case(tanh_energy, (W, XV), (0, 1), (VW, VX)),
    Case(while_branch, (XW, 0.8), 0, VWB),
    Case(inplace_energy, (XE,), 0, VE),
]

# grad(grad(f, wrt=first), wrt=second): wrt is (first, second)
GRAD2 = [
    Case(euler, (K, X0), (0, 0), numba=True),
    Case(euler, (K, X0), (0, 1)),
    Case(lf.neuron, (2.0, -1.0, -3.0, -2.0, -3.0), (0, 0),
         exact=lambda w0, x0, w1, x1, w2: sigmoid_d2(w0 * x0 + w1 * x1 + w2) * x0 * x0),
    Case(scalar_fn, (1.3,), (0, 0), exact=d2_scalar_fn),
    Case(damped, (2.0,), (0, 0)),
]


# -- oracles --------------------------------------------------------------------------------------


@functools.cache
def ag(fn):
    return autograd_version(fn)


def autograd_source(case):
    """The function autograd differentiates: the case's own, or its twin if it writes arrays."""
    return case.fn if array_write(case.fn) is None else TWINS.get(case.fn)


def shifted(args, positions, vs, t):
    new = list(copies(args))
    for p, v in zip(positions, vs):
        new[p] = new[p] + t * np.asarray(v, dtype=float)
    return new


def jvp_cd(fn, args, positions, vs):
    """d/dt fn(args + t v) at 0, every wrt argument moved together."""
    return directional(lambda t: fn(*shifted(args, positions, vs, t)), (0.0,), 0, 1.0)


def jacobian_cd(fn, args, pos):
    """Column by column, in the layout output.shape + argument.shape."""
    shape = np.shape(args[pos])
    cols = []
    for index in np.ndindex(shape):
        unit = np.zeros(shape)
        unit[index] = 1.0
        cols.append(np.asarray(jvp_cd(fn, args, (pos,), (unit,)), dtype=float))
    J = np.stack(cols, axis=-1)
    return J.reshape(J.shape[:-1] + shape)


def second_cd(fn, args, q, p):
    """d/d args[p] of the central-difference gradient w.r.t. args[q]: shape q.shape + p.shape."""
    return jacobian_cd(lambda *a: central(fn, a, q), args, p)


def quiet(call):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call()


def oracles(kind, case) -> list[tuple[str, Any, dict]]:
    """(name, expected, tolerance) for every oracle that applies to the case."""
    args, fn = case.args, case.fn
    out = []
    if case.exact is not None:
        out.append(("exact", case.exact(*copies(args)), TIGHT))
    source = autograd_source(case)
    if source is not None:
        g = ag(source)
        if kind == "jvp":
            _, e = quiet(lambda: autograd.make_jvp(g, case.argnum)(*copies(args))(case.extra))
        elif kind == "jacobian":
            e = quiet(lambda: autograd.jacobian(g, case.argnum)(*copies(args)))
        elif kind == "hessian":
            e = quiet(lambda: autograd.hessian(g, case.argnum)(*copies(args)))
        elif kind == "hvp" and not isinstance(case.wrt, tuple):
            e = quiet(lambda: autograd.hessian_vector_product(g, case.argnum)(
                *copies(args), case.extra))
        elif kind == "hvp":  # block i: d/dt grad_i f(args + t v)
            e = tuple(quiet(lambda p=p: autograd.jacobian(
                lambda t: autograd.grad(g, p)(*shifted(args, case.positions, case.extras, t))
            )(0.0)) for p in case.positions)
        else:  # grad2
            first, second = case.wrt
            e = quiet(lambda: autograd.grad(autograd.grad(g, first), second)(*copies(args)))
        out.append(("autograd" if source is fn else "autograd of twin", e, TIGHT))
    pos = case.positions
    if kind == "jvp":
        out.append(("central", jvp_cd(fn, args, pos, case.extras), CD))
    elif kind == "jacobian":
        out.append(("central", jacobian_cd(fn, args, pos[0]), CD))
    elif kind == "hessian":
        out.append(("central", second_cd(fn, args, pos[0], pos[0]), CD2))
    elif kind == "hvp":
        blocks = tuple(sum(hv(second_cd(fn, args, q, p), v) for p, v in zip(pos, case.extras))
                       for q in pos)
        out.append(("central", blocks if isinstance(case.wrt, tuple) else blocks[0], CD2))
    else:
        first, second = case.wrt
        e = jvp_cd(lambda *a: central(fn, a, first), args, (second,), (1.0,))
        out.append(("central", e, CD2))
    return out


@functools.cache
def expected(kind, case):
    """The oracles that do not need ad_compiler; the first is the tightest one available."""
    return oracles(kind, case)


def tolerances(tol, want) -> dict:
    if not tol.get("scaled"):
        return tol
    return {"rtol": tol["rtol"], "atol": tol["atol"] * max(1.0, float(np.max(np.abs(want))))}


def assert_close(got, want, tol, what):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{what}: {type(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, tol, f"{what}[{i}]")
        return
    assert np.shape(got) == np.shape(want), f"{what}: shape {np.shape(got)} != {np.shape(want)}"
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               err_msg=what, **tolerances(tol, want))


def check(kind, case, got):
    if case.shape is not None:
        assert np.shape(got) == case.shape
    for name, want, tol in expected(kind, case):
        # nested central differences are checked against autograd in test_oracles_agree
        if tol is CD2:
            continue
        assert_close(got, want, tol, f"{kind} of {case.id} vs {name}")


def params(cases):
    out = []
    for case in cases:
        for backend in ("python", "numba") if case.numba else ("python",):
            out.append(pytest.param(case, backend, id=f"{case.id}-{backend}"))
    return out


def same_args(after, before):
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a, b, err_msg="the caller's argument was modified")


# -- the transforms against the oracles -----------------------------------------------------------


@pytest.mark.parametrize(("case", "backend"), params(JVP))
def test_jvp(case, backend):
    args = copies(case.args)
    value, tangent_out = ad.jvp(case.fn, wrt=case.wrt, backend=backend)(
        *args, tangent=case.extra)
    same_args(args, case.args)
    assert_close(value, case.fn(*copies(case.args)),
                 {"rtol": VALUE_RTOL[backend], "atol": 1e-13}, f"value of {case.id}")
    check("jvp", case, tangent_out)


@pytest.mark.parametrize(("case", "backend"), params(JACOBIAN))
def test_jacobian(case, backend):
    args = copies(case.args)
    J = ad.jacobian(case.fn, wrt=case.wrt, backend=backend)(*args)
    same_args(args, case.args)
    check("jacobian", case, J)


@pytest.mark.parametrize(("case", "backend"), params(HESSIAN))
def test_hessian(case, backend):
    args = copies(case.args)
    H = ad.hessian(case.fn, wrt=case.wrt, backend=backend)(*args)
    same_args(args, case.args)
    check("hessian", case, H)


@pytest.mark.parametrize(("case", "backend"), params(HVP))
def test_hvp(case, backend):
    args = copies(case.args)
    Hv = ad.hvp(case.fn, wrt=case.wrt, backend=backend)(*args, vector=case.extra)
    same_args(args, case.args)
    check("hvp", case, Hv)


@pytest.mark.parametrize(("case", "backend"), params(GRAD2))
def test_grad_of_grad(case, backend):
    first, second = case.wrt
    d2 = grad(grad(case.fn, wrt=first, backend=backend), wrt=second, backend=backend)
    check("grad2", case, d2(*copies(case.args)))


def test_rosenbrock_hessian_and_hvp_one_transform_many_lengths():
    """Compiled per argument kinds like grad: one object serves n = 5, 12, 20."""
    hess = ad.hessian(rosenbrock_loop, backend="python")
    hvp = ad.hvp(rosenbrock_loop, backend="python")
    for n in (5, 12, 20):
        x = np.cos(np.arange(n) * 0.7)
        v = np.sin(np.arange(n) + 1.0)
        np.testing.assert_allclose(hess(x), rosenbrock_hessian(x), **TIGHT)
        np.testing.assert_allclose(hvp(x, vector=v), rosenbrock_hessian(x) @ v, **TIGHT)


CONSISTENCY = [(rosenbrock_loop, (ROS20,)), (tanh_energy, (W, XV)), (inplace_energy, (XE,)),
               (while_branch, (XW, 0.8))]


@pytest.mark.parametrize(("fn", "args"), CONSISTENCY, ids=[f.__name__ for f, _ in CONSISTENCY])
def test_hvp_is_hessian_times_vector(fn, args):
    """hvp without forming H agrees with hessian @ v, and both with the oracle."""
    v = np.cos(np.arange(np.size(args[0])) * 1.3).reshape(np.shape(args[0]))
    H = ad.hessian(fn, backend="python")(*copies(args))
    Hv = ad.hvp(fn, backend="python")(*copies(args), vector=v)
    np.testing.assert_allclose(Hv, hv(H, v), rtol=1e-10, atol=1e-10)
    case = Case(fn, args, 0, v)
    check("hvp", case, Hv)


IDENTITY = [(rosenbrock_loop, (ROS20,)), (while_branch, (XW, 0.8)), (inplace_energy, (XE,)),
            (tanh_energy, (W, XV)), (loop_write_argument, (0.5 * XA,)),
            (with_helper_sum, (XH, 1.5))]


@pytest.mark.parametrize(("fn", "args"), IDENTITY, ids=[f.__name__ for f, _ in IDENTITY])
def test_jvp_equals_gradient_dot_tangent(fn, args):
    """<grad f(x), v> == jvp(f)(x, tangent=v)[1], and both equal d/dt f(x + t v)."""
    v = np.sin(np.arange(np.size(args[0])) * 0.9 + 0.2).reshape(np.shape(args[0]))
    _, d = ad.jvp(fn, backend="python")(*copies(args), tangent=v)
    g = grad(fn, backend="python")(*copies(args))
    assert d == pytest.approx(float(np.sum(g * v)), rel=1e-10, abs=1e-12)
    assert d == pytest.approx(jvp_cd(fn, args, (0,), (v,)), rel=1e-6, abs=1e-7)


def test_jacobian_tuple_wrt_is_a_tuple_of_jacobians():
    """JAX's jacrev(argnums=(0, 1)): one Jacobian per argument."""
    JW, Jx = ad.jacobian(tanh_layer, wrt=(0, 1), backend="python")(W, XV)
    np.testing.assert_allclose(JW, tanh_jac_W(W, XV), **TIGHT)
    np.testing.assert_allclose(Jx, tanh_jac_x(W, XV), **TIGHT)


def test_neuron_second_derivatives_match_the_lecture_point():
    """At w = (2, -3, -3), x = (-1, -2): a = 1, s = 0.731059, s'' = s (1 - s)(1 - 2 s)."""
    s = 1.0 / (1.0 + np.exp(-1.0))
    H = ad.hessian(lf.neuron_arrays, wrt="w", backend="python")(W_LECT, X_LECT)
    u = np.array([-1.0, -2.0, 1.0])
    np.testing.assert_allclose(H, s * (1 - s) * (1 - 2 * s) * np.outer(u, u), rtol=1e-12)
    assert sigmoid_d2(1.0) == pytest.approx(-0.090858, abs=1e-6)


# -- refusals -------------------------------------------------------------------------------------


def test_jacobian_of_a_tuple_returning_function_is_refused():
    with pytest.raises(ADCompilerError, match="pair_out"):
        ad.jacobian(pair_out, backend="python")(XH)


def test_tangent_of_the_wrong_shape_is_refused():
    with pytest.raises(GradientInputError):
        ad.jvp(tanh_layer, wrt=1, backend="python")(W, XV, tangent=np.ones(3))
    with pytest.raises(GradientInputError):
        ad.jvp(tanh_layer, wrt=0, backend="python")(W, XV, tangent=VW.T)


def test_tuple_wrt_needs_a_tuple_tangent():
    with pytest.raises(GradientInputError):
        ad.jvp(tanh_layer, wrt=(0, 1), backend="python")(W, XV, tangent=VW)


def test_hvp_vector_of_the_wrong_shape_is_refused():
    with pytest.raises(GradientInputError):
        ad.hvp(rosenbrock_loop, backend="python")(ROS5, vector=V20)


# -- the oracles themselves (no ad_compiler) ------------------------------------------------------

ALL = [("jvp", c) for c in JVP] + [("jacobian", c) for c in JACOBIAN] + [
    ("hessian", c) for c in HESSIAN] + [("hvp", c) for c in HVP] + [("grad2", c) for c in GRAD2]


def spread(kind, case) -> list[tuple[str, float]]:
    """How far every oracle is from the first (tightest) one, relative to its tolerance."""
    found = expected(kind, case)
    _, first, _ = found[0]
    out = []
    for name, want, tol in found[1:]:
        for w, f in zip(*(x if isinstance(x, tuple) else (x,) for x in (want, first))):
            t = tolerances(tol, f)
            err = np.max(np.abs(np.asarray(w) - np.asarray(f))
                         / (t["atol"] + t["rtol"] * np.abs(np.asarray(f))), initial=0.0)
            out.append((name, float(err)))
    return out


@pytest.mark.parametrize(("kind", "case"), ALL, ids=[f"{k}-{c.id}" for k, c in ALL])
def test_oracles_agree(kind, case):
    """Every case has at least two oracles, and they agree within the looser tolerance."""
    found = expected(kind, case)
    assert len(found) >= 2, [name for name, _, _ in found]
    for name, ratio in spread(kind, case):
        assert ratio <= 1.0, f"{kind} {case.id}: {name} is {ratio:.2g} tolerances off"
    value = case.fn(*copies(case.args))
    assert np.all(np.isfinite(value))
    if case.fn in TWINS:
        np.testing.assert_allclose(TWINS[case.fn](*copies(case.args)), value, rtol=1e-13)


def test_autograd_runs_where_it_should():
    """The autograd oracle must not vanish silently: count the cases it covers."""
    covered = sum(1 for kind, case in ALL if any(n.startswith("autograd") for n, _, _ in
                                                 expected(kind, case)))
    assert covered == len(ALL), covered


if __name__ == "__main__":
    for kind, case in ALL:
        names = [name for name, _, _ in expected(kind, case)]
        worst = max((r for _, r in spread(kind, case)), default=float("nan"))
        print(f"{kind:9} {case.id:40} {'+'.join(names):24} worst/tol {worst:.2g}")
