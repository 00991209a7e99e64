"""Issue 16: a typed, documented package, and a clean first hour.

- every public name has a docstring with a runnable example, and the examples pass (doctest);
- help(grad) explains wrt, backend, caching, compiled_for, checkpoint and the errors;
- `__version__` comes from one place, and `--version` prints it;
- py.typed ships in the wheel, and mypy types `grad(f)` (all three forms) as a callable taking
  f's parameters, not Any;
- `ad-compiler cache info` / `cache clear` report and remove exactly ad_compiler's files;
- the test suite itself writes nothing into the user's home directory.
"""

import doctest
import os
import pydoc
import re
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import ad_compiler
from ad_compiler import grad
from ad_compiler.api import GradFunction
from ad_compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = sorted(ad_compiler.__all__)


# -- docstrings with runnable examples ---------------------------------------------------------


def _examples(obj, name):
    return doctest.DocTestFinder(recurse=False).find(obj, name, globs={})


@pytest.mark.parametrize("name", PUBLIC + ["ad_compiler", "GradFunction"])
def test_docstring_examples_run(name):
    obj = {"ad_compiler": ad_compiler, "GradFunction": GradFunction}.get(name)
    obj = obj if obj is not None else getattr(ad_compiler, name)
    tests = _examples(obj, name)
    assert sum(len(t.examples) for t in tests) > 0, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=0)  # as `python -m doctest` runs them
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} example(s) failed (see above)"


def test_help_of_grad_explains_what_a_user_needs():
    text = pydoc.render_doc(grad, renderer=pydoc.plaintext)
    for needed in ("wrt:", "backend:", '"numba"', '"python"', "checkpoint:", "has_aux:",
                   "AD_COMPILER_CACHE_DIR", "~/.cache/ad_compiler", "ad-compiler cache info",
                   "compiled_for", "GradientInputError", "UnsupportedSyntaxError",
                   "NoGradientRuleError", "NonScalarOutputError", "CompilationError", ">>> "):
        assert needed in text, needed


# -- the version -------------------------------------------------------------------------------


def test_version_has_one_source():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    assert getattr(__import__(module, fromlist=[name]), name) == ad_compiler.__version__
    try:
        installed = metadata.version("ad-compiler")
    except metadata.PackageNotFoundError:
        return
    assert installed == ad_compiler.__version__


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path))


def test_python_dash_m_version():
    done = subprocess.run([sys.executable, "-m", "ad_compiler", "--version"], capture_output=True,
                          text=True, env=_env(), cwd=ROOT)
    assert done.returncode == 0 and done.stdout == f"ad-compiler {ad_compiler.__version__}\n"


def test_console_script_version():
    script = shutil.which("ad-compiler")
    if script is None:
        pytest.skip("the ad-compiler script is not installed")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, env=_env())
    assert done.stdout == f"ad-compiler {ad_compiler.__version__}\n"


# -- typed -------------------------------------------------------------------------------------


def test_py_typed_ships_in_the_wheel(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "src"  # a copy: building leaves build/ and *.egg-info where it runs
    shutil.copytree(ROOT / "ad_compiler", source / "ad_compiler",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # (build isolation: a fresh venv's setuptools may predate its own bdist_wheel)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                           "-q", "-w", str(tmp_path / "wheel")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "wheel").glob("ad_compiler-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "ad_compiler/py.typed" in names
    assert f"ad_compiler-{ad_compiler.__version__}.dist-info/METADATA" in names


USER_SCRIPT = '''
import functools
import numpy as np
from ad_compiler import grad, hessian, jacobian, trace, value_and_grad, vjp


def loss(w: np.ndarray, x: float) -> float:
    return float(np.sum(w * x))


g = grad(loss)
reveal_type(g)
reveal_type(g(np.ones(2), 3.0))


@grad
def square(x: float) -> float:
    return x * x


@grad(wrt="x")
def product(x: float, y: float) -> float:
    return x * y


reveal_type(square)
reveal_type(product)
reveal_type(value_and_grad(loss, wrt=("w", "x")))
reveal_type(grad(functools.partial(loss, x=2.0)))
reveal_type(vjp(loss))
reveal_type(jacobian(loss))
reveal_type(hessian(loss))
reveal_type(trace(loss, np.ones(2), 3.0))
square(2.0)
product(1.0)  # ERROR: y is missing
g(np.ones(2), 3.0, 4.0)  # ERROR: one argument too many
'''


def test_mypy_sees_gradient_functions_not_any(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    # The package from this checkout (an editable install's import hook is invisible to mypy);
    # errors inside the package and its dependencies are not the user's: silent.
    env = dict(os.environ, MYPYPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir",
         str(tmp_path / "cache"), "--no-error-summary", "--hide-error-context", "user.py"],
        capture_output=True, text=True, cwd=tmp_path, env=env)
    notes = [line.split('Revealed type is "', 1)[1].rstrip('"')
             for line in done.stdout.splitlines() if "Revealed type is" in line]
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    # (mypy versions write builtins.float or float, and numpy's array type differently)
    notes = [re.sub(r"numpy\.ndarray\[.*?\]\]", "ndarray", n.replace("builtins.", ""))
             for n in notes]
    assert notes == [
        "ad_compiler.api.GradFunction[[w: ndarray, x: float]]",
        "Any",  # a gradient: a float, an array or a tuple of them, by the arguments
        "ad_compiler.api.GradFunction[[x: float]]",
        "ad_compiler.api.GradFunction[[x: float, y: float]]",
        "ad_compiler.api.GradFunction[[w: ndarray, x: float]]",
        "ad_compiler.structured.PartialGradFunction",
        "ad_compiler.vjp.VJPFunction",
        "ad_compiler.matrices.jacobian",
        "ad_compiler.matrices.hessian",
        "ad_compiler.trace.Trace",
    ], done.stdout + done.stderr
    assert len(errors) == 2, done.stdout
    assert 'Missing positional argument "y"' in errors[0] and "user.py:35" in errors[0]
    assert "Too many arguments" in errors[1] and "user.py:36" in errors[1]


# -- the cache command ---------------------------------------------------------------------------


def cubic(x):
    return x * x * x


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(cache))
    assert grad(cubic)(2.0) == pytest.approx(12.0)  # numba: a module and its machine code
    cache.joinpath("mine.txt").write_text("not ad_compiler's")
    generated = sorted(cache.glob("adc_*.py"))
    machine = sorted(cache.glob("__pycache__/adc_*"))
    assert generated and machine
    ours = generated + machine + sorted(cache.glob("key_*.txt"))
    ours += sorted(cache.glob("tier_*.json")) + sorted(cache.glob("compiler_fingerprint.json"))
    size = sum(p.stat().st_size for p in ours)

    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"cache directory: {cache} (AD_COMPILER_CACHE_DIR)" in out
    assert f"generated modules: {len(generated)} files" in out
    assert f"numba machine code: {len(machine)} files" in out
    assert f"total: {len(ours)} files, " in out

    assert main(["cache", "clear", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith(f"would remove {len(ours)} files")
    assert all(p.exists() for p in ours)

    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"removed {len(ours)} files") and str(cache) in out
    assert not any(p.exists() for p in ours) and cache.joinpath("mine.txt").exists()
    assert size > 0

    again = grad(cubic)  # rebuilt on demand
    assert again(3.0) == pytest.approx(27.0)
    assert list(cache.glob("adc_*.py"))


def test_cache_info_of_a_cache_not_made_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path / "none"))
    assert main(["cache", "info"]) == 0
    assert "does not exist yet" in capsys.readouterr().out
    assert not (tmp_path / "none").exists()  # info does not create it


def test_default_cache_location(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AD_COMPILER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"cache directory: {tmp_path / 'ad_compiler'} (the default; set " in out


# -- the test suite leaves the user's cache alone -------------------------------------------------


def test_tests_write_nothing_into_the_home_directory(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in _env().items()
           if k not in ("AD_COMPILER_CACHE_DIR", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR")}
    env.update(HOME=str(home), NUMBA_CACHE_DIR=str(home / "numba"))
    target = "tests/test_issue16_whole_numbers.py::test_int_parameter_left_out_of_wrt_works"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           target], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert list(home.rglob("*")) == []


def test_the_session_cache_is_not_the_users():
    default = Path(os.path.expanduser("~")) / ".cache" / "ad_compiler"
    assert os.environ.get("AD_COMPILER_CACHE_DIR")
    assert Path(os.environ["AD_COMPILER_CACHE_DIR"]) != default


def test_gradient_matches_the_function_it_documents():
    # the README's and the package docstring's neuron, against central differences
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])

    def neuron(w, x):
        return 1.0 / (1.0 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))

    dw = grad(neuron)(w, x)
    h = 1e-6
    central = [(neuron(w + h * e, x) - neuron(w - h * e, x)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(dw, central, rtol=1e-7)
    np.testing.assert_allclose(dw, [-0.196612, -0.393224, 0.196612], atol=1e-6)
    assert textwrap.dedent(ad_compiler.__doc__).count(">>>") >= 4
