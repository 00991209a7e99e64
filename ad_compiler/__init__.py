"""ad_compiler: source-to-source reverse-mode automatic differentiation for Python and NumPy."""

from .api import grad, value_and_grad
from .checking import check_grad, numerical_grad
from .custom import custom_vjp, stop_gradient
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
__version__ = "0.1.0"
