"""Random programs differentiated by ad_compiler, checked against independent oracles (the
generator is tests/fuzz_programs.py, the checks tests/fuzz_checks.py): the value of every
program against the function run by CPython (to 1e-12), the gradients against central
differences of the function and, for programs without in-place writes, against autograd's
(tests/fuzz_autograd.py); the optimized program against the unoptimized one (`optimize=False`,
to 1e-10); the numba and python backends against each other; for programs reading a module
constant, sometimes a second call after the constant changed. An in-place `op=` on an array
through an alias or a view may be refused instead (UnsupportedSyntaxError at that line): that
counts as a pass, any other refusal as a failure.

The CI profile (no `--fuzz`): CI_PROGRAMS programs, derandomized, so every run checks the same
programs. Every program is checked on the python backend; to stay within about 3 minutes on 2
cores, only a fixed subset also on numba (drawn as part of the program, one chance in
CI_NUMBA_EVERY: about 30 of the 300, since Hypothesis' draws are not uniform; the summary gives
the count). numba compiles each program that loops or works on scalars, 1 to 20 s each (all 300
would add ~15 minutes); straight-line array code never reaches numba's compiler (ad_compiler runs
it on NumPy). The CI profile does not shrink a failure (shrinking recompiles hundreds of
programs: minutes): it reports the program as generated; AD_FUZZ_SHRINK=1 shrinks it (the same
programs: the run is derandomized). Passing, it prints a few lines of counts with -v or -s
(`pytest -q` stays quiet); the full report is always written to .pytest_cache/d/fuzz/report.txt.

`pytest tests/test_fuzz.py --fuzz N`: N programs from a random seed (printed; set
AD_FUZZ_SEED to run the same programs again), each checked on both backends unless
AD_FUZZ_NUMBA_EVERY=k asks for numba on about one program in k. AD_FUZZ_KNOWN=REGEX sets aside
the failures whose report matches it (known bugs), so that the run goes on to look for others:
they are counted, grouped, shown (the smallest of each group) and fail the test at the end.

A failure is shrunk by Hypothesis to a small program and reported with its source, arguments,
analytic and central-difference gradients, and a reproducer; minimized failures are kept as
plain tests in tests/test_fuzz_regressions.py. A summary (programs checked, the checks made,
rejected samples and the constructs the checked programs contained) is printed at the end (with
-v, -s or --fuzz) and written to .pytest_cache/d/fuzz/report.txt.
"""

import os
import random
import re
import tempfile
import time
from collections import Counter

import fuzz_checks as fc
import fuzz_programs as fp
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, reject, seed, settings

CI_PROGRAMS = 300
CI_NUMBA_EVERY = 5


class Stats:
    def __init__(self) -> None:
        self.checked = 0
        self.numba = 0
        self.values = 0  # calls whose value was compared with the function's (CPython)
        self.unoptimized = 0  # programs whose optimized and unoptimized gradients were compared
        self.autograd: Counter = Counter()  # "checked", or why autograd was not used
        self.jvp: Counter = Counter()  # "checked" (forward mode == <grad, v>), or why not
        self.jvp_refusals: Counter = Counter()  # the operations forward mode refused
        self.changed: Counter = Counter()  # module constants changed between calls
        self.refused = 0  # refused cleanly at an in-place `op=` through an alias or a view
        self.inaccurate = 0  # central differences off a little, autograd agreeing with us
        self.rejected: Counter = Counter()
        self.constructs: Counter = Counter()
        self.seconds: Counter = Counter()
        self.slowest = 0.0
        self.known: dict[str, list] = {}  # signature -> [count, smallest report]

    def set_aside(self, exc: fc.FuzzFailure) -> None:
        report = str(exc)
        first = report.splitlines()[0]
        signature = f"{exc.kind}: " + re.sub(
            r"\S*\.py:\d+:?|-?\d+(\.\d+)?(e-?\d+)?|\b[a-z]\w*_\d+\b", "#", first)[:160]
        entry = self.known.setdefault(signature, [0, report])
        entry[0] += 1
        if len(report) < len(entry[1]):
            entry[1] = report

    def record(self, program: fp.Program, outcome: fc.Outcome, seconds: float) -> None:
        if outcome.refused:
            self.refused += 1
            return
        self.checked += 1
        self.numba += "numba" in outcome.backends
        self.values += outcome.value_checks
        self.unoptimized += outcome.unoptimized
        self.inaccurate += outcome.inaccurate_differences
        self.autograd[outcome.autograd] += 1
        self.jvp[outcome.jvp.split(":")[0]] += 1
        if outcome.jvp.startswith("refused"):
            found = re.search(r"rule for '\w+'", outcome.jvp)
            self.jvp_refusals[found.group(0) if found else outcome.jvp[9:90]] += 1
        if outcome.changed_constants:
            self.changed[outcome.changed_constants] += 1
        self.constructs.update(program.tags)
        for backend, s in outcome.seconds.items():
            self.seconds[backend] += s
        self.slowest = max(self.slowest, seconds)

    def summary(self, elapsed: float, header: str, full: bool) -> str:
        """A few lines (full=False: the CI profile, passing), or with the constructs seen."""
        skipped = {k: v for k, v in self.autograd.most_common() if k != "checked"}
        lines = ["", f"== fuzz: {header}",
                 f"programs checked: {self.checked} (python backend, optimized and "
                 f"unoptimized), {self.numba} also on numba; refused cleanly (in-place `op=` "
                 f"through an alias or a view): {self.refused}",
                 f"checks: values against CPython {self.values}, optimized against "
                 f"unoptimized {self.unoptimized}, against autograd {self.autograd['checked']}, "
                 f"module constants changed between calls {self.changed['checked']}, "
                 f"forward mode (jvp) against <grad, v> {self.jvp['checked']} "
                 f"(refused {self.jvp['refused']})",
                 f"{elapsed:.0f} s in all, in grad calls: "
                 + ", ".join(f"{b} {s:.0f} s" for b, s in sorted(self.seconds.items()))
                 + f"; slowest program {self.slowest:.1f} s"]
        for signature, (count, _) in self.known.items():
            lines.append(f"set aside (AD_FUZZ_KNOWN) {count}x: {signature}")
        if not full:
            return "\n".join(lines)
        lines += [f"samples rejected: {sum(self.rejected.values())} "
                  + str(dict(self.rejected.most_common())),
                  f"not given to autograd: {skipped}; central differences inaccurate, "
                  f"autograd agreeing with ad_compiler: {self.inaccurate}",
                  f"module constants changed: {dict(self.changed)}",
                  f"forward mode refused: {dict(self.jvp_refusals.most_common())}"]
        lines.append(f"constructs seen (programs containing each, of {self.checked}):")
        items = sorted(self.constructs.items())
        width = max((len(k) for k, _ in items), default=0) + 6
        per_line = max(1, 100 // width)
        for i in range(0, len(items), per_line):
            lines.append("  " + "".join(f"{k} {v}".ljust(width)
                                        for k, v in items[i:i + per_line]).rstrip())
        return "\n".join(lines)


def _reason(exc: fc.Rejected) -> str:
    text = str(exc)
    if text.startswith("within"):
        return "near a kink or threshold" + text[text.rfind(" ("):]
    if text.startswith("value"):
        return "value too large"
    return text.split(":")[0]


# The aliasing check refuses some programs that read a view after an in-place write through a
# loop-carried copy of the array although NumPy's values would be the ones computed (a refusal,
# never a wrong value; the fuzz summary counts them).
KNOWN_REFUSAL = r"this reads a view of \S+ .*was written in place"


def test_fuzz(request, monkeypatch, capsys):
    count = request.config.getoption("--fuzz")
    ci = count is None
    numba_every = CI_NUMBA_EVERY if ci else int(os.environ.get("AD_FUZZ_NUMBA_EVERY", "1"))
    # The programs' module files, and a private cache: the run neither reuses nor fills the
    # user's ~/.cache/ad_compiler. (Not pytest's tmp_path: pytest deletes old base directories
    # when other sessions start, under a long run's feet.)
    directory = tempfile.TemporaryDirectory(prefix="ad_compiler_fuzz_")
    request.addfinalizer(directory.cleanup)
    workdir = directory.name
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", os.path.join(workdir, "cache"))
    stats = Stats()
    known = os.environ.get("AD_FUZZ_KNOWN")

    shrink = not ci or os.environ.get("AD_FUZZ_SHRINK", "") not in ("", "0")
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(max_examples=CI_PROGRAMS if ci else count, derandomize=ci, database=None,
              deadline=None, suppress_health_check=list(HealthCheck), phases=phases)
    @given(program=fp.programs(numba_every=numba_every))
    def check(program):
        start = time.perf_counter()
        try:
            outcome = fc.check_program(program, workdir)
        except fc.Rejected as exc:
            stats.rejected[_reason(exc)] += 1
            reject()
        except fc.FuzzFailure as exc:
            if type(exc).__name__ == "FuzzFailure_Refused" and re.search(KNOWN_REFUSAL, str(exc)):
                # a clean refusal the compiler is known to make too eagerly: counted, not failed
                stats.rejected["known spurious refusal (a view read after an in-place write)"] += 1
                reject()
            if not known or not re.search(known, str(exc)):
                raise
            stats.set_aside(exc)
            reject()
        stats.record(program, outcome, time.perf_counter() - start)

    if ci:
        header = (f"CI profile, {CI_PROGRAMS} programs, derandomized, numba for the programs "
                  f"drawn for it (1 chance in {numba_every})")
    else:
        chosen = int(os.environ.get("AD_FUZZ_SEED") or random.getrandbits(32))
        check = seed(chosen)(check)
        header = (f"{count} programs, seed {chosen} (AD_FUZZ_SEED={chosen} repeats them), "
                  + ("numba for every program" if numba_every <= 1 else
                     f"numba for the programs drawn for it (1 chance in {numba_every})"))
        with capsys.disabled():
            print(f"\n== fuzz: {header}")
    start = time.perf_counter()
    passed = False
    try:
        check()
        passed = not stats.known
    finally:
        elapsed = time.perf_counter() - start
        report(request, capsys, stats.summary(elapsed, header, full=not (ci and passed)),
               stats.summary(elapsed, header, full=True))
    if stats.known:
        reports = [f"{count}x {signature}\n{report}"
                   for signature, (count, report) in stats.known.items()]
        raise AssertionError("failures set aside by AD_FUZZ_KNOWN:\n\n" + "\n\n".join(reports))


def report(request, capsys, summary, full):
    """The summary on the terminal with -v, -s or --fuzz (else captured: pytest shows it if
    the test fails, and `pytest -q` stays quiet); the full report always in a file."""
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    folder = cache.mkdir("fuzz") if cache is not None else tempfile.mkdtemp(prefix="fuzz_")
    path = os.path.join(folder, "report.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(full.lstrip("\n") + "\n")
    loud = (request.config.getoption("verbose") > 0
            or request.config.getoption("capture") == "no"
            or request.config.getoption("--fuzz") is not None)
    if loud:
        with capsys.disabled():
            print(f"{summary}\nthe full report: {path}")
    else:
        print(f"{summary}\nthe full report: {path}")


# -- the harness sees what it must see ----------------------------------------------------------
#
# A fixed program, checked with ad_compiler's gradient functions wrapped so as to give slightly
# wrong answers in one way each: the harness must raise the right kind of failure.


def _program(body: list, refusable=frozenset()) -> fp.Program:
    main = fp.FunctionDef("f", ("x0", "x1"), body)
    return fp.Program([main], ("x0", "x1"), (np.array([0.3, -0.7, 1.1]), 0.6), ("x0", "x1"),
                      ("x0", "x1"), True, False, frozenset(), refusable,
                      changed=(("GAIN", 1.25),))


SMOOTH = [fp.Return(fp.BinOp("+", fp.BinOp("*", fp.Call("np.sum", (fp.BinOp(
    "*", fp.Call("np.sin", (fp.Text("x0"),)), fp.Text("x1")),)), fp.Text("GAIN")),
    fp.Text("OFFSET")))]


def _wrap(monkeypatch, change):
    """Run.make gives ad_compiler's gradient function with its output passed through change."""
    make = fc.Run.make

    def wrapped_make(run, program, fn):
        gradient = make(run, program, fn)
        return lambda *args: change(run, gradient(*args))

    monkeypatch.setattr(fc.Run, "make", wrapped_make)


def _scaled(factor, only_unoptimized=False):
    def change(run, out):
        value, grads = out
        if only_unoptimized and run.optimize:
            return out
        return value, tuple(g * factor for g in grads)
    return change


def _stale():
    first = {}

    def change(run, out):
        return first.setdefault(run, out)
    return change


@pytest.mark.parametrize("change, kind", [
    (lambda run, out: (out[0] * (1 + 1e-10), out[1]), "wrong value"),
    (_scaled(1 + 1e-3), "wrong gradient"),
    (_scaled(1 + 1e-8, only_unoptimized=True), "optimized and unoptimized disagree"),
    (_scaled(1 + 1e-6), "disagrees with autograd"),  # within central differences' tolerance
    (_stale(), "wrong value"),  # the second call, after GAIN changed, gives the first's value
])
def test_harness_sees_wrong_answers(monkeypatch, tmp_path, change, kind):
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path / "cache"))
    program = _program(SMOOTH)
    outcome = fc.check_program(program, tmp_path)  # unchanged: passes every check
    assert (outcome.value_checks, outcome.unoptimized, outcome.autograd,
            outcome.changed_constants) == (2, True, "checked", "checked")
    _wrap(monkeypatch, change)
    with pytest.raises(fc.FuzzFailure) as info:
        fc.check_program(program, tmp_path)
    assert info.value.kind == kind


ALIAS = [fp.Assign("b", fp.Text("x0")), fp.Assign("b", fp.Text("1.0"), "+"),
         fp.Return(fp.Call("np.sum", (fp.BinOp("*", fp.Text("x0"), fp.Text("b")),)))]


@pytest.mark.parametrize("line, accepted", [("b += 1.0", True), ("b = x0", False)])
def test_harness_accepts_a_refusal_only_at_an_alias_op_line(monkeypatch, tmp_path, line,
                                                            accepted):
    from ad_compiler.errors import UnsupportedSyntaxError

    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path / "cache"))
    program = _program(ALIAS, refusable=frozenset({("b", "+")}))
    path = fp.load(program, tmp_path).__code__.co_filename
    lineno = [text.strip() for text in program.source().splitlines()].index(line) + 1

    def refuse(run, program, fn):
        def call(*args):
            raise UnsupportedSyntaxError("in place through an alias", path, lineno)
        return call

    monkeypatch.setattr(fc.Run, "make", refuse)
    if accepted:
        assert fc.check_program(program, tmp_path).refused
    else:
        with pytest.raises(fc.FuzzFailure) as info:
            fc.check_program(program, tmp_path)
        assert info.value.kind == "refused"


def test_harness_sees_a_wrong_jvp(monkeypatch, tmp_path):
    """Forward mode is compared with <grad, v>: a tangent off by 1e-5 fails the program."""
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path / "cache"))
    program = _program(SMOOTH)
    assert fc.check_program(program, tmp_path).jvp == "checked"
    real = fc.jvp

    def off(*args, **kwargs):
        transformed = real(*args, **kwargs)
        return lambda *a, **k: (lambda out: (out[0], out[1] * (1 + 1e-5)))(transformed(*a, **k))

    monkeypatch.setattr(fc, "jvp", off)
    with pytest.raises(fc.FuzzFailure) as info:
        fc.check_program(program, tmp_path)
    assert info.value.kind == "wrong gradient" and "jvp" in str(info.value)
