"""The errors ad_compiler raises: their types, and for refused code the file, line, caret and a
message naming the construct.

Each refused construct below is marked with a comment `# L:<name>` on the exact line where it
appears; the tests look the line number up in this file, so editing the file cannot make them
point at the wrong line.
"""

import math
import os
import re

import numpy as np
import pytest

from ad_compiler import (
    ADCompilerError,
    CompilationError,
    GradientInputError,
    NoGradientRuleError,
    NonScalarOutputError,
    UnsupportedSyntaxError,
    grad,
    value_and_grad,
)

BACKENDS = ("python", "numba")
COUNTER = 0


def line_of(marker: str) -> int:
    """The line number of the one line of this file marked `# L:<marker>`."""
    with open(__file__, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    pattern = re.compile(rf"# L:{re.escape(marker)}$")
    found = [i + 1 for i, line in enumerate(lines) if pattern.search(line)]
    assert len(found) == 1, f"marker {marker!r} found on lines {found}"
    return found[0]


# -- functions with refused constructs -----------------------------------------------------------


def uses_try(x):
    try:  # L:try
        y = math.sqrt(x)
    except ValueError:
        y = 0.0
    return y


def uses_with(x):
    with open(os.devnull) as handle:  # L:with
        y = x * len(handle.name)
    return y


def uses_lambda(x):
    double = lambda t: 2.0 * t  # noqa: E731  # L:lambda
    return double(x)


def uses_nested_def(x):
    def inner(t):  # L:nested-def
        return t * t

    return inner(x)


def uses_list_comprehension(x):
    ys = [x * k for k in range(3)]  # L:listcomp
    return ys[0] + ys[2]


def uses_generator_in_sum(x):
    s = sum(x * k for k in range(3))  # L:genexp-sum
    return s


def uses_generator(x):
    g = (x * k for k in range(3))  # L:genexp
    return max(g)


def appends_in_a_loop(x, n):
    ys = [x * k for k in range(n)]  # L:runtime-listcomp
    return np.sum(np.array(ys))


def uses_global(x):
    global COUNTER  # L:global
    COUNTER = COUNTER + 1
    return x * COUNTER


def uses_yield_statement(x):
    y = x * 2.0
    yield y  # L:yield-stmt
    return y


def uses_yield_expression(x):
    y = x * 2.0
    received = yield y  # L:yield-expr
    return received


def uses_varargs(x, *rest):  # L:varargs
    return x * 2.0


def uses_kwargs(x, **options):  # L:kwargs
    return x * 2.0


def recursive(x, n):
    if n <= 0:
        return x
    return x * recursive(x, n - 1)  # L:recursion


def ping(x, n):
    if n <= 0:
        return x
    return pong(x, n - 1) + 1.0


def pong(x, n):
    return 2.0 * ping(x, n)  # L:mutual


def uses_fft(x):
    y = np.fft.fft(x)  # L:fft
    return np.sum(np.abs(y))


def stores_through_index_array(x, idx):
    y = np.zeros(3)
    y[idx] += x  # L:fancy-store
    return np.sum(y * y)


def stores_through_joined_index(x, idx, c):
    y = np.zeros(3)
    j = idx
    if c > 0:
        j = idx[0]
    y[j] += x  # L:joined-index-store
    return np.sum(y * y)


def int_or_float_array(x, c):
    y = np.arange(3)
    if c > 0:  # L:int-or-float
        y = x * 1.0
    y[0] = x[1] * 2.5
    return np.sum(y * 1.0)


def uses_gamma(x):
    return math.gamma(x) * x  # L:gamma


def uses_print(x):
    y = x * 2.0
    print(y)  # L:print
    return y


def uses_dict(x):
    d = {"a": x}  # L:dict
    return d["a"]


def uses_string(x):
    label = "loss"
    return x * len(label + "es")  # L:string


def uses_string_length(x):
    label = "loss"
    return x * len(label)


def uses_is(x):
    y = x
    if x is y:  # L:is
        return 0.0
    return x * x


def uses_is_not(x):
    y = x
    if x is not y:  # L:is-not
        return x * x
    return 0.0


def compares_with_none(x, mask=None):
    if x is None or mask is not None:  # decided at compile time: x is a number
        return 0.0
    return x * x


def uses_in(x):
    if x in (1.0, 2.0):  # L:in
        return x
    return x * x


def uses_not_in(x):
    if x not in (1.0, 2.0):  # L:not-in
        return x * x
    return x


def uses_lshift(x, n):
    return x * (n << 2)  # L:lshift


def uses_rshift(x, n):
    return x * (n >> 1)  # L:rshift



# (function, arguments, marker, regex the message must match, what the caret points at or None,
# exception type)
REFUSED = [
    (uses_try, (4.0,), "try", r"\btry\b", "try", UnsupportedSyntaxError),
    (uses_with, (1.0,), "with", r"\bwith\b", "with", UnsupportedSyntaxError),
    (uses_generator, (1.0,), "genexp", r"generator expression", None, UnsupportedSyntaxError),
    (uses_global, (1.0,), "global", r"\bglobal\b", "global", UnsupportedSyntaxError),
    (uses_yield_statement, (1.0,), "yield-stmt", r"\byield\b", "yield", UnsupportedSyntaxError),
    (uses_yield_expression, (1.0,), "yield-expr", r"\byield\b", "yield", UnsupportedSyntaxError),
    (uses_varargs, (1.0,), "varargs", r"\*args|\*rest", "def", UnsupportedSyntaxError),
    (uses_kwargs, (1.0,), "kwargs", r"\*\*kwargs|\*\*options", "def", UnsupportedSyntaxError),
    (recursive, (1.5, 3), "recursion", r"recurs.*recursive|recursive.*recurs", "recursive(",
     UnsupportedSyntaxError),
    (ping, (1.5, 3), "mutual", r"recurs", "ping(", UnsupportedSyntaxError),
    (uses_fft, (np.array([1.0, 2.0]),), "fft", r"no gradient rule.*\bfft\b", "np.fft.fft(",
     NoGradientRuleError),
    (stores_through_joined_index, (np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]), -1.0),
     "joined-index-store", r"integer array of indices", "y[", UnsupportedSyntaxError),
    (int_or_float_array, (np.array([1.0, 2.0, 3.0]), -1.0), "int-or-float",
     r"\by is an integer array on one path and a float array on another.*float", "if",
     UnsupportedSyntaxError),
    (uses_gamma, (1.5,), "gamma", r"no gradient rule.*\bgamma\b", "math.gamma(",
     NoGradientRuleError),
    (stores_through_index_array, (np.array([1.0, 2.0, 3.0]), np.array([0, 2, 0])), "fancy-store",
     r"integer array of indices.*repeated.*for k in range\(len\(idx\)\)", "y[",
     UnsupportedSyntaxError),
    (uses_print, (1.0,), "print", r"\bprint\b", "print(", UnsupportedSyntaxError),
    (uses_string, (1.0,), "string", r"\bstr(ing)?s?\b.*constant|constant.*\bstr(ing)?\b", "return",
     UnsupportedSyntaxError),
    (uses_is, (1.0,), "is", r"\bIs\b|`is`|'is'", None, UnsupportedSyntaxError),
    (uses_is_not, (1.0,), "is-not", r"\bIsNot\b|`is not`|'is not'", None, UnsupportedSyntaxError),
    (uses_in, (1.0,), "in", r"\bIn\b|`in`|'in'", None, UnsupportedSyntaxError),
    (uses_not_in, (1.0,), "not-in", r"\bNotIn\b|`not in`|'not in'", None,
     UnsupportedSyntaxError),
    (uses_lshift, (1.0, 3), "lshift", r"LShift|<<", "n << 2", UnsupportedSyntaxError),
    (uses_rshift, (1.0, 3), "rshift", r"RShift|>>", "n >> 1", UnsupportedSyntaxError),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "marker", "message", "caret", "error"), REFUSED,
                         ids=[case[2] for case in REFUSED])
def test_refused_construct(fn, args, marker, message, caret, error, backend):
    g = grad(fn, wrt=0, backend=backend)  # refusing happens at the first call, not here
    with pytest.raises(error) as info:
        g(*args)
    exc = info.value
    assert type(exc) is error, f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, SyntaxError) and isinstance(exc, ADCompilerError)
    assert exc.filename is not None and exc.filename.endswith("test_errors.py")
    assert exc.lineno == line_of(marker), str(exc)
    assert re.search(message, str(exc)), f"message {str(exc)!r} does not match {message!r}"
    assert exc.text is not None and f"# L:{marker}" in exc.text
    assert isinstance(exc.offset, int) and exc.offset >= 1
    if caret is not None:
        assert exc.text[exc.offset - 1:].startswith(caret), (
            f"caret at column {exc.offset} of {exc.text!r}, expected under {caret!r}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_once_refused_now_supported(backend):
    # Lambdas, nested defs, comprehensions and dicts were refused before issue 12; the
    # expected values are the math of each function at x = 1.5.
    x = 1.5
    assert grad(uses_lambda, backend=backend)(x) == 2.0
    assert grad(uses_nested_def, backend=backend)(x) == 2.0 * x
    assert grad(uses_list_comprehension, backend=backend)(x) == 2.0  # x*0 + x*2
    assert grad(uses_generator_in_sum, backend=backend)(x) == 3.0  # 0 + 1 + 2
    assert grad(uses_dict, backend=backend)(x) == 1.0
    assert grad(compares_with_none, backend=backend)(x) == 2.0 * x
    assert grad(uses_string_length, backend=backend)(x) == 4.0  # len("loss"), issue 13


def test_refused_message_suggests_a_rewrite():
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(appends_in_a_loop, backend="python")(np.ones(2), 3)
    assert "np.zeros((n,) + shape)" in str(info.value)
    assert info.value.lineno == line_of("runtime-listcomp")
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(recursive, backend="python")(1.0, 2)
    assert "loop" in str(info.value)


# -- refused before anything runs --------------------------------------------------------------


def mutates_then_refuses(x):
    x[0] = 100.0
    s = x[0] * 2.0 + x[1]
    try:  # L:late-try
        s = s + 1.0
    except ValueError:
        s = 0.0
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_before_anything_runs(backend):
    x = np.array([1.0, 2.0])
    g = grad(mutates_then_refuses, backend=backend)
    for _ in range(2):  # refused again on a second call: a failed build is not kept
        with pytest.raises(UnsupportedSyntaxError) as info:
            g(x)
        assert info.value.lineno == line_of("late-try")
        np.testing.assert_array_equal(x, [1.0, 2.0])  # the function's write did not happen


@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_when_reading_source(backend):
    g = grad(uses_try, backend=backend)
    with pytest.raises(UnsupportedSyntaxError):
        _ = g.source
    with pytest.raises(UnsupportedSyntaxError):
        g.source_for(1.0)


# -- non-scalar outputs --------------------------------------------------------------------------


def returns_array(x):
    return x * 2.0


def returns_tuple(x, y):
    return x * y, x + y


@pytest.mark.parametrize("backend", BACKENDS)
def test_returning_an_array(backend):
    with pytest.raises(NonScalarOutputError) as info:
        grad(returns_array, backend=backend)(np.array([1.0, 2.0]))
    assert "np.sum" in str(info.value)
    assert isinstance(info.value, ADCompilerError)


@pytest.mark.parametrize("backend", BACKENDS)
def test_returning_a_tuple(backend):
    with pytest.raises(NonScalarOutputError):
        grad(returns_tuple, wrt=(0, 1), backend=backend)(1.0, 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_and_grad_of_an_array_output(backend):
    with pytest.raises(NonScalarOutputError):
        value_and_grad(returns_array, backend=backend)(np.array([1.0, 2.0]))


# -- bad arguments -------------------------------------------------------------------------------


def two(x, y):
    return x * y + x


def norm2(v):
    return np.sum(v * v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_number_of_arguments(backend):
    g = grad(two, backend=backend)
    with pytest.raises(GradientInputError):
        g(1.0)
    with pytest.raises(GradientInputError):
        g(1.0, 2.0, 3.0)
    with pytest.raises(GradientInputError):
        g()


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_keyword_argument(backend):
    g = grad(two, backend=backend)
    with pytest.raises(GradientInputError):
        g(1.0, z=2.0)
    with pytest.raises(GradientInputError):
        g(1.0, 2.0, y=2.0)  # y given twice


@pytest.mark.parametrize("wrt", ["z", 2, -3, ("x", "z"), (0, 5)])
def test_wrt_naming_no_parameter(wrt):
    with pytest.raises(GradientInputError):
        grad(two, wrt=wrt, backend="python")(1.0, 2.0)
    with pytest.raises(GradientInputError):

        @grad(wrt=wrt)
        def decorated(x, y):
            return x * y

        decorated(1.0, 2.0)


@pytest.mark.parametrize("wrt", [1.5, None, True])
def test_wrt_of_the_wrong_type(wrt):
    with pytest.raises(GradientInputError):
        grad(two, wrt=wrt, backend="python")(1.0, 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_string_argument_differentiated(backend):
    with pytest.raises(GradientInputError):
        grad(two, backend=backend)("1.0", 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_argument_differentiated(backend):
    with pytest.raises(GradientInputError) as info:
        grad(two, backend=backend)(1, 2.0)
    assert "float" in str(info.value)
    with pytest.raises(GradientInputError):
        grad(two, wrt=(0, 1), backend=backend)(1.0, 2)
    with pytest.raises(GradientInputError):
        grad(two, wrt="y", backend=backend)(1.0, True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_list_instead_of_array(backend):
    # A list argument is a structure of numbers (issue 12); `v * v` of a list fails in Python.
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(norm2, backend=backend)([1.0, 2.0])
    assert "np.array" in str(info.value)
    with pytest.raises(UnsupportedSyntaxError):
        grad(norm2, backend=backend)((1.0, 2.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_array_differentiated(backend):
    with pytest.raises(GradientInputError):
        grad(norm2, backend=backend)(np.array([1, 2]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_unsupported_argument_not_differentiated(backend):
    # y is not differentiated; a string is compiled in as a constant (issue 12), and x * y of
    # it is refused at that line (Python raises TypeError there)
    with pytest.raises(UnsupportedSyntaxError, match="string"):
        grad(two, wrt="x", backend=backend)(1.0, "2.0")


def test_unknown_backend():
    with pytest.raises(ValueError):
        grad(two, backend="jax")


# -- the hierarchy -------------------------------------------------------------------------------


def test_error_hierarchy():
    for cls in (CompilationError, GradientInputError, NoGradientRuleError, NonScalarOutputError,
                UnsupportedSyntaxError):
        assert issubclass(cls, ADCompilerError)
    assert issubclass(UnsupportedSyntaxError, SyntaxError)
    assert issubclass(NoGradientRuleError, UnsupportedSyntaxError)
    assert issubclass(ADCompilerError, Exception)


def test_unsupported_syntax_error_fields():
    exc = UnsupportedSyntaxError("lambda cannot be differentiated", "model.py", 12, 5,
                                 "    f = lambda t: t\n", "define a function with def")
    assert (exc.filename, exc.lineno, exc.offset) == ("model.py", 12, 5)
    assert "lambda" in str(exc) and "define a function with def" in str(exc)
    assert isinstance(exc, SyntaxError)
