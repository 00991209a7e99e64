"""Issue 14: forward mode and reverse over forward on every rule (tests/rule_sweep_table.py).

For each case, `jvp` of `np.sum((expr) * c)` along a random direction is checked against the
original function run by NumPy (the value) and its central difference along that direction
(the derivative); `hvp` against central differences of autograd's gradient of the same source
(an independent oracle), on a sample in CI (all with AD_SWEEP_FULL=1). An operation without a
forward rule must be refused with the compiler's own error, never computed wrongly; the cases
refused today are listed, so that a new refusal (or a new rule) shows up here.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from rule_sweep_table import CASES
from test_rule_sweep import _AUTOGRAD_HEADER, _ids, _module, _setup

from ad_compiler import hvp, jvp
from ad_compiler.errors import NoGradientRuleError

FULL = os.environ.get("AD_SWEEP_FULL", "") == "1"
HVP_SAMPLE = 3

# Operations with no forward-mode rule yet (jacobian goes to reverse mode for them).
NO_FORWARD_RULE = {
    "weighted_average", "slogdet", "cholesky", "convolve", "pinv", "svd", "eigh", "eigvalsh",
    "qr", "partition", "select",
}  # fmt: skip
# Second-order refusals: the reverse pass has no rule for these reverse helpers yet.
NO_SECOND_ORDER = {"prod_grad", "special_trigamma", "cumprod_tangent"}


def _direction(case, inputs, rng):
    parts = [
        rng.standard_normal(np.shape(inputs[p])) if np.ndim(inputs[p]) else float(rng.normal())
        for p in case.wrt
    ]
    return tuple(parts) if len(parts) > 1 else parts[0], parts


def _moved(args, case, parts, h):
    moved = list(args)
    for p, t in zip(case.wrt, parts):
        moved[p] = moved[p] + h * t
    return moved


def _refused_for(exc: NoGradientRuleError, allowed: set[str]) -> bool:
    return any(f"'{op}'" in str(exc) for op in allowed)


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids())
def test_jvp_of_every_rule(index, tmp_path):
    case = CASES[index]
    module, inputs, c = _setup(case, index, tmp_path)
    args = [*inputs, c]
    direction, parts = _direction(case, inputs, np.random.default_rng(index))
    try:
        value, tangent = jvp(module.f, wrt=case.wrt, backend="python")(*args, tangent=direction)
    except NoGradientRuleError as exc:
        assert _refused_for(exc, NO_FORWARD_RULE), str(exc)
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_value = module.f(*args)
        h = 1e-6
        central = (
            module.f(*_moved(args, case, parts, h)) - module.f(*_moved(args, case, parts, -h))
        ) / (2 * h)
    np.testing.assert_allclose(value, expected_value, rtol=case.value_rtol, atol=1e-12)
    if case.expected or case.name == "np.float32":
        return  # (stop_gradient, a float32 rounding: central differences cannot judge)
    assert abs(tangent - central) <= 1e-5 * max(1.0, abs(central)), (tangent, central)


@pytest.mark.parametrize(
    "index",
    [i for i, case in enumerate(CASES) if case.autograd and (FULL or i % HVP_SAMPLE == 0)],
    ids=[n for i, n in enumerate(_ids()) if CASES[i].autograd and (FULL or i % HVP_SAMPLE == 0)],
)
def test_hvp_of_every_rule(index, tmp_path):
    import autograd

    case = CASES[index]
    module, inputs, c = _setup(case, index, tmp_path)
    args = [*inputs, c]
    direction, parts = _direction(case, inputs, np.random.default_rng(index))
    try:
        got = hvp(module.f, wrt=case.wrt, backend="python")(*args, vector=direction)
    except NoGradientRuleError as exc:
        assert _refused_for(exc, NO_FORWARD_RULE | NO_SECOND_ORDER), str(exc)
        return
    oracle = _module(case, index, tmp_path, _AUTOGRAD_HEADER, "ag")
    got = got if isinstance(got, tuple) else (got,)
    h = 1e-5
    for k, p in enumerate(case.wrt):
        try:
            up = autograd.grad(oracle.f, p)(*_moved(args, case, parts, h))
            down = autograd.grad(oracle.f, p)(*_moved(args, case, parts, -h))
        except (NotImplementedError, AttributeError, TypeError, ValueError):
            pytest.skip("autograd has no rule for it")
        want = (np.asarray(up) - np.asarray(down)) / (2 * h)
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        np.testing.assert_allclose(got[k], want, rtol=1e-4, atol=1e-5 * scale)
