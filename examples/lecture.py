"""The backpropagation lecture's worked examples (sections 1, 2 and 5), computed by ad_compiler.

Run:  python examples/lecture.py [--backend numba|python]

Each forward function below is plain Python; ad_compiler writes its gradient program. To read
the code it generates for one of them:  ad-compiler show examples/lecture.py:neuron
"""

import argparse

import numpy as np

from ad_compiler import check_grad, grad, numerical_grad, value_and_grad


def circuit(x, y, z):
    """Section 1: f(x, y, z) = (x + y) z, with the intermediate node q = x + y."""
    q = x + y
    f = q * z
    return f


def neuron(w0, x0, w1, x1, w2):
    """Section 2: a 2-input sigmoid neuron, one scalar argument per weight and input."""
    a = w0 * x0 + w1 * x1 + w2
    return 1.0 / (1.0 + np.exp(-a))


def sigmoid(a):
    """The sigmoid gate taken as a single node of the graph."""
    return 1.0 / (1.0 + np.exp(-a))


def heading(title):
    print(f"\n{title}\n{'-' * len(title)}")


def compare(name, got, expected):
    """One result, rounded to 6 digits, next to the lecture's number."""
    numbers = [f"{v:.6g}" for v in np.ravel(np.asarray(got, dtype=float))]
    text = numbers[0] if np.ndim(got) == 0 else f"({', '.join(numbers)})"
    print(f"  {name:<24} = {text:<36} lecture: {expected}")


def main(backend):
    print(f"The backpropagation lecture, worked by ad_compiler (backend: {backend})")

    heading("1. The circuit f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4")
    print("Forward pass: compute and store every node's value.")
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    compare("q = x + y", q, "3")
    compare("f = q z", q * z, "-12")
    print("Backward pass: upstream gradient x local gradient, from f back to the inputs.")
    dcircuit = grad(circuit, wrt=("x", "y", "z"), backend=backend)
    compare("df/dx, df/dy, df/dz", dcircuit(x, y, z), "(-4, -4, 3)")

    heading("2. The sigmoid neuron f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))")
    print("At w = (2, -3, -3), x = (-1, -2); one scalar argument per weight and input.")
    w0, w1, w2, x0, x1 = 2.0, -3.0, -3.0, -1.0, -2.0
    dneuron = value_and_grad(neuron, wrt=("w0", "w1", "w2", "x0", "x1"), backend=backend)
    f, (dw0, dw1, dw2, dx0, dx1) = dneuron(w0, x0, w1, x1, w2)
    compare("f", f, "0.7311")
    compare("dw = (dw0, dw1, dw2)", (dw0, dw1, dw2), "(-0.196612, -0.393224, 0.196612)")
    compare("dx = (dx0, dx1)", (dx0, dx1), "(0.393224, -0.589836)")

    print("\nThe same neuron on arrays, as a decorated function: @grad(wrt=(\"w\", \"x\")).")

    @grad(wrt=("w", "x"), backend=backend)
    def neuron_on_arrays(w, x):
        return 1.0 / (1.0 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))

    w, xs = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    dw, dx = neuron_on_arrays(w, xs)
    compare("dw", dw, "(-0.196612, -0.393224, 0.196612)")
    compare("dx", dx, "(0.393224, -0.589836)")

    heading("The sigmoid gate in one step")
    print("Taking sigmoid as one node, its local gradient is (1 - s) s, with s = 0.73:")
    s = sigmoid(1.0)
    compare("(1 - s) s", (1 - s) * s, "(1 - 0.73) 0.73 = 0.20")
    compare("d sigmoid / da at a = 1", grad(sigmoid, backend=backend)(1.0), "0.20")
    print("A computational graph is not unique: choose nodes whose local gradients are simple.")

    heading("5. Gradient checking against numerical gradients")
    print("Numerical gradients are approximate and slow but easy to write: use them to check.")
    h = 1e-4
    one_sided = (neuron(w0 + h, x0, w1, x1, w2) - neuron(w0, x0, w1, x1, w2)) / h
    compare("(f(w0 + h) - f(w0)) / h", one_sided, "approximately dw0, h = 0.0001")
    print("Better: central differences (f(x + h) - f(x - h)) / 2h, one coordinate at a time.")
    numeric = numerical_grad(neuron, w0, x0, w1, x1, w2, wrt=("w0", "w1", "w2", "x0", "x1"))
    compare("numerical dw, dx", numeric, "the same as dw, dx above")
    check_grad(neuron, w0, x0, w1, x1, w2, wrt=("w0", "w1", "w2", "x0", "x1"), backend=backend)
    check_grad(neuron_on_arrays.__wrapped__, w, xs, wrt=("w", "x"), backend=backend)
    print("  check_grad: the analytic gradients agree with the numerical ones (rtol 1e-5).")

    heading("The gradient program ad_compiler generated for the array neuron")
    print("Forward sweep, then reverse sweep; each x_bar holds df/dx.\n")
    print(neuron_on_arrays.source)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numba", "python"), default="numba",
                        help="compile the gradients with numba (default) or run them as Python")
    main(parser.parse_args().backend)
