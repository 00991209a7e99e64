"""Tiered compilation of array gradients.

A gradient of array code (straight-line, or loops whose bodies compute whole arrays: see
`program_source.numpy_first`) runs first as NumPy code: no compilation, so the first call is fast.
NumPy pays a few microseconds per operation, which dominates on small and mid-sized arrays; the
same program compiled by numba does not. Once one signature has been called `HOT_CALLS` times,
or has spent `HOT_SECONDS` in NumPy (a long loop's gradient is hot after a call or two), a
background thread builds the numba program, checks that it agrees with the NumPy one on the
arguments of that call, times both on them, and switches the gradient to numba only if numba is
faster. Nothing changes for the caller except the speed (and the last bits of sums, which numba
adds in another order).

The choice is remembered in the cache directory, per program and arguments' shapes, dtypes and
layouts: a later process calling the same gradient on arguments like these takes numba's program
(from numba's cache) or stays on NumPy from its first call, without trying again. A long loop's
gradient then does not run its first calls on NumPy in every process.

`AD_COMPILER_TIER_UP=0` in the environment turns this off (the NumPy program stays).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import compile as compiler
from .errors import ADCompilerError, raised_by_numba
from .runtime_ints import Int64Overflow

# calls of one signature before numba is tried (benchmarks set AD_COMPILER_HOT_CALLS=1)
HOT_CALLS = int(os.environ.get("AD_COMPILER_HOT_CALLS", "20"))
HOT_SECONDS = 0.5  # or this much time spent in the NumPy program, whichever comes first
FASTER = 0.9  # numba must take at most this fraction of NumPy's time
REMEMBER_CHOICES = True  # for the next process (tests that force a choice turn it off)
TIMED_CALLS = 5  # per program, interleaved; the fastest of each counts


# The tier-up threads running now. A process forked while one of them holds a lock (the
# compiler's, numba's, a gradient's) would find it held forever in the child: a fork waits for
# them to finish (`multiprocessing` with the fork start method, `os.fork`).
_RUNNING: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def _finish_before_fork() -> None:
    for thread in list(_RUNNING):
        if thread is not threading.current_thread():
            thread.join()


if hasattr(os, "register_at_fork"):
    # Hooks run before a fork in the reverse order of registration, and logging's takes the
    # lock a tier-up thread needs to import (numba's compiler imports modules that log): ours
    # must run first, so logging registers its hook before ours (else a fork hangs).
    import logging  # noqa: F401

    os.register_at_fork(before=_finish_before_fork)


def enabled() -> bool:
    return os.environ.get("AD_COMPILER_TIER_UP", "1") != "0"


class TieredKernel:
    """The NumPy program of one signature, counting its calls until numba is tried."""

    def __init__(
        self,
        numpy_program: Callable,
        build_numba: Callable[[], Callable],
        program_key: str | None = None,
    ) -> None:
        self.numpy_program = numpy_program
        self.build_numba = build_numba
        self.program_key = program_key  # where the choice is remembered (None: nowhere)
        self.settled = False  # an earlier process's choice was taken: no race
        self.calls = 0
        self.seconds = 0.0  # spent in the NumPy program before numba is tried
        self.outcome = "NumPy (not hot yet)"
        self.thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self.promote: Callable[[Callable], None] | None = None  # set by the owner

    def __call__(self, /, *args: Any) -> Any:
        if self.thread is not None or self.settled:  # numba is being (or was) tried
            return self.numpy_program(*args)
        if self.calls == 0 and self.program_key is not None:
            ran, out = self._earlier_call(args)
            if ran:
                return out
            if self.settled:
                return self.numpy_program(*args)
        self.calls += 1
        if self.calls >= HOT_CALLS or self.seconds >= HOT_SECONDS:
            with self._starting:  # two threads calling at once start one build
                if self.thread is None:
                    self.start(args)
            return self.numpy_program(*args)
        start = time.perf_counter()
        out = self.numpy_program(*args)
        self.seconds += time.perf_counter() - start
        return out

    def start(self, args: tuple) -> None:
        # Copies: the caller may update its arrays in place (an SGD step) while numba runs.
        copies = tuple(_copy_like(a) if isinstance(a, np.ndarray) else a for a in args)
        self.outcome = "trying numba"
        self.thread = threading.Thread(
            target=self._try_numba, args=(copies,), name="ad_compiler tier-up", daemon=True
        )
        _RUNNING.add(self.thread)
        self.thread.start()

    def _earlier_call(self, args: tuple) -> tuple[bool, Any]:
        """(True, result) when an earlier process chose numba for arguments like these: numba's
        program ran them and is promoted here. (False, None) otherwise, settled on NumPy when
        NumPy was chosen."""
        choice = remembered(self.program_key, args)
        if choice == "numpy":
            self.settled = True
            self.outcome = "NumPy (chosen by an earlier process for arguments like these)"
        if choice != "numba" or self.promote is None:
            return False, None
        try:
            compiled = self.build_numba()
            out = compiled(*args)
        except Exception as exc:
            # numba cannot type these arguments, or an int passed int64 (int_checks.py; the
            # NumPy program's ints are Python's): NumPy runs them, then the race as usual
            if isinstance(exc, Int64Overflow) or raised_by_numba(exc):
                return False, None
            raise  # the program's own error (an index out of range): NumPy's too
        self.settled = True
        self.outcome = "numba (chosen by an earlier process for arguments like these)"
        self.promote(compiled)
        return True, out

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the numba attempt (tests, benchmarks); what came of it."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.outcome

    def _try_numba(self, args: tuple) -> None:
        try:
            self._race(args)
        except Exception as exc:  # anything unexpected: NumPy stays, nothing is printed
            self.outcome = f"NumPy ({type(exc).__name__} while trying numba)"

    def _race(self, args: tuple) -> None:
        try:
            # (no warnings.catch_warnings here: it would change the whole process's filters)
            compiled = self.build_numba()
            got = compiled(*args)  # (numba compiles on this first call)
        except Exception as exc:  # numba cannot type something: NumPy stays
            self.outcome = f"NumPy (numba failed: {type(exc).__name__})"
            if raised_by_numba(exc) or isinstance(exc, ADCompilerError):
                remember(self.program_key, args, "numpy")  # (not an error of the arguments)
            return
        try:
            numpy_time, expected = _timed(self.numpy_program, args)
        except Exception as exc:  # (these arguments were an error: nothing to remember)
            self.outcome = f"NumPy (it raised {type(exc).__name__} on the arguments tried)"
            return
        if not agree(expected, got):
            self.outcome = "NumPy (numba's result disagreed)"
            remember(self.program_key, args, "numpy")
            return
        numba_time = _timed(compiled, args)[0]
        # Long calls: one of each is telling enough (a loop's NumPy program can take seconds);
        # short ones are timed again, in turns, the fastest of each counting.
        for _ in range(TIMED_CALLS - 1 if numpy_time + numba_time <= 0.2 else 0):
            numpy_time = min(numpy_time, _timed(self.numpy_program, args)[0])
            numba_time = min(numba_time, _timed(compiled, args)[0])
        if numba_time <= FASTER * numpy_time and self.promote is not None:
            self.promote(compiled)
            self.outcome = f"numba ({numba_time * 1e6:.3g} us vs NumPy {numpy_time * 1e6:.3g} us)"
            remember(self.program_key, args, "numba")
        else:
            self.outcome = f"NumPy ({numpy_time * 1e6:.3g} us vs numba {numba_time * 1e6:.3g} us)"
            remember(self.program_key, args, "numpy")


def _copy_like(a: np.ndarray) -> np.ndarray:
    """A copy of `a` of the same layout (C, Fortran or neither: numba compiles each apart, and
    may take one and not another)."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return a.copy(order="A")
    spaced = np.empty(a.shape + (2,), a.dtype)[..., 0]  # (every other element: no layout)
    spaced[...] = a
    return spaced


def agree(expected: Any, got: Any) -> bool:
    """Same structure, same values up to rounding (NaN where NaN)."""
    if isinstance(expected, tuple) or isinstance(got, tuple):
        return (
            isinstance(expected, tuple)
            and isinstance(got, tuple)
            and len(expected) == len(got)
            and all(agree(e, g) for e, g in zip(expected, got))
        )
    a, b = np.asarray(expected), np.asarray(got)
    if a.shape != b.shape and a.size != 1 and b.size != 1:
        return False
    finite = np.abs(a[np.isfinite(a)]) if a.dtype.kind in "fc" else np.abs(a)
    scale = 1.0 + float(np.max(finite, initial=0.0))
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12 * scale, equal_nan=True))


def _timed(program: Callable, args: tuple) -> tuple[float, Any]:
    start = time.perf_counter()
    out = program(*args)
    return time.perf_counter() - start, out


# -- the choices of earlier processes ---------------------------------------------------------


def _shapes(args: tuple) -> str:
    """What a choice depends on besides the program: the arrays' shapes, dtypes and layouts
    (a program is made for "int" arrays, which may be uint8 or int32: numba's arithmetic on
    them may differ from NumPy's, which the race would have seen), the numbers' types, and
    the versions of numba and NumPy."""
    described = [
        (a.shape, a.dtype.str, a.flags.c_contiguous, a.flags.f_contiguous)
        if isinstance(a, np.ndarray)
        else type(a).__name__
        for a in args
    ]
    return repr([_versions(), *described])


@functools.cache
def _versions() -> str:
    try:
        numba = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba = None
    return f"numba {numba}, NumPy {np.__version__}"


def _choices_path(program_key: str):
    return compiler.cache_dir() / f"tier_{program_key}.json"


def _read_choices(program_key: str) -> dict:
    with contextlib.suppress(OSError, ValueError):
        choices = json.loads(_choices_path(program_key).read_text(encoding="utf-8"))
        if isinstance(choices, dict):
            return choices
    return {}


def remembered(program_key: str | None, args: tuple) -> str | None:
    """ "numba" or "numpy" if an earlier race on arguments of these shapes chose it."""
    if program_key is None or not REMEMBER_CHOICES:
        return None
    choice = _read_choices(program_key).get(_shapes(args))
    return choice if choice in ("numba", "numpy") else None


def remember(program_key: str | None, args: tuple, choice: str) -> None:
    if program_key is None or not REMEMBER_CHOICES:
        return
    choices = _read_choices(program_key)
    choices[_shapes(args)] = choice
    with contextlib.suppress(OSError):  # (a read-only cache: the next process races again)
        compiler.write_text_atomically(_choices_path(program_key), json.dumps(choices))
