"""Gradients that pickle: rebuilt in the other process, never copied.

A gradient holds compiled code, locks, a tier-up thread and caches, none of which can or should
travel. It pickles as what rebuilds it: its class, the user's function and the options it was
made with (`reduce_transform`); the wrappers around gradients (jacobian, hessian, partials)
pickle their attributes, the gradients among them rebuilt in turn (`reduce_state`). The copy
compiles nothing it finds in the on-disk cache: the cache key is computed from the function's
source, file and line, the same in every process, so the first call in a worker imports the
generated module and numba's cached machine code (compile.py).

The user's function is pickled by the pickler, with two repairs (`Function`):
- the standard pickle refers to a function by module and name; a module-level function
  decorated with `@grad` is not found there (the name holds the gradient), so it is pickled as
  "the function the gradient at that name wraps", which the receiving process's import of the
  module rebuilds;
- cloudpickle copies functions of `__main__`, notebooks and closures by value, without their
  source file; their source text travels with them (sources.py).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import pickle
import sys
import threading
from collections import OrderedDict
from typing import Any

from . import sources


def reduce_transform(obj: Any, cls: type, wrt: Any, options: dict) -> tuple:
    """`obj` pickled as `cls(fn, wrt, **options)`, with fn its function."""
    fn = obj.__wrapped__
    pickler = cloudpickler() if inspect.isfunction(fn) else None
    data = _small_pickle(fn, pickler) if pickler is not None else None
    if data is not None:  # the function as cloudpickle's own bytes, and its source
        records = sources.collect(fn, sources.travels_by_value)
        return (_rebuild_pickled, (cls, data, records, wrt, options))
    return (_rebuild, (cls, Function(fn), wrt, options))


# The gradients rebuilt in this process, newest last. A pool or a Dask worker unpickles the
# gradient again for every task; rebuilding it each time would parse and normalize the
# function each time. The same function (the same object, found by reference; or for copies
# by value the same pickled bytes: code, globals and closure as the sender had them) with the
# same wrt and options is the same gradient.
_REBUILT: OrderedDict[tuple, Any] = OrderedDict()
_REBUILT_LOCK = threading.Lock()
MOST_REBUILT = 64
LARGEST_KEPT = 1 << 20  # functions carrying more (a closure over big arrays) are not kept


def _rebuild(cls: type, fn: Any, wrt: Any, options: dict) -> Any:
    if not inspect.isfunction(fn):  # (a bound method: a new receiver each time)
        return cls(fn, wrt, **options)
    return _kept((cls, fn, wrt), options, lambda: fn)


def _rebuild_pickled(cls: type, data: bytes, records: tuple, wrt: Any, options: dict) -> Any:
    def load() -> Any:
        sources.register(records)
        return pickle.loads(data)

    return _kept((cls, hashlib.sha256(data).digest(), wrt), options, load)


def _kept(key: tuple, options: dict, function: Any) -> Any:
    try:
        key += (tuple(sorted(options.items())),)
        hash(key)
    except TypeError:  # something unhashable in the options: not kept
        return key[0](function(), key[2], **options)
    with _REBUILT_LOCK:  # (Dask unpickles tasks in several threads of a worker)
        built = _REBUILT.get(key)
        if built is not None:
            _REBUILT.move_to_end(key)
            return built
    built = key[0](function(), key[2], **options)
    with _REBUILT_LOCK:
        built = _REBUILT.setdefault(key, built)
        if len(_REBUILT) > MOST_REBUILT:
            _REBUILT.popitem(last=False)
    return built


def _small_pickle(fn: Any, pickler: type) -> bytes | None:
    """fn pickled by `pickler` (cloudpickle's), unless that takes more than LARGEST_KEPT."""
    buffer = _Bounded()
    try:
        pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(fn)
    except Exception:  # too large, or not picklable (the outer pickling says why)
        return None
    return b"".join(buffer.parts)


class _Bounded:
    """A file that refuses more than LARGEST_KEPT bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > LARGEST_KEPT:
            raise OverflowError("too large to keep")
        self.parts.append(bytes(data))
        return len(data)


def reduce_state(obj: Any) -> tuple:
    """`obj` pickled as its class and attributes (the functions among them as `Function`)."""
    state = {
        name: Function(value) if _is_function(value) else value for name, value in vars(obj).items()
    }
    return (_restore, (type(obj), state))


def _restore(cls: type, state: dict) -> Any:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _is_function(value: Any) -> bool:
    return inspect.isfunction(value) or inspect.ismethod(value) or type(value) is functools.partial


class Function:
    """A user's function (or bound method, or partial) on its way into a pickle."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __reduce__(self) -> tuple:
        fn = self.fn
        if type(fn) is functools.partial:
            return (_partial, (Function(fn.func), fn.args, fn.keywords))
        if cloudpickling():
            # cloudpickle refers to importable functions and copies the others (with their
            # globals and closures): the copies' source text goes along.
            return (_with_sources, (fn, sources.collect(fn, sources.travels_by_value)))
        if not inspect.isfunction(fn):
            return (_same, (fn,))  # a bound method: pickled as its object and name
        module, qualname = fn.__module__, fn.__qualname__
        found = sources.lookup(module, qualname)
        if found is fn:
            return (_same, (fn,))  # by reference, as pickle does
        depth = 0
        while found is not None and found is not fn and depth < 8:
            found, depth = getattr(found, "__wrapped__", None), depth + 1
        if found is fn:  # a decorated module-level function: the decorator's result's
            return (_wrapped_at, (module, qualname, depth))
        raise pickle.PicklingError(
            f"cannot pickle the gradient of {qualname}() with the standard pickle, which "
            f"refers to functions by module and name and finds no {qualname} in {module}; "
            "define it with `def` at module level, or pickle with cloudpickle (which Dask and "
            "loky use), which copies such functions with their source"
        )


def _same(value: Any) -> Any:
    return value


def _partial(func: Any, args: tuple, keywords: dict) -> functools.partial:
    return functools.partial(func, *args, **keywords)


def _with_sources(fn: Any, records: tuple) -> Any:
    sources.register(records)
    return fn


def _wrapped_at(module: str, qualname: str, depth: int) -> Any:
    """The function the object at `module`.`qualname` wraps (`depth` `__wrapped__` deep)."""
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    for _ in range(depth):
        value = value.__wrapped__
    return value


def cloudpickling() -> bool:
    """Whether the pickler running now is cloudpickle's."""
    return cloudpickler() is not None


def cloudpickler() -> type | None:
    """cloudpickle's Pickler class if it is the pickler running now (or a copy of cloudpickle
    vendored by joblib or Ray). A `__reduce__` is not told which pickler calls it, but
    cloudpickle's `Pickler.dump` is a Python method on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "dump":
            for klass in type(frame.f_locals.get("self")).__mro__:
                if "cloudpickle" in klass.__module__ and klass.__name__ == "Pickler":
                    return klass
        frame = frame.f_back
    return None
