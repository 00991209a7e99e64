"""Numba implementations of runtime_ints.py's checked int arithmetic (int_powers.py,
int_checks.py), registered when :mod:`ad_compiler.runtime_numba` is imported."""

from numba import types
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler import runtime_ints
from ad_compiler.runtime_numba import _implements, compiled_as_written

register_jitable(runtime_ints._times)  # (called by scalar_int_power)
_scalar_int_power = register_jitable(runtime_ints.scalar_int_power)
_array_int_power = register_jitable(runtime_ints.array_int_power)


@_implements(rt.int_power)
def _int_power_ov(a, b):
    if isinstance(a, types.Array) or isinstance(b, types.Array):
        return lambda a, b: _array_int_power(a, b)
    return lambda a, b: _scalar_int_power(a, b)


for _name in (
    "int_add",
    "int_sub",
    "int_mul",
    "int_neg",
    "int_floordiv",
    "int_mod",
    "int_of",
    "small_int",
):
    _implements(getattr(rt, _name))(compiled_as_written(getattr(runtime_ints, _name)))
