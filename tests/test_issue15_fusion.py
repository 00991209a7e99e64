"""Issue 15: runs of elementwise array statements become one numba loop (fusion.py) in the
numba programs of array code (compiled_for, tiering). Every gradient is checked against central
differences of the original function, values against CPython running it, and the fused program
against the unoptimized NumPy program; both sides of the run-time shape check are reached.

AD_FUSION_FUZZ=N checks N random programs instead of the CI profile's few."""

import os
import re
import textwrap

import numpy as np
import pytest
from gradcheck_helpers import central
from test_issue15_checkpoint import rnn_loss as rnn

from ad_compiler import grad, value_and_grad


def rosen_slices(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def broadcast_product(x, y):
    return np.sum(np.sin(x[1:]) * y * x[:-1] + np.tanh(y * x[1:]))


def rk4(x, v, k, c, dt, steps):
    for _ in range(steps):
        k1v = -k * x - c * v - x**3
        x2 = x + 0.5 * dt * v
        v2 = v + 0.5 * dt * k1v
        k2v = -k * x2 - c * v2 - x2**3
        x = x + dt * v2
        v = v + dt * k2v
    return np.sum(x * x + v * v)


def grid(W, V):
    d = W[1:, :] - W[:-1, :]
    return np.sum(np.exp(-(d**2)) * V + W[1:, :] * V / (1.0 + V * V))


def shifted(x):
    y = np.zeros_like(x)
    y[1:] += x[:-1] * x[1:]
    y[:-1] += np.sin(x[1:])
    return np.sum(y * y) + np.sum(np.exp(y) * x)


def numba_source(g, args):
    return g._compile(g._kinds(list(args)), numpy=False)[1]


def check(fn, args, wrt, fused=True):
    g = grad(fn, wrt=wrt)
    compiled = g.compiled_for(*args)
    got = compiled(*args)
    got = got if isinstance(got, tuple) else (got,)
    literal = grad(fn, wrt=wrt, optimize=False, backend="python")(*args)
    literal = literal if isinstance(literal, tuple) else (literal,)
    names = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
    for name, value, plain in zip(wrt, got, literal):
        expected = central(fn, args, names.index(name))
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(value, plain, rtol=1e-10, atol=1e-12, err_msg=name)
    source = numba_source(g, args)
    if fused is not None:  # (None: whichever)
        assert ("same_shape" in source or "for i in range(n)" in source) == fused, source
    return source


def test_slices_become_one_loop():
    x = np.random.default_rng(0).normal(size=9)
    source = check(rosen_slices, (x,), ("x",))
    # the forward expression reduce_grad received for its shape is never computed
    fused = source.split("if same_shape:")[1].split("else:")[0]
    assert "100.0 * t" not in fused.replace("100.0 * 2", "")
    # the two slices of x_bar are one stencil: each element stored once, no zero-fill
    assert "x_bar = np.empty_like(x)" in fused and "x_bar[i] = x_bar_i" in fused


@pytest.mark.parametrize("ylen", [1, 8])
def test_broadcasting_takes_the_unfused_path(ylen):
    rng = np.random.default_rng(ylen)
    x, y = rng.normal(size=9), rng.normal(size=ylen)
    check(broadcast_product, (x, y), ("x", "y"))


def test_loop_of_array_steps():
    rng = np.random.default_rng(2)
    args = (rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, size=6), 0.1, 0.05, 4)
    source = check(rk4, args, ("x", "v", "k"))
    assert source.count("for i") >= 2  # forward and reverse steps fused


def test_two_dimensional_runs():
    rng = np.random.default_rng(3)
    W, V = rng.normal(size=(5, 4)), rng.normal(size=(4, 4))
    source = check(grid, (W, V), ("W", "V"))
    assert "for i0 in range" in source and "for i1 in range" in source


def test_accumulating_into_a_slice_that_is_read_later():
    x = np.random.default_rng(4).normal(size=7)
    check(shifted, (x,), ("x",))


def test_value_and_sums_in_a_run():
    x = np.random.default_rng(5).normal(size=8)
    g = value_and_grad(rosen_slices)
    value, gradient = g.compiled_for(x)(x)
    assert value == pytest.approx(rosen_slices(x), rel=1e-13)
    np.testing.assert_allclose(gradient, central(rosen_slices, (x,), 0), rtol=1e-6)


def stencil3(x):
    return np.sum((x[2:] - 2.0 * x[1:-1] + x[:-2]) ** 2 * np.cos(x[1:-1]))


def stencil_gap(x):  # offsets 0 and 2, nothing at 1: element 1 gets no share when len(x) < 4
    return np.sum(np.sin(x[2:]) * x[:-2] ** 2)


def stencil_two_bases(x, y):
    return np.sum(x[1:] * y[:-1] - np.exp(x[:-1]) * y[1:])


def stencil_mixed(x):  # a full-array term too: x_bar is not the stencil's alone
    return np.sum(x**2) + np.sum(np.tanh(x[1:] * x[:-1]))


def stencil_lengths(x):  # slices of different lengths: the shape check fails
    return np.sum(x[1:] * x[1:]) + np.sum(x[:-1])


@pytest.mark.parametrize("fn", [stencil3, stencil_gap, stencil_mixed, rosen_slices])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 40])
def test_stencils_of_one_array(fn, n):
    x = np.random.default_rng(n).normal(size=n)
    check(fn, (x,), ("x",), fused=True)
    g = value_and_grad(fn)
    value, gradient = g.compiled_for(x)(x)
    assert value == pytest.approx(fn(x), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(gradient, central(fn, (x,), 0), rtol=1e-6, atol=1e-8)


def test_stencil_written_whole_is_not_zero_filled():
    x = np.random.default_rng(1).normal(size=12)
    fused = check(stencil3, (x,), ("x",)).split("if same_shape:")[1].split("\n    else:")[0]
    assert "np.empty_like(x)" in fused and "x_bar[:] = 0.0" in fused  # no iteration: zeros
    gap = check(stencil_gap, (x,), ("x",)).split("if same_shape:")[1].split("\n    else:")[0]
    assert "np.zeros_like(x)" in gap  # element 1 is written only when the loop runs twice


@pytest.mark.parametrize("n", [1, 2, 6])
def test_stencils_of_two_arrays_and_mismatched_slices(n):
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=n), rng.normal(size=n)
    check(stencil_two_bases, (x, y), ("x", "y"))
    check(stencil_lengths, (x,), ("x",))
    y_short = rng.normal(size=n + 1)  # shapes differ: NumPy broadcasting or its error
    if n == 1:
        check(stencil_two_bases, (x, y_short), ("x", "y"))


def test_one_element_and_empty_arrays():
    for n in (1, 2):
        x = np.linspace(0.3, 0.9, n)
        g = grad(rosen_slices)
        np.testing.assert_allclose(g.compiled_for(x)(x), central(rosen_slices, (x,), 0),
                                   rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# Random programs: chains of elementwise operations on slices of one length, numbers, in-place
# accumulation into slices, sums.

VIEWS = ("x[2:]", "x[1:-1]", "x[:-2]", "y")
UNARY = ("np.sin({})", "np.tanh({})", "np.exp(-({}) ** 2)", "({}) ** 2", "np.cos({}) * c",
         "({}) / (1.0 + ({}) ** 2)", "np.log1p(({}) ** 2)", "-({})", "np.abs({})")
BINARY = ("{} + {}", "{} - {}", "{} * {}", "c * {} - {}")


def _expression(rng, names, depth):
    if depth == 0 or rng.random() < 0.25:
        return str(rng.choice(names))
    if rng.random() < 0.45:
        inner = _expression(rng, names, depth - 1)
        return "(" + str(rng.choice(UNARY)).format(inner, inner) + ")"
    a, b = _expression(rng, names, depth - 1), _expression(rng, names, depth - 1)
    return "(" + str(rng.choice(BINARY)).format(a, b) + ")"


def random_program(seed):
    rng = np.random.default_rng(seed)
    names = list(VIEWS)
    lines = ["def f(x, y, c):"]
    for k in range(int(rng.integers(2, 5))):
        lines.append(f"    a{k} = {_expression(rng, names, 3)}")
        names.append(f"a{k}")
    if rng.random() < 0.5:
        lines.append("    z = np.zeros_like(x)")
        lines.append(f"    z[1:-1] += {_expression(rng, names, 2)}")
        lines.append(f"    z[:-2] += {_expression(rng, names, 2)}")
        names.append("z[2:]")
    total = " + ".join(f"np.sum({_expression(rng, names, 2)})" for _ in range(2))
    lines.append(f"    return {total}")
    return "\n".join(lines) + "\n"


def _load(source, tmp_path, seed):
    path = tmp_path / f"fused_{seed}.py"
    path.write_text("import numpy as np\n\n\n" + textwrap.dedent(source))
    namespace = {"__name__": f"fused_{seed}"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["f"]


SEEDS = range(int(os.environ.get("AD_FUSION_FUZZ", "5")))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_elementwise_programs(seed, tmp_path):
    source = random_program(seed)
    f = _load(source, tmp_path, seed)
    rng = np.random.default_rng(100 + seed)
    x, y, c = rng.normal(size=7) * 0.7, rng.normal(size=5) * 0.7, 0.8
    with np.errstate(all="ignore"):
        value = f(x, y, c)
    assert np.isfinite(value), source
    g = value_and_grad(f, wrt=("x", "y", "c"))
    got_value, got = g.compiled_for(x, y, c)(x, y, c)
    assert got_value == pytest.approx(value, rel=1e-11, abs=1e-12), source
    literal = grad(f, wrt=("x", "y", "c"), optimize=False, backend="python")(x, y, c)
    for pos, (name, analytic, plain) in enumerate(zip("xyc", got, literal)):
        expected = central(f, (x, y, c), pos)
        np.testing.assert_allclose(analytic, expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}\n{source}")
        np.testing.assert_allclose(analytic, plain, rtol=1e-9, atol=1e-11,
                                   err_msg=f"{name}\n{source}")


# ---------------------------------------------------------------------------------------------
# Outer products in two-dimensional loops, accumulation in place, independent groups


def accumulate_outer(u, V):
    A = np.zeros((u.shape[0], V.shape[1]))
    first = A  # the array A starts as: a loop writing A's elements in place would change it
    for t in range(V.shape[0]):
        A = A + np.outer(u * V[t, 0], V[t]) * 2.0
    return np.sum(A * A) + 10.0 * np.sum(first * u[0])


def test_rnn_weight_gradients_accumulate_in_place():
    rng = np.random.default_rng(6)
    W, U = rng.normal(size=(4, 4)) * 0.4, rng.normal(size=(4, 3)) * 0.4
    b, xs, h0 = rng.normal(size=4) * 0.1, rng.normal(size=(5, 3)), rng.normal(size=4) * 0.1
    source = check(rnn, (W, U, b, xs, h0), ("W", "U", "b", "h0"))
    # the two weight gradients (4x4 and 4x3): one loop each, written over in place
    assert "W_bar[i0" in source and "U_bar[i0" in source
    assert "U_bar.shape == t" in source


def test_an_array_another_name_holds_is_not_written_in_place():
    rng = np.random.default_rng(7)
    u, V = rng.normal(size=3), rng.normal(size=(4, 5))
    g = value_and_grad(accumulate_outer, wrt=("u", "V"))
    value, _ = g.compiled_for(u, V)(u, V)
    assert value == pytest.approx(accumulate_outer(u, V), rel=1e-12)
    source = check(accumulate_outer, (u, V), ("u", "V"))
    assert not re.search(r"\bA(_1)?\[i0[^\]]*\] = ", source)  # never written in place


# Random loops: vector steps with matrix products, outer-product accumulations (in place when
# nothing else holds the array), sometimes an alias of the accumulator kept to the end.

STEP_NAMES = ("h", "y", "(W @ h)", "(W.T @ y)")


def random_loop_program(seed):
    rng = np.random.default_rng(seed)
    lines = ["def f(x, y, W, c):", "    A = np.zeros((x.shape[0], y.shape[0]))"]
    alias = rng.random() < 0.5
    if alias:
        lines.append("    first = A")
    lines += ["    h = x", "    total = 0.0", f"    for t in range({int(rng.integers(1, 4))}):"]
    lines.append(f"        h = np.tanh({_expression(rng, list(STEP_NAMES), 2)})")
    lines.append(f"        A = A + np.outer(h, {rng.choice(['y', 'h', 'y * h'])}) * c")
    if rng.random() < 0.5:
        lines.append(f"        total = total + np.sum({_expression(rng, ['h', 'y'], 2)})")
    end = "np.sum(A * W) + total"
    if alias:
        end += " + np.sum(first * W)"
    lines.append(f"    return {end}")
    return "\n".join(lines) + "\n"


LOOP_SEEDS = range(int(os.environ.get("AD_FUSION_FUZZ", "3")))


@pytest.mark.parametrize("seed", LOOP_SEEDS)
def test_random_loops_with_outer_products(seed, tmp_path):
    source = random_loop_program(seed)
    f = _load(source, tmp_path, f"loop_{seed}")
    rng = np.random.default_rng(200 + seed)
    args = (rng.normal(size=4) * 0.5, rng.normal(size=4) * 0.5, rng.normal(size=(4, 4)) * 0.4,
            0.7)
    compare(f, args, ("x", "y", "W", "c"), f(*args), source)


def compare(f, args, wrt, value, message):
    """compiled_for's value against CPython's `value`, its gradients against central
    differences of f and the unoptimized NumPy program."""
    got_value, got = value_and_grad(f, wrt=wrt).compiled_for(*args)(*args)
    assert got_value == pytest.approx(value, rel=1e-11, abs=1e-12), message
    literal = grad(f, wrt=wrt, optimize=False, backend="python")(*args)
    for pos, (analytic, plain) in enumerate(zip(got, literal)):
        np.testing.assert_allclose(analytic, central(f, args, pos), rtol=1e-5, atol=1e-6,
                                   err_msg=message)
        np.testing.assert_allclose(analytic, plain, rtol=1e-9, atol=1e-11, err_msg=message)


def stencil_beside_another_slice(x, w):
    # x_bar's stencil cuts one element, w_bar's slice three: the loop's length is x's share
    return np.sum(x[1:] * x[:-1] * w[:-3])


@pytest.mark.parametrize("n", [1, 3, 6])
def test_stencil_loop_length_comes_from_its_own_slices(n):
    rng = np.random.default_rng(n)
    x, w = rng.normal(size=n), rng.normal(size=n + 2)
    check(stencil_beside_another_slice, (x, w), ("x", "w"))


# Broadcast operands: a bias vector along the last axis, keepdims reductions (length 1 along
# the reduced axis) in runs of the full shape. The fused loop reads b[i1] and m[i0, 0]; the
# shape check compares each axis, so other shapes (b of length 1, a transposed reduction)
# take NumPy's path.


def softmax_loss(Z, b, y):
    z = np.tanh(Z + b) * 2.0
    z = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(y * np.log(p))


def column_scaled(Z, b):
    s = np.sum(Z * Z, axis=0, keepdims=True)
    return np.sum(np.tanh(Z / (1.0 + s)) * b + Z * s)


@pytest.mark.parametrize("shape", [(5, 4), (1, 4), (5, 1), (1, 1)])
def test_bias_and_keepdims_reductions_are_fused(shape):
    rng = np.random.default_rng(sum(shape))
    Z, b, y = rng.normal(size=shape), rng.normal(size=shape[1]), rng.uniform(size=shape)
    source = check(softmax_loss, (Z, b, y), ("Z", "b"))
    assert re.search(r"\w+\[i0(_\d+)?, 0\]", source), source  # a keepdims result in a loop
    assert re.search(r"\bb\[i1(_\d+)?\]", source), source  # the bias
    value, _ = value_and_grad(softmax_loss, wrt=("Z", "b")).compiled_for(Z, b, y)(Z, b, y)
    assert value == pytest.approx(softmax_loss(Z, b, y), rel=1e-12)


@pytest.mark.parametrize("blen", [1, 4])
def test_reductions_along_the_first_axis_and_shapes_numpy_broadcasts_otherwise(blen):
    """s has length 1 along axis 0 (read s[0, i1]); a bias of length 1 also broadcasts in
    NumPy but fails the fused loop's check (b.shape[0] == Z.shape[1]): NumPy's path."""
    rng = np.random.default_rng(blen)
    Z, b = rng.normal(size=(3, 4)), rng.normal(size=blen)
    source = check(column_scaled, (Z, b), ("Z", "b"))
    assert re.search(r"\w+\[0, i1(_\d+)?\]", source), source


BROADCAST_NAMES = ("X", "b", "m", "s", "X[:, ::-1]")


def random_broadcast_program(seed):
    rng = np.random.default_rng(seed)
    names = list(BROADCAST_NAMES)
    lines = [
        "def f(X, b, c):",
        "    m = np.max(X, axis=1, keepdims=True)",
        f"    s = np.{rng.choice(['sum', 'mean'])}(X * X, axis={rng.choice([0, 1, -1])}, "
        "keepdims=True)",
    ]
    for k in range(int(rng.integers(2, 5))):
        lines.append(f"    a{k} = X * {_expression(rng, names, 3)}")  # one full operand at least
        names.append(f"a{k}")
    total = " + ".join(f"np.sum({_expression(rng, names, 2)})" for _ in range(2))
    lines.append(f"    return {total}")
    return "\n".join(lines) + "\n"


BROADCAST_SEEDS = range(int(os.environ.get("AD_FUSION_FUZZ", "2")))


@pytest.mark.parametrize("seed", BROADCAST_SEEDS)
def test_random_programs_with_broadcast_operands(seed, tmp_path):
    source = random_broadcast_program(seed)
    f = _load(source, tmp_path, f"broadcast_{seed}")
    rng = np.random.default_rng(300 + seed)
    for shape in [(4, 3), (1, 3), (4, 1)]:
        args = (rng.normal(size=shape) * 0.6, rng.normal(size=shape[1]) * 0.6, 0.8)
        with np.errstate(all="ignore"):
            value = f(*args)
        if np.isfinite(value):
            compare(f, args, ("X", "b", "c"), value, f"{shape}\n{source}")


# Found by an adversary writing array code as users do: numba programs of array code must
# compute what NumPy computes (reductions of int arrays, negative powers of zero, `...`).


def mean_of_ints(X, K):
    return np.sum(X * np.mean(K, axis=0, keepdims=True)) + np.sum(X * K.mean(axis=1)[:, None])


def sums_of_ints_and_bools(X, K):
    return np.sum(X * np.sum(K > 0, axis=1, keepdims=True)) + np.sum(X * np.std(K, axis=0))


def negative_powers(X, k):
    return np.sum(X**k) + np.sum(np.tanh(X) ** -2 * 0.5 + X**-1)


def ellipsis_updates(X):
    a = X * 2.0
    a[...] += 0.5
    a[0, ...] = a[0, ...] - np.max(a, axis=1)[0]
    return np.sum(a * X) + np.sum(a[..., 1])


@pytest.mark.parametrize("fn", [mean_of_ints, sums_of_ints_and_bools], ids=lambda f: f.__name__)
def test_reductions_of_integer_arrays_along_an_axis(fn):
    """The numba reductions kept the int array's dtype: a mean of ints was truncated."""
    rng = np.random.default_rng(11)
    X, K = rng.normal(size=(3, 4)), rng.integers(-3, 4, size=(3, 4))
    check(fn, (X, K), ("X",), fused=None)
    value, _ = value_and_grad(fn, wrt="X").compiled_for(X, K)(X, K)
    assert value == pytest.approx(fn(X, K), rel=1e-13)


def test_negative_integer_powers_of_zero_are_inf_as_in_numpy():
    """A fused loop computes an array's `x ** -1` element by element: inf at 0 (NumPy), where
    a number's int power raises ZeroDivisionError."""
    X = np.array([[0.0, 1.5], [2.0, 3.0]])
    d = value_and_grad(negative_powers, wrt="X").compiled_for(X, -1)
    value, gradient = d(X, -1)
    with np.errstate(divide="ignore"):
        expected_value = negative_powers(X, -1)
        t = np.tanh(X)  # d/dX of X**-1 + 0.5 tanh(X)**-2 + X**-1, by hand
        expected = -2.0 * X**-2.0 - t**-3.0 * (1.0 - t**2)
    assert value == expected_value == np.inf
    np.testing.assert_allclose(gradient, expected, rtol=1e-13)  # (-inf at 0 too)
    Y = np.array([[0.5, 1.5], [2.0, 3.0]])
    check(negative_powers, (Y, -3), ("X",))


def test_ellipsis_indexing_compiles_for_numba():
    X = np.random.default_rng(12).normal(size=(3, 4))
    source = check(ellipsis_updates, (X,), ("X",), fused=None)
    code = [line for line in source.splitlines() if not line.strip().startswith("#")]
    assert not any("[..." in line or "...]" in line for line in code), source
    value, _ = value_and_grad(ellipsis_updates).compiled_for(X)(X)
    assert value == pytest.approx(ellipsis_updates(X.copy()), rel=1e-13)


def prod_rows(X):
    return np.sum(np.prod(X, axis=1, keepdims=True) * 2.0)


@pytest.mark.parametrize("shape", [(2, 0), (0, 3), (2, 0, 3)])
def test_product_over_an_empty_axis_has_an_empty_gradient(shape):
    X = np.ones(shape)
    for backend in ("python", "numba"):
        value, gradient = value_and_grad(prod_rows, backend=backend)(X)
        assert value == prod_rows(X) and gradient.shape == shape


# Loops over the shape NumPy broadcasts to, when no operand has it (`X[:, None, :] - C[None,
# :, :]`), with sums along axes inside them (into an array of zeros, known after the loop),
# and cheap values recomputed in the reverse loop instead of stored by the forward one.


def kmeans(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.sum(np.min(D, axis=1))


@pytest.mark.parametrize("shape", [(6, 3, 2), (1, 3, 2), (6, 1, 2), (6, 3, 1)])
def test_kmeans_is_two_loops_over_the_broadcast_shape(shape):
    n, K, d = shape
    rng = np.random.default_rng(n * K * d)
    C, X = rng.normal(size=(K, d)), rng.normal(size=(n, d))
    source = check(kmeans, (C, X), ("C",))
    assert source.count("for i2") == 2, source  # the forward sum, the reverse sum over points
    # the sum along the last axis runs it outside the centroids' axis, read from a copy
    # (X's element read once per row of D: loop_invariant.py)
    pattern = (r"for i2 in range\(n2\):\n.*\n\s+if trip\w* > 0:\n\s+(t\d+) = t1\[i0, 0, i2\]"
               r"\n\s+for i1 in range\(n1\):\n"
               r"\s+D_sum\[i0, i1\] \+= \(\1 - t2_swapped\[0, i2, i1\]\) \*\* 2")
    assert re.search(pattern, source), source
    assert re.search(r"total\[0, i1_1, i2_1\] \+=", source), source
    fused = source.split("if same_shape:")[1].split("else:")[0]
    assert "np.empty" not in fused, source  # the differences are recomputed, never stored
    value, _ = value_and_grad(kmeans, wrt="C").compiled_for(C, X)(C, X)
    assert value == pytest.approx(kmeans(C, X), rel=1e-12)


def recomputed_after_a_write(x, y):
    a = x[:, None] * y[None, :]  # (never recomputed: a is written into below)
    a[0, :] = 1.0
    b = x[:, None] + y[None, :]  # (recomputed in the reverse loop: never written)
    s = np.sum(np.sin(a * b), axis=1)
    return np.sum(np.cos(s) * x) + np.sum(a)


def test_values_written_into_are_not_recomputed():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=4), rng.normal(size=3)
    compare(recomputed_after_a_write, (x, y), ("x", "y"), recomputed_after_a_write(x, y), "")
    source = check(recomputed_after_a_write, (x, y), ("x", "y"), fused=None)
    reverse = source.split("# reverse of line")[2]  # (line 512's: the sum's reverse loop)
    assert re.search(r"= a\[i0_\d+, i1_\d+\]", reverse), source  # a: read as stored
    assert re.search(r"\(t\d+\[i0_\d+, 0\] \+ t\d+\[0, i1_\d+\]\)", reverse), source  # b
    assert "b_out" not in source, source  # so the forward loop never stores b


OUTER_VIEWS = ("X[:, None, :]", "C[None, :, :]", "w", "T", "c")
OUTER_SUMS = ("axis=-1", "axis=1", "axis=0", "axis=(0, 2)", "axis=-1, keepdims=True",
              "axis=1, keepdims=True", "axis=0, keepdims=True")  # fmt: skip
OUTER_USES = ("np.sum({}) * c", "np.sum(np.min({}, axis=1))", "np.sum(np.tanh({}))",
              "np.sum({} * {})", "np.sum(np.max({}, axis=0) ** 2)")  # fmt: skip


def random_outer_program(seed):
    """Three-dimensional expressions of X[:, None, :] (n, 1, d), C[None, :, :] (1, K, d) and
    w (d,), summed along random axes (the results 2-d, 1-d or keepdims 3-d)."""
    rng = np.random.default_rng(seed)
    names = list(OUTER_VIEWS)
    op = rng.choice(["-", "+", "*"])
    lines = ["def f(X, C, w, c):", f"    T = X[:, None, :] {op} C[None, :, :]"]
    uses = []
    for k in range(int(rng.integers(1, 4))):
        axis = str(rng.choice(OUTER_SUMS))
        full = rng.choice(["T", "X[:, None, :] - C[None, :, :]", "C[None, :, :] * X[:, None, :]"])
        summed = f"({_expression(rng, names, 3)}) {rng.choice(['*', '+', '-'])} ({full})"
        lines.append(f"    R{k} = np.sum({summed}, {axis})")
        use = str(rng.choice(OUTER_USES))
        if axis == "axis=(0, 2)" and "axis=1)" in use:  # R is one-dimensional
            use = "np.sum({})"
        uses.append(use.format(f"R{k}", f"R{k}"))
    lines.append(f"    return {' + '.join(uses)} + np.sum({_expression(rng, names, 2)})")
    return "\n".join(lines) + "\n"


# (each takes numba 30-50 s to compile on 2 cores: the CI profile checks one)
OUTER_SEEDS = range(int(os.environ.get("AD_FUSION_FUZZ", "1")))


@pytest.mark.parametrize("seed", OUTER_SEEDS)
def test_random_programs_over_broadcast_shapes_with_axis_sums(seed, tmp_path):
    source = random_outer_program(seed)
    f = _load(source, tmp_path, f"outer_{seed}")
    rng = np.random.default_rng(500 + seed)
    checked = 0
    for n, K, d in [(4, 3, 2), (1, 3, 2), (4, 1, 2), (4, 3, 1)]:
        args = (rng.normal(size=(n, d)) * 0.6, rng.normal(size=(K, d)) * 0.6,
                rng.normal(size=d) * 0.6, 0.8)  # fmt: skip
        with np.errstate(all="ignore"):
            value = f(*args)
        if np.isfinite(value):
            compare(f, args, ("X", "C", "w", "c"), value, f"{(n, K, d)}\n{source}")
            checked += 1
    assert checked >= 2, source
    fused = numba_source(grad(f, wrt=("X", "C", "w", "c")), args)
    assert re.search(r"\[i0(_\d+)?, 0, i2(_\d+)?\]", fused), fused  # X[:, None, :] in a loop


# Arithmetic on a run's sums waits until after the loop: the reverse step of an integrator
# whose coefficient is differentiated is one loop, and a later statement that reads such a
# number starts a new one.


def coefficient_steps(x, c, steps):
    for _ in range(steps):
        k1 = -c * x - x**3
        x2 = x + 0.1 * k1
        x = x + 0.05 * (k1 - c * x2)
    return np.sum(x * x)


def sum_read_back(x, c):
    s = np.sum(np.sin(x) * c)
    u = s * 2.0 + c  # (after the first loop)
    y = np.exp(x * 0.5) * u  # reads u: a loop of its own
    return np.sum(y * x) + u


def test_arithmetic_on_sums_runs_after_the_loop():
    rng = np.random.default_rng(8)
    x = rng.normal(size=6)
    source = check(coefficient_steps, (x, 0.7, 3), ("x", "c"))
    reverse = source.split("for _ in range(steps - 1, -1, -1):")[1]
    assert reverse.count("for i") == 1, source  # the whole reverse step
    assert re.search(r"c_bar = c_bar \+ t\d+\n", reverse), source  # after it
    source = check(sum_read_back, (x, 0.7), ("x", "c"))
    value, _ = value_and_grad(sum_read_back, wrt="x").compiled_for(x, 0.7)(x, 0.7)
    assert value == pytest.approx(sum_read_back(x, 0.7), rel=1e-13)


# Found by an adversary: a value of length 1 along an axis the loop runs zero times along was
# never written (garbage values); a sum along every axis indexed a 0-d accumulator.


def unit_row_of_an_empty_array(X, c):
    m = np.sum(X, axis=0, keepdims=True)  # (1, d) even when X has no rows
    w = m * c + 2.0  # computed in the (n, d) loop
    return np.sum(X * w) + np.sum(w * w)


def no_centroids(X, C):
    A = X[:, None, :] * 2.0 + 1.0  # (n, 1, d)
    T = A - C[None, :, :]  # (n, K, d), K = 0
    return np.sum(T * T) + np.sum(A * A)


def sum_along_axis0(x, y):
    return np.sum(x * y + x, axis=0)


def sum_along_both_axes(X, w):
    return np.sum(X * w + X, axis=(0, 1))


@pytest.mark.parametrize(
    "fn, args",
    [
        (unit_row_of_an_empty_array, (np.zeros((0, 2)), 0.7)),
        (unit_row_of_an_empty_array, (np.arange(6.0).reshape(3, 2) / 5, 0.7)),
        (no_centroids, (np.arange(6.0).reshape(3, 2) / 5, np.zeros((0, 2)))),
        (no_centroids, (np.arange(6.0).reshape(3, 2) / 5, np.ones((2, 2)))),
        (sum_along_axis0, (np.arange(3.0), np.ones(3) * 0.5)),
        (sum_along_both_axes, (np.arange(6.0).reshape(2, 3) / 5, np.arange(3.0))),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_empty_loops_and_sums_along_every_axis(fn, args):
    names = fn.__code__.co_varnames[:2]
    wrt = names if not isinstance(args[1], float) else names[:1]
    compare(fn, args, wrt, fn(*args), fn.__name__)


# Found by a reviewer: deferred arithmetic read a name a later sum of the run rebound; fused
# np.maximum/np.minimum must tie as NumPy does (the second operand: np.maximum(-0.0, 0.0) is
# 0.0), NaN included.


def sum_rebound_after_deferred(x, steps):
    s = 0.0
    r = 0.0
    for _ in range(steps):
        t = np.sum(x * x)
        u = t + s  # reads the s of the previous step
        s = np.sum(x * 3.0)  # rebinds it in the same run
        r = r + u
    return r + s


def signed_zero_ties(x):
    return np.sum(np.arctan2(np.maximum(x, 0.0), -1.0) + np.arctan2(np.minimum(x, -0.0), -1.0) + x)


def test_deferred_arithmetic_reads_values_before_the_run_rebinds_them():
    x = np.arange(1.0, 5.0)
    for steps in (1, 2):
        value, _ = value_and_grad(sum_rebound_after_deferred, wrt="x").compiled_for(x, steps)(
            x, steps
        )
        assert value == sum_rebound_after_deferred(x, steps)  # 60.0 and 120.0
    check(sum_rebound_after_deferred, (x, 2), ("x",), fused=None)


def test_fused_maximum_and_minimum_tie_and_propagate_nan_as_numpy():
    x = np.array([-0.0, 0.5, 0.0, -2.0, -0.0, 1.5])
    value, _ = value_and_grad(signed_zero_ties, wrt="x").compiled_for(x)(x)
    assert value == pytest.approx(signed_zero_ties(x), rel=1e-12)  # (a wrong zero: off by pi)
    source = check(signed_zero_ties, (x + 0.25,), ("x",))
    assert "rt.maximum(" in source and "rt.minimum(" in source, source
    y = np.array([np.nan, 1.0, -1.0])
    with np.errstate(invalid="ignore"):
        value, _ = value_and_grad(signed_zero_ties, wrt="x").compiled_for(y)(y)
    assert np.isnan(value) and np.isnan(signed_zero_ties(y))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_numba_extreme_grad_shares_ties_and_finds_nan_extremes_as_numpy(axis):
    from numba import njit

    from ad_compiler import runtime as rt

    X = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, np.nan, 2.0, 5.0], [4.0, 4.0, 4.0, 4.0]])
    for reduce in (rt.rmax, rt.rmin):
        with np.errstate(invalid="ignore"):
            out = reduce(X, axis, False)
        g = np.arange(1.0, out.size + 1).reshape(out.shape)
        expected = rt.extreme_grad(g, X, out, axis, False)  # NumPy's, split evenly
        got = njit(lambda g, X, out: rt.extreme_grad(g, X, out, axis, False))(g, X, out)
        np.testing.assert_array_equal(got, expected)
    empty = np.zeros((3, 0))
    means = njit(lambda x: rt.rmean(x, 1, False))(empty)
    assert means.shape == (3,) and np.isnan(means).all()
    grads = njit(lambda g, x: rt.mean_grad(g, x, 1, False))(np.ones(3), empty)
    assert grads.shape == (3, 0)
