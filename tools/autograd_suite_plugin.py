"""pytest plugin: run HIPS autograd's own test suite and differentiate every checked function
with ad_compiler as well.

Loaded by `tools/run_autograd_suite.py` (`-p autograd_suite_plugin`). It wraps autograd's
`check_grads` (which `combo_check` calls), `grad`, `value_and_grad` and `elementwise_grad`, and
a test module's own `grad` helper. Each wrapped call still runs autograd's check unchanged (the
suite passes or fails as its authors meant); before it, the function and arguments are handed to
`autograd_suite_check.check`, which differentiates them with ad_compiler and appends one JSON
line per check and backend to $ADSUITE_OUT.
"""

from __future__ import annotations

import functools
import os
import sys
import zlib

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import autograd  # noqa: E402
import autograd.test_util  # noqa: E402
import autograd_suite_check as suite  # noqa: E402

# The runner puts this repository first on the path: check that it is the one differentiating.
if os.path.dirname(os.path.dirname(suite.ad_compiler.__file__)) != os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))
):
    print(f"warning: ad_compiler imported from {suite.ad_compiler.__file__}", file=sys.stderr)

ORIGINAL = {
    "check_grads": autograd.test_util.check_grads,
    "grad": autograd.grad,
    "value_and_grad": autograd.value_and_grad,
    "elementwise_grad": autograd.elementwise_grad,
}
_state = {"nodeid": "", "count": 0}


def _check(fun, argnum, args, kwargs, origin: str, scalar_only: bool) -> None:
    """Differentiate one checked call with ad_compiler; never lets an error reach the test."""
    if suite.busy() or any(suite.is_box(a) for a in args):
        return  # a call made while autograd or this plugin traces or re-runs a function
    _state["count"] += 1
    nodeid = _state["nodeid"]
    seed = zlib.crc32(f"{nodeid}#{_state['count']}".encode())
    suite.check(
        fun,
        argnum,
        args,
        kwargs,
        origin=origin,
        nodeid=nodeid,
        index=_state["count"],
        seed=seed,
        scalar_only=scalar_only,
    )


def _check_grads(fun, argnum=0, *op_args, **op_kwargs):
    inner = ORIGINAL["check_grads"](fun, argnum, *op_args, **op_kwargs)

    @functools.wraps(inner)
    def run(*args, **kwargs):
        _check(fun, argnum, args, kwargs, "check_grads", scalar_only=False)
        with suite.quiet():  # autograd's own check calls check_grads again (second order)
            return inner(*args, **kwargs)

    return run


def _gradient_operator(name: str, original, scalar_only: bool):
    def operator(fun, argnum=0, *op_args, **op_kwargs):
        inner = original(fun, argnum, *op_args, **op_kwargs)

        @functools.wraps(inner)
        def run(*args, **kwargs):
            _check(fun, argnum, args, kwargs, name, scalar_only=scalar_only)
            return inner(*args, **kwargs)

        run._adsuite_wrapped = True
        return run

    functools.update_wrapper(operator, original)  # autograd's tests read its name and doc
    operator._adsuite_wrapped = True
    return operator


autograd.test_util.check_grads = _check_grads
autograd.grad = _gradient_operator("grad", ORIGINAL["grad"], True)
autograd.value_and_grad = _gradient_operator("value_and_grad", ORIGINAL["value_and_grad"], True)
autograd.elementwise_grad = _gradient_operator(
    "elementwise_grad", ORIGINAL["elementwise_grad"], False
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _state["nodeid"] = item.nodeid
    _state["count"] = 0
    module = getattr(item, "module", None)
    local = getattr(module, "grad", None)
    if (
        callable(local)
        and not getattr(local, "_adsuite_wrapped", False)
        and getattr(local, "__module__", None) == module.__name__
    ):
        # test_core.py defines its own `grad` from autograd's core: check its calls too.
        module.grad = _gradient_operator("grad", local, True)
    yield
