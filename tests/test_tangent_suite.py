"""Google Tangent's test functions (tests/functions.py of github.com/google/tangent) through
ad_compiler, on Tangent's --short arguments: none may be wrong or crash (refusals are allowed).

Skipped unless AD_TANGENT_PATH names a checkout of google/tangent (nothing is downloaded):

    AD_TANGENT_PATH=/path/to/tangent python -m pytest -q tests/test_tangent_suite.py

tools/run_tangent_suite.py runs the same check on all of Tangent's arguments, with a table.
test_tangent_mode does the same for forward mode (jvp), Hessian-vector products (hvp) and
grad(grad(f)) on the functions of Tangent's forward-mode, HVP and reverse-over-reverse tests
(tools/tangent_suite_modes.py).
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

CHECKOUT = os.environ.get("AD_TANGENT_PATH")
if not CHECKOUT:
    pytest.skip(
        "AD_TANGENT_PATH does not name a checkout of google/tangent", allow_module_level=True
    )

_TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _load(name):
    # tangent_suite_modes imports tangent_suite_check by name: register it in sys.modules.
    spec = importlib.util.spec_from_file_location(name, _TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


suite = _load("tangent_suite_check")
modes = _load("tangent_suite_modes")

FUNCTIONS = [f for f in suite.load_functions(Path(CHECKOUT)) if not suite.uses_tensorflow(f)]
MODE_FUNCTIONS = FUNCTIONS + modes.load_hvp_functions(Path(CHECKOUT))


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_tangent_function(fn, backend):
    record = suite.check_function(fn, backend, short=True)
    assert record["outcome"] not in ("wrong", "crash"), repr(record)


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("mode", modes.MODES)
@pytest.mark.parametrize("fn", MODE_FUNCTIONS, ids=[f.__name__ for f in MODE_FUNCTIONS])
def test_tangent_mode(fn, mode, backend):
    record = modes.check_function(fn, mode, backend, short=True)
    if record["outcome"] == "skipped":
        pytest.skip(record["reason"])
    assert record["outcome"] not in ("wrong", "crash"), repr(record)
