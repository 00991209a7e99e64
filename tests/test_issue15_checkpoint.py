"""Issue 15: bounded memory for long loops, `grad(f, checkpoint=True)`.

Every function is checked on both backends with checkpoint=True against the plain gradient,
against central differences of the original function and against autograd running the same
source (where it writes into no array): range loops (lengths 0, 1, a multiple of the segment
length and not), while loops (segments of growing length), loops left by a break or a return.
Loops that cannot be checkpointed (writes into arrays they do not create in each iteration)
must still give the right gradient,
taped in full, with the reason in the generated program's header. One memory test compares
tracemalloc peaks of the two programs on the RNN at 2000 steps (a ratio, not a wall-clock
threshold).
"""

import re
import tracemalloc

import numpy as np
import pytest
from gradcheck_helpers import central
from test_oracles import autograd_version

from ad_compiler import ADCompilerError, grad, hessian, hvp, jacobian, tiering, value_and_grad, vjp

BACKENDS = ("python", "numba")


def rnn_loss(W, U, b, xs, h0):  # W (64,64), U (64,8), b (64,), xs (100000, 8), h0 (64,)
    h = h0
    total = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
        total = total + np.sum(h * h)
    return total


def rnn_state(W, U, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
    return h


def oscillator(x, v, k, n):
    dt = 0.05
    for _ in range(n):
        x, v = x + dt * v, v - dt * k * np.sin(x)
    return x * x + v


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def strided(a, x):
    s = 0.0
    y = a
    for i in range(1, x.shape[0], 3):
        y = np.sin(y * x[i]) + x[i - 1]
        s = s + y
    for i in range(x.shape[0] - 1, -1, -2):
        y = y * 0.9 + np.cos(x[i] * s)
    return s * y


def nested(a, x):
    y = a
    s = 0.0
    for i in range(x.shape[0]):
        for j in range(3):
            y = np.sin(y * x[i]) + 0.1 * j
        s = s + y * y
    return s


def inner_while(a, x):
    y = a
    s = 0.0
    for i in range(x.shape[0]):
        j = 0
        while j < 2:
            y = np.cos(y) * x[i]
            j = j + 1
        s = s + y
    return s


def branchy(a, x):
    y = a
    s = 0.0
    for i in range(x.shape[0]):
        if y > 0.0:
            y = y * x[i] - 0.3
        else:
            y = np.exp(y) + x[i]
        s = s + y * a
    return s


def two_loops(a, x):
    y = a
    for i in range(x.shape[0]):
        y = np.tanh(y + x[i])
    z = y * y
    for i in range(x.shape[0]):
        z = z * 0.5 + np.sin(z * x[i])
    return z + y


def counter(a, x):
    k = 3
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(a * x[i] * k)
        k = k + 2
    return s * k


def while_loop(a):
    y = a
    i = 0
    while i < 10:
        y = np.sin(y) + 0.5 * y
        i = i + 1
    return y


def while_break(a, x):
    y = a
    i = 0
    while i < x.shape[0]:
        y = np.sin(y * x[i]) + 0.9 * y
        if y > 2.0:
            break
        i = i + 1
    return y * i


def early_break(a, x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(a * x[i]) + 0.4
        if s > 1.5:
            break
    return s


def early_return(a, x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * a + x[i]
        if s > 3.0:
            return s * 2.0
    return s


def writes(a, x):
    y = np.zeros(x.shape[0])
    h = a
    for i in range(x.shape[0]):
        h = np.tanh(h * x[i] + 0.1)
        y[i] = h
    return np.sum(y * y)


def local_writes(a, x):
    s = 0.0
    h = a
    for i in range(x.shape[0]):
        v = np.zeros(3)
        v[0] = h
        v[1] = h * x[i]
        v[2] = np.sin(h)
        v[1] += v[2] * x[i]
        h = np.tanh(np.sum(v * v) * 0.3 + x[i])
        s = s + h
    return s


def carried_writes(a, x):
    v = np.ones(2) * a
    for i in range(x.shape[0]):
        w = v * 0.9
        w[0] = np.sin(w[1] * x[i])
        v = w
    return np.sum(v)


def loop_in_branch(a, x):
    s = a * 0.5
    if a > 0.0:
        for i in range(x.shape[0]):
            s = np.sin(s * x[i]) + s
    else:
        s = s * s
    return s


def written_later(a, x):
    y = x * 1.0
    s = a
    for i in range(x.shape[0]):
        s = np.cos(s * y[i]) + s * 0.5
    y[0] = s
    return s + np.sum(y * y)


def _rnn_args(n, d=5, m=3, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(d, d)) * 0.4,
        rng.normal(size=(d, m)) * 0.4,
        rng.normal(size=d) * 0.1,
        rng.normal(size=(n, m)),
        rng.normal(size=d),
    )


_X = np.array([0.3, -0.7, 1.1, 0.4, -0.2, 0.9, 0.5, -1.3, 0.8, 0.1, 0.6])

# (function, arguments, wrt, checkpointed: whether the loops are reversed from checkpoints)
CASES = [
    *[(rnn_loss, _rnn_args(n), (0, 1, 2, 4), True) for n in (0, 1, 7, 50)],
    (oscillator, (0.4, 0.1, 1.3, 37), (0, 1, 2), True),
    (oscillator, (0.4, 0.1, 1.3, 16), (0, 1, 2), True),
    (rosenbrock, (np.linspace(-1.0, 1.2, 23),), 0, True),
    (strided, (0.3, _X), (0, 1), True),
    (nested, (0.3, _X), (0, 1), True),
    (inner_while, (0.3, _X), (0, 1), True),
    (branchy, (0.3, _X), (0, 1), True),
    (two_loops, (0.3, _X), (0, 1), True),
    (counter, (0.3, _X), (0, 1), True),
    (while_loop, (0.7,), 0, True),
    (while_break, (0.4, np.tile(_X, 3)), (0, 1), True),
    (while_break, (1.5, np.tile(_X, 3)), (0, 1), True),
    (while_break, (0.4, np.zeros(0)), (0, 1), True),
    (early_break, (0.9, _X), (0, 1), True),
    (early_break, (0.9, _X * 0.01), (0, 1), True),
    (early_return, (1.2, _X), (0, 1), True),
    (early_return, (0.5, _X * 0.1), (0, 1), True),
    (writes, (0.3, _X), (0, 1), False),
    (local_writes, (0.3, _X), (0, 1), True),
    (loop_in_branch, (0.3, _X), (0, 1), True),
    (loop_in_branch, (-0.3, _X), (0, 1), True),
    (written_later, (0.3, _X), (0, 1), False),
    (carried_writes, (0.3, _X), (0, 1), False),
]


def _ids(cases):
    return [f"{c[0].__name__}-{i}" for i, c in enumerate(cases)]


def _tuple(g):
    return g if isinstance(g, tuple) else (g,)


def _close(got, want, rtol, atol=0.0):
    for a, b in zip(_tuple(got), _tuple(want)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _numba_too(g, args, got):
    """Array loops start on NumPy under backend numba (tiering.py): the numba program it would
    move to gives the same gradient too."""
    for kernel, shaping in list(g._dispatch.values()):
        if isinstance(kernel, tiering.TieredKernel):
            _close(shaping(kernel.build_numba()(*args), args), got, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")  # autograd, n = 0
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "wrt", "checkpointed"), CASES, ids=_ids(CASES))
def test_checkpoint_gradient(fn, args, wrt, checkpointed, backend):
    ck = grad(fn, wrt=wrt, backend=backend, checkpoint=True)
    plain = grad(fn, wrt=wrt, backend=backend)
    got = ck(*args)
    _close(got, plain(*args), rtol=1e-9, atol=1e-12)
    _numba_too(ck, args, got)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    numeric = tuple(central(fn, args, p) for p in positions)
    _close(got, numeric, rtol=1e-6, atol=1e-8)
    if fn not in (writes, local_writes, carried_writes, written_later):
        import autograd

        reference = autograd.grad(autograd_version(fn), positions)(*args)
        _close(got, tuple(reference), rtol=1e-9, atol=1e-12)
    header = ck.source.split('"""')[1]
    assert "checkpoint=True" in header
    if checkpointed:
        assert "_checkpoints" in ck.source and "taped in full" not in header
    else:
        assert "taped in full" in header


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_and_grad_and_vjp(backend):
    args = _rnn_args(13)
    value, g = value_and_grad(rnn_loss, wrt=(0, 4), backend=backend, checkpoint=True)(*args)
    assert value == pytest.approx(rnn_loss(*args), rel=1e-12)
    _close(g, grad(rnn_loss, wrt=(0, 4), backend=backend)(*args), rtol=1e-9, atol=1e-12)

    c = np.linspace(-1.0, 1.0, 5)
    ck = vjp(rnn_state, wrt=(0, 1, 4), backend=backend, checkpoint=True)(*args, cotangent=c)
    plain = vjp(rnn_state, wrt=(0, 1, 4), backend=backend)(*args, cotangent=c)
    _close(ck, plain, rtol=1e-9, atol=1e-12)
    import autograd

    def weighted(W, U, h0):
        return autograd.numpy.sum(autograd_version(rnn_state)(W, U, args[2], args[3], h0) * c)

    reference = autograd.grad(weighted, (0, 1, 2))(args[0], args[1], args[4])
    _close(ck, tuple(reference), rtol=1e-9, atol=1e-12)


def test_full_size_rnn_short():
    """The issue's shapes (64 units, 8 inputs) over 60 steps: the same gradient as autograd."""
    rng = np.random.default_rng(1)
    args = (
        rng.normal(size=(64, 64)) * 0.1,
        rng.normal(size=(64, 8)) * 0.1,
        rng.normal(size=64) * 0.1,
        rng.normal(size=(60, 8)),
        rng.normal(size=64),
    )
    import autograd

    reference = autograd.grad(autograd_version(rnn_loss), (0, 1, 2, 4))(*args)
    for backend in BACKENDS:
        g = grad(rnn_loss, wrt=(0, 1, 2, 4), backend=backend, checkpoint=True)
        got = g(*args)
        _close(got, tuple(reference), rtol=1e-9, atol=1e-12)
        _numba_too(g, args, got)


def _peak(g, args) -> int:
    g(*args)  # built, and NumPy's caches warm
    tracemalloc.start()
    try:
        g(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpoint_memory():
    """Tapes of 2000 iterations against checkpoints every 45 and tapes of one segment: the
    checkpointed program's peak allocation is several times smaller (sqrt(n) vs n)."""
    args = _rnn_args(2000, d=64, m=8)
    plain = _peak(grad(rnn_loss, wrt=(0, 1, 2, 4), backend="python"), args)
    ck = _peak(grad(rnn_loss, wrt=(0, 1, 2, 4), backend="python", checkpoint=True), args)
    assert plain > 2000 * 64 * 8  # at least one value of h per step on a tape
    assert ck * 5 < plain, (ck, plain)


def test_plain_rnn_tapes_h_once():
    """Without checkpointing, the new h (np.tanh's result) is not taped besides h itself: it
    is the next iteration's h."""
    g = grad(rnn_loss, wrt=(0, 1, 2, 4), backend="python")
    g(*_rnn_args(3))
    source = g.source
    new_h = re.search(r"^\s+(\w+) = np\.tanh\(", source, re.M).group(1)
    pushed = re.findall(r"\.append\((\w+)\)", source)
    assert "h" in pushed and new_h not in pushed, (new_h, pushed)


def test_other_transforms_refuse_clearly():
    for make in (hvp, jacobian, hessian):
        with pytest.raises(ADCompilerError, match="checkpoint"):
            make(rosenbrock, checkpoint=True)
    with pytest.raises(ADCompilerError, match="checkpoint"):
        grad(grad(oscillator, checkpoint=True))


def rnn_params(p, xs):
    h = p["h0"]
    total = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(p["W"] @ h + p["U"] @ xs[t])
        total = total + np.sum(h * h)
    return total


@pytest.mark.parametrize("backend", BACKENDS)
def test_structured_and_partial(backend):
    import functools

    W, U, _, xs, h0 = _rnn_args(9)
    params = {"W": W, "U": U, "h0": h0}
    ck = grad(rnn_params, backend=backend, checkpoint=True)(params, xs)
    plain = grad(rnn_params, backend=backend)(params, xs)
    assert "_checkpoints" in grad(rnn_params, backend=backend, checkpoint=True).source_for(
        params, xs
    )
    for key in params:
        np.testing.assert_allclose(ck[key], plain[key], rtol=1e-9, atol=1e-12)
    fixed = functools.partial(rnn_loss, b=np.zeros(5), xs=xs)
    got = grad(fixed, wrt=(0, 1), backend=backend, checkpoint=True)(W, U, h0=h0)
    want = grad(rnn_loss, wrt=(0, 1), backend=backend)(W, U, np.zeros(5), xs, h0)
    _close(got, want, rtol=1e-9, atol=1e-12)
