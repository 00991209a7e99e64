"""Issue 16: whole numbers are treated the same way by grad, value_and_grad, the other
transforms and trace(): refused with GradientInputError where they are differentiated (naming
the parameter, what was given and what to pass), never converted or silently left out; kept as
they are where they are not differentiated. The CLI's --at reads whole numbers as floats for
differentiated parameters (the lecture writes w0=2), and its help says so.

Values are checked against the original functions: CPython's value and central differences.
"""

import numpy as np
import pytest

import ad_compiler
from ad_compiler import GradientInputError, grad, jacobian, trace, value_and_grad
from ad_compiler.cli import main

BACKENDS = ("python", "numba")


def geometric(x, n):
    """1 + x + ... + x**(n-1), by a loop of n steps: n must stay an int."""
    s = 0.0
    for i in range(n):
        s = s + x**i
    return s


def powers(x, n):
    return x**n + n * x


def central(f, args, position, h=1e-6):
    plus, minus = list(args), list(args)
    plus[position] += h
    minus[position] -= h
    return (f(*plus) - f(*minus)) / (2 * h)


# -- not differentiated: ints keep working ---------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_parameter_left_out_of_wrt_works(backend):
    args = (1.5, 4)
    g = grad(geometric, backend=backend)(*args)
    assert g == pytest.approx(central(geometric, args, 0), rel=1e-7)
    value, g2 = value_and_grad(geometric, backend=backend)(*args)
    assert value == geometric(*args) and g2 == g


def test_trace_of_an_int_parameter_left_out_of_wrt():
    args = (1.5, 4)
    t = trace(geometric, *args, wrt="x")
    assert t.value == pytest.approx(geometric(*args), rel=1e-15)
    assert float(t.grads["x"]) == pytest.approx(central(geometric, args, 0), rel=1e-7)
    assert set(t.grads) == {"x"}


def test_trace_of_a_function_decorated_with_grad_uses_its_wrt():
    decorated = grad(wrt="x", backend="python")(powers)
    t = trace(decorated, 2.0, 3)
    assert set(t.grads) == {"x"}
    assert float(t.grads["x"]) == pytest.approx(central(powers, (2.0, 3), 0), rel=1e-7)


# -- differentiated: refused the same way everywhere -------------------------------------------

WHOLE = [
    (3, "the int 3", "pass 3.0 (or float(n))"),
    (np.int64(3), "the int64 3", "pass 3.0 (or float(n))"),
    (True, "the bool True", "pass 1.0 (or float(n))"),
    (np.arange(3), "an array of int64 of shape (3,)", "pass n.astype(float)"),
]


def _calls(n):
    """Every way to differentiate powers with respect to n, given n."""
    return {
        "grad": lambda: grad(powers, wrt=(0, 1), backend="python")(2.0, n),
        "value_and_grad": lambda: value_and_grad(powers, wrt=(0, 1), backend="python")(2.0, n),
        "trace": lambda: trace(powers, 2.0, n),  # every parameter by default
        "trace wrt": lambda: trace(powers, 2.0, n, wrt=("x", "n")),
        "jvp": lambda: ad_compiler.jvp(powers, wrt=(0, 1), backend="python")(
            2.0, n, tangent=(1.0, np.ones_like(n, dtype=float))
        ),
        "jacobian": lambda: jacobian(powers, wrt=(0, 1), backend="python")(2.0, n),
    }


@pytest.mark.parametrize("how", list(_calls(3)))
@pytest.mark.parametrize("n, given, fix", WHOLE, ids=["int", "int64", "bool", "int-array"])
def test_differentiated_whole_number_is_refused(how, n, given, fix):
    with pytest.raises(GradientInputError) as info:
        _calls(n)[how]()
    message = str(info.value)
    assert message.startswith("powers() is differentiated with respect to n, which is ")
    assert given in message and fix in message
    assert "or leave n out of wrt (wrt='x') to use it as a whole number" in message


def test_trace_never_drops_an_int_silently():
    # before issue 16, trace(f, 2, 3) returned no gradients at all, and trace(..., wrt="n")
    # a zero gradient where d/dn = x**n log x + x
    with pytest.raises(GradientInputError, match="with respect to x, which is the int 2"):
        trace(powers, 2, 3)
    with pytest.raises(GradientInputError, match="with respect to n, which is the int 3"):
        trace(powers, 2.0, 3, wrt="n")


def test_the_only_differentiated_parameter_says_to_differentiate_others():
    with pytest.raises(GradientInputError) as info:
        grad(powers, backend="python")(2, 3.0)
    assert "which is the int 2: pass 2.0 (or float(x)), or leave x out of wrt (differentiate " \
        "with respect to other parameters)" in str(info.value)


@pytest.mark.parametrize("how", ["grad", "trace"])
def test_passing_the_float_instead_gives_the_right_gradient(how):
    args = (2.0, 3.0)  # what the message says to pass
    if how == "grad":
        got = grad(powers, wrt=(0, 1), backend="python")(*args)
    else:
        got = tuple(float(v) for v in trace(powers, *args).grads.values())
    want = (central(powers, args, 0), central(powers, args, 1))
    assert got == pytest.approx(want, rel=1e-7)


def test_int_leaf_of_a_structure_is_named_by_its_path():
    def f(p, q):
        return p["w"] * p["n"] + q[0]

    with pytest.raises(GradientInputError) as info:
        grad(f, wrt=(0, 1), backend="python")({"w": 1.5, "n": 2}, [3.0])
    assert str(info.value) == (
        "f() is differentiated with respect to p, whose entry p['n'] is the int 2: pass 2.0 "
        "(or float(p['n'])) there, or pass it as an argument of its own, left out of wrt, to "
        "use it as a whole number"
    )


def test_a_string_differentiated_keeps_its_own_advice():
    with pytest.raises(GradientInputError, match=r"which is a str: pass a float \(for example "
                       r"x=float\(...\)\) or an array of floats$"):
        grad(powers, backend="python")("2", 3)


# -- the command line: whole numbers as floats for differentiated parameters -----------------


@pytest.fixture
def powers_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "powers.py"
    path.write_text("def powers(x, n):\n    return x**n + n * x\n")
    return f"{path}:powers"


def test_cli_reads_whole_numbers_as_floats_where_differentiated(powers_file, capsys):
    assert main(["trace", powers_file, "--at", "x=2, n=3"]) == 0  # both differentiated
    out = capsys.readouterr().out
    dx, dn = central(powers, (2.0, 3.0), 0), central(powers, (2.0, 3.0), 1)
    assert f"d result / d x = {dx:.2f}" in out and f"d result / d n = {dn:.2f}" in out


def test_cli_keeps_ints_for_parameters_not_differentiated(powers_file, capsys):
    assert main(["trace", powers_file, "--at", "x=2, n=3", "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert f"d result / d x = {central(powers, (2.0, 3), 0):.2f}" in out
    assert "d result / d n" not in out


@pytest.mark.parametrize("command", ["show", "trace"])
def test_cli_help_says_whole_numbers_are_read_as_floats(command, capsys):
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Whole numbers given for a differentiated parameter are read as floats" in out
