"""Stencils in fused loops: slices of one adjoint array at constant offsets.

`x_bar[:-1] += a; x_bar[1:] += b` in one fused loop adds into the same elements from two
iterations. The loop then adds into `x_bar[i + c]` directly, loop_carry.py keeps the shares
still pending in registers (each element is stored once), and fresh_adjoint.py drops the
zero-fill when the loop provably writes every element.
"""

from __future__ import annotations

from .ir import Assign, Const


def slice_start(s: Assign) -> int | None:
    """c when `s` adds into `base[c:...]` with step 1 and c a constant >= 0: element i of the
    slice is then base[c + i] whatever the base's length (None for a start counted from the
    end, or not known when the program is generated)."""
    ((_, lower, upper, step),) = s.attr("index")
    bounds = list(s.args[2:])
    start = bounds.pop(0) if lower else Const(0)
    if upper:
        bounds.pop(0)
    if step and bounds[0] != Const(1):
        return None
    if isinstance(start, Const) and type(start.value) is int and start.value >= 0:
        return start.value
    return None


def slice_cut(s: Assign) -> int | None:
    """c + m when `s` adds into `base[c:-m]` (or `base[c:]`, m = 0) with constants c >= 0,
    m > 0 and step 1: the slice then has len(base) - c - m elements when that is positive."""
    start = slice_start(s)
    ((_, lower, upper, step),) = s.attr("index")
    if start is None or step:
        return None
    if not upper:
        return start
    stop = s.args[3] if lower else s.args[2]
    if isinstance(stop, Const) and type(stop.value) is int and stop.value < 0:
        return start - stop.value
    return None


def stencil_bases(group: list[Assign]) -> dict[str, set[int]]:
    """The 1-D arrays the group adds into through slices at two or more constant offsets
    (`x_bar[:-1] += a; x_bar[1:] += b`): each element then gets sums from two iterations."""
    offsets: dict[str, set[int | None]] = {}
    for s in group:
        if s.op == "index_add":
            offsets.setdefault(s.args[0].name, set()).add(slice_start(s))
    return {b: cs for b, cs in offsets.items() if None not in cs and len(cs) > 1}
