"""Plain NumPy functions covering the array operations ad_compiler differentiates.

Every function here is ordinary Python/NumPy returning a float (through np.sum, np.mean, ... of
an array result): it runs as written, so central differences of the function itself give the
expected gradients. tests/test_arrays.py holds the table of argument values (chosen away from
kinks: no ties for max/min/maximum, no zeros for abs/sign, inside every domain).
"""

import math

import numpy as np

SCALE = 0.5


# -- elementwise arithmetic and the scalar functions on arrays ---------------------------------


def arithmetic(x, y):
    """+ - * / ** and unary minus, array with array (same shape)."""
    return np.sum(x * y + x / y - (x - y) ** 2 + -x * 3.0 + 2.0 / y - 1.0)


def numpy_arithmetic(x, y):
    """The ufunc spellings of the arithmetic operators."""
    s = np.add(x, y) * np.subtract(x, y)
    return np.sum(np.multiply(s, x) + np.divide(x, y) + np.negative(y) * np.true_divide(y, x))


def exp_log(x):
    """exp, log, log1p, expm1, log2, log10 (x > 0)."""
    return np.sum(np.exp(x) * np.log(x) + np.log1p(x) - np.expm1(-x) + np.log2(x) * np.log10(x))


def trig(x):
    """sin, cos, tan."""
    return np.sum(np.sin(x) * np.cos(2.0 * x) + np.tan(x) ** 2)


def inverse_trig(x):
    """arcsin, arccos, arctan (|x| < 1)."""
    return np.sum(np.arcsin(x) * np.arccos(x) + np.arctan(3.0 * x))


def hyperbolic(x):
    """sinh, cosh, tanh and their inverses (arccosh on 1 + x^2 > 1, arctanh on x / 2)."""
    a = np.sinh(x) * np.cosh(x) + np.tanh(x) ** 3
    return np.sum(a + np.arcsinh(x) + np.arccosh(1.0 + x * x) * np.arctanh(x / 2.0))


def sqrt_square_reciprocal(x):
    """sqrt, square, reciprocal (x > 0)."""
    return np.sum(np.sqrt(x) * np.square(x) + np.reciprocal(x + 1.0))


def abs_sign(x):
    """abs (also np.absolute) and sign: d/dx (|x| x) = 2|x|; sign has a zero gradient."""
    return np.sum(np.abs(x) * x + np.sign(x) * x ** 2 + np.absolute(x - 0.25))


def maximum_minimum(x, y):
    """np.maximum / np.minimum of two arrays and of an array and a number."""
    return np.sum(np.maximum(x, y) * np.minimum(x, y) + np.maximum(x, 0.0) ** 2
                  + np.minimum(-0.5, y) * x)


def where_select(x, y):
    """np.where with an array condition: each branch gets the gradient where it is chosen."""
    return np.sum(np.where(x > y, x * y, x - y ** 2) + np.where(x < 0.0, 0.0, x) * 2.0)


def clip_values(x):
    """np.clip and the .clip method: gradient 1 inside, 0 outside."""
    return np.sum(np.clip(x, -0.5, 0.75) * x + x.clip(-1.0, 1.0) ** 2)


def sign_only(x):
    """sign alone: zero gradient everywhere away from 0."""
    return np.sum(np.sign(x) * 3.0) + 0.0 * np.sum(x)


def powers(x, y):
    """** and np.power: integer, fractional and array exponents, array exponent of a number."""
    return np.sum(np.power(x, 3) + x ** y + np.power(2.0, x) + x ** 0.5 + np.power(x, y) * y)


def two_argument_functions(x, y):
    """np.hypot and np.arctan2 on arrays."""
    return np.sum(np.hypot(x, y) * np.arctan2(y, x))


def relu_squared(x):
    """np.maximum(x, 0), the ReLU."""
    return np.sum(np.maximum(x, 0.0) ** 2 + np.maximum(0.0, x - 0.5))


def sigmoid_layer(x):
    """The logistic sigmoid elementwise."""
    s = 1.0 / (1.0 + np.exp(-x))
    return np.sum(s * (1.0 - s))


# -- broadcasting ------------------------------------------------------------------------------


def scalar_with_array(x, s):
    """A float argument s broadcast against an array x, on either side of each operator."""
    return np.sum(s * x + x / s - s ** 2 * np.exp(x) + (s - x) ** 2 + np.maximum(x, s))


def column_with_row(a, b):
    """An (n, 1) array with a (1, m) array: the result is (n, m)."""
    return np.sum(np.tanh(a * b + a - b) + (a / (1.0 + b * b)))


def bias_row(X, b):
    """A 1-D bias row b (m,) added to every row of a batch X (n, m)."""
    return np.sum((X + b) ** 2 * np.sin(b))


def bias_row_2d(X, b):
    """A (1, m) bias row added to a batch X (n, m)."""
    return np.sum(np.tanh(X - b) * b)


def vector_with_matrix(v, A):
    """A 1-D vector (m,) with a 2-D matrix (n, m), on both sides of each operator."""
    return np.sum(v * A + A / (1.0 + v * v) - (v - A) ** 3)


def column_with_matrix(c, A):
    """A column (n, 1) with a matrix (n, m) and a scalar."""
    return np.sum(np.exp(A - c) * c * 0.5 + c)


# -- linear algebra ----------------------------------------------------------------------------


def matvec(A, x):
    """2-D @ 1-D."""
    return np.sum(np.sin(A @ x))


def vecmat(x, A):
    """1-D @ 2-D."""
    return np.sum(np.sin(x @ A))


def matmat(A, B):
    """2-D @ 2-D."""
    return np.sum(np.tanh(A @ B) * 2.0)


def vecvec(x, y):
    """1-D @ 1-D, an inner product (a number)."""
    return (x @ y) ** 2 + x @ x


def dot_all_forms(A, B, x, y):
    """np.dot in every 1-D/2-D combination; A (n, m), B (m, k), x (m,), y (n,)."""
    return (np.dot(x, x) + np.sum(np.dot(A, x) ** 2) + np.sum(np.sin(np.dot(y, A)))
            + np.sum(np.dot(A, B) ** 2))


def matmul_all_forms(A, B, x, y):
    """np.matmul in every 1-D/2-D combination; A (n, m), B (m, k), x (m,), y (n,)."""
    return (np.matmul(y, y) * 0.5 + np.sum(np.cos(np.matmul(A, x)))
            + np.sum(np.matmul(y, A) ** 2) + np.sum(np.exp(np.matmul(A, B))))


def dot_method(A, x):
    """The .dot method."""
    return np.sum(A.dot(x) ** 2) + x.dot(x)


def outer_product(x, y):
    """np.outer of two vectors."""
    return np.sum(np.outer(x, y) ** 2) + np.sum(np.sin(np.outer(y, x)) * np.outer(y, x ** 2))


def transposes(A, B):
    """.T, np.transpose and .transpose() on a non-square matrix."""
    return (np.sum(A.T @ B.T) + np.sum(np.transpose(A) ** 2 * B.T.T)
            + np.sum(A.transpose().T * B.T * A))


def gram_matrix(A):
    """A^T A: A used twice in one product."""
    return np.sum((A.T @ A) ** 2)


def reshape_method(x):
    """.reshape with separate sizes, a tuple, and -1 (x has 6 entries)."""
    a = x.reshape(2, 3)
    b = x.reshape((3, -1))
    c = a.reshape(-1)
    return np.sum(a @ b) + np.sum(np.sin(c) * x)


def reshape_function(A):
    """np.reshape with a tuple and with -1 (A has 6 entries)."""
    flat = np.reshape(A, -1)
    square = np.reshape(A, (-1, 2))
    return np.sum(flat ** 3) + np.sum(square.T @ square)


# -- reductions --------------------------------------------------------------------------------


def sum_reductions(A):
    """np.sum over everything and along each axis (negative too), keepdims or not."""
    total = np.sum(A)
    rows = np.sum(A, axis=1)
    cols = np.sum(A, axis=0, keepdims=True)
    last = np.sum(A, axis=-1, keepdims=True)
    first = np.sum(A, axis=-2)
    return total ** 2 + np.sum(rows ** 3) + np.sum(np.sin(cols)) + np.sum(last * A) + np.sum(
        first * first)


def mean_reductions(A):
    """np.mean over everything and along each axis, keepdims or not, and the method form."""
    centred = A - np.mean(A, axis=0, keepdims=True)
    return (np.mean(centred ** 2) + np.sum(np.mean(A, axis=1) ** 3)
            + np.sum(np.mean(A, axis=-1, keepdims=True) * A) + A.mean() ** 2)


def max_reductions(A):
    """np.max over everything and along each axis, keepdims or not (no ties)."""
    return (np.max(A) * 2.0 + np.sum(np.max(A, axis=0) ** 2)
            + np.sum(np.exp(A - np.max(A, axis=1, keepdims=True)))
            + np.sum(np.max(A, axis=-1)) + np.max(A, axis=-2, keepdims=True).sum())


def min_reductions(A):
    """np.min over everything and along each axis, keepdims or not (no ties)."""
    return (np.min(A) ** 2 + np.sum(np.min(A, axis=1) * 3.0)
            + np.sum(np.min(A, axis=0, keepdims=True) * A) + np.sum(np.min(A, axis=-1) ** 2)
            + np.min(A, axis=-2, keepdims=False).sum())


def reductions_1d(x):
    """Reductions of a 1-D array, with axis=0 / axis=-1 (a number) and keepdims (shape (1,))."""
    return (np.sum(x, axis=0) * np.max(x, axis=-1) + np.sum(np.min(x, keepdims=True) * x)
            + np.sum(np.mean(x, axis=0, keepdims=True) ** 2) + x.max() - x.min() + x.sum())


def reduction_methods(A):
    """The method forms .sum/.mean/.max/.min with axis= and keepdims=."""
    return (np.sum(A.sum(axis=0) ** 2) + np.sum(A.max(axis=1, keepdims=True) * A)
            + np.sum(A.min(axis=-1)) + A.mean(axis=0).sum() ** 2)


def reductions_3d(T):
    """Reductions of a 3-D array along the middle and outer axes."""
    return (np.sum(np.sum(T, axis=1) ** 2) + np.sum(np.max(T, axis=0, keepdims=True) * T)
            + np.sum(np.mean(T, axis=-1) ** 3) + np.sum(np.min(T, axis=2) ** 2))


def logsumexp(x):
    """log sum exp with the max subtraction trick."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def standardize(x):
    """(x - mean) / std: every entry depends on every other."""
    mu = np.mean(x)
    sd = np.sqrt(np.mean((x - mu) ** 2))
    z = (x - mu) / sd
    return np.sum(z ** 3 * np.array([0.3, -1.2, 2.0]))


# -- shapes and constructors -------------------------------------------------------------------


def shapes_and_sizes(A):
    """x.shape[k] (negative too), len(x) and x.size used as numbers."""
    n = A.shape[0]
    m = A.shape[1]
    last = A.shape[-1]
    return np.sum(A) / A.size + len(A) * np.sum(A[0]) / n + m * last * np.sum(A ** 2)


def constructors(x):
    """np.zeros/ones/eye/zeros_like/ones_like/full/arange carry no gradient (x has 3 entries)."""
    n = x.shape[0]
    z = np.zeros(n) + np.zeros_like(x)
    o = np.ones(n) * np.ones_like(x)
    e = np.eye(n)
    f = np.full(n, 2.0)
    r = np.arange(n)
    z2 = np.zeros((2, n))
    o2 = np.ones((n, 2))
    return (np.sum((x + z) * o * f) + np.sum(e @ x ** 2) + np.sum(r * x)
            + np.sum(z2 @ x) + np.sum(x @ o2) * 0.5 + np.sum(np.arange(1, 4) * x ** 3))


def fill_new_array(x):
    """A new array filled entry by entry in a loop, then reduced."""
    n = len(x)
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] * x[n - 1 - i]
    return np.sum(out * out)


# -- indexing and slicing ----------------------------------------------------------------------


def index_1d(x, i):
    """x[i] with an int argument, x[-1], x[1:], x[:-1], x[::2]."""
    return (x[i] * x[-1] + np.sum(x[1:] * x[:-1]) + np.sum(x[::2] ** 2)
            + np.sum(np.sin(x[1:4:2])) + x[0])


def index_2d(A, i, j):
    """A[i, j], A[i], A[:, j], A[1:3, :], A[-1, 1:]."""
    return (A[i, j] * A[0, 0] + np.sum(A[i] ** 2) + np.sum(np.sin(A[:, j]))
            + np.sum(A[1:3, :] ** 3) + np.sum(A[-1, 1:] * A[0, :-1]))


def new_axes(x):
    """x[None, :] and x[:, None]: an outer product by broadcasting."""
    return np.sum(x[None, :] * x[:, None] ** 2) + np.sum(np.sin(x[:, None]))


def fancy_index_2d(P, labels):
    """P[np.arange(n), labels], labels an int array argument (a label may repeat)."""
    n = P.shape[0]
    return -np.sum(np.log(P[np.arange(n), labels]))


def repeated_indices(x, idx):
    """x[idx] with repeated indices: their adjoints accumulate."""
    return np.sum(x[idx] ** 2) + np.sum(np.sin(x[idx]) * np.arange(len(idx)))


def array_of_scalars(a, b, c):
    """np.array([a, b, c]) of float arguments."""
    v = np.array([a, b, c])
    return np.sum(v * v * np.array([0.3, -1.2, 2.0])) + np.sum(np.exp(v)) * a


def array_of_entries(x):
    """np.array of expressions of an array's entries."""
    v = np.array([x[0] * x[1], x[2], math.sin(x[1])])
    return np.sum(v ** 2) + v @ x


def loop_over_rows(A):
    """for row in A: each row is a 1-D array."""
    total = 0.0
    for row in A:
        total += np.sum(row ** 2) * row[0]
    return total


def loop_accumulate_array(x, n):
    """An array updated in a loop (x <- tanh(x * 1.1 + 0.1)), n an int."""
    h = x
    for _ in range(n):
        h = np.tanh(h * 1.1 + 0.1)
    return np.sum(h ** 2)


# -- mixed scalar/array and small models -------------------------------------------------------


def mixed_scalar_array(x, s, t, k):
    """Float arguments s, t, an int k and an array x together."""
    return np.sum(np.exp(s * x) * t) + s * t * np.max(x) + k * np.mean(x * t) + x[k] * s


def scalar_reduction_mix(x, w):
    """Reductions feeding scalar math functions (math.exp/log of np.sum results)."""
    a = np.sum(x * w)
    b = np.max(x)
    return math.exp(a * 0.1) + math.log(1.0 + b * b) + abs(np.min(w)) * SCALE


def softmax_cross_entropy(scores, labels):
    """Softmax cross-entropy of a batch of scores (rows), with the max-subtraction trick."""
    n = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(n), labels])


def squared_norm(W, x):
    """The lecture's f(x, W) = ||W x||^2."""
    q = W @ x
    return np.sum(q * q)


def linear_regression(X, w, b, y):
    """Mean squared error of X w + b."""
    residual = X @ w + b - y
    return np.mean(residual ** 2)


def write_into_argument(x):
    """Writes into its argument: the compiler copies arguments on entry."""
    x[0] = x[0] * 2.0 + x[1]
    x[1:] = np.sin(x[1:])
    return np.sum(x * x)


def write_row_into_argument(A, v):
    """Writes a row of a matrix argument, then uses it."""
    A[0] = v * 2.0
    A[1, 1] = A[1, 1] ** 2
    return np.sum(np.tanh(A @ v))


def mlp_sigmoid(X, labels, W1, b1, W2, b2, lam):
    """Two-layer network, sigmoid hidden layer, softmax cross-entropy, L2; batch in rows."""
    n = X.shape[0]
    z1 = X @ W1.T + b1
    h = 1.0 / (1.0 + np.exp(-z1))
    scores = h @ W2.T + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.sum(log_probs[np.arange(n), labels]) / n
    return data_loss + 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))


def mlp_relu(X, labels, W1, b1, W2, b2, lam):
    """Two-layer network, ReLU hidden layer via np.maximum, softmax cross-entropy, L2."""
    n = X.shape[0]
    z1 = X @ W1.T + b1
    h = np.maximum(z1, 0.0)
    scores = h @ W2.T + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.mean(log_probs[np.arange(n), labels])
    return data_loss + 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))


# -- the same operations inside loops ----------------------------------------------------------
# Loop-free array code runs on NumPy under either backend; a loop makes the numba backend compile
# the gradient, so these exercise numba's versions of the array operations and their adjoints.


def looped_elementwise(x, y):
    """Elementwise functions and selections, in a loop (x > 0, y away from 0 and +-0.5)."""
    total = 0.0
    for k in range(2):
        s = 1.0 + 0.25 * k
        a = np.exp(x * s) + np.abs(y) * x + np.maximum(x, y * s)
        total += np.sum(a + np.where(y > 0.0, x * y, x - y) + np.clip(y, -0.5, 0.5) * x)
    return total


def looped_products(A, B, x, y, b):
    """Products in every 1-D/2-D form and a bias row b (2,) added to every row of A, in a
    loop. A (3, 2), B (2, 4), x (2,), y (3,)."""
    total = 0.0
    for k in range(2):
        t = 1.0 + k
        total += (np.sum(A @ B) * t + np.sum(np.dot(A, x) ** 2) + np.sum(y @ A)
                  + np.matmul(x, x) * t + np.sum((A + b) ** 2))
    return total


def looped_reductions(A):
    """sum/mean/max/min over everything and along an axis (negative too), keepdims or not, in
    a loop (A 2-D, no ties)."""
    total = 0.0
    for k in range(2):
        B = A * (1.0 + 0.5 * k)
        total += (np.sum(np.sum(B, axis=0) ** 2) + np.mean(B) ** 2
                  + np.sum(np.max(B, axis=1, keepdims=True) * B) + np.sum(np.min(B, axis=-1) ** 3))
    return total


def looped_indexing(x, A, P, labels, idx, i, j):
    """Indexing reads in a loop: x (6,), A (4, 3), P[np.arange(n), labels], x[idx] with
    repeated indices, i and j ints."""
    n = P.shape[0]
    total = 0.0
    for k in range(2):
        s = 1.0 + k
        total += (x[i] * x[-1] * s + np.sum(x[1:] * x[:-1]) + np.sum(x[::2] ** 2) * s
                  + A[i, j] * A[0, 0] + np.sum(A[i] ** 2) + np.sum(A[:, j] * s)
                  + np.sum(A[1:3, :] ** 3) + np.sum(x[None, :] * x[:, None] * s)
                  - np.sum(np.log(P[np.arange(n), labels] * s)) + np.sum(x[idx] ** 2))
    return total


def looped_softmax_cross_entropy(scores, labels):
    """Softmax cross-entropy at two temperatures, in a loop."""
    n = scores.shape[0]
    total = 0.0
    for k in range(2):
        z = scores * (1.0 + 0.5 * k)
        shifted = z - np.max(z, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        total += -np.mean(log_probs[np.arange(n), labels])
    return total
