"""int ** int (int_powers.py) and scalar int +, -, * (int_checks.py) in numba programs:
CPython's answer or an error, never numba's wrapped int64. The same code runs in CPython and,
through runtime_ints_numba.py, in numba."""

import numpy as np

NEGATIVE_EXPONENT = (
    "an int raised to a negative int power (2 ** n with n < 0) is a float in Python, which "
    "numba's int power cannot give: write 2.0 ** n (a float base)"
)
OVERFLOW = (
    "an int ** int beyond int64 (Python's ints grow, numba's wrap around): write 2.0 ** n "
    "(a float base) where a float will do"
)
_MAX = 2**63 - 1
_MIN = -(2**63)
_SMALL = 2**31


class Int64Overflow(OverflowError):
    """An int result past int64 in a numba program (numba's would wrap around): the call runs
    the NumPy program instead, with Python's ints (api.py)."""


class BigIntArgument(Int64Overflow):
    """An int argument of 2**31 or more where the program's arithmetic assumes less: raised at
    entry, before the program writes anything, so the NumPy program can always run instead."""


def _times(x, y):
    """x * y, or OverflowError past int64 (a result of exactly -2**63 is refused too)."""
    if x == 0 or y == 0:
        return 0
    if x == 1:
        return y
    if y == 1:
        return x
    if x == _MIN or y == _MIN or abs(x) > _MAX // abs(y):
        raise Int64Overflow(OVERFLOW)
    return x * y


def scalar_int_power(a, b):
    """a ** b for ints by repeated squaring, checked at every product."""
    if b < 0:
        raise ValueError(NEGATIVE_EXPONENT)
    result = 1
    base = a * 1  # (a bool base counts as an int)
    while b:
        if b & 1:
            result = _times(result, base)
        b >>= 1
        if b:
            base = _times(base, base)
    return result


def array_int_power(a, b):
    """a ** b with an int array: NumPy's refusal of negative exponents, which numba lacks
    (it gives 0); past int64 NumPy wraps around, and so does numba."""
    if np.any(np.asarray(b) < 0):
        raise ValueError(NEGATIVE_EXPONENT)
    return a**b


def int_power(a, b):
    """``a ** b`` for whole numbers, without a wrong answer: see int_powers.py."""
    if np.ndim(a) or np.ndim(b):
        return array_int_power(a, b)
    return scalar_int_power(a, b)


INT_OVERFLOW = (
    "an int result beyond int64 (Python's ints grow, numba's wrap around): compute it as a "
    "float where a float will do (fact = fact * float(k))"
)
_ROUNDED_SAFE = 2.0**62  # |float(a) * float(b)| below this: the exact product fits int64


# The sums are tested before they are computed: numba adds int64s with LLVM's `add nsw`, for
# which a result past int64 is undefined, so LLVM may drop a test of the wrapped result (it did,
# where it knew both operands nonnegative).


def int_add(a, b):
    """a + b for scalar ints, or OverflowError past int64 (int_checks.py)."""
    a, b = a * 1, b * 1  # (a bool counts as an int)
    if (b > 0 and a > _MAX - b) or (b < 0 and a < _MIN - b):
        raise Int64Overflow(INT_OVERFLOW)
    r = a + b
    if not _MIN <= r <= _MAX:  # (CPython: an operand past int64 already)
        raise Int64Overflow(INT_OVERFLOW)
    return r


def int_sub(a, b):
    """a - b for scalar ints, or OverflowError past int64."""
    a, b = a * 1, b * 1
    if (b < 0 and a > _MAX + b) or (b > 0 and a < _MIN + b):
        raise Int64Overflow(INT_OVERFLOW)
    r = a - b
    if not _MIN <= r <= _MAX:
        raise Int64Overflow(INT_OVERFLOW)
    return r


def int_mul(a, b):
    """a * b for scalar ints, or OverflowError past int64: a float product tells at once
    when the exact one fits; near the limit, a division (which refuses a few products that
    fit, -2**63 among them: the NumPy program computes those)."""
    a, b = a * 1, b * 1
    if abs(float(a) * float(b)) < _ROUNDED_SAFE:
        return a * b
    if a == _MIN or b == _MIN or abs(a) > _MAX // max(abs(b), 1):
        raise Int64Overflow(INT_OVERFLOW)
    return a * b


def int_neg(a):
    """-a for a scalar int, or OverflowError for -(-2**63)."""
    a = a * 1
    if a == _MIN:
        raise Int64Overflow(INT_OVERFLOW)
    return -a


def int_floordiv(a, b):
    """a // b for scalar ints: ZeroDivisionError for b == 0, as Python (numba's int division
    by zero gives 0 under NumPy's error model)."""
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    if b == -1 and a == _MIN:  # (-2**63 // -1 is 2**63: past int64)
        raise Int64Overflow(INT_OVERFLOW)
    return a // b


def int_mod(a, b):
    """a % b for scalar ints: ZeroDivisionError for b == 0, as Python."""
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return a % b


def int_of(x):
    """int(x) of a float in numba code: CPython's value, or OverflowError past int64 (numba's
    conversion of such a float is undefined: 1.7e19 gave 17 mod 2**64), ValueError for NaN."""
    if x != x:
        raise ValueError("cannot convert float NaN to integer")
    if not -_FLOAT_LIMIT <= x < _FLOAT_LIMIT:
        raise Int64Overflow(INT_OVERFLOW)
    return int(x)


_FLOAT_LIMIT = 2.0**63


def small_int(a):
    """An int argument of a numba program, checked to be below 2**31 in magnitude: then the
    program's index arithmetic with it needs no checks (int_checks.py); a bigger one runs on
    the NumPy program."""
    if not -_SMALL < a < _SMALL:
        raise BigIntArgument(INT_OVERFLOW)
