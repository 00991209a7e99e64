"""Integer indices inside loops as linear forms, for the index checks of bounds.py.

A form is a dict from a key to an integer coefficient: () is the constant, a name is the
value of that variable at the point just before the loop, ("dim", x, k) is x.shape[k]. Inside
a loop, an index is `a * i + b` with i the loop's index and a, b forms the loop does not change
(`affine`), when it is built with + - * by constants from: the loop's index; values the loop
does not assign; names assigned once in the loop, earlier in the same iteration; counters
stepped once per iteration (`li += 1`: its value before the loop plus the iterations done).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .ir import INT, Assign, Const, Loop, Operand, Var, walk
from .kinds import KindTable

Lin = dict
Parts = tuple[Lin, Lin]  # (a, b) of a * i + b


@dataclass
class Frame:
    """A loop around the statement being visited."""

    loop: Loop
    assigned: Counter  # definitions of each name inside the loop (its index included)
    counters: dict  # name -> (position in the body, step form) of `v = v + step`
    defs: dict = field(default_factory=dict)  # name -> (order, Assign) reaching this point
    exact: bool = True  # the point is at the top level of the body of a `for` without break
    position: int = 0  # the top-level statement of the body the point is in
    depth: int = 0  # how deep the block holding the loop is (for Proofs.facts)

    @classmethod
    def of(cls, loop: Loop) -> Frame:
        counts: Counter = Counter()
        for name in (loop.index, loop.exit_flag):
            if name:
                counts[name] += 1
        for s in walk(loop.test + loop.body):
            if isinstance(s, Assign):
                if s.target:
                    counts[s.target] += 1
            elif isinstance(s, Loop):
                for name in (s.index, s.exit_flag):
                    if name:
                        counts[name] += 1
        counters = {}
        earlier: dict[str, Assign] = {}
        for k, s in enumerate(loop.body if loop.is_range else ()):
            if not (isinstance(s, Assign) and s.target and counts[s.target] == 1):
                continue
            step = _counter_step(s, s.target, counts)
            if s.op == "copy" and isinstance(s.args[0], Var) and s.args[0].name in earlier:
                # v_2 = v + c; v = v_2: how the loop carries v out of SSA form
                step = _counter_step(earlier[s.args[0].name], s.target, counts)
            if step is not None:
                counters[s.target] = (k, step)
            earlier[s.target] = s
        return cls(loop, counts, counters, exact=loop.is_range and loop.exit_flag is None)


def _counter_step(s: Assign, name: str, counts: Counter) -> Lin | None:
    """The step c of `name + c` / `c + name` / `name - c` computed by s, c a constant or a
    value the loop does not assign."""
    if len(s.args) != 2:
        return None
    v = Var(name)
    if s.op == "add" and v in s.args:
        other = s.args[1] if s.args[0] == v else s.args[0]
        sign = 1
    elif s.op == "sub" and s.args[0] == v:
        other, sign = s.args[1], -1
    else:
        return None
    step = form_of(other)
    if step is None or (isinstance(other, Var) and counts[other.name]):
        return None
    return plus({}, step, sign)


class Affine:
    """Decomposes indices at the current point of the loops being visited."""

    def __init__(self, kinds: KindTable) -> None:
        self.kinds = kinds

    def parts(self, key, frame: Frame, limit: int) -> Parts | None:
        """(a, b) with `key` = a * (the loop's index) + b at the current point; `limit`: use
        definitions from before that order only."""
        loop = frame.loop
        if isinstance(key, tuple):  # ("dim", x, k)
            return ({}, {key: 1}) if not frame.assigned[key[1]] else None
        if loop.is_range and key == loop.index:
            return ({(): 1}, {}) if frame.assigned[key] == 1 else None
        if not frame.assigned[key]:
            return {}, {key: 1}
        if key in frame.counters:
            return self.counter(key, frame)
        entry = frame.defs.get(key)
        if frame.assigned[key] != 1 or entry is None or entry[0] >= limit:
            return None
        order, s = entry
        if self.kinds.of(Var(key)) != INT:
            return None
        if s.op in ("dim", "len") and isinstance(s.args[0], Var):
            return self.parts(("dim", s.args[0].name, s.attr("axis", 0)), frame, order)
        args = []
        for a in s.args:
            parts = self.operand(a, frame, order)
            if parts is None:
                return None
            args.append(parts)
        if s.op == "copy" and len(args) == 1:
            return args[0]
        if s.op == "neg" and len(args) == 1:
            return plus({}, args[0][0], -1), plus({}, args[0][1], -1)
        if s.op in ("add", "sub") and len(args) == 2:
            sign = 1 if s.op == "add" else -1
            return plus(args[0][0], args[1][0], sign), plus(args[0][1], args[1][1], sign)
        if s.op == "mul" and len(args) == 2:
            return _product(*args)
        return None

    def operand(self, o: Operand, frame: Frame, limit: int) -> Parts | None:
        if isinstance(o, Const):
            return ({}, {(): o.value} if o.value else {}) if type(o.value) is int else None
        return self.parts(o.name, frame, limit)

    def counter(self, name: str, frame: Frame) -> Parts | None:
        """A counter v stepped by c once per iteration of a loop over range(start, stop, +-1):
        v0 + c * (iterations done), v0 its value before the loop (the name itself there)."""
        position, step = frame.counters[name]
        loop = frame.loop
        direction = loop.step.value if isinstance(loop.step, Const) else None
        start = form_of(loop.start)
        if direction not in (1, -1) or start is None:
            return None
        done = ({(): direction}, plus({}, start, -direction))  # i - start, or start - i
        if frame.position > position:
            done = (done[0], plus(done[1], {(): 1}))
        scaled = _product(({}, step), done)
        if scaled is None:
            return None
        return scaled[0], plus(scaled[1], {name: 1})

    def form(self, lin: Lin, frame: Frame, limit: int) -> Parts | None:
        """(a, b) of a whole linear form."""
        a: Lin = {}
        b: Lin = {}
        for key, c in lin.items():
            if key == ():
                b = plus(b, {(): c})
                continue
            parts = self.parts(key, frame, limit)
            if parts is None:
                return None
            a, b = plus(a, parts[0], c), plus(b, parts[1], c)
        return a, b

    def extreme(self, lin: Lin, frame: Frame, limit: int, lowest: bool) -> Lin | None:
        """A bound, valid before the loop, of the form's least (or greatest) value over the
        loop's iterations (when it runs any)."""
        parts = self.form(lin, frame, limit)
        if parts is None:
            return None
        a, b = parts
        if not a:
            return b
        c, loop = constant(a), frame.loop
        step = loop.step.value if isinstance(loop.step, Const) else None
        start, stop = form_of(loop.start), form_of(loop.stop)
        if c is None or not isinstance(step, int) or not step or start is None or stop is None:
            return None
        if step > 0:  # start, ..., at most stop - 1
            first, last = start, plus(stop, {(): -1})
        else:  # start, ..., at least stop + 1
            first, last = plus(stop, {(): 1}), start
        return plus(b, first if (c > 0) == lowest else last, c)


def form_of(o: Operand | None) -> Lin | None:
    if isinstance(o, Var):
        return {o.name: 1}
    if isinstance(o, Const) and type(o.value) is int:
        return {(): o.value} if o.value else {}
    return None


def plus(a: Lin, b: Lin, scale: int = 1) -> Lin:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + scale * value
    return {k: v for k, v in out.items() if v != 0}


def constant(lin: Lin) -> int | None:
    return lin.get((), 0) if set(lin) <= {()} else None


def _product(u: Parts, v: Parts) -> Parts | None:
    """(a, b) of a product: one factor a constant, or one not depending on the loop's index
    and the other's parts constants."""
    for p, q in ((u, v), (v, u)):
        k = constant(p[1])
        if not p[0] and k is not None:
            return plus({}, q[0], k), plus({}, q[1], k)
    for p, q in ((u, v), (v, u)):
        qa, qb = constant(q[0]), constant(q[1])
        if not p[0] and qa is not None and qb is not None:
            return plus({}, p[1], qa), plus({}, p[1], qb)
    return None


def nonnegative(form: dict) -> bool:
    """Provably >= 0: a nonnegative constant plus nonnegative multiples of array lengths."""
    return form.get((), 0) >= 0 and all(
        c > 0 and key[0] == "dim" for key, c in form.items() if key != ()
    )


def frozen(lin: Lin) -> tuple:
    return tuple(sorted(lin.items(), key=repr))
