"""Issue 12: lists built in the function, comprehensions, nested functions, lambdas, methods,
partials, keyword-only parameters and module-level arrays. Each gradient is checked against
central differences of the original function and, where autograd can run the same code,
against autograd; each value against CPython."""

import functools

import numpy as np
import pytest
from structured_oracle import assert_close, by_autograd, central, copied
from test_oracles import autograd_version

from ad_compiler import UnsupportedSyntaxError, grad, value_and_grad

BACKENDS = ("python", "numba")
rng = np.random.default_rng(1212)


def rnn_appending(W, x0, xs):
    hs = []
    h = x0
    for t in range(4):
        h = np.tanh(W @ h + xs[t])
        hs.append(h)
    return np.sum(np.array(hs) ** 2) + np.sum(hs[-1])


def scalar_appends(a, b):
    terms = []
    for i in range(3):
        terms.append(a * i + b)
        if a > 0.0:
            terms.append(a * a)
        else:
            terms.append(-b)
    terms.append(b * b)
    return sum(terms) + np.mean(terms) * np.max(terms) - min(terms)


def list_literal_rows(x, y):
    rows = [x, 2.0 * x, x * y]
    return np.sum(np.array(rows) * np.arange(9.0).reshape(3, 3))


def aliases_and_helpers(a, b):
    terms = [a]
    alias = terms
    add_square(alias, b)
    terms.append(a * b)
    return sum(alias) * len(terms)


def add_square(items, v):
    items.append(v * v)


def comprehensions(x, c):
    squares = [v * v for k, v in enumerate([c, 2.0 * c, 3.0 * c]) if k != 1]
    positive = sum(v for v in x if v > 0.0)
    pairs = sum(x[i] * x[j] for i in range(3) for j in range(i + 1, 3))
    i = 10.0  # the comprehension's own i must not replace this one
    return np.sum(np.array(squares)) + pairs + max(x[k] * c for k in range(3)) + i + positive


def runtime_sum(x, n):
    return sum(x[i] ** 2 * (i + 1.0) for i in range(n)) + sum((x[k] for k in range(n)), 1.0)


def closures(a, b):
    scale = 2.0

    def f(t):
        return t * scale + b

    first = f(a)
    scale = 3.0  # late binding: the call below sees 3.0
    g = lambda t, k=scale: t * k  # noqa: E731  (the default is taken now: 3.0)
    scale = 5.0
    return first + f(a * a) + g(b)


def lambda_in_loop(x, n):
    sq = lambda t: t * t  # noqa: E731
    s = 0.0
    for i in range(n):
        s = s + sq(x[i])
    return s


def losses_in_a_loop(x, n):
    losses = []
    for t in range(n):
        losses.append(np.sum(x ** 2) * t)
        if x[0] > 0.0:
            losses.append(x[1] * t)
    total = sum(losses) + np.mean(np.array(losses)) + losses[-1] * len(losses)
    return total + max(losses)


def comprehension_over_an_array(x):
    ys = [w * 2.0 for w in x]
    return np.sum(np.array(ys) ** 2) + min(v * v for v in x) + ys[1]


def grows_from_a_prefix(x, n):
    out = [1.0, x[0]]
    for i in range(1, n, 2):
        out.append(x[i] * out[-1])
    s = 0.0
    for v in out:
        s = s + v * v
    return s


def two_lists_one_name(x):
    ys = [w * 2.0 for w in x]
    a = np.array(ys)
    ys = [w * 3.0 for w in x[:2]]  # another list of run-time length, under the same name
    return np.sum(a) * len(ys) + np.sum(np.array(ys)) + len(a)


def rnn_of_run_time_length(W, x0, xs, T):
    h = x0
    hs = []
    for t in range(T):
        h = np.tanh(W @ h + xs[t])
        hs.append(h)  # arrays: their shape is h's before the loop
    return np.sum(np.array(hs) ** 2) + np.sum(hs[-1]) + np.sum(sum(hs) ** 2) * len(hs)


def states_from_a_first_item(W, x0, xs, T):
    h = x0
    hs = [x0 * 0.5]
    for t in range(T):
        h = np.tanh(W @ h + xs[t])
        hs.append(h * 2.0)
    s = 0.0
    for v in hs:
        s = s + np.sum(v * v)
    return s


cube = lambda t: t * t * t  # noqa: E731


def uses_module_lambda(a):
    return cube(a) + cube(2.0 * a)


def keyword_only(a, *, b=2.0, c=0.5):
    return a * b + c * a * a


class Model:
    def __init__(self):
        self.W = np.array([[1.0, 2.0], [-0.5, 0.3]])
        self.scale = 2.0

    def predict(self, x):
        return np.tanh(self.W @ x)

    def loss(self, x, y=1.0):
        return np.sum((self.predict(x) - y) ** 2) * self.scale


def with_constant(a, b, c=1.0):
    return a * b + c * a * a


CASES = [
    (rnn_appending, (rng.normal(size=(2, 2)) * 0.5, rng.normal(size=2),
                     rng.normal(size=(4, 2))), (0, 1, 2)),
    (scalar_appends, (0.7, -0.4), (0, 1)),
    (scalar_appends, (-0.7, 0.4), (0, 1)),
    (list_literal_rows, (rng.normal(size=3), 0.8), (0, 1)),
    (aliases_and_helpers, (0.6, 1.3), (0, 1)),
    (comprehensions, (rng.normal(size=3), 0.9), (0, 1)),
    (runtime_sum, (rng.normal(size=4), 3), (0,)),
    (closures, (0.4, -1.1), (0, 1)),
    (lambda_in_loop, (rng.normal(size=4), 4), (0,)),
    (uses_module_lambda, (0.8,), (0,)),
    (losses_in_a_loop, (np.array([0.7, -0.4, 1.3]), 4), (0,)),
    (losses_in_a_loop, (np.array([-0.7, -0.4, 1.3]), 3), (0,)),
    (comprehension_over_an_array, (np.array([0.7, -0.4, 1.3, 0.2]),), (0,)),
    (grows_from_a_prefix, (np.array([0.7, -0.4, 1.3, 0.2]), 4), (0,)),
    (two_lists_one_name, (np.array([0.7, -0.4, 1.3]),), (0,)),
    (rnn_of_run_time_length, (rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3),
                              rng.normal(size=(5, 3)), 4), (0, 1, 2)),
    (states_from_a_first_item, (rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3),
                                rng.normal(size=(5, 3)), 3), (0, 1, 2)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)])
def test_against_the_original_function(case, backend):
    fn, args, positions = case
    for pos in positions:
        value, got = value_and_grad(fn, wrt=pos, backend=backend)(*copied(args))
        assert np.isclose(value, fn(*copied(args)), rtol=1e-12)
        assert_close(got, central(fn, args, pos), rtol=1e-5, atol=1e-6)
        oracle = by_autograd(autograd_version(fn), args, pos)
        if oracle is not None:
            assert_close(got, oracle, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_keyword_only_parameters_and_defaults(backend):
    g = grad(keyword_only, wrt=("a", "b"), backend=backend)
    assert g(1.5) == (2.0 + 2 * 0.5 * 1.5, 1.5)
    assert g(1.5, b=3.0, c=1.0) == (3.0 + 2 * 1.5, 1.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bound_method_reads_its_attributes_at_each_call(backend):
    model = Model()
    x = np.array([0.3, -0.2])
    g = grad(model.loss, wrt=0, backend=backend)  # wrt=0: x, the first after self
    assert_close(g(x), central(model.loss, (x,), 0), rtol=1e-5, atol=1e-6)
    model.W = model.W * 2.0
    model.scale = 0.5
    assert_close(g(x), central(model.loss, (x,), 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_partial(backend):
    g = grad(functools.partial(with_constant, c=2.0), wrt=(0, 1), backend=backend)
    assert g(0.5, 3.0) == (3.0 + 2 * 2.0 * 0.5, 0.5)
    assert g(0.5, 3.0, c=1.0) == (3.0 + 2 * 1.0 * 0.5, 0.5)
    h = grad(functools.partial(with_constant, 0.5), wrt=0, backend=backend)  # wrt=0 is b
    assert h(3.0) == 0.5


WEIGHTS = np.array([1.0, 2.0, 3.0])


def reads_module_array(x):
    return np.sum(WEIGHTS * x * x)


def test_module_level_array_is_read_at_each_call():
    global WEIGHTS
    g = grad(reads_module_array, backend="python")
    x = np.array([1.0, -1.0, 0.5])
    np.testing.assert_allclose(g(x), 2 * WEIGHTS * x)
    WEIGHTS = np.array([-1.0, 0.0, 4.0])
    np.testing.assert_allclose(g(x), 2 * WEIGHTS * x)


def make_closure(weights):
    def loss(x):
        return np.sum(weights * x * x)

    return loss


def test_closed_over_array_is_a_constant():
    weights = np.array([2.0, -1.0])
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(grad(make_closure(weights), backend="python")(x), 2 * weights * x)


# -- refused, with the line and a rewrite ------------------------------------------------------


def appends_arrays_at_run_time(x, n):
    out = []
    for i in range(n):
        out.append(x * i)  # arrays of a shape known only in the loop
    return np.sum(np.array(out))


def appends_in_a_nested_loop_too(x, n):
    hs = []
    for t in range(n):
        hs.append(x[t])
        for j in range(2):
            hs.append(x[t] * j)  # (the array would be too short for these)
    return np.sum(np.array(hs))


def appends_through_a_helper_too(x, n):
    hs = []
    for t in range(n):
        hs.append(x[t])
        add_square(hs, x[t])
    return np.sum(np.array(hs))


def list_chosen_at_run_time(x, y):
    c = [x] if y > 0 else [y]  # (its items' gradients would be lost in a run-time tuple)
    return c[0] * 1.0


def max_of_arrays(x, n):
    h = x
    hs = []
    for _ in range(n):
        h = h * 0.5
        hs.append(h)
    return np.sum(max(hs))  # Python compares arrays: it fails


def appends_in_a_while_loop(x):
    out = []
    while len(out) < 3:
        out.append(x * 2.0)
    return sum(out)


def grows_in_one_branch(a):
    items = [a]
    if a > 0.0:
        items.append(a * a)
    return sum(items)  # the length depends on a


def appends_before_a_return_in_a_nested_loop(x):
    # (the fuzzer's: its iterations are unrolled, each skipped once one returned; the message
    # named an if the user never wrote)
    out = []
    for i in range(3):
        out.append(x * i)
        for j in range(2):
            if x > 10.0 + j:
                return x
    return sum(out)


def appends_to_argument(a, items):
    items.append(a)
    return a


@pytest.mark.parametrize(
    ("fn", "args", "words"),
    [
        (appends_arrays_at_run_time, (np.ones(3), 3), "np.zeros((n,) + shape)"),
        (max_of_arrays, (np.ones(3), 3), "axis=0"),
        (appends_in_a_nested_loop_too, (np.ones(3), 3), "nested loop"),
        (list_chosen_at_run_time, (1.5, 2.0), "choose the items instead"),
        (appends_through_a_helper_too, (np.ones(3), 3), "nested loop"),
        (appends_in_a_while_loop, (1.0,), "preallocated array"),
        (grows_in_one_branch, (1.0,), "both branches"),
        (appends_before_a_return_in_a_nested_loop, (1.0,), "`break` or `return` in an earlier"),
        (appends_to_argument, (1.0, [2.0]), "list("),
    ],
)
def test_refused_with_a_rewrite(fn, args, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn, backend="python")(*args)
    assert words in str(info.value)
    assert info.value.filename == __file__


def reads_past_the_end(x, n):
    out = []
    for i in range(n):
        out.append(x[i] * 2.0)
    return out[-3]


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_past_a_grown_list_raises_as_python_does(backend):
    x = np.array([0.5, 1.0, 2.0])
    assert grad(reads_past_the_end, backend=backend)(x, 3)[0] == 2.0
    with pytest.raises(IndexError):
        reads_past_the_end(x, 2)
    with pytest.raises(IndexError):
        grad(reads_past_the_end, backend=backend)(x, 2)
