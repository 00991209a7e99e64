"""The public entry points: grad and value_and_grad.

A GradFunction parses, normalizes, differentiates, generates and compiles the gradient on first
call, once per combination of argument kinds (scalar or array, number of dimensions, float or
int), and keeps the compiled function. The build is keyed by a hash of the normalized program, so
a second process reuses the generated module and numba's cache without running SymPy or numba's
compiler again.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, Generic

import numpy as np

from . import aux, fastcall, pickling, tiering
from . import compile as compiler
from .argument_overlap import changes_in_place, zero_d_error
from .call_recovery import CallRecovery, _beyond_int64
from .errors import ADCompilerError, GradientInputError
from .frontend import ParsedFunction, parse_function
from .ir import FLOAT, Function, Kind, format_function, walk
from .kinds import (
    kind_of_value,
    makes_narrow_ints,
    refuse_array_subclass,
    scalar_bool_arithmetic,
)
from .live import READ_ERRORS, LiveState
from .normalize import Entry, normalize_live
from .pytree import is_constant, is_structured
from .shaping import (
    _ALL,
    _INLINED,
    _ONE,
    _TUPLE,
    _VALUE_AND_ALL,
    _VALUE_AND_ONE,
    _converted_for_numba,
    _in_float64,
    _like,
    _narrow_floats,
    _narrow_ints,
    _with_numpy_scalars,
    separate,
)
from .structured import StructuredCalls, flat_signature
from .typing_aliases import P, Wrt
from .whole_numbers import not_float_error

BACKENDS = ("numba", "python")


_compiler_fingerprint = compiler.compiler_fingerprint  # (cache keys include it)


class GradFunction(CallRecovery, Generic[P]):
    """The gradient of a function (what `grad` and `value_and_grad` return): call it like the
    function. `g.source` is the generated program, `g.compiled_for(*args)` the compiled one,
    `g.__wrapped__` the function itself; see help(grad).

    >>> from ad_compiler import grad
    >>> def square(x):
    ...     return x * x
    >>> g = grad(square, backend="python")
    >>> g(3.0), g.wrt, g.__wrapped__ is square
    (6.0, ('x',), True)
    """

    _cotangent = False  # a vector-Jacobian product (vjp.py): seeded by an extra parameter

    def __init__(
        self,
        fn: Callable,
        wrt: Wrt,
        backend: str,
        with_value: bool,
        optimize: bool = True,
        layouts: tuple = (),
        has_aux: bool = False,
        checkpoint: bool = False,
    ) -> None:
        if isinstance(fn, GradFunction):
            raise ADCompilerError(
                "this transform of a gradient is not supported: grad(grad(f)) (of a float "
                "argument), hvp(f) and hessian(f) give second derivatives"
            )
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        functools.update_wrapper(self, fn)
        self.__wrapped__ = fn
        self.backend = backend
        self.with_value = with_value
        self.optimize = bool(optimize)
        self.has_aux = bool(has_aux)  # f returns (value, aux): see aux.py
        self.checkpoint = bool(checkpoint)  # loops reversed from checkpoints: checkpoint.py
        self._signature = inspect.signature(fn)
        # A bound method: the function is compiled with its `self` as a constant object.
        self._function = fn.__func__ if inspect.ismethod(fn) else fn
        receiver = None
        if inspect.ismethod(fn):
            receiver = (next(iter(inspect.signature(fn.__func__).parameters)), fn.__self__)
        # Called for one layout of structured arguments (structured.py): their leaves.
        self._entry_spec = Entry(receiver, layouts, self.has_aux)
        if layouts:
            self._signature = flat_signature(self._signature, dict(layouts))
        self._structured = StructuredCalls(self)
        self.params = tuple(self._signature.parameters)
        # Keyword-only parameters: a call with as many positional arguments as parameters is
        # still bound (and refused), as Python would.
        self._keywords_only = any(
            p.kind is p.KEYWORD_ONLY for p in self._signature.parameters.values()
        )
        self._single = isinstance(wrt, (int, str))
        if not self._single and not isinstance(wrt, (tuple, list)):
            raise GradientInputError(
                f"wrt must be a parameter position or name, or a tuple of them; got {wrt!r}"
            )
        self.wrt = tuple(self._resolve_wrt(w) for w in ([wrt] if self._single else wrt))
        if len(set(self.wrt)) != len(self.wrt):
            raise GradientInputError(f"wrt names a parameter twice: {self.wrt}")
        self._builds: dict[tuple, tuple[Callable, str]] = {}
        self._dispatch: dict[tuple, tuple[Callable, Callable]] = {}
        self._positions = tuple(self.params.index(p) for p in self.wrt)
        self._nparams = len(self.params)  # with the hidden parameters, once normalized
        self._nuser = len(self.params)
        # The module-level numbers and arrays the function reads (live.py): passed after the
        # arguments, as the hidden parameters `_hidden` of the program.
        self._live: LiveState | None = None
        self._hidden: tuple[str, ...] = ()
        self._last_source: str | None = None
        self._lock = threading.Lock()
        self._parsed: ParsedFunction | None = None
        self._normalized: Function | None = None
        self._in_place: bool | None = None  # _changes_in_place, once normalized

    def _resolve_wrt(self, w: int | str) -> str:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise GradientInputError(f"wrt must name parameters by position or name, not {w!r}")
        if isinstance(w, int):
            if not -len(self.params) <= w < len(self.params):
                raise GradientInputError(
                    f"wrt={w}: {self.__name__}() has {len(self.params)} parameter(s) {self.params}"
                )
            return self.params[w]
        if w not in self.params:
            raise GradientInputError(
                f"wrt={w!r} names no parameter of {self.__name__}{self._signature}"
            )
        return w

    # -- calling ---------------------------------------------------------------------------

    def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        if kwargs or len(args) != self._nparams or self._keywords_only:
            args = tuple(self._bind(args, kwargs))
        return self._call_bound(args)

    def _call_bound(self, args: tuple) -> Any:
        """A call with the arguments bound to the program's parameters, in order (the user's,
        then the module-level values it reads, when they are there)."""
        # Dispatch on the arguments' types (and arrays' dimensions and dtypes); the first call
        # with new ones validates them and builds the gradient.
        key = tuple(map(type, args))
        entry = self._dispatch.get(key)  # never found for arrays: their key has ndim, dtype
        if entry is None:
            if np.ndarray in key:
                key = tuple(
                    (v.ndim, v.dtype.char) if type(v) is np.ndarray else type(v) for v in args
                )
                entry = self._dispatch.get(key)
            if entry is None:
                user_args = args[: self._nuser]  # (then the module-level values it reads)
                if any(map(is_structured, user_args)):  # dicts, lists, None: by their layout
                    for name, p in zip(self.wrt, self._positions):
                        if is_constant(user_args[p]):  # a string or None differentiated
                            self._differentiable_kind(name, user_args[p])
                    return self._structured(user_args)
                if len(args) == self._nuser and self._reads_globals() and self._hidden:
                    # module-level values the program takes after the arguments: read them
                    return self._call_live(args)
                normalized = self._primal()
                if len(args) != self._nparams and self._live is not None:
                    # the module-level values were read before another thread normalized the
                    # function again (a value compiled in changed): read them again
                    return self._call_live(args[: self._nuser])
                if self.backend == "numba" and any(map(_beyond_int64, args)):
                    # (numba's dispatcher would take an int below 2**64 as uint64)
                    return self._with_python_ints(key, args)
                entry = self._entry(args)
                with self._lock:
                    # (not when another thread normalized the function again meanwhile: a
                    # module-level value compiled in changed, this entry is for the old one)
                    if self._normalized is normalized:
                        self._dispatch[key] = entry
                        self._install_fast_path()
                try:
                    result = entry[1](entry[0](*args), args)
                except Exception as exc:
                    return self._failed(exc, key, args)
                with self._lock:
                    # again, now that numba compiled the program for these types: the fast
                    # path calls a scalar signature's machine code directly (fastcall.py)
                    if self._dispatch.get(key) is entry:
                        self._install_fast_path()
                return result
        if int in key and self.backend == "numba" and any(map(_beyond_int64, args)):
            return self._with_python_ints(key, args)
        try:
            return entry[1](entry[0](*args), args)
        except Exception as exc:
            return self._failed(exc, key, args)

    def _call_live(self, args: tuple) -> Any:
        """A call with the user's arguments bound: the module-level values the function reads,
        read now, go after them."""
        live = self._live
        try:
            values = live.read_raw() if live is not None else ()
        except READ_ERRORS:
            raise live.missing() from None
        if values is None:  # a value compiled in (a flag, an axis) changed
            values = self._live_values()
        return self._call_bound((*args, *values))

    def _fast_path_allowed(self) -> bool:
        # Subclasses (transforms) have calls of their own; a plain gradient, or one reading
        # module-level values, gets the generated fast path (fastcall.py).
        if self._keywords_only:  # the fast path passes arguments by position
            return False
        return type(self) in (GradFunction, _LiveGradFunction) or getattr(
            type(self), "fast_path", False
        )

    def _plain_class(self) -> type:
        """The class a generated fast path (a subclass of its own) goes back to."""
        return _LiveGradFunction if isinstance(self, _LiveGradFunction) else GradFunction

    def _install_fast_path(self) -> None:
        if not self._fast_path_allowed():
            return
        base = self._plain_class()
        if base is _LiveGradFunction:
            # the module-level values are read at each call, as the general path reads them
            live = self._live
            if live is None:
                return
            fastcall.install(self, base, base.__call__, _INLINED, _like, live.inline, READ_ERRORS)
        else:
            fastcall.install(self, base, base.__call__, _INLINED, _like)

    def _entry(self, values: tuple | list) -> tuple[Callable, Callable]:
        """The compiled function for arguments like these, and how to shape its results."""
        self._primal()  # refuse unsupported code before looking at the arguments
        kinds = self._kinds(values)
        function, source = self._build(kinds)
        if "@njit" in source and self._numpy_semantics(values, kinds):
            function, source = self._compile(kinds, backend="python")
        elif "@njit" in source and _converted_for_numba(values):
            function = _in_float64(function, source)
        elif self._tiers_up(source, values):
            function = self._tiered(function, kinds, source)
        if self.has_aux:
            return function, aux.unpacker(self)
        if "@njit" in source and all(type(values[p]) is float for p in self._positions):
            # numba returns Python floats, in the right order: nothing to convert.
            if self.with_value:
                return function, _VALUE_AND_ONE if self._single else _VALUE_AND_ALL
            return function, _ONE if self._single else _ALL if len(self.wrt) > 1 else _TUPLE
        return function, self._unpack

    def _numpy_semantics(self, values: tuple | list, kinds: tuple[Kind, ...]) -> bool:
        """Whether these arguments must run on the NumPy program because numba would compute
        otherwise: integer arrays other than int64 (numba's arithmetic on them is int64's), or
        bool arrays whose single elements the program does arithmetic on."""
        if _narrow_ints(values) or makes_narrow_ints(self._primal()):
            return True
        bools = any(isinstance(v, (np.ndarray, np.bool_)) and v.dtype == np.bool_ for v in values)
        names = self.params + self._hidden
        return scalar_bool_arithmetic(self._primal(), dict(zip(names, kinds)), not bools)

    def _tiers_up(self, source: str, values: tuple | list) -> bool:
        """Straight-line array code under backend numba: NumPy first, numba once hot. (Float32
        arguments keep NumPy's float32 arithmetic.)"""
        straight = self.backend == "numba" and "@njit" not in source
        narrow = _narrow_floats(values) or _narrow_ints(values)
        if not (straight and tiering.enabled()) or narrow:
            return False
        return not self._numpy_semantics(values, self._kinds(values))

    def _tiered(
        self, program: Callable, kinds: tuple[Kind, ...], source: str
    ) -> tiering.TieredKernel:
        def build_numba() -> Callable:
            with self._lock:
                return self._compile(kinds, numpy=False)[0]

        # (the NumPy program's module name keys the choice: it names the numba program too)
        kernel = tiering.TieredKernel(program, build_numba, compiler.module_path(source).stem)

        def promote(compiled: Callable) -> None:
            for key, (function, shaping) in list(self._dispatch.items()):
                if function is kernel:
                    self._dispatch[key] = (compiled, shaping)
                    self.__dict__.setdefault("_promoted_from", {})[key] = program
            self._install_fast_path()

        kernel.promote = promote
        return kernel

    def _bind(self, args: tuple, kwargs: dict) -> list:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise GradientInputError(f"{self.__name__}{self._signature}: {exc}") from None
        bound.apply_defaults()
        return [bound.arguments[p] for p in self.params]

    def _kinds(self, values: list) -> tuple[Kind, ...]:
        kinds = []
        for name, value in zip(self.params + self._hidden, values):
            if type(value) is np.ndarray and value.ndim == 0 and self._changes_in_place():
                raise zero_d_error(self.__name__, name)
            if name in self.wrt:
                kinds.append(self._differentiable_kind(name, value))
            else:
                try:
                    kinds.append(kind_of_value(value, name))
                except GradientInputError:
                    if name in self._hidden:
                        raise self._live.kind_error(name, value) from None
                    raise GradientInputError(
                        f"argument {name} of {self.__name__}() is a {type(value).__name__}; "
                        "only numbers and NumPy arrays are supported"
                    ) from None
        return tuple(kinds)

    def _differentiable_kind(self, name: str, value: Any) -> Kind:
        if isinstance(value, np.ndarray):
            refuse_array_subclass(value, name)
        kind = None
        if not isinstance(value, (list, tuple)):
            with contextlib.suppress(GradientInputError):
                kind = kind_of_value(value, name)
        if kind is None or kind.dtype != "float":
            # whole numbers too: never converted, never left out (whole_numbers.py)
            others = [w for w in self.wrt if w != name]
            raise not_float_error(self.__name__, name, value, others, self._entry_spec.layouts)
        return kind

    def _unpack(self, out: Any, values: tuple | list) -> Any:
        if not self.with_value and len(self.wrt) == 1:
            out = (out,)  # a single gradient comes back bare
        if self.with_value:
            value, out = float(out[0]), out[1:]
        grads = separate(tuple(_like(g, values[p]) for g, p in zip(out, self._positions)), values)
        if self._single:
            grads = grads[0]
        return (value, grads) if self.with_value else grads

    # -- building ---------------------------------------------------------------------------

    def _build(self, kinds: tuple[Kind, ...]) -> tuple[Callable, str]:
        key = tuple((k.ndim, k.dtype) for k in kinds)
        built = self._builds.get(key)
        if built is None:
            with self._lock:
                built = self._builds.get(key)
                if built is None:
                    built = self._compile(kinds)
                    self._builds[key] = built
        self._last_source = built[1]
        return built

    def _primal(self) -> Function:
        """The normalized program (parsed once; raises for code the compiler refuses)."""
        if self._normalized is None:
            self._parsed = parse_function(self._function)
            self._normalized, self._live = normalize_live(self._parsed, self._entry_spec)
            self._hidden = self._live.params if self._live is not None else ()
            self._nparams = self._nuser + len(self._hidden)
            if self._live is not None and type(self) is GradFunction:
                self.__class__ = _LiveGradFunction
        return self._normalized

    def _changes_in_place(self) -> bool:
        """Whether the function writes into an argument or updates a value with `op=`."""
        if self._in_place is None:
            self._in_place = changes_in_place(self._primal())
        return self._in_place

    def _writes_into_arguments(self, args: tuple) -> bool:
        """Whether the program may have written into an argument's array before it raised
        (a second run would see it changed): a store into it, or `x op= v` through a name for
        it. A counter's `k += 1` changes no argument (a 0-d array argument, which Python would
        change in place, is refused before the call: _kinds)."""
        if not self._changes_in_place():
            return False
        from .argument_overlap import changed_arguments
        from .kinds import infer_kinds

        primal = self._primal()
        kinds = dict(zip(self.params + self._hidden, self._kinds(list(args))))
        return bool(changed_arguments(primal, infer_kinds(primal, kinds)))

    def _reads_globals(self) -> bool:
        """Normalize; whether the function turned out to read module-level values."""
        self._primal()
        return self._live is not None

    def _live_values(self) -> tuple:
        """The current values of the module-level numbers and arrays the program reads; when
        a value compiled into it (a flag, an `axis=`) changed, the function is normalized
        again first."""
        self._primal()
        if self._live is None:
            return ()
        values = self._live.read()
        if values is None:
            with self._lock:
                self._normalized = None
                self._builds.clear()
                self._dispatch.clear()
                self.__dict__.pop("_with_python_ints_programs", None)
                fastcall.uninstall(self, self._plain_class())
                self.__dict__.pop("_promoted_from", None)
                self._last_source = None
            self._primal()
            values = self._live.read() if self._live is not None else ()
            if values is None:
                raise ADCompilerError(
                    f"the module-level values {self.__name__}() reads changed while it was "
                    "being compiled"
                )
        return values

    def _compile(
        self, kinds: tuple[Kind, ...], numpy: bool = True, backend: str | None = None
    ) -> tuple[Callable, str]:
        """The program for these kinds; `numpy=False` compiles straight-line array code by
        numba too (tiering.py, numba_call.py), where it would otherwise run on NumPy."""
        backend = backend or self.backend
        primal = self._primal()
        # The generated code quotes file names and lines: they are part of the key too.
        places = sorted(
            {
                (s.loc.filename, s.loc.line, s.loc.text)
                for s in walk(primal.body)
                if s.loc is not None
            }
        )
        key = compiler.digest(
            "\n".join(
                [
                    _compiler_fingerprint(),
                    format_function(primal),
                    repr(places),
                    self._parsed.filename,
                    str(self._parsed.node.lineno),
                    repr([(k.ndim, k.dtype) for k in kinds]),
                    repr(self.wrt),
                    repr(self.with_value),
                    backend,
                    f"optimize={self.optimize}",
                    f"aux={primal.aux!r} cotangent={self._cotangent}",
                    "" if numpy else "numba for array code",
                    f"checkpoint={self.checkpoint}",
                ]
            )
        )
        source = compiler.recall(key)
        if source is None:
            # (imported here: a process whose gradients are all cached never needs it)
            from .program_source import build_source

            source = build_source(
                primal,
                dict(zip(self.params + self._hidden, kinds)),
                self.wrt,
                self.with_value,
                backend,
                self._header(),
                self.optimize,
                self._cotangent,
                numpy_for_arrays=numpy,
                checkpoint=self.checkpoint,
            )
            compiler.remember(key, source)
        function = compiler.load(source, compiler.function_name(source))
        if "@njit" not in source:
            function = _with_numpy_scalars(function)
        return function, source

    def _header(self) -> str:
        fn = self._function
        wrt = ", ".join(self.wrt)
        where = f"{self._parsed.filename}:{self._parsed.node.lineno}"
        what = "value and gradient" if self.with_value else "gradient"
        if self.has_aux:  # (value, aux): aux comes back after the gradients
            wrt += f";\nalso returns the aux of {fn.__name__}()'s (value, aux), as it returned it"
        return (
            f"The {what} of {fn.__name__}() ({where}) with respect to {wrt}.\n\n"
            "Generated by ad_compiler: a forward sweep, then a reverse sweep in which each\n"
            "block adds upstream gradient x local gradient into the adjoints (x_bar).\n"
        )

    # -- reading the generated code ----------------------------------------------------------

    @property
    def source(self) -> str:
        """The generated module's text (for the last argument kinds used; before any call,
        for float scalar arguments)."""
        if self._last_source is None:
            hidden = self._live_values()
            self._build(tuple(FLOAT for _ in self.params) + self._kinds_of_hidden(hidden))
        return self._last_source

    def _kinds_of_hidden(self, values: tuple) -> tuple[Kind, ...]:
        return self._kinds([1.0] * self._nuser + list(values))[self._nuser :]

    def compiled_for(self, /, *args: Any, **kwargs: Any) -> Callable:
        """A numba dispatcher of the gradient for arguments like these, to call from your
        own `numba.njit` functions (or from Python, without a normal call's checks): it takes
        the function's own arguments positionally and returns what a call returns (one
        gradient for one wrt, a tuple for a tuple wrt; value_and_grad: (value, gradients)).
        Always numba-compiled (array code and backend="python" too); the module-level values
        the function reads are bound as of this call (call it again after they change). See
        numba_call.py; raises an ADCompilerError for what numba cannot take or compile."""
        from .numba_call import compiled_for  # (imports numba)

        return compiled_for(self, args, kwargs)

    def source_for(self, /, *args: Any, **kwargs: Any) -> str:
        """The generated module's text for arguments like these."""
        values = self._bind(args, kwargs)
        if any(map(is_structured, values)):
            return self._structured.source_for(values)
        values += list(self._live_values())
        return self._build(self._kinds(values))[1]

    # -- pickling --------------------------------------------------------------------------

    def __reduce__(self) -> tuple:
        """Pickled as what rebuilds it (pickling.py): its class, function, wrt and options,
        never its compiled code, which the copy loads from the on-disk cache."""
        cls = next(
            c
            for c in type(self).__mro__
            if not c.__dict__.get("fast_path") and c is not _LiveGradFunction
        )
        wrt = self.wrt[0] if self._single else self.wrt
        return pickling.reduce_transform(self, cls, wrt, self._options())

    def _options(self) -> dict:
        """The constructor's arguments after the function and wrt."""
        return {
            "backend": self.backend,
            "with_value": self.with_value,
            "optimize": self.optimize,
            "layouts": self._entry_spec.layouts,
            "has_aux": self.has_aux,
            "checkpoint": self.checkpoint,
        }

    def __repr__(self) -> str:
        what = "value_and_grad" if self.with_value else "grad"
        return f"<{what} of {self.__name__} wrt {self.wrt} ({self.backend})>"


class _LiveGradFunction(GradFunction):
    """The gradient of a function that reads module-level numbers or arrays (or a helper
    does): each call reads their current values, as Python would, and passes them to the
    compiled program after the arguments. (Functions that read none keep the plain call.)"""

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != self._nuser or self._keywords_only:
            args = tuple(self._bind(args, kwargs))
        return self._call_live(args)
