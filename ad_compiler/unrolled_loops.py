"""Loops the normalizer unrolls: over a list, tuple or dict (also through enumerate, zip,
reversed, sorted, list and tuple), and over a range of constant length whose body works with
containers. Each iteration is normalized with its own items.

A list is read as Python's iterator reads it, at each step: `for v in L` (and enumerate(L),
reversed(L), zip(L, M)) sees an item that an earlier iteration set (`L[i + 1] += 0.5 * v`) or
appended. A snapshot taken when the loop starts would compute something else, silently. Where
the iterable is not a name (`for v in p["layers"]`), the items are taken when the loop starts
and an iteration that changes that list is refused, with a rewrite that reads it live.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from . import controlflow
from .ir import Const, If, Var
from .values import CONTAINERS, ListValue, RecordValue, TupleValue

# Loops over a range of constant length are unrolled (to work with containers) up to this many
# iterations; longer ones stay loops. A loop over a list it appends to stops here too (refused).
UNROLL_LIMIT = 256
# A loop over a list or tuple is unrolled, each item's iteration normalized on its own: past
# this many (seconds of normalizing) it is refused.
UNROLL_ITEMS_LIMIT = 1024

LIST_METHODS = ("append", "extend", "insert", "pop", "reverse", "clear", "remove", "sort")

# Where the items of a loop come from, step by step: the target at step k, or None at the end.
Steps = Callable[[int], Any]


class UnrolledLoops:
    """Mixed into the normalizer (through ContainerSupport): unrolled loops."""

    # While the items of a loop are read: the lists they come from, by identity (list_items)
    iterated_lists: dict | None = None

    def unrolled(self, node: ast.For) -> Steps | None:
        """For a loop that is unrolled: its target at each step; None for a loop that stays a
        loop."""
        it = node.iter
        if _calls(it, "range") and 1 <= len(it.args) <= 3 and self.callee(it.func) is range:
            if not (self.works_with_containers(node) or getattr(node, "unroll_constant", False)):
                return None
            bounds = [self.static_int(a) for a in it.args]
            if any(b is None for b in bounds) or len(range(*bounds)) > UNROLL_LIMIT:
                return None
            return _fixed([Const(k) for k in range(*bounds)])
        live = self.live_steps(it)
        if live is not None:
            return live
        outer, self.iterated_lists = self.iterated_lists, {}  # the lists the items come from
        try:
            items = self.peek_items(it)
        finally:
            read, self.iterated_lists = self.iterated_lists, outer
        if items is None:
            return None
        if _reads_live(it, self.callee):
            return self.unchanged_steps(node, list(items), read)
        return _fixed(list(items))

    def live_steps(self, it: ast.expr) -> Steps | None:
        """The steps of a loop over lists that names hold (`L`, `enumerate(L)`, `reversed(L)`,
        `zip(L, M)`; tuples and dicts among zip's may be any names), reading each list when the
        step begins, as Python's list iterators do; None for any other iterable."""
        if isinstance(it, ast.Name):
            value = self.env.get(it.id)
            if not isinstance(value, ListValue) or self.growing(value) is not None:
                return None
            return lambda k: _item(self.list_items(value), k)
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.args):
            return None
        fn = self.callee(it.func)
        if fn is enumerate and len(it.args) + len(it.keywords) <= 2:
            start = (it.args[1:] + [kw.value for kw in it.keywords if kw.arg == "start"] or [0])[0]
            first = start if isinstance(start, int) else self.static_int(start)
            inner = self.live_steps(it.args[0])
            if inner is None or first is None:
                return None
            return lambda k: _enumerated(first + k, inner(k))
        if it.keywords:
            return None
        if fn is reversed and len(it.args) == 1:
            value = self.env.get(it.args[0].id) if isinstance(it.args[0], ast.Name) else None
            if not isinstance(value, ListValue) or self.growing(value) is not None:
                return None
            start = len(self.list_items(value)) - 1  # reversed() fixes where it starts
            return lambda k: _item(self.list_items(value), start - k) if k <= start else None
        if fn is zip and it.args and all(isinstance(a, ast.Name) for a in it.args):
            parts = [self.live_steps(a) or self.named_items(a) for a in it.args]
            if None in parts or not any(self.env.get(a.id).__class__ is ListValue for a in it.args):
                return None
            return lambda k: _zipped([part(k) for part in parts])
        return None

    def named_items(self, node: ast.Name) -> Steps | None:
        """The fixed items of a tuple or namedtuple a name holds, as steps."""
        value = self.env.get(node.id)
        if isinstance(value, TupleValue) or (isinstance(value, RecordValue) and not value.is_dict):
            return _fixed(list(value.items))
        return None

    def unchanged_steps(self, node: ast.For, items: list, read: dict) -> Steps:
        """The items taken when the loop starts, checked at every step against the lists they
        came from: an iteration that changed one is refused (Python would see the change)."""

        def step(k: int) -> Any:
            for ident, before in read.items():
                if self.out.lists.get(ident) != before:
                    raise self.error(
                        node,
                        f"the loop over {ast.unparse(node.iter)} changes the list it runs over "
                        "(Python's next iteration would see the change)",
                        "give the list a name and loop over that name, or loop over "
                        "range(len(...)) and read the item inside the loop",
                    )
            return items[k] if k < len(items) else None

        return step

    def iterated(self, it: ast.Call) -> tuple | None:
        """The items of enumerate(), zip(), reversed(), list() or tuple() of containers."""
        fn = self.callee(it.func)
        if fn is sorted and len(it.args) == 1:
            items = self.peek_items(it.args[0])
            return None if items is None else self.sorted_items(items, it)
        starts = [kw.value for kw in it.keywords if kw.arg == "start"]
        if len(starts) != len(it.keywords) or not it.args or (starts and fn is not enumerate):
            return None
        if fn is enumerate and len(it.args) + len(starts) <= 2:
            items = self.peek_items(it.args[0])
            if items is None:
                return None
            start_node = (it.args[1:] + starts or [None])[0]
            start = Const(0) if start_node is None else self.constant(self.expr(start_node))
            if not isinstance(start, Const):
                raise self.error(it, "enumerate(..., start) needs a constant start here")
            return tuple(TupleValue((Const(start.value + k), v)) for k, v in enumerate(items))
        if fn is zip:
            seqs = [self.peek_items(a) for a in it.args]
            if all(s is None for s in seqs):
                return None
            if any(s is None for s in seqs):
                raise self.error(
                    it,
                    "zip() of a list or tuple with an array is not supported",
                    "index the array inside the loop (`for i, w in enumerate(ws): x[i] ...`)",
                )
            return tuple(TupleValue(group) for group in zip(*seqs))
        if fn in (reversed, list, tuple) and len(it.args) == 1:
            items = self.peek_items(it.args[0])
            return None if items is None else tuple(items[::-1] if fn is reversed else items)
        return None

    def peek_items(self, node: ast.expr) -> tuple | None:
        """The items of a container the expression names, without emitting anything for an
        expression that is not one (it is evaluated again by the ordinary loop)."""
        if not isinstance(
            node, (ast.Name, ast.Subscript, ast.Attribute, ast.List, ast.Tuple, ast.Call)
        ):
            return None
        if (
            isinstance(node, ast.Name)
            and node.id not in self.env
            and type(self.parsed.resolve(node.id)) not in (list, tuple)
        ):
            return None  # (a module-level list or tuple is read as a tuple: normalize.py)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.iterated(node)
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("items", "keys", "values", "copy")
            and self.names_container(node.func.value)  # (x.copy() of an array: not here)
        ):
            return None
        if isinstance(node, (ast.Subscript, ast.Attribute)) and not self.names_container(node):
            return None
        value = self.expr(node)
        if isinstance(value, RecordValue):
            if value.is_dict:
                return tuple(Const(k) for k in value.keys)  # iterating a dict gives its keys
            return value.items
        return self.items_of(value)

    def names_container(self, node: ast.expr) -> bool:
        """Whether `a[...]` or `a.b` starts from a name holding a container."""
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return isinstance(node, ast.Name) and isinstance(self.env.get(node.id), CONTAINERS)

    def static_int(self, node: ast.expr) -> int | None:
        """An integer known at compile time (a constant, a module-level number, the length of
        a container), or None."""
        if not self.maybe_static(node):
            return None
        value = self.constant(self.expr(node))
        return value.value if isinstance(value, Const) and type(value.value) is int else None

    def maybe_static(self, node: ast.expr) -> bool:
        if isinstance(node, (ast.Constant, ast.Name)):
            return True
        if isinstance(node, ast.UnaryOp):
            return self.maybe_static(node.operand)
        if isinstance(node, ast.BinOp):
            return self.maybe_static(node.left) and self.maybe_static(node.right)
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and len(node.args) == 1
            and self.peek_items(node.args[0]) is not None
        )

    def works_with_containers(self, node: ast.For) -> bool:
        """Whether a loop body uses lists, tuples or dicts (so that unrolling it lets their
        items be indexed by the loop variable and lists grow)."""
        for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if isinstance(sub, ast.Name) and isinstance(self.env.get(sub.id), CONTAINERS):
                return True
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and (sub.func.attr in LIST_METHODS)
            ):
                return True
            if isinstance(sub, (ast.List, ast.ListComp, ast.FunctionDef, ast.Lambda)):
                return True
        return False

    def unroll(self, node: ast.For, steps: Steps) -> None:
        """Normalize the loop body once per item; after a `break`, the remaining iterations
        run only if it was not taken."""
        breaks = getattr(node, "lowered_break", False)
        initial = 0  # the items there are when the loop starts (it may append more)
        while initial <= UNROLL_ITEMS_LIMIT and steps(initial) is not None:
            initial += 1
        if initial > UNROLL_ITEMS_LIMIT:
            raise self.error(
                node,
                f"the loop over {ast.unparse(node.iter)} has more than {UNROLL_ITEMS_LIMIT} "
                "items (a loop over a list or tuple is unrolled)",
                "make the items an array (`np.array(items)`) and loop over it",
            )
        k = 0
        while True:
            self.node = node
            flag = self.env.get(controlflow.BREAK) if breaks and k > 0 else Const(False)
            if isinstance(flag, Const) and flag.value:
                break
            target = steps(k)
            if target is None:
                break
            if k == max(UNROLL_LIMIT, initial):
                raise self.error(
                    node,
                    f"the loop over {ast.unparse(node.iter)} runs more than {k} times (a list "
                    "it appends to while it runs over it)",
                    "build the new items in another list",
                )
            if isinstance(flag, Const):
                self.bind(node.target, target)
                self.body(node.body)
            else:
                self.guarded(node, flag, target)
            k += 1
        self.node = node

    def guarded(self, node: ast.For, flag: Var, target: Any) -> None:
        """One unrolled iteration that runs only if the ones before did not break."""
        cond = self.emit("not", flag)
        before = dict(self.env)

        def run():
            self.bind(node.target, target)
            self.body(node.body)

        then_env, then_block, then_undef, then_lists = self.branch(run, before)
        else_env, else_block, else_undef, else_lists = self.branch([], before)
        phis = self.merge(node, before, then_env, else_env, then_undef, else_undef)
        self.merge_lists(node, then_lists, else_lists, phis)
        self.out.current.append(
            If(cond, tuple(then_block), tuple(else_block), tuple(phis), self.parsed.loc(node))
        )


def _fixed(items: list) -> Steps:
    return lambda k: items[k] if k < len(items) else None


def _item(items: tuple, k: int) -> Any:
    return items[k] if 0 <= k < len(items) else None


def _enumerated(k: int, item: Any) -> Any:
    return None if item is None else TupleValue((Const(k), item))


def _zipped(items: list) -> Any:
    return None if None in items else TupleValue(tuple(items))


def _reads_live(it: ast.expr, callee: Callable) -> bool:
    """Whether Python's iterator over `it` reads a list as it goes (not a copy: sorted(),
    list(), tuple())."""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
        live = callee(it.func) in (enumerate, zip, reversed)
        return live and any(_reads_live(a, callee) for a in it.args)
    if isinstance(it, ast.Subscript):
        return not isinstance(it.slice, ast.Slice)  # (a slice of a list is a new list)
    return isinstance(it, (ast.Name, ast.Attribute))


def _calls(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
