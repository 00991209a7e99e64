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
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import controlflow
from .aux import leaves as aux_leaves
from .aux import split_result
from .calls import Calls
from .containers import ContainerSupport
from .emitter import Emitter
from .errors import NonScalarOutputError, UnsupportedSyntaxError
from .flow import BranchesAndLoops
from .frontend import ParsedFunction
from .growing import GrowingLists
from .index_tricks import IndexTricks
from .inplace import refuse_module_array_updates
from .ir import Assign, Const, Function, If, Loc, Names, Operand, Stmt, Var, walk
from .live import LiveGlobals, LiveState
from .module_values import ModuleValues
from .nested import NestedFunctions
from .pytree import Layout, compile_time_value
from .subscripts import Restart, Subscripts
from .unrolled_loops import LIST_METHODS
from .values import (
    COMPILE_TIME,
    CONTAINERS,
    ListValue,
    PyObject,
    RecordValue,
    ShapeOf,
    TupleValue,
)

_BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.Mod: "mod",
    ast.FloorDiv: "floordiv",
    ast.MatMult: "matmul",
    ast.BitAnd: "bitand",
    ast.BitOr: "bitor",
    ast.BitXor: "bitxor",
}

# Statements and expressions refused outright: (message, suggestion).
_REFUSED_STMTS = {
    ast.Try: ("try/except", "move error handling outside the differentiated function"),
    ast.With: ("with statements", "open resources outside the differentiated function"),
    ast.Raise: ("raise", "check inputs before calling the differentiated function"),
    ast.Global: ("global declarations", "pass the value as an argument"),
    ast.Nonlocal: ("nonlocal declarations", "pass the value as an argument"),
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
    ast.SetComp: ("set comprehensions", None),
    ast.DictComp: ("dict comprehensions", None),
    ast.GeneratorExp: (
        "generator expressions (other than in sum(), max() or min())",
        "use a list comprehension [...]",
    ),
    ast.Set: ("set literals", None),
    ast.JoinedStr: ("f-strings", None),
    ast.NamedExpr: ("assignment expressions (:=)", "assign in a separate statement"),
    ast.Yield: ("yield (generators)", "return a value"),
    ast.YieldFrom: ("yield from (generators)", "return a value"),
    ast.Await: ("await", None),
    ast.Starred: ("starred expressions (*args)", "pass the arguments one by one"),
}


class _Normalizer(
    BranchesAndLoops,
    Calls,
    ContainerSupport,
    GrowingLists,
    IndexTricks,
    ModuleValues,
    NestedFunctions,
    Subscripts,
):
    """Turns one function (the top-level one, or a helper being inlined) into statements."""

    def __init__(
        self,
        parsed: ParsedFunction,
        emitter: Emitter,
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
        # The variable the statement being normalized assigns (names a comprehension's list).
        self.naming: str | None = None

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
        if op in _ARITHMETIC and any(isinstance(a, Const) and a.value is None for a in args):
            raise self.error(
                self.node,
                f"None in arithmetic ({op}): Python raises TypeError there",
                "give the argument a number or an array, or test `if x is not None:` first",
            )
        if op == "float" and len(args) == 1 and isinstance(args[0], Const):
            try:  # float("inf"), float("-inf"), float("nan"), float("1e-3")
                return Const(float(args[0].value))
            except (TypeError, ValueError):
                pass  # (as Python: refused below, or float() of a number at run time)
        if any(isinstance(a, Const) and isinstance(a.value, str) for a in args):
            raise self.error(
                self.node,
                f"a string constant used in {op}(): strings are only supported as dict keys "
                "and in comparisons known at compile time",
                "keep strings outside the differentiated computation",
            )
        return self.out.emit(op, tuple(args), self.loc, attrs)

    def operand(self, value: Any, node: ast.AST) -> Operand:
        """A value usable as an operand: tuples and modules are not."""
        if isinstance(value, (Var, Const)):
            return value
        if isinstance(value, ShapeOf):
            return self.emit("shape", value.array)
        if isinstance(value, ListValue):
            value = self.snapshot(value)
            if isinstance(value, Var):  # a list of run-time length: its array
                return value
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
            one = node.targets[0] if len(node.targets) == 1 else None
            self.naming = one.id if isinstance(one, ast.Name) else None  # for comprehensions
            value = self.expr(node.value)
            self.naming = None
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
        elif isinstance(node, ast.FunctionDef):
            self.assign_name(node.name, self.local_function(node))
        elif isinstance(node, ast.Expr):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return  # a docstring
            if type(value) in _REFUSED_EXPRS:
                self.expr(value)  # refused with its own message (yield, await, ...)
            if _is_method_call(value) and value.func.attr in LIST_METHODS:
                self.list_method(value)  # terms.append(t)
                return
            if isinstance(value, ast.Call) and self.is_users_function(value.func):
                self.expr(value)  # a helper of the user's, called for what it does to lists
                return
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
            starred = [k for k, elt in enumerate(target.elts) if isinstance(elt, ast.Starred)]
            if starred:  # `first, *rest = items`: rest is a list of the others
                self.bind_starred(target, value, starred)
                return value
            items = self.unpack(value, len(target.elts), target)
            for elt, item in zip(target.elts, items):
                self.bind(elt, item)
        elif isinstance(target, ast.Subscript):
            container = self.expr(target.value) if self.names_container(target) else None
            if isinstance(container, ListValue):
                self.store_item(target, container, value)
            elif container is not None and not isinstance(container, Var):
                name = ast.unparse(target.value)
                if isinstance(container, RecordValue) and container.is_dict:
                    message = f"{name} is a dict: changing an item of one is not supported"
                    rewrite = "build it with its final items (`{'a': u}`, `dict(d, a=u)`)"
                else:  # (Python refuses it too)
                    message = f"{name} is a tuple: its items cannot be changed"
                    rewrite = "build a new tuple, or use a list"
                raise self.error(target, message, rewrite)
            else:
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

    def bind_starred(self, target: ast.Tuple | ast.List, value: Any, starred: list[int]) -> None:
        items = self.items_of(value)
        if isinstance(value, RecordValue) and not value.is_dict:
            items = value.items
        if items is None or len(starred) > 1:
            raise self.error(
                target,
                "a starred target unpacks a list or tuple known at compile time only",
                "unpack the items one by one",
            )
        k, after = starred[0], len(target.elts) - starred[0] - 1
        if len(items) < k + after:
            raise self.error(target, f"cannot unpack {len(items)} values into {k + after} names")
        rest = items[k : len(items) - after]
        for elt, item in zip(target.elts[:k], items[:k]):
            self.bind(elt, item)
        self.bind(target.elts[k].value, self.new_list(tuple(rest)))
        for elt, item in zip(target.elts[k + 1 :], items[len(items) - after :]):
            self.bind(elt, item)

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
        if isinstance(value, RecordValue):
            value = TupleValue(self.items_in(value, node))
        if isinstance(value, ListValue):
            if self.growing(value) is not None:
                raise self.error(
                    node, "cannot unpack a list whose length is known only at run time"
                )
            value = TupleValue(self.items_of(value))
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
        if isinstance(node.target, ast.Subscript) and self.names_container(node.target):
            # `acc[0] += v` on a list item: the item is replaced (a number or array item is
            # rebound, as Python rebinds it)
            old = self.operand(self.expr(node.target), node)
            value = self.operand(self.expr(node.value), node)
            # Marked: on an array another name shares, NumPy writes in place (inplace.py).
            mark = (("augmented", ast.unparse(node.target)),)
            self.bind(node.target, self.emit(op, old, value, attrs=mark))
            return
        if isinstance(node.target, ast.Subscript):
            array, args, structure = self.index(node.target)
            old = self.getitem(array, args, structure)
            # Marked: NumPy refuses floats into an int slice in place (inplace.py)
            mark = (("view_augmented", ast.unparse(node.target)),)
            value = self.operand(self.expr(node.value), node.value)
            new = self.emit(op, old, value, attrs=mark)
            self.setitem(node.target, array, args, structure, new)
            return
        current = (
            self.expr(ast.Name(id=node.target.id, ctx=ast.Load()), node.target)
            if isinstance(node.target, ast.Name)
            else None
        )
        if current is None:
            raise self.error(node, f"cannot assign to {ast.unparse(node.target)}")
        if isinstance(current, CONTAINERS):
            added = self.concatenate(op, current, self.expr(node.value), node)
            if isinstance(current, ListValue):  # `terms += [t]` extends the list in place
                self.out.lists[current.ident] = self.items_of(added)
            else:
                self.assign_name(node.target.id, added)
            return
        value = self.operand(self.expr(node.value), node.value)
        # Marked: on an array another name shares, NumPy writes in place (see inplace.py).
        mark = (("augmented", node.target.id),)
        self.assign_name(
            node.target.id, self.emit(op, self.operand(current, node), value, attrs=mark)
        )

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, node: ast.expr, where: ast.AST | None = None) -> Any:
        kind = type(node)
        if kind in _REFUSED_EXPRS:
            what, suggestion = _REFUSED_EXPRS[kind]
            raise self.error(node, f"{what} cannot be differentiated", suggestion)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float, str)) or node.value is None:
                return Const(node.value)  # (a string: a dict key, or compared at compile time)
            raise self.error(node, f"{type(node.value).__name__} constants are not supported")
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.error(node, f"the operator {type(node.op).__name__} is not supported")
            left, right = self.expr(node.left), self.expr(node.right)
            if isinstance(left, CONTAINERS) or isinstance(right, CONTAINERS):
                return self.concatenate(op, left, right, node)
            left = self.operand(left, node.left)
            right = self.operand(right, node.right)
            return self.emit(op, left, right)
        if isinstance(node, ast.UnaryOp):
            value = self.operand(self.expr(node.operand), node.operand)
            if isinstance(node.op, ast.USub):
                if isinstance(value, Const) and isinstance(value.value, (int, float)):
                    return Const(-value.value)
                return self.emit("neg", value)
            if isinstance(node.op, ast.UAdd):
                # +a of an array is a new array (np.positive), not a reference to a
                return self.emit("pos", value) if isinstance(value, Var) else value
            if isinstance(node.op, ast.Not):
                return self.emit("not", value)
            if isinstance(node.op, ast.Invert):
                return self.emit("invert", value)
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
            return TupleValue(self.hold(tuple(self.expr(e) for e in node.elts)))
        if isinstance(node, ast.List):
            return self.new_list(tuple(self.expr(e) for e in node.elts))
        if isinstance(node, ast.ListComp):
            return self.comprehension(node)
        if isinstance(node, ast.Dict):
            return self.dict_literal(node)
        if isinstance(node, ast.Lambda):
            return self.local_function(node)
        raise self.error(node, f"{type(node).__name__} expressions are not supported")

    # -- the whole function --------------------------------------------------------------------

    def function_body(self) -> Any:
        """Normalize this function's body; returns the value it returns."""
        body, placeholders = controlflow.lower_exits(self.parsed.node.body)
        if len(self.inlining) > 1 and not any(
            isinstance(n, ast.Return) for n in ast.walk(ast.Module(self.parsed.node.body, []))
        ):
            # A helper without any return (it appends to a list given to it) returns None.
            self.body(body)
            return Const(None)
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


_ARITHMETIC = frozenset(
    ("add", "sub", "mul", "div", "pow", "mod", "floordiv", "matmul", "neg", "lt", "le", "gt", "ge")
)
_FOLDABLE = {
    "add": operator.add,
    "mod": operator.mod,
    "floordiv": operator.floordiv,
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
        isinstance(a, Const) and isinstance(a.value, (bool, int, float, str)) for a in args
    ):
        return None
    values = [a.value for a in args]
    if any(isinstance(v, str) for v in values) and op not in ("eq", "ne"):
        return None
    if op in ("mod", "floordiv") and not (all(type(v) is int for v in values) and values[1]):
        return None  # integers only (an index `i % 2` of an unrolled loop), never by zero
    return Const(_FOLDABLE[op](*values))


def _is_method_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)


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


@dataclass(frozen=True)
class Entry:
    """How the program's parameters relate to the function's: a bound method's receiver (its
    `self`, a constant object whose attributes are read at each call) and the layouts of
    structured arguments (pytree.py: each becomes its leaves' parameters)."""

    receiver: tuple[str, Any] | None = None
    layouts: tuple[tuple[str, Layout], ...] = ()
    has_aux: bool = False  # the function returns (value, aux): see aux.py


def normalize(parsed: ParsedFunction, entry: Entry = Entry()) -> Function:
    """The SSA IR of a parsed function (helpers it calls are inlined), with the module-level
    values it reads compiled in as constants (as they are now)."""
    return _normalize(parsed, False, entry)[0]


def normalize_live(
    parsed: ParsedFunction, entry: Entry = Entry()
) -> tuple[Function, LiveState | None]:
    """The SSA IR of a parsed function in which the module-level numbers and arrays it (or a
    helper) reads are hidden parameters after its own, read at each call (see live.py)."""
    return _normalize(parsed, True, entry)


def _normalize(
    parsed: ParsedFunction, live: bool, entry: Entry
) -> tuple[Function, LiveState | None]:
    node = parsed.node
    args = node.args
    if args.vararg or args.kwarg:
        raise parsed.error(
            node,
            "*args and **kwargs parameters cannot be differentiated",
            "list the parameters one by one",
        )
    params = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
    if entry.receiver is not None:
        params = params[1:]
    copied = frozenset(_written_params(node))
    while True:
        try:
            return _normalize_once(parsed, params, copied, live, entry)
        except Restart as restart:
            copied = copied | {restart.param}


def _normalize_once(
    parsed: ParsedFunction,
    params: tuple[str, ...],
    copied: frozenset[str],
    live: bool,
    entry: Entry,
) -> tuple[Function, LiveState | None]:
    layouts = dict(entry.layouts)
    # A structured argument's leaves are parameters in its place.
    program_params = tuple(
        leaf for p in params for leaf in (layouts[p].leaves() if p in layouts else [p])
    )
    names = Names(set(program_params) | set(params))
    emitter = Emitter(names, set(program_params))
    if live:
        emitter.live = LiveGlobals(names)
    values: dict[str, Any] = {p: Var(p) for p in program_params}
    loc = parsed.loc(parsed.node)
    for p in sorted(copied & set(program_params)):
        # The function writes into this argument: work on a copy, never the caller's array.
        # (marked: argument_overlap.py refuses arguments sharing memory with this one)
        values[p] = emitter.emit(
            "array_copy", (Var(p),), loc, (("argument", p),), target=names.fresh(p)
        )
    env = {p: values[p] for p in params if p not in layouts}
    for p, layout in layouts.items():
        env[p] = compile_time_value(layout, values.__getitem__)
    normalizer = _Normalizer(parsed, emitter, env, copied)
    if entry.receiver is not None:
        name, obj = entry.receiver
        env[name] = PyObject(obj, ((id(obj), name), name, lambda: obj))
    result = normalizer.function_body()
    aux = None
    if entry.has_aux:
        result, aux = split_result(result, normalizer, parsed)
    if isinstance(result, CONTAINERS):
        what = {TupleValue: "tuple", ListValue: "list"}.get(type(result), "dict or namedtuple")
        raise NonScalarOutputError(
            f"{loc}: {parsed.name}() returns a {what}; grad, hvp and hessian need a function "
            "returning one float, jvp, vjp and jacobian one float or one array: return one of "
            "its items, or np.sum(...) or np.concatenate(...) of them; for `return value, aux` "
            "pass has_aux=True to grad"
        )
    if isinstance(result, COMPILE_TIME):
        result = normalizer.operand(result, parsed.node)
    body = tuple(emitter.blocks[0])
    state = None
    if emitter.live is not None:
        returned = {getattr(o, "name", None) for o in [result, *aux_leaves(aux)]}
        state = emitter.live.finish(_names_read(body) | returned)
        program_params += state.params if state is not None else ()
    program = Function(parsed.name, program_params, body, result, parsed.filename, loc, aux)
    if emitter.live is not None:
        arrays = emitter.live.by_param.items()
        refuse_module_array_updates(
            program, {p: r.label for p, r in arrays if isinstance(r.value, np.ndarray)}
        )
    return program, state


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
