"""The record a benchmark case is: shared by `cases.py` and `more_cases.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Case:
    name: str
    family: str
    label: str
    primal: Callable  # the function ad_compiler differentiates
    wrt: tuple[int, ...]
    make_args: Callable[[], tuple]
    numpy_primal: Callable
    numba_primal: Callable  # a plain function, compiled with numba by the runner
    numba_hand: Callable  # likewise
    numpy_hand: Callable | None = None
    numba_nargs: int | None = None  # the numba functions take only the first arguments
    quick: bool = False
    peer_form: str = ""  # how the JAX/PyTorch/autograd versions are written
    memory: bool = False  # measure the peak memory of one gradient call
    checkpoint: bool = False  # also time grad(..., checkpoint=True)
    full: bool = True  # in the full run (False: a small twin for --quick only)
    slow_peers: dict[str, str] = field(default_factory=dict)  # peer: why skipped by default
    params: dict[str, Any] = field(default_factory=dict)
