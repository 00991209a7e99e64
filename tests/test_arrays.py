"""Array gradients: every function of tests/array_functions.py on both backends, Hypothesis
properties of broadcasting and reductions, the lecture's vectorized example, a two-layer network
against hand-written backpropagation, dtypes, and the caller's arrays left untouched.

Expected gradients come from central differences (ad_compiler's check_grad / numerical_grad, in
float64), from the lecture's numbers and closed forms, and from backpropagation written out here
in the lecture's matrix form.
"""

import array_functions as af
import numpy as np
import pytest
from gradcheck_helpers import cached, case_ids, copies
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ad_compiler import check_grad, grad, numerical_grad

BACKENDS = ("python", "numba")


def spread(shape, lo, hi, seed=0):
    """Distinct values evenly spread over [lo, hi], in a shuffled order: no ties for max/min."""
    shape = (shape,) if isinstance(shape, int) else shape
    values = np.linspace(lo, hi, int(np.prod(shape)))
    return np.random.default_rng(seed).permutation(values).reshape(shape)


def normal(shape, seed, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def away_from(x, points, margin=0.05):
    """x, after checking that no entry is within margin of a kink in points."""
    for p in points:
        assert np.all(np.abs(np.asarray(x) - p) > margin), f"an entry of x is near the kink {p}"
    return x


# (function, arguments): floats and float arrays are differentiated, ints are not. Inputs are
# away from kinks (asserted with away_from where a kink is near) and inside every domain.
P4 = np.abs(spread((4, 3), 0.1, 0.9, seed=2))
CASES = [
    (af.arithmetic, (spread(5, 0.5, 2.0, 1), spread(5, -2.0, -0.3, 2))),
    (af.arithmetic, (normal((2, 3), 3), spread((2, 3), 0.4, 1.9, 4))),
    (af.numpy_arithmetic, (spread((3, 2), 0.5, 1.5, 5), spread((3, 2), -1.5, -0.4, 6))),
    (af.exp_log, (spread(5, 0.2, 2.5, 7),)),
    (af.trig, (spread((2, 3), -1.2, 1.2, 8),)),
    (af.inverse_trig, (spread(6, -0.9, 0.85, 9),)),
    (af.hyperbolic, (away_from(spread(6, -1.5, 1.4, 10), [0.0]),)),
    (af.sqrt_square_reciprocal, (spread((3, 2), 0.3, 2.0, 11),)),
    (af.abs_sign, (away_from(spread(7, -1.4, 1.2, 12), [0.0, 0.25]),)),
    (af.maximum_minimum, (spread(6, -1.0, 1.0, 13), spread(6, -0.9, 1.1, 14))),
    (af.where_select, (spread((2, 4), -1.0, 1.0, 15), spread((2, 4), -0.93, 1.07, 16))),
    (af.clip_values, (away_from(spread(8, -1.6, 1.5, 17), [-1.0, -0.5, 0.75, 1.0]),)),
    (af.sign_only, (away_from(spread(5, -1.0, 1.0, 18) + 0.1, [0.0]),)),
    (af.powers, (spread(5, 0.4, 1.8, 19), spread(5, -1.2, 2.1, 20))),
    (af.two_argument_functions, (spread(4, 0.3, 1.5, 21), spread(4, -1.2, 1.1, 22))),
    (af.relu_squared, (away_from(spread(7, -1.3, 1.1, 23), [0.0, 0.5]),)),
    (af.sigmoid_layer, (normal((3, 2), 24),)),
    (af.scalar_with_array, (spread(5, -1.0, 0.9, 25), 0.37)),
    (af.scalar_with_array, (spread((2, 3), -1.0, 0.9, 26), -1.4)),
    (af.column_with_row, (normal((3, 1), 27), normal((1, 4), 28))),
    (af.bias_row, (normal((4, 3), 29), normal(3, 30))),
    (af.bias_row_2d, (normal((4, 3), 31), normal((1, 3), 32))),
    (af.vector_with_matrix, (normal(3, 33), normal((2, 3), 34))),
    (af.column_with_matrix, (normal((3, 1), 35), normal((3, 4), 36))),
    (af.matvec, (normal((3, 4), 37), normal(4, 38))),
    (af.vecmat, (normal(3, 39), normal((3, 4), 40))),
    (af.matmat, (normal((2, 3), 41), normal((3, 4), 42))),
    (af.vecvec, (normal(4, 43), normal(4, 44))),
    (af.dot_all_forms, (normal((3, 2), 45), normal((2, 4), 46), normal(2, 47), normal(3, 48))),
    (af.matmul_all_forms, (normal((3, 2), 49, 0.5), normal((2, 4), 50, 0.5), normal(2, 51),
                           normal(3, 52))),
    (af.dot_method, (normal((3, 2), 53), normal(2, 54))),
    (af.outer_product, (normal(3, 55), normal(4, 56))),
    (af.transposes, (normal((2, 3), 57), normal((3, 2), 58))),
    (af.gram_matrix, (normal((3, 2), 59),)),
    (af.reshape_method, (normal(6, 60),)),
    (af.reshape_function, (normal((2, 3), 61),)),
    (af.sum_reductions, (normal((3, 4), 62, 0.5),)),
    (af.mean_reductions, (normal((3, 4), 63),)),
    (af.max_reductions, (spread((3, 4), -1.0, 1.0, 64),)),
    (af.min_reductions, (spread((3, 4), -1.0, 1.0, 65),)),
    (af.reductions_1d, (spread(5, -1.0, 1.0, 66),)),
    (af.reduction_methods, (spread((3, 4), -1.0, 1.0, 67),)),
    (af.reductions_3d, (spread((2, 3, 4), -1.0, 1.0, 68),)),
    (af.logsumexp, (spread(6, -2.0, 1.5, 69),)),
    (af.standardize, (np.array([0.3, -1.1, 0.8]),)),
    (af.shapes_and_sizes, (normal((3, 4), 70),)),
    (af.constructors, (normal(3, 71),)),
    (af.fill_new_array, (normal(5, 72),)),
    (af.index_1d, (normal(6, 73), 2)),
    (af.index_1d, (normal(5, 74), -3)),
    (af.index_2d, (normal((4, 3), 75), 2, 1)),
    (af.index_2d, (normal((5, 4), 76), 0, 0)),
    (af.new_axes, (normal(4, 77),)),
    (af.fancy_index_2d, (P4, np.array([2, 0, 2, 1]))),
    (af.repeated_indices, (normal(5, 78), np.array([1, 3, 1]))),
    (af.repeated_indices, (normal(4, 79), np.array([2, 2, 2]))),
    (af.array_of_scalars, (0.4, -1.3, 0.9)),
    (af.array_of_entries, (normal(3, 80),)),
    (af.loop_over_rows, (spread((3, 4), -1.0, 1.0, 81),)),
    (af.loop_accumulate_array, (normal(4, 82), 3)),
    (af.mixed_scalar_array, (normal(4, 83), 0.3, -1.2, 2)),
    (af.scalar_reduction_mix, (spread(4, -1.0, 1.0, 84), spread(4, -1.5, 0.5, 85))),
    (af.softmax_cross_entropy, (normal((4, 3), 86), np.array([0, 2, 2, 1]))),
    (af.squared_norm, (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
    (af.squared_norm, (normal((3, 4), 87), normal(4, 88))),
    (af.linear_regression, (normal((5, 3), 89), normal(3, 90), 0.7, normal(5, 91))),
    (af.write_into_argument, (normal(4, 92),)),
    (af.write_row_into_argument, (normal((3, 3), 93), normal(3, 94))),
]


def mlp_arguments():
    """X (5 samples in rows, 3 features), labels, W1 (4 x 3), b1, W2 (3 classes x 4), b2, lam.

    The hidden pre-activations stay at least 0.05 away from ReLU's kink at 0."""
    X, W1, b1 = normal((5, 3), 100), normal((4, 3), 101), normal(4, 102, 0.5)
    away_from(X @ W1.T + b1, [0.0])
    return X, np.array([2, 0, 1, 2, 0]), W1, b1, normal((3, 4), 103), normal(3, 104, 0.5), 0.1


CASES += [(af.mlp_sigmoid, mlp_arguments()), (af.mlp_relu, mlp_arguments())]
# The same operations inside loops, which the numba backend compiles.
CASES += [
    (af.looped_elementwise, (np.array([0.45, 1.7, 0.9, 0.35, 1.25]),
                             np.array([-1.3, 0.8, -0.2, 1.1, 0.3]))),
    (af.looped_products, (normal((3, 2), 116, 0.7), normal((2, 4), 117, 0.7), normal(2, 118),
                          normal(3, 119), normal(2, 112))),
    (af.looped_reductions, (spread((3, 4), -1.0, 1.0, 120),)),
    (af.looped_indexing, (normal(6, 122), normal((4, 3), 123), P4, np.array([2, 0, 2, 1]),
                          np.array([1, 3, 1, 0]), 2, 1)),
    (af.looped_softmax_cross_entropy, (normal((4, 3), 126), np.array([0, 2, 2, 1]))),
]
MUTATING = (af.write_into_argument, af.write_row_into_argument)


IDS = case_ids(CASES)


def is_float(value):
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def float_positions(args):
    """wrt: the positions of every float and float array argument."""
    return tuple(i for i, a in enumerate(args) if is_float(a))



def assert_like(gradient, argument, what=""):
    """A gradient has its argument's type: float for float, array of its shape and dtype."""
    if isinstance(argument, np.ndarray):
        assert isinstance(gradient, np.ndarray), f"{what}: {type(gradient).__name__}"
        assert gradient.shape == argument.shape, f"{what}: shape {gradient.shape}"
        assert gradient.dtype == argument.dtype, f"{what}: dtype {gradient.dtype}"
    else:
        assert type(gradient) is type(argument), f"{what}: {type(gradient).__name__}"


# -- every function, both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_check_grad(fn, args, backend):
    wrt = float_positions(args)
    grads = cached(fn, wrt, backend)(*copies(args))
    assert isinstance(grads, tuple) and len(grads) == len(wrt)
    for pos, g in zip(wrt, grads):
        assert_like(g, args[pos], f"d/d argument {pos}")
    check_grad(fn, *copies(args), wrt=wrt, backend=backend, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_backends_agree(fn, args):
    wrt = float_positions(args)
    python = cached(fn, wrt, "python")(*copies(args))
    numba = cached(fn, wrt, "numba")(*copies(args))
    for pos, p, n in zip(wrt, python, numba):
        np.testing.assert_allclose(n, p, rtol=1e-10, atol=1e-13, err_msg=f"argument {pos}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", MUTATING, ids=lambda fn: fn.__name__)
def test_function_writing_into_its_argument(fn, backend):
    """Against central differences of a copy-on-call wrapper (the function itself changes the
    arguments it is given, so it cannot be called twice on the same arrays)."""
    args = next(a for f, a in CASES if f is fn)
    wrt = float_positions(args)

    def pure(*values):
        return fn(*copies(values))

    expected = numerical_grad(pure, *args, wrt=wrt)
    grads = cached(fn, wrt, backend)(*copies(args))
    for pos, g, e in zip(wrt, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8, err_msg=f"argument {pos}")


# -- the caller's arrays are never modified --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_inputs_not_modified(fn, args, backend):
    before = copies(args)
    wrt = float_positions(args)
    cached(fn, wrt, backend)(*args)
    for pos, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=f"argument {pos} was modified")
        else:
            assert a == b


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_not_modified_by_value_and_grad_of_a_writing_function(backend):
    A, v = normal((3, 3), 93), normal(3, 94)
    A0, v0 = A.copy(), v.copy()
    value, (dA, dv) = cached(af.write_row_into_argument, (0, 1), backend, True)(A, v)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(v, v0)
    assert value == pytest.approx(af.write_row_into_argument(A0.copy(), v0.copy()), rel=1e-12)
    assert dA.shape == A.shape and dv.shape == v.shape


# -- wrt over several arrays -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrt_several_arrays(backend):
    A, B, x, y = (normal((3, 2), 45), normal((2, 4), 46), normal(2, 47), normal(3, 48))
    all_four = cached(af.dot_all_forms, (0, 1, 2, 3), backend)(A, B, x, y)
    assert [g.shape for g in all_four] == [(3, 2), (2, 4), (2,), (3,)]
    named = grad(af.dot_all_forms, wrt=("y", "A", "x"), backend=backend)(A, B, x, y)
    assert [g.shape for g in named] == [(3,), (3, 2), (2,)]
    for g, k in zip(named, (3, 0, 2)):
        np.testing.assert_allclose(g, all_four[k], rtol=1e-12, atol=1e-14)
    expected = numerical_grad(af.dot_all_forms, A, B, x, y, wrt=(3, 0, 2))
    for g, e in zip(named, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrt_one_array_by_name(backend):
    W, x = normal((3, 4), 87), normal(4, 88)
    dx = grad(af.squared_norm, wrt="x", backend=backend)(W, x)
    assert isinstance(dx, np.ndarray) and dx.shape == (4,)
    np.testing.assert_allclose(dx, 2 * W.T @ (W @ x), rtol=1e-12)


# -- the lecture's vectorized example --------------------------------------------------------------

LECTURE_W = np.array([[0.1, 0.5], [-0.3, 0.8]])
LECTURE_X = np.array([0.2, 0.4])


@pytest.mark.parametrize("backend", BACKENDS)
def test_lecture_vectorized_example(backend):
    W, x = LECTURE_W.copy(), LECTURE_X.copy()
    value, (dW, dx) = cached(af.squared_norm, (0, 1), backend, True)(W, x)
    assert value == pytest.approx(0.116, abs=1e-12)
    np.testing.assert_allclose(dW, [[0.088, 0.176], [0.104, 0.208]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, [-0.112, 0.636], rtol=0, atol=1e-12)
    q = W @ x
    np.testing.assert_allclose(q, [0.22, 0.26], atol=1e-15)
    np.testing.assert_allclose(dW, 2 * np.outer(q, x), rtol=1e-14, atol=1e-16)  # 2 q x^T
    np.testing.assert_allclose(dx, 2 * W.T @ q, rtol=1e-14, atol=1e-16)  # 2 W^T q
    # the gradient has the shape of the variable it belongs to
    assert dW.shape == W.shape and dx.shape == x.shape


# -- a two-layer network against hand-written backpropagation ------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def backprop(X, labels, W1, b1, W2, b2, lam, activation):
    """Loss and (dW1, db1, dW2, db2) in the lecture's matrix form, batch in columns."""
    n = X.shape[0]
    a0 = X.T  # features x N
    z1 = W1 @ a0 + b1[:, None]
    if activation == "sigmoid":
        a1 = sigmoid(z1)
        g1 = a1 * (1.0 - a1)
    else:
        a1 = np.maximum(z1, 0.0)
        g1 = (z1 > 0).astype(float)
    z2 = W2 @ a1 + b2[:, None]  # classes x N
    shifted = z2 - z2.max(axis=0)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=0)
    onehot = np.zeros_like(p)
    onehot[labels, np.arange(n)] = 1.0
    loss = -np.mean(np.log(p[labels, np.arange(n)])) + 0.5 * lam * (
        np.sum(W1 * W1) + np.sum(W2 * W2))
    delta2 = (p - onehot) / n  # dC/dz2: softmax + cross-entropy, mean over the batch
    delta1 = (W2.T @ delta2) * g1  # delta(l) = (W(l+1)^T delta(l+1)) * g'(z(l))
    dW2 = delta2 @ a1.T + lam * W2  # dC/dW(l) = delta(l) a(l-1)^T, plus the L2 term
    db2 = delta2.sum(axis=1)  # dC/db(l) = sum of delta(l) over the batch
    dW1 = delta1 @ a0.T + lam * W1
    db1 = delta1.sum(axis=1)
    return loss, (dW1, db1, dW2, db2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "activation"), [(af.mlp_sigmoid, "sigmoid"),
                                                 (af.mlp_relu, "relu")])
def test_mlp_matches_backprop(fn, activation, backend):
    args = mlp_arguments()
    loss, expected = backprop(*args, activation)
    value, grads = cached(fn, ("W1", "b1", "W2", "b2"), backend, True)(*args)
    assert value == pytest.approx(loss, rel=1e-12)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    assert len(grads) == 4
    for name, g, e, a in zip(("W1", "b1", "W2", "b2"), grads, expected, args[2:6]):
        assert g.shape == a.shape, name
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=name)


def test_backprop_matches_central_differences():
    """The hand-written backprop itself is right (so it can serve as the reference)."""
    args = mlp_arguments()
    for fn, activation in ((af.mlp_sigmoid, "sigmoid"), (af.mlp_relu, "relu")):
        _, expected = backprop(*args, activation)
        numeric = numerical_grad(fn, *args, wrt=(2, 3, 4, 5))
        for e, n in zip(expected, numeric):
            np.testing.assert_allclose(e, n, rtol=1e-6, atol=1e-8)


# -- dtypes ----------------------------------------------------------------------------------------

FLOAT32_CASES = [
    (af.squared_norm, (normal((3, 4), 87), normal(4, 88))),
    (af.softmax_cross_entropy, (normal((4, 3), 86), np.array([0, 2, 2, 1]))),
    (af.bias_row, (normal((4, 3), 29), normal(3, 30))),
    (af.max_reductions, (spread((3, 4), -1.0, 1.0, 64),)),
    (af.scalar_with_array, (spread(5, -1.0, 0.9, 25), 0.37)),
]


def as_float32(args):
    return tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                 else a for a in args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), FLOAT32_CASES, ids=case_ids(FLOAT32_CASES))
def test_float32_gradients(fn, args, backend):
    wrt = float_positions(args)
    single = as_float32(args)
    grads32 = cached(fn, wrt, backend)(*single)
    grads64 = cached(fn, wrt, backend)(*copies(args))
    for pos, g32, g64 in zip(wrt, grads32, grads64):
        assert_like(g32, single[pos], f"d/d argument {pos}")
        if isinstance(g32, np.ndarray):
            assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5, err_msg=f"argument {pos}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_float32_and_float64(backend):
    W, x = normal((3, 4), 87), normal(4, 88)
    dW, dx = cached(af.squared_norm, (0, 1), backend)(W.astype(np.float32), x)
    assert dW.dtype == np.float32 and dW.shape == (3, 4)
    assert dx.dtype == np.float64 and dx.shape == (4,)
    q = W @ x
    np.testing.assert_allclose(dW, 2 * np.outer(q, x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx, 2 * W.T @ q, rtol=1e-4, atol=1e-5)
    X, b = normal((4, 3), 29), normal(3, 30)
    dX, db = cached(af.bias_row, (0, 1), backend)(X, b.astype(np.float32))
    assert dX.dtype == np.float64 and db.dtype == np.float32
    eX, eb = numerical_grad(af.bias_row, X, b, wrt=(0, 1))
    np.testing.assert_allclose(dX, eX, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(db, eb, rtol=1e-4, atol=1e-5)


# -- Hypothesis: broadcasting ----------------------------------------------------------------------


def broadcast_square(a, b):
    return np.sum((a * b + a) ** 2)


def broadcast_quotient(a, b):
    return np.sum(np.tanh(a - b) * b + a / (2.0 + b * b))


def values(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0))


def compare_with_numerical(fn, args, wrt):
    expected = numerical_grad(fn, *args, wrt=wrt)
    results = [cached(fn, wrt, backend)(*copies(args)) for backend in BACKENDS]
    for backend, grads in zip(BACKENDS, results):
        for pos, g, e in zip(wrt, grads, expected):
            assert_like(g, args[pos], f"{backend}, argument {pos}")
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{backend}, argument {pos}")
    for pos, p, n in zip(wrt, *results):
        np.testing.assert_allclose(n, p, rtol=1e-10, atol=1e-13, err_msg=f"argument {pos}")


# 1-D and 2-D operands: at most four compiled signatures per function.
BROADCAST_SHAPES = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2,
                                                     max_side=4)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("fn", [broadcast_square, broadcast_quotient],
                         ids=lambda fn: fn.__name__)
def test_broadcasting_property(fn, data):
    shape_a, shape_b = data.draw(BROADCAST_SHAPES).input_shapes
    a, b = data.draw(values(shape_a)), data.draw(values(shape_b))
    compare_with_numerical(fn, (a, b), (0, 1))


@settings(max_examples=25, deadline=None)
@given(shape=st.sampled_from([(4,), (3, 1), (2, 3)]), s=st.floats(-2.0, 2.0),
       data=st.data())
def test_broadcasting_scalar_property(shape, s, data):
    x = data.draw(values(shape))
    compare_with_numerical(broadcast_square, (x, s), (0, 1))


# -- Hypothesis: reductions ------------------------------------------------------------------------
# axis and keepdims must be literal constants in the source: one function per (op, axis,
# keepdims), each passing its reduction through smooth (a helper, inlined by the compiler).


def smooth(r):
    return np.sum(np.sin(r) + 0.5 * r * r)


def sum_all(x):
    return smooth(np.sum(x))


def sum_all_keep(x):
    return smooth(np.sum(x, keepdims=True))


def sum_0(x):
    return smooth(np.sum(x, axis=0))


def sum_0_keep(x):
    return smooth(np.sum(x, axis=0, keepdims=True))


def sum_last(x):
    return smooth(np.sum(x, axis=-1))


def sum_last_keep(x):
    return smooth(np.sum(x, axis=-1, keepdims=True))


def mean_all(x):
    return smooth(np.mean(x))


def mean_all_keep(x):
    return smooth(np.mean(x, keepdims=True))


def mean_0(x):
    return smooth(np.mean(x, axis=0))


def mean_0_keep(x):
    return smooth(np.mean(x, axis=0, keepdims=True))


def mean_last(x):
    return smooth(np.mean(x, axis=-1))


def mean_last_keep(x):
    return smooth(np.mean(x, axis=-1, keepdims=True))


def max_all(x):
    return smooth(np.max(x))


def max_all_keep(x):
    return smooth(np.max(x, keepdims=True))


def max_0(x):
    return smooth(np.max(x, axis=0))


def max_0_keep(x):
    return smooth(np.max(x, axis=0, keepdims=True))


def max_last(x):
    return smooth(np.max(x, axis=-1))


def max_last_keep(x):
    return smooth(np.max(x, axis=-1, keepdims=True))


def min_all(x):
    return smooth(np.min(x))


def min_all_keep(x):
    return smooth(np.min(x, keepdims=True))


def min_0(x):
    return smooth(np.min(x, axis=0))


def min_0_keep(x):
    return smooth(np.min(x, axis=0, keepdims=True))


def min_last(x):
    return smooth(np.min(x, axis=-1))


def min_last_keep(x):
    return smooth(np.min(x, axis=-1, keepdims=True))


REDUCTIONS = {
    "sum": [sum_all, sum_all_keep, sum_0, sum_0_keep, sum_last, sum_last_keep],
    "mean": [mean_all, mean_all_keep, mean_0, mean_0_keep, mean_last, mean_last_keep],
    "max": [max_all, max_all_keep, max_0, max_0_keep, max_last, max_last_keep],
    "min": [min_all, min_all_keep, min_0, min_0_keep, min_last, min_last_keep],
}


def distinct_values(shape):
    """Entries that are multiples of 0.1, all different: max/min have no ties, and no two
    entries are within central differences' step of each other."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-30, 30), unique=True).map(
        lambda a: a / 10.0 + 0.01)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=5))
@pytest.mark.parametrize("op", list(REDUCTIONS))
def test_reduction_property(op, data, shape):
    fn = data.draw(st.sampled_from(REDUCTIONS[op]), label="function")
    x = data.draw(distinct_values(shape), label="x")
    compare_with_numerical(fn, (x,), (0,))


@settings(max_examples=25, deadline=None)
@given(x=hnp.array_shapes(min_dims=2, max_dims=2, max_side=5).flatmap(distinct_values))
def test_looped_reductions_property(x):
    """The loop makes the numba backend compile this one (a single signature: 2-D float64)."""
    compare_with_numerical(af.looped_reductions, (x,), (0,))
