"""Indices proven >= 0 are printed unsigned in numba programs (nonnegative.py), which spares
numba's wrap-around of negative indices; an index that may be negative keeps Python's meaning
(x[-1] is the last element). Each program is checked against CPython (its value), central
differences of the original function and the unoptimized NumPy program (its gradient), and
the generated numba source is checked for which indices it prints unsigned."""

import re

import numpy as np
import pytest
from gradcheck_helpers import check_compiled

from ad_compiler import grad
from ad_compiler.adjoint import differentiate
from ad_compiler.ir import INT, Assign, Const, Function, Loop, Var, walk
from ad_compiler.kinds import KindTable, infer_kinds
from ad_compiler.nonnegative import nonnegative_ints


def triangle(x, L):
    # the GMM's packed lower triangle: a counter li running over L's entries
    n, d = x.shape
    z = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            z[j] = x[i, j]
        li = d
        for c in range(d):
            for r in range(c + 1, d):
                z[r] += L[li] * x[i, c]
                li += 1
        for j in range(d):
            total += z[j] * z[j]
    return total


def cyclic(x):
    # x[i - 1] is x[-1], the last element, when i == 0
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i - 1] * x[i] ** 2
    return total


def from_one(x):
    total = 0.0
    for i in range(1, x.shape[0]):
        total += x[i - 1] * x[i]
    return total


def down_to_one(x):
    total = 0.0
    for i in range(x.shape[0] - 1, 0, -1):
        total += x[i - 1] * x[i] ** 3
    return total


def down_to_zero(x):
    # i - 1 is -1 at the last iteration: the last element again
    total = 0.0
    for i in range(x.shape[0] - 1, -1, -1):
        total += x[i - 1] * x[i] ** 3
    return total


def counting_down(x, w):
    # j goes negative: x[j] wraps to the end
    j = 2
    total = 0.0
    for i in range(x.shape[0]):
        total += x[j] * w[i]
        j -= 1
    return total


def counter_below_zero(x, w):
    # li runs 1, 0, -1, ...: w[li] wraps; the reverse recomputes li (loop_running.py)
    n = x.shape[0]
    li = 1
    total = 0.0
    for c in range(n):
        for r in range(c, n):
            total += w[li] * x[r] ** 2
            li += -1
    return total


def from_a_list(x):
    parts = [x[0], x[1], x[2]]
    total = 0.0
    k = 0
    for i in range(x.shape[0]):
        total += parts[k] * x[i]
        k = (k + 1) % 3
    return total


def flat_index(A, v):
    # row-major flat index into a raveled matrix
    n, m = A.shape
    flat = A.ravel()
    total = 0.0
    for i in range(n):
        for j in range(m):
            total += flat[i * m + j] * v[j]
    return total


check = check_compiled


def unsigned(fn, args, wrt) -> list[str]:
    """What the numba program indexes with unsigned indices."""
    g = grad(fn, wrt=wrt)
    source = g._compile(g._kinds(list(args)), numpy=False)[1]
    return re.findall(r"np\.uintp\(([^()]*(?:\([^()]*\)[^()]*)*)\)", source)


@pytest.mark.parametrize("d", [0, 1, 2, 5])
def test_the_triangles_counter_indexes_unsigned_in_both_sweeps(d):
    rng = np.random.default_rng(d)
    args = (rng.normal(size=(3, d)), rng.normal(size=d * (d + 1) // 2 + d))
    check(triangle, args, (0, 1))
    found = unsigned(triangle, args, (0, 1))
    # the forward's li, the reverse's li recomputed from the counter (loop_running.py); the
    # tops of tapes after a pop (loops.py)
    assert len([f for f in found if "li" in f]) >= 3, found
    assert all("li" in f or f.endswith("_tape_top") for f in found), found


@pytest.mark.parametrize("fn", [cyclic, down_to_zero])
def test_an_index_that_reaches_minus_one_wraps_as_in_python(fn):
    args = (np.random.default_rng(1).normal(size=5),)
    check(fn, args, (0,))
    assert unsigned(fn, args, (0,)) == []


@pytest.mark.parametrize("fn", [from_one, down_to_one])
def test_an_index_one_below_a_loop_that_stays_above_zero_is_unsigned(fn):
    args = (np.random.default_rng(2).normal(size=6),)
    check(fn, args, (0,))
    assert unsigned(fn, args, (0,)) and all("- 1" in f for f in unsigned(fn, args, (0,)))


def test_a_counter_that_goes_negative_wraps_as_in_python():
    rng = np.random.default_rng(3)
    args = (rng.normal(size=5), rng.normal(size=5))
    check(counting_down, args, (0, 1))
    assert unsigned(counting_down, args, (0, 1)) == []
    args = (rng.normal(size=4), rng.normal(size=10))
    check(counter_below_zero, args, (0, 1))
    assert unsigned(counter_below_zero, args, (0, 1)) == []


def test_list_items_and_flat_indices():
    rng = np.random.default_rng(4)
    check(from_a_list, (rng.normal(size=7),), (0,))
    args = (rng.normal(size=(3, 4)), rng.normal(size=4))
    check(flat_index, args, (0, 1))
    assert unsigned(flat_index, args, (0, 1))  # i * m + j, read and added into


def test_which_names_are_never_negative():
    # k = n - 1 ... 0 by a loop; m = k - 1 reaches -1; s = k + n; q = n - 1 (n may be 0)
    body = (
        Assign("q", "sub", (Var("n"), Const(1))),
        Loop("k", Var("q"), Const(-1), Const(-1), (), None, (
            Assign("m", "sub", (Var("k"), Const(1))),
            Assign("s", "add", (Var("k"), Var("len_x"))),
        )),
        Assign("len_x", "len", (Var("x"),)),
    )  # fmt: skip
    kinds = KindTable({name: INT for name in ("n", "q", "k", "m", "s", "len_x")})
    fn = Function("f", ("x", "n"), body, Var("s"))
    assert nonnegative_ints(fn, kinds) == {"k", "s", "len_x"}
    # the same with a stop of 0: k - 1 >= 0 all through
    body = body[:1] + (Loop("k", Var("q"), Const(0), Const(-1), (), None, body[1].body),)
    assert "m" in nonnegative_ints(Function("f", ("x", "n"), body + fn.body[2:], None), kinds)
    # a name assigned once from a parameter (it may be negative) is not
    fn = Function("f", ("x", "n"), (Assign("c", "copy", (Var("n"),)),), Var("c"))
    assert nonnegative_ints(fn, KindTable({"n": INT, "c": INT})) == set()


def recomputed_counters(fn, args) -> dict[str, bool]:
    """The reverse sweep's recomputed counters (loop_running.py), each with whether its
    statements are marked never negative."""
    g = grad(fn, wrt=0)
    primal = g._primal()
    table = infer_kinds(primal, dict(zip(primal.params, g._kinds(list(args)))))
    gradient = differentiate(primal, table, primal.params[:1], False)
    marks: dict[str, bool] = {}
    for s in walk(gradient.body):
        if isinstance(s, Assign) and s.target and s.target.endswith("_run"):
            marks[s.target] = marks.get(s.target, True) and bool(s.attr("nonnegative"))
    return marks


def test_a_counter_is_marked_only_when_never_negative_in_the_primal():
    marks = recomputed_counters(triangle, (np.ones((3, 4)), np.ones(14)))
    assert marks == {"li_run": True}
    marks = recomputed_counters(counter_below_zero, (np.ones(4), np.ones(10)))
    assert marks == {"li_run": False}
