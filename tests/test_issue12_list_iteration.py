"""A loop over a list that its own body changes (unrolled_loops.py). Python's list iterators
read the list at each step: an item an earlier iteration set, appended or inserted is what a
later one sees, and a pop shortens the loop. The compiler used to unroll over the items the
list held when the loop started: a silently wrong value and gradient (found by the
adversary). Each function is checked against CPython (the value) and central differences of
itself (the gradient) on both backends; where the iterable is not a name, a change is refused."""

import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import UnsupportedSyntaxError, value_and_grad

BACKENDS = ("python", "numba")


def assign_ahead(x):
    L = [x, 2.0 * x]
    s = 0.0
    for v in L:
        L[1] = 5.0 * x
        s += v
    return s


def append_while_running(x):
    L = [x, 2.0 * x]
    s = 0.0
    for v in L:
        if len(L) < 4:
            L.append(3.0 * x * v)
        s += v
    return s


def _scale_second(items, x):
    items[1] = items[1] * x


def helper_changes_it(x):
    L = [x, 2.0 * x, 3.0]
    s = 0.0
    for v in L:
        _scale_second(L, x)
        s += v * v
    return s


def reversed_live(x):
    L = [x, 2.0 * x, 3.0 * x]
    s = 0.0
    for v in reversed(L):
        L[0] = 5.0 * x * x
        s += v
    return s


def smooth(x):
    L = [x, 2.0 * x, -x, 0.5 * x]
    total = 0.0
    for i, v in enumerate(L):
        if i + 1 < len(L):
            L[i + 1] += 0.5 * v
        total += v * v
    return total


def zip_live(x):
    L = [x, x * x, 3.0]
    M = (1.0, 2.0, 3.0)
    s = 0.0
    for a, b in zip(L, M):
        L[-1] = a * b + 1.0
        s += a * b
    return s


def pop_shortens(x):
    L = [x, 2.0 * x, 3.0 * x, 4.0 * x]
    s = 0.0
    for v in L:
        L.pop()
        s += v * x
    return s


def insert_in_front(x):
    L = [x, 2.0 * x]
    s = 0.0
    for v in L:
        if len(L) < 4:
            L.insert(0, x * x)
        s = s * 0.5 + v
    return s


def rebinding_keeps_the_old_list(x):
    L = [x, 2.0 * x]
    s = 0.0
    for v in L:
        L = [7.0 * x, 7.0 * x]  # a new list: the loop goes on over the old one
        s += v
    return s + L[0]


def copies_are_fixed(x):
    L = [x, 2.0 * x, 3.0]
    s = 0.0
    for v in list(L):
        L[2] = 5.0 * x
        s += v
    for v in tuple(L):
        L[0] = 9.0
        s += v * x
    return s


def arrays_in_a_list(x):
    L = [x, 2.0 * x]
    s = 0.0
    for k, v in enumerate(L):
        if k == 0:
            L[1] = L[1] * v
        s += np.sum(v)
    return s


def enumerate_from_one(x):
    L = [x, 2.0 * x, 3.0]
    s = 0.0
    for k, v in enumerate(L, 1):
        if k < len(L):
            L[k] = L[k] * v
        s += v
    return s


def over_a_copy(x):
    L = [x, 2.0 * x, 3.0]
    s = 0.0
    for k, v in enumerate(L[:]):
        L[-1] = v * x
        s += v * k
    for v in L[:]:
        L.append(v)
        s += v
    for v in L.copy():
        L[0] = L[0] * v
    return s + len(L) + L[0]


COEFFICIENTS = tuple(0.01 * k for k in range(300))


def longer_than_the_unroll_limit(x):
    s = 0.0
    for c in COEFFICIENTS:
        s = s + c * x
    squares = [x] * 300
    for v in squares:
        s = s + v * v
    return s


CASES = [
    (enumerate_from_one, 0.7),
    (over_a_copy, 0.7),
    (longer_than_the_unroll_limit, 0.7),
    (assign_ahead, 0.7),
    (append_while_running, 0.7),
    (helper_changes_it, 0.7),
    (reversed_live, 0.7),
    (smooth, 0.7),
    (zip_live, 0.7),
    (pop_shortens, 0.7),
    (insert_in_front, 0.7),
    (rebinding_keeps_the_old_list, 0.7),
    (copies_are_fixed, 0.7),
    (arrays_in_a_list, np.array([0.3, -1.2, 0.8])),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn, x", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_list_changed_while_a_loop_runs_over_it(fn, x, backend):
    value, gradient = value_and_grad(fn, backend=backend)(x)
    assert value == pytest.approx(fn(x), rel=1e-12)
    np.testing.assert_allclose(gradient, central(fn, (x,), 0), rtol=1e-7, atol=1e-9)


def through_a_dict(x):
    p = {"L": [x, 2.0 * x]}
    s = 0.0
    for v in p["L"]:
        p["L"][1] = 5.0 * x
        s += v
    return s


def through_a_dict_unchanged(x):
    p = {"L": [x, 2.0 * x]}
    s = 0.0
    for v in p["L"]:
        s += v * v
    return s


def appends_forever(x):
    L = [x]
    for v in L:
        L.append(v * 0.5)
    return L[3]


def test_a_change_to_a_list_not_named_by_the_loop_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="changes the list it runs over") as info:
        value_and_grad(through_a_dict, backend="python")(0.7)
    assert "range(len(...))" in str(info.value)
    value, gradient = value_and_grad(through_a_dict_unchanged, backend="python")(0.7)
    assert value == pytest.approx(5 * 0.49) and gradient == pytest.approx(10 * 0.7)


def test_a_loop_appending_to_its_own_list_without_end_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="runs more than 256 times"):
        value_and_grad(appends_forever, backend="python")(0.7)
