"""autograd as a second, independent oracle for the fuzzer's programs (tests/fuzz_programs.py).

The program is run as written, with its module's `np` replaced by `autograd.numpy` and `math`
by the same functions of autograd.numpy (a module-level substitution: the functions look their
globals up at call time), and differentiated by `autograd.grad`. The rendering for autograd
(`Program.source(AUTOGRAD)`) only respells what autograd's boxes lack (`.copy()`, `.dot()`, `//`,
`np.arange` of a box, `np.full_like`, whose gradient autograd drops). Programs that write into
arrays are not given to it (autograd cannot run them); the harness decides that.
"""

from __future__ import annotations

import math
import types
import warnings

import fuzz_structures as fs
import numpy as np

try:
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special as aspecial
except ImportError:  # pragma: no cover - autograd is in the test extra
    autograd = None

if autograd is not None:
    MATH = types.SimpleNamespace(
        tanh=anp.tanh, sin=anp.sin, cos=anp.cos, tan=anp.tan, exp=anp.exp, log=anp.log,
        sqrt=anp.sqrt, atan=anp.arctan, asinh=anp.arcsinh, sinh=anp.sinh, cosh=anp.cosh,
        log1p=anp.log1p, expm1=anp.expm1, hypot=anp.hypot, atan2=anp.arctan2,
        erf=aspecial.erf, pow=anp.power, fabs=anp.abs, pi=math.pi, e=math.e)


def available() -> bool:
    return autograd is not None


def gradients(source: str, main: str, args: list, positions: list[int],
              constants: tuple = ()) -> tuple:
    """autograd's gradient of `main` (defined by source) for each argument position."""
    namespace: dict = {"__name__": "fuzz_autograd_program"}
    exec(compile(source, "<fuzz program, autograd>", "exec"), namespace)  # noqa: S102
    namespace.update(np=anp, math=MATH)
    namespace.update(constants)
    fn = namespace[main]
    out = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for position in positions:
            copies = [fs.copy_value(a) for a in args]
            g = autograd.grad(fn, position)(*copies)
            if fs.is_struct(g):  # a structured argument: compared leaf by leaf (fs.flat)
                out.append(g)
            else:
                out.append(float(g) if np.ndim(g) == 0 else np.asarray(g, dtype=float))
    return tuple(out)
