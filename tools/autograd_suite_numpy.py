"""autograd's tests write `np` for autograd.numpy; ad_compiler reads NumPy's own functions.

`numpy_view(obj)` is obj with autograd's NumPy replaced by NumPy: autograd.numpy / autograd.scipy
modules and functions map to the NumPy / SciPy ones, and user functions (the tests' functions
and helpers) are re-created with the same code over a copy of their globals (and closure) where
each such name is mapped the same way. Used by autograd_suite_check.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types

_counterparts: dict[int, tuple] = {}
_labels: dict[int, str] = {}  # autograd's function -> the NumPy/SciPy module it stands for
_counted_modules = [0]


def _real_module(module: types.ModuleType):
    name = module.__name__
    if not name.startswith(("autograd.numpy", "autograd.scipy")):
        return None
    real = name[len("autograd.") :]
    if real == "numpy.numpy_wrapper":  # where autograd.numpy's names are defined
        real = "numpy"
    try:
        return importlib.import_module(real)
    except ImportError:
        parent, _, attr = real.rpartition(".")
        try:
            return getattr(importlib.import_module(parent), attr)
        except (ImportError, AttributeError):
            return None


# Helpers autograd's modules define beside NumPy's names, which its tests call as `np.linalg.T`
# and `np.linalg._dot`: NumPy has no such names, so the NumPy stand-in for those modules is a
# copy of NumPy's module with the helpers (re-created over NumPy) added.
_HELPERS = {"autograd.numpy.linalg": ("T", "_dot")}


def _with_helpers(module: types.ModuleType, real: types.ModuleType):
    names = _HELPERS.get(module.__name__, ())
    children = {
        attr: sys.modules[f"{module.__name__}.{attr}"]
        for attr in ("linalg",)
        if f"{module.__name__}.{attr}" in _HELPERS
    }
    if not names and not children:
        return real
    view = types.ModuleType(real.__name__, real.__doc__)
    view.__dict__.update(vars(real))
    for name in names:
        view.__dict__[name] = _helper_view(getattr(module, name))
    for attr, child in children.items():
        view.__dict__[attr] = _with_helpers(child, getattr(real, attr))
    return view


def _helper_view(obj):
    if isinstance(obj, functools.partial):
        return functools.partial(numpy_view(obj.func), *obj.args, **obj.keywords)
    return _recreated(obj)


def _refresh_counterparts() -> None:
    modules = [
        m
        for n, m in list(sys.modules.items())
        if n.startswith(("autograd.numpy", "autograd.scipy")) and m is not None
    ]
    if len(modules) == _counted_modules[0]:
        return
    _counted_modules[0] = len(modules)
    for module in modules:
        real = _real_module(module)
        if real is None:
            continue
        real = _with_helpers(module, real)
        _counterparts[id(module)] = (module, real)
        label = getattr(real, "__name__", module.__name__[len("autograd.") :])
        for name, obj in vars(module).items():
            if name.startswith("_") or not hasattr(real, name):
                continue
            if isinstance(obj, (int, float, str, type)) or obj is None:
                continue
            _counterparts.setdefault(id(obj), (obj, getattr(real, name)))
            _labels.setdefault(id(obj), label)
    _builtin_counterparts()


def _builtin_counterparts() -> None:
    """autograd.builtins' tuple, list, dict and isinstance stand for Python's own."""
    module = sys.modules.get("autograd.builtins")
    if module is None:
        return
    import builtins

    for name in ("tuple", "list", "dict", "isinstance", "type"):
        obj = getattr(module, name, None)
        if obj is not None and obj is not getattr(builtins, name):
            _counterparts.setdefault(id(obj), (obj, getattr(builtins, name)))
            _labels.setdefault(id(obj), "builtins")


def _is_user_function(fn) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return inspect.isfunction(fn) and module.split(".")[0] not in (
        "autograd",
        "numpy",
        "scipy",
        "builtins",
        "functools",
    )


def numpy_view(obj):
    """obj with autograd's NumPy replaced by NumPy (user functions re-created over it)."""
    if inspect.ismethod(obj):
        return obj  # a bound method of a primitive (VSpace.add): its .fun is unbound
    _refresh_counterparts()
    entry = _counterparts.get(id(obj))
    if entry is not None and entry[0] is obj:
        return entry[1]
    if getattr(obj, "_is_autograd_primitive", False):
        return obj.fun
    if _is_user_function(obj):
        return _recreated(obj)
    return obj


_recreations: dict[int, tuple] = {}


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _recreated(fn: types.FunctionType) -> types.FunctionType:
    entry = _recreations.get(id(fn))
    if entry is not None and entry[0] is fn:
        return entry[1]
    namespace = dict(fn.__globals__)
    closure = None
    if fn.__closure__:
        closure = tuple(_mapped_cell(cell) for cell in fn.__closure__)
    new = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__qualname__ = fn.__qualname__
    new.__module__ = fn.__module__
    _recreations[id(fn)] = (fn, new)  # before the globals: functions may call each other
    for name in _global_names(fn.__code__) & namespace.keys():
        namespace[name] = numpy_view(namespace[name])
    return new


def _mapped_cell(cell):
    try:
        contents = cell.cell_contents
    except ValueError:
        return cell
    return types.CellType(numpy_view(contents))
