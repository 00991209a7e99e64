"""Issue 16: every transform pickles (standard pickle and cloudpickle) and works in other
processes: spawn- and fork-started pools, a fresh interpreter without the function's source
file. Results are checked against central differences of the original functions, never only
against the gradient that was pickled.
"""

import functools
import multiprocessing
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cloudpickle
import numpy as np
import pickle_functions as pf
import pytest
from gradcheck_helpers import central, directional

import ad_compiler as ad
from ad_compiler import sources, tiering

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    """A cache of this module's own, in the environment the pools' workers inherit."""
    path = tmp_path_factory.mktemp("pickle-cache")
    old = os.environ.get("AD_COMPILER_CACHE_DIR")
    os.environ["AD_COMPILER_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        del os.environ["AD_COMPILER_CACHE_DIR"]
    else:
        os.environ["AD_COMPILER_CACHE_DIR"] = old


RNG = np.random.default_rng(16)
X = RNG.standard_normal((12, 3))
Y = RNG.standard_normal(12)
W = RNG.standard_normal(3)
V = RNG.standard_normal(3)
LABELS = np.sign(RNG.standard_normal(12))


def hessian_numeric(f, x, h=1e-3):
    """The Hessian of f at the array x by central differences of f itself."""
    n = x.size
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            def at(si, sj, i=i, j=j):
                z = x.copy()
                z[i] += si * h
                z[j] += sj * h
                return f(z)
            out[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    return out


def jacobian_numeric(f, x, h=1e-5):
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        columns.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(columns, axis=-1)


def cubic(x):
    return np.sum(x * x * x) + x[0] * x[1]


def close(got, expected, tol=1e-6):
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


# (id, the transform, how to call it, the check of its result against the original function)
def _cases():
    x = np.array([0.3, -0.7, 1.1])
    c = RNG.standard_normal(3)
    model = pf.Model(X, Y)

    def check_value_and_both(out):
        value, (gx, gy) = out
        close(value, pf.scalar(0.7, 1.3))
        close(gx, central(pf.scalar, (0.7, 1.3), 0))
        close(gy, central(pf.scalar, (0.7, 1.3), 1))

    def check_jvp(out):
        value, tangent = out
        close(value, pf.vector_out(x, 2.0))
        close(tangent, directional(lambda z: pf.vector_out(z, 2.0), (x,), 0, V))

    def check_jvp_of_grad(out):
        g, hv = out
        close(g, central(cubic, (x,), 0))
        close(hv, hessian_numeric(cubic, x) @ V, 1e-5)

    return [
        ("grad", ad.grad(pf.scalar), lambda g: g(0.7, 1.3),
         lambda out: close(out, central(pf.scalar, (0.7, 1.3), 0))),
        ("grad-array", ad.grad(pf.least_squares), lambda g: g(W, X, Y),
         lambda out: close(out, central(pf.least_squares, (W, X, Y), 0))),
        ("grad-loop", ad.grad(pf.logistic_loop), lambda g: g(W, X, LABELS),
         lambda out: close(out, central(pf.logistic_loop, (W, X, LABELS), 0))),
        ("value_and_grad", ad.value_and_grad(pf.scalar, wrt=(0, 1)), lambda g: g(0.7, 1.3),
         check_value_and_both),
        ("vjp", ad.vjp(pf.vector_out), lambda g: g(x, 2.0, cotangent=c),
         lambda out: close(out, central(lambda z: np.sum(pf.vector_out(z, 2.0) * c), (x,), 0))),
        ("jvp", ad.jvp(pf.vector_out), lambda g: g(x, 2.0, tangent=V), check_jvp),
        ("hvp", ad.hvp(cubic), lambda g: g(x, vector=V),
         lambda out: close(out, hessian_numeric(cubic, x) @ V, 1e-5)),
        ("jacobian", ad.jacobian(pf.vector_out), lambda g: g(x, 2.0),
         lambda out: close(out, jacobian_numeric(lambda z: pf.vector_out(z, 2.0), x))),
        ("hessian", ad.hessian(cubic), lambda g: g(x),
         lambda out: close(out, hessian_numeric(cubic, x), 1e-5)),
        ("grad-of-grad", ad.grad(ad.grad(pf.scalar)), lambda g: g(0.7, 1.3),
         lambda out: close(out, central(lambda a, b: central(pf.scalar, (a, b), 0),
                                        (0.7, 1.3), 0), 1e-5)),
        ("jvp-of-grad", ad.jvp(ad.grad(cubic)), lambda g: g(x, tangent=V), check_jvp_of_grad),
        ("jacobian-of-grad", ad.jacobian(ad.grad(cubic)), lambda g: g(x),
         lambda out: close(out, hessian_numeric(cubic, x), 1e-5)),
        ("grad-partial", ad.grad(functools.partial(pf.scalar, y=2.0)), lambda g: g(0.4),
         lambda out: close(out, central(pf.scalar, (0.4, 2.0), 0))),
        ("vjp-partial", ad.vjp(functools.partial(pf.vector_out, a=3.0)),
         lambda g: g(x, cotangent=c),
         lambda out: close(out, central(lambda z: np.sum(pf.vector_out(z, 3.0) * c), (x,), 0))),
        ("hvp-partial", ad.hvp(functools.partial(pf.least_squares, X=X, y=Y)),
         lambda g: g(W, vector=V),
         lambda out: close(out, hessian_numeric(lambda w: pf.least_squares(w, X, Y), W) @ V,
                           1e-5)),
        ("jvp-partial", ad.jvp(functools.partial(pf.vector_out, a=3.0)),
         lambda g: g(x, tangent=V)[1],
         lambda out: close(out, directional(lambda z: pf.vector_out(z, 3.0), (x,), 0, V))),
        ("hessian-partial", ad.hessian(functools.partial(pf.least_squares, X=X, y=Y)),
         lambda g: g(W),
         lambda out: close(out, hessian_numeric(lambda w: pf.least_squares(w, X, Y), W), 1e-5)),
        ("has_aux", ad.grad(pf.with_aux, has_aux=True), lambda g: g(x),
         lambda out: (close(out[0], central(lambda z: pf.with_aux(z)[0], (x,), 0)),
                      close(out[1], np.max(x)))),
        ("checkpoint", ad.grad(pf.logistic_loop, checkpoint=True),
         lambda g: g(W, X, LABELS),
         lambda out: close(out, central(pf.logistic_loop, (W, X, LABELS), 0))),
        ("structured", ad.grad(pf.dict_loss), lambda g: g({"w": W, "b": 0.5}, X, Y),
         lambda out: (close(out["w"], central(lambda w: pf.dict_loss({"w": w, "b": 0.5}, X, Y),
                                              (W,), 0)),
                      close(out["b"], central(lambda b: pf.dict_loss({"w": W, "b": b}, X, Y),
                                              (0.5,), 0)))),
        ("bound-method", ad.grad(model.loss), lambda g: g(W),
         lambda out: close(out, central(model.loss, (W,), 0))),
        ("custom_vjp", ad.grad(pf.with_custom), lambda g: g(x),
         lambda out: close(out, central(pf.with_custom, (x,), 0))),
        ("decorated-grad", pf.decorated, lambda g: g(0.3, 1.2),
         lambda out: close(out, central(pf.undecorated("decorated"), (0.3, 1.2), 0))),
        ("decorated-value_and_grad", pf.decorated_both, lambda g: g(x, 1.2),
         lambda out: (close(out[0], pf.undecorated("decorated_both")(x, 1.2)),
                      close(out[1][0], central(pf.undecorated("decorated_both"), (x, 1.2), 0)),
                      close(out[1][1], central(pf.undecorated("decorated_both"), (x, 1.2), 1)))),
        ("decorated-hessian", pf.decorated_hessian, lambda g: g(x),
         lambda out: close(out, hessian_numeric(pf.undecorated("decorated_hessian"), x), 1e-5)),
    ]


CASES = _cases()
PICKLERS = {"pickle": pickle, "cloudpickle": cloudpickle}


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_round_trip_gives_the_original_functions_derivative(case, pickler):
    _, transform, run, check = case
    dumps, loads = PICKLERS[pickler].dumps, PICKLERS[pickler].loads
    copy = loads(dumps(transform))
    check(run(copy))
    # called, a gradient has another class (its generated fast path) and compiled code
    check(run(transform))
    check(run(loads(dumps(transform))))


def test_the_copy_is_rebuilt_not_copied_and_rebuilt_once():
    g = ad.grad(pf.logistic_loop, optimize=False)
    g(W, X, LABELS)
    copy = pickle.loads(pickle.dumps(g))
    assert copy is not g
    assert type(copy) is ad.api.GradFunction  # not the fast-path subclass of the original
    assert copy._builds == {} and copy._dispatch == {}
    assert (copy.wrt, copy.backend, copy.optimize) == (g.wrt, g.backend, False)
    # a pool's worker unpickles it for every task: the same function, the same gradient
    assert pickle.loads(pickle.dumps(g)) is copy
    assert pickle.loads(pickle.dumps(ad.grad(pf.logistic_loop, optimize=False))) is copy


FACTOR = 2.0


def test_copies_by_value_of_different_functions_are_not_confused():
    """cloudpickle's copies of closures over other values, or of a function whose module-level
    value changed between two pickles, are other gradients in the receiving process."""
    def make(weight):
        def f(x):
            return weight * x * x * FACTOR
        return f

    global FACTOR
    g2 = cloudpickle.loads(cloudpickle.dumps(ad.grad(make(2.0))))
    g3 = cloudpickle.loads(cloudpickle.dumps(ad.grad(make(3.0))))
    again = cloudpickle.loads(cloudpickle.dumps(ad.grad(make(3.0))))
    try:
        FACTOR = 5.0
        g3_factor5 = cloudpickle.loads(cloudpickle.dumps(ad.grad(make(3.0))))
    finally:
        FACTOR = 2.0
    assert again is g3 and g3_factor5 is not g3
    close(g2(1.5), central(make(2.0), (1.5,), 0))
    close(g3(1.5), central(make(3.0), (1.5,), 0))
    close(g3_factor5(1.5), 5.0 / 2.0 * central(make(3.0), (1.5,), 0))


def test_options_survive():
    g = ad.value_and_grad(pf.scalar, wrt="y", backend="python", optimize=False)
    copy = cloudpickle.loads(cloudpickle.dumps(g))
    assert (copy.wrt, copy.backend, copy.optimize, copy.with_value) == (("y",), "python",
                                                                        False, True)
    value, gy = copy(0.7, 1.3)
    close(value, pf.scalar(0.7, 1.3))
    close(gy, central(pf.scalar, (0.7, 1.3), 1))


def test_module_level_values_are_read_in_the_copy():
    g = pickle.loads(pickle.dumps(ad.grad(pf.scalar)))
    old = pf.SCALE
    try:
        pf.SCALE = 5.0
        close(g(0.7, 1.3), central(pf.scalar, (0.7, 1.3), 0))
    finally:
        pf.SCALE = old


def test_a_local_function_pickles_with_cloudpickle_and_its_source():
    offset = 0.25

    def local(w, X, y):
        r = X @ w - y + offset
        return np.sum(r * r)

    g = ad.grad(local)
    with pytest.raises(pickle.PicklingError, match="cloudpickle"):
        pickle.dumps(g)
    copy = cloudpickle.loads(cloudpickle.dumps(g))
    # cloudpickle's copy of the code has no file ("<dynamic-code>"): the carried text serves
    assert copy.__wrapped__.__code__.co_filename != local.__code__.co_filename
    assert sources.carried(copy.__wrapped__) is not None
    close(copy(W, X, Y), central(local, (W, X, Y), 0))


def test_custom_vjp_functions_pickle():
    assert pickle.loads(pickle.dumps(pf.softplus)) is pf.softplus  # by name
    copy = cloudpickle.loads(cloudpickle.dumps(pf.softplus))  # (by name: importable)
    assert copy is pf.softplus
    x = np.array([-0.5, 0.3])
    close(copy(x), np.log1p(np.exp(x)))


def test_a_lambda_at_module_level_is_refused_by_pickle_with_advice():
    g = ad.grad(eval("lambda x: x * x"))  # (no source at all: it fails where it is called)
    with pytest.raises(pickle.PicklingError, match="define it with `def` at module level"):
        pickle.dumps(g)


def test_carried_source_is_not_used_for_other_code():
    def f(x):
        return x * 2.0

    record = sources.collect(f, lambda fn: True)[0]
    sources.register((record,))

    def f(x):  # noqa: F811  (same name, another line and body: another code object)
        return x * 3.0

    assert sources.carried(f) is None
    close(ad.grad(f)(1.0), 3.0)


# -- other processes ------------------------------------------------------------------------


def shards(X, y, k):
    return list(zip(np.array_split(X, k), np.array_split(y, k)))


@pytest.fixture(scope="module", params=["spawn", "fork"])
def pool(request, cache_dir):
    with multiprocessing.get_context(request.param).Pool(2) as pool:
        yield pool


@pytest.mark.parametrize("loss", [pf.least_squares, pf.logistic_loop],
                         ids=["array", "loop"])
def test_pool_over_shards_sums_to_the_full_gradient(pool, loss):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((60, 3)), np.sign(rng.standard_normal(60))
    w = rng.standard_normal(3)
    g = ad.grad(loss)
    parts = pool.starmap(pf.call, [(g, w, Xs, ys) for Xs, ys in shards(X, y, 4)])
    total = np.sum(parts, axis=0)
    close(total, central(loss, (w, X, y), 0))
    close(total, g(w, X, y), 1e-12)


def test_pool_calls_decorated_functions_and_every_transform(pool):
    x = np.array([0.3, -0.7, 1.1])
    out = pool.starmap(pf.call, [(pf.decorated, 0.3, 1.2), (pf.decorated_hessian, x),
                                 (ad.jacobian(pf.vector_out), x, 2.0)])
    close(out[0], central(pf.undecorated("decorated"), (0.3, 1.2), 0))
    close(out[1], hessian_numeric(pf.undecorated("decorated_hessian"), x), 1e-5)
    close(out[2], jacobian_numeric(lambda z: pf.vector_out(z, 2.0), x))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pool_executor(method):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    w = rng.standard_normal(3)
    g = ad.grad(pf.least_squares)
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(2, mp_context=context) as executor:
        parts = list(executor.map(g, *zip(*[(w, Xs, ys) for Xs, ys in shards(X, y, 3)])))
    close(np.sum(parts, axis=0), central(pf.least_squares, (w, X, y), 0))


def test_fork_waits_for_a_running_tier_up():
    """A fork while a tier-up thread compiles (holding locks) waits for it to finish."""
    import threading
    import time

    started = threading.Event()

    def slow_build():
        started.set()
        time.sleep(0.3)
        return lambda *a: 0.0

    kernel = tiering.TieredKernel(lambda *a: 0.0, slow_build)
    kernel.start((1.0,))
    started.wait()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    alive = kernel.thread.is_alive()
    os.waitpid(pid, 0)
    assert not alive


# -- a fresh interpreter: no source file, an empty cache, then a warm one --------------------

MODULE = '''\
import numpy as np

OFFSET = 0.5


def helper(z):
    return z * z + OFFSET


def f(w, X):
    s = 0.0
    for i in range(X.shape[0]):
        s += helper(X[i, 0] * w[0] + X[i, 1] * w[1])
    return s


def bad(x):
    return sorted(x)[0]
'''

WORKER = '''\
import pickle, sys
sys.path.insert(0, {tests!r})
import numpy as np
import pickle_functions as pf
g, bad, w, X = pickle.load(open(sys.argv[1], "rb"))
result, built, hits, misses = pf.first_call(g, w, X)
try:
    bad(np.array([1.0, 2.0]))
    error = None
except Exception as exc:
    error = str(exc)
pickle.dump((result, built, hits, misses, error), open(sys.argv[2], "wb"))
if len(sys.argv) > 3:  # passed on, as a Dask scheduler does: the carried text goes along
    import cloudpickle
    open(sys.argv[3], "wb").write(cloudpickle.dumps((g, bad, w, X)))
'''


def test_fresh_processes_without_the_source_file_cold_then_warm(tmp_path, monkeypatch):
    module_dir = tmp_path / "gone"
    module_dir.mkdir()
    (module_dir / "gone_module.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(module_dir))
    import gone_module

    rng = np.random.default_rng(3)
    w, X = rng.standard_normal(2), rng.standard_normal((10, 2))
    expected = central(gone_module.f, (w, X), 0)
    cloudpickle.register_pickle_by_value(gone_module)
    try:
        payload = cloudpickle.dumps((ad.grad(gone_module.f), ad.grad(gone_module.bad), w, X))
    finally:
        cloudpickle.unregister_pickle_by_value(gone_module)
        del sys.modules["gone_module"]
    (module_dir / "gone_module.py").unlink()
    (tmp_path / "payload.pkl").write_bytes(payload)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(HERE)))
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=str(ROOT))

    def run(payload, *relay):
        subprocess.run([sys.executable, str(script), str(tmp_path / payload),
                        str(tmp_path / "out.pkl"), *relay], check=True, env=env, cwd=tmp_path,
                       timeout=300)
        return pickle.loads((tmp_path / "out.pkl").read_bytes())

    # an empty cache: generated and compiled
    result, built, hits, misses, error = run("payload.pkl", str(tmp_path / "relayed.pkl"))
    close(result, expected)
    assert (built, misses) == (1, 1)
    # the error names the function's own file and line, which the worker does not have
    assert f"{module_dir / 'gone_module.py'}:18" in error and "sorted" in error
    result, built, hits, misses, _ = run("relayed.pkl")  # warm: loaded from the cache
    close(result, expected)
    assert (built, hits, misses) == (0, 1, 0)
