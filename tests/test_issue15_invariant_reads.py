"""Element reads a loop does not change are computed once before it, in numba programs
(loop_invariant.py): only where no write in the loop can reach the array read, only what every
first iteration reaches, and behind a test that the loop runs at all. Each program is checked
against CPython (its value), central differences of the original function and the unoptimized
NumPy program (its gradient)."""

import math
import re

import numpy as np
import pytest
from gradcheck_helpers import check_compiled

from ad_compiler import grad
from ad_compiler.ir import FLOAT, INT, Assign, Const, Function, If, Kind, Loop, Var
from ad_compiler.kinds import KindTable
from ad_compiler.loop_invariant import hoist_invariant_reads

ARRAY = Kind(1, "float")


def triangle(x, m, L):
    # the GMM's z = Q (x - mu), lower triangle column by column
    n, d = x.shape
    z = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            z[j] = math.exp(L[j, j]) * (x[i, j] - m[j])
        for c in range(d):
            for r in range(c + 1, d):
                z[r] += L[r, c] * (x[i, c] - m[c])
        for j in range(d):
            total += z[j] * z[j]
    return total


def read_before_assigned(x, w):
    total = 0.0
    for i in range(x.shape[0]):
        a = 0.0
        for j in range(w.shape[0]):
            total += a * w[j]  # the previous iteration's a
            a = x[i] * 2.0
    return total


def inner_loop_may_not_run(x, w):
    # for i >= len(w) the inner loop runs no iteration and x[i] exists, w[i] does not
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(i, w.shape[0]):
            total += w[i] * x[i] * w[j]
    return total


check = check_compiled


def numba_source(fn, args, wrt):
    g = grad(fn, wrt=wrt)
    return g._compile(g._kinds(list(args)), numpy=False)[1]


@pytest.mark.parametrize("d", [0, 1, 2, 5])
def test_the_triangle_reads_its_column_once(d):
    rng = np.random.default_rng(d)
    args = (rng.normal(size=(4, d)), rng.normal(size=d), rng.normal(size=(d, d)) * 0.3)
    check(triangle, args, (0, 1, 2))
    source = numba_source(triangle, args, (0, 1, 2))
    # forward and reverse: x[i, c] - m[c] before the loop over r, behind its trip count
    hoisted = re.findall(r"if (trip\w*) > 0:\n\s+(?:#.*\n\s+)?(t\d+) = x\[i, c\] - m\[c\]", source)
    assert len(hoisted) == 2, source
    code = "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))
    assert "* (x[i, c] - m[c])" not in code, source


def loop_reading_v_writing(written, through="copy"):
    """`y = x * 2.0; v = y; z = x * 3.0` and a loop reading v[0] while adding into `written`
    (user code writing into an array read through another name is refused before this pass:
    the compiler's own arrays are what it must keep apart)."""
    at = ((("index", (("i",),)),))
    body = (
        Assign("y", "mul", (Var("x"), Const(2.0))),
        Assign("v", through, (Var("y"),) if through == "copy" else (Var("y"), Var("x"))),
        Assign("z", "mul", (Var("x"), Const(3.0))),
        Loop("j", Const(0), Var("n"), Const(1), (), None, (
            Assign("t1", "getitem", (Var("v"), Const(0)), at),
            Assign("t2", "mul", (Var("t1"), Const(0.5))),
            Assign(None, "index_add", (Var(written), Var("t2"), Var("j")), at),
        )),
    )  # fmt: skip
    kinds = KindTable({"x": ARRAY, "n": INT, "j": INT, "y": ARRAY, "v": ARRAY, "z": ARRAY,
                       "t1": FLOAT, "t2": FLOAT})  # fmt: skip
    fn = Function("f", ("x", "n"), body, Var("y"))
    return hoist_invariant_reads(fn, kinds)


def test_a_read_of_an_array_the_loop_writes_under_another_name_stays():
    kept = loop_reading_v_writing("y").body  # nothing moved
    assert not any(isinstance(s, If) for s in kept) and len(kept[-1].body) == 3
    moved = loop_reading_v_writing("z").body  # z is another array: v[0] and t2 move
    assert isinstance(moved[-1], Loop) and isinstance(moved[-2], If)
    assert [s.target for s in moved[-2].body] == ["t1", "t2"]
    assert [s.op for s in moved[-1].body] == ["index_add"]
    # an operation that may return its argument's memory (np.reshape's view, rt.sum_to when
    # the shapes agree) without saying so: nothing moves, whichever array is written
    for op in ("reshape_to", "sum_to"):
        for written in ("y", "z"):
            kept = loop_reading_v_writing(written, op).body
            assert not any(isinstance(s, If) for s in kept), (op, written)


def test_a_value_read_before_it_is_assigned_stays():
    rng = np.random.default_rng(2)
    check(read_before_assigned, (rng.normal(size=4), rng.normal(size=3)), (0, 1))


@pytest.mark.parametrize("n", [2, 5, 8])
def test_a_loop_that_runs_no_iteration_reads_nothing(n):
    rng = np.random.default_rng(n)
    args = (rng.normal(size=n), rng.normal(size=5))
    check(inner_loop_may_not_run, args, (0, 1))
    source = numba_source(inner_loop_may_not_run, args, (0, 1))
    assert re.search(r"if trip\w* > 0:\n(?:\s+#.*\n)?\s+t\d+ = w\[i\]", source), source
