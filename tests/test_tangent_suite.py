"""Google Tangent's test functions (tests/functions.py of github.com/google/tangent) through
ad_compiler, on Tangent's --short arguments: none may be wrong or crash (refusals are allowed).

Skipped unless AD_TANGENT_PATH names a checkout of google/tangent (nothing is downloaded):

    AD_TANGENT_PATH=/path/to/tangent python -m pytest -q tests/test_tangent_suite.py

tools/run_tangent_suite.py runs the same check on all of Tangent's arguments, with a table.
"""

import importlib.util
import os
from pathlib import Path

import pytest

CHECKOUT = os.environ.get("AD_TANGENT_PATH")
if not CHECKOUT:
    pytest.skip("AD_TANGENT_PATH does not name a checkout of google/tangent",
                allow_module_level=True)

_path = Path(__file__).resolve().parent.parent / "tools" / "tangent_suite_check.py"
_spec = importlib.util.spec_from_file_location("tangent_suite_check", _path)
suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite)

FUNCTIONS = [f for f in suite.load_functions(Path(CHECKOUT)) if not suite.uses_tensorflow(f)]


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_tangent_function(fn, backend):
    record = suite.check_function(fn, backend, short=True)
    assert record["outcome"] not in ("wrong", "crash"), record
