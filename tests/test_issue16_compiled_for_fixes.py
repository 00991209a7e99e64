"""Issue 16, fixes of the adversary's compiled_for findings (test_issue16_adversary.py has the
reproducers): boolean-mask gathers in numba code (compiled_for and the tier-up of a normal call),
jvp's and hvp's directions checked in the dispatcher, the function's defaults kept, refusals
naming the user's line. Expected values come from the original function (central differences).
"""

import inspect

import numba
import numpy as np
import pytest
from gradcheck_helpers import central, promoted

from ad_compiler import (
    CompilationError,
    GradientInputError,
    grad,
    hvp,
    jvp,
    value_and_grad,
    vjp,
)

# -- boolean masks -----------------------------------------------------------------------------


def masked_cubes(x, m):
    return np.sum(x[m] ** 3)


def positive_cubes(x):
    return np.sum(x[x > 0] ** 3)


def masked_mean(x, m):
    return np.mean(x[m] ** 2)


def masked_rows(X, m):
    return np.sum(X[m] ** 3)


def masked_column(X, m):
    return np.sum(X[m, 1] ** 3)


def doubled_in_place(x, m):
    y = x * 1.0
    y[m] *= 2
    return np.sum(y**3)


def masked_flat(X, M):
    return np.sum(X.ravel()[M.ravel()] ** 3)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 1.0, 0.5], [3.0, -0.5, 1.25]])
MASKS = {  # (promoted with the first, then called with the second)
    1: (np.array([True, True, True, True]), np.array([True, False, True, False])),
    2: (np.ones(X.shape, bool), X > 0),
}
MASKED = [
    (masked_cubes, 1),
    (positive_cubes, 0),
    (masked_mean, 1),
    (masked_rows, 2),
    (masked_column, 2),
    (doubled_in_place, 1),
    (masked_flat, 2),
]


def _arguments(f, which: int) -> tuple:
    """f's arguments: x (X's first column) or X, then the mask, if f takes one."""
    if f is positive_cubes:
        return (X[:, 0] if which == 0 else X[:, 1],)
    if f is masked_flat:
        return (X, MASKS[2][which])
    if f in (masked_rows, masked_column):
        return (X, MASKS[1][which])
    return (X[:, 0].copy(), MASKS[1][which])


@pytest.mark.parametrize("f", [f for f, _ in MASKED], ids=lambda f: f.__name__)
def test_compiled_for_of_boolean_mask_gathers(f):
    d = grad(f).compiled_for(*_arguments(f, 0))
    for which in (0, 1):
        args = _arguments(f, which)
        np.testing.assert_allclose(d(*args), central(f, args, 0), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f", [f for f, _ in MASKED], ids=lambda f: f.__name__)
def test_tier_up_of_boolean_mask_gathers(f, tier_up_at_once):
    g = grad(f)
    assert promoted(g, *_arguments(f, 0))[0].startswith("numba")
    args = _arguments(f, 1)
    np.testing.assert_allclose(g(*args), central(f, args, 0), rtol=1e-7, atol=1e-9)


def test_boolean_mask_gather_in_the_users_numba_code():
    x, m = _arguments(masked_cubes, 1)
    d = value_and_grad(masked_cubes).compiled_for(x, m)

    @numba.njit
    def step(x, m):
        value, g = d(x, m)
        return value, x - 0.1 * g

    value, moved = step(x, m)
    assert value == pytest.approx(masked_cubes(x, m))
    np.testing.assert_allclose(moved, x - 0.1 * central(masked_cubes, (x, m), 0), rtol=1e-7)


def test_a_mask_of_another_length_is_refused():
    x, m = _arguments(masked_cubes, 1)
    d = grad(masked_cubes).compiled_for(x, m)
    with pytest.raises(IndexError):
        d(x, m[:-1])
    with pytest.raises(IndexError):
        d(x, np.append(m, True))


def masked_2d(X, M):
    return np.sum(X[M] ** 3)


def test_compiled_for_refuses_a_2d_mask_naming_the_line():
    where = r"(?s)test_issue16_compiled_for_fixes\.py:\d+.*ravel"
    with pytest.raises(CompilationError, match=where):
        grad(masked_2d).compiled_for(X, X > 0)
    np.testing.assert_allclose(grad(masked_2d)(X, X > 0), central(masked_2d, (X, X > 0), 0))


# -- jvp's and hvp's directions ----------------------------------------------------------------


def sine_product(x, y):
    return np.sin(x) * y


def test_compiled_for_jvp_checks_each_tangent():
    x = np.linspace(0.0, 1.0, 4)
    d = jvp(sine_product, wrt=(0, 1)).compiled_for(x, x, tangent=(np.ones(4), np.ones(4)))
    value, tangent = d(x, x, np.ones(4), np.ones(4))
    np.testing.assert_allclose(tangent, np.cos(x) * x + np.sin(x))
    for tangents in [(np.ones(1), np.ones(4)), (np.ones(4), np.ones(3))]:
        with pytest.raises(GradientInputError, match="tangent= for [xy] does not have"):
            d(x, x, *tangents)


def test_compiled_for_hvp_direction_checked_inside_numba_code():
    x = np.linspace(0.0, 1.0, 4)
    d = hvp(lambda_free_sum, wrt=0).compiled_for(x, 2.0, vector=np.ones(4))

    @numba.njit
    def use(x, v):
        return d(x, 2.0, v)

    np.testing.assert_allclose(use(x, np.ones(4)), -2.0 * np.sin(x))
    with pytest.raises(GradientInputError, match="vector= for x"):
        use(x, np.ones(5))


def lambda_free_sum(x, a):
    return a * np.sum(np.sin(x))


# -- defaults ----------------------------------------------------------------------------------


def with_defaults(x, *, a=2.0, n=3):
    s = 0.0
    for i in range(n):
        s = s + a * np.sum(x**2) * (i + 1)
    return s


def scaled(x, a=2.0, flip=False):
    return -np.sum(x**2) * a if flip else np.sum(x**2) * a


def test_compiled_for_defaults_keyword_only_become_positional():
    x = np.array([0.5, -1.0])
    d = grad(with_defaults).compiled_for(x, a=5.0)  # the function's default, not 5.0
    assert "(x, a=2.0, n=3)" in inspect.getsource(d.py_func)
    np.testing.assert_allclose(d(x), 2 * 2.0 * x * 6)
    np.testing.assert_allclose(d(x, n=2), 2 * 2.0 * x * 3)
    np.testing.assert_allclose(d(x, 1.0, 2), 2 * 1.0 * x * 3)

    @numba.njit
    def use(x):
        return d(x) + d(x, n=1)

    np.testing.assert_allclose(use(x), 2 * 2.0 * x * 7)


def test_compiled_for_defaults_of_value_and_grad():
    x = np.array([0.5, -1.0])
    d = value_and_grad(scaled).compiled_for(x)
    value, g = d(x)
    assert value == pytest.approx(scaled(x))
    np.testing.assert_allclose(g, central(scaled, (x,), 0))
    value, g = d(x, 3.0, True)
    assert value == pytest.approx(scaled(x, 3.0, True))
    np.testing.assert_allclose(g, central(lambda x: scaled(x, 3.0, True), (x,), 0))


def test_defaults_before_a_direction_stay_required():
    """jvp's tangent and vjp's cotangent come after f's arguments: those stay required."""
    x = np.array([0.5, -1.0])
    d = jvp(scaled).compiled_for(x, tangent=np.ones(2))
    assert "(x, a, flip, x_dot)" in inspect.getsource(d.py_func)
    d = vjp(scaled).compiled_for(x)
    assert "=2.0" not in inspect.getsource(d.py_func).split('"""')[0]


def test_hvp_of_a_boolean_mask_gather():
    x, m = _arguments(masked_cubes, 1)
    v = np.array([1.0, -2.0, 0.5, 3.0])
    d = hvp(masked_cubes, wrt=0).compiled_for(x, m, vector=v)
    np.testing.assert_allclose(d(x, m, v), np.where(m, 6 * x * v, 0.0), rtol=1e-12)


def test_runtime_scatter_add_with_a_mask_in_numba_code():
    """rt.add_at_1d / add_at_2d under numba: a mask stands for its True positions, as in
    np.add.at (which the NumPy runtime calls)."""
    from ad_compiler import runtime as rt

    @numba.njit
    def scatter(target, m, values, rows):
        rt.add_at_1d(target, m, values)
        rt.add_at_2d(rows, m, 1, values)

    m = np.array([False, True, True, False])
    values = np.array([2.0, 3.0])
    target, rows = np.zeros(4), np.zeros((4, 2))
    scatter(target, m, values, rows)
    expected, expected_rows = np.zeros(4), np.zeros((4, 2))
    np.add.at(expected, m, values)
    np.add.at(expected_rows, (m, 1), values)
    np.testing.assert_array_equal(target, expected)
    np.testing.assert_array_equal(rows, expected_rows)


BOUND_WEIGHTS = np.array([1.0, 2.0, 3.0])


def reads_module_weights(x):
    return np.sum(x * x) + np.sum(BOUND_WEIGHTS * x)


def test_a_cached_caller_does_not_keep_a_bound_arrays_address():
    """compiled_for binds module-level arrays by address: numba must refuse to cache a user's
    @njit(cache=True) function around the dispatcher, whose next process would read whatever
    lies at that address then."""
    import warnings

    x = np.array([0.5, -1.0, 2.0])
    d = grad(reads_module_weights).compiled_for(x)

    @numba.njit(cache=True)
    def user(v):
        return d(v)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_allclose(user(x), 2 * x + BOUND_WEIGHTS, rtol=1e-15)
    assert any("dynamic globals" in str(w.message) for w in caught)
