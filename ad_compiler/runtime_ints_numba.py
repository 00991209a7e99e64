"""Numba implementations of runtime_ints.py's checked int arithmetic (int_powers.py,
int_checks.py), registered when :mod:`ad_compiler.runtime_numba` is imported."""

from numba import types
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler import runtime_ints
from ad_compiler.runtime_numba import _implements

register_jitable(runtime_ints._times)  # (called by scalar_int_power)
_scalar_int_power = register_jitable(runtime_ints.scalar_int_power)
_array_int_power = register_jitable(runtime_ints.array_int_power)
_int_add = register_jitable(runtime_ints.int_add)
_int_sub = register_jitable(runtime_ints.int_sub)
_int_mul = register_jitable(runtime_ints.int_mul)
_int_neg = register_jitable(runtime_ints.int_neg)
_int_of = register_jitable(runtime_ints.int_of)
_small_int = register_jitable(runtime_ints.small_int)


@_implements(rt.int_power)
def _int_power_ov(a, b):
    if isinstance(a, types.Array) or isinstance(b, types.Array):
        return lambda a, b: _array_int_power(a, b)
    return lambda a, b: _scalar_int_power(a, b)


@_implements(rt.int_add)
def _int_add_ov(a, b):
    return lambda a, b: _int_add(a, b)


@_implements(rt.int_sub)
def _int_sub_ov(a, b):
    return lambda a, b: _int_sub(a, b)


@_implements(rt.int_mul)
def _int_mul_ov(a, b):
    return lambda a, b: _int_mul(a, b)


@_implements(rt.int_neg)
def _int_neg_ov(a):
    return lambda a: _int_neg(a)


@_implements(rt.int_of)
def _int_of_ov(x):
    return lambda x: _int_of(x)


@_implements(rt.small_int)
def _small_int_ov(a):
    return lambda a: _small_int(a)
