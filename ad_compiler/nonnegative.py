"""Indices that cannot be negative, printed unsigned in numba programs.

numba indexes an array with a signed integer by first wrapping a negative one around (`i + n`
when `i < 0`, as Python does): a compare and select on every access, which LLVM removes only
where it proves the index nonnegative. It cannot for an index computed from a counter (`li +
(r - t4)` in the reverse of GMM's triangular loop). An unsigned index (`x[np.uintp(i)]`) skips
the wrap-around: that loop's reverse took about 1 ms less of 6 (GMM loops, d = 10).

Which int names are never negative is decided over the whole program, in whatever order its
statements run: every assignment to such a name gives a value >= 0 when the names it reads
are such names (the largest such set: names are struck out until none needs striking). Values
>= 0 are constants >= 0; lengths, sizes and shape entries; sums, products, quotients, remainders
and minima of such values, maxima with one; the index of a range loop that starts at one (or
counts down to a stop >= -1); `r - b` inside a loop whose index r starts at b (or counts down to
a stop `b - 1`), neither reassigned in it; what the reverse sweep recomputes of a counter that
is never negative in the primal program, and the top of a tape used as a stack after a pop
(loop_running.py and loops.py mark those statements `nonnegative`). This holds when the
program runs under int_checks.py's assumptions, which keep ints from wrapping around: sizes
under 2**31, and a counter moving less than 2**61 in a call (a loop of more iterations, which
CPython would not finish, but LLVM may compute in closed form, could wrap one negative).
"""

from __future__ import annotations

from dataclasses import replace

from .ir import Assign, Block, Const, Function, If, Loop, Operand, Stmt, Var, defined_names
from .kinds import KindTable

_SIZES = {"len", "dim", "size", "range_len", "ndim", "argmax", "argmin"}
_ALL_NONNEGATIVE = {"add", "mul", "copy", "floordiv", "min", "minimum"}
_ONE_NONNEGATIVE = {"max", "maximum"}
_INDEXING = ("getitem", "setitem", "index_add")
_TAPES = ("tape_store", "tape_load")


class _Program:
    """Every definition of every int name of `fn`, with the loops around it."""

    def __init__(self, fn: Function, kinds: KindTable) -> None:
        # name -> [(what, statement, the loops around it, the block it is in)]
        self.defs: dict[str, list[tuple]] = {}
        self._visit(fn.body, ())
        self.ints = {n for n in self.defs if n not in fn.params and _is_int(kinds, n)}

    def _add(self, name: str, what: str, stmt, loops: tuple, block: Block) -> None:
        self.defs.setdefault(name, []).append((what, stmt, loops, block))

    def _visit(self, block: Block, loops: tuple[tuple[Loop, Block], ...]) -> None:
        for s in block:
            if isinstance(s, Assign):
                if s.target:
                    self._add(s.target, "assign", s, loops, block)
                continue
            for p in s.phis:
                self._add(p.name, "phi", p, loops, block)
            if isinstance(s, If):
                self._visit(s.body, loops)
                self._visit(s.orelse, loops)
                continue
            if s.index:
                self._add(s.index, "index", s, loops, block)
            if s.exit_flag:
                self._add(s.exit_flag, "flag", s, loops, block)
            inner = loops + ((s, block),)
            self._visit(s.test, inner)
            self._visit(s.body, inner)


def _is_int(kinds: KindTable, name: str) -> bool:
    kind = kinds.of(Var(name))
    return kind.ndim == 0 and kind.dtype == "int"


def nonnegative_ints(fn: Function, kinds: KindTable, program: _Program | None = None) -> set[str]:
    """The int names of `fn` never negative (see the module's doc)."""
    program = program or _Program(fn, kinds)
    known = set(program.ints)
    changed = True
    while changed:
        changed = False
        for name in sorted(known):
            if not all(_gives_nonnegative(d, known) for d in program.defs[name]):
                known.discard(name)
                changed = True
    return known


def _gives_nonnegative(definition: tuple, known: set[str]) -> bool:
    what, stmt, loops, block = definition
    if what == "phi":
        return _nonnegative(stmt.first, known) and _nonnegative(stmt.second, known)
    if what == "index":
        return _index_nonnegative(stmt, block, known)
    if what != "assign":
        return False
    if stmt.attr("nonnegative"):
        return True
    args, op = stmt.args, stmt.op
    if op in _SIZES:
        return True
    if op in _ALL_NONNEGATIVE:
        return all(_nonnegative(a, known) for a in args)
    if op in _ONE_NONNEGATIVE:
        return any(_nonnegative(a, known) for a in args)
    if op == "mod":  # Python's sign: of the divisor
        return len(args) == 2 and _nonnegative(args[1], known)
    if op == "where":
        return all(_nonnegative(a, known) for a in args[1:])
    if op == "sub" and len(args) == 2:
        return any(_counts_from(loop, block, args[0], args[1]) for loop, block in loops)
    return False


def _nonnegative(o: Operand, known: set[str]) -> bool:
    if isinstance(o, Const):
        return type(o.value) is int and o.value >= 0
    return o.name in known


def _step_sign(loop: Loop) -> int:
    step = loop.step if loop.step is not None else Const(1)
    if isinstance(step, Const) and type(step.value) is int and step.value != 0:
        return 1 if step.value > 0 else -1
    return 0


def _index_nonnegative(loop: Loop, block: Block, known: set[str]) -> bool:
    """Whether every index of `loop` (a statement of `block`) is >= 0."""
    sign = _step_sign(loop)
    start_ok = sign < 0 or _nonnegative(loop.start, known)
    stop_ok = sign > 0 or _stop_at_least(loop, block, known)
    return start_ok and stop_ok


def _stop_at_least(loop: Loop, block: Block, known: set[str]) -> bool:
    """Whether the stop of `loop` is >= -1 (the indices stay above it)."""
    stop = loop.stop
    if isinstance(stop, Const):
        return type(stop.value) is int and stop.value >= -1
    if _nonnegative(stop, known):
        return True
    below = _one_below(loop, block)
    return below is not None and _nonnegative(below, known)


def _one_below(loop: Loop, block: Block) -> Operand | None:
    """b when the stop of `loop` is `s = b - 1` computed in `block` before it, with neither s
    nor b assigned between there and the loop's end: then stop + 1 is b all through."""
    stop = loop.stop
    if not isinstance(stop, Var):
        return None
    at = next(k for k, s in enumerate(block) if s is loop)
    for k in range(at - 1, -1, -1):
        s = block[k]
        if isinstance(s, Assign) and s.target == stop.name:
            if s.op != "sub" or s.args[1] != Const(1):
                return None
            b = s.args[0]
            names = {stop.name} | ({b.name} if isinstance(b, Var) else set())
            for later in block[k + 1 : at + 1]:
                if names & set(defined_names(later)):
                    return None
            return b
        if stop.name in defined_names(s):
            return None
    return None


def _counts_from(loop: Loop, block: Block, a: Operand, b: Operand) -> bool:
    """Whether `a - b` is >= 0 inside `loop`: a its index, running from b upwards or down to
    b, and neither reassigned in the loop."""
    if a != Var(loop.index):
        return False
    inside = {n for s in loop.body for n in defined_names(s)}
    if loop.index in inside or (isinstance(b, Var) and b.name in inside):
        return False
    sign = _step_sign(loop)
    if sign > 0:
        return loop.start == b or _consts_at_least(loop.start, b, 0)
    if sign < 0:
        if _consts_at_least(loop.stop, b, -1):
            return True
        return _one_below(loop, block) == b
    return False


def _consts_at_least(x: Operand | None, b: Operand, shift: int) -> bool:
    """Whether x and b are int constants with x - b >= shift."""
    return (
        isinstance(x, Const)
        and isinstance(b, Const)
        and type(x.value) is int
        and type(b.value) is int
        and x.value - b.value >= shift
    )


def unsigned_indices(fn: Function, kinds: KindTable) -> Function:
    """`fn` with its element reads and writes marked (attr `unsigned`: the positions of the
    index operands proven >= 0) for codegen to print them unsigned."""
    program = _Program(fn, kinds)
    # (a loop's own index LLVM proves >= 0 itself: printed as it is, for readability)
    known = {
        n
        for n in nonnegative_ints(fn, kinds, program)
        if any(what != "index" for what, *_ in program.defs[n])
    }
    if not known:
        return fn

    def mark(s: Stmt) -> Stmt:
        if isinstance(s, If):
            return replace(s, body=block(s.body), orelse=block(s.orelse))
        if isinstance(s, Loop):
            return replace(s, test=block(s.test), body=block(s.body))
        if s.op in _TAPES:  # (a tape is an array)
            index = s.args[1]
            if isinstance(index, Var) and index.name in known:
                return replace(s, attrs=tuple(sorted(s.attrs + (("unsigned", (1,)),))))
            return s
        if s.op not in _INDEXING or not s.attr("index"):
            return s
        if (kinds.of(s.args[0]).ndim or 0) == 0:  # (lists and tuples keep their ints)
            return s
        positions, k = [], 1 if s.op == "getitem" else 2
        for item in s.attr("index"):
            if item[0] == "i":
                o = s.args[k]
                if isinstance(o, Var) and o.name in known:
                    positions.append(k)
                k += 1
            elif item[0] == "s":
                k += sum(item[1:])
        if not positions:
            return s
        return replace(s, attrs=tuple(sorted(s.attrs + (("unsigned", tuple(positions)),))))

    def block(statements: Block) -> Block:
        return tuple(mark(s) for s in statements)

    return replace(fn, body=block(fn.body))
