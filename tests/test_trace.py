"""trace(): the lecture's circuits, forwards and backwards node by node; `ad-compiler trace`;
the DOT circuit and its Graphviz drawings; gradient-health flags; closed-form formulas
(`ad-compiler show --formula`).

Golden files live in tests/golden/; rewrite them with `pytest tests/test_trace.py --update-golden`.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ad_compiler
from ad_compiler import grad
from ad_compiler.cli import main
from ad_compiler.formula import formulas
from ad_compiler.trace import Trace, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FUNCTIONS = "tests/lecture_functions.py"
sys.path.insert(0, str(ROOT / "tests"))

import lecture_functions as lecture  # noqa: E402


def example(name: str):
    """examples/NAME.py, loaded by its path: examples/ on sys.path would hide packages (Dask's
    `distributed` from the workers later tests spawn), and benchmarks/loops.py shares a name."""
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


loops = example("loops")

NEURON_AT = "w0=2, x0=-1, w1=-3, x1=-2, w2=-3"
NEURON_ARGS = (2.0, -1.0, -3.0, -2.0, -3.0)  # w0, x0, w1, x1, w2
EULER_ARGS = (1.0, 0.0, 4.0, 0.1, 3)  # x0, v0, k, c, n
EULER_AT = "x0=1.0, v0=0.0, k=4.0, c=0.1, n=3"
EULER_WRT = ["--wrt", "x0", "--wrt", "v0", "--wrt", "k", "--wrt", "c"]
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Run from the repository root, plain output, with a gradient cache of this module's own."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR",
                       str(tmp_path_factory.getbasetemp() / "trace-cache"))


def run(capsys, *argv):
    """main(argv) in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check_golden(name, text, update_golden):
    path = GOLDEN / name
    if update_golden:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run pytest with --update-golden"
    assert text == path.read_text(encoding="utf-8")


def rows(table):
    """The table's rows as dicts keyed by column name, cut at the columns of the dashed line."""
    lines = table.splitlines()
    dashes = next(i for i, line in enumerate(lines) if line.startswith("----"))
    spans = [m.span() for m in re.finditer(r"-+", lines[dashes])]
    spans[-1] = (spans[-1][0], None)
    names = [lines[dashes - 1][a:b].strip() for a, b in spans]
    found = []
    for line in lines[dashes + 1:]:
        if line.startswith("result:"):
            break
        found.append({n: line[a:b].strip() for n, (a, b) in zip(names, spans)})
    return found


def row(table, pattern):
    """The one row whose node matches the regular expression."""
    matching = [r for r in rows(table) if re.search(pattern, r["node"])]
    assert len(matching) == 1, (pattern, matching)
    return matching[0]


def same_gradients(f, args, wrt_positions):
    """The trace's gradients equal grad()'s, on both backends."""
    traced = ad_compiler.trace(f, *args, wrt=wrt_positions)
    names = list(traced.grads)
    for backend in ("python", "numba"):
        with np.errstate(all="ignore"):  # NaN and inf are what the health tests are about
            got = grad(f, wrt=tuple(wrt_positions), backend=backend)(*args)
        for name, g in zip(names, got):
            np.testing.assert_allclose(traced.grads[name], g, rtol=1e-12, atol=1e-300,
                                       err_msg=f"{name} ({backend})")


# -- functions for the health flags (defined in a file: the trace reads their source) ---------

def tanh_saturated(x):
    return np.tanh(50.0 * x)


def sqrt_product(x, y):
    return np.sqrt(x) * y


def log_product(x, y):
    return np.log(x * y)


def relu_gate(x):
    return np.maximum(x, 0.0) * 3.0


def branchy(x, y):
    if x > y:
        r = x * y
    else:
        r = x + y
    return r


def relu_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.maximum(x - i, 0.0)
    return s


def squared(a, b):
    t = a * b
    return t * t + a


# -- the lecture's circuit f = (x + y) z -------------------------------------------------------

def test_circuit_table(capsys, update_golden):
    code, out, err = run(capsys, "trace", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5, z=-4")
    assert (code, err) == (0, "")
    check_golden("trace_circuit.txt", out, update_golden)
    q = row(out, r"^q = x \+ y$")
    f = row(out, r"^f = q \* z$")
    assert (q["value"], q["upstream"]) == ("3.00", "-4.00")
    assert q["local"] == "x: 1.00, y: 1.00"  # the add gate: local gradients 1
    assert q["passes on"] == "x: -4.00, y: -4.00"  # ... distributes the upstream -4
    assert (f["value"], f["upstream"]) == ("-12.00", "1.00")
    assert f["local"] == "q: -4.00, z: 3.00"  # the multiply gate swaps its inputs
    assert f["passes on"] == "q: -4.00, z: 3.00"
    assert "result: -12.00" in out
    for name, value in (("x", "-4.00"), ("y", "-4.00"), ("z", "3.00")):
        assert f"d result / d {name} = {value}\n" in out


def test_circuit_values_exactly():
    t = ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0)
    assert [n.value for n in t.nodes] == [3.0, -12.0]
    assert t.value == -12.0
    assert t.grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    same_gradients(lecture.circuit, (-2.0, 5.0, -4.0), (0, 1, 2))


# -- the sigmoid neuron -------------------------------------------------------------------------

def test_neuron_table(capsys, update_golden):
    code, out, err = run(capsys, "trace", f"{FUNCTIONS}:neuron", "--at", NEURON_AT)
    assert (code, err) == (0, "")
    check_golden("trace_neuron.txt", out, update_golden)


def test_neuron_rows_carry_the_slide_numbers():
    """Every number of the slides, in the row of its gate."""
    table = ad_compiler.trace(lecture.neuron, *NEURON_ARGS).table()
    inverse = row(table, r"= 1\.0 / ")  # the 1/x gate: upstream 1.00, local -1/1.37^2
    assert (inverse["value"], inverse["upstream"]) == ("0.73", "1.00")
    assert inverse["local"].endswith(": -0.53") and inverse["passes on"].endswith(": -0.53")
    plus_one = row(table, r"= 1\.0 \+ ")  # the +1 gate: 1.37 forward, passes -0.53 on
    assert (plus_one["value"], plus_one["upstream"]) == ("1.37", "-0.53")
    assert plus_one["local"].endswith(": 1.00") and plus_one["passes on"].endswith(": -0.53")
    exp = row(table, r"np\.exp\(")  # the exp gate: local e^-1 = 0.37, gives -0.20
    assert (exp["value"], exp["upstream"]) == ("0.37", "-0.53")
    assert exp["local"].endswith(": 0.37") and exp["passes on"].endswith(": -0.20")
    negate = row(table, r"= -a$")  # the *(-1) gate: local -1, gives 0.20
    assert (negate["value"], negate["upstream"]) == ("-1.00", "-0.20")
    assert negate["local"] == "a: -1.00" and negate["passes on"] == "a: 0.20"
    add_w2 = row(table, r"^a = .* \+ w2$")  # the add gates pass 0.20 on; w2 gets 0.20
    assert (add_w2["value"], add_w2["upstream"]) == ("1.00", "0.20")
    assert add_w2["passes on"].endswith("w2: 0.20")
    mul0 = row(table, r"= w0 \* x0$")  # the multiply gates swap their inputs
    assert mul0["local"] == "w0: -1.00, x0: 2.00"
    assert mul0["passes on"] == "w0: -0.20, x0: 0.39"
    mul1 = row(table, r"= w1 \* x1$")
    assert mul1["local"] == "w1: -2.00, x1: -3.00"
    assert mul1["passes on"] == "w1: -0.39, x1: -0.59"
    assert all(r["flags"] == "" for r in rows(table))
    assert "result: 0.73" in table
    for name, value in (("w0", "-0.20"), ("x0", "0.39"), ("w1", "-0.39"), ("x1", "-0.59"),
                        ("w2", "0.20")):
        assert f"d result / d {name} = {value}\n" in table + "\n"


def test_neuron_numbers_exactly():
    t = ad_compiler.trace(lecture.neuron, *NEURON_ARGS)
    s = 1.0 / (1.0 + np.exp(-1.0))
    assert t.value == pytest.approx(s, rel=1e-15)
    by_op = {n.stmt.op: n for n in t.nodes if n.stmt.op in ("exp", "neg", "div")}
    assert by_op["div"].local[1] == pytest.approx(-1.0 / (1.0 + np.exp(-1.0)) ** 2, rel=1e-15)
    assert by_op["exp"].local[0] == pytest.approx(np.exp(-1.0), rel=1e-15)
    assert by_op["neg"].passed[0] == pytest.approx(s * (1.0 - s), rel=1e-15)  # the 0.20
    expected = {"w0": -0.196612, "x0": 0.393224, "w1": -0.393224, "x1": -0.589836,
                "w2": 0.196612}
    assert t.grads == pytest.approx(expected, abs=1e-6)
    same_gradients(lecture.neuron, NEURON_ARGS, (0, 1, 2, 3, 4))


def test_neuron_on_arrays_matches_the_scalar_form():
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    t = ad_compiler.trace(lecture.neuron_arrays, w, x)
    np.testing.assert_allclose(t.grads["w"], [-0.196612, -0.393224, 0.196612], atol=1e-6)
    np.testing.assert_allclose(t.grads["x"], [0.393224, -0.589836], atol=1e-6)
    same_gradients(lecture.neuron_arrays, (w, x), (0, 1))


# -- the circuit as DOT, and drawn --------------------------------------------------------------

def test_neuron_dot(update_golden):
    dot = ad_compiler.trace(lecture.neuron, *NEURON_ARGS).to_dot()
    check_golden("trace_neuron.dot", dot, update_golden)
    assert dot.startswith("digraph circuit {") and "rankdir=LR" in dot
    for gate in ("*", "+", "*(-1)", "exp", "+1", "1/x"):
        assert f'[label="{gate}"]' in dot
    # every wire: the forward value, then the gradient in red
    wires = re.findall(r'label=<([^<]*)<br/>(?:<br/>)?<font color="red">([^<]*)</font>>', dot)
    assert ("1.37", "-0.53") in wires and ("0.37", "-0.53") in wires
    assert ("-1.00", "-0.20") in wires and ("1.00", "0.20") in wires
    assert ("0.73", "1.00") in wires
    assert ("-1.00", "0.39") in wires and ("-2.00", "-0.59") in wires  # x0, x1
    assert ("2.00", "-0.20") in wires and ("-3.00", "-0.39") in wires  # w0, w1


def test_cli_writes_dot(capsys, tmp_path):
    path = tmp_path / "neuron.dot"
    code, out, err = run(capsys, "trace", f"{FUNCTIONS}:neuron", "--at", NEURON_AT,
                         "--dot", str(path))
    assert (code, err) == (0, "")
    assert out.startswith("Trace of neuron(")  # the table is printed too
    assert path.read_text() == ad_compiler.trace(lecture.neuron, *NEURON_ARGS).to_dot()


@needs_dot
def test_cli_draws_svg_and_png(capsys, tmp_path):
    svg, png = tmp_path / "neuron.svg", tmp_path / "neuron.png"
    code, out, err = run(capsys, "trace", f"{FUNCTIONS}:neuron", "--at", NEURON_AT,
                         "--svg", str(svg), "--png", str(png))
    assert (code, err) == (0, "")
    assert out.startswith("Trace of neuron(")
    text = svg.read_text()
    assert "<svg" in text and "1/x" in text and 'fill="red"' in text
    assert "&#45;0.53" in text  # Graphviz writes the minus sign as an entity
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_without_graphviz_prints_the_table_and_says_why(tmp_path):
    """With a PATH that lacks `dot`: the table, the DOT file, then exit 1 and a clear message."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty), NO_COLOR="1",
               AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "ad_compiler", "trace", f"{FUNCTIONS}:circuit",
         "--at", "x=-2, y=5, z=-4", "--dot", str(tmp_path / "c.dot"),
         "--png", str(tmp_path / "c.png")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith("Trace of circuit(") and "d result / d z = 3.00" in done.stdout
    assert "Graphviz's `dot` program is not installed" in done.stderr
    assert "apt install graphviz" in done.stderr and "--dot" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "c.dot").read_text().startswith("digraph circuit {")
    assert not (tmp_path / "c.png").exists()


def test_render_and_repr_svg_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    t = ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0)
    with pytest.raises(OSError, match="not installed"):
        render(t.to_dot(), "svg")
    assert t._repr_svg_() is None
    assert t._repr_html_().startswith("<pre>")


@needs_dot
def test_wires_without_gradient_can_be_drawn():
    for t in (ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0, wrt="z"),  # x, y not wrt
              ad_compiler.trace(squared, 1.5, -0.5)):  # t * t: one input gets it all
        assert "<svg" in render(t.to_dot(), "svg").decode()


# -- the Python API -----------------------------------------------------------------------------

def test_api_trace(capsys):
    t = ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0)
    assert isinstance(t, Trace)
    assert "trace" in ad_compiler.__all__
    assert repr(t) == "<trace of circuit: 2 nodes>"
    _, out, _ = run(capsys, "trace", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5, z=-4")
    assert t.table() + "\n" == out == str(t) + "\n"
    assert t.to_dot().startswith("digraph circuit {")
    html = t._repr_html_()  # the circuit drawn (when Graphviz is there), then the table
    assert html.endswith("</pre>") and ("<svg" in html) == (shutil.which("dot") is not None)
    assert "q = x + y" in html and "d result / d z = 3.00" in html


@needs_dot
def test_api_repr_svg():
    svg = ad_compiler.trace(lecture.neuron, *NEURON_ARGS)._repr_svg_()
    assert svg is not None and "<svg" in svg and "exp" in svg


def test_api_wrt_by_name_or_position():
    by_name = ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0, wrt="z")
    by_position = ad_compiler.trace(lecture.circuit, -2.0, 5.0, -4.0, wrt=(2,))
    assert by_name.grads == by_position.grads == {"z": 3.0}
    assert "d result / d x" not in by_name.table()


def test_cli_wrt_selects_the_gradients(capsys):
    code, out, _ = run(capsys, "trace", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5, z=-4",
                       "--wrt", "z")
    assert code == 0
    assert "d result / d z = 3.00" in out and "d result / d x" not in out


# -- gradient health ----------------------------------------------------------------------------

def test_flag_vanishing_gradient():
    t = ad_compiler.trace(tanh_saturated, 0.2)  # tanh'(10) = 8.2e-9
    table = t.table()
    tanh = row(table, r"np\.tanh\(")
    assert tanh["flags"] == "vanishing"
    assert tanh["passes on"].endswith(": 8.24e-09")
    assert row(table, r"50\.0 \* x")["flags"] == ""
    assert t.grads["x"] == pytest.approx(50.0 / np.cosh(10.0) ** 2, rel=1e-12)
    same_gradients(tanh_saturated, (0.2,), (0,))


def test_flag_saturated_to_exactly_zero():
    t = ad_compiler.trace(tanh_saturated, 1.0)  # tanh(50) == 1.0: the gradient underflows
    assert row(t.table(), r"np\.tanh\(")["flags"] == "zero"
    assert t.grads["x"] == 0.0
    same_gradients(tanh_saturated, (1.0,), (0,))


def test_flag_nan_from_sqrt_of_a_negative_number():
    t = ad_compiler.trace(sqrt_product, -1.0, 2.0)
    table = t.table()
    assert row(table, r"np\.sqrt\(")["flags"] == "nan"
    assert row(table, r"= t\d+ \* y$")["flags"] == "nan"  # y's local gradient is sqrt(-1)
    assert np.isnan(t.grads["x"]) and np.isnan(t.grads["y"])
    same_gradients(sqrt_product, (-1.0, 2.0), (0, 1))


def test_flag_log_of_zero_through_a_product():
    t = ad_compiler.trace(log_product, np.float64(0.0), 2.0)
    table = t.table()
    assert row(table, r"np\.log\(")["flags"] == "inf"  # d log(t)/dt at 0
    product = row(table, r"= x \* y$")
    assert product["flags"] == "nan"  # inf * 0 for y
    assert product["passes on"] == "x: inf, y: nan"
    assert t.grads["x"] == np.inf and np.isnan(t.grads["y"])
    same_gradients(log_product, (np.float64(0.0), 2.0), (0, 1))


def test_log_of_python_float_zero():
    t = ad_compiler.trace(log_product, 0.0, 2.0)
    assert row(t.table(), r"np\.log\(")["flags"] == "inf"


def test_flag_relu_at_a_negative_input():
    table = ad_compiler.trace(relu_gate, -1.0).table()
    gate = row(table, r"np\.maximum\(x, 0\.0\)")
    assert (gate["value"], gate["upstream"], gate["passes on"]) == ("0.00", "3.00", "x: 0.00")
    assert gate["flags"] == "zero"
    assert "d result / d x = 0.00" in table
    positive = row(ad_compiler.trace(relu_gate, 2.0).table(), r"np\.maximum\(x, 0\.0\)")
    assert positive["flags"] == "" and positive["passes on"] == "x: 3.00"
    same_gradients(relu_gate, (-1.0,), (0,))
    same_gradients(relu_gate, (2.0,), (0,))


HEALTH_SOURCE = """\
import numpy as np


def relu_gate(x):
    return np.maximum(x, 0.0) * 3.0


def branchy(x, y):
    if x > y:
        r = x * y
    else:
        r = x + y
    return r
"""


def test_flags_in_the_cli_table(capsys, tmp_path):
    (tmp_path / "health.py").write_text(HEALTH_SOURCE)
    code, out, _ = run(capsys, "trace", f"{tmp_path / 'health.py'}:relu_gate", "--at", "x=-1")
    assert code == 0
    assert row(out, r"max(imum)?\(")["flags"] == "zero"


# -- the digits network of examples/mlp_digits.py -------------------------------------------------

@pytest.fixture(scope="module")
def mlp():
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    mlp_digits = example("mlp_digits")

    rng = np.random.default_rng(0)
    X_train, _, y_train, _ = mlp_digits.load_data(seed=0)
    X, y = X_train[:8], y_train[:8]
    W1, b1, W2, b2 = mlp_digits.init_params(rng, 64, 16, 10, "relu")
    b1, b2 = b1 + 0.01, b2 - 0.02
    return mlp_digits, (W1, b1, W2, b2, X, y, 1e-3)


def summary(a):
    a = np.asarray(a)
    return (f"[{'x'.join(map(str, a.shape))}] |{np.linalg.norm(a):.2f}| "
            f"{np.min(a):.2f}..{np.max(a):.2f}")


@pytest.mark.parametrize("name", ["loss_relu", "loss_sigmoid"])
def test_mlp_loss_trace(mlp, name):
    module, args = mlp
    loss = getattr(module, name)
    W1, b1, W2, b2, X, y, lam = args
    t = ad_compiler.trace(loss, *args, wrt=("W1", "b1", "W2", "b2"))
    assert t.value == pytest.approx(loss(*args), rel=1e-12)
    table = t.table()
    header = table.splitlines()[0]
    assert f"W1={summary(W1)}" in header and f"X={summary(X)}" in header
    assert "y=int64[8]" in header
    first = row(table, r"= X @ W1$")
    node = next(n for n in t.nodes if n.stmt.op == "matmul")
    assert first["value"] == summary(X @ W1)
    assert first["upstream"] == summary(node.upstream)
    assert first["local"] == ""  # no local gradient column for array nodes
    # X is not differentiated: W1 alone gets X^T (upstream), the data part of its gradient
    assert first["passes on"] == f"W1: {summary(X.T @ node.upstream)}"
    for shape in ("[8x64]", "[8x16]", "[8x10]", "[64x16]", "[16x10]"):
        assert shape in table
    summarized = re.compile(r"^\[\d+(x\d+)*\] \|\S+\| \S+\.\.\S+$")
    assert summarized.match(row(table, r"^S = ")["value"])  # the scores, 8 x 10
    for pname in ("W1", "b1", "W2", "b2"):
        assert f"d result / d {pname} = {summary(t.grads[pname])}" in table
    assert all(r["flags"] in ("", "zero") for r in rows(table))
    same_gradients(loss, args, (0, 1, 2, 3))


def test_mlp_full_prints_arrays(mlp):
    module, args = mlp
    t = ad_compiler.trace(module.loss_relu, *args, wrt=("b2",))
    full = t.table(full=True)
    assert "[8x10] |" not in full.split("result:")[0]
    assert "d result / d b2 = [" in full and "..." not in full.splitlines()[-1]


# -- a loop: the damped oscillator of examples/loops.py, integrated by explicit Euler -----------

def test_euler_folded(capsys, update_golden):
    code, out, err = run(capsys, "trace", "examples/loops.py:oscillator_loss", "--at", EULER_AT,
                         *EULER_WRT)
    assert (code, err) == (0, "")
    check_golden("trace_euler.txt", out, update_golden)
    body = [r for r in rows(out) if "[iteration" in r["node"]]
    assert len(body) == 8  # one row per node of the loop body
    assert all(r["node"].endswith("[iteration 1 of 3]") for r in body)
    assert len(rows(out)) == 8 + 5  # and the loss after the loop


def test_euler_unfolded(capsys, update_golden):
    code, out, err = run(capsys, "trace", "examples/loops.py:oscillator_loss", "--at", EULER_AT,
                         *EULER_WRT, "--unfold")
    assert (code, err) == (0, "")
    check_golden("trace_euler_unfold.txt", out, update_golden)
    nodes = [r["node"] for r in rows(out)]
    for i in (1, 2, 3):
        assert sum(n.endswith(f"[iteration {i}]") for n in nodes) == 8
    assert not any(" of 3]" in n for n in nodes)
    assert len(nodes) == 3 * 8 + 5
    # the iterations' own values: v after each step, -0.04, -0.08, -0.12
    v_rows = [r for r in rows(out) if r["node"].startswith("v_1 = ")]
    assert [r["value"] for r in v_rows] == ["-0.04", "-0.08", "-0.12"]


def test_euler_gradients():
    t = ad_compiler.trace(loops.oscillator_loss, *EULER_ARGS, wrt=("x0", "v0", "k", "c"))
    expected = loops.oscillator_adjoint(*EULER_ARGS)
    np.testing.assert_allclose([t.grads[p] for p in ("x0", "v0", "k", "c")], expected,
                               rtol=1e-12)
    assert t.value == pytest.approx(loops.oscillator_loss(*EULER_ARGS), rel=1e-15)
    same_gradients(loops.oscillator_loss, EULER_ARGS, (0, 1, 2, 3))


def test_flags_fold_over_iterations():
    """A folded row carries the flags of every iteration; --unfold shows which one."""
    t = ad_compiler.trace(relu_loop, 1.5)  # max(x - i, 0): x - 2 < 0 in the third iteration
    gate = row(t.table(), r"max(imum)?\(")
    assert gate["node"].endswith("[iteration 1 of 3]")
    assert gate["passes on"].endswith(": 1.00")  # the first iteration's own numbers
    assert gate["flags"] == "zero"  # ... and the third's flag
    unfolded = [r for r in rows(t.table(unfold=True)) if re.search(r"max(imum)?\(", r["node"])]
    assert [r["flags"] for r in unfolded] == ["", "", "zero"]
    assert t.grads["x"] == 2.0
    same_gradients(relu_loop, (1.5,), (0,))


# -- command-line errors ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["trace", f"{FUNCTIONS}:circuit"], "required: --at"),
    (["trace", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5"], "no value for z"),
    (["trace", f"{FUNCTIONS}:circuit", "--at", "x=-2, y=5, z=1, w=3"], "--at names no "
                                                                          "parameter"),
    (["trace", f"{FUNCTIONS}:circuit", "--at", "x=1, y=2, z=3", "--wrt", "q"],
     "--wrt names no parameter of circuit: q"),
    (["trace", f"{FUNCTIONS}:nothing", "--at", "x=1"], "no function named nothing"),
    (["trace", f"{FUNCTIONS}:circuit", "--at", "x=-2 y"], "not of the form"),
    (["show", "--latex", f"{FUNCTIONS}:circuit"], "--latex goes with --formula"),
    (["show", "--formula", f"{FUNCTIONS}:circuit", "--at", "x=1"], "--at is not used"),
    (["show", "--formula", f"{FUNCTIONS}:circuit", "--wrt", "q"], "no parameter of circuit"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_cli_function_failing_at_the_values_exits_1(capsys):
    code, out, err = run(capsys, "trace", f"{FUNCTIONS}:squared_norm",
                         "--at", "W=[[1, 2], [3, 4]], x=[1, 2, 3]")
    assert code == 1
    assert "running squared_norm at the --at values failed: ValueError" in err


def test_trace_help(capsys):
    code, out, _ = run(capsys, "trace", "--help")
    assert code == 0
    for option in ("--at", "--wrt", "--full", "--unfold", "--dot", "--svg", "--png"):
        assert option in out
    code, out, _ = run(capsys, "show", "--help")
    assert code == 0 and "--formula" in out and "--latex" in out


# -- closed-form formulas -----------------------------------------------------------------------

def test_neuron_formula_is_the_sigmoid_derivative():
    import sympy as sp

    found = formulas(lecture.neuron)
    symbols = {str(v): v for v in found.result.free_symbols}
    w0, x0, w1, x1, w2 = (symbols[n] for n in ("w0", "x0", "w1", "x1", "w2"))
    (s_symbol, s_expr), = found.names.items()
    sigmoid = 1 / (1 + sp.exp(-(w0 * x0 + w1 * x1 + w2)))
    assert sp.simplify(s_expr - sigmoid) == 0
    g = found.gradients["w0"]
    assert sp.simplify(g.doit().subs(s_symbol, s_expr) - x0 * s_expr * (1 - s_expr)) == 0
    for name, factor in (("x0", w0), ("w1", x1), ("x1", w1), ("w2", 1)):
        g = found.gradients[name].doit().subs(s_symbol, s_expr)
        assert sp.simplify(g - factor * s_expr * (1 - s_expr)) == 0, name
        assert sp.simplify(g - sp.diff(sigmoid, symbols[name])) == 0, name
    # and the slide's value: 0.20 at w = (2, -3, -3), x = (-1, -2), dw0 = x0 * 0.20
    at = {w0: 2, x0: -1, w1: -3, x1: -2, w2: -3}
    value = found.gradients["w0"].doit().subs(s_symbol, s_expr).subs(at)
    assert float(value) == pytest.approx(-0.196612, abs=1e-6)


def test_neuron_formula_text(capsys, update_golden):
    code, plain, err = run(capsys, "show", "--formula", f"{FUNCTIONS}:neuron")
    assert (code, err) == (0, "")
    check_golden("formula_neuron.txt", plain, update_golden)
    assert "where s = 1/(exp(-w0*x0 - w1*x1 - w2) + 1)\n" in plain
    assert "dneuron/dw0 = s*x0*(1 - s)\n" in plain
    assert "dneuron/dw2 = s*(1 - s)\n" in plain
    code, latex, err = run(capsys, "show", "--formula", f"{FUNCTIONS}:neuron", "--latex")
    assert (code, err) == (0, "")
    check_golden("formula_neuron_latex.txt", latex, update_golden)
    assert r"\frac{1}{e^{- w_{0} x_{0} - w_{1} x_{1} - w_{2}} + 1}" in latex
    assert r"dneuron/dw0 = s x_{0} \left(1 - s\right)" in latex
    assert plain.rstrip("\n") == formulas(lecture.neuron).text()
    assert latex.rstrip("\n") == formulas(lecture.neuron).text(latex=True)


def test_circuit_formulas(capsys):
    import sympy as sp

    found = formulas(lecture.circuit)
    x, y, z = sorted(found.result.free_symbols, key=str)
    assert found.gradients == {"x": z, "y": z, "z": x + y}
    assert sp.simplify(found.result - (x + y) * z) == 0
    code, out, _ = run(capsys, "show", "--formula", f"{FUNCTIONS}:circuit", "--wrt", "z")
    assert code == 0
    assert out == "circuit = z*(x + y)\ndcircuit/dz = x + y\n"


def test_branches_give_piecewise(capsys, tmp_path):
    import sympy as sp

    found = formulas(branchy)
    x, y = sorted(found.result.free_symbols, key=str)
    assert isinstance(found.result, sp.Piecewise)
    for name in ("x", "y"):
        assert isinstance(found.gradients[name], sp.Piecewise)
    assert found.gradients["x"].subs({x: 3, y: 2}) == 2  # x > y: d(x y)/dx = y
    assert found.gradients["x"].subs({x: 1, y: 2}) == 1  # else: d(x + y)/dx = 1
    (tmp_path / "health.py").write_text(HEALTH_SOURCE)
    code, out, _ = run(capsys, "show", "--formula", f"{tmp_path / 'health.py'}:branchy")
    assert code == 0 and "dbranchy/dx = Piecewise((y, x > y), (1, True))" in out


def test_formula_refuses_loops_and_arrays(capsys):
    code, out, err = run(capsys, "show", "--formula", "examples/loops.py:oscillator_loss")
    assert (code, out) == (1, "")
    assert "oscillator_loss(): closed-form formulas are for code without loops" in err
    assert "ad-compiler trace" in err
    code, out, err = run(capsys, "show", "--formula", f"{FUNCTIONS}:squared_norm")
    assert (code, out) == (1, "")
    assert "squared_norm(): closed-form formulas are for scalar code; matmul" in err
