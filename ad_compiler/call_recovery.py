"""What a gradient's call does when its program raises (mixed into GradFunction, api.py):
numba's program promoted by a tier-up that cannot take these arguments goes back to the NumPy
program; numba's damaged cached machine code is compiled anew; an int past int64 (an argument,
or a sum int_checks.py caught) runs the NumPy program with Python's ints; numba's own failures
are named, with the rewrite (backend='python')."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import aux, fastcall
from . import compile as compiler
from .errors import CompilationError, raised_by_numba, raised_in
from .kinds import refuse_foreign_byte_order
from .runtime_ints import BigIntArgument, Int64Overflow


class CallRecovery:
    """The recovery paths of GradFunction._call_bound."""

    def _failed(self, exc: Exception, key: tuple, args: tuple) -> Any:
        """A call raised: recover from damaged cached machine code, name numba's failures."""
        numpy_program = self._numpy_before_promotion(key)
        if numpy_program is not None and _numba_cannot_take(
            exc, lambda: self._writes_into_arguments(args)
        ):
            # numba's program, promoted by a tier-up, cannot take these arguments (an array of
            # another layout, say): back to the NumPy program, which can (for good: numba
            # would try to compile again on every such call)
            with self._lock:
                function, shaping = self._dispatch[key]
                if function is not numpy_program:  # (not demoted by another thread already)
                    self._dispatch[key] = (numpy_program, shaping)
                    self._install_fast_path()
            return shaping(numpy_program(*args), args)
        if _from_numba_cache(exc) and not getattr(self, "_recovered", False):
            # numba's cached machine code for this module is damaged: drop it, compile anew.
            self._recovered = True
            self._recompile(key)
            return self._call_bound(args)
        beyond = isinstance(exc, BigIntArgument) or (
            isinstance(exc, Int64Overflow) and not self._writes_into_arguments(args)
        )
        if self.backend == "numba" and (beyond or any(map(_beyond_int64, args))):
            # numba's ints are int64 (its checked arithmetic raised, int_checks.py), or a
            # Python int is bigger: the NumPy program computes with Python's ints, as Python
            return self._with_python_ints(key, args)
        if self.backend == "numba" and raised_by_numba(exc):
            refuse_foreign_byte_order(self.params, args, self.__name__)
            raise CompilationError(
                f"numba could not compile the gradient of {self.__name__}: "
                f"{(str(exc).splitlines() or [type(exc).__name__])[0]}; try backend='python' to "
                "run it without "
                "numba (.source shows the generated code)"
            ) from exc
        raise exc

    def _with_python_ints(self, key: tuple, args: tuple) -> Any:
        """The NumPy program's result (numba still serves the calls whose ints fit)."""
        shaping = aux.unpacker(self) if self.has_aux else self._unpack
        program = self._numpy_before_promotion(key)
        if program is None:
            with self._lock:  # (built once per signature)
                programs = self.__dict__.setdefault("_with_python_ints_programs", {})
                if key not in programs:
                    programs[key] = self._compile(self._kinds(args), backend="python")[0]
                program = programs[key]
        return shaping(program(*args), args)

    def _numpy_before_promotion(self, key: tuple) -> Callable | None:
        """The NumPy program a tier-up replaced for dispatch key `key`, if it did."""
        promoted = self.__dict__.get("_promoted_from")
        return promoted.get(key) if promoted else None

    def _recompile(self, key: tuple) -> None:
        for built_key, (_, source) in list(self._builds.items()):
            compiler.forget_compiled(source)
            function = compiler.load(source, compiler.function_name(source), fresh=True)
            self._builds[built_key] = (function, source)
        self._dispatch.clear()
        self.__dict__.pop("_promoted_from", None)
        fastcall.uninstall(self, self._plain_class())


def _numba_cannot_take(exc: BaseException, writes_into_arguments: Callable[[], bool]) -> bool:
    """Whether numba's program failed for want of support for these arguments: numba could not
    type them (before running anything), or its reshape could not take an array of their layout
    (NotImplementedError, possibly midway: only when the function writes into no argument, so
    that running the NumPy program next repeats nothing)."""
    if type(exc).__module__.startswith("numba"):
        return True
    return isinstance(exc, NotImplementedError) and not writes_into_arguments()


def _beyond_int64(value: Any) -> bool:
    return type(value) is int and not -(2**63) <= value < 2**63


def _from_numba_cache(exc: BaseException) -> bool:
    """Whether an exception was raised while numba loaded cached machine code."""
    return raised_in(exc, "numba/core/caching.py")
