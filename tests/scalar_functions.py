"""Plain scalar Python functions covering the scalar language ad_compiler differentiates.

Every function here is ordinary Python: it runs as written, so central differences of the
function itself give the expected gradients. tests/test_scalar.py holds the table of argument
values (chosen away from kinks and domain edges, and on both sides of every branch).
"""

import math

import numpy as np

SCALE = 2.5
OFFSET = -1
THRESHOLD = 0.5
HALF = 0.5


# -- the lecture -------------------------------------------------------------------------------


def circuit(x, y, z):
    """Lecture section 1: f = (x + y) z."""
    q = x + y
    f = q * z
    return f


def neuron(w0, w1, w2, x0, x1):
    """Lecture section 2: the sigmoid neuron, gate by gate."""
    dot = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + math.exp(-dot))


def neuron_array(w, x):
    """The sigmoid neuron with w and x as NumPy arrays."""
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    return 1.0 / (1.0 + np.exp(-dot))


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def neuron_with_helper(w0, w1, w2, x0, x1):
    """The neuron with the sigmoid gate as one helper (the lecture's shortcut)."""
    return sigmoid(w0 * x0 + w1 * x1 + w2)


# -- arithmetic --------------------------------------------------------------------------------


def arithmetic(x, y):
    return x + y - x * y + x / y - y / x + (x - y) * (x + y)


def integer_powers(x):
    return x**2 + x**3 - 2 * x**-1 + x**-2 + x**0 + x**1


def float_powers(x, y):
    return x**0.5 + x**1.5 + y**2.0 + x**-0.25 + 2.0**x + 3**y


def variable_powers(x, y):
    return x**y + y**x + (x + y) ** (x * y)


def unary_minus(x, y):
    a = -x
    b = -(y - x)
    return a * b + -a * -b + (-x) ** 2 - -y


def constants(x, y):
    return SCALE * x + OFFSET * y + 3.0 * x * y + 4 + math.pi * x - math.e * y * y + np.pi * HALF


def reassigned(x, y):
    t = x * y
    t = t + x
    t = t * t
    t = math.sin(t)
    u = t
    t = t * y
    return t + u + y


def augmented(x, y):
    a = x
    a += y
    a *= x
    a -= y * y
    a /= 1.0 + x * x
    a **= 2
    b = y
    b += 1
    b *= 2.0
    return a + b * x


def tuple_assignment(x, y):
    a, b = x, y
    a, b = b, a + b
    a, b = b, a + b
    a, b = b, a * b
    return a - 2.0 * b


def conditional_expression(x, y):
    t = x * y if x > y else x + y * y
    return t * (x if t > 1.0 else y)


# -- elementary functions ----------------------------------------------------------------------


def math_exp_log(x):
    return math.exp(x) + math.log(x) + math.log1p(x) + math.expm1(x) + math.sqrt(x)


def np_exp_log(x):
    return np.exp(x) * np.log(x) + np.log1p(x) * np.expm1(x) + np.sqrt(x)


def math_trig(x):
    return math.sin(x) * math.cos(x) + math.tan(x)


def np_trig(x, y):
    return np.sin(x * y) + np.cos(x) * np.tan(y)


def math_inverse_trig(x):
    return math.asin(x) + x * math.acos(x) + math.atan(x)


def np_inverse_trig(x, y):
    return np.arcsin(x * y) + np.arccos(x) + np.arctan(y)


def hyperbolic(x):
    return math.sinh(x) + math.cosh(x) * math.tanh(x) + np.sinh(x) * np.cosh(x) - np.tanh(x)


def fabs_and_pow(x, y):
    return math.fabs(x) * y + math.pow(x, 3) + math.pow(y, x) + pow(y, 2.5) + pow(x, 2) + np.fabs(y)


def two_argument_functions(x, y):
    return math.hypot(x, y) + math.atan2(y, x) + np.hypot(x, y) * np.arctan2(x, y)


def builtin_abs_min_max(x, y, z):
    return abs(x) * min(x, y) + max(y, z) + max(x, y, z) * min(x, y, z) + abs(y - z)


def mod_and_floordiv(x, y):
    return x % y + (x // y) * y + (x * x) % 3.0 + x // 2.0 + 7.0 % y


# -- helpers -----------------------------------------------------------------------------------


def square(u):
    return u * u


def poly(u, a=1.0, b=0.0):
    """A helper calling a helper, with defaults."""
    return a * square(u) + b * u + OFFSET


def polar(x, y):
    """A helper returning a tuple."""
    return math.hypot(x, y), math.atan2(y, x)


def uses_helpers(x, y):
    r, theta = polar(x, y)
    return poly(r, b=y) + poly(theta, 2.0) + square(x) + poly(u=y, a=x)


# -- branches ----------------------------------------------------------------------------------


def piecewise(x):
    if x < -1.0:
        y = x * x
    elif x < 1.0:
        y = math.sin(x) + 1.0
    else:
        y = math.exp(x - 1.0) * 2.0
    return y * x


def nested_branches(x, y):
    if x > 0:
        if y > THRESHOLD:
            r = x * y
        else:
            r = x - y * y
    else:
        r = math.exp(x) * y
        if y < 0:
            r = r * r
    return r + x


def boolean_conditions(x, y):
    if x > 0 and y > 0:
        return math.log(x * y)
    if x > 0 or y > 0:
        return x * y
    return x + y


def several_returns(x, y):
    if x > 2.0:
        return x * y
    if y > 0:
        return y * y - x
    return x + 3.0 * y


# -- loops -------------------------------------------------------------------------------------


def loop_range(x, n):
    s = 0.0
    for i in range(n):
        s = s + x**i / (i + 1)
    return s


def loop_range_step(x, y, n):
    s = y
    for i in range(1, n, 2):
        s = s * x + i * y
    return s


def loop_fibonacci(x, y, n):
    a, b = x, y
    for _ in range(n):
        a, b = b, a + b * x
    return b


def loop_while(x):
    t = x
    k = 0
    while k < 5:
        t = math.sin(t) + x
        k += 1
    return t


def loop_while_condition(x):
    t = 1.0
    while t < 20.0:
        t = t * x
    return t + x
