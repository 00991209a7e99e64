"""ad_compiler: source-to-source reverse-mode automatic differentiation for Python and NumPy.

It reads an ordinary numeric function's source (floats, NumPy arrays, loops, branches, calls
to your own helpers), generates the gradient program a person can follow (`g.source`) and
compiles it with numba. Start with help(grad); the README lists what is differentiated.

>>> import numpy as np
>>> from ad_compiler import grad
>>> @grad(wrt=("w", "x"))
... def neuron(w, x):
...     return 1.0 / (1.0 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
>>> dw, dx = neuron(np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))
>>> np.round(dw, 6), np.round(dx, 6)
(array([-0.196612, -0.393224,  0.196612]), array([ 0.393224, -0.589836]))
"""

from ._version import __version__ as __version__
from .checking import check_grad, numerical_grad
from .custom import custom_vjp, stop_gradient
from .entry_points import grad, value_and_grad
from .errors import (
    ADCompilerError,
    CompilationError,
    GradientInputError,
    NoGradientRuleError,
    NonScalarOutputError,
    UnsupportedSyntaxError,
)
from .forward import hvp, jvp
from .matrices import hessian, jacobian
from .trace import trace
from .vjp import vjp

__all__ = [
    "ADCompilerError",
    "CompilationError",
    "GradientInputError",
    "NoGradientRuleError",
    "NonScalarOutputError",
    "UnsupportedSyntaxError",
    "check_grad",
    "custom_vjp",
    "grad",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "numerical_grad",
    "stop_gradient",
    "trace",
    "value_and_grad",
    "vjp",
]
