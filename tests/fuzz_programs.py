"""Random programs for fuzzing ad_compiler, and the harness that checks one of them.

`programs()` is a Hypothesis strategy for `Program`s: plain Python/NumPy source text (helper
functions and a main function returning a float), the main function's name and its arguments.
Programs are built from a typed environment (every variable has a fixed shape: a float, a 1-D or
a 2-D array of small sizes, an int with its known values, or a bool), so every choice Hypothesis
makes, and every choice it shrinks, gives a valid program: shrinking moves each choice towards
the first (simplest) option, never outside the set that fits its context.

What the programs mix and nest: scalar (float and np.float64), 1-D, 2-D, row and column
arguments, and an int argument; module-level constants; `+ - * /`, `**` with small integer
exponents (and `np.power`, `math.pow`, a positive base to a variable exponent), `%` and `//`;
tanh, sin, cos, exp, log, sqrt, arctan, arcsinh, sinh, cosh, log1p, expm1, erf, hypot, arctan2
(math and numpy; exp of bounded values, log and sqrt of positive ones, by construction);
broadcasting (scalars, rows, columns); `np.sum/mean/max/min` with and without
`axis=`/`keepdims=`, as functions and methods; `@`, `np.dot`, `np.matmul`, `.dot`, `np.outer`,
`.T`; index and slice reads (loop indices, negative constants, `None`, reversed and strided
slices, indexing an expression); `np.array([...])` of scalars; `len`, `.shape`, `.size`;
`if`/`elif`/`else`, conditional expressions, `and`/`or`/`not`, chained comparisons, bool
variables; `for` over `range` (also empty, reversed, strided), over arrays, `enumerate` and
`zip`; `while` loops (counted, on a value, `while True` with a `break`); `break` and `continue`
on conditions; early returns; tuple assignment; loop-carried scalars and arrays; in-place writes
into arrays the function creates or copies (`y[i] = ...`, `y[i] += ...`, rows, columns, slices,
scalars into slices, `y += ...`) and into its array arguments; `abs`/`max`/`min`, `np.abs`,
`np.maximum/minimum`, `np.where`; calls to helper functions of the same module (positional and
keyword arguments; helpers may loop, branch, return early and call earlier helpers).

And the Python semantics that are easy to compile into something wrong (issue 11): simultaneous
tuple assignment of loop-carried values with compound right-hand sides (`x, y = c*x - s*y,
s*x + c*y`, Euler steps, `a, b, c = b, c, ...`) and swaps; chained assignment `a = b = v`;
augmented assignment of arrays through another name or a view (`b = a; b += v`, `r = X[0];
r *= 2.0`: changes `a`, `X` in place; the compiler may refuse it at that line instead); `and`/`or`
as values (`s = s or 1.0`; the first operand sometimes exactly 0.0); integer arrays receiving
floats (`p = np.zeros_like(labels); p[i] = 2.5 * x`, truncated) and read back; np.full,
np.full_like, np.linspace and np.arange of differentiated numbers; powers with zero bases and
exponents (argument entries exactly 0.0, `x ** 0`, `x ** i` with a loop index, `0.0 ** y`,
`np.sum(b ** p)` with a 0 entry in b); module constants changed between two calls; helpers
returning tuples (`u, v = step(u, v)` in loops), and helpers ending in a `while True:` left by a
`return`; `np.array([...])` of arrays and of nested lists; reductions of tuples and lists
(`np.sum((x, x + 2.0))`); scratch arrays created in an outer loop and written in a nested one.

Kinks and branches are kept away from: every comparison, `abs`/`max`/`min`/`np.where`, `%`/`//`
and max/min reduction is evaluated, in a plain-Python run of an *instrumented* rendering of the
same program, through a recorder that notes how close it came to its kink or threshold and which
side it took. A sample within `MARGIN` (relative) of one is rejected, and so is one whose
central-difference evaluations take any other side anywhere than the unperturbed run.

The harness that runs a program and checks ad_compiler on it is tests/fuzz_checks.py; `load`
(here) imports the plain program from a module file, as a user's module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

MARGIN = 1e-3  # no comparison or kink closer than this (relative) to its threshold
MAX_VALUE = 1e4  # larger values (or gradients above MAX_GRAD) are rejected as ill-conditioned
MAX_GRAD = 1e5
STEP = 1e-5  # central-difference step; Richardson extrapolation with STEP and STEP / 2

CONSTANTS = ("0.5", "1.0", "2.0", "-0.5", "0.25", "1.5", "-1.0", "3.0", "0.1", "-2.0", "GAIN",
             "OFFSET")
MODULE_CONSTANTS = "GAIN = 0.75\nOFFSET = -0.25"
THRESHOLDS = ("0.0", "0.5", "-0.5", "1.0", "-1.0", "0.25", "2.0", "-2.0")
# Module constants changed between two calls (the second call must see the new values).
CHANGED_CONSTANTS = (("GAIN", 1.25), ("OFFSET", 0.5))
# `render(inst)`: inst is False (the plain program), True (instrumented) or AUTOGRAD (the plain
# program spelled so that autograd can run it: no `.copy()`, `.dot()`, `//` on its boxes).
AUTOGRAD = "autograd"


# -- the programs' syntax ----------------------------------------------------------------------
#
# Expression nodes render to fully parenthesized text, either plain (what the compiler sees) or
# instrumented (comparisons and kinks routed through the recorder `_rt`).


class Node:
    def render(self, inst: bool) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Node):
    text: str

    def render(self, inst: bool) -> str:
        return self.text


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        a = self.a.render(inst)
        if self.op == "**" and a.startswith("-"):  # `-2.0 ** 2` is -(2.0 ** 2)
            a = f"({a})"
        return f"({a} {self.op} {self.b.render(inst)})"


@dataclass(frozen=True)
class Neg(Node):
    a: Node

    def render(self, inst: bool) -> str:
        return f"(-{self.a.render(inst)})"


def _arguments(args: tuple, kwargs: tuple, inst: bool) -> str:
    parts = [a.render(inst) for a in args]
    parts += [f"{k}={v.render(inst) if isinstance(v, Node) else v}" for k, v in kwargs]
    return ", ".join(parts)


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple = ()
    kwargs: tuple = ()

    def render(self, inst: bool) -> str:
        if inst == AUTOGRAD and self.func == "np.copy":
            return f"({self.args[0].render(inst)} * 1.0)"
        if inst == AUTOGRAD and self.func == "np.full_like":  # autograd's drops the gradient
            return f"np.full(np.shape({self.args[0].render(inst)}), {self.args[1].render(inst)})"
        return f"{self.func}({_arguments(self.args, self.kwargs, inst)})"


@dataclass(frozen=True)
class Method(Node):
    base: Node
    name: str
    args: tuple = ()
    kwargs: tuple = ()

    def render(self, inst: bool) -> str:
        if inst == AUTOGRAD and self.name == "copy":
            return f"({self.base.render(inst)} * 1.0)"
        if inst == AUTOGRAD and self.name == "dot":
            return f"np.dot({self.base.render(inst)}, {self.args[0].render(inst)})"
        return f"{self.base.render(inst)}.{self.name}({_arguments(self.args, self.kwargs, inst)})"


@dataclass(frozen=True)
class Attr(Node):
    base: Node
    name: str

    def render(self, inst: bool) -> str:
        return f"{self.base.render(inst)}.{self.name}"


@dataclass(frozen=True)
class Sub(Node):
    base: Node
    index: str

    def render(self, inst: bool) -> str:
        return f"{self.base.render(inst)}[{self.index}]"


@dataclass(frozen=True)
class IfExp(Node):
    cond: Node
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        return f"({self.a.render(inst)} if {self.cond.render(inst)} else {self.b.render(inst)})"


@dataclass(frozen=True)
class Items(Node):
    """A list display `[a, b, c]` (the argument of np.array)."""

    items: tuple

    def render(self, inst: bool) -> str:
        return f"[{', '.join(item.render(inst) for item in self.items)}]"


@dataclass(frozen=True)
class Tup(Node):
    """`(a, b, ...)`: a tuple display (returned, unpacked, or given to a reduction)."""

    items: tuple

    def render(self, inst: bool) -> str:
        return f"({', '.join(item.render(inst) for item in self.items)})"


@dataclass(frozen=True)
class Arange(Node):
    """`np.arange(start, start + (k - 0.5) * step, step)`: k entries whatever the rounding of
    the stop; the start carries a gradient (autograd has no rule: start + step * arange(k))."""

    start: Node
    k: int
    step: str  # "1.0" (rendered without a step) or "0.5"

    def render(self, inst: bool) -> str:
        start = self.start.render(inst)
        if inst == AUTOGRAD:
            return f"({start} + {self.step} * np.arange({self.k}))"
        span = (self.k - 0.5) * float(self.step)
        step = "" if self.step == "1.0" else f", {self.step}"
        return f"np.arange({start}, {start} + {span}{step})"


@dataclass(frozen=True)
class Truth(Node):
    """`a or b`, `a and b` used as a value (floats): which operand is the value depends on
    whether `a` is exactly zero; the instrumented rendering records that."""

    id: int
    op: str
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        a, b = self.a.render(inst), self.b.render(inst)
        if inst is True:
            a = f"_rt.truth({self.id}, {a})"
        return f"({a} {self.op} {b})"


@dataclass(frozen=True)
class Truncated(Node):
    """A float about to be stored into an integer array (NumPy truncates it): the instrumented
    rendering records how close it is to an integer (where the truncation jumps)."""

    id: int
    a: Node

    def render(self, inst: bool) -> str:
        a = self.a.render(inst)
        return f"_rt.truncated({self.id}, {a})" if inst is True else a


@dataclass(frozen=True)
class Compare(Node):
    id: int
    op: str
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        a, b = self.a.render(inst), self.b.render(inst)
        if inst is True:
            return f"_rt.cmp({self.id}, {self.op!r}, {a}, {b})"
        return f"({a} {self.op} {b})"


@dataclass(frozen=True)
class Chain(Node):
    """`lo < a < hi` (a evaluated once in the plain rendering)."""

    id: int
    lo: Node
    a: Node
    hi: Node
    op: str

    def render(self, inst: bool) -> str:
        lo, a, hi = self.lo.render(inst), self.a.render(inst), self.hi.render(inst)
        if inst is True:
            return (f"(_rt.cmp({self.id}, {self.op!r}, {lo}, {a}) and "
                    f"_rt.cmp({self.id}, {self.op!r}, {a}, {hi}))")
        return f"({lo} {self.op} {a} {self.op} {hi})"


@dataclass(frozen=True)
class Modulo(Node):
    id: int
    op: str  # % or //
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        a, b = self.a.render(inst), self.b.render(inst)
        if inst is True:
            return f"_rt.modulo({self.id}, {self.op!r}, {a}, {b})"
        if inst == AUTOGRAD and self.op == "//":  # autograd has no `//` on its boxes
            return f"np.floor({a} / {b})"
        return f"({a} {self.op} {b})"


@dataclass(frozen=True)
class BoolOp(Node):
    op: str
    a: Node
    b: Node

    def render(self, inst: bool) -> str:
        return f"({self.a.render(inst)} {self.op} {self.b.render(inst)})"


@dataclass(frozen=True)
class Not(Node):
    a: Node

    def render(self, inst: bool) -> str:
        return f"(not {self.a.render(inst)})"


@dataclass(frozen=True)
class Kink(Node):
    """abs, max, min, np.abs, np.maximum, np.minimum: recorded when instrumented."""

    id: int
    func: str
    args: tuple

    def render(self, inst: bool) -> str:
        args = _arguments(self.args, (), inst)
        if inst is True:
            return f"_rt.kink({self.id}, {self.func}, {args})"
        return f"{self.func}({args})"


@dataclass(frozen=True)
class Reduce(Node):
    id: int
    func: str  # sum, mean, max, min
    arg: Node
    kwargs: tuple
    method: bool

    def render(self, inst: bool) -> str:
        arg = self.arg.render(inst)
        if inst == AUTOGRAD and isinstance(self.arg, (Tup, Items)):  # boxes and arrays mixed
            stacked = Call("np.array", (Items(self.arg.items),))
            return f"np.{self.func}({_arguments((stacked,), self.kwargs, inst)})"
        if inst is True and self.func in ("max", "min"):
            kwargs = "".join(f", {k}={v}" for k, v in self.kwargs)
            return f"_rt.reduce({self.id}, {self.func!r}, {arg}{kwargs})"
        if self.method:
            return f"{arg}.{self.func}({_arguments((), self.kwargs, inst)})"
        return f"np.{self.func}({_arguments((self.arg,), self.kwargs, inst)})"


# Statements.


@dataclass
class Assign:
    target: str
    value: Node
    op: str = ""  # "+" for +=, ...


@dataclass
class If:
    cond: Node
    body: list
    orelse: list = field(default_factory=list)


@dataclass
class For:
    target: str
    iter: str
    body: list


@dataclass
class While:
    cond: Node
    body: list


@dataclass
class Jump:
    word: str  # break or continue


@dataclass
class Return:
    value: Node


@dataclass
class FunctionDef:
    name: str
    params: tuple[str, ...]
    body: list


def _render_block(stmts: list, inst: bool, indent: str, out: list[str]) -> None:
    if not stmts:
        out.append(indent + "pass")
    for s in stmts:
        if isinstance(s, Assign):
            out.append(f"{indent}{s.target} {s.op}= {s.value.render(inst)}")
        elif isinstance(s, If):
            out.append(f"{indent}if {s.cond.render(inst)}:")
            _render_block(s.body, inst, indent + "    ", out)
            if s.orelse:
                out.append(f"{indent}else:")
                _render_block(s.orelse, inst, indent + "    ", out)
        elif isinstance(s, For):
            out.append(f"{indent}for {s.target} in {s.iter}:")
            _render_block(s.body, inst, indent + "    ", out)
        elif isinstance(s, While):
            out.append(f"{indent}while {s.cond.render(inst)}:")
            _render_block(s.body, inst, indent + "    ", out)
        elif isinstance(s, Jump):
            out.append(indent + s.word)
        elif isinstance(s, Return):
            out.append(f"{indent}return {s.value.render(inst)}")
        else:  # pragma: no cover
            raise TypeError(s)


def render_function(fn: FunctionDef, inst: bool) -> str:
    import ast

    lines = [f"def {fn.name}({', '.join(fn.params)}):"]
    _render_block(fn.body, inst, "    ", lines)
    return ast.unparse(ast.parse("\n".join(lines)))  # drops the redundant parentheses


def _walk(stmts: list):
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from _walk(s.body)
            yield from _walk(s.orelse)
        elif isinstance(s, (For, While)):
            yield from _walk(s.body)


# -- programs ----------------------------------------------------------------------------------


def _literal(value) -> str:
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


@dataclass
class Program:
    functions: list[FunctionDef]  # helpers first, the main function last
    params: tuple[str, ...]
    values: tuple  # the main function's arguments
    wrt: tuple[str, ...]  # the float parameters differentiated
    wrt_arg: object  # what `wrt=` receives: a tuple of names, one name or a position
    use_value: bool  # value_and_grad (else grad)
    check_numba: bool
    tags: frozenset[str]
    # (name, op) of the `name op= v` statements on arrays through an alias or a view: the
    # compiler may refuse the program at one of them (and only there)
    refusable: frozenset = frozenset()
    blockers: frozenset = frozenset()  # the constructs autograd cannot run (in-place writes)
    changed: tuple = ()  # module constants changed after the first call: (name, new value)

    @property
    def main(self) -> str:
        return self.functions[-1].name

    def source(self, instrumented: bool = False) -> str:
        numpy = "autograd.numpy" if instrumented == AUTOGRAD else "numpy"
        parts = ["import math", "", f"import {numpy} as np", "", MODULE_CONSTANTS]
        for fn in self.functions:
            parts += ["", "", render_function(fn, instrumented)]
        return "\n".join(parts) + "\n"

    def args(self) -> list:
        return [v.copy() if isinstance(v, np.ndarray) else v for v in self.values]

    def arguments_text(self) -> str:
        return "\n".join(f"{p} = {_literal(v)}" for p, v in zip(self.params, self.values))

    def call_text(self, backend: str) -> str:
        api = "value_and_grad" if self.use_value else "grad"
        return (f"{api}({self.main}, wrt={self.wrt_arg!r}, backend={backend!r})"
                f"({', '.join(self.params)})")

    def reproducer(self) -> str:
        return "\n".join([
            self.source().rstrip(), "", "",
            "from ad_compiler import check_grad  # noqa: E402", "",
            self.arguments_text(),
            f"check_grad({self.main}, {', '.join(self.params)}, wrt={self.wrt!r}, "
            "backend='python')"])

    def __repr__(self) -> str:
        return f"Program(<<<\n{self.reproducer()}\n>>>)"

    def _repr_pretty_(self, printer, cycle) -> None:  # how Hypothesis prints an example
        printer.text(repr(self))


# -- generating programs -----------------------------------------------------------------------


@dataclass
class Var:
    name: str
    shape: tuple
    kind: str = "float"  # or "int"
    values: tuple = ()  # an int's possible values
    owned: bool = False  # an array this function created: may be written into
    frozen: bool = False  # iterated over by an enclosing loop: not reassigned
    protected: bool = False  # an alias of it must not be made (owned arrays, helper params)


@dataclass
class Scope:
    vars: dict
    loop_depth: int = 0
    nesting: int = 0
    can_return: bool = False
    ret_shape: tuple = ()
    ret_shapes: tuple | None = None  # a helper returning a tuple: the shapes of its items
    jumps: bool = True  # break/continue allowed (not in a `while True:` left by a return)

    def child(self, **changes) -> Scope:
        new = replace(self, vars=dict(self.vars), nesting=self.nesting + 1)
        for key, value in changes.items():
            setattr(new, key, value)
        return new

    def floats(self, shape=None) -> list[Var]:
        return [v for v in self.vars.values()
                if v.kind == "float" and (shape is None or v.shape == shape)]

    def ints(self) -> list[Var]:
        return [v for v in self.vars.values() if v.kind == "int"]


@dataclass(frozen=True)
class Helper:
    name: str
    param_shapes: tuple
    ret: tuple
    rets: tuple | None = None  # returns a tuple of values of these shapes (ret unused)


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _shape_text(shape: tuple) -> str:
    return str(shape[0]) if len(shape) == 1 else repr(shape)


def _aliases(node: Node) -> set[str]:
    """Names whose memory an array expression may share (a bare name, a view of one)."""
    if isinstance(node, Text):
        return {node.text}
    if isinstance(node, (Sub, Attr)):
        return _aliases(node.base)
    if isinstance(node, IfExp):
        return _aliases(node.a) | _aliases(node.b)
    return set()


def _names(node) -> set[str]:
    """The names (and constants) an expression reads."""
    if isinstance(node, Text):
        return {node.text}
    found = set()
    for value in vars(node).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Node):
                found |= _names(item)
    return found


class Gen:
    """One program's generation: the draws, the shapes, fresh names and the constructs seen."""

    def __init__(self, draw, n: int, m: int) -> None:
        self.draw = draw
        self.shapes = list(dict.fromkeys([(), (n,), (m,), (n, m), (n, 1), (1, m)]))
        self.shape_set = set(self.shapes)
        self.array_shapes = [s for s in self.shapes if s]
        self.ids = itertools.count()
        self.counter = itertools.count()
        self.tags: set[str] = set()
        self.helpers: list[Helper] = []
        self.called: set[str] = set()
        self.budget = 0
        self.refusable: set[tuple[str, str]] = set()
        self.blockers: set[str] = set()
        self.reductions = self._reduction_table()
        self.products = self._product_table()

    # -- drawing -------------------------------------------------------------------------------

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def weighted(self, options: list[tuple[str, int]]) -> str:
        return self.pick([name for name, weight in options for _ in range(weight)])

    def chance(self, percent: int) -> bool:
        """True with about this probability; shrinks to False."""
        return self.draw(st.integers(0, 99)) >= 100 - percent

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def tag(self, *names: str) -> None:
        self.tags.update(names)

    # -- tables of shape-changing operations ---------------------------------------------------

    def _reduction_table(self) -> list[tuple[tuple, tuple, tuple]]:
        table = []
        options = [(), (("axis", 0),), (("axis", 1),), (("axis", -1),), (("axis", -2),),
                   (("axis", 0), ("keepdims", True)), (("axis", 1), ("keepdims", True)),
                   (("axis", -1), ("keepdims", True)), (("axis", 0), ("keepdims", False))]
        for shape in self.array_shapes:
            for kwargs in options:
                try:
                    result = np.sum(np.zeros(shape), **dict(kwargs)).shape
                except (ValueError, IndexError):
                    continue
                if result in self.shape_set:
                    table.append((shape, kwargs, result))
        return table

    def _product_table(self) -> list[tuple]:
        table = []
        for form in ("@", "np.dot", "np.matmul", ".dot", "np.outer"):
            for sa, sb in itertools.product(self.array_shapes, repeat=2):
                for ta, tb in itertools.product((False, True), repeat=2):
                    if (ta and len(sa) < 2) or (tb and len(sb) < 2):
                        continue
                    a = np.zeros(sa).T if ta else np.zeros(sa)
                    b = np.zeros(sb).T if tb else np.zeros(sb)
                    if form == "np.outer":
                        if a.ndim != 1 or b.ndim != 1:
                            continue
                        result = np.outer(a, b).shape
                    else:
                        try:
                            result = np.matmul(a, b).shape
                        except ValueError:
                            continue
                    if result in self.shape_set:
                        table.append((form, sa, ta, sb, tb, result))
        return table

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, scope: Scope, shape: tuple, depth: int) -> Node:
        if depth <= 0:
            return self.leaf(scope, shape)
        options = [("leaf", 3), ("arith", 5), ("unary", 3), ("div", 1), ("pow", 1), ("ifexp", 1),
                   ("kink", 1)]
        if any(r == shape for _, _, r in self.reductions):
            options.append(("reduce", 2))
        if any(row[-1] == shape for row in self.products):
            options.append(("product", 1))
        if self._index_sources(scope, shape):
            options.append(("index", 3))
        if any(h.ret == shape for h in self.helpers):
            options.append(("call", 3))
        if shape == () and scope.ints():
            options.append(("int", 2))
        if (len(shape) == 1 and shape[0] <= 4) or (len(shape) == 2 and shape[0] <= 3):
            options.append(("stack", 1))
        options.append(("mod", 1))
        if shape == () and any(v.shape for v in scope.floats()):
            options.append(("size", 1))
        if shape:
            options.append(("construct", 1))
        if shape == ():
            options.append(("truth", 1))
        if shape == () and any(v.kind == "intarr" for v in scope.vars.values()):
            options.append(("int_array", 2))
        options += [("zero_power", 1), ("tuple_reduce", 1)]
        return getattr(self, "e_" + self.weighted(options))(scope, shape, depth - 1)

    def leaf(self, scope: Scope, shape: tuple) -> Node:
        """A variable of the shape, else a read of part of one, a reduction of one, a constant
        (scalars) or a variable broadcast into np.zeros of the shape (arrays)."""
        same = scope.floats(shape)
        reads = self._index_sources(scope, shape)
        reductions = [(v, kwargs) for v in scope.floats() for source, kwargs, result
                      in self.reductions if source == v.shape and result == shape]
        form = self.weighted([("var", 6 if same else 0), ("const", 2 if shape == () else 0),
                              ("read", 2 if reads else 0), ("reduce", 1 if reductions else 0),
                              ("broadcast", 1 if shape and not same else 0)])
        if form == "var":
            return Text(self.pick(v.name for v in same))
        if form == "const":
            constant = self.pick(CONSTANTS)
            if constant.isupper():
                self.tag("module constant")
            return Text(constant)
        if form == "read":
            var, index, _ = self.pick(reads)
            self.tag("index read" if shape == () else "slice read")
            return Sub(Text(var.name), self.index_text(scope, index, var.shape))
        if form == "reduce":
            var, kwargs = self.pick(reductions)
            return self.reduction(Text(var.name), kwargs)
        sources = [v for v in scope.floats() if _broadcast(v.shape, shape) == shape]
        self.tag("broadcast into np.zeros")
        base = Text(self.pick(v.name for v in sources)) if sources else self.leaf(scope, ())
        return BinOp("+", base, Call("np.zeros", (Text(_shape_text(shape)),)))

    def reduction(self, arg: Node, kwargs: tuple) -> Node:
        func = self.pick(("sum", "mean", "max", "min"))
        method = self.chance(25)
        self.tag(f"np.{func}" + (" axis" if kwargs else "")
                 + (" keepdims" if ("keepdims", True) in kwargs else ""))
        if method:
            self.tag("reduction method")
        return Reduce(next(self.ids), func, arg, kwargs, method)

    def fitting(self, shape: tuple) -> list[tuple]:
        """The shapes that broadcast to `shape` (itself first)."""
        return [shape] + [s for s in self.shapes if s != shape and _broadcast(s, shape) == shape]

    def _operand_shapes(self, shape: tuple) -> tuple[tuple, tuple]:
        fits = self.fitting(shape)
        first = self.pick(fits)
        seconds = [s for s in fits if _broadcast(first, s) == shape]
        seconds.sort(key=lambda s: s != shape)
        second = self.pick(seconds)
        if first != second:
            self.tag(f"broadcast {len(first)}-d with {len(second)}-d")
            if {first, second} & {(shape[0], 1), (1, shape[-1])} and len(shape) == 2:
                self.tag("broadcast row/column")
        return first, second

    def e_leaf(self, scope, shape, depth):
        return self.leaf(scope, shape)

    def e_arith(self, scope, shape, depth):
        sa, sb = self._operand_shapes(shape)
        op = self.pick(("+", "*", "-"))
        self.tag(f"arith {op}")
        return BinOp(op, self.expr(scope, sa, depth), self.expr(scope, sb, depth))

    def e_unary(self, scope, shape, depth):
        a = self.expr(scope, shape, depth)
        mod = "math" if shape == () and self.chance(40) else "np"
        form = self.pick(("tanh", "sin", "cos", "neg", "exp", "log", "sqrt", "square", "more"))
        if form == "more":
            return self.more_functions(scope, shape, depth, a, mod)
        self.tag(f"unary {form}")

        def f(name, arg):
            return Call(f"{mod}.{name}", (arg,))

        square = BinOp("**", a, Text("2"))
        if form in ("tanh", "sin", "cos"):
            return f(form, a)
        if form == "neg":
            return Neg(a)
        if form == "square":
            return Call("np.square", (a,))
        variant = self.integer(0, 2)
        if form == "exp":
            inner = (f("tanh", a), Neg(square), BinOp("*", Text("0.5"), f("sin", a)))[variant]
            return f("exp", inner)
        if form == "log":
            inner = (BinOp("+", Text("1.0"), square), BinOp("+", Text("2.0"), f("cos", a)),
                     BinOp("+", Text("1.5"), f("tanh", a)))[variant]
            return f("log", inner)
        inner = (BinOp("+", Text("1.0"), square), BinOp("+", BinOp("*", a, a), Text("0.25")),
                 BinOp("-", Text("2.0"), f("sin", a)))[variant]
        return f("sqrt", inner)

    def more_functions(self, scope, shape, depth, a, mod):
        """The other scalar/elementwise functions, on arguments inside their domains."""
        names = {"arctan": "atan", "arcsinh": "asinh", "sinh": "sinh", "cosh": "cosh",
                 "log1p": "log1p", "expm1": "expm1", "hypot": "hypot", "arctan2": "atan2",
                 "erf": "erf"}
        options = [n for n in names if n != "erf" or mod == "math"]
        name = self.pick(options)
        self.tag(f"unary {name}")
        func = f"math.{names[name]}" if mod == "math" else f"np.{name}"
        if name in ("arctan", "arcsinh", "erf"):
            return Call(func, (a,))
        if name in ("sinh", "cosh"):
            return Call(func, (BinOp("*", Text("0.5"), a),))
        if name == "log1p":
            return Call(func, (BinOp("**", a, Text("2")),))
        if name == "expm1":
            return Call(func, (Call(f"{mod}.tanh", (a,)),))
        b = self.expr(scope, shape, depth)
        if name == "hypot":
            return Call(func, (a, BinOp("+", Text("0.5"), BinOp("**", b, Text("2")))))
        return Call(func, (a, BinOp("+", Text("1.5"), Call(f"{mod}.cos", (b,)))))

    def e_stack(self, scope, shape, depth):
        if len(shape) == 1:
            self.tag("np.array of scalars")
            items = tuple(self.expr(scope, (), depth) for _ in range(shape[0]))
        elif shape[1] <= 2 and self.chance(30):
            self.tag("np.array of nested lists")
            items = tuple(Items(tuple(self.expr(scope, (), depth) for _ in range(shape[1])))
                          for _ in range(shape[0]))
        else:
            self.tag("np.array of arrays")
            items = tuple(self.expr(scope, shape[1:], depth) for _ in range(shape[0]))
        return Call("np.array", (Items(items),))

    def e_construct(self, scope, shape, depth):
        """np.full, np.full_like, np.linspace, np.arange built from differentiated numbers."""
        same = scope.floats(shape)
        form = self.weighted([("full", 2), ("full_like", 1 if same else 0),
                              ("linspace", 2 if len(shape) == 1 else 0),
                              ("arange", 2 if len(shape) == 1 else 0)])
        self.tag(f"np.{form} of a differentiated value")
        h = self.expr(scope, (), depth)
        if form == "full":
            size = self._length_text(scope, shape[0]) if len(shape) == 1 else repr(shape)
            return Call("np.full", (Text(size), h))
        if form == "full_like":
            return Call("np.full_like", (Text(self.pick(v.name for v in same)), h))
        if form == "linspace":
            return Call("np.linspace", (h, self.expr(scope, (), depth), Text(str(shape[0]))))
        return Arange(h, shape[0], self.pick(("1.0", "0.5")))

    def e_truth(self, scope, shape, depth):
        """`a or b` / `a and b` as a float value, `a` sometimes exactly 0.0 (an int that is 0
        in some iteration times a number, a variable that is still 0.0)."""
        op = self.pick(("or", "and"))
        self.tag(f"`{op}` as a value")
        ints = [v for v in scope.ints() if v.values and 0 in v.values]
        form = self.weighted([("expr", 2), ("var", 2 if scope.floats(()) else 0),
                              ("int times", 2 if ints else 0)])
        if form == "var":
            a: Node = Text(self.pick(v.name for v in scope.floats(())))
        elif form == "int times":
            a = BinOp("*", Text(self.pick(v.name for v in ints)), self.expr(scope, (), depth))
        else:
            a = self.expr(scope, (), depth)
        return Truth(next(self.ids), op, a, self.expr(scope, (), depth))

    def e_int_array(self, scope, shape, depth):
        """An entry of an integer array (one that received floats, truncated) in arithmetic."""
        var = self.pick(v for v in scope.vars.values() if v.kind == "intarr")
        self.tag("read an int array")
        entry = Sub(Text(var.name), self.index(scope, var.shape[0]))
        if self.chance(50):
            return BinOp("*", entry, self.expr(scope, (), depth))
        return BinOp("+", entry, self.expr(scope, (), depth))

    def e_zero_power(self, scope, shape, depth):
        """Powers whose base or exponent can be exactly zero: `b ** n` (b may be an argument
        entry that is 0.0, n an int that is 0 in some iteration), `0.0 ** y` with y > 0, and a
        variable exponent >= 1 of a base with a 0 entry."""
        ints = [v for v in scope.ints() if v.values and min(v.values) >= 0 and max(v.values) < 4]
        form = self.weighted([("int exponent", 3), ("zero base", 1), ("zero entry", 2)])
        if form == "int exponent":
            exponent = self.pick(["0", "1", "0.0"] + [v.name for v in ints])
            self.tag("power with a zero or int-variable exponent")
            return BinOp("**", self.expr(scope, shape, depth), Text(exponent))
        positive = BinOp("+", Text(self.pick(("0.5", "1.0"))),
                         BinOp("**", self.expr(scope, shape if form == "zero base" else (),
                                               depth), Text("2")))
        if form == "zero base":
            self.tag("0.0 ** y")
            return BinOp("**", Text("0.0"), positive)
        # a base >= 0 with zero entries, to an exponent >= 1 (d/dp has 0 * log 0 terms)
        self.tag("variable exponent of a base with a zero entry")
        base_shape = shape if shape else self.pick(self.array_shapes)
        sources = scope.floats(base_shape)
        if len(base_shape) == 1 and (not sources or self.chance(50)):
            positive = BinOp("+", Text("0.5"), BinOp("**", self.expr(scope, (), depth),
                                                     Text("2")))
            base: Node = BinOp("*", Call("np.arange", (Text(str(base_shape[0])),)), positive)
        else:
            var = Text(self.pick(v.name for v in sources)) if sources else self.expr(
                scope, base_shape, depth)
            base = BinOp("**", var, Text("2"))
        exponent = BinOp("+", Text("1.0"), BinOp("**", Call("np.sin", (
            self.expr(scope, (), depth),)), Text("2")))  # in [1, 2]: well-conditioned
        power = BinOp("**", base, exponent)
        return power if shape else Call("np.sum", (power,))

    def e_tuple_reduce(self, scope, shape, depth):
        """np.sum/mean/max/min of a tuple or list of arrays of one shape (NumPy stacks them)."""
        if shape == ():
            item_shape, kwargs = self.pick(self.shapes), ()
        else:
            item_shape, kwargs = shape, (("axis", 0),)
        items = tuple(self.expr(scope, item_shape, depth) for _ in range(self.integer(2, 3)))
        container = Tup(items) if self.chance(60) else Items(items)
        func = self.pick(("sum", "mean", "max", "min"))
        self.tag(f"np.{func} of a tuple" + (" axis" if kwargs else ""))
        return Reduce(next(self.ids), func, container, kwargs, False)

    def e_div(self, scope, shape, depth):
        form = self.integer(0, 3)
        self.tag("div")
        if form == 0:
            sa, sb = self._operand_shapes(shape)
            b = BinOp("**", self.expr(scope, sb, depth), Text("2"))
            return BinOp("/", self.expr(scope, sa, depth), BinOp("+", Text("1.0"), b))
        if form == 1:
            return BinOp("/", self.expr(scope, shape, depth),
                         Text(self.pick(("2.0", "-3.0", "0.5", "4"))))
        if form == 2:
            sa, sb = self._operand_shapes(shape)
            mod = "math" if sb == () and self.chance(30) else "np"
            b = BinOp("+", Text("1.5"), Call(f"{mod}.cos", (self.expr(scope, sb, depth),)))
            return BinOp("/", self.expr(scope, sa, depth), b)
        b = BinOp("**", self.expr(scope, shape, depth), Text("2"))
        return BinOp("/", Text(self.pick(CONSTANTS)), BinOp("+", Text("1.0"), b))

    def e_pow(self, scope, shape, depth):
        form = self.weighted([("**", 4), ("np.power", 1), ("math.pow", 1 if shape == () else 0),
                              ("variable exponent", 1)])
        a = self.expr(scope, shape, depth)
        if form == "variable exponent":
            self.tag("power with a variable exponent")
            base = BinOp("+", Text("1.0"), BinOp("**", a, Text("2")))
            mod = "math" if shape == () and self.chance(40) else "np"
            exponent = BinOp("*", Text("0.5"), Call(f"{mod}.sin", (self.expr(scope, (), depth),)))
            return BinOp("**", base, exponent)
        exponent = self.pick(("2", "3", "2.0"))
        self.tag(f"power {exponent}" if form == "**" else form)
        if form == "**":
            return BinOp("**", a, Text(exponent))
        return Call(form, (a, Text(exponent)))

    def e_mod(self, scope, shape, depth):
        """`a % c` (slope 1) and `a // c` (slope 0), recorded: kinks where a / c is whole."""
        op = self.pick(("%", "//"))
        self.tag(f"operator {op}")
        return Modulo(next(self.ids), op, self.expr(scope, shape, depth),
                      Text(self.pick(("1.5", "2.0", "0.5"))))

    def e_size(self, scope, shape, depth):
        var = self.pick([v for v in scope.floats() if v.shape])
        self.tag("len/shape/size in arithmetic")
        size = self.pick([f"len({var.name})", f"{var.name}.shape[0]", f"{var.name}.size"]
                         + ([f"{var.name}.shape[1]"] if len(var.shape) == 2 else []))
        return BinOp("*", Text(size), self.expr(scope, (), depth))

    def e_reduce(self, scope, shape, depth):
        source, kwargs, _ = self.pick([row for row in self.reductions if row[2] == shape])
        return self.reduction(self.expr(scope, source, depth), kwargs)

    def e_product(self, scope, shape, depth):
        form, sa, ta, sb, tb, _ = self.pick([row for row in self.products if row[-1] == shape])
        self.tag(f"product {form}", *(["transpose"] if ta or tb else []))
        a, b = self.expr(scope, sa, depth), self.expr(scope, sb, depth)
        a, b = (Attr(a, "T") if ta else a), (Attr(b, "T") if tb else b)
        if form == "@":
            return BinOp("@", a, b)
        if form == ".dot":
            return Method(a, "dot", (b,))
        return Call(form, (a, b))

    def e_ifexp(self, scope, shape, depth):
        self.tag("conditional expression")
        cond = self.cond(scope, min(depth, 2))
        return IfExp(cond, self.expr(scope, shape, depth), self.expr(scope, shape, depth))

    def e_kink(self, scope, shape, depth):
        if shape == ():
            func = self.pick(("abs", "max", "min"))
            self.tag(f"builtin {func}")
            args = (self.expr(scope, (), depth),)
            if func != "abs":
                args += (self.expr(scope, (), depth),)
            return Kink(next(self.ids), func, args)
        func = self.pick(("np.abs", "np.maximum", "np.minimum", "np.where"))
        self.tag(func)
        if func == "np.abs":
            return Kink(next(self.ids), func, (self.expr(scope, shape, depth),))
        sa, sb = self._operand_shapes(shape)
        a, b = self.expr(scope, sa, depth), self.expr(scope, sb, depth)
        if func != "np.where":
            return Kink(next(self.ids), func, (a, b))
        threshold = Text(self.pick(THRESHOLDS))
        test = Compare(next(self.ids), self.pick((">", "<")), self.expr(scope, shape, depth),
                       threshold)
        return Call("np.where", (test, a, b))

    def e_call(self, scope, shape, depth):
        return self.call(scope, self.pick([h for h in self.helpers if h.ret == shape]), depth)

    def call(self, scope: Scope, helper: Helper, depth: int) -> Node:
        self.tag("helper call")
        self.called.add(helper.name)
        args = tuple(self.expr(scope, s, depth) for s in helper.param_shapes)
        keywords = self.integer(0, len(args)) if self.chance(20) else 0
        if keywords:
            self.tag("keyword arguments")
        names = [f"a{i}" for i in range(len(args))]
        kwargs = tuple(zip(names[len(args) - keywords:], args[len(args) - keywords:]))[::-1]
        return Call(helper.name, args[:len(args) - keywords], kwargs)

    def e_int(self, scope, shape, depth):
        i = Text(self.pick(v.name for v in scope.ints()))
        form = self.integer(0, 3)
        self.tag("int in arithmetic")
        if form == 0:
            return BinOp("*", i, self.expr(scope, (), depth))
        if form == 1:
            return BinOp("+", i, Text("1.0"))
        if form == 2:
            return Call("float", (i,))
        return BinOp("*", Text("0.5"), i)

    def _index_sources(self, scope: Scope, shape: tuple) -> list[tuple[Var, str, tuple]]:
        return [(v, form, result) for v in scope.floats() if v.shape
                for form, result in self._index_forms(v.shape) if result == shape]

    def _index_forms(self, shape: tuple) -> list[tuple[str, tuple]]:
        lengths = sorted({s[0] for s in self.shapes if len(s) == 1})
        if len(shape) == 1:
            n = shape[0]
            forms = [("i", ()), ("all", shape), ("reverse", shape), ("step 2", ((n + 1) // 2,)),
                     ("new row", (1, n)), ("new column", (n, 1))]
            forms += [(f"slice {k}", (k,)) for k in lengths if k < n]
        else:
            r, c = shape
            forms = [("i, j", ()), ("row", (c,)), ("row, :", (c,)), ("column", (r,)),
                     ("one row", (1, c)), ("one column", (r, 1)), ("reverse", shape),
                     ("reverse columns", shape)]
            forms += [(f"rows {k}", (k, c)) for k in lengths if k < r]
            forms += [(f"columns {k}", (r, k)) for k in lengths if k < c]
        return [(f, s) for f, s in forms if s == () or s in self.shape_set]

    def index(self, scope: Scope, n: int) -> str:
        """An int expression that is a valid index into an axis of length n."""
        ints = [v for v in scope.ints()]

        def bounds(v):
            return (min(v.values), max(v.values)) if v.values else (0, 0)

        fits = [v for v in ints if -n <= bounds(v)[0] and bounds(v)[1] < n]
        options = [("const", 2)]
        options += [("var", 4)] if fits else []
        options += [("mod", 1)] if ints else []
        nonneg = [v for v in fits if bounds(v)[0] >= 0]
        options += [("flip", 1)] if nonneg else []
        plus = [v for v in ints if -n <= bounds(v)[0] + 1 and bounds(v)[1] + 1 < n]
        options += [("plus", 1)] if plus else []
        minus = [v for v in ints if -n <= bounds(v)[0] - 1 and bounds(v)[1] - 1 < n]
        options += [("minus", 1)] if minus else []
        form = self.weighted(options)
        if form == "const":
            k = self.integer(-n, n - 1)
            if k < 0:
                self.tag("negative index")
            return str(k)
        self.tag("index with an int variable")
        if form == "var":
            return self.pick(v.name for v in fits)
        if form == "mod":
            return f"{self.pick(v.name for v in ints)} % {n}"
        if form == "flip":
            return f"{n - 1} - {self.pick(v.name for v in nonneg)}"
        if form == "plus":
            return f"{self.pick(v.name for v in plus)} + 1"
        return f"{self.pick(v.name for v in minus)} - 1"

    def index_text(self, scope: Scope, form: str, shape: tuple) -> str:
        if form in ("i", "row"):
            return self.index(scope, shape[0])
        if form == "i, j":
            return f"{self.index(scope, shape[0])}, {self.index(scope, shape[1])}"
        if form == "row, :":
            return f"{self.index(scope, shape[0])}, :"
        if form == "column":
            return f":, {self.index(scope, shape[1])}"
        if form == "all":
            return ":"
        if form == "reverse":
            return "::-1"
        if form == "reverse columns":
            return ":, ::-1"
        if form == "step 2":
            return "::2"
        if form == "new row":
            return "None, :"
        if form == "new column":
            return ":, None"
        if form == "one row":
            s = self.integer(0, shape[0] - 1)
            return f"{s}:{s + 1}"
        if form == "one column":
            s = self.integer(0, shape[1] - 1)
            return f":, {s}:{s + 1}"
        kind, k = form.rsplit(" ", 1)
        k = int(k)
        n = shape[0] if kind in ("slice", "rows") else shape[1]
        s = self.integer(0, n - k)
        text = self.pick([f"{s}:{s + k}"] + ([f":{k}"] if s == 0 else [])
                         + ([f"{s}:", f"-{k}:"] if s + k == n else []))
        return f":, {text}" if kind == "columns" else text

    def e_index(self, scope, shape, depth):
        var, form, _ = self.pick(self._index_sources(scope, shape))
        self.tag("index read" if shape == () else "slice read")
        if form in ("new row", "new column"):
            self.tag("np.newaxis")
        if form in ("reverse", "reverse columns", "step 2"):
            self.tag("strided slice")
        base: Node = Text(var.name)
        if self.chance(15):
            self.tag("index an expression")
            base = self.expr(scope, var.shape, depth)
        return Sub(base, self.index_text(scope, form, var.shape))

    def cond(self, scope: Scope, depth: int) -> Node:
        flags = [v.name for v in scope.vars.values() if v.kind == "bool"]
        form = self.weighted([("compare", 6), ("and", 1), ("or", 1), ("not", 1), ("chain", 1),
                              ("flag", 4 if flags else 0)])
        if form == "flag":
            self.tag("bool variable in a condition")
            return Text(self.pick(flags))
        if form == "chain":
            self.tag("chained comparison")
            a = self.expr(scope, (), depth)
            lo, hi = sorted(self.pick(THRESHOLDS) for _ in range(2))
            return Chain(next(self.ids), Text(lo), a, Text(hi), self.pick(("<", "<=")))
        if form == "compare":
            a = self.expr(scope, (), depth)
            if not _names(a) & set(scope.vars):  # not a comparison of constants
                a = BinOp(self.pick(("+", "*")), a, self.leaf(scope, ()))
            b = Text(self.pick(THRESHOLDS)) if self.chance(60) else self.expr(scope, (), depth)
            return Compare(next(self.ids), self.pick((">", "<", ">=", "<=")), a, b)
        self.tag(f"condition {form}")
        if form == "not":
            return Not(self.cond(scope, depth))
        return BoolOp(form, self.cond(scope, depth), self.cond(scope, depth))

    def copy_of(self, value: Node) -> Node:
        """A new array with value's contents (value may be a view)."""
        form = self.pick(("* 1.0", ".copy()", "np.copy", "+ 0.0"))
        self.tag(f"copy {form}")
        if form == ".copy()":
            return Method(value, "copy")
        if form == "np.copy":
            return Call("np.copy", (value,))
        return BinOp(form[0], value, Text(form[2:]))

    def array_value(self, scope: Scope, shape: tuple, depth: int, protected: set[str]) -> Node:
        """An expression to assign: never an alias of memory that is written into."""
        value = self.expr(scope, shape, depth)
        if shape and _aliases(value) & protected:
            value = self.copy_of(value)
        return value

    # -- statements ----------------------------------------------------------------------------

    def block(self, scope: Scope, most: int) -> list:
        stmts: list = []
        for _ in range(self.integer(1, most)):
            if self.budget <= 0 and stmts:
                break
            self.budget -= 1
            stmts.extend(self.statement(scope))
        return stmts

    def protected(self, scope: Scope) -> set[str]:
        return {v.name for v in scope.vars.values() if v.protected}

    def statement(self, scope: Scope) -> list:
        in_loop = scope.loop_depth > 0
        updatable = [v for v in scope.floats() if not v.frozen and not v.owned]
        owned = [v for v in scope.floats() if v.owned]
        nested = scope.nesting > 0
        options = [("assign", 1 if nested else 3)]
        options += [("update", 5 if nested else 2)] if updatable else []
        options += [("write", 5 if nested else 3)] if owned else []
        options += [("create", 2)]
        options += [("swap", 1)] if len(updatable) >= 2 else []
        options += [("flag", 1)]
        if scope.nesting < 3:
            options += [("if", 2)]
            if scope.loop_depth < 2:
                options += [("for", 4), ("while", 2)]
        options += [("jump", 2)] if in_loop and scope.jumps else []
        options += [("return", 1)] if scope.can_return else []
        # The forms of issue 11 (Python semantics that compile easily to something wrong).
        options += [("chain", 1), ("truth", 1), ("int_array", 1)]
        options += [("alias", 1)] if self._alias_sources(scope) else []
        options += [("int_store", 1)] if any(v.kind == "intarr" and v.owned
                                             for v in scope.vars.values()) else []
        options += [("unpack", 2)] if any(h.rets for h in self.helpers) else []
        if scope.nesting < 3 and scope.loop_depth < 1:
            options += [("state", 2), ("scratch", 1)]
        return getattr(self, "s_" + self.weighted(options))(scope)

    def s_assign(self, scope):
        shape = self.pick(self.shapes)
        name = self.fresh("t")
        value = self.array_value(scope, shape, self.integer(1, 3), self.protected(scope))
        scope.vars[name] = Var(name, shape)
        return [Assign(name, value)]

    def s_update(self, scope):
        var = self.pick(v for v in scope.floats() if not v.frozen and not v.owned)
        shape = var.shape
        form = self.integer(0, 2)
        depth = self.integer(1, 2)
        if scope.loop_depth:
            self.tag("loop-carried " + ("scalar" if shape == () else "array"))
        if form == 0:
            return [Assign(var.name, self.array_value(scope, shape, depth, self.protected(scope)))]
        if form == 1:
            damped = BinOp("*", Text(self.pick(("0.5", "0.9", "-0.5"))), Text(var.name))
            return [Assign(var.name, BinOp("+", damped, self.expr(scope, shape, depth)))]
        op = self.pick(("+", "-", "*"))
        if shape == ():
            self.tag(f"augmented {op}=")
            return [Assign(var.name, self.expr(scope, (), depth), op)]
        fits = self.fitting(shape)
        value = self.expr(scope, self.pick(fits), depth)
        return [Assign(var.name, BinOp(op, Text(var.name), value))]

    def s_flag(self, scope):
        """A bool variable, set from a condition (or flipped, when one exists)."""
        flags = [v.name for v in scope.vars.values() if v.kind == "bool"]
        if flags and self.chance(40):
            name = self.pick(flags)
            self.tag("bool variable flipped")
            return [Assign(name, Not(Text(name)))]
        name = self.fresh("flag")
        value = self.cond(scope, 2)
        scope.vars[name] = Var(name, (), "bool")
        self.tag("bool variable")
        return [Assign(name, value)]

    def s_swap(self, scope):
        """Tuple assignment: every right-hand side is evaluated before any name changes."""
        updatable = [v for v in scope.floats() if not v.frozen and not v.owned]
        first = self.pick(updatable)
        same = [v for v in updatable if v.name != first.name and v.shape == first.shape]
        form = self.weighted([("general", 3), ("swap", 1 if same else 0),
                              ("compound", 3 if same else 0)])
        if form == "general":
            self.tag("tuple assignment")
            targets = [first] + [self.pick(v for v in updatable if v.name != first.name)]
            others = [v for v in updatable if v not in targets]
            if others and self.chance(25):
                targets.append(self.pick(others))
                self.tag("tuple assignment of three")
            protected = self.protected(scope)
            values = tuple(self.array_value(scope, v.shape, self.integer(0, 2), protected)
                           for v in targets)
            return [Assign(", ".join(v.name for v in targets), Tup(values))]
        second = self.pick(same)
        if form == "swap":
            self.tag("swap")
            return [Assign(f"{first.name}, {second.name}", Tup((Text(second.name),
                                                                 Text(first.name))))]
        return [self.compound_update([first, second], scope)]

    def compound_update(self, targets: list[Var], scope: Scope) -> Assign:
        """`x, y = c*x - s*y, s*x + c*y` and kin: each right-hand side reads the old values of
        the others (a rotation, an Euler step, a shift `a, b, c = b, c, a + b`)."""
        names = [Text(v.name) for v in targets]
        x, y = names[0], names[1]
        form = self.pick(("rotation", "euler", "shift", "mix"))
        self.tag(f"tuple assignment {form}" + (" in a loop" if scope.loop_depth else ""))
        extra = tuple(BinOp("+", BinOp("*", Text("0.5"), z), x) for z in names[2:])
        if form == "rotation":
            angle = self.expr(scope, (), 1)
            mod = self.pick(("np", "math"))
            c, s = Call(f"{mod}.cos", (angle,)), Call(f"{mod}.sin", (angle,))
            values = (BinOp("-", BinOp("*", c, x), BinOp("*", s, y)),
                      BinOp("+", BinOp("*", s, x), BinOp("*", c, y)))
        elif form == "euler":
            h = Text(self.pick(("0.1", "0.25", "0.5")))
            force = self.expr(scope, targets[0].shape, 1) if self.chance(50) else x
            values = (BinOp("+", x, BinOp("*", h, y)), BinOp("-", y, BinOp("*", h, force)))
        if form in ("rotation", "euler"):
            values += extra
        elif form == "shift":
            values = tuple(names[1:]) + (BinOp("+", BinOp("*", Text("0.5"), x),
                                                BinOp("*", Text("0.5"), names[-1])),)
        else:
            values = tuple(BinOp(self.pick(("+", "-", "*")), self.expr(scope, v.shape, 1),
                                 self.pick(names)) for v in targets)
        return Assign(", ".join(v.name for v in targets), Tup(values))

    def s_state(self, scope):
        """State variables set together (`x, y = 1.0, 0.0`), then a loop that updates them by
        a simultaneous tuple assignment (with compound right-hand sides) among other things."""
        shape = self.pick(self.shapes)
        names = [self.fresh("z") for _ in range(self.integer(2, 3))]
        protected = self.protected(scope)
        init = Tup(tuple(self.array_value(scope, shape, 1, protected) for _ in names))
        targets = [Var(name, shape) for name in names]
        for var in targets:
            scope.vars[var.name] = var
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=True)
        target = self.fresh("i")
        trips = self.integer(1, 4)
        body_scope.vars[target] = Var(target, (), "int", tuple(range(trips)))
        self.tag("state loop")
        body = [self.compound_update(targets, body_scope)]
        if self.chance(50):
            body += self.block(body_scope, 2)
        return [Assign(", ".join(names), init), For(target, f"range({trips})", body)]

    def s_chain(self, scope):
        """`a = b = value` (for an array both names hold the same array)."""
        shape = self.pick(self.shapes)
        names = [self.fresh("t"), self.fresh("t")]
        value = self.array_value(scope, shape, self.integer(1, 2), self.protected(scope))
        self.tag("chained assignment")
        for name in names:
            scope.vars[name] = Var(name, shape)
        return [Assign(" = ".join(names), value)]

    def s_truth(self, scope):
        """`s = s or value`, `z = x and y` (floats: `or` keeps s unless it is exactly 0.0)."""
        scalars = [v for v in scope.floats(()) if not v.frozen]
        if scalars and self.chance(60):
            var = self.pick(scalars)
            op = self.pick(("or", "and"))
            self.tag(f"`s = s {op} ...`")
            return [Assign(var.name, Truth(next(self.ids), op, Text(var.name),
                                           self.expr(scope, (), self.integer(0, 2))))]
        name = self.fresh("t")
        value = self.e_truth(scope, (), self.integer(0, 2))
        scope.vars[name] = Var(name, ())
        return [Assign(name, value)]

    def _alias_sources(self, scope: Scope) -> list[Var]:
        return [v for v in scope.floats() if not v.frozen and not v.protected]

    def s_alias(self, scope):
        """Augmented assignment through another name of the same array, or a view of it:
        `b = a; b += v` changes a too (NumPy works in place). The compiler may refuse it at
        the `op=` line (UnsupportedSyntaxError): it must never give a wrong answer."""
        var = self.pick(self._alias_sources(scope))
        name = self.fresh("b")
        views = [("name", var.shape)]
        if var.shape:
            views += [(form, result) for form, result in self._index_forms(var.shape)
                      if result and form not in ("new row", "new column", "one row",
                                                 "one column")]
        form, shape = self.pick(views)
        target = Text(var.name) if form == "name" else Sub(
            Text(var.name), self.index_text(scope, form, var.shape))
        op = self.pick(("+", "-", "*"))
        value = self.expr(scope, self.pick(self.fitting(shape)), self.integer(0, 2))
        through = self.pick((name, var.name)) if form == "name" else name
        self.tag("augmented assignment " + ("through an alias" if form == "name" else
                                            "through a view") if shape else
                 "augmented assignment of a copied number")
        scope.vars[name] = Var(name, shape)
        if shape:
            self.blockers.add("in-place arithmetic")
            self.refusable.add((through, op))
        return [Assign(name, target), Assign(through, value, op)]

    def s_int_array(self, scope):
        """An integer array that receives a float (NumPy truncates it on the store)."""
        k = self.pick(sorted({s[0] for s in self.array_shapes if len(s) == 1}))
        name = self.fresh("p")
        sources = [v for v in scope.vars.values() if v.kind == "intarr" and v.shape == (k,)]
        form = self.weighted([("zeros_like arange", 2), ("arange", 1),
                              ("zeros_like", 3 if sources else 0)])
        self.tag("int array")
        if form == "arange":
            value: Node = Call("np.arange", (Text(str(k)),))
        elif form == "zeros_like":
            value = Call("np.zeros_like", (Text(self.pick(v.name for v in sources)),))
        else:
            value = Call("np.zeros_like", (Call("np.arange", (Text(str(k)),)),))
        scope.vars[name] = Var(name, (k,), "intarr", owned=True, protected=True)
        return [Assign(name, value)] + self.s_int_store(scope, name)

    def s_int_store(self, scope, name: str | None = None):
        if name is None:
            name = self.pick(v.name for v in scope.vars.values()
                             if v.kind == "intarr" and v.owned)
        self.tag("float stored into an int array")
        self.blockers.add("in-place write")
        index = self.index(scope, scope.vars[name].shape[0])
        value = Truncated(next(self.ids), self.expr(scope, (), self.integer(1, 2)))
        return [Assign(f"{name}[{index}]", value)]

    def s_scratch(self, scope):
        """A scratch array created in an outer loop and written in a nested loop (a recurrence
        over its entries), accumulated into a number after the nested loop."""
        acc = self.fresh("s")
        shape = self.pick(s for s in self.array_shapes if len(s) == 1 and s[0] >= 2)
        n = shape[0]
        outer = scope.child(loop_depth=scope.loop_depth + 1, jumps=True)
        k = self.fresh("i")
        trips = self.integer(1, 3)
        outer.vars[k] = Var(k, (), "int", tuple(range(trips)))
        outer.vars[acc] = Var(acc, (), frozen=True)
        scratch = self.fresh("y")
        create = self.weighted([("ones", 2), ("zeros", 1), ("expression", 1)])
        if create == "expression":
            start: Node = self.copy_of(self.expr(outer, shape, 1))
        else:
            start = Call(f"np.{create}", (Text(_shape_text(shape)),))
        outer.vars[scratch] = Var(scratch, shape, owned=True, protected=True)
        inner = outer.child(loop_depth=outer.loop_depth + 1, jumps=True)
        j = self.fresh("i")
        inner.vars[j] = Var(j, (), "int", tuple(range(1, n)))
        step = Assign(f"{scratch}[{j}]", BinOp("+", BinOp(
            "*", Sub(Text(scratch), f"{j} - 1"), self.expr(inner, (), 1)),
            self.expr(inner, (), 1)))
        inner_body = [step] + (self.block(inner, 2) if self.chance(50) else [])
        read = self.pick((Sub(Text(scratch), str(n - 1)), Call("np.sum", (Text(scratch),))))
        self.tag("scratch array written in a nested loop")
        self.blockers.add("in-place write")
        body = [Assign(scratch, start), For(j, f"range(1, {n})", inner_body),
                Assign(acc, read, "+")]
        scope.vars[acc] = Var(acc, ())
        return [Assign(acc, Text("0.0")), For(k, f"range({trips})", body)]

    def s_unpack(self, scope, helper: Helper | None = None):
        """`u, v = helper(...)` of a helper returning a tuple; the targets are new names or
        variables of the loop around (`x, v = step(x, v)`)."""
        if helper is None:
            helper = self.pick(h for h in self.helpers if h.rets)
        taken: set[str] = set()
        targets = []
        for shape in helper.rets:
            reuse = [v for v in scope.floats(shape) if not v.frozen and not v.owned
                     and v.name not in taken]
            if reuse and self.chance(50):
                name = self.pick(v.name for v in reuse)
            else:
                name = self.fresh("u")
            taken.add(name)
            targets.append(name)
        self.tag("unpack a helper's tuple" + (" in a loop" if scope.loop_depth else ""))
        call = self.call(scope, helper, self.integer(1, 2))
        for name, shape in zip(targets, helper.rets):
            if name not in scope.vars:
                scope.vars[name] = Var(name, shape)
        return [Assign(", ".join(targets), call)]

    def s_create(self, scope):
        shape = self.pick(self.array_shapes)
        name = self.fresh("y")
        same = scope.floats(shape)
        form = self.weighted([("zeros", 3), ("ones", 1), ("zeros_like", 1 if same else 0),
                              ("copy", 1 if same else 0), ("expression", 2)])
        self.tag({"copy": "create .copy()", "expression": "create from an expression"}.get(
            form, f"create np.{form}"))
        if form == "expression":  # a new array, never a view: it may be written into
            value = self.expr(scope, shape, self.integer(1, 2))
            if _aliases(value) or isinstance(value, Text):
                value = self.copy_of(value)
        elif form in ("zeros", "ones"):
            value = Call(f"np.{form}", (Text(_shape_text(shape)),))
        elif form == "zeros_like":
            value = Call("np.zeros_like", (Text(self.pick(v.name for v in same)),))
        else:
            value = Method(Text(self.pick(v.name for v in same)), "copy")
        scope.vars[name] = Var(name, shape, owned=True, protected=True)
        return [Assign(name, value)]

    def s_write(self, scope):
        var = self.pick(v for v in scope.floats() if v.owned)
        shape = var.shape
        if len(shape) == 1:
            forms = [("i", ()), ("all", shape)]
            forms += [(f"slice {k}", (k,)) for k in sorted({s[0] for s in self.shapes
                                                              if len(s) == 1}) if k < shape[0]]
        else:
            forms = [("i, j", ()), ("row", (shape[1],)), ("column", (shape[0],)),
                     ("row, :", (shape[1],))]
        forms.append(("whole", shape))
        form, result = self.pick(forms)
        self.blockers.add("in-place write")
        if form == "whole":
            op = self.pick(("+", "-", "*"))
            self.tag(f"whole-array {op}=")
            fits = self.fitting(shape)
            value = self.expr(scope, self.pick(fits), self.integer(1, 2))
            return [Assign(var.name, value, op)]
        if var.name.startswith("x"):
            self.tag("write into an argument")
        index = self.index_text(scope, form, shape)
        op = self.pick(("", "+", "-", "*"))
        value_shape = result if result in self.shape_set else ()
        if result and self.chance(20):
            value_shape = ()
            self.tag("write a scalar into a slice")
        self.tag(f"write {op}=" + ("" if result == () else " (slice)"))
        value = self.array_value(scope, value_shape, self.integer(1, 3), set())
        return [Assign(f"{var.name}[{index}]", value, op)]

    def s_if(self, scope):
        cond = self.cond(scope, 2)
        body = self.block(scope.child(), 3)
        orelse: list = []
        form = self.pick(("if", "else", "elif"))
        self.tag(f"if/{form}")
        if form == "else":
            orelse = self.block(scope.child(), 2)
        elif form == "elif":
            inner = scope.child()
            orelse = [If(self.cond(inner, 2), self.block(inner.child(), 2),
                         self.block(inner.child(), 2) if self.chance(60) else [])]
        return [If(cond, body, orelse)]

    def _accumulator(self, scope: Scope) -> list:
        form = self.weighted([("none", 1), ("scalar", 3), ("array", 2), ("owned", 2)])
        if form == "none":
            return []
        if form == "owned":
            return self.s_create(scope)
        name = self.fresh("s" if form == "scalar" else "h")
        shape = () if form == "scalar" else self.pick(self.array_shapes)
        value = Text("0.0") if form == "scalar" and self.chance(50) else self.array_value(
            scope, shape, 1, self.protected(scope))
        scope.vars[name] = Var(name, shape)
        return [Assign(name, value)]

    def _length_text(self, scope: Scope, n: int) -> str:
        options = [str(n)]
        for v in scope.floats():
            if len(v.shape) >= 1 and v.shape[0] == n:
                options += [f"len({v.name})", f"{v.name}.shape[0]"]
            if len(v.shape) == 2 and v.shape[1] == n:
                options.append(f"{v.name}.shape[1]")
        return self.pick(options)

    def s_for(self, scope):
        pre = self._accumulator(scope)
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=True)
        iterables = [v for v in scope.floats() if v.shape and not v.owned]
        form = self.weighted([("range", 4)] + ([("array", 1), ("enumerate", 1), ("zip", 1)]
                                               if iterables else []))
        self.tag(f"for {form}", *(["nested loop"] if scope.loop_depth else []))
        if form == "range":
            target = self.fresh("i")
            int_params = [v for v in scope.ints() if v.name == "n"]
            lengths = sorted({s[0] for s in self.array_shapes} | {0, 1, 2})
            n_param = bool(int_params) and self.chance(40)
            n = int_params[0].values[0] if n_param else self.pick(lengths)
            text = "n" if n_param else self._length_text(scope, n)
            start, stop, step = self.pick(((0, n, 1), (1, n, 1), (n - 1, -1, -1), (0, n, 2)))
            values = tuple(range(start, stop, step))
            iterator = {(0, 1): f"range({text})", (1, 1): f"range(1, {text})",
                        (n - 1, -1): f"range({text} - 1, -1, -1)",
                        (0, 2): f"range(0, {text}, 2)"}[start, step]
            self.tag(f"range({'n' if start == 0 and step == 1 else '...'})")
            body_scope.vars[target] = Var(target, (), "int", values)
            if n == 0:
                self.tag("zero-trip loop")
        else:
            first = self.pick(iterables)
            body_scope.vars[first.name] = replace(first, frozen=True)
            target = self.fresh("e")
            body_scope.vars[target] = Var(target, first.shape[1:])
            iterator = first.name
            if form == "enumerate":
                index = self.fresh("i")
                body_scope.vars[index] = Var(index, (), "int", tuple(range(first.shape[0])))
                target, iterator = f"{index}, {target}", f"enumerate({first.name})"
            elif form == "zip":
                second = self.pick(iterables)
                body_scope.vars[second.name] = replace(second, frozen=True)
                other = self.fresh("e")
                body_scope.vars[other] = Var(other, second.shape[1:])
                target, iterator = f"{target}, {other}", f"zip({first.name}, {second.name})"
        body = self.block(body_scope, 3)
        return pre + [For(target, iterator, body)]

    def s_while(self, scope):
        if self.chance(25):
            return self.while_value(scope)
        pre = self._accumulator(scope)
        counter = self.fresh("k")
        trips = self.integer(1, 4)
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=True)
        body_scope.vars[counter] = Var(counter, (), "int", tuple(range(1, trips + 1)))
        step = Assign(counter, Text("1"), "+")
        count_test = Compare(next(self.ids), "<", Text(counter), Text(str(trips)))
        form = self.pick(("counted", "counted and value", "while True"))
        self.tag(form if form == "while True" else f"while {form}",
                 *(["nested loop"] if scope.loop_depth else []))
        if form == "while True":
            stop = If(Compare(next(self.ids), ">", Text(counter), Text(str(trips))),
                      [Jump("break")])
            loop = While(Text("True"), [step, stop] + self.block(body_scope, 3))
        else:
            test = count_test
            if form == "counted and value":
                test = BoolOp("and", count_test, self.cond(scope, 2))
            loop = While(test, [step] + self.block(body_scope, 3))
        scope.vars[counter] = Var(counter, (), "int", tuple(range(trips + 2)))
        return pre + [Assign(counter, Text("0")), loop]

    def while_value(self, scope):
        """`while s < C:` with s rising by at least 0.5 a trip from below 1: at most 8 trips."""
        self.tag("while on a value", *(["nested loop"] if scope.loop_depth else []))
        name = self.fresh("s")
        mod = "math" if self.chance(50) else "np"
        start = Assign(name, Call(f"{mod}.tanh", (self.expr(scope, (), 1),)))
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=True)
        body_scope.vars[name] = Var(name, (), frozen=True)
        rise = BinOp("+", Text("0.5"), BinOp("**", self.expr(body_scope, (), 1), Text("2")))
        test = Compare(next(self.ids), "<", Text(name), Text(self.pick(("1.0", "2.0", "3.0"))))
        loop = While(test, [Assign(name, rise, "+")] + self.block(body_scope, 3))
        scope.vars[name] = Var(name, ())
        return [start, loop]

    def s_jump(self, scope):
        word = self.pick(("break", "continue"))
        self.tag(word)
        return [If(self.cond(scope, 2), [Jump(word)])]

    def return_value(self, scope: Scope, depth: int) -> Node:
        protected = self.protected(scope)
        if scope.ret_shapes is None:
            return self.array_value(scope, scope.ret_shape, depth, protected)
        return Tup(tuple(self.array_value(scope, shape, depth, protected)
                         for shape in scope.ret_shapes))

    def s_return(self, scope):
        self.tag("early return")
        return [If(self.cond(scope, 2), [Return(self.return_value(scope, 2))])]

    def while_true_return(self, scope: Scope) -> list:
        """A helper's last statement `while True:` left by a `return` inside (after at most a
        few trips, or earlier on a condition); no break in it."""
        counter = self.fresh("k")
        trips = self.integer(1, 4)
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=False)
        body_scope.vars[counter] = Var(counter, (), "int", tuple(range(1, trips + 2)))
        test: Node = Compare(next(self.ids), ">", Text(counter), Text(str(trips)))
        if self.chance(40):
            test = BoolOp("or", test, self.cond(body_scope, 1))
        self.tag("while True left by a return")
        body = [Assign(counter, Text("1"), "+"),
                If(test, [Return(self.return_value(body_scope, 2))])]
        self.budget = self.integer(1, 3)
        body += self.block(body_scope, 2)
        return [Assign(counter, Text("0")), While(Text("True"), body)]

    # -- functions -----------------------------------------------------------------------------

    def helper(self, favoured: list) -> FunctionDef:
        name = f"helper{len(self.helpers)}"
        shapes = tuple(self.pick(favoured * 2 + self.shapes) for _ in range(self.integer(1, 3)))
        ret = self.pick(self.shapes)
        rets = None
        if self.chance(25):  # `return a * b + c, a - b`
            rets = tuple(self.pick(favoured + self.shapes) for _ in range(self.integer(2, 3)))
            self.tag("helper returning a tuple")
        params = tuple(f"a{i}" for i in range(len(shapes)))
        scope = Scope({p: Var(p, s, protected=True) for p, s in zip(params, shapes)},
                      can_return=self.chance(30), ret_shape=ret, ret_shapes=rets)
        self.budget = self.integer(0, 4)
        body = self.block(scope, 3) if self.budget else []
        if self.chance(15):
            body += self.while_true_return(scope)
        else:
            body.append(Return(self.return_value(scope, 2)))
        self.helpers.append(Helper(name, shapes, None if rets else ret, rets))
        self.tag("helper" + (" with a loop" if any(isinstance(s, (For, While))
                                                   for s in _walk(body)) else ""))
        return FunctionDef(name, params, body)

    def main(self, shapes: tuple, int_param: int | None, labels: int | None) -> FunctionDef:
        params = tuple(f"x{i}" for i in range(len(shapes)))
        scope = Scope({p: Var(p, s) for p, s in zip(params, shapes)}, can_return=True)
        for p, s in zip(params, shapes):
            if s and self.chance(25):  # written into: never aliased, never iterated over
                scope.vars[p] = Var(p, s, owned=True, protected=True)
        if int_param is not None:
            scope.vars["n"] = Var("n", (), "int", (int_param,))
            params += ("n",)
        if labels is not None:  # an integer array argument (read, and a model for zeros_like)
            scope.vars["labels"] = Var("labels", (labels,), "intarr", protected=True)
            params += ("labels",)
        self.budget = self.integer(1, 10)
        body = self.block(scope, 6)
        for helper in self.helpers:  # every helper is called somewhere
            if helper.rets and helper.name not in self.called:
                body += self.s_unpack(scope, helper)
        terms = []
        for var in scope.floats():
            if var.name in params and not self.chance(30):
                continue
            form = self.integer(0, 2)
            ref = Text(var.name)
            term = (ref, BinOp("**", ref, Text("2")), Call("np.sin", (ref,)))[form]
            terms.append(Call("np.sum", (term,)) if var.shape else term)
        if not terms or self.chance(30):
            terms.append(self.expr(scope, (), 2))
        for helper in self.helpers:  # every helper is called somewhere
            if helper.name not in self.called:
                call = self.call(scope, helper, 1)
                terms.append(Call("np.sum", (call,)) if helper.ret else call)
        value = terms[0]
        for term in terms[1:]:
            value = BinOp("+", value, term)
        body.append(Return(value))
        return FunctionDef("f", params, body)


@st.composite
def programs(draw, numba_every: int = 1) -> Program:
    """A random program. numba_every: 1 checks every program on numba too; k > 1 about one
    program in k (the others on the python backend only)."""
    n, m = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    gen = Gen(draw, n, m)
    shapes = [gen.pick(gen.shapes) for _ in range(gen.integer(1, 4))]
    functions = [gen.helper(shapes) for _ in range(gen.integer(0, 2))]
    int_param = gen.integer(0, 3) if gen.chance(15) else None
    labels = n if gen.chance(10) else None
    main = gen.main(tuple(shapes), int_param, labels)
    functions.append(main)
    rng = np.random.default_rng(gen.integer(0, 2**16))
    values = [float(round(rng.uniform(-1.5, 1.5), 3)) if s == ()
              else np.round(rng.uniform(-1.5, 1.5, size=s), 3) for s in shapes]
    if gen.chance(20):  # an entry exactly 0.0 (zero bases of powers)
        i = gen.integer(0, len(shapes) - 1)
        if shapes[i]:
            values[i][tuple(gen.integer(0, k - 1) for k in shapes[i])] = 0.0
        else:
            values[i] = 0.0
        gen.tag("argument entry exactly 0.0")
    for i, s in enumerate(shapes):
        if s == () and gen.chance(15):
            values[i] = np.float64(values[i])
            gen.tag("np.float64 argument")
    if int_param is not None:
        values.append(int_param)
        gen.tag("int argument")
    if labels is not None:
        values.append(rng.integers(0, labels, size=labels))
        gen.tag("int array argument")
    floats = tuple(main.params[:len(shapes)])
    form = gen.pick(("all", "one by name", "one by position"))
    if form == "all":
        wrt, wrt_arg = floats, floats
    else:
        position = gen.integer(0, len(floats) - 1)
        wrt = (floats[position],)
        wrt_arg = floats[position] if form == "one by name" else position
    use_value = gen.chance(50)
    # One in numba_every (by a wide draw: Hypothesis favours the ends of narrow ranges); shrinks
    # to the python backend alone unless the failure needs numba.
    check_numba = numba_every <= 1 or gen.integer(0, 2**32 - 1) % numba_every == numba_every - 1
    gen.tag(*{"scalar argument" if s == () else f"{len(s)}-d argument" for s in shapes})
    if any(len(s) == 2 and 1 in s for s in shapes):
        gen.tag("row/column argument")
    program = Program(functions, main.params, tuple(values), wrt, wrt_arg, use_value,
                      check_numba, frozenset(gen.tags), frozenset(gen.refusable),
                      frozenset(gen.blockers))
    used = [(name, value) for name, value in CHANGED_CONSTANTS if name in program.source()]
    if used and gen.chance(40):
        gen.tag("module constant changed between calls")
        program = replace(program, changed=tuple(used), tags=frozenset(gen.tags))
    return program


# -- the program as a module -----------------------------------------------------------------


_MODULES: dict[str, object] = {}


def load(program: Program, workdir: Path):
    """The program's main function, imported from a module file written under workdir."""
    source = program.source()
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    module = _MODULES.get(digest)
    if module is None:
        path = Path(workdir) / f"fuzz_{digest}.py"
        if not path.exists():
            path.write_text(source, encoding="utf-8")
        name = f"ad_compiler_fuzz_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _MODULES[digest] = module
    return getattr(module, program.main)
