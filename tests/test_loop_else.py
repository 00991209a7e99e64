"""A loop's `else:` clause with a return, break or continue of its own (controlflow.py lowers
the clause as an `if` on a flag the loop's breaks clear). `return` there failed with an
internal name ('__returned' is not defined), and an inner loop's `else: continue` / `else:
break`, the usual way to go on with or leave the outer loop, was refused as 'continue outside
a loop' (found by the adversary); a function ending in a loop that returns in its body and in
its `else:` was refused as not returning on every path. Every function is checked against
CPython (the value) and central differences of itself (the gradient), on both backends, at
points that take each path."""

import numpy as np
import pytest
from gradcheck_helpers import central, unreached_statements
from loop_else_functions import CASES, POINTS

from ad_compiler import value_and_grad

BACKENDS = ("python", "numba")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CASES, ids=[f.__name__ for f in CASES])
def test_return_break_and_continue_in_a_loop_else(fn, backend):
    g = value_and_grad(fn, backend=backend)
    for x in POINTS:
        value, gradient = g(x)
        assert value == pytest.approx(fn(x), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(gradient, central(fn, (x,), 0), rtol=1e-7, atol=1e-9)


def test_the_points_reach_every_statement():
    """So that every clause and every exit above is checked (the tests can fail)."""
    import loop_else_functions

    def run():
        for fn in CASES:
            for x in POINTS:
                fn(x)

    assert unreached_statements(loop_else_functions.__file__, run) == []
