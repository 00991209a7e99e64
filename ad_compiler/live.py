"""Module-level values read at every call, as Python reads them.

`SCALE = 2.0` at module level and `return SCALE * x` in the function: plain Python reads
`SCALE` when the line runs, so after `SCALE = 3.0` the function computes with 3.0. The
compiled gradient does the same: while normalizing, every module-level (or closure, or module
attribute) number or array the code reads becomes a hidden parameter of the program, after the
user's own, and each call reads its current value and passes it in. The program and its cache
key name the parameter, never its value; a value that changes kind (a float becoming an array)
only selects another build, as an argument would.

A few values decide the program's shape and are compiled in as constants instead ("pinned"):
booleans and None (`if DEBUG:` keeps the branch taken), and numbers used where the compiler
needs a constant (`axis=AXIS`, indexing a tuple). Each call checks that they still hold the
values compiled in; when one changed, the function is normalized again.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ADCompilerError, GradientInputError
from .ir import Const, Loc, Names, Var


@dataclass
class LiveRead:
    """One module-level value the program reads."""

    label: str  # as the user wrote it: SCALE, cfg.DT
    where: Loc | None  # the first line reading it
    get: Callable[[], Any]  # its current value
    value: Any  # its value when the program was normalized
    param: str | None = None  # the hidden parameter passing it in, if any
    pinned: bool = False  # compiled in as a constant: must keep its value
    same_object: bool = False  # (pinned) a helper, an object: must stay the same object

    def describe(self) -> str:
        where = f" ({self.where})" if self.where is not None else ""
        return f"the module-level {self.label}{where}"


def is_live_value(value: Any) -> bool:
    """Values passed in at each call: numbers (not bool) and arrays. (Other kinds of numbers,
    a Fraction, stay constants: the compiled code cannot take them.)"""
    return (
        isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ) or isinstance(value, np.ndarray)


def is_pinned_value(value: Any) -> bool:
    return value is None or isinstance(value, (bool, np.bool_)) or is_constant_tuple(value)


def is_constant_tuple(value: Any) -> bool:
    """A plain tuple of whole numbers, None and Ellipsis (nested too): `AXES = (0, 2)`,
    compiled in where a constant is needed and checked at each call."""
    return type(value) is tuple and all(
        (isinstance(v, numbers.Integral) and not isinstance(v, np.bool_))
        or v is None
        or v is Ellipsis
        or is_constant_tuple(v)
        for v in value
    )


class LiveGlobals:
    """The module-level values one normalization reads (collected as it meets them)."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.reads: dict[tuple, LiveRead] = {}  # (id of where it lives, path) -> read
        self.by_param: dict[str, LiveRead] = {}

    def hidden(self, key: tuple, label: str, get: Callable, value: Any, where: Loc) -> Var:
        """The hidden parameter holding a module-level number or array."""
        read = self._read(key, label, get, value, where)
        if read.param is None:
            read.param = self.names.fresh(re.sub(r"\W+", "_", label))  # cfg.DT, W[0]
            self.by_param[read.param] = read
        return Var(read.param)

    def pin(self, key: tuple, label: str, get: Callable, value: Any, where: Loc) -> Const:
        """A module-level bool, None or tuple of whole numbers, compiled in as a constant."""
        self._read(key, label, get, value, where).pinned = True
        return Const(bool(value) if isinstance(value, (bool, np.bool_)) else value)

    def pin_object(self, key: tuple, label: str, get: Callable, value: Any, where: Loc) -> None:
        """A module-level helper function, callable or object the program was built from
        (`activation = np.tanh`, `def helper(v): ...`): each call checks that the name still
        refers to the same object, and the function is normalized again when it does not (a
        notebook cell run again defines a new helper; Python calls the new one)."""
        read = self._read(key, label, get, value, where)
        read.pinned = read.same_object = True

    def pin_param(self, var: Var) -> Const | None:
        """The value of a hidden parameter, for a place that needs a constant (`axis=`): it
        is compiled in and the program is rebuilt if it changes. None when `var` is not a
        hidden parameter holding a number."""
        read = self.by_param.get(var.name) if isinstance(var, Var) else None
        if read is None or not isinstance(read.value, numbers.Real):
            return None
        read.pinned = True
        value = read.value
        return Const(int(value) if isinstance(value, numbers.Integral) else float(value))

    def _read(self, key: tuple, label: str, get: Callable, value: Any, where: Loc) -> LiveRead:
        read = self.reads.get(key)
        if read is None:
            read = self.reads[key] = LiveRead(label, where, get, value)
        return read

    def finish(self, read_by_program: set[str]) -> LiveState | None:
        """What the calls need: None when the function reads no module-level value. A hidden
        parameter the program does not read (only compiled in, as `axis=`) is not passed."""
        if not self.reads:
            return None
        passed = tuple(
            r for r in self.reads.values() if r.param is not None and r.param in read_by_program
        )
        pinned = tuple(r for r in self.reads.values() if r.pinned)
        return LiveState(passed, pinned) if passed or pinned else None


class LiveState:
    """Reads the hidden parameters' values at each call (and checks the pinned ones)."""

    def __init__(self, passed: tuple[LiveRead, ...], pinned: tuple[LiveRead, ...]) -> None:
        self.passed = passed
        self.pinned = pinned
        self.params = tuple(r.param for r in passed)
        # One expression reads them all (pinned values first): the generated fast call
        # (fastcall.py) writes it inline, `read_raw` returns it.
        names: dict[str, Any] = {"_same": _same}
        checks = []
        for i, r in enumerate(pinned):
            names[f"_lg{i}"], names[f"_lv{i}"] = r.get, r.value
            same = "_lg{0}() is _lv{0}" if r.same_object else "_same(_lg{0}(), _lv{0})"
            checks.append(same.format(i))
        values = []
        for i, r in enumerate(passed):
            names[f"_lp{i}"] = r.get
            values.append(f"_lp{i}(), ")
        read = f"({''.join(values)})"
        if checks:
            read = f"{read} if {' and '.join(checks)} else None"
        self.inline = (read, names)
        namespace = dict(names)
        source = f"def read():\n    return {read}\n"
        exec(compile(source, "<module-level reads>", "exec"), namespace)  # noqa: S102
        # The hidden parameters' current values, None when a pinned value changed; raises one
        # of READ_ERRORS when a value is gone (`missing` says which).
        self.read_raw = namespace["read"]

    def read(self) -> tuple | None:
        """The hidden parameters' current values; None when a pinned value changed."""
        try:
            return self.read_raw()
        except READ_ERRORS:
            raise self.missing() from None

    def missing(self) -> ADCompilerError:
        for r in self.passed + self.pinned:
            try:
                r.get()
            except READ_ERRORS:
                return ADCompilerError(
                    f"{r.describe()} no longer exists; the function reads it at each call"
                )
        return ADCompilerError("a module-level value the function reads no longer exists")

    def kind_error(self, param: str, value: Any) -> GradientInputError:
        read = next(r for r in self.passed if r.param == param)
        return GradientInputError(
            f"{read.describe()} is now a {type(value).__name__}; the function reads it at each "
            "call, and ad_compiler takes numbers and NumPy arrays of numbers"
        )


# A name deleted from its module, an attribute removed, an empty closure cell.
READ_ERRORS = (KeyError, AttributeError, ValueError, NameError)


def _same(now: Any, then: Any) -> bool:
    return now is then or (type(now) is type(then) and now == then)
