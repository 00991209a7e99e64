"""See backpropagation: run a function's forward and reverse sweeps on concrete values, node by
node, the way the lecture draws the circuit.

`trace(f, *args)` interprets the normalized program (one operation per node) on the given
arguments, recording every node's forward value, then walks the nodes backwards applying the same
derivative rules the compiler uses: for each node, the upstream gradient arriving, the local
gradient of each input, and the gradient passed on (upstream x local). The result prints as a
table, converts to a Graphviz DOT circuit (values above the wires, gradients below), and shows
itself in Jupyter. Nodes whose gradient vanishes, explodes, or becomes NaN/inf are flagged.
"""

from __future__ import annotations

import functools
import inspect
import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import runtime
from .activity import Aliases, check_aliasing
from .adjoint_analysis import masked_values
from .codegen import format_template
from .errors import ADCompilerError
from .frontend import parse_function
from .inplace import check_augmented
from .ir import Assign, Block, Const, Function, If, Loop, Operand, Var
from .kinds import infer_kinds, kind_of_value
from .normalize import normalize
from .rules import RULES, IndexedUpdate
from .typing_aliases import Wrt
from .whole_numbers import not_float_error

# Flags for the health column.
VANISHING, EXPLODING = 1e-6, 1e6


# ---------------------------------------------------------------------------------------------
# Evaluating one operation on concrete values, through the rule's own template


@functools.cache
def _compiled(text: str, statement: bool):
    return compile(text, "<ad_compiler.trace>", "exec" if statement else "eval")


def evaluate(op: str, values: list, attrs: dict) -> Any:
    """The result of operation `op` on concrete argument values (a store mutates values[0])."""
    rule = RULES[op]
    template = rule.emit
    if rule.emit_scalar is not None and all(np.ndim(v) == 0 for v in values):
        template = rule.emit_scalar
    if callable(template):
        template = template(len(values), attrs)
    text = format_template(template, len(values), attrs)
    scope = {f"__a{i}": v for i, v in enumerate(values)}
    scope.update(np=np, math=math, rt=runtime)
    statement = rule.mutates is not None and op in ("setitem", "index_add")
    if statement:
        exec(_compiled(text, True), scope)
        return None
    with np.errstate(all="ignore"):
        return eval(_compiled(text, False), scope)


# ---------------------------------------------------------------------------------------------
# The recorded circuit


@dataclass
class Node:
    """One operation as it ran: its inputs (where they came from), its value, its gradients."""

    index: int
    stmt: Assign
    name: str  # the value it defines (for a store: the array written)
    iteration: tuple[int, ...]  # loop iteration numbers around it, () outside loops
    sources: tuple  # per argument: a node index, ("param", name), or ("const", value)
    values: tuple  # per argument: its value
    value: Any
    upstream: Any = None
    local: list = field(default_factory=list)  # per argument: d value / d argument, or None
    passed: list = field(default_factory=list)  # per argument: gradient passed on, or None

    @property
    def line(self) -> int | None:
        return self.stmt.loc.line if self.stmt.loc else None


class _Eager:
    """A VJP builder that computes at once instead of writing statements."""

    def __init__(self, node: Node, g: Any, differentiable: list[bool]) -> None:
        self.env: dict[str, Any] = {}
        for arg, value in zip(node.stmt.args, node.values):
            if isinstance(arg, Var):
                self.env[arg.name] = value
        self.env["__g"], self.env["__out"] = g, node.value
        self.g, self.out = Var("__g"), Var("__out")
        self.stmt = node.stmt
        self._differentiable = differentiable
        self._count = 0

    def needs(self, i: int) -> bool:
        return self._differentiable[i] and i not in RULES[self.stmt.op].nondiff_args

    def value(self, operand: Operand) -> Any:
        return operand.value if isinstance(operand, Const) else self.env[operand.name]

    def kind(self, operand: Operand):
        return kind_of_value(self.value(operand))

    def feeds_elementwise(self, operand: Operand) -> bool:
        return False  # the trace shows every adjoint with its value's full shape

    def emit(self, op: str, *args: Operand, **attrs) -> Var:
        self._count += 1
        name = f"__t{self._count}"
        self.env[name] = evaluate(op, [self.value(a) for a in args], attrs)
        return Var(name)

    def refuse(self, message: str) -> None:
        raise ADCompilerError(message)


class Trace:
    """The forward and reverse sweeps of one call, node by node."""

    def __init__(self, fn: Callable, args: tuple, wrt: tuple[str, ...] | None = None) -> None:
        self.function = fn
        parsed = parse_function(fn)
        self.program: Function = normalize(parsed)
        # NumPy scalars: a division by zero gives inf, as in the gradient program.
        args = tuple(np.float64(a) if type(a) is float else a for a in args)
        self.params = dict(zip(self.program.params, args))
        if len(args) != len(self.program.params):
            raise ADCompilerError(
                f"{fn.__name__}() takes {len(self.program.params)} arguments, got {len(args)}"
            )
        kinds = infer_kinds(self.program, {p: kind_of_value(v, p) for p, v in self.params.items()})
        check_augmented(self.program, kinds)
        check_aliasing(self.program, Aliases(self.program, kinds))
        self.wrt = (
            tuple(wrt)
            if wrt is not None
            else tuple(p for p, v in self.params.items() if np.asarray(v).dtype.kind == "f")
        )
        self.nodes: list[Node] = []
        self._masked = masked_values(self.program)
        self._env: dict[str, tuple[Any, Any]] = {
            p: (v, ("param", p)) for p, v in self.params.items()
        }
        self._block(self.program.body, ())
        result = self.program.result
        self.value = self._operand(result)[0]
        self.grads: dict[str, Any] = {}
        self._reverse(self._operand(result)[1])

    # -- forward -------------------------------------------------------------------------------

    def _operand(self, o: Operand) -> tuple[Any, Any]:
        if isinstance(o, Const):
            return o.value, ("const", o.value)
        return self._env[o.name]

    def _block(self, block: Block, iteration: tuple[int, ...]) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                self._assign(stmt, iteration)
            elif isinstance(stmt, If):
                taken = bool(self._operand(stmt.cond)[0])
                self._block(stmt.body if taken else stmt.orelse, iteration)
                for phi in stmt.phis:
                    self._env[phi.name] = self._operand(phi.first if taken else phi.second)
            else:
                self._loop(stmt, iteration)

    def _assign(self, stmt: Assign, iteration: tuple[int, ...]) -> None:
        pairs = [self._operand(a) for a in stmt.args]
        values = [v for v, _ in pairs]
        if stmt.op == "setitem":
            # Record a store as a new version of the array: the trace keeps every version.
            array = np.array(values[0], copy=True)
            evaluate("setitem", [array] + values[1:], dict(stmt.attrs))
            name, value = stmt.args[0].name, array
        else:
            name, value = stmt.target, evaluate(stmt.op, values, dict(stmt.attrs))
        node = Node(
            len(self.nodes), stmt, name, iteration, tuple(s for _, s in pairs), tuple(values), value
        )
        self.nodes.append(node)
        self._env[name] = (value, node.index)

    def _loop(self, loop: Loop, iteration: tuple[int, ...]) -> None:
        for phi in loop.phis:
            self._env[phi.name] = self._operand(phi.first)
        if loop.is_range:
            bounds = [int(self._operand(o)[0]) for o in (loop.start, loop.stop, loop.step)]
            steps = iter(range(*bounds))
        count = 0
        while True:
            if loop.is_range:
                index = next(steps, None)
                if index is None:
                    break
                self._env[loop.index] = (index, ("const", index))
            else:
                self._block(loop.test, iteration + (count,))
                if not self._operand(loop.cond)[0]:
                    break
            self._block(loop.body, iteration + (count,))
            updates = {phi.name: self._operand(phi.second) for phi in loop.phis}
            self._env.update(updates)
            count += 1
            if loop.exit_flag and self._env[loop.exit_flag][0]:
                break

    # -- reverse -------------------------------------------------------------------------------

    def _reverse(self, result_source: Any) -> None:
        adjoints: dict[Any, Any] = {}
        if isinstance(result_source, int) or result_source[0] == "param":
            adjoints[result_source] = 1.0
        for node in reversed(self.nodes):
            g = adjoints.pop(node.index, None)
            if g is None:
                continue
            node.upstream = g
            node.local = [None] * len(node.sources)
            node.passed = [None] * len(node.sources)
            if node.stmt.op == "setitem":
                self._reverse_store(node, g, adjoints)
                continue
            rule = RULES[node.stmt.op]
            if rule.vjp is None:
                continue
            differentiable = [self._carries(s, v) for s, v in zip(node.sources, node.values)]
            builder = _Eager(node, g, differentiable)
            contributions = rule.vjp(builder, node.stmt)
            unit_builder, unit = None, None
            if np.ndim(node.value) == 0:  # a scalar node: its local gradients are numbers
                unit_builder = _Eager(node, 1.0, differentiable)
                unit = rule.vjp(unit_builder, node.stmt)
            for i, c in enumerate(contributions):
                if c is None or not differentiable[i]:
                    continue
                passed = self._contribution(builder, node, i, c, rule.broadcasting)
                if rule.broadcasting and node.name in self._masked:
                    # As in the gradient program: where np.where did not select this value,
                    # nothing passes back, even where the local gradient is inf (sqrt at 0).
                    passed = runtime.sum_to(
                        np.where(np.asarray(g) == 0, 0.0, builder.value(c)), node.values[i]
                    )
                node.passed[i] = passed
                if unit is not None and unit[i] is not None and np.ndim(node.values[i]) == 0:
                    node.local[i] = self._contribution(
                        unit_builder, node, i, unit[i], rule.broadcasting
                    )
                self._add(adjoints, node.sources[i], passed)
        for name in self.wrt:
            value = self.params[name]
            grad = adjoints.get(("param", name))
            self.grads[name] = (
                grad
                if grad is not None
                else (np.zeros_like(value, dtype=float) if isinstance(value, np.ndarray) else 0.0)
            )

    def _carries(self, source: Any, value: Any) -> bool:
        if isinstance(source, tuple) and source[0] == "const":
            return False
        if isinstance(source, tuple) and source[0] == "param" and source[1] not in self.wrt:
            return False
        return np.asarray(value).dtype.kind == "f"

    def _contribution(self, builder: _Eager, node: Node, i: int, c: Any, broadcasting: bool) -> Any:
        if isinstance(c, IndexedUpdate):
            target = np.zeros_like(np.asarray(node.values[i], dtype=float))
            value = builder.value(c.value) if isinstance(c.value, (Var, Const)) else c.value
            index = [builder.value(a) for a in c.index_args]
            evaluate("index_add", [target, value] + index, {"index": c.structure})
            return target
        value = builder.value(c)
        if broadcasting:
            value = runtime.sum_to(value, node.values[i])
        return value

    def _reverse_store(self, node: Node, g: Any, adjoints: dict) -> None:
        structure = dict(node.stmt.attrs)["index"]
        index = list(node.values[2:])
        piece = evaluate("getitem", [g] + index, {"index": structure})
        if self._carries(node.sources[1], node.values[1]):
            node.passed[1] = runtime.sum_to(np.array(piece, copy=True), node.values[1])
            self._add(adjoints, node.sources[1], node.passed[1])
        rest = np.array(g, copy=True)
        evaluate("setitem", [rest, 0.0] + index, {"index": structure})
        node.passed[0] = rest
        self._add(adjoints, node.sources[0], rest)

    @staticmethod
    def _add(adjoints: dict, source: Any, value: Any) -> None:
        if isinstance(source, tuple) and source[0] == "const":
            return
        if source in adjoints:
            adjoints[source] = adjoints[source] + value
        else:
            adjoints[source] = value

    # -- presentation --------------------------------------------------------------------------

    def flags(self, node: Node) -> list[str]:
        """Health of a node's gradient: zero, nan, inf, vanishing, exploding."""
        out: list[str] = []
        if node.upstream is None:
            return out
        up = _size(node.upstream)
        passed = [_size(p) for p in node.passed if p is not None]
        every = [node.upstream] + [p for p in node.passed if p is not None]
        if any(np.any(np.isnan(np.asarray(v, dtype=float))) for v in every):
            out.append("nan")
        elif any(np.any(np.isinf(np.asarray(v, dtype=float))) for v in every):
            out.append("inf")
        elif (
            passed
            and up > 0
            and all(p == 0 for p in passed)
            and RULES[node.stmt.op].vjp is not None
        ):
            out.append("zero")
        elif passed and up > 0 and max(passed) < VANISHING * up:
            out.append("vanishing")
        elif passed and up > 0 and max(passed) > EXPLODING * up:
            out.append("exploding")
        return out

    def node_text(self, node: Node) -> str:
        """The node as code, e.g. `t5 = np.exp(t4)`."""
        stmt = node.stmt
        rule = RULES[stmt.op]
        template = (
            rule.emit_scalar
            if rule.emit_scalar is not None and all(np.ndim(v) == 0 for v in node.values)
            else rule.emit
        )
        if callable(template):
            template = template(len(stmt.args), dict(stmt.attrs))
        if template.startswith("rt."):  # a runtime helper for numbers: show NumPy's spelling
            template = rule.emit if isinstance(rule.emit, str) else template
        args = [_operand_text(a) for a in stmt.args]
        text = format_template(template, len(args), dict(stmt.attrs))
        for i in reversed(range(len(args))):
            text = text.replace(f"__a{i}", args[i])
        return text if stmt.target is None else f"{stmt.target} = {text}"

    def table(self, full: bool = False, unfold: bool = False) -> str:
        from .tracefmt import format_table

        return format_table(self, full=full, unfold=unfold)

    def to_dot(self) -> str:
        from .tracefmt import to_dot

        return to_dot(self)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<trace of {self.function.__name__}: {len(self.nodes)} nodes>"

    def _repr_svg_(self) -> str | None:
        try:
            return render(self.to_dot(), "svg").decode()
        except (OSError, subprocess.CalledProcessError):
            return None

    def _repr_html_(self) -> str:
        """The circuit drawn (when Graphviz is installed) above the table."""
        import html

        svg = self._repr_svg_() or ""
        return f"{svg}<pre>{html.escape(self.table())}</pre>"


def _size(value: Any) -> float:
    return float(np.linalg.norm(np.ravel(np.asarray(value, dtype=float))))


def _operand_text(o: Operand) -> str:
    return o.name if isinstance(o, Var) else repr(o.value)


def render(dot: str, fmt: str) -> bytes:
    """Run Graphviz's `dot` on DOT text; OSError when Graphviz is not installed."""
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True, check=True, timeout=60
        )
    except FileNotFoundError:
        raise OSError(
            "Graphviz's `dot` program is not installed (on Debian/Ubuntu: "
            "apt install graphviz; with conda: conda install graphviz); the DOT "
            "text can still be written with --dot"
        ) from None
    return done.stdout


def trace(f: Callable[..., Any], *args: Any, wrt: Wrt | None = None) -> Trace:
    """Run f's forward and reverse sweeps at `args`, recording every node (see Trace): the
    forward value, the upstream gradient arriving, the local gradient of each input and the
    gradient passed on, as `ad-compiler trace` prints them.

    `wrt` names the parameters to differentiate, by position or name (default: those of a
    function decorated with `@grad`, else every parameter, as `ad-compiler trace` does). A
    differentiated argument must be a float or an array of floats: a whole number (`3`, an
    integer array) raises GradientInputError saying to pass `3.0` or to leave it out of `wrt`,
    as `grad` does; a non-differentiated one may be anything the function takes.

    >>> import numpy as np
    >>> from ad_compiler import trace
    >>> def neuron(w, x):
    ...     return 1.0 / (1.0 + np.exp(-(w * x)))
    >>> t = trace(neuron, 2.0, -1.0)
    >>> print(t.table())
    Trace of neuron(w=2.00, x=-1.00)
    forward values; then, backwards: upstream gradient x local gradient = gradient passed on
    line  node               value  upstream  local              passes on          flags
    ----  -----------------  -----  --------  -----------------  -----------------  -----
    2     t1 = w * x         -2.00  0.10      w: -1.00, x: 2.00  w: -0.10, x: 0.21
    2     t2 = -t1           2.00   -0.10     t1: -1.00          t1: 0.10
    2     t3 = np.exp(t2)    7.39   -0.01     t2: 7.39           t2: -0.10
    2     t4 = 1.0 + t3      8.39   -0.01     t3: 1.00           t3: -0.01
    2     result = 1.0 / t4  0.12   1.00      t4: -0.01          t4: -0.01
    result: 0.12
    d result / d w = -0.10
    d result / d x = 0.21
    >>> float(t.grads["w"])  # the same as grad(neuron)(2.0, -1.0)
    -0.1049935854035065
    >>> def powers(x, n):
    ...     return x**n
    >>> trace(powers, 2.0, 3, wrt="x").grads
    {'x': np.float64(12.0)}
    >>> trace(powers, 2.0, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.GradientInputError: powers() ... the int 3: pass 3.0 (or float(n)), ...
    """
    fn = getattr(f, "__wrapped__", f)
    names = list(inspect.signature(fn).parameters)
    if wrt is None:
        wrt = getattr(f, "wrt", None) or tuple(names)  # @grad's own wrt, else every parameter
    if not isinstance(wrt, (tuple, list)):
        wrt = (wrt,)
    wrt = tuple(names[w] if isinstance(w, int) else w for w in wrt)
    given = dict(zip(names, args))
    floats = [w for w in wrt if w in given and _float_kind(given[w])]
    for name in wrt:
        if name in given and not _float_kind(given[name]):
            raise not_float_error(fn.__name__, name, given[name], floats)
    return Trace(fn, args, wrt)


def _float_kind(value: Any) -> bool:
    """A float, a NumPy float or an array of floats: what can be differentiated."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, (float, np.floating))
