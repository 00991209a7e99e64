"""Shared pytest configuration: the --update-golden option."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/golden/ instead of comparing")


@pytest.fixture
def update_golden(request):
    """True when the golden files are to be rewritten from the current output."""
    return request.config.getoption("--update-golden")
