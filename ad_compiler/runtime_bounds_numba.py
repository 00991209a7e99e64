"""Numba implementations of runtime_bounds.py: the same Python functions, compiled."""

import numpy as np
from numba import njit, types

from ad_compiler import runtime_bounds as rb
from ad_compiler.runtime_numba import _implements

# The message (str of ints, concatenation) is the costly part to compile: one function of one
# signature, compiled once and then loaded from numba's cache, instead of once per array type,
# axis and source line of every check of every gradient built in a new process.
_raise_compiled = njit(
    types.void(types.int64, types.int64, types.int64, types.unicode_type), cache=True
)(rb._raise)


@_implements(rb._raise)
def _raise_ov(index, axis, size, where):
    def impl(index, axis, size, where):
        _raise_compiled(index, axis, size, where)

    return impl


@_implements(rb._first_failure)
def _first_failure_ov(size, axis, offset, terms, where):
    return rb._first_failure


@_implements(rb.check_index)
def _check_index_ov(x, axis, index, where):
    return rb.check_index


@_implements(rb._trips)
def _trips_ov(start, stop, step):
    return rb._trips


@_implements(rb._first_failure_in_table)
def _first_failure_in_table_ov(size, axis, offset, table, where):
    return rb._first_failure_in_table


_check_table = njit(
    types.void(types.int64, types.int64, types.int64, types.int64[:, ::1], types.unicode_type),
    cache=True,
)(rb.check_table)


@_implements(rb.check_indices)
def _check_indices_ov(x, axis, offset, terms, where):
    # Only the loops' table is made here, per signature (cheap to compile); the checking is
    # the one cached function above (compiling it per signature cost seconds per gradient).
    def impl(x, axis, offset, terms, where):
        table = np.empty((len(terms), 4), np.int64)
        k = 0
        for coef, r in terms:  # (numba: no enumerate over a tuple of tuples)
            table[k, 0] = coef
            table[k, 1] = r.start
            table[k, 2] = r.stop
            table[k, 3] = r.step
            k += 1  # noqa: SIM113
        _check_table(x.shape[axis], axis, offset, table, where)

    return impl


@_implements(rb.check_index_array)
def _check_index_array_ov(x, axis, indices, where):
    return rb.check_index_array


@_implements(rb.check_mask)
def _check_mask_ov(x, axis, mask, where):
    return rb.check_mask
