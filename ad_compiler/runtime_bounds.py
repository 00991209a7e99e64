"""Index checks of generated numba code (bounds.py places them): numba, unlike NumPy, reads and
writes past the end of an array without a word. Each helper raises IndexError with NumPy's
message and the source line (`where`) when an index is outside [-size, size) of its axis.
Plain Python, so that numba compiles the same functions (runtime_bounds_numba.py).

`check_apart` is the check of argument_overlap.py: two arguments that may share memory when the
function changes one of them in place."""

import numpy as np

from ad_compiler.errors import GradientInputError


class IndexOutOfBounds(IndexError):
    """NumPy's IndexError for an index out of range, with the source line. numba raises it with
    the numbers, IndexOutOfBounds(index, axis, size, where), and Python writes the message
    (numba compiling `str()` of ints into every check took seconds of a gradient's compile).
    Its args are then the message alone, as NumPy's: `type(e)(f"batch 3: {e}")` works."""

    def __init__(self, *args) -> None:
        if len(args) == 4:
            index, axis, size, where = args
            args = (f"index {index} is out of bounds for axis {axis} with size {size} ({where})",)
        super().__init__(*args)


class BooleanIndexMismatch(IndexError):
    """NumPy's IndexError for a boolean index of another shape, raised by numba as
    BooleanIndexMismatch(axis, size, mask_size, where)."""

    def __init__(self, *args) -> None:
        if len(args) == 4:
            axis, size, mask_size, where = args
            args = (
                f"boolean index did not match indexed array along axis {axis}; size of axis is "
                f"{size} but size of corresponding boolean axis is {mask_size} ({where})",
            )
        super().__init__(*args)


def _raise(index, axis, size, where):
    raise IndexOutOfBounds(index, axis, size, where)


def check_index(x, axis, index, where):
    """x[..., index, ...] along `axis`."""
    size = x.shape[axis]
    if index < -size or index >= size:
        _raise(index, axis, size, where)


def check_indices(x, axis, offset, terms, where):
    """Every index `offset + sum(coef * i)` that nested loops give, each (coef, range) of
    `terms` a loop, outermost first. The index is monotone in each loop index, so its extremes
    are at the first or last iteration of each loop: two comparisons, whatever the trip
    counts (nothing is read when a loop runs no iteration). Steps of 1 and -1 take no
    division: this runs before inner loops too."""
    size = x.shape[axis]
    low = offset
    high = offset
    for coef, r in terms:
        start, stop, step = r.start, r.stop, r.step
        if step == 1:
            if stop <= start:
                return
            last = stop - 1
        elif step == -1:
            if stop >= start:
                return
            last = stop + 1
        else:
            if len(r) == 0:
                return
            last = start + (len(r) - 1) * step
        first, last = coef * start, coef * last
        low += min(first, last)
        high += max(first, last)
    if low < -size or high >= size:
        _first_failure(size, axis, offset, terms, where)  # (not x: that would cost a reference)


def _first_failure(size, axis, offset, terms, where):
    """Raise for the first index out of bounds in the loops' order, the one Python would meet."""
    total = 1
    for _, r in terms:
        total *= len(r)
    for k in range(total):
        index = offset
        rest = k
        for t in range(len(terms) - 1, -1, -1):  # innermost loop varies fastest
            coef, r = terms[t]
            index += coef * (r.start + rest % len(r) * r.step)
            rest //= len(r)
        if index < -size or index >= size:
            _raise(index, axis, size, where)


def _trips(start, stop, step):
    """len(range(start, stop, step))."""
    if step > 0:
        return (stop - start + step - 1) // step if stop > start else 0
    return (start - stop - step - 1) // -step if start > stop else 0


def check_index_array(x, axis, indices, where):
    """x[..., indices, ...] along `axis` with an integer array of indices."""
    size = x.shape[axis]
    if indices.size and (indices.min() < -size or indices.max() >= size):
        for index in indices.ravel():
            if index < -size or index >= size:
                _raise(index, axis, size, where)


def check_mask(x, axis, mask, where):
    """x[..., mask, ...]: a boolean array of indices has the shape of the axes it selects."""
    for d in range(mask.ndim):
        if axis + d >= x.ndim or mask.shape[d] != x.shape[axis + d]:
            size = x.shape[axis + d] if axis + d < x.ndim else 0
            raise BooleanIndexMismatch(axis + d, size, mask.shape[d], where)


def check_apart(a, b, message):
    """Raise GradientInputError(message) when arrays a and b may share memory."""
    if np.may_share_memory(a, b):
        raise GradientInputError(message)


def check_writeable(x, message):
    """Raise ValueError(message) when x is a read-only array (NumPy would not write into it)."""
    if not x.flags.writeable:
        raise ValueError(message)


def extent(x):
    """The first and one-past-the-last byte addresses x's elements occupy (numba)."""
    low = high = np.intp(x.ctypes.data)
    for axis in range(x.ndim):
        step = (x.shape[axis] - 1) * x.strides[axis]
        if step < 0:
            low += step
        else:
            high += step
    return low, high + x.itemsize


def overlap(a, b):
    """np.may_share_memory for numba: whether the two arrays' extents overlap."""
    if a.size == 0 or b.size == 0:
        return False
    a_low, a_high = extent(a)
    b_low, b_high = extent(b)
    return a_low < b_high and b_low < a_high
