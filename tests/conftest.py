"""Shared pytest configuration: the --update-golden and --fuzz options, and a private cache.

The tests compile thousands of gradients. Unless AD_COMPILER_CACHE_DIR is set (CI sets it; set
it yourself to keep a warm cache between runs), they go to a temporary directory of the session,
removed at its end, never into the user's own ~/.cache/ad_compiler. numba writes its machine
code for them next to the generated modules (compile.py), so it goes there too; a NUMBA_CACHE_DIR
of the user's would send it elsewhere, and is set aside for the session. Subprocesses the tests
start inherit both.
"""

import os
import shutil
import sys
import tempfile

import pytest

_SESSION_CACHE = None
if not os.environ.get("AD_COMPILER_CACHE_DIR"):
    _SESSION_CACHE = tempfile.mkdtemp(prefix="ad_compiler_tests_")
    os.environ["AD_COMPILER_CACHE_DIR"] = _SESSION_CACHE
    if os.environ.pop("NUMBA_CACHE_DIR", None) is not None and "numba" in sys.modules:
        from numba.core import config

        config.reload_config()


def pytest_unconfigure(config):
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/golden/ instead of comparing")
    parser.addoption("--fuzz", action="store", type=int, default=None, metavar="N",
                     help="tests/test_fuzz.py: check N random programs with a random seed, each "
                     "on both backends (default: the reproducible CI profile)")


@pytest.fixture
def update_golden(request):
    """True when the golden files are to be rewritten from the current output."""
    return request.config.getoption("--update-golden")


@pytest.fixture
def tier_up_at_once(monkeypatch):
    """Tier-up after two calls, and switch whenever numba agrees on that call (a forced choice:
    not remembered for later gradients of the same program)."""
    from ad_compiler import tiering  # (not at the top: the cache settings above come first)

    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    monkeypatch.setattr(tiering, "REMEMBER_CHOICES", False)
