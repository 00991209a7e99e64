"""Calls written the way users write them that used to give silently wrong gradients or raw
errors: keyword-only parameters passed by position, a keyword named `self`, NumPy's matrix and
masked arrays (their operators differ from ndarray's). Each is now refused, as Python itself
would refuse the call, or with the package's own error. Expected values come from the closed
forms of the functions."""

import dataclasses

import numpy as np
import pytest

from ad_compiler import (
    CompilationError,
    GradientInputError,
    NoGradientRuleError,
    UnsupportedSyntaxError,
    grad,
    jvp,
    value_and_grad,
    vjp,
)

BACKENDS = ("numba", "python")
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix


def scaled(x, *, y):
    return x * y


def sum_of_squares(W):
    return np.sum(W * W)


def product(a, b):
    return a * b


@pytest.mark.parametrize("backend", BACKENDS)
def test_keyword_only_parameter_passed_by_position_is_refused(backend):
    g = grad(scaled, wrt="x", backend=backend)
    for _ in range(3):  # also once a fast path could have been installed
        assert g(1.5, y=2.0) == 2.0
        with pytest.raises(TypeError, match="positional"):
            g(1.5, 2.0)
    with pytest.raises(TypeError):
        scaled(1.5, 2.0)  # Python refuses it too
    with pytest.raises(TypeError, match="positional"):
        jvp(scaled, wrt="x", backend=backend)(1.5, 2.0, x_dot=1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keyword_named_self_is_the_packages_error(backend):
    for transform, extra in ((grad, {}), (value_and_grad, {}), (vjp, {"cotangent": 1.0})):
        g = transform(product, backend=backend)
        with pytest.raises(GradientInputError, match="self"):
            g(1.0, 2.0, self=3.0, **extra)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matrix_and_masked_arrays_are_refused(backend):
    g = grad(sum_of_squares, backend=backend)
    W = np.array([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_array_equal(g(W), 2 * W)
    with pytest.raises(GradientInputError, match=r"numpy\.matrix.*np\.asarray\(W\)"):
        g(np.matrix(W))  # W * W is a matrix product there
    masked = np.ma.array(W, mask=[[0, 1], [0, 0]])
    with pytest.raises(GradientInputError, match=r"MaskedArray.*filled"):
        g(masked)  # the sum skips the masked entry there
    with pytest.raises(GradientInputError, match="matrix"):
        grad(product, wrt="a", backend=backend)(np.ones(2), np.matrix(W))
    np.testing.assert_array_equal(g(W), 2 * W)  # refusals leave the good signature working


def test_memory_mapped_arrays_are_plain_arrays(tmp_path):
    W = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=np.float64, shape=(3,))
    W[:] = [1.0, -2.0, 0.5]
    np.testing.assert_array_equal(grad(sum_of_squares)(W), 2 * np.asarray(W))


# -- np.float64(a) of a float64 array is the array itself, as np.asarray(a) is -----------------


def written_through_a_conversion(v):
    B = v.copy()
    C = np.float64(B)  # (NumPy returns B: writing C[0] writes B[0])
    C[0] = C[0] * 3.0
    return np.sum(B * v)


def converted_scalars(v):
    return np.float64(v[0]) * np.float32(v[1]) + np.sum(np.float64(v) * v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_writing_through_np_float64_of_an_array_is_refused(backend):
    # it was taken for a copy: value 6.02 and gradient [0.6, ...] where NumPy gives 6.2, [1.8, ...]
    v = np.array([0.3, -1.2, 0.7, 2.0])
    with pytest.raises(UnsupportedSyntaxError, match="writing into C"):
        grad(written_through_a_conversion, backend=backend)(v)
    got = grad(converted_scalars, backend=backend)(v)
    expected = 2.0 * v + np.array([v[1], v[0], 0.0, 0.0])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# -- a loop variable reused by a second loop with an `if` in its body ------------------------


def reused_index(x):
    s = 0.0
    for i in range(3):
        s = s + x[i]
    for i in range(3):
        if s > 0.0:
            s = s * 2.0
        s = s + x[i] * (i + 1)
    return s


def reused_in_a_nest(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] ** 2
    for c in range(x.shape[0]):
        for i in range(c + 1, x.shape[0]):
            if s > 1.0:
                s = s * 0.5
            s = s + x[i] * x[c]
    return s


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [reused_index, reused_in_a_nest])
def test_a_loop_variable_reused_after_an_if_in_the_loop(fn, backend):
    # was refused: "i is assigned inside the loop at line 8 and used after it"
    x = np.array([0.3, -1.2, 0.7, 0.9])
    value, gradient = value_and_grad(fn, backend=backend)(x)
    assert value == pytest.approx(fn(x), rel=1e-14)
    h = 1e-6
    central = [(fn(x + h * e) - fn(x - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(gradient, central, rtol=1e-6, atol=1e-8)


# -- shapes compared whole, float()/int() of a bool and x ** -2 under numba, byte order ------


def same_shapes(x, y):
    if x.shape == y.shape:
        return np.sum(x * y)
    return np.sum(x) * float(x.shape != y.shape)


def indicator(x):
    return x * float(x > 0.0) + int(x < 0.0) * x**2


def inverse_square(x):
    return (x - 1.0) ** -2 + x**-3


def cubes_in_a_loop(A):
    s = 0.0
    for i in range(A.shape[0]):
        s = s + A[i] ** 3
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_shapes_compare_to_one_bool(backend):
    # was refused: "the truth value of an array is ambiguous"
    x, y = np.array([0.3, -1.2, 0.7]), np.array([1.0, 2.0, 3.0])
    g = value_and_grad(same_shapes, wrt=(0, 1), backend=backend)
    value, (gx, gy) = g(x, y)
    assert value == pytest.approx(same_shapes(x, y)) and np.allclose(gx, y) and np.allclose(gy, x)
    value, (gx, gy) = g(x, np.ones(2))
    assert value == pytest.approx(np.sum(x)) and np.allclose(gx, 1.0) and np.allclose(gy, 0.0)
    if backend == "numba":
        value, (gx, gy) = g.compiled_for(x, y)(x, y)
        assert value == pytest.approx(same_shapes(x, y)) and np.allclose(gx, y)


@pytest.mark.parametrize("x", [2.0, -3.0, 0.0])
def test_float_and_int_of_a_bool_under_numba(x):
    # numba has neither: "numba could not compile the gradient"
    g = value_and_grad(indicator)
    expected = (indicator(x), 1.0 if x > 0 else 2.0 * x if x < 0 else 0.0)
    assert g(x) == expected and g.compiled_for(x)(x) == expected


def test_a_negative_power_at_zero_is_inf_on_both_backends():
    # numba's x ** -2 raised ZeroDivisionError where NumPy gives inf
    for backend in BACKENDS:
        with np.errstate(divide="ignore"):
            value, gradient = value_and_grad(inverse_square, backend=backend)(1.0)
        assert value == np.inf and gradient == -np.inf
        value, gradient = value_and_grad(inverse_square, backend=backend)(1.5)
        assert value == pytest.approx(inverse_square(1.5), rel=1e-15)
        assert gradient == pytest.approx(-2.0 / 0.5**3 - 3.0 / 1.5**4, rel=1e-14)


def test_an_array_of_the_other_byte_order_is_named():
    A = np.array([1.0, 2.0, 3.0]).astype(">f8" if np.little_endian else "<f8")
    with pytest.raises(GradientInputError, match="byte order.*astype"):
        grad(cubes_in_a_loop)(A)
    np.testing.assert_allclose(grad(cubes_in_a_loop, backend="python")(A), 3.0 * A**2)


SCALE = 3.0
WEIGHTS = np.array([1.0, 2.0])


def global_number_and_keyword(x, *, q=1.5):
    return SCALE * x * x + q * x


def global_array_and_keyword(x, *, q=1.5):
    return np.sum(WEIGHTS * x * x) + q * x[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keyword_only_parameter_with_module_level_values(backend):
    """Reading a module-level value made the program take it after the arguments, and the
    call bound `(x, q, SCALE)` again as the user's arguments: 'too many positional arguments'
    on every call (found by the adversary)."""
    g = grad(global_number_and_keyword, backend=backend)
    for _ in range(3):  # also once a fast path could have been installed
        assert g(0.7) == pytest.approx(6.0 * 0.7 + 1.5)
        assert g(0.7, q=2.0) == pytest.approx(6.0 * 0.7 + 2.0)
        with pytest.raises(TypeError, match="positional"):
            g(0.7, 2.0)
    value, gradient = value_and_grad(global_array_and_keyword, backend=backend)(
        np.array([0.5, -1.0]), q=0.25
    )
    assert value == pytest.approx(0.25 + 2.0 + 0.125)
    np.testing.assert_allclose(gradient, [2 * 0.5 + 0.25, 4 * -1.0], rtol=1e-12)
    value, slope = jvp(global_number_and_keyword, wrt="x", backend=backend)(
        0.7, q=2.0, tangent=2.0
    )
    assert value == pytest.approx(3.0 * 0.49 + 1.4)
    assert slope == pytest.approx(2.0 * (6.0 * 0.7 + 2.0))
    pulled = vjp(global_number_and_keyword, backend=backend)(0.7, cotangent=0.5)
    assert pulled == pytest.approx(0.5 * (6.0 * 0.7 + 1.5))


def float_of_zero_d(x):
    return float(x) * 3.0


def float_of_zero_d_squared(x):
    return float(x) ** 2


def zero_d_in_a_loop(x, w):
    s = 0.0
    for i in range(len(w)):
        s = s + float(x) * w[i] * i + x * w[i] ** 2  # (an `op=` would refuse a 0-d x)
    return s


def size_of_zero_d(x):
    return float(x) * x.size + x.ndim + np.tanh(x)


def test_a_zero_d_array_under_numba():
    """numba's program types a 0-d array argument as a number, and numba has no float() of a
    0-d array: 'numba could not compile' on ordinary code (found by the adversary). float()
    and int() of a parameter take rt.number of it; its .size and .ndim stay an array's."""
    x = np.array(0.7)
    value, gradient = value_and_grad(float_of_zero_d, backend="numba")(x)
    assert value == pytest.approx(2.1) and gradient == pytest.approx(3.0)
    assert isinstance(gradient, np.ndarray) and gradient.shape == ()  # shaped like x
    assert grad(float_of_zero_d_squared, backend="numba")(x) == pytest.approx(1.4)
    value, gradient = value_and_grad(size_of_zero_d, backend="numba")(x)  # (the review)
    assert value == pytest.approx(0.7 + np.tanh(0.7)) and gradient == pytest.approx(
        2.0 - np.tanh(0.7) ** 2
    )
    w = np.array([0.5, -1.0, 2.0])
    value, (dx, dw) = value_and_grad(zero_d_in_a_loop, wrt=("x", "w"), backend="numba")(x, w)
    assert value == pytest.approx(zero_d_in_a_loop(x, w), rel=1e-12)
    assert dx == pytest.approx(np.sum(w * np.arange(3)) + np.sum(w**2))
    np.testing.assert_allclose(dw, 0.7 * np.arange(3) + 2 * 0.7 * w, rtol=1e-12)



def decided_by_any(x):
    if np.any(x > 1.0):
        return np.sum(x**2)
    return np.sum(x)


def picked_by_argmax(W, s):
    k = np.argmax(s)
    return np.sum(W[k] * s) + np.count_nonzero(s > 0.0) * W[0, 0] * float(np.all(s > -5.0))


def any_along_an_axis(x):
    return np.sum(np.where(np.any(x > 0.0, axis=0), x, 2.0 * x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_and_index_results_carry_no_gradient(backend):
    """np.any/np.all (which the refusal of `if x > 1.0:` on an array recommends), argmax and
    count_nonzero were refused as 'no gradient rule' (found by the adversary): their results
    are bools and ints, piecewise constant."""
    g = grad(decided_by_any, backend=backend)
    small, large = np.array([0.3, -0.7, 0.9]), np.array([0.3, -0.7, 1.2])
    np.testing.assert_allclose(g(small), np.ones(3))
    np.testing.assert_allclose(g(large), 2 * large)
    W, s = np.arange(9.0).reshape(3, 3) / 4, np.array([0.5, -1.0, 2.0])
    dW, ds = grad(picked_by_argmax, wrt=("W", "s"), backend=backend)(W, s)
    expected_dW = np.zeros((3, 3))
    expected_dW[2] = s  # the row argmax(s) picks
    expected_dW[0, 0] += 2.0  # two positive entries of s, all above -5
    np.testing.assert_allclose(dW, expected_dW)
    np.testing.assert_allclose(ds, W[2])
    with pytest.raises(UnsupportedSyntaxError, match=r"axis=\) is not supported") as info:
        grad(any_along_an_axis, backend=backend)(np.ones((2, 2)))
    assert "np.sum(mask, axis=k) > 0" in str(info.value)


def lambdas_called_later(x):
    fs = [lambda: x[i] ** 2 for i in range(3)]  # noqa: B023 (the late binding tested)
    return sum(g() for g in fs)


def lambdas_bound_now(x):
    fs = [lambda i=i: x[i] ** 2 for i in range(3)]
    return sum(g() for g in fs)


def lambdas_called_at_once(x):
    return sum([(lambda: x[i] * x[i])() for i in range(3)])


def lambdas_called_in_a_later_comprehension(x):
    fs = [lambda: x[i] for i in range(3)]  # noqa: B023 (the late binding tested)
    return sum([f() * i for i, f in enumerate(fs)])


def lambdas_reading_both_is(x):
    fs = [lambda: sum([x[i] for i in range(2)]) * x[i] for i in range(3)]  # noqa: B023
    return sum([f() * i for i, f in enumerate(fs)])


def lambdas_with_a_comprehension_of_their_own(x):
    fs = [lambda: sum([x[i] for i in range(2)]) * x[2] for i in range(3)]
    return fs[0]() + fs[1]()


def test_lambdas_made_in_a_comprehension():
    """Called after the comprehension, each lambda reads the comprehension's last i (Python
    gives 3 * x[2]**2): refused naming the late binding (it was 'name i is not defined');
    bound with a default, or called inside the comprehension, each reads its own i."""
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(UnsupportedSyntaxError, match="last value of i") as info:
        grad(lambdas_called_later, backend="python")(x)
    assert "lambda i=i" in str(info.value)
    for fn in (lambdas_bound_now, lambdas_called_at_once):
        value, gradient = value_and_grad(fn, backend="python")(x)
        assert value == fn(x) == 14.0
        np.testing.assert_allclose(gradient, 2 * x)
    # called in a later comprehension whose variable has the same name: Python reads the first
    # comprehension's last i (found by the review: it read the later one's, silently)
    with pytest.raises(UnsupportedSyntaxError, match="last value of i"):
        grad(lambdas_called_in_a_later_comprehension, backend="python")(x)
    # an inner comprehension of its own binding i hid the outer i read beside it (review 2)
    with pytest.raises(UnsupportedSyntaxError, match="last value of i"):
        grad(lambdas_reading_both_is, backend="python")(x)
    # the lambda's own comprehension variable is its own (it was refused)
    value, gradient = value_and_grad(lambdas_with_a_comprehension_of_their_own, backend="python")(x)
    assert value == pytest.approx(lambdas_with_a_comprehension_of_their_own(x))
    np.testing.assert_allclose(gradient, [6.0, 6.0, 6.0])


def cubed_sum(x, *, c=1.5):
    return np.sum(x**3) * c * SCALE


def cubed(x, *, c=1.5):
    return x**3 * c


@pytest.mark.parametrize("backend", BACKENDS)
def test_hessian_and_jacobian_of_keyword_only_parameters(backend):
    """They passed the bound arguments by position to the program and to the function:
    'too many positional arguments' on every call (found by the review and the adversary)."""
    from ad_compiler import hessian, jacobian

    x = np.array([0.3, -0.4])
    for c in (1.5, 2.0):
        keywords = {} if c == 1.5 else {"c": c}
        h = hessian(cubed_sum, backend=backend)
        np.testing.assert_allclose(h(x, **keywords), np.diag(6 * x * c * SCALE), atol=1e-12)
        assert "def " in h.source_for(x, **keywords)
        for mode in ("fwd", "rev"):
            J = jacobian(cubed, mode=mode, backend=backend)(x, **keywords)
            np.testing.assert_allclose(J, np.diag(3 * x**2 * c), atol=1e-12)


def any_of_a_generator(x):
    if any(v > 1.0 for v in x):
        return np.sum(x**2)
    return np.sum(x)


def any_written_as_a_sum(x):
    if sum(1 for v in x if v > 1.0) > 0:
        return np.sum(x**2)
    return np.sum(x)


def dict_item_changed(x):
    d = {"a": x, "b": 2.0 * x}
    d["a"] = x * x
    return d["a"] + d["b"]


def dict_rebuilt(x):
    d = {"a": x, "b": 2.0 * x}
    d = dict(d, a=x * x)
    return d["a"] + d["b"]


def test_refusals_name_the_construct_and_a_rewrite_that_works():
    """any()/all()/next() of a generator were refused with NumPy's message suggesting sum(),
    a dict's item assignment with 'd cannot be changed here' (found by the adversary)."""
    x = np.array([0.3, 1.2, -0.4])
    with pytest.raises(UnsupportedSyntaxError, match=r"builtin any\(\)") as info:
        grad(any_of_a_generator, backend="python")(x)
    assert "sum(1 for ... if c) > 0" in str(info.value)
    np.testing.assert_allclose(grad(any_written_as_a_sum, backend="python")(x), 2 * x)
    with pytest.raises(UnsupportedSyntaxError, match="d is a dict") as info:
        grad(dict_item_changed, backend="python")(0.7)
    assert "dict(d, a=u)" in str(info.value)
    assert value_and_grad(dict_rebuilt, backend="python")(0.7) == pytest.approx((1.89, 3.4))


def branch_on_a_zero_d(x):
    if x > 0.5:
        return x * x + x.size + x.ndim
    return max(x, 0.1) * x


def norm_of_a_zero_d(x):
    return np.linalg.norm(x) * x


@dataclasses.dataclass
class _Scale:
    c: float

    def __call__(self, v):
        return self.c * v


SCALER = _Scale(2.0)  # (a dataclass instance has no hash)


def calls_an_unhashable_object(x):
    return SCALER(x) * x


LONG = tuple(0.001 * k for k in range(2000))


def over_a_long_tuple(x):
    s = 0.0
    for c in LONG:
        s = s + c * x
    return s


def changes_a_tuple(x):
    t = (x, 2.0 * x)
    t[0] = x
    return t[0]


def test_review_two_findings():
    """0-d arrays under numba in a branch and max() (the number they hold; .size and .ndim
    those of a number), numba's assertion in a vjp named, an object without a hash called,
    a loop over 2000 fixed items refused at once (it took 42 s), a tuple item assignment named
    as Python's refusal."""
    for x in (np.array(0.7), np.array(0.3)):
        value, gradient = value_and_grad(branch_on_a_zero_d, backend="numba")(x)
        assert value == pytest.approx(float(branch_on_a_zero_d(x)))
        assert gradient == pytest.approx(1.4 if x > 0.5 else 2 * 0.3)
    with pytest.raises(CompilationError, match="numba could not compile"):
        vjp(norm_of_a_zero_d, backend="numba")(np.array(0.7), cotangent=1.0)
    with pytest.raises(NoGradientRuleError):
        grad(calls_an_unhashable_object, backend="python")(0.7)
    with pytest.raises(UnsupportedSyntaxError, match="more than 1024 items"):
        grad(over_a_long_tuple, backend="python")(0.7)
    with pytest.raises(UnsupportedSyntaxError, match="is a tuple: its items cannot be changed"):
        grad(changes_a_tuple, backend="python")(0.7)
