"""Lists that grow in a loop whose length is known only at run time.

`losses = []; for t in range(n): losses.append(loss)` and `[f(v) for v in x]` over an array:
such a list becomes an array of numbers allocated before the loop, as long as the loop can run
(the number of its iterations times the appends in its body, plus the items it had before), and a
count: `append` stores at the count and adds one. After the loop, `np.array(losses)`, `sum`,
`len`, `losses[-1]` and iteration read the first `count` entries. Its gradient is the array's:
the stores' adjoints are the items'.

A list of arrays needs its items' shape before the loop: from an item it already holds, or from
the value before the loop of the variable appended (`h` of `h = h0; for t in range(n): h = ...;
hs.append(h)`); each item stored is checked to have that shape (a ValueError at run time, never
a silent broadcast). Without either, only numbers can be held, and arrays are refused with the
rewrite to a preallocated array. A loop over a list, a tuple or a range of constant length is
unrolled instead (containers.py), and any items may be appended there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .ir import Const, Operand, Var
from .values import ListValue


@dataclass(eq=False)
class Growing:
    """A list of run-time length: an array of numbers and the name of its count."""

    buffer: Var
    count: str  # the normalizer's variable holding how many items are stored
    label: str  # the list's name, for messages
    checked: bool  # items are checked to have the shape of the buffer's rows
    appends: frozenset = frozenset()  # the append calls (ids) the buffer was sized for
    open: bool = True  # appends are allowed only in the loop that grows it


class GrowingLists:
    """Mixed into the normalizer: lists appended to in loops that are not unrolled."""

    def grow_in_loop(self, node: ast.For | ast.While, bounds) -> list[str]:
        """Before a loop that stays a loop: the lists its body appends to become arrays with a
        count. Returns the counts' names (carried by the loop)."""
        appended = self.appended_in(node.body)
        if not appended:
            return []
        if bounds is None:
            label = next(iter(appended.values()))[0]
            raise self.error(
                node,
                f"{label}.append(...) in a while loop: its length is known only at run time",
                "fill a preallocated array (`out = np.zeros(n_max)`, then `out[k] = ...`)",
            )
        trips = self.emit("range_len", *bounds)
        counts = []
        for ident, (label, appended_names, calls) in appended.items():
            appends = len(appended_names)
            items = self.list_items(ListValue(ident))
            if isinstance(items, Growing):
                raise self.error(
                    node,
                    f"{label} was filled by an earlier loop; appending to it again in this one is "
                    "not supported",
                    "append to a new list in this loop, and join them after it",
                )
            size = self.emit("mul", trips, Const(appends)) if appends > 1 else trips
            if items:
                size = self.emit("add", size, Const(len(items)))
            # The items' shape: an item the list holds, or the value before the loop of a
            # variable appended.
            known = [i for i in items[:1]] + [
                self.env[n] for n in appended_names if isinstance(self.env.get(n), (Var, Const))
            ]
            like = self.operand(known[0], node) if known else None
            grown = (("grown", True),)  # (floats, or the bools or ints stored: grown_dtypes)
            if like is None:
                buffer = self.out.emit("zeros", (size,), self.loc, grown, target=self.fresh(label))
            else:
                buffer = self.out.emit(
                    "list_buffer", (size, like), self.loc, grown, target=self.fresh(label)
                )
            self.out.temps.discard(buffer.name)
            grown = Growing(buffer, "", label, like is not None, frozenset(map(id, calls)))
            for k, item in enumerate(items):
                self.store_grown(grown, Const(k), self.operand(item, node))
            count = f"__{label}_count"
            while count in self.env or count in self.undefined:  # another list's count
                count += "_"
            self.env[count] = Const(len(items))
            grown.count = count
            self.out.lists[ident] = grown
            counts.append(count)
        return counts

    def close_grown(self, counts: list[str]) -> None:
        """After the loop that grew them: these lists take no more appends."""
        for items in self.out.lists.values():
            if isinstance(items, Growing) and items.count in counts:
                items.open = False

    def appended_in(self, body: list[ast.stmt]) -> dict[int, tuple[str, list, list]]:
        """The lists this loop body appends to itself (not inside nested loops or functions):
        identity -> (name, per append statement: the variable appended or None, the calls)."""
        found: dict[int, tuple[str, list, list]] = {}
        todo = list(body)
        while todo:
            stmt = todo.pop()
            if isinstance(stmt, (ast.For, ast.While, ast.FunctionDef)):
                continue
            if isinstance(stmt, ast.If):
                todo += stmt.body + stmt.orelse
                continue
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "append"
                and isinstance(call.func.value, ast.Name)
                and isinstance(self.env.get(call.func.value.id), ListValue)
            ):
                ident = self.env[call.func.value.id].ident
                name = call.func.value.id.strip("_") or "items"
                label, names, calls = found.get(ident, (name, [], []))
                item = call.args[0] if len(call.args) == 1 else None
                names.append(item.id if isinstance(item, ast.Name) else None)
                calls.append(call)
                found[ident] = (label, names, calls)
        return found

    def store_grown(self, items: Growing, at: Operand, value: Operand) -> None:
        if items.checked:
            value = self.emit("checked_item", value, items.buffer)
        attrs = (("grows", items.label), ("index", (("i",),)))
        self.out.emit("setitem", (items.buffer, value, at), self.loc, attrs)

    def append_grown(self, items: Growing, value: Operand, node: ast.AST) -> None:
        if items.open and id(node) not in items.appends:
            # (its array is as long as the appends in the loop's own body can make it)
            raise self.error(
                node,
                f"{items.label} grows in a loop of run-time length, and this append is in a "
                "nested loop, a helper or a nested function of that loop",
                "append in the loop's own body, or fill a preallocated array",
            )
        if not items.open:
            raise self.error(
                node,
                f"{items.label} was filled by a loop of run-time length; appending to it after "
                "that loop is not supported",
                "append to a new list, or collect everything in the loop",
            )
        count = self.env[items.count]
        self.store_grown(items, count, value)
        self.assign_name(items.count, self.emit("add", count, Const(1)))

    def grown_items(self, items: Growing) -> Var:
        """The list as an array (a copy of the stored entries, as np.array(list) makes)."""
        stored = self.emit(
            "getitem",
            items.buffer,
            self.env[items.count],
            attrs=(("index", (("s", False, True, False),)),),
        )
        return self.emit("array_copy", stored, attrs=(("grown", True),))

    def grown_item(self, items: Growing, key: ast.expr, node: ast.AST) -> Var:
        """`items[i]`, counted from the end for a negative i, as Python does."""
        count = self.env[items.count]
        if isinstance(key, ast.Slice):
            raise self.error(
                node,
                f"slicing {items.label}, a list of run-time length",
                f"np.array({items.label})[...]",
            )
        at = self.emit("list_index", self.operand(self.expr(key), key), count)
        return self.emit("getitem", items.buffer, at, attrs=(("index", (("i",),)),))
