"""From the gradient program (IR) to Python source. Knows no calculus.

Each operation prints through its rule's template. Compiler temporaries used once are folded
back into the expression that uses them, so the forward sweep reads much like the user's code;
every group of statements is preceded by a comment quoting the source line it computes or
reverses. The module imports its own aliases and calls only `ad_compiler.runtime`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .custom import function_names
from .int_checks import CHECKED, GUARD, int_checks
from .int_powers import int_powers, power_template
from .ir import FLOAT, Assign, Block, Const, Function, If, Loc, Loop, Operand, Stmt, Var, walk
from .kinds import KindTable
from .rules import RULES
from .runtime_products import TINY_FORMS

_FORWARD_TEMP = re.compile(r"t\d+$")  # temporaries of values (their adjoints stay on lines)


@dataclass(frozen=True)
class Program:
    """What codegen produces: the module source and the name of its function."""

    source: str
    function_name: str


def format_template(template: str, nargs: int, attrs: dict) -> str:
    values = {k: (v if isinstance(v, str) else repr(v)) for k, v in attrs.items()}
    return template.format(*[f"__a{i}" for i in range(nargs)], **values)


def _parse_template(text: str, statement: bool) -> ast.AST:
    """A fresh tree (substituting arguments changes it): parsing is faster than a deepcopy."""
    tree = ast.parse(text, mode="exec" if statement else "eval")
    return tree.body[0] if statement else tree.body


class _SimplifyRange(ast.NodeTransformer):
    """range(0, n, 1) reads better as range(n)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "range" and len(node.args) == 3:
            start, stop, step = node.args
            if _is_const(step, 1):
                node.args = [stop] if _is_const(start, 0) else [start, stop]
        return node


def _is_const(node: ast.AST, value: int) -> bool:
    return isinstance(node, ast.Constant) and node.value == value and type(node.value) is int


class _Substitute(ast.NodeTransformer):
    def __init__(self, args: list[ast.expr]) -> None:
        self.args = args

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("__a"):
            return self.args[int(node.id[3:])]
        return node


def constant_ast(value) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple([constant_ast(v) for v in value], ast.Load())
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (value < 0 or (isinstance(value, float) and str(value).startswith("-")))
    ):
        return ast.UnaryOp(ast.USub(), constant_ast(-value))
    if isinstance(value, float) and value != value:
        return ast.parse("np.nan", mode="eval").body
    if isinstance(value, float) and value in (float("inf"),):
        return ast.parse("np.inf", mode="eval").body
    return ast.Constant(value)


def _placeholder(kind) -> str:
    """The value of a helper's result before the loop that returns it: never read, but numba
    needs it typed like the result (a number, or an empty array of the same dimensions)."""
    if kind.ndim is None or kind.ndim == 0:
        return {"int": "0", "bool": "False"}.get(kind.dtype, "0.0")
    dtype = {"int": ", dtype=np.int64", "bool": ", dtype=np.bool_"}.get(kind.dtype, "")
    return f"np.zeros(({'0, ' * kind.ndim}){dtype})"


# What x.size, x.ndim and x.shape are for a number (a NumPy scalar's; a 0-d array's)
_NUMBER_ATTRIBUTES = {"size": "1", "ndim": "0", "shape": "()"}


def _grown_template(stmt: Assign, kinds: KindTable, python_ints: bool) -> str | None:
    """A list grown in a loop (growing.py) holding bools or ints (kinds.grown_dtypes): its
    array of that dtype, in NumPy programs of Python's ints (past int64 too), and `np.array`
    of it as NumPy makes one (int64, or objects past it)."""
    if stmt.op in ("zeros", "list_buffer") and stmt.target:
        dtype = kinds.of(Var(stmt.target)).dtype
        if dtype == "int":
            return f"np.zeros({{0}}, dtype={'object' if python_ints else 'np.int64'})"
        return "np.zeros({0}, dtype=np.bool_)" if dtype == "bool" else None
    if stmt.op == "array_copy" and python_ints and kinds.of(stmt.args[0]).dtype == "int":
        return "np.array({0}.tolist())"
    return None


def _int_division_by_variable(stmt: Assign, kinds) -> bool:
    """`a // b` or `a % b` of scalar ints, b not a nonzero constant."""
    a, b = (kinds.of(o) for o in stmt.args)
    ints = ("int", "bool")
    if not (a.ndim == 0 and b.ndim == 0 and a.dtype in ints and b.dtype in ints):
        return False
    divisor = stmt.args[1]
    return not (isinstance(divisor, Const) and divisor.value != 0)


def _is_parameter(operand, params: frozenset[str]) -> bool:
    return isinstance(operand, Var) and operand.name in params


class _Printer:
    def __init__(self, kinds: KindTable, fold: bool) -> None:
        self.kinds = kinds
        self.fold = fold
        self.lines: list[str] = []
        self.uses: dict[str, int] = {}
        self.exposed: set[str] = set()
        self.modules: set[str] = set()
        self.powers: dict[str, str] = {}  # int powers of numba code (int_powers.py)
        self.int_checks: set[int] = set()  # checked int arithmetic of numba code (int_checks.py)
        self.python_ints = False  # NumPy programs: ints are Python's, taped as they are
        self.numba = False  # numba programs: where numba's meaning differs, Python's (_numba_form)
        self.params: frozenset[str] = frozenset()  # the program's parameters

    # -- expressions ---------------------------------------------------------------------------

    def operand(self, o: Operand, inline: dict[str, ast.expr]) -> ast.expr:
        if isinstance(o, Const):
            return constant_ast(o.value)
        if o.name in inline:
            return inline.pop(o.name)
        return ast.Name(o.name, ast.Load())

    def template(self, stmt: Assign) -> str:
        if stmt.op == "unassigned":
            return _placeholder(self.kinds.of(Var(stmt.target)))
        if stmt.target in self.powers and stmt.op == "pow":
            return power_template(self.powers[stmt.target], stmt)
        if id(stmt) in self.int_checks:
            return CHECKED[stmt.op]
        if self.python_ints and stmt.op == "tape_alloc" and stmt.attr("dtype") == "int64":
            return "np.empty({0}, dtype=object)"  # (an int past int64 fits, as in Python)
        if stmt.attr("grown"):
            grown = _grown_template(stmt, self.kinds, self.python_ints)
            if grown is not None:
                return grown
        rule = RULES[stmt.op]
        template = rule.emit
        if rule.emit_scalar is not None and all(self.kinds.of(a).is_scalar for a in stmt.args):
            template = rule.emit_scalar
        if callable(template):
            template = template(len(stmt.args), dict(stmt.attrs))
        if self.numba:
            return self._numba_form(stmt, template)
        return template

    def _numba_form(self, stmt: Assign, template: str) -> str:
        """`template`, or what computes Python's value where numba's differs."""
        if stmt.op == "list_new":
            return _typed_empty_list(stmt.attr("element"))
        if not stmt.args:
            return template
        first = self.kinds.of(stmt.args[0])
        if stmt.op in _NUMBER_ATTRIBUTES and first.ndim == 0:
            # a 0-d array argument reaches numba as the number it holds (shaping.py)
            return _NUMBER_ATTRIBUTES[stmt.op]
        if template in ("float({0})", "int({0})"):
            # numba has no float() or int() of a 0-d array, which a number's parameter may be
            x = "rt.number({0})" if _is_parameter(stmt.args[0], self.params) else "{0}"
            if template == "int({0})" and first.dtype == "float":
                return f"rt.int_of({x})"  # (numba's int() of a float past int64 is undefined)
            if first.dtype == "bool":  # (numba has no float() or int() of a bool)
                return f"1.0 if {x} else 0.0" if template == "float({0})" else f"1 if {x} else 0"
            return template.replace("{0}", x)
        if stmt.op == "clip" and first.dtype in ("int", "bool") and first.ndim != 0:
            bounds = [self.kinds.of(b).dtype for b in stmt.args[1:]]
            if "float" in bounds or None in bounds:  # (numba's clip keeps the array's ints)
                return template.replace("{0}", "{0}.astype(np.float64)", 1)
        if stmt.op in ("floordiv", "mod") and _int_division_by_variable(stmt, self.kinds):
            # (numba's int division by zero gives 0 under NumPy's error model; Python raises)
            return f"rt.int_{stmt.op}({{0}}, {{1}})"
        if stmt.op == "matmul" and len(stmt.args) == 2:
            dims = (first.ndim, self.kinds.of(stmt.args[1]).ndim)
            if dims in TINY_FORMS:
                return "rt.matprod({0}, {1})"  # (loops for tiny operands: runtime_products)
        if stmt.op == "pow" and first == FLOAT:
            exponent = stmt.args[1]
            if isinstance(exponent, Const) and type(exponent.value) is int and exponent.value < 0:
                return f"1.0 / {{0}} ** {-exponent.value}"  # (numba's x ** -2 raises at 0.0)
        return template

    def expression(self, stmt: Assign, inline: dict[str, ast.expr]) -> ast.AST:
        text = format_template(self.template(stmt), len(stmt.args), dict(stmt.attrs))
        statement = stmt.target is None
        node = _parse_template(text, statement)
        args = [self.operand(a, inline) for a in stmt.args]
        node = _SimplifyRange().visit(_Substitute(args).visit(node))
        for name in ("np", "math", "rt"):
            if re.search(rf"\b{name}\.", text):
                self.modules.add(name)
        return node

    # -- statements ----------------------------------------------------------------------------

    def block(self, block: Block, indent: int, context: tuple | None = None) -> None:
        """Print a block; `context` is the source line the enclosing statement quoted."""
        inline: dict[str, ast.expr] = {}
        # The names each folded expression reads, through the temporaries folded into it.
        inline_reads: dict[str, set[str]] = {}
        last = context
        printed = 0
        for i, stmt in enumerate(block):
            reads = set()
            for a in stmt.args if isinstance(stmt, Assign) else ():
                if isinstance(a, Var):
                    reads |= inline_reads.get(a.name, {a.name})
            if isinstance(stmt, Assign) and self._foldable(stmt, block, i, reads):
                inline_reads[stmt.target] = reads
                inline[stmt.target] = self.expression(stmt, inline)
                continue
            origin = stmt.reverses if stmt.reverses is not None else stmt.loc
            if origin is not None:
                key = (stmt.reverses is not None, origin.filename, origin.line)
                if key != last:
                    self.comment(origin, indent, reverse=stmt.reverses is not None)
                last = key
            self.statement(stmt, indent, inline, last)
            printed += 1
        if printed == 0:
            self.lines.append("    " * indent + "pass")

    def comment(self, loc: Loc, indent: int, reverse: bool) -> None:
        text = loc.text.strip()
        prefix = "reverse of line" if reverse else "line"
        self.lines.append("    " * indent + f"# {prefix} {loc.line}: {text}")

    def statement(self, stmt: Stmt, indent: int, inline: dict, context: tuple | None) -> None:
        pad = "    " * indent
        if isinstance(stmt, _Break):
            self.lines.append(pad + f"if {stmt.flag}:")
            self.lines.append(pad + "    break")
        elif isinstance(stmt, Assign):
            node = self.expression(stmt, inline)
            if stmt.target is None:
                self.lines.append(pad + ast.unparse(node))
            elif isinstance(node, ast.Name) and node.id == stmt.target:
                return
            else:
                self.lines.append(pad + f"{stmt.target} = {ast.unparse(node)}")
        elif isinstance(stmt, If):
            cond = self.operand(stmt.cond, inline)
            if stmt.body:
                self.lines.append(pad + f"if {ast.unparse(cond)}:")
                self.block(stmt.body, indent + 1, context)
                if stmt.orelse:
                    self.lines.append(pad + "else:")
                    self.block(stmt.orelse, indent + 1, context)
            else:
                negated = ast.UnaryOp(ast.Not(), cond)
                self.lines.append(pad + f"if {ast.unparse(negated)}:")
                self.block(stmt.orelse, indent + 1, context)
        else:
            self.loop(stmt, indent, inline, context)

    def loop(self, loop: Loop, indent: int, inline: dict, context: tuple | None) -> None:
        pad = "    " * indent
        if loop.is_range:
            bounds = [loop.start, loop.stop, loop.step]
            if loop.step == Const(1):
                bounds = bounds[:2] if loop.start != Const(0) else bounds[1:2]
            text = ", ".join(ast.unparse(self.operand(b, inline)) for b in bounds)
            self.lines.append(pad + f"for {loop.index} in range({text}):")
            self.block(loop.body + self._exit(loop), indent + 1, context)
            return
        if not loop.test and loop.cond is not None:
            cond = ast.unparse(self.operand(loop.cond, inline))
            self.lines.append(pad + f"while {cond}:")
            self.block(loop.body + self._exit(loop), indent + 1, context)
            return
        self.lines.append(pad + "while True:")
        test_printer_start = len(self.lines)
        self.block(loop.test, indent + 1, context)
        if self.lines[-1].strip() == "pass" and len(self.lines) == test_printer_start + 1:
            self.lines.pop()
        cond = ast.unparse(ast.UnaryOp(ast.Not(), self.operand(loop.cond, {})))
        self.lines.append(pad + f"    if {cond}:")
        self.lines.append(pad + "        break")
        self.block(loop.body + self._exit(loop), indent + 1, context)

    @staticmethod
    def _exit(loop: Loop) -> tuple:
        if loop.exit_flag is None:
            return ()
        return (_Break(loop.exit_flag),)

    # -- folding -------------------------------------------------------------------------------

    def _foldable(self, stmt: Assign, block: Block, i: int, reads: set[str]) -> bool:
        """A temporary used once, by a later statement of this same block, with nothing in
        between that changes what it reads: `reads` holds every name its expression reads,
        those of the temporaries already folded into it included (`x, y = c*x - s*y, ...`
        must not read the new `y`)."""
        if not self.fold or stmt.target is None or not _FORWARD_TEMP.match(stmt.target):
            return False
        rule = RULES[stmt.op]
        if rule.mutates is not None or stmt.op.startswith(("list_", "tape_")):
            return False
        uses = self.uses.get(stmt.target, 0)
        if uses != 1 and (stmt.target in self.exposed or _reads_after(block, i) != 1):
            # (a name recomputed under the same name elsewhere, as the reverse sweep does,
            # has other uses; they read their own definition when no read is exposed)
            return False
        for later in block[i + 1 :]:
            if _reads_directly(later, stmt.target):
                return True
            if isinstance(later, (If, Loop)) and stmt.target in _names_read(later):
                return False
            if set(_assigned_names(later)) & (reads | {stmt.target}):
                return False
            if _mutates_any(later):
                return False
        return False


@dataclass(frozen=True)
class _Break:
    flag: str
    loc: Loc | None = None
    reverses: Loc | None = None


def _reads_directly(stmt, name: str) -> bool:
    if isinstance(stmt, Assign):
        return any(isinstance(a, Var) and a.name == name for a in stmt.args)
    if isinstance(stmt, If):
        return stmt.cond == Var(name)
    if isinstance(stmt, Loop):
        return any(o == Var(name) for o in (stmt.start, stmt.stop, stmt.step))
    return False


def _names_read(stmt) -> set[str]:
    names: set[str] = set()
    for s in walk((stmt,)):
        if isinstance(s, Assign):
            names |= {a.name for a in s.args if isinstance(a, Var)}
        elif isinstance(s, If) and isinstance(s.cond, Var):
            names.add(s.cond.name)
        elif isinstance(s, Loop):
            names |= {o.name for o in (s.start, s.stop, s.step, s.cond) if isinstance(o, Var)}
    return names


def _assigned_names(stmt) -> list[str]:
    out = []
    for s in walk((stmt,)):
        if isinstance(s, Assign) and s.target:
            out.append(s.target)
        elif isinstance(s, Loop) and s.index:
            out.append(s.index)
    return out


def _mutates_any(stmt) -> bool:
    return any(isinstance(s, Assign) and RULES[s.op].mutates is not None for s in walk((stmt,)))


def count_uses(fn: Function) -> dict[str, int]:
    uses: dict[str, int] = {}

    def add(o) -> None:
        if isinstance(o, Var):
            uses[o.name] = uses.get(o.name, 0) + 1

    for s in walk(fn.body):
        if isinstance(s, Assign):
            for a in s.args:
                add(a)
        elif isinstance(s, If):
            add(s.cond)
        else:
            for o in (s.start, s.stop, s.step, s.cond):
                add(o)
            if s.exit_flag:
                add(Var(s.exit_flag))
    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    for o in outputs:
        add(o)
        add(o)  # returned values are never folded away
    return uses


def exposed_reads(fn: Function) -> set[str]:
    """Names read somewhere without a definition of that name earlier in the same block, or in
    the blocks around it, to read: such a read may see any definition (one from before a
    branch, from the previous iteration of a loop, from another block). A temporary none of
    whose reads is exposed is read only by the statements after its definition that come
    before the next one: `_reads_after` counts them."""
    exposed: set[str] = set()

    def read(o, defined: set[str]) -> None:
        if isinstance(o, Var) and o.name not in defined:
            exposed.add(o.name)

    def block(stmts, defined: set[str]) -> None:
        defined = set(defined)
        for s in stmts:
            if isinstance(s, Assign):
                for a in s.args:
                    read(a, defined)
                if s.target:
                    defined.add(s.target)
            elif isinstance(s, _Break):
                exposed.add(s.flag)
            elif isinstance(s, If):
                read(s.cond, defined)
                block(s.body, defined)
                block(s.orelse, defined)
                defined -= set(_assigned_names(s))  # either branch's value may follow
            else:
                for o in (s.start, s.stop, s.step):
                    read(o, defined)
                for o in (s.cond, Var(s.exit_flag) if s.exit_flag else None):
                    if isinstance(o, Var):
                        exposed.add(o.name)
                # in the loop, a name it assigns may hold the previous iteration's value
                defined -= set(_assigned_names(s))
                block(s.test, defined)
                block(s.body, defined | ({s.index} if s.index else set()))

    block(fn.body, set())
    for o in fn.result if isinstance(fn.result, tuple) else (fn.result,):
        if isinstance(o, Var):
            exposed.add(o.name)
    return exposed


def _reads_after(block: Block, i: int) -> int:
    """How many reads of block[i]'s target the statements after it make, up to and including
    the next statement of this block that assigns it again."""
    name, count = block[i].target, 0
    for later in block[i + 1 :]:
        count += _read_count(later, name)
        if isinstance(later, Assign) and later.target == name:
            break
    return count


def _read_count(stmt, name: str) -> int:
    count = 0
    for s in walk((stmt,)):
        if isinstance(s, Assign):
            operands = s.args
        elif isinstance(s, If):
            operands = (s.cond,)
        elif isinstance(s, Loop):
            operands = (s.start, s.stop, s.step, s.cond, Var(s.exit_flag or ""))
        else:  # a _Break
            operands = (Var(s.flag),)
        count += sum(1 for o in operands if isinstance(o, Var) and o.name == name)
    return count


# A temporary, or a string literal (an index check quotes the source line: left alone).
_TEMP_NAME = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|\bt(\d+)(_bar)?\b""")


def renumber_temporaries(lines: list[str]) -> list[str]:
    """Number the printed temporaries t1, t2, ... in order of appearance (t3_bar follows t3);
    comments and string literals, which quote the user's source, are left alone."""
    order: dict[str, str] = {}
    for line in lines:
        if not line.lstrip().startswith("#"):
            for match in _TEMP_NAME.finditer(line):
                if match.group(2):
                    order.setdefault(match.group(2), str(len(order) + 1))

    def rename(match: re.Match) -> str:
        if match.group(1):
            return match.group(1)
        return f"t{order[match.group(2)]}{match.group(3) or ''}"

    return [
        line if line.lstrip().startswith("#") else _TEMP_NAME.sub(rename, line) for line in lines
    ]


def generate(
    fn: Function, kinds: KindTable, backend: str, header: str, fold: bool = True
) -> Program:
    """Python source of a module defining `fn`."""
    printer = _Printer(kinds, fold)
    printer.uses = count_uses(fn)
    printer.exposed = exposed_reads(fn)
    if backend == "numba":
        printer.powers = int_powers(fn, kinds)
        printer.int_checks, guarded = int_checks(fn, kinds)
        printer.numba = True
    else:
        printer.python_ints, guarded = True, ()
    # IEEE arithmetic: a division by zero gives inf or nan, as in NumPy, not an exception.
    decorator = ['@njit(cache=True, error_model="numpy")'] if backend == "numba" else []
    printer.params = frozenset(fn.params)
    printer.lines.append(f"def {fn.name}({', '.join(fn.params)}):")
    if guarded:  # (a bigger int runs on the NumPy program)
        printer.lines.append("    # int arguments under 2**31 (int_checks.py)")
        printer.lines += [f"    {GUARD.format(p)}" for p in guarded]
        printer.modules.add("rt")
    printer.block(fn.body, 1)
    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    returned = ", ".join(ast.unparse(printer.operand(o, {})) for o in outputs)
    printer.lines.append(f"    return {returned}")
    printer.lines = renumber_temporaries(printer.lines)
    imports = []
    if "math" in printer.modules:
        imports.append("import math")
    imports.append("import numpy as np")
    if backend == "numba":
        imports.append("from numba import njit")
    if "rt" in printer.modules:
        imports.append("from ad_compiler import runtime as rt")
        if backend == "numba":
            imports.append("import ad_compiler.runtime_numba  # noqa: F401  (runtime for numba)")
            if _calls_scipy_kernels(printer.lines):
                imports.append(
                    "import ad_compiler.runtime_special_numba  # noqa: F401  (scipy.special)"
                )
    customs = _custom_functions(fn, backend)
    if customs:
        imports.append("from ad_compiler.custom import registered")
    source = (
        "\n".join(
            [
                f'"""{header}"""',
                "",
                *sorted(imports, key=_import_order),
                *([""] + customs if customs else []),
                "",
                "",
                *decorator,
                *printer.lines,
            ]
        )
        + "\n"
    )
    return Program(source, fn.name)


def _custom_functions(fn: Function, backend: str) -> list[str]:
    """Module-level names for the functions with the user's own rules (custom.py)."""
    lines = []
    used = {
        (s.attr("custom"), s.attr("version"), s.op)
        for s in walk(fn.body)
        if isinstance(s, Assign) and s.op in ("custom", "custom_vjp")
    }
    for key, version, op in sorted(used):
        which = "primal" if op == "custom" else "vjp"
        name = function_names(key)[0 if which == "primal" else 1]
        lines.append(f'{name} = registered("{key}", "{which}", "{backend}")  # version {version}')
    return lines


_RUNTIME_CALL = re.compile(r"\brt\.(\w+)\(")


def _calls_scipy_kernels(lines: list[str]) -> bool:
    """Whether the program calls a runtime helper whose numba version calls scipy.special's C
    kernels (runtime.SCIPY_KERNEL_HELPERS)."""
    from .runtime import SCIPY_KERNEL_HELPERS

    return any(m[1] in SCIPY_KERNEL_HELPERS for line in lines for m in _RUNTIME_CALL.finditer(line))


def _import_order(line: str) -> tuple:
    return (line.startswith("from"), line)


def _typed_empty_list(element) -> str:
    """An empty list numba types by its element even where it prunes every append (a branch
    on a condition it computes from constants): `[0 for _ in range(0)]` is a list of ints."""
    if element is None or element.ndim is None or element.dtype not in ("float", "int", "bool"):
        return "[]"
    if element.ndim == 0:
        return {"float": "[0.0", "int": "[0", "bool": "[False"}[
            element.dtype
        ] + " for _ in range(0)]"
    dtype = {"float": "", "int": ", dtype=np.int64", "bool": ", dtype=np.bool_"}[element.dtype]
    return f"[np.empty({(0,) * element.ndim}{dtype}) for _ in range(0)]"
