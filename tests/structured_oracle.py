"""Oracles for functions of structured arguments (dicts, lists, tuples, namedtuples of floats
and arrays), independent of ad_compiler: central differences over every float leaf of the
original function, autograd (which takes the same containers), and a structure comparison."""

from __future__ import annotations

import warnings

import autograd
import numpy as np


def leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def replace_leaves(value, new):
    """`value` with its leaves replaced, in order, by the items of the iterator `new`."""
    if isinstance(value, dict):
        return {k: replace_leaves(v, new) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        return type(value)(*(replace_leaves(v, new) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(replace_leaves(v, new) for v in value)
    return next(new)


def copied(args) -> list:
    return [replace_leaves(a, iter([np.array(x, copy=True) if isinstance(x, np.ndarray) else x
                                    for x in leaves(a)])) for a in args]


def central(fn, args, pos, h=1e-5):
    """d fn / d args[pos] by central differences, with args[pos]'s structure."""
    target = args[pos]
    flat = leaves(target)
    grads = []
    for k, leaf in enumerate(flat):
        arr = np.array(leaf, dtype=float)
        g = np.zeros_like(arr)
        for j in range(arr.size):
            values = []
            for step in (h, -h):
                bumped = arr.copy()
                bumped.flat[j] += step
                new_leaf = bumped if isinstance(leaf, np.ndarray) else float(bumped)
                new_flat = [new_leaf if i == k else x for i, x in enumerate(flat)]
                new_args = copied(args)
                new_args[pos] = replace_leaves(target, iter(new_flat))
                values.append(fn(*new_args))
            g.flat[j] = (values[0] - values[1]) / (2 * h)
        grads.append(g if isinstance(leaf, np.ndarray) else float(g))
    return replace_leaves(target, iter(grads))


def by_autograd(fn, args, pos):
    """autograd's gradient of the same code (with autograd.numpy), or None if it cannot."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return autograd.grad(fn, pos)(*copied(args))
    except Exception:  # code autograd cannot trace (writes into arrays, ...)
        return None


def assert_same_structure(got, want, where="gradient"):
    """Same container types (namedtuple classes), same keys in the same order, same shapes."""
    assert type(got) is type(want) or (
        isinstance(want, float) and isinstance(got, float)
    ), f"{where}: {type(got).__name__} where {type(want).__name__} was expected"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)}, expected {list(want)}"
        for key in want:
            assert_same_structure(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: {len(got)} items, expected {len(want)}"
        for k, (a, b) in enumerate(zip(got, want)):
            assert_same_structure(a, b, f"{where}[{k}]")
    elif isinstance(want, np.ndarray):
        assert got.shape == want.shape and got.dtype == want.dtype, where


def assert_close(got, want, rtol=1e-6, atol=1e-7):
    for a, b in zip(leaves(got), leaves(want)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
