"""Shared pytest configuration: the --update-golden and --fuzz options."""

import pytest


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
