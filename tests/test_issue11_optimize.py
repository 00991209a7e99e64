"""Issue 11, item 7 (module-level values read at each call), the `optimize=False` switch, and
optimizations that are safe by construction.

7. `SCALE = 2.0`, `g = grad(f)`, `g(1.0)`, then `SCALE = 3.0`: Python reads the new value, the
   compiled gradient kept 2.0. Module-level numbers and arrays (and those a helper in another
   module reads from its own module) are now passed in at each call; flags and `axis=` values,
   which shape the program, are compiled in and checked at each call.

`optimize=False` generates the gradient program without the optimizer's passes and without
folding temporaries into expressions; the two programs must agree.

The optimizer may only move or merge what the IR proves unchanged in between: the tests at the
end build small IR programs whose optimized form differed from the program itself before.

Expected values come from running the functions in CPython, from central differences, or from
hand derivations.
"""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from gradcheck_helpers import central, copies

from ad_compiler import grad, value_and_grad
from ad_compiler.api import _LiveGradFunction
from ad_compiler.codegen import generate
from ad_compiler.errors import ADCompilerError, GradientInputError, UnsupportedSyntaxError
from ad_compiler.ir import BOOL, FLOAT, INT, Assign, Const, Function, If, Kind, Loop, Var
from ad_compiler.kinds import KindTable
from ad_compiler.optimize import optimize

BACKENDS = ("python", "numba")

SCALE = 2.0
OFFSET = 1
WEIGHTS = np.array([1.0, -2.0, 0.5])
DEBUG = False
AXIS = 0


def scaled(x):
    return SCALE * x * x + OFFSET


def weighted(x):
    return np.sum(WEIGHTS * x * x)


def flagged(x):
    if DEBUG:
        print(x)
        return x
    return x * x * SCALE


def reduced(X):
    return np.sum(np.sum(X, axis=AXIS) ** 2)


def looped(x):
    s = 0.0
    for _ in range(OFFSET):
        s = s + SCALE * x
    return s * x


def writes_global(x):
    WEIGHTS[0] = x[0]
    return np.sum(WEIGHTS * x)


def check(fn, args, backend, wrt=0, **options):
    """value_and_grad against CPython (value) and central differences (gradient)."""
    value, g = value_and_grad(fn, wrt=wrt, backend=backend, **options)(*copies(args))
    assert value == pytest.approx(fn(*copies(args)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, central(fn, args, wrt), rtol=1e-7, atol=1e-8)
    return value, g


# ---------------------------------------------------------------------------------------------
# Item 7: module-level values are read at each call


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_number_changed_between_calls(backend, monkeypatch):
    g = value_and_grad(scaled, backend=backend)
    assert g(1.5) == (2.0 * 2.25 + 1, 2 * 2.0 * 1.5)
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3.0)
    assert g(1.5) == (3.0 * 2.25 + 1, 2 * 3.0 * 1.5)  # was (5.5, 6.0): frozen at 2.0
    monkeypatch.setattr(sys.modules[__name__], "OFFSET", 2.5)  # int -> float: another build
    check(scaled, (1.5,), backend)
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 4)  # float -> int
    assert g(1.5) == (4 * 2.25 + 2.5, 2 * 4 * 1.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_number_read_in_a_loop(backend, monkeypatch):
    g = grad(looped, backend=backend)
    assert g(0.5) == pytest.approx(2 * 2.0 * 1 * 0.5)
    monkeypatch.setattr(sys.modules[__name__], "OFFSET", 3)  # the loop's trip count
    monkeypatch.setattr(sys.modules[__name__], "SCALE", -1.5)
    assert g(0.5) == pytest.approx(2 * -1.5 * 3 * 0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_array_read_at_each_call(backend, monkeypatch):
    x = np.array([0.3, -0.7, 1.1])
    g = grad(weighted, backend=backend)
    np.testing.assert_allclose(g(x), 2 * WEIGHTS * x, rtol=1e-14)
    monkeypatch.setattr(sys.modules[__name__], "WEIGHTS", np.array([2.0, 0.5, -1.0]))
    np.testing.assert_allclose(g(x), 2 * np.array([2.0, 0.5, -1.0]) * x, rtol=1e-14)
    WEIGHTS[1] = 4.0  # written in place: seen too
    np.testing.assert_allclose(g(x), 2 * np.array([2.0, 4.0, -1.0]) * x, rtol=1e-14)
    check(weighted, (x,), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_value_changing_kind_rebuilds(backend, monkeypatch):
    """A number becoming an array selects another build, as an argument's kind would."""
    x = np.array([0.3, -0.7, 1.1])
    g = value_and_grad(weighted, backend=backend)
    monkeypatch.setattr(sys.modules[__name__], "WEIGHTS", 1.5)
    value, dx = g(x)
    assert value == pytest.approx(1.5 * np.sum(x * x))
    np.testing.assert_allclose(dx, 3.0 * x, rtol=1e-14)
    monkeypatch.setattr(sys.modules[__name__], "WEIGHTS", np.array([[1.0], [2.0]]))
    check(weighted, (x,), backend)  # now a (2, 3) broadcast


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_value_of_the_wrong_type_or_deleted(backend, monkeypatch):
    g = grad(scaled, backend=backend)
    g(1.0)
    monkeypatch.setattr(sys.modules[__name__], "SCALE", "2.0")
    with pytest.raises(GradientInputError, match=r"module-level SCALE .*test_issue11_optimize"):
        g(1.0)
    monkeypatch.delattr(sys.modules[__name__], "SCALE")
    with pytest.raises(ADCompilerError, match="SCALE .* no longer exists"):
        g(1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_flag_is_compiled_in_and_checked_at_each_call(backend, monkeypatch):
    """`if DEBUG:` keeps only the branch taken (the other may hold code the compiler refuses),
    and a changed flag takes the other branch at the next call."""
    g = grad(flagged, backend=backend)
    assert g(1.5) == 2 * 1.5 * 2.0
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 0.5)
    assert g(1.5) == 2 * 1.5 * 0.5
    monkeypatch.setattr(sys.modules[__name__], "DEBUG", True)
    with pytest.raises(UnsupportedSyntaxError, match="print"):
        g(1.5)
    monkeypatch.setattr(sys.modules[__name__], "DEBUG", False)
    assert g(1.5) == 2 * 1.5 * 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_axis_from_a_module_number(backend, monkeypatch):
    X = np.arange(6.0).reshape(2, 3)
    g = grad(reduced, backend=backend)
    np.testing.assert_allclose(g(X), [[6.0, 10.0, 14.0]] * 2)  # 2 * column sums
    monkeypatch.setattr(sys.modules[__name__], "AXIS", 1)
    np.testing.assert_allclose(g(X), [[6.0] * 3, [24.0] * 3])  # 2 * row sums
    check(reduced, (X,), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_writing_into_a_module_array_is_refused(backend):
    with pytest.raises(UnsupportedSyntaxError, match="WEIGHTS, a module-level array") as info:
        grad(writes_global, backend=backend)(np.ones(3))
    assert "copy()" in str(info.value)
    assert f"{__file__}:" in str(info.value)


def _write_module(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize("backend", BACKENDS)
def test_helper_reads_its_own_module(backend, tmp_path):
    """A helper in another module reads that module's constant, not a same-named one here."""
    helpers = _write_module(tmp_path, f"adc_i11_helpers_{backend}", """
        RATE = 0.5
        STEPS = 3


        class Config:
            dt = 0.1


        config = Config()


        def helper(x):
            s = 0.0
            for _ in range(STEPS):
                s = s + RATE * x
            return s
    """)
    model = _write_module(tmp_path, f"adc_i11_model_{backend}", f"""
        import adc_i11_helpers_{backend} as helpers
        from adc_i11_helpers_{backend} import helper

        RATE = 100.0


        def f(x):
            return helper(x) * x + RATE + helpers.config.dt * x
    """)
    g = value_and_grad(model.f, backend=backend)

    def expected(x):  # by hand: STEPS * RATE * x^2 + 100 + dt * x
        value = model.f(x)
        return value, 2 * helpers.STEPS * helpers.RATE * x + helpers.config.dt

    assert g(2.0) == pytest.approx(expected(2.0))
    helpers.RATE = 1.25
    assert g(2.0) == pytest.approx(expected(2.0))
    helpers.STEPS = 1
    helpers.config.dt = -3.0  # an attribute of an object of the user's module
    assert g(2.0) == pytest.approx(expected(2.0))
    helpers.config = helpers.Config()  # a new object: its class attribute
    assert g(2.0) == pytest.approx(expected(2.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_closure_variable_read_at_each_call(backend):
    def make():
        k = 3.0

        def f(x):
            return k * x * x

        def set_k(value):
            nonlocal k
            k = value

        return f, set_k

    f, set_k = make()
    g = grad(f, backend=backend)
    assert g(1.0) == 6.0
    set_k(-0.5)
    assert g(1.0) == -1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_for_binds_module_values(backend, monkeypatch):
    """compiled_for's numba dispatcher holds the module-level values as of its making (numba
    code cannot read Python's globals); compiled_for again reads the new ones."""
    g = grad(scaled, backend=backend)
    compiled = g.compiled_for(1.0)
    assert compiled(1.5) == 2 * 2.0 * 1.5
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 5.0)
    assert compiled(1.5) == 2 * 2.0 * 1.5
    assert g.compiled_for(1.0)(1.5) == 2 * 5.0 * 1.5 == g(1.5)


def test_generated_code_names_the_value_never_holds_it(monkeypatch):
    g = grad(scaled, backend="python")
    first = g.source_for(1.0)
    assert "def scaled_grad(x, SCALE, OFFSET):" in first and "2.0" not in first
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 7.25)
    assert grad(scaled, backend="python").source_for(1.0) == first


def no_module_values(x):
    return math.sin(x) * np.pi  # np.pi is a constant of NumPy's, not read at each call


def test_functions_without_module_values_keep_the_plain_call():
    """The per-call reading is only for functions that read module-level values."""
    plain = grad(no_module_values, backend="python")
    plain(1.0)
    assert not isinstance(plain, _LiveGradFunction)
    live = grad(scaled, backend="python")
    live(1.0)
    assert isinstance(live, _LiveGradFunction)


CACHE_CHILD = """
import sys
sys.path.insert(0, {dir!r})
import model
from ad_compiler import value_and_grad
print(repr(value_and_grad(model.f, backend={backend!r})(1.5)))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_disk_cache_does_not_hold_the_value(backend, tmp_path):
    """Two processes, one cache, the same module text, different values of the constant: the
    second loads the first one's program and must still use its own value."""
    (tmp_path / "model.py").write_text(
        "import os\n\nSCALE = float(os.environ['ADC_SCALE'])\n\n\n"
        "def f(x):\n    return SCALE * x * x\n"
    )
    cache = tmp_path / "cache"
    outputs = []
    for scale in ("2.0", "3.0"):
        env = dict(os.environ, ADC_SCALE=scale, AD_COMPILER_CACHE_DIR=str(cache),
                   OPENBLAS_NUM_THREADS="1")
        code = CACHE_CHILD.format(dir=str(tmp_path), backend=backend)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(eval(done.stdout.strip()))
    assert outputs == [(2.0 * 2.25, 2 * 2.0 * 1.5), (3.0 * 2.25, 2 * 3.0 * 1.5)]
    assert len(list(cache.glob("adc_*.py"))) == 1  # one program, for both values


# ---------------------------------------------------------------------------------------------
# optimize=False


def rotation(c, s):
    x, y = 1.0, 0.0
    for _ in range(3):
        x, y = c * x - s * y, s * x + c * y
    return x + 0.5 * y


def stores(x, n):
    y = np.zeros(3)
    for i in range(n):
        y[i % 3] = y[i % 3] * x[i % 2] + math.exp(x[0])
    z = y.copy()
    z[1] = z[0] * z[2]
    return np.sum(z * z) + y[1]


def mixed(W, v, b):
    h = np.tanh(W @ v + b)
    return np.sum(h * h) / h.size + np.max(np.abs(v))


UNOPTIMIZED_CASES = [
    (rotation, (0.6, 0.8), (0, 1)),
    (stores, (np.array([0.3, -0.4]), 5), 0),
    (mixed, (np.array([[0.2, -0.5], [0.7, 0.1], [-0.3, 0.4]]), np.array([0.6, -0.9]),
             np.array([0.1, 0.2, -0.3])), (0, 1, 2)),
    (scaled, (1.3,), 0),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "wrt"), UNOPTIMIZED_CASES,
                         ids=[c[0].__name__ for c in UNOPTIMIZED_CASES])
def test_unoptimized_program_agrees(fn, args, wrt, backend):
    fast = value_and_grad(fn, wrt=wrt, backend=backend)
    literal = value_and_grad(fn, wrt=wrt, backend=backend, optimize=False)
    (v1, g1), (v0, g0) = fast(*copies(args)), literal(*copies(args))
    assert v0 == pytest.approx(fn(*copies(args)), rel=1e-12)
    assert v1 == pytest.approx(v0, rel=1e-10)
    g0, g1 = (g0, g1) if isinstance(wrt, tuple) else ((g0,), (g1,))
    for pos, a, b in zip(wrt if isinstance(wrt, tuple) else (wrt,), g0, g1):
        np.testing.assert_allclose(a, central(fn, args, pos), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
    assert fast.source_for(*args) != literal.source_for(*args)
    assert "Unoptimized (optimize=False)" in literal.source_for(*args)


def test_unoptimized_program_is_literal():
    """No folded temporaries, no coalesced names: every operation on its own line."""
    source = grad(rotation, wrt=(0, 1), backend="python", optimize=False).source_for(0.6, 0.8)
    code = [line for line in source.splitlines() if "=" in line and "#" not in line]
    assert all(sum(map(line.count, (" * ", " - ", " + "))) <= 1 for line in code), source
    assert grad(rotation, wrt=(0, 1), optimize=False).optimize is False


def test_optimize_switch_in_every_form():
    @grad(wrt="x", optimize=False)
    def f(x, y):
        return x * y

    assert f(2.0, 3.0) == 3.0
    assert value_and_grad(f.__wrapped__, wrt=1, optimize=False)(2.0, 3.0) == (6.0, 2.0)


# ---------------------------------------------------------------------------------------------
# Optimizations: only what the IR proves unchanged


def _run(fn: Function, kinds: KindTable, *args, fold: bool = True):
    namespace: dict = {}
    exec(generate(fn, kinds, "python", "test", fold=fold).source, namespace)
    return namespace[fn.name](*args)


def _agree(fn: Function, kinds: KindTable, *args):
    """The program as written, and optimized: same results."""
    literal = _run(fn, kinds, *copies(args), fold=False)
    optimized = _run(optimize(fn, kinds), kinds, *copies(args))
    literal = literal if isinstance(literal, tuple) else (literal,)
    optimized = optimized if isinstance(optimized, tuple) else (optimized,)
    for a, b in zip(literal, optimized):
        np.testing.assert_array_equal(b, a)
        assert np.signbit(b).tolist() == np.signbit(a).tolist()
    return literal


def test_first_assignment_does_not_alias_an_array_written_later():
    """`x_bar = 0; x_bar = x_bar + g` became `x_bar = g`: one array, which a later `g[0] += 1`
    changed through both names."""
    vector = Kind(1, "float")
    body = (
        Assign("g", "mul", (Var("a"), Const(2.0))),
        Assign("x_bar", "zeros_like", (Var("a"),)),
        Assign("x_bar", "add", (Var("x_bar"), Var("g"))),
        Assign(None, "index_add", (Var("g"), Const(1.0), Const(0)), (("index", (("i",),)),)),
    )
    program = Function("f", ("a",), body, (Var("x_bar"), Var("g")))
    kinds = KindTable({"a": vector, "g": vector, "x_bar": vector})
    x_bar, g = _agree(program, kinds, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x_bar, [2.0, 4.0])
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_copy_propagation_keeps_the_value_of_the_previous_iteration():
    """`x = x_1` reads last iteration's x_1, later read after x_1 took its new value: x and
    x_1 are each assigned once, but are not the same value."""
    body = (
        Assign("s", "copy", (Const(0.0),)),
        Loop("i", Const(0), Const(3), Const(1), (), None, (
            Assign("c", "gt", (Var("i"), Const(0))),
            If(Var("c"), (Assign("x", "copy", (Var("x_1"),)),), ()),
            Assign("x_1", "mul", (Var("i"), Var("w"))),
            If(Var("c"), (Assign("s", "add", (Var("s"), Var("x"))),), ()),
        )),
    )
    program = Function("f", ("w",), body, Var("s"))
    kinds = KindTable({"w": FLOAT, "s": FLOAT, "i": INT, "c": BOOL, "x": FLOAT, "x_1": FLOAT})
    assert _agree(program, kinds, 10.0) == (0.0 + 10.0,)  # s += 0 * w, then s += 1 * w


def test_adding_zero_keeps_the_sign_of_zero():
    """x + 0.0 is not x: -0.0 + 0.0 is 0.0, and 1 / it is inf, not -inf."""
    body = (
        Assign("y", "add", (Var("x"), Const(0.0))),
        Assign("z", "add", (Const(0), Var("x"))),
        Assign("r", "div", (Const(1.0), Var("y"))),
    )
    program = Function("f", ("x",), body, (Var("r"), Var("z")))
    kinds = KindTable({"x": FLOAT, "y": FLOAT, "z": FLOAT, "r": FLOAT})
    with np.errstate(divide="ignore"):
        r, z = _agree(program, kinds, np.float64(-0.0))
    assert r == math.inf and not np.signbit(z)


def test_folding_reads_the_values_before_a_tuple_assignment():
    """codegen folds temporaries into the statement that uses them only while every name
    they read, through other folded temporaries, is unchanged."""
    body = (
        Assign("t1", "mul", (Var("c"), Var("x"))),
        Assign("t2", "mul", (Var("s"), Var("y"))),
        Assign("t3", "sub", (Var("t1"), Var("t2"))),
        Assign("t4", "mul", (Var("s"), Var("x"))),
        Assign("t5", "mul", (Var("c"), Var("y"))),
        Assign("y", "add", (Var("t4"), Var("t5"))),
        Assign("x", "copy", (Var("t3"),)),
    )
    program = Function("f", ("c", "s", "x", "y"), body, (Var("x"), Var("y")))
    kinds = KindTable({n: FLOAT for n in ("c", "s", "x", "y", "t1", "t2", "t3", "t4", "t5")})
    args = (0.6, 0.8, 1.0, 0.5)
    assert _run(program, kinds, *args, fold=False) == (0.6 - 0.4, 0.8 + 0.3)
    assert _run(program, kinds, *args) == (0.6 - 0.4, 0.8 + 0.3)


def stored_flag(x, c):
    y = np.zeros(2)
    y[0] = c > 0.0
    y[1] = x * 2.5
    return -y[0] * x + y[1] * x


def int_stored_in_float_array(x, n):
    y = np.zeros(2)
    y[0] = n
    return y[0] ** -1 * x + y[0] / 4 * x


@pytest.mark.parametrize("backend", BACKENDS)
def test_forwarded_store_has_the_array_dtype(backend):
    """A store read back gives the array's dtype: a bool stored into a float array reads back
    as 1.0 (negating the bool itself is an error in NumPy), an int as a float."""
    value, g = check(stored_flag, (1.5, 1.0), backend)
    assert (value, g) == pytest.approx((-1.5 + 2.5 * 2.25, -1.0 + 5.0 * 1.5), rel=1e-14)
    check(int_stored_in_float_array, (1.5, 2), backend)
