"""Issue 16, adversary: user-style code on which ad_compiler gave a wrong value or gradient
silently, or let a raw error out, each kept as a test of its fix. Expected values come from the
ORIGINAL function: its CPython value, central differences, closed forms.
"""

import numpy as np
import pytest
from gradcheck_helpers import central, promoted

from ad_compiler import (
    ADCompilerError,
    CompilationError,
    GradientInputError,
    grad,
    hvp,
    jvp,
    value_and_grad,
)
from ad_compiler.cli import main

# -- silent wrong values ------------------------------------------------------------------------


def masked_cubes(x, m):
    return np.sum(x[m] ** 3)


def test_compiled_for_of_a_boolean_mask_gather_all_true():
    x = np.array([0.5, -1.0, 2.0])
    m = np.array([True, True, True])
    d = grad(masked_cubes).compiled_for(x, m)
    # d/dx sum(x[m]**3) = 3 x**2 where m: [0.75, 3, 12]; got [0, 15.75, 0]
    np.testing.assert_allclose(d(x, m), 3 * x**2, rtol=1e-12)
    np.testing.assert_allclose(central(masked_cubes, (x, m), 0), 3 * x**2, rtol=1e-8)


def test_compiled_for_of_a_boolean_mask_gather():
    x = np.array([0.5, -1.0, 2.0, 3.0])
    m = np.array([True, False, True, False])
    d = grad(masked_cubes).compiled_for(x, m)
    np.testing.assert_allclose(d(x, m), [0.75, 0.0, 12.0, 0.0], rtol=1e-12)


def doubled(x, n):
    return x * 2**n


def test_int_power_with_a_negative_exponent_scalar_code():
    value, slope = value_and_grad(doubled)(1.5, -1)
    assert value == doubled(1.5, -1) == 0.75
    assert slope == pytest.approx(0.5)  # d/dx x * 2**-1
    # backend="python" already agrees with CPython
    assert value_and_grad(doubled, backend="python")(1.5, -1) == (0.75, 0.5)


def scaled_sum_loop(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 2**n
    return s


def test_int_power_with_a_negative_exponent_loop_code():
    x = np.array([1.0, 2.0, 3.0])
    value, g = value_and_grad(scaled_sum_loop)(x, -1)
    assert value == pytest.approx(scaled_sum_loop(x, -1))  # 3.0; got 0.0
    np.testing.assert_allclose(g, [0.5, 0.5, 0.5])


def scaled_sum(x, n):
    return np.sum(x) * 2**n


def test_int_power_with_a_negative_exponent_after_tier_up(tier_up_at_once):
    x = np.array([1.0, 2.0, 3.0])
    g = grad(scaled_sum)
    np.testing.assert_allclose(g(x, -1), 0.5)  # right on NumPy
    assert promoted(g, x, 1)[0].startswith("numba")
    np.testing.assert_allclose(g(x, -1), 0.5)  # got [0, 0, 0]


def big_power(x, k):
    return np.sum(x * x) * k**30


def test_int_power_overflow_after_tier_up(tier_up_at_once):
    x = np.array([0.5, -1.0, 2.0])
    g = grad(big_power)
    assert promoted(g, x, 1)[0].startswith("numba")
    np.testing.assert_allclose(g(x, 10), 2 * x * 10**30, rtol=1e-12)


NEGATIVE = -2


def module_level_negative_power(x):
    return np.sum(x) * 2**NEGATIVE


def test_compiled_for_module_level_negative_power():
    x = np.array([1.0, 2.0, 3.0])
    d = value_and_grad(module_level_negative_power).compiled_for(x)
    value, g = d(x)
    assert value == pytest.approx(1.5)
    np.testing.assert_allclose(g, 0.25)


def added(x, y):
    return np.sum(x + y)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_two_gradients_are_two_arrays(backend):
    x, y = np.arange(1.0, 4.0), np.arange(4.0, 7.0)
    gx, gy = grad(added, wrt=(0, 1), backend=backend)(x, y)
    gx *= 0.1
    np.testing.assert_array_equal(gy, np.ones(3))  # got [0.1, 0.1, 0.1]


def sine(x):
    return np.sin(x)


def sum_x_sin(x):
    return np.sum(np.sin(x) * x)


def test_compiled_for_jvp_checks_the_tangent_shape():
    x = np.linspace(0.0, 1.0, 4)
    with pytest.raises(GradientInputError):
        jvp(sine)(x, tangent=np.ones(1))  # a normal call refuses
    d = jvp(sine).compiled_for(x, tangent=np.ones(4))
    with pytest.raises((GradientInputError, ValueError)):
        d(x, np.ones(1))  # returns (sin x, cos x) as if the tangent were ones(4)


def test_compiled_for_hvp_checks_the_vector_shape():
    x = np.linspace(0.0, 1.0, 4)
    d = hvp(sum_x_sin).compiled_for(x, vector=np.ones(4))
    with pytest.raises((GradientInputError, ValueError)):
        d(x, np.ones(1))


def running_max(x):
    m = -np.inf
    for i in range(x.shape[0]):
        m = max(m, x[i])
    return m


def test_builtin_max_skipping_nan_keeps_finite_gradient():
    x = np.array([-0.8, -1.3, np.nan, 0.4, 1.5, 0.1])
    value, g = value_and_grad(running_max)(x)
    assert value == running_max(x) == 1.5
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0])


# -- raw errors ---------------------------------------------------------------------------------


def with_defaults(x, *, a=2.0, n=3):
    s = 0.0
    for i in range(n):
        s = s + a * np.sum(x**2) * (i + 1)
    return s


def test_compiled_for_keeps_defaults():
    x = np.array([0.5, -1.0])
    d = grad(with_defaults).compiled_for(x)
    np.testing.assert_allclose(d(x), 2 * 2.0 * x * 6, rtol=1e-12)


LOSSES = {
    "square": lambda x: x * x,
    "cube": lambda x: x**3,
}

PAIR = (lambda x: x * x,
        lambda x: x**3)  # fmt: skip


def test_lambda_in_a_dict_literal():
    assert grad(LOSSES["cube"])(2.0) == pytest.approx(12.0)


def test_lambda_in_a_multiline_tuple():
    assert grad(PAIR[1])(2.0) == pytest.approx(12.0)


def times(x, n):
    return x * n


def test_big_python_int_scalar_code():
    assert grad(times)(1.5, 2**70) == pytest.approx(2.0**70)


def times_sum(x, n):
    return np.sum(x * x) * n


def test_big_python_int_after_tier_up(tier_up_at_once):
    x = np.ones(3)
    g = grad(times_sum)
    np.testing.assert_allclose(g(x, 2**70), 2 * x * 2.0**70)  # NumPy: right
    assert promoted(g, x, 2)[0].startswith("numba")
    np.testing.assert_allclose(g(x, 2**70), 2 * x * 2.0**70)


# -- message quality ----------------------------------------------------------------------------


def gather_2d_indices(x, idx):
    return np.sum(x[idx] ** 3)


def test_compiled_for_refusal_names_the_users_line():
    x = np.array([0.5, -1.0, 2.0, 3.0])
    idx = np.array([[3, 0], [1, -1]])
    with pytest.raises(CompilationError, match=r"test_issue16_adversary\.py:\d+"):
        grad(gather_2d_indices).compiled_for(x, idx)


def columns_by_mask(X, m):
    return np.sum(X[:, m] ** 3)


def test_boolean_mask_with_slice_message():
    X = np.ones((2, 3))
    m = np.array([True, False, True])
    with pytest.raises(ADCompilerError, match="(?i)bool"):
        grad(columns_by_mask)(X, m)


def test_longdouble_is_refused_as_an_input_error():
    """np.longdouble scalars: refused, but as 'numba could not compile' (CompilationError)
    instead of the GradientInputError a complex or float16 array gets; kept as a plain check
    that it is at least the package's error."""
    with pytest.raises(ADCompilerError):
        grad(times)(np.longdouble(1.5), 2.0)


def test_cli_int_loop_count_refusal_suggests_wrt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "power.py"
    path.write_text(
        "def power(x, n):\n    s = 1.0\n    for i in range(n):\n        s = s * x\n    return s\n"
    )
    assert main(["trace", f"{path}:power", "--at", "x=2, n=3"]) == 1
    captured = capsys.readouterr()
    assert "--wrt" in captured.out + captured.err
