"""Calls while normalizing: NumPy and math functions through the rule tables (their arguments
bound as NumPy binds them), builtins, `np.array` of lists, and the user's own functions (inlined,
nested.py).
"""

from __future__ import annotations

import ast
import functools
import inspect
from typing import Any

import numpy as np

from .custom import CustomVJP
from .errors import NoGradientRuleError, UnsupportedSyntaxError
from .frontend import MISSING
from .ir import Const, Operand, Var
from .rules import METHODS, CallSpec, call_spec
from .rules.conversions import dtype_name
from .values import ListValue, LocalFunction, PyObject, RecordValue, TupleValue

# Builtins with no rule, and what to write instead (their results carry no gradient, but the
# generators they consume one item at a time are not supported).
_BUILTIN_REWRITES = {
    any: "write `sum(1 for ... if c) > 0`, or np.any(...) of an array",
    all: "write `sum(1 for ... if not c) == 0`, or np.all(...) of an array",
    next: "write a loop with a `break` at the first item",
}


class Calls:
    """Mixed into the normalizer: function and method calls."""

    # -- calls ---------------------------------------------------------------------------------

    def callee(self, func: ast.expr) -> Any:
        """The Python object a call refers to, when it is not a method of an array."""
        try:
            value = self.expr(func)
        except UnsupportedSyntaxError:
            return MISSING
        return value.obj if isinstance(value, PyObject) else MISSING

    def call(self, node: ast.Call) -> Any:
        spreads = any(isinstance(a, ast.Starred) for a in node.args) or any(
            kw.arg is None for kw in node.keywords
        )
        if spreads and not self.is_users_function(node.func):
            # (a function of the user's takes f(*args, **options): nested.py spreads them)
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise self.error(
                    node,
                    "*args in a call cannot be differentiated",
                    "pass the arguments one by one",
                )
            raise self.error(
                node,
                "**kwargs in a call cannot be differentiated",
                "pass the keyword arguments one by one",
            )
        func = node.func
        if isinstance(func, ast.Attribute):
            base = self.expr(func.value)
            if isinstance(base, (ListValue, TupleValue, RecordValue)):
                return self.list_method(node)
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
        if isinstance(target, LocalFunction):
            return self.inline_local(target, node)
        if not isinstance(target, PyObject):
            raise self.error(node, f"{ast.unparse(func)} is not a function")
        obj = target.obj
        if isinstance(obj, functools.partial):
            return self.partial_call(target, node)
        if isinstance(obj, CustomVJP):
            return self.custom_call(obj, node)
        if obj in (sum, max, min) and len(node.args) in (1, 2) and not node.keywords:
            one = obj is sum or len(node.args) == 1  # max(a, b) is below
            reduced = self.builtin_reduction(obj, node) if one else None
            if reduced is not None:
                return reduced
        rewrite = next((text for f, text in _BUILTIN_REWRITES.items() if obj is f), None)
        if rewrite is not None:  # (by identity: a callable object may have no hash)
            raise self.error(node, f"the builtin {obj.__name__}() is not supported", rewrite)
        if is_library(obj) and any(isinstance(a, ast.GeneratorExp) for a in node.args):
            raise self.error(
                node,
                f"{ast.unparse(func)} of a generator (NumPy 2 refuses it; NumPy 1 makes an "
                "object array or calls Python's sum)",
                "use sum(...) of the generator, or pass a list: [... for ...]",
            )
        if obj is dict:
            return self.dict_call(node)
        if obj is sorted and len(node.args) == 1:
            items = self.peek_items(node.args[0])
            if items is not None:
                return self.new_list(self.sorted_items(items, node))
        if obj in (list, tuple) and len(node.args) == 1 and not node.keywords:
            arg = node.args[0]
            value = self.comprehension(arg) if isinstance(arg, ast.GeneratorExp) else self.expr(arg)
            items = self.items_of(value)
            if items is None and isinstance(value, RecordValue):
                items = value.keys if value.is_dict else value.items
                items = tuple(Const(k) for k in items) if value.is_dict else items
            if items is None:
                raise self.error(node, f"{obj.__name__}() of this value is not supported")
            return self.new_list(items) if obj is list else TupleValue(items)
        literal = node.args and isinstance(node.args[0], (ast.List, ast.Tuple, ast.GeneratorExp))
        if obj is np.asarray and len(node.args) == 1 and not literal:
            # np.asarray of an array is that array (not a copy, as np.array makes)
            value = self.expr(node.args[0])
            if isinstance(value, Var):
                if not node.keywords:
                    return value  # the same array, as `y = x` binds it
                if _only_dtype(node):
                    dtype = self.dtype(self.expr(node.keywords[0].value), ast.unparse(func), node)
                    operand = self.operand(value, node.args[0])
                    return self.emit("asarray", operand, attrs=(("dtype", dtype.value),))
        if obj in (np.array, np.asarray) and len(node.args) == 1 and not node.keywords:
            return self.array_literal(node.args[0])
        if obj in (np.array, np.asarray) and len(node.args) == 1 and _only_dtype(node):
            dtype = self.dtype(self.expr(node.keywords[0].value), ast.unparse(func), node)
            array = self.array_literal(node.args[0])
            return self.emit("astype", array, attrs=(("dtype", dtype.value),))
        if obj is len:
            if len(node.args) != 1:
                raise self.error(node, "len() takes one argument")
            value = self.expr(node.args[0])
            if isinstance(value, Const) and isinstance(value.value, str):
                return Const(len(value.value))
            length = self.container_len(value)
            return length or self.emit("len", self.operand(value, node.args[0]))
        if obj in (max, min) and not node.keywords:
            return self.builtin_extreme(obj, node)
        spec = call_spec(obj)
        if obj is np.einsum and node.args:
            return self.einsum_call(spec, node)
        if spec is not None:
            return self.apply(spec, list(node.args), node)
        if inspect.isfunction(obj) and not is_library(obj):
            return self.inline(obj, node)
        if inspect.ismethod(obj) and inspect.isfunction(obj.__func__) and not is_library(obj):
            # `self.predict(x)` in a method: the object's own attributes read live too
            base = self.expr(func.value) if isinstance(func, ast.Attribute) else None
            if not (isinstance(base, PyObject) and base.obj is obj.__self__):
                base = PyObject(obj.__self__)
            return self.inline(obj.__func__, node, base)
        if _is_number_type(obj) and len(node.args) == 1 and not node.keywords:
            # np.int64(a), np.float32(x): a conversion, as x.astype(np.int64) is
            value = self.operand(self.expr(node.args[0]), node.args[0])
            return self.emit("astype", value, attrs=(("dtype", dtype_name(obj)),))
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

    def partial_call(self, target: PyObject, node: ast.Call) -> Any:
        """A call of a `functools.partial` made outside the function (`_dot =
        partial(np.einsum, "ij,jk->ik")`): the call of its function with the values it fixes
        first, as Python makes it. The fixed values are read as module-level values are."""
        fixed = target.obj
        names = {}

        def held(value: Any, path: str) -> ast.Name:
            name = f"__partial{len(self.env)}_{len(names)}"
            if target.live is None:
                names[name] = self.global_value(value, node)
            else:
                key, label, get = target.live

                def get_value(path: str = path) -> Any:
                    return eval(f"p{path}", {"p": get()})  # noqa: S307 (a fixed path)

                names[name] = self.live_value(value, node, (key + (path,), label + path, get_value))
            return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)

        func = held(fixed.func, ".func")
        args = [held(v, f".args[{i}]") for i, v in enumerate(fixed.args)]
        keywords = [
            ast.keyword(arg=k, value=held(v, f".keywords[{k!r}]"))
            for k, v in fixed.keywords.items()
            if all(kw.arg != k for kw in node.keywords)  # a keyword given again wins
        ]
        call = ast.copy_location(
            ast.Call(func=func, args=args + node.args, keywords=keywords + node.keywords), node
        )
        self.env.update(names)
        try:
            return self.call(call)
        finally:
            for name in names:
                del self.env[name]

    def einsum_call(self, spec: CallSpec, node: ast.Call) -> Operand:
        """np.einsum with subscripts (a string, also a module-level one) or in the sublist
        form, np.einsum(a, [0, 1], b, [1, 2], [0, 2]), spelled as the subscripts it means."""
        values = [self.expr(a) for a in node.args]
        if isinstance(values[0], PyObject) and isinstance(values[0].obj, str):
            values[0] = Const(values[0].obj)
        if isinstance(values[0], Const) and isinstance(values[0].value, str):
            return self.apply(spec, values[:1] + [self.operand(v, node) for v in values[1:]], node)
        if node.keywords:
            raise self.error(node, "np.einsum in the sublist form takes no keyword here")
        output = values.pop() if len(values) % 2 else None
        operands = [self.operand(v, node) for v in values[0::2]]
        inputs = [self.einsum_sublist(v, node) for v in values[1::2]]
        subscripts = ",".join(inputs)
        if output is not None:
            subscripts += "->" + self.einsum_sublist(output, node)
        return self.apply(spec, [Const(subscripts)] + operands, node)

    def einsum_sublist(self, value: Any, node: ast.Call) -> str:
        """[0, 1] as "ab", (Ellipsis, 0) as "...a": NumPy's letters for sublist numbers."""
        items = self.items_of(self.sequence(value))
        letters = []
        for item in items or ():
            item = self.constant(item)
            if isinstance(item, PyObject) and item.obj is Ellipsis or item == Const(Ellipsis):
                letters.append("...")
            elif isinstance(item, Const) and type(item.value) is int and 0 <= item.value < 52:
                letters.append(_EINSUM_LETTERS[item.value])
            else:
                items = None
                break
        if items is None:
            raise self.error(
                node,
                "np.einsum's sublists must be constant lists of numbers 0..51 and Ellipsis",
                "write the subscripts as a string literal: np.einsum('ij,jk->ik', a, b)",
            )
        return "".join(letters)

    def custom_call(self, obj: CustomVJP, node: ast.Call) -> Operand:
        """A function with the user's own gradient rule (custom.py): a primitive."""
        if obj.vjp is None:
            raise self.error(
                node,
                f"{obj.label}() is a custom_vjp function without a rule",
                f"give it one: @{obj.label}.defvjp on a function (g, result, *args)",
                cls=NoGradientRuleError,
            )
        if node.keywords:
            raise self.error(
                node, f"{obj.label}() takes its arguments by position here", "pass them in order"
            )
        args = [self.operand(self.expr(a), a) for a in node.args]
        attrs = (("custom", obj.key), ("version", obj.version))
        return self.emit("custom", *args, attrs=attrs)

    def array_literal(self, node: ast.expr) -> Operand:
        """np.array(...): of a list or tuple, its items stacked along a new first axis
        (numbers, or arrays of one shape; a nested list stacks its rows); of an array, a copy;
        of a number, the number (NumPy's 0-d array, which arithmetic turns into a number)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.stack([self.array_item(e) for e in node.elts])
        if isinstance(node, ast.GeneratorExp):
            raise self.error(
                node,
                "np.array of a generator makes an object array in NumPy",
                "pass a list: np.array([... for ...])",
            )
        value = self.expr(node)
        if self.growing(value) is not None:
            return self.grown_items(self.growing(value))  # already a new array
        value = self.snapshot(value)
        if isinstance(value, TupleValue):
            return self.array_item(value, node)
        return self.emit("array_copy", self.operand(value, node))

    def array_item(self, item: Any, node: ast.AST | None = None) -> Operand:
        """One item of a list given to np.array: itself, or the stack of a nested list."""
        if isinstance(item, (ast.List, ast.Tuple)):
            return self.array_literal(item)
        if isinstance(item, ast.AST):
            node, item = item, self.expr(item)
        item = self.sequence(self.snapshot(item))
        if isinstance(item, TupleValue):
            return self.stack([self.array_item(v, node) for v in item.items])
        return self.operand(item, node)

    def stack(self, items: list[Operand]) -> Operand:
        """np.array of items: of integer (or boolean) literals only, an integer (boolean)
        array, as NumPy makes it; of literals of mixed types, a float array."""
        if all(isinstance(i, Const) for i in items):
            types = {type(i.value) for i in items}
            if types not in ({int}, {bool}):
                items = [Const(float(i.value)) for i in items]
        return self.emit("stack", *items)

    def argument(self, arg: Any, array_like: bool) -> Any:
        """A call's argument; where NumPy takes an array, a tuple or list is that array."""
        if isinstance(arg, (Var, Const)):
            return arg
        if array_like and isinstance(arg, (ast.List, ast.Tuple)):
            return self.array_literal(arg)
        value = self.sequence(self.expr(arg))
        if array_like and isinstance(value, (TupleValue, ListValue)):
            return self.array_item(value, arg)
        return value

    def separate_items(self, arg: Any) -> Any:
        """A sequence of arrays (np.concatenate((a, b))): a list of its items, each an array
        as NumPy converts it; anything but a tuple or list of known items (an array, a list
        of run-time length) as it is."""
        if isinstance(arg, (ast.List, ast.Tuple)) and not any(
            isinstance(e, ast.Starred) for e in arg.elts
        ):
            return [self.array_item(e) for e in arg.elts]
        node = arg if isinstance(arg, ast.AST) else None
        value = self.sequence(self.expr(arg)) if node is not None else arg
        items = None if self.growing(value) is not None else self.items_of(value)
        if items is None:
            return value
        return [self.array_item(v, node) for v in items]

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
            result = self.emit(
                op, result, self.operand(self.expr(arg), arg), attrs=(("builtin", True),)
            )
        return result

    def apply(self, spec: CallSpec, positional: list, node: ast.Call) -> Any:
        """Bind a call's arguments to a spec and emit its operation."""
        values: dict[str, Any] = {}
        extra: list[Operand] = []
        names = list(spec.positions) or list(spec.params) + list(spec.optional) + list(spec.static)
        for i, arg in enumerate(positional):
            if i < len(names) and names[i] == spec.separate:
                values[names[i]] = self.separate_items(arg)
                continue
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
            if kw.arg == spec.separate:
                values[kw.arg] = self.separate_items(kw.value)
                continue
            values[kw.arg] = self.argument(kw.value, kw.arg in spec.array_like)
        operands = []
        attrs = []
        for param in spec.params:
            if param not in values:
                raise self.error(node, f"{spec.name or spec.op}() needs its argument {param}")
            if param == spec.separate and isinstance(values[param], list):
                operands += values[param]
                attrs.append(("items", len(values[param])))
                continue
            operands.append(self.operand(values[param], node))
        if spec.optional:
            given = []
            for param in spec.optional:
                value = values.get(param)
                if value is None or (isinstance(value, Const) and value.value is None):
                    continue
                operands.append(self.operand(value, node))
                given.append(param)
            attrs.append(("given", tuple(given)))
        for param, default in spec.static.items():
            value = values.get(param, Const(default))
            if isinstance(value, ListValue):
                value = self.snapshot(value)  # axes=[0, 2, 1] as NumPy takes it
            value = self.constant(value)
            if param == "dtype":
                value = self.dtype(value, spec.name or spec.op, node)
            if isinstance(value, TupleValue):
                value = self.operand(value, node)
            if not isinstance(value, Const):
                raise self.error(node, f"{param}= must be a constant here")
            attrs.append((param, value.value))
        operands += extra
        count = spec.results(dict(attrs)) if spec.results else 0
        if count:
            # a function returning a tuple (np.linalg.svd): one operation per item, each with
            # its own vector-Jacobian product; the gradient of the whole is their sum
            return TupleValue(
                tuple(
                    self.emit(spec.op, *operands, attrs=tuple(sorted(attrs + [("item", k)])))
                    for k in range(count)
                )
            )
        result = self.emit(spec.op, *operands, attrs=tuple(sorted(attrs)))
        if cast is not None:
            result = self.emit("astype", result, attrs=(("dtype", cast.value),))
        return result

    def dtype(self, value: Any, what: str, node: ast.Call) -> Const:
        """A `dtype=` argument (`float`, `np.float32`, ...) as its canonical NumPy name."""
        if isinstance(value, Const) and value.value is None:
            return value  # the default (float64, as NumPy takes it)
        if isinstance(value, Const) and isinstance(value.value, str):  # dtype="float", "int32"
            name = dtype_name(value.value)
        else:
            name = dtype_name(value.obj) if isinstance(value, PyObject) else None
        if name is None:
            raise self.error(
                node,
                f"{what}() needs a number type as dtype",
                "write float, int, bool, np.float64 or np.float32",
            )
        return Const(name)


# Constructors whose `dtype=` is a conversion of what they make with their default type.
_CAST_AFTER = frozenset(
    ("zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "full", "full_like", "eye")
)


def _is_number_type(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, np.generic) and dtype_name(obj) is not None


def _only_dtype(call: ast.Call) -> bool:
    return [kw.arg for kw in call.keywords] == ["dtype"]


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LIBRARIES = ("numpy", "math", "scipy", "numba", "sympy", "builtins")


def is_library(fn: Any) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return module.split(".")[0] in _LIBRARIES


def is_library_module(value: Any) -> bool:
    """np, math, ...: their numbers (np.pi) are constants, not read at each call."""
    return inspect.ismodule(value) and value.__name__.split(".")[0] in _LIBRARIES
