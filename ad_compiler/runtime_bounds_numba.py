"""Numba implementations of runtime_bounds.py: the same Python functions, compiled."""

from numba import types

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
    # (Raising the exception with the loops' ranges from here instead, for Python to search,
    # compiled faster but made the GMM loops' gradient 1.35x slower per call: LLVM inlined
    # the raise into the checks and optimized the loops around them less.)
    return rb._first_failure


@_implements(rb.check_index)
def _check_index_ov(x, axis, index, where):
    return rb.check_index


@_implements(rb._trips)
def _trips_ov(start, stop, step):
    return rb._trips


@_implements(rb.check_indices)
def _check_indices_ov(x, axis, offset, terms, where):
    # Compiled inline, failure path included: a call out to a separately compiled function
    # (a table of the loops to one cached checker) kept LLVM from optimizing the loops around
    # a check, which cost the GMM loops' gradient 2.8x per call.
    return rb.check_indices


@_implements(rb.check_index_array)
def _check_index_array_ov(x, axis, indices, where):
    return rb.check_index_array


@_implements(rb.check_mask)
def _check_mask_ov(x, axis, mask, where):
    return rb.check_mask


@_implements(rb.extent)
def _extent_ov(x):
    return rb.extent


@_implements(rb.overlap)
def _overlap_ov(a, b):
    return rb.overlap


@_implements(rb.check_apart)
def _check_apart_ov(a, b, message):
    def check_apart(a, b, message):
        if rb.overlap(a, b):
            raise rb.GradientInputError(message)

    return check_apart


@_implements(rb.check_writeable)
def _check_writeable_ov(x, message):
    if isinstance(x, types.Array) and not x.mutable:  # (numba types read-only arrays apart)

        def refuse(x, message):
            raise ValueError(message)

        return refuse
    return lambda x, message: None
