"""Numba implementations of runtime_bounds.py: the same Python functions, compiled."""

import numpy as np
from numba import njit, types

from ad_compiler import runtime_bounds as rb
from ad_compiler.runtime_numba import _implements

# An out-of-range index raises inline: calling a separately compiled function to raise (to
# compile the message once) kept LLVM from optimizing the loops around each check (the GMM
# loops' gradient took 2.8x as long); the message is compiled per signature instead.


@_implements(rb._raise)
def _raise_ov(index, axis, size, where):
    return rb._raise


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
    # The extremes are computed here, without allocating (a check may sit in a loop that runs
    # often: a table allocated per call tripled the GMM loops' gradient); the table goes to the
    # cached function only when an index is out of range, to find and report it.
    def impl(x, axis, offset, terms, where):
        size = x.shape[axis]
        low = high = offset
        for coef, r in terms:
            trips = rb._trips(r.start, r.stop, r.step)
            if trips == 0:
                return
            first, last = coef * r.start, coef * (r.start + (trips - 1) * r.step)
            low += min(first, last)
            high += max(first, last)
        if low < -size or high >= size:
            table = np.empty((len(terms), 4), np.int64)
            k = 0
            for coef, r in terms:  # (numba: no enumerate over a tuple of tuples)
                table[k, 0] = coef
                table[k, 1] = r.start
                table[k, 2] = r.stop
                table[k, 3] = r.step
                k += 1  # noqa: SIM113
            _check_table(size, axis, offset, table, where)

    return impl


@_implements(rb.check_index_array)
def _check_index_array_ov(x, axis, indices, where):
    return rb.check_index_array


@_implements(rb.check_mask)
def _check_mask_ov(x, axis, mask, where):
    return rb.check_mask
