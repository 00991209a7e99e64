"""Clean-up passes over the gradient program: each takes a Function and returns a new one.

- constant folding and algebraic identities that are exact in floating point (x * 1, x - 0.0;
  not x + 0.0, which turns -0.0 into 0.0);
- a zeroed adjoint whose first use adds into it becomes a plain assignment (x_bar = g * y);
- copy propagation and coalescing, so that `x`, `x_1`, `x_2` of one loop-carried variable, and
  their adjoints, share one name again when their lifetimes allow;
- dead code elimination (the forward values nothing reads, a loop that computes nothing).

Each rewrite keeps the program's meaning, which the IR must prove: a copy `a = b` of an array
makes two names for one array, so a rewrite that turns `a = b + c` into `a = c` is made only
when nothing writes into that array afterwards; a name is replaced by another only where that
other still holds the same value. `optimize=False` (api.py) skips these passes, to compare.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import replace

from .activity import Aliases
from .coalesce import MergePlan, mergeable, preference
from .ir import (
    Assign,
    Block,
    Const,
    Function,
    If,
    Loop,
    Operand,
    Stmt,
    Var,
    is_temp,
    walk,
)
from .kinds import KindTable
from .liveness import Liveness
from .liveness import output_names as _output_names
from .liveness import reads_of as _reads
from .rules import RULES

_ZERO_OPS = ("zeros_like", "zeros_grad")


# ---------------------------------------------------------------------------------------------
# Generic rewriting


def _map_blocks(block: Block, fn) -> tuple[Stmt, ...]:
    """Apply `fn(block) -> block` bottom-up to every block."""
    out = []
    for stmt in block:
        if isinstance(stmt, If):
            stmt = replace(
                stmt, body=_map_blocks(stmt.body, fn), orelse=_map_blocks(stmt.orelse, fn)
            )
        elif isinstance(stmt, Loop):
            stmt = replace(stmt, test=_map_blocks(stmt.test, fn), body=_map_blocks(stmt.body, fn))
        out.append(stmt)
    return tuple(fn(list(out)))


def _rename_operand(o: Operand, mapping: dict[str, Operand]) -> Operand:
    if isinstance(o, Var) and o.name in mapping:
        return mapping[o.name]
    return o


def _name(o: Operand | str | None, mapping: dict[str, Operand]) -> str | None:
    if o is None:
        return None
    new = mapping.get(o)
    return new.name if isinstance(new, Var) else o


def substitute(fn: Function, mapping: dict[str, Operand]) -> Function:
    """Replace reads (and, for Var-to-Var entries, writes) of names."""

    def stmt_map(block: list[Stmt]) -> list[Stmt]:
        out = []
        for s in block:
            if isinstance(s, Assign):
                s = replace(
                    s,
                    target=_name(s.target, mapping),
                    args=tuple(_rename_operand(a, mapping) for a in s.args),
                )
            elif isinstance(s, If):
                s = replace(s, cond=_rename_operand(s.cond, mapping))
            else:
                s = replace(
                    s,
                    index=_name(s.index, mapping),
                    start=_rename_operand(s.start, mapping) if s.start else None,
                    stop=_rename_operand(s.stop, mapping) if s.stop else None,
                    step=_rename_operand(s.step, mapping) if s.step else None,
                    cond=_rename_operand(s.cond, mapping) if s.cond else None,
                    exit_flag=_name(s.exit_flag, mapping),
                )
            out.append(s)
        return out

    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    result = tuple(_rename_operand(o, mapping) for o in outputs)
    return replace(
        fn,
        body=_map_blocks(fn.body, stmt_map),
        result=result if isinstance(fn.result, tuple) else result[0],
    )


def _assign_counts(fn: Function) -> Counter:
    counts: Counter = Counter(fn.params)
    for s in walk(fn.body):
        if isinstance(s, Assign) and s.target:
            counts[s.target] += 1
        elif isinstance(s, Loop) and s.index:
            counts[s.index] += 2  # the loop assigns it every iteration
    return counts


def use_counts(fn: Function) -> Counter:
    uses: Counter = Counter(_output_names(fn))
    for s in walk(fn.body):
        if isinstance(s, Assign):
            uses.update(a.name for a in s.args if isinstance(a, Var))
        elif isinstance(s, If):
            uses.update([s.cond.name] if isinstance(s.cond, Var) else [])
        else:
            uses.update(o.name for o in (s.start, s.stop, s.step, s.cond) if isinstance(o, Var))
            uses.update([s.exit_flag] if s.exit_flag else [])
    return uses


def _mutated(fn: Function) -> set[str]:
    return {
        s.args[0].name
        for s in walk(fn.body)
        if isinstance(s, Assign) and RULES[s.op].mutates is not None and isinstance(s.args[0], Var)
    }


# ---------------------------------------------------------------------------------------------
# Constant folding and identities

_FOLD = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "neg": operator.neg,
    "pos": operator.pos,
}


def _is_int(o: Operand, value: int) -> bool:
    return isinstance(o, Const) and type(o.value) is int and o.value == value


def fold_constants(fn: Function, kinds: KindTable) -> Function:
    mutated = _mutated(fn)

    def is_float(o: Operand) -> bool:
        # Scalars only: for an array, x * 1 is a new array where x may share memory with one
        # that is written later.
        kind = kinds.of(o)
        return kind.dtype == "float" and kind.is_scalar

    def is_number(o: Operand) -> bool:  # x * 1 keeps an int an int, unlike x / 1
        kind = kinds.of(o)
        return kind.dtype in ("float", "int") and kind.is_scalar

    def is_int(o: Operand) -> bool:
        kind = kinds.of(o)
        return kind.dtype == "int" and kind.is_scalar

    def simplify(s: Assign) -> Assign:
        if s.target is None or s.target in mutated:
            return s
        args = s.args
        if s.op in _FOLD and all(
            isinstance(a, Const) and type(a.value) in (int, float) for a in args
        ):
            return replace(
                s, op="copy", args=(Const(_FOLD[s.op](*[a.value for a in args])),), attrs=()
            )
        if (
            s.op == "div"
            and all(isinstance(a, Const) and type(a.value) in (int, float) for a in args)
            and args[1].value != 0
        ):
            return replace(s, op="copy", args=(Const(args[0].value / args[1].value),), attrs=())
        one = (Const(1), Const(1.0))
        zero = (Const(0), Const(0.0))
        if s.op == "mul" and _is_int(args[1], 1) and is_number(args[0]):
            return replace(s, op="copy", args=(args[0],))
        if s.op == "mul" and args[1] in one and is_float(args[0]):
            return replace(s, op="copy", args=(args[0],))
        if s.op == "mul" and args[0] in one and is_float(args[1]):
            return replace(s, op="copy", args=(args[1],))
        if s.op in ("div", "pow") and args[1] in one and is_float(args[0]):
            return replace(s, op="copy", args=(args[0],))
        # x - 0 is x for every float; x + 0 is not: -0.0 + 0.0 is 0.0 (1 / it is inf, not -inf)
        if s.op in ("add", "sub") and _is_int(args[1], 0) and is_int(args[0]):
            return replace(s, op="copy", args=(args[0],))
        if s.op == "sub" and args[1] in zero and is_float(args[0]):
            return replace(s, op="copy", args=(args[0],))
        if s.op == "sequence_index" and is_int(args[0]):  # (only a bool needs int())
            return replace(s, op="copy", args=(args[0],))
        return s

    return replace(
        fn,
        body=_map_blocks(
            fn.body, lambda b: [simplify(s) if isinstance(s, Assign) else s for s in b]
        ),
    )


def propagate_copies(fn: Function) -> Function:
    """Remove copies `a = b` between names assigned once (neither written in place): the
    preferred of the two names (a parameter, else a user's name over a temporary) takes over.
    A temporary that copies a constant becomes that constant."""
    counts = _assign_counts(fn)
    uses = use_counts(fn)
    mutated = _mutated(fn)
    params = set(fn.params)
    mapping: dict[str, Operand] = {}
    dropped: set[int] = set()
    order = _ProgramOrder(fn)
    for s in walk(fn.body):
        if not (isinstance(s, Assign) and s.op == "copy" and s.target and counts[s.target] == 1):
            continue
        source = s.args[0]
        if isinstance(source, Var) and not order.same_value(s, source.name, s.target, params):
            continue
        if isinstance(source, Const):
            if is_temp(s.target):
                mapping[s.target] = source
                dropped.add(id(s))
            continue
        if is_temp(source.name) and not is_temp(s.target) and uses[source.name] > 1:
            continue  # x_bar = t3_bar, where t3_bar also feeds others: keep both names
        if (
            not mergeable(s.target, source.name)
            or counts[source.name] != 1
            or source.name in mutated
            or s.target in mutated
            or source.name in mapping
            or s.target in mapping
            or any(v == Var(source.name) or v == Var(s.target) for v in mapping.values())
        ):
            continue
        keep, drop = sorted((s.target, source.name), key=lambda n: preference(n, params))
        if drop in params:
            continue
        mapping[drop] = Var(keep)
        dropped.add(id(s))
    if not mapping:
        return fn

    def drop_copies(block: list[Stmt]) -> list[Stmt]:
        return [s for s in block if id(s) not in dropped]

    return substitute(replace(fn, body=_map_blocks(fn.body, drop_copies)), mapping)


class _ProgramOrder:
    """Statements in the order they first run (nested blocks in place), to tell whether the
    names of a copy `a = b`, each assigned once, hold the same value wherever `a` is read."""

    def __init__(self, fn: Function) -> None:
        self.place = {id(s): k for k, s in enumerate(walk(fn.body))}
        self.defs: dict[str, list[float]] = {}
        self.reads: dict[str, list[float]] = {}
        for s in walk(fn.body):
            k = self.place[id(s)]
            for name in _defines(s):
                self.defs.setdefault(name, []).append(k)
            for name in _reads(s):
                self.reads.setdefault(name, []).append(k)
            if isinstance(s, Loop):  # its condition and exit flag: read after its statements
                end = max(self.place[id(t)] for t in walk((s,))) + 0.5
                for name in _loop_tests(s):
                    self.reads.setdefault(name, []).append(end)

    def same_value(self, copy: Stmt, source: str, target: str, params: set[str]) -> bool:
        """Whether `source` is defined before the copy (in a loop, earlier in the same
        iteration) and `target` read only after it: a loop could otherwise read the target
        where the source already holds its next value."""
        k = self.place[id(copy)]
        defined_before = source in params or all(d < k for d in self.defs.get(source, [k]))
        return defined_before and all(r > k for r in self.reads.get(target, []))


def _defines(s: Stmt) -> list[str]:
    if isinstance(s, Assign):
        return [s.target] if s.target else []
    if isinstance(s, Loop):
        return [n for n in (s.index, s.exit_flag) if n]
    return []


def _loop_tests(s: Loop) -> set[str]:
    """What a loop reads besides its bounds: its condition and exit flag."""
    names = {s.exit_flag} if s.exit_flag else set()
    return names | ({s.cond.name} if isinstance(s.cond, Var) else set())


# ---------------------------------------------------------------------------------------------
# Zeroed adjoints whose first use adds into them


def _is_zero_init(s: Stmt) -> bool:
    return (
        isinstance(s, Assign)
        and s.target is not None
        and (s.op in _ZERO_OPS or (s.op == "copy" and s.args[0] in (Const(0.0), Const(0))))
    )


def first_assignments(fn: Function, kinds: KindTable) -> Function:
    mutated = _mutated(fn)
    written_later = _WrittenLater(fn, kinds)

    def rewrite(block: list[Stmt]) -> list[Stmt]:
        out = list(block)
        i = 0
        while i < len(out):
            s = out[i]
            if _is_zero_init(s) and s.target not in mutated:
                j = _first_reference(out, i + 1, s.target)
                if j is not None:
                    t = out[j]
                    if (
                        isinstance(t, Assign)
                        and t.op == "add"
                        and t.target == s.target
                        and t.args[0] == Var(s.target)
                        and Var(s.target) not in t.args[1:]
                        # `x_bar = g` makes x_bar the array g: the sum was a new one
                        and not written_later(t, (s.target, t.args[1]))
                    ):
                        out[j] = replace(t, op="copy", args=(t.args[1],), attrs=())
                        del out[i]
                        continue
            i += 1
        return out

    return replace(fn, body=_map_blocks(fn.body, rewrite))


class _WrittenLater:
    """Whether an array one of some names holds may be written into (a store, an `+=` into
    an adjoint) after a statement, or again in a later iteration of a loop around it."""

    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.aliases = Aliases(fn, kinds) if _mutated(fn) else None
        self.place: dict[int, tuple[int, frozenset]] = {}  # id -> (order, loops around it)
        self.writes: list[tuple[Assign, int, frozenset]] = []
        self._visit(fn.body, frozenset())

    def _visit(self, block: Block, loops: frozenset) -> None:
        for s in block:
            self.place[id(s)] = (len(self.place), loops)
            if isinstance(s, If):
                self._visit(s.body, loops)
                self._visit(s.orelse, loops)
            elif isinstance(s, Loop):
                self._visit(s.test, loops | {id(s)})
                self._visit(s.body, loops | {id(s)})
            elif RULES[s.op].mutates is not None and isinstance(s.args[0], Var):
                self.writes.append((s, *self.place[id(s)]))

    def __call__(self, stmt: Stmt, names: tuple) -> bool:
        if self.aliases is None:
            return False
        arrays = [
            n if isinstance(n, str) else n.name
            for n in names
            if isinstance(n, str) or (isinstance(n, Var) and not self.kinds.of(n).is_scalar)
        ]
        order, loops = self.place[id(stmt)]
        for write, when, around in self.writes:
            if when > order or loops & around:
                into = write.args[RULES[write.op].mutates].name
                if any(self.aliases.share(into, n) for n in arrays):
                    return True
        return False


def _first_reference(block: list[Stmt], start: int, name: str) -> int | None:
    for j in range(start, len(block)):
        stmt = block[j]
        for s in walk((stmt,)):
            if _mentions(s, name):
                return j
    return None


def _mentions(s: Stmt, name: str) -> bool:
    if isinstance(s, Assign):
        return s.target == name or Var(name) in s.args
    if isinstance(s, If):
        return s.cond == Var(name)
    return name in (s.index, s.exit_flag) or Var(name) in (s.start, s.stop, s.step, s.cond)


# ---------------------------------------------------------------------------------------------
# Coalescing


def coalesce(fn: Function) -> Function:
    """Merge the two names of a copy `a = b` when their lifetimes do not overlap (planned by
    coalesce.MergePlan on one liveness computation, rewritten once)."""
    while True:
        renaming, again = MergePlan(fn, Liveness(fn).live_out, use_counts(fn)).run()
        if not renaming:
            return fn
        fn = _drop_self_copies(substitute(fn, {d: Var(k) for d, k in renaming.items()}))
        if not again:
            return fn


def _drop_self_copies(fn: Function) -> Function:
    def keep(s: Stmt) -> bool:
        return not (isinstance(s, Assign) and s.op == "copy" and s.args[0] == Var(s.target))

    return replace(fn, body=_map_blocks(fn.body, lambda b: [s for s in b if keep(s)]))


# ---------------------------------------------------------------------------------------------
# Dead code


def remove_faint(fn: Function) -> Function:
    """Drop statements whose values nothing essential ever reads, even through a loop: a sum
    carried from one iteration to the next is not needed just because it reads itself.
    Essential: effects (stores, pushes) and the function's outputs."""
    needed, loops_kept = _needed_names(fn)

    def prune(block: list[Stmt]) -> list[Stmt]:
        out = []
        for s in block:
            if (
                isinstance(s, Assign)
                and s.target
                and RULES[s.op].mutates is None
                and (s.target not in needed)
            ):
                continue
            if isinstance(s, Loop) and id(s) not in loops_kept and not _has_needed(s, needed):
                continue
            out.append(s)
        return out

    return replace(fn, body=_map_blocks(fn.body, prune))


def _needed_names(fn: Function) -> tuple[set[str], set[int]]:
    """The names something essential reads, directly or through other needed names, and the
    loops that hold an effect or define one (by id): the least solution, found with a worklist
    (a statement is taken up once, when its target or one inside it is first needed)."""
    needed: set[str] = set()
    loops_kept: set[int] = set()
    taken: set[int] = set()  # positions of statements whose reads are needed
    waiting: dict[str, list[int]] = {}  # a name -> statements taken up once it is needed
    items: list[tuple[Stmt, set[str]]] = []
    pending: list[int] = []

    def visit(block: Block, around: tuple[int, ...]) -> None:
        for s in block:
            k = len(items)
            if isinstance(s, Assign):
                items.append((s, _reads(s)))
                if RULES[s.op].mutates is not None or s.target is None:  # an effect
                    pending.extend((k, *around))
                elif s.target:
                    waiting.setdefault(s.target, []).extend((k, *around))
                continue
            reads = _reads(s)
            if isinstance(s, Loop):
                reads |= {s.cond.name} if isinstance(s.cond, Var) else set()
                reads |= {s.exit_flag} if s.exit_flag else set()
            items.append((s, reads))
            inner = (s.body + s.orelse) if isinstance(s, If) else (s.test + s.body)
            visit(inner, (k, *around))

    visit(fn.body, ())
    names = list(_output_names(fn))
    while names or pending:
        if names:
            name = names.pop()
            if name in needed:
                continue
            needed.add(name)
            pending.extend(waiting.pop(name, ()))
            continue
        k = pending.pop()
        if k in taken:
            continue
        taken.add(k)
        s, reads = items[k]
        if isinstance(s, Loop):
            loops_kept.add(id(s))
        names.extend(reads - needed)
    return needed, loops_kept


def _has_needed(stmt: Stmt, needed: set[str]) -> bool:
    """Whether a compound statement contains an effect or defines a needed name."""
    for s in walk(stmt.body + (stmt.orelse if isinstance(stmt, If) else stmt.test)):
        if isinstance(s, Assign) and (
            RULES[s.op].mutates is not None or s.target is None or s.target in needed
        ):
            return True
    return False


def eliminate_dead_code(fn: Function) -> Function:
    fn = remove_faint(fn)
    while True:
        live = Liveness(fn)
        fn, changed = _prune_dead(fn, live)
        if not changed:
            fn, changed = _drop_unread_tapes(fn, live)
        if not changed:
            return fn


_TAPE_NEW = ("list_new", "tape_alloc")
_TAPE_USE = ("list_append", "list_pop", "tape_store", "tape_load")


def _drop_unread_tapes(fn: Function, live: Liveness) -> tuple[Function, bool]:
    """Drop a tape whose every read gives a value nothing then uses (the reverse sweep
    recomputes it, or only a later restore reads it): its pushes and pops are effects, so
    plain dead code elimination keeps them."""
    tapes = {s.target for s in walk(fn.body) if isinstance(s, Assign) and s.op in _TAPE_NEW}
    for s in walk(fn.body):
        if (
            isinstance(s, Assign)
            and s.op in ("list_pop", "tape_load")
            and s.target in live.live_out.get(id(s), frozenset())
        ):
            tapes.discard(s.args[0].name)
    if not tapes:
        return fn, False

    def prune(block: list[Stmt]) -> list[Stmt]:
        return [
            s
            for s in block
            if not (
                isinstance(s, Assign)
                and (
                    (s.op in _TAPE_NEW and s.target in tapes)
                    or (s.op in _TAPE_USE and s.args[0].name in tapes)
                )
            )
        ]

    return replace(fn, body=_map_blocks(fn.body, prune)), True


def _prune_dead(fn: Function, live: Liveness) -> tuple[Function, bool]:
    changed = False

    def prune(block: list[Stmt]) -> list[Stmt]:
        nonlocal changed
        out = []
        for s in block:
            dead = (
                (
                    isinstance(s, Assign)
                    and s.target
                    and RULES[s.op].mutates is None
                    and s.target not in live.live_out.get(id(s), frozenset())
                )
                or (isinstance(s, If) and not s.body and not s.orelse)
                or (isinstance(s, Loop) and s.is_range and not s.body)
            )
            changed |= bool(dead)
            if not dead:
                out.append(s)
        return out

    return replace(fn, body=_map_blocks(fn.body, prune)), changed


def optimize(fn: Function, kinds: KindTable) -> Function:
    for _ in range(8):
        before = fn
        fn = fold_constants(fn, kinds)
        fn = first_assignments(fn, kinds)
        fn = propagate_copies(fn)
        fn = eliminate_dead_code(fn)
        if fn == before:
            break
    fn = coalesce(fn)
    fn = eliminate_dead_code(fn)
    return fn
