"""Program analyses the reverse-mode pass consults (adjoint.py): which reads to tape rather
than replay, which values an np.where masks, which stores are increments, which overwritten
values the reverse sweep reads back."""

from __future__ import annotations

from .activity import Aliases
from .ir import Assign, Block, Function, If, Loop, Var, walk
from .kinds import KindTable
from .optimize import use_counts
from .rules import RULES

# Operations whose listed arguments are read only for their shape, never their contents.
# (Of those, the ones that read a shape, not build an array with the value's dtype.)
SHAPE_READS = {"len", "dim", "shape", "size", "ndim"}
SHAPE_ONLY = {
    "reduce_grad": (1,),
    "mean_grad": (1,),
    "sum_to": (1,),
    "zeros_like": (0,),
    "zeros_grad": (0,),
    "reshape_to": (1,),
    "len": (0,),
    "dim": (0,),
    "shape": (0,),
    "size": (0,),
    "ndim": (0,),
    "empty_like": (0,),
    "ones_like": (0,),
}


def cheaper_to_tape_reads(body: Block, aliases: Aliases) -> frozenset[str]:
    """Arrays (allocation sites) whose reads inside loops are better kept on a tape than
    replayed: replaying a read needs every store into the array undone in the reverse sweep
    (one saved value per store), taping it one saved value per read. Counts are weighted by
    loop depth (x10 per loop), a static guess at trip counts."""
    stores: dict[str, float] = {}
    reads: dict[str, float] = {}
    # A read only added or subtracted (y[i] += v reads y[i]) has a gradient that does not
    # depend on its value: the reverse sweep never needs it.
    linear = {"add", "sub", "neg", "pos", "copy", "setitem"}
    valued = {
        a.name
        for s in walk(body)
        if isinstance(s, Assign) and s.op not in linear
        for a in s.args
        if isinstance(a, Var)
    }

    def scan(block: Block, weight: float) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                if stmt.op == "setitem":
                    for site in aliases.of(stmt.args[0].name):
                        stores[site] = stores.get(site, 0.0) + weight
                elif (
                    stmt.op == "getitem"
                    and weight > 1
                    and isinstance(stmt.args[0], Var)
                    and stmt.target in valued
                ):
                    for site in aliases.of(stmt.args[0].name):
                        reads[site] = reads.get(site, 0.0) + weight
            elif isinstance(stmt, If):
                scan(stmt.body, weight)
                scan(stmt.orelse, weight)
            else:
                scan(stmt.test + stmt.body, weight * 10)

    scan(body, 1.0)
    return frozenset(site for site, n in reads.items() if n < stores.get(site, 0.0))


# Operations whose adjoint is zero at entries they leave out: the operands (after the first,
# np.where's condition) from which that zero must reach the inputs exactly (never 0 * nan).
_MASKING = {"where": 1, "nansum": 0, "nanmean": 0, "nan_to_num": 0, "fmax": 0, "fmin": 0}


def masked_values(fn: Function) -> set[str]:
    """Values whose adjoint is zero wherever an np.where did not select them, or np.nansum,
    np.nanmean, np.nan_to_num, np.fmax or np.fmin skipped them (NaN): the branches of a where,
    the operands of the others, and, through elementwise operations, what they are computed
    from."""
    masked = {
        a.name
        for s in walk(fn.body)
        if isinstance(s, Assign) and s.op in _MASKING
        for a in s.args[_MASKING[s.op] :]
        if isinstance(a, Var)
    }
    changed = True
    while changed:
        changed = False
        for s in walk(fn.body):
            if (
                isinstance(s, Assign)
                and s.target in masked
                and RULES[s.op].broadcasting
                and s.op not in _MASKING
            ):
                for a in s.args:
                    if isinstance(a, Var) and a.name not in masked:
                        masked.add(a.name)
                        changed = True
    return masked


def increments(fn: Function, kinds: KindTable) -> dict[int, str]:
    """The stores `y[i] = t + v` where t = y[i] was read just before (what `y[i] += v`
    becomes), with scalar indices: store -> t. The gradient of y[i] after the store flows
    unchanged to y[i] before it, so the reverse sweep leaves it where it is, instead of
    zeroing y_bar[i] and adding it back."""
    uses = use_counts(fn)
    found: dict[int, str] = {}

    def element_read(block: Block, position: dict, name: str, store: Assign) -> bool:
        read = block[position[name]] if name in position else None
        return (
            isinstance(read, Assign)
            and read.op == "getitem"
            and read.args == (store.args[0],) + store.args[2:]
            and read.attr("index") == store.attr("index")
            and uses[name] == 1
        )

    def scan(block: Block) -> None:
        position: dict[str, int] = {}
        for i, stmt in enumerate(block):
            if isinstance(stmt, If):
                scan(stmt.body)
                scan(stmt.orelse)
                continue
            if isinstance(stmt, Loop):
                scan(stmt.test)
                scan(stmt.body)
                continue
            if stmt.target:
                position[stmt.target] = i
            if not (
                stmt.op == "setitem"
                and isinstance(stmt.args[1], Var)
                and all(kinds.of(a).is_scalar for a in stmt.args[2:])
            ):
                continue
            total = stmt.args[1].name
            add = block[position[total]] if total in position else None
            if not (isinstance(add, Assign) and add.op == "add" and uses[total] == 1):
                continue
            reads = [
                a.name
                for a in add.args
                if isinstance(a, Var) and element_read(block, position, a.name, stmt)
            ]
            if len(reads) != 1 or add.args[0] == add.args[1]:
                continue
            # Nothing in between may write anywhere or rebind the array or an index.
            names = {a.name for a in stmt.args if isinstance(a, Var)} - {total}
            between = block[position[reads[0]] + 1 : i]
            if all(
                isinstance(s, Assign) and RULES[s.op].mutates is None and s.target not in names
                for s in between
            ):
                found[id(stmt)] = reads[0]

    scan(fn.body)
    return found


def restores_read(body: Block, aliases: Aliases) -> set[int]:
    """The stores whose restored values some reverse-sweep statement reads afterwards (later
    in the program, or anywhere in a loop around both)."""
    # (position, loops around it, ifs and loops around it, statement)
    events: list[tuple[int, tuple[int, ...], tuple[int, ...], Assign]] = []

    def scan(block: Block, loops: tuple[int, ...], path: tuple[int, ...]) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                events.append((len(events), loops, path, stmt))
            elif isinstance(stmt, If):
                scan(stmt.body, loops, path + (id(stmt), 0))
                scan(stmt.orelse, loops, path + (id(stmt), 1))
            else:
                inner = loops + (id(stmt),)
                scan(stmt.test, inner, path + (id(stmt),))
                scan(stmt.body, inner, path + (id(stmt),))

    scan(body, (), ())
    # A value popped from a tape is a copy taken in the forward sweep: reading it does not read
    # the array's memory. Only where the pop is certainly the value read: the last definition
    # of the name before the read, in the same block (the name may hold the array itself
    # elsewhere, e.g. before a loop's reverse pops it).
    copies: dict[int, set[str]] = {}
    last: dict[str, tuple[tuple[int, ...], bool]] = {}
    for m, _, path, stmt in events:
        copies[m] = {
            a.name for a in stmt.args if isinstance(a, Var) and last.get(a.name) == (path, True)
        }
        if stmt.target:
            copied = stmt.op in ("list_pop", "tape_load") and not stmt.attr("shared")
            last[stmt.target] = (path, copied)
    restores = [(n, loops, s) for n, loops, _, s in events if s.attr("restore")]
    needed: set[int] = set()
    for n, loops, store in restores:
        group = aliases.of(store.args[0].name)
        for m, other_loops, _, stmt in events:
            if stmt.reverses is None or stmt.attr("restore"):
                continue
            shape_only = SHAPE_ONLY.get(stmt.op, ())
            if (m > n or set(loops) & set(other_loops)) and any(
                isinstance(a, Var) and a.name not in copies[m] and aliases.of(a.name) & group
                for i, a in enumerate(stmt.args)
                if i not in shape_only
            ):
                needed.add(store.attr("restore"))
                break
    return needed
