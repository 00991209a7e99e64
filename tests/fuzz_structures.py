"""Structured arguments, lists, comprehensions and nested functions for the program fuzzer.

Two halves. The values: a structured argument (a dict, list, tuple or namedtuple of floats and
float arrays, nested) is flattened into its leaves for central differences, rebuilt with other
leaves, compared leaf by leaf (`flat`), and its gradient must have exactly its structure (same
container types, dict keys in the same order: `mismatch`). The grammar: `StructureGen`, mixed
into tests/fuzz_programs.py's `Gen`, draws

- structured parameters, their leaves read as `p0['W']`, `p0.b`, `p0[1]`, `p0[-1]`, unpacked
  (`w, b = p0`), iterated (`for w in p0`, `enumerate`, `zip`, `range(len(p0))`), `len(p0)`;
- lists built in the function: `[a, b]`, `L.append(...)` in straight-line code, in loops over
  `range(K)` (K a constant), over tuples and lists (unrolled by the compiler), under `if` (one
  append in each branch), recurrences on `L[-1]`; read back with `sum(L)`, `np.sum(L)`,
  `np.mean(L)`, `max(L)`/`min(L)`, `np.array(L)`, `L[j]`, `len(L)`;
- comprehensions and generator expressions in `sum()`, `max()`, `min()`, `np.sum()`,
  `np.mean()`, over `range(K)`, a list, an array (rows), `enumerate`, `zip`, with filters;
- nested `def`s (with keyword-only parameters with defaults) and lambdas closing over the
  function's variables, read at call time (late binding), called anywhere after.

A list may only change where the compiler unrolls (not inside a loop that stays a loop:
`Scope.rolled`), as ad_compiler documents. This module is imported by fuzz_programs.py after
its node classes are defined (import fuzz_programs first).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, replace

import numpy as np

Layer = namedtuple("Layer", ["W", "b"])
Triple = namedtuple("Triple", ["a", "b", "c"])
NAMEDTUPLES = {"Layer": Layer, "Triple": Triple}
PRELUDE = 'Layer = namedtuple("Layer", ["W", "b"])\nTriple = namedtuple("Triple", ["a", "b", "c"])'
# `sum(f(row) for row in X)` of arrays over a loop of run-time length (Python starts from the
# int 0) is refused ("returns a value of unknown shape"; unrolled loops are fine): the fuzzer
# gives sums of arrays a start, np.zeros(...).
SUM_OF_ARRAYS_FROM_ZERO = False
# (sum(), np.sum(), np.array() ... of a namedtuple argument: generated too, as of a tuple)
NAMED_REDUCTIONS_REFUSED = None
KEYS = ("W", "b", "W1", "b1", "scale", "layers", "gain")


# -- structured values --------------------------------------------------------------------------


def is_struct(value) -> bool:
    return isinstance(value, (dict, list, tuple))


def _items(value) -> list:
    return list(value.items()) if isinstance(value, dict) else list(enumerate(value))


def leaves(value, path: tuple = ()) -> list[tuple[tuple, object]]:
    """(path, leaf) of every float or array in the value, in order (a plain leaf: path ())."""
    if not is_struct(value):
        return [(path, value)]
    return [pair for key, item in _items(value) for pair in leaves(item, path + (key,))]


def _remake(value, items: list):
    if isinstance(value, dict):
        return dict(zip(value.keys(), items))
    if isinstance(value, list):
        return list(items)
    if hasattr(value, "_fields"):
        return type(value)(*items)
    return tuple(items)


def rebuild(value, new_leaves: list):
    """The value's structure with other leaves (in leaves() order)."""
    todo = iter(new_leaves)

    def walk(v):
        if not is_struct(v):
            return next(todo)
        return _remake(v, [walk(item) for _, item in _items(v)])
    return walk(value)


def copy_value(value):
    return rebuild(value, [leaf.copy() if isinstance(leaf, np.ndarray) else leaf
                           for _, leaf in leaves(value)])


def get(value, path: tuple):
    for key in path:
        value = value[key]
    return value


def with_leaf(value, path: tuple, new):
    """The value with the leaf at path replaced (containers rebuilt, not changed)."""
    if not path:
        return new
    items = [with_leaf(item, path[1:], new) if key == path[0] else item
             for key, item in _items(value)]
    return _remake(value, items)


def flat(value) -> np.ndarray:
    """Every leaf's entries as one float array (a float or an array: np.asarray of it)."""
    if not is_struct(value):
        return np.asarray(value, dtype=float)
    parts = [np.ravel(np.asarray(leaf, dtype=float)) for _, leaf in leaves(value)]
    return np.concatenate(parts) if parts else np.zeros(0)


def locate(value, k: int) -> str:
    """The flat index k of a structured value as `['W'][1, 0]`."""
    for path, leaf in leaves(value):
        size = int(np.size(leaf))
        if k < size:
            where = np.unravel_index(k, np.shape(leaf)) if np.ndim(leaf) else ()
            return "".join(f"[{key!r}]" for key in path) + (
                f"[{', '.join(str(int(i)) for i in where)}]" if where else "")
        k -= size
    return f"[{k}]"


def mismatch(x, g, where: str = "") -> str | None:
    """Why g is not shaped like the argument x (containers, keys, leaves), or None."""
    if is_struct(x):
        if type(g) is not type(x):
            return f"{where or 'it'} is a {type(g).__name__}, the argument a {type(x).__name__}"
        if isinstance(x, dict) and list(g.keys()) != list(x.keys()):
            return f"{where or 'it'} has the keys {list(g.keys())}, the argument {list(x)}"
        if len(g) != len(x):
            return f"{where or 'it'} has {len(g)} items, the argument {len(x)}"
        for (key, xi), (_, gi) in zip(_items(x), _items(g)):
            why = mismatch(xi, gi, f"{where}[{key!r}]")
            if why:
                return why
        return None
    if isinstance(x, np.ndarray):
        ok = isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == x.dtype
    else:
        ok = isinstance(g, float)
    return None if ok else (f"{where or 'it'} is a {type(g).__name__} "
                            f"{getattr(g, 'shape', '')}, not like the argument")


def literal(value, leaf_text) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v, leaf_text)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, leaf_text) for v in value) + "]"
    if hasattr(value, "_fields"):
        return f"{type(value).__name__}(" + ", ".join(
            f"{k}={literal(v, leaf_text)}" for k, v in zip(value._fields, value)) + ")"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v, leaf_text) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return leaf_text(value)


def uses_namedtuple(value) -> bool:
    return hasattr(value, "_fields") or (is_struct(value) and any(
        uses_namedtuple(item) for _, item in _items(value)))


@dataclass
class Struct:
    kind: str  # dict, list, tuple, Layer, Triple
    keys: tuple  # dict keys or namedtuple fields; () for lists and tuples
    children: list  # Struct or a leaf's shape (a tuple)


def _build(tree, rng):
    if not isinstance(tree, Struct):
        if tree == ():
            return float(round(rng.uniform(-1.5, 1.5), 3))
        return np.round(rng.uniform(-1.5, 1.5, size=tree), 3)
    items = [_build(child, rng) for child in tree.children]
    if tree.kind == "dict":
        return dict(zip(tree.keys, items))
    if tree.kind in NAMEDTUPLES:
        return NAMEDTUPLES[tree.kind](*items)
    return items if tree.kind == "list" else tuple(items)


def build_value(tree, rng):
    return _build(tree, rng)


# -- the grammar -------------------------------------------------------------------------------


class StructureGen:
    """Mixed into fuzz_programs.Gen: the constructs of issue 12."""

    # -- structured parameters -----------------------------------------------------------------

    def structure(self, depth: int = 0) -> Struct:
        kind = self.weighted([("dict", 3), ("list", 2), ("tuple", 1), ("Layer", 1),
                              ("Triple", 1 if depth == 0 else 0)])
        count = {"Layer": 2, "Triple": 3}.get(kind) or self.integer(2, 3)
        same = kind in ("list", "tuple") and self.chance(70) or kind == "Triple" and self.chance(
            50)
        shape = self.pick(self.shapes)
        children: list = []
        for _ in range(count):
            if not same and depth == 0 and self.chance(25):
                children.append(self.structure(depth + 1))
            else:
                children.append(shape if same else self.pick(self.shapes))
        keys: tuple = ()
        if kind == "dict":
            pool = list(KEYS)
            keys = tuple(pool.pop(self.integer(0, len(pool) - 1)) for _ in range(count))
        elif kind in NAMEDTUPLES:
            keys = NAMEDTUPLES[kind]._fields
        self.tag(f"structured argument: {kind}" + (" (nested)" if depth else ""))
        return Struct(kind, keys, children)

    def struct_vars(self, scope, tree: Struct, base: str) -> list:
        """Register the leaves (and homogeneous sequences) of a structured parameter under the
        texts that read them; returns unpacking statements (`w, b = p0['layer']`)."""
        stmts: list = []
        n = len(tree.children)
        for i, child in enumerate(tree.children):
            if tree.kind == "dict":
                text = f"{base}[{tree.keys[i]!r}]"
                self.tag("read p['key']")
            elif tree.kind in NAMEDTUPLES and self.chance(75):
                text = f"{base}.{tree.keys[i]}"
                self.tag("read p.field")
            elif self.chance(25):
                text = f"{base}[{i - n}]"
                self.tag("read p[-k]")
            else:
                text = f"{base}[{i}]"
                self.tag("read p[k]")
            if isinstance(child, Struct):
                stmts += self.struct_vars(scope, child, text)
            else:
                scope.vars[text] = fp.Var(text, child, frozen=True, protected=True, leaf=True)
        if tree.kind != "dict" and all(not isinstance(c, Struct) for c in tree.children):
            if len(set(tree.children)) == 1:  # a namedtuple: iterated, indexed, not reduced
                record = (NAMED_REDUCTIONS_REFUSED,) if NAMED_REDUCTIONS_REFUSED else ()
                scope.vars[base] = fp.Var(base, tree.children[0], "list", (n,) + record,
                                          frozen=True, protected=True)
            if self.chance(30):
                names = [self.fresh("w") for _ in tree.children]
                self.tag("unpack a structured argument")
                for name, shape in zip(names, tree.children):
                    scope.vars[name] = fp.Var(name, shape, leaf=True)
                stmts.append(fp.Assign(", ".join(names), fp.Text(base)))
        return stmts

    # -- lists and sequences in expressions ----------------------------------------------------

    def sequences(self, scope, item_shape=None, fixed: bool = False) -> list:
        return [v for v in scope.vars.values() if v.kind in ("list", "growing")
                and (item_shape is None or v.shape == item_shape)
                and (not fixed or v.kind == "list")]

    def seq_forms(self, scope, shape: tuple) -> list:
        forms = []
        for v in self.sequences(scope):
            k = v.values[0]
            whole = len(v.values) == 1  # not a namedtuple (see NAMED_REDUCTIONS_REFUSED)
            if v.shape == shape:
                forms += [("item", v)] + ([("sum", v)] if whole else [])
            if shape == ():
                forms += [("len", v)] + ([("np.sum", v), ("np.mean", v)] if whole else [])
                if v.shape == () and whole:
                    forms += [("max", v), ("min", v)]
            if v.kind == "list" and (k,) + v.shape == shape and whole:
                forms.append(("np.array", v))
        return forms

    def e_seq(self, scope, shape, depth):
        form, var = self.pick(self.seq_forms(scope, shape))
        return self.seq_expr(scope, form, var, depth)

    def seq_expr(self, scope, form: str, var, depth: int):
        what = "a built list" if var.name.startswith("L") else "a structured argument"
        self.tag(f"{form} of {what}" if form != "item" else f"index {what}")
        if form == "item":
            k = var.values[0]
            ints = [v for v in scope.ints() if v.values and -k <= min(v.values)
                    and max(v.values) < k]
            if ints and self.chance(40):
                self.tag("index a sequence with an int variable")
                return fp.Sub(fp.Text(var.name), self.pick(v.name for v in ints))
            return fp.Sub(fp.Text(var.name), str(self.integer(-k, k - 1)))
        if form == "len":
            return fp.BinOp("*", fp.Call("len", (fp.Text(var.name),)), self.expr(scope, (), depth))
        if form == "np.array":
            return fp.Call("np.array", (fp.Text(var.name),))
        return fp.SeqReduce(next(self.ids), form, fp.Text(var.name))

    # -- comprehensions ------------------------------------------------------------------------

    def e_comp(self, scope, shape, depth):
        funcs = [("sum", 4)]
        if shape == () and not scope.rolled:  # the others build a list
            funcs += [("max", 1), ("min", 1), ("np.sum", 2), ("np.mean", 1)]
        func = self.weighted(funcs)
        inner = scope.child()
        arrays = [v for v in scope.floats() if v.shape and not v.owned]
        seqs = self.sequences(scope, fixed=True)
        sources = [("range", 3)] + ([("list", 2), ("enumerate list", 1)] if seqs else [])
        if func == "sum" and arrays:
            sources += [("array", 2), ("enumerate array", 1), ("zip arrays", 1)]
        if len(seqs) >= 2 and any(a.values == b.values for a in seqs for b in seqs if a != b):
            sources.append(("zip lists", 1))
        source = self.weighted(sources)
        index = None
        if source == "range":
            k = self.integer(1, 4)
            target = index = self.fresh("c")
            inner.vars[target] = fp.Var(target, (), "int", tuple(range(k)))
            iterator = fp.Text(f"range({k})")
            trips = list(range(k))
        elif source in ("list", "enumerate list"):
            seq = self.pick(seqs)
            trips = list(range(seq.values[0]))
            target = self.fresh("c")
            inner.vars[target] = fp.Var(target, seq.shape, frozen=True)
            iterator = fp.Text(seq.name)
            if source == "enumerate list":
                index = self.fresh("c")
                inner.vars[index] = fp.Var(index, (), "int", tuple(trips))
                target, iterator = f"{index}, {target}", fp.Text(f"enumerate({seq.name})")
        elif source == "zip lists":
            a = self.pick(seqs)
            b = self.pick(s for s in seqs if s.values == a.values and s != a)
            t1, t2 = self.fresh("c"), self.fresh("c")
            inner.vars[t1] = fp.Var(t1, a.shape, frozen=True)
            inner.vars[t2] = fp.Var(t2, b.shape, frozen=True)
            target, iterator, trips = f"{t1}, {t2}", fp.Text(f"zip({a.name}, {b.name})"), [0]
        else:
            x = self.pick(arrays)
            inner.vars[x.name] = replace(x, frozen=True)
            target = self.fresh("c")
            inner.vars[target] = fp.Var(target, x.shape[1:], frozen=True)
            iterator, trips = fp.Text(x.name), list(range(x.shape[0]))
            if source == "enumerate array":
                index = self.fresh("c")
                inner.vars[index] = fp.Var(index, (), "int", tuple(trips))
                target, iterator = f"{index}, {target}", fp.Text(f"enumerate({x.name})")
            elif source == "zip arrays":
                others = [v for v in arrays if v.shape[0] == x.shape[0]]
                y = self.pick(others)
                inner.vars[y.name] = replace(y, frozen=True)
                other = self.fresh("c")
                inner.vars[other] = fp.Var(other, y.shape[1:], frozen=True)
                target, iterator = f"{target}, {other}", fp.Text(f"zip({x.name}, {y.name})")
        elt_shape = self.pick(self.shapes) if func.startswith("np.") else shape
        elt = self.expr(inner, elt_shape, depth)
        cond = None
        if self.chance(30):
            cond = self.comp_filter(inner, func, elt_shape, index, trips)
        listed = func.startswith("np.") or self.chance(30)
        start = None
        if func == "sum" and elt_shape and not SUM_OF_ARRAYS_FROM_ZERO:
            start = fp.Call("np.zeros", (fp.Text(fp._shape_text(elt_shape)),))
            self.tag("sum(..., start) of arrays")
        elif func == "sum" and isinstance(cond, fp.Compare):  # may keep none: sum() is int 0
            start = fp.Text("0.0")
        self.tag(f"{func}({'[...]' if listed else 'generator'}) over {source}",
                 *(["comprehension filter"] if cond is not None else []),
                 *(["comprehension in a loop"] if scope.loop_depth else []))
        return fp.SeqReduce(next(self.ids), func, fp.Comp(elt, target, iterator, cond, listed),
                            start)

    def comp_filter(self, inner, func: str, elt_shape: tuple, index, trips: list):
        """A filter keeping at least one item: on the index (known at compile time when the
        loop is unrolled), or on a value (sum of numbers only: it may keep none)."""
        if index is not None and len(trips) >= 2:
            k = self.pick(trips)
            op = self.pick(("!=", ">", "<") if func != "sum" else ("!=", ">", "<", "%"))
            if op == ">" and k == max(trips):
                op = "<"
            if op == "<" and k == min(trips):
                op = ">"
            if op == "%":
                return fp.Text(f"{index} % 2 == {self.integer(0, 1)}")
            return fp.Text(f"{index} {op} {k}")
        if func == "sum" and elt_shape == ():
            a = self.expr(inner, (), 1)
            if not fp._names(a) & set(inner.vars):
                a = fp.BinOp("+", a, self.leaf(inner, ()))
            self.tag("comprehension filter on a value")
            return fp.Compare(next(self.ids), self.pick((">", "<")), a, fp.Text(self.pick(
                ("0.0", "0.5", "-0.5"))))
        return None

    # -- nested functions ----------------------------------------------------------------------

    def closures(self, scope, shape=None) -> list:
        return [v for v in scope.vars.values() if v.kind == "func"
                and (shape is None or v.shape == shape)]

    def e_closure(self, scope, shape, depth):
        return self.call_closure(scope, self.pick(self.closures(scope, shape)), depth)

    def call_closure(self, scope, var, depth: int):
        self.called.add(var.name)
        param_shapes, keyword = var.values
        self.tag("call a nested function" + (" in a loop" if scope.loop_depth else ""))
        args = tuple(self.expr(scope, s, depth) for s in param_shapes)
        kwargs = ()
        if keyword and self.chance(50):
            self.tag("pass a keyword-only argument")
            kwargs = ((keyword, self.expr(scope, (), depth)),)
        return fp.Call(var.name, args, kwargs)

    def s_closure(self, scope):
        """`g = lambda u: ...` or `def g(u, *, c=0.5): ...` reading the enclosing function's
        variables (their values when g is called)."""
        name = self.fresh("g")
        params = [self.fresh("u") for _ in range(self.integer(1, 2))]
        shapes = tuple(self.pick(self.shapes) for _ in params)
        ret = self.pick(self.shapes)
        inner = replace(scope, vars={}, nesting=0, loop_depth=0, rolled=False, jumps=True,
                        can_define=False, ret_shape=ret, ret_shapes=None)
        for v in scope.vars.values():  # read, never assigned (that would make it local)
            inner.vars[v.name] = replace(v, frozen=True, owned=False)
        for p, s in zip(params, shapes):
            inner.vars[p] = fp.Var(p, s, protected=True)
        if self.chance(40):
            self.tag("lambda")
            scope.vars[name] = fp.Var(name, ret, "func", (shapes, None))
            return [fp.Assign(name, fp.Lambda(tuple(params), self.expr(inner, ret, 2)))]
        keyword = None
        if self.chance(35):
            keyword = self.fresh("k")
            inner.vars[keyword] = fp.Var(keyword, ())
            params += ["*", f"{keyword}={self.pick(('0.5', '2.0', '-1.0'))}"]
            self.tag("keyword-only parameter with a default")
        inner.can_return = self.chance(30)
        saved, self.budget = self.budget, self.integer(0, 3)
        body = self.block(inner, 3) if self.budget else []
        self.budget = saved
        body.append(fp.Return(self.array_value(inner, ret, 2, self.protected(inner))))
        self.tag("nested def")
        scope.vars[name] = fp.Var(name, ret, "func", (shapes, keyword))
        return [fp.FunctionDef(name, tuple(params), body)]

    # -- statements over sequences -------------------------------------------------------------

    def s_seq_loop(self, scope):
        """`for w in L`, `for i, w in enumerate(L)`, `for w, v in zip(L, M)`, `for i in
        range(len(L))` over a list or tuple (unrolled by the compiler)."""
        seqs = self.sequences(scope, fixed=True)  # a growing list's length is a lower bound
        seq = self.pick(seqs)
        k = seq.values[0]
        pre = self._accumulator(scope)
        body_scope = scope.child(loop_depth=scope.loop_depth + 1, jumps=True, rolled=scope.rolled)
        pairs = [s for s in seqs if s.values == seq.values and s != seq]
        form = self.weighted([("items", 3), ("enumerate", 1), ("range(len)", 1),
                              ("zip", 1 if pairs else 0)])
        self.tag(f"for over a sequence: {form}")
        w = self.fresh("w")
        body_scope.vars[w] = fp.Var(w, seq.shape, frozen=True)
        first: list = []
        if form == "items":
            target, iterator = w, seq.name
        elif form == "enumerate":
            i = self.fresh("i")
            body_scope.vars[i] = fp.Var(i, (), "int", tuple(range(k)))
            target, iterator = f"{i}, {w}", f"enumerate({seq.name})"
        elif form == "zip":
            other = self.pick(pairs)
            v = self.fresh("w")
            body_scope.vars[v] = fp.Var(v, other.shape, frozen=True)
            target, iterator = f"{w}, {v}", f"zip({seq.name}, {other.name})"
        else:
            i = self.fresh("i")
            body_scope.vars[i] = fp.Var(i, (), "int", tuple(range(k)))
            target, iterator = i, f"range(len({seq.name}))"
            first = [fp.Assign(w, fp.Sub(fp.Text(seq.name), i))]  # reads the list: unrolled
            body_scope.vars[w] = fp.Var(w, seq.shape)
        body = first + self.block(body_scope, 3)
        if form == "enumerate" and seq.name.startswith("L") and not scope.rolled and (
            self.chance(70)
        ):  # (not in a loop that stays a loop: a list changed there is refused, as documented)
            # the next item changed while the loop runs over the list (Python's iterator reads
            # it at each step: the next iteration sees the change)
            self.tag("list changed while a loop runs over it")
            ahead = f"{seq.name}[{i} + 1]"
            change = fp.Assign(ahead, fp.BinOp("+", fp.Text(ahead), fp.BinOp(
                "*", fp.Text("0.5"), fp.Text(w))))
            body.insert(0, fp.If(fp.Text(f"{i} + 1 < len({seq.name})"), [change]))
        return pre + [fp.For(target, iterator, body)]

    def s_list(self, scope):
        """A list built by appends (straight-line, in unrolled loops, under if), registered
        for the expressions that follow."""
        name = self.fresh("L")
        shape = self.pick(self.shapes)
        start = self.integer(0, 2)
        items = tuple(self.expr(scope, shape, 1) for _ in range(start))
        stmts: list = [fp.Assign(name, fp.Items(items))]
        self.tag("list display" if items else "empty list")
        length = start

        def append(s, value):
            return fp.ExprStmt(fp.Method(fp.Text(name), "append", (value,)))

        def growing(s):
            inner = s.child(loop_depth=s.loop_depth, jumps=False, rolled=False)
            if length:
                inner.vars[name] = fp.Var(name, shape, "growing", (length,), frozen=True)
            return inner

        for _ in range(self.integer(1, 3)):
            form = self.weighted([("append", 3), ("range", 2), ("tuple", 1), ("if", 2),
                                  ("recurrence", 2 if length else 0)])
            self.tag(f"list append: {form}")
            if form in ("append", "recurrence"):
                inner = growing(scope)
                value = self.expr(inner, shape, 2)
                if form == "recurrence":
                    value = fp.BinOp(self.pick(("*", "+")), fp.Call("np.tanh", (fp.Sub(
                        fp.Text(name), "-1"),)), value)
                stmts.append(append(scope, value))
                length += 1
            elif form == "range":
                k = self.integer(1, 3)
                inner = growing(scope)
                inner.loop_depth += 1
                i = self.fresh("i")
                inner.vars[i] = fp.Var(i, (), "int", tuple(range(k)))
                body = [append(inner, self.expr(inner, shape, 2))]
                if self.chance(40):
                    body += self.block(inner, 2)
                stmts.append(fp.For(i, f"range({k})", body))
                length += k
            elif form == "tuple":
                k = self.integer(1, 3)
                inner = growing(scope)
                inner.loop_depth += 1
                w = self.fresh("w")
                src = fp.Tup(tuple(self.expr(scope, (), 1) for _ in range(k)))
                inner.vars[w] = fp.Var(w, (), frozen=True)
                body = [append(inner, self.expr(inner, shape, 2))]
                stmts.append(fp.For(w, src if k > 1 else fp.Items(src.items), body))
                length += k
            else:
                branches = []
                for _ in range(2):
                    inner = growing(scope)
                    body = [append(inner, self.expr(inner, shape, 2))]
                    if self.chance(40):
                        body += self.block(inner, 2)
                    branches.append(body)
                stmts.append(fp.If(self.cond(scope, 2), branches[0], branches[1]))
                length += 1
        scope.vars[name] = fp.Var(name, shape, "list", (length,), frozen=True)
        uses = [(s, form) for s in dict.fromkeys([(), shape, (length,) + shape])
                if s in self.shape_set for form, v in self.seq_forms(scope, s) if v.name == name]
        if uses and self.chance(80):  # read it back now (later expressions may read it too)
            result, form = self.pick(uses)
            target = self.fresh("t")
            stmts.append(fp.Assign(target, self.seq_expr(scope, form, scope.vars[name], 1)))
            scope.vars[target] = fp.Var(target, result)
        return stmts


# Last: fuzz_programs imports this module first (its Gen mixes StructureGen in), and this
# module uses fuzz_programs' classes only when generating.
import fuzz_programs as fp  # noqa: E402
