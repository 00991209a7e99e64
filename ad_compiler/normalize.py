"""From the syntax tree to IR: one operation per statement, in SSA form.

Nested expressions become temporaries; `x += y` becomes `x = x + y`; operators and calls map to
operation names through the rule tables; a call of another of the user's functions is inlined;
tuples are unpacked at compile time. Every name is assigned once: a reassigned variable gets a new
version (`x`, `x_1`, ...), and the values that merge after an `if` or flow around a loop are
`Phi` nodes. Anything not handled is refused here, before anything runs, with the file, the line
and a suggested rewrite.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import numbers
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import controlflow
from .errors import NoGradientRuleError, UnsupportedSyntaxError
from .frontend import MISSING, ParsedFunction, parse_function
from .ir import Assign, Const, Function, If, Loc, Loop, Names, Operand, Phi, Stmt, Var, walk
from .live import LiveGlobals, LiveState, is_live_value, is_pinned_value
from .rules import ATTRIBUTES, METHODS, RULES, CallSpec, call_spec
from .rules.conversions import dtype_name


@dataclass(frozen=True)
class TupleValue:
    """A tuple known at compile time: `a, b = b, a`, a helper returning two values."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class ShapeOf:
    """`x.shape`, kept symbolic so that `x.shape[0]` and `n, m = x.shape` need no tuple."""

    array: Operand


@dataclass(frozen=True)
class PyObject:
    """A module or function the code refers to by name (np, math, a helper)."""

    obj: Any
    # (key, label, getter) to read it again at run time: its attributes are read live too.
    live: tuple | None = field(default=None, compare=False)


class _Restart(Exception):
    """Raised when a parameter turns out to be written into: normalize again, copying it."""

    def __init__(self, param: str) -> None:
        self.param = param


_BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.Mod: "mod",
    ast.FloorDiv: "floordiv",
    ast.MatMult: "matmul",
}
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_BOOLEAN_OPS = {*_COMPARE.values(), "not", "and", "or"}

# Statements and expressions refused outright: (message, suggestion).
_REFUSED_STMTS = {
    ast.Try: ("try/except", "move error handling outside the differentiated function"),
    ast.With: ("with statements", "open resources outside the differentiated function"),
    ast.Raise: ("raise", "check inputs before calling the differentiated function"),
    ast.Global: ("global declarations", "pass the value as an argument"),
    ast.Nonlocal: ("nonlocal declarations", "pass the value as an argument"),
    ast.FunctionDef: ("nested function definitions", "define the helper at module level"),
    ast.AsyncFunctionDef: ("async functions", "write a plain function"),
    ast.ClassDef: ("class definitions", "define classes at module level"),
    ast.Delete: ("del", "let the variable go out of use instead"),
    ast.Import: ("import inside the function", "import at module level"),
    ast.ImportFrom: ("import inside the function", "import at module level"),
    ast.AsyncFor: ("async for", "use a plain for loop"),
    ast.AsyncWith: ("async with", None),
}
if hasattr(ast, "Match"):
    _REFUSED_STMTS[ast.Match] = ("match statements", "use if/elif")
if hasattr(ast, "TryStar"):
    _REFUSED_STMTS[ast.TryStar] = ("try/except*", None)

_REFUSED_EXPRS = {
    ast.Lambda: ("lambda", "define a function with def at module level and call it"),
    ast.ListComp: (
        "list comprehensions",
        "write a for loop filling an array (np.zeros, then y[i] = ...)",
    ),
    ast.SetComp: ("set comprehensions", None),
    ast.DictComp: ("dict comprehensions", None),
    ast.GeneratorExp: ("generator expressions", "write a for loop accumulating the sum"),
    ast.Dict: ("dict literals", "pass the values as separate arguments"),
    ast.Set: ("set literals", None),
    ast.JoinedStr: ("f-strings", None),
    ast.NamedExpr: ("assignment expressions (:=)", "assign in a separate statement"),
    ast.Yield: ("yield (generators)", "return a value"),
    ast.YieldFrom: ("yield from (generators)", "return a value"),
    ast.Await: ("await", None),
    ast.Starred: ("starred expressions (*args)", "pass the arguments one by one"),
}


class _Emitter:
    """Where statements go: a stack of blocks being filled, shared with inlined helpers."""

    def __init__(self, names: Names, params: set[str]) -> None:
        self.names = names
        self.params = params
        self.blocks: list[list[Stmt]] = [[]]
        self.temps: set[str] = set()
        # Values that are certainly bools (comparisons, not/and/or of them).
        self.bools: set[str] = set()
        # Arrays that may share memory with another (slices, transposes): name -> base name.
        self.views: dict[str, str] = {}
        # Module-level values read at each call (None: compiled in as constants, for trace).
        self.live: LiveGlobals | None = None

    @property
    def current(self) -> list[Stmt]:
        return self.blocks[-1]

    @contextlib.contextmanager
    def block(self):
        self.blocks.append([])
        try:
            yield self.blocks[-1]
        finally:
            self.blocks.pop()

    def emit(
        self,
        op: str,
        args: tuple[Operand, ...],
        loc: Loc | None,
        attrs: tuple = (),
        target: str | None = None,
    ) -> Var | None:
        if op not in RULES:
            raise KeyError(op)
        if target is None and RULES[op].mutates is None:
            target = self.names.temp()
            self.temps.add(target)
        self.current.append(Assign(target, op, args, attrs, loc))
        if target is None:
            return None
        if op in _BOOLEAN_OPS:
            self.bools.add(target)
        if RULES[op].view and isinstance(args[0], Var):
            self.views[target] = self.views.get(args[0].name, args[0].name)
        return Var(target)

    def rename_last(self, temp: str, name: str) -> bool:
        """Give the statement that just computed `temp` the user's variable name instead."""
        if temp not in self.temps or not self.current:
            return False
        last = self.current[-1]
        if isinstance(last, If) and temp in [p.name for p in last.phis]:
            # `y = a if c else b`, `s = s or 1.0`: the selection's value is y.
            phis = tuple(Phi(name, p.first, p.second) if p.name == temp else p for p in last.phis)
            self.current[-1] = If(last.cond, last.body, last.orelse, phis, last.loc)
        elif isinstance(last, Assign) and last.target == temp:
            self.current[-1] = Assign(name, last.op, last.args, last.attrs, last.loc)
        else:
            return False
        self.temps.discard(temp)
        if temp in self.bools:
            self.bools.add(name)
        if temp in self.views:
            self.views[name] = self.views.pop(temp)
        return True


class _Normalizer:
    """Turns one function (the top-level one, or a helper being inlined) into statements."""

    def __init__(
        self,
        parsed: ParsedFunction,
        emitter: _Emitter,
        env: dict[str, Any],
        copied_params: frozenset[str],
        inlining: tuple = (),
    ) -> None:
        self.parsed = parsed
        self.out = emitter
        self.env = env
        self.copied_params = copied_params
        self.inlining = inlining + (parsed.fn,)
        self.node: ast.AST = parsed.node
        # Names whose value is unknown on some path: name -> why, for the error on use.
        self.undefined: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------------------------

    def error(
        self, node: ast.AST, message: str, suggestion: str | None = None, cls=UnsupportedSyntaxError
    ) -> UnsupportedSyntaxError:
        return self.parsed.error(node, message, suggestion, cls)

    @property
    def loc(self) -> Loc:
        return self.parsed.loc(self.node)

    def emit(self, op: str, *args: Operand, attrs: tuple = ()) -> Operand:
        folded = _fold(op, args)
        if folded is not None:  # `if 1.0 < 2.0:` is decided here, not at run time
            return folded
        return self.out.emit(op, tuple(args), self.loc, attrs)

    def operand(self, value: Any, node: ast.AST) -> Operand:
        """A value usable as an operand: tuples and modules are not."""
        if isinstance(value, (Var, Const)):
            return value
        if isinstance(value, ShapeOf):
            return self.emit("shape", value.array)
        if isinstance(value, TupleValue):
            items = [self.operand(v, node) for v in value.items]
            if all(isinstance(i, Const) for i in items):
                return Const(tuple(i.value for i in items))
            return self.emit("tuple", *items)  # a shape such as (n, 2)
        raise self.error(node, f"{ast.unparse(node)} is not a number or an array")

    # -- statements ----------------------------------------------------------------------------

    def body(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.node = stmt
            self.statement(stmt)

    def statement(self, node: ast.stmt) -> None:
        kind = type(node)
        if kind in _REFUSED_STMTS:
            what, suggestion = _REFUSED_STMTS[kind]
            raise self.error(node, f"{what} cannot be differentiated", suggestion)
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:  # a = b = ...: the value is computed once
                value = self.bind(target, value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.bind(node.target, self.expr(node.value))
        elif isinstance(node, ast.AugAssign):
            self.aug_assign(node)
        elif isinstance(node, ast.If):
            self.if_statement(node)
        elif isinstance(node, ast.For):
            self.for_loop(node)
        elif isinstance(node, ast.While):
            self.while_loop(node)
        elif isinstance(node, (ast.Pass, ast.Assert)):
            pass  # asserts are skipped, as under `python -O`
        elif isinstance(node, ast.Expr):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return  # a docstring
            if type(value) in _REFUSED_EXPRS:
                self.expr(value)  # refused with its own message (yield, await, ...)
            if isinstance(value, ast.Call):
                name = ast.unparse(value.func)
                raise self.error(
                    node,
                    f"the call {name}(...) is a statement whose value is not "
                    "used (side effects such as printing are not supported)",
                    "remove it, or print outside the differentiated function",
                )
            raise self.error(
                node,
                "an expression whose value is not used",
                "assign it to a variable or remove it",
            )
        elif isinstance(node, ast.Return):
            raise self.error(node, "return in this position is not supported")
        elif isinstance(node, (ast.Break, ast.Continue)):
            raise self.error(node, f"{type(node).__name__.lower()} outside a loop")
        else:
            raise self.error(node, f"{type(node).__name__} statements are not supported")

    def bind(self, target: ast.expr, value: Any) -> Any:
        """Bind an assignment target; returns the value as bound (a temporary may take the
        target's name)."""
        if isinstance(target, ast.Name):
            return self.assign_name(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.unpack(value, len(target.elts), target)
            for elt, item in zip(target.elts, items):
                if isinstance(elt, ast.Starred):
                    raise self.error(
                        elt,
                        "starred assignment targets are not supported",
                        "unpack the items one by one",
                    )
                self.bind(elt, item)
        elif isinstance(target, ast.Subscript):
            self.store(target, value)
        elif isinstance(target, ast.Attribute):
            raise self.error(
                target,
                "assigning to an attribute (objects are not supported)",
                "use plain variables and arrays",
            )
        else:
            raise self.error(target, f"cannot assign to {ast.unparse(target)}")
        return value

    def assign_name(self, name: str, value: Any) -> Any:
        self.undefined.pop(name, None)
        helper_result = name == controlflow.RESULT and len(self.inlining) > 1
        if isinstance(value, Var) and value.name in self.out.temps and not helper_result:
            # (a helper's result stays a temporary: the caller's `h = relu(z)` names it)
            fresh = self.fresh(name)
            if self.out.rename_last(value.name, fresh):
                value = Var(fresh)
            else:
                self.out.temps.discard(value.name)  # now held by a name: never rename it
        self.env[name] = value
        return value

    def fresh(self, name: str) -> str:
        return self.out.names.fresh(name if not name.startswith("__") else name.strip("_"))

    def unpack(self, value: Any, count: int, node: ast.AST) -> list[Any]:
        if isinstance(value, TupleValue):
            items = list(value.items)
        elif isinstance(value, ShapeOf):
            items = [self.emit("dim", value.array, attrs=(("axis", k),)) for k in range(count)]
        elif isinstance(value, Var):
            items = [self.getitem(value, (Const(k),), (("i",),)) for k in range(count)]
        else:
            raise self.error(node, "cannot unpack this value")
        if len(items) != count:
            raise self.error(node, f"cannot unpack {len(items)} values into {count} names")
        return items

    def aug_assign(self, node: ast.AugAssign) -> None:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise self.error(node, f"the operator {type(node.op).__name__} is not supported")
        if isinstance(node.target, ast.Subscript):
            array, args, structure = self.index(node.target)
            old = self.getitem(array, args, structure)
            new = self.emit(op, old, self.operand(self.expr(node.value), node.value))
            self.setitem(node.target, array, args, structure, new)
            return
        current = (
            self.expr(ast.Name(id=node.target.id, ctx=ast.Load()), node.target)
            if isinstance(node.target, ast.Name)
            else None
        )
        if current is None:
            raise self.error(node, f"cannot assign to {ast.unparse(node.target)}")
        value = self.operand(self.expr(node.value), node.value)
        # Marked: on an array another name shares, NumPy writes in place (see inplace.py).
        mark = (("augmented", node.target.id),)
        self.assign_name(
            node.target.id, self.emit(op, self.operand(current, node), value, attrs=mark)
        )

    # -- in-place writes -----------------------------------------------------------------------

    def store(self, target: ast.Subscript, value: Any) -> None:
        array, args, structure = self.index(target)
        self.setitem(target, array, args, structure, self.operand(value, target))

    def setitem(
        self, node: ast.AST, array: Operand, args: tuple, structure: tuple, value: Operand
    ) -> None:
        if not isinstance(array, Var):
            raise self.error(node, "can only write into an array variable")
        name = array.name
        if name in self.out.views:
            raise self.error(
                node,
                f"writing into {ast.unparse(node.value)}, which is a view of another array"
                " (a slice, transpose or reshape of it)",
                "write into the original array with a full index, or take a .copy() first",
            )
        if self.out.live is not None and name in self.out.live.by_param:
            raise self.error(
                node,
                f"writing into {self.out.live.by_param[name].label}, a module-level array",
                f"work on a copy: `{name.lower()}_copy = {name}.copy()`",
            )
        if name in self.out.params and name not in self.copied_params:
            raise _Restart(name)
        self.out.emit("setitem", (array, value) + args, self.loc, (("index", structure),))

    # -- branches ------------------------------------------------------------------------------

    def if_statement(self, node: ast.If) -> None:
        cond = self.operand(self.expr(node.test), node.test)
        if isinstance(cond, Const):  # `if DEBUG:` on a constant: keep the branch taken
            self.body(node.body if cond.value else node.orelse)
            return
        self.node = node
        before = dict(self.env)
        then_env, then_block, then_undef = self.branch(node.body, before)
        else_env, else_block, else_undef = self.branch(node.orelse, before)
        phis = self.merge(node, before, then_env, else_env, then_undef, else_undef)
        self.out.current.append(
            If(cond, tuple(then_block), tuple(else_block), tuple(phis), self.parsed.loc(node))
        )

    def branch(self, stmts: list[ast.stmt], before: dict) -> tuple[dict, list, dict]:
        self.env = dict(before)
        saved_undefined = self.undefined
        self.undefined = dict(saved_undefined)
        with self.out.block() as block:
            self.body(stmts)
        env, undefined = self.env, self.undefined
        self.undefined = saved_undefined
        return env, block, undefined

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
            if a == b:
                self.env[name] = a
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
        if isinstance(a, (TupleValue, ShapeOf, PyObject)) or isinstance(
            b, (TupleValue, ShapeOf, PyObject)
        ):
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
            if fn is enumerate and len(it.args) == 1 and not it.keywords:
                seq = self.operand(self.expr(it.args[0]), it.args[0])
                if not (isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2):
                    raise self.error(node.target, "unpack enumerate() as `for i, v in ...`")
                i_target, v_target = node.target.elts

                def bind_enumerate(k: Var) -> None:
                    self.bind(i_target, k)
                    self.bind(v_target, self.getitem(seq, (k,), (("i",),)))

                return Const(0), self.emit("len", seq), Const(1), bind_enumerate
            if fn is zip and it.args and not it.keywords:
                seqs = [self.operand(self.expr(a), a) for a in it.args]
                if not (isinstance(node.target, ast.Tuple) and len(node.target.elts) == len(seqs)):
                    raise self.error(node.target, "unpack zip() into one name per sequence")
                length = self.emit("len", seqs[0])
                for seq in seqs[1:]:
                    length = self.emit("minimum", length, self.emit("len", seq))

                def bind_zip(k: Var) -> None:
                    for target, seq in zip(node.target.elts, seqs):
                        self.bind(target, self.getitem(seq, (k,), (("i",),)))

                return Const(0), length, Const(1), bind_zip
        value = self.expr(it)
        if isinstance(value, (Var,)):

            def bind_rows(k: Var) -> None:
                self.bind(node.target, self.getitem(value, (k,), (("i",),)))

            return Const(0), self.emit("len", value), Const(1), bind_rows
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
        before = dict(self.env)
        # (A range loop's index with a value before the loop is carried too: after the loop it
        # holds its last value, or the one before if the loop ran no iteration.)
        carried = [n for n in sorted(assigned) if n in before]
        for name in carried:
            if isinstance(before[name], (TupleValue, ShapeOf, PyObject)):
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
                else:
                    bind_items(Var(index))
            saved_undefined = dict(self.undefined)
            self.body(node.body)
            self.node = node
            for name in carried:  # a number or array on entry cannot become a tuple
                if isinstance(self.env.get(name), (TupleValue, ShapeOf, PyObject)):
                    raise self.tuple_error(node, name, "is reassigned in the loop")
            exit_flag = None
            if getattr(node, "lowered_break", False):
                flag = self.env[controlflow.BREAK]
                if isinstance(flag, Const):  # the body always breaks
                    flag = self.out.emit("copy", (flag,), self.loc, target=self.fresh("stop"))
                exit_flag = flag.name
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

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, node: ast.expr, where: ast.AST | None = None) -> Any:
        kind = type(node)
        if kind in _REFUSED_EXPRS:
            what, suggestion = _REFUSED_EXPRS[kind]
            raise self.error(node, f"{what} cannot be differentiated", suggestion)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float)) or node.value is None:
                return Const(node.value)
            raise self.error(node, f"{type(node.value).__name__} constants are not supported")
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.error(node, f"the operator {type(node.op).__name__} is not supported")
            left = self.operand(self.expr(node.left), node.left)
            right = self.operand(self.expr(node.right), node.right)
            return self.emit(op, left, right)
        if isinstance(node, ast.UnaryOp):
            value = self.operand(self.expr(node.operand), node.operand)
            if isinstance(node.op, ast.USub):
                if isinstance(value, Const) and isinstance(value.value, (int, float)):
                    return Const(-value.value)
                return self.emit("neg", value)
            if isinstance(node.op, ast.UAdd):
                return value
            if isinstance(node.op, ast.Not):
                return self.emit("not", value)
            raise self.error(node, "the operator ~ is not supported")
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node)
        if isinstance(node, ast.IfExp):
            return self.if_expression(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Tuple):
            return TupleValue(tuple(self.expr(e) for e in node.elts))
        if isinstance(node, ast.List):
            raise self.error(
                node, "lists are not supported", "use a tuple, or np.array([...]) for an array"
            )
        raise self.error(node, f"{type(node).__name__} expressions are not supported")

    def name(self, node: ast.Name) -> Any:
        ident = node.id
        if ident in self.env:
            return self.env[ident]
        if ident in self.undefined:
            raise self.error(node, self.undefined[ident])
        value = self.parsed.resolve(ident)
        if value is MISSING:
            raise self.error(node, f"name {ident!r} is not defined")
        where = self.parsed.reader(ident) if self.out.live is not None else None
        if where is None or _is_library_module(value):
            return self.global_value(value, node)
        container, get = where
        return self.live_value(value, node, ((id(container), ident), ident, get))

    def live_value(self, value: Any, node: ast.AST, live: tuple) -> Any:
        """A module-level value read at each call (see live.py): a number or an array is a
        hidden parameter, a bool or None a constant checked at each call."""
        key, label, get = live
        if is_live_value(value):
            if isinstance(value, np.ndarray) and value.dtype.kind not in "fiub":
                raise self.error(node, f"{label} is an array of {value.dtype}")
            return self.out.live.hidden(key, label, get, value, self.parsed.loc(node))
        if is_pinned_value(value):
            return self.out.live.pin(key, label, get, value, self.parsed.loc(node))
        constant = self.global_value(value, node)  # a helper, a module: its attributes live
        return PyObject(value, live) if isinstance(constant, PyObject) else constant

    def constant(self, value: Any) -> Any:
        """For a place that needs a constant (`axis=`, a tuple's index): a module-level
        number there is compiled in, and checked at each call."""
        if self.out.live is None:
            return value
        if isinstance(value, Var):
            return self.out.live.pin_param(value) or value
        if isinstance(value, TupleValue):
            return TupleValue(tuple(self.constant(v) for v in value.items))
        return value

    def global_value(self, value: Any, node: ast.AST) -> Any:
        if isinstance(value, bool) or value is None:
            return Const(value)
        if isinstance(value, numbers.Integral):
            return Const(int(value))
        if isinstance(value, numbers.Real):
            return Const(float(value))
        if isinstance(value, np.ndarray):
            raise self.error(
                node,
                f"{ast.unparse(node)} is a global array",
                "pass it to the function as an argument",
            )
        return PyObject(value)

    def attribute(self, node: ast.Attribute) -> Any:
        base = self.expr(node.value)
        if isinstance(base, PyObject):
            value = getattr(base.obj, node.attr, MISSING)
            if value is MISSING:
                raise self.error(node, f"{ast.unparse(node)} does not exist")
            if base.live is None or _is_library_module(value):
                return self.global_value(value, node)
            # `cfg.SCALE` of a module (or object) of the user's: read at each call too.
            key, label, get = base.live
            attr = node.attr

            def get_attr():
                return getattr(get(), attr)

            return self.live_value(value, node, (key + (attr,), f"{label}.{attr}", get_attr))
        if isinstance(base, Var):
            if node.attr == "shape":
                return ShapeOf(base)
            op = ATTRIBUTES.get(node.attr)
            if op is not None:
                return self.emit(op, base)
            if node.attr in METHODS:
                raise self.error(node, f".{node.attr} must be called")
        raise self.error(node, f"the attribute .{node.attr} is not supported")

    def compare(self, node: ast.Compare) -> Var:
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

    def select_value(self, nodes: list[ast.expr], op: str) -> Operand:
        """`a or b or ...` as Python evaluates it: a if a is truthy, else `b or ...` (for
        `and`: a if a is falsy); the gradient flows to the operand whose value is taken, and
        later operands run only when reached."""
        first = self.operand(self.expr(nodes[0]), nodes[0])
        if len(nodes) == 1:
            return first
        if isinstance(first, Const):  # decided now: `0.0 or x` is x
            if bool(first.value) == (op == "or"):
                return first
            return self.select_value(nodes[1:], op)
        with self.out.block() as rest_block:
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
        with self.out.block() as evaluated:
            second = self.operand(self.expr(second_node), second_node)
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
        with self.out.block() as then_block:
            a = self.operand(self.expr(node.body), node.body)
        with self.out.block() as else_block:
            b = self.operand(self.expr(node.orelse), node.orelse)
        phi = Phi(self.out.names.temp(), a, b)
        self.out.temps.add(phi.name)
        self.out.current.append(If(cond, tuple(then_block), tuple(else_block), (phi,), self.loc))
        return Var(phi.name)

    # -- indexing ------------------------------------------------------------------------------

    def index(self, node: ast.Subscript) -> tuple[Operand, tuple, tuple]:
        """The array, index operands and index structure of `a[...]`."""
        base = self.operand(self.expr(node.value), node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args: list[Operand] = []
        structure: list[tuple] = []
        for item in items:
            if isinstance(item, ast.Slice):
                parts = []
                for part in (item.lower, item.upper, item.step):
                    if part is None:
                        parts.append(False)
                    else:
                        args.append(self.operand(self.expr(part), part))
                        parts.append(True)
                structure.append(("s", *parts))
            elif isinstance(item, ast.Constant) and item.value is None:
                structure.append(("n",))
            elif isinstance(item, ast.Constant) and item.value is Ellipsis:
                raise self.error(
                    item, "... in an index is not supported", "write out the slices (x[:, :, 0])"
                )
            else:
                value = self.expr(item)
                if isinstance(value, PyObject) and value.obj is None:
                    structure.append(("n",))
                    continue
                args.append(self.operand(value, item))
                structure.append(("i",))
        return base, tuple(args), tuple(structure)

    def subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        if isinstance(base, (TupleValue, ShapeOf)):
            key = self.constant(self.expr(node.slice))
            if not (isinstance(key, Const) and isinstance(key.value, int)):
                raise self.error(node, "a tuple can only be indexed by a constant integer")
            if isinstance(base, ShapeOf):
                return self.emit("dim", base.array, attrs=(("axis", key.value),))
            return base.items[key.value]
        array, args, structure = self.index(node)
        return self.getitem(array, args, structure)

    def getitem(self, array: Operand, args: tuple, structure: tuple) -> Var:
        return self.emit("getitem", array, *args, attrs=(("index", structure),))

    # -- calls ---------------------------------------------------------------------------------

    def callee(self, func: ast.expr) -> Any:
        """The Python object a call refers to, when it is not a method of an array."""
        try:
            value = self.expr(func)
        except UnsupportedSyntaxError:
            return MISSING
        return value.obj if isinstance(value, PyObject) else MISSING

    def call(self, node: ast.Call) -> Any:
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(
                    arg, "*args in a call cannot be differentiated", "pass the arguments one by one"
                )
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(
                    node,
                    "**kwargs in a call cannot be differentiated",
                    "pass the keyword arguments one by one",
                )
        func = node.func
        if isinstance(func, ast.Attribute):
            base = self.expr(func.value)
            if isinstance(base, Var):
                spec = METHODS.get(func.attr)
                if spec is None:
                    raise self.error(
                        node,
                        f"no gradient rule for the method .{func.attr}()",
                        cls=NoGradientRuleError,
                    )
                return self.apply(spec, [base] + list(node.args), node)
        target = self.expr(func)
        if not isinstance(target, PyObject):
            raise self.error(node, f"{ast.unparse(func)} is not a function")
        obj = target.obj
        if obj in (np.array, np.asarray) and len(node.args) == 1 and not node.keywords:
            return self.array_literal(node.args[0])
        if obj in (np.array, np.asarray) and len(node.args) == 1 and _only_dtype(node):
            dtype = self.dtype(self.expr(node.keywords[0].value), ast.unparse(func), node)
            array = self.array_literal(node.args[0])
            return self.emit("astype", array, attrs=(("dtype", dtype.value),))
        if obj is len:
            if len(node.args) != 1:
                raise self.error(node, "len() takes one argument")
            return self.emit("len", self.operand(self.expr(node.args[0]), node.args[0]))
        if obj in (max, min) and not node.keywords:
            return self.builtin_extreme(obj, node)
        spec = call_spec(obj)
        if spec is not None:
            return self.apply(spec, list(node.args), node)
        if inspect.isfunction(obj) and not _is_library(obj):
            return self.inline(obj, node)
        if isinstance(obj, type) and not inspect.isbuiltin(obj):
            raise self.error(
                node,
                f"creating a {obj.__name__} object cannot be differentiated",
                "use plain numbers and arrays",
            )
        raise self.error(
            node,
            f"no gradient rule for {ast.unparse(func)}",
            "write it with supported NumPy functions, or in a helper function of your own",
            cls=NoGradientRuleError,
        )

    def array_literal(self, node: ast.expr) -> Operand:
        """np.array(...): of a list or tuple, its items stacked along a new first axis
        (numbers, or arrays of one shape; a nested list stacks its rows); of an array, a copy;
        of a number, the number (NumPy's 0-d array, which arithmetic turns into a number)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.stack([self.array_item(e) for e in node.elts])
        value = self.expr(node)
        if isinstance(value, TupleValue):
            return self.array_item(value, node)
        return self.emit("array_copy", self.operand(value, node))

    def array_item(self, item: Any, node: ast.AST | None = None) -> Operand:
        """One item of a list given to np.array: itself, or the stack of a nested list."""
        if isinstance(item, (ast.List, ast.Tuple)):
            return self.array_literal(item)
        if isinstance(item, ast.AST):
            node, item = item, self.expr(item)
        if isinstance(item, TupleValue):
            return self.stack([self.array_item(v, node) for v in item.items])
        return self.operand(item, node)

    def stack(self, items: list[Operand]) -> Operand:
        if all(isinstance(i, Const) for i in items):
            items = [Const(float(i.value)) for i in items]
        return self.emit("stack", *items)

    def argument(self, arg: Any, array_like: bool) -> Any:
        """A call's argument; where NumPy takes an array, a tuple or list is that array."""
        if isinstance(arg, (Var, Const)):
            return arg
        if array_like and isinstance(arg, (ast.List, ast.Tuple)):
            return self.array_literal(arg)
        value = self.expr(arg)
        if array_like and isinstance(value, TupleValue):
            return self.array_item(value, arg)
        return value

    def builtin_extreme(self, obj: Any, node: ast.Call) -> Operand:
        if len(node.args) < 2:
            raise self.error(
                node,
                f"{obj.__name__}() of one sequence is not supported",
                f"use np.{obj.__name__}(x) for the largest/smallest entry",
            )
        op = "maximum" if obj is max else "minimum"
        result = self.operand(self.expr(node.args[0]), node.args[0])
        for arg in node.args[1:]:
            result = self.emit(op, result, self.operand(self.expr(arg), arg))
        return result

    def apply(self, spec: CallSpec, positional: list, node: ast.Call) -> Any:
        """Bind a call's arguments to a spec and emit its operation."""
        values: dict[str, Any] = {}
        extra: list[Operand] = []
        names = list(spec.params) + list(spec.static)
        for i, arg in enumerate(positional):
            value = self.argument(arg, i < len(names) and names[i] in spec.array_like)
            if i < len(names):
                values[names[i]] = value
            elif spec.varargs:
                extra.append(self.operand(value, node))
            else:
                raise self.error(node, f"too many arguments for {spec.name or spec.op}")
        cast = None
        for kw in node.keywords:
            if kw.arg == "dtype" and kw.arg not in names and spec.op in _CAST_AFTER:
                # np.zeros(n, dtype=int) is np.zeros(n).astype(int)
                cast = self.dtype(self.expr(kw.value), spec.name or spec.op, node)
                continue
            if kw.arg not in names:
                raise self.error(node, f"{spec.name or spec.op}() does not take {kw.arg}= here")
            values[kw.arg] = self.argument(kw.value, kw.arg in spec.array_like)
        operands = []
        for param in spec.params:
            if param not in values:
                raise self.error(node, f"{spec.name or spec.op}() needs its argument {param}")
            operands.append(self.operand(values[param], node))
        attrs = []
        for param, default in spec.static.items():
            value = self.constant(values.get(param, Const(default)))
            if param == "dtype":
                value = self.dtype(value, spec.name or spec.op, node)
            if isinstance(value, TupleValue):
                value = self.operand(value, node)
            if not isinstance(value, Const):
                raise self.error(node, f"{param}= must be a constant here")
            attrs.append((param, value.value))
        operands += extra
        result = self.emit(spec.op, *operands, attrs=tuple(sorted(attrs)))
        if cast is not None:
            result = self.emit("astype", result, attrs=(("dtype", cast.value),))
        return result

    def dtype(self, value: Any, what: str, node: ast.Call) -> Const:
        """A `dtype=` argument (`float`, `np.float32`, ...) as its canonical NumPy name."""
        if isinstance(value, Const) and (value.value is None or isinstance(value.value, str)):
            return value  # a default given by the spec (None: float64, as NumPy takes it)
        name = dtype_name(value.obj) if isinstance(value, PyObject) else None
        if name is None:
            raise self.error(
                node,
                f"{what}() needs a number type as dtype",
                "write float, int, bool, np.float64 or np.float32",
            )
        return Const(name)

    def inline(self, fn: Any, node: ast.Call) -> Any:
        if fn in self.inlining:
            raise self.error(
                node,
                f"recursive call of {fn.__name__}() cannot be differentiated",
                "rewrite the recursion as a loop",
            )
        parsed = parse_function(fn)
        params = parsed.node.args
        if params.vararg or params.kwarg or params.kwonlyargs or params.posonlyargs:
            raise self.error(
                node,
                f"{fn.__name__}() has *args, **kwargs or keyword-only "
                "parameters, which are not supported",
                "use plain parameters",
            )
        names = [a.arg for a in params.args]
        values: dict[str, Any] = {}
        for name, arg in zip(names, node.args):
            values[name] = self.expr(arg)
        if len(node.args) > len(names):
            raise self.error(node, f"too many arguments for {fn.__name__}()")
        for kw in node.keywords:
            if kw.arg not in names:
                raise self.error(node, f"{fn.__name__}() has no parameter {kw.arg}")
            values[kw.arg] = self.expr(kw.value)
        defaults = dict(
            zip(names[len(names) - len(fn.__defaults__ or ()) :], fn.__defaults__ or ())
        )
        for name in names:
            if name not in values:
                if name not in defaults:
                    raise self.error(node, f"{fn.__name__}() needs its argument {name}")
                values[name] = self.global_value(defaults[name], node)
        for value in values.values():  # the helper's parameters now hold these values
            if isinstance(value, Var):
                self.out.temps.discard(value.name)
        helper = _Normalizer(parsed, self.out, values, self.copied_params, self.inlining)
        result = helper.function_body()
        self.node = node
        return result

    # -- the whole function --------------------------------------------------------------------

    def function_body(self) -> Any:
        """Normalize this function's body; returns the value it returns."""
        body, placeholders = controlflow.lower_exits(self.parsed.node.body)
        if not controlflow.always_exits(self.parsed.node.body, False):
            raise self.error(
                self.parsed.node,
                f"{self.parsed.name}() does not return a value on every path",
                "add a return statement at the end",
            )
        for name in placeholders:  # typed like the values returned, by kind inference
            placeholder = self.fresh(name)
            self.out.emit("unassigned", (), self.parsed.loc(self.parsed.node), target=placeholder)
            self.env[name] = Var(placeholder)
        if placeholders:
            self.env[controlflow.RETURNED] = Const(False)
        self.body(body)
        if controlflow.RESULT not in self.env:
            raise self.error(
                self.parsed.node, f"{self.parsed.name}() does not return a value on every path"
            )
        return self.env[controlflow.RESULT]


_FOLDABLE = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "neg": operator.neg,
    "pos": operator.pos,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
    "not": operator.not_,
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
}


def _fold(op: str, args: tuple) -> Const | None:
    """The value of an operation on constants, computed now (arithmetic, comparisons, logic)."""
    if op not in _FOLDABLE or not all(
        isinstance(a, Const) and isinstance(a.value, (bool, int, float)) for a in args
    ):
        return None
    return Const(_FOLDABLE[op](*(a.value for a in args)))


# Constructors whose `dtype=` is a conversion of what they make with their default type.
_CAST_AFTER = frozenset(
    ("zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "full", "full_like", "eye")
)


def _only_dtype(call: ast.Call) -> bool:
    return [kw.arg for kw in call.keywords] == ["dtype"]


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


_LIBRARIES = ("numpy", "math", "scipy", "numba", "sympy", "builtins")


def _is_library(fn: Any) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return module.split(".")[0] in _LIBRARIES


def _is_library_module(value: Any) -> bool:
    """np, math, ...: their numbers (np.pi) are constants, not read at each call."""
    return inspect.ismodule(value) and value.__name__.split(".")[0] in _LIBRARIES


def _written_params(node: ast.FunctionDef) -> set[str]:
    """Parameters written into by subscript (`x[i] = ...`), which are copied on entry."""
    params = {a.arg for a in node.args.args}
    written = set()
    for sub in ast.walk(node):
        targets = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
            targets = [sub.target]
        for target in targets:
            for t in ast.walk(target):
                if (
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and (t.value.id in params)
                ):
                    written.add(t.value.id)
    return written


def normalize(parsed: ParsedFunction) -> Function:
    """The SSA IR of a parsed function (helpers it calls are inlined), with the module-level
    values it reads compiled in as constants (as they are now)."""
    return _normalize(parsed, live=False)[0]


def normalize_live(parsed: ParsedFunction) -> tuple[Function, LiveState | None]:
    """The SSA IR of a parsed function in which the module-level numbers and arrays it (or a
    helper) reads are hidden parameters after its own, read at each call (see live.py)."""
    return _normalize(parsed, live=True)


def _normalize(parsed: ParsedFunction, live: bool) -> tuple[Function, LiveState | None]:
    node = parsed.node
    args = node.args
    if args.vararg or args.kwarg:
        raise parsed.error(
            node,
            "*args and **kwargs parameters cannot be differentiated",
            "list the parameters one by one",
        )
    if args.kwonlyargs or args.posonlyargs:
        raise parsed.error(
            node,
            "keyword-only and positional-only parameters are not supported",
            "use plain parameters",
        )
    params = tuple(a.arg for a in args.args)
    copied = frozenset(_written_params(node))
    while True:
        try:
            return _normalize_once(parsed, params, copied, live)
        except _Restart as restart:
            copied = copied | {restart.param}


def _normalize_once(
    parsed: ParsedFunction, params: tuple[str, ...], copied: frozenset[str], live: bool
) -> tuple[Function, LiveState | None]:
    names = Names(set(params))
    emitter = _Emitter(names, set(params))
    if live:
        emitter.live = LiveGlobals(names)
    env: dict[str, Any] = {p: Var(p) for p in params}
    loc = parsed.loc(parsed.node)
    for p in sorted(copied):
        # The function writes into this argument: work on a copy, never the caller's array.
        env[p] = emitter.emit("array_copy", (Var(p),), loc, target=names.fresh(p))
    normalizer = _Normalizer(parsed, emitter, env, copied)
    result = normalizer.function_body()
    if isinstance(result, (TupleValue, ShapeOf, PyObject)):
        result = normalizer.operand(result, parsed.node)
    body = tuple(emitter.blocks[0])
    state = None
    if emitter.live is not None:
        state = emitter.live.finish(_names_read(body) | {getattr(result, "name", None)})
        params += state.params if state is not None else ()
    return Function(parsed.name, params, body, result, parsed.filename, loc), state


def _names_read(body: tuple[Stmt, ...]) -> set[str]:
    names = set()
    for s in walk(body):
        if isinstance(s, Assign):
            operands = list(s.args)
        elif isinstance(s, If):
            operands = [s.cond] + [o for p in s.phis for o in (p.first, p.second)]
        else:
            operands = [s.start, s.stop, s.step, s.cond]
            operands += [o for p in s.phis for o in (p.first, p.second)]
        names |= {o.name for o in operands if isinstance(o, Var)}
    return names
