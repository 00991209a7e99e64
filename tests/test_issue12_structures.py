"""Issue 12: structured parameters, lists, comprehensions and nested functions, checked against
the original function: its value as CPython computes it, central differences over every float
leaf, and autograd running the same code (which takes dicts, lists and tuples too)."""

import collections

import numpy as np
import pytest
from structured_oracle import (
    assert_close,
    assert_same_structure,
    by_autograd,
    central,
    copied,
)
from test_oracles import autograd_version

from ad_compiler import grad, value_and_grad

BACKENDS = ("python", "numba")
rng = np.random.default_rng(12)
Layer = collections.namedtuple("Layer", "W b")


def two_layer_net(p, x, y):
    h = np.tanh(p["W1"] @ x + p["b1"])
    out = p["W2"] @ h + p["b2"]
    return np.sum((out - y) ** 2)


def stack_of_layers(Ws, x):
    h = x
    for W in Ws:
        h = np.tanh(W @ h)
    return np.sum(h * h)


def weights_and_biases(layers, x):
    h = x
    for W, b in layers:
        h = np.sin(W @ h + b)
    return np.sum(h)


def zipped(ws, bs, x):
    h = x
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = np.tanh(w @ h + b) * (i + 1.0)
    return np.sum(h) + len(ws) * ws[-1][0, 0]


def named_layers(layers, x):
    h = x
    for layer in layers:
        h = np.cos(layer.W @ h + layer.b)
    return np.sum(h)


def nested_dict(p, x):
    z = p["enc"]["W"] @ x + p["enc"]["b"]
    return np.sum(z ** 2) * p["scale"]


def scalar_pair(wb, x):
    w, b = wb
    return np.sum((w * x + b) ** 2)


def dict_items(p, x):
    total = 0.0
    for _name, value in p.items():
        total = total + np.sum(value * x)
    for name in p:
        total = total + np.sum(p[name]) ** 2
    return total


def with_config(w, cfg, data):
    s = 0.0
    for d in data:
        s = s + np.sum((w * d - cfg["shift"]) ** 2)
    return s * cfg["weight"]


def two_structures(p, q):
    return p["a"] * q[0] + np.sum(p["b"] * q[1])


CASES = [
    (two_layer_net, lambda: ({"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4),
                              "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2)},
                             rng.normal(size=3), rng.normal(size=2)), (0, 1)),
    (stack_of_layers, lambda: ([rng.normal(size=(3, 3)) for _ in range(3)], rng.normal(size=3)),
     (0, 1)),
    (weights_and_biases, lambda: ([(rng.normal(size=(2, 2)), rng.normal(size=2)),
                                   (rng.normal(size=(2, 2)), rng.normal(size=2))],
                                  rng.normal(size=2)), (0,)),
    (zipped, lambda: ([rng.normal(size=(2, 2)), rng.normal(size=(2, 2))],
                      (rng.normal(size=2), rng.normal(size=2)), rng.normal(size=2)), (0, 1)),
    (named_layers, lambda: ([Layer(rng.normal(size=(2, 2)), rng.normal(size=2))
                             for _ in range(2)], rng.normal(size=2)), (0,)),
    (nested_dict, lambda: ({"enc": {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2)},
                            "scale": 1.7}, rng.normal(size=3)), (0,)),
    (scalar_pair, lambda: ((0.7, -0.3), rng.normal(size=3)), (0, 1)),
    (dict_items, lambda: ({"u": rng.normal(size=3), "v": rng.normal(size=3)},
                          rng.normal(size=3)), (0, 1)),
    (with_config, lambda: (rng.normal(size=2), {"shift": 0.5, "weight": 2.0, "n": 3},
                           [rng.normal(size=2) for _ in range(3)]), (0,)),
    (two_structures, lambda: ({"a": 1.5, "b": rng.normal(size=2)},
                              (0.3, rng.normal(size=2))), (0, 1)),
]
ARGS = {case[0]: case[1]() for case in CASES}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_of_structured_arguments(case, backend):
    fn, _, positions = case
    args = ARGS[fn]
    for pos in positions:
        value, got = value_and_grad(fn, wrt=pos, backend=backend)(*copied(args))
        assert np.isclose(value, fn(*copied(args)), rtol=1e-12)
        want = central(fn, args, pos)
        assert_same_structure(got, want)
        assert_close(got, want, rtol=1e-5, atol=1e-6)
        oracle = by_autograd(autograd_version(fn), args, pos)
        if oracle is not None:
            assert_close(got, oracle, rtol=1e-9, atol=1e-12)


def test_several_structured_arguments_at_once():
    args = ARGS[two_structures]
    gp, gq = grad(two_structures, wrt=(0, 1), backend="python")(*copied(args))
    assert_same_structure(gp, central(two_structures, args, 0))
    assert_same_structure(gq, central(two_structures, args, 1))
    assert isinstance(gq, tuple) and isinstance(gq[0], float)


def test_key_order_is_the_arguments_own():
    p = {"z": 1.0, "a": 2.0, "m": np.array([1.0, 2.0])}

    def f(p):
        return p["z"] * p["a"] + np.sum(p["m"])

    g = grad(f, backend="python")(p)
    assert list(g) == ["z", "a", "m"]
    assert g["z"] == 2.0 and g["a"] == 1.0 and np.array_equal(g["m"], [1.0, 1.0])


def test_another_layout_compiles_again():
    g = grad(stack_of_layers, backend="python")
    x = rng.normal(size=3)
    for depth in (2, 3, 1):
        Ws = [rng.normal(size=(3, 3)) for _ in range(depth)]
        got = g(Ws, x)
        assert len(got) == depth
        assert_close(got, central(stack_of_layers, (Ws, x), 0), rtol=1e-5, atol=1e-6)


def test_leaf_names_in_the_generated_program():
    source = grad(two_layer_net, backend="python").source_for(*ARGS[two_layer_net])
    assert "def " in source and "p_W1" in source and "p_W1_bar" in source


def test_int_leaf_of_a_differentiated_structure_is_refused():
    from ad_compiler import GradientInputError

    with pytest.raises(GradientInputError, match=r"entry p\[.n.\] is the int 3: pass 3.0"):
        grad(lambda p: p["w"] * 2.0, backend="python")({"w": 1.0, "n": 3})


def activation(w, cfg, mask=None):
    h = np.tanh(w) if cfg["act"] == "tanh" else np.maximum(w, 0.0)
    if mask is not None:
        h = h * mask
    return np.sum(h) * cfg["scale"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_strings_and_none_are_compiled_in(backend):
    # A string or None (in a structure or alone) is a constant of the program; another value
    # builds another program, as another layout does.
    g = grad(activation, backend=backend)
    w = np.array([0.5, -1.0])
    np.testing.assert_allclose(g(w, {"act": "tanh", "scale": 2.0}), 2 * (1 - np.tanh(w) ** 2))
    np.testing.assert_allclose(g(w, {"act": "relu", "scale": 2.0}), [2.0, 0.0])
    np.testing.assert_allclose(g(w, {"act": "relu", "scale": 1.0}, np.array([3.0, 1.0])),
                               [3.0, 0.0])


def test_compiled_for_refuses_structured_arguments():
    """numba code passes numbers and arrays: compiled_for says so for a tuple argument."""
    from ad_compiler import GradientInputError

    with pytest.raises(GradientInputError, match="compiled_for: argument wb is a tuple"):
        grad(scalar_pair, backend="python").compiled_for(*ARGS[scalar_pair])


def test_container_subclasses_come_back_as_themselves():
    class Params(list):
        pass

    def f(p, q):
        return p["a"] * q[0] + q[1] * p["b"]

    p = collections.OrderedDict(b=3.0, a=2.0)
    gp, gq = grad(f, wrt=(0, 1), backend="python")(p, Params([1.0, 4.0]))
    assert type(gp) is collections.OrderedDict and list(gp) == ["b", "a"]
    assert gp == {"a": 1.0, "b": 4.0}
    assert type(gq) is Params and gq == [2.0, 3.0]
