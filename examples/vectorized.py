"""The backpropagation lecture's vectorized example (section 3), computed by ad_compiler.

Run:  python examples/vectorized.py [--backend numba|python]

f(x, W) = ||W x||^2 = sum_i (W x)_i^2, written as plain NumPy. ad_compiler writes its gradient
program; the gradients are printed beside the lecture's formulas df/dW = 2 q x^T and
df/dx = 2 W^T q, computed here by hand. To read the generated code from the command line:
ad-compiler show examples/vectorized.py:f --at "x=[0.2, 0.4], W=[[0.1, 0.5], [-0.3, 0.8]]"
"""

import argparse

import numpy as np

from ad_compiler import value_and_grad


def f(x, W):
    """Section 3: the squared length of W x, with the intermediate node q = W x."""
    q = W @ x
    return np.sum(q ** 2)


def numbers(value):
    """A number or an array as text, rounded to 6 digits: 0.116, (0.22, 0.26), [[...], [...]]."""
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        return f"{value:.6g}"
    if value.ndim == 1:
        return "(" + ", ".join(f"{v:.6g}" for v in value) + ")"
    return "[" + ", ".join(numbers(row).replace("(", "[").replace(")", "]") for row in value) + "]"


def heading(title):
    print(f"\n{title}\n{'-' * len(title)}")


def compare(name, got, expected):
    """One result next to the lecture's number."""
    print(f"  {name:<22} = {numbers(got):<34} lecture: {expected}")


def main(backend):
    print(f"The lecture's vectorized example, worked by ad_compiler (backend: {backend})")
    heading("3. f(x, W) = ||W x||^2 = sum_i (W x)_i^2, at W = [[0.1, 0.5], [-0.3, 0.8]], "
            "x = (0.2, 0.4)")
    W = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])

    print("Forward pass: q = W x, then f = sum of the squares of q.")
    q = W @ x
    compare("q = W x", q, "(0.22, 0.26)")

    df = value_and_grad(f, wrt=("x", "W"), backend=backend)
    value, (dx, dW) = df(x, W)
    compare("f", value, "0.116")

    print("Backward pass: df/dq = 2 q, then through the matrix product to W and to x.")
    compare("df/dW (ad_compiler)", dW, "[[0.088, 0.176], [0.104, 0.208]]")
    compare("2 q x^T (by hand)", 2 * np.outer(q, x), "the same")
    compare("df/dx (ad_compiler)", dx, "(-0.112, 0.636)")
    compare("2 W^T q (by hand)", 2 * W.T @ q, "the same")
    assert np.allclose(dW, 2 * np.outer(q, x)) and np.allclose(dx, 2 * W.T @ q)
    print("Each gradient has the shape of its variable: df/dW is 2 x 2 like W, df/dx has 2 "
          "entries like x.")

    heading("The gradient program ad_compiler generated for f")
    print("Forward sweep, then reverse sweep; each x_bar holds df/dx.\n")
    print(df.source_for(x, W))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numba", "python"), default="numba",
                        help="compile the gradients with numba (default) or run them as Python")
    main(parser.parse_args().backend)
