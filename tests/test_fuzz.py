"""Random programs differentiated by ad_compiler, checked against independent oracles (the
generator and the checks are in tests/fuzz_programs.py): the value of every program against the
function run by CPython (to 1e-12), the gradients against central differences of the function
and, for programs without in-place writes, against autograd's (tests/fuzz_autograd.py); the
optimized program against the unoptimized one (`optimize=False`, to 1e-10); the numba and python
backends against each other; for programs reading a module constant, sometimes a second call
after the constant changed. An in-place `op=` on an array through an alias or a view may be
refused instead (UnsupportedSyntaxError at that line): that counts as a pass, any other refusal
as a failure.

The CI profile (no `--fuzz`): CI_PROGRAMS programs, derandomized, so every run checks the same
programs. Every program is checked on the python backend; to stay within about 3 minutes on 2
cores, only a fixed subset also on numba (drawn as part of the program, one chance in
CI_NUMBA_EVERY: about 30 of the 300, since Hypothesis' draws are not uniform; the summary gives
the count). numba compiles each program that loops or works on scalars, 1 to 20 s each (all 300
would add ~15 minutes); straight-line array code never reaches numba's compiler (ad_compiler runs
it on NumPy). The CI profile does not shrink a failure (shrinking recompiles hundreds of
programs: minutes): it reports the program as generated; AD_FUZZ_SHRINK=1 shrinks it (the same
programs: the run is derandomized). Passing, it prints a few lines of counts.

`pytest tests/test_fuzz.py --fuzz N`: N programs from a random seed (printed; set
AD_FUZZ_SEED to run the same programs again), each checked on both backends unless
AD_FUZZ_NUMBA_EVERY=k asks for numba on about one program in k. AD_FUZZ_KNOWN=REGEX sets aside
the failures whose report matches it (known bugs), so that the run goes on to look for others:
they are counted, grouped, shown (the smallest of each group) and fail the test at the end.

A failure is shrunk by Hypothesis to a small program and reported with its source, arguments,
analytic and central-difference gradients, and a reproducer; minimized failures are kept as
plain tests in tests/test_fuzz_regressions.py. A summary (programs checked, the checks made,
rejected samples and the constructs the checked programs contained) is printed at the end.
"""

import os
import random
import re
import tempfile
import time
from collections import Counter

import fuzz_programs as fp
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
        self.changed: Counter = Counter()  # module constants changed between calls
        self.refused = 0  # refused cleanly at an in-place `op=` through an alias or a view
        self.inaccurate = 0  # central differences off a little, autograd agreeing with us
        self.rejected: Counter = Counter()
        self.constructs: Counter = Counter()
        self.seconds: Counter = Counter()
        self.slowest = 0.0
        self.known: dict[str, list] = {}  # signature -> [count, smallest report]

    def set_aside(self, exc: fp.FuzzFailure) -> None:
        report = str(exc)
        first = report.splitlines()[0]
        signature = f"{exc.kind}: " + re.sub(
            r"\S*\.py:\d+:?|-?\d+(\.\d+)?(e-?\d+)?|\b[a-z]\w*_\d+\b", "#", first)[:160]
        entry = self.known.setdefault(signature, [0, report])
        entry[0] += 1
        if len(report) < len(entry[1]):
            entry[1] = report

    def record(self, program: fp.Program, outcome: fp.Outcome, seconds: float) -> None:
        if outcome.refused:
            self.refused += 1
            return
        self.checked += 1
        self.numba += "numba" in outcome.backends
        self.values += outcome.value_checks
        self.unoptimized += outcome.unoptimized
        self.inaccurate += outcome.inaccurate_differences
        self.autograd[outcome.autograd] += 1
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
                 f"module constants changed between calls {self.changed['checked']}",
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
                  f"module constants changed: {dict(self.changed)}"]
        lines.append(f"constructs seen (programs containing each, of {self.checked}):")
        items = sorted(self.constructs.items())
        width = max((len(k) for k, _ in items), default=0) + 6
        per_line = max(1, 100 // width)
        for i in range(0, len(items), per_line):
            lines.append("  " + "".join(f"{k} {v}".ljust(width)
                                        for k, v in items[i:i + per_line]).rstrip())
        return "\n".join(lines)


def _reason(exc: fp.Rejected) -> str:
    text = str(exc)
    if text.startswith("within"):
        return "near a kink or threshold" + text[text.rfind(" ("):]
    if text.startswith("value"):
        return "value too large"
    return text.split(":")[0]


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
            outcome = fp.check_program(program, workdir)
        except fp.Rejected as exc:
            stats.rejected[_reason(exc)] += 1
            reject()
        except fp.FuzzFailure as exc:
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
        with capsys.disabled():
            print(stats.summary(time.perf_counter() - start, header, full=not (ci and passed)))
    if stats.known:
        reports = [f"{count}x {signature}\n{report}"
                   for signature, (count, report) in stats.known.items()]
        raise AssertionError("failures set aside by AD_FUZZ_KNOWN:\n\n" + "\n\n".join(reports))
