"""Differentiated container arguments (lists, tuples, dicts of arrays) for the autograd suite
check: the oracles see the containers' leaves as separate arguments, and ad_compiler's
gradients (containers of the same structure) are flattened the same way to be compared."""

from __future__ import annotations

import numpy as np


def leaves(value) -> list:
    """The numbers and arrays in a nested list/tuple/dict, in order (dicts by key order)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def rebuild(template, items) -> object:
    """`template`'s structure holding the next values of the iterator `items`."""
    if isinstance(template, dict):
        return type(template)((k, rebuild(v, items)) for k, v in template.items())
    if isinstance(template, (list, tuple)):
        made = [rebuild(v, items) for v in template]
        return made if isinstance(template, list) else type(template)(made)
    return next(items)


def is_float_leaf(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, (float, np.floating)) and not isinstance(value, bool)


class Flattened:
    """The arguments with each differentiated container spread into its leaves."""

    def __init__(self, args: tuple, argnums: tuple) -> None:
        self.args = args
        self.argnums = argnums
        self.flat_args: list = []
        self.flat_argnums: list[int] = []
        self.spans: list[tuple[int, int]] = []  # each argument's range in flat_args
        for i, value in enumerate(args):
            start = len(self.flat_args)
            spread = leaves(value) if i in argnums else [value]
            self.flat_args.extend(spread)
            self.spans.append((start, len(self.flat_args)))
        for i in argnums:
            self.flat_argnums.extend(range(*self.spans[i]))

    def all_float(self) -> bool:
        """Whether every differentiated leaf is a float (and there is one for each argument)."""
        spans = [self.spans[i] for i in self.argnums]
        return all(start < end for start, end in spans) and all(
            is_float_leaf(self.flat_args[p]) for p in self.flat_argnums
        )

    def function(self, original):
        """original taking the flat arguments."""

        def flat_original(*flat):
            rebuilt = []
            for i, (start, end) in enumerate(self.spans):
                if i in self.argnums:
                    rebuilt.append(rebuild(self.args[i], iter(flat[start:end])))
                else:
                    rebuilt.append(flat[start])
            return original(*rebuilt)

        return flat_original

    @staticmethod
    def gradients(grads) -> list:
        """ad_compiler's gradients, one per differentiated argument, as flat leaves."""
        return [leaf for g in grads for leaf in leaves(g)]


def float_paths(value, path=()) -> list[tuple] | None:
    """The index paths of a container's leaves when every leaf is a float number or array
    (and there is one), else None."""
    if isinstance(value, dict):
        parts = [float_paths(v, path + (k,)) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        parts = [float_paths(v, path + (k,)) for k, v in enumerate(value)]
    else:
        return [path] if is_float_leaf(value) else None
    if not parts or any(p is None for p in parts):
        return None
    return [q for p in parts for q in p]


def path_code(path: tuple) -> str:
    """`[0]["mean"]`: the subscripts that reach a leaf."""
    return "".join(f"[{k!r}]" for k in path)
