"""The NumPy, SciPy and linear algebra of issue 13 in the program fuzzer.

`NumpyGen`, mixed into tests/fuzz_programs.py's `Gen`, adds one kind of expression, `np13`,
drawn anywhere an expression is (straight-line code, loop bodies and loop-carried updates,
branches, helpers, nested functions, comprehensions) and composed with everything else (its
operands are expressions of the grammar, and its result feeds the grammar's). It draws

- assembly: `np.concatenate` (list or tuple, `axis=`), `np.stack`, `np.hstack`, `np.vstack` of
  2-3 arrays;
- scans and reductions: `np.cumsum`/`np.cumprod` (functions and methods, `axis=`), `np.diff`
  (`n=`, `axis=`), `np.prod`, `np.var`, `np.std` (`ddof=`), `np.ptp` (`axis=`, `keepdims=`),
  `np.sort`;
- elementwise: `np.logaddexp`, `np.logaddexp2` (broadcasting), `np.exp2`, `np.cbrt`,
  `np.square`, `np.reciprocal`, `np.clip(a, a_min=, a_max=)` (and positional, and `.clip`;
  bounds that are differentiated expressions too);
- shapes: `np.transpose` (`axes=`), `np.moveaxis`, `np.swapaxes`, `np.flip`, `np.roll`,
  `np.repeat`, `np.tile`, `np.tril`/`np.triu` (`k=`), `np.diag` (both ways, `k=`), `np.trace`,
  `np.expand_dims`, `np.squeeze(axis=)`, `.ravel()`, `np.pad` (every mode), `np.take`
  (`axis=`, repeated and negative indices), `np.split`/`np.array_split` (one part of);
- products: `np.einsum` (explicit, implicit and `...` subscripts, the sublist form),
  `np.tensordot` (`axes=`),
  `np.kron`, `np.cross` (3-vectors, broadcast);
- linear algebra: `np.linalg.norm` (vector `ord` None/1/2/inf, matrix 'fro'/1/inf, `axis=`,
  `keepdims=`), `np.linalg.det`, `inv`, `solve`, `slogdet` of well-conditioned matrices
  (tanh(M) + (k + 1) I: strictly diagonally dominant with a positive diagonal, so det > 0),
  `np.linalg.svd` singular values;
- `scipy.special`: `expit`, `logit`, `logsumexp` (`axis=`, `keepdims=`), `softmax`,
  `log_softmax`, `erf`, `gammaln` (of arguments >= 0.5).

Every construct is a row of a table computed with NumPy itself for the program's sizes (the
operands' shapes, the keywords, the shape of the result); a result whose shape the grammar has
no variables of is brought back to one by summing or indexing away axes, slicing the others
and broadcasting (which also sends non-uniform cotangents into the construct).

Kinks are kept away from as the grammar does: in the instrumented run, `Recorder13` (as `_rt13`)
evaluates the call itself and notes how close it came to one (ties in `sort`, `ptp` and
inf-norms, `clip` bounds, zeros under `cbrt`, 1-norms and 2-norms, `std` of constant data,
repeated or zero singular values), so that the sample is rejected near one. The rendering for
autograd spells `scipy.special` as autograd's, and softmax/log_softmax (which it lacks) through
its logsumexp. Import fuzz_programs first (this module uses its classes when generating).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

SPECIAL = "scipy.special."
AUTOGRAD_SPECIAL = "__import__('autograd.scipy.special').scipy.special."
IMPORT = "import scipy.special"


def with_imports(program):
    """The program, importing scipy.special when it calls it."""
    from dataclasses import replace

    if SPECIAL not in program.source() or IMPORT in program.prelude:
        return program
    return replace(program, prelude="\n".join(p for p in (program.prelude, IMPORT) if p))


# -- kinks in the instrumented run --------------------------------------------------------------


class Recorder13:
    """`_rt13` of the instrumented program: makes the call (a NumPy function, or a method name
    of the first argument) and notes how close it came to a kink (through the grammar's `_rt`)."""

    def __init__(self, rt) -> None:
        self.rt = rt

    def check(self, id_, guard, func, *args, **kwargs):
        result = getattr(args[0], func)(*args[1:], **kwargs) if isinstance(func, str) else func(
            *args, **kwargs)
        x = np.asarray(args[0], dtype=float)
        getattr(self, guard)(id_, x, result, *args[1:], **kwargs)
        return result

    def _gaps(self, id_, pattern, gap) -> None:
        self.rt._note(id_, pattern, np.ravel(gap))

    def order(self, id_, x, result, axis=-1, **_):
        """sort: no two entries sorted along the axis (close to) equal."""
        flat = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
        ordered = np.sort(flat, axis=-1)
        scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
        self._gaps(id_, np.argsort(flat, axis=-1, kind="stable"),
                   np.diff(ordered, axis=-1) / scale)

    def extremes(self, id_, x, result, axis=None, keepdims=False, **_):
        """ptp: no tie for the largest or the smallest entry."""
        if x.ndim == 0:
            return
        for func in ("max", "min"):
            self.rt.reduce(id_, func, x, axis=axis)

    def clip(self, id_, x, result, lo=None, hi=None, a_min=None, a_max=None, **_):
        lo, hi = (a_min, a_max) if lo is None else (lo, hi)
        for bound in (lo, hi):
            self._gaps(id_, x > bound, self.rt._relative(x, bound))

    def positive(self, id_, x, result, *_, **__):
        """std, 2-norms: the result (a square root) away from 0."""
        self._gaps(id_, np.asarray(result) > 0, self.rt._relative(result, 0.0))

    def norm(self, id_, x, result, ord=None, axis=None, keepdims=False):
        if ord is None or ord == 2 or ord == "fro":
            return self.positive(id_, x, result)
        self._gaps(id_, x > 0, self.rt._relative(x, 0.0))  # |x| at 0
        if ord == 1 and (x.ndim == 1 or axis is not None):
            return
        sums = np.abs(x)  # the inf-norm of a vector, the 1/inf-norm of a matrix: ties
        if x.ndim == 2 and axis is None:
            sums = np.sum(sums, axis=0 if ord == 1 else 1)
        self.rt.reduce(id_, "max", sums, axis=axis if x.ndim == 2 and axis is not None else None)

    def svals(self, id_, x, result, *_, **__):
        """Singular values: distinct and away from 0."""
        s = np.linalg.svd(x, compute_uv=False)
        scale = max(1.0, float(s[0]))
        self._gaps(id_, (), np.concatenate([-np.diff(s), s[-1:]]) / scale)


# -- the table of constructs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    family: str  # tag, and the unit of the draw
    func: str
    operands: tuple  # shapes, ("square", k) well-conditioned, ("matrix", k) any k x k
    kwargs: tuple = ()  # (name, text)
    raw: tuple = ()  # shape of the result
    method: bool = False
    guard: str = ""
    listed: bool | None = None  # the operands as one sequence argument ([...] or (...))
    item: str = ""  # index the result (slogdet(...)[1], svd(...)[1])


def _sample(spec) -> np.ndarray:
    """An array for the operand spec (a square one well-conditioned)."""
    if isinstance(spec[0], str):
        k = spec[1]
        return np.random.default_rng(0).uniform(0.5, 1.5, (k, k)) + k * np.eye(k)
    return np.random.default_rng(0).uniform(0.5, 1.5, spec)


def _eval(func: str, operands: tuple, kwargs: tuple, listed, method: bool, item: str):
    """The shape of the construct's result (by running it on sample arrays), or None."""
    import scipy.special  # noqa: F401 (for eval)

    args = [_sample(s) for s in operands]
    scope = {"np": np, "scipy": __import__("scipy"), "args": args, "inf": np.inf}
    kw = [f"{k}={v}" for k, v in kwargs]
    if listed is not None:
        text = f"{func}({', '.join(['args'] + kw)})"
    elif method:
        text = f"args[0].{func}({', '.join([f'args[{i}]' for i in range(1, len(args))] + kw)})"
    else:
        text = f"{func}({', '.join([f'args[{i}]' for i in range(len(args))] + kw)})"
    try:
        with np.errstate(all="ignore"):
            result = eval(text + item, scope)  # noqa: S307
    except Exception:
        return None
    if isinstance(result, np.ndarray) and result.ndim == 0:
        return None  # (np.tensordot of vectors: a 0-d array, not the number a program returns)
    shape = np.shape(result)
    return shape if 0 not in shape and len(shape) <= 3 else None


AXES_1D = ((), (("axis", "0"),), (("axis", "-1"),))
AXES_2D = ((), (("axis", "0"),), (("axis", "1"),), (("axis", "-1"),), (("axis", "-2"),))
EINSUM = ("ij->ji", "ij->i", "ij->j", "ij->", "i,i->", "i,j->ij", "ij,j->i", "ij,jk->ik",
          "ij,ij->ij", "ij,ij->", "ij,kj->ik", "i,ij->j", "...j,j->...", "ij,jk", "ii->",
          "ii->i", "ij,i->ij")
TENSORDOT = ("0", "1", "2", "([0], [0])", "([1], [0])", "([0], [1])", "([1], [1])",
             "([0, 1], [0, 1])")


def _axes(shape):
    return AXES_1D if len(shape) == 1 else AXES_2D


def _rows(shapes: list, lengths: list) -> list[Row]:
    """Every construct on operands of these shapes, with its result's shape."""
    cands: list[Row] = []
    arrays = [s for s in shapes if s]
    two_d = [s for s in arrays if len(s) == 2]
    squares = [("square", k) for k in lengths]
    matrices = [("matrix", k) for k in lengths]

    def add(family, func, operands, kwargs=(), **extra):
        cands.append(Row(family, func, tuple(operands), tuple(kwargs), **extra))

    for count in (2, 3):
        for pieces in itertools.product(arrays, repeat=count):
            if count == 3 and len(set(pieces)) > 2:
                continue
            for listed in (True, False):
                add("np.concatenate", "np.concatenate", pieces, (), listed=listed)
                for a in range(len(pieces[0])):
                    add("np.concatenate axis", "np.concatenate", pieces, (("axis", str(a)),),
                        listed=listed)
            add("np.hstack", "np.hstack", pieces, listed=True)
            add("np.vstack", "np.vstack", pieces, listed=False)
            if len(set(pieces)) == 1:
                for a in range(-1, len(pieces[0]) + 1):
                    add("np.stack", "np.stack", pieces, (("axis", str(a)),), listed=True)
    for s in arrays:
        for kw in ((),) + _axes(s)[1:]:
            for name in ("cumsum", "cumprod"):
                add(f"np.{name}", f"np.{name}", (s,), kw)
                add(f".{name}()", name, (s,), kw, method=True)
            add("np.sort", "np.sort", (s,), kw, guard="order")
            for n in ("1", "2"):
                add("np.diff", "np.diff", (s,), kw + ((("n", n),) if n != "1" else ()))
            for keep in ((), (("keepdims", "True"),)):
                add("np.prod", "np.prod", (s,), kw + keep)
                add("np.ptp", "np.ptp", (s,), kw + keep, guard="extremes")
                add("scipy.special.logsumexp", SPECIAL + "logsumexp", (s,), kw + keep)
                for ddof in ((), (("ddof", "1"),)):
                    axis = dict(kw).get("axis")
                    entries = int(np.prod(s)) if axis is None else s[int(axis)]
                    if entries > (1 if ddof else 0):
                        add("np.var ddof", "np.var", (s,), kw + keep + ddof)
                        add("np.std ddof", "np.std", (s,), kw + keep + ddof, guard="positive")
                        add(".std()", "std", (s,), kw + keep + ddof, method=True,
                            guard="positive")
                        add(".var()", "var", (s,), kw + keep + ddof, method=True)
            add("np.flip", "np.flip", (s,), kw)
            for shift in ("1", "-2"):
                add("np.roll", "np.roll", (s,), (("shift", shift),) + kw)
            add("np.repeat", "np.repeat", (s,), (("repeats", "2"),) + kw)
            add("scipy.special.softmax", SPECIAL + "softmax", (s,), kw)
            add("scipy.special.log_softmax", SPECIAL + "log_softmax", (s,), kw)
            add("np.expand_dims", "np.expand_dims", (s,), kw or (("axis", "0"),))
            for ord_, keep in itertools.product(("None", "1", "2", "np.inf"), (0, 1)):
                if kw or len(s) == 1:
                    add(f"np.linalg.norm ord={ord_}", "np.linalg.norm", (s,),
                        (("ord", ord_),) + kw + (("keepdims", "True"),) * keep, guard="norm")
        for axis in ((), (("axis", "0"),), (("axis", "-1"),)):
            length = int(np.prod(s)) if not axis else s[int(axis[0][1])]
            for indices in dict.fromkeys(("1", f"[{length - 1}, 0]", "[0, 0, -1]", "[-1]")):
                add("np.take", "np.take", (s,), (("indices", indices),) + axis)
            for parts, name in (("2", "np.split"), ("[1]", "np.split"), ("2", "np.array_split")):
                for j in range(2):
                    add(name, name, (s,), (("indices_or_sections", parts),) + axis,
                        item=f"[{j}]")
        add("np.linalg.norm", "np.linalg.norm", (s,), guard="norm")
        add(".ravel()", "ravel", (s,), method=True)
        add("np.ravel", "np.ravel", (s,))
        for reps in ("2", "(2, 1)", "(1, 2)"):
            add("np.tile", "np.tile", (s,), (("reps", reps),))
        for width in ("1", "(1, 2)", "((0, 1), (2, 0))"):
            for mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
                add(f"np.pad {mode}", "np.pad", (s,), (("pad_width", width), ("mode",
                                                                              repr(mode))))
        for k in range(len(s)):
            add("np.squeeze axis", "np.squeeze", (s,), (("axis", str(k)),))
    for s in two_d:
        add("np.transpose axes", "np.transpose", (s,), (("axes", "(1, 0)"),))
        add("np.moveaxis", "np.moveaxis", (s,), (("source", "0"), ("destination", "-1")))
        add("np.swapaxes", "np.swapaxes", (s,), (("axis1", "0"), ("axis2", "1")))
        for ord_ in ("'fro'", "1", "np.inf"):
            add(f"np.linalg.norm matrix ord={ord_}", "np.linalg.norm", (s,), (("ord", ord_),),
                guard="norm")
        for func in ("np.tril", "np.triu"):
            for k in ("0", "-1", "1"):
                add(func, func, (s,), (("k", k),) if k != "0" else ())
        for k in ("0", "1"):
            add("np.diag of a matrix", "np.diag", (s,), (("k", k),) if k != "0" else ())
            add("np.trace", "np.trace", (s,), (("offset", k),) if k != "0" else ())
        add("np.linalg.svd values", "np.linalg.svd", (s,), (("compute_uv", "False"),),
            guard="svals")
    for s in [s for s in arrays if len(s) == 1]:
        add("np.diag of a vector", "np.diag", (s,))
    for a, b in itertools.product(arrays, repeat=2):
        add("np.kron", "np.kron", (a, b))
        if a[-1] == 3 and b[-1] == 3:  # (2-vectors: deprecated by NumPy)
            add("np.cross", "np.cross", (a, b))
        for axes in TENSORDOT:
            add("np.tensordot", "np.tensordot", (a, b), (("axes", axes),))
    for sub in EINSUM:
        specs = [part for part in sub.split("->")[0].split(",")]
        pool = [s for s in arrays] if "ii" not in sub else matrices
        for operands in itertools.product(pool, repeat=len(specs)):
            add("np.einsum" + (" ..." if "..." in sub else ""), "np.einsum",
                (repr(sub),) + operands)
    for sq in squares:
        add("np.linalg.det", "np.linalg.det", (sq,))
        add("np.linalg.slogdet", "np.linalg.slogdet", (sq,), item="[1]")
        add("np.linalg.inv", "np.linalg.inv", (sq,))
        for b in arrays:
            add("np.linalg.solve", "np.linalg.solve", (sq, b))
        add("np.linalg.svd values", "np.linalg.svd", (sq,), item="[1]", guard="svals")
    for m in matrices:
        add("np.trace", "np.trace", (m,))
        add("np.diag of a matrix", "np.diag", (m,))
    rows = []
    for row in cands:
        operands = tuple(o for o in row.operands if not isinstance(o, str))
        if row.func == "np.einsum":
            raw = _einsum_shape(row.operands)
        else:
            raw = _eval(row.func, operands, row.kwargs, row.listed, row.method, row.item)
        if raw is not None:
            rows.append(Row(row.family, row.func, row.operands, row.kwargs, raw, row.method,
                            row.guard, row.listed, row.item))
    return rows


def _sublist(spec: str) -> str:
    """'...ij' as the sublist '[Ellipsis, 8, 9]' (NumPy numbers the letters a=0, b=1, ...)."""
    items = ["Ellipsis"] if spec.startswith("...") else []
    items += [str(ord(c) - ord("a")) for c in spec.replace("...", "")]
    return "[" + ", ".join(items) + "]"


def _einsum_shape(operands: tuple):
    try:
        return np.einsum(operands[0][1:-1], *[_sample(s) for s in operands[1:]]).shape
    except ValueError:
        return None


VIEWS = {"np.transpose", "np.moveaxis", "np.swapaxes", "np.ravel", "ravel", "np.expand_dims",
         "np.squeeze", "np.flip", "np.diag", "np.split", "np.array_split"}
_ROWS: dict = {}
_FEASIBLE: dict = {}
NP13_WEIGHT = 3  # of the grammar's expression forms (tests/fuzz_programs.py's Gen.expr)
UNARY = ("np.exp2", "np.cbrt", "np.square", "np.reciprocal", "np.clip", "scipy.special.expit",
         "scipy.special.logit", "scipy.special.erf", "scipy.special.gammaln", "np.logaddexp",
         "np.logaddexp2")


# -- the grammar -------------------------------------------------------------------------------


class NumpyGen:
    """Mixed into fuzz_programs.Gen: the constructs of issue 13."""

    def _np13_rows(self) -> list[Row]:
        key = tuple(self.shapes)
        if key not in _ROWS:
            lengths = sorted({s[0] for s in self.array_shapes if len(s) == 1})
            _ROWS[key] = _rows(self.shapes, lengths)
        return _ROWS[key]

    def _np13_plans(self, raw: tuple, target: tuple) -> list[tuple]:
        """Ways to bring a result of shape raw to target: (axes dropped, remaining shape)."""
        plans: list = []
        if len(raw) < len(target):
            return [((), ())] if not raw else plans
        for drop in itertools.combinations(range(len(raw)), len(raw) - len(target)):
            rest = tuple(n for i, n in enumerate(raw) if i not in drop)
            if all(r >= t or r == 1 for r, t in zip(rest, target)):
                plans.append((drop, rest))
        return plans

    def _np13_feasible(self, shape: tuple) -> list[Row]:
        key = (tuple(self.shapes), shape)
        if key not in _FEASIBLE:
            _FEASIBLE[key] = [r for r in self._np13_rows() if self._np13_plans(r.raw, shape)]
        return _FEASIBLE[key]

    def numpy13_options(self, scope, shape) -> list:
        return [("np13", NP13_WEIGHT)]

    def e_np13(self, scope, shape, depth):
        feasible = self._np13_feasible(shape)
        family = self.pick(sorted({r.family for r in feasible}) + list(UNARY))
        self.tag(f"np13 {family}", *(["np13 in a loop"] if scope.loop_depth else []))
        if family in UNARY:
            return self.np13_elementwise(scope, shape, depth, family)
        row = self.pick([r for r in feasible if r.family == family])
        plan = self.pick(self._np13_plans(row.raw, shape))
        node = self.np13_adapt(self.np13_build(scope, row, depth), row.raw, shape, plan)
        inner = node.args[0] if isinstance(node, Raw13) and node.args else node
        if shape and (isinstance(node, _fp().Sub) or getattr(inner, "func", "") in VIEWS):
            # a view (of an operand, or of a temporary): the grammar may write into what
            # it assigns, and knows views of names only
            node = _fp().Call("np.copy", (node,))
        return node

    def np13_operand(self, scope, spec, depth):
        if isinstance(spec[0], str):  # ("square", k) or ("matrix", k)
            return self.np13_square(scope, spec[1], depth, spec[0] == "square")
        return self.expr(scope, spec, depth)

    def np13_square(self, scope, k: int, depth: int, conditioned: bool):
        """A k x k matrix; conditioned: tanh(M) + (k + 1) I (det > 0, well-conditioned)."""
        fp = _fp()
        forms = [("outer", 2)]
        forms += [("gram", 2)] if any(len(s) == 2 and k in s for s in self.shapes) else []
        forms += [("direct", 3)] if (k, k) in self.shape_set else []
        forms += [("diag", 1)]
        form = self.weighted(forms)
        self.tag(f"np13 square matrix: {form}")
        if form == "outer":
            m = fp.Call("np.outer", (self.expr(scope, (k,), depth), self.expr(scope, (k,), depth)))
        elif form == "gram":
            s = self.pick([s for s in self.shapes if len(s) == 2 and k in s])
            x = self.expr(scope, s, depth)
            m = fp.BinOp("@", x, fp.Attr(x, "T")) if s[0] == k else fp.BinOp("@", fp.Attr(
                x, "T"), x)
        elif form == "direct":
            m = self.expr(scope, (k, k), depth)
        else:
            m = fp.Call("np.diag", (self.expr(scope, (k,), depth),))
        if not conditioned:
            return m
        return Raw13(f"(np.tanh({{0}}) + {float(k + 1)} * np.eye({k}))", (m,))

    def np13_build(self, scope, row: Row, depth: int):
        fp = _fp()
        if row.func == "np.einsum":
            arrays = tuple(self.np13_operand(scope, s, depth) for s in row.operands[1:])
            subscripts = row.operands[0][1:-1]
            # the sublist form (not for a number: NumPy returns it as a 0-d array there)
            if "->" in subscripts and not subscripts.endswith("->") and self.chance(40):
                inputs, output = subscripts.split("->")
                operands = tuple(item for array, spec in zip(arrays, inputs.split(","))
                                 for item in (array, fp.Text(_sublist(spec))))
                operands += (fp.Text(_sublist(output)),)
            else:
                operands = (fp.Text(row.operands[0]),) + arrays
        else:
            operands = tuple(self.np13_operand(scope, s, depth) for s in row.operands)
        if row.listed is not None:
            operands = (Seq13(operands, row.listed),)
        kwargs = row.kwargs
        positional = [k for k, _ in kwargs if k in ("shift", "repeats", "reps", "pad_width",
                                                    "source", "destination", "axis1", "axis2",
                                                    "indices", "indices_or_sections")]
        if positional and self.chance(50):  # as NumPy's own positional arguments
            operands += tuple(fp.Text(v) for k, v in kwargs if k in positional)
            kwargs = tuple((k, v) for k, v in kwargs if k not in positional)
        spelled = ""
        if row.family == "np.diag of a matrix":  # autograd's is wrong for non-square ones
            spelled = "np.diagonal({0}" + ", {1})" * bool(kwargs) + ")" * (not kwargs)
        node = Fn13(next(self.ids), row.func, operands, kwargs, row.method, row.guard, spelled)
        return Raw13("{0}" + row.item, (node,)) if row.item else node

    def np13_adapt(self, node, raw: tuple, target: tuple, plan: tuple):
        """The result of shape raw brought to target: axes summed or indexed away, the others
        sliced, then broadcast."""
        fp = _fp()
        drop, rest = plan
        if raw and not target:
            form = self.pick(("sum", "sum of sin", "index"))
            self.tag(f"np13 result to a number: {form}")
            if form == "index":
                return fp.Sub(node, ", ".join(str(self.integer(0, n - 1)) for n in raw))
            inner = fp.Call("np.sin", (node,)) if form == "sum of sin" else node
            return fp.Call("np.sum", (inner,))
        for axis in sorted(drop, reverse=True):
            if self.chance(50):
                node = fp.Call("np.sum", (node,), (("axis", fp.Text(str(axis))),))
            else:
                node = fp.Sub(node, ":, " * axis + str(self.integer(0, raw[axis] - 1)))
        if any(r > t for r, t in zip(rest, target)):
            parts = []
            for r, t in zip(rest, target):
                start = self.integer(0, r - t) if r > t else 0
                parts.append(f"{start}:{start + t}" if r > t else ":")
            self.tag("np13 result sliced")
            node = fp.Sub(node, ", ".join(parts))
            rest = tuple(min(r, t) for r, t in zip(rest, target))
        if rest != target:
            node = fp.BinOp("+", node, fp.Call("np.zeros", (fp.Text(fp._shape_text(target)),)))
        return node

    def np13_elementwise(self, scope, shape, depth, family: str):
        fp = _fp()
        if family in ("np.logaddexp", "np.logaddexp2"):
            sa, sb = self._operand_shapes(shape)
            return fp.Call(family, (self.expr(scope, sa, depth), self.expr(scope, sb, depth)))
        a = self.expr(scope, shape, depth)
        if family == "np.exp2":
            return fp.Call(family, (fp.Call("np.tanh", (a,)) if self.chance(50) else a,))
        if family == "np.cbrt":  # kink (infinite slope) at 0: recorded
            return fp.Kink(next(self.ids), "np.cbrt", (a,))
        if family == "np.reciprocal":
            if self.chance(50):
                square = fp.BinOp("**", a, fp.Text("2"))
                return fp.Call(family, (fp.BinOp("+", fp.Text(self.pick(("1.0", "0.5"))), square),))
            return fp.Call(family, (fp.BinOp("+", fp.Text("1.5"), fp.Call("np.cos", (a,))),))
        if family == "scipy.special.gammaln":
            return fp.Call(family, (fp.BinOp("+", fp.Text("0.5"), fp.BinOp("**", a, fp.Text(
                "2"))),))
        if family == "scipy.special.logit":  # of (0.1, 0.9)
            return Fn13(next(self.ids), family, (fp.BinOp("+", fp.Text("0.5"), fp.BinOp(
                "*", fp.Text("0.4"), fp.Call("np.tanh", (a,)))),))
        if family == "np.clip":
            return self.np13_clip(scope, shape, depth, a)
        if family.startswith(SPECIAL):
            return Fn13(next(self.ids), family, (a,))
        return fp.Call(family, (a,))

    def np13_clip(self, scope, shape, depth, a):
        """clip with constant bounds, or a differentiated lower bound (a number) and a width."""
        fp = _fp()
        lo_text, hi_text = sorted(self.pick(("-1.0", "-0.5", "0.0", "0.25", "0.5", "1.0"))
                                  for _ in range(2))
        if lo_text == hi_text:
            hi_text = str(float(lo_text) + 0.5)
        lo, hi = fp.Text(lo_text), fp.Text(hi_text)
        if self.chance(35):
            self.tag("np13 clip with differentiated bounds")
            lo = self.expr(scope, (), depth)
            hi = fp.BinOp("+", lo, fp.BinOp("+", fp.Text("0.5"), fp.BinOp(
                "**", self.expr(scope, (), depth), fp.Text("2"))))
        form = self.pick(("keywords", "positional") + (("method",) if shape else ()))
        self.tag(f"np13 clip {form}")
        if form == "keywords":
            return Fn13(next(self.ids), "np.clip", (a,), (("a_min", lo), ("a_max", hi)),
                        guard="clip")
        if form == "positional":
            return Fn13(next(self.ids), "np.clip", (a, lo, hi), guard="clip")
        return Fn13(next(self.ids), "clip", (a, lo, hi), method=True, guard="clip")


def _fp():
    import fuzz_programs

    return fuzz_programs


import fuzz_programs as fp  # noqa: E402

# -- nodes (last: fuzz_programs imports this module before its Gen, which mixes NumpyGen in) --


def _kwargs_text(kwargs: tuple, inst) -> str:
    return "".join(f", {k}={v.render(inst) if hasattr(v, 'render') else v}" for k, v in kwargs)


@dataclass(frozen=True)
class Fn13(fp.Node):
    """A call `func(args, kwargs)` or, with method, `args[0].func(args[1:], kwargs)`; guarded
    through `_rt13` when instrumented (guard: a Recorder13 method, or "")."""

    id: int
    func: str
    args: tuple
    kwargs: tuple = ()
    method: bool = False
    guard: str = ""
    spelled: str = ""  # for autograd: a template of the rendered arguments and keyword values

    def render(self, inst) -> str:
        args = [a.render(inst) for a in self.args]
        kwargs = _kwargs_text(self.kwargs, inst)
        func = self.func
        if inst == "autograd" and self.spelled:
            return self.spelled.format(*args, *(v for _, v in self.kwargs))
        if inst == "autograd" and func.startswith(SPECIAL):
            name = func[len(SPECIAL):]
            if name in ("softmax", "log_softmax"):  # autograd has neither: its logsumexp
                axis = dict(self.kwargs).get("axis", "None")
                shifted = (f"({args[0]} - {AUTOGRAD_SPECIAL}logsumexp({args[0]}, axis={axis}, "
                           f"keepdims=True))")
                return shifted if name == "log_softmax" else f"np.exp{shifted}"
            func = AUTOGRAD_SPECIAL + name
        if inst is True and self.guard:
            target = repr(func) if self.method else func
            return f"_rt13.check({self.id}, {self.guard!r}, {target}, {', '.join(args)}{kwargs})"
        inner = ", ".join(args[1:] if self.method else args) + kwargs
        inner = inner[2:] if inner.startswith(", ") else inner
        return f"{args[0]}.{func}({inner})" if self.method else f"{func}({inner})"


@dataclass(frozen=True)
class Seq13(fp.Node):
    """`[a, b]` or `(a, b)`: the pieces of an assembly."""

    items: tuple
    listed: bool

    def render(self, inst) -> str:
        inner = ", ".join(i.render(inst) for i in self.items)
        return f"[{inner}]" if self.listed else f"({inner},)" if len(self.items) == 1 else (
            f"({inner})")


@dataclass(frozen=True)
class Raw13(fp.Node):
    """Text with holes `{0}`, `{1}` for rendered operands (`slogdet(...)[1]`, `np.eye(k)`)."""

    text: str
    args: tuple = ()

    def render(self, inst) -> str:
        return self.text.format(*(a.render(inst) for a in self.args))
