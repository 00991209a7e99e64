"""Branches, loops and the expressions that branch (`and`/`or` values, `a if c else b`,
comparisons), while normalizing: each becomes IR `If`/`Loop` nodes whose `Phi`s merge the
values that differ between paths or flow around a loop.
"""

from __future__ import annotations

import ast
from typing import Any

from . import controlflow
from .errors import UnsupportedSyntaxError
from .ir import Const, If, Loop, Operand, Phi, Stmt, Var
from .values import COMPILE_TIME, ListValue, LocalFunction, RecordValue, ShapeOf, TupleValue

_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}


class BranchesAndLoops:
    """Mixed into the normalizer: if, for, while, and the expressions that branch."""

    # -- branches ------------------------------------------------------------------------------

    def if_statement(self, node: ast.If) -> None:
        cond = self.operand(self.expr(node.test), node.test)
        if isinstance(cond, Const):  # `if DEBUG:` on a constant: keep the branch taken
            self.body(node.body if cond.value else node.orelse)
            return
        self.node = node
        before = dict(self.env)
        then_env, then_block, then_undef, then_lists = self.branch(node.body, before)
        else_env, else_block, else_undef, else_lists = self.branch(node.orelse, before)
        phis = self.merge(node, before, then_env, else_env, then_undef, else_undef)
        self.merge_lists(node, then_lists, else_lists, phis)
        self.out.current.append(
            If(cond, tuple(then_block), tuple(else_block), tuple(phis), self.parsed.loc(node))
        )

    def branch(self, stmts: list[ast.stmt] | Any, before: dict) -> tuple[dict, list, dict, dict]:
        """Normalize one branch (statements, or a function normalizing them) from the names as
        they were before the if; returns its names, statements, undefined names and lists."""
        self.env = dict(before)
        saved_undefined = self.undefined
        self.undefined = dict(saved_undefined)
        lists_before = dict(self.out.lists)
        with self.out.block() as block:
            if callable(stmts):
                stmts()
            else:
                self.body(stmts)
        env, undefined, lists = self.env, self.undefined, self.out.lists
        self.undefined = saved_undefined
        self.out.lists = lists_before
        return env, block, undefined, lists

    def merge(
        self,
        node: ast.If,
        before: dict,
        then_env: dict,
        else_env: dict,
        then_undef: dict,
        else_undef: dict,
    ) -> list[Phi]:
        self.env = dict(before)
        phis: list[Phi] = []
        for name in sorted(set(then_env) | set(else_env)):
            a, b = then_env.get(name), else_env.get(name)
            if name in then_undef or name in else_undef or a is None or b is None:
                why = (
                    then_undef.get(name)
                    or else_undef.get(name)
                    or (
                        f"{name} is assigned in only one branch of the if at line "
                        f"{self.parsed.loc(node).line}"
                    )
                )
                self.env.pop(name, None)
                self.undefined[name] = why
                continue
            if a == b or _same_function(a, b):
                self.env[name] = a
                continue
            if not name.startswith("__") and (
                isinstance(a, COMPILE_TIME) or isinstance(b, COMPILE_TIME)
            ):
                try:
                    self.env[name] = self.merge_value(node, name, a, b, phis)
                except UnsupportedSyntaxError:
                    # Refused where it is used after the if (after a `return` it is not).
                    self.env.pop(name, None)
                    self.undefined[name] = (
                        f"{name} holds a tuple, list, dict or function that differs between "
                        f"the branches of the if at line {self.parsed.loc(node).line}"
                    )
                continue
            self.env[name] = self.merge_value(node, name, a, b, phis)
        return phis

    def merge_value(self, node: ast.If, name: str, a: Any, b: Any, phis: list[Phi]) -> Any:
        """One value that is `a` after the then-branch and `b` after the else-branch; tuples
        (a helper returning several values on several paths) merge item by item."""
        if a == b:
            return a
        if isinstance(a, TupleValue) and isinstance(b, TupleValue) and len(a.items) == len(b.items):
            items = [self.merge_value(node, name, x, y, phis) for x, y in zip(a.items, b.items)]
            return TupleValue(tuple(items))
        if isinstance(a, RecordValue) and isinstance(b, RecordValue) and a.keys == b.keys:
            items = [self.merge_value(node, name, x, y, phis) for x, y in zip(a.items, b.items)]
            return RecordValue(a.keys, tuple(items), a.cls)
        if isinstance(a, COMPILE_TIME) or isinstance(b, COMPILE_TIME):
            raise self.tuple_error(node, name, "differs between the branches")
        phi = Phi(self.fresh(name), a, b)
        phis.append(phi)
        return Var(phi.name)

    def tuple_error(self, node: ast.AST, name: str, why: str) -> Exception:
        """A tuple that cannot be merged, named as the user wrote it: a variable, or the value
        returned by the function (never the compiler's result variables)."""
        if name.startswith(controlflow.RESULT):
            return self.error(
                node,
                f"{self.parsed.name}() returns a tuple on one path and something else (or a "
                "tuple of another length, or of tuples, from inside a loop) on another",
                "return tuples of the same length on every path, inside a loop written out "
                "as `return u, v` with a number or array for each item",
            )
        return self.error(node, f"{name} holds a tuple that {why}", "assign its items separately")

    # -- loops ---------------------------------------------------------------------------------

    def for_loop(self, node: ast.For) -> None:
        if node.orelse:
            raise self.error(node, "for/else is not supported")  # lowered away before this
        steps = self.unrolled(node)
        if steps is not None:
            self.unroll(node, steps)
            return
        start, stop, step, bind_items = self.iteration(node)
        index_name = (
            node.target.id if (isinstance(node.target, ast.Name) and bind_items is None) else "__k"
        )
        self.loop(node, index_name, (start, stop, step), bind_items, None)

    def while_loop(self, node: ast.While) -> None:
        self.loop(node, None, None, None, node.test)

    def iteration(self, node: ast.For):
        """range bounds of a for loop, and how to bind its targets from the index."""
        it = node.iter
        if isinstance(it, ast.Call):
            fn = self.callee(it.func)
            if fn is range:
                if it.keywords or not 1 <= len(it.args) <= 3:
                    raise self.error(it, "range() takes 1 to 3 positional arguments")
                bounds = [self.operand(self.expr(a), a) for a in it.args]
                if len(bounds) == 1:
                    bounds = [Const(0)] + bounds
                if len(bounds) == 2:
                    bounds.append(Const(1))
                if not isinstance(node.target, ast.Name):
                    raise self.error(node.target, "the loop variable of range() must be a name")
                return bounds[0], bounds[1], bounds[2], None
            if fn is reversed and len(it.args) == 1 and not it.keywords:
                inner = it.args[0]
                if isinstance(inner, ast.Call) and self.callee(inner.func) is range:
                    return self.reversed_range(node, inner)
        length, bind = self.iterated_arrays(it)
        return Const(0), length, Const(1), lambda k: bind(node.target, k)

    def reversed_range(self, node: ast.For, it: ast.Call):
        """`for i in reversed(range(a, b))`: range(b - 1, a - 1, -1)."""
        if it.keywords or not 1 <= len(it.args) <= 2:
            raise self.error(
                it,
                "reversed() of a range with a step is not supported",
                "write the reversed range: range(last, first - 1, -step)",
            )
        if not isinstance(node.target, ast.Name):
            raise self.error(node.target, "the loop variable of range() must be a name")
        bounds = [self.operand(self.expr(a), a) for a in it.args]
        start, stop = ([Const(0)] + bounds)[-2:]
        return self.emit("sub", stop, Const(1)), self.emit("sub", start, Const(1)), Const(-1), None

    def iterated_arrays(self, it: ast.expr):
        """A loop over the rows of an array, or enumerate() or zip() of such (nested:
        `enumerate(zip(x, y))`): its length, and what binds a target to the items at index k."""
        fn = self.callee(it.func) if isinstance(it, ast.Call) and it.args else None
        keywords = {kw.arg: kw.value for kw in it.keywords} if fn else {}
        if fn is enumerate and set(keywords) <= {"start"} and len(it.args) + len(keywords) <= 2:
            length, inner = self.iterated_arrays(it.args[0])
            given = (it.args[1:] + list(keywords.values()) or [None])[0]
            start = None if given is None else self.operand(self.expr(given), given)

            def bind_enumerate(target: ast.expr, k: Var) -> None:
                if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                    raise self.error(target, "unpack enumerate() as `for i, v in ...`")
                self.bind(target.elts[0], k if start is None else self.emit("add", k, start))
                inner(target.elts[1], k)

            return length, bind_enumerate
        if fn is reversed and len(it.args) == 1 and not keywords:
            if isinstance(it.args[0], ast.Call) and self.callee(it.args[0].func) in (
                enumerate,
                zip,
            ):
                raise self.error(
                    it,
                    "reversed() of enumerate() or zip(): Python cannot reverse them",
                    "reverse the arrays inside: enumerate(reversed(x)), zip(x[::-1], y[::-1])",
                )
            length, inner = self.iterated_arrays(it.args[0])
            last = self.emit("sub", length, Const(1))

            def bind_reversed(target: ast.expr, k: Var) -> None:
                inner(target, self.emit("sub", last, k))

            return length, bind_reversed
        if fn is zip and not keywords:
            parts = [self.iterated_arrays(a) for a in it.args]
            length = parts[0][0]
            for other, _ in parts[1:]:
                length = self.emit("minimum", length, other)

            def bind_zip(target: ast.expr, k: Var) -> None:
                if not (isinstance(target, ast.Tuple) and len(target.elts) == len(parts)):
                    raise self.error(target, "unpack zip() into one name per sequence")
                for item, (_, bind) in zip(target.elts, parts):
                    bind(item, k)

            return length, bind_zip
        value = self.expr(it)
        if isinstance(value, ListValue):
            value = self.snapshot(value)  # a list grown in an earlier loop: its array
        if not isinstance(value, (Var, Const)):
            value = self.operand(value, it)
        if isinstance(value, Var):
            seq = value

            def bind_row(target: ast.expr, k: Var) -> None:
                self.bind(target, self.getitem(seq, (k,), (("i",),)))

            return self.emit("len", seq), bind_row
        raise self.error(
            it,
            f"cannot loop over {ast.unparse(it)}",
            "loop over range(...), an array, enumerate(array) or zip(arrays)",
        )

    def loop(
        self,
        node: ast.For | ast.While,
        index_name: str | None,
        bounds,
        bind_items,
        test: ast.expr | None,
    ) -> None:
        assigned = _assigned_names(node.body)
        if index_name is not None and isinstance(node, ast.For):
            assigned |= _target_names(node.target)
        # Lists appended to in the body become arrays with a count, carried by the loop.
        grown = self.grow_in_loop(node, bounds)
        assigned |= set(grown)
        before = dict(self.env)
        # (A range loop's index with a value before the loop is carried too: after the loop it
        # holds its last value, or the one before if the loop ran no iteration.)
        carried = [n for n in sorted(assigned) if n in before]
        for name in carried:
            if isinstance(before[name], ListValue):
                raise self.error(
                    node,
                    f"{name} holds a list and is reassigned in a loop whose length is known only "
                    "at run time",
                    "loop over a list or tuple, or over range(N) with N a constant (unrolled); or "
                    "fill an array (`out = np.zeros(n)`, then `out[i] = ...`)",
                )
            if isinstance(before[name], COMPILE_TIME):
                raise self.error(
                    node,
                    f"{name} holds a tuple and is reassigned in the loop",
                    "assign its items separately",
                )
        headers = {name: Var(self.fresh(name)) for name in carried}
        self.env.update(headers)
        test_block: list[Stmt] = []
        cond = None
        if test is not None:
            with self.out.block() as test_block:
                cond = self.operand(self.expr(test), test)
        index = None
        with self.out.block() as body_block:
            if index_name is not None:
                index = self.fresh(index_name)
                if bind_items is None:
                    self.env[index_name] = Var(index)
                    # (an earlier loop's index of the same name, undefined after it, is again)
                    self.undefined.pop(index_name, None)
                else:
                    bind_items(Var(index))
            saved_undefined = dict(self.undefined)
            with self.lists_unchanged(node, "inside a loop that is not unrolled"):
                self.body(node.body)
            self.node = node
            for name in carried:  # a number or array on entry cannot become a tuple
                if isinstance(self.env.get(name), COMPILE_TIME):
                    raise self.tuple_error(node, name, "is reassigned in the loop")
            exit_flag = None
            if getattr(node, "lowered_break", False):
                flag = self.env[controlflow.BREAK]
                if isinstance(flag, Const):  # the body always breaks
                    flag = self.out.emit("copy", (flag,), self.loc, target=self.fresh("stop"))
                exit_flag = flag.name
        self.close_grown(grown)
        phis = [Phi(headers[n].name, before[n], self.env[n]) for n in carried if n in self.env]
        missing = [n for n in carried if n not in self.env]
        body_env = self.env
        self.env = dict(before)
        self.undefined = saved_undefined
        for name in carried:
            self.env[name] = headers[name]
        for name in missing:
            self.undefined[name] = body_env.get(name, f"{name} may be left undefined by the loop")
        line = self.parsed.loc(node).line
        for name in assigned - set(carried):
            self.env.pop(name, None)
            self.undefined[name] = (
                f"{name} is assigned inside the loop at line {line} and used after it; give it a "
                "value before the loop"
            )
        start, stop, step = bounds if bounds else (None, None, None)
        self.out.current.append(
            Loop(
                index,
                start,
                stop,
                step,
                tuple(test_block),
                cond,
                tuple(body_block),
                tuple(phis),
                exit_flag,
                self.parsed.loc(node),
            )
        )

    def compare(self, node: ast.Compare) -> Var:
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
            known = self.compile_time_test(node)
            if known is not None:
                return known
        left = self.operand(self.expr(node.left), node.left)
        result = None
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                word = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}.get(
                    type(op_node), type(op_node).__name__
                )
                raise self.error(
                    node,
                    f"the comparison `{word}` is not supported",
                    "compare numbers with <, <=, >, >=, == or !=",
                )
            right = self.operand(self.expr(right_node), right_node)
            test = self.emit(op, left, right)
            result = test if result is None else self.emit("and", result, test)
            left = right
        return result

    def compile_time_test(self, node: ast.Compare) -> Const | None:
        """`cfg["drop"] is None`, `"W3" in p`: decided now, from what is known at compile time
        (a number or array is never None; a dict's keys and a tuple's constants are known)."""
        op, right_node = node.ops[0], node.comparators[0]
        left, right = self.expr(node.left), self.expr(right_node)
        if isinstance(op, (ast.Is, ast.IsNot)) and right == Const(None):
            if isinstance(left, Const):
                same = left.value is None
            elif isinstance(left, (Var, *COMPILE_TIME)):
                same = False
            else:
                return None
            return Const(same if isinstance(op, ast.Is) else not same)
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(left, Const):
            if isinstance(right, RecordValue):
                keys = right.keys if right.is_dict else ()
            else:
                items = self.items_of(right)
                if items is None or not all(isinstance(i, Const) for i in items):
                    return None
                keys = tuple(i.value for i in items)
            found = left.value in keys
            return Const(found if isinstance(op, ast.In) else not found)
        return None

    def bool_op(self, node: ast.BoolOp) -> Operand:
        op = "and" if isinstance(node.op, ast.And) else "or"
        if not self.is_boolean(node):
            # `s or 1.0` is s itself when s is truthy: a selection, differentiated as one.
            return self.select_value(node.values, op)
        result = self.operand(self.expr(node.values[0]), node.values[0])
        for value_node in node.values[1:]:
            if _has_call(value_node):
                # Keep short-circuit semantics: `x > 0 and math.sqrt(x) > 1`.
                result = self.select(result, value_node, op)
            else:
                result = self.emit(op, result, self.operand(self.expr(value_node), value_node))
        return result

    def is_boolean(self, node: ast.expr) -> bool:
        """Whether an expression is certainly True or False (a comparison, `not`, a flag
        holding one), so that `and`/`or` of it are logical operations, not selections."""
        if isinstance(node, ast.Compare) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            return True
        if isinstance(node, ast.BoolOp):
            return all(self.is_boolean(v) for v in node.values)
        if isinstance(node, ast.Constant):
            return isinstance(node.value, bool)
        if isinstance(node, ast.Name):
            value = self.env.get(node.id)
            return (isinstance(value, Const) and isinstance(value.value, bool)) or (
                isinstance(value, Var) and value.name in self.out.bools
            )
        return False

    def chosen(self, value: Any, node: ast.AST) -> Any:
        """A value chosen at run time (`a if c else b`, `a or b`): a number or an array, never a
        list, tuple, dict or function, which are known at compile time item by item."""
        if isinstance(value, COMPILE_TIME) and not isinstance(value, ShapeOf):
            raise self.error(
                node,
                "a list, tuple, dict or function chosen at run time (by `a if c else b`, `and` "
                "or `or`): its items would be known only at run time",
                "choose the items instead (`[x if c else y]`), or use an if statement",
            )
        return value

    def select_value(self, nodes: list[ast.expr], op: str) -> Operand:
        """`a or b or ...` as Python evaluates it: a if a is truthy, else `b or ...` (for
        `and`: a if a is falsy); the gradient flows to the operand whose value is taken, and
        later operands run only when reached."""
        first = self.operand(self.chosen(self.expr(nodes[0]), nodes[0]), nodes[0])
        if len(nodes) == 1:
            return first
        if isinstance(first, Const):  # decided now: `0.0 or x` is x
            if bool(first.value) == (op == "or"):
                return first
            return self.select_value(nodes[1:], op)
        with self.out.block() as rest_block, self.lists_unchanged(nodes[1], "in `and`/`or`"):
            rest = self.select_value(nodes[1:], op)
        name = self.out.names.temp()
        self.out.temps.add(name)
        if op == "or":
            phi, body, orelse = Phi(name, first, rest), [], rest_block
        else:
            phi, body, orelse = Phi(name, rest, first), rest_block, []
        self.out.current.append(If(first, tuple(body), tuple(orelse), (phi,), self.loc))
        return Var(name)

    def select(self, first: Operand, second_node: ast.expr, op: str) -> Operand:
        with self.out.block() as evaluated, self.lists_unchanged(second_node, "in `and`/`or`"):
            second = self.operand(self.chosen(self.expr(second_node), second_node), second_node)
        if op == "and":
            phi = Phi(self.fresh("both"), second, Const(False))
            body, orelse = evaluated, []
        else:
            phi = Phi(self.fresh("either"), Const(True), second)
            body, orelse = [], evaluated
        self.out.current.append(If(first, tuple(body), tuple(orelse), (phi,), self.loc))
        return Var(phi.name)

    def if_expression(self, node: ast.IfExp) -> Operand:
        cond = self.operand(self.expr(node.test), node.test)
        if isinstance(cond, Const):
            return self.expr(node.body if cond.value else node.orelse)
        with self.out.block() as then_block, self.lists_unchanged(node, "in `a if c else b`"):
            a = self.operand(self.chosen(self.expr(node.body), node), node.body)
        with self.out.block() as else_block, self.lists_unchanged(node, "in `a if c else b`"):
            b = self.operand(self.chosen(self.expr(node.orelse), node), node.orelse)
        phi = Phi(self.out.names.temp(), a, b)
        self.out.temps.add(phi.name)
        self.out.current.append(If(cond, tuple(then_block), tuple(else_block), (phi,), self.loc))
        return Var(phi.name)


def _same_function(a: Any, b: Any) -> bool:
    """Two definitions of the same nested function with the same defaults (one per branch of
    an if both of whose branches run the code that follows): calls read the names then."""
    return (
        isinstance(a, LocalFunction)
        and isinstance(b, LocalFunction)
        and a.node is b.node
        and a.definer is b.definer
        and a.defaults == b.defaults
    )


def _assigned_names(stmts: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _target_names(target: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Call, ast.Subscript)) for n in ast.walk(node))
