"""scipy.signal.convolve (in1, in2, mode='full' | 'valid' | 'same') on 1-D and 2-D arrays.

The adjoint of a full convolution y = a * b is a valid correlation: a_bar =
convolve(g, flip(b), 'valid'), b_bar likewise; for 'valid' and 'same' the upstream gradient
is first placed where that output sits inside the full one (rt.convolve_grad).
scipy.linalg functions have no rules yet: loading this module for them changes nothing.
"""

from __future__ import annotations

import scipy.signal

from ..errors import KindError
from ..ir import Kind
from . import CallSpec, Rule, bind_call, register

_MODES = ("full", "valid", "same")


def _infer_convolve(kinds, attrs) -> Kind:
    mode = attrs.get("mode")
    if mode not in _MODES:
        raise KindError(
            f"scipy.signal.convolve with mode={mode!r}", "use 'full', 'valid' or 'same'"
        )
    if attrs.get("method") not in ("auto", "direct", "fft"):
        raise KindError(f"scipy.signal.convolve with method={attrs.get('method')!r}")
    a, b = kinds
    if a.ndim is None or b.ndim is None:
        return Kind(None, "float")
    if a.ndim != b.ndim or a.ndim not in (1, 2):
        raise KindError(
            f"scipy.signal.convolve of arrays of {a.ndim} and {b.ndim} dimensions",
            "convolve two 1-D or two 2-D arrays",
        )
    return Kind(a.ndim, "float")


def _convolve_vjp(b, stmt) -> tuple:
    mode = stmt.attr("mode")
    first, second = stmt.args
    return (
        b.emit("convolve_grad", b.g, first, second, mode=mode, which=0) if b.needs(0) else None,
        b.emit("convolve_grad", b.g, first, second, mode=mode, which=1) if b.needs(1) else None,
    )


register(
    Rule(
        "convolve",
        "rt.convolve({0}, {1}, {mode!r})",
        _infer_convolve,
        _convolve_vjp,
        cheap=False,
    )
)
register(
    Rule(
        "convolve_grad",
        "rt.convolve_grad({0}, {1}, {2}, {mode!r}, {which})",
        lambda kinds, attrs: Kind(kinds[1 + attrs["which"]].ndim, "float"),
        cheap=False,
    )
)
bind_call(
    scipy.signal.convolve,
    CallSpec(
        "convolve",
        ("in1", "in2"),
        {"mode": "full", "method": "auto"},
        name="scipy.signal.convolve",
        array_like=("in1", "in2"),
    ),
)
