"""The command line (`ad-compiler show`), its golden outputs, and examples/lecture.py.

Golden files live in tests/golden/; rewrite them with `pytest tests/test_cli.py --update-golden`.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ad_compiler.cli import UsageError, main, parse_at

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FUNCTIONS = "tests/lecture_functions.py"


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Run from the repository root, plain output, with a cache of this module's own."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cli-cache"))


def run(capsys, *argv):
    """main(argv) in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def without_root(text):
    """The output with the repository's absolute path removed, as golden files store it."""
    return text.replace(f"{ROOT}{os.sep}", "")


# -- golden outputs -------------------------------------------------------------------------

GOLDEN_CASES = {
    "show_circuit": ["show", f"{FUNCTIONS}:circuit"],
    "show_neuron": [
        "show",
        f"{FUNCTIONS}:neuron",
        "--wrt",
        "w0",
        "--wrt",
        "x0",
        "--wrt",
        "w1",
        "--wrt",
        "x1",
        "--wrt",
        "w2",
    ],
    "show_neuron_arrays": [
        "show",
        f"{FUNCTIONS}:neuron_arrays",
        "--at",
        "w=[2, -3, -3], x=[-1, -2]",
    ],
    "show_neuron_python": ["show", f"{FUNCTIONS}:neuron", "--backend", "python"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_show_matches_golden(name, capsys, update_golden):
    code, out, err = run(capsys, *GOLDEN_CASES[name])
    assert (code, err) == (0, "")
    out = without_root(out)
    path = GOLDEN / f"{name}.txt"
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run pytest with --update-golden"
    assert out == path.read_text(encoding="utf-8")


def test_golden_header_names_the_function_relative_to_the_repository():
    text = (GOLDEN / "show_circuit.txt").read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert "circuit() (tests/lecture_functions.py:6)" in first
    assert "with respect to x, y, z" in first


# -- options ----------------------------------------------------------------------------------


def test_wrt_selects_one_parameter(capsys):
    code, out, _ = run(capsys, "show", f"{FUNCTIONS}:circuit", "--wrt", "z")
    assert code == 0
    assert "with respect to z." in out
    assert "return z_bar\n" in out
    assert "x_bar =" not in out and "y_bar =" not in out


def test_at_gives_array_code_for_array_arguments(capsys):
    at = "W=[[0.1, 0.5], [-0.3, 0.8]], x=[0.2, 0.4]"
    code, out, _ = run(capsys, "show", f"{FUNCTIONS}:squared_norm", "--at", at)
    assert code == 0
    assert "W_bar = np.outer(q_bar, x)" in out  # df/dW = 2 q x^T, an array like W
    assert "x_bar = W.T @ q_bar" in out  # df/dx = 2 W^T q


def test_at_loads_npy_files(capsys, tmp_path):
    np.save(tmp_path / "w.npy", np.array([2.0, -3.0, -3.0]))
    at = f"w=@{tmp_path / 'w.npy'}, x=[-1, -2]"
    code, out, _ = run(capsys, "show", f"{FUNCTIONS}:neuron_arrays", "--at", at)
    assert code == 0
    assert "w_bar = np.zeros_like(w)" in out


def test_at_accepts_whole_numbers_for_differentiated_scalars(capsys):
    code, out, _ = run(capsys, "show", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5, z=-4")
    assert code == 0
    assert "def circuit_grad(x, y, z):" in out


def test_color_only_on_a_terminal_without_no_color(capsys, monkeypatch):
    pytest.importorskip("pygments")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _, plain, _ = run(capsys, "show", f"{FUNCTIONS}:circuit")
    monkeypatch.delenv("NO_COLOR")
    _, colored, _ = run(capsys, "show", f"{FUNCTIONS}:circuit")
    assert "\x1b[" not in plain
    assert "\x1b[" in colored


def test_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "show" in out
    code, out, _ = run(capsys, "show", "--help")
    assert code == 0
    for option in ("--wrt", "--backend", "--at", "FILE.py:FUNC"):
        assert option in out


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "tests/no_such_file.py:f"], "no such file: tests/no_such_file.py"),
        (["show", f"{FUNCTIONS}:no_such_function"], "no function named no_such_function"),
        (["show", FUNCTIONS], "expected FILE.py:FUNC"),
        (["show", f"{FUNCTIONS}:"], "expected FILE.py:FUNC"),
        (["show", "README.md:circuit"], "not a Python file"),
        (["show", f"{FUNCTIONS}:np"], "module, not a function"),
        (["show", f"{FUNCTIONS}:circuit", "--wrt", "q"], "names no parameter"),
        (["show", f"{FUNCTIONS}:circuit", "--at", "q=1.0"], "--at names no parameter"),
        (["show", f"{FUNCTIONS}:circuit", "--at", "x=open('f')"], "not a literal"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_argparse_errors_exit_2(capsys):
    assert run(capsys, "show", f"{FUNCTIONS}:circuit", "--backend", "jax")[0] == 2
    assert run(capsys)[0] == 2


def test_unsupported_construct_exits_1_with_file_and_line(capsys, tmp_path):
    source = tmp_path / "uses_try.py"
    source.write_text(
        "def f(x):\n    y = x * x\n    try:\n        y = y + 1.0\n"
        "    except ValueError:\n        pass\n    return y\n"
    )
    code, out, err = run(capsys, "show", f"{source}:f")
    assert code == 1
    assert out == ""
    assert f"{source}:3" in err
    assert "Traceback" not in err


def test_sibling_imports_work(capsys, tmp_path):
    (tmp_path / "helpers.py").write_text("SCALE = 3.0\n")
    (tmp_path / "model.py").write_text(
        "from helpers import SCALE\n\n\ndef f(x):\n    return SCALE * x * x\n"
    )
    code, out, _ = run(capsys, "show", f"{tmp_path / 'model.py'}:f", "--backend", "python")
    assert code == 0
    assert "def f_grad(x, SCALE):" in out  # module-level numbers are read at each call


def test_show_a_function_decorated_with_grad(capsys, tmp_path):
    (tmp_path / "model.py").write_text(
        'from ad_compiler import grad\n\n\n@grad(wrt=("y",))\ndef f(x, y):\n    return x * y\n'
    )
    code, out, _ = run(capsys, "show", f"{tmp_path / 'model.py'}:f", "--backend", "python")
    assert code == 0
    assert "with respect to y." in out


# -- parse_at ---------------------------------------------------------------------------------


def test_parse_at_scalars_and_nested_lists():
    values = parse_at("x=-2, y=5.5, W=[[0.1, 0.5], [-0.3, 0.8]], flag=True")
    assert values["x"] == -2 and values["y"] == 5.5 and values["flag"] is True
    assert values["W"].dtype == np.float64
    np.testing.assert_array_equal(values["W"], [[0.1, 0.5], [-0.3, 0.8]])
    assert parse_at("v=[1, 2]")["v"].dtype == np.float64


@pytest.mark.parametrize("template", ["a=@{}", "a='@{}'", "a = @{}, b=1.0"])
def test_parse_at_loads_npy(template, tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(3.0))
    values = parse_at(template.format(path))
    np.testing.assert_array_equal(values["a"], [0.0, 1.0, 2.0])


@pytest.mark.parametrize(
    "text",
    [
        "1.0",
        "x=",
        "x=1, 2",
        "x=__import__('os')",
        "x=[[1, 2], [3]]",
        "**d",
        "x=@missing.npy",
    ],
)
def test_parse_at_rejects(text):
    with pytest.raises(UsageError):
        parse_at(text)


def test_parse_at_never_evaluates_code():
    with pytest.raises(UsageError, match="not a literal"):
        parse_at("x=(lambda: 1)()")


# -- the other ways in --------------------------------------------------------------------------


def test_python_dash_m(capsys):
    result = subprocess.run(
        [sys.executable, "-m", "ad_compiler", "show", f"{FUNCTIONS}:circuit", "--wrt", "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "def circuit_grad(x, y, z):" in result.stdout
    assert "\x1b[" not in result.stdout  # piped: no color


def test_lecture_example_prints_the_lecture_numbers(tmp_path):
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "examples/lecture.py", "--backend", "python"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in [
        "(-4, -4, 3)",
        "= 3 ",
        "= -12 ",
        "0.731059",
        "(-0.196612, -0.393224, 0.196612)",
        "(0.393224, -0.589836)",
        "(1 - s) s                = 0.196612",
        "check_grad",
        "def neuron_on_arrays_grad(w, x):",
    ]:
        assert expected in out


@pytest.mark.parametrize(
    "mode, defines, says",
    [
        ("jvp", "def neuron_jvp(w0, x0, w1, x1, w2, w0_dot", "forward mode"),
        ("vjp", "def neuron_vjp(", "cotangent"),
        ("hvp", "def neuron_hvp(w0, x0, w1, x1, w2, w0_dot", "reverse over forward"),
        ("hessian", "def neuron_hvp(", "Hessian-vector product"),
        ("jacobian", "def neuron_vjp(", "cotangent"),  # one output, five inputs: reverse
    ],
)
def test_show_mode_prints_each_transform(mode, defines, says, capsys):
    code, out, _ = run(capsys, "show", f"{FUNCTIONS}:neuron", "--mode", mode, "--backend", "python")
    assert code == 0
    assert defines in out and says in out
    compile(out, "shown", "exec")  # a whole module, as generated
