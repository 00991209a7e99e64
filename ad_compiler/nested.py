"""Functions called by the differentiated function, inlined where they are called: helpers
defined at module level, and `def`s and lambdas inside the function (closures).

A nested function reads the enclosing function's variables as they are when it is called
(Python's late binding); its own assignments stay its own. Defaults are evaluated where the
function is defined, as Python does.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from typing import Any

from .calls import is_library
from .frontend import parse_function
from .ir import Var
from .values import LocalFunction, RecordValue, TupleValue


class NestedFunctions:
    """Mixed into the normalizer: calls of the user's own functions."""

    def is_users_function(self, func: ast.expr) -> bool:
        """Whether a call's callee is a function of the user's (inlined), not a library's."""
        if isinstance(func, ast.Name) and isinstance(self.env.get(func.id), LocalFunction):
            return True
        obj = self.callee(func)
        return inspect.isfunction(obj) and not is_library(obj)

    def local_function(self, node: ast.FunctionDef | ast.Lambda) -> LocalFunction:
        if isinstance(node, ast.Lambda):
            body = [ast.copy_location(ast.Return(value=node.body), node.body)]
            node = ast.copy_location(
                ast.FunctionDef(
                    name="<lambda>",
                    args=node.args,
                    body=body,
                    decorator_list=[],
                    returns=None,
                    type_params=[],
                ),
                node,
            )
        elif node.decorator_list:
            raise self.error(
                node, "decorated nested functions are not supported", "remove the decorator"
            )
        args = node.args
        positional = args.posonlyargs + args.args
        defaults = {}
        for param, default in zip(
            positional[len(positional) - len(args.defaults) :], args.defaults
        ):
            defaults[param.arg] = self.expr(default)
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                defaults[param.arg] = self.expr(default)
        return LocalFunction(node, self, defaults, self.comprehension_reads(node))

    def comprehension_reads(self, node: ast.FunctionDef) -> tuple[tuple[str, object], ...]:
        """The variables of the comprehensions around a def (or lambda) that its body reads,
        each with the comprehension it belongs to (names the body binds itself aside)."""
        names = self.comprehension_names
        if not names:
            return ()
        own = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        own |= _stored_outside_scopes(node.body)
        loads = set().union(*(_free_loads(stmt, frozenset()) for stmt in node.body))
        return tuple((name, names[name]) for name in sorted(loads - own) if name in names)

    def refuse_late_binding(self, local: LocalFunction) -> None:
        """A function made in a comprehension reading the comprehension's variable, called
        after that comprehension (or in another with a variable of the same name): Python gives
        it the variable's last value (`[lambda: x[i] for i in range(3)]` are three times x[2]).
        Refused, with the rewrite that binds each its own value. (Called in the comprehension,
        it reads the variable's current value, as Python does.)"""
        scope = local.definer.comprehension_names
        gone = [name for name, run in local.comprehension_reads if scope.get(name) is not run]
        if gone:
            name = gone[0]
            what = "a lambda" if local.node.name == "<lambda>" else f"{local.node.name}()"
            raise self.error(
                local.node,
                f"{what} made in a comprehension reads its variable {name}, and is called after "
                f"the comprehension: Python gives every such function the last value of {name}",
                f"bind each its own value: `lambda {name}={name}: ...`",
            )

    def bind_arguments(
        self,
        name: str,
        params: ast.arguments,
        defaults: dict[str, Any],
        node: ast.Call,
        receiver: Any = None,
    ) -> dict[str, Any]:
        """The values of a called function's parameters, as Python binds a call (a method's
        first parameter bound to `receiver`)."""
        positional = [a.arg for a in params.posonlyargs + params.args]
        keyword_only = [a.arg for a in params.kwonlyargs]
        values: dict[str, Any] = {}
        if receiver is not None:
            values[positional[0]] = receiver
            positional = positional[1:]
        given = self.positional_values(node)
        if len(given) > len(positional) and not params.vararg:
            raise self.error(node, f"too many arguments for {name}()")
        for param, value in zip(positional, given):
            values[param] = value
        if params.vararg:  # *args: the rest, as a tuple
            values[params.vararg.arg] = TupleValue(tuple(given[len(positional) :]))
        by_keyword = set(positional[len(params.posonlyargs) :]) | set(keyword_only)
        extra_keys, extra_values = [], []
        for key, value in self.keyword_values(node):
            if key not in by_keyword:
                if params.kwarg:  # **kwargs: the rest, as a dict
                    extra_keys.append(key)
                    extra_values.append(value)
                    continue
                raise self.error(node, f"{name}() has no parameter {key} to pass by keyword")
            if key in values:
                raise self.error(node, f"{name}() got two values for {key}")
            values[key] = value
        if params.kwarg:
            values[params.kwarg.arg] = RecordValue(tuple(extra_keys), tuple(extra_values), dict)
        for param in positional + keyword_only:
            if param not in values:
                if param not in defaults:
                    raise self.error(node, f"{name}() needs its argument {param}")
                values[param] = defaults[param]
        for value in values.values():  # the function's parameters now hold these values
            if isinstance(value, Var):
                self.out.temps.discard(value.name)
        return values

    def positional_values(self, node: ast.Call) -> list:
        """A call's positional arguments, `*items` of a list or tuple spread out."""
        values = []
        for arg in node.args:
            if not isinstance(arg, ast.Starred):
                values.append(self.expr(arg))
                continue
            spread = self.expr(arg.value)
            items = self.items_of(spread)
            if isinstance(spread, RecordValue) and not spread.is_dict:
                items = spread.items
            if items is None:
                raise self.error(
                    arg, "*args of a value that is not a list or tuple known at compile time"
                )
            values += list(items)
        return values

    def keyword_values(self, node: ast.Call) -> list[tuple[str, Any]]:
        """A call's keyword arguments, `**options` of a dict spread out."""
        pairs = []
        for kw in node.keywords:
            if kw.arg is not None:
                pairs.append((kw.arg, self.expr(kw.value)))
                continue
            spread = self.expr(kw.value)
            if not (isinstance(spread, RecordValue) and spread.is_dict):
                raise self.error(node, "**kwargs of a value that is not a dict")
            if not all(isinstance(k, str) for k in spread.keys):
                raise self.error(node, "**kwargs of a dict whose keys are not all strings")
            pairs += list(zip(spread.keys, spread.items))
        return pairs

    def inline(self, fn: Any, node: ast.Call, receiver: Any = None) -> Any:
        """A call of a function defined at module level (or a method of `receiver`)."""
        if fn in self.inlining:
            raise self.error(
                node,
                f"recursive call of {fn.__name__}() cannot be differentiated",
                "rewrite the recursion as a loop",
            )
        parsed = parse_function(fn)
        params = parsed.node.args
        positional = [a.arg for a in params.posonlyargs + params.args]
        given = fn.__defaults__ or ()
        defaults = dict(zip(positional[len(positional) - len(given) :], given))
        defaults.update(fn.__kwdefaults__ or {})
        defaults = {k: self.global_value(v, node) for k, v in defaults.items()}
        values = self.bind_arguments(fn.__name__, params, defaults, node, receiver)
        helper = type(self)(parsed, self.out, values, self.copied_params, self.inlining)
        result = helper.function_body()
        self.node = node
        return result

    def inline_local(self, local: LocalFunction, node: ast.Call) -> Any:
        """A call of a `def` or lambda defined inside the function."""
        if local.node in self.inlining:
            raise self.error(
                node,
                f"recursive call of {local.node.name}() cannot be differentiated",
                "rewrite the recursion as a loop",
            )
        self.refuse_late_binding(local)
        values = self.bind_arguments(local.node.name, local.node.args, local.defaults, node)
        definer = local.definer
        own = _assigned(local.node.body) | set(values)
        env = {k: v for k, v in definer.env.items() if not k.startswith("__") and k not in own}
        env.update(values)
        helper = type(self)(
            dataclasses.replace(definer.parsed, node=local.node),
            self.out,
            env,
            self.copied_params,
            self.inlining + (local.node,),
        )
        # The enclosing function's variables that have no value now: Python would raise, not
        # read a module-level variable of the same name.
        enclosing = _assigned(definer.parsed.node.body) | {
            a.arg for a in definer.parsed.node.args.args + definer.parsed.node.args.kwonlyargs
        }
        for name in enclosing - set(env) - own:
            helper.undefined[name] = definer.undefined.get(
                name, f"{name} has no value yet when {local.node.name}() is called"
            )
        result = helper.function_body()
        self.node = node
        return result


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _free_loads(node: ast.AST, bound: frozenset[str]) -> set[str]:
    """The names read in `node` that the comprehensions and lambdas inside it do not bind
    themselves (a comprehension's first iterable is read outside it, as Python does)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in bound else set()
    if isinstance(node, _COMPREHENSIONS):
        found: set[str] = set()
        inner = bound
        for k, generator in enumerate(node.generators):
            found |= _free_loads(generator.iter, bound if k == 0 else inner)
            inner = inner | {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
            for condition in generator.ifs:
                found |= _free_loads(condition, inner)
        parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        return found.union(*(_free_loads(part, inner) for part in parts))
    if isinstance(node, (ast.Lambda, ast.FunctionDef)):
        params = frozenset(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
        body = node.body if isinstance(node.body, list) else [node.body]
        return set().union(*(_free_loads(part, bound | params) for part in body))
    return set().union(*(_free_loads(child, bound) for child in ast.iter_child_nodes(node)))


def _stored_outside_scopes(stmts: list[ast.stmt]) -> set[str]:
    """Names the statements assign, not counting those that comprehensions and nested
    functions inside them bind for themselves."""
    names: set[str] = set()
    todo: list[ast.AST] = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, (ast.Lambda, ast.FunctionDef)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _assigned(stmts: list[ast.stmt]) -> set[str]:
    """Names a function body assigns (its local variables), nested functions' excluded."""
    names: set[str] = set()
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            continue  # their loop variables are their own
        todo.extend(ast.iter_child_nodes(node))
    return names
