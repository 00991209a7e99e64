"""The fuzzer's harness: runs a generated program (tests/fuzz_programs.py) in plain Python and
checks ad_compiler on it against independent oracles.

`evaluate` runs the instrumented rendering of the program in CPython: its value, and how close
it came to a kink or a threshold (a sample within MARGIN of one is `Rejected`);
`numerical_gradient` gives Richardson-extrapolated central differences of it (rejected when a
perturbed run takes another branch or side of a kink).

`check_program` differentiates the program on the python backend with `value_and_grad` and,
unoptimized (`optimize=False`), with the program's choice of `grad`/`value_and_grad` (and on
numba when the program asks for it); checks every value against the function run by CPython
(to 1e-12), the gradients' types and shapes, and that the caller's arrays are left alone; then
compares the gradients with central differences, the optimized program with the unoptimized one
(to 1e-10), the backends with each other and, for programs without in-place writes, with
autograd's (tests/fuzz_autograd.py). A program reading a module constant the generator chose to
change is called again after the change, against the function with the new value. An in-place
`op=` on an array through an alias or a view may be refused at that line
(UnsupportedSyntaxError): that is a pass (`Outcome.refused`), any other refusal a failure.
Failures raise `FuzzFailure` (one subclass per kind) with a readable report: the program, the
arguments, the gradients of each oracle and a paste-able reproducer.
"""

from __future__ import annotations

import math
import operator
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import fuzz_numpy13 as fn13
import fuzz_structures as fs
import numpy as np
from fuzz_programs import AUTOGRAD, MARGIN, MAX_GRAD, MAX_VALUE, STEP, Program, load

from ad_compiler import grad, jvp, value_and_grad
from ad_compiler.errors import ADCompilerError

# -- evaluating a program in plain Python -------------------------------------------------------


class Rejected(Exception):
    """The sample is unusable (near a kink, ill-conditioned, overflowing): not a failure."""


class GeneratorError(Exception):
    """The generated program does not run as Python: a bug in this generator."""


class FuzzFailure(AssertionError):
    """ad_compiler disagrees with central differences, or the backends with each other, or
    fails on a program it should differentiate. `kind` names the sort of failure; each kind
    is its own subclass, so that Hypothesis tells different kinds apart as different bugs."""

    kind = "failure"


_FAILURES: dict[str, type] = {}


def failure(kind: str, report: str) -> FuzzFailure:
    if kind not in _FAILURES:
        name = "FuzzFailure_" + "".join(w.capitalize() for w in kind.split())
        _FAILURES[kind] = type(name, (FuzzFailure,), {"kind": kind})
    return _FAILURES[kind](report)


_COMPARE = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


class Recorder:
    """`_rt` of the instrumented program: the outcome and closeness of every comparison and
    kink, in evaluation order."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.trace: list = []
        self.gap = math.inf
        self.closest = ""  # which recorded construct came closest

    def _note(self, id_, pattern, gap) -> None:
        self.trace.append((id_, np.asarray(pattern).tobytes()))
        if np.size(gap) and float(np.min(gap)) < self.gap:
            self.gap = float(np.min(gap))
            self.closest = sys._getframe(1).f_code.co_name

    @staticmethod
    def _relative(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return np.abs(a - b) / np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))

    def cmp(self, id_, op, a, b):
        result = _COMPARE[op](a, b)
        exact = all(isinstance(v, (int, np.integer)) for v in (a, b))  # loop counters: no kink
        self._note(id_, result, () if exact else self._relative(a, b))
        return result

    def kink(self, id_, func, *args):
        a = args[0]
        b = args[1] if len(args) > 1 else 0.0
        self._note(id_, np.asarray(a) > np.asarray(b), self._relative(a, b))
        return func(*args)

    def modulo(self, id_, op, a, b):
        quotient = np.asarray(a, dtype=float) / b
        distance = np.abs(quotient - np.round(quotient)) * abs(b)
        self._note(id_, np.floor(quotient), distance / np.maximum(1.0, np.abs(a)))
        return a % b if op == "%" else a // b

    def truth(self, id_, a):
        """The first operand of `a or b` / `a and b`: only exactly 0.0 is false (no gap)."""
        self._note(id_, bool(a), ())
        return a

    def truncated(self, id_, a):
        """A float about to be stored into an integer array: truncation jumps at integers."""
        if not math.isfinite(a):
            raise OverflowError(f"storing {a} into an integer array")
        self._note(id_, math.trunc(a), abs(a - round(a)) / max(1.0, abs(a)))
        return a

    def reduce(self, id_, func, x, axis=None, keepdims=False):
        x = np.asarray(x, dtype=float)
        result = getattr(np, func)(x, axis=axis, keepdims=keepdims)
        flat = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
        if flat.shape[-1] > 1:
            ordered = np.sort(flat, axis=-1)
            pair = ordered[..., -2:] if func == "max" else ordered[..., :2]
            scale = np.maximum(1.0, np.max(np.abs(x)))
            gap = np.abs(pair[..., 1] - pair[..., 0]) / scale
        else:
            gap = np.array([])
        pick = np.argmax if func == "max" else np.argmin
        self._note(id_, pick(flat, axis=-1), gap)
        return result


@dataclass
class Evaluation:
    """The unperturbed plain-Python run of a program."""

    value: float
    gap: float  # closest approach to a kink or threshold (relative)
    trace: list  # the outcome of every comparison and kink, in order
    numerical: tuple | None = None  # per differentiated parameter: float or array
    constants: tuple = ()  # module constants changed from the program's (name, value)


def _instrumented(program: Program, constants: tuple = ()):
    """A runner of the instrumented program (module constants set to `constants`, pairs)."""
    recorder = Recorder()
    namespace = {"_rt": recorder, "_rt13": fn13.Recorder13(recorder),
                 "__name__": "fuzz_instrumented"}
    exec(compile(program.source(instrumented=True), "<fuzz program, instrumented>", "exec"),  # noqa: S102
         namespace)
    namespace.update(constants)
    fn = namespace[program.main]

    def run(args):
        recorder.reset()
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = fn(*args)
        except (OverflowError, ZeroDivisionError) as exc:
            raise Rejected(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:
            if "math domain error" not in str(exc):  # math.log/sqrt/acos outside its domain
                raise GeneratorError(f"the generated program fails in Python: {exc!r}\n"
                                     f"{program.source()}") from exc
            raise Rejected(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise GeneratorError(f"the generated program fails in Python: {exc!r}\n"
                                 f"{program.source()}") from exc
        if not isinstance(value, (float, np.floating)):
            raise GeneratorError(f"the program returns a {type(value).__name__}\n"
                                 f"{program.source()}")
        value = float(value)
        if not math.isfinite(value) or abs(value) > MAX_VALUE:
            raise Rejected(f"value {value}")
        return value, recorder.trace, (recorder.gap, recorder.closest)

    return run


def evaluate(program: Program, constants: tuple = ()) -> Evaluation:
    """The program's value in plain Python, and how close it came to a kink or threshold.
    Raises Rejected for a sample within MARGIN of one, or with values too large to check;
    GeneratorError when the program does not run."""
    value, trace, (gap, closest) = _instrumented(program, constants)(program.args())
    if gap < MARGIN:
        raise Rejected(f"within {gap:.2g} of a kink or threshold ({closest})")
    return Evaluation(value, gap, trace, constants=constants)


def numerical_gradient(program: Program, evaluation: Evaluation) -> tuple:
    """Richardson-extrapolated central differences for every differentiated parameter (also
    stored in evaluation.numerical). Raises Rejected when a perturbed run takes any other
    branch or side of a kink than the unperturbed one, or for gradients too large to check."""
    if evaluation.numerical is not None:
        return evaluation.numerical
    run = _instrumented(program, evaluation.constants)

    def f(position, path, index, delta):
        args = program.args()
        leaf = fs.get(args[position], path)
        if index is None:
            args[position] = fs.with_leaf(args[position], path, leaf + delta)
        else:
            leaf[index] += delta  # args() copied every leaf
        value, trace, _ = run(args)
        if trace != evaluation.trace:
            raise Rejected("a perturbed run took another branch")
        return value

    def derivative(position, path, index):
        d1 = (f(position, path, index, STEP) - f(position, path, index, -STEP)) / (2 * STEP)
        d2 = (f(position, path, index, STEP / 2) - f(position, path, index, -STEP / 2)) / STEP
        return (4 * d2 - d1) / 3

    numerical = []
    for name in program.wrt:
        position = program.params.index(name)
        x = program.values[position]
        grads = []
        for path, leaf in fs.leaves(x):  # a structured argument: each of its leaves
            if isinstance(leaf, np.ndarray):
                g = np.zeros(leaf.shape)
                for index in np.ndindex(leaf.shape):
                    g[index] = derivative(position, path, index)
            else:
                g = derivative(position, path, None)
            grads.append(g)
        g = fs.rebuild(x, grads)
        if np.max(np.abs(fs.flat(g)), initial=0.0) > MAX_GRAD:
            raise Rejected("gradient too large to check")
        numerical.append(g)
    evaluation.numerical = tuple(numerical)
    return evaluation.numerical


def _show(value) -> str:
    if fs.is_struct(value):
        return fs.literal(value, _show)
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=10, separator=", ", max_line_width=96)
    return repr(value)


@dataclass(frozen=True)
class Run:
    """One way of calling ad_compiler on a program."""

    backend: str
    optimize: bool
    with_value: bool

    @property
    def label(self) -> str:
        return self.backend + ("" if self.optimize else " unoptimized")

    def call_text(self, program: Program) -> str:
        api = "value_and_grad" if self.with_value else "grad"
        extra = "" if self.optimize else ", optimize=False"
        return (f"{api}({program.main}, wrt={program.wrt_arg!r}, backend={self.backend!r}"
                f"{extra})({', '.join(program.params)})")

    def make(self, program: Program, fn):
        api = value_and_grad if self.with_value else grad
        return api(fn, wrt=program.wrt_arg, backend=self.backend, optimize=self.optimize)


def runs_for(program: Program, backends: tuple[str, ...]) -> list[Run]:
    """The python backend optimized with value_and_grad (every program's value is checked) and
    unoptimized, numba optimized; the latter two with the program's choice of grad or
    value_and_grad."""
    runs = []
    for backend in backends:
        runs.append(Run(backend, True, backend == "python" or program.use_value))
        if backend == "python":
            runs.append(Run("python", False, program.use_value))
    return runs


@dataclass
class Outcome:
    """What checking one program found (when it passed)."""

    backends: tuple[str, ...]
    seconds: dict  # run label -> seconds to differentiate, compile and run
    evaluation: Evaluation
    value_checks: int = 0  # calls whose value was compared with the function's (CPython)
    unoptimized: bool = False  # optimized and unoptimized programs compared
    autograd: str = ""  # "checked", or why autograd was not used as an oracle
    changed_constants: str = ""  # "checked" or why not; "" when the program changes none
    refused: str = ""  # the compiler refused an alias form cleanly (its message)
    inaccurate_differences: bool = False  # autograd overruled central differences
    jvp: str = ""  # "checked", or why forward mode was not compared


class _CleanRefusal(Exception):
    pass


VALUE_RTOL = 1e-12  # the generated program's value against the function run by CPython
UNOPTIMIZED_RTOL = 1e-10  # optimized against unoptimized programs
BACKENDS_RTOL = 1e-9  # numba against python
AUTOGRAD_RTOL = 1e-8  # ad_compiler against autograd (both exact up to rounding)


def _report(program: Program, what: str, call: str, evaluation: Evaluation,
            analytic=None, others: tuple = ()) -> str:
    """others: (label, gradients) to show next to ad_compiler's and the central differences."""
    lines = [f"{what}", f"call: {call}", "",
             "--- program ---", program.source().rstrip(), "", "--- arguments ---",
             program.arguments_text()]
    if evaluation.constants:
        lines.append("--- module constants changed to --- " + ", ".join(
            f"{name} = {value!r}" for name, value in evaluation.constants))
    lines += ["", f"--- value --- {evaluation.value!r}"]
    if evaluation.numerical is not None or analytic is not None or others:
        lines.append("--- gradients ---")
        shown = ([("central differences", evaluation.numerical)]
                 + [("ad_compiler", analytic)] + list(others))
        for i, name in enumerate(program.wrt):
            for label, grads in shown:
                if grads is not None:
                    lines.append(f"{name}: {label:<20} {_show(grads[i])}")
    lines += ["", "--- reproducer ---", program.reproducer()]
    return "\n".join(lines)


def _close(a, b, rtol: float, atol: float):
    a, b = fs.flat(a), fs.flat(b)  # structured values: leaf by leaf
    excess = np.abs(a - b) - (atol + rtol * np.abs(b))
    excess = np.where(np.isnan(a) | np.isnan(b), np.inf, excess)
    return bool(np.all(excess <= 0)), excess


def _clean_refusal(program: Program, exc: Exception, path: str) -> bool:
    """A refusal of one of the program's `name op= v` statements through an alias or a view
    (allowed), naming that line of the program's file."""
    if not program.refusable or type(exc).__name__ != "UnsupportedSyntaxError":
        return False
    if getattr(exc, "filename", None) != path or not getattr(exc, "lineno", None):
        return False
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not 1 <= exc.lineno <= len(lines):
        return False
    line = lines[exc.lineno - 1].strip()
    return any(line.startswith(f"{name} {op}= ") for name, op in program.refusable)


def _call(program: Program, gradient, run: Run, evaluation: Evaluation, path: str):
    """ad_compiler's gradients (one per differentiated parameter) and value (None for grad),
    after checking the call left the arguments alone, the value against the function's and the
    gradients' types and shapes."""
    args = program.args()
    call = run.call_text(program)
    try:
        out = gradient(*args)
    except Exception as exc:
        if _clean_refusal(program, exc, path):
            raise _CleanRefusal(str(exc)) from exc
        kind = "refused" if type(exc).__name__ == "UnsupportedSyntaxError" else "crashed"
        raise failure(kind, _report(program, f"{type(exc).__name__}: {exc}", call,
                                    evaluation)) from exc
    for name, before, after in zip(program.params, program.values, args):
        if any(isinstance(leaf, np.ndarray) and not np.array_equal(leaf, fs.get(after, path))
               for path, leaf in fs.leaves(before)):
            raise failure("changed argument", _report(
                program, f"the call changed the argument {name}", call, evaluation))
    value = None
    if run.with_value:
        value, out = out
        if not _close(value, evaluation.value, VALUE_RTOL,
                      VALUE_RTOL * max(1.0, abs(evaluation.value)))[0]:
            raise failure("wrong value", _report(
                program, f"{run.label}: the value is {value!r}, the function's (CPython) "
                f"{evaluation.value!r}", call, evaluation))
    analytic = tuple(out) if isinstance(program.wrt_arg, tuple) else (out,)
    if len(analytic) != len(program.wrt):
        raise failure("wrong type", _report(program, f"{len(analytic)} gradients for "
                                            f"{len(program.wrt)} parameters", call, evaluation))
    for name, g in zip(program.wrt, analytic):
        x = program.values[program.params.index(name)]
        why = fs.mismatch(x, g)  # containers, keys in order, leaves' types, shapes, dtypes
        if why:
            raise failure("wrong type", _report(
                program, f"the gradient for {name}: {why}", call, evaluation, analytic))
    return analytic, value


def _scale(evaluation: Evaluation) -> float:
    return max([1.0, abs(evaluation.value)] + [float(np.max(np.abs(fs.flat(g)), initial=0.0))
                                                for g in evaluation.numerical])


def _against_numerical(program: Program, run: Run, analytic: tuple, evaluation: Evaluation,
                       kind: str = "wrong gradient") -> None:
    numerical, scale = evaluation.numerical, _scale(evaluation)
    for i, name in enumerate(program.wrt):
        ok, excess = _close(analytic[i], numerical[i], 1e-5, 1e-6 * scale)
        if not ok:
            worst = int(np.argmax(excess)) if np.ndim(excess) else 0
            a, n = fs.flat(analytic[i]).ravel()[worst], fs.flat(numerical[i]).ravel()[worst]
            x = program.values[program.params.index(name)]
            where = fs.locate(x, worst) if fs.is_struct(x) or np.ndim(x) else ""
            raise failure(kind, _report(
                program, f"{run.label}: {kind} for {name}{where}: "
                f"ad_compiler {a!r}, central differences {n!r}", run.call_text(program),
                evaluation, analytic))


def _agree(program: Program, kind: str, rtol: float, evaluation: Evaluation,
           first: tuple[Run, tuple, float | None], second: tuple[Run, tuple, float | None]):
    """Two runs of ad_compiler give the same gradients (and values) up to rounding."""
    scale = _scale(evaluation)
    (run_a, grads_a, value_a), (run_b, grads_b, value_b) = first, second
    pairs = [(name, grads_a[i], grads_b[i]) for i, name in enumerate(program.wrt)]
    if value_a is not None and value_b is not None:
        pairs.append(("the value", value_a, value_b))
    for name, a, b in pairs:
        if not _close(a, b, rtol, 1e-12 * scale)[0]:
            raise failure(kind, _report(
                program, f"{kind} on {name}: {run_a.label} {_show(a)}, {run_b.label} "
                f"{_show(b)}", f"{run_a.call_text(program)} and {run_b.call_text(program)}",
                evaluation, grads_a, ((run_b.label, grads_b),)))


def _autograd_gradients(program: Program) -> tuple | str:
    """autograd's gradients, or why there are none (in-place writes, autograd fails)."""
    from fuzz_autograd import available, gradients

    if program.blockers:
        return sorted(program.blockers)[0]
    if not available():
        return "autograd not installed"
    positions = [program.params.index(name) for name in program.wrt]
    try:
        return gradients(program.source(AUTOGRAD), program.main, program.args(), positions)
    except Exception as exc:
        return f"autograd fails ({type(exc).__name__})"


def _autograd_oracle(program: Program, analytic: tuple, run: Run, evaluation: Evaluation,
                     theirs: tuple | str) -> str:
    """Compare with autograd's gradients; returns "checked" or why autograd was not used."""
    if isinstance(theirs, str):
        return theirs
    scale = _scale(evaluation)
    for i in range(len(program.wrt)):
        if not _close(theirs[i], evaluation.numerical[i], 1e-5, 1e-6 * scale)[0]:
            return "autograd disagrees with central differences"
    for i, name in enumerate(program.wrt):
        if not _close(analytic[i], theirs[i], AUTOGRAD_RTOL, 1e-10 * scale)[0]:
            raise failure("disagrees with autograd", _report(
                program, f"{run.label}: the gradient for {name} is {_show(analytic[i])}, "
                f"autograd's {_show(theirs[i])}", run.call_text(program), evaluation,
                analytic, (("autograd", theirs),)))
    return "checked"


def _inaccurate_differences(program: Program, analytic: tuple, evaluation: Evaluation,
                            theirs: tuple | str) -> bool:
    """Central differences miss ad_compiler's gradient by a little (ill-conditioned: x ** 20)
    while autograd's agrees with ad_compiler to rounding: the differences are wrong."""
    if isinstance(theirs, str):
        return False
    scale = _scale(evaluation)
    return all(_close(analytic[i], theirs[i], AUTOGRAD_RTOL, 1e-10 * scale)[0]
               and _close(analytic[i], evaluation.numerical[i], 1e-3, 1e-4 * scale)[0]
               for i in range(len(program.wrt)))


def _changed_constants(program: Program, fn, built: dict, evaluation: Evaluation,
                       path: str) -> str:
    """Change the program's module constants after the first calls, call the same gradient
    functions again: they must use the new values, as the function does."""
    module = fn.__globals__
    old = [(name, module[name]) for name, _ in program.changed]
    try:
        module.update(program.changed)
        try:
            second = evaluate(program, program.changed)
            numerical_gradient(program, second)
        except Rejected:
            return "rejected with the new values"
        for run, gradient in built.items():
            if not run.optimize:
                continue
            analytic, _ = _call(program, gradient, run, second, path)
            _against_numerical(program, run, analytic, second,
                               "wrong gradient after a module constant changed")
    finally:
        module.update(old)
    return "checked"


def check_program(program: Program, workdir: Path, backends: tuple[str, ...] | None = None,
                  evaluation: Evaluation | None = None) -> Outcome:
    """Differentiate the program with ad_compiler (default: the python backend optimized and
    unoptimized, and numba if program.check_numba) and compare the values with the function's,
    the gradients with central differences, with each other and with autograd's.
    Raises Rejected (the sample cannot be checked) or FuzzFailure (with a report)."""
    if evaluation is None:
        evaluation = evaluate(program)
    if backends is None:
        backends = ("python", "numba") if program.check_numba else ("python",)
    fn = load(program, workdir)
    path = fn.__code__.co_filename
    with np.errstate(all="ignore"):
        primal = float(fn(*program.args()))
    if primal != evaluation.value:
        raise GeneratorError(f"plain and instrumented runs differ: {primal} vs "
                             f"{evaluation.value}\n{program.source()}")
    outcome = Outcome(tuple(backends), {}, evaluation)
    results: dict[Run, tuple] = {}
    built: dict = {}
    for run in runs_for(program, backends):  # before central differences: a refusal fails fast
        start = time.perf_counter()
        built[run] = run.make(program, fn)
        try:
            results[run] = _call(program, built[run], run, evaluation, path)
        except _CleanRefusal as exc:
            if results:  # refused by one run, not by another
                raise failure("refused", _report(program, f"{run.label} refuses what "
                                                 f"{next(iter(results)).label} accepts: {exc}",
                                                 run.call_text(program), evaluation)) from None
            outcome.refused = str(exc)
            return outcome
        outcome.seconds[run.label] = time.perf_counter() - start
        outcome.value_checks += run.with_value
    numerical_gradient(program, evaluation)
    theirs = _autograd_gradients(program)
    for run, (analytic, _) in results.items():
        try:
            _against_numerical(program, run, analytic, evaluation)
        except FuzzFailure:
            if not _inaccurate_differences(program, analytic, evaluation, theirs):
                raise
            outcome.inaccurate_differences = True
    reference = Run("python", True, True)
    first = (reference, *results[reference]) if reference in results else None
    for run, (analytic, value) in results.items():
        if first is None or run == reference:
            continue
        if run.backend == "python":
            _agree(program, "optimized and unoptimized disagree", UNOPTIMIZED_RTOL, evaluation,
                   first, (run, analytic, value))
            outcome.unoptimized = True
        else:
            _agree(program, "backends disagree", BACKENDS_RTOL, evaluation, first,
                   (run, analytic, value))
    run, (analytic, _) = next(iter(results.items()))
    outcome.autograd = _autograd_oracle(program, analytic, run, evaluation, theirs)
    outcome.jvp = _jvp_identity(program, fn, analytic, evaluation)
    if program.changed:
        outcome.changed_constants = _changed_constants(program, fn, built, evaluation, path)
    return outcome


def _jvp_identity(program: Program, fn, analytic: tuple, evaluation: Evaluation) -> str:
    """Forward mode along a random direction v agrees with the (already checked) gradient:
    jvp(f)(x, tangent=v) == (f(x), <grad f(x), v>). A clean refusal (an operation with no
    forward rule) is counted, not failed; anything else is a failure."""
    args = program.args()
    values = [program.values[program.params.index(name)] for name in program.wrt]
    rng = np.random.default_rng(len(program.source()))

    def draw(v):
        return rng.standard_normal(np.shape(v)) if np.ndim(v) else float(rng.standard_normal())

    # (a dict or list argument gets a direction of its structure, a random leaf per leaf)
    parts = [fs.rebuild(v, [draw(leaf) for _, leaf in fs.leaves(v)]) if fs.is_struct(v)
             else draw(v) for v in values]
    tangent = tuple(parts) if isinstance(program.wrt_arg, tuple) else parts[0]
    call = f"jvp({program.main}, wrt={program.wrt_arg!r}, backend='python')(..., tangent=v)"
    try:
        value, derivative = jvp(fn, wrt=program.wrt_arg, backend="python")(*args,
                                                                          tangent=tangent)
    except ADCompilerError as exc:
        return f"refused: {str(exc).splitlines()[0]}"
    except Exception as exc:
        raise failure("crashed", _report(program, f"jvp: {type(exc).__name__}: {exc}", call,
                                         evaluation)) from exc
    expected = sum(float(np.sum(fs.flat(g) * fs.flat(v))) for g, v in zip(analytic, parts))
    scale = _scale(evaluation) * max(1.0, sum(float(np.sum(np.abs(fs.flat(v)))) for v in parts))
    if not _close(value, evaluation.value, VALUE_RTOL,
                  VALUE_RTOL * max(1.0, abs(evaluation.value)))[0]:
        raise failure("wrong value", _report(
            program, f"jvp: the value is {value!r}, the function's {evaluation.value!r}", call,
            evaluation))
    if not _close(derivative, expected, 1e-7, 1e-9 * scale)[0]:
        raise failure("wrong gradient", _report(
            program, f"jvp along v: {derivative!r}, but <grad, v> = {expected!r}", call,
            evaluation, analytic))
    return "checked"
