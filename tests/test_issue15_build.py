"""Issue 15, compile time: ad_compiler's own build of the GMM objective's gradient (normalize,
differentiate, optimize, generate) was 0.8 s, mostly liveness recomputed after every merge of
coalescing and SymPy imported for derivatives every program needs.

These tests guard how the build does its work, not a wall-clock time:
- coalescing computes liveness once per planning round, not once per merge, and makes the same
  merges, in the same order, as rewriting the program and recomputing liveness after each one
  (the reference below, the algorithm it replaced);
- liveness computed in two passes equals iterating every loop to a fixpoint;
- the dead-code worklist finds the same needed names as sweeping to a fixpoint;
- the shipped derivative table holds what SymPy derives today, and building the GMM gradient
  imports no SymPy.
The gradients themselves are checked against central differences and autograd elsewhere
(tests/test_examples_loops.py, tests/test_benchmarks_smoke.py); here the optimized programs
must equal the reference's exactly.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ad_compiler.optimize as opt
from ad_compiler import grad
from ad_compiler.ir import Assign, If, Loop, Var, walk
from ad_compiler.liveness import Liveness, output_names, reads_of
from ad_compiler.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import cases  # noqa: E402

# -- references: the algorithms the fast ones replaced -----------------------------------------


class FixpointLiveness:
    """Live sets by iterating every loop until its head's set stops growing."""

    def __init__(self, fn):
        self.live_out = {}
        self.block(fn.body, set(output_names(fn)))

    def block(self, block, live):
        live = set(live)
        for s in reversed(block):
            self.live_out[id(s)] = frozenset(live)
            live = self.stmt(s, live)
        return live

    def stmt(self, s, live):
        if isinstance(s, Assign):
            return (live - ({s.target} if s.target else set())) | reads_of(s)
        if isinstance(s, If):
            return self.block(s.body, live) | self.block(s.orelse, live) | reads_of(s)
        header = set()
        flag = {s.exit_flag} if s.exit_flag else set()
        cond = {s.cond.name} if isinstance(s.cond, Var) else set()
        while True:
            body_in = self.block(s.body, header | live | flag)
            if s.is_range:
                new = live | (body_in - {s.index})
            else:
                new = self.block(s.test, body_in | live | cond)
            if new <= header:
                return header | reads_of(s)
            header |= new


def _find_pair(fn, live):
    params = set(fn.params)
    uses = opt.use_counts(fn)
    defs = {}
    for s in walk(fn.body):
        if isinstance(s, Assign) and s.target:
            defs.setdefault(s.target, []).append(s)
        elif isinstance(s, Loop) and s.index:
            defs.setdefault(s.index, []).append(s)
    loop_names = {
        n for s in walk(fn.body) if isinstance(s, Loop) for n in (s.index, s.exit_flag) if n
    }

    def interferes(x, y, copy):
        for d in defs.get(x, []):
            if d is copy or (isinstance(d, Assign) and d.op == "copy" and d.args[0] == Var(y)):
                continue
            if y in live.live_out.get(id(d), frozenset()):
                return True
        return False

    for s in walk(fn.body):
        if not (isinstance(s, Assign) and s.op == "copy" and isinstance(s.args[0], Var)):
            continue
        a, b = s.target, s.args[0].name
        if a == b or (a in params and b in params) or {a, b} & loop_names:
            continue
        if not opt.mergeable(a, b):
            continue
        ta, tb = opt.is_temp(a), opt.is_temp(b)
        temp = b if tb and not ta else a if ta and not tb else None
        if temp is not None and uses[temp] > 1:
            continue
        if not interferes(a, b, s) and not interferes(b, a, s):
            keep, drop = sorted((a, b), key=lambda n: opt.preference(n, params))
            if drop not in params:
                return keep, drop
    return None


def reference_coalesce(fn):
    """Merge one pair, rewrite, recompute liveness; until no pair is left."""
    while True:
        pair = _find_pair(fn, FixpointLiveness(fn))
        if pair is None:
            return fn
        fn = opt._drop_self_copies(opt.substitute(fn, {pair[1]: Var(pair[0])}))


def reference_needed(fn):
    needed, loops_kept, changed = set(output_names(fn)), set(), True
    while changed:
        changed = False
        for s in walk(fn.body):
            reads = set()
            if isinstance(s, Assign):
                if RULES[s.op].mutates is not None or (s.target and s.target in needed):
                    reads = reads_of(s)
            elif opt._has_needed(s, needed):
                reads = reads_of(s)
                if isinstance(s, Loop):
                    reads |= {s.cond.name} if isinstance(s.cond, Var) else set()
                    reads |= {s.exit_flag} if s.exit_flag else set()
                    loops_kept.add(id(s))
            if not reads <= needed:
                needed |= reads
                changed = True
    return needed, loops_kept


# -- programs: what coalescing receives while building real gradients --------------------------


def _mlp_args():
    rng = np.random.default_rng(3)
    return (rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=(5, 3)),
            rng.normal(size=3), rng.normal(size=(4, 6)), rng.integers(0, 3, size=4))


def _while_break(x, n):
    s = 0.0
    i = 0
    while i < n:
        s = s * 0.5 + x[i] * x[i]
        if s > 10.0:
            break
        i += 1
    return s


CASES = {
    "gmm_loops": (cases.gmm_loops, (0, 1, 2), lambda: cases.gmm_args(3, 4, 5, False)),
    "gmm_vectorized": (cases.gmm_vectorized, (0, 1, 2), lambda: cases.gmm_args(3, 4, 5, True)),
    "mlp": (cases.mlp_loss, (0, 1, 2, 3), _mlp_args),
    "rosenbrock": (cases.rosenbrock, 0, lambda: (np.linspace(-1.0, 1.0, 6),)),
    "euler": (cases.euler, (0, 1, 2, 3), lambda: (1.0, 0.0, 4.0, 0.3, 0.01, 5)),
    "while_break": (_while_break, 0, lambda: (np.linspace(0.5, 2.0, 6), 6)),
}


@pytest.fixture(scope="module")
def coalescing_inputs(tmp_path_factory):
    """The program each case's build hands to coalescing (captured on the way)."""
    captured = {}
    real = opt.coalesce
    saved = os.environ.get("AD_COMPILER_CACHE_DIR")
    os.environ["AD_COMPILER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))  # build anew
    try:
        for name, (f, wrt, make_args) in CASES.items():
            def spy(fn, name=name):
                captured[name] = fn
                return real(fn)

            opt.coalesce = spy
            grad(f, wrt=wrt, backend="python").source_for(*make_args())
    finally:
        opt.coalesce = real
        if saved is None:
            del os.environ["AD_COMPILER_CACHE_DIR"]
        else:
            os.environ["AD_COMPILER_CACHE_DIR"] = saved
    assert set(captured) == set(CASES)
    return captured


@pytest.mark.parametrize("name", list(CASES))
def test_coalescing_plans_on_one_liveness_and_merges_as_before(coalescing_inputs, name):
    fn = coalescing_inputs[name]
    before = Liveness.computed
    merged = opt.coalesce(fn)
    rounds = Liveness.computed - before
    assert merged == reference_coalesce(fn)
    copies = sum(isinstance(s, Assign) and s.op == "copy" for s in walk(fn.body))
    left = sum(isinstance(s, Assign) and s.op == "copy" for s in walk(merged.body))
    # One liveness per planning round; a round ends only when a merge drops a dead copy.
    assert rounds <= 1 + (copies - left)
    if name == "gmm_loops":
        assert copies - left >= 10 and rounds <= 2


@pytest.mark.parametrize("name", list(CASES))
def test_two_pass_liveness_equals_the_fixpoint(coalescing_inputs, name):
    fn = coalescing_inputs[name]
    assert Liveness(fn).live_out == FixpointLiveness(fn).live_out
    merged = opt.coalesce(fn)
    assert Liveness(merged).live_out == FixpointLiveness(merged).live_out


@pytest.mark.parametrize("name", list(CASES))
def test_dead_code_worklist_finds_the_fixpoint(coalescing_inputs, name):
    fn = coalescing_inputs[name]
    assert opt._needed_names(fn) == reference_needed(fn)


def test_derivative_table_is_what_sympy_derives():
    import sympy

    from ad_compiler.rules.derivative_plans import plan
    from ad_compiler.rules.derivative_table import DERIVATIVES
    from ad_compiler.rules.elementwise import local_gradient

    assert len(DERIVATIVES) > 100
    for key, steps in DERIVATIVES.items():
        assert repr(plan(sympy, local_gradient(*key))) == repr(steps), key  # nan != nan


def test_gmm_build_imports_no_sympy(tmp_path):
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "import cases, ad_compiler\n"
        "g = ad_compiler.grad(cases.gmm_loops, wrt=(0, 1, 2), backend='python')\n"
        "g.source_for(*cases.gmm_args(3, 4, 5, False))\n"
        "print('sympy' in sys.modules)\n"
    )
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path), OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
