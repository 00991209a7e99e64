"""Issue 16: gradients mapped over data shards on a Dask cluster (a LocalCluster of two worker
processes, started once for the module), and examples/distributed.py on both engines.
Sums of shard gradients are checked against central differences of the original loss.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pickle_functions as pf
import pytest
from gradcheck_helpers import central
from scipy.optimize import minimize

import ad_compiler as ad

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Two single-threaded worker processes, with a cache of this module's own (the workers
    inherit the environment)."""
    old = os.environ.get("AD_COMPILER_CACHE_DIR")
    os.environ["AD_COMPILER_CACHE_DIR"] = str(tmp_path_factory.mktemp("dask-cache"))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
    if old is None:
        del os.environ["AD_COMPILER_CACHE_DIR"]
    else:
        os.environ["AD_COMPILER_CACHE_DIR"] = old


def data(rows, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(3), rng.standard_normal((rows, 3)),
            np.sign(rng.standard_normal(rows)))


@pytest.mark.parametrize("loss", [pf.least_squares, pf.logistic_loop], ids=["array", "loop"])
def test_shard_gradients_on_the_cluster_sum_to_the_full_gradient(client, loss):
    w, X, y = data(80, 5)
    g = ad.grad(loss)
    futures = client.map(g, [w] * 4, np.array_split(X, 4), np.array_split(y, 4), pure=False)
    total = np.sum(client.gather(futures), axis=0)
    np.testing.assert_allclose(total, central(loss, (w, X, y), 0), rtol=1e-6, atol=1e-6)


def test_a_function_defined_here_travels_by_value_with_its_source(client):
    """cloudpickle copies a closure by value (no source file for the copy): its text goes
    with the pickled gradient; value_and_grad's values and gradients both add up."""
    w, X, y = data(60, 6)
    weight = 0.75

    def weighted(w, X, y):
        r = X @ w - y
        return weight * np.sum(r * r) + np.sum(np.tanh(X @ w))

    vg = ad.value_and_grad(weighted)
    parts = client.gather(client.map(vg, [w] * 3, np.array_split(X, 3), np.array_split(y, 3),
                                     pure=False))
    value = sum(v for v, _ in parts)
    gradient = np.sum([g for _, g in parts], axis=0)
    np.testing.assert_allclose(value, weighted(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(gradient, central(weighted, (w, X, y), 0), rtol=1e-6, atol=1e-6)


def test_a_custom_vjp_defined_here_is_registered_on_the_workers(client):
    """A custom_vjp function travelling by value (with the closure that uses it) is rebuilt
    with its rule and registered where the generated program looks it up."""
    @ad.custom_vjp
    def clipped(x):
        return np.minimum(x, 1.0)

    @clipped.defvjp
    def clipped_vjp(g, result, x):
        return g * 0.5  # deliberately not the true derivative: the rule must be the one used

    def f(x):
        return np.sum(clipped(x) * x)

    x = np.array([0.2, 0.4, 2.0])
    got = client.submit(ad.grad(f), x, pure=False).result()
    # d/dx sum(c(x) x) with the rule's 0.5 in place of c'(x): c(x) + 0.5 x
    np.testing.assert_allclose(got, np.minimum(x, 1.0) + 0.5 * x, rtol=1e-12)


def test_decorated_functions_and_transforms_on_the_cluster(client):
    x = np.array([0.3, -0.7, 1.1])
    got = client.gather([client.submit(pf.decorated, 0.3, 1.2, pure=False),
                         client.submit(ad.hvp(pf.cubic_sum), x, vector=np.ones(3), pure=False)])
    np.testing.assert_allclose(got[0], central(pf.undecorated("decorated"), (0.3, 1.2), 0),
                               rtol=1e-6)
    hv = central(lambda z: central(pf.cubic_sum, (z,), 0) @ np.ones(3), (x,), 0)
    np.testing.assert_allclose(got[1], hv, rtol=1e-5, atol=1e-5)


# -- examples/distributed.py ------------------------------------------------------------

def run_example(tmp_path, *options):
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"),
               OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "examples/distributed.py", "--rows", "1500", "--shards", "3",
         "--iterations", "200", *options],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return float(re.search(r"loss (\S+) after", result.stdout).group(1))


def example_module():
    spec = importlib.util.spec_from_file_location("distributed_example",
                                                  ROOT / "examples" / "distributed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("engine", ["dask", "processes"])
def test_example_fits_the_minimum_of_the_plain_loss(tmp_path, engine):
    fitted = run_example(tmp_path, "--engine", engine, "--workers", "2")
    # The same minimum found by SciPy on the plain NumPy loss (finite-difference gradients).
    example = example_module()
    shards = [example.make_shard(seed, 1500) for seed in range(3)]
    X = np.concatenate([s[0] for s in shards])
    y = np.concatenate([s[1] for s in shards])
    n = len(y)

    def objective(w):
        return (example.shard_loss(w, X, y) + 0.5 * w @ w) / n

    expected = minimize(objective, np.zeros(example.FEATURES), method="L-BFGS-B").fun
    assert abs(fitted - expected) < 2e-6
