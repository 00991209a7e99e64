"""Lists, tuples, dicts and namedtuples while normalizing: compile-time containers.

A container never reaches the generated program: it is a set of values (each a Var, a Const
or another container) that the normalizer tracks, so `p["W1"]`, `w, b = layer`, `ws[-1]`,
`len(ws)` and `terms.append(t)` cost nothing at run time. Loops over a container, or over a
range of constant length whose body works with containers, are unrolled: each iteration is
normalized with its own items. Comprehensions are the loops they abbreviate.

A list built in the function is mutable: its items live in one table shared by the function
and the helpers it inlines (`_Emitter.lists`), keyed by the list's identity, so every name and
container holding it sees an `append`, as Python's aliases do. Branches that change a list
merge item by item; a loop that is not unrolled may not change one (refused, with a rewrite).
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .growing import Growing
from .ir import Const, Var
from .sorting import SortedSupport
from .unrolled_loops import UnrolledLoops
from .values import ListValue, RecordValue, TupleValue


@dataclass(frozen=True)
class Conflict:
    """A list whose items depend on the branch an if took: refused where it is used."""

    message: str
    suggestion: str


class ContainerSupport(UnrolledLoops, SortedSupport):
    """Mixed into the normalizer: everything about containers and unrolled loops."""

    # The loop variables of the comprehensions being normalized, each with the comprehension it
    # belongs to (an object of its own per comprehension run): nested.py's late binding
    comprehension_names: Mapping[str, object] = MappingProxyType({})

    # -- reading containers ----------------------------------------------------------------------

    def items_of(self, value: Any) -> tuple | None:
        """The items of a tuple or list (a list's current ones), or None for anything else
        (a list of run-time length among them: growing.py)."""
        if isinstance(value, ListValue):
            items = self.list_items(value)
            return None if isinstance(items, Growing) else items
        if isinstance(value, TupleValue):
            return value.items
        if isinstance(value, RecordValue) and not value.is_dict:
            return value.items  # a namedtuple is a tuple
        return None

    def list_items(self, value: ListValue) -> tuple | Growing:
        """A list's items (or its array, growing.py); refused for a list whose length depends
        on the branch an if took."""
        items = self.out.lists[value.ident]
        if isinstance(items, Conflict):
            raise self.error(self.node, items.message, items.suggestion)
        if self.iterated_lists is not None:  # (unrolled_loops.py: the items of a loop)
            self.iterated_lists[value.ident] = items
        return items

    def snapshot(self, value: Any) -> Any:
        """A list as a tuple of its current items (recursively): for values that are read,
        not changed (np.array(terms), a tuple returned)."""
        if self.growing(value) is not None:
            return self.grown_items(self.growing(value))
        items = self.items_of(value)
        if items is not None:
            return TupleValue(tuple(self.snapshot(v) for v in items))
        if isinstance(value, RecordValue):
            return RecordValue(value.keys, tuple(self.snapshot(v) for v in value.items), value.cls)
        return value

    def sequence(self, value: Any) -> Any:
        """A namedtuple read as the tuple it is (np.sum(p), np.array(p)); anything else as is."""
        if isinstance(value, RecordValue) and not value.is_dict:
            return TupleValue(value.items)
        return value

    def growing(self, value: Any) -> Growing | None:
        """The list of run-time length `value` is, if it is one."""
        if isinstance(value, ListValue):
            items = self.list_items(value)
            return items if isinstance(items, Growing) else None
        return None

    def new_list(self, items: tuple) -> ListValue:
        value = ListValue()
        self.out.lists[value.ident] = self.hold(tuple(items))
        return value

    def hold(self, items: tuple) -> tuple:
        """Items going into a container: a temporary among them is now held there, so it may
        no longer take the name of a variable assigned later (`a, b = t` then `t[1]`)."""
        for item in items:
            if isinstance(item, Var):
                self.out.temps.discard(item.name)
        return items

    def container_key(self, base: Any, node: ast.Subscript) -> Any:
        """`base[key]` for a container base: the item (a tuple of items for a slice)."""
        key_node = node.slice
        base = self.sequence(base)  # a namedtuple is indexed as the tuple it is
        if isinstance(base, RecordValue):
            key = self.static_key(key_node)
            if key is None:
                raise self.error(
                    node, f"{ast.unparse(node.value)} is a dict: index it by a constant key"
                )
            try:
                return base.get(key)
            except KeyError:
                raise self.error(node, f"{ast.unparse(node.value)} has no key {key!r}") from None
        if self.growing(base) is not None:
            return self.grown_item(self.growing(base), key_node, node)
        items = self.items_of(base)
        if isinstance(key_node, ast.Slice):
            parts = [
                None if p is None else self.static_key(p)
                for p in (key_node.lower, key_node.upper, key_node.step)
            ]
            if any(p is not None and not isinstance(p, int) for p in parts):
                raise self.error(node, "a list or tuple can only be sliced by constant integers")
            part = items[slice(*parts)]
            return self.new_list(part) if isinstance(base, ListValue) else TupleValue(part)
        key = self.static_key(key_node)
        if key is None and items and all(isinstance(i, (Var, Const)) for i in items):
            # `(a, b, c)[i]` with i known at run time: the items stacked, then indexed
            index = self.emit("sequence_index", self.operand(self.expr(key_node), key_node))
            return self.getitem(self.stack(list(items)), (index,), (("i",),))
        if not isinstance(key, int) or isinstance(key, bool):
            what = "list" if isinstance(base, ListValue) else "tuple or list"
            raise self.error(
                node,
                f"{ast.unparse(node.value)} is a {what}: it can only be indexed by a constant "
                "integer (a loop over it, or over range(len(...)), is unrolled)",
                f"loop with `for item in {ast.unparse(node.value)}:` or "
                f"`for i in range(len({ast.unparse(node.value)})):`",
            )
        if not -len(items) <= key < len(items):
            raise self.error(node, f"index {key} is out of range for {ast.unparse(node.value)}")
        return items[key]

    def items_in(self, record: RecordValue, node: ast.AST) -> tuple:
        if record.is_dict:
            raise self.error(node, "a dict cannot be unpacked or indexed by position")
        return record.items

    def static_key(self, node: ast.expr) -> Any:
        """A key known at compile time (a constant, a loop index of an unrolled loop), or None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.static_key(node.operand)
            return -inner if isinstance(inner, int) else None
        value = self.constant(self.expr(node))
        if isinstance(value, Const) and isinstance(value.value, (str, int)):
            return value.value
        return None

    def container_attribute(self, base: RecordValue, node: ast.Attribute) -> Any:
        if not base.is_dict and node.attr in base.keys:
            return base.get(node.attr)
        raise self.error(node, f"the attribute .{node.attr} is not supported here")

    def container_len(self, value: Any) -> Any:
        if self.growing(value) is not None:
            return self.env[self.growing(value).count]
        items = self.items_of(value)
        if items is not None:
            return Const(len(items))
        if isinstance(value, RecordValue):
            return Const(len(value.items))
        return None

    def concatenate(self, op: str, left: Any, right: Any, node: ast.AST) -> Any:
        """`a + b` and `a * 3` of tuples and lists, as Python means them."""
        a, b = self.items_of(left), self.items_of(right)
        if op == "add" and a is not None and b is not None:
            if isinstance(left, ListValue) != isinstance(right, ListValue):
                raise self.error(node, "a list and a tuple cannot be added")
            return self.new_list(a + b) if isinstance(left, ListValue) else TupleValue(a + b)
        if op == "mul" and (a is None) != (b is None):
            items, count = (a, right) if a is not None else (b, left)
            count = self.constant(count)
            if isinstance(count, Const) and type(count.value) is int:
                made = tuple(items) * count.value
                container = left if a is not None else right
                return self.new_list(made) if isinstance(container, ListValue) else TupleValue(made)
        raise self.error(
            node,
            f"{ast.unparse(node)} operates on a list or tuple, which Python does not do "
            "elementwise (only + joins and * by an integer repeats)",
            "make it an array: np.array(...), or pass an array as the argument",
        )

    def dict_call(self, node: ast.Call) -> RecordValue:
        """`dict(a=a, b=b)`, `dict(other)`: a new dict."""
        if len(node.args) > 1:
            raise self.error(node, "dict() takes at most one positional argument")
        keys: list = []
        values: list = []
        if node.args:
            base = self.expr(node.args[0])
            if not isinstance(base, RecordValue) or not base.is_dict:
                raise self.error(node, "dict() of this value is not supported", "use a dict")
            keys, values = list(base.keys), list(base.items)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(node, "dict(**...) is not supported")
            if kw.arg in keys:
                values[keys.index(kw.arg)] = self.expr(kw.value)
            else:
                keys.append(kw.arg)
                values.append(self.expr(kw.value))
        return RecordValue(tuple(keys), self.hold(tuple(values)))

    def dict_literal(self, node: ast.Dict) -> RecordValue:
        keys = []
        for key in node.keys:
            if key is None:
                raise self.error(node, "**unpacking in a dict literal is not supported")
            value = self.static_key(key)
            if value is None:
                raise self.error(key, "dict keys must be constant strings or integers here")
            keys.append(value)
        values = self.hold(tuple(self.expr(v) for v in node.values))
        merged = dict(zip(keys, values))  # a repeated key keeps its last value, as in Python
        return RecordValue(tuple(merged), tuple(merged.values()))

    # -- changing lists --------------------------------------------------------------------------

    def list_method(self, node: ast.Call) -> Any:
        """`terms.append(t)` and the other list methods that change a list."""
        func = node.func
        target = self.expr(func.value)
        if isinstance(target, RecordValue) and target.is_dict and func.attr == "get":
            key = self.static_key(node.args[0]) if node.args else None
            if key is None or len(node.args) > 2:
                raise self.error(node, ".get() needs a constant key (and a default)")
            if key in target.keys:
                return target.get(key)
            return self.expr(node.args[1]) if len(node.args) == 2 else Const(None)
        if func.attr == "copy" and not node.args:
            if self.growing(target) is not None:
                return self.grown_items(self.growing(target))  # (np.array of it: its copy)
            if isinstance(target, ListValue):
                return self.new_list(self.items_of(target))
            if isinstance(target, (TupleValue, RecordValue)):
                return target  # never changed in place: the same values
        if (
            isinstance(target, RecordValue)
            and target.is_dict
            and func.attr in ("items", "keys", "values")
        ):
            keys = tuple(Const(k) for k in target.keys)
            if func.attr == "keys":
                return TupleValue(keys)
            if func.attr == "values":
                return TupleValue(target.items)
            return TupleValue(tuple(TupleValue(kv) for kv in zip(keys, target.items)))
        if not isinstance(target, ListValue):
            what = "an argument" if isinstance(target, TupleValue) else ast.unparse(func.value)
            raise self.error(
                node,
                f".{func.attr}() of {what}: only lists built in the function can be changed",
                f"copy it first: `{ast.unparse(func.value)} = list({ast.unparse(func.value)})`",
            )
        items = self.list_items(target)
        args = [self.expr(a) for a in node.args]
        if node.keywords:
            raise self.error(node, f".{func.attr}() with keyword arguments is not supported")
        if isinstance(items, Growing):
            if func.attr != "append" or len(args) != 1:
                raise self.error(
                    node,
                    f".{func.attr}() of {items.label}, a list that grows in a loop of run-time "
                    "length (only append is supported)",
                    "build the list with append, then change np.array(...) of it",
                )
            self.append_grown(items, self.operand(args[0], node), node)
            return Const(None)
        result: Any = Const(None)
        self.hold(tuple(args))
        if func.attr == "append" and len(args) == 1:
            items = items + (args[0],)
        elif func.attr == "extend" and len(args) == 1:
            more = self.items_of(args[0])
            if more is None:
                raise self.error(node, ".extend() takes a list or tuple here")
            items = items + more
        elif func.attr == "insert" and len(args) == 2:
            at = self.constant(args[0])
            if not isinstance(at, Const) or type(at.value) is not int:
                raise self.error(node, ".insert() needs a constant position")
            items = items[: at.value] + (args[1],) + items[at.value :]
        elif func.attr == "pop" and len(args) <= 1:
            at = self.constant(args[0]) if args else Const(-1)
            if not isinstance(at, Const) or type(at.value) is not int or not items:
                raise self.error(node, ".pop() needs a constant position and a non-empty list")
            result = items[at.value]
            rest = list(items)
            del rest[at.value]
            items = tuple(rest)
        elif func.attr == "reverse" and not args:
            items = items[::-1]
        elif func.attr == "clear" and not args:
            items = ()
        else:
            raise self.error(
                node,
                f"the list method .{func.attr}() is not supported",
                "build a new list with append, or use an array",
            )
        self.out.lists[target.ident] = items
        return result

    def store_item(self, target: ast.Subscript, container: ListValue, value: Any) -> None:
        """`terms[i] = v` on a list built in the function."""
        if self.growing(container) is not None:
            raise self.error(
                target,
                f"changing an item of {self.growing(container).label}, a list of run-time length",
                "change the array instead: `a = np.array(items)`, then `a[i] = ...`",
            )
        key = self.static_key(target.slice)
        items = list(self.out.lists[container.ident])
        if not isinstance(key, int) or not -len(items) <= key < len(items):
            raise self.error(target, "a list item can only be set at a constant index in range")
        items[key] = value
        self.out.lists[container.ident] = self.hold(tuple(items))

    @contextlib.contextmanager
    def lists_unchanged(self, node: ast.AST, why: str):
        """For code that is not straight-line (a loop that stays a loop, one side of an `x if c
        else y`): it may read lists, not change them."""
        before = dict(self.out.lists)
        yield
        if any(self.out.lists.get(ident) is not items for ident, items in before.items()):
            raise self.error(
                node,
                f"a list is changed {why}: its length would be known only at run time",
                "unroll it: loop over a list or tuple, or over range(N) with N a constant; or "
                "fill an array instead (`out = np.zeros(n)`, then `out[i] = ...`)",
            )

    def merge_lists(self, node: ast.If, then_lists: dict, else_lists: dict, phis: list) -> None:
        """After an if: each list as the branch taken left it (item by item)."""
        merged = {}
        for ident in then_lists.keys() | else_lists.keys():
            a, b = then_lists.get(ident), else_lists.get(ident)
            if a is None or b is None:  # made inside one branch only: not visible after
                continue
            if a is b or a == b:
                merged[ident] = a
                continue
            line = self.parsed.loc(node).line
            if isinstance(a, (Growing, Conflict)) or isinstance(b, (Growing, Conflict)):
                # (refused if the list is used after the if: after a `return` it is not)
                merged[ident] = Conflict(
                    f"the list grows in a loop in one branch of the if at line {line} only",
                    "grow it before the if, or in a loop outside it",
                )
            elif len(a) != len(b) and isinstance(node, ast.For):  # (an unrolled iteration)
                merged[ident] = Conflict(
                    f"the list grows in an iteration of the loop at line {line} that a `break` "
                    "or `return` in an earlier one may skip (its length would be known only at "
                    "run time)",
                    "fill an array of the loop's length instead (`out = np.zeros(n)`, then "
                    "`out[i] = ...`), or `break`/`return` only after the loop",
                )
            elif len(a) != len(b):
                merged[ident] = Conflict(
                    f"the list grows differently in the two branches of the if at line {line} "
                    "(its length would be known only at run time)",
                    "append in both branches (a value such as 0.0 in the other), or keep a "
                    "count and fill an array",
                )
            else:
                items = (self.merge_value(node, "item", x, y, phis) for x, y in zip(a, b))
                merged[ident] = tuple(items)
        self.out.lists = merged

    # -- comprehensions ------------------------------------------------------------------------

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> ListValue:
        """A list comprehension (or a generator consumed whole) as the loop it abbreviates,
        building a list; its loop variables do not leak (Python 3 scoping)."""
        # Named after the variable it is assigned to, if any (`ys = [...]`: ys).
        acc = f"__{self.naming or 'items'}"
        while acc in self.env:
            acc += "_"
        append = ast.Expr(
            ast.Call(
                func=ast.Attribute(value=ast.Name(acc, ast.Load()), attr="append", ctx=ast.Load()),
                args=[node.elt],
                keywords=[],
            )
        )
        return self.run_comprehension(node, acc, self.new_list(()), [append])

    def comprehension_sum(self, node: ast.GeneratorExp | ast.ListComp, start: Any) -> Any:
        """`sum(f(i) for i in ...)`: an accumulating loop (no list), so that it works over a
        range or an array whose length is known only at run time."""
        acc = "__total"
        while acc in self.env:
            acc += "_"
        add = ast.Assign(
            targets=[ast.Name(acc, ast.Store())],
            value=ast.BinOp(ast.Name(acc, ast.Load()), ast.Add(), node.elt),
        )
        return self.run_comprehension(node, acc, start, [add])

    def run_comprehension(self, node: ast.AST, acc: str, initial: Any, inner: list) -> Any:
        body = inner
        for generator in reversed(node.generators):
            if generator.is_async:
                raise self.error(node, "async comprehensions are not supported")
            for condition in reversed(generator.ifs):
                body = [ast.If(test=condition, body=body, orelse=[])]
            loop = ast.For(target=generator.target, iter=generator.iter, body=body, orelse=[])
            loop.unroll_constant = True  # a short range of constant length is unrolled
            body = [loop]
        loop = ast.fix_missing_locations(ast.copy_location(body[0], node))
        scoped = {
            n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
        }
        saved = {name: self.env[name] for name in scoped if name in self.env}
        saved_undefined = {name: self.undefined[name] for name in scoped if name in self.undefined}
        saved_node = self.node
        self.env[acc] = initial
        enclosing = self.comprehension_names
        run = object()
        self.comprehension_names = MappingProxyType({**enclosing, **dict.fromkeys(scoped, run)})
        try:
            self.body([loop])
        finally:
            self.comprehension_names = enclosing
        result = self.env.pop(acc)
        self.undefined.pop(acc, None)
        for name in scoped:
            self.env.pop(name, None)
            self.undefined.pop(name, None)
        self.env.update(saved)
        self.undefined.update(saved_undefined)
        self.node = saved_node
        return result

    def builtin_reduction(self, fn: Any, node: ast.Call) -> Any:
        """sum(), max() and min() of one list, tuple or generator."""
        arg = node.args[0]
        if fn is sum and isinstance(arg, (ast.GeneratorExp, ast.ListComp)):
            start = self.expr(node.args[1]) if len(node.args) > 1 else Const(0.0)
            return self.comprehension_sum(arg, start)
        value = self.comprehension(arg) if isinstance(arg, ast.GeneratorExp) else self.expr(arg)
        if self.growing(value) is not None:
            # sum() adds the items (arrays elementwise): a sum along the first axis; max() and
            # min() compare them, which Python can do for numbers only.
            items = self.grown_items(self.growing(value))
            attrs = (("axis", 0), ("keepdims", False))
            if fn is not sum:
                items = self.emit("numbers_only", items, attrs=(("what", f"{fn.__name__}()"),))
            reduced = self.emit({sum: "sum", max: "pymax", min: "pymin"}[fn], items, attrs=attrs)
            if fn is sum and len(node.args) > 1:
                reduced = self.emit("add", self.operand(self.expr(node.args[1]), node), reduced)
            return reduced
        items = self.items_of(value)
        if items is None:
            return None
        if fn is sum:
            result = self.expr(node.args[1]) if len(node.args) > 1 else Const(0)
            for item in items:
                result = self.emit("add", self.operand(result, node), self.operand(item, node))
            return result
        if not items:
            raise self.error(node, f"{fn.__name__}() of an empty sequence")
        op = "maximum" if fn is max else "minimum"
        result = self.operand(items[0], node)
        for item in items[1:]:
            # Python keeps the first of equal items; np.maximum's gradient splits a tie evenly,
            # which is the same value and a subgradient.
            result = self.emit(op, result, self.operand(item, node), attrs=(("builtin", True),))
        return result
