"""Index checks for generated numba code.

numba reads and writes past the end of an array without a word where CPython and NumPy raise
IndexError, and its own `boundscheck=True` costs the SIMD vectorization of every loop. The
checks are placed on the program just after differentiation (or the forward-mode transform),
before the optimizer: its forward sweep makes every access the user's function makes, in
order, so a check there raises where CPython would; the reverse sweep and the compiler's own
arrays (tapes, adjoints) use only indices the forward sweep used; and the optimizer keeps a
check whose read it deletes (a check is an effect). Each scalar index of an access
`x[..., k, ...]` gets one of:

* nothing, when provably in range: `x[i]`, `x[i + 1]` in a loop over `range(len(x) - 1)`, a
  row of an array made by `np.empty((n, m))` in `range(n)`, or indices a check made earlier
  already covered (index_proofs.py);
* `rt.check_indices(...)` before a `for` loop every iteration of which makes the access (at
  the top level of its body, no break), when the index is `c*i + d` with c, d loop-invariant
  (index_forms.py): it checks the index at the first and last iteration (monotone in i, so
  exactly the iterations' indices all lie in [-size, size)); through nested loops whose
  bounds the outer ones do not change;
* else `rt.check_index(...)` just before the access.

An integer array of indices gets `rt.check_index_array`, a boolean mask `rt.check_mask` (its
shape against the axes it selects). Under backend='python' NumPy raises by itself: only reads
the optimizer will delete (their value unused) get a check there (`numpy_checks` keeps those
in a numba program that runs on NumPy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from .index_forms import Affine, Frame, Lin, constant, form_of, frozen
from .index_proofs import Proofs
from .ir import (
    INT,
    Assign,
    Const,
    Function,
    If,
    Kind,
    Loop,
    Names,
    Operand,
    Stmt,
    Var,
    defined_names,
    walk,
)
from .kinds import KindTable
from .optimize import _needed_names, eliminate_dead_code
from .rules import Rule, register

_ACCESSES = ("getitem", "setitem", "index_add")


def _escape(text: str) -> str:
    return repr(text).replace("{", "{{").replace("}", "}}")


def _check_indices_template(n: int, attrs: dict) -> str:
    terms = [
        f"({{{2 + 4 * k}}}, range({{{3 + 4 * k}}}, {{{4 + 4 * k}}}, {{{5 + 4 * k}}}))"
        for k in range(attrs["terms"])
    ]
    listed = ", ".join(terms) + ("," if len(terms) == 1 else "")
    return f"rt.check_indices({{0}}, {attrs['axis']}, {{1}}, ({listed}), {_escape(attrs['where'])})"


def _no_result(kinds, attrs) -> Kind:
    return Kind(None, None)


def _check_template(op: str):
    return lambda n, a: f"rt.{op}({{0}}, {a['axis']}, {{1}}, {_escape(a['where'])})"


for _op in ("check_index", "check_index_array", "check_mask"):
    register(Rule(_op, _check_template(_op), _no_result))
register(Rule("check_indices", _check_indices_template, _no_result))
CHECKS = ("check_index", "check_index_array", "check_mask", "check_indices")


@dataclass
class _Pending:
    """A check not yet placed: the index is `offset + sum(coef * index of loop)` over the loops
    of `terms`, each (coef, start, stop, step), outermost first, every part a linear form."""

    array: str
    axis: int
    offset: Lin
    terms: list = field(default_factory=list)
    where: str = ""
    access: Assign | None = None

    def key(self, array: str) -> tuple:
        terms = tuple(tuple(frozen(part) for part in term) for term in self.terms)
        variable = {k: c for k, c in self.offset.items() if k != ()}
        return array, self.axis, frozen(variable), terms

    def demand(self) -> int | None:
        """For a constant index: the least length of the axis it needs."""
        if any(term[0] for term in self.terms) or constant(self.offset) is None:
            return None
        c = constant(self.offset)
        return c + 1 if c >= 0 else -c


def add_checks(
    fn: Function,
    kinds: KindTable,
    backend: str,
    optimized: bool = True,
    mirrors: frozenset[str] = frozenset(),
) -> Function:
    """`fn` with index checks before (or hoisted out of loops around) its accesses. `mirrors`:
    arrays (forward mode's tangents) whose every access mirrors a checked access of an array
    of the same shape, at the same place: left unchecked."""
    faint: set[str] = set()
    if optimized:  # the reads the optimizer will delete: their value is never used
        needed = _needed_names(fn)[0]
        faint = {
            s.target
            for s in walk(fn.body)
            if isinstance(s, Assign) and s.op == "getitem" and s.target not in needed
        }
    if backend != "python":
        return _Checker(fn, kinds, faint, False, mirrors).run()
    return _Checker(fn, kinds, faint, True, mirrors).run() if faint else fn


def numpy_checks(fn: Function) -> Function:
    """`fn` to run on NumPy: only the checks of reads the optimizer deleted (NumPy checks the
    others itself), and without what computed the parts of the others."""

    def keep(s: Stmt) -> bool:
        return not (isinstance(s, Assign) and s.op in CHECKS and not s.attr("deleted_read"))

    if all(keep(s) for s in walk(fn.body)):
        return fn
    fn = replace(fn, body=_filter(fn.body, keep))
    return eliminate_dead_code(fn)


class _Checker:
    def __init__(
        self, fn: Function, kinds: KindTable, faint: set[str], only: bool, mirrors: frozenset[str]
    ) -> None:
        self.fn = fn
        self.mirrors = mirrors
        self.kinds = kinds
        self.faint = faint
        self.only = only  # check only the faint reads
        self.affine = Affine(kinds)
        self.proofs = Proofs(fn, kinds)
        names = set(fn.params)
        self.producers: dict[str, set[str]] = {}
        for s in walk(fn.body):
            if isinstance(s, Assign):
                names |= {a.name for a in s.args if isinstance(a, Var)}
                if s.target:
                    names.add(s.target)
                    self.producers.setdefault(s.target, set()).add(s.op)
            elif isinstance(s, Loop):
                names |= {n for n in (s.index, s.exit_flag) if n}
        self.names = Names(names)
        self.order = 0
        self.hoisted: dict[int, list[_Pending]] = {}  # id(loop) -> checks to place before it

    def run(self) -> Function:
        return replace(self.fn, body=self.block(self.fn.body, [], False))

    # -- walking -------------------------------------------------------------------------------

    def block(self, stmts, frames: list[Frame], top: bool) -> tuple:
        """`top`: the statements are the body of the innermost frame's loop."""
        out: list[Stmt] = []
        recent: dict[tuple, tuple] = {}  # checks made at accesses: see append_check
        self.proofs.facts.append([])
        for position, s in enumerate(stmts):
            self.order += 1
            order = self.order
            if top:
                frames[-1].position = position
            if isinstance(s, Assign):
                if self.is_access(s):
                    for check in self.access(s, frames):
                        self.append_check(out, check, recent)
                out.append(s)
                if frames and s.target and frames[-1].assigned[s.target] == 1:
                    frames[-1].defs[s.target] = (order, s)
            elif s.reverses is not None:  # the reverse sweep: indices the forward sweep used
                out.append(s)
            elif isinstance(s, If):
                saved = [(f.exact, dict(f.defs)) for f in frames]
                for f in frames:
                    f.exact = False
                body = self.block(s.body, frames, False)
                _restore(frames, saved)
                for f in frames:  # (an else branch runs in some iterations only too)
                    f.exact = False
                orelse = self.block(s.orelse, frames, False)
                _restore(frames, saved)
                out.append(replace(s, body=body, orelse=orelse))
            else:
                frame = Frame.of(s)
                frame.depth = len(self.proofs.facts) - 1
                saved = [(f.exact, dict(f.defs)) for f in frames]
                if not frame.exact:
                    for f in frames:
                        f.exact = False
                test = self.block(s.test, [*frames, frame], False)
                body = self.block(s.body, [*frames, frame], True)
                _restore(frames, saved)
                out += self.materialize(self.hoisted.pop(id(s), []))
                out.append(replace(s, test=test, body=body))
            changed = set(defined_names(s))
            for key in [k for k, (_, names) in recent.items() if names & changed]:
                del recent[key]
        self.proofs.facts.pop()
        return tuple(out)

    def append_check(self, out: list[Stmt], check: Assign, recent: dict) -> None:
        """Append a check made just before an access, unless an earlier one of this block
        checked the same index of an array of the same shape (x_dot[i] after x[i]); of
        constant indices, only the one that needs the longest axis."""
        array, index = check.args[0].name, check.args[1]
        if check.op == "check_indices":
            out.append(check)
            return
        what = ("const",) if isinstance(index, Const) else (check.op, index.name)
        key = (self.proofs.canonical(array), check.attr("axis"), what)
        if key not in recent:
            recent[key] = (len(out), {array} | ({index.name} if isinstance(index, Var) else set()))
            out.append(check)
            return
        at = recent[key][0]
        kept = out[at]
        if isinstance(index, Const) and _demand(index.value) > _demand(kept.args[1].value):
            # the later index, on the earlier array: a later one (a0_1 of an unrolled loop,
            # the same shape) may not exist yet here
            kept = replace(check, args=(kept.args[0], *check.args[1:]))
        deleted = check.attr("deleted_read") or out[at].attr("deleted_read")
        out[at] = replace(kept, attrs=_attrs(kept.attrs, deleted))

    def is_access(self, s: Assign) -> bool:
        if s.op not in _ACCESSES or s.reverses is not None or not isinstance(s.args[0], Var):
            return False
        if s.args[0].name in self.mirrors:
            return False
        return not self.only or s.target in self.faint

    def access(self, s: Assign, frames: list[Frame]) -> list[Assign]:
        """The checks to make just before the access (others go before loops around it)."""
        out: list[Assign] = []
        array = s.args[0].name
        where = _where(s)
        for axis, index in self.indices(s):
            kind = self.kinds.of(index)
            if isinstance(index, Const):
                if type(index.value) is not int:
                    continue
                offset = {(): index.value}
            elif kind.ndim == 0 and kind.dtype == "int":
                if self.producers.get(index.name) == {"list_index"}:
                    continue  # rt.list_index checked it against a list the array holds
                offset = {index.name: 1}
            elif kind.is_array and kind.dtype in ("int", "bool"):
                op = "check_index_array" if kind.dtype == "int" else "check_mask"
                attrs = _attrs((("axis", axis), ("where", where)), s.target in self.faint)
                out.append(Assign(None, op, (Var(array), index), attrs, s.loc))
                continue
            else:
                continue
            pending = _Pending(array, axis, offset, [], where, s)
            if not self.in_range_around(pending, frames):
                out += self.place(pending, frames)
        return out

    def indices(self, s: Assign):
        """(axis of the array, index operand) of each item of the access that indexes an axis
        (`x[i, a:b, None, ..., j]`)."""
        base = self.kinds.of(s.args[0])
        if base.dtype == "shape":
            return
        structure = s.attr("index")
        first = k = 1 if s.op == "getitem" else 2
        widths = []  # how many axes each item indexes: a boolean array, as many as it has
        for item in structure:
            if item[0] == "i":
                kind = self.kinds.of(s.args[k])
                widths.append(1 if kind.dtype != "bool" else kind.ndim)
                k += 1
            elif item[0] == "s":
                widths.append(1)
                k += sum(item[1:])
        if None in widths:
            return
        consumed, k, axis = sum(widths), first, 0
        for item in structure:
            if item[0] == "i":
                yield axis, s.args[k]
                axis += widths.pop(0)
                k += 1
            elif item[0] == "s":
                widths.pop(0)
                k += sum(item[1:])
                axis += 1
            elif item[0] == "e":
                if base.ndim is None:
                    return
                axis += base.ndim - consumed

    # -- placing -------------------------------------------------------------------------------

    def place(self, pending: _Pending, frames: list[Frame]) -> list[Assign]:
        """Hoist the check out of the loops around it while every iteration makes the access
        and its index is affine in the loop's index; the checks to make at the access."""
        at, depth = None, len(self.proofs.facts) - 1
        for frame in reversed(frames):
            lifted = self.lift(pending, frame) if frame.exact else None
            if lifted is None:
                break
            pending, at, depth = lifted, frame.loop, frame.depth
        self.proofs.learn(depth, pending.array, pending.axis, pending.offset, pending.terms)
        if at is not None:
            self.hoisted.setdefault(id(at), []).append(pending)
            return []
        return self.materialize([pending])

    def lift(self, p: _Pending, frame: Frame) -> _Pending | None:
        """The check `p` at the current point of the loop's body, as a check before the loop
        over all its iterations; None if its parts change other than affinely."""
        resolved = self.resolve(p.array, p.axis, frame)
        if resolved is None:
            return None
        limit = self.order + 1
        parts = self.affine.form(p.offset, frame, limit)
        if parts is None:
            return None
        terms = []
        for term in p.terms:
            forms = [self.affine.form(lin, frame, limit) for lin in term]
            if any(f is None or f[0] for f in forms):
                return None
            terms.append(tuple(f[1] for f in forms))
        loop = frame.loop
        bounds = tuple(form_of(o) for o in (loop.start, loop.stop, loop.step))
        if any(b is None for b in bounds):
            return None
        return _Pending(*resolved, parts[1], [(parts[0], *bounds), *terms], p.where, p.access)

    def resolve(self, array: str, axis: int, frame: Frame) -> tuple[str, int] | None:
        """The array (and axis) a check can name before the loop: for a row `r = x[i]` made in
        the loop, x's axis; None if the loop binds the array otherwise."""
        while frame.assigned[array]:
            entry = frame.defs.get(array)
            if entry is None or frame.assigned[array] != 1:
                return None
            rows = self.proofs.rows_of(entry[1])
            if rows is None:
                return None
            array, axis = rows[0], axis + rows[1]
        return array, axis

    # -- proving -------------------------------------------------------------------------------

    def in_range_around(self, p: _Pending, frames: list[Frame]) -> bool:
        """Whether the index lies in [0, size) whatever the iterations of the loops around:
        its least value a nonnegative constant plus lengths, the size minus the greatest
        likewise."""
        array, axis = p.array, p.axis
        low = high = p.offset
        for frame in [None, *reversed(frames)]:
            if frame is not None:
                resolved = self.resolve(array, axis, frame)
                if resolved is None:
                    return False
                array, axis = resolved
                low = self.affine.extreme(low, frame, self.order + 1, lowest=True)
                high = self.affine.extreme(high, frame, self.order + 1, lowest=False)
                if low is None or high is None:
                    return False
            if self.proofs.proved(array, axis, low, high, frames):
                return True
        return False

    # -- emitting ------------------------------------------------------------------------------

    def materialize(self, pendings: list[_Pending]) -> list[Stmt]:
        """Statements making the checks: of those differing only in a constant added to the
        index, the least and the greatest (one, for constant indices: the most demanding)."""
        groups: dict[tuple, list[_Pending]] = {}
        for p in pendings:
            groups.setdefault(p.key(self.proofs.canonical(p.array)), []).append(p)
        out: list[Stmt] = []
        for group in groups.values():
            if group[0].demand() is not None:
                kept = [max(group, key=lambda p: p.demand())]
            else:
                least = min(group, key=lambda p: p.offset.get((), 0))
                greatest = max(group, key=lambda p: p.offset.get((), 0))
                kept = [least] if least is greatest else [least, greatest]
            deleted = any(p.access.target in self.faint for p in group)
            for p in kept:
                out += self.check(p, deleted)
        return out

    def check(self, p: _Pending, deleted: bool) -> list[Stmt]:
        """The check, after the statements computing its parts; `deleted`: it stands for a
        read the optimizer deletes (NumPy does not see it)."""
        out: list[Stmt] = []
        args: list[Operand] = [Var(p.array), self.operand(p.offset, out, p.access)]
        for term in p.terms:
            args += [self.operand(part, out, p.access) for part in term]
        attrs = (("axis", p.axis), ("where", p.where))
        if p.terms:
            attrs += (("terms", len(p.terms)),)
        op = "check_indices" if p.terms else "check_index"
        out.append(Assign(None, op, tuple(args), _attrs(attrs, deleted), p.access.loc))
        return out

    def operand(self, lin: Lin, out: list[Stmt], access: Assign) -> Operand:
        """The value of a linear form, computed by statements appended to `out`."""
        value: Operand | None = None
        terms = [(key, c) for key, c in lin.items() if key != ()]
        for key, c in sorted(terms, key=lambda term: term[1] < 0):  # `n - i`, not `-i + n`
            if isinstance(key, tuple):
                term = self.emit(out, "dim", (Var(key[1]),), access, (("axis", key[2]),))
            else:
                term = Var(key)
            if abs(c) != 1:
                term = self.emit(out, "mul", (Const(abs(c)), term), access)
            if value is None:
                value = term if c > 0 else self.emit(out, "neg", (term,), access)
            else:
                value = self.emit(out, "add" if c > 0 else "sub", (value, term), access)
        const = lin.get((), 0)
        if value is None:
            return Const(const)
        if const:
            op = "add" if const > 0 else "sub"
            value = self.emit(out, op, (value, Const(abs(const))), access)
        return value

    def emit(self, out: list[Stmt], op: str, args: tuple, access: Assign, attrs=()) -> Var:
        name = self.names.temp()
        self.kinds.set(name, INT)
        out.append(Assign(name, op, args, attrs, access.loc))
        return Var(name)


def _restore(frames: list[Frame], saved: list) -> None:
    for f, (exact, defs) in zip(frames, saved):
        f.exact, f.defs = exact, dict(defs)


def _attrs(attrs: tuple, deleted: bool) -> tuple:
    attrs = tuple(a for a in attrs if a[0] != "deleted_read")
    return tuple(sorted(attrs + ((("deleted_read", True),) if deleted else ())))


def _filter(block: tuple, keep) -> tuple:
    out = []
    for s in block:
        if isinstance(s, If):
            s = replace(s, body=_filter(s.body, keep), orelse=_filter(s.orelse, keep))
        elif isinstance(s, Loop):
            s = replace(s, test=_filter(s.test, keep), body=_filter(s.body, keep))
        elif not keep(s):
            continue
        out.append(s)
    return tuple(out)


def _demand(index: int) -> int:
    return index + 1 if index >= 0 else -index


def _where(s: Assign) -> str:
    loc = s.loc
    if loc is None:
        return "generated code"
    return f"{os.path.basename(loc.filename)}:{loc.line}"  # the comment above quotes the line
