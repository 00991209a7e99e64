"""Every gradient rule, one table (tests/rule_sweep_table.py): each case's expression is put in a
generated function `np.sum((expr) * c)` and checked against the original run by NumPy (the
value), central differences in float64 and autograd running the same source (the gradient);
with float32 inputs (float32 gradients, close to the float64 ones); and inside a `for` loop on
the numba backend for a sample (all of them with AD_SWEEP_FULL=1: numba compiles array code in
about half a second per function). A name in the rule table without a case fails the sweep."""

from __future__ import annotations

import importlib.util
import os
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from gradcheck_helpers import central
from rule_sweep_table import CASES

from ad_compiler import value_and_grad

ROOT = Path(__file__).resolve().parent.parent
FULL = os.environ.get("AD_SWEEP_FULL", "") == "1"
NUMBA_SAMPLE = 8  # every 8th case on numba in CI
# Builtins handled by the compiler itself (covered by the structure and control-flow tests).
LANGUAGE = {"dict", "enumerate", "len", "list", "max", "min", "range", "reversed", "tuple", "zip"}


def _rule_names() -> set[str]:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import rule_table
    finally:
        sys.path.pop(0)
    names = set()
    for line in rule_table.table().splitlines():
        names |= {part.split("`")[1] for part in line.split(": ", 1)[1].split(", ")}
    return names - LANGUAGE


def test_every_rule_has_a_case():
    missing = sorted(_rule_names() - {case.name for case in CASES})
    assert not missing, f"rules without a case in tests/rule_sweep_table.py: {missing}"


# -- inputs -------------------------------------------------------------------------------------

_KINKS = np.concatenate(
    [np.arange(-5.0, 6.0), [0.05, -0.05, 0.95, 0.55, -0.5], 0.7 * np.arange(-6, 7)]
)


def _draw(rng, shape, domain):
    size = int(np.prod(shape))
    if domain == "pos":
        values = rng.uniform(0.5, 2.0, size)
    elif domain == "unit":
        values = rng.uniform(-0.8, 0.8, size)
    elif domain == "gt1":
        values = rng.uniform(1.2, 3.0, size)
    elif domain == "prob":
        values = rng.uniform(0.1, 0.9, size)
    elif domain == "distinct":  # apart from each other and from the kinks the table uses
        while True:
            values = (rng.permutation(size) - size / 2) * 0.29 + rng.uniform(-0.1, 0.1)
            if np.min(np.abs(values[:, None] - _KINKS[None, :])) > 0.01:
                break
    else:
        values = rng.standard_normal(size)
    return float(values[0]) if shape == () else values.reshape(shape)


def _inputs(case, rng):
    inputs = [
        _draw(rng, shape, case.domain if case.domain != "spd" else "any") for shape in case.shapes
    ]
    if case.domain == "spd":
        a = inputs[0]
        inputs[0] = a @ a.T + a.shape[0] * np.eye(a.shape[0])
    return inputs


# -- generated functions ------------------------------------------------------------------------

_HEADER = (
    "import math\n\nimport numpy as np\nimport scipy.signal\nimport scipy.special\n"
    "import scipy.stats\n\nimport ad_compiler\n\n\n"
)
_AUTOGRAD_HEADER = (
    "import math\nimport types\n\nimport autograd.numpy as np\nimport autograd.scipy.special\n\n"
    "import autograd.scipy.signal\nimport autograd.scipy.stats\n\n"
    "scipy = types.SimpleNamespace(\n    special=autograd.scipy.special,\n"
    "    stats=autograd.scipy.stats,\n    signal=autograd.scipy.signal,\n)\n\n\n"
)


def _source(case, header: str) -> str:
    params = ", ".join(["x", "y", "z"][: len(case.shapes)] + ["c"])
    return (
        f"{header}def f({params}):\n    return np.sum(({case.expr}) * c)\n\n\n"
        f"def f_loop({params}):\n    s = 0.0\n    for i in range(2):\n"
        f"        s = s + np.sum(({case.expr}) * c) * (i + 1.0)\n    return s\n"
    )


def _module(case, index, tmp_dir: Path, header: str, tag: str):
    path = tmp_dir / f"sweep_{tag}_{index}.py"
    path.write_text(_source(case, header), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"sweep_{tag}_{index}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rule_sweep")


def _ids():
    seen: dict[str, int] = {}
    ids = []
    for case in CASES:
        seen[case.name] = seen.get(case.name, 0) + 1
        ids.append(f"{case.name}-{seen[case.name]}")
    return ids


def _setup(case, index, sweep_dir):
    rng = np.random.default_rng(zlib.crc32(f"{case.name}{index}".encode()))
    inputs = _inputs(case, rng)
    module = _module(case, index, sweep_dir, _HEADER, "np")
    with np.errstate(all="ignore"):
        out = eval(case.expr, vars(module), dict(zip("xyz", inputs)))  # noqa: S307
    c = rng.standard_normal(np.shape(out))
    return module, inputs, (float(c) if np.ndim(out) == 0 else c)


def _expected(case, args):
    names = ["x", "y", "z"][: len(case.shapes)] + ["c"]
    return eval(case.expected, {"np": np}, dict(zip(names, args)))  # noqa: S307


def _by_autograd(case, index, sweep_dir, args, pos):
    """autograd's gradient of the same expression, or None where autograd has no rule."""
    import autograd

    oracle = _module(case, index, sweep_dir, _AUTOGRAD_HEADER, "ag")
    try:
        return autograd.grad(oracle.f, pos)(*args)
    except (NotImplementedError, AttributeError, TypeError, ValueError):
        return None


def _close(got, want, rtol, atol):
    want = np.asarray(want, dtype=float)
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids())
def test_rule(index, sweep_dir):
    case = CASES[index]
    module, inputs, c = _setup(case, index, sweep_dir)
    args = [*inputs, c]
    value, grads = value_and_grad(module.f, wrt=case.wrt, backend="python")(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    _close(value, module.f(*args), case.value_rtol, 1e-12)
    for pos, got in zip(case.wrt, grads):
        assert np.shape(got) == np.shape(inputs[pos])
        if case.expected:
            _close(got, _expected(case, args), 1e-12, 0)
        else:
            _close(got, central(module.f, args, pos), 1e-5, 1e-6)
    if case.autograd:
        for pos, got in zip(case.wrt, grads):
            want = _by_autograd(case, index, sweep_dir, args, pos)
            if want is not None:
                _close(got, want, 1e-9, 1e-11)
    if case.float32 and any(np.ndim(i) > 0 for i in inputs):
        low = [i.astype(np.float32) if np.ndim(i) > 0 else i for i in inputs]
        value32, grads32 = value_and_grad(module.f, wrt=case.wrt, backend="python")(*low, c)
        grads32 = grads32 if isinstance(grads32, tuple) else (grads32,)
        for pos, got32, got in zip(case.wrt, grads32, grads):
            if np.ndim(inputs[pos]) > 0:
                assert got32.dtype == np.float32, f"a float32 input got a {got32.dtype} gradient"
            _close(got32, got, 2e-3, 2e-4)


@pytest.mark.parametrize(
    "index",
    [i for i in range(len(CASES)) if FULL or i % NUMBA_SAMPLE == 0],
    ids=[n for i, n in enumerate(_ids()) if FULL or i % NUMBA_SAMPLE == 0],
)
def test_rule_in_a_numba_loop(index, sweep_dir):
    case = CASES[index]
    module, inputs, c = _setup(case, index, sweep_dir)
    args = [*inputs, c]
    value, grads = value_and_grad(module.f_loop, wrt=case.wrt, backend="numba")(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    _close(value, module.f_loop(*args), case.value_rtol, 1e-12)
    for pos, got in zip(case.wrt, grads):
        if case.expected:  # the loop adds the expression once, then twice
            want = 3.0 * _expected(case, args)
            _close(got, want, 1e-12, 0)
        else:
            _close(got, central(module.f_loop, args, pos), 1e-5, 1e-6)
